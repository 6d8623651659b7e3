// GET /auth/revocations over the real service (test/support/harness.ts):
// who may read it, how the cursor is parsed, the exact bytes of the stream,
// the catch-up/live hand-off, heartbeats, the connection limit, and cleanup
// on disconnect and shutdown. The app sees the service through a thin
// wrapper that counts subscriptions and lets a test act in the middle of a
// store read. Streams are read over real sockets on 127.0.0.1 (inject()
// waits for a response to end, and a feed never does).

import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { type EventStreamReader, openEventStream } from '../../../test/support/event-stream.ts'
import { type Harness, harness } from '../../../test/support/harness.ts'
import type { AuthService } from '../../auth/types.ts'
import { type RevocationEntry, StoreUnavailableError } from '../../storage/ports.ts'
import type { BuildAppDeps } from '../app.ts'

const FEED_KEY = `${'k'.repeat(24)}-feed-key-for-tests`
const URL_PATH = '/auth/revocations'

interface Running {
  h: Harness
  app: FastifyInstance
  base: string
  /** Access tokens of users by role: service, admin, none of them. */
  tokens: { service: string; admin: string; user: string }
  /** Stores entries and enforces them, as a logout does; returns them with their ids. */
  revoke(entries: RevocationEntry[]): ReturnType<Harness['tessera']['revocations']['add']>
  /** `expiresAt` this many seconds from the (fixed) clock. */
  expiresIn(seconds: number): number
  /** Subscriptions to the revocation list the app holds now. */
  watchers(): number
  /** Store reads of the feed, as [since, limit]. */
  readonly reads: [number, number][]
  /** Runs before each store read of the feed; a throw fails the read. */
  beforeRead: ((since: number, limit: number) => Promise<void>) | undefined
  open(query?: string, headers?: Record<string, string>): Promise<EventStreamReader>
}

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function start(
  options: { env?: Record<string, string>; revocationFeed?: BuildAppDeps['revocationFeed'] } = {},
): Promise<Running> {
  const h = await harness({ TESSERA_REVOCATION_FEED_KEY: FEED_KEY, ...options.env })
  const service = h.tessera.auth
  let watchers = 0
  const auth: AuthService = {
    ...service,
    async revocationsSince(since, limit) {
      running.reads.push([since, limit])
      await running.beforeRead?.(since, limit)
      return service.revocationsSince(since, limit)
    },
    watchRevocations(listener) {
      watchers++
      const unsubscribe = service.watchRevocations(listener)
      let subscribed = true
      return () => {
        if (subscribed) watchers--
        subscribed = false
        unsubscribe()
      }
    },
  }
  const app = await h.buildApp({
    auth,
    ...(options.revocationFeed === undefined ? {} : { revocationFeed: options.revocationFeed }),
  })
  const token = async (email: string, roles: string[]) => {
    await h.user(email, { roles })
    return (await h.login(email)).tokens.accessToken
  }
  const tokens = {
    service: await token('service@example.com', ['service']),
    admin: await token('admin@example.com', ['admin']),
    user: await token('user@example.com', ['support']),
  }
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const running: Running = {
    h,
    app,
    base,
    tokens,
    revoke: (entries) => h.tessera.revocations.add(entries),
    expiresIn: (seconds) => h.clock.now + seconds * 1000,
    watchers: () => watchers,
    reads: [],
    beforeRead: undefined,
    async open(query = '', headers = { 'x-tessera-feed-key': FEED_KEY }) {
      const reader = await openEventStream(`${base}${URL_PATH}${query}`, headers)
      cleanups.push(() => reader.close())
      return reader
    },
  }
  return running
}

const isReady = (text: string) => text.includes('event: ready\n')

/** Polls `check` (for state the server changes after a socket event). */
async function eventually(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = performance.now() + ms
  while (!check()) {
    if (performance.now() > deadline) assert.fail(`timed out: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

function revocationIds(reader: EventStreamReader): number[] {
  return reader
    .events()
    .filter((event) => event.event === 'revocation')
    .map((event) => (JSON.parse(event.data) as { id: number }).id)
}

function readyCursor(reader: EventStreamReader): number | undefined {
  const ready = reader.events().find((event) => event.event === 'ready')
  return ready === undefined ? undefined : (JSON.parse(ready.data) as { cursor: number }).cursor
}

describe('GET /auth/revocations: access', () => {
  test('no credentials: 401 missing_token with a bare challenge, and the service untouched', async () => {
    const { app, h, watchers } = await start()
    const response = await app.inject({ url: URL_PATH })
    assert.equal(response.statusCode, 401)
    assert.equal(response.json().error.code, 'missing_token')
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="tessera"')
    assert.match(String(response.headers['content-type']), /^application\/json/)
    assert.equal(watchers(), 0)
    assert.ok(!h.calls.includes('revocationsSince'))
  })

  test('a bad token is 401 invalid_token; a token without service or admin is 403 forbidden', async () => {
    const { app, tokens } = await start()
    const bad = await app.inject({ url: URL_PATH, headers: { authorization: 'Bearer nope' } })
    assert.equal(bad.statusCode, 401)
    assert.equal(bad.json().error.code, 'invalid_token')
    const user = await app.inject({
      url: URL_PATH,
      headers: { authorization: `Bearer ${tokens.user}` },
    })
    assert.equal(user.statusCode, 403)
    assert.equal(user.json().error.code, 'forbidden')
  })

  test('a wrong feed key is 401 invalid_token, even next to a valid admin token', async () => {
    const { app, tokens } = await start()
    for (const key of [`${FEED_KEY}x`, FEED_KEY.slice(0, -1), '', 'x']) {
      const response = await app.inject({
        url: URL_PATH,
        headers: { 'x-tessera-feed-key': key, authorization: `Bearer ${tokens.admin}` },
      })
      assert.equal(response.statusCode, 401, `key ${JSON.stringify(key)}`)
      assert.equal(response.json().error.code, 'invalid_token')
      assert.ok(!response.body.includes(FEED_KEY), 'the key is never echoed')
    }
  })

  test('without a configured key the header is never accepted', async () => {
    const { app } = await start({ env: { TESSERA_REVOCATION_FEED_KEY: '' } })
    for (const key of [FEED_KEY, '', 'undefined']) {
      const response = await app.inject({ url: URL_PATH, headers: { 'x-tessera-feed-key': key } })
      assert.equal(response.statusCode, 401)
      assert.equal(response.json().error.code, 'invalid_token')
    }
  })

  test('the feed key, a service token and an admin token each open the stream', async () => {
    const running = await start()
    const { tokens } = running
    const accepted: Record<string, string>[] = [
      { 'x-tessera-feed-key': FEED_KEY },
      { authorization: `Bearer ${tokens.service}` },
      { authorization: `bearer  ${tokens.admin}` },
    ]
    for (const headers of accepted) {
      const feed = await running.open('', headers)
      assert.equal(feed.status, 200, JSON.stringify(Object.keys(headers)))
      await feed.waitFor(isReady)
      feed.close()
    }
  })
})

describe('GET /auth/revocations: cursor', () => {
  test('malformed since or Last-Event-ID: 400 validation_failed at its path, nothing subscribed', async () => {
    const { app, h, watchers } = await start()
    const headers = { 'x-tessera-feed-key': FEED_KEY }
    const cases: [string, Record<string, string>, string][] = [
      ['?since=-1', {}, '/since'],
      ['?since=abc', {}, '/since'],
      ['?since=1.5', {}, '/since'],
      ['?since=007', {}, '/since'],
      ['?since=9007199254740992', {}, '/since'],
      ['?since=', {}, '/since'],
      ['', { 'last-event-id': 'abc' }, '/last-event-id'],
      ['', { 'last-event-id': '-3' }, '/last-event-id'],
      ['', { 'last-event-id': '' }, '/last-event-id'],
      ['?since=1', { 'last-event-id': '1e3' }, '/last-event-id'],
    ]
    for (const [query, extra, path] of cases) {
      const response = await app.inject({
        url: `${URL_PATH}${query}`,
        headers: { ...headers, ...extra },
      })
      const label = `${query} ${JSON.stringify(extra)}: ${response.body}`
      assert.equal(response.statusCode, 400, label)
      const error = response.json().error as { code: string; issues: { path: string }[] }
      assert.equal(error.code, 'validation_failed', label)
      assert.deepEqual(
        error.issues.map((issue) => issue.path),
        [path],
        label,
      )
    }
    const unknown = await app.inject({ url: `${URL_PATH}?after=1`, headers })
    assert.equal(unknown.json().error.code, 'validation_failed')
    assert.equal(watchers(), 0)
    assert.deepEqual(
      h.calls.filter((call) => call === 'revocationsSince' || call === 'watchRevocations'),
      [],
    )
  })

  test('since skips older entries; Last-Event-ID wins over since; a cursor past the end is echoed', async () => {
    const running = await start()
    const expiresAt = running.expiresIn(600)
    await running.revoke([
      { kind: 'jti', value: 'a', expiresAt },
      { kind: 'jti', value: 'b', expiresAt },
      { kind: 'jti', value: 'c', expiresAt },
    ])
    const all = await running.open()
    await all.waitFor(isReady)
    assert.deepEqual(revocationIds(all), [1, 2, 3])
    assert.equal(readyCursor(all), 3)

    const since = await running.open('?since=1')
    await since.waitFor(isReady)
    assert.deepEqual(revocationIds(since), [2, 3])

    const resumed = await running.open('?since=0', {
      'x-tessera-feed-key': FEED_KEY,
      'last-event-id': '2',
    })
    await resumed.waitFor(isReady)
    assert.deepEqual(revocationIds(resumed), [3])

    const ahead = await running.open('?since=40')
    await ahead.waitFor(isReady)
    assert.deepEqual(revocationIds(ahead), [])
    assert.equal(readyCursor(ahead), 40)
  })
})

describe('GET /auth/revocations: the stream', () => {
  test('headers: event stream, no-store, unbuffered, keep-alive, the usual security headers', async () => {
    const running = await start()
    const feed = await running.open()
    assert.equal(feed.status, 200)
    assert.equal(feed.headers['content-type'], 'text/event-stream; charset=utf-8')
    assert.equal(feed.headers['cache-control'], 'no-store')
    assert.equal(feed.headers['x-accel-buffering'], 'no')
    assert.equal(feed.headers.connection, 'keep-alive')
    assert.equal(feed.headers['content-length'], undefined)
    assert.equal(feed.headers['x-content-type-options'], 'nosniff')
    assert.match(String(feed.headers['x-request-id']), /^[0-9a-f-]{36}$/)
  })

  test('the exact bytes: retry, the catch-up in id order without expired entries, then ready', async () => {
    const running = await start()
    const expiresAt = running.expiresIn(960)
    await running.revoke([
      { kind: 'jti', value: 'token-1', expiresAt },
      { kind: 'sid', value: 'session-1', expiresAt: running.expiresIn(-1) },
      { kind: 'sid', value: 'session-2', expiresAt },
      { kind: 'sub', value: 'user-1', before: 1_735_689_600, expiresAt },
    ])
    const feed = await running.open()
    await feed.waitFor(isReady)
    assert.equal(
      feed.text(),
      'retry: 2000\n\n' +
        `id: 1\nevent: revocation\ndata: {"id":1,"kind":"jti","value":"token-1","expiresAt":${expiresAt}}\n\n` +
        `id: 3\nevent: revocation\ndata: {"id":3,"kind":"sid","value":"session-2","expiresAt":${expiresAt}}\n\n` +
        `id: 4\nevent: revocation\ndata: {"id":4,"kind":"sub","value":"user-1","before":1735689600,"expiresAt":${expiresAt}}\n\n` +
        'event: ready\ndata: {"cursor":4}\n\n',
    )
  })

  test('live entries follow ready, each once, in the order they are enforced', async () => {
    const running = await start()
    const feed = await running.open()
    await feed.waitFor(isReady)
    assert.equal(readyCursor(feed), 0)
    const expiresAt = running.expiresIn(600)
    const [first] = await running.revoke([{ kind: 'sid', value: 'live-1', expiresAt }])
    await feed.waitFor((text) => text.includes('"live-1"'))
    await running.revoke([
      { kind: 'jti', value: 'live-2', expiresAt },
      { kind: 'sub', value: 'live-3', before: 1_735_689_601, expiresAt },
    ])
    await feed.waitFor((text) => text.includes('"live-3"'))
    assert.deepEqual(revocationIds(feed), [1, 2, 3])
    assert.deepEqual(feed.events().at(-1), {
      id: '3',
      event: 'revocation',
      data: `{"id":3,"kind":"sub","value":"live-3","before":1735689601,"expiresAt":${expiresAt}}`,
    })
    assert.equal(first?.id, 1)
  })

  test('entries enforced during the catch-up are buffered, deduplicated, and sent before ready', async () => {
    const running = await start()
    const expiresAt = running.expiresIn(600)
    await running.revoke([{ kind: 'jti', value: 'stored-before', expiresAt }])
    let once = true
    running.beforeRead = async () => {
      if (!once) return
      once = false
      // Stored and announced while the read is under way: the read sees it
      // too, and it must still arrive only once.
      await running.revoke([{ kind: 'sid', value: 'during-read', expiresAt }])
      // Another instance's entry as its fan-out hands it over: enforced and
      // announced here, stored only in the other instance's view, twice.
      const fanout = { id: 50, kind: 'jti' as const, value: 'fan-out', expiresAt, createdAt: 0 }
      running.h.tessera.revocations.apply([fanout])
      running.h.tessera.revocations.apply([fanout])
    }
    const feed = await running.open()
    await feed.waitFor(isReady)
    assert.deepEqual(revocationIds(feed), [1, 2, 50])
    assert.equal(readyCursor(feed), 50)
    assert.equal(feed.events().at(-1)?.event, 'ready')
  })

  test('the catch-up pages through the store in batches of 1000', async () => {
    const running = await start()
    const expiresAt = running.expiresIn(600)
    await running.revoke(
      Array.from({ length: 2500 }, (_, i) => ({ kind: 'jti' as const, value: `t${i}`, expiresAt })),
    )
    const feed = await running.open('?since=0')
    await feed.waitFor(isReady)
    assert.deepEqual(running.reads, [
      [0, 1000],
      [1000, 1000],
      [2000, 1000],
    ])
    const ids = revocationIds(feed)
    assert.equal(ids.length, 2500)
    assert.deepEqual(
      ids,
      Array.from({ length: 2500 }, (_, i) => i + 1),
    )
    assert.equal(readyCursor(feed), 2500)
  })

  test('a heartbeat comment at the configured interval', async () => {
    const running = await start({ revocationFeed: { heartbeatMs: 25 } })
    const feed = await running.open()
    await feed.waitFor((text) => text.split(': heartbeat\n\n').length >= 4)
    assert.ok(
      feed
        .text()
        .split('\n\n')
        .every(
          (block) =>
            block === '' ||
            block === ': heartbeat' ||
            block === 'retry: 2000' ||
            block.startsWith('event: ready'),
        ),
    )
  })

  test('the store failing before the stream starts is an ordinary 503, with nothing left subscribed', async () => {
    const running = await start()
    const { app } = running
    running.beforeRead = async () => {
      throw new StoreUnavailableError()
    }
    const response = await app.inject({
      url: URL_PATH,
      headers: { 'x-tessera-feed-key': FEED_KEY },
    })
    assert.equal(response.statusCode, 503)
    assert.equal(response.json().error.code, 'unavailable')
    assert.equal(response.headers['retry-after'], '1')
    assert.equal(running.watchers(), 0)
  })

  test('the store failing after the first page ends the stream', async () => {
    const running = await start()
    const expiresAt = running.expiresIn(600)
    await running.revoke(
      Array.from({ length: 1200 }, (_, i) => ({ kind: 'jti' as const, value: `t${i}`, expiresAt })),
    )
    running.beforeRead = async (since) => {
      if (since > 0) throw new StoreUnavailableError()
    }
    const feed = await running.open()
    assert.equal(await feed.ended, true)
    assert.equal(revocationIds(feed).length, 1000)
    assert.ok(!isReady(feed.text()))
    await eventually(() => running.watchers() === 0, 'unsubscribed')
  })
})

describe('GET /auth/revocations: connections', () => {
  test('a client that disconnects is unsubscribed and frees its slot', async () => {
    const running = await start({ revocationFeed: { maxConnections: 1, heartbeatMs: 10 } })
    const feed = await running.open()
    await feed.waitFor(isReady)
    assert.equal(running.watchers(), 1)
    feed.close()
    await eventually(() => running.watchers() === 0, 'the listener removed')
    const next = await running.open()
    assert.equal(next.status, 200, 'the slot was freed')
    await next.waitFor(isReady)
    // Entries announced now reach only the open stream (and throw nowhere).
    await running.revoke([{ kind: 'jti', value: 'after', expiresAt: running.expiresIn(60) }])
    await next.waitFor((text) => text.includes('"after"'))
  })

  test('beyond the connection limit: 503 unavailable with Retry-After, as JSON', async () => {
    const running = await start({ revocationFeed: { maxConnections: 2 } })
    const open = [await running.open(), await running.open()]
    for (const feed of open) assert.equal(feed.status, 200)
    const refused = await running.open()
    assert.equal(refused.status, 503)
    assert.equal(refused.headers['retry-after'], '2')
    assert.equal(await refused.ended, true)
    assert.equal(JSON.parse(refused.text()).error.code, 'unavailable')
    assert.equal(running.watchers(), 2)
  })

  test('a reader that stops reading is dropped once too much is queued', async () => {
    const running = await start({ revocationFeed: { maxBufferedBytes: 64 * 1024 } })
    const feed = await running.open()
    await feed.waitFor(isReady)
    feed.pause()
    const expiresAt = running.expiresIn(600)
    const big = 'v'.repeat(64 * 1024)
    // Far more than the socket buffers hold, in batches like a burst of logouts.
    for (let batch = 0; batch < 40 && running.watchers() > 0; batch++) {
      await running.revoke(
        Array.from({ length: 16 }, (_, i) => ({
          kind: 'jti' as const,
          value: `${big}${batch}-${i}`,
          expiresAt,
        })),
      )
      await new Promise((resolve) => setImmediate(resolve))
    }
    await eventually(() => running.watchers() === 0, 'the slow reader dropped')
  })

  test('app.close() ends open feeds at once and finishes promptly', async () => {
    const running = await start()
    const feeds = [await running.open(), await running.open()]
    await Promise.all(feeds.map((feed) => feed.waitFor(isReady)))
    const started = performance.now()
    await running.app.close()
    const elapsed = performance.now() - started
    assert.ok(elapsed < 1000, `close took ${Math.round(elapsed)} ms`)
    for (const feed of feeds) assert.equal(await feed.ended, true, 'ended cleanly, not cut')
    assert.equal(running.watchers(), 0)
  })

  test('app.close() does not wait on a reader that stopped reading', async () => {
    const running = await start({ revocationFeed: { maxBufferedBytes: 64 << 20 } })
    const feed = await running.open()
    await feed.waitFor(isReady)
    feed.pause()
    const big = 'v'.repeat(64 * 1024)
    // Enough to fill the socket buffers, under the slow-reader limit.
    for (let batch = 0; batch < 40; batch++) {
      await running.revoke(
        Array.from({ length: 16 }, (_, i) => ({
          kind: 'jti' as const,
          value: `${big}${batch}-${i}`,
          expiresAt: running.expiresIn(600),
        })),
      )
      await new Promise((resolve) => setImmediate(resolve))
    }
    assert.equal(running.watchers(), 1, 'still open before close')
    const started = performance.now()
    await running.app.close()
    const elapsed = performance.now() - started
    assert.ok(elapsed < 3000, `close took ${Math.round(elapsed)} ms`)
    assert.equal(running.watchers(), 0)
  })
})
