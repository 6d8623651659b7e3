// /auth/*: signup, login, refresh, logout, sessions, password. Handlers only
// translate between HTTP and the AuthService; every refusal is a throw.

import type { FastifyReply, FastifyRequest } from 'fastify'
import { AuthError } from '../../auth/errors.ts'
import type { AccessFlows, AccountFlows, AuthService, SessionFlows } from '../../auth/types.ts'
import { accessOf, readBearerToken } from '../plugins/authentication.ts'
import {
  assertCsrf,
  clearRefreshCookie,
  hasRefreshCookie,
  isBrowserRequest,
  readRefreshCookie,
} from '../plugins/browser-session.ts'
import { clientWithProof } from '../plugins/dpop.ts'
import { createJsonTextSender } from '../plugins/json-text.ts'
import { clientInfo } from '../plugins/request-context.ts'
import {
  Accepted,
  LoginBody,
  LogoutBody,
  PasswordBody,
  RefreshBody,
  SessionList,
  SignInResponse,
  SignupBody,
  TokenResponse,
} from '../schemas/auth.ts'
import {
  BEARER,
  EmptyBody,
  IdParams,
  NoContent,
  NoQuery,
  PublicUser,
  withErrors,
} from '../schemas/common.ts'
import type { RouteDeps, TypedApp } from './deps.ts'
import { tokenResponse } from './token-response.ts'

const TAGS = ['auth']
type Security = Record<string, string[]>[]
/** Refresh and logout accept a body token (no scheme) or the browser cookie. */
const REFRESH_AUTH: Security = [{}, { refreshCookie: [] }]
const REFRESH_TOKEN_SHAPE = /^[A-Za-z0-9_-]{1,512}$/

/**
 * Registers the /auth routes.
 *
 * @example
 * registerAuthRoutes(app, { config, auth, authenticate })
 */
export function registerAuthRoutes(
  app: TypedApp,
  deps: RouteDeps<
    AccountFlows & SessionFlows & Pick<AccessFlows, 'authenticate'> & Pick<AuthService, 'dpop'>
  >,
): void {
  const { auth, config, authenticate } = deps

  /** The cookie's token, after the CSRF checks that a cookie-authenticated call needs. */
  function cookieToken(request: FastifyRequest): string | undefined {
    const token = readRefreshCookie(request, config)
    if (token === undefined) return undefined
    assertCsrf(request, config)
    return token
  }

  /** Browser clients (or anything holding the cookie) get it cleared. */
  function clearCookieIfBrowser(request: FastifyRequest, reply: FastifyReply): void {
    if (isBrowserRequest(request) || hasRefreshCookie(request, config)) {
      clearRefreshCookie(reply, config)
    }
  }

  app.post(
    '/auth/signup',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Create an account and open a session',
        description:
          'With TESSERA_EMAIL_VERIFICATION=required: 202 `{"status":"verification_sent"}` for a new and an existing address alike; the account signs in once its address is verified.',
        body: SignupBody,
        response: withErrors({ 201: SignInResponse, 202: Accepted }),
      },
      // Refused before the body is even read when signups are closed.
      onRequest: async () => {
        if (!config.signupEnabled) throw new AuthError('forbidden', 'signup is closed')
      },
    },
    async (request, reply) => {
      const result = await auth.signup(request.body, await clientWithProof(request, reply, deps))
      if ('verificationSent' in result) {
        reply.code(202)
        return { status: 'verification_sent' as const }
      }
      reply.code(201)
      return tokenResponse(config, request, reply, result)
    },
  )

  app.post(
    '/auth/login',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Log in with email and password',
        description:
          'An account with a second factor answers `{mfaRequired, mfaToken, methods}` instead of tokens: POST /auth/mfa/verify finishes the sign-in.',
        body: LoginBody,
        response: withErrors({ 200: SignInResponse }),
      },
    },
    async (request, reply) => {
      const result = await auth.login(request.body, await clientWithProof(request, reply, deps))
      return tokenResponse(config, request, reply, result)
    },
  )

  app.post(
    '/auth/refresh',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Rotate the refresh token; get a new pair',
        description:
          'The refresh token comes from the body, or from the refresh cookie (`__Host-tessera_refresh` on https, `tessera_refresh` on http) together with `X-Tessera-CSRF: 1`.',
        security: REFRESH_AUTH,
        body: RefreshBody,
        response: withErrors({ 200: TokenResponse }),
      },
    },
    async (request, reply) => {
      const fromBody = request.body?.refreshToken
      const token = fromBody ?? cookieToken(request)
      if (token === undefined) throw new AuthError('missing_token', 'a refresh token is required')
      if (!REFRESH_TOKEN_SHAPE.test(token)) {
        // Only a cookie can get here (the body schema has the same shape).
        clearRefreshCookie(reply, config)
        throw new AuthError('invalid_refresh_token', 'the refresh token is invalid or expired')
      }
      try {
        return tokenResponse(
          config,
          request,
          reply,
          await auth.refresh(token, await clientWithProof(request, reply, deps)),
        )
      } catch (error) {
        // A dead cookie would be sent again and again: expire it with the refusal.
        if (
          fromBody === undefined &&
          error instanceof AuthError &&
          (error.code === 'invalid_refresh_token' || error.code === 'refresh_token_reused')
        ) {
          clearRefreshCookie(reply, config)
        }
        throw error
      }
    },
  )

  app.post(
    '/auth/logout',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'End this session',
        description:
          'Authenticated by a refresh token (body, or the cookie with `X-Tessera-CSRF: 1`), else by the access token. Clears the cookie.',
        security: [...BEARER, ...REFRESH_AUTH],
        body: LogoutBody,
        response: withErrors({ 204: NoContent }),
      },
    },
    async (request, reply) => {
      const client = clientInfo(request)
      // A refresh token names the session even when the access token has
      // expired, so it is preferred; the cookie needs the CSRF checks.
      const refreshToken = request.body?.refreshToken ?? cookieToken(request)
      if (refreshToken !== undefined) {
        await auth.logout({ refreshToken }, client)
      } else {
        const token = readBearerToken(request.headers.authorization)
        if (token === undefined) {
          throw new AuthError('missing_token', 'an access or refresh token is required')
        }
        await auth.logout({ access: auth.authenticate(token) }, client)
      }
      clearCookieIfBrowser(request, reply)
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/auth/logout-all',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'End every session of the user',
        security: BEARER,
        body: EmptyBody,
        response: withErrors({ 204: NoContent }),
      },
      onRequest: authenticate,
    },
    async (request, reply) => {
      await auth.logoutAll(accessOf(request), clientInfo(request))
      clearCookieIfBrowser(request, reply)
      return reply.code(204).send(null)
    },
  )

  const sendMe = createJsonTextSender()
  app.get(
    '/auth/me',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'The current user',
        security: BEARER,
        response: withErrors({ 200: PublicUser }),
      },
      onRequest: authenticate,
    },
    // The hot path of the API: the profile view is a frozen object cached per
    // user, so its JSON is too (json-text.ts). Not an async function: one
    // promise fewer per request.
    (request, reply) => auth.me(accessOf(request)).then((view) => sendMe(reply, view)),
  )

  app.get(
    '/auth/sessions',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: "The user's active sessions",
        security: BEARER,
        response: withErrors({ 200: SessionList }),
      },
      onRequest: authenticate,
    },
    async (request) => ({ sessions: await auth.listSessions(accessOf(request)) }),
  )

  app.delete(
    '/auth/sessions/:id',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Revoke one of the user’s sessions',
        security: BEARER,
        params: IdParams,
        response: withErrors({ 204: NoContent }),
      },
      onRequest: authenticate,
    },
    async (request, reply) => {
      await auth.revokeSession(accessOf(request), request.params.id, clientInfo(request))
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/auth/password',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Change the password; ends every other session',
        security: BEARER,
        body: PasswordBody,
        response: withErrors({ 204: NoContent }),
      },
      onRequest: authenticate,
    },
    async (request, reply) => {
      await auth.changePassword(accessOf(request), request.body, clientInfo(request))
      return reply.code(204).send(null)
    },
  )
}
