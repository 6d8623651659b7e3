/**
 * Fills a Tessera database before its server starts, for the cost-growth
 * scenario: users, sessions (each with a live refresh token) and
 * revocation-list entries, written through the server's own Store ports
 * (the same SQL the server runs), in large transactions so that 100,000
 * rows take seconds, not minutes. The rows look like the server's own:
 * random UUIDs, one argon2id hash shared by every seeded user (no one logs
 * in as them), refresh-token hashes of random tokens, revocation entries of
 * the three kinds that expire in a day.
 */

import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { RevocationEntry } from '../../packages/server/src/storage/ports.ts'
import { createSqlStore } from '../../packages/server/src/storage/sql/index.ts'

export interface SeedCounts {
  readonly users: number
  readonly sessions: number
  readonly revocations: number
}

/** Rows written per transaction. */
const BATCH = 2_000

/**
 * Migrates the database at `databaseUrl` and seeds it; `passwordHash` is the
 * argon2id PHC string every seeded user gets. Returns the time taken, ms.
 */
export async function seedDatabase(
  databaseUrl: string,
  counts: SeedCounts,
  passwordHash: string,
): Promise<number> {
  const started = performance.now()
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
    await inBatches(counts.users, async (index) => {
      const id = randomUUID()
      userIds.push(id)
      const created = await store.users.createUser({
        id,
        email: `seed-${index}-${id.slice(0, 8)}@example.com`,
        name: index % 3 === 0 ? null : `Seeded user ${index}`,
        passwordHash,
        roles: index % 10 === 0 ? ['user', 'admin'] : ['user'],
        createdAt: now - (index % 1000) * 60_000,
      })
      if (created === 'email_taken') throw new Error('seeding: duplicate email')
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
  } finally {
    await store.close()
  }
  return performance.now() - started
}
