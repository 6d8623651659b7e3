// SessionStore over SQL: sessions, their refresh-token families, and the
// rotation race.

import type { Kysely, Selectable } from 'kysely'
import type {
  RefreshTokenRecord,
  RotateResult,
  RotationSuccessor,
  SessionRecord,
  SessionStore,
} from '../ports.ts'
import type { SqlContext } from './context.ts'
import { toNumber } from './dialect.ts'
import { parseStringArray, toNullableNumber } from './rows.ts'
import type { Database, RefreshTokensTable, SessionsTable } from './schema.ts'

/** The built-in first-party client: sessions of /auth/* (and the column's default). */
const FIRST_PARTY_CLIENT = 'tessera'

/** The SessionStore of a SQL store. */
export function createSessionStore(ctx: SqlContext): SessionStore {
  return {
    async createSession(session, refresh) {
      await ctx.transaction(async (trx) => {
        await trx
          .insertInto('sessions')
          .values({
            id: session.id,
            user_id: session.userId,
            created_at: session.createdAt,
            last_used_at: session.createdAt,
            expires_at: session.expiresAt,
            user_agent: session.userAgent,
            ip: session.ip,
            revoked_at: null,
            revoked_reason: null,
            auth_time: session.authTime,
            amr: JSON.stringify(session.amr),
            client_id: session.clientId ?? FIRST_PARTY_CLIENT,
            scope: session.scope ?? null,
            resource: session.resource ?? null,
            dpop_jkt: session.dpopJkt ?? null,
          })
          .execute()
        await trx
          .insertInto('refresh_tokens')
          .values({
            token_hash: refresh.tokenHash,
            session_id: refresh.sessionId,
            created_at: refresh.createdAt,
            expires_at: refresh.expiresAt,
            used_at: null,
            successor_hash: null,
            sealed_pair: null,
          })
          .execute()
      })
    },

    // One conditional statement: a session revoked or over at `at` is not
    // re-authenticated, whatever runs beside it.
    async reauthenticate(id, at, amr) {
      const row = await ctx
        .db()
        .updateTable('sessions')
        .set({ auth_time: at, amr: JSON.stringify(amr) })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', at)
        .returningAll()
        .executeTakeFirst()
      return row && toSessionRecord(row)
    },

    async findSession(id) {
      const row = await ctx
        .db()
        .selectFrom('sessions')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst()
      return row && toSessionRecord(row)
    },

    async listSessions(userId, now) {
      const rows = await ctx
        .db()
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute()
      return rows.map(toSessionRecord)
    },

    rotateRefreshToken: (input) => ctx.transaction((trx) => rotate(trx, input)),

    async findRefreshToken(tokenHash) {
      const row = await ctx
        .db()
        .selectFrom('refresh_tokens')
        .select(['token_hash', 'session_id', 'created_at', 'expires_at', 'used_at'])
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst()
      return row && toRefreshTokenRecord(row)
    },

    async revokeSession(id, now, reason) {
      const result = await ctx
        .db()
        .updateTable('sessions')
        .set({ revoked_at: now, revoked_reason: reason })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    async revokeUserSessions(userId, now, reason, exceptId) {
      let query = ctx
        .db()
        .updateTable('sessions')
        .set({ revoked_at: now, revoked_reason: reason })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
      if (exceptId !== undefined) query = query.where('id', '!=', exceptId)
      const rows = await query.returning('id').execute()
      return rows.map((row) => row.id)
    },

    async revokeClientSessions(clientId, now, reason, userId) {
      let query = ctx
        .db()
        .updateTable('sessions')
        .set({ revoked_at: now, revoked_reason: reason })
        .where('client_id', '=', clientId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
      if (userId !== undefined) query = query.where('user_id', '=', userId)
      const rows = await query.returning('id').execute()
      return rows.map((row) => row.id)
    },

    purgeExpired: (now, graceMs) =>
      ctx.transaction(async (trx) => {
        const tokens = await trx
          .deleteFrom('refresh_tokens')
          .where((eb) =>
            eb.or([
              eb('expires_at', '<=', now),
              eb(
                'session_id',
                'in',
                eb.selectFrom('sessions').select('id').where('expires_at', '<=', now),
              ),
            ]),
          )
          .executeTakeFirst()
        const sessions = await trx
          .deleteFrom('sessions')
          .where('expires_at', '<=', now)
          .executeTakeFirst()
        // A sealed pair only serves racing callers inside the grace window
        // (rotate() below); past it the pair is dead weight holding live
        // tokens, so it goes even though the used row stays for reuse detection.
        const pairs = await trx
          .updateTable('refresh_tokens')
          .set({ sealed_pair: null })
          .where('sealed_pair', 'is not', null)
          .where('used_at', '<', now - graceMs)
          .executeTakeFirst()
        return Number(tokens.numDeletedRows + sessions.numDeletedRows + pairs.numUpdatedRows)
      }),
  }
}

/**
 * The rotation race, inside one transaction (BEGIN IMMEDIATE on SQLite). The
 * conditional UPDATE is the arbiter: only a caller that finds `used_at` still
 * null gets a row back, whatever the interleaving, because the database
 * applies the row change and its condition atomically (PostgreSQL re-checks
 * the WHERE after waiting on the row lock). Everyone else reads the row and
 * is told what happened.
 *
 * On PostgreSQL, READ COMMITTED (the default) is enough, and is what makes
 * the losers' answer right. Callers on other connections run the UPDATE at
 * once; the first to reach the row locks it and the rest wait on that row
 * lock. When the winner commits, each waiter re-evaluates the WHERE against
 * the committed row version (EvalPlanQual), finds `used_at` set, updates
 * nothing and gets no row; if the winner rolled back instead, the first
 * waiter proceeds against the unchanged row and wins. So exactly one caller
 * ever gets `rotated`. A loser's following SELECT is a new statement with a
 * new snapshot (READ COMMITTED), so it sees the winner's `used_at` and
 * sealed pair and answers `within_grace`. REPEATABLE READ would make the
 * waiters fail with a serialization error instead, to be retried: more work
 * for the same outcome. (The EXISTS on `sessions` is not re-read under
 * EvalPlanQual; a session revoked at that very instant is a race whose either
 * order is acceptable, and the next refresh sees the revocation.)
 * https://www.postgresql.org/docs/current/transaction-iso.html#XACT-READ-COMMITTED
 */
async function rotate(
  trx: Kysely<Database>,
  input: { tokenHash: string; now: number; graceMs: number; successor: RotationSuccessor },
): Promise<RotateResult> {
  const { tokenHash, now, graceMs, successor } = input
  const won = await trx
    .updateTable('refresh_tokens')
    .set({ used_at: now, successor_hash: successor.tokenHash, sealed_pair: successor.sealedPair })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('sessions')
          .select('sessions.id')
          .whereRef('sessions.id', '=', 'refresh_tokens.session_id')
          .where('sessions.revoked_at', 'is', null)
          .where('sessions.expires_at', '>', now),
      ),
    )
    .returning('session_id')
    .executeTakeFirst()

  if (won) {
    await trx
      .insertInto('refresh_tokens')
      .values({
        token_hash: successor.tokenHash,
        session_id: won.session_id,
        created_at: successor.createdAt,
        expires_at: successor.expiresAt,
        used_at: null,
        successor_hash: null,
        sealed_pair: null,
      })
      .execute()
    const session = await trx
      .updateTable('sessions')
      .set({ last_used_at: now })
      .where('id', '=', won.session_id)
      .returningAll()
      .executeTakeFirstOrThrow()
    return { status: 'rotated', session: toSessionRecord(session) }
  }

  const token = await trx
    .selectFrom('refresh_tokens')
    .select(['session_id', 'expires_at', 'used_at', 'sealed_pair'])
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst()
  if (!token || toNumber(token.expires_at) <= now || token.used_at === null) {
    // Unknown or expired; an unused token that lost anyway belongs to a
    // session that is revoked or over.
    return { status: 'not_found' }
  }
  const row = await trx
    .selectFrom('sessions')
    .selectAll()
    .where('id', '=', token.session_id)
    .executeTakeFirst()
  if (!row || row.revoked_at !== null || toNumber(row.expires_at) <= now) {
    return { status: 'not_found' }
  }
  const session = toSessionRecord(row)
  if (now - toNumber(token.used_at) <= graceMs && token.sealed_pair !== null) {
    return { status: 'within_grace', session, sealedPair: token.sealed_pair }
  }
  // Used before and outside the grace window (or its pair already purged):
  // a replayed token, which the caller treats as theft (RFC 9700 §4.14.2).
  return { status: 'reused', session }
}

function toSessionRecord(row: Selectable<SessionsTable>): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    createdAt: toNumber(row.created_at),
    lastUsedAt: toNumber(row.last_used_at),
    expiresAt: toNumber(row.expires_at),
    userAgent: row.user_agent,
    ip: row.ip,
    revokedAt: toNullableNumber(row.revoked_at),
    revokedReason: row.revoked_reason,
    // Null in a session written before issue 16 added the columns: its
    // sign-in was then its only proof, and by password.
    authTime: row.auth_time === null ? toNumber(row.created_at) : toNumber(row.auth_time),
    amr: row.amr === null ? ['pwd'] : parseStringArray(row.amr),
    clientId: row.client_id,
    scope: row.scope,
    resource: row.resource,
    dpopJkt: row.dpop_jkt,
  }
}

function toRefreshTokenRecord(
  row: Pick<
    Selectable<RefreshTokensTable>,
    'token_hash' | 'session_id' | 'created_at' | 'expires_at' | 'used_at'
  >,
): RefreshTokenRecord {
  return {
    tokenHash: row.token_hash,
    sessionId: row.session_id,
    createdAt: toNumber(row.created_at),
    expiresAt: toNumber(row.expires_at),
    usedAt: toNullableNumber(row.used_at),
  }
}
