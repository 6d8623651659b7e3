// Every difference between the SQL backends lives here and in postgres.ts:
// how the database URL is read, how the Kysely driver is created, the column
// types the migrations use, how a unique violation is recognized, how the
// key-rotation lock, the revocation-feed ordering and the migration lock are
// obtained, and how integers come back from the driver. The port
// implementations (users.ts, sessions.ts, ...) are one Kysely code path for
// both.
//
// PostgreSQL (postgres.ts) in short:
// - times are `bigint` columns; `pg` returns int8 as text unless told
//   otherwise, so the pool parses safe integers to numbers (`toNumber`
//   still accepts both, and checks the safe range);
// - unique violation: SQLSTATE 23505 with `constraint` = the index name;
// - rotation lock: `pg_advisory_xact_lock(key)` inside the transaction;
// - row locks: `FOR NO KEY UPDATE`, and `FOR UPDATE SKIP LOCKED` to claim
//   outbox messages; SQLite has neither and needs neither: its writer holds
//   the whole file from BEGIN IMMEDIATE (or the start of a lone write
//   statement) to COMMIT;
// - revocation feed: sequence values are taken at INSERT but become visible at
//   COMMIT, so a reader could see id 7 before id 6 commits and skip 6 forever
//   with its `since` cursor. `lockRevocationFeed` takes a transaction-scoped
//   advisory lock so appends commit in id order;
// - migrations: a session-scoped advisory lock around the Migrator;
// - identity: `bigint generated always as identity`;
// - connection failures become StoreUnavailableError;
// - change marker (what another process wrote): SQLite's `PRAGMA
//   data_version`; PostgreSQL has no such counter, so it reads the newest
//   revocation id and a digest of the small signing-key table.

import { resolve } from 'node:path'
import { Kysely, sql } from 'kysely'
import type { DatabaseLocation, SqlDialect } from './dialect-types.ts'
import { NodeSqliteDialect, openNodeSqlite } from './node-sqlite.ts'
import type { Database, DbBoolean, DbInteger } from './schema.ts'

export type {
  DatabaseLocation,
  MigrationSchema,
  SqlDialect,
  UniqueIndex,
} from './dialect-types.ts'

/**
 * Parses `sqlite:<path>` (relative to the working directory, or absolute),
 * `sqlite::memory:`, or `postgres://…` / `postgresql://…`. Throws a TypeError
 * naming the accepted forms; the URL itself is left out since it may hold a
 * password.
 */
export function parseDatabaseUrl(databaseUrl: string): DatabaseLocation {
  if (/^postgres(ql)?:\/\//i.test(databaseUrl)) return { kind: 'postgres', url: databaseUrl }
  if (databaseUrl.startsWith('sqlite:')) {
    const path = databaseUrl.slice('sqlite:'.length)
    if (path === ':memory:') return { kind: 'sqlite', path }
    // `sqlite://…` reads as a URL with a host; refuse rather than guess.
    if (path !== '' && !path.startsWith('//')) return { kind: 'sqlite', path: resolve(path) }
  }
  throw new TypeError(
    'database URL must be sqlite:<path>, sqlite::memory: or postgres://user:password@host/database',
  )
}

/**
 * Opens the database at `location` and returns its dialect. `log` receives
 * notable events (a lost connection); never a secret.
 */
export async function createDialect(
  location: DatabaseLocation,
  log: (message: string) => void = () => {},
): Promise<SqlDialect> {
  switch (location.kind) {
    case 'sqlite':
      return createSqliteDialect(location.path)
    case 'postgres': {
      // pg is imported only by a deployment on PostgreSQL.
      const { createPostgresDialect } = await import('./postgres.ts')
      return createPostgresDialect(location.url, log)
    }
  }
}

// SQLite: SQLITE_CONSTRAINT_UNIQUE (extended result code); the message names
// the columns: "UNIQUE constraint failed: users.email".
// https://sqlite.org/rescode.html#constraint_unique
const SQLITE_CONSTRAINT_UNIQUE = 2067

function createSqliteDialect(path: string): SqlDialect {
  const database = openNodeSqlite(path)
  const kysely = new Kysely<Database>({ dialect: new NodeSqliteDialect(database, path) })
  return {
    name: 'sqlite',
    description: path === ':memory:' ? 'SQLite in memory' : `SQLite at ${path}`,
    kysely,
    schema: {
      time: 'integer',
      boolean: 'integer',
      // AUTOINCREMENT: a plain rowid may reuse the id of a deleted last row,
      // which would move the revocation feed's cursor backwards.
      // https://sqlite.org/autoinc.html
      identity: { type: 'integer', define: (column) => column.primaryKey().autoIncrement() },
    },
    toDbBoolean: (value) => (value ? 1 : 0),
    isUniqueViolation(error, index) {
      if (!(error instanceof Error) || !('errcode' in error)) return false
      return (
        error.errcode === SQLITE_CONSTRAINT_UNIQUE &&
        error.message.includes(`${index.table}.${index.column}`)
      )
    },
    // The lock is SQLite's own write lock: the driver starts every
    // transaction with BEGIN IMMEDIATE, and a file has one writer at a time,
    // so a second caller (this process or another sharing the file) waits
    // until the first commits, then sees its writes. A lock row would need a
    // lease and polling to survive a crash; the write lock is released by
    // SQLite when a process dies.
    lockRotation: async () => {},
    // One writer at a time: appends already commit in id order.
    lockRevocationFeed: async () => {},
    // The file's write lock, taken before the first read of a transaction
    // or of a lone UPDATE, already keeps every other writer out.
    lockRows: (query) => query,
    claimRows: (query) => query,
    // The Migrator runs in a BEGIN IMMEDIATE transaction (node-sqlite.ts),
    // which is the lock.
    withMigrationLock: (fn) => fn(kysely, undefined),
    // Changes whenever another connection (a CLI process, another server on
    // the file) commits anything, and never for this connection's own
    // commits; a read of the shared WAL index, no table is touched.
    // https://sqlite.org/pragma.html#pragma_data_version
    async changeMarker(db) {
      const { rows } = await sql<{ data_version: number }>`PRAGMA data_version`.execute(db)
      return String(rows[0]?.data_version ?? 0)
    },
  }
}

/**
 * An integer column as a number. Times are epoch milliseconds, far inside
 * the safe range; anything outside it is corrupt data, not something to round.
 */
export function toNumber(value: DbInteger): number {
  const number = Number(value)
  if (!Number.isSafeInteger(number)) throw new RangeError('integer column out of the safe range')
  return number
}

/** A boolean column (0/1 in SQLite) as a boolean. */
export function toBoolean(value: DbBoolean): boolean {
  return value === true || value === 1
}
