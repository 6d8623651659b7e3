// KeyStore over SQL: signing keys, sealed; state derives from the times.

import type { Selectable } from 'kysely'
import type { KeyStore, SigningKeyRecord } from '../ports.ts'
import type { SqlContext } from './context.ts'
import { toNumber } from './dialect.ts'
import { toNullableNumber } from './rows.ts'
import type { SigningKeysTable } from './schema.ts'

/** The KeyStore of a SQL store. */
export function createKeyStore(ctx: SqlContext): KeyStore {
  return {
    async listKeys() {
      const rows = await ctx
        .db()
        .selectFrom('signing_keys')
        .selectAll()
        .orderBy('activates_at')
        .orderBy('created_at')
        .orderBy('kid')
        .execute()
      return rows.map(toSigningKeyRecord)
    },

    async insertKey(key) {
      await ctx
        .db()
        .insertInto('signing_keys')
        .values({
          kid: key.kid,
          alg: key.alg,
          public_jwk: key.publicJwk,
          sealed_private_jwk: key.sealedPrivateJwk,
          created_at: key.createdAt,
          activates_at: key.activatesAt,
          retires_at: key.retiresAt,
          expires_at: key.expiresAt,
        })
        .execute()
    },

    async retireKey(kid, retiresAt, expiresAt) {
      await ctx
        .db()
        .updateTable('signing_keys')
        .set({ retires_at: retiresAt, expires_at: expiresAt })
        .where('kid', '=', kid)
        .execute()
    },

    async deleteExpiredKeys(now) {
      const result = await ctx
        .db()
        .deleteFrom('signing_keys')
        .where('expires_at', 'is not', null)
        .where('expires_at', '<=', now)
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },

    // The store calls `fn` makes run inside the lock's transaction (see
    // context.ts): they commit together when `fn` resolves and roll back
    // together when it throws.
    withRotationLock: (fn) => ctx.withRotationLock(fn),
  }
}

function toSigningKeyRecord(row: Selectable<SigningKeysTable>): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    publicJwk: row.public_jwk,
    sealedPrivateJwk: row.sealed_private_jwk,
    createdAt: toNumber(row.created_at),
    activatesAt: toNumber(row.activates_at),
    retiresAt: toNullableNumber(row.retires_at),
    expiresAt: toNullableNumber(row.expires_at),
  }
}
