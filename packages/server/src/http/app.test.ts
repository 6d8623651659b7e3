// The HTTP layer in isolation (app.inject + the AuthService double): every
// route's happy path against its response schema, native and browser modes,
// CSRF, authentication, the error envelope and its headers, logging,
// metrics, discovery and OpenAPI.

import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { describe, test } from 'node:test'
import { FormatRegistry, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { JwtError } from '@tessera/jwt'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import pino from 'pino'
import { AuthError, type ErrorCode } from '../auth/errors.ts'
import { buildApp } from './app.ts'
import { errorCodes } from './error-codes.ts'
import { createMetrics } from './plugins/metrics.ts'
import { AuditList, KeyList, UserList } from './schemas/admin.ts'
import { SessionList, TokenResponse } from './schemas/auth.ts'
import { AdminUser, ErrorBody, PublicUser } from './schemas/common.ts'
import { Discovery, Jwks, Status } from './schemas/discovery.ts'
import { createAuthServiceDouble, createTestApp, createTestConfig } from './testing.ts'

FormatRegistry.Set('date-time', (value) => !Number.isNaN(Date.parse(value)))

const PASSWORD = 'correct horse battery staple'
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

async function setup(options: Parameters<typeof createTestApp>[0] = {}) {
  const harness = await createTestApp(options)
  harness.auth.seedUser({ email: ADMIN, password: PASSWORD, roles: ['admin'], name: 'Ada' })
  harness.auth.seedUser({ email: USER, password: PASSWORD })
  return harness
}

describe('native clients', () => {
  test('signup: 201, tokens in the body, no cookie, no-store', async () => {
    const { app, auth } = await setup()
    const response = await app.inject({
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
    assert.deepEqual(auth.calls, ['signup'])
  })

  test('signup: closed signups are 403 forbidden without calling the service', async () => {
    const { app, auth } = await setup({ config: { signupEnabled: false } })
    const response = await app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email: 'new@example.com', password: PASSWORD },
    })
    assertError(response, 'forbidden')
    assert.deepEqual(auth.calls, [])
  })

  test('signup: domain refusals pass through (email_taken, password policy issues)', async () => {
    const { app } = await setup()
    const taken = await app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email: USER, password: PASSWORD },
    })
    assertError(taken, 'email_taken')
    const weak = await app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email: 'weak@example.com', password: 'short' },
    })
    assertError(weak, 'validation_failed')
    assert.deepEqual(weak.json().error.issues, [
      { path: '/password', message: 'must be at least 8 characters long' },
    ])
  })

  test('login: 200 with the token shape; the ClientInfo comes from the request', async () => {
    const { app, auth } = await setup()
    const response = await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'user-agent': `agent/${'x'.repeat(1000)}` },
      payload: { email: USER, password: PASSWORD },
    })
    assert.equal(response.statusCode, 200)
    assertShape(TokenResponse, response.json())
    assert.equal(typeof response.json().refreshToken, 'string')
    const client = auth.lastClient()
    assert.equal(client?.ip, '127.0.0.1')
    assert.equal(client?.userAgent?.length, 512)
    assert.ok(client?.userAgent?.startsWith('agent/x'))
  })

  test('login: invalid_credentials carries a challenge without an error code', async () => {
    const { app } = await setup()
    const response = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: USER, password: 'wrong password' },
    })
    assertError(response, 'invalid_credentials')
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="tessera"')
  })

  test('login: rate_limited is 429 with Retry-After (whole seconds) and retryAfter', async () => {
    const { app } = await setup({ double: { loginFreeFailures: 2 } })
    const attempt = () =>
      app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: USER, password: 'wrong password' },
      })
    assertError(await attempt(), 'invalid_credentials')
    assertError(await attempt(), 'invalid_credentials')
    const limited = await attempt()
    assertError(limited, 'rate_limited')
    assert.equal(limited.headers['retry-after'], '2')
    assert.equal(limited.json().error.retryAfter, 2)
    assert.equal(limited.headers['www-authenticate'], undefined)
  })

  test('refresh: rotates through the body; a replay after the grace window is reuse', async () => {
    const { app, auth } = await setup()
    const first = auth.issueTokens(USER).tokens
    const rotated = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: first.refreshToken },
    })
    assert.equal(rotated.statusCode, 200)
    assertShape(TokenResponse, rotated.json())
    assert.notEqual(rotated.json().refreshToken, first.refreshToken)
    assert.equal(rotated.headers['set-cookie'], undefined)

    auth.advance(60)
    const replay = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: first.refreshToken },
    })
    assertError(replay, 'refresh_token_reused')
    assert.match(
      String(replay.headers['www-authenticate']),
      /^Bearer realm="tessera", error="invalid_token", error_description="[^"]+"$/,
    )

    const unknown = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      payload: { refreshToken: 'A'.repeat(43) },
    })
    assertError(unknown, 'invalid_refresh_token')
    const none = await app.inject({ method: 'POST', url: '/auth/refresh' })
    assertError(none, 'missing_token')
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="tessera"')
  })

  test('logout: by access token, then the token is revoked', async () => {
    const { app, auth } = await setup()
    const { accessToken } = auth.issueTokens(USER).tokens
    const response = await app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: bearer(accessToken),
    })
    assert.equal(response.statusCode, 204)
    assert.equal(response.body, '')
    assert.equal(response.headers['set-cookie'], undefined)
    const after = await app.inject({ url: '/auth/me', headers: bearer(accessToken) })
    assertError(after, 'token_revoked')
  })

  test('logout: by refresh token in the body; nothing at all is missing_token', async () => {
    const { app, auth } = await setup()
    const { accessToken, refreshToken } = auth.issueTokens(USER).tokens
    const response = await app.inject({
      method: 'POST',
      url: '/auth/logout',
      payload: { refreshToken },
    })
    assert.equal(response.statusCode, 204)
    assertError(
      await app.inject({ url: '/auth/me', headers: bearer(accessToken) }),
      'token_revoked',
    )
    assertError(await app.inject({ method: 'POST', url: '/auth/logout' }), 'missing_token')
  })

  test('logout-all: 204, every session of the user ends', async () => {
    const { app, auth } = await setup()
    const one = auth.issueTokens(USER).tokens
    const two = auth.issueTokens(USER).tokens
    const response = await app.inject({
      method: 'POST',
      url: '/auth/logout-all',
      headers: bearer(one.accessToken),
    })
    assert.equal(response.statusCode, 204)
    for (const tokens of [one, two]) {
      assertError(
        await app.inject({ url: '/auth/me', headers: bearer(tokens.accessToken) }),
        'token_revoked',
      )
    }
  })

  test('me: the public user, and nothing more even if the service returns more', async () => {
    const { app, auth } = await setup()
    const { accessToken } = auth.issueTokens(ADMIN).tokens
    const original = auth.me
    auth.me = async (access) => ({
      ...(await original(access)),
      passwordHash: '$argon2id$leak',
    })
    const response = await app.inject({ url: '/auth/me', headers: bearer(accessToken) })
    assert.equal(response.statusCode, 200)
    const body = response.json()
    assertShape(PublicUser, body)
    assert.equal(body.email, ADMIN)
    assert.deepEqual(body.roles, ['admin'])
    assert.ok(!response.body.includes('argon2'))
  })

  test('sessions: list with the current one flagged; revoke another; foreign is 404', async () => {
    const { app, auth } = await setup()
    const mine = auth.issueTokens(USER)
    const other = auth.issueTokens(USER)
    const list = await app.inject({
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
    const revoke = await app.inject({
      method: 'DELETE',
      url: `/auth/sessions/${other.sessionId}`,
      headers: bearer(mine.tokens.accessToken),
    })
    assert.equal(revoke.statusCode, 204)
    assertError(
      await app.inject({ url: '/auth/me', headers: bearer(other.tokens.accessToken) }),
      'token_revoked',
    )
    const adminSession = auth.issueTokens(ADMIN).sessionId
    assertError(
      await app.inject({
        method: 'DELETE',
        url: `/auth/sessions/${adminSession}`,
        headers: bearer(mine.tokens.accessToken),
      }),
      'not_found',
    )
  })

  test('password: 204; a wrong current password is refused', async () => {
    const { app, auth } = await setup()
    const { accessToken } = auth.issueTokens(USER).tokens
    const wrong = await app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(accessToken),
      payload: { currentPassword: 'nope nope nope', newPassword: 'a brand new passphrase' },
    })
    assertError(wrong, 'invalid_credentials')
    const changed = await app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(accessToken),
      payload: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
    })
    assert.equal(changed.statusCode, 204)
    const login = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: USER, password: 'a brand new passphrase' },
    })
    assert.equal(login.statusCode, 200)
  })

  test('no response to a native client ever sets a cookie', async () => {
    const { app, auth } = await setup()
    const { accessToken, refreshToken } = auth.issueTokens(ADMIN).tokens
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
      const response = await app.inject(request)
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
    const cookie = response.cookies.find((c) => c.name === 'tessera_refresh')
    assert.ok(cookie, 'the refresh cookie is set')
    return { response, cookie }
  }

  test('login: the refresh token only in an HttpOnly Secure SameSite=Strict cookie on /auth', async () => {
    const { app, config } = await setup()
    const { response, cookie } = await browserLogin(app)
    const body = response.json()
    assertShape(TokenResponse, body)
    assert.equal(body.refreshToken, undefined)
    assert.ok(!response.body.includes(cookie.value))
    assert.equal(cookie.httpOnly, true)
    assert.equal(cookie.secure, true)
    assert.equal(cookie.sameSite, 'Strict')
    assert.equal(cookie.path, '/auth')
    assert.equal(cookie.maxAge, config.refreshTokenTtl)
  })

  test('signup in browser mode also sets the cookie; cookieSecure=false drops Secure', async () => {
    const { app } = await setup({ config: { cookieSecure: false } })
    const response = await app.inject({
      method: 'POST',
      url: '/auth/signup',
      headers: BROWSER,
      payload: { email: 'b@example.com', password: PASSWORD },
    })
    assert.equal(response.statusCode, 201)
    assert.equal(response.json().refreshToken, undefined)
    const cookie = response.cookies.find((c) => c.name === 'tessera_refresh')
    assert.ok(cookie)
    assert.equal(cookie.secure, undefined)
    assert.doesNotMatch(String(response.headers['set-cookie']), /Secure/)
  })

  test('refresh by cookie with the header: a new cookie, no token in the body', async () => {
    const { app } = await setup()
    const { cookie } = await browserLogin(app)
    const response = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { ...BROWSER, origin: 'http://localhost:3000' },
      cookies: { tessera_refresh: cookie.value },
    })
    assert.equal(response.statusCode, 200)
    assert.equal(response.json().refreshToken, undefined)
    const next = response.cookies.find((c) => c.name === 'tessera_refresh')
    assert.ok(next)
    assert.notEqual(next.value, cookie.value)
  })

  test('refresh by cookie without the header is csrf_failed, and the service is not called', async () => {
    const { app, auth } = await setup()
    const { cookie } = await browserLogin(app)
    const revision = auth.revision()
    const response = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      cookies: { tessera_refresh: cookie.value },
    })
    assertError(response, 'csrf_failed')
    assert.equal(auth.revision(), revision)
    assert.ok(!auth.calls.includes('refresh'))
    const wrongValue = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { 'x-tessera-csrf': 'yes' },
      cookies: { tessera_refresh: cookie.value },
    })
    assertError(wrongValue, 'csrf_failed')
  })

  test('refresh by cookie from a foreign Origin is csrf_failed', async () => {
    const { app, auth } = await setup()
    const { cookie } = await browserLogin(app)
    for (const origin of ['https://evil.example', 'null', 'http://localhost:3000.evil.example']) {
      const response = await app.inject({
        method: 'POST',
        url: '/auth/refresh',
        headers: { ...BROWSER, origin },
        cookies: { tessera_refresh: cookie.value },
      })
      assertError(response, 'csrf_failed')
    }
    assert.ok(!auth.calls.includes('refresh'))
  })

  test("the issuer's own origin (the hosted pages) passes even when the allowed list omits it", async () => {
    const { app } = await setup({ config: { allowedOrigins: ['https://app.example.com'] } })
    const { cookie } = await browserLogin(app)
    const response = await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { ...BROWSER, origin: 'http://localhost:3000' },
      cookies: { tessera_refresh: cookie.value },
    })
    assert.equal(response.statusCode, 200)
  })

  test('allowed origins: listed ones pass, a lone * (development) allows any', async () => {
    const listed = await setup({ config: { allowedOrigins: ['https://app.example.com'] } })
    const { cookie } = await browserLogin(listed.app)
    const ok = await listed.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { ...BROWSER, origin: 'https://app.example.com' },
      cookies: { tessera_refresh: cookie.value },
    })
    assert.equal(ok.statusCode, 200)
    const open = await setup({ config: { allowedOrigins: ['*'] } })
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
    const { app } = await setup()
    for (const value of ['A'.repeat(43), 'not a token!']) {
      const response = await app.inject({
        method: 'POST',
        url: '/auth/refresh',
        headers: BROWSER,
        cookies: { tessera_refresh: value },
      })
      assertError(response, 'invalid_refresh_token')
      const cleared = response.cookies.find((c) => c.name === 'tessera_refresh')
      assert.equal(cleared?.maxAge, 0)
    }
  })

  test('logout by cookie: 204, the session ends, the cookie is cleared with the same attributes', async () => {
    const { app } = await setup()
    const { response: login, cookie } = await browserLogin(app)
    const accessToken = login.json().accessToken as string
    const response = await app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: BROWSER,
      cookies: { tessera_refresh: cookie.value },
    })
    assert.equal(response.statusCode, 204)
    const cleared = response.cookies.find((c) => c.name === 'tessera_refresh')
    assert.ok(cleared)
    assert.equal(cleared.value, '')
    assert.equal(cleared.maxAge, 0)
    assert.equal(cleared.path, '/auth')
    assert.equal(cleared.httpOnly, true)
    assert.equal(cleared.secure, true)
    assert.equal(cleared.sameSite, 'Strict')
    assertError(
      await app.inject({ url: '/auth/me', headers: bearer(accessToken) }),
      'token_revoked',
    )
  })

  test('logout by cookie without the header, or from a foreign origin, is csrf_failed', async () => {
    const { app, auth } = await setup()
    const { response: login, cookie } = await browserLogin(app)
    const before = auth.revision()
    assertError(
      await app.inject({
        method: 'POST',
        url: '/auth/logout',
        cookies: { tessera_refresh: cookie.value },
      }),
      'csrf_failed',
    )
    assertError(
      await app.inject({
        method: 'POST',
        url: '/auth/logout',
        headers: { ...BROWSER, origin: 'https://evil.example' },
        cookies: { tessera_refresh: cookie.value },
      }),
      'csrf_failed',
    )
    assert.equal(auth.revision(), before)
    const me = await app.inject({ url: '/auth/me', headers: bearer(login.json().accessToken) })
    assert.equal(me.statusCode, 200)
  })

  test('logout by access token in browser mode also clears the cookie', async () => {
    const { app } = await setup()
    const { response: login } = await browserLogin(app)
    const response = await app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { ...BROWSER, ...bearer(login.json().accessToken) },
    })
    assert.equal(response.statusCode, 204)
    assert.equal(response.cookies.find((c) => c.name === 'tessera_refresh')?.maxAge, 0)
  })
})

describe('authentication', () => {
  test('no Authorization header is missing_token with a bare challenge (RFC 6750 §3.1)', async () => {
    const { app } = await setup()
    const response = await app.inject({ url: '/auth/me' })
    assertError(response, 'missing_token')
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="tessera"')
  })

  test('a garbage Authorization header is invalid_token, never a call with garbage', async () => {
    const { app, auth } = await setup()
    const { accessToken } = auth.issueTokens(USER).tokens
    const garbage = [
      '',
      'Bearer',
      'Bearer ',
      `Basic ${Buffer.from('a:b').toString('base64')}`,
      `Bearer ${accessToken} extra`,
      `Bearer ${accessToken}=`,
      `Token ${accessToken}`,
      'Bearer <script>',
      "Bearer ' OR 1=1 --",
      'Bearer é',
      `Bearer ${'a'.repeat(9000)}`,
    ]
    for (const authorization of garbage) {
      const response = await app.inject({ url: '/auth/me', headers: { authorization } })
      assertError(response, 'invalid_token')
      assert.match(String(response.headers['www-authenticate']), /error="invalid_token"/)
    }
    assert.ok(!auth.calls.includes('me'))
  })

  test('the scheme is case-insensitive; several spaces are allowed (RFC 6750 §2.1)', async () => {
    const { app, auth } = await setup()
    const { accessToken } = auth.issueTokens(USER).tokens
    for (const authorization of [`bearer ${accessToken}`, `BEARER  ${accessToken}`]) {
      const response = await app.inject({ url: '/auth/me', headers: { authorization } })
      assert.equal(response.statusCode, 200, authorization)
    }
  })

  test('an expired access token is token_expired', async () => {
    const { app, auth } = await setup()
    const { accessToken } = auth.issueTokens(USER).tokens
    auth.advance(901)
    const response = await app.inject({ url: '/auth/me', headers: bearer(accessToken) })
    assertError(response, 'token_expired')
    assert.match(
      String(response.headers['www-authenticate']),
      /error_description="the access token has expired"/,
    )
  })

  test('admin routes: 403 forbidden without the admin role, before the body is read', async () => {
    const { app, auth } = await setup()
    const { accessToken } = auth.issueTokens(USER).tokens
    const routes = [
      { method: 'GET', url: '/admin/users' },
      { method: 'PATCH', url: '/admin/users/abc', payload: { disabled: true } },
      { method: 'POST', url: '/admin/keys/rotate' },
      { method: 'GET', url: '/admin/keys' },
      { method: 'GET', url: '/admin/audit' },
      // Not even parsed: a non-admin cannot make the server read a body.
      { method: 'PATCH', url: '/admin/users/abc', payload: '{not json' },
    ] as const
    const revision = auth.revision()
    for (const route of routes) {
      const response = await app.inject({
        ...route,
        headers: { ...bearer(accessToken), 'content-type': 'application/json' },
      })
      assertError(response, 'forbidden')
      assertError(await app.inject(route), 'missing_token')
    }
    assert.equal(auth.revision(), revision)
  })
})

describe('administration', () => {
  test('users: list with a keyset cursor, filter by email, patch', async () => {
    const { app, auth } = await setup()
    const { accessToken } = auth.issueTokens(ADMIN).tokens
    const page = await app.inject({ url: '/admin/users?limit=1', headers: bearer(accessToken) })
    assert.equal(page.statusCode, 200)
    assertShape(UserList, page.json())
    assert.equal(page.json().users.length, 1)
    const next = page.json().next as string
    assert.equal(next, page.json().users[0].id)
    const rest = await app.inject({
      url: `/admin/users?limit=100&after=${next}`,
      headers: bearer(accessToken),
    })
    assert.equal(rest.json().users.length, 1)
    assert.equal(rest.json().next, null)

    const found = await app.inject({
      url: `/admin/users?email=${encodeURIComponent(USER)}`,
      headers: bearer(accessToken),
    })
    const [user] = found.json().users as { id: string; email: string }[]
    assert.equal(user?.email, USER)

    const patched = await app.inject({
      method: 'PATCH',
      url: `/admin/users/${user?.id}`,
      headers: bearer(accessToken),
      payload: { roles: ['support'], name: null, disabled: false },
    })
    assert.equal(patched.statusCode, 200)
    assertShape(AdminUser, patched.json())
    assert.deepEqual(patched.json().roles, ['support'])
    assertError(
      await app.inject({
        method: 'PATCH',
        url: '/admin/users/no-such-user',
        headers: bearer(accessToken),
        payload: { disabled: true },
      }),
      'not_found',
    )
  })

  test('keys: rotate and list', async () => {
    const { app, auth } = await setup()
    const { accessToken } = auth.issueTokens(ADMIN).tokens
    const rotated = await app.inject({
      method: 'POST',
      url: '/admin/keys/rotate',
      headers: bearer(accessToken),
    })
    assert.equal(rotated.statusCode, 200)
    assertShape(KeyList, rotated.json())
    assert.deepEqual(
      rotated.json().keys.map((key: { state: string }) => key.state),
      ['current', 'next'],
    )
    const listed = await app.inject({ url: '/admin/keys', headers: bearer(accessToken) })
    assertShape(KeyList, listed.json())
    assert.equal(listed.json().keys.length, 2)
  })

  test('audit: newest first, filters, and a `before` cursor', async () => {
    const { app, auth } = await setup()
    const { accessToken } = auth.issueTokens(ADMIN).tokens
    for (let i = 0; i < 3; i += 1) {
      await app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: USER, password: PASSWORD },
      })
    }
    const page = await app.inject({ url: '/admin/audit?limit=2', headers: bearer(accessToken) })
    assert.equal(page.statusCode, 200)
    assertShape(AuditList, page.json())
    const ids = page.json().entries.map((entry: { id: number }) => entry.id)
    assert.deepEqual(ids, [3, 2])
    assert.equal(page.json().next, 2)
    const older = await app.inject({
      url: '/admin/audit?before=2&event=login',
      headers: bearer(accessToken),
    })
    assert.deepEqual(
      older.json().entries.map((entry: { id: number }) => entry.id),
      [1],
    )
  })
})

describe('discovery and operations', () => {
  test('jwks: public keys only, cacheable, with an ETag that answers 304', async () => {
    const { app, auth } = await setup()
    const [key] = auth.jwksKeys
    auth.jwksKeys = [{ ...key, d: 'PRIVATE-SCALAR', k: 'SECRET' }]
    const response = await app.inject({ url: '/.well-known/jwks.json' })
    assert.equal(response.statusCode, 200)
    assertShape(Jwks, response.json())
    assert.ok(!response.body.includes('PRIVATE-SCALAR'))
    assert.ok(!response.body.includes('SECRET'))
    assert.equal(response.headers['cache-control'], 'public, max-age=300')
    const etag = String(response.headers.etag)
    assert.match(etag, /^"[\w-]+"$/)
    const again = await app.inject({
      url: '/.well-known/jwks.json',
      headers: { 'if-none-match': `"other", W/${etag}` },
    })
    assert.equal(again.statusCode, 304)
    assert.equal(again.body, '')
    auth.jwksKeys = [{ ...key, kid: 'rotated' }]
    const changed = await app.inject({
      url: '/.well-known/jwks.json',
      headers: { 'if-none-match': etag },
    })
    assert.equal(changed.statusCode, 200)
    assert.notEqual(changed.headers.etag, etag)
  })

  test('openid-configuration: issuer, jwks_uri and the endpoints, from the config', async () => {
    const { app } = await setup({ config: { issuer: 'https://auth.example.com' } })
    const response = await app.inject({ url: '/.well-known/openid-configuration' })
    assert.equal(response.statusCode, 200)
    const body = response.json()
    assertShape(Discovery, body)
    assert.equal(body.issuer, 'https://auth.example.com')
    assert.equal(body.jwks_uri, 'https://auth.example.com/.well-known/jwks.json')
    assert.equal(body.token_endpoint, 'https://auth.example.com/auth/login')
    assert.deepEqual(body.tessera.access_token_signing_alg_values_supported, ['ES256'])
    assert.equal(body.tessera.refresh_endpoint, 'https://auth.example.com/auth/refresh')
  })

  test('health and ready; ready is 503 unavailable when the check fails', async () => {
    let healthy = true
    const { app } = await setup({
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
    const { app } = await setup({ metrics: true })
    const response = await app.inject({ url: '/openapi.json' })
    assert.equal(response.statusCode, 200)
    const document = response.json()
    assert.equal(document.openapi, '3.1.0')
    const paths = Object.keys(document.paths).sort()
    assert.deepEqual(paths, [
      '/.well-known/jwks.json',
      '/.well-known/openid-configuration',
      '/admin/audit',
      '/admin/keys',
      '/admin/keys/rotate',
      '/admin/users',
      '/admin/users/{id}',
      '/auth/login',
      '/auth/logout',
      '/auth/logout-all',
      '/auth/me',
      '/auth/password',
      '/auth/refresh',
      '/auth/revocations',
      '/auth/sessions',
      '/auth/sessions/{id}',
      '/auth/signup',
      '/health',
      '/metrics',
      '/openapi.json',
      '/ready',
    ])
    assert.equal(document.paths['/auth/refresh'].post.requestBody.required, false)
    assert.equal(document.paths['/auth/login'].post.requestBody.required, true)
    assert.ok(document.paths['/auth/me'].get.responses['4XX'])
    assert.deepEqual(document.paths['/auth/me'].get.security, [{ bearerAuth: [] }])
  })

  test('security headers on every answer, errors and 404s included', async () => {
    const { app } = await setup()
    for (const url of ['/health', '/nowhere', '/auth/me', '/.well-known/jwks.json']) {
      const response = await app.inject({ url })
      assert.equal(response.headers['x-content-type-options'], 'nosniff', url)
      assert.equal(response.headers['referrer-policy'], 'no-referrer', url)
      assert.equal(response.headers['x-frame-options'], 'DENY', url)
      assert.ok(response.headers['x-request-id'], url)
    }
    assertError(await app.inject({ url: '/nowhere' }), 'not_found')
  })

  test('request ids: behind a trusted proxy a sane X-Request-Id is echoed, anything else is replaced', async () => {
    const { app } = await setup({ config: { trustProxy: 1 } })
    const sane = await app.inject({ url: '/health', headers: { 'x-request-id': 'abc-123_XYZ' } })
    assert.equal(sane.headers['x-request-id'], 'abc-123_XYZ')
    for (const bad of ['a b', 'x'.repeat(129), 'id\u00e9', '<script>']) {
      const response = await app.inject({ url: '/health', headers: { 'x-request-id': bad } })
      assert.notEqual(response.headers['x-request-id'], bad)
      assert.match(String(response.headers['x-request-id']), /^[0-9a-f-]{36}$/)
    }
  })

  test('request ids: without a trusted proxy the client cannot choose one', async () => {
    const { app } = await setup()
    const first = await app.inject({ url: '/nowhere', headers: { 'x-request-id': 'victim-id' } })
    const second = await app.inject({ url: '/nowhere', headers: { 'x-request-id': 'victim-id' } })
    for (const response of [first, second]) {
      assert.match(String(response.headers['x-request-id']), /^[0-9a-f-]{36}$/)
      assert.match(response.body, /"code":"not_found"/)
    }
    assert.notEqual(first.headers['x-request-id'], second.headers['x-request-id'])
  })

  test('X-Forwarded-For is believed for the configured number of hops only', async () => {
    const forwarded = { 'x-forwarded-for': '203.0.113.7, 198.51.100.2' }
    const direct = await setup()
    await direct.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: forwarded,
      payload: { email: USER, password: PASSWORD },
    })
    assert.equal(direct.auth.lastClient()?.ip, '127.0.0.1')
    const proxied = await setup({ config: { trustProxy: 1 } })
    await proxied.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: forwarded,
      payload: { email: USER, password: PASSWORD },
    })
    assert.equal(proxied.auth.lastClient()?.ip, '198.51.100.2')
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
    const { app, auth } = await setup({ logger, config: { trustProxy: 1 } })
    auth.failWith = new Error('kaboom in the store')
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
    const { app, auth } = await setup({ logger })
    const login = await app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: BROWSER,
      payload: { email: USER, password: PASSWORD },
    })
    const cookie = login.cookies.find((c) => c.name === 'tessera_refresh')?.value ?? 'missing'
    const accessToken = login.json().accessToken as string
    await app.inject({ url: '/auth/me', headers: bearer(accessToken) })
    await app.inject({ url: '/auth/me', headers: bearer(`${accessToken}x`) })
    await app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: BROWSER,
      cookies: { tessera_refresh: cookie },
    })
    auth.failWith = new Error('boom')
    await app.inject({
      method: 'POST',
      url: '/auth/password',
      headers: bearer(accessToken),
      payload: { currentPassword: PASSWORD, newPassword: 'another secret phrase' },
    })
    const text = lines.join('')
    assert.ok(lines.length >= 5, 'each of the five requests is logged (one line each)')
    for (const secret of [PASSWORD, 'another secret phrase', cookie, accessToken]) {
      assert.ok(!text.includes(secret), 'a secret reached the log')
    }
  })

  test('the redaction covers credential headers and fields, whoever logs them', async () => {
    const { lines, logger } = capture()
    const { app } = await setup({ logger })
    app.log.info(
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
    const { app, auth } = await setup({ logger })
    // What the service throws for a forged signature.
    auth.failWith = new AuthError('invalid_token', 'the access token is not valid', {
      cause: new JwtError('invalid_signature', 'the signature does not verify'),
    })
    const response = await app.inject({
      url: '/auth/me',
      headers: bearer('eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.Zm9yZ2Vk'),
    })
    assertError(response, 'invalid_token')
    assert.equal(lines.length, 1, lines.join(''))
    const [line = ''] = lines
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
    const { app, auth } = await setup({ logger })
    auth.failWith = new Error('kaboom in the token check')
    const response = await app.inject({ url: '/auth/me', headers: bearer('anything') })
    assert.equal(response.statusCode, 500)
    const entry = lines
      .map((line) => JSON.parse(line) as { level: number; msg: string; err?: { stack?: string } })
      .find((logged) => logged.msg === 'unexpected error')
    assert.equal(entry?.level, 50)
    assert.match(entry?.err?.stack ?? '', /kaboom in the token check\n\s+at /)
  })

  test('logger options are merged with the redaction', async () => {
    const auth = createAuthServiceDouble()
    const app = await buildApp({
      config: createTestConfig(),
      auth,
      logger: { level: 'warn' },
      readiness: async () => {},
      metrics: false,
    })
    assert.equal(app.log.level, 'warn')
    await app.close()
  })

  test('a domain error with a cause answers its code; the cause stays out of the body', async () => {
    const { app, auth } = await setup()
    auth.failWith = new AuthError('unavailable', 'the store is unreachable', {
      cause: new Error('ECONNREFUSED 10.0.0.5:5432'),
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
    const metrics = createMetrics({ defaultMetrics: false })
    const { app, auth } = await setup({ metrics, double: { loginFreeFailures: 0 } })
    assert.equal(app.tesseraMetrics, metrics)
    metrics.inc('logins')
    metrics.inc('refresh_reuse_detected')
    const { accessToken } = auth.issueTokens(USER).tokens
    await app.inject({
      url: '/auth/sessions/not-mine',
      method: 'DELETE',
      headers: bearer(accessToken),
    })
    await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: USER, password: 'x'.repeat(10) },
    })
    const response = await app.inject({ url: '/metrics' })
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

  test('default metrics on; metrics: false removes the route and the decoration', async () => {
    const on = await setup({ metrics: true })
    const text = (await on.app.inject({ url: '/metrics' })).body
    assert.match(text, /tessera_process_resident_memory_bytes/)
    await on.app.close()
    const off = await setup({ metrics: false })
    assert.equal(off.app.tesseraMetrics, undefined)
    assertError(await off.app.inject({ url: '/metrics' }), 'not_found')
  })
})
