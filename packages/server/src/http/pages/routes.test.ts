// The hosted pages over app.inject(): their headers, what the server renders
// into them, their assets, and the switch that turns them off.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { harness } from '../../../test/support/harness.ts'
import { logoSource } from './headers.ts'
import { redirectOrigins } from './routes.ts'

const PAGES = ['/login', '/signup', '/account', '/inspect'] as const

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
      assert.equal(
        csp,
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'",
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
