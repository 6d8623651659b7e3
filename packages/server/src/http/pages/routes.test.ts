// The hosted pages over app.inject(): their headers, what the server renders
// into them, their assets, and the switch that turns them off.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { harness } from '../../../test/support/harness.ts'
import { logoSource, pageCsp } from './headers.ts'
import { canMail, redirectOrigins } from './routes.ts'
import { durationText } from './templates.ts'

/** A well-formed link token (43 base64url characters), as a mailed link carries. */
const TOKEN = 'Abc_-0123456789abcdefghijklmnopqrstuvwxyzAB'

/** The pages a mailed link opens, each with its token. */
const LINK_PAGES = [
  `/verify-email?token=${TOKEN}`,
  `/reset-password?token=${TOKEN}`,
  `/login/link?token=${TOKEN}`,
  `/confirm-email?token=${TOKEN}`,
] as const

const PAGES = [
  '/login',
  '/login?method=code',
  '/signup',
  '/account',
  '/inspect',
  '/forgot-password',
  ...LINK_PAGES,
] as const

/** Production without a way to mail: the mail flows and their pages are off. */
const NO_MAIL = { NODE_ENV: 'production', TESSERA_ISSUER: 'https://auth.example.com' }

/** GET `url` from the real service started with `env`. */
async function get(
  url: string,
  env: Record<string, string> = {},
  headers: Record<string, string> = {},
) {
  const { app } = await harness(env)
  return app.inject({ method: 'GET', url, headers })
}

describe('hosted pages: headers', () => {
  for (const path of PAGES) {
    test(`${path}: HTML with a strict CSP, no framing, no referrer, no cache`, async () => {
      const response = await get(path)
      assert.equal(response.statusCode, 200)
      assert.equal(response.headers['content-type'], 'text/html; charset=utf-8')
      const csp = String(response.headers['content-security-policy'])
      // /account alone shows a data: image (the QR code of a new authenticator app).
      const images = path === '/account' ? "'self' data:" : "'self'"
      assert.equal(
        csp,
        `default-src 'none'; script-src 'self'; style-src 'self'; img-src ${images}; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'`,
      )
      assert.equal(response.headers['x-frame-options'], 'DENY')
      assert.equal(response.headers['referrer-policy'], 'no-referrer')
      assert.equal(response.headers['x-content-type-options'], 'nosniff')
      assert.equal(response.headers['cache-control'], 'no-store')
      assert.equal(
        response.headers['strict-transport-security'],
        undefined,
        'not outside production',
      )
      // One external script and one stylesheet; no inline script, style or handler.
      assert.equal(response.body.match(/<script\b/g)?.length, 1)
      assert.match(response.body, /<script type="module" src="\/pages\/app\.js"><\/script>/)
      assert.match(response.body, /<link rel="stylesheet" href="\/pages\/app\.css">/)
      assert.doesNotMatch(response.body, /<style|style="|\son[a-z]+=/i)
    })
  }

  test('HSTS in production', async () => {
    const response = await get('/login', {
      NODE_ENV: 'production',
      TESSERA_ISSUER: 'https://auth.example.com',
    })
    assert.equal(response.headers['strict-transport-security'], 'max-age=31536000')
  })

  test('a logo URL adds that image, and only it, to img-src', async () => {
    const response = await get('/login', {
      TESSERA_BRAND_LOGO_URL: 'https://cdn.example.com/acme/logo.svg?v=2',
    })
    assert.match(
      String(response.headers['content-security-policy']),
      /; img-src 'self' https:\/\/cdn\.example\.com\/acme\/logo\.svg; /,
    )
    assert.match(
      response.body,
      /<img class="brand-logo" src="https:\/\/cdn\.example\.com\/acme\/logo\.svg\?v=2" alt="" referrerpolicy="no-referrer">/,
    )
  })

  test('with TESSERA_MFA=required, the sign-in pages allow data: images too (the enrolment step’s QR code)', async () => {
    const env = { TESSERA_MFA: 'required' }
    for (const path of ['/login', '/login?method=code', '/signup', `/login/link?token=${TOKEN}`]) {
      const csp = String((await get(path, env)).headers['content-security-policy'])
      assert.match(csp, /; img-src 'self' data:; /, path)
    }
    for (const path of ['/inspect', '/forgot-password', `/verify-email?token=${TOKEN}`]) {
      const csp = String((await get(path, env)).headers['content-security-policy'])
      assert.ok(!csp.includes('data:'), path)
    }
  })

  test('data: images on /account only, next to the logo', async () => {
    const env = { TESSERA_BRAND_LOGO_URL: 'https://cdn.example.com/logo.svg' }
    const account = String((await get('/account', env)).headers['content-security-policy'])
    assert.match(account, /; img-src 'self' data: https:\/\/cdn\.example\.com\/logo\.svg; /)
    for (const path of PAGES.filter((page) => page !== '/account')) {
      const csp = String((await get(path, env)).headers['content-security-policy'])
      assert.ok(!csp.includes('data:'), path)
    }
    assert.ok(!pageCsp({ brandLogoUrl: undefined }).includes('data:'))
    assert.match(
      pageCsp({ brandLogoUrl: undefined }, { dataImages: true }),
      /img-src 'self' data:;/,
    )
  })

  test('a ";" or "," in the logo URL cannot end the directive or the policy', () => {
    assert.equal(
      logoSource('https://cdn.example.com/a;script-src,b.svg'),
      'https://cdn.example.com/a%3Bscript-src%2Cb.svg',
    )
  })

  test('the JSON API keeps its own CSP', async () => {
    const response = await get('/.well-known/jwks.json')
    assert.equal(
      response.headers['content-security-policy'],
      "default-src 'none'; frame-ancestors 'none'",
    )
  })
})

describe('hosted pages: rendered values', () => {
  test('the brand name is escaped in the title, the header and the text', async () => {
    const response = await get('/login', {
      TESSERA_BRAND_NAME: '</title><script>alert(1)</script>',
    })
    assert.ok(!response.body.includes('<script>alert(1)'))
    assert.match(
      response.body,
      /<title>Log in · &lt;\/title&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/title>/,
    )
  })

  test('a good redirect_to is kept for the script and the other form’s link', async () => {
    const target = '/inspect?token=<b>&x="1"'
    const response = await get(`/login?redirect_to=${encodeURIComponent(target)}`)
    const kept = '/inspect?token=%3Cb%3E&amp;x=%221%22'
    assert.ok(response.body.includes(`data-redirect-to="${kept}"`), 'escaped in the attribute')
    assert.ok(
      response.body.includes(
        `href="/signup?redirect_to=${encodeURIComponent('/inspect?token=%3Cb%3E&x=%221%22')}"`,
      ),
    )
    assert.ok(!response.body.includes('redirect-refused'))
  })

  test('a redirect_to to another origin is dropped, with a notice', async () => {
    for (const target of [
      'https://evil.example/',
      '//evil.example',
      '/.//evil.example',
      'javascript:alert(1)',
    ]) {
      const response = await get(`/login?redirect_to=${encodeURIComponent(target)}`)
      assert.ok(response.body.includes('data-redirect-to=""'), target)
      assert.ok(response.body.includes('id="redirect-refused"'), target)
      assert.ok(!response.body.includes('evil.example'), target)
    }
  })

  test('a repeated redirect_to is refused', async () => {
    const response = await get('/signup?redirect_to=/a&redirect_to=/b')
    assert.equal(response.statusCode, 200)
    assert.ok(response.body.includes('id="redirect-refused"'))
  })

  test('an allowed origin may be the target; the script gets the list', async () => {
    const config = { TESSERA_ALLOWED_ORIGINS: 'http://localhost:3000,https://app.example.com' }
    const response = await get(
      `/login?redirect_to=${encodeURIComponent('https://app.example.com/done')}`,
      config,
    )
    assert.ok(response.body.includes('data-redirect-to="https://app.example.com/done"'))
    assert.ok(
      response.body.includes(
        'data-redirect-origins="http://localhost:3000 https://app.example.com"',
      ),
    )
  })

  test('closed signups: /signup says so and /login links nowhere', async () => {
    const signup = await get('/signup', { TESSERA_SIGNUP: 'false' })
    assert.ok(signup.body.includes('id="signup-closed"'))
    assert.ok(!signup.body.includes('<form'))
    const login = await get('/login', { TESSERA_SIGNUP: 'false' })
    assert.ok(!login.body.includes('href="/signup'))
  })

  test('every input has a label, and its hint and error through aria-describedby', async () => {
    for (const path of PAGES) {
      const { body } = await get(path)
      for (const [input] of body.matchAll(/<(?:input|textarea)\b[^>]*>/g)) {
        if (/\bhidden\b/.test(input)) continue
        const id = /\bid="([^"]+)"/.exec(input)?.[1]
        assert.ok(id, `${path}: ${input} has an id`)
        assert.ok(body.includes(`<label for="${id}">`), `${path}: #${id} has a label`)
        const described = /aria-describedby="([^"]+)"/.exec(input)?.[1] ?? ''
        for (const part of described.split(' ')) {
          assert.ok(body.includes(`id="${part}"`), `${path}: #${id} describedby #${part} exists`)
        }
        if (input.startsWith('<input')) {
          assert.ok(described.split(' ').includes(`${id}-error`), `${path}: #${id} error tied`)
        }
      }
    }
  })
})

describe('hosted pages: assets', () => {
  test('app.js, app.css (with the brand colour) and the icon, revalidated by ETag', async () => {
    const { app } = await harness({ TESSERA_BRAND_COLOR: '#ffcc00' })
    for (const [path, type] of [
      ['/pages/app.js', 'text/javascript; charset=utf-8'],
      ['/pages/app.css', 'text/css; charset=utf-8'],
      ['/pages/favicon.svg', 'image/svg+xml'],
    ] as const) {
      const first = await app.inject({ method: 'GET', url: path })
      assert.equal(first.statusCode, 200, path)
      assert.equal(first.headers['content-type'], type)
      assert.equal(first.headers['cache-control'], 'no-cache')
      const etag = String(first.headers['etag'])
      assert.match(etag, /^"[A-Za-z0-9_-]{27}"$/)
      const again = await app.inject({
        method: 'GET',
        url: path,
        headers: { 'if-none-match': etag },
      })
      assert.equal(again.statusCode, 304)
      assert.equal(again.body, '')
    }
    const css = await app.inject({ method: 'GET', url: '/pages/app.css' })
    assert.ok(css.body.startsWith(':root {\n  --brand: #ffcc00;\n  --brand-text: #000000;'))
  })

  test('the pages are not in the OpenAPI document', async () => {
    const response = await get('/openapi.json')
    const paths = Object.keys((JSON.parse(response.body) as { paths: object }).paths)
    for (const path of [...PAGES, '/pages/app.js', '/']) assert.ok(!paths.includes(path), path)
  })

  test('GET / redirects (302) to /account, which sends a signed-out visitor to /login', async () => {
    const response = await get('/')
    assert.equal(response.statusCode, 302)
    assert.equal(response.headers.location, '/account')
    assert.equal((await get('/?x=1')).headers.location, '/account')
  })
})

describe('hosted pages: the mail flows', () => {
  test('canMail: with an SMTP URL, or outside production (mail written to files)', () => {
    assert.equal(canMail({ smtpUrl: undefined, production: false }), true)
    assert.equal(canMail({ smtpUrl: 'smtp://127.0.0.1:2525', production: true }), true)
    assert.equal(canMail({ smtpUrl: undefined, production: true }), false)
  })

  test('outside production: the pages, and the ways to them on /login and /account', async () => {
    for (const path of ['/forgot-password', ...LINK_PAGES]) {
      assert.equal((await get(path)).statusCode, 200, path)
    }
    const login = await get('/login')
    assert.ok(login.body.includes('<a href="/forgot-password">Forgot your password?</a>'))
    assert.ok(login.body.includes('<a href="/login?method=code">Email me a code</a>'))
    const code = await get('/login?method=code')
    assert.ok(code.body.includes('data-page="login-code"'))
    assert.match(
      code.body,
      /<input id="code-verify-code" name="code" type="text" autocomplete="one-time-code" required maxlength="6" inputmode="numeric" pattern="\[0-9\]\{6\}" /,
    )
    assert.ok((await get('/account')).body.includes('<form id="change-email"'))
  })

  test('production with an SMTP URL: the same pages', async () => {
    const env = { ...NO_MAIL, TESSERA_SMTP_URL: 'smtp://127.0.0.1:2525' }
    for (const path of ['/forgot-password', `/reset-password?token=${TOKEN}`, '/login/link']) {
      assert.equal((await get(path, env)).statusCode, 200, path)
    }
    assert.ok((await get('/login', env)).body.includes('href="/login?method=code"'))
  })

  test('production without SMTP: no mail pages, and nothing on /login or /account leads to them', async () => {
    for (const path of ['/forgot-password', ...LINK_PAGES]) {
      const response = await get(path, NO_MAIL)
      assert.equal(response.statusCode, 404, path)
      assert.equal(JSON.parse(response.body).error.code, 'not_found')
    }
    const login = await get('/login', NO_MAIL)
    assert.ok(!login.body.includes('/forgot-password'))
    assert.ok(!login.body.includes('method=code'))
    // The code page falls back to the password form.
    assert.ok((await get('/login?method=code', NO_MAIL)).body.includes('<form id="login"'))
    assert.ok(!(await get('/account', NO_MAIL)).body.includes('change-email'))
  })

  test('/verify-email is there unless TESSERA_EMAIL_VERIFICATION=off', async () => {
    const off = await get(`/verify-email?token=${TOKEN}`, { TESSERA_EMAIL_VERIFICATION: 'off' })
    assert.equal(off.statusCode, 404)
    assert.equal(
      (await get(`/reset-password?token=${TOKEN}`, { TESSERA_EMAIL_VERIFICATION: 'off' }))
        .statusCode,
      200,
    )
  })

  test('a mailed link with its token: a button (or a form), and the token is never rendered', async () => {
    for (const path of LINK_PAGES) {
      const { body } = await get(path)
      assert.ok(!body.includes(TOKEN), `${path}: the token stays in the URL`)
      assert.ok(!body.includes('link-incomplete'), path)
      assert.ok(/id="link-button" disabled>|<form id="reset"/.test(body), path)
    }
  })

  test('a missing, malformed or repeated token: "This link is not complete", no button, no form', async () => {
    for (const page of ['/verify-email', '/reset-password', '/login/link', '/confirm-email']) {
      for (const query of [
        '',
        '?token=',
        `?token=${TOKEN.slice(1)}`,
        `?token=${TOKEN}A`,
        `?token=${TOKEN.slice(1)}%3D`,
        `?token=${TOKEN}&token=${TOKEN}`,
        '?token=%3Cscript%3Ealert(1)%3C%2Fscript%3E',
      ]) {
        const { statusCode, body } = await get(`${page}${query}`)
        assert.equal(statusCode, 200, `${page}${query}`)
        assert.ok(body.includes('This link is not complete.'), `${page}${query}`)
        assert.ok(!body.includes('link-button'), `${page}${query}`)
        assert.ok(!body.includes('<form'), `${page}${query}`)
        assert.ok(!body.includes('<script>alert'), `${page}${query}`)
      }
    }
    assert.ok(
      (await get('/reset-password')).body.includes(
        '<a href="/forgot-password">Ask for a new link</a>',
      ),
    )
  })

  test('redirect_to is kept, escaped, on the way to /forgot-password, the code form and back', async () => {
    const target = '/inspect?a=<b>&c="d"'
    const query = `redirect_to=${encodeURIComponent(target)}`
    const kept = encodeURIComponent('/inspect?a=%3Cb%3E&c=%22d%22')
    const login = await get(`/login?${query}`)
    assert.ok(login.body.includes(`href="/forgot-password?redirect_to=${kept}"`))
    assert.ok(login.body.includes(`href="/login?method=code&amp;redirect_to=${kept}"`))
    const forgot = await get(`/forgot-password?${query}`)
    assert.ok(forgot.body.includes(`href="/login?redirect_to=${kept}"`))
    const code = await get(`/login?method=code&${query}`)
    assert.ok(code.body.includes('data-redirect-to="/inspect?a=%3Cb%3E&amp;c=%22d%22"'))
    assert.ok(code.body.includes(`href="/login?redirect_to=${kept}"`))
    // Refused targets are dropped here too.
    const evil = await get(`/forgot-password?redirect_to=${encodeURIComponent('//evil.example')}`)
    assert.ok(!evil.body.includes('evil.example'))
  })

  test('the brand name is escaped on every new page', async () => {
    const env = { TESSERA_BRAND_NAME: '<img src=x onerror=alert(1)>' }
    for (const path of ['/forgot-password', '/login?method=code', ...LINK_PAGES]) {
      const { body } = await get(path, env)
      assert.ok(!body.includes('<img src=x'), path)
      assert.ok(body.includes('&lt;img src=x onerror=alert(1)&gt;'), path)
    }
  })

  test('/login?reason=password_changed says so; other reasons stay unknown', async () => {
    const changed = await get('/login?reason=password_changed')
    assert.match(
      changed.body,
      /<p class="notice" id="login-reason" role="status">Your password was changed\. Log in with the new one\.<\/p>/,
    )
    assert.ok(!(await get('/login?reason=password_reset')).body.includes('login-reason'))
  })
})

describe('hosted pages: social login', () => {
  /** Two providers of different kinds; nothing is fetched from them to render a page. */
  const PROVIDERS = {
    TESSERA_PROVIDERS: 'corp,github',
    TESSERA_PROVIDER_CORP_PRESET: 'oidc',
    TESSERA_PROVIDER_CORP_ISSUER: 'http://127.0.0.1:9/',
    TESSERA_PROVIDER_CORP_CLIENT_ID: 'rp',
    TESSERA_PROVIDER_CORP_CLIENT_SECRET: 'secret',
    TESSERA_PROVIDER_GITHUB_PRESET: 'github',
    TESSERA_PROVIDER_GITHUB_CLIENT_ID: 'gh',
    TESSERA_PROVIDER_GITHUB_CLIENT_SECRET: 'secret',
  }

  test('/login and /signup offer "Continue with" each provider, with the checked redirect_to and a local icon', async () => {
    for (const path of ['/login', '/signup']) {
      const { body } = await get(`${path}?redirect_to=%2Faccount%3Ftab%3D1`, PROVIDERS)
      assert.match(
        body,
        /<a class="provider-button" href="\/auth\/providers\/corp\/start\?redirect_to=%2Faccount%3Ftab%3D1" data-provider="corp"><svg class="provider-icon" aria-hidden="true"[^>]*>.*?<\/svg><span>Continue with corp<\/span><\/a>/,
        path,
      )
      assert.match(
        body,
        /href="\/auth\/providers\/github\/start\?redirect_to=%2Faccount%3Ftab%3D1" data-provider="github">.*?<span>Continue with GitHub<\/span>/,
        path,
      )
      // No remote image anywhere: the icons are inline SVG.
      assert.ok(!/<img[^>]+src="https?:/.test(body), path)
    }
    const refused = await get(
      `/login?redirect_to=${encodeURIComponent('https://evil.example/')}`,
      PROVIDERS,
    )
    assert.match(refused.body, /href="\/auth\/providers\/corp\/start" data-provider="corp"/)
    assert.ok(!refused.body.includes('evil.example'))
  })

  test('/account has "Connected accounts" only when providers are configured', async () => {
    const { body } = await get('/account', PROVIDERS)
    assert.match(body, /<h2 id="identities-heading" tabindex="-1">Connected accounts<\/h2>/)
    assert.match(
      body,
      /<ul class="apps" id="identities-list" aria-labelledby="identities-heading"><\/ul>/,
    )
    assert.ok(!(await get('/account')).body.includes('identities-heading'))
  })

  test('without providers, and on a closed /signup, no button', async () => {
    for (const path of ['/login', '/signup']) {
      const { body } = await get(path)
      assert.ok(!body.includes('provider-button'), path)
      assert.ok(!body.includes('id="providers"'), path)
    }
    const closed = await get('/signup', { ...PROVIDERS, TESSERA_SIGNUP: 'false' })
    assert.ok(!closed.body.includes('provider-button'))
  })

  test("a refusal's reason is worded with the configured provider's name; an unknown id is not shown", async () => {
    const notVerified = await get('/login?reason=email_not_verified&provider=github', PROVIDERS)
    assert.match(
      notVerified.body,
      /<p class="notice" id="login-reason" role="status" data-reason="email_not_verified">GitHub does not vouch for your email address/,
    )
    const unknown = await get(
      `/login?reason=account_email_unverified&provider=${encodeURIComponent('<b>x</b>')}`,
      PROVIDERS,
    )
    assert.match(
      unknown.body,
      /An account with the email address your identity provider shared exists here/,
    )
    assert.ok(!unknown.body.includes('&lt;b&gt;'))
    const first = await get('/login?reason=provider_unavailable', PROVIDERS)
    assert.match(
      first.body,
      /Signing in with your identity provider did not work: it could not be reached/,
    )
    const closed = await get('/login?reason=signup_closed&provider=corp', PROVIDERS)
    assert.match(
      closed.body,
      /There is no account here for the email address corp shared, and sign-ups are closed/,
    )
  })
})

describe('hosted pages: second factors', () => {
  /** The markup of the second step's <template>, and the page without it. */
  function splitTemplate(body: string): { template: string; rest: string } {
    const match = /<template id="mfa-template">([\s\S]*?)<\/template>/.exec(body)
    return { template: match?.[1] ?? '', rest: match ? body.replace(match[0], '') : body }
  }

  test('the sign-in pages carry the second step as a <template>: a numeric one-time-code field and a recovery code', async () => {
    for (const path of ['/login', '/login?method=code', `/login/link?token=${TOKEN}`]) {
      const { body } = await get(path)
      const { template, rest } = splitTemplate(body)
      assert.ok(template !== '', `${path}: the template`)
      assert.match(rest, /<div id="first-step">/, path)
      // Nothing of it is in the page itself: no hidden field for autofill or a locator to find.
      assert.ok(!rest.includes('mfa-'), path)
      assert.match(
        template,
        /<input id="mfa-totp-code" name="code" type="text" autocomplete="one-time-code" required maxlength="6" inputmode="numeric" pattern="\[0-9\]\{6\}" /,
      )
      assert.ok(template.includes('<label for="mfa-totp-code">Authentication code</label>'))
      assert.ok(template.includes('<label for="mfa-recovery-code">Recovery code</label>'))
      assert.match(
        template,
        /<button type="button" class="secondary" id="mfa-use-recovery" hidden>Use a recovery code<\/button>/,
      )
      // The passkey's way, offered by the script when the browser has WebAuthn.
      assert.ok(template.includes('<div id="mfa-passkey" hidden>'))
      assert.ok(
        template.includes('<button type="button" id="mfa-passkey-button">Use a passkey</button>'),
      )
      assert.ok(
        template.includes(
          '<button type="button" class="secondary" id="mfa-use-passkey" hidden>Use a passkey instead</button>',
        ),
      )
      // Like every form: disabled until the script takes it.
      assert.equal(template.match(/<fieldset data-needs-script disabled>/g)?.length, 2)
    }
    for (const path of [
      '/signup',
      '/account',
      '/forgot-password',
      `/verify-email?token=${TOKEN}`,
    ]) {
      assert.ok(!(await get(path)).body.includes('mfa-template'), path)
    }
  })

  test('/account: the "Two-step sign-in" section, its panels hidden, and no QR code rendered', async () => {
    const { body } = await get('/account')
    assert.match(
      body,
      /<section aria-labelledby="two-step-heading">\n<h2 id="two-step-heading" tabindex="-1">Two-step sign-in<\/h2>/,
    )
    for (const id of ['totp-setup', 'recovery-show', 'totp-remove-confirm', 'reauth-panel']) {
      assert.match(body, new RegExp(`id="${id}" hidden>`), id)
    }
    assert.ok(
      body.includes(
        '<button type="button" id="totp-start" hidden>Set up an authenticator app</button>',
      ),
    )
    assert.ok(body.includes('>Replace recovery codes</button>'))
    assert.ok(body.includes('>Turn off the authenticator app</button>'))
    assert.match(
      body,
      /<img class="qr" id="totp-qr" alt="QR code to scan with your authenticator app"/,
    )
    // The image gets its data: URL from the script, per user; the page holds none.
    assert.ok(!body.includes('data:image'))
    assert.match(
      body,
      /<input id="totp-confirm-code" name="code" type="text" autocomplete="one-time-code" required maxlength="6" inputmode="numeric"/,
    )
  })

  test('the step-up prompt: one form, and the window it names from TESSERA_REAUTH_WINDOW', async () => {
    const { body } = await get('/account')
    assert.equal(body.match(/id="reauth-panel"/g)?.length, 1)
    assert.match(body, /<h3 id="reauth-heading">Confirm it’s you<\/h3>/)
    assert.match(
      body,
      /<input id="reauth-password" name="password" type="password" autocomplete="current-password" required maxlength="1024"/,
    )
    assert.ok(body.includes('This change needs a sign-in from the last 10 minutes.'))
    const hourly = await get('/account', { TESSERA_REAUTH_WINDOW: '1h' })
    assert.ok(hourly.body.includes('This change needs a sign-in from the last 1 hour.'))
  })

  test('the brand name is escaped on the pages with the new parts', async () => {
    const env = { TESSERA_BRAND_NAME: '<img src=x onerror=alert(1)>' }
    for (const path of ['/login', '/account', `/login/link?token=${TOKEN}`]) {
      const { body } = await get(path, env)
      assert.ok(!body.includes('<img src=x'), path)
      assert.ok(body.includes('&lt;img src=x onerror=alert(1)&gt;'), path)
    }
  })

  test('durationText: whole minutes or hours', () => {
    assert.equal(durationText(600), '10 minutes')
    assert.equal(durationText(60), '1 minute')
    assert.equal(durationText(90), '2 minutes')
    assert.equal(durationText(3600), '1 hour')
    assert.equal(durationText(7200), '2 hours')
    assert.equal(durationText(5400), '90 minutes')
    assert.equal(durationText(86_400), '24 hours')
  })
})

describe('hosted pages: TESSERA_PAGES=false', () => {
  test('every page and asset is the API’s 404, and so is GET /', async () => {
    for (const path of [...PAGES, '/pages/app.js', '/pages/app.css', '/']) {
      const response = await get(path, { TESSERA_PAGES: 'false' })
      assert.equal(response.statusCode, 404, path)
      assert.equal(JSON.parse(response.body).error.code, 'not_found')
    }
  })
})

test('redirectOrigins: the issuer’s origin and the allowed ones, without "*"', () => {
  assert.deepEqual(
    redirectOrigins({
      issuer: 'https://auth.example.com/tenant',
      allowedOrigins: ['*'],
    }),
    ['https://auth.example.com'],
  )
  assert.deepEqual(
    redirectOrigins({
      issuer: 'https://auth.example.com',
      allowedOrigins: ['https://auth.example.com', 'https://app.example.com'],
    }),
    ['https://auth.example.com', 'https://app.example.com'],
  )
})

describe('hosted pages: passkeys and the enrolment step', () => {
  test('/login: "Sign in with a passkey", hidden until the script sees WebAuthn; the email field takes passkey autofill', async () => {
    const { body } = await get('/login')
    assert.ok(
      body.includes(
        '<div class="passkey-sign-in" id="passkey-sign-in" hidden>\n<p class="divider"><span>or</span></p>\n<button type="button" class="secondary" id="passkey-button">Sign in with a passkey</button>',
      ),
    )
    assert.match(
      body,
      /<input id="login-email" name="email" type="email" autocomplete="username webauthn" /,
    )
    // Only /login: the other forms' address fields stay plain usernames.
    for (const path of ['/signup', '/login?method=code', '/forgot-password']) {
      const page = (await get(path)).body
      assert.ok(!page.includes('webauthn'), path)
      assert.ok(!page.includes('passkey-sign-in'), path)
    }
  })

  test("the sign-in pages carry the enrolment step as a <template>: the app's setup and the recovery codes", async () => {
    for (const path of ['/login', '/login?method=code', '/signup', `/login/link?token=${TOKEN}`]) {
      const { body } = await get(path)
      const match = /<template id="enrol-template">([\s\S]*?)<\/template>/.exec(body)
      assert.ok(match, path)
      const template = match[1] ?? ''
      assert.match(template, /<h2 id="enrol-heading" tabindex="-1">Set up two-step sign-in<\/h2>/)
      assert.match(
        template,
        /<img class="qr" id="totp-qr" alt="QR code to scan with your authenticator app"/,
      )
      assert.ok(template.includes('<code class="secret" id="totp-secret"></code>'))
      assert.ok(template.includes('<label for="totp-confirm-code">Code from the app</label>'))
      assert.ok(template.includes('<div class="panel" id="recovery-show" hidden>'))
      assert.ok(template.includes('<button type="button" id="recovery-done">I saved them</button>'))
      // No Cancel: there is no signed-in page to go back to.
      assert.ok(!template.includes('totp-cancel'), path)
      // Nothing of it outside the template.
      assert.ok(!body.replace(match[0], '').includes('id="totp-'), path)
      assert.match(body.replace(match[0], ''), /<div id="first-step">/, path)
    }
    for (const path of ['/account', '/forgot-password', '/inspect']) {
      assert.ok(!(await get(path)).body.includes('enrol-template'), path)
    }
  })

  test('/account: the passkeys of "Two-step sign-in": the list, Add (hidden until the script checks), its panels hidden', async () => {
    const { body } = await get('/account')
    assert.ok(body.includes('<h3 id="passkeys-heading">Passkeys</h3>'))
    assert.ok(
      body.includes(
        '<ul class="passkeys" id="passkeys-list" aria-labelledby="passkeys-heading"></ul>',
      ),
    )
    assert.ok(
      body.includes(
        '<button type="button" class="secondary" id="passkey-add-start" hidden>Add a passkey</button>',
      ),
    )
    assert.match(
      body,
      /<p class="hint" id="passkey-unsupported" hidden>This browser cannot make passkeys/,
    )
    for (const id of ['passkey-add-panel', 'passkey-rename-panel', 'passkey-remove-confirm']) {
      assert.match(body, new RegExp(`id="${id}" hidden>`), id)
    }
    assert.match(
      body,
      /<input id="passkey-add-name" name="name" type="text" autocomplete="off" required maxlength="64" /,
    )
    assert.match(
      body,
      /<input id="passkey-rename-name" name="name" type="text" autocomplete="off" required maxlength="64" /,
    )
    assert.ok(
      body.includes(
        '<button type="button" class="danger" id="passkey-remove-yes">Remove it</button>',
      ),
    )
    // The setup and the codes are rendered once: the account's own.
    assert.equal(body.match(/id="totp-qr"/g)?.length, 1)
    assert.equal(body.match(/id="recovery-show"/g)?.length, 1)
    assert.ok(
      body.includes('<button type="button" class="secondary" id="totp-cancel">Cancel</button>'),
    )
  })
})
