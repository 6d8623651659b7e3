// AuditStore over SQL: an append-only log, read newest first, pruned oldest
// first by the retention pass.

import type { Selectable } from 'kysely'
import type { AuditEvent, AuditStore } from '../ports.ts'
import type { SqlContext } from './context.ts'
import { toNumber } from './dialect.ts'
import { checkLimit, parseObject } from './rows.ts'
import type { AuditLogTable } from './schema.ts'

/** The AuditStore of a SQL store. */
export function createAuditStore(ctx: SqlContext): AuditStore {
  return {
    async appendAudit(event) {
      await ctx
        .db()
        .insertInto('audit_log')
        .values({
          at: event.at,
          event: event.event,
          user_id: event.userId,
          session_id: event.sessionId,
          ip: event.ip,
          details: JSON.stringify(event.details),
        })
        .execute()
    },

    /** Newest first; `before` is an id cursor: the `id` of the last entry of the previous page. */
    async listAudit({ limit, before, userId, event }) {
      checkLimit(limit)
      let query = ctx.db().selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(limit)
      if (before !== undefined) query = query.where('id', '<', before)
      if (userId !== undefined) query = query.where('user_id', '=', userId)
      if (event !== undefined) query = query.where('event', '=', event)
      return (await query.execute()).map(toAuditEntry)
    },

    // The oldest first, through the index on `at`. Neither SQLite (as built)
    // nor PostgreSQL takes DELETE … LIMIT: the batch is a subquery on ids.
    async deleteAuditBefore(before, limit) {
      checkLimit(limit)
      const result = await ctx
        .db()
        .deleteFrom('audit_log')
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('audit_log')
            .select('id')
            .where('at', '<', before)
            .orderBy('at')
            .limit(limit),
        )
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

function toAuditEntry(row: Selectable<AuditLogTable>): AuditEvent & { id: number } {
  return {
    id: toNumber(row.id),
    at: toNumber(row.at),
    event: row.event,
    userId: row.user_id,
    sessionId: row.session_id,
    ip: row.ip,
    details: parseObject(row.details),
  }
}
