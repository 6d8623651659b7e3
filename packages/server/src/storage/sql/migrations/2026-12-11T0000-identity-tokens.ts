// Social login (issue 21): the provider's tokens of an identity, kept only
// for a provider configured with TESSERA_PROVIDER_<ID>_KEEP_TOKENS. The
// column holds their JSON sealed under the master key (never the tokens in
// the clear). Nullable, so SQLite adds it without rewriting the table and
// every existing identity reads as "nothing kept".

import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('identities').addColumn('tokens', 'text').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('identities').dropColumn('tokens').execute()
}
