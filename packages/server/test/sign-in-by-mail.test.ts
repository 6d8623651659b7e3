// Signing in by a mailed code or link, against the real service (in process,
// in-memory SQLite, a clock the test moves), the mail read from the outbox as
// the worker reads it, and once through a real SMTP server: one mail carries
// both, either one signs in once (and spends the other), a code dies after 5
// wrong tries, everything dies after 10 minutes, and an unknown address is
// answered exactly like a known one.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decode } from '@tessera/jwt'
import { code, type Harness, harness, PASSWORD } from './support/harness.ts'
import { type Mail, outbox, tokenOf } from './support/outbox.ts'
import { startSmtpServer } from './support/smtp-server.ts'

/** Asks for a sign-in mail and returns it (the newest of `email`'s). */
async function askForCode(h: Harness, email: string): Promise<Mail> {
  const asked = await h.call('POST', '/auth/otp/send', { body: { email } })
  assert.equal(asked.status, 202, JSON.stringify(asked.body))
  const mail = (await outbox(h, 'sign_in_code')).filter((m) => m.to === email).at(-1)
  return mail ?? assert.fail(`no sign-in mail for ${email}`)
}

const codeOf = (mail: Mail): string => String(mail.data.code)

/** A 6-digit code that is not `right`. */
const wrongCode = (right: string): string =>
  String((Number(right) + 1) % 1_000_000).padStart(6, '0')

describe('sign-in by mail', () => {
  it('the mailed code signs in once, proves the address, and spends the link of the same mail', async () => {
    const h = await harness()
    await h.user('ada@example.com')
    const mail = await askForCode(h, 'ada@example.com')
    assert.match(codeOf(mail), /^\d{6}$/)
    assert.equal(mail.data.expiresIn, 600)
    const link = new URL(String(mail.data.link))
    assert.equal(`${link.origin}${link.pathname}`, `${h.tessera.config.issuer}/login/link`)
    h.clock.advance(1)

    const signedIn = await h.call('POST', '/auth/otp/verify', {
      body: { email: 'ada@example.com', code: codeOf(mail) },
    })
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body))
    const user = signedIn.body.user as Record<string, unknown>
    assert.equal(user.email, 'ada@example.com')
    assert.equal(user.emailVerified, true)
    assert.equal(typeof signedIn.body.refreshToken, 'string')
    const claims = decode(signedIn.body.accessToken as string).payload
    assert.equal(claims.email_verified, true)
    const me = await h.call('GET', '/auth/me', { token: signedIn.body.accessToken as string })
    assert.equal(me.status, 200)
    const refreshed = await h.call('POST', '/auth/refresh', {
      body: { refreshToken: signedIn.body.refreshToken },
    })
    assert.equal(refreshed.status, 200)

    const again = await h.call('POST', '/auth/otp/verify', {
      body: { email: 'ada@example.com', code: codeOf(mail) },
    })
    assert.equal(code(again.body), 'invalid_code')
    const viaLink = await h.call('POST', '/auth/otp/verify', { body: { token: tokenOf(mail) } })
    assert.equal(code(viaLink.body), 'invalid_code')

    const events = await h.tessera.store.audit.listAudit({ limit: 20 })
    const login = events.find((e) => e.event === 'login')
    assert.deepEqual(login?.details, { method: 'email_code' })
    assert.ok(events.some((e) => e.event === 'login.code_sent'))
    // Never the code or the link in the audit log.
    assert.ok(!JSON.stringify(events).includes(codeOf(mail)))
    assert.ok(!JSON.stringify(events).includes(tokenOf(mail)))
  })

  it('the mailed link signs in once and spends the code; a browser gets the cookie', async () => {
    const h = await harness()
    await h.user('bob@example.com')
    const mail = await askForCode(h, 'bob@example.com')
    const signedIn = await h.call('POST', '/auth/otp/verify', {
      body: { token: tokenOf(mail) },
      headers: { 'x-tessera-csrf': '1' },
    })
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body))
    assert.equal(signedIn.body.refreshToken, undefined)
    assert.match(String(signedIn.headers['set-cookie']), /tessera_refresh=/)
    const byCode = await h.call('POST', '/auth/otp/verify', {
      body: { email: 'bob@example.com', code: codeOf(mail) },
    })
    assert.equal(code(byCode.body), 'invalid_code')
    const events = await h.tessera.store.audit.listAudit({ limit: 20, event: 'login' })
    assert.deepEqual(events[0]?.details, { method: 'email_link' })
  })

  it('a code dies after 5 wrong tries, and each wrong try counts as a failed login', async () => {
    const h = await harness()
    await h.user('carol@example.com')
    const mail = await askForCode(h, 'carol@example.com')
    const wrong = wrongCode(codeOf(mail))
    const answers: unknown[] = []
    for (let i = 0; i < 5; i++) {
      const r = await h.call('POST', '/auth/otp/verify', {
        body: { email: 'carol@example.com', code: wrong },
        // From a new address each time: the login back-off is not what ends it.
        remoteAddress: `192.0.2.${i + 1}`,
      })
      answers.push(code(r.body))
    }
    assert.deepEqual(answers, Array(5).fill('invalid_code'))
    const right = await h.call('POST', '/auth/otp/verify', {
      body: { email: 'carol@example.com', code: codeOf(mail) },
      remoteAddress: '192.0.2.99',
    })
    assert.equal(code(right.body), 'invalid_code')
    const failed = await h.tessera.store.audit.listAudit({ limit: 20, event: 'login.failed' })
    assert.equal(failed.length, 6)
    assert.deepEqual(failed.map((e) => e.details.codeTriesLeft).reverse(), [
      4,
      3,
      2,
      1,
      0,
      undefined,
    ])
    // The link of the mail is a separate secret with no tries to lose.
    const viaLink = await h.call('POST', '/auth/otp/verify', { body: { token: tokenOf(mail) } })
    assert.equal(viaLink.status, 200)
  })

  it('wrong tries from one address back off like failed logins', async () => {
    const h = await harness()
    await h.user('dan@example.com')
    const mail = await askForCode(h, 'dan@example.com')
    const statuses: number[] = []
    for (let i = 0; i < 7; i++) {
      const r = await h.call('POST', '/auth/otp/verify', {
        body: { email: 'dan@example.com', code: wrongCode(codeOf(mail)) },
      })
      statuses.push(r.status)
    }
    assert.deepEqual(statuses.slice(0, 5), [400, 400, 400, 400, 400])
    assert.ok(
      statuses.slice(5).every((s) => s === 429),
      String(statuses),
    )
  })

  it('after 10 minutes the code and the link are dead; a new mail ends the older one', async () => {
    const h = await harness()
    await h.user('erin@example.com')
    const first = await askForCode(h, 'erin@example.com')
    h.clock.advance(1)
    const second = await askForCode(h, 'erin@example.com')
    assert.notEqual(tokenOf(first), tokenOf(second))
    for (const body of [
      { token: tokenOf(first) },
      ...(codeOf(first) === codeOf(second)
        ? []
        : [{ email: 'erin@example.com', code: codeOf(first) }]),
    ]) {
      const r = await h.call('POST', '/auth/otp/verify', { body })
      assert.equal(code(r.body), 'invalid_code', JSON.stringify(body))
    }
    h.clock.advance(600)
    const late = await h.call('POST', '/auth/otp/verify', {
      body: { email: 'erin@example.com', code: codeOf(second) },
    })
    assert.equal(code(late.body), 'invalid_code')
    const lateLink = await h.call('POST', '/auth/otp/verify', { body: { token: tokenOf(second) } })
    assert.equal(code(lateLink.body), 'invalid_code')
  })

  it('an unknown or disabled address: the same 202, no mail, and the same invalid_code', async () => {
    const h = await harness()
    const disabled = await h.user('frank@example.com')
    await h.tessera.store.users.updateUser(disabled.id, { disabled: true, updatedAt: h.clock.now })
    for (const email of ['ghost@example.com', 'frank@example.com', 'not an address']) {
      const asked = await h.call('POST', '/auth/otp/send', { body: { email } })
      assert.equal(asked.status, email.includes('@') ? 202 : 400, email)
    }
    assert.deepEqual(await outbox(h, 'sign_in_code'), [])
    const guessed = await h.call('POST', '/auth/otp/verify', {
      body: { email: 'ghost@example.com', code: '123456' },
    })
    assert.equal(guessed.status, 400)
    assert.equal(code(guessed.body), 'invalid_code')
    assert.equal(
      (guessed.body.error as { message: string }).message,
      'the link or code is not valid (it may have expired or been used)',
    )
  })

  it('sends are limited per address, whether it has an account or not', async () => {
    const h = await harness()
    await h.user('gina@example.com')
    for (const email of ['gina@example.com', 'nobody@example.com']) {
      const statuses: number[] = []
      for (let i = 0; i < 6; i++) {
        statuses.push((await h.call('POST', '/auth/otp/send', { body: { email } })).status)
      }
      assert.deepEqual(statuses, [202, 202, 202, 202, 202, 429], email)
    }
    assert.equal((await outbox(h, 'sign_in_code')).length, 5)
  })

  it('with verification required, an unverified account signs in by code and is verified', async () => {
    const h = await harness({ TESSERA_EMAIL_VERIFICATION: 'required' })
    await h.user('hana@example.com')
    const refused = await h.call('POST', '/auth/login', {
      body: { email: 'hana@example.com', password: PASSWORD },
    })
    assert.equal(code(refused.body), 'email_not_verified')
    const mail = await askForCode(h, 'hana@example.com')
    const signedIn = await h.call('POST', '/auth/otp/verify', {
      body: { email: 'hana@example.com', code: codeOf(mail) },
    })
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body))
    const login = await h.call('POST', '/auth/login', {
      body: { email: 'hana@example.com', password: PASSWORD },
    })
    assert.equal(login.status, 200)
  })

  it('of two racing uses of one code, exactly one signs in', async () => {
    const h = await harness()
    await h.user('ivan@example.com')
    const mail = await askForCode(h, 'ivan@example.com')
    const results = await Promise.all(
      Array.from({ length: 2 }, (_, i) =>
        h.call('POST', '/auth/otp/verify', {
          body: { email: 'ivan@example.com', code: codeOf(mail) },
          remoteAddress: `198.51.100.${i + 1}`,
        }),
      ),
    )
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 400])
  })

  it('asks for {email, code} or {token}, and says which part is missing', async () => {
    const h = await harness()
    const cases: [unknown, string][] = [
      [{ email: 'a@example.com' }, '/code'],
      [{ code: '123456' }, '/email'],
      [{ token: 'A'.repeat(43), email: 'a@example.com' }, '/token'],
      [{ email: 'a@example.com', code: '12345' }, '/code'],
      [{ email: 'a@example.com', code: '12345a' }, '/code'],
      [{}, ''],
    ]
    for (const [body, path] of cases) {
      const r = await h.call('POST', '/auth/otp/verify', { body })
      assert.equal(code(r.body), 'validation_failed', JSON.stringify(body))
      const issues = (r.body.error as { issues: { path: string }[] }).issues
      assert.ok(
        issues.some((issue) => issue.path === path),
        `${JSON.stringify(body)}: ${JSON.stringify(issues)}`,
      )
    }
    assert.deepEqual(
      h.calls.filter((name) => name === 'signInByMail'),
      [],
    )
  })

  it('the mail arrives through a real SMTP server: the code is the only 6-digit number, and works', async () => {
    const smtp = await startSmtpServer()
    try {
      const h = await harness({ TESSERA_SMTP_URL: smtp.url })
      await h.user('jay@example.com')
      await h.call('POST', '/auth/otp/send', { body: { email: 'jay@example.com' } })
      await h.tessera.auth.settled()
      const [mail] = await smtp.waitFor(1)
      assert.deepEqual(mail!.envelope.to, ['jay@example.com'])
      const text = mail!.parsed.text ?? ''
      const codes = text.match(/\d{6}/g) ?? []
      assert.equal(codes.length, 1, text)
      assert.match(text, /\/login\/link\?token=[A-Za-z0-9_-]{43}/)
      assert.match(String(mail!.parsed.html), new RegExp(codes[0]!))
      const signedIn = await h.call('POST', '/auth/otp/verify', {
        body: { email: 'jay@example.com', code: codes[0] },
      })
      assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body))
    } finally {
      await smtp.close()
    }
  })
})
