// The key ring's other uses under OAuth: ID tokens (OpenID Connect Core §2),
// checking any access token this server issued whatever its audience or
// kind (introspection, userinfo, the revocation feed), and checking an
// `id_token_hint` that may have expired (RP-initiated logout).

import type { AccessTokenClaims, JwtHeader, JwtPayload, Verifier } from '@tessera/jwt'
import { sign, verify } from '@tessera/jwt'
import { createOwnTokenVerifier } from './access-tokens.ts'
import type { KeyRing } from './key-ring.ts'

export interface OAuthTokens {
  /** The algorithm the ring signs with (what discovery names for ID tokens). */
  readonly alg: string
  /** Signs an ID token (`typ: JWT`) with the current key. */
  signIdToken(claims: Record<string, unknown>): string
  /** Any access token of this server: signature, `iss`, `typ`, `exp`, and the revocation list. Throws JwtError. */
  verifyAccessToken: Verifier<AccessTokenClaims>
  /**
   * A token signed by the ring (next, current or retired key) and issued by
   * this server, expired or not: an `id_token_hint`. Throws JwtError.
   */
  verifyHint(token: string): JwtPayload
}

/**
 * @example
 * const oauthTokens = createOAuthTokens({ ring, issuer: config.issuer, audiences: [config.audience, ...config.oauthResources], now, isRevoked })
 */
export function createOAuthTokens(options: {
  ring: Pick<KeyRing, 'signingKey' | 'verificationKeys' | 'alg'>
  issuer: string
  /** Every `aud` an access token may carry: the server's audience and the RFC 8707 resources. */
  audiences: readonly string[]
  now: () => number
  isRevoked: (payload: JwtPayload, header: JwtHeader) => boolean
}): OAuthTokens {
  const { ring, issuer, now } = options
  return {
    alg: ring.alg,
    signIdToken(claims) {
      return sign(claims, ring.signingKey(), { typ: 'JWT', currentDate: new Date(now()) })
    },
    verifyAccessToken: createOwnTokenVerifier({
      ring,
      issuer,
      audiences: options.audiences,
      now,
      isRevoked: options.isRevoked,
    }),
    verifyHint(token) {
      // An expired hint still says who and which session (OpenID Connect
      // RP-Initiated Logout §2): every check but the clock's.
      return verify(token, ring.verificationKeys, {
        algorithms: [ring.alg],
        issuer,
        typ: 'JWT',
        requiredClaims: ['sub', 'aud'],
        clockTolerance: 100 * 365 * 24 * 3600,
      }).payload
    },
  }
}
