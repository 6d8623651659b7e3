import { decodeBase64url } from './base64url.ts'
import {
  type CompiledOptions,
  checkClaims,
  checkHeader,
  compileOptions,
  nowSeconds,
  type VerifyOptions,
} from './claims.ts'
import { JwtError } from './errors.ts'
import { Key, KeySet } from './keys.ts'
import { type ParsedToken, parseJsonObject, parseToken } from './parse.ts'
import type { JwtHeader, JwtPayload, KeyResolver, VerifiedJwt } from './types.ts'

export type { VerifyOptions } from './claims.ts'

/** Where verification takes its key from. */
export type KeyInput = Key | KeySet | KeyResolver

/** The key a parsed token names in a local key source. */
export function selectKey(parsed: ParsedToken, keys: Key | KeySet): Key {
  const alg = parsed.header.spec.alg
  if (keys instanceof Key) {
    // One key, one algorithm: RFC 8725 §3.1, the token's `alg` must be the key's.
    if (keys.alg !== alg) throw new JwtError('alg_not_allowed', 'the token "alg" is not the key\'s')
    return keys
  }
  return keys.select(alg, parsed.header.kid)
}

/** Signature check; the payload is decoded only after the signature holds. */
export function checkSignature(parsed: ParsedToken, key: Key): void {
  if (!key.verifySignature(parsed.signingInput, parsed.signature)) {
    throw new JwtError('invalid_signature', 'the signature is not valid')
  }
}

/** Everything after key selection: signature, then payload and claims. */
export function finishVerify(
  parsed: ParsedToken,
  key: Key,
  options: CompiledOptions,
  nowSec: number = nowSeconds(options),
): VerifiedJwt & { validUntil: number } {
  checkSignature(parsed, key)
  const payload = parseJsonObject(parsed.payloadSegment, 'payload') as JwtPayload
  const validUntil = checkClaims(payload, options, nowSec)
  return { header: parsed.header.value as JwtHeader, payload, validUntil }
}

function isResolver(keys: unknown): keys is KeyResolver {
  return (
    typeof keys === 'object' &&
    keys !== null &&
    !(keys instanceof Key) &&
    !(keys instanceof KeySet) &&
    typeof (keys as KeyResolver).resolveKey === 'function'
  )
}

/**
 * Verifies a compact JWT: strict parsing, the algorithm bound to the key,
 * the signature, then the claims. Throws {@link JwtError} with a stable `code`.
 * With a {@link KeyResolver} (a remote JWKS) it returns a promise.
 *
 * For many tokens under the same options prefer {@link createVerifier}: it
 * validates options once and caches verified tokens.
 *
 * @example
 * const { payload } = verify(token, publicKey, { issuer: 'https://auth.example.com', audience: 'api' })
 */
export function verify<P extends object = JwtPayload>(
  token: string,
  keys: Key | KeySet,
  options?: VerifyOptions,
): VerifiedJwt<P>
export function verify<P extends object = JwtPayload>(
  token: string,
  keys: KeyResolver,
  options?: VerifyOptions,
): Promise<VerifiedJwt<P>>
export function verify(
  token: string,
  keys: KeyInput,
  options?: VerifyOptions,
): VerifiedJwt | Promise<VerifiedJwt> {
  const compiled = compileOptions(options)
  if (isResolver(keys)) return verifyWithResolver(token, keys, compiled).then(strip)
  if (!(keys instanceof Key) && !(keys instanceof KeySet)) {
    throw new TypeError('verify takes a Key, a KeySet or a key resolver')
  }
  const parsed = parseToken(token, compiled.maxTokenLength)
  checkHeader(parsed.header, compiled)
  return strip(finishVerify(parsed, selectKey(parsed, keys), compiled))
}

function strip(result: VerifiedJwt & { validUntil: number }): VerifiedJwt {
  return { header: result.header, payload: result.payload }
}

/** Verification with a key resolver that may need to fetch. */
export async function verifyWithResolver(
  token: string,
  resolver: KeyResolver,
  options: CompiledOptions,
): Promise<VerifiedJwt & { validUntil: number }> {
  const parsed = parseToken(token, options.maxTokenLength)
  checkHeader(parsed.header, options)
  const key = await resolver.resolveKey(parsed.header.spec.alg, parsed.header.kid)
  if (key.alg !== parsed.header.spec.alg) {
    throw new JwtError('alg_not_allowed', 'the token "alg" is not the key\'s')
  }
  return finishVerify(parsed, key, options)
}

/**
 * Verifies a compact JWS whose payload need not be JSON (RFC 7515/7520 test
 * vectors, detached data). No claims are checked: for JWTs use {@link verify}.
 * The payload may be empty (RFC 7515 §2: any octet sequence); with `detachedPayload` the
 * token must carry an empty payload segment and the signature is checked over
 * the content given here instead (RFC 7515 Appendix F, detached content).
 *
 * @example
 * const { payload } = verifyJws('eyJhbGciOiJFUzI1NiJ9..MEUCIQ…', key, { detachedPayload: body })
 */
export function verifyJws(
  token: string,
  keys: Key | KeySet,
  options: Pick<VerifyOptions, 'algorithms' | 'crit' | 'maxTokenLength'> & {
    /** The content of a JWS whose payload was detached (Appendix F). */
    detachedPayload?: Uint8Array | string
  } = {},
): { header: JwtHeader; payload: Buffer } {
  const compiled = compileOptions(options)
  let parsed = parseToken(token, compiled.maxTokenLength, true)
  checkHeader(parsed.header, compiled)
  const detached = options.detachedPayload
  let payload: Buffer
  if (detached === undefined) {
    payload = decodeBase64url(parsed.payloadSegment)
  } else {
    if (typeof detached !== 'string' && !(detached instanceof Uint8Array)) {
      throw new TypeError('detachedPayload must be bytes or a string')
    }
    if (parsed.payloadSegment.length !== 0) {
      throw new JwtError('malformed', 'a JWS with detached content has an empty payload segment')
    }
    payload = typeof detached === 'string' ? Buffer.from(detached, 'utf8') : Buffer.from(detached)
    const headerSegment = parsed.signingInput.slice(0, -1)
    parsed = { ...parsed, signingInput: `${headerSegment}.${payload.toString('base64url')}` }
  }
  checkSignature(parsed, selectKey(parsed, keys))
  return { header: parsed.header.value as JwtHeader, payload }
}
