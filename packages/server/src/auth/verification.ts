// Email verification (PRODUCT.md, "Email"): a link mailed on signup and on
// request, `emailVerified` in the user view and `email_verified` in access
// tokens. Sending answers the same for every address, at once: the lookup
// and the mail happen after the answer (background.ts).

import type { FlowContext } from './context.ts'
import { AuthError } from './errors.ts'
import { hashLinkToken, isLinkToken, issueLink, ONE_TIME_TTL_MS } from './one-time.ts'
import type { EmailFlows } from './types.ts'
import { publicUser } from './views.ts'

const invalidCode = () =>
  new AuthError('invalid_code', 'the link or code is not valid (it may have expired or been used)')

export function createVerificationFlows(ctx: FlowContext): EmailFlows {
  const { config, store, rules, rateLimits, audit, mail, background, profiles, now } = ctx

  return {
    async sendVerification(input, client) {
      const email = rules.normalizeEmail(input.email)
      // Counted for any address, known or not: the limit says nothing either.
      await rateLimits.checkMailSend(
        email ?? input.email.trim().toLowerCase(),
        client.ip ?? 'unknown',
      )
      if (email === undefined || config.emailVerification === 'off') return
      background.run('verification mail', async () => {
        const user = await store.users.findUserByEmail(email)
        if (user === undefined || user.disabled || user.emailVerifiedAt !== null) return
        await store.atomically(async () => {
          const token = await issueLink(store.oneTimeTokens, {
            userId: user.id,
            purpose: 'verify_email',
            email: user.email,
            now: now(),
          })
          await mail.queue({
            to: user.email,
            template: 'verify_email',
            userId: user.id,
            data: {
              link: `${config.issuer}/verify-email?token=${token}`,
              expiresIn: ONE_TIME_TTL_MS.verify_email / 1000,
              name: user.name,
            },
          })
        })
        mail.wake()
        await audit('email.verification_sent', client, { userId: user.id })
      })
    },

    async verifyEmail(input, client) {
      if (!isLinkToken(input.token)) throw invalidCode()
      const record = await store.oneTimeTokens.consumeToken(
        hashLinkToken(input.token),
        'verify_email',
        now(),
      )
      if (record === undefined) throw invalidCode()
      const user = await store.users.findUserById(record.userId)
      // A link to an address the account no longer has proves nothing about it.
      if (user === undefined || user.email !== record.email) throw invalidCode()
      const verified =
        user.emailVerifiedAt === null
          ? await profiles.updateUser(user.id, { emailVerifiedAt: now(), updatedAt: now() })
          : user
      if (verified === undefined) throw invalidCode()
      await audit('email.verified', client, { userId: user.id })
      return publicUser(verified)
    },

    settled: () => background.settled(),
  }
}
