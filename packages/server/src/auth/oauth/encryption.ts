// Encrypted ID tokens and userinfo (OpenID Connect Core §10.2): for a client
// registered with `id_token_encrypted_response_alg/enc` (or the userinfo
// pair), what Tessera sends it is a JWE to a public key of the client's
// `jwks`, so only the client can read it.

import { type EncryptionKey, encrypt, importEncryptionJwk, type Jwk } from '@tessera/jwt'
import type { OAuthClientRecord } from '../../storage/ports.ts'

/** Keys imported for encryption, by the client's JWKS text and the alg. */
const cache = new Map<string, EncryptionKey>()
const CACHE_SIZE = 256

/**
 * The client's key for `alg`: the first key of its JWKS that is for
 * encryption (`use: enc`, or no `use`) and imports for that algorithm.
 * Registration checked that one exists; a JWKS changed since would throw.
 */
function keyFor(client: OAuthClientRecord, alg: string): EncryptionKey {
  const jwks = client.jwks ?? '{"keys":[]}'
  const id = `${alg}\n${jwks}`
  const known = cache.get(id)
  if (known !== undefined) return known
  const keys = (JSON.parse(jwks) as { keys: Jwk[] }).keys
  for (const jwk of keys) {
    if (jwk.use !== undefined && jwk.use !== 'enc') continue
    if (jwk.alg !== undefined && jwk.alg !== alg) continue
    try {
      const key = importEncryptionJwk(jwk, { alg: alg as never })
      if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string)
      cache.set(id, key)
      return key
    } catch {
      // Not a key for this algorithm: the next one may be.
    }
  }
  throw new Error(`client ${client.id} has no key for ${alg} any more`)
}

/**
 * `plaintext` encrypted to the client as `setting` says; `cty: JWT` for a
 * signed JWT inside (a nested ID token).
 *
 * @example
 * const idToken = encryptForClient(client, client.idTokenEncryption, signed, 'JWT')
 */
export function encryptForClient(
  client: OAuthClientRecord,
  setting: { alg: string; enc: string },
  plaintext: string,
  cty?: 'JWT',
): string {
  return encrypt(plaintext, keyFor(client, setting.alg), {
    alg: setting.alg as never,
    enc: setting.enc as never,
    ...(cty === undefined ? {} : { cty }),
  })
}
