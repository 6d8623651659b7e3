// OneTimeTokenStore over SQL: the hashes of mailed links and codes. Each
// method that decides something is one conditional statement, so the
// database arbitrates races: a token is consumed once, and wrong codes never
// count past the limit.

import type { Selectable } from 'kysely'
import type { OneTimePurpose, OneTimeTokenRecord, OneTimeTokenStore } from '../ports.ts'
import type { SqlContext } from './context.ts'
import { toNumber } from './dialect.ts'
import { toNullableNumber } from './rows.ts'
import type { OneTimeTokensTable } from './schema.ts'

const PURPOSES: readonly OneTimePurpose[] = [
  'verify_email',
  'reset_password',
  'sign_in',
  'sign_in_code',
  'change_email',
]

/** The OneTimeTokenStore of a SQL store. */
export function createOneTimeTokenStore(ctx: SqlContext): OneTimeTokenStore {
  return {
    createToken: (token, now) =>
      ctx.transaction(async (trx) => {
        // Two requests for a link at once: without the lock each would end
        // the older tokens it sees, insert its own, and leave two usable
        // (PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes them).
        // The user's row lock makes the second wait, then end the first's.
        await ctx.dialect
          .lockRows(trx.selectFrom('users').select('id').where('id', '=', token.userId))
          .execute()
        await trx
          .updateTable('one_time_tokens')
          .set({ used_at: now })
          .where('user_id', '=', token.userId)
          .where('purpose', '=', token.purpose)
          .where('used_at', 'is', null)
          .execute()
        // A code's hash is its user's and its digits': the same six digits
        // drawn again for that user must replace the dead row, not collide
        // with it. Only a dead row goes (any older one was just ended).
        await trx
          .deleteFrom('one_time_tokens')
          .where('hash', '=', token.hash)
          .where('user_id', '=', token.userId)
          .where('used_at', 'is not', null)
          .execute()
        await trx
          .insertInto('one_time_tokens')
          .values({
            hash: token.hash,
            user_id: token.userId,
            purpose: token.purpose,
            email: token.email,
            created_at: token.createdAt,
            expires_at: token.expiresAt,
            attempts: 0,
            max_attempts: token.maxAttempts,
            used_at: null,
          })
          .execute()
      }),

    // The condition and the change in one statement: of concurrent
    // consumers only one finds `used_at` null (PostgreSQL re-checks the
    // WHERE after waiting for the row lock; SQLite has one writer), and the
    // others update nothing. The purpose is part of the condition, so a
    // reset link never verifies an address.
    async consumeToken(hash, purpose, now) {
      const row = await ctx
        .db()
        .updateTable('one_time_tokens')
        .set({ used_at: now })
        .where('hash', '=', hash)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .whereRef('attempts', '<', 'max_attempts')
        .returningAll()
        .executeTakeFirst()
      return row && toOneTimeTokenRecord(row)
    },

    async countFailedAttempt(userId, purpose, now) {
      const rows = await ctx
        .db()
        .updateTable('one_time_tokens')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('user_id', '=', userId)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .whereRef('attempts', '<', 'max_attempts')
        .returning(['attempts', 'max_attempts'])
        .execute()
      // createToken leaves at most one live token per user and purpose.
      const left = rows.map((row) => toNumber(row.max_attempts) - toNumber(row.attempts))
      return left.length === 0 ? undefined : Math.min(...left)
    },

    async revokeTokens(userId, now, purposes) {
      if (purposes?.length === 0) return 0
      let query = ctx
        .db()
        .updateTable('one_time_tokens')
        .set({ used_at: now })
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
      if (purposes !== undefined) query = query.where('purpose', 'in', purposes)
      const result = await query.executeTakeFirst()
      return Number(result.numUpdatedRows)
    },

    async deleteExpiredTokens(before) {
      const result = await ctx
        .db()
        .deleteFrom('one_time_tokens')
        .where((eb) => eb.or([eb('expires_at', '<=', before), eb('used_at', '<', before)]))
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

function toPurpose(value: string): OneTimePurpose {
  const purpose = PURPOSES.find((candidate) => candidate === value)
  if (purpose === undefined) throw new TypeError('stored one-time token purpose is not a known one')
  return purpose
}

function toOneTimeTokenRecord(row: Selectable<OneTimeTokensTable>): OneTimeTokenRecord {
  return {
    hash: row.hash,
    userId: row.user_id,
    purpose: toPurpose(row.purpose),
    email: row.email,
    createdAt: toNumber(row.created_at),
    expiresAt: toNumber(row.expires_at),
    attempts: toNumber(row.attempts),
    maxAttempts: toNumber(row.max_attempts),
    usedAt: toNullableNumber(row.used_at),
  }
}
