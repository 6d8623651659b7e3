import {
  constants,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  type JsonWebKey,
  KeyObject,
  randomBytes,
} from 'node:crypto'
import { isCanonicalBase64url } from './base64url.ts'
import { JwtError } from './errors.ts'
import {
  type ContentEncryption,
  type ContentEncryptionSpec,
  contentEncryptionSpec,
  type EcdhCurve,
  type KeyManagementAlgorithm,
  type KeyManagementSpec,
  keyManagementSpec,
} from './jwe-algorithms.ts'
import { type Jwk, type Jwks, type KeyOptions, type KeyType, thumbprintOf } from './keys.ts'

export interface EncryptionKeyOptions extends KeyOptions {
  /**
   * The content encryption the key is for. Required for `dir` (the key is the
   * content encryption key, so its size fixes the `enc`); for the other
   * algorithms it narrows the `enc` values the key accepts and defaults
   * `encrypt`'s.
   */
  enc?: ContentEncryption
}

const MIN_RSA_BITS = 2048
const CONSTRUCT = Symbol('tessera.encryption-key.construct')

const EC_CURVES: Readonly<Record<string, EcdhCurve>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
}

/** Coordinate size of each curve in bytes, for `epk` checks. */
export const CURVE_BYTES: Readonly<Record<EcdhCurve, number>> = Object.freeze({
  'P-256': 32,
  'P-384': 48,
  X25519: 32,
})

/** RFC 7516 §11.5 and RFC 7518 §4.3: OAEP with SHA-256 and MGF1-SHA-256. */
const OAEP = Object.freeze({ padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' })

/**
 * A key bound to exactly one JWE key management algorithm (`alg`), and for
 * `dir` to exactly one content encryption (`enc`): the JWE counterpart of
 * {@link Key}, kept a separate class so that a signing key can never decrypt
 * and an encryption key can never sign or verify (RFC 7517 §4.2 `use`).
 * Made by {@link importEncryptionJwk}, {@link importEncryptionKeyObject},
 * {@link importEncryptionSecret}, {@link generateEncryptionKeyPair} or
 * {@link generateEncryptionSecret}; each refuses keys that do not fit.
 *
 * @example
 * const { privateKey, publicKey } = generateEncryptionKeyPair('ECDH-ES+A256KW')
 * const jwe = encrypt('hello', publicKey, { enc: 'A256GCM' })
 * decrypt(jwe, privateKey).plaintext.toString() // 'hello'
 */
export class EncryptionKey {
  readonly kid: string
  readonly alg: KeyManagementAlgorithm
  /** For `dir`, the one `enc` the key is; otherwise the one it is limited to, if any. */
  readonly enc: ContentEncryption | undefined
  readonly type: KeyType
  readonly keyObject: KeyObject
  /** ECDH-ES keys: the curve. */
  readonly curve: EcdhCurve | undefined
  /** @internal */
  readonly spec: KeyManagementSpec
  /** @internal The secret's bytes (dir, AES key wrap): node:crypto ciphers take a Buffer fastest. */
  readonly secret: Buffer | undefined
  /** @internal RSA-OAEP-256: what publicEncrypt/privateDecrypt take. */
  readonly oaepKey: { key: KeyObject; padding: number; oaepHash: string } | undefined
  /** @internal Encoded protected headers by `enc` and options, so encrypting serializes them once. */
  readonly headerCache = new Map<string, string>()
  #publicKey: EncryptionKey | undefined

  /** @internal Use the import and generate functions. */
  constructor(
    construct: symbol,
    keyObject: KeyObject,
    alg: KeyManagementAlgorithm,
    options: EncryptionKeyOptions,
  ) {
    if (construct !== CONSTRUCT) {
      throw new TypeError(
        'EncryptionKey is made by importEncryptionJwk, importEncryptionKeyObject, importEncryptionSecret or generateEncryptionKeyPair',
      )
    }
    if (!(keyObject instanceof KeyObject)) throw new JwtError('key_invalid', 'not a KeyObject')
    const spec = keyManagementSpec(alg)
    if (spec === undefined) throw new JwtError('key_invalid', 'unsupported key management "alg"')
    let enc: ContentEncryptionSpec | undefined
    if (options.enc !== undefined) {
      enc = contentEncryptionSpec(options.enc)
      if (enc === undefined) throw new JwtError('key_invalid', 'unsupported "enc"')
    }
    this.curve = checkKeyFits(keyObject, spec, enc)
    this.spec = spec
    this.alg = alg
    this.enc = enc?.enc
    this.keyObject = keyObject
    this.type = keyObject.type
    this.kid = options.kid ?? thumbprintOf(keyObject)
    if (typeof this.kid !== 'string' || this.kid.length === 0) {
      throw new JwtError('key_invalid', 'kid must be a non-empty string')
    }
    this.secret = keyObject.type === 'secret' ? keyObject.export() : undefined
    this.oaepKey =
      spec.family === 'rsa-oaep' ? Object.freeze({ key: keyObject, ...OAEP }) : undefined
  }

  /** The public half of an asymmetric key; a public key returns itself. */
  get publicKey(): EncryptionKey {
    if (this.type === 'secret') throw new JwtError('key_invalid', 'a secret key has no public half')
    if (this.type === 'public') return this
    this.#publicKey ??= new EncryptionKey(CONSTRUCT, createPublicKey(this.keyObject), this.alg, {
      kid: this.kid,
      ...(this.enc === undefined ? {} : { enc: this.enc }),
    })
    return this.#publicKey
  }
}

/** Validates that the key material suits the algorithm; returns the ECDH curve, if any. */
function checkKeyFits(
  keyObject: KeyObject,
  spec: KeyManagementSpec,
  enc: ContentEncryptionSpec | undefined,
): EcdhCurve | undefined {
  const alg = spec.alg
  switch (spec.family) {
    case 'dir': {
      if (keyObject.type !== 'secret') throw new JwtError('key_invalid', 'dir needs a secret key')
      if (enc === undefined) {
        // RFC 7516 §5.1 step 2: with dir the key is the CEK, so it is for one `enc` only.
        throw new JwtError('key_invalid', 'a dir key needs the "enc" it is for')
      }
      if (keyObject.symmetricKeySize !== enc.cekBytes) {
        throw new JwtError('key_invalid', `a dir key for ${enc.enc} is ${enc.cekBytes} bytes`)
      }
      return undefined
    }
    case 'aes-kw': {
      if (keyObject.type !== 'secret')
        throw new JwtError('key_invalid', `${alg} needs a secret key`)
      if (keyObject.symmetricKeySize !== spec.kekBytes) {
        throw new JwtError('key_invalid', `${alg} keys are ${spec.kekBytes} bytes`)
      }
      return undefined
    }
    case 'rsa-oaep': {
      if (keyObject.asymmetricKeyType !== 'rsa') {
        throw new JwtError('key_invalid', `${alg} needs an RSA key`)
      }
      const bits = keyObject.asymmetricKeyDetails?.modulusLength ?? 0
      if (bits < MIN_RSA_BITS) {
        throw new JwtError('key_invalid', `RSA keys must be at least ${MIN_RSA_BITS} bits`)
      }
      return undefined
    }
    default: {
      // ECDH-ES, bare or with key wrap: P-256, P-384 (RFC 7518 §4.6) or X25519 (RFC 8037 §3.2).
      const type = keyObject.asymmetricKeyType
      if (type === 'x25519') return 'X25519'
      const curve =
        type === 'ec' ? EC_CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ''] : undefined
      if (curve === undefined) {
        throw new JwtError('key_invalid', `${alg} needs a P-256, P-384 or X25519 key`)
      }
      return curve
    }
  }
}

/**
 * The key management algorithm and enc of a JWK: its `alg` (a content
 * encryption as `alg` means a `dir` key, as RFC 7520 §5.6 writes it), or the
 * options'.
 */
function resolveJwkAlgorithm(
  jwk: Jwk,
  options: EncryptionKeyOptions & { alg?: KeyManagementAlgorithm },
): { alg: KeyManagementAlgorithm; enc: ContentEncryption | undefined } {
  let alg: string | undefined = options.alg
  let enc = options.enc
  if (jwk.alg !== undefined) {
    if (typeof jwk.alg !== 'string')
      throw new JwtError('key_invalid', 'the JWK "alg" is not a string')
    const asEnc = contentEncryptionSpec(jwk.alg)
    const own = asEnc === undefined ? jwk.alg : 'dir'
    if (alg !== undefined && alg !== own) {
      throw new JwtError('key_invalid', 'the JWK "alg" differs from the one asked for')
    }
    if (asEnc !== undefined) {
      if (enc !== undefined && enc !== asEnc.enc) {
        throw new JwtError('key_invalid', 'the JWK "alg" differs from the "enc" asked for')
      }
      enc = asEnc.enc
    }
    alg = own
  }
  if (alg === undefined) {
    throw new JwtError(
      'key_invalid',
      'the encryption key needs an "alg" (in the JWK or the options)',
    )
  }
  if (keyManagementSpec(alg) === undefined) {
    throw new JwtError('key_invalid', 'unsupported or unknown key management "alg"')
  }
  return { alg: alg as KeyManagementAlgorithm, enc }
}

const JWK_PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const
const ENCRYPTION_OPS = new Set([
  'encrypt',
  'decrypt',
  'wrapKey',
  'unwrapKey',
  'deriveKey',
  'deriveBits',
])

/**
 * Imports a JWK as an encryption key. The algorithm comes from `jwk.alg` or
 * `options.alg` (every encryption key needs one: an EC key fits three, an
 * RSA key signs as well); an `oct` JWK whose `alg` is a content encryption
 * (`"alg": "A128GCM"`) is a `dir` key for it. `use` other than `enc`, and
 * `key_ops` without an encryption operation, are refused.
 *
 * @example
 * const key = importEncryptionJwk(clientJwk, { alg: 'RSA-OAEP-256' })
 */
export function importEncryptionJwk(
  jwk: Jwk,
  options: EncryptionKeyOptions & { alg?: KeyManagementAlgorithm } = {},
): EncryptionKey {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) {
    throw new JwtError('key_invalid', 'a JWK is a JSON object')
  }
  if (jwk.use !== undefined && jwk.use !== 'enc') {
    throw new JwtError('key_invalid', 'the JWK is not for encryption ("use")')
  }
  if (jwk.key_ops !== undefined) {
    const ops = jwk.key_ops
    if (!Array.isArray(ops) || !ops.some((op) => ENCRYPTION_OPS.has(op))) {
      throw new JwtError('key_invalid', 'the JWK is not for encryption ("key_ops")')
    }
  }
  const kid = options.kid ?? jwk.kid
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0)) {
    throw new JwtError('key_invalid', 'the JWK "kid" must be a non-empty string')
  }
  const { alg, enc } = resolveJwkAlgorithm(jwk, options)
  let keyObject: KeyObject
  try {
    if (jwk.kty === 'oct') {
      if (typeof jwk.k !== 'string' || !isCanonicalBase64url(jwk.k)) {
        throw new JwtError('key_invalid', 'the JWK "k" must be base64url')
      }
      keyObject = createSecretKey(Buffer.from(jwk.k, 'base64url'))
    } else if (jwk.kty === 'RSA' || jwk.kty === 'EC' || jwk.kty === 'OKP') {
      // Pass only the key members: node:crypto must not see alg/kid/use.
      const material: Record<string, unknown> = { kty: jwk.kty }
      for (const name of ['crv', 'x', 'y', 'n', 'e', ...JWK_PRIVATE_MEMBERS] as const) {
        if (jwk[name] !== undefined) material[name] = jwk[name]
      }
      const input = { key: material as JsonWebKey, format: 'jwk' as const }
      keyObject = jwk.d === undefined ? createPublicKey(input) : createPrivateKey(input)
    } else {
      throw new JwtError('key_invalid', 'unsupported JWK "kty"')
    }
  } catch (error) {
    if (error instanceof JwtError) throw error
    throw new JwtError('key_invalid', 'the JWK is not a valid key', { cause: error })
  }
  return new EncryptionKey(CONSTRUCT, keyObject, alg, {
    ...(kid === undefined ? {} : { kid }),
    ...(enc === undefined ? {} : { enc }),
  })
}

/**
 * Wraps a node:crypto KeyObject as an encryption key for `alg` (a PEM key:
 * `importEncryptionKeyObject(createPrivateKey(pem), 'RSA-OAEP-256')`).
 */
export function importEncryptionKeyObject(
  keyObject: KeyObject,
  alg: KeyManagementAlgorithm,
  options: EncryptionKeyOptions = {},
): EncryptionKey {
  return new EncryptionKey(CONSTRUCT, keyObject, alg, options)
}

/**
 * Imports raw secret bytes: a `dir` key (16 or 32 bytes for A128GCM or
 * A256GCM, 32 or 64 for A128CBC-HS256 or A256CBC-HS512; `options.enc` says
 * which) or an AES key-wrap key (16 bytes for A128KW, 32 for A256KW).
 *
 * @example
 * const key = importEncryptionSecret(Buffer.from(process.env.SESSION_KEY!, 'base64url'), 'dir', { enc: 'A256GCM' })
 */
export function importEncryptionSecret(
  secret: Uint8Array,
  alg: 'dir' | 'A128KW' | 'A256KW',
  options: EncryptionKeyOptions = {},
): EncryptionKey {
  if (!(secret instanceof Uint8Array)) throw new JwtError('key_invalid', 'a secret is bytes')
  return new EncryptionKey(CONSTRUCT, createSecretKey(secret), alg, options)
}

/**
 * Generates a key pair: ECDH-ES keys on P-256 (default), P-384 or X25519
 * (`crv`), RSA-OAEP-256 keys of 2048 bits (`modulusLength` to change).
 *
 * @example
 * const { privateKey, publicKey } = generateEncryptionKeyPair('ECDH-ES', { crv: 'X25519' })
 */
export function generateEncryptionKeyPair(
  alg: Exclude<KeyManagementAlgorithm, 'dir' | 'A128KW' | 'A256KW'>,
  options: EncryptionKeyOptions & { crv?: EcdhCurve; modulusLength?: number } = {},
): { privateKey: EncryptionKey; publicKey: EncryptionKey } {
  const spec = keyManagementSpec(alg)
  if (spec === undefined || spec.family === 'dir' || spec.family === 'aes-kw') {
    throw new TypeError(
      `generateEncryptionKeyPair takes an asymmetric algorithm; use generateEncryptionSecret for ${alg}`,
    )
  }
  let pair: { privateKey: KeyObject; publicKey: KeyObject }
  if (spec.family === 'rsa-oaep') {
    pair = generateKeyPairSync('rsa', { modulusLength: options.modulusLength ?? 2048 })
  } else {
    const crv = options.crv ?? 'P-256'
    if (crv === 'X25519') pair = generateKeyPairSync('x25519')
    else if (crv === 'P-256' || crv === 'P-384')
      pair = generateKeyPairSync('ec', { namedCurve: crv })
    else throw new TypeError('crv must be P-256, P-384 or X25519')
  }
  const { crv: _crv, modulusLength: _bits, ...keyOptions } = options
  const privateKey = new EncryptionKey(CONSTRUCT, pair.privateKey, alg, keyOptions)
  return { privateKey, publicKey: privateKey.publicKey }
}

/**
 * Generates a random secret: a `dir` key as long as `options.enc` needs, or
 * an AES key-wrap key (16 bytes for A128KW, 32 for A256KW).
 *
 * @example
 * const key = generateEncryptionSecret('dir', { enc: 'A256GCM' })
 */
export function generateEncryptionSecret(
  alg: 'dir' | 'A128KW' | 'A256KW',
  options: EncryptionKeyOptions = {},
): EncryptionKey {
  const spec = keyManagementSpec(alg)
  if (spec === undefined || (spec.family !== 'dir' && spec.family !== 'aes-kw')) {
    throw new TypeError('generateEncryptionSecret takes dir, A128KW or A256KW')
  }
  let bytes = spec.kekBytes
  if (spec.family === 'dir') {
    const enc = contentEncryptionSpec(options.enc)
    if (enc === undefined) throw new TypeError('a dir key needs options.enc')
    bytes = enc.cekBytes
  }
  return new EncryptionKey(CONSTRUCT, createSecretKey(randomBytes(bytes)), alg, options)
}

/**
 * Exports an encryption key as a JWK with `kid`, `alg` and `use: "enc"` (a
 * `dir` key's `alg` is its `enc`, as in RFC 7520 §5.6). Private and secret
 * material only with `includePrivate: true`.
 */
export function exportEncryptionJwk(
  key: EncryptionKey,
  options: { includePrivate?: boolean } = {},
): Jwk {
  if (!(key instanceof EncryptionKey))
    throw new TypeError('exportEncryptionJwk takes an EncryptionKey')
  let material: Jwk
  if (key.type === 'secret') {
    if (options.includePrivate !== true) {
      throw new JwtError('key_invalid', 'secret keys are exported only with includePrivate')
    }
    material = { kty: 'oct', k: key.secret!.toString('base64url') }
  } else {
    const source = options.includePrivate === true ? key : key.publicKey
    material = source.keyObject.export({ format: 'jwk' }) as Jwk
  }
  return { ...material, kid: key.kid, alg: key.alg === 'dir' ? key.enc! : key.alg, use: 'enc' }
}

/**
 * Encryption keys looked up by `kid`: the JWE counterpart of {@link KeySet}.
 * A JWE is decrypted only with the key its `kid` names, with that key's
 * algorithm.
 *
 * @example
 * const keys = EncryptionKeySet.fromJwks(privateJwks)
 * decrypt(jwe, keys).plaintext
 */
export class EncryptionKeySet {
  readonly #byKid = new Map<string, EncryptionKey>()

  constructor(keys: Iterable<EncryptionKey> = []) {
    for (const key of keys) this.add(key)
  }

  /**
   * Builds a set from a JWKS document. Keys it cannot use (signing keys,
   * other `kty`, keys without an `alg` when `options.alg` gives none, weak
   * RSA) are skipped unless `strict` is set, as RFC 7517 §5 asks.
   * `options.alg` is the algorithm of keys that carry none; keys whose
   * `alg` differs from it are skipped.
   */
  static fromJwks(
    jwks: Jwks,
    options: { strict?: boolean; alg?: KeyManagementAlgorithm } = {},
  ): EncryptionKeySet {
    if (jwks === null || typeof jwks !== 'object' || !Array.isArray(jwks.keys)) {
      throw new JwtError('key_invalid', 'a JWKS is an object with a "keys" array')
    }
    const set = new EncryptionKeySet()
    for (const jwk of jwks.keys) {
      let key: EncryptionKey
      try {
        key = importEncryptionJwk(jwk, options.alg === undefined ? {} : { alg: options.alg })
      } catch (error) {
        if (options.strict === true) throw error
        continue
      }
      if (set.has(key.kid)) {
        if (options.strict === true) throw new JwtError('key_invalid', 'duplicate "kid" in JWKS')
        continue
      }
      set.add(key)
    }
    return set
  }

  add(key: EncryptionKey): this {
    if (!(key instanceof EncryptionKey))
      throw new TypeError('EncryptionKeySet holds EncryptionKey objects')
    if (this.#byKid.has(key.kid)) throw new JwtError('key_invalid', 'duplicate kid in key set')
    this.#byKid.set(key.kid, key)
    return this
  }

  delete(kid: string): boolean {
    return this.#byKid.delete(kid)
  }

  get(kid: string): EncryptionKey | undefined {
    return this.#byKid.get(kid)
  }

  has(kid: string): boolean {
    return this.#byKid.has(kid)
  }

  get size(): number {
    return this.#byKid.size
  }

  [Symbol.iterator](): IterableIterator<EncryptionKey> {
    return this.#byKid.values()
  }

  /**
   * The key for a JWE header. A `kid` must name a key of the set; without a
   * `kid`, exactly one key of the JWE's `alg` (and `enc`, for keys bound to
   * one) must exist.
   */
  select(
    alg: KeyManagementAlgorithm,
    enc: ContentEncryption,
    kid: string | undefined,
  ): EncryptionKey {
    if (kid !== undefined) {
      const key = this.#byKid.get(kid)
      if (key === undefined) throw new JwtError('key_not_found', 'no key with this kid')
      if (key.alg !== alg) throw new JwtError('alg_not_allowed', 'the key does not use this alg')
      if (key.enc !== undefined && key.enc !== enc) {
        throw new JwtError('alg_not_allowed', 'the key does not use this enc')
      }
      return key
    }
    let found: EncryptionKey | undefined
    for (const key of this.#byKid.values()) {
      if (key.alg !== alg || (key.enc !== undefined && key.enc !== enc)) continue
      if (found !== undefined) {
        throw new JwtError('key_not_found', 'the JWE has no kid and several keys fit')
      }
      found = key
    }
    if (found === undefined) throw new JwtError('key_not_found', 'no key for this alg')
    return found
  }

  /** The public JWKS document: secret keys are never published. */
  toJwks(): Jwks {
    const keys: Jwk[] = []
    for (const key of this.#byKid.values()) {
      if (key.type !== 'secret') keys.push(exportEncryptionJwk(key))
    }
    return { keys }
  }
}
