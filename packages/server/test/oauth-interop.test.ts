// panva's certified clients against the real `tessera serve`: openid-client
// (v6) and oauth4webapi (v3) run every flow Tessera offers, each with the
// client authentication a real deployment would pick: discovery (OpenID
// Connect and RFC 8414), the authorization code flow with PKCE through the
// hosted login and consent pages in headless Chromium, ID token and userinfo
// validation, refresh with rotation and reuse detection, client_credentials,
// introspection (RFC 7662), revocation (RFC 7009), RP-initiated logout and
// RFC 9068 validation of every kind of access token.
//
// The server runs with a 1 s refresh reuse grace so that "after the grace
// window" is a short wait.

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { decodeProtectedHeader } from 'jose'
import * as oauth from 'oauth4webapi'
import * as client from 'openid-client'
import type { Browser } from 'playwright-core'
import {
  chromiumMissing,
  launchChromium,
  openUserAgent,
  type UserAgent,
} from './support/oauth-browser.ts'
import { startTesseraOAuth, type TesseraServer, USER_PASSWORD } from './support/oauth-tessera.ts'
import {
  type ClientKey,
  type ClientRole,
  clientSet,
  createClientKey,
  type RedirectCatcher,
  SERVICE_SCOPE,
  startRedirectCatcher,
} from './support/oauth-wire.ts'

const ON_CI = process.env.CI === 'true'
const GRACE_SECONDS = 1

/** The scopes the user-facing flows ask for. */
const SCOPE = 'openid profile email offline_access'

interface Suite {
  server: TesseraServer
  catcher: RedirectCatcher
  key: ClientKey
  browser: Browser
}

function interopSuite(body: (suite: () => Suite) => void): void {
  const missing = chromiumMissing()
  if (missing !== undefined) {
    if (ON_CI) test('Chromium is available (required with CI=true)', () => assert.fail(missing))
    else
      describe('openid-client and oauth4webapi against tessera serve', { skip: missing }, () => {})
    return
  }
  describe('openid-client and oauth4webapi against tessera serve', () => {
    let suite: Suite | undefined
    before(async () => {
      const catcher = await startRedirectCatcher()
      const key = await createClientKey()
      const server = await startTesseraOAuth(clientSet(catcher, key), {
        TESSERA_REFRESH_REUSE_GRACE: `${GRACE_SECONDS}s`,
      })
      const browser = await launchChromium()
      suite = { server, catcher, key, browser }
    })
    after(async () => {
      await suite?.browser.close()
      await suite?.server.close()
      await suite?.catcher.close()
    })
    body(() => suite ?? assert.fail('the suite did not start'))
  })
}

/** openid-client's configuration for `role`, by discovery, with its registered authentication. */
async function discoverWithOpenidClient(
  s: Suite,
  role: ClientRole,
  algorithm: 'oidc' | 'oauth2' = 'oidc',
): Promise<client.Configuration> {
  const registered = s.server.clients[role]
  const auth = (() => {
    switch (registered.metadata.token_endpoint_auth_method) {
      case 'client_secret_basic':
        return client.ClientSecretBasic(registered.secret)
      case 'client_secret_post':
        return client.ClientSecretPost(registered.secret)
      case 'private_key_jwt':
        return client.PrivateKeyJwt(s.key.privateKey)
      case 'none':
        return client.None()
    }
  })()
  const config = await client.discovery(
    new URL(s.server.issuer),
    registered.id,
    undefined,
    auth,
    // The test server speaks plain HTTP on 127.0.0.1.
    { execute: [client.allowInsecureRequests], algorithm },
  )
  // Verify ID token signatures against the JWKS too, not only their claims.
  client.enableNonRepudiationChecks(config)
  return config
}

/** What oauth4webapi needs for `role`: the server, the client and its authentication. */
async function discoverWithOauth4webapi(
  s: Suite,
  role: ClientRole,
  algorithm: 'oidc' | 'oauth2' = 'oidc',
): Promise<{ as: oauth.AuthorizationServer; client: oauth.Client; auth: oauth.ClientAuth }> {
  const issuer = new URL(s.server.issuer)
  const response = await oauth.discoveryRequest(issuer, {
    algorithm,
    [oauth.allowInsecureRequests]: true,
  })
  const as = await oauth.processDiscoveryResponse(issuer, response)
  const registered = s.server.clients[role]
  const auth = (() => {
    switch (registered.metadata.token_endpoint_auth_method) {
      case 'client_secret_basic':
        return oauth.ClientSecretBasic(registered.secret!)
      case 'client_secret_post':
        return oauth.ClientSecretPost(registered.secret!)
      case 'private_key_jwt':
        return oauth.PrivateKeyJwt(s.key.privateKey)
      case 'none':
        return oauth.None()
    }
  })()
  return { as, client: { client_id: registered.id }, auth }
}

const insecure = { [oauth.allowInsecureRequests]: true } as const

/** The error code of a refused openid-client call (a ResponseBodyError). */
async function refusal(promise: Promise<unknown>): Promise<{ error: string; status: number }> {
  try {
    await promise
  } catch (error) {
    if (error instanceof client.ResponseBodyError)
      return { error: error.error, status: error.status }
    throw error
  }
  assert.fail('the call succeeded')
}

/** The user signs in (and consents) in `agent` until `url` reaches the client. */
async function authorizeInBrowser(s: Suite, agent: UserAgent, url: URL) {
  return agent.authorize(url, s.catcher.origin, {
    login: { email: s.server.user.email, password: USER_PASSWORD },
    consent: 'allow',
  })
}

/** RFC 9068 §2.2 and Tessera's claims, as oauth4webapi.validateJwtAccessToken checks them. */
async function validateAccessToken(
  s: Suite,
  as: oauth.AuthorizationServer,
  token: string,
  expected: { clientId: string; sub: string; scope: string },
): Promise<oauth.JWTAccessTokenClaims> {
  const request = new Request(`${s.server.issuer}/api`, {
    headers: { authorization: `Bearer ${token}` },
  })
  // The audience of a token without `resource` (RFC 8707) is the server's, TESSERA_AUDIENCE: the issuer here.
  const claims = await oauth.validateJwtAccessToken(as, request, s.server.issuer, insecure)
  assert.equal(decodeProtectedHeader(token).typ, 'at+jwt')
  assert.equal(claims.iss, s.server.issuer)
  assert.equal(claims.client_id, expected.clientId)
  assert.equal(claims.sub, expected.sub)
  assert.deepEqual(claims.scope?.split(' ').sort(), expected.scope.split(' ').sort())
  return claims
}

interopSuite((suite) => {
  describe('discovery', () => {
    test('openid-client discovers both documents; they name only what exists', async () => {
      const s = suite()
      for (const algorithm of ['oidc', 'oauth2'] as const) {
        const config = await discoverWithOpenidClient(s, 'basic', algorithm)
        const metadata = config.serverMetadata()
        assert.equal(metadata.issuer, s.server.issuer)
        assert.equal(metadata.token_endpoint, `${s.server.issuer}/oauth/token`)
        assert.equal(metadata.authorization_endpoint, `${s.server.issuer}/oauth/authorize`)
        assert.ok(metadata.supportsPKCE('S256'), 'PKCE S256 is advertised')
        assert.deepEqual(metadata.code_challenge_methods_supported, ['S256'])
        assert.deepEqual(metadata.response_types_supported, ['code'])
        assert.equal(metadata.authorization_response_iss_parameter_supported, true)
        for (const grant of ['authorization_code', 'refresh_token', 'client_credentials']) {
          assert.ok(metadata.grant_types_supported?.includes(grant), grant)
        }
        for (const method of [
          'client_secret_basic',
          'client_secret_post',
          'private_key_jwt',
          'none',
        ]) {
          assert.ok(metadata.token_endpoint_auth_methods_supported?.includes(method), method)
        }
        // Every endpoint named answers (none of them 404): "naming only what exists".
        for (const name of [
          'token_endpoint',
          'revocation_endpoint',
          'introspection_endpoint',
          'userinfo_endpoint',
          'end_session_endpoint',
          'jwks_uri',
          'authorization_endpoint',
        ] as const) {
          const url = metadata[name]
          assert.equal(typeof url, 'string', `${algorithm}: ${name}`)
          const response = await fetch(url as string, {
            method: name === 'jwks_uri' ? 'GET' : 'POST',
          })
          await response.body?.cancel()
          assert.notEqual(response.status, 404, `${name} ${url}`)
        }
      }
    })

    test('oauth4webapi discovers both documents', async () => {
      const s = suite()
      for (const algorithm of ['oidc', 'oauth2'] as const) {
        const { as } = await discoverWithOauth4webapi(s, 'post', algorithm)
        assert.equal(as.issuer, s.server.issuer)
        assert.equal(as.jwks_uri, `${s.server.issuer}/.well-known/jwks.json`)
        assert.equal(as.introspection_endpoint, `${s.server.issuer}/oauth/introspect`)
        assert.equal(as.revocation_endpoint, `${s.server.issuer}/oauth/revoke`)
        assert.ok(as.scopes_supported?.includes('openid'))
        for (const alg of as.id_token_signing_alg_values_supported ?? [])
          assert.notEqual(alg, 'none')
      }
    })
  })

  describe('openid-client (client_secret_basic, a third-party client)', () => {
    let agent: UserAgent
    before(async () => {
      agent = await openUserAgent(suite().browser, suite().server.issuer)
    })
    after(() => agent.close())

    /** One authorization code flow; returns the tokens and the trip the browser took. */
    async function codeFlow(config: client.Configuration, extra: Record<string, string> = {}) {
      const s = suite()
      const verifier = client.randomPKCECodeVerifier()
      const state = client.randomState()
      const nonce = client.randomNonce()
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: s.catcher.url('/cb'),
        scope: SCOPE,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        ...extra,
      })
      const trip = await authorizeInBrowser(s, agent, url)
      const tokens = await client.authorizationCodeGrant(config, trip.callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: true,
        ...(extra.max_age === undefined ? {} : { maxAge: Number(extra.max_age) }),
      })
      return { tokens, trip, nonce }
    }

    test('code + PKCE through /login and the consent page; the ID token and userinfo validate', async () => {
      const s = suite()
      const config = await discoverWithOpenidClient(s, 'basic')
      const { tokens, trip, nonce } = await codeFlow(config, { max_age: '600' })
      // A fresh browser: the hosted login, then the consent page of this third-party app.
      assert.deepEqual(trip.pages, ['login', 'consent'])
      assert.equal(trip.callback.searchParams.get('iss'), s.server.issuer)
      assert.equal(tokens.token_type.toLowerCase(), 'bearer')
      assert.equal(typeof tokens.refresh_token, 'string')
      assert.ok((tokens.expires_in ?? 0) > 0)

      const id = tokens.claims()
      assert.ok(id, 'an ID token')
      assert.equal(id.iss, s.server.issuer)
      assert.equal(id.sub, s.server.user.id)
      assert.equal(id.aud, s.server.clients.basic.id)
      assert.equal(id.nonce, nonce)
      assert.equal(typeof id.auth_time, 'number')
      assert.equal(typeof id.sid, 'string')
      assert.ok(Array.isArray(id.amr) && id.amr.includes('pwd'), JSON.stringify(id.amr))
      assert.equal(id.email, s.server.user.email)
      assert.equal(typeof id.email_verified, 'boolean')
      assert.equal(id.name, s.server.user.name)
      assert.equal(decodeProtectedHeader(tokens.id_token!).typ, 'JWT')

      const info = await client.fetchUserInfo(config, tokens.access_token, id.sub)
      assert.equal(info.sub, s.server.user.id)
      assert.equal(info.email, s.server.user.email)
      assert.equal(info.name, s.server.user.name)

      const { as } = await discoverWithOauth4webapi(s, 'basic')
      await validateAccessToken(s, as, tokens.access_token, {
        clientId: s.server.clients.basic.id,
        sub: s.server.user.id,
        scope: SCOPE,
      })
      assert.deepEqual(agent.errors, [])
    })

    test('consent is remembered: the second authorization goes straight back to the app', async () => {
      const s = suite()
      const config = await discoverWithOpenidClient(s, 'basic')
      await codeFlow(config)
      const { trip, tokens } = await codeFlow(config, { scope: 'openid email' })
      assert.deepEqual(trip.pages, [])
      // The ID token carries what the narrower scope allows, and no more.
      const id = tokens.claims()!
      assert.equal(id.email, s.server.user.email)
      assert.equal(id.name, undefined)
    })

    test('refresh rotates; the old token after the grace window is invalid_grant and ends the session', async () => {
      const s = suite()
      const config = await discoverWithOpenidClient(s, 'basic')
      const { tokens } = await codeFlow(config)
      const first = tokens.refresh_token!
      const rotated = await client.refreshTokenGrant(config, first)
      assert.notEqual(rotated.refresh_token, first)
      assert.notEqual(rotated.access_token, tokens.access_token)
      // openid-client validates the refreshed ID token against the first one (OIDC Core §12.2).
      assert.equal(rotated.claims()?.sub, s.server.user.id)

      const narrowed = await client.refreshTokenGrant(config, rotated.refresh_token!, {
        scope: 'openid email',
      })
      assert.equal(narrowed.scope, 'openid email')
      const live = await client.tokenIntrospection(config, narrowed.access_token)
      assert.equal(live.active, true)

      await sleep(GRACE_SECONDS * 1000 + 300)
      const reuse = await refusal(client.refreshTokenGrant(config, first))
      assert.deepEqual(reuse, { error: 'invalid_grant', status: 400 })
      // Reuse detection revoked the whole session: the newest refresh token is dead too ...
      const latest = await refusal(client.refreshTokenGrant(config, narrowed.refresh_token!))
      assert.deepEqual(latest, { error: 'invalid_grant', status: 400 })
      // ... and so are its access tokens.
      const dead = await client.tokenIntrospection(config, narrowed.access_token)
      assert.equal(dead.active, false)
    })

    test('introspection says active with the token facts; after revocation (RFC 7009) active false', async () => {
      const s = suite()
      const config = await discoverWithOpenidClient(s, 'basic')
      const { tokens } = await codeFlow(config)
      const access = await client.tokenIntrospection(config, tokens.access_token)
      assert.equal(access.active, true)
      assert.equal(access.client_id, s.server.clients.basic.id)
      assert.equal(access.sub, s.server.user.id)
      assert.equal(access.iss, s.server.issuer)
      assert.equal(access.token_type, 'Bearer')
      assert.equal(typeof access.exp, 'number')
      const refresh = await client.tokenIntrospection(config, tokens.refresh_token!, {
        token_type_hint: 'refresh_token',
      })
      assert.equal(refresh.active, true)

      await client.tokenRevocation(config, tokens.refresh_token!, {
        token_type_hint: 'refresh_token',
      })
      assert.equal((await client.tokenIntrospection(config, tokens.refresh_token!)).active, false)
      // RFC 7009 §2.1: revoking the refresh token also invalidates the grant's access tokens.
      assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false)
      const refused = await refusal(client.refreshTokenGrant(config, tokens.refresh_token!))
      assert.deepEqual(refused, { error: 'invalid_grant', status: 400 })
      // RFC 7009 §2.2: revoking it again, or a token never issued, is still 200.
      await client.tokenRevocation(config, tokens.refresh_token!)
      await client.tokenRevocation(config, 'never-issued')
    })

    test('RP-initiated logout: buildEndSessionUrl returns to the registered post_logout_redirect_uri with state', async () => {
      const s = suite()
      const config = await discoverWithOpenidClient(s, 'basic')
      const { tokens } = await codeFlow(config)
      const state = client.randomState()
      const url = client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: s.catcher.url('/logged-out'),
        state,
      })
      const landed = await agent.follow(url, s.catcher.origin)
      assert.equal(`${landed.origin}${landed.pathname}`, s.catcher.url('/logged-out'))
      assert.equal(landed.searchParams.get('state'), state)
      // The session the ID token names is over, and the browser is signed out.
      const refused = await refusal(client.refreshTokenGrant(config, tokens.refresh_token!))
      assert.equal(refused.error, 'invalid_grant')
      assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false)
      const again = await codeFlow(config)
      assert.deepEqual(again.trip.pages, ['login'])
    })

    test('client_credentials with private_key_jwt (RFC 7523); the token reads the revocation feed', async () => {
      const s = suite()
      const config = await discoverWithOpenidClient(s, 'jwt')
      const tokens = await client.clientCredentialsGrant(config, { scope: SERVICE_SCOPE })
      assert.equal(tokens.scope, SERVICE_SCOPE)
      assert.equal(tokens.refresh_token, undefined, 'RFC 6749 §4.4.3: no refresh token')
      // RFC 9068 §2.2: a client's own token names the client as its subject; no session, no roles.
      const { as } = await discoverWithOauth4webapi(s, 'jwt')
      const claims = await validateAccessToken(s, as, tokens.access_token, {
        clientId: s.server.clients.jwt.id,
        sub: s.server.clients.jwt.id,
        scope: SERVICE_SCOPE,
      })
      assert.equal(claims.sid, undefined)
      assert.equal(claims.roles, undefined)
      const feed = await client.fetchProtectedResource(
        config,
        tokens.access_token,
        new URL(`${s.server.issuer}/auth/revocations`),
        'GET',
      )
      // The feed is an endless Server-Sent Events stream: the status and type say enough.
      assert.equal(feed.status, 200)
      assert.match(feed.headers.get('content-type') ?? '', /^text\/event-stream/)
      await feed.body?.cancel()
      const introspected = await client.tokenIntrospection(config, tokens.access_token)
      assert.equal(introspected.active, true)
      assert.equal(introspected.client_id, s.server.clients.jwt.id)
    })

    test('the hosted pages ran without a console error', () => {
      assert.deepEqual(agent.errors, [])
    })
  })

  describe('oauth4webapi', () => {
    let agent: UserAgent
    before(async () => {
      agent = await openUserAgent(suite().browser, suite().server.issuer)
    })
    after(() => agent.close())

    /** One authorization code flow for `role`; returns the processed token response. */
    async function codeFlow(role: ClientRole, redirectUri: string) {
      const s = suite()
      const { as, client: c, auth } = await discoverWithOauth4webapi(s, role)
      const verifier = oauth.generateRandomCodeVerifier()
      const state = oauth.generateRandomState()
      const nonce = oauth.generateRandomNonce()
      const url = new URL(as.authorization_endpoint!)
      url.search = new URLSearchParams({
        client_id: c.client_id,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: SCOPE,
        state,
        nonce,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      }).toString()
      const trip = await authorizeInBrowser(s, agent, url)
      const params = oauth.validateAuthResponse(as, c, trip.callback, state)
      const response = await oauth.authorizationCodeGrantRequest(
        as,
        c,
        auth,
        params,
        redirectUri,
        verifier,
        insecure,
      )
      const tokens = await oauth.processAuthorizationCodeResponse(as, c, response, {
        expectedNonce: nonce,
        requireIdToken: true,
      })
      return { as, client: c, auth, tokens, trip }
    }

    test('code + PKCE with client_secret_post (first party: no consent page); ID token, userinfo, RFC 9068', async () => {
      const s = suite()
      const { as, client: c, tokens, trip } = await codeFlow('post', s.catcher.url('/cb'))
      assert.deepEqual(trip.pages, ['login'])
      const id = oauth.getValidatedIdTokenClaims(tokens)!
      assert.equal(id.iss, s.server.issuer)
      assert.equal(id.aud, c.client_id)
      assert.equal(id.sub, s.server.user.id)
      const response = await oauth.userInfoRequest(as, c, tokens.access_token, insecure)
      const info = await oauth.processUserInfoResponse(as, c, id.sub, response)
      assert.equal(info.email, s.server.user.email)
      await validateAccessToken(s, as, tokens.access_token, {
        clientId: c.client_id,
        sub: s.server.user.id,
        scope: SCOPE,
      })
    })

    test('a public native client (none) on a loopback port it picked (RFC 8252 §7.3)', async () => {
      const s = suite()
      // Registered as http://127.0.0.1/cb; the app listens wherever the OS put it.
      const other = await startRedirectCatcher()
      try {
        const { as, client: c, auth } = await discoverWithOauth4webapi(s, 'native')
        const redirectUri = other.url('/cb')
        const verifier = oauth.generateRandomCodeVerifier()
        const state = oauth.generateRandomState()
        const url = new URL(as.authorization_endpoint!)
        url.search = new URLSearchParams({
          client_id: c.client_id,
          redirect_uri: redirectUri,
          response_type: 'code',
          scope: 'openid offline_access',
          state,
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        }).toString()
        const trip = await agent.authorize(url, other.origin, {
          login: { email: s.server.user.email, password: USER_PASSWORD },
        })
        const params = oauth.validateAuthResponse(as, c, trip.callback, state)
        const response = await oauth.authorizationCodeGrantRequest(
          as,
          c,
          auth,
          params,
          redirectUri,
          verifier,
          insecure,
        )
        const tokens = await oauth.processAuthorizationCodeResponse(as, c, response, {
          requireIdToken: true,
        })
        await validateAccessToken(s, as, tokens.access_token, {
          clientId: c.client_id,
          sub: s.server.user.id,
          scope: 'openid offline_access',
        })
        // A public client refreshes with its client_id alone, and the token rotates.
        const refreshed = await oauth.processRefreshTokenResponse(
          as,
          c,
          await oauth.refreshTokenGrantRequest(as, c, auth, tokens.refresh_token!, insecure),
        )
        assert.notEqual(refreshed.refresh_token, tokens.refresh_token)
      } finally {
        await other.close()
      }
    })

    test('refresh with private_key_jwt rotates; the old token after the grace window ends the session', async () => {
      const s = suite()
      const { as, client: c, auth, tokens } = await codeFlow('jwt', s.catcher.url('/cb'))
      const refresh = (token: string) =>
        oauth
          .refreshTokenGrantRequest(as, c, auth, token, insecure)
          .then((response) => oauth.processRefreshTokenResponse(as, c, response))
      const rotated = await refresh(tokens.refresh_token!)
      assert.notEqual(rotated.refresh_token, tokens.refresh_token)
      await validateAccessToken(s, as, rotated.access_token, {
        clientId: c.client_id,
        sub: s.server.user.id,
        scope: SCOPE,
      })
      await sleep(GRACE_SECONDS * 1000 + 300)
      for (const token of [tokens.refresh_token!, rotated.refresh_token!]) {
        await assert.rejects(refresh(token), (error: unknown) => {
          assert.ok(error instanceof oauth.ResponseBodyError, String(error))
          assert.equal(error.error, 'invalid_grant')
          return true
        })
      }
    })

    test('client_credentials with client_secret_basic; introspection and revocation of the access token', async () => {
      const s = suite()
      const { as, client: c, auth } = await discoverWithOauth4webapi(s, 'service')
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        c,
        auth,
        { scope: SERVICE_SCOPE },
        insecure,
      )
      const tokens = await oauth.processClientCredentialsResponse(as, c, response)
      const claims = await validateAccessToken(s, as, tokens.access_token, {
        clientId: c.client_id,
        sub: c.client_id,
        scope: SERVICE_SCOPE,
      })
      assert.equal(claims.sid, undefined)

      const introspect = async () =>
        oauth.processIntrospectionResponse(
          as,
          c,
          await oauth.introspectionRequest(as, c, auth, tokens.access_token, insecure),
        )
      const live = await introspect()
      assert.equal(live.active, true)
      assert.equal(live.client_id, c.client_id)
      assert.equal(live.scope, SERVICE_SCOPE)

      await oauth.processRevocationResponse(
        await oauth.revocationRequest(as, c, auth, tokens.access_token, {
          ...insecure,
          additionalParameters: { token_type_hint: 'access_token' },
        }),
      )
      assert.equal((await introspect()).active, false)
      // The revoked token no longer opens the feed either.
      const feed = await fetch(`${s.server.issuer}/auth/revocations`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      })
      assert.equal(feed.status, 401)
    })

    test('a service asking beyond its scope is refused with invalid_scope', async () => {
      const s = suite()
      const { as, client: c, auth } = await discoverWithOauth4webapi(s, 'service')
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        c,
        auth,
        { scope: `${SERVICE_SCOPE} openid` },
        insecure,
      )
      await assert.rejects(
        oauth.processClientCredentialsResponse(as, c, response),
        (error: unknown) => {
          assert.ok(error instanceof oauth.ResponseBodyError, String(error))
          assert.equal(error.error, 'invalid_scope')
          return true
        },
      )
    })
  })
})
