// The Redis backend for running several instances: the public surface in one screen.

export {
  closeRedis,
  createRedisConnection,
  describeRedisUrl,
  ensureConnecting,
  type RedisConnectionOptions,
  type RedisLog,
} from './connection.ts'
export { createRedisDpopReplayCache, DEFAULT_DPOP_REPLAY_PREFIX } from './dpop-replay.ts'
export {
  createRedisRateLimiterFactory,
  DEFAULT_RATE_LIMIT_NAMESPACE,
  type RedisRateLimiterFactoryOptions,
} from './rate-limiter.ts'
export {
  createRevocationFanout,
  DEFAULT_REVOCATION_CHANNEL,
  type RevocationFanout,
  type RevocationFanoutOptions,
} from './revocation-fanout.ts'
