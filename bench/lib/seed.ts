/**
 * Fills a Tessera database before its server starts, for the cost-growth
 * scenario: users (some with an authenticator app), sessions (each with a
 * live refresh token), revocation-list entries, OAuth clients and sent mail
 * in the outbox, written through the server's own Store ports (the same SQL
 * the server runs) and its own helpers (the client secret's hash, the TOTP
 * secret, the sealing under the master key), in large transactions so that
 * 100,000 rows take seconds, not minutes. The rows look like the server's
 * own: random UUIDs and client ids, one argon2id hash shared by every
 * seeded user, refresh-token hashes of random tokens, revocation entries of
 * the three kinds that expire in a day, outbox rows sent within the
 * retention window.
 *
 * The bench signs in as some of them: it gets back the addresses of the
 * first users, the first app users with their TOTP secrets (whose codes it
 * computes with the server's own helper), and one client with its secret.
 */

import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { hashClientSecret } from '../../packages/server/src/auth/oauth/clients.ts'
import {
  newTotpSecret,
  TOTP_PERIOD_SECONDS,
  totpSealContext,
} from '../../packages/server/src/auth/totp.ts'
import { mailDataContext } from '../../packages/server/src/mail/messages.ts'
import type { OAuthClientRecord, RevocationEntry } from '../../packages/server/src/storage/ports.ts'
import { createSqlStore } from '../../packages/server/src/storage/sql/index.ts'
import { createSealer } from '../../packages/server/src/tokens/sealer.ts'

export interface SeedCounts {
  readonly users: number
  readonly sessions: number
  readonly revocations: number
  /** Registered OAuth clients (half service clients, half apps with redirect URIs). */
  readonly clients: number
  /** Outbox rows, all sent (mail kept for the retention window). */
  readonly outbox: number
  /** Users with a confirmed authenticator app (the first ones). */
  readonly totpUsers: number
}

/** A seeded user with an authenticator app. */
export interface TotpUser {
  readonly email: string
  /** The base32 secret, as the authenticator app holds it. */
  readonly secret: string
}

/** What the bench needs to sign in as seeded users and clients. */
export interface Seeded {
  /** Time taken, ms. */
  readonly ms: number
  /** The addresses of the first users (at most `keep`), app users excluded. */
  readonly emails: readonly string[]
  /** The first app users (at most `keep`). */
  readonly totp: readonly TotpUser[]
  /** A service client (`client_credentials`, `client_secret_basic`, scope `api`). */
  readonly client: { readonly id: string; readonly secret: string }
}

/** The scope of the seeded service clients. */
export const SEEDED_CLIENT_SCOPE = 'api'

/** Rows written per transaction. */
const BATCH = 2_000

/**
 * Migrates the database at `databaseUrl` and seeds it; `passwordHash` is the
 * argon2id PHC string every seeded user gets, `masterKey` the server's
 * TESSERA_MASTER_KEY (base64url), which seals the TOTP secrets and the
 * mail data as the server does. Keeps up to `keep` addresses and app users.
 */
export async function seedDatabase(
  databaseUrl: string,
  counts: SeedCounts,
  passwordHash: string,
  masterKey: string,
  keep: number,
): Promise<Seeded> {
  const started = performance.now()
  const sealer = createSealer(Buffer.from(masterKey, 'base64url'))
  const emails: string[] = []
  const totp: TotpUser[] = []
  let client: Seeded['client'] | undefined
  const store = await createSqlStore(databaseUrl)
  try {
    await store.migrate()
    const now = Date.now()
    const day = 86_400_000
    const userIds: string[] = []
    // withRotationLock runs its callback in one transaction in which the
    // store's ordinary methods take part (storage/sql/context.ts): the one
    // public way to batch writes through the ports.
    const inBatches = async (total: number, write: (index: number) => Promise<void>) => {
      for (let start = 0; start < total; start += BATCH) {
        const end = Math.min(total, start + BATCH)
        await store.keys.withRotationLock(async () => {
          for (let index = start; index < end; index++) await write(index)
        })
      }
    }
    // Confirmed two steps ago: every code from the previous step on is good.
    const confirmedStep = Math.floor(now / 1000 / TOTP_PERIOD_SECONDS) - 2
    await inBatches(counts.users, async (index) => {
      const id = randomUUID()
      userIds.push(id)
      const email = `seed-${index}-${id.slice(0, 8)}@example.com`
      const created = await store.users.createUser({
        id,
        email,
        name: index % 3 === 0 ? null : `Seeded user ${index}`,
        passwordHash,
        // No admin among the app users: the bench signs in as them.
        roles: index % 10 === 0 && index >= counts.totpUsers ? ['user', 'admin'] : ['user'],
        createdAt: now - (index % 1000) * 60_000,
      })
      if (created === 'email_taken') throw new Error('seeding: duplicate email')
      if (index < counts.totpUsers) {
        const secret = newTotpSecret()
        const begun = await store.factors.startTotp({
          userId: id,
          sealedSecret: sealer.seal(secret, totpSealContext(id)),
          createdAt: now,
        })
        if (begun !== 'started' || !(await store.factors.confirmTotp(id, now, confirmedStep))) {
          throw new Error('seeding: the authenticator app was not confirmed')
        }
        if (totp.length < keep) totp.push({ email, secret })
      } else if (emails.length < keep) emails.push(email)
    })
    if (userIds.length === 0 && counts.sessions > 0) throw new Error('seeding: sessions need users')
    await inBatches(counts.sessions, async (index) => {
      const sessionId = randomUUID()
      const tokenHash = createHash('sha256')
        .update(randomBytes(32).toString('base64url'))
        .digest('base64url')
      await store.sessions.createSession(
        {
          id: sessionId,
          userId: userIds[index % userIds.length]!,
          createdAt: now,
          expiresAt: now + 30 * day,
          userAgent: 'tessera-bench seed',
          ip: null,
          authTime: now,
          amr: ['pwd'],
        },
        { tokenHash, sessionId, createdAt: now, expiresAt: now + 7 * day },
      )
    })
    for (let start = 0; start < counts.revocations; start += BATCH) {
      const entries: RevocationEntry[] = []
      for (let index = start; index < Math.min(counts.revocations, start + BATCH); index++) {
        const expiresAt = now + day
        // Mostly single tokens (a logout), some sessions and users (a password change).
        if (index % 10 === 8) entries.push({ kind: 'sid', value: randomUUID(), expiresAt })
        else if (index % 10 === 9) {
          entries.push({
            kind: 'sub',
            value: randomUUID(),
            before: Math.floor(now / 1000),
            expiresAt,
          })
        } else entries.push({ kind: 'jti', value: randomUUID(), expiresAt })
      }
      await store.revocations.addRevocations(entries, now)
    }
    const clientSecret = randomBytes(32).toString('base64url')
    await inBatches(counts.clients, async (index) => {
      const id = randomBytes(16).toString('base64url')
      const service = index % 2 === 0
      // The bench's own client is the last one registered.
      const secret =
        index === counts.clients - 1 ? clientSecret : randomBytes(32).toString('base64url')
      const record: OAuthClientRecord = {
        id,
        name: `Seeded ${service ? 'service' : 'app'} ${index}`,
        secretHash: hashClientSecret(secret),
        redirectUris: service ? [] : [`https://app-${index}.example/callback`],
        postLogoutRedirectUris: [],
        grantTypes: service ? ['client_credentials'] : ['authorization_code', 'refresh_token'],
        tokenEndpointAuthMethod: 'client_secret_basic',
        scopes: service ? [SEEDED_CLIENT_SCOPE] : ['openid', 'profile', 'email'],
        jwks: null,
        firstParty: false,
        accessTokenTtl: null,
        refreshTokenTtl: null,
        dpopBoundAccessTokens: false,
        idTokenEncryption: null,
        userinfoEncryption: null,
        createdAt: now - (counts.clients - index) * 1_000,
      }
      if (index === counts.clients - 1) {
        record.grantTypes = ['client_credentials']
        record.redirectUris = []
        record.scopes = [SEEDED_CLIENT_SCOPE]
        client = { id, secret }
      }
      await store.oauth.createClient(record)
    })
    // Mail sent within the retention window (the maintenance pass deletes
    // older): rows the outbox worker's claim must step over.
    await inBatches(counts.outbox, async (index) => {
      const userIndex = index % userIds.length
      const row = {
        id: randomUUID(),
        to: `seed-${userIndex}-${userIds[userIndex]!.slice(0, 8)}@example.com`,
        template: 'reset_password',
      }
      const createdAt = now - (index % 1000) * 60_000 - 60_000
      await store.outbox.enqueue({
        ...row,
        userId: userIds[userIndex]!,
        createdAt,
        sealedData: sealer.seal(
          JSON.stringify({
            link: `https://auth.bench.example/reset?token=${randomBytes(32).toString('base64url')}`,
            expiresIn: 3600,
            name: null,
          }),
          mailDataContext(row),
        ),
      })
      await store.outbox.markSent(row.id, createdAt + 1_000)
    })
  } finally {
    await store.close()
  }
  if (client === undefined) throw new Error('seeding: no client (counts.clients is 0)')
  return { ms: performance.now() - started, emails, totp, client }
}
