// Social login (issue 21): the provider a federated session signed in at,
// the `idp` claim of its tokens. Nullable, so SQLite adds it without
// rewriting the table and every existing session reads as "not federated".

import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('idp', 'text').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('idp').execute()
}
