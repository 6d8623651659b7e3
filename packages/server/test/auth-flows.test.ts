// The auth flows in process (app.inject) on an in-memory SQLite store with a
// clock the tests move: grace windows, idle and absolute expiry, revocation
// on password change, logout-all and account disabling, and bad input
// against the real service leaving the store unchanged.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, it } from 'node:test'
import { decode } from '@tessera/jwt'
import { code, harness, PASSWORD } from './support/harness.ts'

describe('refresh rotation on a moving clock', () => {
  it('the grace window returns the same pair until it closes, then reuse revokes the family', async () => {
    const h = await harness({ TESSERA_REFRESH_REUSE_GRACE: '10s' })
    const s = await h.signup('a@example.com')
    const first = await h.call('POST', '/auth/refresh', { body: { refreshToken: s.refreshToken } })
    assert.equal(first.status, 200)
    h.clock.advance(10)
    const racing = await h.call('POST', '/auth/refresh', { body: { refreshToken: s.refreshToken } })
    assert.equal(racing.status, 200, 'exactly at the end of the window it still answers')
    assert.equal(racing.body.refreshToken, first.body.refreshToken)
    assert.equal(racing.body.accessToken, first.body.accessToken)
    h.clock.advance(1)
    const reused = await h.call('POST', '/auth/refresh', { body: { refreshToken: s.refreshToken } })
    assert.equal(code(reused.body), 'refresh_token_reused')
    const successor = await h.call('POST', '/auth/refresh', {
      body: { refreshToken: first.body.refreshToken },
    })
    assert.equal(code(successor.body), 'invalid_refresh_token')
    const me = await h.call('GET', '/auth/me', { token: first.body.accessToken as string })
    assert.equal(code(me.body), 'token_revoked')
    const audit = await h.tessera.store.audit.listAudit({
      limit: 10,
      event: 'refresh.reuse_detected',
    })
    assert.equal(audit.length, 1)
  })

  it('refresh tokens expire after the idle timeout and at the end of the session', async () => {
    const h = await harness({ TESSERA_REFRESH_IDLE_TTL: '1d', TESSERA_REFRESH_TOKEN_TTL: '3d' })
    const idle = await h.signup('idle@example.com')
    h.clock.advance(86_400)
    const late = await h.call('POST', '/auth/refresh', {
      body: { refreshToken: idle.refreshToken },
    })
    assert.equal(code(late.body), 'invalid_refresh_token')

    const active = await h.signup('active@example.com')
    let token = active.refreshToken
    // Refreshed just inside the idle timeout each day: the session lives on...
    for (let day = 1; day <= 3; day++) {
      h.clock.advance(86_000)
      const r = await h.call('POST', '/auth/refresh', { body: { refreshToken: token } })
      assert.equal(r.status, 200, `day ${day}`)
      token = r.body.refreshToken
    }
    // ...until its absolute end, 3 days after login (258,000 s elapsed so far).
    h.clock.advance(1_201)
    const over = await h.call('POST', '/auth/refresh', { body: { refreshToken: token } })
    assert.equal(code(over.body), 'invalid_refresh_token', 'the absolute lifetime ends the session')
  })

  it('an access token expires with the clock: token_expired', async () => {
    const h = await harness({ TESSERA_ACCESS_TOKEN_TTL: '15m' })
    const s = await h.signup('t@example.com')
    assert.equal((await h.call('GET', '/auth/me', { token: s.accessToken as string })).status, 200)
    h.clock.advance(15 * 60)
    const me = await h.call('GET', '/auth/me', { token: s.accessToken as string })
    assert.equal(code(me.body), 'token_expired')
    assert.match(String(me.headers['www-authenticate']), /error="invalid_token"/)
  })
})

describe('revocation', () => {
  it('a password change ends every other session and keeps the caller signed in', async () => {
    const h = await harness()
    const a = await h.signup('p@example.com')
    const b = await h.call('POST', '/auth/login', {
      body: { email: 'p@example.com', password: PASSWORD },
    })
    const weak = await h.call('POST', '/auth/password', {
      token: a.accessToken as string,
      body: { currentPassword: PASSWORD, newPassword: 'password' },
    })
    assert.equal(code(weak.body), 'validation_failed')
    const wrong = await h.call('POST', '/auth/password', {
      token: a.accessToken as string,
      body: { currentPassword: 'not it at all', newPassword: 'a brand new passphrase' },
    })
    assert.equal(code(wrong.body), 'invalid_credentials')
    const changed = await h.call('POST', '/auth/password', {
      token: a.accessToken as string,
      body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
    })
    assert.equal(changed.status, 204)
    assert.equal((await h.call('GET', '/auth/me', { token: a.accessToken as string })).status, 200)
    assert.equal(
      code((await h.call('GET', '/auth/me', { token: b.body.accessToken as string })).body),
      'token_revoked',
    )
    const refreshOther = await h.call('POST', '/auth/refresh', {
      body: { refreshToken: b.body.refreshToken },
    })
    assert.equal(code(refreshOther.body), 'invalid_refresh_token')
    const old = await h.call('POST', '/auth/login', {
      body: { email: 'p@example.com', password: PASSWORD },
    })
    assert.equal(code(old.body), 'invalid_credentials')
    const fresh = await h.call('POST', '/auth/login', {
      body: { email: 'p@example.com', password: 'a brand new passphrase' },
    })
    assert.equal(fresh.status, 200)
  })

  it('logout-all revokes every session and token; a new login in the next second works', async () => {
    const h = await harness()
    const a = await h.signup('all@example.com')
    const b = await h.call('POST', '/auth/login', {
      body: { email: 'all@example.com', password: PASSWORD },
    })
    assert.equal(
      (await h.call('POST', '/auth/logout-all', { token: a.accessToken as string })).status,
      204,
    )
    for (const token of [a.accessToken, b.body.accessToken]) {
      assert.equal(
        code((await h.call('GET', '/auth/me', { token: token as string })).body),
        'token_revoked',
      )
    }
    for (const refreshToken of [a.refreshToken, b.body.refreshToken]) {
      assert.equal(
        code((await h.call('POST', '/auth/refresh', { body: { refreshToken } })).body),
        'invalid_refresh_token',
      )
    }
    h.clock.advance(1)
    const again = await h.call('POST', '/auth/login', {
      body: { email: 'all@example.com', password: PASSWORD },
    })
    assert.equal(
      (await h.call('GET', '/auth/me', { token: again.body.accessToken as string })).status,
      200,
    )
  })

  it("sessions list shows the current one; revoking another ends it; another user's session is not_found", async () => {
    const h = await harness()
    const a = await h.signup('s@example.com')
    const b = await h.call('POST', '/auth/login', {
      body: { email: 's@example.com', password: PASSWORD },
      headers: { 'user-agent': 'second device' },
    })
    const list = await h.call('GET', '/auth/sessions', { token: a.accessToken as string })
    const sessions = list.body.sessions as {
      id: string
      current: boolean
      userAgent: string | null
    }[]
    assert.equal(sessions.length, 2)
    assert.equal(sessions.filter((s) => s.current).length, 1)
    const other = sessions.find((s) => !s.current)!
    assert.equal(other.userAgent, 'second device')
    const intruder = await h.signup('x@example.com')
    const foreign = await h.call('DELETE', `/auth/sessions/${other.id}`, {
      token: intruder.accessToken as string,
    })
    assert.equal(code(foreign.body), 'not_found')
    assert.equal(
      (await h.call('DELETE', `/auth/sessions/${other.id}`, { token: a.accessToken as string }))
        .status,
      204,
    )
    assert.equal(
      code((await h.call('GET', '/auth/me', { token: b.body.accessToken as string })).body),
      'token_revoked',
    )
  })

  it('an admin disabling a user ends their sessions and their login', async () => {
    const h = await harness()
    await h.signup('admin@example.com')
    const adminUser = await h.tessera.store.users.findUserByEmail('admin@example.com')
    await h.tessera.store.users.updateUser(adminUser!.id, {
      roles: ['admin'],
      updatedAt: h.clock.now,
    })
    h.clock.advance(1)
    const adminLogin = await h.call('POST', '/auth/login', {
      body: { email: 'admin@example.com', password: PASSWORD },
    })
    const victim = await h.signup('v@example.com')
    const id = (victim.user as { id: string }).id
    const patched = await h.call('PATCH', `/admin/users/${id}`, {
      token: adminLogin.body.accessToken as string,
      body: { disabled: true },
    })
    assert.equal(patched.status, 200, JSON.stringify(patched.body))
    assert.equal(
      code((await h.call('GET', '/auth/me', { token: victim.accessToken as string })).body),
      'token_revoked',
    )
    const login = await h.call('POST', '/auth/login', {
      body: { email: 'v@example.com', password: PASSWORD },
    })
    assert.equal(code(login.body), 'invalid_credentials')
  })
})

describe('tokens the server issues', () => {
  it('are RFC 9068 access tokens: typ at+jwt, iss, sub, aud, exp, iat, jti, sid, roles', async () => {
    const h = await harness({ TESSERA_ACCESS_TOKEN_EMAIL: 'true' })
    const s = await h.signup('claims@example.com')
    const { header, payload } = decode(s.accessToken as string)
    assert.equal(header.typ, 'at+jwt')
    assert.equal(typeof header.kid, 'string')
    assert.equal(payload.iss, 'http://localhost:3000')
    assert.equal(payload.aud, 'http://localhost:3000')
    assert.equal(payload.exp, (payload.iat as number) + 900)
    assert.equal(payload.email, 'claims@example.com')
    assert.deepEqual(payload.roles, ['user'])
    for (const claim of ['sub', 'jti', 'sid']) assert.equal(typeof payload[claim], 'string')
    assert.match(s.refreshToken as string, /^[A-Za-z0-9_-]{43}$/, 'opaque, 256 bits, not a JWT')
  })
})

describe('bad input against the real service leaves the store unchanged', () => {
  it('every case answers a 4xx with a registry code and writes nothing', async () => {
    const h = await harness()
    const s = await h.signup('base@example.com')
    const token = s.accessToken as string
    const countUsers = () => h.tessera.store.users.countUsers()
    const countAudit = async () => (await h.tessera.store.audit.listAudit({ limit: 1000 })).length
    const before = { users: await countUsers(), audit: await countAudit() }
    const cases: [string, string, Record<string, unknown>][] = [
      ['POST', '/auth/signup', { body: '{"email":' }],
      ['POST', '/auth/signup', { body: { email: 123, password: PASSWORD } }],
      ['POST', '/auth/signup', { body: { email: 'n@example.com' } }],
      [
        'POST',
        '/auth/signup',
        { body: { email: 'n@example.com', password: PASSWORD, admin: true } },
      ],
      ['POST', '/auth/signup', { body: { email: "' OR 1=1 --", password: PASSWORD } }],
      ['POST', '/auth/signup', { body: { email: '<script>@x.com', password: PASSWORD } }],
      ['POST', '/auth/signup', { body: { email: 'n\u0000@example.com', password: PASSWORD } }],
      ['POST', '/auth/signup', { body: { email: 'short@example.com', password: 'short' } }],
      ['POST', '/auth/signup', { body: { email: 'common@example.com', password: 'password1' } }],
      ['POST', '/auth/signup', { body: { email: 'base@example.com', password: PASSWORD } }],
      [
        'POST',
        '/auth/signup',
        { body: { email: 'big@example.com', password: 'x'.repeat(1_000_000) } },
      ],
      ['POST', '/auth/refresh', { body: { refreshToken: "'; DROP TABLE sessions; --" } }],
      ['POST', '/auth/refresh', { body: { refreshToken: 'A'.repeat(43) } }],
      ['POST', '/auth/refresh', { body: { refreshToken: ['x'] } }],
      ['GET', '/auth/me', { headers: { authorization: 'Bearer \u00ff\u00fe' } }],
      ['GET', '/auth/me', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }],
      ['GET', '/auth/me', { headers: { authorization: `Bearer ${token}.${token}` } }],
      ['GET', '/auth/me', { headers: { authorization: `Bearer ${token} ${token}` } }],
      ['GET', '/auth/me', { headers: { authorization: `Bearer ${token}=` } }],
      ['DELETE', "/auth/sessions/'%20OR%201=1", { token }],
      ['PATCH', '/admin/users/x', { token, body: { roles: ['admin'] } }],
      ['POST', '/admin/keys/rotate', { token }],
      ['POST', '/auth/password', { token, body: { currentPassword: 1, newPassword: 2 } }],
    ]
    for (const [method, url, options] of cases) {
      const headers: Record<string, string> = { ...(options.headers as Record<string, string>) }
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token as string}`
      const body = options.body
      if (body !== undefined) headers['content-type'] = 'application/json'
      const response = await h.tessera.app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(body === undefined
          ? {}
          : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
      })
      const label = `${method} ${url} ${JSON.stringify(body ?? options.headers ?? '').slice(0, 60)}`
      assert.ok(
        response.statusCode >= 400 && response.statusCode < 500,
        `${label}: ${response.statusCode}`,
      )
      const parsed = JSON.parse(response.body) as { error: { code: string } }
      assert.match(parsed.error.code, /^[a-z_]+$/, label)
    }
    assert.equal(await countUsers(), before.users, 'no user was created')
    // Failed attempts may be audited (login.failed); nothing else may be written.
    const audit = await h.tessera.store.audit.listAudit({ limit: 1000 })
    assert.ok(
      audit.slice(0, audit.length - before.audit).every((e) => e.event.endsWith('failed')),
      'only failures were audited',
    )
  })
})

describe('signing algorithms by configuration', () => {
  const cases: [string, Record<string, string>][] = [
    ['ES256', {}],
    ['EdDSA', { TESSERA_SIGNING_ALG: 'EdDSA' }],
    ['RS256', { TESSERA_SIGNING_ALG: 'RS256' }],
    ['PS256', { TESSERA_SIGNING_ALG: 'PS256' }],
    [
      'HS256',
      {
        TESSERA_SIGNING_ALG: 'HS256',
        TESSERA_HS_SECRETS: `hs-1:${randomBytes(32).toString('base64url')},hs-0:${randomBytes(32).toString('base64url')}`,
      },
    ],
  ]
  for (const [alg, env] of cases) {
    it(`${alg}: tokens are signed with it and verify on protected routes`, async () => {
      const h = await harness(env)
      const s = await h.signup(`${alg.toLowerCase()}@example.com`)
      const { header } = decode(s.accessToken as string)
      assert.equal(header.alg, alg)
      assert.equal(
        (await h.call('GET', '/auth/me', { token: s.accessToken as string })).status,
        200,
      )
      const jwks = await h.call('GET', '/.well-known/jwks.json')
      const keys = jwks.body.keys as { alg: string; kid: string }[]
      if (alg === 'HS256') {
        assert.equal(keys.length, 0, 'HMAC secrets are never published')
        assert.equal(header.kid, 'hs-1', 'the first configured secret signs')
      } else
        assert.deepEqual(
          keys.map((k) => [k.alg, k.kid]),
          [[alg, header.kid]],
        )
    })
  }
})

describe('login rate limiting', () => {
  it('consecutive failures bring a growing back-off with Retry-After; a success resets it', async () => {
    const h = await harness({ TESSERA_LOGIN_RATE_LIMIT: 'ip=100/15m,fails=3,maxBackoff=15m' })
    await h.signup('rl@example.com')
    const attempt = (password: string) =>
      h.call('POST', '/auth/login', { body: { email: 'rl@example.com', password } })
    for (let i = 0; i < 3; i++)
      assert.equal(code((await attempt('wrong password!')).body), 'invalid_credentials')
    const limited = await attempt(PASSWORD)
    assert.equal(limited.status, 429, 'even the right password waits out the back-off')
    assert.equal(code(limited.body), 'rate_limited')
    assert.ok(Number(limited.headers['retry-after']) >= 1)
    // Unknown accounts are throttled the same way: no enumeration through 429s.
    for (let i = 0; i < 3; i++)
      await h.call('POST', '/auth/login', {
        body: { email: 'ghost@example.com', password: 'whatever it is' },
      })
    const ghost = await h.call('POST', '/auth/login', {
      body: { email: 'ghost@example.com', password: 'whatever it is' },
    })
    assert.equal(ghost.status, 429)
  })
})

describe('the profile cache behind GET /auth/me', () => {
  it("a write through this instance shows at once; another instance's write within five seconds", async () => {
    const h = await harness()
    await h.signup('cache-admin@example.com')
    const adminRecord = await h.tessera.store.users.findUserByEmail('cache-admin@example.com')
    await h.tessera.store.users.updateUser(adminRecord!.id, {
      roles: ['admin'],
      updatedAt: h.clock.now,
    })
    h.clock.advance(1)
    const adminToken = (
      await h.call('POST', '/auth/login', {
        body: { email: 'cache-admin@example.com', password: PASSWORD },
      })
    ).body.accessToken as string
    const user = await h.signup('cached@example.com')
    const id = (user.user as { id: string }).id
    const me = () => h.call('GET', '/auth/me', { token: user.accessToken as string })
    assert.equal((await me()).body.name, null)

    // Through the service on this instance: dropped from the cache at once.
    await h.call('PATCH', `/admin/users/${id}`, { token: adminToken, body: { name: 'Renamed' } })
    assert.equal((await me()).body.name, 'Renamed')

    // Straight in the store, as another instance would: stale for at most five seconds.
    await h.tessera.store.users.updateUser(id, { name: 'Elsewhere', updatedAt: h.clock.now })
    assert.equal((await me()).body.name, 'Renamed')
    h.clock.advance(5)
    assert.equal((await me()).body.name, 'Elsewhere')
  })
})
