// The refresh cookie against the real service: its name and scope by scheme
// (`__Host-` on https), cookie tossing (issue #12 item 4), and the Origin
// check's loopback spellings in development (issue #13 item 1).

import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, it } from 'node:test'
import pino from 'pino'
import { code, harness, PASSWORD } from '../../../test/support/harness.ts'
import { loopbackAliases } from './browser-session.ts'

/** A browser client's header (a JSON body brings its own content type). */
const BROWSER = { 'x-tessera-csrf': '1' }

/** Set-Cookie headers of a response, as an array. */
function setCookies(headers: Record<string, unknown>): string[] {
  const value = headers['set-cookie']
  return value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)]
}

/** The live value of cookie `name` (an expired one, for the old Path=/auth, is skipped). */
function cookieValue(headers: Record<string, unknown>, name: string): string | undefined {
  for (const line of setCookies(headers)) {
    const value = line.startsWith(`${name}=`) ? line.slice(name.length + 1).split(';')[0] : ''
    if (value !== '') return value
  }
  return undefined
}

describe('the refresh cookie on https: __Host-tessera_refresh', () => {
  it('is Secure, Path=/, without Domain, and a tossed tessera_refresh is ignored', async () => {
    const h = await harness({ TESSERA_ISSUER: 'https://auth.example.com' })
    await h.signup('host@example.com')
    const login = await h.call('POST', '/auth/login', {
      headers: BROWSER,
      body: { email: 'host@example.com', password: PASSWORD },
    })
    assert.equal(login.status, 200)
    const line = setCookies(login.headers).find((l) => l.startsWith('__Host-tessera_refresh='))
    assert.ok(line, JSON.stringify(setCookies(login.headers)))
    assert.match(line, /; Path=\/(;|$)/)
    assert.match(line, /; Secure/)
    assert.match(line, /; HttpOnly/)
    assert.match(line, /; SameSite=Strict/)
    assert.doesNotMatch(line, /Domain=/i)
    assert.equal(login.body.refreshToken, undefined)

    const mine = cookieValue(login.headers, '__Host-tessera_refresh')!
    // An attacker on a sibling host planted `tessera_refresh` for the parent
    // domain, sent first: the server reads only the __Host- cookie.
    const planted = `tessera_refresh=${'A'.repeat(43)}; __Host-tessera_refresh=${mine}`
    const refreshed = await h.call('POST', '/auth/refresh', {
      headers: { ...BROWSER, cookie: planted, origin: 'https://auth.example.com' },
    })
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body))
    assert.equal((refreshed.body.user as { email: string }).email, 'host@example.com')

    const onlyPlanted = await h.call('POST', '/auth/refresh', {
      headers: { ...BROWSER, cookie: `tessera_refresh=${'A'.repeat(43)}` },
    })
    assert.equal(code(onlyPlanted.body), 'missing_token')
  })

  it('the discovery document names the cookie in use', async () => {
    const https = await harness({ TESSERA_ISSUER: 'https://auth.example.com' })
    const doc = await https.call('GET', '/.well-known/openid-configuration')
    assert.equal(
      (doc.body.tessera as Record<string, unknown>).refresh_cookie_name,
      '__Host-tessera_refresh',
    )
    const http = await harness()
    const local = await http.call('GET', '/.well-known/openid-configuration')
    assert.equal(
      (local.body.tessera as Record<string, unknown>).refresh_cookie_name,
      'tessera_refresh',
    )
  })
})

describe('cookie tossing on http: the refresh cookie sent twice', () => {
  it('is refused with csrf_failed and rotates nothing', async () => {
    const h = await harness()
    const victim = await h.signup('victim@example.com')
    const attacker = await h.signup('attacker@example.com')
    const login = await h.call('POST', '/auth/login', {
      headers: BROWSER,
      body: { email: 'victim@example.com', password: PASSWORD },
    })
    const line = setCookies(login.headers).find(
      (l) => l.startsWith('tessera_refresh=') && !l.startsWith('tessera_refresh=;'),
    )!
    assert.match(line, /; Path=\/(;|$)/)
    const mine = cookieValue(login.headers, 'tessera_refresh')!
    // The browser sends the planted parent-domain cookie first.
    const tossed = await h.call('POST', '/auth/refresh', {
      headers: {
        ...BROWSER,
        cookie: `tessera_refresh=${String(attacker.refreshToken)}; tessera_refresh=${mine}`,
      },
    })
    assert.equal(tossed.status, 403)
    assert.equal(code(tossed.body), 'csrf_failed')
    assert.equal((tossed.body.error as { reason?: string }).reason, 'duplicate_cookie')
    assert.equal(tossed.body.user, undefined, 'never signed in to anyone')
    // Neither token was used: both still refresh.
    const own = await h.call('POST', '/auth/refresh', {
      headers: { ...BROWSER, cookie: `tessera_refresh=${mine}` },
    })
    assert.equal((own.body.user as { email: string }).email, 'victim@example.com')
    const theirs = await h.call('POST', '/auth/refresh', {
      body: { refreshToken: attacker.refreshToken },
    })
    assert.equal(theirs.status, 200)
    assert.ok(victim.accessToken)
  })

  it('logout with a doubled cookie is refused the same way, and ends nothing', async () => {
    const h = await harness()
    const s = await h.signup('twice@example.com')
    const out = await h.call('POST', '/auth/logout', {
      token: s.accessToken as string,
      headers: { 'x-tessera-csrf': '1', cookie: 'tessera_refresh=a; tessera_refresh=b' },
    })
    assert.equal(code(out.body), 'csrf_failed')
    const me = await h.call('GET', '/auth/me', { token: s.accessToken as string })
    assert.equal(me.status, 200)
  })
})

describe('the Origin check in development (issue #13: both loopback spellings)', () => {
  it('loopbackAliases lists the three spellings of a loopback issuer, and nothing for others', () => {
    assert.deepEqual(loopbackAliases('http://localhost:3000'), [
      'http://localhost:3000',
      'http://127.0.0.1:3000',
      'http://[::1]:3000',
    ])
    assert.deepEqual(loopbackAliases('https://localhost:3000'), [])
    assert.deepEqual(loopbackAliases('http://auth.example.com'), [])
  })

  it('a page at http://127.0.0.1:<port> may refresh with the default localhost issuer; another port may not, and the log says why', async () => {
    const lines: Record<string, unknown>[] = []
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(JSON.parse(String(chunk)) as Record<string, unknown>)
          done()
        },
      }),
    )
    const h = await harness({ TESSERA_PORT: '3000' }, { logger })
    await h.signup('dev@example.com')
    const login = await h.call('POST', '/auth/login', {
      headers: { ...BROWSER, origin: 'http://127.0.0.1:3000' },
      body: { email: 'dev@example.com', password: PASSWORD },
    })
    const cookie = `tessera_refresh=${cookieValue(login.headers, 'tessera_refresh')}`
    const ok = await h.call('POST', '/auth/refresh', {
      headers: { ...BROWSER, cookie, origin: 'http://127.0.0.1:3000' },
    })
    assert.equal(ok.status, 200, JSON.stringify(ok.body))
    const next = `tessera_refresh=${cookieValue(ok.headers, 'tessera_refresh')}`
    const other = await h.call('POST', '/auth/refresh', {
      headers: { ...BROWSER, cookie: next, origin: 'http://127.0.0.1:3001' },
    })
    assert.equal(code(other.body), 'csrf_failed')
    const refusal = lines.find((line) => String(line.msg).startsWith('csrf: origin not allowed'))
    assert.ok(refusal, JSON.stringify(lines.map((l) => l.msg)))
    assert.equal(refusal.origin, 'http://127.0.0.1:3001')
    assert.deepEqual(refusal.allowedOrigins, [
      'http://localhost:3000',
      'http://127.0.0.1:3000',
      'http://[::1]:3000',
    ])
  })

  it('production accepts only the issuer’s own spelling', async () => {
    const h = await harness({
      NODE_ENV: 'production',
      TESSERA_ISSUER: 'http://localhost:3000',
    })
    await h.signup('prod@example.com')
    const login = await h.call('POST', '/auth/login', {
      headers: BROWSER,
      body: { email: 'prod@example.com', password: PASSWORD },
    })
    assert.equal(login.status, 200, JSON.stringify(login.body))
    const name = setCookies(login.headers)[0]!.split('=')[0]!
    const cookie = `${name}=${cookieValue(login.headers, name)}`
    const alias = await h.call('POST', '/auth/refresh', {
      headers: { ...BROWSER, cookie, origin: 'http://127.0.0.1:3000' },
    })
    assert.equal(code(alias.body), 'csrf_failed')
  })
})
