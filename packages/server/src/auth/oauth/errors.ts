// The errors of the OAuth endpoints: RFC 6749 §4.1.2.1 and §5.2, RFC 7009,
// RFC 7662, RFC 8707 and OpenID Connect Core §3.1.2.6 name them, and
// clients branch on these exact strings, so they stay apart from Tessera's
// own error registry (error-codes.ts) and its `{error: {code}}` body.

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'access_denied'
  | 'login_required'
  | 'consent_required'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'registration_not_supported'
  | 'invalid_token'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'insufficient_scope'

/** The HTTP status of each code at the token, introspection and revocation endpoints. */
const STATUS: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  invalid_token: 401,
  insufficient_scope: 403,
}

/**
 * A refused OAuth request. `description` is public (RFC 6749
 * `error_description`): never a token, secret or stored value.
 */
export class OAuthError extends Error {
  readonly code: OAuthErrorCode
  readonly status: number
  /**
   * The request carried no credentials at all: RFC 6750 §3.1 says its
   * challenge names no error, only the scheme.
   */
  readonly noCredentials: boolean

  constructor(
    code: OAuthErrorCode,
    description: string,
    options: { noCredentials?: boolean; status?: number } = {},
  ) {
    super(description)
    this.name = 'OAuthError'
    this.code = code
    this.status = options.status ?? STATUS[code] ?? 400
    this.noCredentials = options.noCredentials ?? false
  }
}
