// Forgotten passwords (PRODUCT.md, "Email"): a reset link (1 hour) mailed to
// an account's address, asked for with an answer that is the same, at once,
// for every address (the lookup and the mail happen after it); using the
// link sets a new password, ends every session and every older access token,
// kills the other pending reset links, and mails a notice.

import type { FlowContext } from './context.ts'
import { invalidField } from './errors.ts'
import { mailLinkLater, PASSWORD_BOUND_LINKS, RESET_PASSWORD, useLink } from './mailed-links.ts'
import type { RecoveryFlows } from './types.ts'

export function createRecoveryFlows(ctx: FlowContext): RecoveryFlows {
  const { config, store, rules, passwords, audit, mail, profiles } = ctx
  const { revoke, now } = ctx

  return {
    async forgotPassword(input, client) {
      await mailLinkLater(ctx, input.email, client, {
        ...RESET_PASSWORD,
        event: 'password.reset_requested',
        wanted: () => true,
      })
    },

    async resetPassword(input, client) {
      // The policy before the link is spent: a too short or too common
      // password must not use it up.
      const generic = rules.checkPasswordPolicy(input.newPassword)
      if (!generic.ok) throw invalidField('/newPassword', generic.reason)
      const user = await useLink(ctx, input.token, 'reset_password')
      // What needs the account (its address or name as the password) can only
      // be checked now; the link is spent then, and the message says so.
      const verdict = rules.checkPasswordPolicy(input.newPassword, {
        email: user.email,
        ...(user.name === null ? {} : { name: user.name }),
      })
      if (!verdict.ok) {
        throw invalidField(
          '/newPassword',
          `${verdict.reason} Ask for a new link: this one is used.`,
        )
      }
      const passwordHash = await passwords.hash(input.newPassword)
      const at = now()
      const ended = await store.atomically(async () => {
        await profiles.updateUser(user.id, {
          passwordHash,
          passwordChangedAt: at,
          updatedAt: at,
          // The link reached this mailbox: the address is proven too.
          ...(user.emailVerifiedAt === null ? { emailVerifiedAt: at } : {}),
        })
        const sessions = await store.sessions.revokeUserSessions(user.id, at, 'password_reset')
        await store.oneTimeTokens.revokeTokens(user.id, at, PASSWORD_BOUND_LINKS)
        await mail.queue({
          to: user.email,
          template: 'password_changed',
          userId: user.id,
          data: { name: user.name, link: `${config.issuer}/forgot-password` },
        })
        return sessions
      })
      mail.wake()
      await revoke.sessions(ended)
      await revoke.userTokens(user.id)
      await audit('password.reset', client, { userId: user.id }, { sessionsRevoked: ended.length })
    },
  }
}
