// Shared rate limits and revocation fan-out against a real Redis, named by
// TESSERA_TEST_REDIS_URL. Unset: the Redis suites are skipped (with the
// reason in the report); under CI=true an unset or unreachable Redis fails.
// Outages are simulated with a TCP proxy between client and Redis; the shared
// Redis server is never stopped. Every run uses its own key namespace and
// channel and deletes its keys at the end.

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { after, before, describe, type TestContext, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { startTcpProxy, type TcpProxy } from '../../../test/support/tcp-proxy.ts'
import { AuthError } from '../../auth/errors.ts'
import { createRateLimits, type RateLimitConfig } from '../../auth/rate-limits.ts'
import { createRevocationList, type RevocationList } from '../../auth/revocation.ts'
import type { Store, StoredRevocation } from '../ports.ts'
import { createSqlStore } from '../sql/index.ts'
import {
  closeRedis,
  createRedisConnection,
  describeRedisUrl,
  reconnectDelay,
} from './connection.ts'
import { createRedisRateLimiterFactory } from './rate-limiter.ts'
import {
  createRevocationFanout,
  parseFanoutMessage,
  type RevocationFanout,
  skipsPastCursor,
} from './revocation-fanout.ts'

const redisUrl = process.env.TESSERA_TEST_REDIS_URL
const skip =
  redisUrl === undefined && process.env.CI !== 'true'
    ? 'set TESSERA_TEST_REDIS_URL, e.g. redis://127.0.0.1:6379'
    : false

// ---------------------------------------------------------------- helpers

interface LogLine {
  level: 'info' | 'warn' | 'debug'
  fields: Record<string, unknown>
  message: string
}

function recordingLog() {
  const lines: LogLine[] = []
  const record = (level: LogLine['level']) => (fields: Record<string, unknown>, message: string) =>
    lines.push({ level, fields, message })
  return {
    lines,
    log: { info: record('info'), warn: record('warn'), debug: record('debug') },
    /** Lines at `level` whose message contains `text`. */
    count: (level: LogLine['level'], text: string) =>
      lines.filter((line) => line.level === level && line.message.includes(text)).length,
  }
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 3_000): Promise<number> {
  const started = performance.now()
  while (!check()) {
    if (performance.now() - started > timeoutMs) assert.fail(`timed out waiting for ${what}`)
    await sleep(5)
  }
  return performance.now() - started
}

async function ready(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') await once(redis, 'ready')
}

/** The shared outage proxy, addressed by a redis:// URL through it. */
interface Proxy extends TcpProxy {
  readonly url: string
}

async function startProxy(targetUrl: string): Promise<Proxy> {
  const target = new URL(targetUrl)
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) })
  const viaProxy = new URL(targetUrl)
  viaProxy.hostname = '127.0.0.1'
  viaProxy.port = String(proxy.port)
  return Object.assign(proxy, { url: viaProxy.toString() })
}

const SIGNUPS = 3
const rateConfig: RateLimitConfig = {
  loginRateLimit: {
    ipPoints: 100,
    ipWindowSeconds: 900,
    freeFailures: 1,
    accountFreeFailures: 10,
    maxBackoffSeconds: 60,
  },
  signupRateLimit: SIGNUPS,
  refreshRateLimit: 60,
}

async function rateLimitedCode(run: () => Promise<void>): Promise<string> {
  try {
    await run()
  } catch (error) {
    assert.ok(error instanceof AuthError, `expected an AuthError, got ${String(error)}`)
    return error.code
  }
  return 'passed'
}

// ---------------------------------------------------------- without Redis

describe('Redis helpers (no server needed)', () => {
  test('describeRedisUrl drops user and password', () => {
    assert.equal(describeRedisUrl('rediss://admin:s3cret-pw@cache:6380/2'), 'rediss://cache:6380/2')
    assert.equal(describeRedisUrl('redis://:s3cret-pw@cache'), 'redis://cache')
    assert.equal(describeRedisUrl('not a url'), '<invalid Redis URL>')
  })

  test('createRedisConnection refuses a bad URL without echoing it', () => {
    const { log } = recordingLog()
    assert.throws(
      () => createRedisConnection('http://user:s3cret-pw@cache', { log, name: 'x' }),
      (error: unknown) =>
        error instanceof TypeError &&
        !error.message.includes('s3cret-pw') &&
        /redis:\/\//.test(error.message),
    )
    assert.throws(
      () => createRedisConnection('redis://cache', { log, name: 'has space' }),
      TypeError,
    )
  })

  test('connections fail fast instead of queueing, and only connect when asked', async () => {
    const { log } = recordingLog()
    const commands = createRedisConnection('redis://127.0.0.1:1', { log, name: 'c' })
    const subscriber = createRedisConnection('redis://127.0.0.1:1', {
      log,
      name: 's',
      role: 'subscriber',
    })
    for (const redis of [commands, subscriber]) {
      assert.equal(redis.status, 'wait')
      assert.equal(redis.options.lazyConnect, true)
      assert.equal(redis.options.enableOfflineQueue, false)
      assert.equal(redis.options.maxRetriesPerRequest, 1)
      assert.equal(redis.options.connectTimeout, 2_000)
    }
    assert.equal(commands.options.commandTimeout, 1_000)
    assert.equal(subscriber.options.commandTimeout, undefined)
    assert.equal(subscriber.options.autoResubscribe, false)
    await Promise.all([closeRedis(commands), closeRedis(subscriber)])
  })

  test('reconnect back-off grows and is capped', () => {
    assert.ok(reconnectDelay(1, 2_000) <= 50 && reconnectDelay(1, 2_000) >= 40)
    assert.ok(reconnectDelay(4, 2_000) >= 320 && reconnectDelay(4, 2_000) <= 400)
    for (const attempt of [10, 100, 10_000]) {
      const delay = reconnectDelay(attempt, 2_000)
      assert.ok(delay <= 2_000 && delay >= 1_600, `attempt ${attempt}: ${delay}`)
    }
  })

  test('parseFanoutMessage accepts our messages only, rebuilding each entry', () => {
    const entry = { id: 7, createdAt: 1, kind: 'sub', value: 'u1', before: 5, expiresAt: 9 }
    const ok = parseFanoutMessage(
      JSON.stringify({ v: 1, from: 'a', entries: [{ ...entry, extra: 'dropped' }] }),
    )
    assert.deepEqual(ok, { from: 'a', entries: [entry] })
    const bad = [
      'not json',
      'null',
      JSON.stringify({ v: 2, from: 'a', entries: [entry] }),
      JSON.stringify({ v: 1, entries: [entry] }),
      JSON.stringify({ v: 1, from: 'a', entries: [] }),
      JSON.stringify({ v: 1, from: 'a', entries: [{ ...entry, before: undefined }] }),
      JSON.stringify({ v: 1, from: 'a', entries: [{ ...entry, id: 0 }] }),
      JSON.stringify({ v: 1, from: 'a', entries: [{ ...entry, id: 1.5 }] }),
      JSON.stringify({ v: 1, from: 'a', entries: [{ ...entry, kind: 'iss' }] }),
      JSON.stringify({ v: 1, from: 'a', entries: [{ ...entry, value: 'x'.repeat(2_000) }] }),
    ]
    for (const text of bad) assert.equal(parseFanoutMessage(text), undefined, text)
  })

  test('skipsPastCursor finds a missing id after the cursor, in any order', () => {
    const ids = (...list: number[]) => list.map((id) => ({ id }) as StoredRevocation)
    assert.equal(skipsPastCursor(ids(5), 4), false)
    assert.equal(skipsPastCursor(ids(6, 5), 4), false)
    assert.equal(skipsPastCursor(ids(2, 3), 9), false, 'old entries are no gap')
    assert.equal(skipsPastCursor(ids(6), 4), true)
    assert.equal(skipsPastCursor(ids(5, 7), 4), true)
  })
})

// ------------------------------------------------------------- with Redis

describe('with a real Redis', { skip, timeout: 20_000 }, () => {
  const namespace = `tessera-test:${randomUUID()}:`
  let admin: Redis
  let url: string

  before(async () => {
    if (redisUrl === undefined) throw new Error('CI=true: TESSERA_TEST_REDIS_URL must be set')
    url = redisUrl
    admin = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 2_000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    })
    try {
      await admin.connect()
      await admin.ping()
    } catch (error) {
      admin.disconnect()
      throw new Error(`Redis at ${describeRedisUrl(url)} is unreachable`, { cause: error })
    }
  })

  after(async () => {
    if (admin === undefined || admin.status !== 'ready') return
    const keys = await admin.keys(`${namespace}*`)
    if (keys.length > 0) await admin.del(...keys)
    await admin.quit()
  })

  /** A client closed when the test ends. */
  function connection(t: TestContext, name: string, target = url, tuning = {}): Redis {
    const { log } = recordingLog()
    const redis = createRedisConnection(target, { log, name, maxReconnectDelayMs: 100, ...tuning })
    t.after(() => closeRedis(redis))
    return redis
  }

  async function proxy(t: TestContext): Promise<Proxy> {
    const started = await startProxy(url)
    t.after(() => started.close())
    return started
  }

  describe('rate limits', () => {
    test('two instances share one budget and one back-off', async (t) => {
      const recorded = recordingLog()
      const [redisA, redisB] = [connection(t, 'rl-a'), connection(t, 'rl-b')]
      const limitsA = createRateLimits(rateConfig, {
        factory: createRedisRateLimiterFactory({ redis: redisA, log: recorded.log, namespace }),
      })
      const limitsB = createRateLimits(rateConfig, {
        factory: createRedisRateLimiterFactory({ redis: redisB, log: recorded.log, namespace }),
      })
      await Promise.all([ready(redisA), ready(redisB)])

      const ip = '192.0.2.10'
      await limitsA.checkSignup(ip)
      await limitsB.checkSignup(ip)
      await limitsA.checkSignup(ip)
      assert.equal(await rateLimitedCode(() => limitsB.checkSignup(ip)), 'rate_limited')
      assert.equal(await rateLimitedCode(() => limitsA.checkSignup(ip)), 'rate_limited')
      assert.equal(await admin.get(`${namespace}tessera:signup-ip:${ip}`), String(SIGNUPS + 2))

      const email = 'victim@example.com'
      await limitsA.loginFailed(email, ip)
      await limitsA.loginFailed(email, ip)
      assert.equal(await rateLimitedCode(() => limitsB.checkLogin(email, ip)), 'rate_limited')
      // Another address, with no failures of its own, is not held back by these.
      await limitsB.checkLogin(email, '198.51.100.1')
      await limitsB.loginSucceeded(email, ip)
      await limitsA.checkLogin(email, ip)

      const keys = await admin.keys(`${namespace}*`)
      assert.ok(keys.length >= 3, keys.join())
      assert.ok(keys.every((key) => !key.includes('victim') && !key.includes('example.com')))
      assert.equal(recorded.count('warn', 'Redis unavailable'), 0)
    })

    test('Redis unreachable: each instance limits from memory, logs once, and shares again after', async (t) => {
      const recorded = recordingLog()
      const cut = await proxy(t)
      const redis = connection(t, 'rl-fallback', cut.url)
      const limits = createRateLimits(rateConfig, {
        factory: createRedisRateLimiterFactory({ redis, log: recorded.log, namespace }),
      })
      await ready(redis)
      const ip = '192.0.2.20'
      const key = `${namespace}tessera:signup-ip:${ip}`
      await limits.checkSignup(ip)
      assert.equal(await admin.get(key), '1')

      await cut.down()
      await waitFor('the fallback warning', () => recorded.count('warn', 'Redis unavailable') > 0)
      // A fresh in-memory budget, answered at once, never an error.
      for (let i = 0; i < SIGNUPS; i++) {
        const started = performance.now()
        await limits.checkSignup(ip)
        assert.ok(performance.now() - started < 200, 'fails over fast')
      }
      assert.equal(await rateLimitedCode(() => limits.checkSignup(ip)), 'rate_limited')
      await limits.checkLogin('someone@example.com', ip)
      await limits.loginFailed('someone@example.com', ip)
      await sleep(300) // several reconnect attempts fail meanwhile
      assert.equal(await admin.get(key), '1', 'Redis was not reached')
      assert.equal(
        recorded.count('warn', 'rate limits are per instance until it returns'),
        1,
        'logged once',
      )

      await cut.up()
      await waitFor('the recovery line', () => recorded.count('info', 'Redis is back') > 0)
      await limits.checkSignup(ip)
      assert.equal(await admin.get(key), '2', 'counting in Redis again')
      assert.equal(recorded.count('info', 'Redis is back'), 1)
      assert.equal(recorded.count('warn', 'Redis unavailable'), 1)
    })

    test('Redis not answering: commands time out to memory; a probe notices the end', async (t) => {
      const recorded = recordingLog()
      const cut = await proxy(t)
      const redis = connection(t, 'rl-hung', cut.url, { commandTimeoutMs: 150 })
      const limits = createRateLimits(rateConfig, {
        factory: createRedisRateLimiterFactory({
          redis,
          log: recorded.log,
          namespace,
          probeIntervalMs: 50,
        }),
      })
      await ready(redis)
      const ip = '192.0.2.30'
      cut.freeze()
      const started = performance.now()
      await limits.checkSignup(ip)
      await limits.checkSignup(ip)
      assert.ok(performance.now() - started < 1_000)
      assert.equal(recorded.count('warn', 'Redis unavailable'), 1)
      assert.equal(
        recorded.lines.find((line) => line.level === 'warn')?.fields.reason,
        'Redis did not answer',
      )
      await sleep(200) // probes time out too while frozen
      assert.equal(recorded.count('info', 'Redis is back'), 0)
      cut.thaw()
      await waitFor('the recovery line', () => recorded.count('info', 'Redis is back') > 0)
      assert.equal(recorded.count('warn', 'Redis unavailable'), 1)
    })
  })

  describe('revocation fan-out', () => {
    let store: Store
    before(async () => {
      store = await createSqlStore('sqlite::memory:')
      await store.migrate()
    })
    after(() => store.close())

    /** A list on the shared store, with its apply() and sync() calls counted. */
    function instance() {
      const list = createRevocationList({ store: store.revocations, now: Date.now })
      const calls = { applied: [] as StoredRevocation[], syncs: 0 }
      const observed: Pick<RevocationList, 'apply' | 'sync' | 'cursor'> = {
        apply(entries) {
          calls.applied.push(...entries)
          list.apply(entries)
        },
        sync() {
          calls.syncs++
          return list.sync()
        },
        get cursor() {
          return list.cursor
        },
      }
      return { list, observed, calls }
    }

    async function fanout(
      t: TestContext,
      options: Omit<Parameters<typeof createRevocationFanout>[0], 'channel' | 'connection'>,
    ): Promise<RevocationFanout> {
      const created = createRevocationFanout({
        ...options,
        channel: `${namespace}revocations`,
        connection: { maxReconnectDelayMs: 100 },
      })
      t.after(() => created.close())
      await created.start()
      return created
    }

    const sid = (value: string) => ({
      kind: 'sid' as const,
      value,
      expiresAt: Date.now() + 60_000,
    })

    test('an entry added on A is enforced on B within a second; nobody applies its own', async (t) => {
      const recorded = recordingLog()
      const a = instance()
      const b = instance()
      await Promise.all([a.list.load(), b.list.load()])
      const fanA = await fanout(t, { url, list: a.observed, log: recorded.log, instanceId: 'a' })
      const fanB = await fanout(t, { url, list: b.observed, log: recorded.log, instanceId: 'b' })
      const syncsAtStart = b.calls.syncs

      const stored = await a.list.add([sid(`s-${randomUUID()}`)])
      await fanA.publish(stored)
      const took = await waitFor(
        'B to enforce',
        () => b.list.isRevoked({ sid: stored[0]!.value }),
        1_000,
      )
      assert.ok(took < 1_000)
      assert.equal(b.calls.syncs, syncsAtStart, 'delivered by the message, no catch-up needed')
      assert.equal(b.list.cursor, stored[0]!.id)

      // B's own entry reaches A; by then A has also seen (and ignored) its own.
      const fromB = await b.list.add([sid(`s-${randomUUID()}`)])
      await fanB.publish(fromB)
      await waitFor('A to enforce', () => a.list.isRevoked({ sid: fromB[0]!.value }), 1_000)
      assert.deepEqual(
        a.calls.applied.map((entry) => entry.id),
        [fromB[0]!.id],
      )
      assert.deepEqual(
        b.calls.applied.map((entry) => entry.id),
        [stored[0]!.id],
      )

      // Garbage on the channel is logged and ignored.
      await admin.publish(`${namespace}revocations`, '{"v":1,"from":"x","entries":[{"id":"1"}]}')
      await waitFor('the malformed warning', () => recorded.count('warn', 'malformed') >= 2)
      assert.equal(recorded.count('warn', 'Redis unavailable'), 0)
    })

    test('a message lost while B was cut off is caught up after it reconnects', async (t) => {
      const recorded = recordingLog()
      const a = instance()
      const b = instance()
      await Promise.all([a.list.load(), b.list.load()])
      const cut = await proxy(t)
      const fanA = await fanout(t, {
        url,
        list: a.observed,
        log: recordingLog().log,
        instanceId: 'a',
      })
      await fanout(t, { url: cut.url, list: b.observed, log: recorded.log, instanceId: 'b' })

      await cut.down()
      await waitFor('B to notice', () => recorded.count('warn', 'Redis unavailable') > 0)
      const missed = await a.list.add([sid(`missed-${randomUUID()}`)])
      await fanA.publish(missed)
      await sleep(100)
      assert.equal(b.list.isRevoked({ sid: missed[0]!.value }), false, 'the message is lost')

      await cut.up()
      await waitFor('B to catch up', () => b.list.isRevoked({ sid: missed[0]!.value }))
      await waitFor('the recovery line', () => recorded.count('info', 'fan-out resumed') > 0)
      assert.equal(recorded.count('warn', 'Redis unavailable'), 1)
      assert.equal(recorded.count('info', 'fan-out resumed'), 1)
      assert.ok(
        b.calls.applied.every((entry) => entry.id !== missed[0]!.id),
        'not by message',
      )

      // And the subscription is back: the next message arrives by itself.
      const next = await a.list.add([sid(`next-${randomUUID()}`)])
      await fanA.publish(next)
      await waitFor('B to enforce', () => b.list.isRevoked({ sid: next[0]!.value }), 1_000)
    })

    test('Redis down at start: start() does not hang, and the subscription follows when it returns', async (t) => {
      const recorded = recordingLog()
      const a = instance()
      const b = instance()
      await Promise.all([a.list.load(), b.list.load()])
      const cut = await proxy(t)
      await cut.down()
      const fanA = await fanout(t, {
        url,
        list: a.observed,
        log: recordingLog().log,
        instanceId: 'a',
      })
      const started = performance.now()
      await fanout(t, { url: cut.url, list: b.observed, log: recorded.log, instanceId: 'b' })
      assert.ok(performance.now() - started < 2_500, 'start() resolved while Redis was down')
      assert.equal(recorded.count('warn', 'Redis unavailable'), 1)
      const early = await a.list.add([sid(`early-${randomUUID()}`)])
      await fanA.publish(early)

      await cut.up()
      await waitFor('B to subscribe and catch up', () => b.list.isRevoked({ sid: early[0]!.value }))
      await waitFor('the recovery line', () => recorded.count('info', 'fan-out resumed') > 0)
      const late = await a.list.add([sid(`late-${randomUUID()}`)])
      await fanA.publish(late)
      await waitFor('B to enforce', () => b.list.isRevoked({ sid: late[0]!.value }), 1_000)
      assert.deepEqual(
        b.calls.applied.map((entry) => entry.id),
        [late[0]!.id],
        'the late one came by message',
      )
    })

    test('a gap in the ids makes B enforce at once and sync the entry it never heard of', async (t) => {
      const a = instance()
      const b = instance()
      await Promise.all([a.list.load(), b.list.load()])
      const fanA = await fanout(t, {
        url,
        list: a.observed,
        log: recordingLog().log,
        instanceId: 'a',
      })
      await fanout(t, { url, list: b.observed, log: recordingLog().log, instanceId: 'b' })
      const syncsAtStart = b.calls.syncs

      // Written without a message (a lost one, or another writer).
      const [silent] = await store.revocations.addRevocations(
        [sid(`silent-${randomUUID()}`)],
        Date.now(),
      )
      const published = await a.list.add([sid(`loud-${randomUUID()}`)])
      assert.equal(published[0]!.id, silent!.id + 1)
      await fanA.publish(published)
      await waitFor('B to enforce both', () => b.list.isRevoked({ sid: silent!.value }), 1_000)
      assert.ok(b.list.isRevoked({ sid: published[0]!.value }))
      assert.equal(b.calls.syncs, syncsAtStart + 1)
      assert.equal(b.list.cursor, published[0]!.id)
    })

    test('publishing with Redis down resolves, logs once, and works again after', async (t) => {
      const recorded = recordingLog()
      const a = instance()
      await a.list.load()
      const cut = await proxy(t)
      const publisher = connection(t, 'fanout-pub', cut.url)
      const fanA = await fanout(t, {
        url,
        list: a.observed,
        log: recorded.log,
        instanceId: 'a',
        publisher,
      })
      await ready(publisher)
      const listener = connection(t, 'fanout-listener', url, {})
      const heard: string[] = []
      await listener.connect()
      await listener.subscribe(`${namespace}revocations`)
      listener.on('message', (_channel: string, text: string) => heard.push(text))

      await cut.down()
      await waitFor('the publisher to drop', () => publisher.status !== 'ready')
      const stored = await a.list.add([sid(`down-${randomUUID()}`)])
      const started = performance.now()
      await fanA.publish(stored)
      await fanA.publish(stored)
      assert.ok(performance.now() - started < 500, 'does not wait for Redis')
      assert.equal(recorded.count('warn', 'next sync'), 1)

      await cut.up()
      await ready(publisher)
      await fanA.publish(stored)
      await waitFor('the message', () => heard.length === 1)
      assert.deepEqual(parseFanoutMessage(heard[0]!)?.entries, stored)
      assert.equal(recorded.count('info', 'published to other instances again'), 1)
    })
  })
})
