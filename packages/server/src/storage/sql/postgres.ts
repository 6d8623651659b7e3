// The PostgreSQL half of the SQL store: a `pg` pool behind Kysely's
// PostgresDialect, and what only PostgreSQL needs (dialect.ts has the shape
// both backends fill, and the reasons behind each part).
//
// Several Tessera instances share one database, so the coordination that
// SQLite gets from its single writer comes from advisory locks here, all
// keyed by constants (pg_locks shows them as classid 0x74657373 = "tess"):
// - key rotation: a transaction-scoped lock, held until `fn` commits;
// - the revocation feed: a transaction-scoped lock taken before the INSERT,
//   so ids are drawn from the sequence and committed in the same order;
// - migrations: a session-scoped lock on one connection around the whole
//   Migrator run, including its bookkeeping tables.
// The keys are per database, not per schema: deployments sharing a database
// in different schemas serialize these (short) sections with each other,
// which costs a little waiting and never correctness.
//
// Outages: a connection-level failure becomes a StoreUnavailableError (the
// HTTP layer answers 503), and the pool recovers by itself: a client that
// failed is discarded, not reused, and new ones are opened on demand.

import {
  Kysely,
  type PostgresCursor,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
  sql,
} from 'kysely'
import { Pool, type PoolClient, type QueryResult, TypeOverrides, types } from 'pg'
import { StoreUnavailableError } from '../ports.ts'
import type { SqlDialect } from './dialect-types.ts'
import { preparedName } from './prepared.ts'
import type { Database } from './schema.ts'

/** Connections per instance when the URL has no `?pool=`. */
export const DEFAULT_POOL_SIZE = 10
/** How long to wait for a connection (new, or free in a full pool) without `?connect_timeout=`. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000
/**
 * Server-side bound on one statement (overridable with `?statement_timeout=`,
 * milliseconds): a request waiting on a stuck lock fails instead of holding
 * its connection forever. Migrations lift it (see withMigrationLock).
 */
const STATEMENT_TIMEOUT_MS = 15_000
/**
 * A connection left idle inside a transaction (a hung caller) is closed by
 * the server after this long, releasing the row and advisory locks it holds.
 */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
/** A migration waits this long for another instance's migration before failing. */
const MIGRATION_LOCK_WAIT_MS = 10 * 60_000

// "tessera\0" as a big-endian int64, plus a small number per lock.
const LOCK_BASE = 0x74657373_65726100n
const ROTATION_LOCK = LOCK_BASE + 1n
const REVOCATION_FEED_LOCK = LOCK_BASE + 2n
const MIGRATION_LOCK = LOCK_BASE + 3n

/** What a `postgres://` URL asks for, split into what `pg` reads and what Tessera reads. */
export interface PostgresOptions {
  /** The URL without Tessera's own parameters; `pg` reads the rest (sslmode, statement_timeout, …). */
  readonly connectionString: string
  readonly poolSize: number
  readonly connectTimeoutMs: number
  /** The schema holding Tessera's tables, or undefined for the server's search_path. */
  readonly schema: string | undefined
  /** The startup `options` (search_path), or undefined to leave the URL's own. */
  readonly startupOptions: string | undefined
  /** Where the data lives, for logs: user, host, port, database, schema; never a password or a query parameter. */
  readonly description: string
}

const URL_FORMS =
  'database URL must be postgres://user:password@host:port/database[?pool=N&schema=name]'
/** Unquoted, lower-case identifiers only: they go into search_path and CREATE SCHEMA unescaped by the server's rules. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/**
 * Parses a `postgres://` or `postgresql://` URL. Besides what `pg` reads,
 * it takes three parameters:
 * - `pool`: connections per instance (1 to 1000, default 10);
 * - `connect_timeout`: seconds to wait for a connection, as in libpq
 *   (default 5); it also bounds the wait for a free connection in a full pool;
 * - `schema`: the schema that holds Tessera's tables (created by `migrate()`
 *   when missing; lower-case letters, digits and `_`). It lets Tessera share
 *   a database with other applications, or tests isolate themselves.
 *
 * Throws a TypeError naming the bad part; never the URL itself (a password).
 */
export function parsePostgresUrl(databaseUrl: string): PostgresOptions {
  const url = URL.parse(databaseUrl)
  if (url === null || !/^postgres(ql)?:$/i.test(url.protocol)) throw new TypeError(URL_FORMS)
  const params = url.searchParams

  const poolSize = readInteger(params, 'pool', 1, 1000) ?? DEFAULT_POOL_SIZE
  const connectTimeoutSeconds = readInteger(params, 'connect_timeout', 1, 3600)
  const connectTimeoutMs =
    connectTimeoutSeconds === undefined ? DEFAULT_CONNECT_TIMEOUT_MS : connectTimeoutSeconds * 1000
  const schema = params.get('schema') ?? undefined
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new TypeError(
      'database URL parameter schema must be lower-case letters, digits and _ (at most 63)',
    )
  }
  let startupOptions: string | undefined
  if (schema !== undefined) {
    // pg lets URL parameters override its config, so the URL's own `options`
    // are merged here rather than silently replacing the search_path.
    startupOptions = [params.get('options'), `-c search_path=${schema}`]
      .filter((part) => part !== null && part !== '')
      .join(' ')
    params.delete('options')
  }
  for (const name of ['pool', 'connect_timeout', 'schema']) params.delete(name)

  const user = decodeURIComponent(url.username)
  const host = url.hostname || params.get('host') || 'localhost'
  const port = url.port ? `:${url.port}` : ''
  const database = decodeURIComponent(url.pathname.slice(1))
  const description = [
    `PostgreSQL ${user ? `${user}@` : ''}${host}${port}/${database}`,
    ...(schema === undefined ? [] : [`schema ${schema}`]),
    `pool ${poolSize}`,
  ].join(', ')

  return {
    connectionString: url.href,
    poolSize,
    connectTimeoutMs,
    schema,
    startupOptions,
    description,
  }
}

function readInteger(
  params: URLSearchParams,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const text = params.get(name)
  if (text === null) return undefined
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!(value >= min && value <= max)) {
    throw new TypeError(`database URL parameter ${name} must be an integer from ${min} to ${max}`)
  }
  return value
}

// Node's socket errors that mean the server is not there (or went away).
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])
// SQLSTATEs for a server that is shutting down, starting up, or full.
// https://www.postgresql.org/docs/current/errcodes-appendix.html
const SERVER_CODES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
])
/** Class 08: connection exception. */
const CONNECTION_EXCEPTION = /^08[0-9A-Z]{3}$/
// What pg and pg-pool throw without a code when a connection ends, cannot
// be opened in time, or was already broken.
const DRIVER_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect$/,
  /is not queryable$/,
]

/**
 * Whether `error` says the database cannot be reached, as opposed to it
 * rejecting a statement (a constraint, a syntax error, bad credentials).
 */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  // Node's connect to a name with several addresses fails with all of them.
  if (error instanceof AggregateError && error.errors.some(isConnectionError)) return true
  const code = errorCode(error)
  if (code !== undefined) {
    if (NETWORK_CODES.has(code) || SERVER_CODES.has(code) || CONNECTION_EXCEPTION.test(code)) {
      return true
    }
  }
  return DRIVER_MESSAGES.some((pattern) => pattern.test(error.message))
}

function errorCode(error: Error): string | undefined {
  return 'code' in error && typeof error.code === 'string' ? error.code : undefined
}

/** `error` as a StoreUnavailableError when it is a connection failure, else unchanged. */
function mapConnectionError(error: unknown): unknown {
  return isConnectionError(error) ? new StoreUnavailableError(undefined, { cause: error }) : error
}

/**
 * int8 (count(*), the bigint time and identity columns) as a number while it
 * is a safe integer. pg returns int8 as text by default; past 2^53 it stays
 * text so `toNumber` refuses it instead of silently rounding.
 */
function int8Types(): TypeOverrides {
  const overrides = new TypeOverrides()
  overrides.setTypeParser(types.builtins.INT8, (text: string) => {
    const value = Number(text)
    return Number.isSafeInteger(value) ? value : text
  })
  return overrides
}

// What a server says when a named prepared statement is not where the
// client left it: a pooler in transaction mode (PgBouncer before 1.21, or
// without max_prepared_statements) hands each transaction another server
// connection. Raised at Parse or Bind, before the statement ran.
const PREPARED_STATEMENT_CODES = new Set([
  '26000', // invalid_sql_statement_name: "prepared statement … does not exist"
  '42P05', // duplicate_prepared_statement
])

/** Whether statements marked prepared (prepared.ts) are still run as named statements. */
export interface PreparedState {
  enabled: boolean
}

/**
 * The pool as Kysely's PostgresDriver sees it, mapping connection failures to
 * StoreUnavailableError at the two places they surface: taking a connection
 * and running a query (BEGIN and COMMIT included). A client whose query
 * failed that way is handed back to pg-pool as broken, so it is destroyed
 * rather than given to the next caller.
 */
function adaptPool(pool: Pool, log: (message: string) => void): PostgresPool {
  const prepared: PreparedState = { enabled: true }
  return {
    async connect() {
      let client: PoolClient
      try {
        client = await pool.connect()
      } catch (error) {
        throw mapConnectionError(error)
      }
      return adaptClient(client, prepared, log)
    },
    end: () => pool.end(),
  }
}

/**
 * Runs one statement on `client`. A statement marked prepared (prepared.ts)
 * runs as a named one: pg parses it on this connection the first time and
 * only binds it after that. Behind a pooler that moves sessions between
 * server connections the name is not found; the statement did not run, so
 * it runs again unnamed, and so does every statement of the pool from then
 * on (`prepared` is the pool's).
 */
export async function sendStatement(
  client: Pick<PoolClient, 'query'>,
  prepared: PreparedState,
  log: (message: string) => void,
  text: string,
  values: unknown[],
): Promise<QueryResult> {
  const name = prepared.enabled ? preparedName(text) : undefined
  if (name === undefined) return await client.query(text, values)
  try {
    return await client.query({ name, text, values })
  } catch (error) {
    const code = error instanceof Error ? errorCode(error) : undefined
    if (code === undefined || !PREPARED_STATEMENT_CODES.has(code)) throw error
    if (prepared.enabled) {
      prepared.enabled = false
      log(
        `storage: PostgreSQL lost a prepared statement (${code}), as behind a pooler in transaction mode; statements are no longer prepared`,
      )
    }
    return await client.query(text, values)
  }
}

function adaptClient(
  client: PoolClient,
  prepared: PreparedState,
  log: (message: string) => void,
): PostgresPoolClient {
  let broken: Error | undefined

  async function run<R>(
    text: string,
    parameters: readonly unknown[],
  ): Promise<PostgresQueryResult<R>> {
    try {
      const result = await sendStatement(client, prepared, log, text, [...parameters])
      return {
        command: result.command as PostgresQueryResult<R>['command'],
        rowCount: result.rowCount ?? 0,
        rows: result.rows,
      }
    } catch (error) {
      if (!isConnectionError(error)) throw error
      broken ??= error instanceof Error ? error : new Error('connection failed')
      throw new StoreUnavailableError(undefined, { cause: error })
    }
  }

  function query<R>(text: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>>
  function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>
  function query<R>(
    textOrCursor: string | PostgresCursor<R>,
    parameters: readonly unknown[] = [],
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // The dialect is built without a cursor class, so Kysely never streams.
    if (typeof textOrCursor !== 'string') throw new TypeError('streaming is not configured')
    return run<R>(textOrCursor, parameters)
  }

  return { query, release: () => client.release(broken) }
}

/** Opens a pool on `databaseUrl` (nothing connects until the first query) and returns its dialect. */
export function createPostgresDialect(
  databaseUrl: string,
  log: (message: string) => void,
): SqlDialect {
  const options = parsePostgresUrl(databaseUrl)
  const pool = new Pool({
    connectionString: options.connectionString,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectTimeoutMs,
    application_name: 'tessera',
    statement_timeout: STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    // Notices a peer that vanished without closing (a network partition)
    // on an idle connection, instead of on the next query.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    types: int8Types(),
    ...(options.startupOptions === undefined ? {} : { options: options.startupOptions }),
  })

  // A client that loses its connection emits 'error'; with no listener that
  // would crash the process. pg-pool listens on idle clients only (and
  // re-emits on the pool), so every client gets a listener of its own for
  // the time it is checked out. One line per outage, not one per client.
  let outage = false
  const onClientError = (error: Error) => {
    if (outage) return
    outage = true
    log(
      `storage: lost a PostgreSQL connection (${errorCode(error) ?? 'closed'}); new connections open on demand`,
    )
  }
  pool.on('connect', (client) => {
    client.on('error', onClientError)
    if (outage) {
      outage = false
      log('storage: PostgreSQL connection restored')
    }
  })
  // Idle-client errors: already logged by onClientError; pg-pool discards the client.
  pool.on('error', () => {})

  const kysely = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: adaptPool(pool, log) }),
  })

  const advisoryXactLock = async (db: Kysely<Database>, key: bigint): Promise<void> => {
    await sql`select pg_advisory_xact_lock(${sql.lit(key)})`.execute(db)
  }

  return {
    name: 'postgres',
    description: options.description,
    kysely,
    schema: {
      time: 'bigint',
      boolean: 'boolean',
      // An identity column draws from a sequence, which never hands a value
      // out twice (even after a rollback or a delete): the feed's cursor
      // only moves forward.
      identity: {
        type: 'bigint',
        define: (column) => column.primaryKey().generatedAlwaysAsIdentity(),
      },
    },
    toDbBoolean: (value) => value,
    isUniqueViolation(error, index) {
      // 23505 unique_violation; `constraint` names the index.
      return (
        error instanceof Error &&
        errorCode(error) === '23505' &&
        'constraint' in error &&
        error.constraint === index.name
      )
    },
    // The lock is transaction-scoped: it is released by COMMIT or ROLLBACK,
    // or by the server when the connection dies, so a crashed instance never
    // leaves it held. The store calls `fn` makes join this transaction
    // (context.ts) rather than wait for the lock from another connection.
    lockRotation: (trx) => advisoryXactLock(trx, ROTATION_LOCK),
    // A sequence value is taken at INSERT but becomes visible at COMMIT, so
    // without this a reader could see id 7 before id 6 commits and step over
    // 6 forever with its `since` cursor. Holding the lock from before the
    // INSERT until COMMIT makes appends take ids and commit one at a time, in
    // order; the server publishes a commit before it releases the
    // transaction's locks, so the next appender's ids are always later.
    lockRevocationFeed: (trx) => advisoryXactLock(trx, REVOCATION_FEED_LOCK),
    // NO KEY UPDATE, not UPDATE: inserting a row that references the locked
    // one (a session of a locked user) takes FOR KEY SHARE, which it does
    // not block, so a transaction that did that first cannot deadlock with
    // one that locks the row next.
    // https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-ROWS
    lockRows: (query) => query.forNoKeyUpdate(),
    // SKIP LOCKED: a claimer passes over rows another claimer is taking
    // instead of waiting for them; a row it does lock is re-checked against
    // the WHERE after any concurrent update committed (READ COMMITTED), so
    // a message claimed a moment ago is not due any more and is left alone.
    // https://www.postgresql.org/docs/current/sql-select.html#SQL-FOR-UPDATE-SHARE
    claimRows: (query) => query.forUpdate().skipLocked(),
    // No commit counter to read: the newest revocation id (the primary key's
    // last entry) and a digest of the few signing-key rows that moves with an
    // insert or a retirement. Deletions of expired rows need no reload.
    async changeMarker(db) {
      const { rows } = await sql<{ marker: string }>`select concat_ws(':',
        (select coalesce(max(id), 0) from revocations),
        (select count(*) from signing_keys),
        (select coalesce(max(created_at), 0) from signing_keys),
        (select coalesce(sum(retires_at), 0) from signing_keys)) as marker`.execute(db)
      return rows[0]?.marker ?? ''
    },
    withMigrationLock: (fn) =>
      kysely.connection().execute(async (db) => {
        // Migrations may rewrite big tables: no statement timeout for them,
        // and a long but bounded wait for another instance's run. RESET
        // below restores the connection's defaults before it goes back to
        // the pool.
        await sql`select set_config('statement_timeout', '0', false)`.execute(db)
        await sql`select set_config('lock_timeout', ${String(MIGRATION_LOCK_WAIT_MS)}, false)`.execute(
          db,
        )
        let locked = false
        const cleanUp = async () => {
          if (locked) await sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK)})`.execute(db)
          await sql`reset statement_timeout`.execute(db)
          await sql`reset lock_timeout`.execute(db)
        }
        let result: Awaited<ReturnType<typeof fn>>
        try {
          // Session-scoped, on this one connection, so it covers the
          // Migrator's own transactions and the bookkeeping tables it
          // creates before them (whose CREATE … IF NOT EXISTS races
          // between sessions).
          await sql`select pg_advisory_lock(${sql.lit(MIGRATION_LOCK)})`.execute(db)
          locked = true
          if (options.schema !== undefined) {
            await sql`create schema if not exists ${sql.id(options.schema)}`.execute(db)
          }
          // Where unqualified CREATE TABLE puts the tables; the Migrator's
          // own tables go there too, named explicitly so it does not
          // mistake another schema's kysely_migration for ours.
          const { rows } = await sql<{
            schema: string | null
          }>`select current_schema() as schema`.execute(db)
          const tableSchema = rows[0]?.schema
          if (!tableSchema) {
            throw new Error('no schema to migrate into: the search_path names none that exists')
          }
          result = await fn(db, tableSchema)
        } catch (error) {
          // A dead connection took the lock with it; the first error is the one to report.
          await cleanUp().catch(() => {})
          throw error
        }
        await cleanUp()
        return result
      }),
  }
}
