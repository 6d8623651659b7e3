// Changing the address (PRODUCT.md, "Email"): asked for with the current
// password, done when the link mailed to the new address is used. The old
// address is told once it happened, its pending links die, and the
// account's sessions stay. Whether the new address already has an account is
// never answered: the request answers 202 either way, and only a free
// address is mailed a link (its owner would learn nothing new).

import type { FlowContext } from './context.ts'
import { checkCurrentPassword } from './current-password.ts'
import { invalidField } from './errors.ts'
import { CHANGE_EMAIL, invalidCode, queueLink, spendLink } from './mailed-links.ts'
import { requireRecentAuth } from './step-up.ts'
import type { EmailChangeFlows } from './types.ts'
import { publicUser } from './views.ts'

export function createEmailChangeFlows(ctx: FlowContext): EmailChangeFlows {
  const { store, rules, rateLimits, audit, background, mail, profiles, now } = ctx

  return {
    async requestEmailChange(access, input, client) {
      const user = await profiles.requireUser(access)
      await requireRecentAuth(ctx, access)
      const newEmail = rules.normalizeEmail(input.newEmail)
      if (newEmail === undefined) throw invalidField('/newEmail', 'not a valid email address')
      await checkCurrentPassword(ctx, user, input.currentPassword, {
        access,
        client,
        failEvent: 'email.change_failed',
      })
      if (newEmail === user.email) {
        throw invalidField('/newEmail', 'this is already the address of the account')
      }
      await rateLimits.checkMailSend(newEmail, client.ip ?? 'unknown')
      background.run('change_email mail', async () => {
        if ((await store.users.findUserByEmail(newEmail)) !== undefined) return
        await store.atomically(() =>
          queueLink(ctx, { id: user.id, email: newEmail, name: user.name }, CHANGE_EMAIL),
        )
        mail.wake()
        await audit('email.change_requested', client, {
          userId: user.id,
          sessionId: access.sessionId,
        })
      })
    },

    async confirmEmailChange(input, client) {
      const { user, record } = await spendLink(ctx, input.token, 'change_email')
      const at = now()
      const changed = await store.atomically(async () => {
        const updated = await profiles.changeEmail(user.id, record.email, at)
        if (updated === undefined || updated === 'email_taken') return updated
        // The link reached the new mailbox: it is proven. What was mailed to
        // the old address hands over nothing any more.
        const verified = await profiles.updateUser(user.id, { emailVerifiedAt: at, updatedAt: at })
        await store.oneTimeTokens.revokeTokens(user.id, at, [
          'verify_email',
          'reset_password',
          'sign_in',
          'sign_in_code',
        ])
        await mail.queue({
          to: user.email,
          template: 'email_changed',
          userId: user.id,
          // No link: a reset would go to the new address. The mail says to
          // contact the team.
          data: { newEmail: record.email, name: user.name },
        })
        return verified ?? updated
      })
      // Taken since the link was mailed (a signup, another change): the
      // link is spent and proves nothing about an account it cannot join.
      if (changed === undefined || changed === 'email_taken') throw invalidCode()
      mail.wake()
      await audit('email.changed', client, { userId: user.id })
      return publicUser(changed)
    },
  }
}
