// Second factors (issue 16): authenticator apps (TOTP), recovery codes and
// passkeys, the short-lived challenges of an MFA sign-in and of WebAuthn
// ceremonies, and when and how each session last proved who its user is
// (docs/architecture.md, "Data model"). Times are integer epoch milliseconds
// like everywhere else; secrets are stored sealed or hashed, never in clear.

import { type Kysely, sql } from 'kysely'
import type { MigrationSchema } from '../dialect.ts'

export async function up(db: Kysely<unknown>, schema: MigrationSchema): Promise<void> {
  const { time, boolean } = schema

  // Nullable, no default: a session from before reads its created_at and
  // ['pwd'] (sessions.ts), and SQLite adds the columns without rewriting the
  // table. One column a statement: SQLite's ALTER TABLE adds one at a time.
  await db.schema.alterTable('sessions').addColumn('auth_time', time).execute()
  await db.schema.alterTable('sessions').addColumn('amr', 'text').execute()

  // One secret a user. `last_step` is the replay guard: a code of that time
  // step or an earlier one is refused (RFC 6238 §5.2). A 64-bit integer
  // (`time`) like the times, whatever step length the caller uses.
  await db.schema
    .createTable('totp_factors')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('sealed_secret', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('confirmed_at', time)
    .addColumn('last_step', time)
    .execute()

  // The hash is the caller's and binds the user (like a code's in
  // one_time_tokens), so it alone is the key.
  await db.schema
    .createTable('recovery_codes')
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('used_at', time)
    .execute()
  // Replacing, counting and deleting a user's codes (and the cascade).
  await db.schema
    .createIndex('recovery_codes_user_id')
    .on('recovery_codes')
    .column('user_id')
    .execute()

  // The credential id is the key: unique across users, as WebAuthn needs it
  // to find the account of a passwordless sign-in. `counter` is WebAuthn's
  // unsigned 32-bit signCount, past PostgreSQL's `integer`, hence `time`
  // (a 64-bit integer). `device_type` has a check: WebAuthn derives it from
  // one flag bit (backup eligibility), so it has two values for good.
  await db.schema
    .createTable('passkeys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('counter', time, (c) => c.notNull())
    .addColumn('transports', 'text', (c) => c.notNull())
    .addColumn('device_type', 'text', (c) =>
      c.notNull().check(sql`device_type in ('singleDevice', 'multiDevice')`),
    )
    .addColumn('backed_up', boolean, (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('last_used_at', time)
    .execute()
  // A user's passkeys, oldest first (and the cascade).
  await db.schema
    .createIndex('passkeys_user_id_created_at')
    .on('passkeys')
    .columns(['user_id', 'created_at'])
    .execute()

  // Hashes only. No check on `kind`: a new ceremony is a code change, not a
  // table rebuild (SQLite cannot alter a check). `user_id` is null for a
  // passwordless passkey sign-in, where the passkey says who.
  await db.schema
    .createTable('challenges')
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', time, (c) => c.notNull())
    .addColumn('expires_at', time, (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('used_at', time)
    .execute()
  // The maintenance pass deletes by expiry; deleting a user cascades by user_id.
  await db.schema
    .createIndex('challenges_expires_at')
    .on('challenges')
    .column('expires_at')
    .execute()
  await db.schema.createIndex('challenges_user_id').on('challenges').column('user_id').execute()
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['challenges', 'passkeys', 'recovery_codes', 'totp_factors']) {
    await db.schema.dropTable(table).ifExists().execute()
  }
  await db.schema.alterTable('sessions').dropColumn('amr').execute()
  await db.schema.alterTable('sessions').dropColumn('auth_time').execute()
}
