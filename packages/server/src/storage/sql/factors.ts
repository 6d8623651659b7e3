// FactorStore over SQL: a user's authenticator app secret (TOTP), recovery
// codes and passkeys. As in one-time-tokens.ts, each method that decides a
// race is one conditional statement, so the database arbitrates it: a TOTP
// time step is accepted once, a recovery code is used once. PostgreSQL
// re-checks an UPDATE's WHERE on the row's latest version after waiting for
// its lock (READ COMMITTED); SQLite has one writer. Inside Store.atomically
// every statement joins that transaction (ctx.db(), ctx.transaction).

import type { Selectable } from 'kysely'
import type { FactorStore, PasskeyRecord, TotpRecord } from '../ports.ts'
import type { SqlContext } from './context.ts'
import { toBoolean, toNumber } from './dialect.ts'
import { parseStringArray, toNullableNumber } from './rows.ts'
import type { DbInteger, PasskeysTable, TotpFactorsTable } from './schema.ts'

const DEVICE_TYPES: readonly PasskeyRecord['deviceType'][] = ['singleDevice', 'multiDevice']

/** The FactorStore of a SQL store. */
export function createFactorStore(ctx: SqlContext): FactorStore {
  const { dialect } = ctx

  return {
    async findTotp(userId) {
      const row = await ctx
        .db()
        .selectFrom('totp_factors')
        .selectAll()
        .where('user_id', '=', userId)
        .executeTakeFirst()
      return row && toTotpRecord(row)
    },

    // An insert, or an update of the user's row only while it is
    // unconfirmed, in one statement: of a confirmation and a restart racing,
    // the restart sees the confirmation (PostgreSQL evaluates the DO UPDATE's
    // WHERE on the conflicting row's latest version, under its lock) and a
    // confirmed secret is never overwritten.
    async startTotp({ userId, sealedSecret, createdAt }) {
      const row = await ctx
        .db()
        .insertInto('totp_factors')
        .values({
          user_id: userId,
          sealed_secret: sealedSecret,
          created_at: createdAt,
          confirmed_at: null,
          last_step: null,
        })
        .onConflict((conflict) =>
          conflict
            .column('user_id')
            .doUpdateSet((eb) => ({
              sealed_secret: eb.ref('excluded.sealed_secret'),
              created_at: eb.ref('excluded.created_at'),
              last_step: null,
            }))
            .where('totp_factors.confirmed_at', 'is', null),
        )
        .returning('user_id')
        .executeTakeFirst()
      return row ? 'started' : 'exists'
    },

    async confirmTotp(userId, at, step) {
      const result = await ctx
        .db()
        .updateTable('totp_factors')
        .set({ confirmed_at: at, last_step: step })
        .where('user_id', '=', userId)
        .where('confirmed_at', 'is', null)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    // RFC 6238 §5.2: a code is accepted once. Of concurrent callers with one
    // step only the first finds `last_step` below it; the rest update nothing.
    async useTotpStep(userId, step) {
      const result = await ctx
        .db()
        .updateTable('totp_factors')
        .set({ last_step: step })
        .where('user_id', '=', userId)
        .where('confirmed_at', 'is not', null)
        .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    async deleteTotp(userId) {
      const result = await ctx
        .db()
        .deleteFrom('totp_factors')
        .where('user_id', '=', userId)
        .executeTakeFirst()
      return result.numDeletedRows > 0n
    },

    replaceRecoveryCodes: (userId, hashes, at) =>
      ctx.transaction(async (trx) => {
        // Two replacements at once on PostgreSQL: each DELETE would miss the
        // rows the other inserts, and the user would keep both sets. The
        // user's row lock makes the second wait, then delete the first's.
        // (SQLite's BEGIN IMMEDIATE already serializes them.)
        await dialect
          .lockRows(trx.selectFrom('users').select('id').where('id', '=', userId))
          .execute()
        await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute()
        if (hashes.length === 0) return
        await trx
          .insertInto('recovery_codes')
          .values(hashes.map((hash) => ({ hash, user_id: userId, created_at: at, used_at: null })))
          .execute()
      }),

    // The user is part of the condition: a hash that is another user's is
    // refused, even though the caller's hash already binds its user.
    async useRecoveryCode(userId, hash, at) {
      const result = await ctx
        .db()
        .updateTable('recovery_codes')
        .set({ used_at: at })
        .where('hash', '=', hash)
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    async countRecoveryCodes(userId) {
      const { count } = await ctx
        .db()
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<DbInteger>().as('count'))
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirstOrThrow()
      return toNumber(count)
    },

    async deleteRecoveryCodes(userId) {
      const result = await ctx
        .db()
        .deleteFrom('recovery_codes')
        .where('user_id', '=', userId)
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },

    // The primary key decides, with ON CONFLICT rather than a caught
    // violation (as users.ts createUser): no error, so a transaction around
    // it carries on without a savepoint, and nothing depends on how a driver
    // words a primary-key violation (SQLite reports it as
    // SQLITE_CONSTRAINT_PRIMARYKEY, not the UNIQUE code dialect.ts knows).
    // An unknown user is still an error (the foreign key).
    async addPasskey(record) {
      const result = await ctx
        .db()
        .insertInto('passkeys')
        .values({
          id: record.id,
          user_id: record.userId,
          name: record.name,
          public_key: record.publicKey,
          counter: record.counter,
          transports: JSON.stringify(record.transports),
          device_type: record.deviceType,
          backed_up: dialect.toDbBoolean(record.backedUp),
          created_at: record.createdAt,
          last_used_at: record.lastUsedAt,
        })
        .onConflict((conflict) => conflict.column('id').doNothing())
        .executeTakeFirst()
      return result.numInsertedOrUpdatedRows === 0n ? 'exists' : 'added'
    },

    async listPasskeys(userId) {
      const rows = await ctx
        .db()
        .selectFrom('passkeys')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .orderBy('id')
        .execute()
      return rows.map(toPasskeyRecord)
    },

    async findPasskey(id) {
      const row = await ctx
        .db()
        .selectFrom('passkeys')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst()
      return row && toPasskeyRecord(row)
    },

    async recordPasskeyUse(id, { counter, backedUp, at }) {
      const result = await ctx
        .db()
        .updateTable('passkeys')
        .set({ counter, backed_up: dialect.toDbBoolean(backedUp), last_used_at: at })
        .where('id', '=', id)
        .executeTakeFirst()
      return result.numUpdatedRows > 0n
    },

    async renamePasskey(userId, id, name) {
      const row = await ctx
        .db()
        .updateTable('passkeys')
        .set({ name })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .returningAll()
        .executeTakeFirst()
      return row && toPasskeyRecord(row)
    },

    async deletePasskey(userId, id) {
      const result = await ctx
        .db()
        .deleteFrom('passkeys')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .executeTakeFirst()
      return result.numDeletedRows > 0n
    },

    deleteAllFactors: (userId) =>
      ctx.transaction(async (trx) => {
        const totp = await trx
          .deleteFrom('totp_factors')
          .where('user_id', '=', userId)
          .executeTakeFirst()
        const codes = await trx
          .deleteFrom('recovery_codes')
          .where('user_id', '=', userId)
          .executeTakeFirst()
        const passkeys = await trx
          .deleteFrom('passkeys')
          .where('user_id', '=', userId)
          .executeTakeFirst()
        return Number(totp.numDeletedRows + codes.numDeletedRows + passkeys.numDeletedRows)
      }),

    // One round trip: three scalar subqueries, each on its table's key or index.
    async summary(userId) {
      const row = await ctx
        .db()
        .selectNoFrom((eb) => [
          eb
            .exists(
              eb
                .selectFrom('totp_factors')
                .select('user_id')
                .where('user_id', '=', userId)
                .where('confirmed_at', 'is not', null),
            )
            .as('totp'),
          eb
            .selectFrom('passkeys')
            .select((inner) => inner.fn.countAll<DbInteger>().as('count'))
            .where('user_id', '=', userId)
            .as('passkeys'),
          eb
            .selectFrom('recovery_codes')
            .select((inner) => inner.fn.countAll<DbInteger>().as('count'))
            .where('user_id', '=', userId)
            .where('used_at', 'is', null)
            .as('recovery_codes'),
        ])
        .executeTakeFirstOrThrow()
      return {
        totp: toBoolean(row.totp),
        passkeys: toNumber(row.passkeys ?? 0),
        recoveryCodes: toNumber(row.recovery_codes ?? 0),
      }
    },
  }
}

function toDeviceType(value: string): PasskeyRecord['deviceType'] {
  const deviceType = DEVICE_TYPES.find((candidate) => candidate === value)
  if (deviceType === undefined) throw new TypeError('stored passkey device type is not a known one')
  return deviceType
}

function toTotpRecord(row: Selectable<TotpFactorsTable>): TotpRecord {
  return {
    userId: row.user_id,
    sealedSecret: row.sealed_secret,
    createdAt: toNumber(row.created_at),
    confirmedAt: toNullableNumber(row.confirmed_at),
    lastStep: toNullableNumber(row.last_step),
  }
}

function toPasskeyRecord(row: Selectable<PasskeysTable>): PasskeyRecord {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    publicKey: row.public_key,
    counter: toNumber(row.counter),
    transports: parseStringArray(row.transports),
    deviceType: toDeviceType(row.device_type),
    backedUp: toBoolean(row.backed_up),
    createdAt: toNumber(row.created_at),
    lastUsedAt: toNullableNumber(row.last_used_at),
  }
}
