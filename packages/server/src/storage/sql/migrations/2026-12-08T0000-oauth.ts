// OAuth 2.0 and OpenID Connect (issue 17): registered clients, authorization
// codes, what users allowed third-party clients, the used `jti`s of client
// assertions, and which client each session was granted to
// (docs/architecture.md, "Data model"). Times are integer epoch
// milliseconds like everywhere else; client secrets and codes are stored as
// hashes only.

import type { Kysely } from 'kysely'
import type { MigrationSchema } from '../dialect.ts'

export async function up(db: Kysely<unknown>, schema: MigrationSchema): Promise<void> {
  const { time, boolean } = schema

  // A default, unlike the columns of issue 16: every session so far is the
  // built-in first-party client's, and SQLite adds a NOT NULL column only
  // with a default (it fills existing rows without rewriting the table).
  // One column a statement: SQLite's ALTER TABLE adds one at a time.
  await db.schema
    .alterTable('sessions')
    .addColumn('client_id', 'text', (c) => c.notNull().defaultTo('tessera'))
    .execute()
  await db.schema.alterTable('sessions').addColumn('scope', 'text').execute()
  await db.schema.alterTable('sessions').addColumn('resource', 'text').execute()
  // Revoking a client's sessions: all of them (the client removed), or one
  // user's (a consent withdrawn).
  await db.schema
    .createIndex('sessions_client_id_user_id')
    .on('sessions')
    .columns(['client_id', 'user_id'])
    .execute()

  // Array columns are JSON text, as users.roles. No check on the auth
  // method or grants: a new one is a code change, not a table rebuild
  // (SQLite cannot alter a check). The TTLs are seconds, `time` (64-bit)
  // for symmetry with every other integer an operator may set large.
  await db.schema
    .createTable('oauth_clients')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text')
    .addColumn('redirect_uris', 'text', (c) => c.notNull())
    .addColumn('post_logout_redirect_uris', 'text', (c) => c.notNull())
    .addColumn('grant_types', 'text', (c) => c.notNull())
    .addColumn('token_endpoint_auth_method', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('jwks', 'text')
    .addColumn('first_party', boolean, (c) => c.notNull())
    .addColumn('access_token_ttl', time)
    .addColumn('refresh_token_ttl', time)
    .addColumn('created_at', time, (c) => c.notNull())
    .execute()

  // By the hash of the code. The client reference has no cascade: removing
  // a client deletes its codes and consents itself, in one transaction
  // (oauth.ts), and the reference keeps a code from naming no client. The
  // user's cascades, as every user-owned table's does. `session_id` has no
  // reference: the session may be purged before the code, whose replay
  // then has nothing left to revoke.
  await db.schema
    .createTable('oauth_codes')
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull().references('oauth_clients.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .addColumn('used_at', time)
    .addColumn('session_id', 'text')
    .execute()
  // The maintenance pass deletes by expiry; removing a client or a user finds their codes.
  await db.schema
    .createIndex('oauth_codes_expires_at')
    .on('oauth_codes')
    .column('expires_at')
    .execute()
  await db.schema
    .createIndex('oauth_codes_client_id')
    .on('oauth_codes')
    .column('client_id')
    .execute()
  await db.schema.createIndex('oauth_codes_user_id').on('oauth_codes').column('user_id').execute()

  // One row per user and client; the key's first column serves a user's
  // list and the cascade.
  await db.schema
    .createTable('oauth_consents')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('client_id', 'text', (c) => c.notNull().references('oauth_clients.id'))
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('updated_at', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('oauth_consents_pkey', ['user_id', 'client_id'])
    .execute()
  await db.schema
    .createIndex('oauth_consents_client_id')
    .on('oauth_consents')
    .column('client_id')
    .execute()

  // RFC 7523 §3: a `jti` is single use per client, remembered until the
  // assertion expires (after which its `exp` refuses it anyway). No
  // reference to the client: an assertion is checked before anything else
  // about the client is trusted, and the row is gone within minutes.
  await db.schema
    .createTable('oauth_assertions')
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('jti', 'text', (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .addPrimaryKeyConstraint('oauth_assertions_pkey', ['client_id', 'jti'])
    .execute()
  await db.schema
    .createIndex('oauth_assertions_expires_at')
    .on('oauth_assertions')
    .column('expires_at')
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['oauth_assertions', 'oauth_consents', 'oauth_codes', 'oauth_clients']) {
    await db.schema.dropTable(table).ifExists().execute()
  }
  await db.schema.dropIndex('sessions_client_id_user_id').ifExists().execute()
  for (const column of ['resource', 'scope', 'client_id']) {
    await db.schema.alterTable('sessions').dropColumn(column).execute()
  }
}
