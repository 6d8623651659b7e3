// Checking access: an access token on a protected route, the public keys
// that verify tokens elsewhere, and the revocation list the feed publishes.

import { type AccessTokenClaims, JwtError, type VerifiedJwt } from '@tessera/jwt'
import type { FlowContext } from './context.ts'
import { AuthError } from './errors.ts'
import type { AccessFlows } from './types.ts'

export function createAccessFlows(ctx: FlowContext): AccessFlows {
  const { store, keyRing, revocations, now } = ctx

  return {
    authenticate(token) {
      let verified: VerifiedJwt
      try {
        verified = ctx.verifyAccessToken(token)
      } catch (error) {
        if (error instanceof JwtError) {
          if (error.code === 'expired')
            throw new AuthError('token_expired', 'the access token has expired')
          if (error.code === 'revoked')
            throw new AuthError('token_revoked', 'the access token has been revoked')
          throw new AuthError('invalid_token', 'the access token is not valid', { cause: error })
        }
        throw error
      }
      const claims = verified.payload as AccessTokenClaims
      if (
        !Array.isArray(claims.roles) ||
        typeof claims.sid !== 'string' ||
        typeof claims.sub !== 'string'
      ) {
        throw new AuthError('invalid_token', 'the access token is not valid')
      }
      return { token, claims, userId: claims.sub, sessionId: claims.sid, roles: claims.roles }
    },

    jwks() {
      return keyRing.jwks() as unknown as { keys: Record<string, unknown>[] }
    },

    async revocationsSince(since, limit) {
      return store.revocations.listRevocations(since, now(), limit)
    },

    watchRevocations(listener) {
      return revocations.subscribe(listener)
    },
  }
}
