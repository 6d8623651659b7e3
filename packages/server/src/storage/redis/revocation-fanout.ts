// Revocation fan-out between instances over Redis pub/sub, so a logout on one
// instance is enforced by all of them within a second.
//
// Pub/sub delivers at most once: a message sent while a subscriber is
// disconnected is gone. The database stays the source of truth and the
// in-memory list catches up from it with `sync()`:
// - after every (re)subscription, once Redis has confirmed it, so nothing
//   published from then on is missed and anything before is in the database;
// - when a message's ids skip past the list's cursor (a message was lost);
// - every maintenance interval (the composition root's timer), as a backstop.
// Publishing never fails a request: with Redis down the others catch up by
// those syncs.

import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { StoredRevocation } from '../ports.ts'
import {
  closeRedis,
  createRedisConnection,
  ensureConnecting,
  type RedisConnectionOptions,
  type RedisLog,
} from './connection.ts'

export const DEFAULT_REVOCATION_CHANNEL = 'tessera:revocations'

/** Wire format version; a message of another version is ignored. */
const MESSAGE_VERSION = 1
/** Far above any real batch (a user's sessions), small enough to bound one message. */
const MAX_ENTRIES = 10_000
const MAX_VALUE_LENGTH = 1_024

/**
 * The instance's in-memory revocation list, as the fan-out feeds it
 * (auth/revocation.ts provides it): entries pushed by other instances, a
 * sync from the store, and how far it has applied.
 */
export interface RevocationSink {
  /** Enforces entries already stored (by another instance). */
  apply(entries: readonly StoredRevocation[]): void
  /** Reads entries newer than the last one applied; resolves to how many. */
  sync(): Promise<number>
  /** Every entry up to this id is applied. */
  readonly cursor: number
}

export interface RevocationFanoutOptions {
  /** Redis URL for the dedicated subscriber connection (and the publisher if none is given). */
  url: string
  /** Default `tessera:revocations`. */
  channel?: string
  list: RevocationSink
  log: RedisLog
  /** Tells this instance's own messages apart. Default: a random UUID. */
  instanceId?: string
  /** A `commands` client to publish on (e.g. the rate limiter's); by default one of its own. */
  publisher?: Redis
  /** Reconnect back-off cap and command timeout of the connections this creates. */
  connection?: Pick<RedisConnectionOptions, 'maxReconnectDelayMs' | 'commandTimeoutMs'>
}

export interface RevocationFanout {
  /**
   * Connects and subscribes, then syncs the list. Resolves once subscribed,
   * or after the first failed attempt when Redis is down (it keeps trying).
   */
  start(): Promise<void>
  /** Tells the other instances of entries this one stored. Never rejects. */
  publish(entries: readonly StoredRevocation[]): Promise<void>
  /** Unsubscribes and closes the connections this created. */
  close(): Promise<void>
}

interface FanoutMessage {
  from: string
  entries: StoredRevocation[]
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

/** A stored entry rebuilt field by field from untrusted JSON, or undefined. */
function readEntry(raw: unknown): StoredRevocation | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const { id, createdAt, kind, value, expiresAt, before } = raw as Record<string, unknown>
  if (!Number.isSafeInteger(id) || (id as number) < 1) return undefined
  if (!isFiniteNumber(createdAt) || !isFiniteNumber(expiresAt)) return undefined
  if (typeof value !== 'string' || value === '' || value.length > MAX_VALUE_LENGTH) return undefined
  const base = { id: id as number, createdAt, value, expiresAt }
  if (kind === 'jti' || kind === 'sid') return { ...base, kind }
  if (kind === 'sub' && isFiniteNumber(before)) return { ...base, kind, before }
  return undefined
}

/** Parses a message off the channel; undefined when it is not one of ours. */
export function parseFanoutMessage(text: string): FanoutMessage | undefined {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof raw !== 'object' || raw === null) return undefined
  const { v, from, entries } = raw as Record<string, unknown>
  if (v !== MESSAGE_VERSION || typeof from !== 'string' || !Array.isArray(entries)) return undefined
  if (entries.length === 0 || entries.length > MAX_ENTRIES) return undefined
  const parsed: StoredRevocation[] = []
  for (const entry of entries) {
    const read = readEntry(entry)
    if (read === undefined) return undefined
    parsed.push(read)
  }
  return { from, entries: parsed }
}

/**
 * True when the entries skip an id after `cursor`: an entry between was never
 * seen here (a lost message, or one written without a message). Ids at or
 * below the cursor are old news and fine in any order.
 */
export function skipsPastCursor(entries: readonly StoredRevocation[], cursor: number): boolean {
  let next = cursor
  for (const id of entries.map((entry) => entry.id).sort((a, b) => a - b)) {
    if (id <= next) continue
    if (id > next + 1) return true
    next = id
  }
  return false
}

/**
 * Fans revocations out to the other instances and applies theirs to `list`.
 * The composition root publishes what `list.add()` stored and keeps its
 * periodic `list.sync()`.
 *
 * @example
 * const fanout = createRevocationFanout({ url: config.redisUrl, list: revocations, log, publisher: redis })
 * await fanout.start()
 * const stored = await revocations.add(entries)
 * void fanout.publish(stored)
 */
export function createRevocationFanout(options: RevocationFanoutOptions): RevocationFanout {
  const { url, list, log } = options
  const channel = options.channel ?? DEFAULT_REVOCATION_CHANNEL
  const instanceId = options.instanceId ?? randomUUID()
  if (typeof channel !== 'string' || channel === '') {
    throw new TypeError('channel must be a non-empty string')
  }
  if (typeof instanceId !== 'string' || instanceId === '') {
    throw new TypeError('instanceId must be a non-empty string')
  }
  const tuning = options.connection ?? {}
  const subscriber = createRedisConnection(url, {
    ...tuning,
    log,
    name: 'tessera-revocations-sub',
    role: 'subscriber',
  })
  const ownPublisher =
    options.publisher === undefined
      ? createRedisConnection(url, { ...tuning, log, name: 'tessera-revocations-pub' })
      : undefined
  const publisher = options.publisher ?? (ownPublisher as Redis)

  let closed = false
  let started: Promise<void> | undefined
  /** Whether the subscription is lost (logged once per outage). */
  let subscriptionDown = false
  let publishingDown = false
  let syncFailing = false

  // One sync at a time; a request during a sync runs one more after it, so a
  // gap seen mid-sync is still read.
  let syncing: Promise<number> | undefined
  let syncAgain = false
  function catchUp(): Promise<number> {
    if (syncing !== undefined) {
      syncAgain = true
      return syncing
    }
    syncing = (async () => {
      let applied = 0
      try {
        do {
          syncAgain = false
          applied += await list.sync()
        } while (syncAgain && !closed)
        if (syncFailing) {
          syncFailing = false
          log.info({}, 'revocation catch-up from the database works again')
        }
      } catch (error) {
        // The database is down too; the maintenance sync retries later.
        if (!syncFailing) {
          syncFailing = true
          log.warn(
            { error: error instanceof Error ? error.message : String(error) },
            'revocation catch-up from the database failed',
          )
        }
      } finally {
        syncing = undefined
      }
      return applied
    })()
    return syncing
  }

  function onMessage(from: string, text: string): void {
    if (from !== channel || closed) return
    const message = parseFanoutMessage(text)
    if (message === undefined) {
      log.warn({ channel }, 'ignored a malformed revocation message')
      return
    }
    if (message.from === instanceId) return // add() already applied it here
    if (!skipsPastCursor(message.entries, list.cursor)) {
      list.apply(message.entries)
      return
    }
    // A message was lost. Enforce these entries now, but with an id that
    // leaves the cursor where it is (apply() only moves it forward), so the
    // sync reads the missed ones too instead of starting past them.
    list.apply(message.entries.map((entry) => ({ ...entry, id: 0 })))
    void catchUp()
  }

  function lost(reason: string): void {
    if (closed || subscriptionDown) return
    subscriptionDown = true
    log.warn(
      { reason },
      'Redis unavailable: revocations from other instances arrive with the periodic sync until it returns',
    )
  }

  /** Subscribes on the (new) connection, then reads what was missed meanwhile. */
  async function subscribe(): Promise<void> {
    try {
      await subscriber.subscribe(channel)
    } catch (error) {
      if (closed) return
      lost(error instanceof Error ? error.message : 'subscribe failed')
      // Still connected but refused: reconnect to try again from 'ready'.
      if (subscriber.status === 'ready') subscriber.disconnect(true)
      return
    }
    const applied = await catchUp()
    if (subscriptionDown && !closed) {
      subscriptionDown = false
      log.info({ caughtUp: applied }, 'Redis is back: revocation fan-out resumed')
    }
  }

  subscriber.on('message', onMessage)
  subscriber.on('reconnecting', () => lost('connection lost'))
  subscriber.on('error', (error: unknown) =>
    lost(error instanceof Error ? error.message : 'connection error'),
  )

  return {
    start() {
      if (closed) return Promise.reject(new Error('the revocation fan-out is closed'))
      started ??= new Promise<void>((resolve) => {
        // Every 'ready' is a fresh connection without subscriptions.
        subscriber.on('ready', () => {
          subscribe().finally(resolve)
        })
        subscriber.connect().catch(() => resolve()) // down: logged by 'error', retried
        ensureConnecting(publisher)
      })
      return started
    },

    async publish(entries) {
      if (closed || entries.length === 0) return
      const payload = JSON.stringify({ v: MESSAGE_VERSION, from: instanceId, entries })
      try {
        await publisher.publish(channel, payload)
        if (publishingDown) {
          publishingDown = false
          log.info({}, 'Redis is back: revocations are published to other instances again')
        }
      } catch (error) {
        if (!publishingDown) {
          publishingDown = true
          log.warn(
            { reason: error instanceof Error ? error.message : String(error) },
            'Redis unavailable: other instances learn of revocations at their next sync',
          )
        }
      }
    },

    async close() {
      if (closed) return
      closed = true
      subscriber.removeAllListeners('ready')
      await Promise.all([
        closeRedis(subscriber),
        ownPublisher === undefined ? undefined : closeRedis(ownPublisher),
      ])
      await syncing
    },
  }
}
