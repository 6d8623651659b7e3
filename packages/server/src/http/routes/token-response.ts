// The login response, the same from every route that signs someone in
// (signup, login, refresh, a mailed code or link, the MFA step): browser
// clients get the refresh token as the cookie only, native clients in the
// body. An account with a second factor gets the MFA challenge instead.

import type { Static } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuthResult, SignInResult } from '../../auth/types.ts'
import type { Config } from '../../config/types.ts'
import { isBrowserRequest, setRefreshCookie } from '../plugins/browser-session.ts'
import type { MfaChallengeResponse, MfaEnrollmentResponse, TokenResponse } from '../schemas/auth.ts'

type SignInBody =
  | Static<typeof TokenResponse>
  | Static<typeof MfaChallengeResponse>
  | Static<typeof MfaEnrollmentResponse>

export function tokenResponse(
  config: Config,
  request: FastifyRequest,
  reply: FastifyReply,
  result: AuthResult,
): Static<typeof TokenResponse>
export function tokenResponse(
  config: Config,
  request: FastifyRequest,
  reply: FastifyReply,
  result: SignInResult,
): SignInBody
export function tokenResponse(
  config: Config,
  request: FastifyRequest,
  reply: FastifyReply,
  result: SignInResult,
): SignInBody {
  if ('mfaRequired' in result || 'mfaEnrollmentRequired' in result) return result
  const { tokens } = result
  const body = {
    user: result.user,
    accessToken: tokens.accessToken,
    tokenType: tokens.tokenType,
    expiresIn: tokens.expiresIn,
  }
  if (!isBrowserRequest(request)) return { ...body, refreshToken: tokens.refreshToken }
  setRefreshCookie(reply, config, tokens.refreshToken, tokens.refreshExpiresIn)
  return body
}
