import { type Algorithm, isAlgorithm } from './algorithms.ts'
import { type Duration, parseDuration } from './duration.ts'
import { JwtError } from './errors.ts'
import { DEFAULT_MAX_TOKEN_LENGTH, normalizeTyp, type ParsedHeader } from './parse.ts'
import type { JwtPayload } from './types.ts'

/** What a token must satisfy beyond its signature. */
export interface VerifyOptions {
  /**
   * Algorithms accepted. Defaults to the key's own algorithm; a token whose
   * `alg` differs from its key's is refused whatever this list says.
   */
  algorithms?: readonly Algorithm[]
  /** Expected `iss`, or any of several. */
  issuer?: string | readonly string[]
  /** Expected `aud`: the token's `aud` (string or array) must contain one of these. */
  audience?: string | readonly string[]
  /** Expected `sub`. */
  subject?: string
  /** Expected `typ` header, compared as RFC 8725 §3.11 says (e.g. `'at+jwt'`). */
  typ?: string
  /** Leeway for `exp`, `nbf`, `iat` and `auth_time`, in seconds or as `'30s'`. Default 0. */
  clockTolerance?: Duration
  /** Refuse tokens whose `iat` is older than this; makes `iat` required. */
  maxTokenAge?: Duration
  /**
   * Claims that must be present. Default `['exp']`: a token that never
   * expires is refused unless you pass `[]`.
   */
  requiredClaims?: readonly string[]
  /** The time to check against; for tests and for published vectors. */
  currentDate?: Date
  /** Ceiling on the token's length in characters. Default 16 KiB. */
  maxTokenLength?: number
  /** `crit` header extensions your code understands and checks itself. */
  crit?: readonly string[]
}

/** Options checked and normalized once; the hot path reads only this. */
export interface CompiledOptions {
  readonly algorithms: ReadonlySet<Algorithm> | undefined
  readonly issuer: string | ReadonlySet<string> | undefined
  readonly audience: readonly string[] | undefined
  readonly subject: string | undefined
  readonly typ: string | undefined
  readonly tolerance: number
  readonly maxTokenAge: number | undefined
  readonly requiredClaims: readonly string[]
  readonly currentDate: Date | undefined
  readonly maxTokenLength: number
  readonly crit: ReadonlySet<string>
}

const DEFAULT_REQUIRED = Object.freeze(['exp'])
const compiledCache = new WeakMap<VerifyOptions, CompiledOptions>()

function stringList(value: unknown, name: string): string[] {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0 || list.some((v) => typeof v !== 'string')) {
    throw new TypeError(`${name} must be a string or a non-empty array of strings`)
  }
  return list as string[]
}

/** Validates options once (misuse is a TypeError here, not at request time). */
export function compileOptions(options: VerifyOptions = {}): CompiledOptions {
  const cached = compiledCache.get(options)
  if (cached !== undefined) return cached
  if (options === null || typeof options !== 'object')
    throw new TypeError('options must be an object')
  let algorithms: Set<Algorithm> | undefined
  if (options.algorithms !== undefined) {
    const list = stringList(options.algorithms, 'algorithms')
    for (const alg of list) {
      if (!isAlgorithm(alg))
        throw new TypeError(`algorithms: unsupported algorithm ${JSON.stringify(alg)}`)
    }
    algorithms = new Set(list as Algorithm[])
  }
  const issuers = options.issuer === undefined ? undefined : stringList(options.issuer, 'issuer')
  if (options.subject !== undefined && typeof options.subject !== 'string') {
    throw new TypeError('subject must be a string')
  }
  if (options.typ !== undefined && (typeof options.typ !== 'string' || options.typ === '')) {
    throw new TypeError('typ must be a non-empty string')
  }
  const requiredClaims =
    options.requiredClaims === undefined
      ? DEFAULT_REQUIRED
      : Object.freeze(
          options.requiredClaims.length === 0
            ? []
            : stringList(options.requiredClaims, 'requiredClaims'),
        )
  if (
    options.currentDate !== undefined &&
    !(options.currentDate instanceof Date && Number.isFinite(options.currentDate.getTime()))
  ) {
    throw new TypeError('currentDate must be a valid Date')
  }
  const maxTokenLength = options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH
  if (!Number.isInteger(maxTokenLength) || maxTokenLength <= 0) {
    throw new TypeError('maxTokenLength must be a positive integer')
  }
  const compiled: CompiledOptions = Object.freeze({
    algorithms,
    issuer:
      issuers === undefined ? undefined : issuers.length === 1 ? issuers[0] : new Set(issuers),
    audience:
      options.audience === undefined
        ? undefined
        : Object.freeze(stringList(options.audience, 'audience')),
    subject: options.subject,
    typ: options.typ === undefined ? undefined : normalizeTyp(options.typ),
    tolerance:
      options.clockTolerance === undefined
        ? 0
        : parseDuration(options.clockTolerance, 'clockTolerance'),
    maxTokenAge:
      options.maxTokenAge === undefined
        ? undefined
        : parseDuration(options.maxTokenAge, 'maxTokenAge'),
    requiredClaims,
    currentDate: options.currentDate,
    maxTokenLength,
    crit: new Set(options.crit === undefined ? [] : stringList(options.crit, 'crit')),
  })
  compiledCache.set(options, compiled)
  return compiled
}

/** Checks header parameters that depend on options: `alg` allowlist, `crit`, `typ`. */
export function checkHeader(header: ParsedHeader, options: CompiledOptions): void {
  if (options.algorithms !== undefined && !options.algorithms.has(header.spec.alg)) {
    throw new JwtError('alg_not_allowed', 'this "alg" is not allowed')
  }
  if (header.crit !== undefined) {
    for (const name of header.crit) {
      if (!options.crit.has(name)) {
        throw new JwtError(
          'malformed',
          'the token needs an extension this verifier does not handle',
          {
            claim: 'crit',
          },
        )
      }
    }
  }
  if (options.typ !== undefined && header.typ !== options.typ) {
    throw new JwtError('claim_invalid', 'unexpected "typ"', { claim: 'typ' })
  }
}

function invalid(claim: string, message: string): JwtError {
  return new JwtError('claim_invalid', message, { claim })
}

/** Current time in whole seconds, as JWT NumericDate compares it. */
export function nowSeconds(options: CompiledOptions): number {
  return Math.floor(
    (options.currentDate === undefined ? Date.now() : options.currentDate.getTime()) / 1000,
  )
}

/**
 * RFC 7519 §4.1 claim checks, and `auth_time` and `amr` (RFC 9068 §2.2.1).
 * Every registered claim that is present must have its registered type (a
 * string `exp` is not "no exp").
 * Returns the first instant (epoch ms) at which these checks would fail, for caches.
 */
export function checkClaims(payload: JwtPayload, options: CompiledOptions, now: number): number {
  const { exp, nbf, iat } = payload
  const tolerance = options.tolerance
  let validUntil = Number.POSITIVE_INFINITY
  if (exp !== undefined) {
    if (typeof exp !== 'number' || !Number.isFinite(exp))
      throw invalid('exp', '"exp" must be a number')
    if (exp + tolerance <= now)
      throw new JwtError('expired', 'the token has expired', { claim: 'exp' })
    validUntil = exp + tolerance
  }
  if (nbf !== undefined) {
    if (typeof nbf !== 'number' || !Number.isFinite(nbf))
      throw invalid('nbf', '"nbf" must be a number')
    if (nbf > now + tolerance) {
      throw new JwtError('not_yet_valid', 'the token is not valid yet', { claim: 'nbf' })
    }
  }
  if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat))) {
    throw invalid('iat', '"iat" must be a number')
  }
  if (options.maxTokenAge !== undefined) {
    if (iat === undefined) throw invalid('iat', '"iat" is required')
    if (iat > now + tolerance) throw invalid('iat', '"iat" is in the future')
    const until = iat + options.maxTokenAge + tolerance
    if (until < now) throw new JwtError('expired', 'the token is too old', { claim: 'iat' })
    // Still valid during the second `until` itself, so it lapses one second later.
    if (until + 1 < validUntil) validUntil = until + 1
  }
  const { iss, sub, aud, jti, auth_time: authTime, amr } = payload
  // RFC 9068 §2.2.1 authentication information: typed when present, so a
  // step-up check never compares a string time or searches a string `amr`.
  if (authTime !== undefined) {
    if (typeof authTime !== 'number' || !Number.isFinite(authTime)) {
      throw invalid('auth_time', '"auth_time" must be a number')
    }
    if (authTime > now + tolerance) throw invalid('auth_time', '"auth_time" is in the future')
  }
  if (amr !== undefined && (!Array.isArray(amr) || amr.some((m) => typeof m !== 'string'))) {
    throw invalid('amr', '"amr" must be an array of strings')
  }
  if (iss !== undefined && typeof iss !== 'string') throw invalid('iss', '"iss" must be a string')
  if (sub !== undefined && typeof sub !== 'string') throw invalid('sub', '"sub" must be a string')
  if (jti !== undefined && typeof jti !== 'string') throw invalid('jti', '"jti" must be a string')
  if (aud !== undefined && typeof aud !== 'string') {
    if (!Array.isArray(aud) || aud.some((a) => typeof a !== 'string')) {
      throw invalid('aud', '"aud" must be a string or an array of strings')
    }
  }
  const issuer = options.issuer
  if (issuer !== undefined) {
    if (typeof issuer === 'string' ? iss !== issuer : iss === undefined || !issuer.has(iss)) {
      throw invalid('iss', 'unexpected "iss"')
    }
  }
  if (options.subject !== undefined && sub !== options.subject)
    throw invalid('sub', 'unexpected "sub"')
  const audience = options.audience
  if (audience !== undefined) {
    if (aud === undefined) throw invalid('aud', '"aud" is required')
    const matches =
      typeof aud === 'string' ? audience.includes(aud) : aud.some((a) => audience.includes(a))
    if (!matches) throw invalid('aud', 'unexpected "aud"')
  }
  for (const claim of options.requiredClaims) {
    if (payload[claim] === undefined) throw invalid(claim, `"${claim}" is required`)
  }
  return validUntil * 1000
}
