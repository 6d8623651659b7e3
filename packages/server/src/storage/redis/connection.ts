// ioredis connections tuned for what Tessera asks of Redis: a shared cache
// that may vanish at any time without taking logins or token checks with it.
// PostgreSQL stays the source of truth; Redis only spreads rate-limit counters
// and revocation news between instances, so every setting here prefers
// failing fast (and falling back) to waiting.

import { Redis, type RedisOptions } from 'ioredis'

/** Structured logger (pino's shape): fields first, then the message. */
export interface RedisLog {
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  debug?(fields: Record<string, unknown>, message: string): void
}

export interface RedisConnectionOptions {
  log: RedisLog
  /** Names the connection in logs and in Redis's CLIENT LIST (letters, digits, `.:_-`). */
  name: string
  /**
   * `commands` (default): a request-path client: no offline queue, one retry,
   * a command timeout. `subscriber`: a dedicated pub/sub connection whose
   * owner subscribes again itself on every `ready` (no auto-resubscribe, so it
   * knows when the subscription is back) and has no command timeout.
   */
  role?: 'commands' | 'subscriber'
  /** Cap of the reconnect back-off in ms. Default 2000. */
  maxReconnectDelayMs?: number
  /** A command not answered within this many ms fails (commands role). Default 1000. */
  commandTimeoutMs?: number
}

const CONNECT_TIMEOUT_MS = 2_000
const DEFAULT_MAX_RECONNECT_DELAY_MS = 2_000
const DEFAULT_COMMAND_TIMEOUT_MS = 1_000
const FIRST_RECONNECT_DELAY_MS = 50
const QUIT_TIMEOUT_MS = 1_000

/**
 * `redis://host:port/db` without user or password, for log lines and errors
 * (the password of a Redis URL is a secret like any other).
 */
export function describeRedisUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return '<invalid Redis URL>'
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`
}

/**
 * The reconnect delay after `attempt` failed attempts: exponential from 50 ms,
 * capped, with up to 20 % jitter so a fleet does not reconnect in lockstep.
 */
export function reconnectDelay(attempt: number, capMs: number): number {
  const base = Math.min(
    capMs,
    FIRST_RECONNECT_DELAY_MS * 2 ** Math.min(Math.max(attempt - 1, 0), 16),
  )
  return Math.round(base * (0.8 + Math.random() * 0.2))
}

/**
 * An ioredis client that has not connected yet (`lazyConnect`): whoever uses
 * it calls `connect()` when it starts. A dead Redis makes commands fail at
 * once (no offline queue, at most one retry, a 2 s connect timeout) while the
 * client keeps reconnecting in the background with a capped back-off.
 * Connection errors go to `log.debug`; the users of the client log what an
 * outage means for them, once.
 *
 * @example
 * const redis = createRedisConnection(config.redisUrl, { log, name: 'tessera' })
 * const factory = createRedisRateLimiterFactory({ redis, log })
 */
export function createRedisConnection(url: string, options: RedisConnectionOptions): Redis {
  const { log, name } = options
  const role = options.role ?? 'commands'
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    parsed = undefined
  }
  // Never echo the URL: it may carry the password.
  if (parsed === undefined || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')) {
    throw new TypeError('the Redis URL must be a redis:// or rediss:// URL')
  }
  if (!/^[\w.:-]{1,64}$/.test(name)) {
    throw new TypeError('the Redis connection name must be 1-64 letters, digits or .:_-')
  }
  const cap = options.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS
  if (!Number.isSafeInteger(cap) || cap < 1) {
    throw new TypeError('maxReconnectDelayMs must be a positive integer')
  }
  const commandTimeout = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS
  if (!Number.isSafeInteger(commandTimeout) || commandTimeout < 1) {
    throw new TypeError('commandTimeoutMs must be a positive integer')
  }

  const settings: RedisOptions = {
    lazyConnect: true,
    connectionName: name,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // Queued commands would hold requests hostage while Redis is away; a
    // failed command lets the caller fall back at once instead.
    enableOfflineQueue: false,
    // A command in flight when the connection drops is resent once after the
    // reconnect, then fails (a rate-limit increment counted twice errs on the
    // safe side).
    maxRetriesPerRequest: 1,
    // Never give up: Redis coming back must end the fallback by itself.
    retryStrategy: (attempt: number) => reconnectDelay(attempt, cap),
  }
  if (role === 'subscriber') settings.autoResubscribe = false
  else settings.commandTimeout = commandTimeout

  const redis = new Redis(url, settings)
  const where = describeRedisUrl(url)
  // Without an 'error' listener ioredis prints every failed attempt to stderr.
  redis.on('error', (error: unknown) => {
    log.debug?.(
      { redis: name, url: where, error: error instanceof Error ? error.message : String(error) },
      'Redis connection error',
    )
  })
  redis.on('ready', () => log.debug?.({ redis: name, url: where }, 'Redis connection ready'))
  return redis
}

/** Starts connecting a lazy client if nobody has; failures surface as 'error' events. */
export function ensureConnecting(redis: Redis): void {
  if (redis.status === 'wait') redis.connect().catch(() => {})
}

/**
 * Closes a client: QUIT when connected (Redis sees a clean goodbye), else
 * stops reconnecting at once. Never throws.
 */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return
  if (redis.status === 'ready') {
    let timer: NodeJS.Timeout | undefined
    const gaveUp = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), QUIT_TIMEOUT_MS)
    })
    try {
      // A Redis that stopped answering must not hold the shutdown.
      if ((await Promise.race([redis.quit(), gaveUp])) !== 'timeout') return
    } catch {
      // Lost while quitting: drop it below.
    } finally {
      clearTimeout(timer)
    }
  }
  redis.disconnect(false)
}
