// One behaviour suite for the three adapters: each framework's test file
// builds the same small app (routes below) and runs every case here, so
// Express, Fastify and Hono answer alike by construction.
//
// Routes the app under test must serve:
//   GET /api/me        authenticate, then 200 { userId, sessionId, roles, scopes, iss, token, jkt } (jkt: null when unbound)
//   GET /api/admin     authenticate, requireRoles('admin', 'owner'), then 200 { ok: true }
//   GET /api/owners    authenticate, requireAllRoles('admin', 'owner'), then 200 { ok: true }
//   GET /api/reports   authenticate, requireScopes('reports:read', 'reports:export'), then 200 { ok: true }
//   GET /api/mfa       authenticate, requireAuthMethods('mfa'), then 200 { ok: true }
//   GET /api/otp-key   authenticate, requireAuthMethods('otp', 'hwk'), then 200 { ok: true }
//   GET /api/passkey   authenticate, requireAnyAuthMethod('hwk', 'swk'), then 200 { ok: true }
//   GET /api/recent    authenticate, requireRecentAuth('5m'), then 200 { ok: true }
//   GET /bare/admin    requireRoles('admin') WITHOUT authenticate (a configuration mistake)
//   GET /bare/recent   requireRecentAuth(300) WITHOUT authenticate (the same mistake)

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it, type TestContext } from 'node:test'
import * as dpop from 'dpop'
import * as oauth from 'oauth4webapi'
import { accessTokenHash, DPOP_ALGORITHMS } from '../src/dpop.ts'
import { exportJwk, generateKeyPair, type Key, KeySet } from '../src/keys.ts'
import type { AuthenticateBaseOptions, AuthenticateOptions } from '../src/middleware-core.ts'
import { sign } from '../src/sign.ts'
import { type FeedServer, startFeedServer } from './feed-server.ts'

export const ISSUER = 'https://auth.example.test'
export const AUDIENCE = 'orders-api'

const signing = generateKeyPair('ES256', { kid: 'k1' })
const stranger = generateKeyPair('ES256', { kid: 'k1' })
/** The verification keys of the trusted issuer. */
export const trustedKeys = new KeySet([signing.publicKey])

/** A clock the tests move by hand; tokens are issued on it. */
export const clock = { t: Date.parse('2026-06-01T12:00:00Z'), now: (): number => clock.t }

/**
 * An access token as Tessera issues it (RFC 9068 claims, `typ: at+jwt`),
 * with `claims` overriding or (as undefined) removing claims.
 */
export function issue(
  claims: Record<string, unknown> = {},
  options: { key?: Key; typ?: string } = {},
): string {
  const iat = Math.floor(clock.t / 1000)
  const payload: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    sid: 'session-1',
    roles: ['member'],
    scope: 'reports:read profile',
    iat,
    exp: iat + 900,
    jti: randomUUID(),
    ...claims,
  }
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name]
  return sign(payload, options.key ?? signing.privateKey, {
    typ: options.typ ?? 'at+jwt',
    timestamp: false,
  })
}

/** The options most cases use: local keys, the hand-moved clock. */
export function baseOptions(
  extra: Partial<AuthenticateBaseOptions> & { keys?: Key | KeySet } = {},
): AuthenticateOptions {
  return {
    issuer: ISSUER,
    audience: AUDIENCE,
    now: clock.now,
    ...extra,
    keys: extra.keys ?? trustedKeys,
  }
}

export interface Reply {
  status: number
  headers: Headers
  /** The parsed JSON body, or the text when it is not JSON. */
  body: unknown
}

/** Request headers; an array sends the header once per value. */
export type RequestHeaders = Record<string, string | string[]>

export interface AppUnderTest {
  request(path: string, headers?: RequestHeaders): Promise<Reply>
  /** The scheme and host the framework sees for a request (the default base of a proof's `htu`). */
  readonly origin: string
  close(): Promise<void>
}

/** Request headers for fetch. */
export function toHeaders(headers: RequestHeaders = {}): Headers {
  const result = new Headers()
  for (const [name, value] of Object.entries(headers)) {
    for (const item of typeof value === 'string' ? [value] : value) result.append(name, item)
  }
  return result
}

/** Builds the framework's app with `authenticate(options)` on /api/*. */
export type BuildApp = (options: AuthenticateOptions) => Promise<AppUnderTest>

/** A fetch Response as a Reply. */
export async function toReply(response: Response): Promise<Reply> {
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: response.status, headers: response.headers, body }
}

async function jwksServer(t: TestContext, body: string) {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' })
    res.end(body)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => new Promise((resolve) => server.close(resolve)))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`
}

/** A port that refuses connections: listened on, then closed. */
async function deadUrl(): Promise<string> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return `http://127.0.0.1:${port}/.well-known/jwks.json`
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

/** The `DPoP` challenge every 401 offers beside Bearer's (RFC 9449 §7.2), with the default `algs`. */
export const DPOP_CHALLENGE = `DPoP algs="${DPOP_ALGORITHMS.join(' ')}"`

function errorCode(reply: Reply): unknown {
  return (reply.body as { error?: { code?: unknown } } | null)?.error?.code
}

/** `auth_time` of an authentication `seconds` ago on the test clock. */
const authAgo = (seconds: number): number => Math.floor(clock.t / 1000) - seconds

/**
 * Asserts a step-up refusal (RFC 9470 §3): its status, code and body, and
 * the exact `insufficient_user_authentication` challenge.
 */
function assertStepUp(
  reply: Reply,
  expected: { status: 401 | 403; code: string; description: string; maxAge?: number },
): void {
  assert.equal(reply.status, expected.status, JSON.stringify(reply.body))
  assert.deepEqual(reply.body, { error: { code: expected.code, message: expected.description } })
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/)
  assert.equal(
    reply.headers.get('www-authenticate'),
    `Bearer error="insufficient_user_authentication", error_description="${expected.description}"${
      expected.maxAge === undefined ? '' : `, max_age="${expected.maxAge}"`
    }`,
  )
}

/** Asserts a 401 with the RFC 6750 invalid_token challenge, and returns the challenge. */
function assertInvalid(reply: Reply, code: string, token?: string): string {
  assert.equal(reply.status, 401, JSON.stringify(reply.body))
  assert.equal(errorCode(reply), code)
  assert.equal(typeof (reply.body as { error: { message: unknown } }).error.message, 'string')
  const challenge = reply.headers.get('www-authenticate') ?? ''
  assert.ok(challenge.endsWith(`, ${DPOP_CHALLENGE}`), challenge)
  assert.match(
    challenge.slice(0, -DPOP_CHALLENGE.length - 2),
    /^Bearer error="invalid_token", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]+"$/,
  )
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/)
  if (token !== undefined) {
    for (const part of token.split('.'))
      assert.ok(!challenge.includes(part), 'no token in the header')
    assert.ok(!JSON.stringify(reply.body).includes(token.split('.')[2]!), 'no token in the body')
  }
  return challenge
}

export function middlewareSuite(framework: string, build: BuildApp): void {
  async function app(t: TestContext, options: AuthenticateOptions): Promise<AppUnderTest> {
    const built = await build(options)
    t.after(() => built.close())
    return built
  }

  describe(`${framework}: authenticate()`, () => {
    it('lets a valid token through with typed claims on the request', async (t) => {
      const api = await app(t, baseOptions())
      const token = issue({ roles: ['member', 'admin'] })
      const reply = await api.request('/api/me', bearer(token))
      assert.equal(reply.status, 200)
      assert.deepEqual(reply.body, {
        userId: 'user-1',
        sessionId: 'session-1',
        roles: ['member', 'admin'],
        scopes: ['reports:read', 'profile'],
        iss: ISSUER,
        token,
        jkt: null,
      })
      // Again: the cached verification gives the same answer.
      assert.equal((await api.request('/api/me', bearer(token))).status, 200)
    })

    it('refuses a missing token with 401 missing_token and a bare challenge (RFC 6750 §3.1)', async (t) => {
      const api = await app(t, baseOptions())
      const cases: Record<string, string>[] = [
        {},
        { authorization: 'Basic dXNlcjpwYXNz' },
        { authorization: '' },
      ]
      for (const headers of cases) {
        const reply = await api.request('/api/me', headers)
        assert.equal(reply.status, 401)
        assert.equal(errorCode(reply), 'missing_token')
        assert.equal(reply.headers.get('www-authenticate'), `Bearer realm="api", ${DPOP_CHALLENGE}`)
      }
    })

    it('parses the Bearer scheme case-insensitively and insists on one token', async (t) => {
      const api = await app(t, baseOptions())
      const token = issue()
      for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
        const reply = await api.request('/api/me', { authorization: `${scheme} ${token}` })
        assert.equal(reply.status, 200, scheme)
      }
      for (const authorization of [`Bearer ${token} ${token}`, 'Bearer', 'Bearer a,b']) {
        assertInvalid(await api.request('/api/me', { authorization }), 'invalid_token')
      }
    })

    it('refuses a tampered token with 401 invalid_token, never echoing the token', async (t) => {
      const api = await app(t, baseOptions())
      const [header, payload, signature] = issue().split('.') as [string, string, string]
      const forged = Buffer.from(
        JSON.stringify({
          ...JSON.parse(Buffer.from(payload, 'base64url').toString()),
          roles: ['admin'],
        }),
      ).toString('base64url')
      const tampered = `${header}.${forged}.${signature}`
      assertInvalid(await api.request('/api/me', bearer(tampered)), 'invalid_token', tampered)
      const otherKey = issue({}, { key: stranger.privateKey })
      assertInvalid(await api.request('/api/me', bearer(otherKey)), 'invalid_token', otherKey)
      assertInvalid(await api.request('/api/me', bearer('not.a.jwt')), 'invalid_token')
    })

    it('answers an expired token with token_expired, honouring clockTolerance', async (t) => {
      const api = await app(t, baseOptions())
      const token = issue()
      clock.t += 901_000
      t.after(() => {
        clock.t -= 901_000
      })
      const challenge = assertInvalid(await api.request('/api/me', bearer(token)), 'token_expired')
      assert.match(challenge, /expired/)
      const lenient = await app(t, baseOptions({ clockTolerance: '5s' }))
      assert.equal((await lenient.request('/api/me', bearer(token))).status, 200)
    })

    it('refuses a wrong issuer, a wrong audience and a wrong typ with invalid_token', async (t) => {
      const api = await app(t, baseOptions())
      for (const token of [
        issue({ iss: 'https://evil.example.test' }),
        issue({ aud: 'another-api' }),
        issue({}, { typ: 'JWT' }),
        issue({ sub: undefined }),
        issue({ jti: undefined }),
        issue({ roles: 'admin' }),
      ]) {
        assertInvalid(await api.request('/api/me', bearer(token)), 'invalid_token', token)
      }
      const anyTyp = await app(t, baseOptions({ typ: false }))
      assert.equal((await anyTyp.request('/api/me', bearer(issue({}, { typ: 'JWT' })))).status, 200)
    })

    it('defaults the audience to the issuer, as a Tessera server does', async (t) => {
      const api = await app(t, { issuer: ISSUER, keys: trustedKeys, now: clock.now })
      assert.equal((await api.request('/api/me', bearer(issue({ aud: ISSUER })))).status, 200)
      assertInvalid(await api.request('/api/me', bearer(issue())), 'invalid_token')
    })

    it('requireRoles: 403 forbidden without one of the roles', async (t) => {
      const api = await app(t, baseOptions())
      const member = await api.request('/api/admin', bearer(issue()))
      assert.equal(member.status, 403)
      assert.equal(errorCode(member), 'forbidden')
      assert.equal(member.headers.get('www-authenticate'), null, 'roles are not OAuth scopes')
      for (const roles of [['admin'], ['member', 'owner']]) {
        assert.equal((await api.request('/api/admin', bearer(issue({ roles })))).status, 200)
      }
      assert.equal(
        (await api.request('/api/admin', bearer(issue({ roles: undefined })))).status,
        403,
      )
      assert.equal((await api.request('/api/admin')).status, 401, 'authentication runs first')
    })

    it('requireAllRoles: 403 forbidden unless every role is held', async (t) => {
      const api = await app(t, baseOptions())
      for (const roles of [['admin'], ['owner', 'member'], [], undefined]) {
        const reply = await api.request('/api/owners', bearer(issue({ roles })))
        assert.equal(reply.status, 403, JSON.stringify(roles))
        assert.equal(errorCode(reply), 'forbidden')
        assert.equal(reply.headers.get('www-authenticate'), null, 'roles are not OAuth scopes')
      }
      for (const roles of [
        ['admin', 'owner'],
        ['owner', 'member', 'admin'],
      ]) {
        assert.equal((await api.request('/api/owners', bearer(issue({ roles })))).status, 200)
      }
      assert.equal((await api.request('/api/owners')).status, 401, 'authentication runs first')
    })

    it('requireScopes: 403 forbidden with insufficient_scope unless every scope is held', async (t) => {
      const api = await app(t, baseOptions())
      const partial = await api.request('/api/reports', bearer(issue()))
      assert.equal(partial.status, 403)
      assert.equal(errorCode(partial), 'forbidden')
      assert.match(
        partial.headers.get('www-authenticate') ?? '',
        /^Bearer error="insufficient_scope", error_description="[^"]+", scope="reports:read reports:export"$/,
      )
      const full = issue({ scope: 'reports:export reports:read' })
      assert.equal((await api.request('/api/reports', bearer(full))).status, 200)
      assert.equal(
        (await api.request('/api/reports', bearer(issue({ scope: undefined })))).status,
        403,
      )
    })

    it('a guard without authenticate() before it fails closed (500), never lets through', async (t) => {
      const api = await app(t, baseOptions())
      const reply = await api.request('/bare/admin', bearer(issue({ roles: ['admin'] })))
      assert.equal(reply.status, 500)
    })

    it('reads the token from a cookie only when asked to, and only without an Authorization header', async (t) => {
      const token = issue()
      const cookie = `theme=dark; tessera_access=${token}; other=1`
      const plain = await app(t, baseOptions())
      const ignored = await plain.request('/api/me', { cookie })
      assert.equal(errorCode(ignored), 'missing_token')

      const api = await app(t, baseOptions({ cookie: 'tessera_access' }))
      assert.equal((await api.request('/api/me', { cookie })).status, 200)
      assert.equal(
        (await api.request('/api/me', { cookie: `tessera_access="${token}"` })).status,
        200,
      )
      assert.equal(
        errorCode(await api.request('/api/me', { cookie: 'theme=dark' })),
        'missing_token',
      )
      assert.equal(
        errorCode(await api.request('/api/me', { cookie: 'tessera_access=' })),
        'missing_token',
      )
      // The header wins: a bad header is not rescued by a good cookie.
      const both = await api.request('/api/me', { cookie, authorization: 'Bearer bad.token.here' })
      assertInvalid(both, 'invalid_token')
    })

    it('verifies against a JWKS URL, and answers 503 unavailable while no key can be fetched', async (t) => {
      const jwksUrl = await jwksServer(t, JSON.stringify({ keys: [exportJwk(signing.publicKey)] }))
      const api = await app(t, { issuer: ISSUER, audience: AUDIENCE, jwksUrl, now: clock.now })
      const token = issue()
      assert.equal((await api.request('/api/me', bearer(token))).status, 200)
      assert.equal((await api.request('/api/me', bearer(token))).status, 200, 'cached')
      assertInvalid(
        await api.request('/api/me', bearer(issue({}, { key: stranger.privateKey }))),
        'invalid_token',
      )

      const down = await app(t, { issuer: ISSUER, audience: AUDIENCE, jwksUrl: await deadUrl() })
      for (let i = 0; i < 2; i++) {
        const reply = await down.request('/api/me', bearer(token))
        assert.equal(reply.status, 503)
        assert.equal(errorCode(reply), 'unavailable')
        assert.equal(reply.headers.get('retry-after'), '30')
      }
      // A token that is missing or malformed needs no key: still a 401.
      assert.equal((await down.request('/api/me')).status, 401)
    })

    describe('with a revocation feed', () => {
      async function feed(t: TestContext): Promise<FeedServer> {
        const server = await startFeedServer({ retry: 10 })
        t.after(() => server.close())
        return server
      }

      it('refuses a token with token_revoked within a second of a live entry', async (t) => {
        const server = await feed(t)
        const api = await app(t, baseOptions({ revocations: { url: server.url } }))
        const token = issue({ sid: 'session-9' })
        const keep = issue({ sid: 'session-10' })
        await server.waitForRequests(1)
        assert.equal((await api.request('/api/me', bearer(token))).status, 200)
        server.add({ kind: 'sid', value: 'session-9', expiresAt: clock.t + 900_000 })
        const started = performance.now()
        for (;;) {
          const reply = await api.request('/api/me', bearer(token))
          if (reply.status === 401) {
            assertInvalid(reply, 'token_revoked')
            break
          }
          assert.ok(performance.now() - started < 1000, 'revoked within a second')
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        assert.equal((await api.request('/api/me', bearer(keep))).status, 200, 'only that session')
      })

      it("whenStale 'refuse' answers 503 until the feed is ready; 'serve' keeps serving", async (t) => {
        const server = await feed(t)
        server.mode = 'no-ready'
        const token = issue()
        const strict = await app(
          t,
          baseOptions({ revocations: { url: server.url }, whenStale: 'refuse' }),
        )
        const lenient = await app(t, baseOptions({ revocations: { url: server.url } }))
        await server.waitForRequests(2)
        const refused = await strict.request('/api/me', bearer(token))
        assert.equal(refused.status, 503)
        assert.equal(errorCode(refused), 'unavailable')
        assert.ok(Number(refused.headers.get('retry-after')) > 0)
        assert.equal((await strict.request('/api/me')).status, 401, 'a missing token is still 401')
        assert.equal((await lenient.request('/api/me', bearer(token))).status, 200)

        server.mode = 'ok'
        server.dropAll()
        const started = performance.now()
        while ((await strict.request('/api/me', bearer(token))).status !== 200) {
          assert.ok(performance.now() - started < 2000, 'serving once the feed is ready')
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
      })
    })
  })

  describe(`${framework}: step-up (amr, auth_time)`, () => {
    const MFA = 'this needs a sign-in with mfa'
    const TOO_OLD_5M = 'this needs a sign-in at most 300 seconds old'
    const TOO_OLD_10M = 'this needs a sign-in at most 600 seconds old'
    const NO_AUTH_TIME = 'this needs a recent sign-in and the token does not say when it was'

    it('requireAuthMethods: 401 mfa_required with insufficient_user_authentication unless amr holds the method', async (t) => {
      const api = await app(t, baseOptions())
      for (const amr of [['pwd', 'otp', 'mfa'], ['mfa']]) {
        assert.equal((await api.request('/api/mfa', bearer(issue({ amr })))).status, 200)
      }
      for (const amr of [['pwd'], ['otp'], [], undefined]) {
        const reply = await api.request('/api/mfa', bearer(issue({ amr })))
        assertStepUp(reply, { status: 401, code: 'mfa_required', description: MFA })
      }
      assert.equal(
        errorCode(await api.request('/api/mfa')),
        'missing_token',
        'authentication first',
      )
    })

    it('requireAuthMethods with several methods needs every one of them', async (t) => {
      const api = await app(t, baseOptions())
      const both = issue({ amr: ['pwd', 'hwk', 'otp', 'mfa'] })
      assert.equal((await api.request('/api/otp-key', bearer(both))).status, 200)
      for (const amr of [['pwd', 'otp', 'mfa'], ['hwk'], ['mfa']]) {
        assertStepUp(await api.request('/api/otp-key', bearer(issue({ amr }))), {
          status: 401,
          code: 'mfa_required',
          description: 'this needs a sign-in with otp and hwk',
        })
      }
    })

    it('requireAnyAuthMethod: any one of the methods will do', async (t) => {
      const api = await app(t, baseOptions())
      for (const amr of [['hwk', 'user'], ['swk'], ['pwd', 'swk', 'mfa']]) {
        assert.equal((await api.request('/api/passkey', bearer(issue({ amr })))).status, 200)
      }
      for (const amr of [['pwd', 'otp', 'mfa'], [], undefined]) {
        assertStepUp(await api.request('/api/passkey', bearer(issue({ amr }))), {
          status: 401,
          code: 'mfa_required',
          description: 'this needs a sign-in with hwk or swk',
        })
      }
    })

    it('refuses a malformed amr or auth_time, and an auth_time in the future, with invalid_token', async (t) => {
      const api = await app(t, baseOptions())
      for (const claims of [
        { amr: 'mfa' },
        { amr: ['pwd', 1] },
        { amr: { 0: 'mfa' } },
        { auth_time: String(authAgo(0)) },
        { auth_time: [authAgo(0)] },
        { auth_time: authAgo(-60) },
      ]) {
        const token = issue(claims)
        assertInvalid(await api.request('/api/me', bearer(token)), 'invalid_token', token)
      }
      const future = issue({ auth_time: authAgo(-60), amr: ['pwd'] })
      const lenient = await app(t, baseOptions({ clockTolerance: 60 }))
      assert.equal(
        (await lenient.request('/api/me', bearer(future))).status,
        200,
        'within the tolerance',
      )
      const fine = issue({ auth_time: authAgo(0), amr: [] })
      assert.equal((await api.request('/api/me', bearer(fine))).status, 200)
    })

    it('requireRecentAuth: 403 reauthentication_required with max_age once auth_time is too old, on the clock of authenticate()', async (t) => {
      const api = await app(t, baseOptions())
      for (const ago of [0, 299, 300]) {
        const reply = await api.request('/api/recent', bearer(issue({ auth_time: authAgo(ago) })))
        assert.equal(reply.status, 200, `${ago} s ago`)
      }
      assertStepUp(await api.request('/api/recent', bearer(issue({ auth_time: authAgo(301) }))), {
        status: 403,
        code: 'reauthentication_required',
        description: TOO_OLD_5M,
        maxAge: 300,
      })
      assertStepUp(await api.request('/api/recent', bearer(issue())), {
        status: 403,
        code: 'reauthentication_required',
        description: NO_AUTH_TIME,
        maxAge: 300,
      })
      // The same (cached) token grows old as the clock moves.
      const token = issue({ auth_time: authAgo(0) })
      assert.equal((await api.request('/api/recent', bearer(token))).status, 200)
      clock.t += 301_000
      t.after(() => {
        clock.t -= 301_000
      })
      assertStepUp(await api.request('/api/recent', bearer(token)), {
        status: 403,
        code: 'reauthentication_required',
        description: TOO_OLD_5M,
        maxAge: 300,
      })
      assert.equal((await api.request('/api/me', bearer(token))).status, 200, 'only that route')
    })

    it('requireRecentAuth honours the clockTolerance of authenticate()', async (t) => {
      const api = await app(t, baseOptions({ clockTolerance: '30s' }))
      const edge = issue({ auth_time: authAgo(330) })
      assert.equal((await api.request('/api/recent', bearer(edge))).status, 200)
      const old = issue({ auth_time: authAgo(331) })
      assert.equal(
        errorCode(await api.request('/api/recent', bearer(old))),
        'reauthentication_required',
      )
    })

    it('maxAuthAge on authenticate() guards every route, cached tokens included', async (t) => {
      const api = await app(t, baseOptions({ maxAuthAge: '10m' }))
      const fresh = issue({ auth_time: authAgo(0) })
      assert.equal((await api.request('/api/me', bearer(fresh))).status, 200)
      assert.equal(
        (await api.request('/api/me', bearer(issue({ auth_time: authAgo(600) })))).status,
        200,
      )
      for (const path of ['/api/me', '/api/admin']) {
        assertStepUp(await api.request(path, bearer(issue({ auth_time: authAgo(601) }))), {
          status: 403,
          code: 'reauthentication_required',
          description: TOO_OLD_10M,
          maxAge: 600,
        })
      }
      assertStepUp(await api.request('/api/me', bearer(issue())), {
        status: 403,
        code: 'reauthentication_required',
        description: NO_AUTH_TIME,
        maxAge: 600,
      })
      clock.t += 601_000
      t.after(() => (clock.t -= 601_000))
      assert.equal(
        errorCode(await api.request('/api/me', bearer(fresh))),
        'reauthentication_required',
      )
      assert.equal(
        errorCode(await api.request('/api/me')),
        'missing_token',
        'a missing token is still 401',
      )
    })

    it('maxAuthAge and requireRecentAuth together: the stricter one answers, and token failures come first', async (t) => {
      const api = await app(t, baseOptions({ maxAuthAge: 600 }))
      const sevenMinutes = issue({ auth_time: authAgo(420) })
      assert.equal((await api.request('/api/me', bearer(sevenMinutes))).status, 200)
      assertStepUp(await api.request('/api/recent', bearer(sevenMinutes)), {
        status: 403,
        code: 'reauthentication_required',
        description: TOO_OLD_5M,
        maxAge: 300,
      })
      assertStepUp(await api.request('/api/recent', bearer(issue({ auth_time: authAgo(660) }))), {
        status: 403,
        code: 'reauthentication_required',
        description: TOO_OLD_10M,
        maxAge: 600,
      })
      const expired = issue({ auth_time: authAgo(0), exp: authAgo(1), iat: authAgo(60) })
      assertInvalid(await api.request('/api/recent', bearer(expired)), 'token_expired')
      // A recent sign-in without the factor: the factor is what is missing.
      const recentWithoutFactor = issue({ auth_time: authAgo(0), amr: ['pwd'] })
      assert.equal(
        errorCode(await api.request('/api/mfa', bearer(recentWithoutFactor))),
        'mfa_required',
      )
    })

    it('a step-up guard without authenticate() before it fails closed (500)', async (t) => {
      const api = await app(t, baseOptions())
      const token = issue({ auth_time: authAgo(0), amr: ['mfa'] })
      assert.equal((await api.request('/bare/recent', bearer(token))).status, 500)
    })
  })

  describe(`${framework}: DPoP (RFC 9449)`, () => {
    const PUBLIC = 'https://api.example.test'
    const HTU = `${PUBLIC}/api/me`
    const options = (extra: Partial<AuthenticateBaseOptions> = {}) =>
      baseOptions({ publicUrl: PUBLIC, ...extra })
    const client = generateKeyPair('ES256')
    const thief = generateKeyPair('ES256')
    /** A token bound to `key` (`cnf.jkt`, its RFC 7638 thumbprint, which is its kid here). */
    const bound = (key: Key = client.privateKey, claims: Record<string, unknown> = {}) =>
      issue({ cnf: { jkt: key.kid }, ...claims })
    const dpopAuth = (token: string, proof: string | string[]): RequestHeaders => ({
      authorization: `DPoP ${token}`,
      dpop: proof,
    })

    /** A proof by `key` for GET `htu` with `token`; `claims` override (undefined removes). */
    function proofOf(
      key: Key,
      token: string | undefined,
      claims: Record<string, unknown> = {},
      htu = HTU,
    ): string {
      const { kid: _kid, alg: _alg, use: _use, ...jwk } = exportJwk(key.publicKey)
      const payload: Record<string, unknown> = {
        jti: randomUUID(),
        htm: 'GET',
        htu,
        iat: Math.floor(clock.t / 1000),
        ath: token === undefined ? undefined : accessTokenHash(token),
        ...claims,
      }
      for (const [name, value] of Object.entries(payload)) {
        if (value === undefined) delete payload[name]
      }
      const header = { typ: 'dpop+jwt', alg: key.alg, jwk }
      const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`
      return `${input}.${key.signData(input)}`
    }

    /** A 401 in the DPoP scheme (RFC 9449 §7.1), Bearer offered after it. */
    function assertDpopRefusal(reply: Reply, code: string, error = code): void {
      assert.equal(reply.status, 401, JSON.stringify(reply.body))
      assert.equal(errorCode(reply), code)
      assert.match(
        reply.headers.get('www-authenticate') ?? '',
        new RegExp(
          `^DPoP error="${error}", error_description="[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]+", algs="${DPOP_ALGORITHMS.join(' ')}", Bearer realm="api"$`,
        ),
      )
    }

    it('lets a bound token through with a fresh proof each time, and refuses a replayed proof', async (t) => {
      const api = await app(t, options())
      const token = bound()
      const first = proofOf(client.privateKey, token)
      for (const proof of [first, proofOf(client.privateKey, token)]) {
        const reply = await api.request('/api/me', dpopAuth(token, proof))
        assert.equal(reply.status, 200, JSON.stringify(reply.body))
        const body = reply.body as { jkt: unknown; token: unknown }
        assert.equal(body.jkt, client.privateKey.kid)
        assert.equal(body.token, token)
      }
      // The token's verification is cached; its proofs are checked every time.
      assertDpopRefusal(await api.request('/api/me', dpopAuth(token, first)), 'invalid_dpop_proof')
      const lower = await api.request('/api/me', {
        authorization: `dpop ${token}`,
        dpop: proofOf(client.privateKey, token),
      })
      assert.equal(lower.status, 200, 'the scheme is case-insensitive')
      // A query string is not part of htu.
      const query = await api.request(
        '/api/me?page=2',
        dpopAuth(token, proofOf(client.privateKey, token)),
      )
      assert.equal(query.status, 200)
    })

    it('never takes a bound token as a bearer token, nor without a proof by its key', async (t) => {
      const api = await app(t, options({ cookie: 'tessera_access' }))
      const token = bound()
      const asBearer = await api.request('/api/me', bearer(token))
      assertInvalid(asBearer, 'invalid_token', token)
      assert.match(JSON.stringify(asBearer.body), /DPoP/)
      assertInvalid(
        await api.request('/api/me', { cookie: `tessera_access=${token}` }),
        'invalid_token',
      )
      assertDpopRefusal(
        await api.request('/api/me', { authorization: `DPoP ${token}` }),
        'invalid_dpop_proof',
      )
      const two = [proofOf(client.privateKey, token), proofOf(client.privateKey, token)]
      assertDpopRefusal(await api.request('/api/me', dpopAuth(token, two)), 'invalid_dpop_proof')
      assertDpopRefusal(
        await api.request('/api/me', dpopAuth(token, two.join(', '))),
        'invalid_dpop_proof',
      )
      // The thief's own, valid proof: the token is bound to another key.
      const stolen = await api.request('/api/me', dpopAuth(token, proofOf(thief.privateKey, token)))
      assertDpopRefusal(stolen, 'invalid_token')
      assert.match(
        String((stolen.body as { error: { message: string } }).error.message),
        /another key/,
      )
      // An unbound token is not a DPoP token, whatever proof comes with it.
      const unbound = issue()
      assertDpopRefusal(
        await api.request('/api/me', dpopAuth(unbound, proofOf(client.privateKey, unbound))),
        'invalid_token',
      )
      for (const authorization of ['DPoP', `DPoP ${token} ${token}`]) {
        const reply = await api.request('/api/me', {
          authorization,
          dpop: proofOf(client.privateKey, token),
        })
        assertDpopRefusal(reply, 'invalid_token')
      }
      // Other confirmation methods (mTLS) cannot be checked here: refused, not ignored.
      for (const cnf of [
        { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' },
        { jkt: 7 },
        'jkt',
      ]) {
        assertInvalid(await api.request('/api/me', bearer(issue({ cnf }))), 'invalid_token')
      }
    })

    it('refuses a proof made for another method, URL, token or time', async (t) => {
      const api = await app(t, options())
      const token = bound()
      const key = client.privateKey
      const other = bound()
      const now = Math.floor(clock.t / 1000)
      for (const [what, proof] of [
        ['POST', proofOf(key, token, { htm: 'POST' })],
        ['another path', proofOf(key, token, {}, `${PUBLIC}/api/admin`)],
        ['another host', proofOf(key, token, {}, 'https://evil.example.test/api/me')],
        ['http', proofOf(key, token, {}, 'http://api.example.test/api/me')],
        ['another token', proofOf(key, other)],
        ['no ath', proofOf(key, undefined)],
        ['stale', proofOf(key, token, { iat: now - 70 })],
        ['future', proofOf(key, token, { iat: now + 60 })],
        ['HS256', 'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkhTMjU2In0.e30.AAAA'],
      ] as const) {
        const reply = await api.request('/api/me', dpopAuth(token, proof))
        assertDpopRefusal(reply, 'invalid_dpop_proof')
        assert.ok(!JSON.stringify(reply.body).includes(proof.split('.')[2]!), what)
      }
      // An expired token is expired, proof or not.
      clock.t += 901_000
      t.after(() => {
        clock.t -= 901_000
      })
      assertDpopRefusal(
        await api.request('/api/me', dpopAuth(token, proofOf(key, token))),
        'token_expired',
        'invalid_token',
      )
    })

    it("dpop: 'required' refuses bearer tokens and offers DPoP alone", async (t) => {
      const api = await app(t, options({ dpop: 'required', dpopAlgorithms: ['ES256', 'EdDSA'] }))
      const missing = await api.request('/api/me')
      assert.equal(errorCode(missing), 'missing_token')
      assert.equal(missing.headers.get('www-authenticate'), 'DPoP algs="ES256 EdDSA"')
      const asBearer = await api.request('/api/me', bearer(issue()))
      assert.equal(errorCode(asBearer), 'invalid_token')
      assert.match(
        asBearer.headers.get('www-authenticate') ?? '',
        /^DPoP error="invalid_token", error_description="[^"]+", algs="ES256 EdDSA"$/,
      )
      const token = bound()
      assert.equal(
        (await api.request('/api/me', dpopAuth(token, proofOf(client.privateKey, token)))).status,
        200,
      )
      const rsa = generateKeyPair('PS256')
      const rsaToken = bound(rsa.privateKey)
      const refused = await api.request(
        '/api/me',
        dpopAuth(rsaToken, proofOf(rsa.privateKey, rsaToken)),
      )
      assert.equal(errorCode(refused), 'invalid_dpop_proof', 'PS256 is not in dpopAlgorithms')
    })

    it('a server nonce: use_dpop_nonce with DPoP-Nonce, then a proof carrying it passes', async (t) => {
      let nonce = 'nonce-1'
      const api = await app(t, options({ dpopNonce: () => nonce }))
      const token = bound()
      for (const claims of [{}, { nonce: 'nonce-0' }]) {
        const reply = await api.request(
          '/api/me',
          dpopAuth(token, proofOf(client.privateKey, token, claims)),
        )
        assertDpopRefusal(reply, 'use_dpop_nonce')
        assert.equal(reply.headers.get('dpop-nonce'), 'nonce-1')
      }
      const ok = await api.request(
        '/api/me',
        dpopAuth(token, proofOf(client.privateKey, token, { nonce: 'nonce-1' })),
      )
      assert.equal(ok.status, 200)
      nonce = 'nonce-2'
      const stale = await api.request(
        '/api/me',
        dpopAuth(token, proofOf(client.privateKey, token, { nonce: 'nonce-1' })),
      )
      assert.equal(stale.headers.get('dpop-nonce'), 'nonce-2')
    })

    it('takes the proofs of dpop (panva) and oauth4webapi, whose nonce retry works', async (t) => {
      // These clients sign with the real time: so does this authenticator.
      let nonce = 'n-1'
      const api = await app(t, options({ now: Date.now, dpopNonce: () => nonce }))
      const realToken = (jkt: string) => {
        const iat = Math.floor(Date.now() / 1000)
        return issue({ cnf: { jkt }, iat, exp: iat + 900 })
      }

      const pair = await dpop.generateKeyPair('ES256')
      const token = realToken(await dpop.calculateThumbprint(pair.publicKey))
      const proof = await dpop.generateProof(pair, HTU, 'GET', nonce, token)
      assert.equal((await api.request('/api/me', dpopAuth(token, proof))).status, 200)

      const keys = await oauth.generateKeyPair('EdDSA')
      const handle = oauth.DPoP({}, keys)
      const bound4 = realToken(await handle.calculateThumbprint())
      const customFetch = async (url: string, init: RequestInit): Promise<Response> => {
        const { pathname, search } = new URL(url)
        const headers: RequestHeaders = {}
        new Headers(init.headers).forEach((value, name) => {
          headers[name] = value
        })
        const reply = await api.request(pathname + search, headers)
        const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body)
        return new Response(body, { status: reply.status, headers: reply.headers })
      }
      const call = () =>
        oauth.protectedResourceRequest(bound4, 'GET', new URL(`${HTU}?x=1`), new Headers(), null, {
          DPoP: handle,
          [oauth.customFetch]: customFetch,
        })
      nonce = 'n-2'
      // No nonce yet: refused, and the client learns it from DPoP-Nonce.
      const first = await call().catch((error: unknown) => error)
      assert.ok(oauth.isDPoPNonceError(first), String(first))
      const retried = await call()
      assert.equal(retried.status, 200)
      assert.equal(
        ((await retried.json()) as { jkt: string }).jkt,
        await handle.calculateThumbprint(),
      )
    })

    it("checks htu against the request's own URL by default, or the public one the options give", async (t) => {
      const plain = await app(t, baseOptions())
      const token = bound()
      const own = `${plain.origin}/api/me`
      assert.equal(
        (
          await plain.request(
            '/api/me',
            dpopAuth(token, proofOf(client.privateKey, token, {}, own)),
          )
        ).status,
        200,
      )
      assertDpopRefusal(
        await plain.request('/api/me', dpopAuth(token, proofOf(client.privateKey, token))),
        'invalid_dpop_proof',
      )

      const prefixed = await app(
        t,
        baseOptions({ publicUrl: 'https://gateway.example.test/orders/' }),
      )
      const viaGateway = 'https://gateway.example.test/orders/api/me'
      assert.equal(
        (
          await prefixed.request(
            '/api/me',
            dpopAuth(token, proofOf(client.privateKey, token, {}, viaGateway)),
          )
        ).status,
        200,
      )
      // With publicUrl, forwarded headers are not read.
      const spoofed = await prefixed.request('/api/me', {
        ...dpopAuth(
          token,
          proofOf(client.privateKey, token, {}, 'https://evil.example.test/api/me'),
        ),
        'x-forwarded-host': 'evil.example.test',
        'x-forwarded-proto': 'https',
      })
      assertDpopRefusal(spoofed, 'invalid_dpop_proof')

      const proxied = await app(t, baseOptions({ forwardedHeader: 'x-forwarded' }))
      const through = (proof: string, extra: RequestHeaders) =>
        proxied.request('/api/me', { ...dpopAuth(token, proof), ...extra })
      const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.test' }
      assert.equal((await through(proofOf(client.privateKey, token), forwarded)).status, 200)
      // What a client sent is left of what the proxy appended.
      const appended = {
        'x-forwarded-proto': 'http, https',
        'x-forwarded-host': 'evil.example.test, api.example.test',
      }
      assert.equal((await through(proofOf(client.privateKey, token), appended)).status, 200)
      const evil = proofOf(client.privateKey, token, {}, 'https://evil.example.test/api/me')
      assertDpopRefusal(await through(evil, appended), 'invalid_dpop_proof')
      // Not through the proxy: no public URL, no guess from Host.
      assertDpopRefusal(
        await through(proofOf(client.privateKey, token, {}, own), {}),
        'invalid_dpop_proof',
      )

      const rfc7239 = await app(t, baseOptions({ forwardedHeader: 'forwarded' }))
      const reply = await rfc7239.request('/api/me', {
        ...dpopAuth(token, proofOf(client.privateKey, token)),
        forwarded: 'for=192.0.2.60;proto=https;host="api.example.test"',
      })
      assert.equal(reply.status, 200)
    })
  })
}
