// DPoP (RFC 9449): proofs signed by a key pair this browser keeps. The private
// key is made non-extractable, so script can ask the browser to sign with it
// but never read it, and the pair is kept in IndexedDB as it is (structured
// clone keeps a CryptoKey non-extractable) so a reload or another tab signs
// with the same key: the refresh token is bound to it.

import type { KeyValueStore } from './types.ts'

const encoder = new TextEncoder()

/** base64url without padding (RFC 7515 §2), the encoding of every JOSE part. */
export function b64url(bytes: ArrayBuffer | Uint8Array): string {
  let text = ''
  for (const byte of new Uint8Array(bytes)) text += String.fromCharCode(byte)
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** `size` random bytes, base64url: ids, PKCE verifiers, OAuth `state` and `nonce`. */
export function randomB64url(size: number): string {
  return b64url(crypto.getRandomValues(new Uint8Array(size)))
}

/** base64url SHA-256 of a string: PKCE's S256 challenge (RFC 7636 §4.2), DPoP's `ath`. */
export async function sha256(text: string): Promise<string> {
  return b64url(await crypto.subtle.digest('SHA-256', encoder.encode(text)))
}

export interface ProofClaims {
  /** The request's method. */
  readonly htm: string
  /** The request's URL; its query and fragment are left out (RFC 9449 §4.2). */
  readonly htu: string
  /** The access token sent with the proof (`Authorization: DPoP`): adds `ath`. */
  readonly accessToken?: string | undefined
  /** The server's last `DPoP-Nonce` (RFC 9449 §8). */
  readonly nonce?: string | undefined
}

/** A new ES256 key pair whose private key cannot be exported. */
export function generateKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
}

/**
 * A DPoP proof (RFC 9449 §4.2): a compact JWS of type `dpop+jwt` carrying the
 * public key, signed by the private one.
 *
 * @example
 * const proof = await createProof(keys, { htm: 'POST', htu: 'https://auth.example.com/oauth/token' }, Date.now())
 */
export async function createProof(
  keys: CryptoKeyPair,
  claims: ProofClaims,
  now: number,
): Promise<string> {
  // Public keys are always exportable; only the members that name the key go in the header.
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', keys.publicKey)
  const htu = new URL(claims.htu)
  htu.search = ''
  htu.hash = ''
  const payload: Record<string, unknown> = {
    jti: randomB64url(16),
    htm: claims.htm,
    htu: htu.href,
    iat: Math.floor(now / 1000),
  }
  if (claims.accessToken !== undefined) payload['ath'] = await sha256(claims.accessToken)
  if (claims.nonce !== undefined) payload['nonce'] = claims.nonce
  const part = (value: unknown) => b64url(encoder.encode(JSON.stringify(value)))
  const input = `${part({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } })}.${part(payload)}`
  // WebCrypto's ECDSA signature is already r||s (IEEE P1363), the JWS form (RFC 7518 §3.4).
  const signature = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    keys.privateKey,
    encoder.encode(input),
  )
  return `${input}.${b64url(signature)}`
}

export interface DpopKey {
  /** A proof signed by the stored key, made (and stored) on first use. */
  proof(claims: ProofClaims): Promise<string>
  /** Forgets the key: the next session is bound to a new one. */
  remove(): Promise<void>
}

/**
 * The key pair kept in `store` under `key`. It is read from the store for each
 * proof rather than cached, so a key another tab made or removed is seen here.
 */
export function dpopKey(store: KeyValueStore, key: string, now: () => number): DpopKey {
  return {
    async proof(claims) {
      let keys = await store.get<CryptoKeyPair>(key)
      if (keys === undefined) {
        keys = await generateKeyPair()
        await store.set(key, keys)
      }
      return createProof(keys, claims, now())
    },
    remove: () => store.delete(key),
  }
}
