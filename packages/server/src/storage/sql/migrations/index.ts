// The migrations, in code rather than read from a folder at run time, so
// they ship inside the bundle and are typechecked. Names are UTC timestamps:
// Kysely applies them in name order and refuses a new one that sorts before
// one already applied.

import type { Kysely, Migration, MigrationProvider } from 'kysely'
import type { MigrationSchema } from '../dialect.ts'
import * as initial from './2026-11-22T0600-initial.ts'
import * as usersCreatedAt from './2026-12-06T0000-users-created-at.ts'
import * as email from './2026-12-06T0100-email.ts'
import * as secondFactors from './2026-12-07T0000-second-factors.ts'
import * as oauth from './2026-12-08T0000-oauth.ts'
import * as dpopJwe from './2026-12-09T0000-dpop-jwe.ts'
import * as identities from './2026-12-10T0000-identities.ts'
import * as identityTokens from './2026-12-11T0000-identity-tokens.ts'
import * as sessionIdp from './2026-12-11T0100-session-idp.ts'

interface SchemaMigration {
  up(db: Kysely<unknown>, schema: MigrationSchema): Promise<void>
  down?(db: Kysely<unknown>, schema: MigrationSchema): Promise<void>
}

const MIGRATIONS: Readonly<Record<string, SchemaMigration>> = {
  '2026-11-22T0600-initial': initial,
  '2026-12-06T0000-users-created-at': usersCreatedAt,
  '2026-12-06T0100-email': email,
  '2026-12-07T0000-second-factors': secondFactors,
  '2026-12-08T0000-oauth': oauth,
  '2026-12-09T0000-dpop-jwe': dpopJwe,
  '2026-12-10T0000-identities': identities,
  '2026-12-11T0000-identity-tokens': identityTokens,
  '2026-12-11T0100-session-idp': sessionIdp,
}

/** A Kysely migration provider for the dialect described by `schema`. */
export function createMigrationProvider(schema: MigrationSchema): MigrationProvider {
  return {
    async getMigrations() {
      const migrations: Record<string, Migration> = {}
      for (const [name, migration] of Object.entries(MIGRATIONS)) {
        const { down } = migration
        migrations[name] = {
          up: (db) => migration.up(db, schema),
          ...(down ? { down: (db) => down(db, schema) } : {}),
        }
      }
      return migrations
    },
  }
}
