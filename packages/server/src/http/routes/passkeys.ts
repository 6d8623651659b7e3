// Passkeys (PRODUCT.md, "Second factors"): registration and the list of the
// signed-in user's passkeys, passwordless sign-in, and the options of the
// two ceremonies that finish elsewhere (POST /auth/mfa/verify,
// POST /auth/reauthenticate). Handlers only translate HTTP.

import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server'
import type { AuthService, PasskeyFlows } from '../../auth/types.ts'
import { accessOf } from '../plugins/authentication.ts'
import { clientWithProof } from '../plugins/dpop.ts'
import { clientInfo } from '../plugins/request-context.ts'
import { TokenResponse } from '../schemas/auth.ts'
import { BEARER, EmptyBody, NoContent, NoQuery, withErrors } from '../schemas/common.ts'
import {
  type AuthenticationResponseBody,
  CreationOptions,
  LoginVerifyBody,
  MfaTokenBody,
  PasskeyList,
  PasskeyParams,
  PasskeyView,
  RegisteredPasskey,
  RegisterVerifyBody,
  type RegistrationResponseBody,
  RenameBody,
  RequestOptions,
  RequestOptionsWithId,
} from '../schemas/passkeys.ts'
import type { RouteDeps, TypedApp } from './deps.ts'
import { tokenResponse } from './token-response.ts'

const TAGS = ['passkeys']
const STEP_UP =
  'Needs a sign-in (or POST /auth/reauthenticate) at most TESSERA_REAUTH_WINDOW old: else 403 `reauthentication_required`.'
const ORIGIN =
  'An answer made on a page outside TESSERA_WEBAUTHN_ORIGINS, or for another RP id, is 400 `validation_failed` naming what this server expects.'

/**
 * The schema has checked the answer's shape and sizes; its content is
 * @simplewebauthn/server's to check (the transports and attachment it takes
 * as any string, as browsers may send newer ones).
 */
export const asRegistrationResponse = (body: RegistrationResponseBody) =>
  body as RegistrationResponseJSON
export const asAuthenticationResponse = (body: AuthenticationResponseBody) =>
  body as AuthenticationResponseJSON

export function registerPasskeyRoutes(
  app: TypedApp,
  deps: RouteDeps<PasskeyFlows & Pick<AuthService, 'dpop'>>,
): void {
  const { auth, config, authenticate } = deps

  app.post(
    '/auth/passkeys/register/options',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Start adding a passkey',
        description: `Options for navigator.credentials.create (a discoverable credential; the account's passkeys excluded) and the \`challengeId\` to send back within 5 minutes. ${STEP_UP}`,
        security: BEARER,
        body: EmptyBody,
        response: withErrors({ 200: CreationOptions }),
      },
      onRequest: authenticate,
    },
    async (request) => auth.passkeyRegistrationOptions(accessOf(request), clientInfo(request)),
  )

  app.post(
    '/auth/passkeys/register/verify',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Add the passkey the browser made',
        description: `\`{response, challengeId, name?}\`: stores the passkey and mails the owner. The account's first factor also answers 10 recovery codes, shown this once. The challenge is spent by the first answer, right or wrong. ${ORIGIN} ${STEP_UP}`,
        security: BEARER,
        body: RegisterVerifyBody,
        response: withErrors({ 201: RegisteredPasskey }),
      },
      onRequest: authenticate,
    },
    async (request, reply) => {
      const { response, challengeId, name } = request.body
      const added = await auth.registerPasskey(
        accessOf(request),
        {
          response: asRegistrationResponse(response),
          challengeId,
          ...(name === undefined ? {} : { name }),
        },
        clientInfo(request),
      )
      return reply.code(201).send(added)
    },
  )

  app.get(
    '/auth/passkeys',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: "The user's passkeys",
        security: BEARER,
        response: withErrors({ 200: PasskeyList }),
      },
      onRequest: authenticate,
    },
    async (request) => ({ passkeys: await auth.listPasskeys(accessOf(request)) }),
  )

  app.patch(
    '/auth/passkeys/:id',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        params: PasskeyParams,
        summary: 'Rename a passkey',
        description: '404 `not_found` unless the passkey is the caller’s.',
        security: BEARER,
        body: RenameBody,
        response: withErrors({ 200: PasskeyView }),
      },
      onRequest: authenticate,
    },
    async (request) =>
      auth.renamePasskey(accessOf(request), request.params.id, request.body, clientInfo(request)),
  )

  app.delete(
    '/auth/passkeys/:id',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        params: PasskeyParams,
        summary: 'Remove a passkey',
        description: `Mails the owner; with no factor left, the recovery codes go too. 404 \`not_found\` unless the passkey is the caller’s. ${STEP_UP}`,
        security: BEARER,
        response: withErrors({ 204: NoContent }),
      },
      onRequest: authenticate,
    },
    async (request, reply) => {
      await auth.removePasskey(accessOf(request), request.params.id, clientInfo(request))
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/auth/passkeys/login/options',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Start a sign-in with a passkey (no password)',
        description:
          'Options for navigator.credentials.get with no `allowCredentials` (the browser offers the passkeys it has for this site, also as autofill with `mediation: "conditional"`), user verification required, and the `challengeId` to send back within 5 minutes.',
        body: EmptyBody,
        response: withErrors({ 200: RequestOptionsWithId }),
      },
    },
    async (request) => auth.passkeyLoginOptions(clientInfo(request)),
  )

  app.post(
    '/auth/passkeys/login/verify',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Sign in with a passkey',
        description: `\`{response, challengeId}\`: answers as POST /auth/login does. A passkey this server does not accept (unknown, removed, of a disabled account, a bad signature, a stale counter) is 401 \`invalid_credentials\`, one answer for all; a spent or expired challenge is 400 \`invalid_code\`. ${ORIGIN}`,
        body: LoginVerifyBody,
        response: withErrors({ 200: TokenResponse }),
      },
    },
    async (request, reply) => {
      const { response, challengeId } = request.body
      const result = await auth.signInWithPasskey(
        { response: asAuthenticationResponse(response), challengeId },
        await clientWithProof(request, reply, deps),
      )
      return tokenResponse(config, request, reply, result)
    },
  )

  app.post(
    '/auth/mfa/passkey/options',
    {
      schema: {
        tags: ['mfa', ...TAGS],
        querystring: NoQuery,
        summary: 'Start the second step of a sign-in with a passkey',
        description:
          '`{mfaToken}` of the sign-in answer: options for navigator.credentials.get listing the account’s passkeys. Send the answer to POST /auth/mfa/verify as `{mfaToken, method: "passkey", response}`. 400 `invalid_code` when the token is spent or expired, or the account has no passkey.',
        body: MfaTokenBody,
        response: withErrors({ 200: RequestOptions }),
      },
    },
    async (request) => auth.mfaPasskeyOptions(request.body, clientInfo(request)),
  )

  app.post(
    '/auth/reauthenticate/passkey/options',
    {
      schema: {
        tags: ['mfa', ...TAGS],
        querystring: NoQuery,
        summary: 'Start confirming it is you with a passkey (step-up)',
        description:
          'Options listing the caller’s passkeys and a `challengeId`; send the answer to POST /auth/reauthenticate as `{method: "passkey", response, challengeId}`. 404 `not_found` when the account has no passkey.',
        security: BEARER,
        body: EmptyBody,
        response: withErrors({ 200: RequestOptionsWithId }),
      },
      onRequest: authenticate,
    },
    async (request) => auth.reauthPasskeyOptions(accessOf(request), clientInfo(request)),
  )
}
