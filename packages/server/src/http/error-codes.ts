// The one registry of wire error codes: HTTP status and a one-line
// description. docs/errors.md documents exactly these codes (checked by
// test/http-errors-doc.test.ts); the error handler in plugins/errors.ts takes
// every status from here, so a code cannot drift from its status.

import type { ErrorCode } from '../auth/errors.ts'

/** What the registry says about one wire code. */
export interface ErrorCodeInfo {
  readonly status: number
  readonly description: string
}

/**
 * Every `ErrorCode` of auth/errors.ts with its HTTP status. The `Record` type
 * makes a missing code a compile error.
 *
 * @example
 * errorCodes.token_expired.status // 401
 */
export const errorCodes: Readonly<Record<ErrorCode, ErrorCodeInfo>> = Object.freeze({
  validation_failed: {
    status: 400,
    description: 'The request is malformed or a field is invalid; `issues` lists each problem.',
  },
  invalid_credentials: {
    status: 401,
    description: 'Email or password is wrong (the two cases are not told apart).',
  },
  missing_token: {
    status: 401,
    description: 'The route needs a token and the request carries none.',
  },
  invalid_token: {
    status: 401,
    description: 'The access token is malformed, badly signed or not for this server.',
  },
  token_expired: { status: 401, description: 'The access token has expired.' },
  token_revoked: {
    status: 401,
    description: 'The access token (or its session) has been revoked.',
  },
  invalid_refresh_token: {
    status: 401,
    description: 'The refresh token is unknown, expired or its session has ended.',
  },
  refresh_token_reused: {
    status: 401,
    description: 'An already used refresh token was presented again; the session is revoked.',
  },
  forbidden: {
    status: 403,
    description: 'The caller is authenticated but not allowed to do this.',
  },
  csrf_failed: {
    status: 403,
    description:
      'A cookie-authenticated call lacks the CSRF header or comes from a foreign origin.',
  },
  not_found: { status: 404, description: 'No such route or resource.' },
  email_taken: { status: 409, description: 'An account with this email already exists.' },
  payload_too_large: { status: 413, description: 'The request body or headers are too large.' },
  unsupported_media_type: {
    status: 415,
    description: 'Request bodies must be application/json.',
  },
  rate_limited: {
    status: 429,
    description: 'Too many attempts; retry after the `Retry-After` header (seconds).',
  },
  unavailable: {
    status: 503,
    description: 'The server or its store is not ready; retry later.',
  },
})

/** The registry's codes, in declaration order. */
export const errorCodeList: readonly ErrorCode[] = Object.freeze(
  Object.keys(errorCodes) as ErrorCode[],
)

/** Narrows a string to a registered wire code. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCodes, value)
}

/**
 * The code of the 500 answer to a bug. Not a registry code: nothing a client
 * sends can produce it, so docs/errors.md does not list it.
 */
export const INTERNAL_ERROR = 'internal_error'

/** Every `code` the error envelope can carry. */
export type WireCode = ErrorCode | typeof INTERNAL_ERROR
