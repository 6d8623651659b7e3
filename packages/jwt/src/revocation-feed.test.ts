import assert from 'node:assert/strict'
import { describe, it, type TestContext } from 'node:test'
import { type FeedServer, type FeedServerOptions, startFeedServer } from '../test/feed-server.ts'
import {
  backoffDelay,
  createRevocationFeed,
  type RevocationFeed,
  type RevocationFeedOptions,
} from './revocation-feed.ts'

/** Polls `check` every 5 ms; fails after `timeoutMs`. Returns the ms it took. */
async function eventually(check: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now()
  while (!check()) {
    if (performance.now() - started > timeoutMs) assert.fail(`not within ${timeoutMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return performance.now() - started
}

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2026-06-01T00:00:00Z')) {
  const clock = { t: start, now: () => clock.t }
  return clock
}

async function feedServer(t: TestContext, options?: FeedServerOptions): Promise<FeedServer> {
  const server = await startFeedServer(options)
  t.after(() => server.close())
  return server
}

function openFeed(t: TestContext, options: RevocationFeedOptions): RevocationFeed {
  const feed = createRevocationFeed({
    reconnect: { minDelay: 0.01, maxDelay: 0.05 },
    onError: () => {},
    ...options,
  })
  t.after(() => feed.close())
  return feed
}

describe('backoffDelay', () => {
  it('grows exponentially from the base, with jitter, and stays within [min, max]', () => {
    for (const random of [0, 0.3, 0.999]) {
      let previous = 0
      for (let attempt = 0; attempt < 40; attempt++) {
        const delay = backoffDelay(attempt, 500, 500, 30_000, random)
        assert.ok(delay >= 500 && delay <= 30_000, `${delay} within bounds`)
        assert.ok(delay >= previous, 'never shrinks as failures add up')
        previous = delay
      }
      assert.equal(backoffDelay(40, 500, 500, 30_000, random) >= 15_000, true)
    }
    // Jitter spreads the same attempt over half to all of the step.
    assert.equal(backoffDelay(3, 500, 500, 30_000, 0), 2000)
    assert.equal(backoffDelay(3, 500, 500, 30_000, 1), 4000)
    assert.equal(backoffDelay(100, 2000, 500, 30_000, 1), 30_000)
  })
})

describe('createRevocationFeed: options', () => {
  it('throws a TypeError at creation for bad options', () => {
    const bad: unknown[] = [
      undefined,
      {},
      { url: 'not a url' },
      { url: 'ftp://auth/feed' },
      { url: 'http://user:pw@auth/feed' },
      { url: 'http://auth/feed', key: '' },
      { url: 'http://auth/feed', key: 'has space' },
      { url: 'http://auth/feed', key: 'line\nbreak' },
      { url: 'http://auth/feed', token: 42 },
      { url: 'http://auth/feed', staleAfter: 0 },
      { url: 'http://auth/feed', staleAfter: 'soon' },
      { url: 'http://auth/feed', reconnect: { minDelay: 5, maxDelay: 1 } },
      { url: 'http://auth/feed', reconnect: { minDelay: 0 } },
      { url: 'http://auth/feed', onError: 'log' },
      { url: 'http://auth/feed', now: 5 },
      { url: 'http://auth/feed', staleafter: '10s' }, // a typo is refused, not ignored
    ]
    for (const options of bad) {
      assert.throws(
        () => createRevocationFeed(options as RevocationFeedOptions),
        TypeError,
        JSON.stringify(options),
      )
    }
  })

  it('names no key or token in its error messages', () => {
    try {
      createRevocationFeed({ url: 'http://auth/feed', key: 'secret value' })
      assert.fail('expected a TypeError')
    } catch (error) {
      assert.ok(error instanceof TypeError && !error.message.includes('secret'))
    }
  })
})

describe('createRevocationFeed: against an SSE server', () => {
  it('catches up, says ready, and enforces jti, sid and sub-before entries', async (t) => {
    const clock = manualClock()
    const server = await feedServer(t)
    const exp = clock.t + 60_000
    server.add(
      { kind: 'jti', value: 'token-1', expiresAt: exp },
      { kind: 'sid', value: 'session-1', expiresAt: exp },
      { kind: 'sub', value: 'user-1', before: 1000, expiresAt: exp },
      { kind: 'jti', value: 'long-gone', expiresAt: clock.t - 1 },
    )
    const feed = openFeed(t, { url: server.url, now: clock.now })
    assert.equal(feed.ready, false)
    assert.equal(feed.stale, true, 'stale until the first catch-up')
    await feed.start()
    assert.equal(feed.ready, true)
    assert.equal(feed.stale, false)
    assert.equal(feed.cursor, 4)
    assert.equal(feed.size, 3, 'an entry already expired is not kept')

    assert.equal(feed.isRevoked({ jti: 'token-1' }), true)
    assert.equal(feed.isRevoked({ jti: 'token-2' }), false)
    assert.equal(feed.isRevoked({ sid: 'session-1', jti: 'x' }), true)
    assert.equal(feed.isRevoked({ sub: 'user-1', iat: 999 }), true, 'issued before')
    assert.equal(feed.isRevoked({ sub: 'user-1', iat: 1000 }), false, 'issued in that second')
    assert.equal(feed.isRevoked({ sub: 'user-1' }), true, 'no iat: cannot prove it is newer')
    assert.equal(feed.isRevoked({ sub: 'user-2', iat: 1 }), false)
    assert.equal(feed.isRevoked({ jti: 'long-gone' }), false)
    assert.equal(feed.isRevoked({ jti: 7, sid: null, sub: ['user-1'] }), false, 'not strings')

    clock.t = exp
    assert.equal(feed.isRevoked({ jti: 'token-1' }), false, 'an entry stops at expiresAt')
  })

  it('enforces a live entry within a second, and skips a bad entry without losing the next', async (t) => {
    const server = await feedServer(t)
    const errors: Error[] = []
    const feed = openFeed(t, { url: server.url, onError: (error) => errors.push(error) })
    await feed.start()
    assert.equal(feed.isRevoked({ sid: 's-live' }), false)
    server.write('event: revocation\ndata: {"kind":"sid"}\n\n')
    server.add({ kind: 'sid', value: 's-live', expiresAt: Date.now() + 60_000 })
    const took = await eventually(() => feed.isRevoked({ sid: 's-live' }), 1000, 'live entry')
    assert.ok(took < 1000)
    assert.equal(feed.cursor, 1)
    assert.ok(errors.some((e) => /bad entry/.test(e.message)))
  })

  it('reconnects after a disconnect with Last-Event-ID and receives only newer entries', async (t) => {
    const server = await feedServer(t, { retry: 10 })
    const exp = Date.now() + 60_000
    server.add(
      { kind: 'jti', value: 'a', expiresAt: exp },
      { kind: 'jti', value: 'b', expiresAt: exp },
    )
    const feed = openFeed(t, { url: server.url })
    await feed.start()
    assert.equal(feed.cursor, 2)
    assert.equal(
      server.requests[0]?.['last-event-id'],
      undefined,
      'first connection: from the start',
    )

    server.dropAll()
    server.add({ kind: 'jti', value: 'while-away', expiresAt: exp })
    await server.waitForRequests(2)
    assert.equal(server.requests[1]?.['last-event-id'], '2')
    await eventually(() => feed.isRevoked({ jti: 'while-away' }), 1000, 'missed entry caught up')
    assert.equal(feed.cursor, 3)
    assert.equal(feed.isRevoked({ jti: 'a' }), true, 'the list survives a reconnection')
    assert.equal(server.requests[1]?.accept, 'text/event-stream')
  })

  it('goes stale after staleAfter without a byte while the server is down, and recovers', async (t) => {
    const clock = manualClock()
    const server = await feedServer(t, { retry: 10 })
    const feed = openFeed(t, { url: server.url, now: clock.now, staleAfter: '30s' })
    await feed.start()
    server.write(': heartbeat\n')
    await eventually(() => server.openStreams === 1, 1000, 'stream open')
    clock.t += 20_000
    server.write(': heartbeat\n') // a heartbeat alone keeps the feed fresh
    await new Promise((resolve) => setTimeout(resolve, 50))
    clock.t += 20_000
    assert.equal(feed.stale, false, '20 s after the heartbeat')

    server.mode = 'refuse'
    server.dropAll()
    const before = server.requests.length
    await server.waitForRequests(before + 2)
    assert.equal(feed.stale, false, 'down for less than staleAfter: the last list still counts')
    clock.t += 10_001
    assert.equal(feed.stale, true)

    server.mode = 'ok'
    await eventually(() => !feed.stale, 2000, 'fresh again after reconnecting')
  })

  it('drops a connection that stays silent past staleAfter and opens a new one', async (t) => {
    const clock = manualClock()
    const server = await feedServer(t, { retry: 10 })
    server.mode = 'hold' // accepts, never answers
    const feed = openFeed(t, { url: server.url, now: clock.now, staleAfter: 0.4 })
    void feed.start()
    await server.waitForRequests(1)
    clock.t += 1000
    server.mode = 'ok'
    await eventually(() => feed.ready, 2000, 'the watchdog replaced the silent connection')
    assert.ok(server.requests.length >= 2)
  })

  it('backs off between failed attempts, bounded by maxDelay', async (t) => {
    const server = await feedServer(t)
    server.mode = 'refuse'
    const errors: Error[] = []
    const feed = openFeed(t, {
      url: server.url,
      reconnect: { minDelay: 0.02, maxDelay: 0.12 },
      onError: (error) => errors.push(error),
    })
    void feed.start()
    await server.waitForRequests(9, 5000)
    const gaps = server.arrivals.slice(1).map((at, i) => at - server.arrivals[i]!)
    for (const gap of gaps) {
      assert.ok(gap >= 15, `never sooner than minDelay (${gap.toFixed(1)} ms)`)
      assert.ok(gap <= 120 + 100, `never later than maxDelay plus slack (${gap.toFixed(1)} ms)`)
    }
    assert.ok(
      gaps.slice(-3).every((gap) => gap >= 55),
      'the delay grew to the cap region',
    )
    assert.equal(feed.ready, false)
    assert.ok(errors.every((e) => e.message === 'the revocation feed answered HTTP 503'))
  })

  it('sends the feed key and a fresh Bearer token per connection; a refusal keeps it retrying', async (t) => {
    const server = await feedServer(t, { key: 'feed-key-1', retry: 10 })
    const keyed = openFeed(t, { url: server.url, key: 'feed-key-1' })
    await keyed.start()
    assert.equal(server.requests[0]?.['x-tessera-feed-key'], 'feed-key-1')

    let calls = 0
    const errors: Error[] = []
    const tokened = openFeed(t, {
      url: server.url,
      token: async () => (++calls === 1 ? 'wrong' : 'feed-key-1'),
      onError: (error) => errors.push(error),
    })
    await tokened.start()
    assert.equal(calls, 2)
    assert.equal(server.requests.at(-1)?.authorization, 'Bearer feed-key-1')
    assert.equal(
      errors[0]?.message,
      'the revocation feed refused the token (not a valid access token of this server), HTTP 401; retrying every 0.05 s',
    )
    for (const error of errors) assert.ok(!error.message.includes('feed-key-1'))
    assert.equal(tokened.unauthorized, false, 'cleared by the connection that worked')
  })

  it('a refused key: reported once, unauthorized, retried only every maxDelay; a fixed server clears it', async (t) => {
    const server = await feedServer(t, { key: 'the-server-key', retry: 10 })
    const errors: Error[] = []
    const feed = openFeed(t, {
      url: server.url,
      key: 'a-wrong-key',
      reconnect: { minDelay: 0.01, maxDelay: 0.15 },
      onError: (error) => errors.push(error),
    })
    void feed.start()
    await server.waitForRequests(4, 5000)
    assert.equal(feed.unauthorized, true)
    assert.equal(feed.ready, false)
    assert.deepEqual(
      errors.map((e) => e.message),
      [
        "the revocation feed refused the key (it must be the server's TESSERA_REVOCATION_FEED_KEY), HTTP 401; retrying every 0.15 s",
      ],
      'said once, not at every retry',
    )
    assert.ok(!errors[0]!.message.includes('a-wrong-key'))
    const gaps = server.arrivals.slice(1).map((at, i) => at - server.arrivals[i]!)
    for (const gap of gaps) assert.ok(gap >= 140, `waits maxDelay (${gap.toFixed(1)} ms)`)

    // The operator fixes the server's key: picked up at the next retry.
    server.key = 'a-wrong-key'
    await feed.start()
    assert.equal(feed.ready, true)
    assert.equal(feed.unauthorized, false)
    // Refused again later (a key rotated on the server): said once more.
    server.key = 'rotated-key'
    server.dropAll()
    await eventually(() => feed.unauthorized, 2000, 'refused again')
    assert.equal(errors.filter((e) => /refused the key/.test(e.message)).length, 2)
  })

  it('reads CRLF streams and ignores a non-SSE answer until a real one comes', async (t) => {
    const server = await feedServer(t, { eol: '\r\n', retry: 10 })
    server.add({ kind: 'jti', value: 'crlf', expiresAt: Date.now() + 60_000 })
    const feed = openFeed(t, { url: server.url })
    await feed.start()
    assert.equal(feed.isRevoked({ jti: 'crlf' }), true)

    const errors: Error[] = []
    const wrongType = openFeed(t, {
      url: server.url,
      fetch: async () => new Response('{}', { headers: { 'content-type': 'application/json' } }),
      onError: (error) => errors.push(error),
    })
    void wrongType.start()
    await eventually(() => errors.length >= 2, 1000, 'two refused answers')
    assert.equal(wrongType.ready, false)
    assert.match(errors[0]!.message, /text\/event-stream/)
  })

  it('forgets expired entries, so memory follows the server list', async (t) => {
    const clock = manualClock()
    const server = await feedServer(t)
    server.add(
      { kind: 'jti', value: 'short', expiresAt: clock.t + 1000 },
      { kind: 'sub', value: 'u', before: 5, expiresAt: clock.t + 1000 },
      { kind: 'sid', value: 'long', expiresAt: clock.t + 600_000 },
    )
    // staleAfter 0.4 s: the maintenance timer runs every 100 ms.
    const feed = openFeed(t, { url: server.url, now: clock.now, staleAfter: 0.4 })
    await feed.start()
    assert.equal(feed.size, 3)
    clock.t += 1000
    await eventually(() => feed.size === 1, 2000, 'pruned')
    assert.equal(feed.isRevoked({ sid: 'long' }), true)
  })

  it('close() ends the stream and every timer, and resolves a pending start()', async (t) => {
    const server = await feedServer(t, { retry: 10 })
    const timers = (): number =>
      process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length
    const baseline = timers()

    const connected = createRevocationFeed({ url: server.url, onError: () => {} })
    await connected.start()
    assert.equal(server.openStreams, 1)
    assert.ok(timers() > baseline, 'the maintenance timer runs while open')
    await connected.close()
    await server.waitForNoStreams(1000)
    assert.equal(connected.ready, true)

    server.mode = 'refuse'
    const waiting = createRevocationFeed({
      url: server.url,
      reconnect: { minDelay: 5, maxDelay: 10 }, // asleep in its back-off when closed
      onError: () => {},
    })
    const started = waiting.start()
    await server.waitForRequests(2)
    await new Promise((resolve) => setTimeout(resolve, 20))
    await waiting.close()
    await started // resolves (not ready) instead of hanging
    assert.equal(waiting.ready, false)
    assert.equal(timers(), baseline, 'no timer left behind')
    await waiting.close() // twice is harmless

    const neverStarted = createRevocationFeed({ url: server.url })
    await neverStarted.close()
    await neverStarted.start() // resolves at once: closed before it began
    assert.equal(timers(), baseline)
  })
})
