// DPoP and JWE (issue 18): the DPoP key a session's refresh token is bound
// to (RFC 9449 §5), and per client whether its access tokens must be bound
// (RFC 9449 §5.2) and how its ID tokens and userinfo are encrypted (OpenID
// Connect Registration §2). Every column is nullable or has a default, so
// SQLite adds it without rewriting the table and existing rows read as
// "not bound, not encrypted".

import type { Kysely } from 'kysely'
import type { MigrationSchema } from '../dialect.ts'

// One column a statement: SQLite's ALTER TABLE adds one at a time.
const CLIENT_TEXT_COLUMNS = [
  'id_token_encrypted_alg',
  'id_token_encrypted_enc',
  'userinfo_encrypted_alg',
  'userinfo_encrypted_enc',
] as const

export async function up(db: Kysely<unknown>, schema: MigrationSchema): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('dpop_jkt', 'text').execute()
  // `false` is a literal in both dialects (SQLite stores it as 0).
  await db.schema
    .alterTable('oauth_clients')
    .addColumn('dpop_bound_access_tokens', schema.boolean, (c) => c.notNull().defaultTo(false))
    .execute()
  for (const column of CLIENT_TEXT_COLUMNS) {
    await db.schema.alterTable('oauth_clients').addColumn(column, 'text').execute()
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of [...CLIENT_TEXT_COLUMNS, 'dpop_bound_access_tokens']) {
    await db.schema.alterTable('oauth_clients').dropColumn(column).execute()
  }
  await db.schema.alterTable('sessions').dropColumn('dpop_jkt').execute()
}
