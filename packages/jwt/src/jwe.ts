// Compact JWE (RFC 7516) with the algorithms of RFC 7518 §4-5 and RFC 8037
// §3.2, on node:crypto. As strict as the JWS side: canonical base64url, exact
// IV and tag lengths, `crit`, a size limit, keys bound to their algorithm.
// Every failure of the decryption itself (key unwrap, tag, padding, CBC
// HMAC) is one `decryption_failed` with one message, so the error is no
// oracle (RFC 7516 §11.4-11.5).

import {
  type CipherGCM,
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPublicKey,
  type DecipherGCM,
  diffieHellman,
  generateKeyPairSync,
  hash,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomFillSync,
  timingSafeEqual,
} from 'node:crypto'
import {
  base64urlLength,
  decodeCanonicalBase64url,
  encodeBase64url,
  isCanonicalBase64url,
} from './base64url.ts'
import { JwtError } from './errors.ts'
import {
  type ContentEncryption,
  type ContentEncryptionSpec,
  contentEncryptionSpec,
  type EcdhCurve,
  isContentEncryption,
  isKeyManagementAlgorithm,
  type KeyManagementAlgorithm,
  type KeyManagementSpec,
  keyManagementSpec,
  refusedAlgorithmReason,
} from './jwe-algorithms.ts'
import { CURVE_BYTES, EncryptionKey, EncryptionKeySet } from './jwe-keys.ts'
import type { Jwk } from './keys.ts'
import { DEFAULT_MAX_TOKEN_LENGTH, deepFreeze, normalizeTyp, parseJsonObject } from './parse.ts'

/** The protected header of a compact JWE. */
export interface JweHeader {
  alg: KeyManagementAlgorithm
  enc: ContentEncryption
  kid?: string
  typ?: string
  cty?: string
  /** ECDH-ES: the sender's ephemeral public key. */
  epk?: Jwk
  apu?: string
  apv?: string
  crit?: string[]
  [parameter: string]: unknown
}

export interface EncryptOptions {
  /** The key management algorithm; the key's own, so it may be left out. */
  alg?: KeyManagementAlgorithm
  /** The content encryption. Required unless the key is bound to one (`dir`). */
  enc?: ContentEncryption
  /** The `kid` header: the key's by default, this string instead, or none with `false`. */
  kid?: string | false
  /** The `typ` header. */
  typ?: string
  /** The `cty` header (`'JWT'` for a nested JWT: {@link encryptJwt} sets it). */
  cty?: string
  /** ECDH-ES PartyUInfo (RFC 7518 §4.6.1.2), sent as `apu`. */
  apu?: Uint8Array
  /** ECDH-ES PartyVInfo (RFC 7518 §4.6.1.3), sent as `apv`. */
  apv?: Uint8Array
  /** Extra protected header parameters; those above and `epk`, `zip`, `crit` cannot be set here. */
  header?: Record<string, unknown>
}

export interface DecryptOptions {
  /**
   * Key management algorithms accepted. Defaults to the key's own; a JWE
   * whose `alg` differs from its key's is refused whatever this list says.
   */
  algorithms?: readonly KeyManagementAlgorithm[]
  /** Content encryptions accepted. Default: all four (a `dir` key: its own). */
  encryptions?: readonly ContentEncryption[]
  /** Ceiling on the JWE's length in characters. Default 16 KiB. */
  maxTokenLength?: number
  /** Expected `typ` header, compared as RFC 8725 §3.11 says. */
  typ?: string
  /** `crit` header extensions your code understands and checks itself. */
  crit?: readonly string[]
}

export interface DecryptedJwe {
  header: JweHeader
  plaintext: Buffer
}

// ---------------------------------------------------------------- options

interface CompiledDecryptOptions {
  readonly algorithms: ReadonlySet<KeyManagementAlgorithm> | undefined
  readonly encryptions: ReadonlySet<ContentEncryption> | undefined
  readonly maxTokenLength: number
  readonly typ: string | undefined
  readonly crit: ReadonlySet<string>
}

const compiledCache = new WeakMap<DecryptOptions, CompiledDecryptOptions>()
const NO_OPTIONS: DecryptOptions = Object.freeze({})

function stringSet<T extends string>(
  value: unknown,
  name: string,
  valid: (item: unknown) => item is T,
): Set<T> {
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(`${name} must be a non-empty array`)
  }
  for (const item of value) {
    if (!valid(item)) throw new TypeError(`${name}: unsupported value ${JSON.stringify(item)}`)
  }
  return new Set(value as T[])
}

function isString(value: unknown): value is string {
  return typeof value === 'string'
}

/** Validates options once (misuse is a TypeError here, not at request time). */
export function compileDecryptOptions(
  options: DecryptOptions = NO_OPTIONS,
): CompiledDecryptOptions {
  const cached = compiledCache.get(options)
  if (cached !== undefined) return cached
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object')
  }
  const maxTokenLength = options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH
  if (!Number.isInteger(maxTokenLength) || maxTokenLength <= 0) {
    throw new TypeError('maxTokenLength must be a positive integer')
  }
  if (options.typ !== undefined && (typeof options.typ !== 'string' || options.typ === '')) {
    throw new TypeError('typ must be a non-empty string')
  }
  const compiled: CompiledDecryptOptions = Object.freeze({
    algorithms:
      options.algorithms === undefined
        ? undefined
        : stringSet(options.algorithms, 'algorithms', isKeyManagementAlgorithm),
    encryptions:
      options.encryptions === undefined
        ? undefined
        : stringSet(options.encryptions, 'encryptions', isContentEncryption),
    maxTokenLength,
    typ: options.typ === undefined ? undefined : normalizeTyp(options.typ),
    crit:
      options.crit === undefined ? new Set<string>() : stringSet(options.crit, 'crit', isString),
  })
  compiledCache.set(options, compiled)
  return compiled
}

// ---------------------------------------------------------------- parsing

/** A JWE header that passed every check that does not depend on options or keys. */
interface ParsedJweHeader {
  readonly value: Readonly<JweHeader>
  readonly km: KeyManagementSpec
  readonly ce: ContentEncryptionSpec
  readonly kid: string | undefined
  readonly typ: string | undefined
  readonly crit: readonly string[] | undefined
  /** ECDH-ES: the ephemeral key's curve and coordinates (checked canonical and of the curve's size). */
  readonly epk: Epk | undefined
  readonly apu: Buffer | undefined
  readonly apv: Buffer | undefined
}

interface ParsedJwe {
  header: ParsedJweHeader
  /** The encoded protected header: the AAD (RFC 7516 §5.1 step 14). */
  aad: string
  encryptedKey: string
  iv: string
  ciphertext: string
  tag: string
}

// RFC 7516 §4.1 and RFC 7518 §4: parameters `crit` may not list.
const REGISTERED_HEADER = new Set([
  'alg',
  'enc',
  'zip',
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
  'epk',
  'apu',
  'apv',
  'iv',
  'tag',
  'p2s',
  'p2c',
])

/**
 * Headers without an ephemeral key repeat (one sender, one key, one enc), so
 * each distinct one is decoded and checked once; ECDH-ES headers never
 * repeat and are not kept. Bounded: a flood of distinct headers only clears it.
 */
const HEADER_CACHE_SIZE = 256
const headerCache = new Map<string, ParsedJweHeader>()

function malformed(message: string, claim?: string): JwtError {
  return new JwtError('malformed', message, claim === undefined ? undefined : { claim })
}

function parseJwe(token: unknown, maxLength: number): ParsedJwe {
  if (typeof token !== 'string') throw malformed('the JWE must be a string')
  if (token.length > maxLength) throw malformed('the JWE is too long')
  const d1 = token.indexOf('.')
  const d2 = d1 === -1 ? -1 : token.indexOf('.', d1 + 1)
  const d3 = d2 === -1 ? -1 : token.indexOf('.', d2 + 1)
  const d4 = d3 === -1 ? -1 : token.indexOf('.', d3 + 1)
  if (d4 === -1 || token.indexOf('.', d4 + 1) !== -1) {
    throw malformed('a compact JWE has exactly five segments')
  }
  const aad = token.slice(0, d1)
  return {
    header: parseJweHeader(aad),
    aad,
    encryptedKey: token.slice(d1 + 1, d2),
    iv: token.slice(d2 + 1, d3),
    ciphertext: token.slice(d3 + 1, d4),
    tag: token.slice(d4 + 1),
  }
}

function parseJweHeader(segment: string): ParsedJweHeader {
  const cached = headerCache.get(segment)
  if (cached !== undefined) return cached
  if (segment.length === 0 || !isCanonicalBase64url(segment)) {
    throw malformed('the header is not canonical base64url')
  }
  const value = parseJsonObject(segment, 'header') as JweHeader
  const km = keyManagementSpec(value.alg)
  if (km === undefined) {
    if (typeof value.alg !== 'string') throw malformed('the header has no "alg"')
    throw new JwtError('alg_not_allowed', refusedAlgorithmReason(value.alg))
  }
  if (value.enc === undefined) throw malformed('a JWE header needs "enc"')
  const ce = contentEncryptionSpec(value.enc)
  if (ce === undefined) throw new JwtError('alg_not_allowed', 'unsupported "enc"')
  if (value.zip !== undefined) {
    // RFC 8725 §3.6: compressing before encrypting leaks the plaintext
    // through the length (CRIME, BREACH); inflating is also a bomb.
    throw new JwtError(
      'alg_not_allowed',
      '"zip" is refused: compression before encryption leaks the plaintext through its length (RFC 8725 §3.6)',
    )
  }
  for (const name of ['kid', 'typ', 'cty'] as const) {
    if (value[name] !== undefined && typeof value[name] !== 'string') {
      throw malformed(`"${name}" must be a string`)
    }
  }
  const crit = value.crit === undefined ? undefined : checkCrit(value)
  let epk: ParsedJweHeader['epk']
  let apu: Buffer | undefined
  let apv: Buffer | undefined
  if (km.family === 'ecdh-es' || km.family === 'ecdh-es-kw') {
    epk = checkEpk(value.epk)
    apu = partyInfo(value.apu, 'apu')
    apv = partyInfo(value.apv, 'apv')
  }
  const parsed: ParsedJweHeader = {
    value: deepFreeze(value),
    km,
    ce,
    kid: value.kid,
    typ: value.typ === undefined ? undefined : normalizeTyp(value.typ),
    crit,
    epk,
    apu,
    apv,
  }
  if (epk === undefined) {
    if (headerCache.size >= HEADER_CACHE_SIZE) headerCache.clear()
    headerCache.set(segment, parsed)
  }
  return parsed
}

/** RFC 7516 §4.1.13 (RFC 7515 §4.1.11): a non-empty list of extension names present in the header. */
function checkCrit(header: JweHeader): readonly string[] {
  const crit = header.crit
  if (!Array.isArray(crit) || crit.length === 0) throw malformed('"crit" must be a non-empty array')
  const seen = new Set<string>()
  for (const name of crit) {
    if (typeof name !== 'string' || REGISTERED_HEADER.has(name) || seen.has(name)) {
      throw malformed('"crit" lists an invalid name')
    }
    if (!Object.hasOwn(header, name)) throw malformed('"crit" lists a parameter the header lacks')
    seen.add(name)
  }
  return Object.freeze([...crit])
}

function partyInfo(value: unknown, name: 'apu' | 'apv'): Buffer | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !isCanonicalBase64url(value)) {
    throw malformed(`"${name}" must be canonical base64url`)
  }
  return Buffer.from(value, 'base64url')
}

interface Epk {
  readonly curve: EcdhCurve
  readonly x: string
  /** EC only. */
  readonly y: string | undefined
}

/** A coordinate: canonical base64url of exactly the curve's size (RFC 7518 §6.2.1.2). */
function isCoordinate(value: unknown, bytes: number): value is string {
  return (
    typeof value === 'string' &&
    value.length === base64urlLength(bytes) &&
    isCanonicalBase64url(value)
  )
}

/**
 * RFC 7518 §4.6.1.1: `epk` is a public JWK on a supported curve. Whether the
 * point is on the curve is checked when it is imported (OpenSSL refuses an
 * off-curve point): an invalid-curve attack needs a point off it.
 */
function checkEpk(epk: unknown): Epk {
  if (epk === undefined) throw malformed('ECDH-ES needs "epk"', 'epk')
  if (epk === null || typeof epk !== 'object' || Array.isArray(epk)) {
    throw malformed('"epk" must be a JWK', 'epk')
  }
  const jwk = epk as Jwk
  if (jwk.d !== undefined) throw malformed('"epk" must be a public key', 'epk')
  if (jwk.kty === 'EC' && (jwk.crv === 'P-256' || jwk.crv === 'P-384')) {
    const size = CURVE_BYTES[jwk.crv]
    if (!isCoordinate(jwk.x, size) || !isCoordinate(jwk.y, size)) {
      throw malformed(`"epk" coordinates must be ${size} bytes of base64url`, 'epk')
    }
    return { curve: jwk.crv, x: jwk.x, y: jwk.y }
  }
  if (jwk.kty === 'OKP' && jwk.crv === 'X25519') {
    if (!isCoordinate(jwk.x, 32)) throw malformed('"epk" x must be 32 bytes of base64url', 'epk')
    return { curve: 'X25519', x: jwk.x, y: undefined }
  }
  throw malformed('"epk" must be an EC P-256 or P-384 key or an OKP X25519 key', 'epk')
}

/** P-384 SubjectPublicKeyInfo prefix (RFC 5480 §2): the uncompressed point 0x04 || x || y follows. */
const P384_SPKI_PREFIX = Buffer.from('3076301006072a8648ce3d020106052b8104002203620004', 'hex')

/**
 * The ephemeral public key as a KeyObject; OpenSSL refuses a point off the
 * curve either way. P-384 goes in as DER, P-256 and X25519 as a JWK: on
 * Node 24 / OpenSSL 3.5 each is the faster import for its curve (P-256 JWK
 * 1.3x SPKI, X25519 2.7x; P-384 SPKI 1.4x JWK).
 */
function importEpk(epk: Epk): KeyObject {
  try {
    if (epk.curve === 'P-384') {
      const point = Buffer.concat([
        P384_SPKI_PREFIX,
        Buffer.from(epk.x, 'base64url'),
        Buffer.from(epk.y!, 'base64url'),
      ])
      return createPublicKey({ key: point, format: 'der', type: 'spki' })
    }
    const jwk =
      epk.y === undefined
        ? { kty: 'OKP', crv: epk.curve, x: epk.x }
        : { kty: 'EC', crv: epk.curve, x: epk.x, y: epk.y }
    return createPublicKey({ key: jwk, format: 'jwk' })
  } catch {
    throw malformed(`"epk" is not a point on ${epk.curve}`, 'epk')
  }
}

// ---------------------------------------------------------------- primitives

/** Random bytes from a pooled buffer: one getrandom per 4 KiB, and no slice is ever reused. */
const POOL_SIZE = 4096
let pool = Buffer.alloc(0)
let poolOffset = 0

function randomBytesPooled(size: number): Buffer {
  if (poolOffset + size > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_SIZE))
    poolOffset = 0
  }
  const out = pool.subarray(poolOffset, poolOffset + size)
  poolOffset += size
  return out
}

/** RFC 3394 AES key wrap's initial value (RFC 7518 §4.4). */
const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex')

/** @internal Exported for the RFC 7520 replay. */
export function wrapKey(cipher: string, kek: Buffer, cek: Buffer): Buffer {
  const wrap = createCipheriv(cipher, kek, KW_IV)
  return Buffer.concat([wrap.update(cek), wrap.final()])
}

/** The unwrapped key, or undefined: the integrity check failed. */
function unwrapKey(cipher: string, kek: Buffer, wrapped: Buffer): Buffer | undefined {
  try {
    const unwrap = createDecipheriv(cipher, kek, KW_IV)
    return Buffer.concat([unwrap.update(wrapped), unwrap.final()])
  } catch {
    return undefined
  }
}

function uint32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4)
  out.writeUInt32BE(value)
  return out
}

function lengthPrefixed(data: Buffer | undefined): Buffer[] {
  return data === undefined ? [uint32(0)] : [uint32(data.length), data]
}

/**
 * @internal RFC 7518 §4.6.2: the Concat KDF of NIST SP 800-56A §5.8.1 with SHA-256.
 * AlgorithmID is `enc` for ECDH-ES, `alg` for ECDH-ES+AxxxKW.
 */
export function concatKdf(
  z: Buffer,
  keyBytes: number,
  algorithmId: string,
  apu: Buffer | undefined,
  apv: Buffer | undefined,
): Buffer {
  const id = Buffer.from(algorithmId, 'ascii')
  const input = Buffer.concat([
    uint32(1),
    z,
    uint32(id.length),
    id,
    ...lengthPrefixed(apu),
    ...lengthPrefixed(apv),
    uint32(keyBytes * 8),
  ])
  const first = hash('sha256', input, 'buffer')
  if (keyBytes <= 32) return first.subarray(0, keyBytes)
  // A256CBC-HS512 over ECDH-ES needs 512 bits: a second round with counter 2.
  input.writeUInt32BE(2, 0)
  return Buffer.concat([first, hash('sha256', input, 'buffer')]).subarray(0, keyBytes)
}

/** ECDH-ES: the shared secret Z; undefined when the agreement fails (an X25519 low-order point). */
function agree(privateKey: KeyObject, publicKey: KeyObject): Buffer | undefined {
  try {
    return diffieHellman({ privateKey, publicKey })
  } catch {
    return undefined
  }
}

/** RFC 7518 §5.2.2.1: AAD || IV || ciphertext || AL, AL the AAD's length in bits as 64 bits. */
function cbcHmacTag(
  ce: ContentEncryptionSpec,
  macKey: Buffer,
  aad: Buffer,
  iv: Buffer,
  ciphertext: Buffer,
): Buffer {
  const al = Buffer.alloc(8)
  al.writeUInt32BE(Math.floor((aad.length * 8) / 0x1_0000_0000), 0)
  al.writeUInt32BE((aad.length * 8) >>> 0, 4)
  return createHmac(ce.hash!, macKey)
    .update(aad)
    .update(iv)
    .update(ciphertext)
    .update(al)
    .digest()
    .subarray(0, ce.tagBytes)
}

/** @internal Exported for the RFC 7520 replay. */
export function encryptContent(
  ce: ContentEncryptionSpec,
  cek: Buffer,
  iv: Buffer,
  aad: Buffer,
  plaintext: Uint8Array,
): { ciphertext: Buffer; tag: Buffer } {
  if (ce.mode === 'gcm') {
    const cipher = createCipheriv(ce.cipher, cek, iv) as CipherGCM
    cipher.setAAD(aad)
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
    return { ciphertext, tag: cipher.getAuthTag() }
  }
  // RFC 7518 §5.2.2.1: the first half of the CEK is the MAC key, the second the AES key.
  const half = ce.cekBytes / 2
  const cipher = createCipheriv(ce.cipher, cek.subarray(half), iv)
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return { ciphertext, tag: cbcHmacTag(ce, cek.subarray(0, half), aad, iv, ciphertext) }
}

/** The plaintext, or undefined: the tag, the HMAC or the padding is wrong. */
function decryptContent(
  ce: ContentEncryptionSpec,
  cek: Buffer,
  iv: Buffer,
  aad: Buffer,
  ciphertext: Buffer,
  tag: Buffer,
): Buffer | undefined {
  try {
    if (ce.mode === 'gcm') {
      // The tag is exactly 128 bits here (fixedSegment): node alone would
      // take 4 to 16 bytes, a truncation attack. No authTagLength option,
      // which would repeat the check at a 10% cost of the whole decryption.
      const decipher = createDecipheriv(ce.cipher, cek, iv) as DecipherGCM
      decipher.setAuthTag(tag)
      decipher.setAAD(aad)
      return Buffer.concat([decipher.update(ciphertext), decipher.final()])
    }
    const half = ce.cekBytes / 2
    // Encrypt-then-MAC: the tag is checked, in constant time, before any decryption.
    const expected = cbcHmacTag(ce, cek.subarray(0, half), aad, iv, ciphertext)
    if (!timingSafeEqual(expected, tag)) return undefined
    const decipher = createDecipheriv(ce.cipher, cek.subarray(half), iv)
    return Buffer.concat([decipher.update(ciphertext), decipher.final()])
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------- encrypt

const RESERVED_HEADER = new Set([
  'alg',
  'enc',
  'kid',
  'typ',
  'cty',
  'epk',
  'apu',
  'apv',
  'zip',
  'crit',
  'iv',
  'tag',
  'p2s',
  'p2c',
])
const NO_ENCRYPT_OPTIONS: EncryptOptions = Object.freeze({})

function plaintextBytes(plaintext: unknown): Uint8Array {
  if (typeof plaintext === 'string') return Buffer.from(plaintext, 'utf8')
  if (plaintext instanceof Uint8Array) return plaintext
  if (plaintext !== null && typeof plaintext === 'object') {
    return Buffer.from(JSON.stringify(plaintext), 'utf8')
  }
  throw new TypeError('the plaintext must be bytes, a string or a JSON object')
}

/** The header members every JWE of this key and these options shares, in order. */
function staticHeader(
  key: EncryptionKey,
  enc: ContentEncryption,
  options: EncryptOptions,
): Record<string, unknown> {
  const header: Record<string, unknown> = { alg: key.alg, enc }
  const kid = options.kid === undefined ? key.kid : options.kid
  if (kid !== false) {
    if (typeof kid !== 'string' || kid === '')
      throw new TypeError('kid must be a non-empty string or false')
    header.kid = kid
  }
  for (const name of ['typ', 'cty'] as const) {
    const value = options[name]
    if (value === undefined) continue
    if (typeof value !== 'string' || value === '')
      throw new TypeError(`${name} must be a non-empty string`)
    header[name] = value
  }
  if (options.header !== undefined) {
    if (options.header === null || typeof options.header !== 'object') {
      throw new TypeError('header must be an object')
    }
    for (const [name, value] of Object.entries(options.header)) {
      if (RESERVED_HEADER.has(name))
        throw new TypeError(`header.${name} is set by the key or the options`)
      header[name] = value
    }
  }
  return header
}

/**
 * Encrypts `plaintext` (bytes, a UTF-8 string, or an object as JSON) to a
 * compact JWE for `key`: the recipient's public key (ECDH-ES, RSA-OAEP-256)
 * or the shared secret (`dir`, AES key wrap). The header carries `alg` (the
 * key's), `enc`, the key's `kid` and whatever the options add.
 *
 * @example
 * const jwe = encrypt({ card: '4242…' }, recipientPublicKey, { enc: 'A256GCM' })
 */
export function encrypt(
  plaintext: Uint8Array | string | object,
  key: EncryptionKey,
  options: EncryptOptions = NO_ENCRYPT_OPTIONS,
): string {
  if (!(key instanceof EncryptionKey)) {
    throw new TypeError(
      'encrypt takes an EncryptionKey (importEncryptionJwk, generateEncryptionKeyPair, generateEncryptionSecret)',
    )
  }
  if (options === null || typeof options !== 'object')
    throw new TypeError('options must be an object')
  if (options.alg !== undefined && options.alg !== key.alg) {
    throw new JwtError('key_invalid', `the key is for ${key.alg}, not ${String(options.alg)}`)
  }
  const enc = options.enc ?? key.enc
  const ce = contentEncryptionSpec(enc)
  if (ce === undefined) {
    throw new TypeError(
      enc === undefined ? 'options.enc is required' : `unsupported enc ${String(enc)}`,
    )
  }
  if (key.enc !== undefined && key.enc !== ce.enc) {
    throw new JwtError('key_invalid', `the key is for ${key.enc}, not ${ce.enc}`)
  }
  const bytes = plaintextBytes(plaintext)
  const km = key.spec
  let cek: Buffer
  let encryptedKey = ''
  let header: string
  if (km.family === 'ecdh-es' || km.family === 'ecdh-es-kw') {
    // RFC 7518 §4.6: a fresh ephemeral key per message.
    const members = staticHeader(key, ce.enc, options)
    const { epk, z } = ephemeralAgreement(key)
    const apu = options.apu === undefined ? undefined : Buffer.from(options.apu)
    const apv = options.apv === undefined ? undefined : Buffer.from(options.apv)
    members.epk = epk
    if (apu !== undefined) members.apu = apu.toString('base64url')
    if (apv !== undefined) members.apv = apv.toString('base64url')
    header = encodeBase64url(JSON.stringify(members))
    if (km.family === 'ecdh-es') {
      cek = concatKdf(z, ce.cekBytes, ce.enc, apu, apv)
    } else {
      const kek = concatKdf(z, km.kekBytes, km.alg, apu, apv)
      cek = randomBytesPooled(ce.cekBytes)
      encryptedKey = wrapKey(km.wrapCipher!, kek, cek).toString('base64url')
    }
  } else {
    header = cachedHeader(key, ce.enc, options)
    if (km.family === 'dir') {
      cek = key.secret!
    } else {
      cek = randomBytesPooled(ce.cekBytes)
      const wrapped =
        km.family === 'aes-kw'
          ? wrapKey(km.wrapCipher!, key.secret!, cek)
          : publicEncrypt(key.oaepKey!, cek)
      encryptedKey = wrapped.toString('base64url')
    }
  }
  const iv = randomBytesPooled(ce.ivBytes)
  const { ciphertext, tag } = encryptContent(ce, cek, iv, Buffer.from(header, 'latin1'), bytes)
  return `${header}.${encryptedKey}.${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${tag.toString('base64url')}`
}

function cachedHeader(key: EncryptionKey, enc: ContentEncryption, options: EncryptOptions): string {
  const cacheable =
    options.header === undefined && options.apu === undefined && options.apv === undefined
  // JSON, not a joined string: no two option sets may share a key (a kid with a space in it).
  const cacheKey = cacheable ? JSON.stringify([enc, options.kid, options.typ, options.cty]) : ''
  if (cacheable) {
    const cached = key.headerCache.get(cacheKey)
    if (cached !== undefined) return cached
  }
  const header = encodeBase64url(JSON.stringify(staticHeader(key, enc, options)))
  if (cacheable && key.headerCache.size < 16) key.headerCache.set(cacheKey, header)
  return header
}

/** A fresh ephemeral key on the recipient's curve: its public JWK and the shared secret. */
function ephemeralAgreement(key: EncryptionKey): { epk: Jwk; z: Buffer } {
  const curve = key.curve!
  const pair =
    curve === 'X25519'
      ? generateKeyPairSync('x25519')
      : generateKeyPairSync('ec', { namedCurve: curve })
  const exported = pair.publicKey.export({ format: 'jwk' }) as Jwk
  const epk: Jwk =
    curve === 'X25519'
      ? { kty: 'OKP', crv: 'X25519', x: exported.x! }
      : { kty: 'EC', crv: curve, x: exported.x!, y: exported.y! }
  const publicKey = key.type === 'private' ? key.publicKey.keyObject : key.keyObject
  return { epk, z: diffieHellman({ privateKey: pair.privateKey, publicKey }) }
}

// ---------------------------------------------------------------- decrypt

const DECRYPTION_FAILED_MESSAGE = 'the JWE could not be decrypted'

/** One error for every failure of the decryption itself: which step failed is no one's business. */
function decryptionFailed(): JwtError {
  return new JwtError('decryption_failed', DECRYPTION_FAILED_MESSAGE)
}

/** Checks header parameters that depend on options: allowlists, `crit`, `typ`. */
function checkJweHeader(header: ParsedJweHeader, options: CompiledDecryptOptions): void {
  if (options.algorithms !== undefined && !options.algorithms.has(header.km.alg)) {
    throw new JwtError('alg_not_allowed', 'this "alg" is not allowed')
  }
  if (options.encryptions !== undefined && !options.encryptions.has(header.ce.enc)) {
    throw new JwtError('alg_not_allowed', 'this "enc" is not allowed')
  }
  if (header.crit !== undefined) {
    for (const name of header.crit) {
      if (!options.crit.has(name)) {
        throw malformed('the JWE needs an extension this decrypter does not handle', 'crit')
      }
    }
  }
  if (options.typ !== undefined && header.typ !== options.typ) {
    throw new JwtError('claim_invalid', 'unexpected "typ"', { claim: 'typ' })
  }
}

function selectKey(header: ParsedJweHeader, keys: EncryptionKey | EncryptionKeySet): EncryptionKey {
  let key: EncryptionKey
  if (keys instanceof EncryptionKey) {
    // One key, one algorithm (RFC 8725 §3.1): the JWE's `alg` must be the key's.
    if (keys.alg !== header.km.alg) {
      throw new JwtError('alg_not_allowed', 'the JWE "alg" is not the key\'s')
    }
    if (keys.enc !== undefined && keys.enc !== header.ce.enc) {
      throw new JwtError('alg_not_allowed', 'the JWE "enc" is not the key\'s')
    }
    key = keys
  } else {
    key = keys.select(header.km.alg, header.ce.enc, header.kid)
  }
  if (key.type === 'public')
    throw new JwtError('key_invalid', 'decryption needs a private or secret key')
  return key
}

/** A segment of known length: canonical base64url of exactly `bytes` bytes. */
function fixedSegment(segment: string, bytes: number, what: string): Buffer {
  const decoded = decodeCanonicalBase64url(segment)
  if (decoded === undefined) throw malformed(`the ${what} is not canonical base64url`)
  if (decoded.length !== bytes) {
    throw malformed(
      what === 'authentication tag' && decoded.length < bytes
        ? 'the authentication tag is truncated'
        : `the ${what} must be ${bytes} bytes`,
    )
  }
  return decoded
}

function anySegment(segment: string, what: string): Buffer {
  const decoded = decodeCanonicalBase64url(segment)
  if (decoded === undefined) throw malformed(`the ${what} is not canonical base64url`)
  return decoded
}

/**
 * The content encryption key, or a random one when the encrypted key does
 * not unwrap: RFC 7516 §11.5 asks that format, padding and length errors of
 * an encrypted key not be told apart, and that decryption proceed with a
 * random CEK, so the failure surfaces later, at the tag, as any other.
 */
function contentKey(parsed: ParsedJwe, key: EncryptionKey, encryptedKey: Buffer): Buffer {
  const { km, ce } = parsed.header
  let cek: Buffer | undefined
  switch (km.family) {
    case 'dir':
      return key.secret!
    case 'aes-kw':
      cek = unwrapKey(km.wrapCipher!, key.secret!, encryptedKey)
      break
    case 'rsa-oaep':
      try {
        cek = privateDecrypt(key.oaepKey!, encryptedKey)
      } catch {
        cek = undefined
      }
      break
    default: {
      const { epk, apu, apv } = parsed.header
      if (epk!.curve !== key.curve) {
        throw malformed('"epk" is not on the curve of the key', 'epk')
      }
      const z = agree(key.keyObject, importEpk(epk!))
      if (z === undefined)
        throw malformed('"epk" gives no shared secret (a low-order point)', 'epk')
      if (km.family === 'ecdh-es') return concatKdf(z, ce.cekBytes, ce.enc, apu, apv)
      cek = unwrapKey(km.wrapCipher!, concatKdf(z, km.kekBytes, km.alg, apu, apv), encryptedKey)
    }
  }
  return cek !== undefined && cek.length === ce.cekBytes ? cek : randomBytesPooled(ce.cekBytes)
}

/**
 * Decrypts a compact JWE with the key its header names: strict parsing, the
 * key management algorithm bound to the key, then the content. Throws a
 * {@link JwtError}: `malformed`, `alg_not_allowed`, `key_not_found`,
 * `key_invalid` or `claim_invalid` (`typ`) for what is checked before any
 * decryption; `decryption_failed`, with one message, for every failure of
 * the decryption itself.
 *
 * @example
 * const { header, plaintext } = decrypt(jwe, privateKey, { encryptions: ['A256GCM'] })
 * JSON.parse(plaintext.toString('utf8'))
 */
export function decrypt(
  jwe: string,
  keys: EncryptionKey | EncryptionKeySet,
  options?: DecryptOptions,
): DecryptedJwe {
  const compiled = compileDecryptOptions(options)
  if (!(keys instanceof EncryptionKey) && !(keys instanceof EncryptionKeySet)) {
    throw new TypeError('decrypt takes an EncryptionKey or an EncryptionKeySet')
  }
  const parsed = parseJwe(jwe, compiled.maxTokenLength)
  const header = parsed.header
  checkJweHeader(header, compiled)
  const key = selectKey(header, keys)
  const { km, ce } = header
  const iv = fixedSegment(parsed.iv, ce.ivBytes, 'initialization vector')
  const tag = fixedSegment(parsed.tag, ce.tagBytes, 'authentication tag')
  const ciphertext = anySegment(parsed.ciphertext, 'ciphertext')
  const encryptedKey = anySegment(parsed.encryptedKey, 'encrypted key')
  const direct = km.family === 'dir' || km.family === 'ecdh-es'
  // RFC 7516 §5.2 step 10: with direct encryption or key agreement the encrypted key is empty.
  if (direct !== (encryptedKey.length === 0)) {
    throw malformed(direct ? 'the encrypted key must be empty' : 'the encrypted key is missing')
  }
  const cek = contentKey(parsed, key, encryptedKey)
  const aad = Buffer.from(parsed.aad, 'latin1')
  const plaintext = decryptContent(ce, cek, iv, aad, ciphertext, tag)
  if (plaintext === undefined) throw decryptionFailed()
  return { header: header.value as JweHeader, plaintext }
}
