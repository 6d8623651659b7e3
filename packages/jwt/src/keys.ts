import {
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  generateKeyPairSync,
  KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto'
import {
  type Algorithm,
  type AlgorithmSpec,
  algorithmSpec,
  CURVE_ALGORITHM,
  type Curve,
  RSA_PSS_PADDING,
} from './algorithms.ts'
import { base64urlLength, isCanonicalBase64url } from './base64url.ts'
import { derToRaw, rawToDer } from './ecdsa.ts'
import { JwtError } from './errors.ts'

export type KeyType = 'secret' | 'public' | 'private'

/** A JSON Web Key (RFC 7517), as far as signing keys go. */
export interface Jwk {
  kty: string
  kid?: string
  alg?: string
  use?: string
  key_ops?: string[]
  crv?: string
  x?: string
  y?: string
  d?: string
  n?: string
  e?: string
  p?: string
  q?: string
  dp?: string
  dq?: string
  qi?: string
  k?: string
  [member: string]: unknown
}

export interface Jwks {
  keys: Jwk[]
}

export interface KeyOptions {
  /** Key id; defaults to the RFC 7638 thumbprint of the key. */
  kid?: string
}

const NAMED_CURVES: Readonly<Record<string, Curve>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
}

const MIN_RSA_BITS = 2048
const CONSTRUCT = Symbol('tessera.key.construct')

/**
 * A key bound to exactly one algorithm (RFC 8725 §3.1: the algorithm comes
 * from the key, never from the token). Made by {@link importJwk},
 * {@link importPem}, {@link importSecret}, {@link importKeyObject},
 * {@link generateKeyPair} or {@link generateSecret}; each refuses weak keys.
 *
 * @example
 * const { privateKey, publicKey } = generateKeyPair('ES256')
 * const token = sign({ sub: 'u1' }, privateKey, { expiresIn: '15m' })
 * verify(token, publicKey).payload.sub // 'u1'
 */
export class Key {
  readonly kid: string
  readonly alg: Algorithm
  readonly type: KeyType
  readonly keyObject: KeyObject
  readonly #spec: AlgorithmSpec
  /**
   * What crypto.verify/crypto.sign take: the bare KeyObject wherever OpenSSL's
   * defaults are right (Node 24 handles a bare KeyObject 1.4-2.4x faster than
   * an options object), and options only for RSA-PSS.
   */
  readonly #cryptoKey: KeyObject | { key: KeyObject; padding: number; saltLength: number }
  /** ECDSA: bytes of R (and of S) in a JWS signature; 0 otherwise. */
  readonly #ecSize: number
  /** Expected signature length in base64url characters. */
  readonly #signatureChars: number
  #publicKey: Key | undefined
  /** Encoded protected headers by `typ`, so signing serializes them once. */
  readonly headerCache = new Map<string, string>()

  /** @internal Use the import and generate functions. */
  constructor(construct: symbol, keyObject: KeyObject, alg: Algorithm, kid: string | undefined) {
    if (construct !== CONSTRUCT) {
      throw new TypeError('Key is made by importJwk, importPem, importSecret or generateKeyPair')
    }
    const spec = algorithmSpec(alg)
    if (spec === undefined) throw new JwtError('key_invalid', 'unsupported algorithm')
    const signatureBytes = checkKeyFits(keyObject, spec)
    this.#spec = spec
    this.alg = alg
    this.keyObject = keyObject
    this.type = keyObject.type
    this.kid = kid ?? thumbprintOf(keyObject)
    if (typeof this.kid !== 'string' || this.kid.length === 0) {
      throw new JwtError('key_invalid', 'kid must be a non-empty string')
    }
    this.#signatureChars = base64urlLength(signatureBytes)
    // RS*: PKCS #1 v1.5 is OpenSSL's default for RSA keys. PS*, RFC 7518 §3.5:
    // the salt is as long as the hash output, MGF1 with the same hash.
    this.#cryptoKey =
      spec.family === 'rsa-pss'
        ? Object.freeze({ key: keyObject, padding: RSA_PSS_PADDING, saltLength: spec.hashBytes })
        : keyObject
    // RFC 7518 §3.4: JWS carries ECDSA signatures as R || S, converted to DER for OpenSSL.
    this.#ecSize = spec.family === 'ecdsa' ? signatureBytes / 2 : 0
  }

  /** The public half of an asymmetric key; a public key returns itself. */
  get publicKey(): Key {
    if (this.type === 'secret') throw new JwtError('key_invalid', 'a secret key has no public half')
    if (this.type === 'public') return this
    this.#publicKey ??= new Key(CONSTRUCT, createPublicKey(this.keyObject), this.alg, this.kid)
    return this.#publicKey
  }

  /**
   * Checks `signature` (base64url) over `signingInput` (ASCII). Never throws:
   * any malformed signature is simply not valid.
   */
  verifySignature(signingInput: string, signature: string): boolean {
    if (signature.length !== this.#signatureChars) return false
    const spec = this.#spec
    if (spec.family === 'hmac') {
      // The digest's own base64url is canonical, so comparing spellings also
      // rejects non-canonical ones. Constant time: RFC 7515 §10.7 timing attacks.
      const expected = createHmac(spec.hash!, this.keyObject)
        .update(signingInput)
        .digest('base64url')
      // UTF-8, not latin1: a non-ASCII lookalike must change the length, not truncate to ASCII.
      const given = Buffer.from(signature)
      return given.length === expected.length && timingSafeEqual(given, Buffer.from(expected))
    }
    if (!isCanonicalBase64url(signature)) return false
    let bytes: Buffer = Buffer.from(signature, 'base64url')
    if (this.#ecSize !== 0) bytes = rawToDer(bytes, this.#ecSize)
    try {
      return cryptoVerify(spec.hash, Buffer.from(signingInput), this.#cryptoKey, bytes)
    } catch {
      return false
    }
  }

  /** Signs `signingInput` (ASCII) and returns the base64url signature. */
  signData(signingInput: string): string {
    const spec = this.#spec
    if (spec.family === 'hmac') {
      return createHmac(spec.hash!, this.keyObject).update(signingInput).digest('base64url')
    }
    if (this.type !== 'private') throw new JwtError('key_invalid', 'signing needs a private key')
    const signature = cryptoSign(spec.hash, Buffer.from(signingInput), this.#cryptoKey)
    return (this.#ecSize === 0 ? signature : derToRaw(signature, this.#ecSize)).toString(
      'base64url',
    )
  }
}

/** Validates that the key material suits the algorithm; returns the signature size in bytes. */
function checkKeyFits(keyObject: KeyObject, spec: AlgorithmSpec): number {
  if (!(keyObject instanceof KeyObject)) throw new JwtError('key_invalid', 'not a KeyObject')
  if (spec.family === 'hmac') {
    if (keyObject.type !== 'secret') {
      // Closes the RS/HS confusion: a public key can never become an HMAC secret.
      throw new JwtError('key_invalid', `${spec.alg} needs a secret key`)
    }
    // RFC 7518 §3.2: the key must be at least as long as the hash output.
    if ((keyObject.symmetricKeySize ?? 0) < spec.hashBytes) {
      throw new JwtError(
        'key_invalid',
        `${spec.alg} secrets must be at least ${spec.hashBytes} bytes`,
      )
    }
    if (looksLikePublicKey(keyObject.export())) {
      // RFC 8725 §2.1: a published key used as an HMAC secret lets anyone sign.
      throw new JwtError('key_invalid', 'a PEM or JWK key is not an HMAC secret')
    }
    return spec.hashBytes
  }
  if (keyObject.type === 'secret') {
    throw new JwtError('key_invalid', `${spec.alg} needs an asymmetric key`)
  }
  const type = keyObject.asymmetricKeyType
  const details = keyObject.asymmetricKeyDetails ?? {}
  switch (spec.family) {
    case 'rsa':
    case 'rsa-pss': {
      if (type !== 'rsa' && !(spec.family === 'rsa-pss' && type === 'rsa-pss')) {
        throw new JwtError('key_invalid', `${spec.alg} needs an RSA key`)
      }
      const bits = details.modulusLength ?? 0
      if (bits < MIN_RSA_BITS) {
        throw new JwtError('key_invalid', `RSA keys must be at least ${MIN_RSA_BITS} bits`)
      }
      return Math.ceil(bits / 8)
    }
    case 'ecdsa': {
      const curve = type === 'ec' ? NAMED_CURVES[details.namedCurve ?? ''] : undefined
      if (curve !== spec.curve) {
        throw new JwtError('key_invalid', `${spec.alg} needs an EC key on ${spec.curve}`)
      }
      return spec.signatureBytes!
    }
    case 'eddsa':
      if (type !== 'ed25519') throw new JwtError('key_invalid', 'EdDSA needs an Ed25519 key')
      return spec.signatureBytes!
  }
  throw new JwtError('key_invalid', 'unsupported algorithm')
}

/** PEM text or JWK JSON, in whatever bytes they arrive as. */
function looksLikePublicKey(bytes: Buffer): boolean {
  if (bytes.includes('-----BEGIN ')) return true
  const text = bytes.toString('latin1').trim()
  return text.startsWith('{') && text.includes('"kty"')
}

/** The algorithm a key type implies on its own, when it implies exactly one. */
function impliedAlgorithm(keyObject: KeyObject): Algorithm | undefined {
  if (keyObject.asymmetricKeyType === 'ed25519') return 'EdDSA'
  if (keyObject.asymmetricKeyType === 'ec') {
    const curve = NAMED_CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? '']
    return curve === undefined ? undefined : CURVE_ALGORITHM[curve]
  }
  return undefined
}

function resolveAlgorithm(keyObject: KeyObject, alg: string | undefined): Algorithm {
  const implied = impliedAlgorithm(keyObject)
  if (alg === undefined) {
    if (implied === undefined) {
      throw new JwtError('key_invalid', 'the key needs an "alg": RSA and secret keys fit several')
    }
    return implied
  }
  const spec = algorithmSpec(alg)
  if (spec === undefined) throw new JwtError('key_invalid', 'unsupported or unknown "alg"')
  if (implied !== undefined && implied !== spec.alg) {
    throw new JwtError('key_invalid', `"alg" ${spec.alg} does not fit this key`)
  }
  return spec.alg
}

/**
 * RFC 7638 JWK thumbprint (SHA-256, base64url) of a key's public members.
 */
export function thumbprintOf(keyObject: KeyObject): string {
  let members: Record<string, unknown>
  if (keyObject.type === 'secret') {
    members = { k: keyObject.export().toString('base64url'), kty: 'oct' }
  } else {
    const pub = (keyObject.type === 'private' ? createPublicKey(keyObject) : keyObject).export({
      format: 'jwk',
    }) as Jwk
    // §3.2: only the required members, in lexicographic order, no whitespace.
    if (pub.kty === 'RSA') members = { e: pub.e, kty: pub.kty, n: pub.n }
    else if (pub.kty === 'EC') members = { crv: pub.crv, kty: pub.kty, x: pub.x, y: pub.y }
    else members = { crv: pub.crv, kty: pub.kty, x: pub.x }
  }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

/** Wraps a node:crypto KeyObject, bound to `alg` (implied by EC and Ed25519 keys). */
export function importKeyObject(
  keyObject: KeyObject,
  alg?: Algorithm,
  options: KeyOptions = {},
): Key {
  return new Key(CONSTRUCT, keyObject, resolveAlgorithm(keyObject, alg), options.kid)
}

const JWK_PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const

/**
 * Imports a JWK (RFC 7517/7518, RFC 8037 for Ed25519). The algorithm comes
 * from `jwk.alg`, from `options.alg`, or from the curve; RSA and `oct` keys
 * need one. `use` other than `sig` and RSA keys under 2048 bits are refused.
 *
 * @example
 * const key = importJwk({ kty: 'EC', crv: 'P-256', x: '…', y: '…', kid: 'k1' })
 */
export function importJwk(jwk: Jwk, options: KeyOptions & { alg?: Algorithm } = {}): Key {
  if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) {
    throw new JwtError('key_invalid', 'a JWK is a JSON object')
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') {
    throw new JwtError('key_invalid', 'the JWK is not for signatures ("use")')
  }
  if (jwk.key_ops !== undefined) {
    const ops = jwk.key_ops
    if (!Array.isArray(ops) || !(ops.includes('sign') || ops.includes('verify'))) {
      throw new JwtError('key_invalid', 'the JWK is not for signatures ("key_ops")')
    }
  }
  if (jwk.alg !== undefined && options.alg !== undefined && jwk.alg !== options.alg) {
    throw new JwtError('key_invalid', 'the JWK "alg" differs from the one asked for')
  }
  const kid = options.kid ?? jwk.kid
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0)) {
    throw new JwtError('key_invalid', 'the JWK "kid" must be a non-empty string')
  }
  const alg = (options.alg ?? jwk.alg) as string | undefined
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
      const input = {
        key: material as unknown as import('node:crypto').JsonWebKey,
        format: 'jwk' as const,
      }
      keyObject = jwk.d === undefined ? createPublicKey(input) : createPrivateKey(input)
    } else {
      throw new JwtError('key_invalid', 'unsupported JWK "kty"')
    }
  } catch (error) {
    if (error instanceof JwtError) throw error
    throw new JwtError('key_invalid', 'the JWK is not a valid key', { cause: error })
  }
  return new Key(CONSTRUCT, keyObject, resolveAlgorithm(keyObject, alg), kid)
}

/**
 * Imports a PEM key: SPKI or PKCS#1 public keys, X.509 certificates, PKCS#8,
 * SEC1 or PKCS#1 private keys.
 */
export function importPem(pem: string, alg?: Algorithm, options: KeyOptions = {}): Key {
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN ')) {
    throw new JwtError('key_invalid', 'not a PEM key')
  }
  let keyObject: KeyObject
  try {
    keyObject = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)
      ? createPrivateKey(pem)
      : createPublicKey(pem)
  } catch (error) {
    throw new JwtError('key_invalid', 'the PEM is not a valid key', { cause: error })
  }
  return new Key(CONSTRUCT, keyObject, resolveAlgorithm(keyObject, alg), options.kid)
}

/**
 * Imports an HMAC secret. Strings are taken as UTF-8 bytes, like the seeds'
 * `new TextEncoder().encode(secret)`; a PEM string is refused, so a public key
 * can never be used as an HMAC secret.
 */
export function importSecret(
  secret: Uint8Array | string,
  alg: 'HS256' | 'HS384' | 'HS512' = 'HS256',
  options: KeyOptions = {},
): Key {
  if (typeof secret === 'string') {
    if (secret.includes('-----BEGIN ')) {
      throw new JwtError('key_invalid', 'a PEM key is not an HMAC secret')
    }
    secret = Buffer.from(secret, 'utf8')
  }
  if (!(secret instanceof Uint8Array)) throw new JwtError('key_invalid', 'a secret is bytes')
  const keyObject = createSecretKey(secret)
  return new Key(CONSTRUCT, keyObject, resolveAlgorithm(keyObject, alg), options.kid)
}

/**
 * Generates a key pair for an asymmetric algorithm: P-256/384/521 for ES*,
 * Ed25519 for EdDSA, RSA (default 2048 bits) for RS* and PS*.
 */
export function generateKeyPair(
  alg: Exclude<Algorithm, 'HS256' | 'HS384' | 'HS512'>,
  options: KeyOptions & { modulusLength?: number } = {},
): { privateKey: Key; publicKey: Key } {
  const spec = algorithmSpec(alg)
  if (spec === undefined || spec.family === 'hmac') {
    throw new TypeError(
      `generateKeyPair takes an asymmetric algorithm; use generateSecret for ${alg}`,
    )
  }
  let pair: { privateKey: KeyObject; publicKey: KeyObject }
  switch (spec.family) {
    case 'ecdsa':
      pair = generateKeyPairSync('ec', { namedCurve: spec.curve! })
      break
    case 'eddsa':
      pair = generateKeyPairSync('ed25519')
      break
    default:
      pair = generateKeyPairSync('rsa', { modulusLength: options.modulusLength ?? 2048 })
  }
  const privateKey = new Key(CONSTRUCT, pair.privateKey, alg, options.kid)
  return { privateKey, publicKey: privateKey.publicKey }
}

/** Generates a random HMAC secret as long as the hash output (32, 48 or 64 bytes). */
export function generateSecret(
  alg: 'HS256' | 'HS384' | 'HS512' = 'HS256',
  options: KeyOptions = {},
): Key {
  const spec = algorithmSpec(alg)
  if (spec === undefined || spec.family !== 'hmac') {
    throw new TypeError('generateSecret takes HS256, HS384 or HS512')
  }
  return new Key(CONSTRUCT, createSecretKey(randomBytes(spec.hashBytes)), alg, options.kid)
}

/**
 * Exports a key as a JWK with `kid`, `alg` and `use: "sig"`. Private and
 * secret material is exported only with `includePrivate: true`; without it a
 * private key exports its public half and a secret key is refused.
 */
export function exportJwk(key: Key, options: { includePrivate?: boolean } = {}): Jwk {
  if (!(key instanceof Key)) throw new TypeError('exportJwk takes a Key')
  let material: Jwk
  if (key.type === 'secret') {
    if (options.includePrivate !== true) {
      throw new JwtError('key_invalid', 'secret keys are exported only with includePrivate')
    }
    material = { kty: 'oct', k: key.keyObject.export().toString('base64url') }
  } else {
    const source = options.includePrivate === true ? key : key.publicKey
    material = source.keyObject.export({ format: 'jwk' }) as Jwk
  }
  return { ...material, kid: key.kid, alg: key.alg, use: 'sig' }
}

/**
 * A set of keys looked up by `kid`: what a JWKS holds. A token is checked
 * only against the key its `kid` names, with that key's algorithm.
 *
 * @example
 * const keys = KeySet.fromJwks(await (await fetch(jwksUrl)).json())
 * verify(token, keys, { issuer: 'https://auth.example.com' })
 */
export class KeySet {
  readonly #byKid = new Map<string, Key>()

  constructor(keys: Iterable<Key> = []) {
    for (const key of keys) this.add(key)
  }

  /**
   * Builds a set from a JWKS document. Keys this library does not support
   * (other `kty`, encryption keys, weak RSA) are skipped unless `strict` is set,
   * as RFC 7517 §5 asks of JWK Set readers.
   */
  static fromJwks(jwks: Jwks, options: { strict?: boolean } = {}): KeySet {
    if (jwks === null || typeof jwks !== 'object' || !Array.isArray(jwks.keys)) {
      throw new JwtError('key_invalid', 'a JWKS is an object with a "keys" array')
    }
    const set = new KeySet()
    for (const jwk of jwks.keys) {
      let key: Key
      try {
        key = importJwk(jwk)
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

  add(key: Key): this {
    if (!(key instanceof Key)) throw new TypeError('KeySet holds Key objects')
    if (this.#byKid.has(key.kid)) throw new JwtError('key_invalid', 'duplicate kid in key set')
    this.#byKid.set(key.kid, key)
    return this
  }

  delete(kid: string): boolean {
    return this.#byKid.delete(kid)
  }

  get(kid: string): Key | undefined {
    return this.#byKid.get(kid)
  }

  has(kid: string): boolean {
    return this.#byKid.has(kid)
  }

  get size(): number {
    return this.#byKid.size
  }

  [Symbol.iterator](): IterableIterator<Key> {
    return this.#byKid.values()
  }

  /**
   * The key for a token header. A `kid` must name a key of the set; without a
   * `kid`, exactly one key of the token's algorithm must exist.
   */
  select(alg: Algorithm, kid: string | undefined): Key {
    if (kid !== undefined) {
      const key = this.#byKid.get(kid)
      if (key === undefined) throw new JwtError('key_not_found', 'no key with this kid')
      if (key.alg !== alg) throw new JwtError('alg_not_allowed', 'the key does not use this alg')
      return key
    }
    let found: Key | undefined
    for (const key of this.#byKid.values()) {
      if (key.alg !== alg) continue
      if (found !== undefined) {
        throw new JwtError('key_not_found', 'token has no kid and several keys fit')
      }
      found = key
    }
    if (found === undefined) throw new JwtError('key_not_found', 'no key for this alg')
    return found
  }

  /** The public JWKS document: secret keys are never published. */
  toJwks(): Jwks {
    const keys: Jwk[] = []
    for (const key of this.#byKid.values()) if (key.type !== 'secret') keys.push(exportJwk(key))
    return { keys }
  }
}
