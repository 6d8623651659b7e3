// SessionStore over SQL: sessions, their refresh-token families, and the
// rotation race.

import { type Kysely, type Selectable, sql } from 'kysely'
import type {
  RefreshTokenGrant,
  RefreshTokenRecord,
  RotateResult,
  RotationSuccessor,
  SessionRecord,
  SessionStore,
} from '../ports.ts'
import type { SqlContext } from './context.ts'
import { toNumber } from './dialect.ts'
import { prepared } from './prepared.ts'
import { parseStringArray, toNullableNumber } from './rows.ts'
import type { Database, DbBoolean, DbInteger, RefreshTokensTable, SessionsTable } from './schema.ts'
import { toUserRecord } from './users.ts'

/** The built-in first-party client: sessions of /auth/* (and the column's default). */
const FIRST_PARTY_CLIENT = 'tessera'

/**
 * Every column of `sessions`, named: the statements PostgreSQL keeps
 * prepared select no `*` (prepared.ts). A record of every key, so this
 * fails to compile when the table gains a column it lacks.
 */
const SESSION_COLUMNS = Object.keys({
  id: true,
  user_id: true,
  created_at: true,
  last_used_at: true,
  expires_at: true,
  user_agent: true,
  ip: true,
  revoked_at: true,
  revoked_reason: true,
  auth_time: true,
  amr: true,
  client_id: true,
  scope: true,
  resource: true,
  dpop_jkt: true,
  idp: true,
} satisfies Record<keyof SessionsTable, true>)
const sessionColumnsOf = (table: string) =>
  sql.raw(SESSION_COLUMNS.map((column) => `${table}.${column}`).join(', '))
const SESSION_COLUMNS_S = sessionColumnsOf('s')
const SESSION_COLUMNS_SESSIONS = sessionColumnsOf('sessions')

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
            idp: session.idp ?? null,
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

    rotateRefreshToken: (input) =>
      ctx.dialect.name === 'postgres'
        ? rotateInOneStatement(ctx.db(), input)
        : ctx.transaction((trx) => rotate(trx, input)),

    // One statement for what a refresh used to read in three (token,
    // session, user): each is a round trip on PostgreSQL. The session is
    // found through a scalar subquery on the token rather than a join from
    // refresh_tokens: on SQLite that join costs several times the three
    // lookups (measured: 29 against 7 µs a row), the subquery no more than
    // one. A token's session and a session's user are foreign keys that
    // cascade: a token without them is not there at all.
    async findRefreshTokenGrant(tokenHash) {
      const { rows } = await sql<GrantRow>`${prepared('refresh_grant')}select ${SESSION_COLUMNS_S},
          u.email as user_email, u.name as user_name, u.password_hash as user_password_hash,
          u.roles as user_roles, u.created_at as user_created_at,
          u.updated_at as user_updated_at, u.password_changed_at as user_password_changed_at,
          u.disabled as user_disabled, u.email_verified_at as user_email_verified_at
        from sessions s join users u on u.id = s.user_id
        where s.id = (select session_id from refresh_tokens where token_hash = ${tokenHash})`.execute(
        ctx.db(),
      )
      const row = rows[0]
      return row && toGrant(row)
    },

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
 * The rotation race on SQLite, inside one transaction (BEGIN IMMEDIATE);
 * PostgreSQL runs the same race as one statement (rotateInOneStatement
 * above). The conditional UPDATE is the arbiter: only a caller that finds
 * `used_at` still null gets a row back, whatever the interleaving, because
 * the database applies the row change and its condition atomically
 * (PostgreSQL re-checks the WHERE after waiting on the row lock). Everyone
 * else reads the row (whyNotRotated) and is told what happened.
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
  const { tokenHash, now, successor } = input
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
  return whyNotRotated(trx, input)
}

/**
 * PostgreSQL: the rotation as one statement, so a refresh that wins costs
 * one round trip instead of five (BEGIN, the three statements of rotate(),
 * COMMIT). The arbiter is the same conditional UPDATE, in a data-modifying
 * CTE: a statement is atomic on its own, its row lock and the EvalPlanQual
 * re-check of the WHERE work in a CTE exactly as at top level, and the
 * INSERT of the successor and the UPDATE of the session see the CTE's row
 * only when it won (every part of the statement commits or none does).
 * https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING
 *
 * A loser cannot be answered from the same statement: all of it runs on
 * the snapshot taken when it started, before the winner committed, so it
 * would read the token unused and without its pair. whyNotRotated() is a
 * new statement, with a new snapshot (READ COMMITTED) that sees the winner's
 * commit, as in rotate(). Losers are rare (racing tabs, a retry, a replay).
 *
 * The casts: a parameter in an INSERT's SELECT list has no column to take
 * its type from.
 */
async function rotateInOneStatement(
  db: Kysely<Database>,
  input: { tokenHash: string; now: number; graceMs: number; successor: RotationSuccessor },
): Promise<RotateResult> {
  const { tokenHash, now, successor } = input
  const { rows } = await sql<Selectable<SessionsTable>>`${prepared('refresh_rotate')}with won as (
      update refresh_tokens
      set used_at = ${now}, successor_hash = ${successor.tokenHash},
        sealed_pair = ${successor.sealedPair}
      where token_hash = ${tokenHash} and used_at is null and expires_at > ${now}
        and exists (select 1 from sessions
          where sessions.id = refresh_tokens.session_id
            and sessions.revoked_at is null and sessions.expires_at > ${now})
      returning session_id
    ), successor as (
      insert into refresh_tokens (token_hash, session_id, created_at, expires_at)
      select cast(${successor.tokenHash} as text), session_id,
        cast(${successor.createdAt} as bigint), cast(${successor.expiresAt} as bigint)
      from won
    )
    update sessions set last_used_at = ${now}
    from won where sessions.id = won.session_id
    returning ${SESSION_COLUMNS_SESSIONS}`.execute(db)
  const session = rows[0]
  if (session) return { status: 'rotated', session: toSessionRecord(session) }
  return whyNotRotated(db, input)
}

/** What a caller that did not win the rotation is told, read in one statement after the race. */
async function whyNotRotated(
  db: Kysely<Database>,
  input: { tokenHash: string; now: number; graceMs: number },
): Promise<RotateResult> {
  const { tokenHash, now, graceMs } = input
  const { rows } = await sql<
    Selectable<SessionsTable> & {
      token_expires_at: DbInteger
      token_used_at: DbInteger | null
      token_sealed_pair: string | null
    }
  >`select s.*, t.expires_at as token_expires_at, t.used_at as token_used_at,
      t.sealed_pair as token_sealed_pair
    from refresh_tokens t join sessions s on s.id = t.session_id
    where t.token_hash = ${tokenHash}`.execute(db)
  const row = rows[0]
  if (!row || toNumber(row.token_expires_at) <= now || row.token_used_at === null) {
    // Unknown or expired; an unused token that lost anyway belongs to a
    // session that is revoked or over.
    return { status: 'not_found' }
  }
  if (row.revoked_at !== null || toNumber(row.expires_at) <= now) {
    return { status: 'not_found' }
  }
  const session = toSessionRecord(row)
  if (now - toNumber(row.token_used_at) <= graceMs && row.token_sealed_pair !== null) {
    return { status: 'within_grace', session, sealedPair: row.token_sealed_pair }
  }
  // Used before and outside the grace window (or its pair already purged):
  // a replayed token, which the caller treats as theft (RFC 9700 §4.14.2).
  return { status: 'reused', session }
}

/** A row of findRefreshTokenGrant: the session's columns, and the user's prefixed. */
type GrantRow = Selectable<SessionsTable> & {
  user_email: string
  user_name: string | null
  user_password_hash: string
  user_roles: string
  user_created_at: DbInteger
  user_updated_at: DbInteger
  user_password_changed_at: DbInteger | null
  user_disabled: DbBoolean
  user_email_verified_at: DbInteger | null
}

function toGrant(row: GrantRow): RefreshTokenGrant {
  return {
    session: toSessionRecord(row),
    user: toUserRecord({
      id: row.user_id,
      email: row.user_email,
      name: row.user_name,
      password_hash: row.user_password_hash,
      roles: row.user_roles,
      created_at: row.user_created_at,
      updated_at: row.user_updated_at,
      password_changed_at: row.user_password_changed_at,
      disabled: row.user_disabled,
      email_verified_at: row.user_email_verified_at,
    }),
  }
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
    ...(row.idp === null ? {} : { idp: row.idp }),
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
