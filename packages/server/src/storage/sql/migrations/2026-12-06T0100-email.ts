// Email (issue 15): whether an address is verified, the outbox that mail
// leaves through, and one-time links and codes (docs/architecture.md, "Data
// model"). Times are integer epoch milliseconds like everywhere else.

import { type Kysely, sql } from 'kysely'
import type { MigrationSchema } from '../dialect.ts'

export async function up(db: Kysely<unknown>, schema: MigrationSchema): Promise<void> {
  const { time } = schema

  // Nullable, no default: existing users are unverified, and SQLite adds the
  // column without rewriting the table.
  await db.schema.alterTable('users').addColumn('email_verified_at', time).execute()

  // Written in the transaction of the change that causes the mail, sent by
  // the outbox worker. No foreign key on user_id: like the audit log, the
  // record of a mail outlives nothing it refers to and blocks no deletion.
  await db.schema
    .createTable('outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('sealed_data', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status in ('pending', 'sending', 'sent', 'dead')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', time, (c) => c.notNull())
    .addColumn('last_error', 'text')
    .addColumn('sent_at', time)
    .execute()
  // The worker's claim: due messages of two statuses, by time.
  await db.schema
    .createIndex('outbox_status_next_attempt_at')
    .on('outbox')
    .columns(['status', 'next_attempt_at'])
    .execute()
  // Listing newest first, and retention oldest first.
  await db.schema.createIndex('outbox_created_at').on('outbox').column('created_at').execute()

  // Hashes only. No check on `purpose`: a new purpose is a code change, not
  // a table rebuild (SQLite cannot alter a check).
  await db.schema
    .createTable('one_time_tokens')
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('used_at', time)
    .execute()
  // Superseding, revoking and counting wrong codes find a user's tokens of a purpose.
  await db.schema
    .createIndex('one_time_tokens_user_id_purpose')
    .on('one_time_tokens')
    .columns(['user_id', 'purpose'])
    .execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('one_time_tokens').ifExists().execute()
  await db.schema.dropTable('outbox').ifExists().execute()
  await db.schema.alterTable('users').dropColumn('email_verified_at').execute()
}
