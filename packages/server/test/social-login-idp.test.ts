// Social login (issue 21): a federated session remembers its provider. Its
// access tokens carry `idp: "<provider id>"` next to `amr: ["fed"]`, after
// every refresh, after the MFA step that may follow the provider, and in the
// OAuth code flow of an app (access and ID token, and their refresh); a
// password session carries none. On SQLite and on PostgreSQL (whose refresh
// is one prepared statement, sessions.ts). And the OAuth `provider` hint:
// /oauth/authorize?provider=<id> sends a user who must sign in to that
// provider instead of /login, refuses an unknown one back to the client, and
// lets a signed-in user through. The upstream is oidc-provider on 127.0.0.1
// (support/upstream-op.ts); Tessera runs in process (app.inject).

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { totpCode } from '../src/auth/totp.ts'
import type { OAuthClientRecord } from '../src/storage/ports.ts'
import { cookieValue, throughProvider } from './support/federation.ts'
import { type Harness, harness } from './support/harness.ts'
import { addClientRecord, pkce } from './support/oauth-client.ts'
import { startUpstreamOp, type UpstreamOp } from './support/upstream-op.ts'

const ISSUER = 'http://localhost:3000'
const CLIENT_ID = 'tessera-rp'
const CLIENT_SECRET = randomBytes(32).toString('base64url')
const APP_REDIRECT = 'http://127.0.0.1/callback'
const DATABASE_URL = process.env.TESSERA_TEST_DATABASE_URL

type Claims = Record<string, unknown>

function claimsOf(token: string): Claims {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Claims
}

/** Tessera's start (as `start` gives it), the provider, Tessera's callback: its answer. */
async function federate(h: Harness, startPath: string) {
  const start = await h.app.inject({ method: 'GET', url: startPath })
  assert.equal(start.statusCode, 302, start.body)
  const flow = cookieValue(start.headers, 'tessera_federation')
  assert.ok(flow, `the start set the flow cookie (went to ${String(start.headers.location)})`)
  const callback = await throughProvider(String(start.headers.location), ISSUER)
  const answer = await h.app.inject({
    method: 'GET',
    url: `${callback.pathname}${callback.search}`,
    headers: { cookie: `tessera_federation=${flow}` },
  })
  assert.equal(answer.statusCode, 302, answer.body)
  return {
    location: String(answer.headers.location),
    refresh: cookieValue(answer.headers, 'tessera_refresh'),
  }
}

/** POST /auth/refresh with the refresh cookie: the new access token's claims and the next refresh token. */
async function refresh(h: Harness, refreshToken: string) {
  const response = await h.call('POST', '/auth/refresh', {
    headers: { cookie: `tessera_refresh=${refreshToken}`, 'x-tessera-csrf': '1' },
  })
  assert.equal(response.status, 200, JSON.stringify(response.body))
  const next =
    cookieValue(response.headers, 'tessera_refresh') ?? String(response.body.refreshToken)
  return {
    claims: claimsOf(String(response.body.accessToken)),
    token: String(response.body.accessToken),
    next,
  }
}

async function form(
  h: Harness,
  url: string,
  params: Record<string, string>,
  headers: Record<string, string> = {},
) {
  const response = await h.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(params).toString(),
  })
  return {
    status: response.statusCode,
    headers: response.headers,
    body: JSON.parse(response.body || '{}') as Claims,
  }
}

/** A native app: a public client (PKCE only) with a loopback redirect URI, one of the operator's own (no consent page). */
async function addNativeApp(
  h: Harness,
  overrides: Partial<OAuthClientRecord> = {},
): Promise<OAuthClientRecord> {
  return await addClientRecord(h, {
    id: `native-${randomBytes(6).toString('hex')}`,
    name: 'Native App',
    secretHash: null,
    redirectUris: [APP_REDIRECT],
    grantTypes: ['authorization_code', 'refresh_token'],
    tokenEndpointAuthMethod: 'none',
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    ...overrides,
  })
}

function authorizePath(
  client: OAuthClientRecord,
  challenge: string,
  extra: Record<string, string> = {},
) {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: client.id,
    redirect_uri: APP_REDIRECT,
    scope: 'openid email offline_access',
    state: 'st-1',
    nonce: 'n-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  })
  return `/oauth/authorize?${query}`
}

async function redeem(h: Harness, client: OAuthClientRecord, location: string, verifier: string) {
  const back = new URL(location)
  assert.equal(`${back.origin}${back.pathname}`, APP_REDIRECT, location)
  assert.equal(back.searchParams.get('state'), 'st-1')
  const code = back.searchParams.get('code')
  assert.ok(code, location)
  const token = await form(h, '/oauth/token', {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    client_id: client.id,
    redirect_uri: APP_REDIRECT,
  })
  assert.equal(token.status, 200, JSON.stringify(token.body))
  return token.body
}

/** The suites, against one backend: `databaseEnv` picks a fresh database for each server. */
function suites(backend: string, databaseEnv: () => Promise<Record<string, string>>) {
  describe(`idp and the provider hint (${backend})`, () => {
    let upstream: UpstreamOp
    before(async () => {
      upstream = await startUpstreamOp({
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        redirectUris: [`${ISSUER}/auth/providers/corp/callback`],
      })
    })
    after(async () => {
      await upstream.close()
      assert.deepEqual(upstream.serverErrors, [])
    })

    const start = async (extra: Record<string, string> = {}) =>
      harness({
        ...(await databaseEnv()),
        TESSERA_PROVIDERS: 'corp',
        TESSERA_PROVIDER_CORP_PRESET: 'oidc',
        TESSERA_PROVIDER_CORP_ISSUER: upstream.issuer,
        TESSERA_PROVIDER_CORP_CLIENT_ID: CLIENT_ID,
        TESSERA_PROVIDER_CORP_CLIENT_SECRET: CLIENT_SECRET,
        ...extra,
      })

    const who = () => {
      const n = randomBytes(4).toString('hex')
      return { sub: `u-${n}`, email: `u-${n}@corp.example`, email_verified: true }
    }

    test('a federated session’s access tokens carry idp, refresh after refresh; a password session’s do not', async () => {
      const h = await start()
      upstream.next = who()
      const signedIn = await federate(h, '/auth/providers/corp/start')
      assert.equal(signedIn.location, '/account')
      assert.ok(signedIn.refresh)
      const first = await refresh(h, signedIn.refresh)
      assert.equal(first.claims.idp, 'corp')
      assert.deepEqual(first.claims.amr, ['fed'])
      const second = await refresh(h, first.next)
      assert.equal(second.claims.idp, 'corp', 'the rotation keeps it')
      assert.deepEqual(second.claims.amr, ['fed'])
      const session = await h.tessera.store.sessions.findSession(String(second.claims.sid))
      assert.equal(session?.idp, 'corp')
      // The access token is accepted where Tessera checks its own (GET /auth/me).
      assert.equal((await h.call('GET', '/auth/me', { token: second.token })).status, 200)

      const password = await h.signup(`pw-${randomBytes(4).toString('hex')}@example.com`)
      const own = claimsOf(String(password.accessToken))
      assert.deepEqual(own.amr, ['pwd'])
      assert.equal('idp' in own, false)
      const refreshed = await refresh(h, String(password.refreshToken))
      assert.equal('idp' in refreshed.claims, false)
      const passwordSession = await h.tessera.store.sessions.findSession(String(own.sid))
      assert.equal(passwordSession?.idp, undefined)
    })

    test('the session store keeps idp through every read: find, list, the refresh grant, rotation, grace, re-authentication', async () => {
      const h = await start()
      const { store } = h.tessera
      const user = await h.user(`store-${randomBytes(4).toString('hex')}@example.com`)
      const at = h.clock.now
      const day = 86_400_000
      await store.sessions.createSession(
        {
          id: 'sess-fed',
          userId: user.id,
          createdAt: at,
          expiresAt: at + day,
          userAgent: null,
          ip: null,
          authTime: at,
          amr: ['fed'],
          idp: 'corp',
        },
        { tokenHash: 'hash-0', sessionId: 'sess-fed', createdAt: at, expiresAt: at + day },
      )
      const found = await store.sessions.findSession('sess-fed')
      assert.equal(found?.idp, 'corp')
      assert.deepEqual(
        (await store.sessions.listSessions(user.id, at)).map((s) => s.idp),
        ['corp'],
      )
      assert.equal((await store.sessions.findRefreshTokenGrant('hash-0'))?.session.idp, 'corp')
      const successor = (n: number) => ({
        tokenHash: `hash-${n}`,
        createdAt: at + n,
        expiresAt: at + day,
        sealedPair: `pair-${n}`,
      })
      const rotated = await store.sessions.rotateRefreshToken({
        tokenHash: 'hash-0',
        now: at + 1,
        graceMs: 10_000,
        successor: successor(1),
      })
      assert.equal(rotated.status, 'rotated')
      assert.equal(rotated.status === 'rotated' ? rotated.session.idp : undefined, 'corp')
      const graced = await store.sessions.rotateRefreshToken({
        tokenHash: 'hash-0',
        now: at + 2,
        graceMs: 10_000,
        successor: successor(2),
      })
      assert.equal(graced.status, 'within_grace')
      assert.equal(graced.status === 'within_grace' ? graced.session.idp : undefined, 'corp')
      assert.equal((await store.sessions.findRefreshTokenGrant('hash-1'))?.session.idp, 'corp')
      const again = await store.sessions.reauthenticate('sess-fed', at + 3, ['fed', 'otp'])
      assert.equal(again?.idp, 'corp')
      // A session without one reads none (not null, not "").
      await store.sessions.createSession(
        {
          id: 'sess-pwd',
          userId: user.id,
          createdAt: at,
          expiresAt: at + day,
          userAgent: null,
          ip: null,
          authTime: at,
          amr: ['pwd'],
        },
        { tokenHash: 'hash-p', sessionId: 'sess-pwd', createdAt: at, expiresAt: at + day },
      )
      assert.equal('idp' in (await store.sessions.findSession('sess-pwd'))!, false)
    })

    test('the MFA step after a federated first factor keeps idp', async () => {
      const h = await start()
      const account = who()
      upstream.next = account
      const signedUp = await federate(h, '/auth/providers/corp/start')
      const { token } = await refresh(h, signedUp.refresh!)
      const enroll = await h.call('POST', '/auth/mfa/totp/enroll', { token })
      assert.equal(enroll.status, 200, JSON.stringify(enroll.body))
      const secret = String(enroll.body.secret)
      const confirm = await h.call('POST', '/auth/mfa/totp/confirm', {
        token,
        body: { code: totpCode(secret, h.clock.now) },
      })
      assert.equal(confirm.status, 200, JSON.stringify(confirm.body))
      h.clock.advance(30)

      upstream.next = account
      const challenged = await federate(h, '/auth/providers/corp/start')
      const url = new URL(challenged.location, ISSUER)
      assert.equal(url.searchParams.get('reason'), 'mfa_required')
      const mfaToken = new URLSearchParams(url.hash.slice(1)).get('mfa_token')
      const verified = await h.call('POST', '/auth/mfa/verify', {
        body: { mfaToken, method: 'totp', code: totpCode(secret, h.clock.now) },
      })
      assert.equal(verified.status, 200, JSON.stringify(verified.body))
      const claims = claimsOf(String(verified.body.accessToken))
      assert.equal(claims.idp, 'corp')
      assert.deepEqual([...(claims.amr as string[])].sort(), ['fed', 'mfa', 'otp'])
    })

    test('TESSERA_MFA=required: setting up the app after the provider keeps idp', async () => {
      const h = await start({ TESSERA_MFA: 'required' })
      upstream.next = who()
      const outcome = await federate(h, '/auth/providers/corp/start')
      const url = new URL(outcome.location, ISSUER)
      assert.equal(url.searchParams.get('reason'), 'mfa_enrollment_required')
      const mfaToken = new URLSearchParams(url.hash.slice(1)).get('mfa_token')
      const enroll = await h.call('POST', '/auth/mfa/enroll/totp', { body: { mfaToken } })
      assert.equal(enroll.status, 200, JSON.stringify(enroll.body))
      const done = await h.call('POST', '/auth/mfa/enroll/totp/confirm', {
        body: { mfaToken, code: totpCode(String(enroll.body.secret), h.clock.now) },
      })
      assert.equal(done.status, 200, JSON.stringify(done.body))
      assert.equal(claimsOf(String(done.body.accessToken)).idp, 'corp')
    })

    test('provider hint: a native app’s code + PKCE flow goes through the provider and ends with tokens of amr fed and idp', async () => {
      const h = await start()
      const app = await addNativeApp(h)
      const { verifier, challenge } = pkce()
      upstream.next = who()
      // No cookie: the continue page first (the cookie is SameSite=Strict), then the provider, not /login.
      const first = await h.app.inject({
        method: 'GET',
        url: authorizePath(app, challenge, { provider: 'corp' }),
      })
      assert.equal(first.statusCode, 200)
      const continuePath = /\/oauth\/authorize\/continue\?id=[A-Za-z0-9_-]+/.exec(first.body)?.[0]
      assert.ok(continuePath, 'the continue page links to the continue step')
      const onward = await h.app.inject({ method: 'GET', url: continuePath })
      assert.equal(onward.statusCode, 302)
      const startPath = String(onward.headers.location)
      const expected = `/auth/providers/corp/start?${new URLSearchParams({ redirect_to: continuePath })}`
      assert.equal(startPath, expected)
      const signedIn = await federate(h, startPath)
      assert.equal(signedIn.location, continuePath, 'back to the authorization request')
      const back = await h.app.inject({
        method: 'GET',
        url: continuePath,
        headers: { cookie: `tessera_refresh=${signedIn.refresh}` },
      })
      assert.equal(back.statusCode, 302)
      const tokens = await redeem(h, app, String(back.headers.location), verifier)
      const access = claimsOf(String(tokens.access_token))
      assert.deepEqual(access.amr, ['fed'])
      assert.equal(access.idp, 'corp')
      assert.equal(access.client_id, app.id)
      const idToken = claimsOf(String(tokens.id_token))
      assert.deepEqual(idToken.amr, ['fed'])
      assert.equal(idToken.idp, 'corp')
      assert.equal(idToken.email_verified, true)

      const refreshed = await form(h, '/oauth/token', {
        grant_type: 'refresh_token',
        refresh_token: String(tokens.refresh_token),
        client_id: app.id,
      })
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body))
      assert.equal(claimsOf(String(refreshed.body.access_token)).idp, 'corp')
      assert.equal(claimsOf(String(refreshed.body.id_token)).idp, 'corp')

      // Introspection shows it too (a confidential client asks).
      const active = await h.tessera.store.sessions.findSession(String(access.sid))
      assert.equal(active?.idp, 'corp')
    })

    test('provider hint: an unknown provider is invalid_request back to the client; a signed-in user just continues', async () => {
      const h = await start()
      const app = await addNativeApp(h)
      const { verifier, challenge } = pkce()
      const unknown = await h.app.inject({
        method: 'GET',
        url: authorizePath(app, challenge, { provider: 'nope' }),
      })
      assert.equal(unknown.statusCode, 302)
      const refused = new URL(String(unknown.headers.location))
      assert.equal(`${refused.origin}${refused.pathname}`, APP_REDIRECT)
      assert.equal(refused.searchParams.get('error'), 'invalid_request')
      assert.match(refused.searchParams.get('error_description') ?? '', /provider/)
      assert.equal(refused.searchParams.get('state'), 'st-1')
      assert.equal(refused.searchParams.get('iss'), ISSUER)

      // A password user already signed in in this browser: no detour through the provider.
      const email = `ada-${randomBytes(4).toString('hex')}@example.com`
      await h.user(email)
      const login = await h.login(email)
      const logins = upstream.logins
      const direct = await h.app.inject({
        method: 'GET',
        url: authorizePath(app, challenge, { provider: 'corp' }),
        headers: { cookie: `tessera_refresh=${login.tokens.refreshToken}` },
      })
      assert.equal(direct.statusCode, 302)
      const tokens = await redeem(h, app, String(direct.headers.location), verifier)
      const access = claimsOf(String(tokens.access_token))
      assert.deepEqual(access.amr, ['pwd'])
      assert.equal('idp' in access, false)
      assert.equal(upstream.logins, logins, 'the provider was not asked')

      // prompt=none: no sign-in page of any kind, hint or not: login_required back to the app
      // (after the continue page, which looks for the cookie same-site).
      const silent = await h.app.inject({
        method: 'GET',
        url: authorizePath(app, challenge, { provider: 'corp', prompt: 'none' }),
      })
      const silentPath = /\/oauth\/authorize\/continue\?id=[A-Za-z0-9_-]+/.exec(silent.body)?.[0]
      const silentAnswer = await h.app.inject({ method: 'GET', url: silentPath! })
      assert.equal(silentAnswer.statusCode, 302)
      assert.equal(
        new URL(String(silentAnswer.headers.location)).searchParams.get('error'),
        'login_required',
      )

      // Without the hint, a user who must sign in still goes to /login.
      const plain = await h.app.inject({ method: 'GET', url: authorizePath(app, pkce().challenge) })
      const path = /\/oauth\/authorize\/continue\?id=[A-Za-z0-9_-]+/.exec(plain.body)?.[0]
      const toLogin = await h.app.inject({ method: 'GET', url: path! })
      assert.match(String(toLogin.headers.location), /^\/login\?redirect_to=/)
    })
  })
}

suites('SQLite', async () => ({}))

if (DATABASE_URL === undefined) {
  describe('idp and the provider hint (PostgreSQL)', {
    skip: 'set TESSERA_TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test',
  }, () => {})
} else {
  // A schema of its own for each server (its keys are sealed under its own master key), dropped at the end.
  const schemas: string[] = []
  let admin: pg.Client | undefined
  after(async () => {
    for (const schema of schemas) await admin?.query(`drop schema if exists ${schema} cascade`)
    await admin?.end()
  })
  suites('PostgreSQL', async () => {
    if (admin === undefined) {
      admin = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 })
      await admin.connect()
    }
    const schema = `tessera_idp_${randomBytes(6).toString('hex')}`
    await admin.query(`create schema ${schema}`)
    schemas.push(schema)
    const url = new URL(DATABASE_URL)
    url.searchParams.set('schema', schema)
    return { TESSERA_DATABASE_URL: url.toString() }
  })
}
