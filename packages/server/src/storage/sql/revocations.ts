// RevocationStore over SQL: an append-only feed whose ids are the cursor
// resource servers catch up from (GET /auth/revocations?since=).

import type { Insertable, Selectable } from 'kysely'
import type { RevocationEntry, RevocationStore, StoredRevocation } from '../ports.ts'
import type { SqlContext } from './context.ts'
import { toNumber } from './dialect.ts'
import { checkLimit } from './rows.ts'
import type { RevocationsTable } from './schema.ts'

/** The RevocationStore of a SQL store. */
export function createRevocationStore(ctx: SqlContext): RevocationStore {
  return {
    async addRevocations(entries, now) {
      if (entries.length === 0) return []
      const rows = await ctx.transaction(async (trx) => {
        await ctx.dialect.lockRevocationFeed(trx)
        return trx
          .insertInto('revocations')
          .values(entries.map((entry) => toRow(entry, now)))
          .returningAll()
          .execute()
      })
      return rows.map(toStoredRevocation).sort((a, b) => a.id - b.id)
    },

    async listRevocations(since, now, limit) {
      checkLimit(limit)
      const rows = await ctx
        .db()
        .selectFrom('revocations')
        .selectAll()
        .where('id', '>', since)
        .where('expires_at', '>', now)
        .orderBy('id')
        .limit(limit)
        .execute()
      return rows.map(toStoredRevocation)
    },

    async deleteExpiredRevocations(now) {
      const result = await ctx
        .db()
        .deleteFrom('revocations')
        .where('expires_at', '<=', now)
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

function toRow(entry: RevocationEntry, now: number): Insertable<RevocationsTable> {
  return {
    kind: entry.kind,
    value: entry.value,
    before: entry.kind === 'sub' ? entry.before : null,
    created_at: now,
    expires_at: entry.expiresAt,
  }
}

function toStoredRevocation(row: Selectable<RevocationsTable>): StoredRevocation {
  const id = toNumber(row.id)
  const createdAt = toNumber(row.created_at)
  const expiresAt = toNumber(row.expires_at)
  switch (row.kind) {
    case 'jti':
    case 'sid':
      return { kind: row.kind, value: row.value, expiresAt, id, createdAt }
    case 'sub':
      if (row.before === null) throw new TypeError('stored sub revocation has no before')
      return {
        kind: 'sub',
        value: row.value,
        before: toNumber(row.before),
        expiresAt,
        id,
        createdAt,
      }
  }
  throw new TypeError('stored revocation has an unknown kind')
}
