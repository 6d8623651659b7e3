// GET /auth/revocations end to end: the real service on in-memory SQLite,
// listening on 127.0.0.1, read over a socket as a resource server would.
// Logouts reach an open feed at once, a reconnection resumes from
// Last-Event-ID, logout-all carries `before`, expired entries stay out (the
// clock is moved, not waited on), and shutdown does not wait on open feeds.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, it } from 'node:test'
import { decode } from '@tessera/jwt'
import pino from 'pino'
import { createTessera, type Tessera } from '../src/tessera.ts'
import { type EventStreamReader, openEventStream } from './support/event-stream.ts'
import { testConfig } from './support/harness.ts'

const FAST_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 }
const PASSWORD = 'correct horse battery staple'
const FEED_KEY = randomBytes(32).toString('base64url')
const ACCESS_TTL_S = 900
/** The service keeps an entry for the access-token lifetime plus a minute of clock skew. */
const ENTRY_TTL_MS = ACCESS_TTL_S * 1000 + 60_000

interface Entry {
  id: number
  kind: 'jti' | 'sid' | 'sub'
  value: string
  before?: number
  expiresAt: number
}

interface Harness {
  tessera: Tessera
  clock: { now: number }
  /** Opens the feed (the feed key unless other headers are given). */
  feed(query?: string, headers?: Record<string, string>): Promise<EventStreamReader>
  /** Signs up and returns the tokens with the session id and user id of the access token. */
  signup(email: string): Promise<{ accessToken: string; sessionId: string; userId: string }>
  post(url: string, token: string): Promise<number>
}

const open: Tessera[] = []
const readers: EventStreamReader[] = []
afterEach(async () => {
  for (const reader of readers.splice(0)) reader.close()
  for (const tessera of open.splice(0)) await tessera.close()
})

async function harness(): Promise<Harness> {
  const clock = { now: Date.parse('2026-06-01T12:00:00Z') }
  const config = testConfig({
    TESSERA_DATABASE_URL: 'sqlite::memory:',
    TESSERA_MASTER_KEY: randomBytes(32).toString('base64url'),
    TESSERA_LOG_LEVEL: 'silent',
    TESSERA_ACCESS_TOKEN_TTL: `${ACCESS_TTL_S}s`,
    TESSERA_REVOCATION_FEED_KEY: FEED_KEY,
  })
  const tessera = await createTessera(config, {
    now: () => clock.now,
    logger: pino({ level: 'silent' }),
    maintenanceInterval: 0,
    argon2: FAST_ARGON2,
  })
  open.push(tessera)
  await tessera.app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(tessera.app.server.address() as AddressInfo).port}`
  return {
    tessera,
    clock,
    async feed(query = '', headers = { 'x-tessera-feed-key': FEED_KEY }) {
      const reader = await openEventStream(`${base}/auth/revocations${query}`, headers)
      readers.push(reader)
      return reader
    },
    async signup(email) {
      const response = await tessera.app.inject({
        method: 'POST',
        url: '/auth/signup',
        payload: { email, password: PASSWORD },
      })
      assert.equal(response.statusCode, 201, response.body)
      const accessToken = response.json().accessToken as string
      const { payload } = decode(accessToken)
      return { accessToken, sessionId: String(payload.sid), userId: String(payload.sub) }
    },
    async post(url, token) {
      const response = await tessera.app.inject({
        method: 'POST',
        url,
        headers: { authorization: `Bearer ${token}` },
      })
      return response.statusCode
    },
  }
}

const isReady = (text: string) => text.includes('event: ready\n')

function entries(reader: EventStreamReader): Entry[] {
  return reader
    .events()
    .filter((event) => event.event === 'revocation')
    .map((event) => {
      const entry = JSON.parse(event.data) as Entry
      assert.equal(event.id, String(entry.id), 'the id field is the entry id')
      return entry
    })
}

function readyCursor(reader: EventStreamReader): number | undefined {
  const ready = reader.events().find((event) => event.event === 'ready')
  return ready === undefined ? undefined : (JSON.parse(ready.data) as { cursor: number }).cursor
}

describe('revocation feed on the real service', () => {
  it('a logout reaches an open feed as a sid entry within a second', async () => {
    const h = await harness()
    const alice = await h.signup('alice@example.com')
    const feed = await h.feed()
    assert.equal(feed.status, 200)
    await feed.waitFor(isReady)
    assert.deepEqual(entries(feed), [])
    assert.equal(readyCursor(feed), 0)

    assert.equal(await h.post('/auth/logout', alice.accessToken), 204)
    await feed.waitFor((text) => text.includes(alice.sessionId), 1000)
    const [entry] = entries(feed)
    assert.ok(entry !== undefined && entry.id > 0)
    assert.deepEqual(entry, {
      id: entry.id,
      kind: 'sid',
      value: alice.sessionId,
      expiresAt: h.clock.now + ENTRY_TTL_MS,
    })
    assert.equal(entries(feed).length, 1)
  })

  it('a service-role token opens the feed; a token without the role is 403', async () => {
    const h = await harness()
    const user = await h.signup('svc@example.com')
    const denied = await h.feed('', { authorization: `Bearer ${user.accessToken}` })
    assert.equal(denied.status, 403)
    assert.equal(await denied.ended, true)
    assert.equal(JSON.parse(denied.text()).error.code, 'forbidden')

    await h.tessera.store.users.updateUser(user.userId, {
      roles: ['service'],
      updatedAt: h.clock.now,
    })
    const login = await h.tessera.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'svc@example.com', password: PASSWORD },
    })
    const serviceToken = login.json().accessToken as string
    assert.deepEqual(decode(serviceToken).payload.roles, ['service'])
    const feed = await h.feed('', { authorization: `Bearer ${serviceToken}` })
    assert.equal(feed.status, 200)
    await feed.waitFor(isReady)
  })

  it('a reconnection with Last-Event-ID gets only the newer entries', async () => {
    const h = await harness()
    const [alice, bob, carol] = [
      await h.signup('alice@example.com'),
      await h.signup('bob@example.com'),
      await h.signup('carol@example.com'),
    ]
    const first = await h.feed()
    await first.waitFor(isReady)
    assert.equal(await h.post('/auth/logout', alice.accessToken), 204)
    await first.waitFor((text) => text.includes(alice.sessionId), 1000)
    const lastId = first.events().at(-1)?.id
    assert.ok(lastId !== undefined)
    first.close()

    // While no feed is open.
    assert.equal(await h.post('/auth/logout', bob.accessToken), 204)
    assert.equal(await h.post('/auth/logout', carol.accessToken), 204)

    const resumed = await h.feed('', { 'x-tessera-feed-key': FEED_KEY, 'last-event-id': lastId })
    await resumed.waitFor(isReady)
    const got = entries(resumed)
    assert.deepEqual(
      got.map((entry) => entry.value),
      [bob.sessionId, carol.sessionId],
    )
    assert.ok(got.every((entry) => entry.id > Number(lastId)))
    assert.equal(readyCursor(resumed), got.at(-1)?.id)

    // And from the start, everything is still there.
    const everything = await h.feed('?since=0')
    await everything.waitFor(isReady)
    assert.deepEqual(
      entries(everything).map((entry) => entry.value),
      [alice.sessionId, bob.sessionId, carol.sessionId],
    )
  })

  it('logout-all sends a sub entry with before, alongside the sid entries', async () => {
    const h = await harness()
    const first = await h.signup('dana@example.com')
    const second = await h.tessera.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'dana@example.com', password: PASSWORD },
    })
    const secondSession = String(decode(second.json().accessToken as string).payload.sid)
    const feed = await h.feed()
    await feed.waitFor(isReady)

    assert.equal(await h.post('/auth/logout-all', first.accessToken), 204)
    await feed.waitFor((text) => text.includes('"kind":"sub"'), 1000)
    const got = entries(feed)
    const sub = got.find((entry) => entry.kind === 'sub')
    assert.deepEqual(sub, {
      id: sub?.id,
      kind: 'sub',
      value: first.userId,
      // The second after the change: no token of the change's own second survives.
      before: Math.floor(h.clock.now / 1000) + 1,
      expiresAt: h.clock.now + ENTRY_TTL_MS,
    })
    assert.deepEqual(
      got
        .filter((entry) => entry.kind === 'sid')
        .map((entry) => entry.value)
        .sort(),
      [first.sessionId, secondSession].sort(),
    )
    assert.ok(got.every((entry) => entry.kind !== 'sid' || !('before' in entry)))
  })

  it('expired entries are not sent; newer ones still are', async () => {
    const h = await harness()
    const old = await h.signup('old@example.com')
    assert.equal(await h.post('/auth/logout', old.accessToken), 204)
    h.clock.now += ENTRY_TTL_MS
    const fresh = await h.signup('fresh@example.com')
    assert.equal(await h.post('/auth/logout', fresh.accessToken), 204)

    const feed = await h.feed('?since=0')
    await feed.waitFor(isReady)
    assert.deepEqual(
      entries(feed).map((entry) => entry.value),
      [fresh.sessionId],
    )

    h.clock.now += ENTRY_TTL_MS
    const later = await h.feed('?since=0')
    await later.waitFor(isReady)
    assert.deepEqual(entries(later), [])
    assert.equal(readyCursor(later), 0)
  })

  it('closing the server with an open feed finishes promptly and ends the stream', async () => {
    const h = await harness()
    const feeds = [await h.feed(), await h.feed()]
    await Promise.all(feeds.map((feed) => feed.waitFor(isReady)))
    const started = performance.now()
    await h.tessera.close()
    open.splice(open.indexOf(h.tessera), 1)
    const elapsed = performance.now() - started
    assert.ok(elapsed < 1000, `close took ${Math.round(elapsed)} ms`)
    for (const feed of feeds) assert.equal(await feed.ended, true)
  })
})
