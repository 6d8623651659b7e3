// OutboxStore over SQL: mail waits here, written in the transaction of the
// change that caused it, until a worker claims, sends and marks it.
//
// A message's life: pending → sending (claimed, under a lease) → sent, or
// back to pending with a later `next_attempt_at` after a failure, or dead
// after the last try. A `sending` message whose lease ran out (its worker
// died) is due again, so a crash loses nothing; the price is that delivery
// is at least once.

import type { Selectable } from 'kysely'
import type { OutboxMessage, OutboxStore } from '../ports.ts'
import type { SqlContext } from './context.ts'
import { toNumber } from './dialect.ts'
import { checkLimit, toNullableNumber } from './rows.ts'
import type { OutboxTable } from './schema.ts'

type Status = OutboxMessage['status']

const STATUSES: readonly Status[] = ['pending', 'sending', 'sent', 'dead']
/** Statuses a claim picks from: waiting, or claimed by a worker whose lease may have run out. */
const CLAIMABLE: readonly Status[] = ['pending', 'sending']
const FINISHED: readonly Status[] = ['sent', 'dead']
/** An SMTP answer is a line or two; a runaway one must not bloat the table. */
const MAX_ERROR_LENGTH = 1000

/** The OutboxStore of a SQL store. */
export function createOutboxStore(ctx: SqlContext): OutboxStore {
  return {
    async enqueue(message) {
      await ctx
        .db()
        .insertInto('outbox')
        .values({
          id: message.id,
          recipient: message.to,
          template: message.template,
          sealed_data: message.sealedData,
          user_id: message.userId,
          created_at: message.createdAt,
          status: 'pending',
          attempts: 0,
          next_attempt_at: message.createdAt,
          last_error: null,
          sent_at: null,
        })
        .execute()
    },

    // One statement, so one transaction on both backends: the subquery picks
    // the due rows and the UPDATE takes them before anyone else can.
    // PostgreSQL: the subquery locks them FOR UPDATE SKIP LOCKED (postgres.ts),
    // so concurrent claimers take disjoint sets without waiting on each
    // other. SQLite: a write statement takes the file's write lock before it
    // reads, exactly as BEGIN IMMEDIATE would, so another connection's claim
    // runs wholly before or after this one. (A lone statement, not a
    // BEGIN IMMEDIATE … COMMIT pair with awaits between: two stores in one
    // thread could not wait for each other's lock, node:sqlite being
    // synchronous.) Inside Store.atomically it joins that transaction.
    async claimDue(now, limit, leaseMs) {
      checkLimit(limit)
      if (limit === 0) return []
      const rows = await ctx
        .db()
        .updateTable('outbox')
        .set((eb) => ({
          status: 'sending',
          attempts: eb('attempts', '+', 1),
          next_attempt_at: now + leaseMs,
        }))
        .where('id', 'in', (eb) =>
          ctx.dialect.claimRows(
            eb
              .selectFrom('outbox')
              .select('id')
              .where('status', 'in', CLAIMABLE)
              .where('next_attempt_at', '<=', now)
              .orderBy('next_attempt_at')
              .orderBy('id')
              .limit(limit),
          ),
        )
        .returningAll()
        .execute()
      // RETURNING has no order of its own.
      return rows.map(toOutboxMessage).sort(byWaitingLongest)
    },

    async markSent(id, at) {
      await ctx
        .db()
        .updateTable('outbox')
        .set({ status: 'sent', sent_at: at })
        .where('id', '=', id)
        .where('status', '!=', 'sent')
        .execute()
    },

    async markFailed(id, error, retryAt) {
      await ctx
        .db()
        .updateTable('outbox')
        .set({
          status: retryAt === null ? 'dead' : 'pending',
          last_error: error.slice(0, MAX_ERROR_LENGTH),
          ...(retryAt === null ? {} : { next_attempt_at: retryAt }),
        })
        .where('id', '=', id)
        // A slower attempt whose lease ran out must not undo a later one's
        // success (and send the mail again) or revive a dead message.
        .where('status', '=', 'sending')
        .execute()
    },

    async listMessages({ limit, status }) {
      checkLimit(limit)
      let query = ctx
        .db()
        .selectFrom('outbox')
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
      if (status !== undefined) query = query.where('status', '=', status)
      return (await query.execute()).map(toOutboxMessage)
    },

    async countByStatus() {
      const rows = await ctx
        .db()
        .selectFrom('outbox')
        .select((eb) => ['status', eb.fn.countAll<number | bigint | string>().as('count')])
        .groupBy('status')
        .execute()
      const counts: Record<Status, number> = { pending: 0, sending: 0, sent: 0, dead: 0 }
      for (const row of rows) counts[toStatus(row.status)] = toNumber(row.count)
      return counts
    },

    // Oldest first through the index on created_at; a subquery on ids since
    // neither backend takes DELETE … LIMIT (as audit.ts).
    async deleteFinishedBefore(before, limit) {
      checkLimit(limit)
      const result = await ctx
        .db()
        .deleteFrom('outbox')
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('outbox')
            .select('id')
            .where('status', 'in', FINISHED)
            .where('created_at', '<', before)
            .orderBy('created_at')
            .limit(limit),
        )
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

function byWaitingLongest(a: OutboxMessage, b: OutboxMessage): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

function toStatus(value: string): Status {
  const status = STATUSES.find((candidate) => candidate === value)
  if (status === undefined) throw new TypeError('stored outbox status is not a known one')
  return status
}

function toOutboxMessage(row: Selectable<OutboxTable>): OutboxMessage {
  return {
    id: row.id,
    to: row.recipient,
    template: row.template,
    sealedData: row.sealed_data,
    userId: row.user_id,
    createdAt: toNumber(row.created_at),
    status: toStatus(row.status),
    attempts: toNumber(row.attempts),
    nextAttemptAt: toNumber(row.next_attempt_at),
    lastError: row.last_error,
    sentAt: toNullableNumber(row.sent_at),
  }
}
