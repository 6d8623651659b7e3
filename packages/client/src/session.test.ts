import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { verifyDpopProof } from '@tessera/jwt'
import {
  apiError,
  fakeClock,
  fakeServer,
  type Handler,
  type Recorded,
  reply,
  settle,
  tabGroup,
  waitFor,
} from '../test/support/fakes.ts'
import { isTesseraError } from './errors.ts'
import { createEngine } from './session.ts'
import { memoryStore } from './store.ts'
import type { AuthChangeEvent, ClientOptions, SessionEndReason, User } from './types.ts'

const ISSUER = 'https://auth.example.com'
const user: User = {
  id: 'u1',
  email: 'ada@example.com',
  name: 'Ada',
  roles: ['user'],
  emailVerified: true,
}

/** A token response of /auth/refresh (or a sign-in). */
function tokens(n: number, extra: Record<string, unknown> = {}) {
  return reply(200, { user, accessToken: `at-${n}`, tokenType: 'Bearer', expiresIn: 900, ...extra })
}

interface Seen {
  readonly event: AuthChangeEvent
  readonly token: string | undefined
  readonly reason: SessionEndReason | undefined
  readonly at: number
}

/** One browser: a clock, a server, a tab group and a store shared by the engines it opens. */
function browser(handler: Handler) {
  const clock = fakeClock()
  const server = fakeServer(handler)
  const group = tabGroup()
  const storage = memoryStore()
  const open = (overrides: Partial<ClientOptions> = {}) => {
    const engine = createEngine({
      issuer: ISSUER,
      fetch: server.fetch,
      now: clock.now,
      random: () => 0.5,
      setTimeout: clock.setTimeout,
      clearTimeout: clock.clearTimeout,
      storage,
      tabs: group.tab(),
      ...overrides,
    })
    const events: Seen[] = []
    engine.onAuthStateChange((event, session, detail) => {
      events.push({ event, token: session?.accessToken, reason: detail.reason, at: clock.now() })
    })
    return { engine, events }
  }
  return { clock, server, group, storage, open }
}

/** A server whose /auth/refresh hands out at-1, at-2, … */
function rotating(other: Handler = () => reply(404)) {
  let n = 1
  return (request: Recorded) => (request.path === '/auth/refresh' ? tokens(n++) : other(request))
}

describe('cookie mode: restoring and refreshing', () => {
  it('restores the session after a reload with one refresh, reported once as INITIAL_SESSION', async () => {
    const { server, open } = browser(rotating())
    const { engine, events } = open()
    const session = await engine.getSession()
    assert.equal(session?.accessToken, 'at-1')
    assert.deepEqual(session?.user, user)
    assert.equal(await engine.getSession(), session)
    const [refresh] = server.to('/auth/refresh')
    assert.equal(server.calls.length, 1)
    assert.equal(refresh?.method, 'POST')
    assert.equal(refresh?.headers.get('x-tessera-csrf'), '1')
    assert.equal(refresh?.headers.get('authorization'), null)
    assert.equal(refresh?.headers.get('dpop'), null)
    assert.equal(refresh?.body, '')
    assert.deepEqual(
      events.map((seen) => [seen.event, seen.token]),
      [['INITIAL_SESSION', 'at-1']],
    )
  })

  it('reports no session without a cookie, and does not ask again', async () => {
    const { server, open } = browser(() => apiError(401, 'missing_token'))
    const { engine, events } = open()
    assert.equal(await engine.getSession(), null)
    assert.equal(await engine.getSession(), null)
    assert.equal(server.calls.length, 1)
    assert.deepEqual(
      events.map((seen) => [seen.event, seen.token]),
      [['INITIAL_SESSION', undefined]],
    )
  })

  it('treats a refused restore without a session as none: no SIGNED_OUT', async () => {
    const { open } = browser(() => apiError(401, 'invalid_refresh_token'))
    const { engine, events } = open()
    assert.equal(await engine.getSession(), null)
    assert.deepEqual(
      events.map((seen) => seen.event),
      ['INITIAL_SESSION'],
    )
  })

  it('refreshes before expiry: the margin (60 s) plus up to 10% of it at random', async () => {
    for (const [random, delay] of [
      [0, 840_000],
      [0.5, 837_000],
      [1, 834_000],
    ] as const) {
      const { clock, server, open } = browser(rotating())
      const { engine, events } = open({ random: () => random })
      await engine.getSession()
      assert.deepEqual(clock.pending(), [delay])
      await clock.tick(delay - 1)
      assert.equal(server.to('/auth/refresh').length, 1)
      await clock.tick(1)
      assert.equal(server.to('/auth/refresh').length, 2)
      assert.equal((await engine.getSession())?.accessToken, 'at-2')
      assert.deepEqual(
        events.map((seen) => [seen.event, seen.token]),
        [
          ['INITIAL_SESSION', 'at-1'],
          ['TOKEN_REFRESHED', 'at-2'],
        ],
      )
    }
  })

  it('refreshes a short-lived token a third of its lifetime before expiry', async () => {
    const { clock, open } = browser(() => tokens(1, { expiresIn: 90 }))
    const { engine } = open({ random: () => 0 })
    await engine.getSession()
    assert.deepEqual(clock.pending(), [60_000])
  })

  it('honours refreshMargin', async () => {
    const { clock, open } = browser(rotating())
    const { engine } = open({ random: () => 0, refreshMargin: 120 })
    await engine.getSession()
    assert.deepEqual(clock.pending(), [780_000])
  })
})

describe('cookie mode: request()', () => {
  it('sends the CSRF header, a JSON body and the token; 204 is undefined', async () => {
    const { server, open } = browser(
      rotating((request) => (request.path === '/auth/logout-all' ? reply(204) : reply(200, {}))),
    )
    const { engine } = open()
    const answer = await engine.request('/auth/passkeys/p1', {
      method: 'PATCH',
      body: { name: 'Phone' },
      auth: true,
    })
    assert.deepEqual(answer, {})
    const call = server.to('/auth/passkeys/p1')[0]!
    assert.equal(call.method, 'PATCH')
    assert.equal(call.headers.get('x-tessera-csrf'), '1')
    assert.equal(call.headers.get('content-type'), 'application/json')
    assert.equal(call.headers.get('authorization'), 'Bearer at-1')
    assert.equal(call.body, '{"name":"Phone"}')
    assert.equal(
      await engine.request('/auth/logout-all', { method: 'POST', auth: true }),
      undefined,
    )
  })

  it('sends no token where none is asked for, and rejects with the server code', async () => {
    const { server, open } = browser(() => apiError(401, 'invalid_credentials'))
    const { engine } = open()
    await assert.rejects(
      engine.request('/auth/login', { body: { email: 'a@b.c', password: 'x' } }),
      (error) => isTesseraError(error, 'invalid_credentials') && error.status === 401,
    )
    assert.equal(server.calls.length, 1)
    assert.equal(server.calls[0]?.method, 'POST')
    assert.equal(server.calls[0]?.headers.get('authorization'), null)
  })

  it('rejects not_signed_in when a token is needed and there is no session', async () => {
    const { open } = browser(() => apiError(401, 'missing_token'))
    const { engine } = open()
    await assert.rejects(engine.request('/auth/me', { auth: true }), (error) =>
      isTesseraError(error, 'not_signed_in'),
    )
  })

  it('refreshes once for concurrent calls refused with the same token, and retries each once', async () => {
    const { server, open } = browser(
      rotating((request) =>
        request.headers.get('authorization') === 'Bearer at-2'
          ? reply(200, { id: 'u1' })
          : apiError(401, 'token_expired'),
      ),
    )
    const { engine } = open()
    await engine.getSession()
    const answers = await Promise.all(
      [1, 2, 3].map(() => engine.request<{ id: string }>('/auth/me', { auth: true })),
    )
    assert.deepEqual(
      answers.map((answer) => answer.id),
      ['u1', 'u1', 'u1'],
    )
    assert.equal(server.to('/auth/refresh').length, 2)
    assert.equal(server.to('/auth/me').length, 6)
  })

  it('just retries a call whose token another refresh has replaced', async () => {
    let open_: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      open_ = resolve
    })
    const { server, open } = browser(
      rotating(async (request) => {
        if (request.headers.get('authorization') === 'Bearer at-2') return reply(200, { ok: true })
        await gate
        return apiError(401, 'token_expired')
      }),
    )
    const { engine } = open()
    await engine.getSession()
    const pending = engine.request('/auth/me', { auth: true })
    await waitFor(() => server.to('/auth/me').length === 1)
    assert.equal((await engine.refresh())?.accessToken, 'at-2')
    open_()
    assert.deepEqual(await pending, { ok: true })
    assert.equal(server.to('/auth/refresh').length, 2)
  })

  it('retries exactly once: still refused, the session ends as revoked', async () => {
    const { server, group, open } = browser(rotating(() => apiError(401, 'token_revoked')))
    const { engine, events } = open()
    await engine.getSession()
    await assert.rejects(engine.request('/auth/me', { auth: true }), (error) =>
      isTesseraError(error, 'token_revoked'),
    )
    assert.equal(server.to('/auth/me').length, 2)
    assert.equal(server.to('/auth/refresh').length, 2)
    assert.deepEqual(events.at(-1)?.event, 'SIGNED_OUT')
    assert.equal(events.at(-1)?.reason, 'revoked')
    assert.deepEqual(group.posted.at(-1), { type: 'signed_out', reason: 'revoked' })
    assert.equal(await engine.getSession(), null)
    assert.equal(server.to('/auth/refresh').length, 2)
  })

  it('does not refresh for a refusal that is not about the token', async () => {
    const { server, open } = browser(rotating(() => apiError(403, 'reauthentication_required')))
    const { engine } = open()
    await assert.rejects(engine.request('/auth/password', { body: {}, auth: true }), (error) =>
      isTesseraError(error, 'reauthentication_required'),
    )
    assert.equal(server.to('/auth/refresh').length, 1)
    assert.equal(server.to('/auth/password').length, 1)
  })

  it('turns a fetch that rejects into network_error, and a page that is not JSON into bad_response', async () => {
    const { open } = browser((request) => {
      if (request.path === '/auth/otp/send') throw new TypeError('fetch failed')
      return new Response('<html>proxy</html>', { status: 200 })
    })
    const { engine } = open()
    await assert.rejects(engine.request('/auth/otp/send', { body: {} }), (error) =>
      isTesseraError(error, 'network_error'),
    )
    await assert.rejects(engine.request('/auth/me'), (error) =>
      isTesseraError(error, 'bad_response'),
    )
  })

  it('refuses the JSON API in OAuth mode', async () => {
    const { open } = browser(() => reply(500))
    const { engine } = open({
      mode: 'oauth',
      clientId: 'spa',
      redirectUri: 'https://app.example.com/callback',
    })
    await assert.rejects(engine.request('/auth/me'), (error) =>
      isTesseraError(error, 'unsupported'),
    )
  })
})

describe('cookie mode: when the server cannot answer', () => {
  it('keeps the session on 5xx and 429 and retries later and later, honouring retryAfter', async () => {
    const answers = [
      () => tokens(1),
      () => apiError(503, 'unavailable'),
      () => apiError(429, 'rate_limited', { retryAfter: 30 }),
      () => tokens(2),
    ]
    const { clock, server, open } = browser(() => answers.shift()!())
    const { engine, events } = open()
    await engine.getSession()
    await clock.tick(837_000)
    assert.equal(server.calls.length, 2)
    assert.equal((await engine.getSession())?.accessToken, 'at-1')
    assert.equal(server.calls.length, 2, 'the still valid token is used without a request')
    assert.deepEqual(clock.pending(), [2_000])
    await clock.tick(2_000)
    assert.equal(server.calls.length, 3)
    assert.deepEqual(clock.pending(), [30_000])
    await clock.tick(30_000)
    assert.equal((await engine.getSession())?.accessToken, 'at-2')
    assert.deepEqual(
      events.map((seen) => seen.event),
      ['INITIAL_SESSION', 'TOKEN_REFRESHED'],
    )
  })

  it('ends the session as network after maxOfflineRetries failures once the token has expired', async () => {
    let online = true
    let n = 1
    const { clock, server, open } = browser(() => {
      if (!online) throw new TypeError('fetch failed')
      return tokens(n++)
    })
    const { engine, events } = open()
    const first = await engine.getSession()
    online = false
    await clock.tick(1_000_000)
    const ends = events.filter((seen) => seen.event === 'SIGNED_OUT')
    assert.equal(ends.length, 1)
    assert.equal(ends[0]?.reason, 'network')
    assert.ok(ends[0]!.at >= first!.expiresAt, 'not before the token expired')
    assert.ok(server.calls.length >= 6)
    assert.deepEqual(clock.pending(), [], 'no more attempts on its own')
    // Offline is not signed out: getSession() tries again.
    online = true
    assert.equal((await engine.getSession())?.accessToken, 'at-2')
    assert.equal(events.at(-1)?.event, 'SIGNED_IN')
  })

  it('rejects getSession() while the server is unreachable and there is no session yet', async () => {
    const { open } = browser(() => apiError(502, 'bad_gateway'))
    const { engine, events } = open()
    await assert.rejects(engine.getSession(), (error) => isTesseraError(error) && error.transient)
    assert.deepEqual(events, [])
  })
})

describe('cookie mode: why a session ended', () => {
  const cases: [number, string, SessionEndReason][] = [
    [401, 'refresh_token_reused', 'reused'],
    [401, 'invalid_refresh_token', 'revoked'],
    [401, 'missing_token', 'expired'],
  ]
  for (const [status, code, reason] of cases) {
    it(`${status} ${code} on refresh → SIGNED_OUT ${reason}, to every tab`, async () => {
      let first = true
      const { group, open } = browser(() => {
        if (!first) return apiError(status, code)
        first = false
        return tokens(1)
      })
      const one = open()
      const two = open()
      await one.engine.getSession()
      await settle()
      assert.equal((await two.engine.getSession())?.accessToken, 'at-1')
      assert.equal(await one.engine.refresh(), null)
      await settle()
      assert.deepEqual(one.events.at(-1), {
        event: 'SIGNED_OUT',
        token: undefined,
        reason,
        at: one.events.at(-1)!.at,
      })
      assert.equal(two.events.at(-1)?.event, 'SIGNED_OUT')
      assert.equal(two.events.at(-1)?.reason, reason)
      assert.deepEqual(group.posted.at(-1), { type: 'signed_out', reason })
      assert.equal(await two.engine.getSession(), null)
    })
  }
})

describe('cookie mode: a refused restore, a refused CSRF check', () => {
  const restores: [number, string, SessionEndReason | undefined][] = [
    [401, 'missing_token', undefined],
    [401, 'invalid_refresh_token', 'revoked'],
    [401, 'refresh_token_reused', 'reused'],
  ]
  for (const [status, code, reason] of restores) {
    it(`a reload answered ${code}: no session, INITIAL_SESSION ${reason ?? 'without a reason'}, no SIGNED_OUT`, async () => {
      const { open } = browser(() => apiError(status, code))
      const { engine, events } = open()
      assert.equal(await engine.getSession(), null)
      assert.deepEqual(
        events.map(({ event, reason }) => ({ event, reason })),
        [{ event: 'INITIAL_SESSION', reason }],
      )
      assert.equal(engine.current(), null)
    })
  }

  it('403 csrf_failed on refresh rejects with its reason and keeps the session and the other tabs', async () => {
    let first = true
    const { group, open } = browser(() => {
      if (!first) return apiError(403, 'csrf_failed', { reason: 'duplicate_cookie' })
      first = false
      return tokens(1)
    })
    const one = open()
    const two = open()
    await one.engine.getSession()
    await settle()
    const posted = group.posted.length
    await assert.rejects(one.engine.refresh(), (error) => {
      assert.ok(isTesseraError(error, 'csrf_failed'))
      assert.equal(error.reason, 'duplicate_cookie')
      return true
    })
    await settle()
    assert.equal(one.engine.current()?.accessToken, 'at-1')
    assert.equal(two.engine.current()?.accessToken, 'at-1')
    assert.ok(!one.events.some(({ event }) => event === 'SIGNED_OUT'))
    assert.equal(group.posted.length, posted)
  })

  it('a reload refused by the CSRF check rejects getSession() with the reason', async () => {
    const { open } = browser(() => apiError(403, 'csrf_failed', { reason: 'origin' }))
    const { engine, events } = open()
    await assert.rejects(engine.getSession(), (error) => {
      assert.ok(isTesseraError(error, 'csrf_failed'))
      assert.equal(error.reason, 'origin')
      return true
    })
    assert.deepEqual(events, [])
  })
})

describe('cookie mode: tabs', () => {
  it('five tabs restoring at once make one refresh', async () => {
    const { server, open } = browser(rotating())
    const tabs = [1, 2, 3, 4, 5].map(() => open())
    const sessions = await Promise.all(tabs.map((tab) => tab.engine.getSession()))
    assert.deepEqual(
      sessions.map((session) => session?.accessToken),
      ['at-1', 'at-1', 'at-1', 'at-1', 'at-1'],
    )
    assert.equal(server.to('/auth/refresh').length, 1)
    for (const tab of tabs) {
      assert.deepEqual(
        tab.events.map((seen) => [seen.event, seen.token]),
        [['INITIAL_SESSION', 'at-1']],
      )
    }
  })

  it('five tabs refreshing at once make one refresh; the others take its session', async () => {
    const { server, open } = browser(rotating())
    const tabs = [1, 2, 3, 4, 5].map(() => open())
    await Promise.all(tabs.map((tab) => tab.engine.getSession()))
    const sessions = await Promise.all(tabs.map((tab) => tab.engine.refresh()))
    assert.deepEqual(
      sessions.map((session) => session?.accessToken),
      ['at-2', 'at-2', 'at-2', 'at-2', 'at-2'],
    )
    assert.equal(server.to('/auth/refresh').length, 2)
    await settle()
    for (const tab of tabs) assert.equal(tab.events.at(-1)?.event, 'TOKEN_REFRESHED')
  })

  it('waits for the broadcast when the lock comes before it', async () => {
    const { server, group, open } = browser(rotating())
    const one = open()
    const two = open()
    await one.engine.getSession()
    await settle()
    assert.equal((await two.engine.getSession())?.accessToken, 'at-1')
    group.hold()
    const first = one.engine.refresh()
    const second = two.engine.refresh()
    assert.equal((await first)?.accessToken, 'at-2')
    await settle()
    group.release()
    assert.equal((await second)?.accessToken, 'at-2')
    assert.equal(server.to('/auth/refresh').length, 2)
  })

  it('a timer firing in one tab refreshes all of them', async () => {
    const { clock, server, open } = browser(rotating())
    const one = open({ random: () => 1 })
    const two = open({ random: () => 0 })
    await one.engine.getSession()
    await settle()
    await two.engine.getSession()
    await clock.tick(837_000)
    assert.equal(server.to('/auth/refresh').length, 2)
    assert.equal((await two.engine.getSession())?.accessToken, 'at-2')
    assert.equal(two.events.at(-1)?.event, 'TOKEN_REFRESHED')
  })

  it('a sign-in in one tab is a SIGNED_IN in the others', async () => {
    const { open } = browser(() => apiError(401, 'missing_token'))
    const one = open()
    const two = open()
    await two.engine.getSession()
    const session = await one.engine.adopt({
      accessToken: 'at-9',
      tokenType: 'Bearer',
      expiresIn: 900,
      user,
    })
    assert.equal(session.accessToken, 'at-9')
    assert.equal(one.events.at(-1)?.event, 'SIGNED_IN')
    await settle()
    assert.deepEqual(two.events.at(-1)?.event, 'SIGNED_IN')
    assert.equal((await two.engine.getSession())?.accessToken, 'at-9')
  })
})

describe('cookie mode: signOut()', () => {
  it('local: POST /auth/logout with the cookie and the token; every tab is told', async () => {
    const { server, open } = browser(
      rotating((request) => (request.path === '/auth/logout' ? reply(204) : reply(404))),
    )
    const one = open()
    const two = open()
    await one.engine.getSession()
    await settle()
    await one.engine.signOut('local')
    const [logout] = server.to('/auth/logout')
    assert.equal(logout?.method, 'POST')
    assert.equal(logout?.headers.get('x-tessera-csrf'), '1')
    assert.equal(logout?.headers.get('authorization'), 'Bearer at-1')
    assert.equal(one.events.at(-1)?.event, 'SIGNED_OUT')
    assert.equal(one.events.at(-1)?.reason, 'signed_out')
    await settle()
    assert.equal(two.events.at(-1)?.event, 'SIGNED_OUT')
    assert.equal(two.events.at(-1)?.reason, 'signed_out')
    assert.equal(await two.engine.getSession(), null)
    assert.equal(await one.engine.getSession(), null)
    assert.equal(server.to('/auth/refresh').length, 1)
  })

  it('local: a 401 means already signed out', async () => {
    const { open } = browser(rotating(() => apiError(401, 'missing_token')))
    const { engine, events } = open()
    await engine.getSession()
    await engine.signOut('local')
    assert.equal(events.at(-1)?.reason, 'signed_out')
  })

  it('global: POST /auth/logout-all with the token, which clears the cookie too', async () => {
    const { server, open } = browser(rotating(() => reply(204)))
    const { engine, events } = open()
    await engine.getSession()
    await engine.signOut('global')
    const [call] = server.to('/auth/logout-all')
    assert.equal(call?.headers.get('authorization'), 'Bearer at-1')
    assert.equal(call?.headers.get('x-tessera-csrf'), '1')
    assert.equal(server.to('/auth/logout').length, 0)
    assert.equal(events.at(-1)?.reason, 'signed_out')
  })

  it('offline: rejects and keeps the session', async () => {
    const { open } = browser(
      rotating(() => {
        throw new TypeError('fetch failed')
      }),
    )
    const { engine, events } = open()
    await engine.getSession()
    await assert.rejects(engine.signOut('local'), (error) => isTesseraError(error, 'network_error'))
    assert.equal((await engine.getSession())?.accessToken, 'at-1')
    assert.ok(events.every((seen) => seen.event !== 'SIGNED_OUT'))
  })

  it('setUser() is USER_UPDATED with the same token', async () => {
    const { open } = browser(rotating())
    const { engine, events } = open()
    await engine.getSession()
    engine.setUser({ ...user, name: 'Ada L.' })
    assert.equal((await engine.getSession())?.user.name, 'Ada L.')
    assert.deepEqual(
      events.map((seen) => [seen.event, seen.token]),
      [
        ['INITIAL_SESSION', 'at-1'],
        ['USER_UPDATED', 'at-1'],
      ],
    )
  })
})

describe('fetch()', () => {
  it('attaches the token to the issuer by default and to nothing else', async () => {
    const { server, open } = browser(rotating(() => reply(200, {})))
    const { engine } = open()
    await engine.getSession()
    await engine.fetch(`${ISSUER}/auth/me`)
    await engine.fetch('https://evil.example.net/steal')
    await engine.fetch('http://auth.example.com/auth/me')
    await engine.fetch('https://auth.example.com.evil.net/auth/me')
    const sent = server.calls.slice(1).map((call) => [call.url, call.headers.get('authorization')])
    assert.deepEqual(sent, [
      [`${ISSUER}/auth/me`, 'Bearer at-1'],
      ['https://evil.example.net/steal', null],
      ['http://auth.example.com/auth/me', null],
      ['https://auth.example.com.evil.net/auth/me', null],
    ])
  })

  it('matches an API given with a path by prefix, segment by segment', async () => {
    const { server, open } = browser(rotating(() => reply(200, {})))
    const { engine } = open({ apis: ['https://api.example.com/v1/'] })
    await engine.getSession()
    const urls = [
      'https://api.example.com/v1/orders?page=2',
      'https://api.example.com/v1',
      'https://api.example.com/v10/orders',
      'https://api.example.com/admin',
      'https://api.example.com/v1/../admin',
      'https://api.example.com/v1/%2e%2e/admin',
      `${ISSUER}/auth/me`,
    ]
    for (const url of urls) await engine.fetch(url)
    const sent = server.calls.slice(1).map((call) => [call.path, call.headers.get('authorization')])
    assert.deepEqual(sent, [
      ['/v1/orders', 'Bearer at-1'],
      ['/v1', 'Bearer at-1'],
      ['/v10/orders', null],
      ['/admin', null],
      ['/admin', null],
      ['/admin', null],
      ['/auth/me', null],
    ])
  })

  it('passes a foreign request through as it is', async () => {
    const { server, open } = browser(rotating(() => reply(200, {})))
    const { engine } = open()
    await engine.getSession()
    const response = await engine.fetch('https://cdn.example.net/upload', {
      method: 'PUT',
      body: 'data',
      headers: { authorization: 'Basic abc' },
    })
    assert.equal(response.status, 200)
    const call = server.calls.at(-1)!
    assert.equal(call.method, 'PUT')
    assert.equal(call.body, 'data')
    assert.equal(call.headers.get('authorization'), 'Basic abc')
  })

  it('sends without a token when signed out', async () => {
    const { server, open } = browser((request) =>
      request.path === '/auth/refresh' ? apiError(401, 'missing_token') : reply(200, {}),
    )
    const { engine } = open()
    await engine.getSession()
    await engine.fetch(`${ISSUER}/public`)
    assert.equal(server.calls.at(-1)?.headers.get('authorization'), null)
  })

  it('refreshes once on invalid_token and sends the same body again', async () => {
    const { server, open } = browser(
      rotating((request) =>
        request.headers.get('authorization') === 'Bearer at-2'
          ? reply(201, {})
          : new Response(null, {
              status: 401,
              headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
            }),
      ),
    )
    const { engine } = open({ apis: ['https://api.example.com'] })
    await engine.getSession()
    const response = await engine.fetch('https://api.example.com/orders', {
      method: 'POST',
      body: JSON.stringify({ item: 1 }),
      headers: { 'content-type': 'application/json' },
    })
    assert.equal(response.status, 201)
    const orders = server.to('/orders')
    assert.equal(orders.length, 2)
    assert.deepEqual(
      orders.map((call) => [call.body, call.headers.get('authorization')]),
      [
        ['{"item":1}', 'Bearer at-1'],
        ['{"item":1}', 'Bearer at-2'],
      ],
    )
  })

  it('does not retry a request whose body is a stream', async () => {
    const { server, open } = browser(rotating(() => apiError(401, 'token_expired')))
    const { engine } = open({ apis: ['https://api.example.com'] })
    await engine.getSession()
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('chunk'))
        controller.close()
      },
    })
    const response = await engine.fetch('https://api.example.com/upload', {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit)
    assert.equal(response.status, 401)
    assert.equal(server.to('/upload').length, 1)
    assert.equal(server.to('/upload')[0]?.body, 'chunk')
    assert.equal(server.to('/refresh').length, 0)
    assert.equal(server.to('/auth/refresh').length, 1)
  })
})

describe('cookie mode with DPoP', () => {
  const dpopTokens = (n: number) => tokens(n, { tokenType: 'DPoP' })

  it('proves the key on refresh, and sends a bound token with a proof carrying ath', async () => {
    let n = 1
    const { clock, server, open } = browser((request) =>
      request.path === '/auth/refresh' ? dpopTokens(n++) : reply(200, { id: 'u1' }),
    )
    const { engine } = open({ dpop: true })
    const session = await engine.getSession()
    assert.equal(session?.tokenType, 'DPoP')
    const refresh = server.to('/auth/refresh')[0]!
    const bound = await verifyDpopProof(refresh.headers.get('dpop')!, {
      method: 'POST',
      url: `${ISSUER}/auth/refresh`,
      now: clock.now,
    })
    assert.equal(bound.payload.ath, undefined)
    await engine.request('/auth/me', { auth: true })
    const me = server.to('/auth/me')[0]!
    assert.equal(me.headers.get('authorization'), 'DPoP at-1')
    const proof = await verifyDpopProof(me.headers.get('dpop')!, {
      method: 'GET',
      url: `${ISSUER}/auth/me`,
      accessToken: 'at-1',
      now: clock.now,
    })
    assert.equal(proof.jkt, bound.jkt)
    assert.deepEqual(Object.keys(proof.jwk).sort(), ['crv', 'kty', 'x', 'y'])
  })

  it('adds a proof to the routes that issue tokens only when DPoP is on', async () => {
    const { server, open } = browser(() => dpopTokens(1))
    const on = open({ dpop: true })
    const off = open({ dpop: false, issuer: 'https://other.example.com' })
    await on.engine.request('/auth/login', { body: {}, proof: true })
    await off.engine.request('/auth/login', { body: {}, proof: true })
    assert.ok(server.calls[0]?.headers.get('dpop'))
    assert.equal(server.calls[1]?.headers.get('dpop'), null)
  })

  it('fetch() sends a proof whose htu has no query, and retries once with the server nonce', async () => {
    let n = 1
    const { clock, server, open } = browser((request) => {
      if (request.path === '/auth/refresh') return dpopTokens(n++)
      const proof = JSON.parse(
        Buffer.from(request.headers.get('dpop')!.split('.')[1]!, 'base64url').toString(),
      )
      if (proof.nonce === 'n-1') return reply(200, {})
      return new Response(null, {
        status: 401,
        headers: {
          'www-authenticate': 'DPoP algs="ES256", error="use_dpop_nonce"',
          'dpop-nonce': 'n-1',
        },
      })
    })
    const { engine } = open({ dpop: true, apis: ['https://api.example.com'] })
    await engine.getSession()
    const response = await engine.fetch('https://api.example.com/orders?page=2#top')
    assert.equal(response.status, 200)
    const [first, second] = server.to('/orders')
    assert.equal(server.to('/orders').length, 2)
    for (const [call, nonce] of [
      [first!, undefined],
      [second!, 'n-1'],
    ] as const) {
      assert.equal(call.headers.get('authorization'), 'DPoP at-1')
      const proof = await verifyDpopProof(call.headers.get('dpop')!, {
        method: 'GET',
        url: 'https://api.example.com/orders?page=2',
        accessToken: 'at-1',
        now: clock.now,
        ...(nonce === undefined ? {} : { nonce }),
      })
      assert.equal(proof.payload.htu, 'https://api.example.com/orders')
      assert.equal(proof.payload.nonce, nonce)
    }
    // The nonce is remembered for the next request to that origin.
    await engine.fetch('https://api.example.com/orders')
    assert.equal(server.to('/orders').length, 3)
  })

  it('forgets the key when the session ends: the next session has a new one', async () => {
    let n = 1
    const { clock, server, open } = browser((request) =>
      request.path === '/auth/logout' ? reply(204) : dpopTokens(n++),
    )
    const { engine } = open({ dpop: true })
    await engine.getSession()
    await engine.signOut('local')
    await engine.refresh()
    const [before, after] = server.to('/auth/refresh')
    const jkt = async (call: Recorded) =>
      (
        await verifyDpopProof(call.headers.get('dpop')!, {
          method: 'POST',
          url: `${ISSUER}/auth/refresh`,
          now: clock.now,
        })
      ).jkt
    assert.notEqual(await jkt(before!), await jkt(after!))
  })
})
