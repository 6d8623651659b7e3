// createSqlStore: the Store ports over one SQL database.

import { Migrator, sql } from 'kysely'
import { type Store, StoreUnavailableError } from '../ports.ts'
import { createAuditStore } from './audit.ts'
import { createChallengeStore } from './challenges.ts'
import { createSqlContext } from './context.ts'
import { createDialect, parseDatabaseUrl } from './dialect.ts'
import { createFactorStore } from './factors.ts'
import { createIdentityStore } from './identities.ts'
import { createKeyStore } from './keys.ts'
import { createMigrationProvider } from './migrations/index.ts'
import { createOAuthStore } from './oauth.ts'
import { createOneTimeTokenStore } from './one-time-tokens.ts'
import { createOutboxStore } from './outbox.ts'
import { createRevocationStore } from './revocations.ts'
import { createSessionStore } from './sessions.ts'
import { createUserStore } from './users.ts'

export interface SqlStoreOptions {
  /** Receives one line per notable event (database opened, migration applied); never a secret. */
  log?: (message: string) => void
}

/**
 * Opens the database at `databaseUrl` and returns the Store over it. Call
 * `migrate()` before first use.
 *
 * URLs: `sqlite:<path>` (relative to the working directory or absolute;
 * parent directories are created), `sqlite::memory:`, and
 * `postgres://user:password@host:port/database` (or `postgresql://`), which
 * takes `?pool=` (connections, default 10), `?connect_timeout=` (seconds,
 * default 5) and `?schema=` (where the tables live; see postgres.ts) besides
 * what the `pg` driver reads (sslmode, statement_timeout, …).
 *
 * When the database cannot be reached, every method rejects with
 * StoreUnavailableError; the store recovers by itself when it returns.
 *
 * @example
 * const store = await createSqlStore('sqlite:./data/tessera.db', { log: console.log })
 * await store.migrate()
 * const user = await store.users.findUserByEmail('ada@example.com')
 * await store.close()
 */
export async function createSqlStore(
  databaseUrl: string,
  options: SqlStoreOptions = {},
): Promise<Store> {
  const log = options.log ?? (() => {})
  const dialect = await createDialect(parseDatabaseUrl(databaseUrl), log)
  log(`storage: ${dialect.description}`)
  const ctx = createSqlContext(dialect)
  let closed: Promise<void> | undefined

  return {
    users: createUserStore(ctx),
    sessions: createSessionStore(ctx),
    keys: createKeyStore(ctx),
    revocations: createRevocationStore(ctx),
    audit: createAuditStore(ctx),
    outbox: createOutboxStore(ctx),
    oneTimeTokens: createOneTimeTokenStore(ctx),
    factors: createFactorStore(ctx),
    challenges: createChallengeStore(ctx),
    oauth: createOAuthStore(ctx),
    identities: createIdentityStore(ctx),

    atomically: (fn) => ctx.atomically(fn),

    async ping() {
      await sql`select 1`.execute(ctx.db())
    },

    changeMarker: () => dialect.changeMarker(ctx.db()),

    async migrate() {
      const { error, results = [] } = await dialect.withMigrationLock((db, tableSchema) =>
        new Migrator({
          db,
          provider: createMigrationProvider(dialect.schema),
          ...(tableSchema === undefined ? {} : { migrationTableSchema: tableSchema }),
        }).migrateToLatest(),
      )
      if (error !== undefined) {
        if (error instanceof StoreUnavailableError) throw error
        const failed = results.find((result) => result.status === 'Error')?.migrationName
        throw new Error(failed ? `migration ${failed} failed` : 'migrations failed', {
          cause: error,
        })
      }
      const applied = results
        .filter((result) => result.status === 'Success')
        .map((result) => result.migrationName)
      for (const name of applied) log(`storage: migration ${name} applied`)
      return applied
    },

    close() {
      closed ??= dialect.kysely.destroy()
      return closed
    },
  }
}
