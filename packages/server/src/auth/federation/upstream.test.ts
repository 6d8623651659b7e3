// The upstreams of the presets whose real servers a test cannot reach:
// GitHub (plain OAuth 2.0, no ID token) against a stand-in for its token
// endpoint and user API on 127.0.0.1 (the person is /user's id, the address
// only /user/emails' verified primary one), and Entra ID's multi-tenant
// issuer through a stand-in fetch. (The OpenID kind is tested end to end
// with oidc-provider in test/social-login.test.ts.)

import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { SignJWT } from 'jose'
import { PRESETS, type ResolvedProvider } from './presets.ts'
import { createUpstream, UpstreamError } from './upstream.ts'

interface Api {
  user: { status: number; body: unknown }
  emails: { status: number; body: unknown }
  tokenRequests: URLSearchParams[]
}

describe('the github kind', () => {
  const api: Api = {
    user: { status: 200, body: {} },
    emails: { status: 200, body: [] },
    tokenRequests: [],
  }
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const json = (status: number, body: unknown) => {
      response.statusCode = status
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify(body))
    }
    if (request.url === '/login/oauth/access_token') {
      let body = ''
      request.on('data', (chunk) => {
        body += chunk
      })
      request.on('end', () => {
        const form = new URLSearchParams(body)
        api.tokenRequests.push(form)
        if (form.get('grant_type') === 'refresh_token') {
          if (form.get('refresh_token') !== 'ghr_good') {
            return json(400, { error: 'invalid_grant', error_description: 'revoked' })
          }
          return json(200, {
            access_token: 'gho_fresh',
            token_type: 'bearer',
            expires_in: 28800,
            refresh_token: 'ghr_next',
            scope: '',
          })
        }
        json(200, { access_token: 'gho_test', token_type: 'bearer', scope: 'read:user,user:email' })
      })
      return
    }
    if (request.headers.authorization !== 'Bearer gho_test') return json(401, {})
    if (request.url === '/user') return json(api.user.status, api.user.body)
    if (request.url === '/user/emails') return json(api.emails.status, api.emails.body)
    json(404, {})
  })
  let base = ''

  before(async () => {
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('no address')
    base = `http://127.0.0.1:${address.port}`
  })
  after(() => {
    server.closeAllConnections()
    server.close()
  })

  /** `tokenBase`: where the token endpoint is (another port: a provider that is down). */
  function github(tokenBase = base): ResolvedProvider {
    return {
      id: 'github',
      name: 'GitHub',
      preset: {
        kind: 'oauth2',
        name: 'GitHub',
        scopes: PRESETS.github.scopes,
        issuer: `${base}/login/oauth`,
        authorizationEndpoint: `${base}/login/oauth/authorize`,
        tokenEndpoint: `${tokenBase}/login/oauth/access_token`,
        userEndpoint: `${base}/user`,
        emailsEndpoint: `${base}/user/emails`,
      },
      issuer: `${base}/login/oauth`,
      clientId: 'gh-client',
      clientSecret: 'gh-secret',
      scopes: PRESETS.github.scopes,
      keepTokens: false,
      apple: undefined,
    }
  }

  async function signIn() {
    const upstream = createUpstream(github(), {
      redirectUri: 'http://localhost:3000/auth/providers/github/callback',
      timeout: 5,
    })
    const { url, secrets } = await upstream.start()
    assert.equal(url.searchParams.get('scope'), 'read:user user:email')
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256')
    assert.equal(url.searchParams.get('nonce'), null, 'no ID token, no nonce')
    const callback = new URL('http://localhost:3000/auth/providers/github/callback')
    callback.searchParams.set('code', 'the-code')
    callback.searchParams.set('state', secrets.state)
    return await upstream.finish(callback, secrets)
  }

  test('the subject is the numeric id; the address the verified primary one', async () => {
    api.user = {
      status: 200,
      body: { id: 583231, login: 'octocat', name: 'The Octocat', email: 'public@example.com' },
    }
    api.emails = {
      status: 200,
      body: [
        { email: 'other@example.com', primary: false, verified: true },
        { email: 'octo@example.com', primary: true, verified: true },
      ],
    }
    assert.deepEqual(await signIn(), {
      subject: '583231',
      email: 'octo@example.com',
      emailVerified: true,
      name: 'The Octocat',
      // GitHub's OAuth app tokens do not expire and come without a refresh token.
      tokens: {
        accessToken: 'gho_test',
        refreshToken: null,
        expiresAt: null,
        scope: 'read:user,user:email',
      },
    })
    const sent = api.tokenRequests.at(-1)!
    assert.equal(sent.get('code'), 'the-code')
    assert.match(sent.get('code_verifier') ?? '', /^[A-Za-z0-9_-]{43}$/)
    assert.equal(sent.get('client_secret'), 'gh-secret')
  })

  test('an unverified primary address is not vouched for; no primary is no address', async () => {
    api.user = { status: 200, body: { id: 7, login: 'octo', name: null } }
    api.emails = {
      status: 200,
      body: [{ email: 'octo@example.com', primary: true, verified: false }],
    }
    const first = await signIn()
    assert.deepEqual(
      { ...first, tokens: undefined },
      {
        subject: '7',
        email: 'octo@example.com',
        emailVerified: false,
        name: 'octo',
        tokens: undefined,
      },
    )
    api.emails = { status: 200, body: [{ email: 'x@example.com', primary: false, verified: true }] }
    const profile = await signIn()
    assert.equal(profile.email, null)
    assert.equal(profile.emailVerified, false)
  })

  test('the API down is provider_unavailable; a refusal or no id is invalid_response', async () => {
    const reason = async () => {
      try {
        await signIn()
      } catch (error) {
        assert.ok(error instanceof UpstreamError)
        return error.reason
      }
      assert.fail('expected a refusal')
    }
    api.user = { status: 502, body: {} }
    assert.equal(await reason(), 'provider_unavailable')
    api.user = { status: 403, body: { message: 'rate limited' } }
    assert.equal(await reason(), 'invalid_response')
    api.user = { status: 200, body: { login: 'no-id' } }
    assert.equal(await reason(), 'invalid_response')
  })

  test('refresh trades a refresh token for fresh tokens; a refused one is invalid_response', async () => {
    const upstream = createUpstream(github(), {
      redirectUri: 'http://localhost:3000/auth/providers/github/callback',
      timeout: 5,
    })
    const before = Date.now()
    const fresh = await upstream.refresh('ghr_good')
    assert.equal(fresh.accessToken, 'gho_fresh')
    assert.equal(fresh.refreshToken, 'ghr_next')
    assert.ok(fresh.expiresAt !== null)
    assert.ok(fresh.expiresAt >= before + 28_800_000 && fresh.expiresAt <= Date.now() + 28_800_000)
    // An empty scope is "as before": the caller keeps the old one.
    assert.equal(fresh.scope, null)
    const sent = api.tokenRequests.at(-1)!
    assert.equal(sent.get('grant_type'), 'refresh_token')
    assert.equal(sent.get('client_secret'), 'gh-secret')
    await assert.rejects(upstream.refresh('ghr_revoked'), (error: unknown) => {
      assert.ok(error instanceof UpstreamError)
      assert.equal(error.reason, 'invalid_response')
      assert.doesNotMatch(error.message, /ghr_revoked/)
      return true
    })
  })

  test('refresh against a provider that is down is provider_unavailable', async () => {
    const closed = createServer()
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done))
    const address = closed.address()
    if (address === null || typeof address === 'string') throw new Error('no address')
    await new Promise<void>((done) => closed.close(() => done()))
    const upstream = createUpstream(github(`http://127.0.0.1:${address.port}`), {
      redirectUri: 'http://localhost:3000/auth/providers/github/callback',
      timeout: 5,
    })
    await assert.rejects(upstream.refresh('ghr_good'), (error: unknown) => {
      assert.ok(error instanceof UpstreamError)
      assert.equal(error.reason, 'provider_unavailable')
      return true
    })
  })
})

// Entra ID's multi-tenant quirk, against a stand-in for login.microsoftonline.com
// (through the `fetch` option): the discovered issuer is the template
// `https://login.microsoftonline.com/{tenantid}/v2.0`, and each ID token's
// `iss` must be that template filled with the token's own `tid`.
describe('the microsoft preset, multi-tenant', () => {
  const AUTHORITY = 'https://login.microsoftonline.com'
  const TEMPLATE = `${AUTHORITY}/{tenantid}/v2.0`
  const TID = '9188040d-6c67-4c5b-b112-36a304b66dad'
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  let nonce = ''
  let claims: (tid: string) => Record<string, unknown> = () => ({})

  const fakeFetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input instanceof Request ? input.url : input))
    const json = (body: unknown) =>
      new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } })
    if (url.href === `${AUTHORITY}/common/v2.0/.well-known/openid-configuration`) {
      return json({
        issuer: TEMPLATE,
        authorization_endpoint: `${AUTHORITY}/common/oauth2/v2.0/authorize`,
        token_endpoint: `${AUTHORITY}/common/oauth2/v2.0/token`,
        jwks_uri: `${AUTHORITY}/common/discovery/v2.0/keys`,
        response_types_supported: ['code'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['ES256'],
      })
    }
    if (url.href === `${AUTHORITY}/common/discovery/v2.0/keys`) {
      const jwk = keys.publicKey.export({ format: 'jwk' })
      return json({ keys: [{ ...jwk, kid: 'entra', alg: 'ES256', use: 'sig' }] })
    }
    if (url.href === `${AUTHORITY}/common/oauth2/v2.0/token`) {
      assert.equal(init?.method, 'POST')
      const idToken = await new SignJWT({ nonce, ...claims(TID) })
        .setProtectedHeader({ alg: 'ES256', kid: 'entra' })
        .setAudience('ms-client')
        .setSubject('AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(keys.privateKey)
      return json({
        access_token: 'ms-at',
        token_type: 'Bearer',
        expires_in: 300,
        id_token: idToken,
      })
    }
    return new Response('not found', { status: 404 })
  }) as typeof fetch

  async function signIn() {
    const upstream = createUpstream(
      {
        id: 'microsoft',
        name: 'Microsoft',
        preset: PRESETS.microsoft,
        issuer: `${AUTHORITY}/common/v2.0`,
        clientId: 'ms-client',
        clientSecret: 'ms-secret',
        scopes: PRESETS.microsoft.scopes,
        keepTokens: false,
        apple: undefined,
      },
      {
        redirectUri: 'https://auth.example.com/auth/providers/microsoft/callback',
        timeout: 5,
        fetch: fakeFetch,
      },
    )
    const { url, secrets } = await upstream.start()
    assert.equal(url.origin + url.pathname, `${AUTHORITY}/common/oauth2/v2.0/authorize`)
    nonce = secrets.nonce ?? ''
    const callback = new URL('https://auth.example.com/auth/providers/microsoft/callback')
    callback.searchParams.set('code', 'ms-code')
    callback.searchParams.set('state', secrets.state)
    return await upstream.finish(callback, secrets)
  }

  test('a token of the tenant it names is accepted', async () => {
    claims = (tid) => ({ iss: `${AUTHORITY}/${tid}/v2.0`, tid, email: 'ada@contoso.example' })
    const before = Date.now()
    const profile = await signIn()
    assert.equal(profile.subject, 'AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ')
    assert.equal(profile.tokens.accessToken, 'ms-at')
    assert.equal(profile.tokens.refreshToken, null)
    assert.ok(profile.tokens.expiresAt !== null && profile.tokens.expiresAt >= before + 300_000)
    assert.equal(profile.email, 'ada@contoso.example')
    // Entra sends no email_verified: the address is not vouched for, so it never links.
    assert.equal(profile.emailVerified, false)
  })

  test('xms_edov vouches for the address (the tenant owns its domain)', async () => {
    claims = (tid) => ({
      iss: `${AUTHORITY}/${tid}/v2.0`,
      tid,
      email: 'ada@contoso.example',
      xms_edov: true,
    })
    assert.equal((await signIn()).emailVerified, true)
    claims = (tid) => ({
      iss: `${AUTHORITY}/${tid}/v2.0`,
      tid,
      email: 'ada@contoso.example',
      xms_edov: false,
    })
    assert.equal((await signIn()).emailVerified, false)
  })

  test('a token whose iss names another tenant than its tid is refused', async () => {
    claims = (tid) => ({ iss: `${AUTHORITY}/00000000-0000-0000-0000-000000000000/v2.0`, tid })
    await assert.rejects(signIn(), (error: unknown) => {
      assert.ok(error instanceof UpstreamError)
      assert.equal(error.reason, 'invalid_response')
      return true
    })
  })
})
