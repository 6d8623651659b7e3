// Checking access: an access token on a protected route, the public keys
// that verify tokens elsewhere, and the revocation list the feed publishes.

import { AuthFailure, type AuthInfo, createAuthenticator } from '@tessera/jwt'
import { FIRST_PARTY_CLIENT_ID } from '../tokens/access-tokens.ts'
import type { FlowContext } from './context.ts'
import { AuthError } from './errors.ts'
import type { AccessContext, AccessFlows } from './types.ts'

export function createAccessFlows(ctx: FlowContext): AccessFlows {
  const { store, keyRing, revocations, now } = ctx
  // @tessera/jwt's authenticator core over the key ring's verifier: a
  // JwtError maps to the same wire code here as in every resource server.
  // Proof jtis go where the token-issuing routes put theirs (Redis when shared).
  // With TESSERA_DPOP_NONCES the proofs sent to Tessera's own routes carry the nonce too.
  const nonce = ctx.dpop.nonce() === undefined ? undefined : () => ctx.dpop.nonce() as string
  const authenticator = createAuthenticator({
    verify: ctx.verifyAccessToken,
    dpopReplayCache: ctx.dpop.replayCache,
    ...(nonce === undefined ? {} : { dpopNonce: nonce }),
  })

  /** What Tessera's own routes demand of a token the core accepted. */
  function ownAccess(checked: AuthInfo | AuthFailure): AccessContext {
    if (checked instanceof AuthFailure) {
      throw new AuthError(checked.code, checked.message, { cause: checked.cause })
    }
    // The core accepts tokens without a session or roles (other issuers'
    // tokens); this server issues none such, so one is not its own.
    if (checked.sessionId === undefined || !Array.isArray(checked.claims.roles)) {
      throw new AuthError('invalid_token', 'the access token is not valid')
    }
    // A token an OAuth client got speaks to the resources it was granted,
    // never to Tessera's own API (the account, the admin routes): only the
    // built-in client's do (and those from before client_id existed).
    const clientId = checked.claims['client_id']
    if (clientId !== undefined && clientId !== FIRST_PARTY_CLIENT_ID) {
      throw new AuthError('invalid_token', 'this access token was issued to another client')
    }
    // The core's AuthInfo, frozen and cached with the verified token: no
    // allocation per request.
    return checked as AccessContext
  }

  return {
    authenticate(token) {
      const checked = authenticator.checkToken(token)
      if (checked instanceof Promise)
        throw new Error('the access token verifier must be synchronous')
      return ownAccess(checked)
    },

    async authenticateDpop(token, presentation) {
      return ownAccess(await authenticator.checkToken(token, presentation))
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
