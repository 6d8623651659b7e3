// Users are listed in creation order (`tessera users list`, GET /admin/users):
// an index on (created_at, id) serves each keyset page without sorting the table.

import type { Kysely } from 'kysely'

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('users_created_at_id')
    .on('users')
    .columns(['created_at', 'id'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('users_created_at_id').ifExists().execute()
}
