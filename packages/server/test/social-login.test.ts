// Social login (issue 21) end to end over HTTP, with real upstreams on
// 127.0.0.1: panva's oidc-provider (an OpenID Certified provider) as a
// well-behaved OP, and a forger, a minimal OP whose token endpoint answers
// what a test asks for (an ID token of another issuer or audience, another
// nonce, a signature of another key, or a dropped connection), to show that
// Tessera (through openid-client) refuses each. The browser is the test:
// Tessera's routes through app.inject, the providers through fetch with a
// cookie jar.

import assert from 'node:assert/strict'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { exportJWK, SignJWT } from 'jose'
import { cookieValue, type Outcome, setCookies, throughProvider } from './support/federation.ts'
import { type Harness, harness, PASSWORD } from './support/harness.ts'
import { closeServer, listen, startUpstreamOp, type UpstreamOp } from './support/upstream-op.ts'

const ISSUER = 'http://localhost:3000'
const CLIENT_ID = 'tessera-rp'
const CLIENT_SECRET = randomBytes(32).toString('base64url')

// --- the forger ---------------------------------------------------------------------------

type Forgery = 'none' | 'issuer' | 'audience' | 'nonce' | 'signature' | 'down'

interface Forger {
  issuer: string
  forgery: Forgery
  close(): Promise<void>
}

/** An OP that signs in `sub: forged-1` (verified address) and forges what `forgery` says. */
async function startForger(): Promise<Forger> {
  const server = createServer()
  const issuer = await listen(server)
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const publicJwk = { ...(await exportJWK(key.publicKey)), kid: 'forger', alg: 'ES256', use: 'sig' }
  const forger: Forger = { issuer, forgery: 'none', close: () => closeServer(server) }
  const nonces = new Map<string, string>()
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', issuer)
    const json = (body: unknown) => {
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify(body))
    }
    if (url.pathname === '/.well-known/openid-configuration') {
      return json({
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
        code_challenge_methods_supported: ['S256'],
      })
    }
    if (url.pathname === '/jwks') return json({ keys: [publicJwk] })
    if (url.pathname === '/authorize') {
      const code = randomBytes(16).toString('base64url')
      nonces.set(code, url.searchParams.get('nonce') ?? '')
      const back = new URL(url.searchParams.get('redirect_uri') ?? '')
      back.searchParams.set('code', code)
      back.searchParams.set('state', url.searchParams.get('state') ?? '')
      response.statusCode = 302
      response.setHeader('location', back.href)
      return response.end()
    }
    if (url.pathname === '/token') {
      if (forger.forgery === 'down') {
        request.socket.destroy()
        return
      }
      let body = ''
      request.on('data', (chunk) => {
        body += chunk
      })
      request.on('end', () => {
        const code = new URLSearchParams(body).get('code') ?? ''
        const nonce = nonces.get(code) ?? ''
        const f = forger.forgery
        void new SignJWT({
          nonce: f === 'nonce' ? 'not-the-nonce' : nonce,
          email: 'forged@example.com',
          email_verified: true,
        })
          .setProtectedHeader({ alg: 'ES256', kid: 'forger' })
          .setIssuer(f === 'issuer' ? 'http://127.0.0.1:1/another-issuer' : issuer)
          .setAudience(f === 'audience' ? 'another-client' : CLIENT_ID)
          .setSubject('forged-1')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(f === 'signature' ? other.privateKey : key.privateKey)
          .then((idToken) =>
            json({
              access_token: 'forged-at',
              token_type: 'Bearer',
              expires_in: 300,
              id_token: idToken,
            }),
          )
      })
      return
    }
    response.statusCode = 404
    response.end()
  })
  return forger
}

// --- the browser --------------------------------------------------------------------------

/**
 * Signs in at provider `id` as a browser would: Tessera's start, the
 * provider's pages (its own redirects), then Tessera's callback with the
 * flow cookie. `tamper` may rewrite the callback URL and the flow cookie.
 */
async function signInVia(
  h: Harness,
  id: string,
  options: {
    redirectTo?: string
    tamper?: (callback: URL) => void
    flow?: (cookie: string) => string | undefined
  } = {},
): Promise<Outcome> {
  const query =
    options.redirectTo === undefined ? '' : `?redirect_to=${encodeURIComponent(options.redirectTo)}`
  const start = await h.app.inject({ method: 'GET', url: `/auth/providers/${id}/start${query}` })
  assert.equal(start.statusCode, 302, start.body)
  const location = String(start.headers.location)
  if (location.startsWith('/login')) return { status: 302, location, headers: start.headers }
  const flowCookie = cookieValue(start.headers, 'tessera_federation')
  assert.ok(flowCookie, 'the start sets the flow cookie')
  const url = await throughProvider(location, ISSUER)
  options.tamper?.(url)
  const flow = options.flow === undefined ? flowCookie : options.flow(flowCookie)
  const callback = await h.app.inject({
    method: 'GET',
    url: `${url.pathname}${url.search}`,
    headers: flow === undefined ? {} : { cookie: `tessera_federation=${flow}` },
  })
  return {
    status: callback.statusCode,
    location: String(callback.headers.location),
    headers: callback.headers,
  }
}

/** The access token a refresh with the session's cookie gets, decoded. */
async function sessionOf(h: Harness, outcome: Outcome): Promise<Record<string, unknown>> {
  const refresh = cookieValue(outcome.headers, 'tessera_refresh')
  assert.ok(refresh, 'the callback sets the refresh cookie')
  const response = await h.call('POST', '/auth/refresh', {
    headers: { cookie: `tessera_refresh=${refresh}`, 'x-tessera-csrf': '1' },
  })
  assert.equal(response.status, 200, JSON.stringify(response.body))
  const token = String(response.body.accessToken)
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<
    string,
    unknown
  >
}

function reasonOf(outcome: Outcome): string | null {
  assert.equal(outcome.status, 302)
  assert.ok(outcome.location.startsWith('/login?'), outcome.location)
  return new URL(outcome.location, ISSUER).searchParams.get('reason')
}

async function auditEvents(h: Harness, event: string) {
  return await h.tessera.store.audit.listAudit({ limit: 100, event })
}

// --- the tests ----------------------------------------------------------------------------

describe('social login', () => {
  let upstream: UpstreamOp
  let forger: Forger
  let closedPort: string

  before(async () => {
    upstream = await startUpstreamOp({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUris: [
        `${ISSUER}/auth/providers/corp/callback`,
        `${ISSUER}/auth/providers/other/callback`,
      ],
    })
    forger = await startForger()
    const spare = createServer()
    closedPort = await listen(spare)
    await closeServer(spare)
  })
  after(async () => {
    await upstream.close()
    await forger.close()
  })

  function env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      TESSERA_ISSUER: ISSUER,
      TESSERA_PROVIDERS: 'corp,other,forged,down',
      TESSERA_PROVIDER_CORP_PRESET: 'oidc',
      TESSERA_PROVIDER_CORP_ISSUER: upstream.issuer,
      TESSERA_PROVIDER_CORP_CLIENT_ID: CLIENT_ID,
      TESSERA_PROVIDER_CORP_CLIENT_SECRET: CLIENT_SECRET,
      // The same OP under another id: another provider to Tessera.
      TESSERA_PROVIDER_OTHER_PRESET: 'oidc',
      TESSERA_PROVIDER_OTHER_ISSUER: upstream.issuer,
      TESSERA_PROVIDER_OTHER_CLIENT_ID: CLIENT_ID,
      TESSERA_PROVIDER_OTHER_CLIENT_SECRET: CLIENT_SECRET,
      TESSERA_PROVIDER_FORGED_PRESET: 'oidc',
      TESSERA_PROVIDER_FORGED_ISSUER: forger.issuer,
      TESSERA_PROVIDER_FORGED_CLIENT_ID: CLIENT_ID,
      TESSERA_PROVIDER_FORGED_CLIENT_SECRET: CLIENT_SECRET,
      TESSERA_PROVIDER_DOWN_PRESET: 'oidc',
      TESSERA_PROVIDER_DOWN_ISSUER: closedPort,
      TESSERA_PROVIDER_DOWN_CLIENT_ID: CLIENT_ID,
      ...extra,
    }
  }

  test('GET /auth/providers lists the configured providers', async () => {
    const h = await harness(env())
    const response = await h.call('GET', '/auth/providers')
    assert.equal(response.status, 200)
    assert.deepEqual(response.body, {
      providers: [
        { id: 'corp', name: 'corp', kind: 'oidc' },
        { id: 'other', name: 'other', kind: 'oidc' },
        { id: 'forged', name: 'forged', kind: 'oidc' },
        { id: 'down', name: 'down', kind: 'oidc' },
      ],
    })
    const none = await harness()
    assert.deepEqual((await none.call('GET', '/auth/providers')).body, { providers: [] })
  })

  test('the start redirects with PKCE S256, state and nonce; an unknown provider is 404', async () => {
    const h = await harness(env())
    const start = await h.app.inject({ method: 'GET', url: '/auth/providers/corp/start' })
    assert.equal(start.statusCode, 302)
    const url = new URL(String(start.headers.location))
    assert.equal(url.origin, upstream.issuer)
    assert.equal(url.searchParams.get('client_id'), CLIENT_ID)
    assert.equal(url.searchParams.get('redirect_uri'), `${ISSUER}/auth/providers/corp/callback`)
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256')
    assert.match(url.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/)
    assert.ok(url.searchParams.get('state'))
    assert.ok(url.searchParams.get('nonce'))
    assert.equal(url.searchParams.get('scope'), 'openid email profile')
    const cookie = setCookies(start.headers).find((c) => c.startsWith('tessera_federation='))
    assert.ok(cookie)
    assert.match(cookie, /HttpOnly/i)
    assert.match(cookie, /SameSite=Lax/i)
    // The state and the verifier are sealed, not readable in the cookie.
    assert.doesNotMatch(cookie, new RegExp(url.searchParams.get('state')!))

    const unknown = await h.call('GET', '/auth/providers/nope/start')
    assert.equal(unknown.status, 404)
    assert.equal((unknown.body.error as { code: string }).code, 'not_found')
  })

  test('sign up by provider, then sign in again: one account, amr fed, audited', async () => {
    const h = await harness(env())
    upstream.next = {
      sub: 'alice-1',
      email: 'Alice@Corp.example',
      email_verified: true,
      name: 'Alice',
    }
    const first = await signInVia(h, 'corp', { redirectTo: '/account?tab=security' })
    assert.equal(first.status, 302)
    assert.equal(first.location, '/account?tab=security')
    const claims = await sessionOf(h, first)
    assert.deepEqual(claims.amr, ['fed'])
    const user = await h.tessera.store.users.findUserByEmail('alice@corp.example')
    assert.ok(user)
    assert.equal(claims.sub, user.id)
    assert.equal(user.name, 'Alice')
    assert.notEqual(user.emailVerifiedAt, null, 'the provider vouched for the address')
    assert.deepEqual(
      (await h.tessera.store.identities.listIdentities(user.id)).map((i) => [
        i.provider,
        i.subject,
      ]),
      [['corp', 'alice-1']],
    )
    // No password: a password login fails.
    const login = await h.call('POST', '/auth/login', {
      body: { email: 'alice@corp.example', password: PASSWORD },
    })
    assert.equal(login.status, 401)

    const again = await signInVia(h, 'corp')
    assert.equal(again.location, '/account')
    assert.equal((await sessionOf(h, again)).sub, user.id)
    assert.equal(await h.tessera.store.users.countUsers(), 1)
    assert.equal((await auditEvents(h, 'user.signup')).length, 1)
    assert.equal((await auditEvents(h, 'identity.linked')).length, 1)
    const logins = await auditEvents(h, 'login')
    assert.deepEqual(
      logins.map((e) => e.details.method),
      ['federation:corp', 'federation:corp'],
    )
  })

  test('links a new identity to the account of the same verified address', async () => {
    const h = await harness(env())
    const { user } = await h.signup('bob@corp.example')
    const id = String((user as { id: string }).id)
    await h.tessera.store.users.updateUser(id, {
      emailVerifiedAt: h.clock.now,
      updatedAt: h.clock.now,
    })
    upstream.next = { sub: 'bob-1', email: 'bob@corp.example', email_verified: true }
    const outcome = await signInVia(h, 'corp')
    assert.equal(outcome.location, '/account')
    assert.equal((await sessionOf(h, outcome)).sub, id)
    assert.equal((await h.tessera.store.identities.findIdentity('corp', 'bob-1'))?.userId, id)
    const linked = await auditEvents(h, 'identity.linked')
    assert.deepEqual(
      linked.map((e) => [e.userId, e.details.by]),
      [[id, 'verified_email']],
    )
  })

  test('GET /auth/identities lists the caller’s identities, oldest first; it needs a token', async () => {
    const h = await harness(env())
    const signed = await h.signup('kim@corp.example')
    const id = String((signed.user as { id: string }).id)
    const token = String(signed.accessToken)
    assert.deepEqual((await h.call('GET', '/auth/identities', { token })).body, { identities: [] })
    await h.tessera.store.users.updateUser(id, {
      emailVerifiedAt: h.clock.now,
      updatedAt: h.clock.now,
    })
    upstream.next = { sub: 'kim-1', email: 'kim@corp.example', email_verified: true }
    assert.equal((await signInVia(h, 'corp')).location, '/account')
    h.clock.advance(60)
    assert.equal((await signInVia(h, 'other')).location, '/account')
    const listed = await h.call('GET', '/auth/identities', { token })
    assert.equal(listed.status, 200)
    const identities = listed.body.identities as Record<string, unknown>[]
    assert.deepEqual(
      identities.map((i) => [i.provider, i.providerName, i.email]),
      [
        ['corp', 'corp', 'kim@corp.example'],
        ['other', 'other', 'kim@corp.example'],
      ],
    )
    assert.equal(typeof identities[0]!.createdAt, 'string')
    assert.ok(!JSON.stringify(listed.body).includes('kim-1'), 'the subject is not shown')
    assert.equal((await h.call('GET', '/auth/identities')).status, 401)
  })

  test('refuses to link to an account whose address is not verified, and stores nothing', async () => {
    const h = await harness(env())
    await h.signup('carol@corp.example')
    upstream.next = { sub: 'carol-1', email: 'carol@corp.example', email_verified: true }
    const outcome = await signInVia(h, 'corp')
    assert.equal(reasonOf(outcome), 'account_email_unverified')
    assert.equal(cookieValue(outcome.headers, 'tessera_refresh'), undefined)
    assert.equal(await h.tessera.store.identities.findIdentity('corp', 'carol-1'), undefined)
    assert.equal((await auditEvents(h, 'identity.link_refused')).length, 1)
  })

  test('an address the provider does not vouch for neither links nor signs up', async () => {
    const h = await harness(env())
    const { user } = await h.signup('dave@corp.example')
    const id = String((user as { id: string }).id)
    await h.tessera.store.users.updateUser(id, {
      emailVerifiedAt: h.clock.now,
      updatedAt: h.clock.now,
    })
    upstream.next = { sub: 'dave-1', email: 'dave@corp.example', email_verified: false }
    assert.equal(reasonOf(await signInVia(h, 'corp')), 'email_not_verified')
    upstream.next = { sub: 'erin-1', email: 'erin@corp.example' }
    assert.equal(reasonOf(await signInVia(h, 'corp')), 'email_not_verified')
    upstream.next = { sub: 'nomail-1' }
    assert.equal(reasonOf(await signInVia(h, 'corp')), 'email_missing')
    assert.equal(await h.tessera.store.users.countUsers(), 1)
    assert.equal(await h.tessera.store.identities.findIdentity('corp', 'dave-1'), undefined)
  })

  test('a disabled account does not sign in, by its identity or by a link', async () => {
    const h = await harness(env())
    upstream.next = { sub: 'ivy-1', email: 'ivy@corp.example', email_verified: true }
    await sessionOf(h, await signInVia(h, 'corp'))
    const ivy = (await h.tessera.store.users.findUserByEmail('ivy@corp.example'))!
    await h.tessera.store.users.updateUser(ivy.id, { disabled: true, updatedAt: h.clock.now })
    assert.equal(reasonOf(await signInVia(h, 'corp')), 'account_disabled')
    // The same address through another provider: nothing is linked to a disabled account.
    upstream.next = { sub: 'ivy-2', email: 'ivy@corp.example', email_verified: true }
    assert.equal(reasonOf(await signInVia(h, 'other')), 'account_disabled')
    assert.equal(await h.tessera.store.identities.findIdentity('other', 'ivy-2'), undefined)
  })

  test('an account with a second factor gets the MFA step on /login, the token in the fragment', async () => {
    const h = await harness(env())
    upstream.next = { sub: 'judy-1', email: 'judy@corp.example', email_verified: true }
    await sessionOf(h, await signInVia(h, 'corp'))
    const judy = (await h.tessera.store.users.findUserByEmail('judy@corp.example'))!
    await h.tessera.store.factors.startTotp({
      userId: judy.id,
      sealedSecret: 's',
      createdAt: h.clock.now,
    })
    assert.ok(await h.tessera.store.factors.confirmTotp(judy.id, h.clock.now, 1))
    const outcome = await signInVia(h, 'corp', { redirectTo: '/account' })
    const url = new URL(outcome.location, ISSUER)
    assert.equal(url.pathname, '/login')
    assert.equal(url.searchParams.get('reason'), 'mfa_required')
    assert.equal(url.searchParams.get('redirect_to'), '/account')
    const fragment = new URLSearchParams(url.hash.slice(1))
    assert.match(fragment.get('mfa_token') ?? '', /^[A-Za-z0-9_-]{43}$/)
    assert.equal(fragment.get('methods'), 'totp')
    assert.equal(cookieValue(outcome.headers, 'tessera_refresh'), undefined)
  })

  test('closed signups: a new address is refused', async () => {
    const h = await harness(env({ TESSERA_SIGNUP: 'false' }))
    upstream.next = { sub: 'frank-1', email: 'frank@corp.example', email_verified: true }
    assert.equal(reasonOf(await signInVia(h, 'corp')), 'signup_closed')
    assert.equal(await h.tessera.store.users.countUsers(), 0)
  })

  test('the provider’s error (access_denied) is a redirect to /login with its reason', async () => {
    const h = await harness(env())
    upstream.next = 'deny'
    try {
      const plain = await signInVia(h, 'corp')
      assert.equal(reasonOf(plain), 'access_denied')
      assert.equal(new URL(plain.location, ISSUER).searchParams.get('redirect_to'), null)
      // A refused sign-in keeps where it was headed (an app's authorization
      // waiting for it), so signing in another way on /login still gets there.
      const waiting = '/oauth/authorize/continue?id=abc'
      const refused = await signInVia(h, 'corp', { redirectTo: waiting })
      const login = new URL(refused.location, ISSUER)
      assert.equal(login.pathname, '/login')
      assert.equal(login.searchParams.get('reason'), 'access_denied')
      assert.equal(login.searchParams.get('redirect_to'), waiting)
    } finally {
      upstream.next = { sub: 'nobody' }
    }
    assert.equal(await h.tessera.store.users.countUsers(), 0)
  })

  test('state tampering, a missing or foreign flow cookie: refused, nothing stored', async () => {
    const h = await harness(env())
    upstream.next = { sub: 'gina-1', email: 'gina@corp.example', email_verified: true }
    const tampered = await signInVia(h, 'corp', {
      tamper: (url) => url.searchParams.set('state', 'attacker-state'),
    })
    assert.equal(reasonOf(tampered), 'state_mismatch')
    assert.equal(reasonOf(await signInVia(h, 'corp', { flow: () => undefined })), 'flow_expired')
    assert.equal(
      reasonOf(await signInVia(h, 'corp', { flow: (c) => `${c.slice(0, -4)}AAAA` })),
      'flow_expired',
    )
    // A flow of another provider (the callback of `other` with corp's flow).
    const start = await h.app.inject({ method: 'GET', url: '/auth/providers/corp/start' })
    const corpFlow = cookieValue(start.headers, 'tessera_federation')!
    assert.equal(reasonOf(await signInVia(h, 'other', { flow: () => corpFlow })), 'flow_expired')
    // An expired flow.
    const late = await signInVia(h, 'corp', {
      tamper: () => h.clock.advance(11 * 60),
    })
    assert.equal(reasonOf(late), 'flow_expired')
    assert.equal(await h.tessera.store.users.countUsers(), 0)
    assert.equal(upstream.serverErrors.length, 0)
  })

  for (const [forgery, what] of [
    ['issuer', 'an ID token of another issuer'],
    ['audience', 'an ID token for another client'],
    ['nonce', 'an ID token with another nonce'],
    ['signature', 'an ID token signed by a key not in the JWKS'],
  ] as const) {
    test(`${what} is refused (invalid_response), nothing stored`, async () => {
      const h = await harness(env())
      forger.forgery = forgery
      try {
        assert.equal(reasonOf(await signInVia(h, 'forged')), 'invalid_response')
      } finally {
        forger.forgery = 'none'
      }
      assert.equal(await h.tessera.store.users.countUsers(), 0)
      assert.equal(await h.tessera.store.identities.findIdentity('forged', 'forged-1'), undefined)
    })
  }

  test('the forger’s honest token signs in (the refusals above are the forgeries)', async () => {
    const h = await harness(env())
    const outcome = await signInVia(h, 'forged')
    assert.equal(outcome.location, '/account')
    assert.deepEqual((await sessionOf(h, outcome)).amr, ['fed'])
  })

  test('a provider that is down: at the start and at the code exchange, a redirect with a reason', async () => {
    const h = await harness(env())
    const start = await h.app.inject({ method: 'GET', url: '/auth/providers/down/start' })
    assert.equal(start.statusCode, 302)
    assert.equal(
      new URL(String(start.headers.location), ISSUER).searchParams.get('reason'),
      'provider_unavailable',
    )
    forger.forgery = 'down'
    try {
      assert.equal(reasonOf(await signInVia(h, 'forged')), 'provider_unavailable')
    } finally {
      forger.forgery = 'none'
    }
    assert.equal(await h.tessera.store.users.countUsers(), 0)
  })

  test('redirect_to is checked: another origin is ignored for /account', async () => {
    const h = await harness(env())
    upstream.next = { sub: 'hal-1', email: 'hal@corp.example', email_verified: true }
    const outcome = await signInVia(h, 'corp', { redirectTo: 'https://evil.example/steal' })
    assert.equal(outcome.location, '/account')
  })
})
