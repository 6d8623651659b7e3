// IdentityStore over SQL: the upstream identities of social login. The
// (provider, subject) primary key decides a race between two first sign-ins
// of one person: the insert that loses does nothing (ON CONFLICT DO NOTHING)
// and answers 'identity_taken', without an error that would abort a
// PostgreSQL transaction. The provider's tokens (kept on request) live in
// their own column, sealed, read only by the token route: never with a
// listing.

import type { Selectable } from 'kysely'
import type { IdentityRecord, IdentityStore } from '../ports.ts'
import type { SqlContext } from './context.ts'
import { toBoolean, toNumber } from './dialect.ts'
import { toNullableNumber } from './rows.ts'
import type { IdentitiesTable } from './schema.ts'

/** Every column but the sealed tokens. */
const COLUMNS = [
  'provider',
  'subject',
  'user_id',
  'email',
  'email_verified',
  'created_at',
  'last_used_at',
] as const

/** The IdentityStore of a SQL store. */
export function createIdentityStore(ctx: SqlContext): IdentityStore {
  const { dialect } = ctx

  return {
    async createIdentity(record) {
      const row = await ctx
        .db()
        .insertInto('identities')
        .values({
          provider: record.provider,
          subject: record.subject,
          user_id: record.userId,
          email: record.email,
          email_verified: dialect.toDbBoolean(record.emailVerified),
          created_at: record.createdAt,
          last_used_at: record.lastUsedAt,
        })
        .onConflict((conflict) => conflict.columns(['provider', 'subject']).doNothing())
        .returning(COLUMNS)
        .executeTakeFirst()
      return row === undefined ? 'identity_taken' : toIdentityRecord(row)
    },

    async findIdentity(provider, subject) {
      const row = await ctx
        .db()
        .selectFrom('identities')
        .select(COLUMNS)
        .where('provider', '=', provider)
        .where('subject', '=', subject)
        .executeTakeFirst()
      return row && toIdentityRecord(row)
    },

    async listIdentities(userId) {
      const rows = await ctx
        .db()
        .selectFrom('identities')
        .select(COLUMNS)
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .orderBy('provider')
        .orderBy('subject')
        .execute()
      return rows.map(toIdentityRecord)
    },

    async touchIdentity(provider, subject, patch) {
      await ctx
        .db()
        .updateTable('identities')
        .set({
          email: patch.email,
          email_verified: dialect.toDbBoolean(patch.emailVerified),
          last_used_at: patch.lastUsedAt,
        })
        .where('provider', '=', provider)
        .where('subject', '=', subject)
        .execute()
    },

    async deleteIdentity(provider, subject, userId) {
      const result = await ctx
        .db()
        .deleteFrom('identities')
        .where('provider', '=', provider)
        .where('subject', '=', subject)
        .where('user_id', '=', userId)
        .executeTakeFirst()
      return Number(result.numDeletedRows) > 0
    },

    async readIdentityTokens(provider, subject) {
      const row = await ctx
        .db()
        .selectFrom('identities')
        .select('tokens')
        .where('provider', '=', provider)
        .where('subject', '=', subject)
        .executeTakeFirst()
      return row?.tokens ?? null
    },

    async setIdentityTokens(provider, subject, userId, sealed, expected) {
      let update = ctx
        .db()
        .updateTable('identities')
        .set({ tokens: sealed })
        .where('provider', '=', provider)
        .where('subject', '=', subject)
        .where('user_id', '=', userId)
      if (expected === null) update = update.where('tokens', 'is', null)
      else if (expected !== undefined) update = update.where('tokens', '=', expected)
      const result = await update.executeTakeFirst()
      return Number(result.numUpdatedRows) > 0
    },
  }
}

function toIdentityRecord(row: Omit<Selectable<IdentitiesTable>, 'tokens'>): IdentityRecord {
  return {
    provider: row.provider,
    subject: row.subject,
    userId: row.user_id,
    email: row.email,
    emailVerified: toBoolean(row.email_verified),
    createdAt: toNumber(row.created_at),
    lastUsedAt: toNullableNumber(row.last_used_at),
  }
}
