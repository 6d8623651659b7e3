// The initial schema (docs/architecture.md, "Data model"). Times are integer
// epoch milliseconds; JSON columns are text; `schema` supplies the few types
// that differ between SQLite and PostgreSQL.

import { type Kysely, sql } from 'kysely'
import type { MigrationSchema } from '../dialect.ts'

export async function up(db: Kysely<unknown>, schema: MigrationSchema): Promise<void> {
  const { time, boolean, identity } = schema

  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addColumn('password_changed_at', time)
    .addColumn('disabled', boolean, (c) => c.notNull())
    .execute()
  // Exact comparison: the domain normalizes emails before they get here.
  await db.schema.createIndex('users_email_unique').on('users').column('email').unique().execute()

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('last_used_at', time, (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .addColumn('user_agent', 'text')
    .addColumn('ip', 'text')
    .addColumn('revoked_at', time)
    .addColumn('revoked_reason', 'text')
    .execute()
  await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute()

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('session_id', 'text', (c) =>
      c.notNull().references('sessions.id').onDelete('cascade'),
    )
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .addColumn('used_at', time)
    .addColumn('successor_hash', 'text')
    .addColumn('sealed_pair', 'text')
    .execute()
  await db.schema
    .createIndex('refresh_tokens_session_id')
    .on('refresh_tokens')
    .column('session_id')
    .execute()

  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('sealed_private_jwk', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('activates_at', time, (c) => c.notNull())
    .addColumn('retires_at', time)
    .addColumn('expires_at', time)
    .execute()

  await db.schema
    .createTable('revocations')
    .addColumn('id', identity.type, identity.define)
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('jti', 'sid', 'sub')`))
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('before', time)
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .execute()
  await db.schema
    .createIndex('revocations_expires_at')
    .on('revocations')
    .column('expires_at')
    .execute()

  await db.schema
    .createTable('audit_log')
    .addColumn('id', identity.type, identity.define)
    .addColumn('at', time, (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('session_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('details', 'text', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute()
  await db.schema.createIndex('audit_log_user_id').on('audit_log').column('user_id').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'audit_log',
    'revocations',
    'signing_keys',
    'refresh_tokens',
    'sessions',
    'users',
  ]) {
    await db.schema.dropTable(table).ifExists().execute()
  }
}
