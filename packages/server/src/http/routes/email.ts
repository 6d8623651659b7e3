// The email routes (PRODUCT.md, "Email"): verification, forgotten
// passwords, signing in by a mailed code or link, changing the address.
// Enumeration-safe: asking for a mail answers 202, in the same time, for
// every address, since the lookup and the mail happen after the answer.

import { invalidField } from '../../auth/errors.ts'
import type {
  AuthService,
  EmailChangeFlows,
  EmailFlows,
  PasswordlessFlows,
  RecoveryFlows,
} from '../../auth/types.ts'
import { accessOf } from '../plugins/authentication.ts'
import { clientWithProof } from '../plugins/dpop.ts'
import { clientInfo } from '../plugins/request-context.ts'
import {
  EmailBody,
  EmailChangeBody,
  ResetBody,
  SignInByMailBody,
  SignInResponse,
  TokenBody,
  UserResponse,
} from '../schemas/auth.ts'
import { BEARER, NoContent, NoQuery, withErrors } from '../schemas/common.ts'
import type { RouteDeps, TypedApp } from './deps.ts'
import { tokenResponse } from './token-response.ts'

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

/** Signing in by mail: a code and a link asked for (202 whatever the address), then used. */
export function registerSignInByMailRoutes(
  app: TypedApp,
  deps: Omit<RouteDeps<PasswordlessFlows & Pick<AuthService, 'dpop'>>, 'authenticate'>,
): void {
  const { auth, config } = deps

  app.post(
    '/auth/otp/send',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Mail a sign-in code and link',
        description:
          'Answers 202 for any address, in the same time; an account with this address is mailed a 6-digit code and a sign-in link, both good for 10 minutes, once. Rate limited per address and per IP.',
        body: EmailBody,
        response: withErrors({ 202: NoContent }),
      },
    },
    async (request, reply) => {
      await auth.sendSignInCode(request.body, clientInfo(request))
      reply.code(202)
      return null
    },
  )

  app.post(
    '/auth/otp/verify',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Sign in with the mailed code or link',
        description:
          '`{email, code}` or `{token}`; answers as POST /auth/login does. A code dies after 5 wrong tries; tries are throttled like logins. The address counts as verified.',
        body: SignInByMailBody,
        response: withErrors({ 200: SignInResponse }),
      },
    },
    async (request, reply) => {
      const { email, code, token } = request.body
      let input: { email: string; code: string } | { token: string }
      if (token !== undefined) {
        if (email !== undefined || code !== undefined)
          throw invalidField('/token', 'send either a token or an email and code, not both')
        input = { token }
      } else if (email === undefined) {
        throw invalidField('/email', 'is required with a code')
      } else if (code === undefined) {
        throw invalidField('/code', 'is required with an email')
      } else {
        input = { email, code }
      }
      const result = await auth.signInByMail(input, await clientWithProof(request, reply, deps))
      return tokenResponse(config, request, reply, result)
    },
  )
}

/** Changing the address: asked for with the current password, confirmed from the new mailbox. */
export function registerEmailChangeRoutes(app: TypedApp, deps: RouteDeps<EmailChangeFlows>): void {
  const { auth, authenticate } = deps

  app.post(
    '/auth/email/change',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Ask to change the email address',
        description:
          'Checks the current password, then answers 202; the new address is mailed a link (24 hours), unless it has an account (the answer does not say). The change happens when the link is used.',
        security: BEARER,
        body: EmailChangeBody,
        response: withErrors({ 202: NoContent }),
      },
      onRequest: authenticate,
    },
    async (request, reply) => {
      await auth.requestEmailChange(accessOf(request), request.body, clientInfo(request))
      reply.code(202)
      return null
    },
  )

  app.post(
    '/auth/email/change/confirm',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Confirm the new address with the token of the mailed link',
        description:
          'The account takes the new address (verified); the old address is mailed a notice and its pending links die. Sessions stay.',
        body: TokenBody,
        response: withErrors({ 200: UserResponse }),
      },
    },
    async (request) => ({ user: await auth.confirmEmailChange(request.body, clientInfo(request)) }),
  )
}
