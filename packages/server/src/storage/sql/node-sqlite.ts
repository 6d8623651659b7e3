// A Kysely dialect for the SQLite built into Node (`node:sqlite`), so the
// server needs no native SQLite addon. Kysely's SqliteDialect is written for
// better-sqlite3: it calls `database.prepare(sql)` and expects a statement
// with a `reader` flag and `all/run/iterate(parametersArray)`. node:sqlite's
// StatementSync takes spread parameters and tells readers apart by
// `columns()`, so this file adapts one to the other and changes two things:
//
// - Every transaction starts with BEGIN IMMEDIATE. Kysely begins SQLite
//   transactions DEFERRED; in WAL mode a deferred transaction that reads and
//   then writes fails with SQLITE_BUSY (busy_timeout does not help: its
//   snapshot is stale) when another connection committed in between. Taking
//   the write lock up front makes read-then-write transactions (refresh
//   rotation, migrations, the rotation lock) wait their turn instead.
//   https://sqlite.org/lang_transaction.html
// - The adapter declares transactional DDL (SQLite has it), so Kysely's
//   Migrator runs each batch inside one such immediate transaction: two
//   processes migrating the same file serialize, and the second finds nothing
//   pending.

import { dirname } from 'node:path'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDialect,
  SqliteDriver,
  type SqliteStatement,
} from 'kysely'
import { createPrivateFile, makePrivateDir } from '../../runtime/private-files.ts'
import {
  type Checkpointer,
  SAFETY_AUTOCHECKPOINT_PAGES,
  startCheckpointerWhenNeeded,
} from './sqlite-checkpointer.ts'

/** Waits this long for another connection's write lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000
/** Prepared statements kept per connection; the server issues a few dozen distinct queries. */
const STATEMENT_CACHE_SIZE = 256

type SqlValue = null | number | bigint | string | Uint8Array

/**
 * Opens (and creates, with its parent directories) a SQLite database with the
 * pragmas the store relies on. `path` is a file path or `:memory:`. What it
 * creates is private whatever the umask: directories 0700, the database 0600
 * (and so its -wal and -shm files, which SQLite creates with the database's
 * mode).
 */
export function openNodeSqlite(path: string): DatabaseSync {
  const memory = path === ':memory:'
  if (!memory) {
    makePrivateDir(dirname(path))
    createPrivateFile(path)
  }
  const db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS })
  try {
    // WAL: readers never block the writer and vice versa; several server
    // processes can share one file. (An in-memory database has no WAL.)
    if (!memory) db.exec('PRAGMA journal_mode = WAL')
    // Checkpoints are a worker thread's job (sqlite-checkpointer.ts, started
    // once the WAL reaches 4 MiB); this connection checkpoints only if the
    // WAL grows far past what it lets pile up.
    if (!memory) db.exec(`PRAGMA wal_autocheckpoint = ${SAFETY_AUTOCHECKPOINT_PAGES}`)
    // NORMAL is durable across application crashes in WAL mode and only risks
    // the last transactions on power loss: https://sqlite.org/pragma.html#pragma_synchronous
    db.exec('PRAGMA synchronous = NORMAL')
    db.exec('PRAGMA foreign_keys = ON')
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`)
  } catch (error) {
    db.close()
    throw error
  }
  return db
}

/**
 * Kysely dialect over a node:sqlite `DatabaseSync`; closing Kysely closes the
 * database. A file database (`path` given) gets its checkpoint thread.
 */
export class NodeSqliteDialect extends SqliteDialect {
  readonly #database: DatabaseSync
  readonly #adapted: SqliteDatabase
  readonly #path: string | undefined

  constructor(database: DatabaseSync, path?: string) {
    const adapted = adaptDatabase(database)
    super({ database: adapted })
    this.#database = database
    this.#adapted = adapted
    this.#path = path === ':memory:' ? undefined : path
  }

  override createDriver(): Driver {
    const checkpointer =
      this.#path === undefined
        ? undefined
        : startCheckpointerWhenNeeded(this.#path, (message) =>
            process.emitWarning(`SQLite checkpoint failed: ${message}`),
          )
    return new ImmediateSqliteDriver(this.#database, this.#adapted, checkpointer)
  }

  override createAdapter(): SqliteAdapter {
    return new TransactionalDdlSqliteAdapter()
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  readonly #database: DatabaseSync
  readonly #checkpointer: Checkpointer | undefined

  constructor(database: DatabaseSync, adapted: SqliteDatabase, checkpointer?: Checkpointer) {
    super({ database: adapted })
    this.#database = database
    this.#checkpointer = checkpointer
  }

  override async destroy(): Promise<void> {
    // The thread first: closing the last connection then checkpoints what is
    // left and removes the WAL file.
    await this.#checkpointer?.stop()
    await super.destroy()
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('BEGIN IMMEDIATE'))
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // Some errors (SQLITE_FULL, SQLITE_IOERR, ...) make SQLite roll back on
    // its own; a ROLLBACK then would fail and hide the original error.
    if (!this.#database.isOpen || !this.#database.isTransaction) return
    await connection.executeQuery(CompiledQuery.raw('ROLLBACK'))
  }
}

class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true
  }
}

interface CachedStatement {
  statement: StatementSync
  reader: boolean
}

function adaptDatabase(database: DatabaseSync): SqliteDatabase {
  const cache = new Map<string, CachedStatement>()
  const prepareCached = (sql: string): CachedStatement => {
    let entry = cache.get(sql)
    if (entry) {
      // Move to the back: the map's insertion order is the eviction order.
      cache.delete(sql)
    } else {
      const statement = database.prepare(sql)
      entry = { statement, reader: statement.columns().length > 0 }
      if (cache.size >= STATEMENT_CACHE_SIZE) {
        const oldest = cache.keys().next()
        if (!oldest.done) cache.delete(oldest.value)
      }
    }
    cache.set(sql, entry)
    return entry
  }

  return {
    close() {
      cache.clear()
      if (database.isOpen) database.close()
    },
    prepare(sql: string): SqliteStatement {
      const { statement, reader } = prepareCached(sql)
      return {
        reader,
        all: (parameters) => statement.all(...toSqlValues(parameters)),
        run: (parameters) => statement.run(...toSqlValues(parameters)),
        // A fresh statement: a half-consumed iterator must not share the cached one.
        iterate: (parameters) => database.prepare(sql).iterate(...toSqlValues(parameters)),
      }
    },
  }
}

function toSqlValues(parameters: ReadonlyArray<unknown>): SqlValue[] {
  return parameters.map(toSqlValue)
}

function toSqlValue(value: unknown): SqlValue {
  if (value === null || value === undefined) return null
  switch (typeof value) {
    case 'number':
    case 'bigint':
    case 'string':
      return value
    case 'boolean':
      return value ? 1 : 0
  }
  if (value instanceof Uint8Array) return value
  // The type only: a parameter may be a secret and never goes into a message.
  throw new TypeError(`node:sqlite cannot bind a parameter of type ${typeof value}`)
}
