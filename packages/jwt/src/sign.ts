import { randomUUID } from 'node:crypto'
import { encodeBase64url } from './base64url.ts'
import { type Duration, parseDuration } from './duration.ts'
import { JwtError } from './errors.ts'
import { Key } from './keys.ts'

export interface SignOptions {
  /** Sets `exp` to `iat` plus this (`'15m'`, `3600`). */
  expiresIn?: Duration
  /** Sets `nbf` to `iat` plus this. */
  notBefore?: Duration
  issuer?: string
  subject?: string
  audience?: string | string[]
  /** Sets `jti`; `true` for a random UUID. */
  jwtId?: string | true
  /** The `typ` header. Default `'JWT'`. */
  typ?: string
  /** Extra protected header parameters (`cty`, extensions). `alg` and `kid` come from the key. */
  header?: Record<string, unknown>
  /** Add `iat`. Default true. */
  timestamp?: boolean
  /** The signing time; for tests. */
  currentDate?: Date
}

const RESERVED_HEADER = new Set(['alg', 'kid', 'typ'])

function encodedHeader(key: Key, typ: string, extra: Record<string, unknown> | undefined): string {
  if (extra === undefined) {
    let cached = key.headerCache.get(typ)
    if (cached === undefined) {
      cached = encodeBase64url(JSON.stringify({ alg: key.alg, typ, kid: key.kid }))
      if (key.headerCache.size < 16) key.headerCache.set(typ, cached)
    }
    return cached
  }
  for (const name of Object.keys(extra)) {
    if (RESERVED_HEADER.has(name)) throw new TypeError(`header.${name} is set by the key or by typ`)
  }
  return encodeBase64url(JSON.stringify({ alg: key.alg, typ, kid: key.kid, ...extra }))
}

function setClaim(claims: Record<string, unknown>, name: string, value: unknown): void {
  if (claims[name] !== undefined) {
    throw new TypeError(
      `the payload already has "${name}"; set it in the payload or the options, not both`,
    )
  }
  claims[name] = value
}

/**
 * Signs a JWT with the key's own algorithm. Adds `iat` (unless `timestamp:
 * false`) and whatever the options ask for; the header carries `alg`, `typ`
 * and the key's `kid`.
 *
 * @example
 * const token = sign({ sub: 'u1', roles: ['admin'] }, privateKey, { expiresIn: '15m', issuer: 'https://auth.example.com' })
 */
export function sign(
  payload: Record<string, unknown>,
  key: Key,
  options: SignOptions = {},
): string {
  if (!(key instanceof Key))
    throw new TypeError('sign takes a Key (importJwk, importPem, importSecret, generateKeyPair)')
  if (key.type === 'public')
    throw new JwtError('key_invalid', 'signing needs a private or secret key')
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new TypeError('the payload must be a plain object')
  }
  let claims = payload
  const addsClaims =
    options.timestamp !== false ||
    options.expiresIn !== undefined ||
    options.notBefore !== undefined ||
    options.issuer !== undefined ||
    options.subject !== undefined ||
    options.audience !== undefined ||
    options.jwtId !== undefined
  if (addsClaims) {
    claims = { ...payload }
    const now = Math.floor((options.currentDate?.getTime() ?? Date.now()) / 1000)
    if (options.timestamp !== false && claims.iat === undefined) claims.iat = now
    const base = typeof claims.iat === 'number' ? claims.iat : now
    if (options.expiresIn !== undefined) {
      setClaim(claims, 'exp', base + parseDuration(options.expiresIn, 'expiresIn'))
    }
    if (options.notBefore !== undefined) {
      setClaim(claims, 'nbf', base + parseDuration(options.notBefore, 'notBefore'))
    }
    if (options.issuer !== undefined) setClaim(claims, 'iss', options.issuer)
    if (options.subject !== undefined) setClaim(claims, 'sub', options.subject)
    if (options.audience !== undefined) setClaim(claims, 'aud', options.audience)
    if (options.jwtId !== undefined)
      setClaim(claims, 'jti', options.jwtId === true ? randomUUID() : options.jwtId)
  }
  const signingInput = `${encodedHeader(key, options.typ ?? 'JWT', options.header)}.${encodeBase64url(JSON.stringify(claims))}`
  return `${signingInput}.${key.signData(signingInput)}`
}
