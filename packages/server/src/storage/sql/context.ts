// What every port implementation shares: the dialect, and where a statement
// runs. Inside `withRotationLock(fn)` the lock is a transaction (see
// dialect.ts), and `fn` calls the store's ordinary methods; those must run in
// that transaction, not wait for the connection it holds (SQLite has one) or
// for the lock it holds (PostgreSQL). AsyncLocalStorage carries the
// transaction to them without changing the port signatures.

import { AsyncLocalStorage } from 'node:async_hooks'
import type { Kysely, Transaction } from 'kysely'
import type { SqlDialect } from './dialect.ts'
import type { Database } from './schema.ts'

interface Scope {
  readonly trx: Transaction<Database>
  /** False once the transaction ends: a callback `fn` left behind must not reuse it. */
  active: boolean
}

/** The handle the port implementations run statements through. */
export interface SqlContext {
  readonly dialect: SqlDialect
  /** The ambient lock transaction when inside `withRotationLock`, else the database. */
  db(): Kysely<Database>
  /** Runs `fn` in a transaction, or in the ambient one (they commit together). */
  transaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>
  /** Runs `fn` holding the rotation lock; re-entrant. */
  withRotationLock<T>(fn: () => Promise<T>): Promise<T>
}

/** Builds the shared context of one store over `dialect`. */
export function createSqlContext(dialect: SqlDialect): SqlContext {
  const scopes = new AsyncLocalStorage<Scope>()
  const ambient = (): Scope | undefined => {
    const scope = scopes.getStore()
    return scope?.active ? scope : undefined
  }

  return {
    dialect,
    db: () => ambient()?.trx ?? dialect.kysely,
    transaction(fn) {
      const scope = ambient()
      if (scope) return fn(scope.trx)
      return dialect.kysely.transaction().execute(fn)
    },
    withRotationLock(fn) {
      if (ambient()) return fn()
      return dialect.withRotationLock(async (trx) => {
        const scope: Scope = { trx, active: true }
        try {
          return await scopes.run(scope, fn)
        } finally {
          scope.active = false
        }
      })
    },
  }
}
