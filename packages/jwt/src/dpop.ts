// DPoP (RFC 9449): the proof a client signs, for each request, with a key
// only it holds, so that a token bound to that key (`cnf.jkt`) is worthless
// to whoever steals it. verifyDpopProof runs the checks of §4.3; the
// middleware (middleware-core.ts) adds the binding of the access token.
//
// Where the RFC leaves a choice:
// - the `jwk` header is imported once per distinct header segment (a client
//   signs every proof with the same key, so the header repeats) and kept in a
//   bounded cache with its thumbprint: the per-proof cost is one signature
//   check, one JSON parse and one SHA-256 for `ath`;
// - `iat` is accepted from `maxAge` (60 s) ago to `clockTolerance` (5 s)
//   ahead, and the `jti` is remembered until the proof could no longer be
//   accepted anyway (`iat + maxAge + clockTolerance`), scoped by the key's
//   thumbprint so that one client cannot spend another's `jti`s;
// - `htu` is compared after RFC 3986 §6.2.2 and §6.2.3 normalization, as
//   §4.3 recommends, without the query and fragment;
// - a proof whose `jti` is refused as a replay has not spent it, nor has any
//   proof refused for another reason: the `jti` is recorded last.

import { createHash, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto'
import { type AlgorithmSpec, algorithmSpec } from './algorithms.ts'
import { base64urlLength, isCanonicalBase64url } from './base64url.ts'
import { TokenCache } from './cache.ts'
import { type Duration, parseDuration } from './duration.ts'
import { JwtError } from './errors.ts'
import { importJwk, type Jwk, type Key, thumbprintOf } from './keys.ts'
import { deepFreeze, normalizeTyp, parseJsonObject } from './parse.ts'

/**
 * The algorithms a DPoP proof may be signed with: every asymmetric JWS
 * algorithm (RFC 9449 §4.2: "MUST NOT be none or an identifier for a
 * symmetric algorithm"), and `Ed25519`, the fully specified name (RFC 9864)
 * the `dpop` and `oauth4webapi` clients use for Ed25519 keys.
 */
export type DpopAlgorithm =
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'EdDSA'
  | 'Ed25519'

/** Every {@link DpopAlgorithm}: the default of `algorithms`. */
export const DPOP_ALGORITHMS: readonly DpopAlgorithm[] = Object.freeze([
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
  'EdDSA',
  'Ed25519',
])

/**
 * Where the `jti`s of accepted proofs are remembered (RFC 9449 §11.1). One
 * method, so that a shared store can make it atomic.
 *
 * @example
 * // Redis (node-redis): SET NX with the time to live on the verifier's clock.
 * const replayCache: DpopReplayCache = {
 *   async checkAndAdd(key, expiresAt, now) {
 *     const ttl = Math.max(1, Math.ceil(expiresAt - now))
 *     return (await redis.set(`dpop:${key}`, '1', { NX: true, PX: ttl })) === 'OK'
 *   },
 * }
 */
export interface DpopReplayCache {
  /**
   * Records `key` (the proof key's thumbprint and the proof's `jti`) and says
   * whether it was new. Contract: of any number of calls with the same key
   * before `expiresAt`, concurrent ones included, exactly one returns (or
   * resolves to) `true`. `expiresAt` and `now` are epoch milliseconds on the
   * verifier's clock: a store with a clock of its own keeps the key for
   * `expiresAt - now` ms. A rejection or a throw is passed on as it is (it is
   * not a refusal of the proof).
   */
  checkAndAdd(key: string, expiresAt: number, now: number): boolean | Promise<boolean>
}

/** What {@link createDpopReplayCache} returns: the in-memory {@link DpopReplayCache}. */
export interface MemoryDpopReplayCache extends DpopReplayCache {
  /** Entries held now, expired ones not yet swept included. */
  readonly size: number
  readonly maxEntries: number
  clear(): void
}

const DEFAULT_REPLAY_ENTRIES = 50_000
/** Expired entries swept per insertion: bounded work per proof, and enough to keep pace. */
const SWEEP_PER_ADD = 4

/**
 * A bounded in-memory {@link DpopReplayCache} for one process: a map in
 * insertion order, from which expired entries are swept as new ones come
 * and, once `maxEntries` are held, the oldest is dropped (so a proof that
 * old could be replayed: size it above the proofs a `maxAge` window brings,
 * 50 000 by default, or share a store such as Redis between instances).
 *
 * @example
 * const replayCache = createDpopReplayCache({ maxEntries: 200_000 })
 * await verifyDpopProof(proof, { method, url, replayCache })
 */
export function createDpopReplayCache(
  options: { maxEntries?: number } = {},
): MemoryDpopReplayCache {
  const maxEntries = options.maxEntries ?? DEFAULT_REPLAY_ENTRIES
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new TypeError('maxEntries must be a positive integer')
  }
  const entries = new Map<string, number>()
  return {
    checkAndAdd(key: string, expiresAt: number, now: number): boolean {
      const seen = entries.get(key)
      if (seen !== undefined) {
        if (seen > now) return false
        entries.delete(key)
      }
      let swept = 0
      for (const [oldKey, oldExpiry] of entries) {
        if (swept === SWEEP_PER_ADD || oldExpiry > now) break
        entries.delete(oldKey)
        swept++
      }
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!)
      entries.set(key, expiresAt)
      return true
    },
    get size() {
      return entries.size
    },
    maxEntries,
    clear() {
      entries.clear()
    },
  }
}

/** The protected header of a DPoP proof. */
export interface DpopProofHeader {
  typ: string
  alg: DpopAlgorithm
  jwk: Jwk
  [parameter: string]: unknown
}

/** The claims of a DPoP proof (RFC 9449 §4.2). */
export interface DpopProofClaims {
  jti: string
  htm: string
  htu: string
  iat: number
  ath?: string
  nonce?: string
  [claim: string]: unknown
}

export interface DpopProofOptions {
  /** The request's method, as received (`'GET'`); `htm` must equal it. */
  method: string
  /**
   * The request's absolute URL as the client addressed it
   * (`https://api.example.com/orders?page=2`); `htu` must match it, query and
   * fragment aside. Behind a proxy, build it from the public origin, not
   * from the Host the proxy forwards.
   */
  url: string
  /**
   * The access token the request carries (`Authorization: DPoP <token>`):
   * the proof must then carry `ath`, its SHA-256 (RFC 9449 §4.2).
   */
  accessToken?: string
  /**
   * The server's nonce (RFC 9449 §8, §9): the proof's `nonce` must equal it,
   * or satisfy the function (to accept the current and the previous one);
   * else `use_dpop_nonce`.
   */
  nonce?: string | ((nonce: string) => boolean)
  /** How old `iat` may be (`60`, `'2m'`). Default 60 seconds. */
  maxAge?: Duration
  /** Leeway for `iat`, both ways. Default 5 seconds. */
  clockTolerance?: Duration
  /**
   * Where accepted `jti`s are remembered. Default: one in-memory
   * {@link createDpopReplayCache} for the whole process. Several instances
   * behind one URL need a shared one.
   */
  replayCache?: DpopReplayCache
  /** Accepted algorithms. Default {@link DPOP_ALGORITHMS}: every asymmetric one. */
  algorithms?: readonly DpopAlgorithm[]
  /** The clock, in epoch ms; for tests. Default `Date.now`. */
  now?: () => number
}

export interface VerifiedDpopProof {
  /**
   * The RFC 7638 thumbprint of the proof's key: compare it with the access
   * token's `cnf.jkt`, or bind a new token to it.
   */
  jkt: string
  /** The proof's public key, its key members only (frozen). */
  jwk: Readonly<Jwk>
  /** The protected header (frozen: shared by every proof with this header). */
  header: Readonly<DpopProofHeader>
  payload: DpopProofClaims
}

/** A proof is a header value: a JWT, not a document. */
const MAX_PROOF_LENGTH = 8 * 1024
/** Longer than any random id a client makes (22 to 43 characters in practice). */
const MAX_JTI_LENGTH = 256
const DEFAULT_MAX_AGE = 60
const DEFAULT_TOLERANCE = 5
/** Distinct proof headers kept: one per client key, so a few per client. */
const HEADER_CACHE_SIZE = 1024

/** RFC 7517 §4 and RFC 7518 §6: members that carry private or secret key material. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const
/** The members of a public key, the only ones handed to node:crypto. */
const PUBLIC_MEMBERS = ['crv', 'x', 'y', 'n', 'e'] as const

interface ProofHeader {
  readonly header: Readonly<DpopProofHeader>
  readonly alg: DpopAlgorithm
  readonly key: Key
  readonly jkt: string
  readonly jwk: Readonly<Jwk>
}

const headerCache = new TokenCache<ProofHeader>(HEADER_CACHE_SIZE)
let defaultReplayCache: DpopReplayCache | undefined
const allowedSets = new WeakMap<readonly DpopAlgorithm[], ReadonlySet<string>>()
const ALL_ALGORITHMS: ReadonlySet<string> = new Set(DPOP_ALGORITHMS)

function refuse(message: string, claim?: string): JwtError {
  return new JwtError('invalid_dpop_proof', message, claim === undefined ? undefined : { claim })
}

/** The spec a proof's `alg` verifies with: asymmetric only; `Ed25519` is EdDSA on Ed25519. */
function proofSpec(alg: unknown): AlgorithmSpec | undefined {
  const spec = algorithmSpec(alg === 'Ed25519' ? 'EdDSA' : alg)
  return spec === undefined || spec.family === 'hmac' ? undefined : spec
}

/** Checks a proof header segment met for the first time, imports its key. */
function readProofHeader(segment: string): ProofHeader {
  if (segment.length === 0 || !isCanonicalBase64url(segment)) {
    throw refuse('the proof header is not canonical base64url')
  }
  const header = parseJsonObject(segment, 'header')
  // RFC 9449 §4.3 check 4 (typ), 5 (asymmetric alg, never none), 6 (a public jwk).
  if (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== 'dpop+jwt') {
    throw refuse('the proof "typ" must be dpop+jwt', 'typ')
  }
  const spec = proofSpec(header.alg)
  if (spec === undefined) {
    throw refuse('the proof "alg" must be an asymmetric signature algorithm', 'alg')
  }
  if (header.crit !== undefined) {
    throw refuse('the proof needs an extension ("crit") this verifier does not handle', 'crit')
  }
  if (header.b64 !== undefined && header.b64 !== true) {
    throw refuse('"b64" other than true is not supported', 'b64')
  }
  const jwk = header.jwk
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) {
    throw refuse('the proof header must carry its public key as "jwk"', 'jwk')
  }
  const given = jwk as Jwk
  if (given.kty === 'oct') {
    // A shared secret proves nothing about who holds it.
    throw refuse('the proof key must be asymmetric', 'jwk')
  }
  if (given.kty !== 'EC' && given.kty !== 'OKP' && given.kty !== 'RSA') {
    throw refuse('the proof key type is not supported', 'jwk')
  }
  for (const member of SECRET_MEMBERS) {
    if (Object.hasOwn(given, member)) {
      // A private key in a header is a leaked key: it proves no possession.
      throw refuse('the proof "jwk" must hold a public key only', 'jwk')
    }
  }
  const material: Jwk = { kty: given.kty }
  for (const member of PUBLIC_MEMBERS) {
    if (given[member] !== undefined) material[member] = given[member]
  }
  let key: Key
  try {
    // The key's kid is its RFC 7638 thumbprint: from the members when they
    // are canonical, else computed by the Key from the imported key.
    const jkt = canonicalThumbprint(material)
    key = importJwk(material, jkt === undefined ? { alg: spec.alg } : { alg: spec.alg, kid: jkt })
  } catch (error) {
    // RFC 8725 §3.1 as everywhere else: the alg must be the key's own.
    throw new JwtError('invalid_dpop_proof', 'the proof "jwk" is not a valid key for its "alg"', {
      claim: 'jwk',
      cause: error,
    })
  }
  return {
    header: deepFreeze(header) as unknown as DpopProofHeader,
    alg: header.alg as DpopAlgorithm,
    key,
    jkt: key.kid,
    jwk: Object.freeze(material),
  }
}

/** Bytes of a coordinate of each curve (RFC 7518 §6.2.1.2, RFC 8037 §2). */
const COORDINATE_BYTES: Readonly<Record<string, number>> = {
  'P-256': 32,
  'P-384': 48,
  'P-521': 66,
  Ed25519: 32,
}

function isCoordinate(value: unknown, bytes: number): value is string {
  return (
    typeof value === 'string' &&
    value.length === base64urlLength(bytes) &&
    isCanonicalBase64url(value)
  )
}

/** A big-endian integer in its one canonical spelling: no leading zero byte (RFC 7518 §2). */
function isMinimalInteger(value: unknown): value is string {
  if (typeof value !== 'string' || value.length < 2 || !isCanonicalBase64url(value)) return false
  // The first byte is the first character's 6 bits and the second's top 2:
  // zero when the first is 'A' (0) and the second 'A' to 'P' (0 to 15).
  const second = value.charCodeAt(1)
  return !(value.charCodeAt(0) === 65 && second >= 65 && second <= 80)
}

/**
 * RFC 7638 §3.2 straight from the members, when they are in the canonical
 * form RFC 7518 prescribes (node:crypto imports shorter or zero-padded
 * spellings too, whose thumbprint would differ): the required members, in
 * lexicographic order, no whitespace. Undefined otherwise.
 */
function canonicalThumbprint(jwk: Jwk): string | undefined {
  let json: string
  if (jwk.kty === 'EC' || jwk.kty === 'OKP') {
    const bytes = COORDINATE_BYTES[jwk.crv as string]
    if (bytes === undefined || (jwk.kty === 'OKP') !== (jwk.crv === 'Ed25519')) return undefined
    if (!isCoordinate(jwk.x, bytes)) return undefined
    if (jwk.kty === 'OKP') json = `{"crv":"Ed25519","kty":"OKP","x":"${jwk.x}"}`
    else {
      if (!isCoordinate(jwk.y, bytes)) return undefined
      json = `{"crv":"${jwk.crv}","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`
    }
  } else if (jwk.kty === 'RSA' && isMinimalInteger(jwk.e) && isMinimalInteger(jwk.n)) {
    json = `{"e":"${jwk.e}","kty":"RSA","n":"${jwk.n}"}`
  } else return undefined
  return createHash('sha256').update(json).digest('base64url')
}

function proofHeader(segment: string): ProofHeader {
  let entry = headerCache.get(segment)
  if (entry === undefined) {
    entry = readProofHeader(segment)
    headerCache.set(segment, entry)
  }
  return entry
}

function allowedAlgorithms(list: readonly DpopAlgorithm[] | undefined): ReadonlySet<string> {
  if (list === undefined) return ALL_ALGORITHMS
  let set = allowedSets.get(list)
  if (set === undefined) {
    if (!Array.isArray(list) || list.length === 0) {
      throw new TypeError('algorithms must be a non-empty array')
    }
    for (const alg of list) {
      if (!ALL_ALGORITHMS.has(alg)) {
        throw new TypeError(`algorithms: ${JSON.stringify(alg)} is not a DPoP algorithm`)
      }
    }
    set = new Set(list)
    allowedSets.set(list, set)
  }
  return set
}

/** The URL without its query and fragment. */
function withoutQuery(url: string): string {
  let end = url.indexOf('?')
  const hash = url.indexOf('#')
  if (hash !== -1 && (end === -1 || hash < end)) end = hash
  return end === -1 ? url : url.slice(0, end)
}

const UNRESERVED = /[A-Za-z0-9\-._~]/
const PERCENT = /%([0-9A-Fa-f]{2})/g

/**
 * RFC 3986 §6.2.2 and §6.2.3 on an http(s) URL: scheme and host in lower
 * case, the default port dropped, an empty path as `/`, dot segments
 * removed (the WHATWG parser does these), then percent-encodings of
 * unreserved characters decoded and the others in upper case. The query
 * and fragment are dropped (RFC 9449 §4.3 check 9). Undefined when it is
 * not an absolute http(s) URL.
 *
 * @example normalizeHtu('HTTPS://API.example.com:443/%7euser/a/../b?x=1') // 'https://api.example.com/~user/b'
 */
export function normalizeHtu(url: string): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined
  if (parsed.username !== '' || parsed.password !== '') return undefined
  const path = parsed.pathname.replace(PERCENT, (_escape, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16))
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`
  })
  return `${parsed.protocol}//${parsed.host}${path}`
}

/** Whether a proof's `htu` names the request's URL (RFC 9449 §4.3 check 9). */
export function htuMatches(htu: string, url: string): boolean {
  const a = withoutQuery(htu)
  const b = withoutQuery(url)
  // The same spelling is the same URL; only different spellings need parsing.
  if (a === b) return normalizeHtu(a) !== undefined
  const normalized = normalizeHtu(a)
  return normalized !== undefined && normalized === normalizeHtu(b)
}

/** base64url(SHA-256(token)): the `ath` of a proof sent with `token` (RFC 9449 §4.2). */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken).digest('base64url')
}

/** The last token hashed: a client sends the same token with proof after proof. */
let lastToken: string | undefined
let lastTokenHash = ''

function athOf(accessToken: string): string {
  if (accessToken !== lastToken) {
    lastTokenHash = accessTokenHash(accessToken)
    lastToken = accessToken
  }
  return lastTokenHash
}

/**
 * The RFC 7638 thumbprint (SHA-256, base64url) of a JWK, as `cnf.jkt`
 * (RFC 9449 §6.1) and the `dpop_jkt` parameter (§10) carry it. Computed
 * over the key's required public members, in their canonical form, so any
 * spelling of the same key gives the same thumbprint; private members are
 * ignored.
 *
 * @example jwkThumbprint({ kty: 'EC', crv: 'P-256', x: '…', y: '…' }) // '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I'
 */
export function jwkThumbprint(jwk: Jwk): string {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) {
    throw new JwtError('key_invalid', 'a JWK is a JSON object')
  }
  let keyObject: KeyObject
  try {
    if (jwk.kty === 'oct') {
      if (typeof jwk.k !== 'string' || !isCanonicalBase64url(jwk.k)) {
        throw new JwtError('key_invalid', 'the JWK "k" must be base64url')
      }
      keyObject = createSecretKey(Buffer.from(jwk.k, 'base64url'))
    } else if (jwk.kty === 'EC' || jwk.kty === 'OKP' || jwk.kty === 'RSA') {
      const material: Record<string, unknown> = { kty: jwk.kty }
      for (const member of PUBLIC_MEMBERS) {
        if (jwk[member] !== undefined) material[member] = jwk[member]
      }
      keyObject = createPublicKey({
        key: material as unknown as import('node:crypto').JsonWebKey,
        format: 'jwk',
      })
    } else {
      throw new JwtError('key_invalid', 'unsupported JWK "kty"')
    }
  } catch (error) {
    if (error instanceof JwtError) throw error
    throw new JwtError('key_invalid', 'the JWK is not a valid key', { cause: error })
  }
  return thumbprintOf(keyObject)
}

function seconds(value: Duration | undefined, name: string, fallback: number): number {
  return value === undefined ? fallback : parseDuration(value, name)
}

/**
 * The checks of {@link verifyDpopProof}, returning at once when the replay
 * cache answers at once (the middleware's local path) and a promise when it
 * does not.
 */
export function checkDpopProof(
  proof: string,
  options: DpopProofOptions,
): VerifiedDpopProof | Promise<VerifiedDpopProof> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('verifyDpopProof takes an options object')
  }
  const { method, url, accessToken, nonce, replayCache } = options
  if (typeof method !== 'string' || method === '') throw new TypeError('method must be a string')
  if (typeof url !== 'string' || url === '') throw new TypeError('url must be a string')
  if (accessToken !== undefined && typeof accessToken !== 'string') {
    throw new TypeError('accessToken must be a string')
  }
  if (nonce !== undefined && typeof nonce !== 'string' && typeof nonce !== 'function') {
    throw new TypeError('nonce must be a string or a function')
  }
  if (replayCache !== undefined && typeof replayCache?.checkAndAdd !== 'function') {
    throw new TypeError('replayCache must have a checkAndAdd method')
  }
  const maxAge = seconds(options.maxAge, 'maxAge', DEFAULT_MAX_AGE)
  const tolerance = seconds(options.clockTolerance, 'clockTolerance', DEFAULT_TOLERANCE)
  const allowed = allowedAlgorithms(options.algorithms)
  const nowMs = options.now === undefined ? Date.now() : options.now()
  if (!Number.isFinite(nowMs)) throw new TypeError('now must return epoch milliseconds')

  // §4.3 checks 2 and 3: one well-formed JWT.
  if (typeof proof !== 'string' || proof.length === 0) throw refuse('the DPoP proof is missing')
  if (proof.length > MAX_PROOF_LENGTH) throw refuse('the DPoP proof is too long')
  const dot1 = proof.indexOf('.')
  const dot2 = dot1 === -1 ? -1 : proof.indexOf('.', dot1 + 1)
  if (dot2 === -1 || proof.indexOf('.', dot2 + 1) !== -1) {
    throw refuse('the DPoP proof is not a JWT (three segments)')
  }
  let entry: ProofHeader
  let payload: DpopProofClaims
  try {
    entry = proofHeader(proof.slice(0, dot1))
    if (!allowed.has(entry.alg)) throw refuse('this proof "alg" is not allowed', 'alg')
    // §4.3 check 7: the signature, with the key of the header.
    const payloadSegment = proof.slice(dot1 + 1, dot2)
    if (payloadSegment.length === 0 || !isCanonicalBase64url(payloadSegment)) {
      throw refuse('the proof payload is not canonical base64url')
    }
    if (!entry.key.verifySignature(proof.slice(0, dot2), proof.slice(dot2 + 1))) {
      throw refuse('the proof signature is not valid', 'signature')
    }
    payload = parseJsonObject(payloadSegment, 'payload') as DpopProofClaims
  } catch (error) {
    // Malformed JSON, bad UTF-8: all one code for the caller.
    if (error instanceof JwtError && error.code !== 'invalid_dpop_proof') {
      throw new JwtError('invalid_dpop_proof', `the DPoP proof is malformed: ${error.message}`, {
        cause: error,
      })
    }
    throw error
  }
  const { jti, htm, htu, iat } = payload
  // §4.3 check 8: htm.
  if (typeof htm !== 'string' || htm !== method) {
    throw refuse('the proof "htm" is not the request method', 'htm')
  }
  // §4.3 check 9: htu.
  if (typeof htu !== 'string' || !htuMatches(htu, url)) {
    throw refuse('the proof "htu" is not the request URL', 'htu')
  }
  // §4.3 check 11: created within an acceptable window.
  if (typeof iat !== 'number' || !Number.isFinite(iat)) {
    throw refuse('the proof "iat" must be a number', 'iat')
  }
  const nowSec = nowMs / 1000
  if (iat > nowSec + tolerance) throw refuse('the proof "iat" is in the future', 'iat')
  if (iat < nowSec - maxAge - tolerance) throw refuse('the proof is too old', 'iat')
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    throw refuse(`the proof needs a "jti" of 1 to ${MAX_JTI_LENGTH} characters`, 'jti')
  }
  // §4.3 check 12: ath, when the request carries an access token.
  if (accessToken !== undefined) {
    if (typeof payload.ath !== 'string') throw refuse('the proof needs "ath"', 'ath')
    if (payload.ath !== athOf(accessToken)) {
      throw refuse('the proof "ath" is not the hash of this access token', 'ath')
    }
  }
  // §4.3 check 10: the server's nonce, when it asks for one.
  if (nonce !== undefined) {
    const given = payload.nonce
    if (typeof given !== 'string') {
      throw new JwtError('use_dpop_nonce', 'the proof needs the server nonce', { claim: 'nonce' })
    }
    if (typeof nonce === 'string' ? given !== nonce : nonce(given) !== true) {
      throw new JwtError('use_dpop_nonce', 'the proof nonce is stale or unknown', {
        claim: 'nonce',
      })
    }
  }
  // §11.1: replay, last, so that a refused proof never spends its jti.
  const result: VerifiedDpopProof = {
    jkt: entry.jkt,
    jwk: entry.jwk,
    header: entry.header,
    payload,
  }
  let cache = replayCache
  if (cache === undefined) {
    defaultReplayCache ??= createDpopReplayCache()
    cache = defaultReplayCache
  }
  const expiresAt = (iat + maxAge + tolerance) * 1000
  const fresh = cache.checkAndAdd(`${entry.jkt}:${jti}`, expiresAt, nowMs)
  if (fresh === true) return result
  if (fresh === false) throw refuse('the proof has been used before ("jti")', 'jti')
  return Promise.resolve(fresh).then((added) => {
    if (added !== true) throw refuse('the proof has been used before ("jti")', 'jti')
    return result
  })
}

/**
 * Verifies a DPoP proof (RFC 9449 §4.3) for a request: `typ: dpop+jwt`, an
 * asymmetric `alg` the proof's own public `jwk` verifies, `htm` and `htu`
 * naming this request, an `iat` no older than `maxAge`, a `jti` never seen
 * before (in `replayCache`), `ath` for the access token if there is one, and
 * the server's `nonce` if it asks for one. Resolves to the key's thumbprint
 * (`jkt`), to compare with the token's `cnf.jkt` or to bind a new token to.
 * Rejects with a {@link JwtError}: `invalid_dpop_proof` (its `claim` says
 * which check failed), or `use_dpop_nonce` (answer with a `DPoP-Nonce`
 * header); a failing replay cache's own error passes through.
 *
 * @example
 * const { jkt } = await verifyDpopProof(req.headers.dpop, {
 *   method: req.method,
 *   url: `https://api.example.com${req.originalUrl}`,
 *   accessToken, // from `Authorization: DPoP <token>`
 * })
 * if (jkt !== claims.cnf?.jkt) throw new Error('the token is bound to another key')
 */
export async function verifyDpopProof(
  proof: string,
  options: DpopProofOptions,
): Promise<VerifiedDpopProof> {
  return checkDpopProof(proof, options)
}
