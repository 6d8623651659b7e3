// Sign in with Apple (issue 21) end to end over HTTP, against oidc-provider
// standing in for Apple (test/support/upstream-op.ts with `apple`): the
// answer comes back as a form post (response_mode=form_post) to the POST
// callback, which turns it into a 303 to the GET callback; that GET carries
// the flow cookie and finishes. The provider's token endpoint checks the
// client secret Tessera signs (an ES256 JWT of the team's key) before
// oidc-provider sees the request, so a sign-in that succeeds proves the
// secret right. Tessera's routes through app.inject, the provider through
// fetch with a cookie jar; test/browser/social-login-apple.test.ts runs the
// same flow in Chromium, across two sites.

import assert from 'node:assert/strict'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { cookieValue, setCookies } from './support/federation.ts'
import { type Harness, harness } from './support/harness.ts'
import { OriginCookies } from './support/oauth-wire.ts'
import { startUpstreamOp, type UpstreamOp } from './support/upstream-op.ts'

const ISSUER = 'http://localhost:3000'
const CLIENT_ID = 'com.example.tessera.signin'
const TEAM_ID = 'TEAM123456'
const KEY_ID = 'KEY1234567'
const teamKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const pemOf = (key: ReturnType<typeof generateKeyPairSync>['privateKey']) =>
  String(key.export({ type: 'pkcs8', format: 'pem' }))

// --- the browser --------------------------------------------------------------------------

function unescapeHtml(text: string): string {
  return text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&#x27;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&')
}

/** The auto-submitting form of a form_post answer: where it posts, and its fields. */
function formPostOf(html: string): { action: URL; fields: URLSearchParams } {
  const action = /<form method="post" action="([^"]*)"/.exec(html)?.[1]
  assert.ok(action, 'a form_post page')
  const fields = new URLSearchParams()
  for (const match of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"\/>/g)) {
    fields.append(unescapeHtml(match[1]!), unescapeHtml(match[2]!))
  }
  return { action: new URL(unescapeHtml(action)), fields }
}

interface Outcome {
  status: number
  location: string
  headers: Record<string, unknown>
  /** What the provider posted back (before any tampering). */
  posted: URLSearchParams
  /** Where the POST callback sent the browser. */
  redirected: URL
}

/**
 * Signs in with Apple as a browser would: Tessera's start, the provider's
 * pages, its form post to Tessera's POST callback (cross-site: without the
 * flow cookie), then the 303's GET with the cookie.
 */
async function signInWithApple(
  h: Harness,
  options: {
    tamper?: (fields: URLSearchParams) => void
    /** Whether the GET after the 303 carries the flow cookie (default yes). */
    cookie?: boolean
  } = {},
): Promise<Outcome> {
  const start = await h.app.inject({ method: 'GET', url: '/auth/providers/apple/start' })
  assert.equal(start.statusCode, 302, start.body)
  const flowCookie = cookieValue(start.headers, 'tessera_federation')
  assert.ok(flowCookie, 'the start sets the flow cookie')
  const jar = new OriginCookies()
  let url = new URL(String(start.headers.location))
  let html = ''
  for (let hops = 0; ; hops++) {
    assert.ok(hops < 10, 'the provider redirected more than 10 times')
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } })
    jar.store(response)
    const next = response.headers.get('location')
    if (next === null) {
      html = await response.text()
      break
    }
    await response.body?.cancel()
    url = new URL(next, url)
    assert.ok(!url.href.startsWith(ISSUER), 'form_post: no redirect back to Tessera')
  }
  const { action, fields } = formPostOf(html)
  assert.equal(action.href, `${ISSUER}/auth/providers/apple/callback`)
  const posted = new URLSearchParams(fields)
  options.tamper?.(fields)
  // Apple's page posts cross-site: a SameSite=Lax cookie stays home.
  const post = await h.app.inject({
    method: 'POST',
    url: action.pathname,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: fields.toString(),
  })
  assert.equal(post.statusCode, 303, post.body)
  const redirected = new URL(String(post.headers.location), ISSUER)
  assert.equal(redirected.pathname, '/auth/providers/apple/callback')
  const callback = await h.app.inject({
    method: 'GET',
    url: `${redirected.pathname}${redirected.search}`,
    headers: options.cookie === false ? {} : { cookie: `tessera_federation=${flowCookie}` },
  })
  return {
    status: callback.statusCode,
    location: String(callback.headers.location),
    headers: callback.headers,
    posted,
    redirected,
  }
}

async function sessionOf(h: Harness, outcome: Outcome): Promise<Record<string, unknown>> {
  const refresh = cookieValue(outcome.headers, 'tessera_refresh')
  assert.ok(refresh, 'the callback sets the refresh cookie')
  const response = await h.call('POST', '/auth/refresh', {
    headers: { cookie: `tessera_refresh=${refresh}`, 'x-tessera-csrf': '1' },
  })
  assert.equal(response.status, 200, JSON.stringify(response.body))
  return decodeJwt(String(response.body.accessToken))
}

/** The access token of the session `outcome` signed in. */
async function accessOf(h: Harness, outcome: Outcome): Promise<string> {
  const refresh = cookieValue(outcome.headers, 'tessera_refresh')
  assert.ok(refresh, 'the callback sets the refresh cookie')
  const response = await h.call('POST', '/auth/refresh', {
    headers: { cookie: `tessera_refresh=${refresh}`, 'x-tessera-csrf': '1' },
  })
  assert.equal(response.status, 200, JSON.stringify(response.body))
  return String(response.body.accessToken)
}

function reasonOf(outcome: Outcome): string | null {
  assert.equal(outcome.status, 302)
  assert.ok(outcome.location.startsWith('/login?'), outcome.location)
  return new URL(outcome.location, ISSUER).searchParams.get('reason')
}

// --- the tests ----------------------------------------------------------------------------

describe('Sign in with Apple', () => {
  let upstream: UpstreamOp

  before(async () => {
    upstream = await startUpstreamOp({
      clientId: CLIENT_ID,
      // The secret registered at the stand-in: Tessera never knows it, it signs JWTs.
      clientSecret: randomBytes(32).toString('base64url'),
      redirectUris: [`${ISSUER}/auth/providers/apple/callback`],
      apple: { publicKey: teamKey.publicKey, teamId: TEAM_ID, keyId: KEY_ID },
    })
  })
  after(async () => {
    await upstream.close()
    assert.deepEqual(upstream.serverErrors, [])
  })

  function env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      TESSERA_ISSUER: ISSUER,
      TESSERA_PROVIDERS: 'apple',
      TESSERA_PROVIDER_APPLE_ISSUER: upstream.issuer,
      TESSERA_PROVIDER_APPLE_CLIENT_ID: CLIENT_ID,
      TESSERA_PROVIDER_APPLE_TEAM_ID: TEAM_ID,
      TESSERA_PROVIDER_APPLE_KEY_ID: KEY_ID,
      // One line, as in a .env file.
      TESSERA_PROVIDER_APPLE_PRIVATE_KEY: pemOf(teamKey.privateKey).trim().replaceAll('\n', '\\n'),
      ...extra,
    }
  }

  test('listed as Apple; the start asks for openid email name with response_mode=form_post', async () => {
    const h = await harness(env())
    assert.deepEqual((await h.call('GET', '/auth/providers')).body, {
      providers: [{ id: 'apple', name: 'Apple', kind: 'oidc' }],
    })
    const start = await h.app.inject({ method: 'GET', url: '/auth/providers/apple/start' })
    assert.equal(start.statusCode, 302)
    const url = new URL(String(start.headers.location))
    assert.equal(url.origin, upstream.issuer)
    assert.equal(url.searchParams.get('scope'), 'openid email name')
    assert.equal(url.searchParams.get('response_mode'), 'form_post')
    assert.equal(url.searchParams.get('client_id'), CLIENT_ID)
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256')
    assert.ok(url.searchParams.get('nonce'))
    const cookie = setCookies(start.headers).find((c) => c.startsWith('tessera_federation='))
    assert.match(cookie ?? '', /SameSite=Lax/i, 'the flow cookie stays Lax, never None')
  })

  test('the form post becomes a GET with the cookie: signed up, the name from `user`, the address from the ID token only', async () => {
    const h = await harness(env())
    const relay = 'x7f2k9q1ab@privaterelay.appleid.com'
    upstream.next = {
      sub: '001234.5f6e7d8c9b0a.1234',
      email: relay,
      // Apple's string booleans.
      email_verified: 'true',
      is_private_email: 'true',
      // Unsigned: its address must not be taken.
      appleUser: JSON.stringify({
        name: { firstName: 'Ada', lastName: 'Lovelace' },
        email: 'mallory@evil.example',
      }),
    }
    const seen = upstream.apple!.seen.length
    const outcome = await signInWithApple(h)
    assert.equal(outcome.status, 302, outcome.location)
    assert.equal(outcome.location, '/account')

    // The provider posted code, state, iss and user; the 303 kept what the callback needs.
    assert.ok(outcome.posted.get('code'))
    assert.ok(outcome.posted.get('user'))
    const forwarded = outcome.redirected.searchParams
    assert.deepEqual([...forwarded.keys()].sort(), ['code', 'iss', 'state', 'user'])
    assert.equal(forwarded.get('code'), outcome.posted.get('code'))
    assert.equal(forwarded.get('state'), outcome.posted.get('state'))
    // The name travels on; the unsigned address does not (it would sit in a URL).
    assert.deepEqual(JSON.parse(forwarded.get('user')!), {
      name: { firstName: 'Ada', lastName: 'Lovelace' },
    })

    const claims = await sessionOf(h, outcome)
    assert.deepEqual(claims.amr, ['fed'])
    const user = await h.tessera.store.users.findUserByEmail(relay)
    assert.ok(user, 'the relay address is a real address')
    assert.equal(claims.sub, user.id)
    assert.equal(user.name, 'Ada Lovelace')
    assert.notEqual(user.emailVerifiedAt, null, 'email_verified "true" vouches for it')
    assert.equal(await h.tessera.store.users.findUserByEmail('mallory@evil.example'), undefined)
    assert.deepEqual(
      (await h.tessera.store.identities.listIdentities(user.id)).map((i) => [
        i.provider,
        i.subject,
      ]),
      [['apple', '001234.5f6e7d8c9b0a.1234']],
    )

    // The client secret the stand-in accepted: Apple's form.
    const secrets = upstream.apple!.seen.slice(seen)
    assert.equal(secrets.length, 1)
    assert.deepEqual(upstream.apple!.refused, [])
    const header = decodeProtectedHeader(secrets[0]!)
    assert.equal(header.alg, 'ES256')
    assert.equal(header.kid, KEY_ID)
    const secret = decodeJwt(secrets[0]!)
    assert.equal(secret.iss, TEAM_ID)
    assert.equal(secret.sub, CLIENT_ID)
    assert.equal(secret.aud, upstream.issuer)
    assert.equal(Number(secret.exp) - Number(secret.iat), 300, 'a short-lived secret')

    // Apple sends `user` once: the next sign-in comes without it, same account, same name.
    const users = await h.tessera.store.users.countUsers()
    const again = await signInWithApple(h)
    assert.equal(again.location, '/account')
    assert.equal(again.posted.get('user'), null)
    assert.equal(await h.tessera.store.users.countUsers(), users)
    assert.equal((await h.tessera.store.users.findUserByEmail(relay))?.name, 'Ada Lovelace')
    // The secret is kept while it lives: the same one again.
    assert.equal(upstream.apple!.seen.at(-1), secrets[0])
  })

  test('email_verified "false" does not vouch for the address', async () => {
    const h = await harness(env())
    upstream.next = {
      sub: '001234.unverified',
      email: 'bob@example.com',
      email_verified: 'false',
      is_private_email: 'false',
    }
    const outcome = await signInWithApple(h)
    assert.equal(reasonOf(outcome), 'email_not_verified')
    assert.equal(await h.tessera.store.users.findUserByEmail('bob@example.com'), undefined)
  })

  test("a client secret signed with another key, or expired, is refused at Apple's token endpoint", async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const wrong = await harness(
      env({ TESSERA_PROVIDER_APPLE_PRIVATE_KEY: pemOf(other.privateKey) }),
    )
    upstream.next = { sub: '001234.refused', email: 'r@example.com', email_verified: true }
    const refused = upstream.apple!.refused.length
    assert.equal(reasonOf(await signInWithApple(wrong)), 'invalid_response')
    assert.deepEqual(upstream.apple!.refused.slice(refused), [
      'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    ])

    // Ten minutes on at the provider: a five-minute secret is stale.
    const h = await harness(env())
    upstream.apple!.skew = 600
    try {
      assert.equal(reasonOf(await signInWithApple(h)), 'invalid_response')
    } finally {
      upstream.apple!.skew = 0
    }
    assert.equal(upstream.apple!.refused.at(-1), 'ERR_JWT_EXPIRED')
    assert.equal(await h.tessera.store.users.findUserByEmail('r@example.com'), undefined)
  })

  test('a tampered state is refused; a GET without the flow cookie finds no sign-in', async () => {
    const h = await harness(env())
    upstream.next = { sub: '001234.tamper', email: 't@example.com', email_verified: true }
    const tampered = await signInWithApple(h, {
      tamper: (fields) => fields.set('state', `${fields.get('state')}x`),
    })
    assert.equal(reasonOf(tampered), 'state_mismatch')
    // What a browser that dropped the cookie on the way (SameSite=Strict, or None refused) would see.
    const cookieless = await signInWithApple(h, { cookie: false })
    assert.equal(reasonOf(cookieless), 'flow_expired')
    assert.equal(await h.tessera.store.users.findUserByEmail('t@example.com'), undefined)
  })

  test('the POST callback passes on only the known fields, bounded', async () => {
    const h = await harness(env())
    const post = (payload: string) =>
      h.app.inject({
        method: 'POST',
        url: '/auth/providers/apple/callback',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload,
      })
    const answer = await post(
      new URLSearchParams({
        code: 'c',
        state: 's',
        id_token: 'eyJhbGciOiJFUzI1NiJ9.e30.sig',
        extra: 'dropped',
        user: '{"email":"only@an.address"}',
      }).toString(),
    )
    assert.equal(answer.statusCode, 303)
    assert.equal(answer.headers['cache-control'], 'no-store')
    assert.equal(answer.headers.location, '/auth/providers/apple/callback?code=c&state=s')

    const error = await post('error=user_cancelled_authorize&state=s')
    assert.equal(
      error.headers.location,
      '/auth/providers/apple/callback?state=s&error=user_cancelled_authorize',
    )
    const cancelled = await h.app.inject({ method: 'GET', url: String(error.headers.location) })
    assert.equal(cancelled.statusCode, 302)

    const huge = await post(`code=${'a'.repeat(5000)}&state=s`)
    assert.equal(huge.statusCode, 400)
    assert.equal(JSON.parse(huge.body).error.code, 'validation_failed')
    const tooMany = await post(Array.from({ length: 20 }, (_, i) => `f${i}=x`).join('&'))
    assert.equal(tooMany.statusCode, 400)
    // A form, nothing else.
    const asJson = await h.app.inject({
      method: 'POST',
      url: '/auth/providers/apple/callback',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ code: 'c', state: 's' }),
    })
    assert.equal(asJson.statusCode, 415)
    assert.equal(JSON.parse(asJson.body).error.code, 'unsupported_media_type')
    const overLimit = await post(`code=c&state=s&pad=${'x'.repeat(40 * 1024)}`)
    assert.equal(overLimit.statusCode, 413)
  })
})

describe('Sign in with Apple, its tokens kept', () => {
  let upstream: UpstreamOp

  before(async () => {
    upstream = await startUpstreamOp({
      clientId: CLIENT_ID,
      clientSecret: randomBytes(32).toString('base64url'),
      redirectUris: [`${ISSUER}/auth/providers/apple/callback`],
      apple: { publicKey: teamKey.publicKey, teamId: TEAM_ID, keyId: KEY_ID },
      // Apple issues a refresh token with every code.
      refreshTokens: true,
    })
  })
  after(async () => {
    await upstream.close()
    assert.deepEqual(upstream.serverErrors, [])
  })

  test('a refresh at Apple goes with a signed client secret too', async () => {
    const h = await harness({
      TESSERA_ISSUER: ISSUER,
      TESSERA_PROVIDERS: 'apple',
      TESSERA_PROVIDER_APPLE_ISSUER: upstream.issuer,
      TESSERA_PROVIDER_APPLE_CLIENT_ID: CLIENT_ID,
      TESSERA_PROVIDER_APPLE_TEAM_ID: TEAM_ID,
      TESSERA_PROVIDER_APPLE_KEY_ID: KEY_ID,
      TESSERA_PROVIDER_APPLE_PRIVATE_KEY: pemOf(teamKey.privateKey),
      TESSERA_PROVIDER_APPLE_KEEP_TOKENS: 'true',
    })
    upstream.next = { sub: '001234.keeps', email: 'keep@example.com', email_verified: 'true' }
    const outcome = await signInWithApple(h)
    assert.equal(outcome.location, '/account')
    const token = await accessOf(h, outcome)
    const kept = await h.call('POST', '/auth/identities/apple/token', { token })
    assert.equal(kept.status, 200, JSON.stringify(kept.body))
    const seen = upstream.apple!.seen.length
    const refreshed = await h.call('POST', '/auth/identities/apple/token', {
      token,
      body: { refresh: true },
    })
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body))
    assert.notEqual(refreshed.body.accessToken, kept.body.accessToken)
    // The refresh grant carried a client secret the stand-in accepted.
    assert.equal(upstream.apple!.seen.length, seen + 1)
    assert.deepEqual(upstream.apple!.refused, [])
  })
})
