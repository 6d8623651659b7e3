import type { Algorithm } from './algorithms.ts'
import type { Key, KeySet } from './keys.ts'

/** The JOSE protected header of a token. */
export interface JwtHeader {
  alg: Algorithm
  typ?: string
  kid?: string
  crit?: string[]
  [parameter: string]: unknown
}

/** The registered claims of RFC 7519 §4.1, plus whatever else the token carries. */
export interface JwtPayload {
  iss?: string
  sub?: string
  aud?: string | string[]
  exp?: number
  nbf?: number
  iat?: number
  jti?: string
  [claim: string]: unknown
}

export interface VerifiedJwt<P extends object = JwtPayload> {
  header: JwtHeader
  payload: P
}

/**
 * Something that finds keys on demand, possibly over the network, such as
 * the key set of {@link createRemoteKeySet}. It returns the key at once when
 * it has it and a promise when it must fetch.
 */
export interface KeyResolver {
  resolveKey(alg: Algorithm, kid: string | undefined): Key | Promise<Key>
  /** The keys it holds now, if it can tell; verified-token caches drop tokens whose key left. */
  keySet?(): KeySet | undefined
}
