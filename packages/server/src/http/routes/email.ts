// The email routes (PRODUCT.md, "Email"): asking for a verification link
// (202 whatever the address) and using one. Enumeration-safe: the answer and
// its timing are the same for every address, since the lookup and the mail
// happen after it.

import type { EmailFlows, RecoveryFlows } from '../../auth/types.ts'
import { clientInfo } from '../plugins/request-context.ts'
import { EmailBody, ResetBody, TokenBody, UserResponse } from '../schemas/auth.ts'
import { NoContent, NoQuery, withErrors } from '../schemas/common.ts'
import type { RouteDeps, TypedApp } from './deps.ts'

const TAGS = ['email']

export function registerEmailRoutes(
  app: TypedApp,
  deps: Omit<RouteDeps<Pick<EmailFlows, 'sendVerification' | 'verifyEmail'>>, 'authenticate'>,
): void {
  const { auth } = deps

  app.post(
    '/auth/email/verify/send',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Mail a new verification link',
        description:
          'Answers 202 for any address, in the same time; an unverified account with this address is mailed a link (24 hours). Rate limited per address and per IP.',
        body: EmailBody,
        response: withErrors({ 202: NoContent }),
      },
    },
    async (request, reply) => {
      await auth.sendVerification(request.body, clientInfo(request))
      reply.code(202)
      return null
    },
  )

  app.post(
    '/auth/email/verify',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Verify the address with the token of a mailed link',
        body: TokenBody,
        response: withErrors({ 200: UserResponse }),
      },
    },
    async (request) => ({ user: await auth.verifyEmail(request.body, clientInfo(request)) }),
  )
}

/** Forgotten passwords: a reset link asked for (202 whatever the address) and used. */
export function registerRecoveryRoutes(
  app: TypedApp,
  deps: Omit<RouteDeps<RecoveryFlows>, 'authenticate'>,
): void {
  const { auth } = deps

  app.post(
    '/auth/password/forgot',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Mail a password reset link',
        description:
          'Answers 202 for any address, in the same time; an account with this address is mailed a link (1 hour). Rate limited per address and per IP.',
        body: EmailBody,
        response: withErrors({ 202: NoContent }),
      },
    },
    async (request, reply) => {
      await auth.forgotPassword(request.body, clientInfo(request))
      reply.code(202)
      return null
    },
  )

  app.post(
    '/auth/password/reset',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Set a new password with the token of a mailed reset link',
        description:
          'Ends every session and every older access token of the account, and mails a notice.',
        body: ResetBody,
        response: withErrors({ 204: NoContent }),
      },
    },
    async (request, reply) => {
      await auth.resetPassword(request.body, clientInfo(request))
      reply.code(204)
      return null
    },
  )
}
