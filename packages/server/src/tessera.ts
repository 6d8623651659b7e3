// The composition root: config in, a running (not yet listening) Tessera out.
// Only this file and cli/ choose concrete implementations; everything else
// receives its collaborators.

import type { FastifyInstance } from 'fastify'
import pino, { type Logger } from 'pino'
import { checkPasswordPolicy, createPasswordHasher, normalizeEmail } from './auth/passwords.ts'
import { createRateLimits } from './auth/rate-limits.ts'
import { createRevocationList, type RevocationList } from './auth/revocation.ts'
import { type AuthServiceDeps, createAuthService } from './auth/service.ts'
import type { AuthService } from './auth/types.ts'
import type { Config } from './config/types.ts'
import { buildApp } from './http/app.ts'
import type { Store } from './storage/ports.ts'
import { createSqlStore } from './storage/sql/index.ts'
import { createAccessTokenIssuer, createAccessTokenVerifier } from './tokens/access-tokens.ts'
import { createKeyRing, type KeyRing } from './tokens/key-ring.ts'
import { loadMasterKey } from './tokens/master-key.ts'
import {
  createRefreshToken,
  hashRefreshToken,
  isWellFormedRefreshToken,
} from './tokens/refresh-tokens.ts'
import { createSealer } from './tokens/sealer.ts'

export interface Tessera {
  readonly config: Config
  readonly app: FastifyInstance
  readonly auth: AuthService
  readonly store: Store
  readonly keyRing: KeyRing
  readonly revocations: RevocationList
  readonly log: Logger
  /** Runs the periodic work now (key rotation, pruning); also runs on a timer. */
  maintain(): Promise<void>
  /** Stops timers, finishes in-flight requests, closes the store. */
  close(): Promise<void>
}

export interface TesseraOptions {
  /** The clock, epoch ms (tests move it). */
  now?: () => number
  /** A pino logger; by default one at config.logLevel on stdout. */
  logger?: Logger
  /** Seconds between maintenance runs; 0 disables the timer. Default 60. */
  maintenanceInterval?: number
  /** Password hashing cost, for tests only. */
  argon2?: { memoryCost: number; timeCost: number; parallelism: number }
}

/** Builds every part of the server from a validated config. */
export async function createTessera(
  config: Config,
  options: TesseraOptions = {},
): Promise<Tessera> {
  const now = options.now ?? Date.now
  const log = options.logger ?? pino({ level: config.logLevel, base: { service: 'tessera' } })
  const masterKey = await loadMasterKey({
    masterKey: config.masterKey,
    production: config.production,
    dataDir: config.dataDir,
    warn: (message: string) => log.warn(message),
  })
  const sealer = createSealer(masterKey)
  const store = await createSqlStore(config.databaseUrl, {
    log: (message: string) => log.info(message),
  })
  try {
    const applied = await store.migrate()
    if (applied.length > 0) log.info({ migrations: applied }, 'database migrated')

    const keyRing = createKeyRing({
      store: store.keys,
      sealer,
      alg: config.signingAlg,
      hsSecrets: config.hsSecrets,
      rotationInterval: config.keyRotationInterval,
      accessTokenTtl: config.accessTokenTtl,
      now,
      log,
    })
    await keyRing.start()

    const revocations = createRevocationList({ store: store.revocations, now })
    await revocations.load()

    const verifyAccessToken = createAccessTokenVerifier({
      ring: keyRing,
      issuer: config.issuer,
      audience: config.audience,
      now,
      isRevoked: (claims) => revocations.isRevoked(claims),
    })
    const issuer = createAccessTokenIssuer({
      ring: keyRing,
      issuer: config.issuer,
      audience: config.audience,
      ttl: config.accessTokenTtl,
      includeEmail: config.accessTokenEmail,
      now,
    })
    const deps: AuthServiceDeps = {
      config,
      store,
      keyRing,
      issuer,
      verifyAccessToken,
      revocations,
      passwords: createPasswordHasher(
        options.argon2 === undefined ? {} : { argon2: options.argon2 },
      ),
      rules: { checkPasswordPolicy, normalizeEmail },
      refreshTokens: { createRefreshToken, hashRefreshToken, isWellFormedRefreshToken },
      rateLimits: createRateLimits(config),
      sealer,
      now,
      log,
    }
    const auth = createAuthService(deps)
    const app = await buildApp({ config, auth, logger: log, readiness: () => store.ping() })
    deps.metrics = app.tesseraMetrics

    async function maintain(): Promise<void> {
      await keyRing.maintain()
      await revocations.sync()
      revocations.prune()
      await store.revocations.deleteExpiredRevocations(now())
      await store.sessions.purgeExpired(now(), config.refreshReuseGrace * 1000)
    }

    const interval = options.maintenanceInterval ?? 60
    let timer: NodeJS.Timeout | undefined
    if (interval > 0) {
      timer = setInterval(() => {
        maintain().catch((error: unknown) => log.error({ err: error }, 'maintenance failed'))
      }, interval * 1000)
      timer.unref()
    }

    return {
      config,
      app,
      auth,
      store,
      keyRing,
      revocations,
      log,
      maintain,
      async close() {
        if (timer !== undefined) clearInterval(timer)
        try {
          await app.close()
        } finally {
          await store.close()
        }
      },
    }
  } catch (error) {
    await store.close()
    throw error
  }
}
