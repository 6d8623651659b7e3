import type { ErrorCode } from './error-codes.ts'

/**
 * A wire error code: the keys of the catalogue in error-codes.ts, which gives
 * each its HTTP status (docs/errors.md documents each). The domain throws
 * AuthError with one of these; route handlers never build 4xx replies by hand.
 */
export type { ErrorCode } from './error-codes.ts'

/**
 * A failure the client caused or must handle. `message` is public: it never
 * holds a token, password, hash or key. `cause` is for the log only.
 */
export class AuthError extends Error {
  readonly code: ErrorCode
  /** Extra public fields for the error body (e.g. validation issues). */
  readonly details: Record<string, unknown> | undefined
  /** Seconds, for rate_limited (Retry-After). */
  readonly retryAfter: number | undefined

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'AuthError'
    this.code = code
    this.details = options.details
    this.retryAfter = options.retryAfter
  }
}

/** A validation_failed error for one field (`path` a JSON Pointer into the input). */
export function invalidField(path: string, message: string): AuthError {
  return new AuthError('validation_failed', 'the request is not valid', {
    details: { issues: [{ path, message }] },
  })
}
