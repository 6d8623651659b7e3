// Social login (issue 21): the upstream identities of a user, one row per
// (provider, subject) pair. The pair is the key (a provider's subject is
// its stable id of the person, never the address, which can change hands);
// the address and whether the provider verified it are kept as it gave them
// at the last sign-in, for the account page and the audit of a link.

import type { Kysely } from 'kysely'
import type { MigrationSchema } from '../dialect.ts'

export async function up(db: Kysely<unknown>, schema: MigrationSchema): Promise<void> {
  const { time, boolean } = schema
  await db.schema
    .createTable('identities')
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('email', 'text')
    .addColumn('email_verified', boolean, (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('last_used_at', time)
    .addPrimaryKeyConstraint('identities_pkey', ['provider', 'subject'])
    .execute()
  // A user's identities (the account page, unlinking) and the cascade.
  await db.schema.createIndex('identities_user_id').on('identities').column('user_id').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('identities').execute()
}
