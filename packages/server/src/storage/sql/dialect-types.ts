// The shape every SQL backend provides (dialect.ts builds SQLite's and picks
// a backend; postgres.ts builds PostgreSQL's). Types only, so the two can
// share them without importing each other.

import type { ColumnDataType, ColumnDefinitionBuilder, Kysely, SelectQueryBuilder } from 'kysely'
import type { Database, DbBoolean } from './schema.ts'

/** Where the data lives, parsed from `TESSERA_DATABASE_URL`. */
export type DatabaseLocation =
  | { kind: 'sqlite' /** Absolute path, or `:memory:`. */; path: string }
  | { kind: 'postgres'; url: string }

/** What migrations need to know about the dialect. */
export interface MigrationSchema {
  /** Column type of epoch-millisecond times (and other 64-bit integers). */
  readonly time: ColumnDataType
  readonly boolean: ColumnDataType
  /** Type and definition of an auto-increment `id` primary key whose values only grow. */
  readonly identity: {
    readonly type: ColumnDataType
    readonly define: (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder
  }
}

/** A unique index the store reacts to when it is violated. */
export interface UniqueIndex {
  readonly name: string
  readonly table: string
  readonly column: string
}

/** The dialect-specific half of the SQL store. */
export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres'
  /** Where the data lives, safe to log: never a password. */
  readonly description: string
  readonly kysely: Kysely<Database>
  readonly schema: MigrationSchema
  toDbBoolean(value: boolean): DbBoolean
  /** Whether `error` is the database rejecting a duplicate in `index`. */
  isUniqueViolation(error: unknown, index: UniqueIndex): boolean
  /**
   * Takes the deployment-wide key-rotation lock in transaction `trx`; it is
   * held until `trx` commits or rolls back.
   */
  lockRotation(trx: Kysely<Database>): Promise<void>
  /** Called first in the transaction that appends revocations, so ids commit in order. */
  lockRevocationFeed(trx: Kysely<Database>): Promise<void>
  /**
   * `query` (a SELECT in a transaction, or the subquery of a statement)
   * locking the rows it returns against concurrent writers until the
   * transaction ends, without blocking foreign-key checks on them.
   */
  lockRows<TB extends keyof Database, O>(
    query: SelectQueryBuilder<Database, TB, O>,
  ): SelectQueryBuilder<Database, TB, O>
  /**
   * `query` (the subquery of a claiming UPDATE) locking the rows it returns
   * and passing over rows another transaction has locked, so concurrent
   * claimers each get different rows instead of queueing on the same ones.
   */
  claimRows<TB extends keyof Database, O>(
    query: SelectQueryBuilder<Database, TB, O>,
  ): SelectQueryBuilder<Database, TB, O>
  /**
   * Runs `fn` (the Migrator) so that one process at a time migrates. `db` is
   * what the Migrator must use; `tableSchema` is where its bookkeeping
   * tables live (undefined: the dialect's default).
   */
  withMigrationLock<T>(
    fn: (db: Kysely<Database>, tableSchema: string | undefined) => Promise<T>,
  ): Promise<T>
  /** Store.changeMarker: changes once another connection commits revocations or key changes. */
  changeMarker(db: Kysely<Database>): Promise<string>
}
