// The composition root: config in, a running (not yet listening) Tessera out.
// Only this file and cli/ choose concrete implementations; everything else
// receives its collaborators.

import { createHash, hkdfSync, randomUUID } from 'node:crypto'
import { setImmediate } from 'node:timers/promises'
import { JwtError } from '@tessera/jwt'
import type { FastifyInstance } from 'fastify'
import pino, { type Logger } from 'pino'
import type { AuthServiceDeps } from './auth/context.ts'
import { createDpopPolicy } from './auth/dpop.ts'
import { checkPasswordPolicy, createPasswordHasher, normalizeEmail } from './auth/passwords.ts'
import type { MailQueue } from './auth/ports.ts'
import { createRateLimits } from './auth/rate-limits.ts'
import { createRevocationList, type RevocationList } from './auth/revocation.ts'
import { createAuthService } from './auth/service.ts'
import type { AuthService } from './auth/types.ts'
import type { Config } from './config/types.ts'
import { buildApp } from './http/app.ts'
import { createMetrics } from './http/plugins/metrics.ts'
import { mailDataContext, openMailData } from './mail/messages.ts'
import { createOutboxWorker, type OutboxPassResult } from './mail/outbox-worker.ts'
import { createMailRenderer } from './mail/render.ts'
import { createMailTransport } from './mail/transport.ts'
import { startChangePoll } from './runtime/change-poll.ts'
import { makePrivateDir } from './runtime/private-files.ts'
import type { Store } from './storage/ports.ts'
import type { RevocationFanout } from './storage/redis/index.ts'
import { createSqlStore } from './storage/sql/index.ts'
import { createAccessTokenIssuer, createAccessTokenVerifier } from './tokens/access-tokens.ts'
import { createKeyRing, type KeyRing } from './tokens/key-ring.ts'
import { loadMasterKey } from './tokens/master-key.ts'
import { createOAuthTokens } from './tokens/oauth-tokens.ts'
import {
  createRefreshToken,
  hashRefreshToken,
  isWellFormedRefreshToken,
} from './tokens/refresh-tokens.ts'
import { createSealer } from './tokens/sealer.ts'

/** Audit entries deleted per statement by the retention pass, and statements per pass. */
const AUDIT_PRUNE_BATCH = 1000
const AUDIT_PRUNE_BATCHES = 100

/** Outgoing mail: the outbox worker, as the flows and the CLI see it. */
/** How long used OAuth codes stay known past their expiry (replay detection). */
const OAUTH_REPLAY_MEMORY_MS = 60 * 60_000

export interface MailDelivery {
  /** `smtp`, `files` (development .eml files), or `none` (production without TESSERA_SMTP_URL: mail stays queued). */
  readonly delivery: 'smtp' | 'files' | 'none'
  /** Sends what is queued now; call it once the transaction that queued a message has committed. */
  kick(): void
  /** One pass of the worker, awaited. */
  runOnce(): Promise<OutboxPassResult>
}

export interface Tessera {
  readonly config: Config
  readonly app: FastifyInstance
  readonly auth: AuthService
  readonly store: Store
  readonly keyRing: KeyRing
  readonly revocations: RevocationList
  readonly log: Logger
  readonly mail: MailDelivery
  /** Runs the periodic work now (key rotation, pruning); also runs on a timer. */
  maintain(): Promise<void>
  /** Stops timers, finishes in-flight requests, closes the store. */
  close(): Promise<void>
}

export interface TesseraOptions {
  /** The clock, epoch ms (tests move it). */
  now?: () => number
  /** Waits on that clock (tests that move `now` by hand move it here too). */
  sleep?: (ms: number) => Promise<void>
  /** A pino logger; by default one at config.logLevel on stdout. */
  logger?: Logger
  /** Seconds between maintenance runs; 0 disables the timer. Default 60. */
  maintenanceInterval?: number
  /**
   * Milliseconds between checks for what another process wrote to the store
   * (a `tessera` CLI command, an instance without Redis); 0 disables them.
   * Default 500.
   */
  changePollMs?: number
  /**
   * Milliseconds between passes of the outbox worker (retries, mail queued
   * by another process); 0 starts no timer (kick() and runOnce() still
   * send). Default 5000.
   */
  mailIntervalMs?: number
  /** Password hashing cost, for tests only. */
  argon2?: { memoryCost: number; timeCost: number; parallelism: number }
}

/** The Redis connection of a deployment that has one, and the module that made it. */
type RedisModule = typeof import('./storage/redis/index.ts')
interface RedisLink {
  readonly url: string
  readonly client: ReturnType<RedisModule['createRedisConnection']>
  readonly lib: RedisModule
}

async function openRedis(url: string, log: Logger): Promise<RedisLink> {
  const lib = await import('./storage/redis/index.ts')
  return { url, lib, client: lib.createRedisConnection(url, { log, name: 'tessera' }) }
}

/** Builds every part of the server from a validated config. */
export async function createTessera(
  config: Config,
  options: TesseraOptions = {},
): Promise<Tessera> {
  const now = options.now ?? Date.now
  const log = options.logger ?? pino({ level: config.logLevel, base: { service: 'tessera' } })
  // The development key will live in the data dir next to the SQLite file:
  // made private (0700) before the store creates either.
  if (config.masterKey === undefined && !config.production) {
    makePrivateDir(config.dataDir)
  }
  const store = await createSqlStore(config.databaseUrl, {
    log: (message: string) => log.info(message),
  })
  // Redis is optional: shared rate limits and revocation fan-out between
  // instances. ioredis is imported only by a deployment that sets it.
  const redis = config.redisUrl === undefined ? undefined : await openRedis(config.redisUrl, log)
  let fanout: RevocationFanout | undefined
  /** Fan-out messages on their way; close() waits for them (a CLI command exits right after). */
  const publishing = new Set<Promise<void>>()
  // Deployments sharing one Redis must not mix revocations or rate-limit budgets.
  const deployment = createHash('sha256').update(config.issuer).digest('base64url').slice(0, 12)
  try {
    if (redis !== undefined) redis.lib.ensureConnecting(redis.client)
    // The store logs each migration it applies.
    await store.migrate()
    // Read before the keys and revocations load: a write in between is caught by the poll.
    const loadedMarker = await store.changeMarker()
    // After the store: a lost development key file must not be replaced by a
    // new key that cannot open the keys already in the database.
    const masterKey = await loadMasterKey({
      masterKey: config.masterKey,
      production: config.production,
      dataDir: config.dataDir,
      warn: (message: string) => log.warn(message),
      hasSealedKeys: async () => (await store.keys.listKeys()).length > 0,
      databaseUrl: config.databaseUrl,
    })
    const sealer = createSealer(masterKey)
    // DPoP: proof jtis shared through Redis; nonces every instance derives alike.
    const dpop = createDpopPolicy({
      ...(redis === undefined
        ? {}
        : {
            replayCache: redis.lib.createRedisDpopReplayCache(redis.client, {
              prefix: `tessera:${deployment}:dpop:`,
              log,
            }),
          }),
      ...(config.dpopNonces
        ? { nonceKey: Buffer.from(hkdfSync('sha256', masterKey, '', 'tessera dpop nonces', 32)) }
        : {}),
      now,
    })

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

    const revocations = createRevocationList({
      store: store.revocations,
      now,
      // Other instances enforce it within a second; the store stays the source of truth.
      onAdded: (entries) => {
        if (fanout === undefined) return
        const sent = fanout.publish([...entries]).finally(() => publishing.delete(sent))
        publishing.add(sent)
      },
    })
    await revocations.load()
    if (redis !== undefined) {
      fanout = redis.lib.createRevocationFanout({
        url: redis.url,
        list: revocations,
        log,
        publisher: redis.client,
      })
      await fanout.start()
    }

    const verifyWithRing = createAccessTokenVerifier({
      ring: keyRing,
      issuer: config.issuer,
      audience: config.audience,
      now,
      isRevoked: (claims) => revocations.isRevoked(claims),
    })
    // Another instance may have rotated with --now: an unknown kid reloads the
    // ring from the store in the background, at most every 5 seconds.
    let lastKeyReload = 0
    const verifyAccessToken = (token: string) => {
      try {
        return verifyWithRing(token)
      } catch (error) {
        if (
          error instanceof JwtError &&
          error.code === 'key_not_found' &&
          now() - lastKeyReload > 5_000
        ) {
          lastKeyReload = now()
          keyRing
            .maintain()
            .catch((reason: unknown) => log.warn({ err: reason }, 'key reload failed'))
        }
        throw error
      }
    }
    const oauthTokens = createOAuthTokens({
      ring: keyRing,
      issuer: config.issuer,
      audiences: [...new Set([config.audience, ...config.oauthResources])],
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
    const metrics = createMetrics()

    // Templates are read and checked now: a bad override stops the start.
    const renderMail = createMailRenderer({
      brand: { name: config.brandName, color: config.brandColor, logoUrl: config.brandLogoUrl },
      issuer: config.issuer,
      templatesDir: config.emailTemplatesDir,
    })
    const mailTransport = createMailTransport(config, log)
    const mailWorker =
      mailTransport === undefined
        ? undefined
        : createOutboxWorker({
            outbox: store.outbox,
            transport: mailTransport,
            render: renderMail,
            openData: (message) => openMailData(sealer, message),
            now,
            log,
            metrics,
            maxAttempts: config.emailMaxAttempts,
            intervalMs: options.mailIntervalMs ?? 5000,
          })
    const mail: MailDelivery = {
      delivery: mailTransport?.kind ?? 'none',
      kick: () => mailWorker?.kick(),
      runOnce: async () => (await mailWorker?.runOnce()) ?? { sent: 0, failed: 0, dead: 0 },
    }
    // The flows write mail to the outbox with its data sealed to its row (mail/messages.ts).
    const mailQueue: MailQueue = {
      async queue(message) {
        const row = { id: randomUUID(), to: message.to, template: message.template }
        await store.outbox.enqueue({
          ...row,
          userId: message.userId,
          createdAt: now(),
          sealedData: sealer.seal(JSON.stringify(message.data), mailDataContext(row)),
        })
      },
      wake: () => mailWorker?.kick(),
    }
    const deps: AuthServiceDeps = {
      mail: mailQueue,
      config,
      store,
      keyRing,
      issuer,
      verifyAccessToken,
      oauthTokens,
      dpop,
      revocations,
      passwords: createPasswordHasher(
        options.argon2 === undefined ? {} : { argon2: options.argon2 },
      ),
      rules: { checkPasswordPolicy, normalizeEmail },
      refreshTokens: { createRefreshToken, hashRefreshToken, isWellFormedRefreshToken },
      rateLimits: createRateLimits(
        config,
        redis === undefined
          ? {}
          : {
              factory: redis.lib.createRedisRateLimiterFactory({
                redis: redis.client,
                log,
                namespace: `tessera:${deployment}:rl:`,
              }),
            },
      ),
      sealer,
      now,
      ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
      // One set of metrics: the service counts flows, the HTTP layer requests.
      metrics,
      log,
    }
    const auth = createAuthService(deps)
    const app = await buildApp({
      config,
      auth,
      logger: log,
      metrics,
      readiness: () => store.ping(),
    })

    async function maintain(): Promise<void> {
      await keyRing.maintain()
      await revocations.sync()
      revocations.prune()
      await store.revocations.deleteExpiredRevocations(now())
      await store.sessions.purgeExpired(now(), config.refreshReuseGrace * 1000)
      // Dead links and codes (expired, used, superseded): a few rows per user at most.
      await store.oneTimeTokens.deleteExpiredTokens(now())
      await store.challenges.deleteExpiredChallenges(now())
      // OAuth codes and client-assertion jtis, kept a while past their expiry:
      // a replayed code is still recognized (and revokes its grant) meanwhile.
      await store.oauth.purgeExpired(now() - OAUTH_REPLAY_MEMORY_MS)
      await pruneAudit()
      await pruneOutbox()
    }

    /** Deletes sent and dead mail older than TESSERA_EMAIL_RETENTION, as pruneAudit does. */
    async function pruneOutbox(): Promise<void> {
      const before = now() - config.emailRetention * 1000
      for (let batch = 0; batch < AUDIT_PRUNE_BATCHES; batch++) {
        const deleted = await store.outbox.deleteFinishedBefore(before, AUDIT_PRUNE_BATCH)
        if (deleted < AUDIT_PRUNE_BATCH) return
        await setImmediate()
      }
    }

    /** Deletes audit entries older than TESSERA_AUDIT_RETENTION (0 keeps them). */
    async function pruneAudit(): Promise<void> {
      if (config.auditRetention === 0) return
      const before = now() - config.auditRetention * 1000
      // Short deletes with a turn of the event loop between them (node:sqlite
      // runs on it); a bigger backlog waits for the next pass.
      for (let batch = 0; batch < AUDIT_PRUNE_BATCHES; batch++) {
        const deleted = await store.audit.deleteAuditBefore(before, AUDIT_PRUNE_BATCH)
        if (deleted < AUDIT_PRUNE_BATCH) return
        await setImmediate()
      }
    }

    const interval = options.maintenanceInterval ?? 60
    let timer: NodeJS.Timeout | undefined
    if (interval > 0) {
      timer = setInterval(() => {
        maintain().catch((error: unknown) => log.error({ err: error }, 'maintenance failed'))
      }, interval * 1000)
      timer.unref()
    }

    // Without this, a CLI command's revocation or key rotation reached a
    // server without Redis only at its next maintenance pass (up to 60 s).
    // A cheap marker read (SQLite: PRAGMA data_version), and a reload only
    // when it moved: read-only, so instances never wake each other in turn.
    const changePollMs = options.changePollMs ?? 500
    const changePoll =
      changePollMs > 0
        ? startChangePoll({
            read: () => store.changeMarker(),
            async onChange() {
              await revocations.sync()
              await keyRing.reload()
            },
            initial: loadedMarker,
            intervalMs: changePollMs,
            onError: (error) =>
              log.warn({ err: error }, 'cannot check the store for changes; retrying'),
            onRecover: () => log.info('checking the store for changes again'),
          })
        : undefined

    if (mailTransport?.kind === 'files') {
      log.info(
        { dir: mailTransport.target },
        `no TESSERA_SMTP_URL: mail is written to ${mailTransport.target} and logged`,
      )
    }
    if ((options.mailIntervalMs ?? 5000) > 0) mailWorker?.start()

    return {
      config,
      app,
      auth,
      store,
      keyRing,
      revocations,
      log,
      mail,
      maintain,
      async close() {
        if (timer !== undefined) clearInterval(timer)
        await changePoll?.stop()
        try {
          await app.close()
        } finally {
          // Work answered requests started (mail to queue) finishes before the store closes.
          await auth.settled()
          // After the app: a request in flight may still queue and kick.
          await mailWorker?.stop()
          mailTransport?.close()
          await Promise.allSettled(publishing)
          await fanout?.close()
          if (redis !== undefined) await redis.lib.closeRedis(redis.client)
          await store.close()
        }
      },
    }
  } catch (error) {
    await fanout?.close()
    if (redis !== undefined) await redis.lib.closeRedis(redis.client)
    await store.close()
    throw error
  }
}
