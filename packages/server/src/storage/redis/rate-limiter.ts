// Rate limits shared by every instance through Redis, with each instance's
// own memory as the insurance: rate-limiter-flexible's `insuranceLimiter`
// answers any call Redis fails, so a Redis outage makes the limits per
// instance (N instances allow up to N times the budget) instead of refusing
// logins. Trading strictness for availability here is deliberate: the
// back-off still applies on each instance, and Redis coming back restores the
// shared counters without a restart.

import type { Redis } from 'ioredis'
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
} from 'rate-limiter-flexible'
import type { LimiterOptions, RateLimiterFactory } from '../ports.ts'
import { ensureConnecting, type RedisLog } from './connection.ts'

export interface RedisRateLimiterFactoryOptions {
  /** A `commands` client from createRedisConnection (no offline queue, command timeout). */
  redis: Redis
  log: RedisLog
  /** Prepended to every key, so deployments can share one Redis. Default `tessera:rl:`. */
  namespace?: string
  /** How often to check a Redis that stopped answering while still connected, ms. Default 1000. */
  probeIntervalMs?: number
}

export const DEFAULT_RATE_LIMIT_NAMESPACE = 'tessera:rl:'
const PROBE_TTL_MS = 5_000

const FALLBACK_MESSAGE = 'Redis unavailable: rate limits are per instance until it returns'
const RECOVERY_MESSAGE = 'Redis is back: rate limits are shared between instances again'

/** The in-memory insurance, which reports each time it has to answer. */
class InsuranceLimiter extends RateLimiterMemory {
  readonly #used: () => void

  constructor(options: LimiterOptions, used: () => void) {
    super(options)
    this.#used = used
  }

  override consume(...args: Parameters<RateLimiterMemory['consume']>) {
    this.#used()
    return super.consume(...args)
  }

  override penalty(...args: Parameters<RateLimiterMemory['penalty']>) {
    this.#used()
    return super.penalty(...args)
  }

  override reward(...args: Parameters<RateLimiterMemory['reward']>) {
    this.#used()
    return super.reward(...args)
  }

  override get(...args: Parameters<RateLimiterMemory['get']>) {
    this.#used()
    return super.get(...args)
  }

  override set(...args: Parameters<RateLimiterMemory['set']>) {
    this.#used()
    return super.set(...args)
  }

  override block(...args: Parameters<RateLimiterMemory['block']>) {
    this.#used()
    return super.block(...args)
  }

  override delete(...args: Parameters<RateLimiterMemory['delete']>) {
    this.#used()
    return super.delete(...args)
  }
}

/**
 * A RateLimiterFactory for createRateLimits whose limiters keep their counters
 * in Redis and fall back to memory while Redis is unreachable or not
 * answering. Logs once when the fallback starts and once when Redis is back.
 * Starts connecting the client if nobody has.
 *
 * @example
 * const redis = createRedisConnection(config.redisUrl, { log, name: 'tessera' })
 * const rateLimits = createRateLimits(config, { factory: createRedisRateLimiterFactory({ redis, log }) })
 */
export function createRedisRateLimiterFactory(
  options: RedisRateLimiterFactoryOptions,
): RateLimiterFactory {
  const { redis, log } = options
  const namespace = options.namespace ?? DEFAULT_RATE_LIMIT_NAMESPACE
  if (typeof namespace !== 'string') throw new TypeError('namespace must be a string')
  const probeInterval = options.probeIntervalMs ?? 1_000
  if (!Number.isSafeInteger(probeInterval) || probeInterval < 1) {
    throw new TypeError('probeIntervalMs must be a positive integer')
  }

  let shared = true
  let probing = false

  function fallBack(reason: string): void {
    if (!shared) return
    shared = false
    log.warn({ reason }, FALLBACK_MESSAGE)
  }

  function recovered(): void {
    if (shared) return
    shared = true
    log.info({}, RECOVERY_MESSAGE)
  }

  // Connected but failing (timeouts, OOM, READONLY after a failover): no
  // 'ready' will announce the end of it, so look for it with a write like the
  // limiters' own.
  function probe(): void {
    if (probing) return
    probing = true
    const timer = setTimeout(() => {
      probing = false
      if (shared || redis.status !== 'ready') return // reconnecting: 'ready' will tell
      redis.set(`${namespace}probe`, '1', 'PX', PROBE_TTL_MS).then(recovered, probe)
    }, probeInterval)
    timer.unref()
  }

  redis.on('ready', recovered)
  // 'reconnecting' means an established connection was lost; 'error' covers
  // failed attempts, including the first one at startup. A deliberate quit()
  // emits neither.
  redis.on('reconnecting', () => fallBack('connection lost'))
  redis.on('error', (error: unknown) =>
    fallBack(error instanceof Error ? error.message : 'connection error'),
  )

  function insuranceUsed(): void {
    // While connecting or reconnecting the connection events speak; a failure
    // on a ready connection is a Redis that is there but not answering.
    if (redis.status !== 'ready') return
    fallBack('Redis did not answer')
    if (!shared) probe()
  }

  ensureConnecting(redis)

  return (spec: LimiterOptions): RateLimiterAbstract =>
    new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${namespace}${spec.keyPrefix}`,
      points: spec.points,
      duration: spec.duration,
      // Not ready: go straight to the insurance instead of trying a command.
      rejectIfRedisNotReady: true,
      // No in-process blocking cache: the back-off is read from the store on
      // purpose, so every instance sees one answer.
      inMemoryBlockOnConsumed: 0,
      insuranceLimiter: new InsuranceLimiter(spec, insuranceUsed),
    })
}
