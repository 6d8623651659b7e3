// What every port implementation shares: the dialect, and where a statement
// runs. Inside `atomically(fn)` (Store.atomically, and the rotation lock,
// which is a transaction too) `fn` calls the store's ordinary methods; those
// must run in that transaction, not wait for the connection it holds (SQLite
// has one) or for the locks it holds (PostgreSQL). AsyncLocalStorage carries
// the transaction to them without changing the port signatures.
//
// Callers outside `fn` never see the transaction: they have no scope, so
// they use the database itself. On PostgreSQL that is another connection of
// the pool; on SQLite it is the one connection, which Kysely's driver hands
// out under a mutex held from BEGIN to COMMIT, so their statements queue
// until the transaction ends and then run, in order, outside it. A callback
// `fn` leaves behind (a timer, an unawaited call) that runs after the
// transaction ended finds its scope inactive and does the same.

import { AsyncLocalStorage } from 'node:async_hooks'
import { type Kysely, sql, type Transaction } from 'kysely'
import type { SqlDialect } from './dialect.ts'
import type { Database } from './schema.ts'

interface Scope {
  readonly trx: Transaction<Database>
  /** False once the transaction ends: a callback `fn` left behind must not reuse it. */
  active: boolean
  /** Whether this transaction took the rotation lock (PostgreSQL: an advisory lock it holds to the end). */
  rotationLocked: boolean
  /** Savepoints made so far, for unique names. */
  savepoints: number
}

/** The handle the port implementations run statements through. */
export interface SqlContext {
  readonly dialect: SqlDialect
  /** The ambient transaction when inside `atomically`, else the database. */
  db(): Kysely<Database>
  /** Runs `fn` in a transaction, or in the ambient one (they commit together). */
  transaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>
  /** Store.atomically: the store calls `fn` makes run in one transaction; a nested call joins it. */
  atomically<T>(fn: () => Promise<T>): Promise<T>
  /** Runs `fn` in a transaction holding the rotation lock; re-entrant, and joins an ambient transaction. */
  withRotationLock<T>(fn: () => Promise<T>): Promise<T>
  /**
   * Runs `fn`, a statement whose failure the caller turns into an answer (a
   * unique violation into `'email_taken'`), so that the failure leaves an
   * ambient transaction usable: inside one, in a savepoint rolled back on
   * error (PostgreSQL aborts a whole transaction at a failed statement
   * otherwise); outside, as it is.
   */
  recoverable<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T>
}

/** Builds the shared context of one store over `dialect`. */
export function createSqlContext(dialect: SqlDialect): SqlContext {
  const scopes = new AsyncLocalStorage<Scope>()
  const ambient = (): Scope | undefined => {
    const scope = scopes.getStore()
    return scope?.active ? scope : undefined
  }

  /** Runs `fn` with the ambient scope, opening a transaction when there is none. */
  const inScope = <T>(fn: (scope: Scope) => Promise<T>): Promise<T> => {
    const scope = ambient()
    if (scope) return fn(scope)
    return dialect.kysely.transaction().execute(async (trx) => {
      const opened: Scope = { trx, active: true, rotationLocked: false, savepoints: 0 }
      try {
        return await scopes.run(opened, () => fn(opened))
      } finally {
        opened.active = false
      }
    })
  }

  return {
    dialect,
    db: () => ambient()?.trx ?? dialect.kysely,
    transaction: (fn) => inScope((scope) => fn(scope.trx)),
    atomically: (fn) => inScope(() => fn()),
    withRotationLock: (fn) =>
      inScope(async (scope) => {
        if (!scope.rotationLocked) {
          await dialect.lockRotation(scope.trx)
          scope.rotationLocked = true
        }
        return fn()
      }),
    async recoverable<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
      const scope = ambient()
      if (!scope) return fn(dialect.kysely)
      scope.savepoints += 1
      const name = sql.id(`tessera_${scope.savepoints}`)
      await sql`savepoint ${name}`.execute(scope.trx)
      let result: T
      try {
        result = await fn(scope.trx)
      } catch (error) {
        // Back to before the statement, and the transaction carries on. When
        // that fails too (the connection is gone, SQLite rolled back on its
        // own), the first error is the one to report.
        await sql`rollback to savepoint ${name}`
          .execute(scope.trx)
          .then(() => sql`release savepoint ${name}`.execute(scope.trx))
          .catch(() => {})
        throw error
      }
      await sql`release savepoint ${name}`.execute(scope.trx)
      return result
    },
  }
}
