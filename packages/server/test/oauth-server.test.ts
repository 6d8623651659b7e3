// The authorization server in process: the authorization endpoint with and
// without the browser's cookie, consent, the three grants, introspection,
// revocation, userinfo, logout and the account's consents. The certified
// clients run the same flows over real HTTP in oauth-interop.test.ts.

import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { describe, test } from 'node:test'
import { decode, KeySet } from '@tessera/jwt'
import { authenticate, requireScopes } from '@tessera/jwt/express'
import express from 'express'
import * as jose from 'jose'
import { hashClientSecret } from '../src/auth/oauth/clients.ts'
import type { OAuthClientRecord } from '../src/storage/ports.ts'
import { type Harness, harness } from './support/harness.ts'
import { addClientRecord, pkce } from './support/oauth-client.ts'

const ISSUER = 'http://localhost:3000'
const REDIRECT = 'https://app.example.com/callback'
const SECRET = 'a-secret-of-the-test-client-that-is-long-enough'

async function addClient(
  h: Harness,
  overrides: Partial<OAuthClientRecord> = {},
): Promise<OAuthClientRecord> {
  return await addClientRecord(h, {
    id: `client-${randomBytes(6).toString('hex')}`,
    name: 'Test App',
    secretHash: hashClientSecret(SECRET),
    redirectUris: [REDIRECT],
    postLogoutRedirectUris: ['https://app.example.com/bye'],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    tokenEndpointAuthMethod: 'client_secret_basic',
    scopes: ['openid', 'profile', 'email', 'offline_access', 'api:read', 'tessera:revocations'],
    ...overrides,
  })
}

function basic(client: OAuthClientRecord, secret = SECRET): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(secret)}`).toString('base64')}`
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
    body: response.body === '' ? {} : (JSON.parse(response.body) as Record<string, unknown>),
  }
}

/** A signed-in browser: the refresh cookie of a first-party login. */
async function browser(h: Harness, email = 'ada@example.com') {
  await h.user(email, { name: 'Ada' })
  const login = await h.login(email)
  return {
    cookie: `tessera_refresh=${login.tokens.refreshToken}`,
    userId: login.user.id,
    sessionId: login.sessionId,
  }
}

function authorizeUrl(
  client: OAuthClientRecord,
  challenge: string,
  extra: Record<string, string> = {},
): string {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: client.id,
    redirect_uri: REDIRECT,
    scope: 'openid profile email',
    state: 'st-1',
    nonce: 'n-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  })
  return `/oauth/authorize?${query}`
}

async function get(h: Harness, url: string, cookie?: string) {
  return await h.app.inject({ method: 'GET', url, headers: cookie === undefined ? {} : { cookie } })
}

/** Signs in through the code flow and redeems the code. */
async function codeFlow(
  h: Harness,
  client: OAuthClientRecord,
  cookie: string,
  extra: Record<string, string> = {},
) {
  const { verifier, challenge } = pkce()
  const response = await get(h, authorizeUrl(client, challenge, extra), cookie)
  assert.equal(response.statusCode, 302, response.body)
  const location = new URL(response.headers.location as string)
  const code = location.searchParams.get('code')
  assert.ok(code, location.href)
  const token = await form(
    h,
    '/oauth/token',
    { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
    { authorization: basic(client) },
  )
  return { location, code, verifier, token }
}

describe('OAuth authorization server', () => {
  test('discovery names every endpoint under both well-known names', async () => {
    const h = await harness()
    for (const path of [
      '/.well-known/openid-configuration',
      '/.well-known/oauth-authorization-server',
    ]) {
      const { status, body } = await h.call('GET', path)
      assert.equal(status, 200)
      assert.equal(body.issuer, ISSUER)
      assert.equal(body.authorization_endpoint, `${ISSUER}/oauth/authorize`)
      assert.equal(body.token_endpoint, `${ISSUER}/oauth/token`)
      assert.equal(body.userinfo_endpoint, `${ISSUER}/oauth/userinfo`)
      assert.equal(body.end_session_endpoint, `${ISSUER}/oauth/logout`)
      assert.deepEqual(body.code_challenge_methods_supported, ['S256'])
      assert.equal(body.authorization_response_iss_parameter_supported, true)
      assert.deepEqual(body.response_types_supported, ['code'])
    }
  })

  test('code + PKCE with a signed-in browser: code, iss and state back; tokens with client_id, scope and an ID token', async () => {
    const h = await harness()
    const client = await addClient(h)
    const { cookie, userId } = await browser(h)
    const { location, token } = await codeFlow(h, client, cookie)
    assert.equal(location.origin + location.pathname, REDIRECT)
    assert.equal(location.searchParams.get('iss'), ISSUER)
    assert.equal(location.searchParams.get('state'), 'st-1')
    assert.equal(token.status, 200, JSON.stringify(token.body))
    assert.equal(token.headers['cache-control'], 'no-store')
    assert.equal(token.body.token_type, 'Bearer')
    assert.equal(token.body.scope, 'openid profile email')
    assert.equal(typeof token.body.refresh_token, 'string')
    const access = decode(token.body.access_token as string)
    assert.equal(access.header.typ, 'at+jwt')
    assert.equal(access.payload.client_id, client.id)
    assert.equal(access.payload.scope, 'openid profile email')
    assert.equal(access.payload.sub, userId)
    const id = decode(token.body.id_token as string)
    assert.equal(id.header.typ, 'JWT')
    assert.equal(id.payload.aud, client.id)
    assert.equal(id.payload.nonce, 'n-1')
    assert.equal(id.payload.sid, access.payload.sid)
    assert.equal(id.payload.email, 'ada@example.com')
    assert.equal(id.payload.name, 'Ada')
    assert.equal(id.payload.auth_time, Math.floor(h.clock.now / 1000))
    assert.deepEqual(id.payload.amr, ['pwd'])
  })

  test('without the cookie the browser is sent on by a page of ours; without a session, to /login and back', async () => {
    const h = await harness()
    const client = await addClient(h)
    const { challenge } = pkce()
    const first = await get(h, authorizeUrl(client, challenge, { login_hint: 'ada@example.com' }))
    assert.equal(first.statusCode, 200)
    const path = /data-continue="([^"]+)"/.exec(first.body)?.[1]?.replaceAll('&amp;', '&') ?? ''
    assert.ok(path.startsWith('/oauth/authorize/continue?id='), first.body)
    const signedOut = await get(h, path)
    assert.equal(signedOut.statusCode, 302)
    const login = new URL(signedOut.headers.location as string, ISSUER)
    assert.equal(login.pathname, '/login')
    assert.equal(login.searchParams.get('redirect_to'), path)
    assert.equal(login.searchParams.get('email'), 'ada@example.com')
    // The login page starts with the hinted address, escaped like any text.
    const page = await get(h, `${login.pathname}${login.search}`)
    assert.match(page.body, /id="login-email"[^>]* value="ada@example\.com"/)
    const odd = await get(h, `/login?email=${encodeURIComponent('"><script>x</script>')}`)
    assert.ok(!odd.body.includes('<script>x'), 'escaped')
    const { cookie } = await browser(h)
    const back = await get(h, path, cookie)
    assert.equal(back.statusCode, 302)
    assert.ok(new URL(back.headers.location as string).searchParams.get('code'))
    // The request is spent: its code was issued.
    const again = await get(h, path, cookie)
    assert.equal(again.statusCode, 400)
  })

  test('an unknown client or an unregistered redirect URI is a page, never a redirect', async () => {
    const h = await harness()
    const client = await addClient(h)
    const { challenge } = pkce()
    for (const url of [
      authorizeUrl({ ...client, id: 'nobody' }, challenge),
      authorizeUrl(client, challenge, { redirect_uri: 'https://evil.example/cb' }),
      authorizeUrl(client, challenge, { redirect_uri: `${REDIRECT}/extra` }),
    ]) {
      const response = await get(h, url)
      assert.equal(response.statusCode, 400, url)
      assert.equal(response.headers.location, undefined)
      assert.match(response.headers['content-type'] as string, /text\/html/)
    }
  })

  test('request errors go back to the client with iss and state: plain PKCE, no PKCE, bad scope, prompt=none', async () => {
    const h = await harness()
    const client = await addClient(h)
    const { challenge } = pkce()
    const cases: [Record<string, string>, string][] = [
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge: '' }, 'invalid_request'],
      [{ scope: 'openid admin' }, 'invalid_scope'],
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ resource: 'https://other.example' }, 'invalid_target'],
    ]
    for (const [extra, error] of cases) {
      const response = await get(h, authorizeUrl(client, challenge, extra))
      assert.equal(response.statusCode, 302, JSON.stringify(extra))
      const location = new URL(response.headers.location as string)
      assert.equal(location.searchParams.get('error'), error, JSON.stringify(extra))
      assert.equal(location.searchParams.get('iss'), ISSUER)
      assert.equal(location.searchParams.get('state'), 'st-1')
    }
    // prompt=none: no cookie may mean a cross-site arrival; once looked at same-site, login_required.
    const silent = await get(h, authorizeUrl(client, challenge, { prompt: 'none' }))
    const path = /data-continue="([^"]+)"/
      .exec(silent.body)?.[1]
      ?.replaceAll('&amp;', '&') as string
    const answer = new URL((await get(h, path)).headers.location as string)
    assert.equal(answer.searchParams.get('error'), 'login_required')
    assert.equal(answer.searchParams.get('iss'), ISSUER)
  })

  test('a third-party client asks for consent once; prompt=consent asks again; deny is access_denied', async () => {
    const h = await harness()
    const client = await addClient(h, { firstParty: false })
    const { cookie } = await browser(h)
    const { challenge } = pkce()
    const asked = await get(h, authorizeUrl(client, challenge), cookie)
    assert.equal(asked.statusCode, 200)
    assert.match(asked.body, /Test App/)
    assert.match(
      asked.headers['content-security-policy'] as string,
      /form-action 'self' https:\/\/app\.example\.com/,
    )
    const id = /name="id" value="([^"]+)"/.exec(asked.body)?.[1]
    assert.ok(id)
    const allowed = await h.app.inject({
      method: 'POST',
      url: '/oauth/consent',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: ISSUER },
      payload: new URLSearchParams({ id, decision: 'allow' }).toString(),
    })
    assert.equal(allowed.statusCode, 303)
    assert.ok(new URL(allowed.headers.location as string).searchParams.get('code'))

    const remembered = await get(h, authorizeUrl(client, pkce().challenge), cookie)
    assert.equal(remembered.statusCode, 302)
    const again = await get(
      h,
      authorizeUrl(client, pkce().challenge, { prompt: 'consent' }),
      cookie,
    )
    assert.equal(again.statusCode, 200)
    const againId = /name="id" value="([^"]+)"/.exec(again.body)?.[1] as string
    const crossSite = await h.app.inject({
      method: 'POST',
      url: '/oauth/consent',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie,
        origin: 'https://evil.example',
      },
      payload: new URLSearchParams({ id: againId, decision: 'allow' }).toString(),
    })
    assert.equal(crossSite.statusCode, 403)
    const denied = await h.app.inject({
      method: 'POST',
      url: '/oauth/consent',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: ISSUER },
      payload: new URLSearchParams({ id: againId, decision: 'deny' }).toString(),
    })
    assert.equal(denied.statusCode, 303)
    assert.equal(
      new URL(denied.headers.location as string).searchParams.get('error'),
      'access_denied',
    )

    const consents = await h.call('GET', '/auth/consents', {
      token: (await h.login('ada@example.com')).tokens.accessToken,
    })
    assert.equal(consents.status, 200)
    assert.deepEqual(
      (consents.body.consents as { clientId: string; scopes: string[] }[]).map((c) => [
        c.clientId,
        c.scopes,
      ]),
      [[client.id, ['openid', 'profile', 'email']]],
    )
  })

  test('max_age and prompt=login send a signed-in user to sign in again', async () => {
    const h = await harness()
    const client = await addClient(h)
    const { cookie } = await browser(h)
    h.clock.advance(120)
    for (const extra of [{ max_age: '60' }, { prompt: 'login' }] as Record<string, string>[]) {
      const response = await get(h, authorizeUrl(client, pkce().challenge, extra), cookie)
      assert.equal(response.statusCode, 302)
      assert.match(response.headers.location as string, /^\/login\?/, JSON.stringify(extra))
    }
    const fresh = await get(h, authorizeUrl(client, pkce().challenge, { max_age: '300' }), cookie)
    assert.equal(fresh.statusCode, 302)
    assert.ok(new URL(fresh.headers.location as string).searchParams.get('code'))
  })

  test('a code is single use: the second redemption is invalid_grant and revokes what the first issued', async () => {
    const h = await harness()
    const client = await addClient(h)
    const { cookie } = await browser(h)
    const { code, verifier, token } = await codeFlow(h, client, cookie)
    assert.equal(token.status, 200)
    const replay = await form(
      h,
      '/oauth/token',
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
      { authorization: basic(client) },
    )
    assert.equal(replay.status, 400)
    assert.equal(replay.body.error, 'invalid_grant')
    const refresh = await form(
      h,
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: token.body.refresh_token as string },
      { authorization: basic(client) },
    )
    assert.equal(refresh.body.error, 'invalid_grant')
    const introspected = await form(
      h,
      '/oauth/introspect',
      { token: token.body.access_token as string },
      { authorization: basic(client) },
    )
    assert.deepEqual(introspected.body, { active: false })
  })

  test('a wrong verifier, another client or another redirect URI cannot redeem a code', async () => {
    const h = await harness()
    const client = await addClient(h)
    const other = await addClient(h)
    const { cookie } = await browser(h)
    const attempts: [Record<string, string>, OAuthClientRecord][] = [
      [{ code_verifier: pkce().verifier }, client],
      [{}, other],
      [{ redirect_uri: 'https://app.example.com/other' }, client],
    ]
    for (const [change, by] of attempts) {
      const { challenge, verifier } = pkce()
      const response = await get(h, authorizeUrl(client, challenge), cookie)
      const code = new URL(response.headers.location as string).searchParams.get('code') as string
      const result = await form(
        h,
        '/oauth/token',
        {
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT,
          code_verifier: verifier,
          ...change,
        },
        { authorization: basic(by) },
      )
      assert.equal(result.status, 400, JSON.stringify(change))
      assert.equal(result.body.error, 'invalid_grant')
    }
  })

  test('refresh rotates, narrows on request, refuses more scope, and a reused token ends the grant', async () => {
    const h = await harness({ TESSERA_REFRESH_REUSE_GRACE: '10s' })
    const client = await addClient(h)
    const { cookie } = await browser(h)
    const { token } = await codeFlow(h, client, cookie, { scope: 'openid email api:read' })
    const first = token.body.refresh_token as string
    const auth = { authorization: basic(client) }
    const escalate = await form(
      h,
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: first, scope: 'openid profile' },
      auth,
    )
    assert.equal(escalate.body.error, 'invalid_scope')
    const narrowed = await form(
      h,
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: first, scope: 'api:read' },
      auth,
    )
    assert.equal(narrowed.status, 200, JSON.stringify(narrowed.body))
    assert.equal(narrowed.body.scope, 'api:read')
    assert.equal(decode(narrowed.body.access_token as string).payload.scope, 'api:read')
    assert.notEqual(narrowed.body.refresh_token, first)
    // The whole grant stays: the next refresh may ask for all of it again.
    const whole = await form(
      h,
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: narrowed.body.refresh_token as string },
      auth,
    )
    assert.equal(whole.body.scope, 'openid email api:read')
    assert.equal(typeof whole.body.id_token, 'string')
    h.clock.advance(11)
    const reused = await form(
      h,
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: first },
      auth,
    )
    assert.equal(reused.body.error, 'invalid_grant')
    const after = await form(
      h,
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: whole.body.refresh_token as string },
      auth,
    )
    assert.equal(after.body.error, 'invalid_grant')
  })

  test('refresh tokens stay with their client: /auth/refresh refuses an OAuth one, /oauth/token a first-party one', async () => {
    const h = await harness()
    const client = await addClient(h)
    const { cookie } = await browser(h)
    const { token } = await codeFlow(h, client, cookie)
    const firstParty = await h.call('POST', '/auth/refresh', {
      body: { refreshToken: token.body.refresh_token },
    })
    assert.equal(firstParty.status, 401)
    const own = await h.login('ada@example.com')
    const viaOAuth = await form(
      h,
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: own.tokens.refreshToken as string },
      { authorization: basic(client) },
    )
    assert.equal(viaOAuth.body.error, 'invalid_grant')
    // …and the first-party token still works: nothing was burnt.
    assert.equal(
      (await h.call('POST', '/auth/refresh', { body: { refreshToken: own.tokens.refreshToken } }))
        .status,
      200,
    )
  })

  test('client_credentials: a service token with client_id as sub, no session, its scopes', async () => {
    const h = await harness()
    const client = await addClient(h)
    const result = await form(
      h,
      '/oauth/token',
      { grant_type: 'client_credentials', scope: 'api:read' },
      { authorization: basic(client) },
    )
    assert.equal(result.status, 200, JSON.stringify(result.body))
    const { payload } = decode(result.body.access_token as string)
    assert.equal(payload.sub, client.id)
    assert.equal(payload.client_id, client.id)
    assert.equal(payload.sid, undefined)
    assert.equal(payload.scope, 'api:read')
    assert.equal(result.body.refresh_token, undefined)
    const userScope = await form(
      h,
      '/oauth/token',
      { grant_type: 'client_credentials', scope: 'openid' },
      { authorization: basic(client) },
    )
    assert.equal(userScope.body.error, 'invalid_scope')
    // It is not a user's token: Tessera's own API refuses it.
    assert.equal(
      (await h.call('GET', '/auth/me', { token: result.body.access_token as string })).status,
      401,
    )
  })

  test('client authentication failures are 401 invalid_client with WWW-Authenticate', async () => {
    const h = await harness()
    const client = await addClient(h)
    const publicClient = await addClient(h, { tokenEndpointAuthMethod: 'none', secretHash: null })
    const cases: [Record<string, string>, Record<string, string>][] = [
      [{ grant_type: 'client_credentials' }, { authorization: basic(client, 'wrong') }],
      [{ grant_type: 'client_credentials' }, { authorization: basic({ ...client, id: 'nobody' }) }],
      [{ grant_type: 'client_credentials', client_id: client.id, client_secret: SECRET }, {}],
      [{ grant_type: 'client_credentials' }, {}],
      [{ grant_type: 'client_credentials', client_id: publicClient.id, client_secret: 'x' }, {}],
    ]
    for (const [params, headers] of cases) {
      const result = await form(h, '/oauth/token', params, headers)
      assert.equal(result.status, 401, JSON.stringify(params))
      assert.equal(result.body.error, 'invalid_client')
      assert.match(result.headers['www-authenticate'] as string, /^Basic /)
    }
    const both = await form(
      h,
      '/oauth/token',
      { grant_type: 'client_credentials', client_id: client.id, client_secret: SECRET },
      { authorization: basic(client) },
    )
    assert.equal(both.body.error, 'invalid_request')
    const publicCc = await form(
      h,
      '/oauth/token',
      { grant_type: 'client_credentials', client_id: publicClient.id },
      {},
    )
    assert.equal(publicCc.body.error, 'unauthorized_client')
  })

  test('token endpoint request errors: form only, each parameter once, known grants', async () => {
    const h = await harness()
    const client = await addClient(h)
    const json = await h.call('POST', '/oauth/token', {
      body: { grant_type: 'client_credentials' },
      headers: { authorization: basic(client) },
    })
    assert.equal(json.status, 400)
    assert.equal(json.body.error, 'invalid_request')
    const twice = await h.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(client),
      },
      payload: 'grant_type=client_credentials&scope=a&scope=b',
    })
    assert.equal(JSON.parse(twice.body).error, 'invalid_request')
    const unknown = await form(
      h,
      '/oauth/token',
      { grant_type: 'password' },
      { authorization: basic(client) },
    )
    assert.equal(unknown.body.error, 'unsupported_grant_type')
    const missing = await form(h, '/oauth/token', {}, { authorization: basic(client) })
    assert.equal(missing.body.error, 'invalid_request')
  })

  test('introspection and revocation: active while good, inactive once revoked', async () => {
    const h = await harness()
    const client = await addClient(h)
    const { cookie } = await browser(h)
    const { token } = await codeFlow(h, client, cookie)
    const auth = { authorization: basic(client) }
    const access = token.body.access_token as string
    const refresh = token.body.refresh_token as string
    const active = await form(h, '/oauth/introspect', { token: access }, auth)
    assert.equal(active.body.active, true)
    assert.equal(active.body.client_id, client.id)
    assert.equal(active.body.scope, 'openid profile email')
    assert.equal((await form(h, '/oauth/introspect', { token: refresh }, auth)).body.active, true)
    assert.deepEqual((await form(h, '/oauth/introspect', { token: 'nonsense' }, auth)).body, {
      active: false,
    })
    const revoked = await form(
      h,
      '/oauth/revoke',
      { token: refresh, token_type_hint: 'refresh_token' },
      auth,
    )
    assert.equal(revoked.status, 200)
    assert.deepEqual((await form(h, '/oauth/introspect', { token: refresh }, auth)).body, {
      active: false,
    })
    // Revoking the grant ends its access tokens too.
    assert.deepEqual((await form(h, '/oauth/introspect', { token: access }, auth)).body, {
      active: false,
    })
    assert.equal((await form(h, '/oauth/revoke', { token: 'unknown' }, auth)).status, 200)
  })

  test('userinfo answers the claims of the token’s scopes', async () => {
    const h = await harness()
    const client = await addClient(h)
    const { cookie, userId } = await browser(h)
    const { token } = await codeFlow(h, client, cookie, { scope: 'openid email' })
    const info = await h.call('GET', '/oauth/userinfo', {
      token: token.body.access_token as string,
    })
    assert.equal(info.status, 200)
    assert.deepEqual(info.body, { sub: userId, email: 'ada@example.com', email_verified: false })
    const bad = await h.call('GET', '/oauth/userinfo', { token: 'x.y.z' })
    assert.equal(bad.status, 401)
    assert.match(bad.headers['www-authenticate'] as string, /^Bearer error="invalid_token"/)
  })

  test('first-party tokens name the built-in client tessera and their scope', async () => {
    const h = await harness()
    const signup = await h.signup('grace@example.com')
    const { payload } = decode(signup.accessToken as string)
    assert.equal(payload.client_id, 'tessera')
    assert.equal(payload.scope, 'openid profile email')
  })

  test('RP-initiated logout with id_token_hint ends the sessions and returns to the registered URI with state', async () => {
    const h = await harness()
    const client = await addClient(h)
    const { cookie } = await browser(h)
    const { token } = await codeFlow(h, client, cookie)
    const query = new URLSearchParams({
      id_token_hint: token.body.id_token as string,
      post_logout_redirect_uri: 'https://app.example.com/bye',
      state: 'bye-1',
    })
    const done = await get(h, `/oauth/logout?${query}`, cookie)
    assert.equal(done.statusCode, 302)
    assert.equal(done.headers.location, 'https://app.example.com/bye?state=bye-1')
    const auth = { authorization: basic(client) }
    assert.deepEqual(
      (await form(h, '/oauth/introspect', { token: token.body.access_token as string }, auth)).body,
      { active: false },
    )
    // The browser's own session ended too: authorize asks it to sign in.
    const next = await get(h, authorizeUrl(client, pkce().challenge), cookie)
    assert.equal(next.statusCode, 200)
    const unregistered = await get(
      h,
      `/oauth/logout?${new URLSearchParams({ client_id: client.id, post_logout_redirect_uri: 'https://evil.example', continued: '1' })}`,
    )
    assert.equal(unregistered.statusCode, 400)
    const noHint = await get(h, '/oauth/logout?continued=1')
    assert.equal(noHint.statusCode, 200)
    assert.match(noHint.body, /name="confirm"/)
  })

  test('RP-initiated logout from the app’s site (no cookie sent) looks again same-site, and ends the browser’s session too', async () => {
    const h = await harness()
    const client = await addClient(h)
    const { cookie } = await browser(h)
    const { token } = await codeFlow(h, client, cookie)
    const query = new URLSearchParams({
      id_token_hint: token.body.id_token as string,
      post_logout_redirect_uri: 'https://app.example.com/bye',
      state: 'bye-2',
    })
    const first = await get(h, `/oauth/logout?${query}`)
    assert.equal(first.statusCode, 200)
    const path = /data-continue="([^"]+)"/.exec(first.body)?.[1]?.replaceAll('&amp;', '&') ?? ''
    assert.ok(path.startsWith('/oauth/logout?'), first.body)
    const done = await get(h, path, cookie)
    assert.equal(done.statusCode, 302)
    assert.equal(done.headers.location, 'https://app.example.com/bye?state=bye-2')
    // The browser's first-party session is over as well.
    const refreshed = await h.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      headers: { cookie, 'x-tessera-csrf': '1' },
    })
    assert.equal(refreshed.statusCode, 401)
  })

  test('removing an app from the account ends its sessions', async () => {
    const h = await harness()
    const client = await addClient(h, { firstParty: false })
    const { cookie } = await browser(h)
    await h.tessera.store.oauth.grantConsent(
      (await h.tessera.store.users.findUserByEmail('ada@example.com'))!.id,
      client.id,
      ['openid', 'profile', 'email'],
      h.clock.now,
    )
    const { token } = await codeFlow(h, client, cookie)
    const own = await h.login('ada@example.com')
    const removed = await h.call('DELETE', `/auth/consents/${client.id}`, {
      token: own.tokens.accessToken,
    })
    assert.equal(removed.status, 204)
    const auth = { authorization: basic(client) }
    assert.deepEqual(
      (await form(h, '/oauth/introspect', { token: token.body.refresh_token as string }, auth))
        .body,
      { active: false },
    )
    assert.equal(
      (await h.call('DELETE', `/auth/consents/${client.id}`, { token: own.tokens.accessToken }))
        .status,
      404,
    )
  })

  test('bad input on the protocol endpoints: always a 4xx with an RFC 6749 error, never a 500', async () => {
    const h = await harness()
    const client = await addClient(h)
    const bodies: [string, string][] = [
      ['application/json', '{"grant_type":"client_credentials"}'],
      ['application/json', '{"grant_type": '],
      ['text/plain', 'grant_type=client_credentials'],
      ['multipart/form-data; boundary=x', '--x\r\n\r\n--x--'],
      ['application/x-www-form-urlencoded', 'a'.repeat(70 * 1024)],
      ['application/x-www-form-urlencoded', '%E0%A4%A=%%%&&&=='],
      ['application/x-www-form-urlencoded', 'grant_type=authorization_code&code=x&code=y'],
      [
        'application/x-www-form-urlencoded',
        `token=${'x.'.repeat(3000)}&grant_type=refresh_token&refresh_token=${'\u0000'}`,
      ],
      ['application/x-www-form-urlencoded', 'grant_type=refresh_token&refresh_token=%00%01'],
      [
        'application/x-www-form-urlencoded',
        'grant_type=authorization_code&code=abc&code_verifier=short',
      ],
      ['application/x-www-form-urlencoded', '__proto__[admin]=1&constructor=x&token=a'],
    ]
    for (const url of ['/oauth/token', '/oauth/introspect', '/oauth/revoke', '/oauth/userinfo']) {
      for (const [type, payload] of bodies) {
        for (const authorization of [basic(client), 'Basic !!!', 'Bearer x', undefined]) {
          const response = await h.app.inject({
            method: 'POST',
            url,
            headers: {
              'content-type': type,
              ...(authorization === undefined ? {} : { authorization }),
            },
            payload,
          })
          const label = `${url} ${type} ${payload.slice(0, 40)} ${authorization}: ${response.statusCode} ${response.body.slice(0, 120)}`
          if (response.statusCode === 200) {
            // Revocation answers 200 to any token (RFC 7009 §2.2); introspection `active: false`.
            assert.ok(url === '/oauth/revoke' || url === '/oauth/introspect', label)
            continue
          }
          assert.ok(response.statusCode >= 400 && response.statusCode < 500, label)
          assert.equal(typeof response.json().error, 'string', label)
        }
      }
    }
  })

  test('a client_credentials token with tessera:revocations opens the revocation feed; without the scope it does not', async () => {
    const h = await harness()
    const client = await addClient(h)
    const token = async (scope: string) =>
      (
        await form(
          h,
          '/oauth/token',
          { grant_type: 'client_credentials', scope },
          { authorization: basic(client) },
        )
      ).body.access_token as string
    await h.app.listen({ host: '127.0.0.1', port: 0 })
    const address = h.app.server.address() as { port: number }
    const open = async (accessToken: string) => {
      const abort = new AbortController()
      const response = await fetch(`http://127.0.0.1:${address.port}/auth/revocations`, {
        headers: { authorization: `Bearer ${accessToken}` },
        signal: abort.signal,
      })
      const status = response.status
      const type = response.headers.get('content-type')
      abort.abort()
      await response.body?.cancel().catch(() => {})
      return { status, type }
    }
    const feed = await open(await token('tessera:revocations'))
    assert.equal(feed.status, 200)
    assert.match(feed.type ?? '', /^text\/event-stream/)
    assert.equal((await open(await token('api:read'))).status, 401)
    // A removed client's token opens nothing, even before it expires.
    const kept = await token('tessera:revocations')
    await h.tessera.store.oauth.deleteClient(client.id)
    assert.equal((await open(kept)).status, 401)
  })

  test('@tessera/jwt middleware takes the OAuth access tokens unchanged: requireScopes reads their scope', async () => {
    const h = await harness()
    const client = await addClient(h)
    const { cookie } = await browser(h)
    const { token } = await codeFlow(h, client, cookie, { scope: 'openid api:read' })
    const keys = KeySet.fromJwks(h.tessera.keyRing.jwks())
    const app = express()
    app.use(authenticate({ keys, issuer: ISSUER, audience: ISSUER, now: () => h.clock.now }))
    app.get('/reports', requireScopes('api:read'), (req, res) => {
      res.json({ user: req.auth?.userId, scopes: req.auth?.scopes })
    })
    app.get('/admin', requireScopes('api:write'), (_req, res) => {
      res.json({ ok: true })
    })
    const server = app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const headers = { authorization: `Bearer ${token.body.access_token}` }
      const reports = await fetch(`${base}/reports`, { headers })
      assert.equal(reports.status, 200)
      assert.deepEqual(((await reports.json()) as { scopes: string[] }).scopes, [
        'openid',
        'api:read',
      ])
      const admin = await fetch(`${base}/admin`, { headers })
      assert.equal(admin.status, 403)
      assert.match(admin.headers.get('www-authenticate') ?? '', /insufficient_scope/)
    } finally {
      server.close()
    }
  })

  test('an OAuth client’s user token opens nothing of Tessera’s own API, even an admin’s', async () => {
    const h = await harness()
    const client = await addClient(h)
    await h.user('root@example.com', { roles: ['admin'] })
    const { token } = await codeFlow(
      h,
      client,
      `tessera_refresh=${(await h.login('root@example.com')).tokens.refreshToken}`,
    )
    const access = token.body.access_token as string
    for (const [method, url] of [
      ['GET', '/auth/me'],
      ['GET', '/auth/sessions'],
      ['GET', '/auth/consents'],
      ['GET', '/admin/users'],
      ['POST', '/auth/logout-all'],
    ] as const) {
      const response = await h.call(method, url, { token: access })
      assert.equal(response.status, 401, `${method} ${url}`)
    }
    // …while userinfo, which is the client's, answers it.
    assert.equal((await h.call('GET', '/oauth/userinfo', { token: access })).status, 200)
  })

  test('CORS: the protocol endpoints and the public documents answer any origin, without credentials', async () => {
    const h = await harness()
    const client = await addClient(h, { tokenEndpointAuthMethod: 'none', secretHash: null })
    const origin = 'https://spa.example.net'
    const preflight = await h.app.inject({
      method: 'OPTIONS',
      url: '/oauth/token',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'dpop',
      },
    })
    assert.equal(preflight.statusCode, 204)
    assert.equal(preflight.headers['access-control-allow-origin'], '*')
    assert.match(preflight.headers['access-control-allow-headers'] as string, /DPoP/)
    assert.equal(preflight.headers['access-control-allow-credentials'], undefined)
    const answer = await form(
      h,
      '/oauth/token',
      { grant_type: 'authorization_code', client_id: client.id, code: 'x', code_verifier: 'y' },
      { origin },
    )
    assert.equal(answer.status, 400)
    assert.equal(answer.headers['access-control-allow-origin'], '*')
    for (const url of ['/.well-known/openid-configuration', '/.well-known/jwks.json']) {
      assert.equal(
        (await h.app.inject({ url, headers: { origin } })).headers['access-control-allow-origin'],
        '*',
      )
    }
    // Tessera's own API stays same-origin.
    const me = await h.app.inject({ url: '/auth/me', headers: { origin } })
    assert.equal(me.headers['access-control-allow-origin'], undefined)
  })

  test('encrypted ID tokens and userinfo for a client that registered them (read back with jose)', async () => {
    const h = await harness()
    const ec = await jose.generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true })
    const rsa = await jose.generateKeyPair('RSA-OAEP-256', { extractable: true })
    const ecJwk = { ...(await jose.exportJWK(ec.publicKey)), use: 'enc', kid: 'ec-1' }
    const rsaJwk = {
      ...(await jose.exportJWK(rsa.publicKey)),
      use: 'enc',
      alg: 'RSA-OAEP-256',
      kid: 'rsa-1',
    }
    const client = await addClient(h, {
      jwks: JSON.stringify({ keys: [ecJwk, rsaJwk] }),
      idTokenEncryption: { alg: 'ECDH-ES', enc: 'A128CBC-HS256' },
      userinfoEncryption: { alg: 'RSA-OAEP-256', enc: 'A256GCM' },
    })
    const { cookie, userId } = await browser(h)
    const { token } = await codeFlow(h, client, cookie, { scope: 'openid email' })
    assert.equal(token.status, 200, JSON.stringify(token.body))
    const idToken = token.body.id_token as string
    assert.equal(idToken.split('.').length, 5, 'a compact JWE')
    const outer = await jose.compactDecrypt(idToken, ec.privateKey)
    assert.equal(outer.protectedHeader.cty, 'JWT')
    assert.equal(outer.protectedHeader.enc, 'A128CBC-HS256')
    const jwks = jose.createLocalJWKSet(h.tessera.keyRing.jwks() as jose.JSONWebKeySet)
    const inner = await jose.jwtVerify(new TextDecoder().decode(outer.plaintext), jwks, {
      issuer: ISSUER,
      audience: client.id,
      currentDate: new Date(h.clock.now),
    })
    assert.equal(inner.payload.sub, userId)
    assert.equal(inner.payload.nonce, 'n-1')

    const info = await h.app.inject({
      url: '/oauth/userinfo',
      headers: { authorization: `Bearer ${token.body.access_token}` },
    })
    assert.equal(info.statusCode, 200)
    assert.match(info.headers['content-type'] as string, /^application\/jwt/)
    const claims = await jose.compactDecrypt(info.body, rsa.privateKey)
    assert.equal(claims.protectedHeader.alg, 'RSA-OAEP-256')
    assert.deepEqual(JSON.parse(new TextDecoder().decode(claims.plaintext)), {
      sub: userId,
      email: 'ada@example.com',
      email_verified: false,
    })
  })

  test('maintenance forgets used and expired codes an hour after they expire, not before', async () => {
    const h = await harness()
    const client = await addClient(h)
    const { cookie } = await browser(h)
    const { code, verifier } = await codeFlow(h, client, cookie)
    const replay = () =>
      form(
        h,
        '/oauth/token',
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
        { authorization: basic(client) },
      )
    h.clock.advance(30 * 60)
    await h.tessera.maintain()
    // Still known: the replay is recognized as one.
    const hash = createHash('sha256').update(code).digest('base64url')
    assert.equal((await h.tessera.store.oauth.redeemCode(hash, h.clock.now)).status, 'replayed')
    h.clock.advance(31 * 60)
    await h.tessera.maintain()
    assert.equal((await h.tessera.store.oauth.redeemCode(hash, h.clock.now)).status, 'not_found')
    assert.equal((await replay()).body.error, 'invalid_grant')
  })
})
