// The wire codes as the HTTP layer answers them: the catalogue of
// auth/error-codes.ts (code → status, 401 challenge, description), and the
// one code outside it, the 500 answer to a bug. The error handler in
// plugins/errors.ts takes every status from the catalogue, so a code cannot
// drift from its status.

import type { ErrorCode } from '../auth/error-codes.ts'

export {
  type ErrorCode,
  type ErrorCodeInfo,
  errorCodeList,
  errorCodes,
  isErrorCode,
} from '../auth/error-codes.ts'

/**
 * The code of the 500 answer to a bug. Not a catalogue code: nothing a client
 * sends can produce it, so docs/errors.md does not list it.
 */
export const INTERNAL_ERROR = 'internal_error'

/** Every `code` the error envelope can carry. */
export type WireCode = ErrorCode | typeof INTERNAL_ERROR
