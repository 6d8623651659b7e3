// The wire codes of a refused request, shared by every producer: the
// authenticator core (middleware-core.ts, behind the Express, Fastify and
// Hono adapters) answers with exactly these, and the Tessera server's
// catalogue (packages/server/src/auth/error-codes.ts) takes these entries as
// they are and adds its own. A code therefore has one status and one
// challenge wherever it comes from.

/** What the catalogue says about one wire code. */
export interface ErrorCodeInfo {
  /** The HTTP status. */
  readonly status: number
  /**
   * For a 401, its `WWW-Authenticate: Bearer` challenge (RFC 9110 §15.5.2
   * requires one): `'bare'`, without an error attribute, when the request
   * presented no credentials (RFC 6750 §3.1);
   * `'insufficient_user_authentication'` (RFC 9470 §3) when the token is good
   * but its authentication is not strong enough; `'invalid_dpop_proof'` and
   * `'use_dpop_nonce'` (RFC 9449 §7.1, §9), in the `DPoP` scheme, when the
   * DPoP proof is at fault; `'invalid_token'` with an `error_description`
   * otherwise. Absent on other statuses.
   */
  readonly challenge?:
    | 'bare'
    | 'invalid_token'
    | 'insufficient_user_authentication'
    | 'invalid_dpop_proof'
    | 'use_dpop_nonce'
  /** One line: when the code is answered. */
  readonly description: string
}

/**
 * The codes `authenticate()`, `requireRoles()`, `requireAllRoles()`,
 * `requireScopes()`, `requireAuthMethods()`, `requireAnyAuthMethod()` and
 * `requireRecentAuth()` answer with, each with its status. A Tessera server
 * answers the same codes with the same statuses (its catalogue extends this
 * one).
 *
 * @example
 * import { authErrorCodes } from '@tessera/jwt'
 * authErrorCodes.token_expired.status // 401
 */
export const authErrorCodes = Object.freeze({
  missing_token: {
    status: 401,
    challenge: 'bare',
    description:
      'The route needs a token and the request carries none (no Bearer credentials: no header, or another scheme).',
  },
  invalid_token: {
    status: 401,
    challenge: 'invalid_token',
    description: 'The access token is malformed, badly signed or not for this server.',
  },
  token_expired: {
    status: 401,
    challenge: 'invalid_token',
    description: 'The access token has expired.',
  },
  token_revoked: {
    status: 401,
    challenge: 'invalid_token',
    description: 'The access token (or its session) has been revoked.',
  },
  invalid_dpop_proof: {
    status: 401,
    challenge: 'invalid_dpop_proof',
    description:
      'The DPoP proof (RFC 9449) is missing, repeated, malformed, replayed, or does not match the request: its method, URL, access token (`ath`) or time (`iat`).',
  },
  use_dpop_nonce: {
    status: 401,
    challenge: 'use_dpop_nonce',
    description:
      'The DPoP proof must carry the server nonce: retry with a new proof holding the `DPoP-Nonce` response header (RFC 9449 §9).',
  },
  mfa_required: {
    status: 401,
    challenge: 'insufficient_user_authentication',
    description:
      'The route needs an authentication method (a second factor, a hardware key) the token does not show in `amr`.',
  },
  forbidden: {
    status: 403,
    description: 'The caller is authenticated but not allowed to do this.',
  },
  reauthentication_required: {
    status: 403,
    description:
      'The route needs a recent authentication and the token shows none (`auth_time` missing or too old).',
  },
  unavailable: {
    status: 503,
    description:
      'The token cannot be checked now (signing keys, revocation list or store out of reach); retry later.',
  },
} as const satisfies Record<string, ErrorCodeInfo>)

/** The wire codes the authenticator core answers with (the server's codes of the same name). */
export type AuthErrorCode = keyof typeof authErrorCodes
