// UserStore over SQL.

import type { Selectable, Updateable } from 'kysely'
import type { NewUser, UserPatch, UserRecord, UserStore } from '../ports.ts'
import type { SqlContext } from './context.ts'
import { toBoolean, toNumber, type UniqueIndex } from './dialect.ts'
import { checkLimit, parseStringArray, toNullableNumber } from './rows.ts'
import type { UsersTable } from './schema.ts'

const USERS_EMAIL: UniqueIndex = { name: 'users_email_unique', table: 'users', column: 'email' }

/** The UserStore of a SQL store. */
export function createUserStore(ctx: SqlContext): UserStore {
  const { dialect } = ctx

  return {
    async createUser(user: NewUser) {
      const row: UsersTable = {
        id: user.id,
        email: user.email,
        name: user.name,
        password_hash: user.passwordHash,
        roles: JSON.stringify(user.roles),
        created_at: user.createdAt,
        updated_at: user.createdAt,
        password_changed_at: null,
        disabled: dialect.toDbBoolean(false),
        email_verified_at: user.emailVerifiedAt ?? null,
      }
      // The unique index decides, not a prior SELECT: of N concurrent
      // signups with one email exactly one insert succeeds (PostgreSQL makes
      // the others wait for its commit). ON CONFLICT rather than catching the
      // violation: no error, so a transaction around it (Store.atomically,
      // a signup that mails the address's owner) carries on. A duplicate id
      // is still an error.
      const result = await ctx
        .db()
        .insertInto('users')
        .values(row)
        .onConflict((conflict) => conflict.column('email').doNothing())
        .executeTakeFirst()
      if (result.numInsertedOrUpdatedRows === 0n) return 'email_taken'
      return toUserRecord(row)
    },

    async findUserById(id) {
      const row = await ctx
        .db()
        .selectFrom('users')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst()
      return row && toUserRecord(row)
    },

    async findUserByEmail(email) {
      const row = await ctx
        .db()
        .selectFrom('users')
        .selectAll()
        .where('email', '=', email)
        .executeTakeFirst()
      return row && toUserRecord(row)
    },

    async updateUser(id: string, patch: UserPatch) {
      const values: Updateable<UsersTable> = { updated_at: patch.updatedAt }
      if (patch.name !== undefined) values.name = patch.name
      if (patch.passwordHash !== undefined) values.password_hash = patch.passwordHash
      if (patch.roles !== undefined) values.roles = JSON.stringify(patch.roles)
      if (patch.disabled !== undefined) values.disabled = dialect.toDbBoolean(patch.disabled)
      if (patch.passwordChangedAt !== undefined)
        values.password_changed_at = patch.passwordChangedAt
      if (patch.emailVerifiedAt !== undefined) values.email_verified_at = patch.emailVerifiedAt
      const row = await ctx
        .db()
        .updateTable('users')
        .set(values)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst()
      return row && toUserRecord(row)
    },

    async changeEmail(id, email, updatedAt) {
      try {
        // In a savepoint inside Store.atomically: the violation is an answer,
        // and the transaction goes on after it.
        const row = await ctx.recoverable((db) =>
          db
            .updateTable('users')
            .set({ email, updated_at: updatedAt })
            .where('id', '=', id)
            .returningAll()
            .executeTakeFirst(),
        )
        return row && toUserRecord(row)
      } catch (error) {
        if (dialect.isUniqueViolation(error, USERS_EMAIL)) return 'email_taken'
        throw error
      }
    },

    async listUsers({ limit, after, email }) {
      checkLimit(limit)
      // Creation order (ids are random UUIDs, so id order means nothing to a
      // reader); the id breaks ties within a millisecond.
      let query = ctx
        .db()
        .selectFrom('users')
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit)
      if (after !== undefined) {
        // Keyset on (created_at, id) from the user `after` names; an unknown id gives an empty page.
        const createdAt = ctx
          .db()
          .selectFrom('users as cursor')
          .select('cursor.created_at')
          .where('cursor.id', '=', after)
        query = query.where((eb) =>
          eb.or([
            eb('created_at', '>', createdAt),
            eb.and([eb('created_at', '=', createdAt), eb('id', '>', after)]),
          ]),
        )
      }
      if (email !== undefined) query = query.where('email', '=', email)
      return (await query.execute()).map(toUserRecord)
    },

    async countUsers() {
      const { count } = await ctx
        .db()
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number | bigint | string>().as('count'))
        .executeTakeFirstOrThrow()
      return toNumber(count)
    },
  }
}

export function toUserRecord(row: Selectable<UsersTable>): UserRecord {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    passwordHash: row.password_hash,
    roles: parseStringArray(row.roles),
    createdAt: toNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
    passwordChangedAt: toNullableNumber(row.password_changed_at),
    disabled: toBoolean(row.disabled),
    emailVerifiedAt: toNullableNumber(row.email_verified_at),
  }
}
