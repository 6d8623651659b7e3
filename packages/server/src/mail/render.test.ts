import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { MAIL_TEMPLATES, type MailTemplateData } from './messages.ts'
import { createMailRenderer, MailTemplateError, templateVariables } from './render.ts'
import { describeDuration } from './templates.ts'

const brand = { name: 'Acme', color: '#2f54c6', logoUrl: undefined }
const envelope = { to: 'ada@example.com', createdAt: Date.parse('2026-06-01T12:00:00Z') }
const issuer = 'https://auth.example.com'
const render = createMailRenderer({ brand, issuer })

/** Valid data for every template. */
const SAMPLES: { [T in keyof MailTemplateData]: MailTemplateData[T] } = {
  verify_email: { link: `${issuer}/verify-email?token=abc`, expiresIn: 86_400, name: 'Ada' },
  reset_password: { link: `${issuer}/reset-password?token=abc`, expiresIn: 3600 },
  password_changed: { name: 'Ada', link: `${issuer}/forgot-password` },
  sign_in_code: {
    code: '042917',
    link: `${issuer}/login/link?token=abc`,
    expiresIn: 600,
    name: 'Ada',
  },
  change_email: { link: `${issuer}/confirm-email?token=abc`, expiresIn: 86_400 },
  email_changed: { newEmail: 'ada@new.example', name: null },
  account_exists: { link: `${issuer}/login` },
  factor_added: { factor: 'authenticator_app', name: 'Ada', link: `${issuer}/account` },
  factor_removed: { factor: 'all_factors' },
}

const tempDirs: string[] = []
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
})

function templatesDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-templates-'))
  tempDirs.push(dir)
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  return dir
}

describe('built-in mail templates', () => {
  test('every template renders a subject, a text and an HTML part, branded, saying who it went to', () => {
    for (const template of MAIL_TEMPLATES) {
      const mail = render(template, SAMPLES[template], envelope)
      assert.match(mail.subject, /Acme/, template)
      assert.doesNotMatch(mail.subject, /[\r\n]/, template)
      assert.match(mail.text, /-- Acme\n$/, template)
      assert.match(mail.html, /^<!doctype html>/, template)
      assert.ok(mail.html.includes('Sent by Acme to ada@example.com.'), template)
      assert.ok(mail.html.includes('#2f54c6'), `${template}: the brand colour`)
    }
  })

  test('each mail gives its link, in both parts, and says how long it lasts', () => {
    const mail = render('verify_email', SAMPLES.verify_email, envelope)
    assert.ok(
      mail.text.includes(`\n\n${issuer}/verify-email?token=abc\n\n`),
      'the link on its own line',
    )
    assert.ok(mail.html.includes(`href="${issuer}/verify-email?token=abc"`))
    assert.match(mail.text, /works for 24 hours, once/)
    assert.match(mail.text, /Hi Ada,/)
    assert.match(mail.text, /If you did not sign up/)
    assert.match(render('reset_password', SAMPLES.reset_password, envelope).text, /1 hour/)
  })

  test('the sign-in code mail has the code and the link, and the code is the only 6-digit number of its text', () => {
    const mail = render('sign_in_code', SAMPLES.sign_in_code, envelope)
    assert.deepEqual(mail.text.match(/\b\d{6}\b/g), ['042917'])
    assert.ok(mail.text.includes(`${issuer}/login/link?token=abc`))
    assert.match(mail.text, /10 minutes/)
    assert.ok(mail.html.includes('042917'))
    assert.doesNotMatch(mail.subject, /042917/, 'not on a lock screen')
  })

  test('the HTML part escapes the data: a name with a script tag stays text', () => {
    const mail = render(
      'verify_email',
      { ...SAMPLES.verify_email, name: '<script>alert("x")</script> & "Bob"' },
      envelope,
    )
    assert.ok(!mail.html.includes('<script>'))
    assert.ok(
      mail.html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;Bob&quot;'),
    )
    assert.ok(
      mail.text.includes('Hi <script>alert("x")</script> & "Bob",'),
      'the text part is text',
    )
    const escapedLink = render(
      'verify_email',
      { ...SAMPLES.verify_email, link: `${issuer}/verify-email?token=a&b="c"` },
      envelope,
    )
    assert.ok(
      escapedLink.html.includes(
        'href="https://auth.example.com/verify-email?token=a&amp;b=&quot;c&quot;"',
      ),
    )
  })

  test('a brand name with markup is escaped; a logo is an image with the name as its text', () => {
    const branded = createMailRenderer({
      brand: { name: 'A<b>cme', color: '#ffcc00', logoUrl: 'https://cdn.example/logo.png?a=1&b=2' },
      issuer,
    })
    const mail = branded('password_changed', SAMPLES.password_changed, envelope)
    assert.ok(!mail.html.includes('A<b>cme'))
    assert.ok(
      mail.html.includes('<img src="https://cdn.example/logo.png?a=1&amp;b=2" alt="A&lt;b&gt;cme"'),
    )
    // A pale brand colour gets black button text.
    assert.ok(mail.html.includes('background:#ffcc00;color:#000000'))
  })

  test('without a name the greeting uses the address; a line break in a name stays on its line', () => {
    assert.match(
      render('reset_password', SAMPLES.reset_password, envelope).text,
      /^Hi ada@example\.com,/,
    )
    const mail = render(
      'verify_email',
      { ...SAMPLES.verify_email, name: 'Ada\r\nBcc: x' },
      envelope,
    )
    assert.match(mail.text, /^Hi Ada Bcc: x,\n/)
  })

  test('notices say when, and what to do if it was not the reader, with or without a link', () => {
    const withLink = render('password_changed', SAMPLES.password_changed, envelope)
    assert.match(withLink.text, /changed on 2026-06-01 12:00 UTC/)
    assert.ok(withLink.text.includes(`${issuer}/forgot-password`))
    const without = render('password_changed', {}, envelope)
    assert.match(without.text, /contact the Acme team/)
    assert.doesNotMatch(without.html, /href=/)
    const changed = render('email_changed', SAMPLES.email_changed, envelope)
    assert.match(changed.text, /from ada@example\.com to ada@new\.example/)
    const exists = render('account_exists', {}, envelope)
    assert.match(exists.text, /already has an account/)
  })

  test('data that does not fit its template is refused, naming the field and never its value', () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['verify_email', { expiresIn: 60 }, /verify_email: the data has no "link"/],
      [
        'verify_email',
        { link: 'javascript:alert(1)', expiresIn: 60 },
        /"link" is not a valid link/,
      ],
      ['verify_email', { link: `${issuer}/x y`, expiresIn: 60 }, /"link"/],
      ['verify_email', { link: issuer, expiresIn: 0 }, /"expiresIn" is not a valid duration/],
      ['sign_in_code', { ...SAMPLES.sign_in_code, code: '12345' }, /"code" is not a valid code/],
      ['sign_in_code', { ...SAMPLES.sign_in_code, code: 123456 }, /"code"/],
      ['email_changed', { newEmail: 'two words@x' }, /"newEmail"/],
      ['factor_added', { factor: '<b>a phone</b>' }, /"factor" is not a valid factor/],
      ['verify_email', { ...SAMPLES.verify_email, name: 42 }, /"name" must be a string or null/],
      ['no_such_template', {}, /unknown mail template "no_such_template"/],
    ]
    for (const [template, data, expected] of cases) {
      assert.throws(
        () => render(template, data, envelope),
        (error: unknown) => {
          assert.ok(error instanceof MailTemplateError)
          assert.match(error.message, expected)
          assert.ok(!error.message.includes('12345') && !error.message.includes('javascript'))
          return true
        },
      )
    }
  })

  test('durations read as people say them', () => {
    assert.equal(describeDuration(86_400), '24 hours')
    assert.equal(describeDuration(3600), '1 hour')
    assert.equal(describeDuration(600), '10 minutes')
    assert.equal(describeDuration(172_800), '2 days')
    assert.equal(describeDuration(90), '90 seconds')
  })
})

describe('template overrides (TESSERA_EMAIL_TEMPLATES)', () => {
  test('a file replaces its part; {{variables}} are filled, HTML-escaped in the HTML part only', () => {
    const dir = templatesDir({
      'verify_email.subject.txt': '{{brandName}}: confirm {{ email }}\n',
      'verify_email.txt': 'Hello {{name}}, open {{link}} within {{expiresIn}}.\n',
      'verify_email.html': '<p>Hello {{name}}</p><a href="{{link}}">go</a>',
      'README.md': 'not a template: ignored',
    })
    const custom = createMailRenderer({ brand, issuer, templatesDir: dir })
    const mail = custom(
      'verify_email',
      { ...SAMPLES.verify_email, link: `${issuer}/v?token=a&b`, name: '<b>Ada</b>' },
      envelope,
    )
    assert.equal(mail.subject, 'Acme: confirm ada@example.com')
    assert.equal(mail.text, `Hello <b>Ada</b>, open ${issuer}/v?token=a&b within 24 hours.\n`)
    assert.equal(
      mail.html,
      `<p>Hello &lt;b&gt;Ada&lt;/b&gt;</p><a href="${issuer}/v?token=a&amp;b">go</a>`,
    )
    // Other templates keep the built-in mails.
    assert.match(
      custom('reset_password', SAMPLES.reset_password, envelope).subject,
      /^Reset your Acme password$/,
    )
  })

  test('only the parts given are replaced', () => {
    const dir = templatesDir({ 'sign_in_code.subject.txt': 'Code for {{brandName}}' })
    const mail = createMailRenderer({ brand, issuer, templatesDir: dir })(
      'sign_in_code',
      SAMPLES.sign_in_code,
      envelope,
    )
    assert.equal(mail.subject, 'Code for Acme')
    assert.deepEqual(mail.text.match(/\b\d{6}\b/g), ['042917'])
    assert.ok(mail.html.includes('<title>Code for Acme</title>'))
  })

  test('a mistake in the directory stops the start with the file and what is wrong', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [
        { 'verify-email.txt': 'x' },
        /verify-email\.txt is not a template file; the templates are verify_email, /,
      ],
      [
        { 'verify_email.txt': 'code {{code}}' },
        /verify_email\.txt uses \{\{code\}\}; verify_email has .*\{\{link\}\}/,
      ],
      [
        { 'reset_password.subject.txt': 'two\nlines' },
        /reset_password\.subject\.txt must be one line/,
      ],
    ]
    for (const [files, expected] of cases) {
      assert.throws(
        () => createMailRenderer({ brand, issuer, templatesDir: templatesDir(files) }),
        (error: unknown) => error instanceof MailTemplateError && expected.test(error.message),
      )
    }
    assert.throws(
      () =>
        createMailRenderer({ brand, issuer, templatesDir: join(tmpdir(), 'tessera-no-such-dir') }),
      /TESSERA_EMAIL_TEMPLATES: cannot read the directory .*: no such file/,
    )
  })

  test('each template documents its variables: the common ones and its data', () => {
    assert.deepEqual(templateVariables('sign_in_code').slice(-3), ['code', 'link', 'expiresIn'])
    assert.deepEqual(templateVariables('email_changed').slice(-2), ['newEmail', 'link'])
    for (const template of MAIL_TEMPLATES) {
      assert.ok(templateVariables(template).includes('brandName'))
    }
  })
})
