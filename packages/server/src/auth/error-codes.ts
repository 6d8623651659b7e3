// The one catalogue of wire error codes: each code's HTTP status, the
// challenge of a 401, and a one-line description. Everything else is derived
// from it or tested against it: `ErrorCode` (auth/errors.ts) is its keys; the
// error handler (http/plugins/errors.ts) takes every status and challenge
// from here; docs/errors.md documents exactly these codes
// (test/http-errors-doc.test.ts); the hosted pages' script names only these
// (http/pages/script.test.ts).
//
// The codes a resource server's middleware answers with are @tessera/jwt's
// `authErrorCodes`: their entries are taken from there as they are, so the
// server and every resource server answer a token the same way.

import { authErrorCodes, type ErrorCodeInfo } from '@tessera/jwt'

export type { ErrorCodeInfo } from '@tessera/jwt'

const catalogue = {
  validation_failed: {
    status: 400,
    description: 'The request is malformed or a field is invalid; `issues` lists each problem.',
  },
  invalid_credentials: {
    status: 401,
    // A failed password login presents no token (RFC 6750 §3.1).
    challenge: 'bare',
    description:
      'Email or password is wrong (the two cases are not told apart), or a passkey is not accepted.',
  },
  missing_token: authErrorCodes.missing_token,
  invalid_token: authErrorCodes.invalid_token,
  token_expired: authErrorCodes.token_expired,
  token_revoked: authErrorCodes.token_revoked,
  invalid_dpop_proof: authErrorCodes.invalid_dpop_proof,
  use_dpop_nonce: authErrorCodes.use_dpop_nonce,
  invalid_refresh_token: {
    status: 401,
    challenge: 'invalid_token',
    description: 'The refresh token is unknown, expired or its session has ended.',
  },
  refresh_token_reused: {
    status: 401,
    challenge: 'invalid_token',
    description: 'An already used refresh token was presented again; the session is revoked.',
  },
  mfa_required: authErrorCodes.mfa_required,
  forbidden: authErrorCodes.forbidden,
  reauthentication_required: authErrorCodes.reauthentication_required,
  csrf_failed: {
    status: 403,
    description:
      'A cookie-authenticated call lacks the CSRF header or comes from a foreign origin.',
  },
  not_found: { status: 404, description: 'No such route or resource.' },
  invalid_code: {
    status: 400,
    description:
      'A mailed link or code is unknown, used, expired or for another purpose (the message does not say which).',
  },
  email_not_verified: {
    status: 403,
    description:
      'The account has not verified its email address yet (TESSERA_EMAIL_VERIFICATION=required).',
  },
  email_taken: { status: 409, description: 'An account with this email already exists.' },
  last_sign_in_method: {
    status: 409,
    description:
      'Unlinking this identity would leave the account no way to sign in (no password, passkey or other identity).',
  },
  provider_token_revoked: {
    status: 409,
    description:
      'The identity provider refused to refresh the tokens kept for this identity; they are deleted. Sign in with the provider again.',
  },
  payload_too_large: { status: 413, description: 'The request body or headers are too large.' },
  unsupported_media_type: {
    status: 415,
    description: 'Request bodies must be application/json.',
  },
  rate_limited: {
    status: 429,
    description: 'Too many attempts; retry after the `Retry-After` header (seconds).',
  },
  unavailable: authErrorCodes.unavailable,
  provider_unavailable: {
    status: 503,
    description:
      'The identity provider could not be reached (or answered with a server error); retry later.',
  },
} as const satisfies Record<string, ErrorCodeInfo>

/**
 * Every wire code of the server, in the order docs/errors.md lists them.
 *
 * @example
 * errorCodes.token_expired.status // 401
 */
export const errorCodes: Readonly<Record<keyof typeof catalogue, ErrorCodeInfo>> =
  Object.freeze(catalogue)

/** A wire error code of the server. */
export type ErrorCode = keyof typeof errorCodes

/** The catalogue's codes, in declaration order. */
export const errorCodeList: readonly ErrorCode[] = Object.freeze(
  Object.keys(errorCodes) as ErrorCode[],
)

/** Narrows a string to a catalogued wire code. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCodes, value)
}
