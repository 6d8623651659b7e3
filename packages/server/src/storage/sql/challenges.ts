// ChallengeStore over SQL: the short-lived, single-use challenges of an MFA
// sign-in's second step and of WebAuthn ceremonies, by the hash of their
// token. As in one-time-tokens.ts, consuming one and counting a wrong try
// are each one conditional statement, so the database arbitrates races: a
// challenge is consumed once, and wrong tries never count past the limit.

import type { ExpressionBuilder, Selectable } from 'kysely'
import type { ChallengeKind, ChallengeRecord, ChallengeStore } from '../ports.ts'
import type { SqlContext } from './context.ts'
import { toNumber } from './dialect.ts'
import { toNullableNumber } from './rows.ts'
import type { ChallengesTable, Database } from './schema.ts'

const KINDS: readonly ChallengeKind[] = [
  'mfa',
  'mfa_enrollment',
  'passkey_registration',
  'passkey_login',
  'oauth_request',
]

/** The ChallengeStore of a SQL store. */
export function createChallengeStore(ctx: SqlContext): ChallengeStore {
  return {
    async createChallenge(record) {
      await ctx
        .db()
        .insertInto('challenges')
        .values({
          hash: record.hash,
          kind: record.kind,
          user_id: record.userId,
          data: record.data,
          created_at: record.createdAt,
          expires_at: record.expiresAt,
          attempts: 0,
          max_attempts: record.maxAttempts,
          used_at: null,
        })
        .execute()
    },

    async findChallenge(hash, kind, now) {
      const row = await ctx
        .db()
        .selectFrom('challenges')
        .selectAll()
        .where('hash', '=', hash)
        .where('kind', '=', kind)
        .where((eb) => isLive(eb, now))
        .executeTakeFirst()
      return row && toChallengeRecord(row)
    },

    // The condition and the change in one statement: of concurrent consumers
    // only one finds `used_at` null (PostgreSQL re-checks the WHERE after
    // waiting for the row lock; SQLite has one writer). The kind is part of
    // the condition, so a registration challenge never signs anyone in.
    async consumeChallenge(hash, kind, now) {
      const row = await ctx
        .db()
        .updateTable('challenges')
        .set({ used_at: now })
        .where('hash', '=', hash)
        .where('kind', '=', kind)
        .where((eb) => isLive(eb, now))
        .returningAll()
        .executeTakeFirst()
      return row && toChallengeRecord(row)
    },

    async countChallengeFailure(hash, now) {
      const row = await ctx
        .db()
        .updateTable('challenges')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('hash', '=', hash)
        .where((eb) => isLive(eb, now))
        .returning(['attempts', 'max_attempts'])
        .executeTakeFirst()
      return row && toNumber(row.max_attempts) - toNumber(row.attempts)
    },

    async deleteExpiredChallenges(before) {
      const result = await ctx
        .db()
        .deleteFrom('challenges')
        .where((eb) => eb.or([eb('expires_at', '<=', before), eb('used_at', '<', before)]))
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

/** Unused, unexpired at `now` (`now < expires_at`), and under its attempts. */
function isLive(eb: ExpressionBuilder<Database, 'challenges'>, now: number) {
  return eb.and([
    eb('used_at', 'is', null),
    eb('expires_at', '>', now),
    eb('attempts', '<', eb.ref('max_attempts')),
  ])
}

function toKind(value: string): ChallengeKind {
  const kind = KINDS.find((candidate) => candidate === value)
  if (kind === undefined) throw new TypeError('stored challenge kind is not a known one')
  return kind
}

function toChallengeRecord(row: Selectable<ChallengesTable>): ChallengeRecord {
  return {
    hash: row.hash,
    kind: toKind(row.kind),
    userId: row.user_id,
    data: row.data,
    createdAt: toNumber(row.created_at),
    expiresAt: toNumber(row.expires_at),
    attempts: toNumber(row.attempts),
    maxAttempts: toNumber(row.max_attempts),
    usedAt: toNullableNumber(row.used_at),
  }
}
