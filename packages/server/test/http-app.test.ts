// The HTTP API over the real service (test/support/harness.ts, app.inject):
// every route's happy path against its response schema, native and browser
// modes, CSRF, authentication, the error envelope and its headers, logging,
// metrics, discovery and OpenAPI. A stub service (test/support/auth-stub.ts)
// stands in only where a test needs a failure or an answer the real service
// cannot give on demand.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { describe, test } from 'node:test'
import { FormatRegistry, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import pino, { type Logger } from 'pino'
import { AuthError, type ErrorCode } from '../src/auth/errors.ts'
import type { AccessContext } from '../src/auth/types.ts'
import { errorCodes } from '../src/http/error-codes.ts'
import { createMetrics } from '../src/http/plugins/metrics.ts'
import { AuditList, KeyList, UserList } from '../src/http/schemas/admin.ts'
import { SessionList, TokenResponse } from '../src/http/schemas/auth.ts'
import { AdminUser, ErrorBody, PublicUser } from '../src/http/schemas/common.ts'
import { Discovery, Jwks, Status } from '../src/http/schemas/discovery.ts'
import { stubApp } from './support/auth-stub.ts'
import { harness, PASSWORD } from './support/harness.ts'

FormatRegistry.Set('date-time', (value) => !Number.isNaN(Date.parse(value)))

const ADMIN = 'admin@example.com'
const USER = 'user@example.com'
const BROWSER = { 'x-tessera-csrf': '1' }

function assertShape(schema: TSchema, value: unknown): void {
  if (Value.Check(schema, value)) return
  const errors = [...Value.Errors(schema, value)].slice(0, 5).map((e) => `${e.path}: ${e.message}`)
  assert.fail(`response does not match its schema: ${errors.join('; ')}`)
}

function assertError(response: LightMyRequestResponse, code: ErrorCode): void {
  const body = response.json()
  assert.equal(body.error?.code, code, response.body)
  assert.equal(response.statusCode, errorCodes[code].status)
  assert.equal(typeof body.error.message, 'string')
  assertShape(ErrorBody, body)
  assert.equal(response.headers['cache-control'], 'no-store')
  assert.match(String(response.headers['content-type']), /^application\/json/)
}

function bearer(token: string) {
  return { authorization: `Bearer ${token}` }
}

/** The real service with an admin (Ada) and a user, added as `tessera users add` does. */
async function setup(env: Record<string, string> = {}, options: { logger?: Logger } = {}) {
  const h = await harness(env, options)
  await h.user(ADMIN, { roles: ['admin'], name: 'Ada' })
  await h.user(USER)
  return h
}

/** The access context a stub's `authenticate` hands to protected routes. */
const STUB_ACCESS: AccessContext = {
  token: 'stub',
  claims: {
    iss: 'http://localhost:3000',
    sub: 'u1',
    aud: 'http://localhost:3000',
    iat: 0,
    exp: 1,
    jti: 'j1',
    sid: 's1',
    roles: ['user'],
  },
  userId: 'u1',
  sessionId: 's1',
  roles: ['user'],
}

describe('native clients', () => {
  test('signup: 201, tokens in the body, no cookie, no-store', async () => {
    const h = await setup()
    const response = await h.app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email: 'New@Example.com', password: PASSWORD, name: 'Newcomer' },
    })
    assert.equal(response.statusCode, 201)
    const body = response.json()
    assertShape(TokenResponse, body)
    assert.equal(body.tokenType, 'Bearer')
    assert.equal(body.user.email, 'new@example.com')
    assert.equal(body.user.name, 'Newcomer')
    assert.equal(typeof body.refreshToken, 'string')
    assert.equal(response.headers['set-cookie'], undefined)
    assert.equal(response.headers['cache-control'], 'no-store')
    assert.deepEqual(h.calls, ['signup'])
  })

  test('signup: closed signups are 403 forbidden without calling the service', async () => {
    const h = await setup({ TESSERA_SIGNUP: 'false' })
    const response = await h.app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email: 'new@example.com', password: PASSWORD },
    })
    assertError(response, 'forbidden')
    assert.deepEqual(h.calls, [])
    assert.equal(await h.tessera.store.users.countUsers(), 2)
  })

  test('signup: domain refusals pass through (email_taken, password policy issues)', async () => {
    const h = await setup()
    const taken = await h.app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email: USER, password: PASSWORD },
    })
    assertError(taken, 'email_taken')
    const weak = await h.app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email: 'weak@example.com', password: 'short' },
    })
    assertError(weak, 'validation_failed')
    assert.deepEqual(weak.json().error.issues, [
      { path: '/password', message: 'Use at least 8 characters.' },
    ])
  })

  test('login: 200 with the token shape; the ClientInfo comes from the request', async () => {
    const h = await setup()
    const response = await h.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'user-agent': `agent/${'x'.repeat(1000)}` },
      payload: { email: USER, password: PASSWORD },
    })
    assert.equal(response.statusCode, 200)
    assertShape(TokenResponse, response.json())
    assert.equal(typeof response.json().refreshToken, 'string')
    // The session records what the route took from the request.
    const list = await h.app.inject({
      url: '/auth/sessions',
      headers: bearer(response.json().accessToken),
    })
    const [session] = list.json().sessions as { ip: string; userAgent: string }[]
    assert.equal(session?.ip, '127.0.0.1')
    assert.equal(session?.userAgent.length, 512)
    assert.ok(session?.userAgent.startsWith('agent/x'))
  })

  test('login: invalid_credentials carries a challenge without an error code', async () => {
    const h = await setup()
    const response = await h.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: USER, password: 'wrong password' },
    })
    assertError(response, 'invalid_credentials')
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="tessera"')
  })

  test('login: rate_limited is 429 with Retry-After (whole seconds) and retryAfter', async () => {
    const h = await setup({ TESSERA_LOGIN_RATE_LIMIT: 'fails=2' })
    const attempt = () =>
      h.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: USER, password: 'wrong password' },
      })
    assertError(await attempt(), 'invalid_credentials')
    assertError(await attempt(), 'invalid_credentials')
    const limited = await attempt()
    assertError(limited, 'rate_limited')
    // The second consecutive failure past the free ones blocks for 2^0 s.
    assert.equal(limited.headers['retry-after'], '1')
    assert.equal(limited.json().error.retryAfter, 1)
    assert.equal(limited.headers['www-authenticate'], undefined)
  })

  test('refresh: rotates through the body; a replay after the grace window is reuse', async () => {
    const h = await setup()
    const first = (await h.login(USER)).tokens
    const rotated = await h.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: first.refreshToken },
    })
    assert.equal(rotated.statusCode, 200)
    assertShape(TokenResponse, rotated.json())
    assert.notEqual(rotated.json().refreshToken, first.refreshToken)
    assert.equal(rotated.headers['set-cookie'], undefined)

    h.clock.advance(60)
    const replay = await h.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: first.refreshToken },
    })
    assertError(replay, 'refresh_token_reused')
    assert.match(
      String(replay.headers['www-authenticate']),
      /^Bearer realm="tessera", error="invalid_token", error_description="[^"]+"$/,
    )

    const unknown = await h.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: 'A'.repeat(43) },
    })
    assertError(unknown, 'invalid_refresh_token')
    const none = await h.app.inject({ method: 'POST', url: '/auth/refresh' })
    assertError(none, 'missing_token')
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="tessera"')
  })

  test('logout: by access token, then the token is revoked', async () => {
    const h = await setup()
    const { accessToken } = (await h.login(USER)).tokens
    const response = await h.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: bearer(accessToken),
    })
    assert.equal(response.statusCode, 204)
    assert.equal(response.body, '')
    assert.equal(response.headers['set-cookie'], undefined)
    const after = await h.app.inject({ url: '/auth/me', headers: bearer(accessToken) })
    assertError(after, 'token_revoked')
  })

  test('logout: by refresh token in the body; nothing at all is missing_token', async () => {
    const h = await setup()
    const { accessToken, refreshToken } = (await h.login(USER)).tokens
    const response = await h.app.inject({
      method: 'POST',
      url: '/auth/logout',
      payload: { refreshToken },
    })
    assert.equal(response.statusCode, 204)
    assertError(
      await h.app.inject({ url: '/auth/me', headers: bearer(accessToken) }),
      'token_revoked',
    )
    assertError(await h.app.inject({ method: 'POST', url: '/auth/logout' }), 'missing_token')
  })

  test('logout-all: 204, every session of the user ends', async () => {
    const h = await setup()
    const one = (await h.login(USER)).tokens
    const two = (await h.login(USER)).tokens
    const response = await h.app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: bearer(one.accessToken),
    })
    assert.equal(response.statusCode, 204)
    for (const tokens of [one, two]) {
      assertError(
        await h.app.inject({ url: '/auth/me', headers: bearer(tokens.accessToken) }),
        'token_revoked',
      )
    }
  })

  test('me: the public user', async () => {
    const h = await setup()
    const { accessToken } = (await h.login(ADMIN)).tokens
    const response = await h.app.inject({ url: '/auth/me', headers: bearer(accessToken) })
    assert.equal(response.statusCode, 200)
    const body = response.json()
    assertShape(PublicUser, body)
    assert.equal(body.email, ADMIN)
    assert.equal(body.name, 'Ada')
    assert.deepEqual(body.roles, ['admin'])
  })

  test('me: nothing more than the public user, even if the service returns more', async () => {
    const app = await stubApp({
      authenticate: () => STUB_ACCESS,
      me: async () => ({
        id: 'u1',
        email: USER,
        name: null,
        roles: ['user'],
        emailVerified: false,
        createdAt: new Date(0).toISOString(),
        passwordHash: '$argon2id$leak',
      }),
    })
    const response = await app.inject({ url: '/auth/me', headers: bearer('anything') })
    assert.equal(response.statusCode, 200)
    assertShape(PublicUser, response.json())
    assert.equal(response.json().email, USER)
    assert.ok(!response.body.includes('argon2'))
  })

  test('sessions: list with the current one flagged; revoke another; foreign is 404', async () => {
    const h = await setup()
    const mine = await h.login(USER)
    const other = await h.login(USER)
    const list = await h.app.inject({
      url: '/auth/sessions',
      headers: bearer(mine.tokens.accessToken),
    })
    assert.equal(list.statusCode, 200)
    assertShape(SessionList, list.json())
    const sessions = list.json().sessions as { id: string; current: boolean }[]
    assert.equal(sessions.length, 2)
    assert.deepEqual(
      sessions.filter((session) => session.current).map((session) => session.id),
      [mine.sessionId],
    )
    const revoke = await h.app.inject({
      method: 'DELETE',
      url: `/auth/sessions/${other.sessionId}`,
      headers: bearer(mine.tokens.accessToken),
    })
    assert.equal(revoke.statusCode, 204)
    assertError(
      await h.app.inject({ url: '/auth/me', headers: bearer(other.tokens.accessToken) }),
      'token_revoked',
    )
    const adminSession = (await h.login(ADMIN)).sessionId
    assertError(
      await h.app.inject({
        method: 'DELETE',
        url: `/auth/sessions/${adminSession}`,
        headers: bearer(mine.tokens.accessToken),
      }),
      'not_found',
    )
  })

  test('password: 204; a wrong current password is refused', async () => {
    const h = await setup()
    const { accessToken } = (await h.login(USER)).tokens
    const wrong = await h.app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(accessToken),
      payload: { currentPassword: 'nope nope nope', newPassword: 'a brand new passphrase' },
    })
    assertError(wrong, 'invalid_credentials')
    const changed = await h.app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(accessToken),
      payload: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
    })
    assert.equal(changed.statusCode, 204)
    const login = await h.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: USER, password: 'a brand new passphrase' },
    })
    assert.equal(login.statusCode, 200)
  })

  test('no response to a native client ever sets a cookie', async () => {
    const h = await setup()
    const { accessToken, refreshToken } = (await h.login(ADMIN)).tokens
    const requests = [
      {
        method: 'POST',
        url: '/auth/signup',
        payload: { email: 'n@example.com', password: PASSWORD },
      },
      { method: 'POST', url: '/auth/login', payload: { email: USER, password: PASSWORD } },
      { method: 'POST', url: '/auth/login', payload: { email: USER, password: 'bad password' } },
      { method: 'POST', url: '/auth/refresh', payload: { refreshToken } },
      { method: 'POST', url: '/auth/refresh', payload: { refreshToken: 'x'.repeat(43) } },
      { method: 'GET', url: '/auth/me', headers: bearer(accessToken) },
      { method: 'GET', url: '/auth/sessions', headers: bearer(accessToken) },
      { method: 'GET', url: '/admin/users', headers: bearer(accessToken) },
      { method: 'GET', url: '/.well-known/jwks.json' },
      { method: 'GET', url: '/nowhere' },
      { method: 'POST', url: '/auth/logout-all', headers: bearer(accessToken) },
      { method: 'POST', url: '/auth/logout', headers: bearer(accessToken) },
      { method: 'POST', url: '/auth/logout' },
    ] as const
    for (const request of requests) {
      const response = await h.app.inject(request)
      assert.equal(response.headers['set-cookie'], undefined, `${request.method} ${request.url}`)
    }
  })
})

describe('browser clients (X-Tessera-CSRF: 1)', () => {
  async function browserLogin(app: FastifyInstance) {
    const response = await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: BROWSER,
      payload: { email: USER, password: PASSWORD },
    })
    assert.equal(response.statusCode, 200)
    const cookie = response.cookies.find((c) => c.name === 'tessera_refresh' && c.path === '/')
    assert.ok(cookie, 'the refresh cookie is set')
    return { response, cookie }
  }

  test('login: the refresh token only in an HttpOnly Secure SameSite=Strict cookie on Path=/', async () => {
    const h = await setup({ TESSERA_COOKIE_SECURE: 'true' })
    const { response, cookie } = await browserLogin(h.app)
    const body = response.json()
    assertShape(TokenResponse, body)
    assert.equal(body.refreshToken, undefined)
    assert.ok(!response.body.includes(cookie.value))
    assert.equal(cookie.httpOnly, true)
    assert.equal(cookie.secure, true)
    assert.equal(cookie.sameSite, 'Strict')
    // Path=/ since issue 17: /oauth/authorize must see the session too.
    assert.equal(cookie.path, '/')
    // A cookie left on /auth by an earlier version is expired, or the browser would send two.
    const legacy = response.cookies.find((c) => c.name === 'tessera_refresh' && c.path === '/auth')
    assert.equal(legacy?.maxAge, 0)
    assert.equal(legacy?.value, '')
    // As long as the refresh token lives: the idle timeout, within the session's end.
    assert.equal(cookie.maxAge, h.tessera.config.refreshIdleTtl)
  })

  test('signup in browser mode also sets the cookie; cookieSecure=false drops Secure', async () => {
    const h = await setup({ TESSERA_COOKIE_SECURE: 'false' })
    const response = await h.app.inject({
      method: 'POST',
      url: '/auth/signup',
      headers: BROWSER,
      payload: { email: 'b@example.com', password: PASSWORD },
    })
    assert.equal(response.statusCode, 201)
    assert.equal(response.json().refreshToken, undefined)
    const cookie = response.cookies.find((c) => c.name === 'tessera_refresh' && c.path === '/')
    assert.ok(cookie)
    assert.equal(cookie.secure, undefined)
    assert.doesNotMatch(String(response.headers['set-cookie']), /Secure/)
  })

  test('refresh by cookie with the header: a new cookie, no token in the body', async () => {
    const h = await setup()
    const { cookie } = await browserLogin(h.app)
    const response = await h.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { ...BROWSER, origin: 'http://localhost:3000' },
      cookies: { tessera_refresh: cookie.value },
    })
    assert.equal(response.statusCode, 200)
    assert.equal(response.json().refreshToken, undefined)
    const next = response.cookies.find((c) => c.name === 'tessera_refresh' && c.path === '/')
    assert.ok(next)
    assert.notEqual(next.value, cookie.value)
  })

  test('refresh by cookie without the header is csrf_failed, and the service is not called', async () => {
    const h = await setup()
    const { cookie } = await browserLogin(h.app)
    const response = await h.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      cookies: { tessera_refresh: cookie.value },
    })
    assertError(response, 'csrf_failed')
    const wrongValue = await h.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { 'x-tessera-csrf': 'yes' },
      cookies: { tessera_refresh: cookie.value },
    })
    assertError(wrongValue, 'csrf_failed')
    assert.ok(!h.calls.includes('refresh'))
    // The refused requests did not use the token: it still rotates, once.
    const fine = await h.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: BROWSER,
      cookies: { tessera_refresh: cookie.value },
    })
    assert.equal(fine.statusCode, 200)
  })

  test('refresh by cookie from a foreign Origin is csrf_failed', async () => {
    const h = await setup()
    const { cookie } = await browserLogin(h.app)
    for (const origin of ['https://evil.example', 'null', 'http://localhost:3000.evil.example']) {
      const response = await h.app.inject({
        method: 'POST',
        url: '/auth/refresh',
        headers: { ...BROWSER, origin },
        cookies: { tessera_refresh: cookie.value },
      })
      assertError(response, 'csrf_failed')
    }
    assert.ok(!h.calls.includes('refresh'))
  })

  test("the issuer's own origin (the hosted pages) passes even when the allowed list omits it", async () => {
    const h = await setup({ TESSERA_ALLOWED_ORIGINS: 'https://app.example.com' })
    const { cookie } = await browserLogin(h.app)
    const response = await h.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { ...BROWSER, origin: 'http://localhost:3000' },
      cookies: { tessera_refresh: cookie.value },
    })
    assert.equal(response.statusCode, 200)
  })

  test('allowed origins: listed ones pass, a lone * (development) allows any', async () => {
    const listed = await setup({ TESSERA_ALLOWED_ORIGINS: 'https://app.example.com' })
    const { cookie } = await browserLogin(listed.app)
    const ok = await listed.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { ...BROWSER, origin: 'https://app.example.com' },
      cookies: { tessera_refresh: cookie.value },
    })
    assert.equal(ok.statusCode, 200)
    const open = await setup({ TESSERA_ALLOWED_ORIGINS: '*' })
    const { cookie: other } = await browserLogin(open.app)
    const any = await open.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { ...BROWSER, origin: 'https://anything.example' },
      cookies: { tessera_refresh: other.value },
    })
    assert.equal(any.statusCode, 200)
    assertError(
      await open.app.inject({
        method: 'POST',
        url: '/auth/refresh',
        headers: { origin: 'https://anything.example' },
        cookies: { tessera_refresh: other.value },
      }),
      'csrf_failed',
    )
  })

  test('a dead cookie is refused and expired in the same answer', async () => {
    const h = await setup()
    for (const value of ['A'.repeat(43), 'not a token!']) {
      const response = await h.app.inject({
        method: 'POST',
        url: '/auth/refresh',
        headers: BROWSER,
        cookies: { tessera_refresh: value },
      })
      assertError(response, 'invalid_refresh_token')
      const cleared = response.cookies.find((c) => c.name === 'tessera_refresh' && c.path === '/')
      assert.equal(cleared?.maxAge, 0)
    }
  })

  test('logout by cookie: 204, the session ends, the cookie is cleared with the same attributes', async () => {
    const h = await setup({ TESSERA_COOKIE_SECURE: 'true' })
    const { response: login, cookie } = await browserLogin(h.app)
    const accessToken = login.json().accessToken as string
    const response = await h.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: BROWSER,
      cookies: { tessera_refresh: cookie.value },
    })
    assert.equal(response.statusCode, 204)
    const cleared = response.cookies.find((c) => c.name === 'tessera_refresh' && c.path === '/')
    assert.ok(cleared)
    assert.equal(cleared.value, '')
    assert.equal(cleared.maxAge, 0)
    assert.equal(cleared.path, '/')
    assert.equal(cleared.httpOnly, true)
    assert.equal(cleared.secure, true)
    assert.equal(cleared.sameSite, 'Strict')
    assertError(
      await h.app.inject({ url: '/auth/me', headers: bearer(accessToken) }),
      'token_revoked',
    )
  })

  test('logout by cookie without the header, or from a foreign origin, is csrf_failed', async () => {
    const h = await setup()
    const { response: login, cookie } = await browserLogin(h.app)
    assertError(
      await h.app.inject({
        method: 'POST',
        url: '/auth/logout',
        cookies: { tessera_refresh: cookie.value },
      }),
      'csrf_failed',
    )
    assertError(
      await h.app.inject({
        method: 'POST',
        url: '/auth/logout',
        headers: { ...BROWSER, origin: 'https://evil.example' },
        cookies: { tessera_refresh: cookie.value },
      }),
      'csrf_failed',
    )
    assert.ok(!h.calls.includes('logout'))
    const me = await h.app.inject({ url: '/auth/me', headers: bearer(login.json().accessToken) })
    assert.equal(me.statusCode, 200)
  })

  test('logout by access token in browser mode also clears the cookie', async () => {
    const h = await setup()
    const { response: login } = await browserLogin(h.app)
    const response = await h.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { ...BROWSER, ...bearer(login.json().accessToken) },
    })
    assert.equal(response.statusCode, 204)
    assert.equal(
      response.cookies.find((c) => c.name === 'tessera_refresh' && c.path === '/')?.maxAge,
      0,
    )
  })
})

describe('authentication', () => {
  test('no Authorization header is missing_token with a bare challenge (RFC 6750 §3.1)', async () => {
    const h = await setup()
    const response = await h.app.inject({ url: '/auth/me' })
    assertError(response, 'missing_token')
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="tessera"')
  })

  test('a garbage Authorization header is invalid_token, never a call with garbage', async () => {
    const h = await setup()
    const { accessToken } = (await h.login(USER)).tokens
    const garbage = [
      'Bearer',
      'Bearer ',
      `Bearer ${accessToken} extra`,
      `Bearer ${accessToken}=`,
      'Bearer <script>',
      "Bearer ' OR 1=1 --",
      'Bearer é',
      `Bearer ${'a'.repeat(9000)}`,
    ]
    for (const authorization of garbage) {
      const response = await h.app.inject({ url: '/auth/me', headers: { authorization } })
      assertError(response, 'invalid_token')
      assert.match(String(response.headers['www-authenticate']), /error="invalid_token"/)
    }
    // No Bearer credentials at all (an empty header, another scheme): the
    // bare challenge of RFC 6750 §3.1, as for no header.
    const basic = `Basic ${Buffer.from('a:b').toString('base64')}`
    for (const authorization of ['', basic, `Token ${accessToken}`]) {
      const response = await h.app.inject({ url: '/auth/me', headers: { authorization } })
      assertError(response, 'missing_token')
      assert.equal(response.headers['www-authenticate'], 'Bearer realm="tessera"')
    }
    assert.ok(!h.calls.includes('me'))
  })

  test('the scheme is case-insensitive; several spaces are allowed (RFC 6750 §2.1)', async () => {
    const h = await setup()
    const { accessToken } = (await h.login(USER)).tokens
    for (const authorization of [`bearer ${accessToken}`, `BEARER  ${accessToken}`]) {
      const response = await h.app.inject({ url: '/auth/me', headers: { authorization } })
      assert.equal(response.statusCode, 200, authorization)
    }
  })

  test('an expired access token is token_expired', async () => {
    const h = await setup()
    const { accessToken } = (await h.login(USER)).tokens
    h.clock.advance(h.tessera.config.accessTokenTtl + 1)
    const response = await h.app.inject({ url: '/auth/me', headers: bearer(accessToken) })
    assertError(response, 'token_expired')
    assert.match(
      String(response.headers['www-authenticate']),
      /error_description="the access token has expired"/,
    )
  })

  test('admin routes: 403 forbidden without the admin role, before the body is read', async () => {
    const h = await setup()
    const { accessToken } = (await h.login(USER)).tokens
    const routes = [
      { method: 'GET', url: '/admin/users' },
      { method: 'PATCH', url: '/admin/users/abc', payload: { disabled: true } },
      { method: 'POST', url: '/admin/keys/rotate' },
      { method: 'GET', url: '/admin/keys' },
      { method: 'GET', url: '/admin/audit' },
      // Not even parsed: a non-admin cannot make the server read a body.
      { method: 'PATCH', url: '/admin/users/abc', payload: '{not json' },
    ] as const
    for (const route of routes) {
      const response = await h.app.inject({
        ...route,
        headers: { ...bearer(accessToken), 'content-type': 'application/json' },
      })
      assertError(response, 'forbidden')
      assertError(await h.app.inject(route), 'missing_token')
    }
    // Only the token check reached the service.
    assert.deepEqual(
      h.calls.filter((call) => call !== 'authenticate'),
      [],
    )
  })
})

describe('administration', () => {
  test('users: list with a keyset cursor, filter by email, patch', async () => {
    const h = await setup()
    const { accessToken } = (await h.login(ADMIN)).tokens
    const page = await h.app.inject({ url: '/admin/users?limit=1', headers: bearer(accessToken) })
    assert.equal(page.statusCode, 200)
    assertShape(UserList, page.json())
    assert.equal(page.json().users.length, 1)
    const next = page.json().next as string
    assert.equal(next, page.json().users[0].id)
    const rest = await h.app.inject({
      url: `/admin/users?limit=100&after=${next}`,
      headers: bearer(accessToken),
    })
    assert.equal(rest.json().users.length, 1)
    assert.equal(rest.json().next, null)

    const found = await h.app.inject({
      url: `/admin/users?email=${encodeURIComponent(USER)}`,
      headers: bearer(accessToken),
    })
    const [user] = found.json().users as { id: string; email: string }[]
    assert.equal(user?.email, USER)

    const patched = await h.app.inject({
      method: 'PATCH',
      url: `/admin/users/${user?.id}`,
      headers: bearer(accessToken),
      payload: { roles: ['support'], name: null, disabled: false },
    })
    assert.equal(patched.statusCode, 200)
    assertShape(AdminUser, patched.json())
    assert.deepEqual(patched.json().roles, ['support'])
    assertError(
      await h.app.inject({
        method: 'PATCH',
        url: '/admin/users/no-such-user',
        headers: bearer(accessToken),
        payload: { disabled: true },
      }),
      'not_found',
    )
  })

  test('keys: rotate and list', async () => {
    const h = await setup()
    const { accessToken } = (await h.login(ADMIN)).tokens
    const rotated = await h.app.inject({
      method: 'POST',
      url: '/admin/keys/rotate',
      headers: bearer(accessToken),
    })
    assert.equal(rotated.statusCode, 200)
    assertShape(KeyList, rotated.json())
    assert.deepEqual(
      rotated
        .json()
        .keys.map((key: { state: string }) => key.state)
        .toSorted(),
      ['current', 'next'],
    )
    const listed = await h.app.inject({ url: '/admin/keys', headers: bearer(accessToken) })
    assertShape(KeyList, listed.json())
    assert.equal(listed.json().keys.length, 2)
  })

  test('audit: newest first, filters, and a `before` cursor', async () => {
    const h = await setup()
    const { accessToken } = (await h.login(ADMIN)).tokens
    for (let i = 0; i < 3; i += 1) {
      await h.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: USER, password: PASSWORD },
      })
    }
    type Entry = { id: number; event: string; userId: string | null }
    const all = await h.app.inject({ url: '/admin/audit?limit=100', headers: bearer(accessToken) })
    const entries = all.json().entries as Entry[]
    const ids = entries.map((entry) => entry.id)
    assert.deepEqual(
      ids,
      ids.toSorted((a, b) => b - a),
      'newest first',
    )
    const user = (await h.tessera.store.users.findUserByEmail(USER))!
    const logins = entries.filter((entry) => entry.event === 'login' && entry.userId === user.id)
    assert.equal(logins.length, 3)

    const page = await h.app.inject({ url: '/admin/audit?limit=2', headers: bearer(accessToken) })
    assert.equal(page.statusCode, 200)
    assertShape(AuditList, page.json())
    assert.deepEqual(
      page.json().entries.map((entry: Entry) => entry.id),
      ids.slice(0, 2),
    )
    assert.equal(page.json().next, ids[1])
    const older = await h.app.inject({
      url: `/admin/audit?before=${logins[1]!.id}&event=login&userId=${user.id}`,
      headers: bearer(accessToken),
    })
    assert.deepEqual(
      older.json().entries.map((entry: Entry) => entry.id),
      [logins[2]!.id],
    )
  })
})

describe('discovery and operations', () => {
  test('jwks: public keys only, cacheable, with an ETag that answers 304', async () => {
    const h = await setup()
    const response = await h.app.inject({ url: '/.well-known/jwks.json' })
    assert.equal(response.statusCode, 200)
    assertShape(Jwks, response.json())
    const keys = response.json().keys as Record<string, unknown>[]
    assert.ok(keys.length > 0)
    for (const key of keys) assert.equal(key.d, undefined, 'no private member')
    assert.equal(response.headers['cache-control'], 'public, max-age=300')
    const etag = String(response.headers.etag)
    assert.match(etag, /^"[\w-]+"$/)
    const again = await h.app.inject({
      url: '/.well-known/jwks.json',
      headers: { 'if-none-match': `"other", W/${etag}` },
    })
    assert.equal(again.statusCode, 304)
    assert.equal(again.body, '')
    const { accessToken } = (await h.login(ADMIN)).tokens
    await h.app.inject({ method: 'POST', url: '/admin/keys/rotate', headers: bearer(accessToken) })
    const changed = await h.app.inject({
      url: '/.well-known/jwks.json',
      headers: { 'if-none-match': etag },
    })
    assert.equal(changed.statusCode, 200)
    assert.notEqual(changed.headers.etag, etag)
  })

  test('jwks: private members are dropped even if the service hands them over', async () => {
    const key = { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1', alg: 'ES256', use: 'sig' }
    const app = await stubApp({
      jwks: () => ({ keys: [{ ...key, d: 'PRIVATE-SCALAR', k: 'SECRET' }] }),
    })
    const response = await app.inject({ url: '/.well-known/jwks.json' })
    assert.equal(response.statusCode, 200)
    assertShape(Jwks, response.json())
    assert.ok(!response.body.includes('PRIVATE-SCALAR'))
    assert.ok(!response.body.includes('SECRET'))
  })

  test('openid-configuration: issuer, jwks_uri and the endpoints, from the config', async () => {
    const h = await setup({ TESSERA_ISSUER: 'https://auth.example.com' })
    const response = await h.app.inject({ url: '/.well-known/openid-configuration' })
    assert.equal(response.statusCode, 200)
    const body = response.json()
    assertShape(Discovery, body)
    assert.equal(body.issuer, 'https://auth.example.com')
    assert.equal(body.jwks_uri, 'https://auth.example.com/.well-known/jwks.json')
    assert.equal(body.token_endpoint, 'https://auth.example.com/oauth/token')
    assert.equal(body.authorization_endpoint, 'https://auth.example.com/oauth/authorize')
    assert.equal(body.userinfo_endpoint, 'https://auth.example.com/oauth/userinfo')
    assert.equal(body.end_session_endpoint, 'https://auth.example.com/oauth/logout')
    assert.deepEqual(body.grant_types_supported, [
      'authorization_code',
      'refresh_token',
      'client_credentials',
    ])
    assert.deepEqual(body.id_token_signing_alg_values_supported, ['ES256'])
    // RFC 8414's name for the same document.
    const rfc8414 = await h.app.inject({ url: '/.well-known/oauth-authorization-server' })
    assert.deepEqual(rfc8414.json(), body)
    assert.deepEqual(body.tessera.access_token_signing_alg_values_supported, ['ES256'])
    assert.equal(body.tessera.refresh_endpoint, 'https://auth.example.com/auth/refresh')
  })

  test('health and ready; ready is 503 unavailable when the check fails', async () => {
    let healthy = true
    const h = await setup()
    assert.equal((await h.app.inject({ url: '/ready' })).statusCode, 200, 'the real store')
    const app = await h.buildApp({
      readiness: async () => {
        if (!healthy) throw new Error('database is down: connection refused')
      },
    })
    const health = await app.inject({ url: '/health' })
    assert.equal(health.statusCode, 200)
    assertShape(Status, health.json())
    assert.equal((await app.inject({ url: '/ready' })).statusCode, 200)
    healthy = false
    const ready = await app.inject({ url: '/ready' })
    assertError(ready, 'unavailable')
    assert.ok(!ready.body.includes('database'), 'the cause stays in the log')
  })

  test('openapi.json: OpenAPI 3.1 listing every route; optional bodies are not required', async () => {
    const h = await setup()
    const response = await h.app.inject({ url: '/openapi.json' })
    assert.equal(response.statusCode, 200)
    const document = response.json()
    assert.equal(document.openapi, '3.1.0')
    const paths = Object.keys(document.paths).sort()
    assert.deepEqual(paths, [
      '/.well-known/jwks.json',
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
      '/admin/audit',
      '/admin/clients',
      '/admin/clients/{id}',
      '/admin/keys',
      '/admin/keys/rotate',
      '/admin/users',
      '/admin/users/{id}',
      '/auth/consents',
      '/auth/consents/{id}',
      '/auth/email/change',
      '/auth/email/change/confirm',
      '/auth/email/verify',
      '/auth/email/verify/send',
      '/auth/identities',
      '/auth/identities/{provider}',
      '/auth/identities/{provider}/token',
      '/auth/login',
      '/auth/logout',
      '/auth/logout-all',
      '/auth/me',
      '/auth/mfa',
      '/auth/mfa/passkey/options',
      '/auth/mfa/recovery-codes',
      '/auth/mfa/totp',
      '/auth/mfa/totp/confirm',
      '/auth/mfa/totp/enroll',
      '/auth/mfa/verify',
      '/auth/otp/send',
      '/auth/otp/verify',
      '/auth/passkeys',
      '/auth/passkeys/login/options',
      '/auth/passkeys/login/verify',
      '/auth/passkeys/register/options',
      '/auth/passkeys/register/verify',
      '/auth/passkeys/{id}',
      '/auth/password',
      '/auth/password/forgot',
      '/auth/password/reset',
      '/auth/providers',
      '/auth/providers/{id}/callback',
      '/auth/providers/{id}/link',
      '/auth/providers/{id}/start',
      '/auth/reauthenticate',
      '/auth/reauthenticate/passkey/options',
      '/auth/refresh',
      '/auth/revocations',
      '/auth/sessions',
      '/auth/sessions/{id}',
      '/auth/signup',
      '/health',
      '/metrics',
      '/oauth/introspect',
      '/oauth/revoke',
      '/oauth/token',
      '/oauth/userinfo',
      '/openapi.json',
      '/ready',
    ])
    assert.equal(document.paths['/auth/refresh'].post.requestBody.required, false)
    assert.equal(document.paths['/auth/login'].post.requestBody.required, true)
    assert.ok(document.paths['/auth/me'].get.responses['4XX'])
    assert.deepEqual(document.paths['/auth/me'].get.security, [{ bearerAuth: [] }])
  })

  test('security headers on every answer, errors and 404s included', async () => {
    const h = await setup()
    for (const url of ['/health', '/nowhere', '/auth/me', '/.well-known/jwks.json']) {
      const response = await h.app.inject({ url })
      assert.equal(response.headers['x-content-type-options'], 'nosniff', url)
      assert.equal(response.headers['referrer-policy'], 'no-referrer', url)
      assert.equal(response.headers['x-frame-options'], 'DENY', url)
      assert.ok(response.headers['x-request-id'], url)
    }
    assertError(await h.app.inject({ url: '/nowhere' }), 'not_found')
  })

  test('request ids: behind a trusted proxy a sane X-Request-Id is echoed, anything else is replaced', async () => {
    const h = await setup({ TESSERA_TRUST_PROXY: '1' })
    const sane = await h.app.inject({ url: '/health', headers: { 'x-request-id': 'abc-123_XYZ' } })
    assert.equal(sane.headers['x-request-id'], 'abc-123_XYZ')
    for (const bad of ['a b', 'x'.repeat(129), 'id\u00e9', '<script>']) {
      const response = await h.app.inject({ url: '/health', headers: { 'x-request-id': bad } })
      assert.notEqual(response.headers['x-request-id'], bad)
      assert.match(String(response.headers['x-request-id']), /^[0-9a-f-]{36}$/)
    }
  })

  test('request ids: without a trusted proxy the client cannot choose one', async () => {
    const h = await setup()
    const first = await h.app.inject({ url: '/nowhere', headers: { 'x-request-id': 'victim-id' } })
    const second = await h.app.inject({ url: '/nowhere', headers: { 'x-request-id': 'victim-id' } })
    for (const response of [first, second]) {
      assert.match(String(response.headers['x-request-id']), /^[0-9a-f-]{36}$/)
      assert.match(response.body, /"code":"not_found"/)
    }
    assert.notEqual(first.headers['x-request-id'], second.headers['x-request-id'])
  })

  test('X-Forwarded-For is believed for the configured number of hops only', async () => {
    const forwarded = { 'x-forwarded-for': '203.0.113.7, 198.51.100.2' }
    /** The address the session of a login through `app` records. */
    async function sessionIp(app: FastifyInstance): Promise<unknown> {
      const login = await app.inject({
        method: 'POST',
        url: '/auth/login',
        headers: forwarded,
        payload: { email: USER, password: PASSWORD },
      })
      const list = await app.inject({
        url: '/auth/sessions',
        headers: bearer(login.json().accessToken),
      })
      return (list.json().sessions as { ip: string }[])[0]?.ip
    }
    assert.equal(await sessionIp((await setup()).app), '127.0.0.1')
    assert.equal(await sessionIp((await setup({ TESSERA_TRUST_PROXY: '1' })).app), '198.51.100.2')
  })
})

describe('errors and logs', () => {
  function capture() {
    const lines: string[] = []
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    return { lines, logger: pino({ level: 'trace' }, stream) }
  }

  test('an unexpected error is a generic 500, logged with the request id', async () => {
    const { lines, logger } = capture()
    const app = await stubApp(
      {
        login: async () => {
          throw new Error('kaboom in the store')
        },
      },
      { logger, env: { TESSERA_TRUST_PROXY: '1' } },
    )
    const response = await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'x-request-id': 'req-500' },
      payload: { email: USER, password: PASSWORD },
    })
    assert.equal(response.statusCode, 500)
    const body = response.json()
    assert.equal(body.error.code, 'internal_error')
    assert.equal(body.error.requestId, 'req-500')
    assert.ok(!response.body.includes('kaboom'))
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>)
    const error = logged.find((entry) => entry['msg'] === 'unexpected error')
    assert.ok(error, 'the error is logged')
    assert.equal(error['reqId'], 'req-500')
    assert.match(JSON.stringify(error['err']), /kaboom in the store/)
  })

  test('logs never hold a password, a token, a cookie or an Authorization header', async () => {
    const { lines, logger } = capture()
    const h = await setup({}, { logger })
    // The real service, but a password change that fails unexpectedly: the
    // error log line must leave the request's passwords out too.
    const app = await h.buildApp({
      logger,
      auth: {
        ...h.tessera.auth,
        changePassword: async () => {
          throw new Error('boom')
        },
      },
    })
    const from = lines.length
    const login = await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: BROWSER,
      payload: { email: USER, password: PASSWORD },
    })
    const cookie =
      login.cookies.find((c) => c.name === 'tessera_refresh' && c.path === '/')?.value ?? 'missing'
    const accessToken = login.json().accessToken as string
    await app.inject({ url: '/auth/me', headers: bearer(accessToken) })
    await app.inject({ url: '/auth/me', headers: bearer(`${accessToken}x`) })
    await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: BROWSER,
      cookies: { tessera_refresh: cookie },
    })
    const failed = await app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(accessToken),
      payload: { currentPassword: PASSWORD, newPassword: 'another secret phrase' },
    })
    assert.equal(failed.statusCode, 500)
    const logged = lines.slice(from)
    const text = logged.join('')
    assert.ok(logged.length >= 5, 'each of the five requests is logged (one line each)')
    for (const secret of [PASSWORD, 'another secret phrase', cookie, accessToken]) {
      assert.ok(!text.includes(secret), 'a secret reached the log')
    }
  })

  test('the redaction covers credential headers and fields, whoever logs them', async () => {
    const { lines, logger } = capture()
    const h = await setup({}, { logger })
    h.app.log.info(
      {
        req: {
          headers: { authorization: 'Bearer AT-SECRET', cookie: 'tessera_refresh=RT-SECRET' },
        },
        res: { headers: { 'set-cookie': 'tessera_refresh=RT-SECRET2' } },
        input: { password: 'PW-1', currentPassword: 'PW-2', newPassword: 'PW-3' },
        tokens: { refreshToken: 'RT-3', accessToken: 'AT-2' },
        body: { anything: 'BODY' },
        password: 'PW-4',
      },
      'probe',
    )
    const line = lines.find((entry) => entry.includes('"probe"')) ?? ''
    assert.ok(line.includes('[redacted]'))
    for (const secret of [
      'AT-SECRET',
      'RT-SECRET',
      'PW-1',
      'PW-2',
      'PW-3',
      'PW-4',
      'RT-3',
      'AT-2',
      'BODY',
    ]) {
      assert.ok(!line.includes(secret), secret)
    }
  })

  test('a refused token is one short info line with its code: no stack, no error object', async () => {
    const { lines, logger } = capture()
    const h = await setup({}, { logger })
    // A real token with a forged signature.
    const [header, payload] = (await h.login(ADMIN)).tokens.accessToken.split('.')
    const forged = `${header}.${payload}.${randomBytes(64).toString('base64url')}`
    const from = lines.length
    const response = await h.app.inject({ url: '/auth/me', headers: bearer(forged) })
    assertError(response, 'invalid_token')
    const logged = lines.slice(from)
    assert.equal(logged.length, 1, logged.join(''))
    const [line = ''] = logged
    const entry = JSON.parse(line) as Record<string, unknown>
    assert.equal(entry['level'], 30)
    assert.equal(entry['msg'], 'request refused')
    assert.equal(entry['code'], 'invalid_token')
    assert.equal(entry['reason'], 'invalid_signature')
    assert.equal(entry['err'], undefined)
    assert.doesNotMatch(line, /stack|\n\s+at /)
    assert.ok(line.length < 300, `${line.length} bytes: ${line}`)
  })

  test('a real error still logs its stack, at error', async () => {
    const { lines, logger } = capture()
    const app = await stubApp(
      {
        authenticate: () => {
          throw new Error('kaboom in the token check')
        },
      },
      { logger },
    )
    const response = await app.inject({ url: '/auth/me', headers: bearer('anything') })
    assert.equal(response.statusCode, 500)
    const entry = lines
      .map((line) => JSON.parse(line) as { level: number; msg: string; err?: { stack?: string } })
      .find((logged) => logged.msg === 'unexpected error')
    assert.equal(entry?.level, 50)
    assert.match(entry?.err?.stack ?? '', /kaboom in the token check\n\s+at /)
  })

  test('logger options are merged with the redaction', async () => {
    const h = await setup()
    const app = await h.buildApp({ logger: { level: 'warn' } })
    assert.equal(app.log.level, 'warn')
  })

  test('a domain error with a cause answers its code; the cause stays out of the body', async () => {
    const app = await stubApp({
      login: async () => {
        throw new AuthError('unavailable', 'the store is unreachable', {
          cause: new Error('ECONNREFUSED 10.0.0.5:5432'),
        })
      },
    })
    const response = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: USER, password: PASSWORD },
    })
    assertError(response, 'unavailable')
    assert.ok(!response.body.includes('ECONNREFUSED'))
  })
})

describe('metrics', () => {
  test('durations by route pattern, counters the service increments, and 429s', async () => {
    const h = await setup({ TESSERA_LOGIN_RATE_LIMIT: 'fails=1' })
    assert.ok(h.app.tesseraMetrics, 'the service and the app share the composition root’s metrics')
    const login = await h.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: USER, password: PASSWORD },
    })
    const { accessToken, refreshToken } = login.json() as {
      accessToken: string
      refreshToken: string
    }
    await h.app.inject({
      url: '/auth/sessions/not-mine',
      method: 'DELETE',
      headers: bearer(accessToken),
    })
    await h.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken } })
    h.clock.advance(60)
    // Past the grace window: reuse.
    await h.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refreshToken } })
    for (let i = 0; i < 2; i++) {
      await h.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: USER, password: 'x'.repeat(10) },
      })
    }
    const response = await h.app.inject({ url: '/metrics' })
    assert.equal(response.statusCode, 200)
    assert.match(String(response.headers['content-type']), /^text\/plain/)
    const text = response.body
    assert.match(text, /^tessera_logins_total 1$/m)
    assert.match(text, /^tessera_refresh_reuse_detected_total 1$/m)
    assert.match(text, /^tessera_rate_limited_total 1$/m)
    assert.match(text, /^tessera_signups_total 0$/m)
    assert.match(
      text,
      /tessera_http_request_duration_seconds_count\{method="DELETE",route="\/auth\/sessions\/:id",status_code="404"\} 1/,
    )
    assert.doesNotMatch(text, /not-mine/)
  })

  test('default metrics on; a given registry is used; metrics: false removes the route and the decoration', async () => {
    const h = await setup()
    const text = (await h.app.inject({ url: '/metrics' })).body
    assert.match(text, /tessera_process_resident_memory_bytes/)
    const metrics = createMetrics({ defaultMetrics: false })
    const given = await h.buildApp({ metrics })
    assert.equal(given.tesseraMetrics, metrics)
    const off = await h.buildApp({ metrics: false })
    assert.equal(off.tesseraMetrics, undefined)
    assertError(await off.inject({ url: '/metrics' }), 'not_found')
  })
})
