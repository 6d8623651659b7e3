// Forgotten passwords (PRODUCT.md, "Email"): a reset link (1 hour) mailed to
// an account's address, asked for with an answer that is the same, at once,
// for every address (the lookup and the mail happen after it); using the
// link sets a new password, ends every session and every older access token,
// kills the other pending reset links, and mails a notice.

import type { FlowContext } from './context.ts'
import { AuthError, invalidField } from './errors.ts'
import { hashLinkToken, isLinkToken, issueLink, ONE_TIME_TTL_MS } from './one-time.ts'
import type { RecoveryFlows } from './types.ts'

const invalidCode = () =>
  new AuthError('invalid_code', 'the link or code is not valid (it may have expired or been used)')

export function createRecoveryFlows(ctx: FlowContext): RecoveryFlows {
  const { config, store, rules, rateLimits, passwords, audit, mail, background, profiles } = ctx
  const { revoke, now } = ctx

  return {
    async forgotPassword(input, client) {
      const email = rules.normalizeEmail(input.email)
      // Counted for any address, known or not: the limit says nothing either.
      await rateLimits.checkMailSend(
        email ?? input.email.trim().toLowerCase(),
        client.ip ?? 'unknown',
      )
      if (email === undefined) return
      background.run('password reset mail', async () => {
        const user = await store.users.findUserByEmail(email)
        if (user === undefined || user.disabled) return
        await store.atomically(async () => {
          const token = await issueLink(store.oneTimeTokens, {
            userId: user.id,
            purpose: 'reset_password',
            email: user.email,
            now: now(),
          })
          await mail.queue({
            to: user.email,
            template: 'reset_password',
            userId: user.id,
            data: {
              link: `${config.issuer}/reset-password?token=${token}`,
              expiresIn: ONE_TIME_TTL_MS.reset_password / 1000,
              name: user.name,
            },
          })
        })
        mail.wake()
        await audit('password.reset_requested', client, { userId: user.id })
      })
    },

    async resetPassword(input, client) {
      if (!isLinkToken(input.token)) throw invalidCode()
      // The policy before the link is spent: a too short or too common
      // password must not use it up.
      const generic = rules.checkPasswordPolicy(input.newPassword)
      if (!generic.ok) throw invalidField('/newPassword', generic.reason)
      const record = await store.oneTimeTokens.consumeToken(
        hashLinkToken(input.token),
        'reset_password',
        now(),
      )
      if (record === undefined) throw invalidCode()
      const user = await store.users.findUserById(record.userId)
      if (user === undefined || user.disabled || user.email !== record.email) throw invalidCode()
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
        await store.oneTimeTokens.revokeTokens(user.id, at, ['reset_password', 'sign_in'])
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
