// Administration: users (roles, disabling, a verified address), signing
// keys, the audit log.

import type { UserRecord } from '../storage/ports.ts'
import { KeyRotationRefusedError } from '../tokens/key-ring.ts'
import type { FlowContext } from './context.ts'
import { AuthError, invalidField } from './errors.ts'
import { queueFactorNotice } from './factor-changes.ts'
import type { AdminFlows, KeyView } from './types.ts'
import { adminUser, auditView } from './views.ts'

const ROLE = /^[A-Za-z0-9_.:-]{1,64}$/

export function createAdminFlows(ctx: FlowContext): AdminFlows {
  const { store, keyRing, audit, revoke, profiles, mail, now } = ctx

  /** Removes every factor of `user` and tells them; returns what they had. */
  async function resetFactors(
    user: UserRecord,
  ): Promise<{ totp: boolean; passkeys: number; recoveryCodes: number }> {
    const had = await store.atomically(async () => {
      const before = await store.factors.summary(user.id)
      if ((await store.factors.deleteAllFactors(user.id)) > 0) {
        await queueFactorNotice(ctx, user, 'factor_removed', 'all_factors')
      }
      return before
    })
    mail.wake()
    return had
  }

  return {
    async adminListUsers(query) {
      const users = await store.users.listUsers(query)
      return users.map(adminUser)
    },

    async adminUpdateUser(actor, userId, patch, client) {
      const before = await store.users.findUserById(userId)
      if (before === undefined) throw new AuthError('not_found', 'no such user')
      if (patch.roles !== undefined) {
        const roles = [...new Set(patch.roles.map((r) => r.trim()))]
        if (roles.some((r) => !ROLE.test(r))) {
          throw invalidField('/roles', 'roles are 1-64 letters, digits or _ . : -')
        }
        patch = { ...patch, roles }
      }
      // Verified keeps the first time it was; unverified forgets it.
      const verified =
        patch.emailVerified === undefined ||
        patch.emailVerified === (before.emailVerifiedAt !== null)
          ? {}
          : { emailVerifiedAt: patch.emailVerified ? now() : null }
      const updated = await profiles.updateUser(userId, {
        ...(patch.roles === undefined ? {} : { roles: patch.roles }),
        ...(patch.disabled === undefined ? {} : { disabled: patch.disabled }),
        ...(patch.name === undefined ? {} : { name: patch.name }),
        ...verified,
        updatedAt: now(),
      })
      if (updated === undefined) throw new AuthError('not_found', 'no such user')
      const factorsRemoved = patch.resetMfa === true ? await resetFactors(updated) : undefined
      const rolesChanged =
        patch.roles !== undefined &&
        JSON.stringify([...before.roles].sort()) !== JSON.stringify([...updated.roles].sort())
      const disabled = patch.disabled === true && !before.disabled
      if (disabled) {
        await revoke.sessions(
          await store.sessions.revokeUserSessions(userId, now(), 'account_disabled'),
        )
      }
      // Tokens carry roles: old tokens must not keep roles the user lost (or gain nothing by waiting).
      if (rolesChanged || disabled) await revoke.userTokens(userId)
      await audit(
        'admin.user_updated',
        client,
        { userId, sessionId: actor.sessionId },
        {
          actor: actor.userId,
          ...(rolesChanged ? { roles: updated.roles } : {}),
          ...(patch.disabled === undefined ? {} : { disabled: patch.disabled }),
          ...(patch.emailVerified === undefined ? {} : { emailVerified: patch.emailVerified }),
          ...(factorsRemoved === undefined ? {} : { mfaReset: true, factorsRemoved }),
        },
      )
      return adminUser(updated)
    },

    async adminRotateKeys(actor, client, options = {}) {
      let keys: KeyView[]
      try {
        keys = await keyRing.rotate(options)
      } catch (error) {
        // HS* secrets are configuration: refused like a closed signup (403), not a 500.
        if (error instanceof KeyRotationRefusedError)
          throw new AuthError('forbidden', error.message)
        throw error
      }
      await audit('admin.keys_rotated', client, {
        userId: actor.userId,
        sessionId: actor.sessionId,
      })
      return keys
    },

    adminListKeys() {
      return keyRing.list()
    },

    async adminAudit(query) {
      const events = await store.audit.listAudit(query)
      return events.map(auditView)
    },
  }
}
