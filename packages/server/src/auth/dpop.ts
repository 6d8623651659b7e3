// DPoP (RFC 9449) on the server's side: checking the proof a request
// carries, with the `jti`s remembered where every instance sees them (Redis
// when configured), and the optional server nonces (§8). What a valid proof
// buys is decided by the flows: an access token bound to the key (`cnf.jkt`),
// and for public clients and first-party sessions a bound refresh token.

import { createHmac, timingSafeEqual } from 'node:crypto'
import {
  createDpopReplayCache,
  type DpopReplayCache,
  isJwtError,
  verifyDpopProof,
} from '@tessera/jwt'
import { AuthError } from './errors.ts'

/** A nonce stays good for this window and the next (RFC 9449 §8: the server decides). */
const NONCE_WINDOW_MS = 5 * 60_000

export interface DpopRequest {
  /** The `DPoP` header(s) as received: one proof, or none. */
  proofs: string | readonly string[] | undefined
  method: string
  /** The request's public URL: the issuer's origin and the path (`htu`). */
  url: string
  /** With `Authorization: DPoP <token>`: the proof must carry its `ath`. */
  accessToken?: string
}

export interface DpopPolicy {
  /**
   * The RFC 7638 thumbprint of the key the request's proof proves, or
   * undefined when it carries none. AuthError `invalid_dpop_proof` for a bad
   * proof (or two), `use_dpop_nonce` when nonces are on and it has not the
   * current one.
   */
  proofKey(request: DpopRequest): Promise<string | undefined>
  /** The nonce to hand out in `DPoP-Nonce` (undefined when nonces are off). */
  nonce(): string | undefined
  /** Where proof `jti`s are remembered: shared with the access-token check of Tessera's own routes. */
  readonly replayCache: DpopReplayCache
}

/**
 * @example
 * const dpop = createDpopPolicy({ replayCache: createRedisDpopReplayCache(redis), nonceKey, now })
 * const jkt = await dpop.proofKey({ proofs: request.headers.dpop, method: 'POST', url })
 */
export function createDpopPolicy(options: {
  /** Shared by every instance behind one URL (Redis); in memory when omitted. */
  replayCache?: DpopReplayCache
  /** A secret the nonces are derived from (the same on every instance); no nonces when omitted. */
  nonceKey?: Buffer
  now: () => number
}): DpopPolicy {
  const { nonceKey, now } = options
  const replayCache = options.replayCache ?? createDpopReplayCache()

  function nonceFor(window: number): string {
    return createHmac('sha256', nonceKey as Buffer)
      .update(`dpop-nonce:${window}`)
      .digest('base64url')
      .slice(0, 32)
  }

  function nonceIsFresh(presented: string): boolean {
    const window = Math.floor(now() / NONCE_WINDOW_MS)
    const given = Buffer.from(presented)
    return [window, window - 1].some((w) => {
      const expected = Buffer.from(nonceFor(w))
      return given.length === expected.length && timingSafeEqual(given, expected)
    })
  }

  return {
    async proofKey(request) {
      const { proofs } = request
      if (proofs === undefined) return undefined
      // RFC 9449 §4.3: exactly one DPoP header.
      if (typeof proofs !== 'string') {
        throw new AuthError('invalid_dpop_proof', 'send one DPoP proof, not several')
      }
      try {
        const verified = await verifyDpopProof(proofs, {
          method: request.method,
          url: request.url,
          ...(request.accessToken === undefined ? {} : { accessToken: request.accessToken }),
          ...(nonceKey === undefined ? {} : { nonce: nonceIsFresh }),
          replayCache,
          now,
        })
        return verified.jkt
      } catch (error) {
        if (!isJwtError(error)) throw error
        if (error.code === 'use_dpop_nonce') {
          throw new AuthError('use_dpop_nonce', 'the DPoP proof must carry the nonce of the server')
        }
        throw new AuthError('invalid_dpop_proof', `the DPoP proof is not valid: ${error.message}`)
      }
    },
    nonce() {
      return nonceKey === undefined ? undefined : nonceFor(Math.floor(now() / NONCE_WINDOW_MS))
    },
    replayCache,
  }
}
