import { isCanonicalBase64url } from './base64url.ts'
import { JwtError } from './errors.ts'
import { parseJsonObject } from './parse.ts'
import type { JwtHeader, JwtPayload } from './types.ts'

/**
 * Reads a token's header and payload WITHOUT verifying anything. Use it to
 * display a token or to route it, never to trust it: anyone can write any
 * claims into an unverified token.
 *
 * @example
 * const { header, payload } = decode(token) // { alg, kid, typ }, { sub, exp, ... }
 */
export function decode<P extends object = JwtPayload>(
  token: string,
): { header: JwtHeader; payload: P } {
  if (typeof token !== 'string') throw new JwtError('malformed', 'the token must be a string')
  const parts = token.split('.')
  if (parts.length !== 3) throw new JwtError('malformed', 'a JWT has exactly three segments')
  const [header, payload, signature] = parts as [string, string, string]
  if (!isCanonicalBase64url(header) || !isCanonicalBase64url(payload)) {
    throw new JwtError('malformed', 'a segment is not canonical base64url')
  }
  if (!isCanonicalBase64url(signature)) {
    throw new JwtError('malformed', 'the signature is not canonical base64url')
  }
  return {
    header: parseJsonObject(header, 'header') as JwtHeader,
    payload: parseJsonObject(payload, 'payload') as P,
  }
}
