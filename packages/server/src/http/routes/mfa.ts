// Second factors (PRODUCT.md, "Second factors"): the authenticator app and
// recovery codes of the signed-in user, the sign-in's second step, and
// re-authentication for step-up. Handlers only translate HTTP.

import { invalidField } from '../../auth/errors.ts'
import type { AuthService, MfaFlows } from '../../auth/types.ts'
import { accessOf } from '../plugins/authentication.ts'
import { clientWithProof } from '../plugins/dpop.ts'
import { clientInfo } from '../plugins/request-context.ts'
import { TokenResponse } from '../schemas/auth.ts'
import { BEARER, EmptyBody, NoContent, NoQuery, withErrors } from '../schemas/common.ts'
import {
  AccessTokenResponse,
  CodeBody,
  MfaStatus,
  MfaVerifyBody,
  ReauthenticateBody,
  RecoveryCodes,
  TotpEnrollment,
} from '../schemas/mfa.ts'
import type { RouteDeps, TypedApp } from './deps.ts'
import { asAuthenticationResponse } from './passkeys.ts'
import { tokenResponse } from './token-response.ts'

const TAGS = ['mfa']
const STEP_UP =
  'Needs a sign-in (or POST /auth/reauthenticate) at most TESSERA_REAUTH_WINDOW old: else 403 `reauthentication_required`.'

export function registerMfaRoutes(
  app: TypedApp,
  deps: RouteDeps<MfaFlows & Pick<AuthService, 'dpop'>>,
): void {
  const { auth, config, authenticate } = deps

  app.get(
    '/auth/mfa',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'The second factors the user has set up',
        security: BEARER,
        response: withErrors({ 200: MfaStatus }),
      },
      onRequest: authenticate,
    },
    async (request) => auth.mfaStatus(accessOf(request)),
  )

  app.post(
    '/auth/mfa/totp/enroll',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Start setting up an authenticator app',
        description: `The secret as a URI and a QR code; it protects nothing until a first code confirms it. ${STEP_UP}`,
        security: BEARER,
        body: EmptyBody,
        response: withErrors({ 200: TotpEnrollment }),
      },
      onRequest: authenticate,
    },
    async (request) => auth.enrollTotp(accessOf(request), clientInfo(request)),
  )

  app.post(
    '/auth/mfa/totp/confirm',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Confirm the authenticator app with a first code',
        description: `Answers 10 recovery codes, shown this once. ${STEP_UP}`,
        security: BEARER,
        body: CodeBody,
        response: withErrors({ 200: RecoveryCodes }),
      },
      onRequest: authenticate,
    },
    async (request) => auth.confirmTotp(accessOf(request), request.body, clientInfo(request)),
  )

  app.delete(
    '/auth/mfa/totp',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Remove the authenticator app',
        description: STEP_UP,
        security: BEARER,
        response: withErrors({ 204: NoContent }),
      },
      onRequest: authenticate,
    },
    async (request, reply) => {
      await auth.removeTotp(accessOf(request), clientInfo(request))
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/auth/mfa/recovery-codes',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Replace the recovery codes',
        description: `10 new codes, shown this once; the old ones stop working. ${STEP_UP}`,
        security: BEARER,
        body: EmptyBody,
        response: withErrors({ 200: RecoveryCodes }),
      },
      onRequest: authenticate,
    },
    async (request) => auth.regenerateRecoveryCodes(accessOf(request), clientInfo(request)),
  )

  app.post(
    '/auth/mfa/verify',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Finish a sign-in with a second factor',
        description:
          'The `mfaToken` of the sign-in answer (5 minutes, 5 tries) with a TOTP or recovery `code`, or with a passkey’s `response` to the options of POST /auth/mfa/passkey/options; answers as POST /auth/login does.',
        body: MfaVerifyBody,
        response: withErrors({ 200: TokenResponse }),
      },
    },
    async (request, reply) => {
      const { mfaToken, method, code, response } = request.body
      let input: Parameters<MfaFlows['verifyMfa']>[0]
      if (method === 'passkey') {
        if (code !== undefined) throw invalidField('/code', 'is not taken with a passkey')
        if (response === undefined) throw invalidField('/response', 'is required with a passkey')
        input = { mfaToken, method, response: asAuthenticationResponse(response) }
      } else {
        if (response !== undefined) throw invalidField('/response', 'is taken with a passkey only')
        if (code === undefined) throw invalidField('/code', 'is required with this method')
        input = { mfaToken, method, code }
      }
      const result = await auth.verifyMfa(input, await clientWithProof(request, reply, deps))
      return tokenResponse(config, request, reply, result)
    },
  )

  app.post(
    '/auth/reauthenticate',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Confirm it is you again (step-up)',
        description:
          '`{password}`, `{method, code}`, or `{method: "passkey", response, challengeId}` (options from POST /auth/reauthenticate/passkey/options): renews the session’s authentication time, and answers a new access token whose `auth_time` says so. The refresh token stays.',
        security: BEARER,
        body: ReauthenticateBody,
        response: withErrors({ 200: AccessTokenResponse }),
      },
      onRequest: authenticate,
    },
    async (request) => {
      const { password, method, code, response, challengeId } = request.body
      let input: Parameters<MfaFlows['reauthenticate']>[1]
      if (password !== undefined) {
        if (method !== undefined || code !== undefined || response !== undefined)
          throw invalidField('/password', 'send either a password or a method and code, not both')
        if (challengeId !== undefined)
          throw invalidField('/challengeId', 'is taken with a passkey only')
        input = { password }
      } else if (method === undefined) {
        throw invalidField('/method', 'is required with a code or a passkey response')
      } else if (method === 'passkey') {
        if (code !== undefined) throw invalidField('/code', 'is not taken with a passkey')
        if (response === undefined) throw invalidField('/response', 'is required with a passkey')
        if (challengeId === undefined)
          throw invalidField('/challengeId', 'is required with a passkey')
        input = { method, response: asAuthenticationResponse(response), challengeId }
      } else if (response !== undefined || challengeId !== undefined) {
        throw invalidField(
          response !== undefined ? '/response' : '/challengeId',
          'is taken with a passkey only',
        )
      } else if (code === undefined) {
        throw invalidField('/code', 'is required with a method')
      } else {
        input = { method, code }
      }
      return await auth.reauthenticate(accessOf(request), input, clientInfo(request))
    },
  )
}
