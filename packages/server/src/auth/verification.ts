// Email verification (PRODUCT.md, "Email"): a link mailed on signup and on
// request, `emailVerified` in the user view and `email_verified` in access
// tokens. Sending answers the same for every address, at once: the lookup
// and the mail happen after the answer (background.ts).

import type { FlowContext } from './context.ts'
import { invalidCode, mailLinkLater, useLink, VERIFY_EMAIL } from './mailed-links.ts'
import type { EmailFlows } from './types.ts'
import { publicUser } from './views.ts'

export function createVerificationFlows(ctx: FlowContext): EmailFlows {
  const { config, audit, background, profiles, now } = ctx

  return {
    async sendVerification(input, client) {
      if (config.emailVerification === 'off') return
      await mailLinkLater(ctx, input.email, client, {
        ...VERIFY_EMAIL,
        event: 'email.verification_sent',
        wanted: (user) => user.emailVerifiedAt === null,
      })
    },

    async verifyEmail(input, client) {
      const user = await useLink(ctx, input.token, 'verify_email')
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
