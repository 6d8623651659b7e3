import { isUtf8 } from 'node:buffer'
import { type AlgorithmSpec, algorithmSpec } from './algorithms.ts'
import { decodeBase64url, isCanonicalBase64url } from './base64url.ts'
import { JwtError } from './errors.ts'
import type { JwtHeader } from './types.ts'

/** Default ceiling on a token's length: a JWT is a header value, not a document. */
export const DEFAULT_MAX_TOKEN_LENGTH = 16 * 1024

/** A compact JWS split into its parts, its header parsed and checked. */
export interface ParsedToken {
  header: ParsedHeader
  /** `header.payload`, the bytes the signature covers. */
  signingInput: string
  payloadSegment: string
  signature: string
}

/** A header that passed every check that does not depend on verify options. */
export interface ParsedHeader {
  /** Frozen: it is shared by every token that has this header segment. */
  readonly value: Readonly<JwtHeader>
  readonly spec: AlgorithmSpec
  readonly kid: string | undefined
  /** `typ` normalized as RFC 8725 §3.11 compares it, or undefined. */
  readonly typ: string | undefined
  readonly crit: readonly string[] | undefined
}

// RFC 7515 §4.1 header parameters: `crit` may not list these.
const REGISTERED_HEADER = new Set([
  'alg',
  'jku',
  'jwk',
  'kid',
  'x5u',
  'x5c',
  'x5t',
  'x5t#S256',
  'typ',
  'cty',
  'crit',
])

/**
 * An issuer's tokens share a handful of header segments, so each distinct one
 * is decoded and checked once. Bounded: a flood of distinct headers only
 * clears it.
 */
const HEADER_CACHE_SIZE = 256
const headerCache = new Map<string, ParsedHeader>()

/**
 * Splits and checks a compact JWS: three canonical base64url segments. The
 * payload may be empty only where `emptyPayload` allows it: RFC 7515 §2
 * makes the payload any octet sequence, the empty one included, and
 * Appendix F's detached content leaves the segment empty; a JWT always has a
 * claims set.
 */
export function parseToken(token: unknown, maxLength: number, emptyPayload = false): ParsedToken {
  if (typeof token !== 'string') throw new JwtError('malformed', 'the token must be a string')
  if (token.length > maxLength) throw new JwtError('malformed', 'the token is too long')
  const dot1 = token.indexOf('.')
  const dot2 = dot1 === -1 ? -1 : token.indexOf('.', dot1 + 1)
  if (dot2 === -1 || token.indexOf('.', dot2 + 1) !== -1) {
    throw new JwtError('malformed', 'a JWT has exactly three segments')
  }
  const headerSegment = token.slice(0, dot1)
  const payloadSegment = token.slice(dot1 + 1, dot2)
  if ((payloadSegment.length === 0 && !emptyPayload) || !isCanonicalBase64url(payloadSegment)) {
    throw new JwtError('malformed', 'the payload is not canonical base64url')
  }
  return {
    header: parseHeader(headerSegment),
    signingInput: token.slice(0, dot2),
    payloadSegment,
    signature: token.slice(dot2 + 1),
  }
}

export function parseHeader(segment: string): ParsedHeader {
  const cached = headerCache.get(segment)
  if (cached !== undefined) return cached
  if (segment.length === 0 || !isCanonicalBase64url(segment)) {
    throw new JwtError('malformed', 'the header is not canonical base64url')
  }
  const value = parseJsonObject(segment, 'header') as JwtHeader
  // RFC 8725 §3.1: `none` and every unknown algorithm end here.
  const spec = algorithmSpec(value.alg)
  if (spec === undefined) throw new JwtError('alg_not_allowed', 'unsupported "alg"')
  if (value.kid !== undefined && typeof value.kid !== 'string') {
    throw new JwtError('malformed', '"kid" must be a string')
  }
  if (value.typ !== undefined && typeof value.typ !== 'string') {
    throw new JwtError('malformed', '"typ" must be a string')
  }
  // RFC 7797: an unencoded payload changes what is signed; we never accept it.
  if (value.b64 !== undefined && value.b64 !== true) {
    throw new JwtError('malformed', '"b64" other than true is not supported')
  }
  const crit = value.crit === undefined ? undefined : checkCrit(value)
  const parsed: ParsedHeader = {
    value: deepFreeze(value),
    spec,
    kid: value.kid,
    typ: value.typ === undefined ? undefined : normalizeTyp(value.typ),
    crit,
  }
  if (headerCache.size >= HEADER_CACHE_SIZE) headerCache.clear()
  headerCache.set(segment, parsed)
  return parsed
}

/** RFC 7515 §4.1.11: a non-empty list of extension names present in the header. */
function checkCrit(header: JwtHeader): readonly string[] {
  const crit = header.crit
  if (!Array.isArray(crit) || crit.length === 0) {
    throw new JwtError('malformed', '"crit" must be a non-empty array')
  }
  const seen = new Set<string>()
  for (const name of crit) {
    if (typeof name !== 'string' || REGISTERED_HEADER.has(name) || seen.has(name)) {
      throw new JwtError('malformed', '"crit" lists an invalid name')
    }
    if (!Object.hasOwn(header, name)) {
      throw new JwtError('malformed', '"crit" lists a parameter the header lacks')
    }
    seen.add(name)
  }
  return Object.freeze([...crit])
}

/**
 * RFC 8725 §3.11 and RFC 9068 §4: `typ` compares case-insensitively, with or
 * without the `application/` prefix.
 */
export function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase()
  return lower.startsWith('application/') ? lower.slice(12) : lower
}

/** Decodes a canonical base64url segment holding a JSON object. */
export function parseJsonObject(
  segment: string,
  what: 'header' | 'payload',
): Record<string, unknown> {
  const bytes = decodeBase64url(segment)
  // RFC 8259 §8.1: JSON is UTF-8. A lenient decoder would turn invalid bytes
  // into U+FFFD, so two different signed byte strings could read the same.
  if (!isUtf8(bytes)) throw new JwtError('malformed', `the ${what} is not UTF-8`)
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new JwtError('malformed', `the ${what} is not JSON`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new JwtError('malformed', `the ${what} is not a JSON object`)
  }
  return value as Record<string, unknown>
}

/** Freezes a JSON value and everything in it; iterative, so any nesting depth is safe. */
export function deepFreeze<T>(value: T): T {
  const pending: unknown[] = [value]
  while (pending.length > 0) {
    const item = pending.pop()
    if (item !== null && typeof item === 'object' && !Object.isFrozen(item)) {
      Object.freeze(item)
      for (const child of Object.values(item)) pending.push(child)
    }
  }
  return value
}
