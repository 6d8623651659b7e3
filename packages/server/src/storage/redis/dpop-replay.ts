// The DPoP proofs' `jti`s, remembered in Redis so that a proof accepted by
// one instance is a replay on every other (RFC 9449 §11.1). One command per
// proof: SET NX with the entry's lifetime.

import { createDpopReplayCache, type DpopReplayCache } from '@tessera/jwt'
import type { Redis } from 'ioredis'
import type { RedisLog } from './connection.ts'

export const DEFAULT_DPOP_REPLAY_PREFIX = 'tessera:dpop:'

/**
 * A DpopReplayCache over Redis. While Redis cannot be reached, each instance
 * remembers the `jti`s it saw itself (as the rate limits do): a replay to
 * the same instance is still refused, and no request fails for it.
 *
 * @example
 * const replayCache = createRedisDpopReplayCache(redis, { log })
 */
export function createRedisDpopReplayCache(
  redis: Redis,
  options: { prefix?: string; log?: RedisLog } = {},
): DpopReplayCache {
  const prefix = options.prefix ?? DEFAULT_DPOP_REPLAY_PREFIX
  const local = createDpopReplayCache()
  let warned = false
  return {
    async checkAndAdd(key, expiresAt, now) {
      const ttl = Math.max(1, Math.ceil(expiresAt - now))
      try {
        const answer = await redis.set(`${prefix}${key}`, '1', 'PX', ttl, 'NX')
        warned = false
        // Remembered here too: a Redis that comes back empty still meets it.
        local.checkAndAdd(key, expiresAt, now)
        return answer === 'OK'
      } catch (error) {
        if (!warned) {
          warned = true
          options.log?.warn(
            { err: error },
            'DPoP replay cache: Redis unreachable, checking locally',
          )
        }
        return local.checkAndAdd(key, expiresAt, now)
      }
    },
  }
}
