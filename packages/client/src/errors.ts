// One error class for everything the client refuses or the server answers:
// `code` is the server's wire code (docs/errors.md) when the server spoke,
// the OAuth `error` (RFC 6749 §5.2) from the token endpoint, or one of the
// client's own codes below when it never got an answer it could read.

/** The codes the client itself raises (the server's are documented in docs/errors.md). */
export type ClientErrorCode =
  /** fetch() rejected: offline, DNS, CORS, or the request was aborted. */
  | 'network_error'
  /** The call needs a session and there is none (signed out, or never signed in). */
  | 'not_signed_in'
  /** The call does not exist in this mode (a password sign-in in OAuth mode, say) or this browser lacks the API (WebAuthn, WebCrypto). */
  | 'unsupported'
  /** The redirect back from /oauth/authorize does not match the request this tab made (state, iss, or no request at all). */
  | 'invalid_callback'
  /** The user dismissed the browser's passkey or security-key dialog. */
  | 'passkey_cancelled'
  /** The server answered something that is not its JSON API (a proxy's error page, say). */
  | 'bad_response'

/** Every `code` a {@link TesseraError} can carry: the server's wire codes are plain strings. */
export type TesseraErrorCode = ClientErrorCode | (string & {})

export interface TesseraErrorInit {
  readonly code: TesseraErrorCode
  readonly message: string
  /** HTTP status of the answer; 0 when there was none. */
  readonly status?: number
  /** Seconds to wait, from a 429 (`retryAfter`, `Retry-After`). */
  readonly retryAfter?: number
  /** `validation_failed`: each refused member, `path` a JSON Pointer. */
  readonly issues?: readonly { readonly path: string; readonly message: string }[]
  /** `csrf_failed`: why (`origin`, `duplicate_cookie`, …). */
  readonly reason?: string
  readonly cause?: unknown
}

/**
 * What every method of the client rejects with.
 *
 * @example
 * try {
 *   await client.signInWithPassword({ email, password })
 * } catch (error) {
 *   if (error instanceof TesseraError && error.code === 'invalid_credentials') showWrongPassword()
 *   else throw error
 * }
 */
export class TesseraError extends Error {
  override readonly name = 'TesseraError'
  readonly code: TesseraErrorCode
  readonly status: number
  readonly retryAfter: number | undefined
  readonly issues: readonly { readonly path: string; readonly message: string }[]
  readonly reason: string | undefined

  constructor(init: TesseraErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause })
    this.code = init.code
    this.status = init.status ?? 0
    this.retryAfter = init.retryAfter
    this.issues = init.issues ?? []
    this.reason = init.reason
  }

  /** Whether the server could not answer for now (429, 5xx, network): the session, if any, is kept. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500
  }
}

export function isTesseraError(value: unknown, code?: TesseraErrorCode): value is TesseraError {
  return value instanceof TesseraError && (code === undefined || value.code === code)
}

/** The error of a failed answer of Tessera's JSON API (`{ error: { code, message, ... } }`). */
export async function errorFromResponse(response: Response): Promise<TesseraError> {
  let body: unknown
  try {
    body = await response.clone().json()
  } catch {
    // Not the API's JSON: the status must do.
  }
  const header = Number(response.headers.get('retry-after'))
  const fallbackRetry = Number.isFinite(header) && header > 0 ? header : undefined
  const error = (body as { error?: unknown } | undefined)?.error
  if (typeof error === 'object' && error !== null) {
    const fields = error as Record<string, unknown>
    const retry = Number(fields['retryAfter'])
    return new TesseraError({
      code: typeof fields['code'] === 'string' ? fields['code'] : 'bad_response',
      message:
        typeof fields['message'] === 'string'
          ? fields['message']
          : `The server answered ${response.status}.`,
      status: response.status,
      retryAfter: Number.isFinite(retry) && retry > 0 ? retry : fallbackRetry,
      issues: Array.isArray(fields['issues'])
        ? (fields['issues'] as { path: string; message: string }[])
        : undefined,
      reason: typeof fields['reason'] === 'string' ? fields['reason'] : undefined,
    })
  }
  // RFC 6749 §5.2 (the /oauth/* endpoints): { error, error_description }.
  if (typeof error === 'string') {
    const description = (body as { error_description?: unknown }).error_description
    return new TesseraError({
      code: error,
      message: typeof description === 'string' ? description : error,
      status: response.status,
      retryAfter: fallbackRetry,
    })
  }
  return new TesseraError({
    code: response.status === 429 ? 'rate_limited' : 'bad_response',
    message: `The server answered ${response.status}.`,
    status: response.status,
    retryAfter: fallbackRetry,
  })
}

/** The error of a fetch() that rejected (no answer at all). */
export function networkError(cause: unknown): TesseraError {
  return new TesseraError({
    code: 'network_error',
    message: 'The server could not be reached.',
    cause,
  })
}
