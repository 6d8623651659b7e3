import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { verifyDpopProof } from '@tessera/jwt'
import {
  fakeClock,
  fakeServer,
  type Handler,
  memoryStorage,
  type Recorded,
  reply,
  tabGroup,
  unsignedJwt,
} from '../test/support/fakes.ts'
import { sha256 } from './dpop.ts'
import { isTesseraError } from './errors.ts'
import {
  authorizeRequest,
  idTokenClaims,
  type PendingRedirect,
  readCallback,
  userFromClaims,
} from './oauth.ts'
import { createEngine } from './session.ts'
import { memoryStore } from './store.ts'
import type { AuthChangeEvent, ClientOptions, KeyValueStore, SessionEndReason } from './types.ts'

const ISSUER = 'https://auth.example.com'
const APP = 'https://app.example.com'
const CALLBACK = `${APP}/callback`
const NS = `tessera:${ISSUER}|spa`
const NOW = Date.UTC(2026, 0, 1)

function idToken(claims: Record<string, unknown> = {}) {
  return unsignedJwt({
    iss: ISSUER,
    aud: 'spa',
    sub: 'u1',
    exp: NOW / 1000 + 900,
    iat: NOW / 1000,
    email: 'ada@example.com',
    email_verified: true,
    name: 'Ada',
    ...claims,
  })
}

describe('authorizeRequest()', () => {
  it('asks for a code with PKCE S256, state and nonce', async () => {
    const { url, pending } = await authorizeRequest(
      { issuer: ISSUER, clientId: 'spa', redirectUri: CALLBACK, scope: 'openid email' },
      { loginHint: 'ada@example.com', prompt: 'login', returnTo: '/orders' },
    )
    const parsed = new URL(url)
    assert.equal(`${parsed.origin}${parsed.pathname}`, `${ISSUER}/oauth/authorize`)
    assert.deepEqual(Object.fromEntries(parsed.searchParams), {
      response_type: 'code',
      client_id: 'spa',
      redirect_uri: CALLBACK,
      scope: 'openid email',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await sha256(pending.verifier),
      code_challenge_method: 'S256',
      login_hint: 'ada@example.com',
      prompt: 'login',
    })
    assert.match(pending.verifier, /^[A-Za-z0-9_-]{43}$/)
    assert.match(pending.state, /^[A-Za-z0-9_-]{22}$/)
    assert.notEqual(pending.state, pending.nonce)
    assert.equal(pending.returnTo, '/orders')
  })

  it('names a social-login provider with `provider`', async () => {
    const { url } = await authorizeRequest(
      { issuer: ISSUER, clientId: 'spa', redirectUri: CALLBACK, scope: 'openid' },
      { provider: 'google' },
    )
    const query = new URL(url).searchParams
    assert.equal(query.get('provider'), 'google')
    assert.equal(query.get('login_hint'), null)
  })
})

describe('readCallback()', () => {
  const pending: PendingRedirect = { state: 's-1', nonce: 'n-1', verifier: 'v' }
  const refused = (url: string, saved: PendingRedirect | undefined, code: string) =>
    assert.throws(
      () => readCallback(url, saved, ISSUER),
      (error) => isTesseraError(error, code),
    )

  it('returns the code of an answer to this request', () => {
    const iss = encodeURIComponent(ISSUER)
    assert.equal(readCallback(`${CALLBACK}?code=c-1&state=s-1&iss=${iss}`, pending, ISSUER), 'c-1')
    assert.equal(readCallback(`${CALLBACK}?code=c-1&state=s-1`, pending, ISSUER), 'c-1')
  })

  it('refuses another state, no request at all, another issuer, no code', () => {
    refused(`${CALLBACK}?code=c-1&state=s-2`, pending, 'invalid_callback')
    refused(`${CALLBACK}?code=c-1`, pending, 'invalid_callback')
    refused(`${CALLBACK}?code=c-1&state=s-1`, undefined, 'invalid_callback')
    refused(
      `${CALLBACK}?code=c-1&state=s-1&iss=${encodeURIComponent('https://evil.example.net')}`,
      pending,
      'invalid_callback',
    )
    refused(`${CALLBACK}?state=s-1`, pending, 'invalid_callback')
  })

  it('rejects with the error the server sent back', () => {
    assert.throws(
      () =>
        readCallback(
          `${CALLBACK}?error=access_denied&error_description=denied&state=s-1`,
          pending,
          ISSUER,
        ),
      (error) => isTesseraError(error, 'access_denied') && error.message === 'denied',
    )
    // The state is checked first: an error for another request is not this one's.
    refused(`${CALLBACK}?error=access_denied&state=s-2`, pending, 'invalid_callback')
  })
})

describe('idTokenClaims()', () => {
  const expected = { issuer: ISSUER, clientId: 'spa', nonce: 'n-1', now: NOW }
  const refused = (claims: Record<string, unknown>, problem: string) =>
    assert.throws(
      () => idTokenClaims(idToken({ nonce: 'n-1', ...claims }), expected),
      (error) => isTesseraError(error, 'invalid_callback') && error.message.includes(problem),
    )

  it('returns the claims of a token for this client with this nonce', () => {
    const claims = idTokenClaims(idToken({ nonce: 'n-1', aud: ['other', 'spa'] }), expected)
    assert.equal(claims['sub'], 'u1')
    assert.deepEqual(userFromClaims(claims), {
      id: 'u1',
      email: 'ada@example.com',
      name: 'Ada',
      roles: [],
      emailVerified: true,
    })
    assert.deepEqual(userFromClaims({ sub: 'u2', roles: ['admin'] }).roles, ['admin'])
  })

  it('refuses another nonce, audience, issuer, or an expired token', () => {
    refused({ nonce: 'n-2' }, 'nonce')
    refused({ nonce: undefined }, 'nonce')
    refused({ aud: 'other' }, 'aud')
    refused({ iss: 'https://evil.example.net' }, 'iss')
    refused({ exp: NOW / 1000 }, 'exp')
    assert.throws(
      () => idTokenClaims('not a jwt', expected),
      (error) => isTesseraError(error, 'invalid_callback'),
    )
  })
})

interface Seen {
  readonly event: AuthChangeEvent
  readonly token: string | undefined
  readonly reason: SessionEndReason | undefined
}

/** A browser with an SPA in OAuth mode. */
function spa(handler: Handler, storage: KeyValueStore = memoryStore()) {
  const clock = fakeClock(NOW)
  const server = fakeServer(handler)
  const group = tabGroup()
  const navigated: string[] = []
  const redirects = memoryStorage()
  const open = (overrides: Partial<ClientOptions> = {}) => {
    const engine = createEngine({
      issuer: ISSUER,
      mode: 'oauth',
      clientId: 'spa',
      redirectUri: CALLBACK,
      fetch: server.fetch,
      now: clock.now,
      random: () => 0.5,
      setTimeout: clock.setTimeout,
      clearTimeout: clock.clearTimeout,
      storage,
      tabs: group.tab(),
      navigate: (url) => navigated.push(url),
      redirectStorage: redirects,
      ...overrides,
    })
    const events: Seen[] = []
    engine.onAuthStateChange((event, session, detail) => {
      events.push({ event, token: session?.accessToken, reason: detail.reason })
    })
    return { engine, events }
  }
  return { clock, server, storage, navigated, redirects, open }
}

/** Tessera's token endpoint: codes for the last authorization request, rotating refresh tokens. */
function tokenEndpoint(extra: Handler = () => reply(404)) {
  const state = { nonce: '', n: 1, live: 'rt-1' }
  const handler: Handler = (request) => {
    if (request.path !== '/oauth/token') return extra(request)
    const form = new URLSearchParams(request.body)
    if (form.get('grant_type') === 'refresh_token' && form.get('refresh_token') !== state.live) {
      return reply(400, {
        error: 'invalid_grant',
        error_description: 'the refresh token was already used; the grant is revoked',
      })
    }
    const n = state.n++
    state.live = `rt-${n}`
    return reply(200, {
      access_token: `at-${n}`,
      token_type: 'DPoP',
      expires_in: 900,
      scope: 'openid profile email offline_access',
      refresh_token: `rt-${n}`,
      id_token: idToken(
        form.get('grant_type') === 'authorization_code' ? { nonce: state.nonce } : {},
      ),
    })
  }
  return { state, handler }
}

/** Leaves for /oauth/authorize and comes back with a code. */
async function signIn(
  browser: ReturnType<typeof spa>,
  engine: ReturnType<ReturnType<typeof spa>['open']>['engine'],
  state: { nonce: string },
) {
  await engine.startRedirect({ returnTo: '/orders' })
  const authorize = new URL(browser.navigated.at(-1)!)
  state.nonce = authorize.searchParams.get('nonce')!
  const query = new URLSearchParams({
    code: 'c-1',
    state: authorize.searchParams.get('state')!,
    iss: ISSUER,
  })
  return { authorize, done: await engine.completeRedirect(`${CALLBACK}?${query}`) }
}

async function proofOf(call: Recorded, now: () => number, accessToken?: string) {
  return verifyDpopProof(call.headers.get('dpop')!, {
    method: call.method,
    url: call.url,
    now,
    ...(accessToken === undefined ? {} : { accessToken }),
  })
}

describe('OAuth mode: the code flow', () => {
  it('exchanges the code with the PKCE verifier and a DPoP proof; the refresh token goes to the store', async () => {
    const { state, handler } = tokenEndpoint()
    const browser = spa(handler)
    const { engine, events } = browser.open()
    const { authorize, done } = await signIn(browser, engine, state)
    assert.equal(done.returnTo, '/orders')
    assert.equal(done.session.accessToken, 'at-1')
    assert.equal(done.session.tokenType, 'DPoP')
    assert.equal(done.session.expiresAt, NOW + 900_000)
    assert.deepEqual(done.session.user, {
      id: 'u1',
      email: 'ada@example.com',
      name: 'Ada',
      roles: [],
      emailVerified: true,
    })
    const call = browser.server.to('/oauth/token')[0]!
    assert.equal(call.url, `${ISSUER}/oauth/token`)
    assert.match(call.headers.get('content-type')!, /^application\/x-www-form-urlencoded/)
    const form = Object.fromEntries(new URLSearchParams(call.body))
    assert.deepEqual(Object.keys(form).sort(), [
      'client_id',
      'code',
      'code_verifier',
      'grant_type',
      'redirect_uri',
    ])
    assert.equal(form['grant_type'], 'authorization_code')
    assert.equal(form['code'], 'c-1')
    assert.equal(form['redirect_uri'], CALLBACK)
    assert.equal(form['client_id'], 'spa')
    assert.equal(await sha256(form['code_verifier']!), authorize.searchParams.get('code_challenge'))
    const proof = await proofOf(call, browser.clock.now)
    assert.equal(proof.payload.htu, `${ISSUER}/oauth/token`)
    const stored = await browser.storage.get<Record<string, unknown>>(`${NS}:tokens`)
    assert.equal(stored?.['refreshToken'], 'rt-1')
    assert.equal(typeof stored?.['idToken'], 'string')
    assert.equal(browser.redirects.items.size, 0, 'the redirect state is used once')
    assert.deepEqual(
      events.map((seen) => [seen.event, seen.token]),
      [['SIGNED_IN', 'at-1']],
    )
    await assert.rejects(
      engine.completeRedirect(`${CALLBACK}?code=c-1&state=${authorize.searchParams.get('state')}`),
      (error) => isTesseraError(error, 'invalid_callback'),
    )
  })

  it('refuses a callback with another state, another iss, or an error, before any request', async () => {
    const browser = spa(() => reply(500))
    const { engine } = browser.open()
    const back = async (query: Record<string, string>, code: string) => {
      await engine.startRedirect({})
      const state = new URL(browser.navigated.at(-1)!).searchParams.get('state')!
      const url = `${CALLBACK}?${new URLSearchParams({ state, ...query })}`
      await assert.rejects(engine.completeRedirect(url), (error) => isTesseraError(error, code))
    }
    await back({ state: 'forged', code: 'c-1' }, 'invalid_callback')
    await back({ code: 'c-1', iss: 'https://evil.example.net' }, 'invalid_callback')
    await back({ error: 'access_denied', iss: ISSUER }, 'access_denied')
    assert.equal(browser.server.calls.length, 0)
  })

  it("refuses an ID token whose nonce is not this request's", async () => {
    const { state, handler } = tokenEndpoint()
    const browser = spa(handler)
    const { engine, events } = browser.open()
    await engine.startRedirect({})
    state.nonce = 'another'
    const query = new URLSearchParams({
      code: 'c-1',
      state: new URL(browser.navigated[0]!).searchParams.get('state')!,
    })
    await assert.rejects(engine.completeRedirect(`${CALLBACK}?${query}`), (error) =>
      isTesseraError(error, 'invalid_callback'),
    )
    assert.equal(await browser.storage.get(`${NS}:tokens`), undefined)
    assert.deepEqual(events, [])
  })

  it('rejects with the OAuth error of the token endpoint', async () => {
    const browser = spa(() =>
      reply(400, { error: 'invalid_grant', error_description: 'the code was already used' }),
    )
    const { engine } = browser.open()
    await engine.startRedirect({})
    const state = new URL(browser.navigated[0]!).searchParams.get('state')!
    await assert.rejects(
      engine.completeRedirect(`${CALLBACK}?code=c-1&state=${state}`),
      (error) => isTesseraError(error, 'invalid_grant') && error.status === 400,
    )
  })

  it('retries the token request once with the DPoP nonce the server asks for', async () => {
    const { state, handler } = tokenEndpoint()
    const browser = spa((request) => {
      const proof = JSON.parse(
        Buffer.from(request.headers.get('dpop')!.split('.')[1]!, 'base64url').toString(),
      )
      if (proof.nonce !== 'n-7') {
        return reply(400, { error: 'use_dpop_nonce' }, { 'dpop-nonce': 'n-7' })
      }
      return handler(request)
    })
    const { engine } = browser.open()
    const { done } = await signIn(browser, engine, state)
    assert.equal(done.session.accessToken, 'at-1')
    const calls = browser.server.to('/oauth/token')
    assert.equal(calls.length, 2)
    assert.equal(calls[0]!.body, calls[1]!.body)
    const proof = await verifyDpopProof(calls[1]!.headers.get('dpop')!, {
      method: 'POST',
      url: `${ISSUER}/oauth/token`,
      nonce: 'n-7',
      now: browser.clock.now,
    })
    assert.equal(proof.payload.nonce, 'n-7')
  })

  it('needs clientId and redirectUri, and redirects only in OAuth mode', async () => {
    assert.throws(
      () => createEngine({ issuer: ISSUER, mode: 'oauth', clientId: 'spa' }),
      (error) => isTesseraError(error, 'unsupported'),
    )
    const cookie = createEngine({ issuer: ISSUER, storage: memoryStore(), tabs: tabGroup().tab() })
    await assert.rejects(cookie.startRedirect({}), (error) => isTesseraError(error, 'unsupported'))
    await assert.rejects(cookie.completeRedirect(CALLBACK), (error) =>
      isTesseraError(error, 'unsupported'),
    )
  })
})

describe('OAuth mode: refresh', () => {
  it('restores after a reload from the stored refresh token, with a proof of the same key', async () => {
    const { state, handler } = tokenEndpoint()
    const browser = spa(handler)
    const first = browser.open()
    await signIn(browser, first.engine, state)
    first.engine.dispose()
    const reloaded = browser.open()
    const session = await reloaded.engine.getSession()
    assert.equal(session?.accessToken, 'at-2')
    assert.equal(session?.user.id, 'u1')
    const [code, refresh] = browser.server.to('/oauth/token')
    const form = Object.fromEntries(new URLSearchParams(refresh!.body))
    assert.deepEqual(form, { grant_type: 'refresh_token', refresh_token: 'rt-1', client_id: 'spa' })
    const bound = await proofOf(code!, browser.clock.now)
    assert.equal((await proofOf(refresh!, browser.clock.now)).jkt, bound.jkt)
    assert.equal(
      (await browser.storage.get<{ refreshToken: string }>(`${NS}:tokens`))?.refreshToken,
      'rt-2',
    )
  })

  it('reads the refresh token from the store inside the lock: another tab may have rotated it', async () => {
    const { state, handler } = tokenEndpoint()
    const storage = memoryStore()
    const one = spa(handler, storage)
    const tabA = one.open()
    await signIn(one, tabA.engine, state)
    // Another tab that shares the store but not a channel (no broadcast reaches tab A).
    const two = spa(handler, storage)
    const tabB = two.open()
    assert.equal((await tabB.engine.getSession())?.accessToken, 'at-2')
    assert.equal((await tabA.engine.refresh())?.accessToken, 'at-3')
    const last = one.server.to('/oauth/token').at(-1)!
    assert.equal(new URLSearchParams(last.body).get('refresh_token'), 'rt-2')
    assert.ok(tabA.events.every((seen) => seen.event !== 'SIGNED_OUT'))
  })

  for (const [description, reason] of [
    ['the refresh token was already used; the grant is revoked', 'reused'],
    ['the refresh token is not valid', 'revoked'],
  ] as const) {
    it(`invalid_grant "${description}" ends the session as ${reason} and forgets the tokens and key`, async () => {
      const { state, handler } = tokenEndpoint()
      let refuse = false
      const browser = spa((request) =>
        refuse
          ? reply(400, { error: 'invalid_grant', error_description: description })
          : handler(request),
      )
      const { engine, events } = browser.open()
      await signIn(browser, engine, state)
      assert.ok(await browser.storage.get(`${NS}:dpop`))
      refuse = true
      assert.equal(await engine.refresh(), null)
      assert.deepEqual(events.at(-1), { event: 'SIGNED_OUT', token: undefined, reason })
      assert.equal(await browser.storage.get(`${NS}:tokens`), undefined)
      assert.equal(await browser.storage.get(`${NS}:dpop`), undefined)
      assert.equal(await engine.getSession(), null)
      assert.equal(browser.server.to('/oauth/token').length, 2)
    })
  }

  it('is no session, without a request, when nothing is stored', async () => {
    const browser = spa(() => reply(500))
    const { engine, events } = browser.open()
    assert.equal(await engine.getSession(), null)
    assert.equal(browser.server.calls.length, 0)
    assert.deepEqual(
      events.map((seen) => seen.event),
      ['INITIAL_SESSION'],
    )
  })

  it('fetch() calls userinfo with the bound token and a proof', async () => {
    const { state, handler } = tokenEndpoint((request) =>
      request.path === '/oauth/userinfo' ? reply(200, { sub: 'u1' }) : reply(404),
    )
    const browser = spa(handler)
    const { engine } = browser.open()
    await signIn(browser, engine, state)
    const response = await engine.fetch(`${ISSUER}/oauth/userinfo`)
    assert.deepEqual(await response.json(), { sub: 'u1' })
    const call = browser.server.to('/oauth/userinfo')[0]!
    assert.equal(call.headers.get('authorization'), 'DPoP at-1')
    await proofOf(call, browser.clock.now, 'at-1')
    await engine.fetch(`${APP}/api/orders`)
    assert.equal(browser.server.calls.at(-1)?.headers.get('authorization'), null)
  })
})

describe('OAuth mode: signOut()', () => {
  it('local: revokes the refresh token (RFC 7009) and forgets the tokens and the key', async () => {
    const { state, handler } = tokenEndpoint((request) =>
      request.path === '/oauth/revoke' ? reply(200) : reply(404),
    )
    const browser = spa(handler)
    const { engine, events } = browser.open()
    await signIn(browser, engine, state)
    await engine.signOut('local')
    const call = browser.server.to('/oauth/revoke')[0]!
    assert.equal(call.method, 'POST')
    assert.deepEqual(Object.fromEntries(new URLSearchParams(call.body)), {
      client_id: 'spa',
      token: 'rt-1',
      token_type_hint: 'refresh_token',
    })
    assert.equal(await browser.storage.get(`${NS}:tokens`), undefined)
    assert.equal(await browser.storage.get(`${NS}:dpop`), undefined)
    assert.deepEqual(events.at(-1), { event: 'SIGNED_OUT', token: undefined, reason: 'signed_out' })
    assert.equal(browser.navigated.length, 1, 'no navigation but the sign-in')
  })

  it('global: revokes, then leaves for /oauth/logout with the ID token hint', async () => {
    const { state, handler } = tokenEndpoint(() => reply(200))
    const browser = spa(handler)
    const { engine } = browser.open({ postLogoutRedirectUri: `${APP}/bye` })
    await signIn(browser, engine, state)
    await engine.signOut('global')
    assert.equal(browser.server.to('/oauth/revoke').length, 1)
    const logout = new URL(browser.navigated.at(-1)!)
    assert.equal(`${logout.origin}${logout.pathname}`, `${ISSUER}/oauth/logout`)
    assert.equal(logout.searchParams.get('client_id'), 'spa')
    assert.equal(logout.searchParams.get('post_logout_redirect_uri'), `${APP}/bye`)
    const hint = logout.searchParams.get('id_token_hint')!
    assert.equal(idTokenClaims(hint, { issuer: ISSUER, clientId: 'spa', now: NOW })['sub'], 'u1')
  })

  it('keeps the session when the server cannot be reached', async () => {
    const { state, handler } = tokenEndpoint(() => reply(503))
    const browser = spa(handler)
    const { engine } = browser.open()
    await signIn(browser, engine, state)
    await assert.rejects(
      engine.signOut('local'),
      (error) => isTesseraError(error) && error.transient,
    )
    assert.equal((await engine.getSession())?.accessToken, 'at-1')
    assert.ok(await browser.storage.get(`${NS}:tokens`))
  })
})
