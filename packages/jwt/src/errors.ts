/**
 * Every way a token can fail, as a stable code. Codes are part of the public
 * contract: match on `error.code`, never on the message text.
 */
export type JwtErrorCode =
  | 'malformed'
  | 'alg_not_allowed'
  | 'invalid_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'claim_invalid'
  | 'key_not_found'
  | 'key_invalid'
  | 'jwks_unavailable'
  | 'revoked'
  /** A DPoP proof (RFC 9449) failed a check; `claim` names which. */
  | 'invalid_dpop_proof'
  /** A DPoP proof lacks the server's current nonce (RFC 9449 §8, §9). */
  | 'use_dpop_nonce'
  /**
   * A JWE did not decrypt: wrong key, tampered ciphertext, tag, IV, header or
   * encrypted key. One message for all, so the error tells an attacker nothing.
   */
  | 'decryption_failed'

/**
 * The one error class of `@tessera/jwt`. Messages never contain the token, a
 * key or a secret, so they are safe to log.
 *
 * @example
 * try { verify(token, key) } catch (err) {
 *   if (err instanceof JwtError && err.code === 'expired') refresh()
 * }
 */
export class JwtError extends Error {
  readonly code: JwtErrorCode
  /** For `claim_invalid`: the claim or header parameter that failed. */
  readonly claim: string | undefined

  constructor(code: JwtErrorCode, message: string, options?: { claim?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'JwtError'
    this.code = code
    this.claim = options?.claim
  }
}

export function isJwtError(value: unknown): value is JwtError {
  return value instanceof JwtError
}
