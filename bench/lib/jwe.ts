/**
 * The JWE rows of `npm run bench:jwt`: Tessera's `encrypt` and `decrypt`
 * against jose's `CompactEncrypt` and `compactDecrypt` and against a bare
 * node:crypto floor (the least code that encrypts or decrypts the same alg
 * and enc, with no checks), on the same keys and plaintexts, in the same run.
 * Targets: >= 1.5x jose and >= 0.8x the floor, for each operation of each pair.
 */
import assert from 'node:assert/strict'
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto'
import {
  type ContentEncryption,
  decrypt,
  type EcdhCurve,
  type EncryptionKey,
  encrypt,
  exportEncryptionJwk,
  generateEncryptionKeyPair,
  generateEncryptionSecret,
  generateKeyPair,
  type KeyManagementAlgorithm,
  sign,
} from '@tessera/jwt'
import { CompactEncrypt, compactDecrypt, importJWK, type JWK } from 'jose'
import { type Contender, cycle, type Measurement, measureScenario } from './measure.ts'
import { formatOps, formatRatio, type Table } from './table.ts'

// ---------------------------------------------------------------- the pairs

export interface JwePair {
  alg: KeyManagementAlgorithm
  enc: ContentEncryption
  /** ECDH-ES: the recipient's curve. */
  crv?: EcdhCurve
}

export function pairLabel(pair: JwePair): string {
  return `${pair.alg} ${pair.enc}${pair.crv === undefined ? '' : ` ${pair.crv}`}`
}

const ALGS: readonly KeyManagementAlgorithm[] = [
  'dir',
  'A128KW',
  'A256KW',
  'ECDH-ES',
  'ECDH-ES+A128KW',
  'ECDH-ES+A256KW',
  'RSA-OAEP-256',
]
const ENCS: readonly ContentEncryption[] = ['A128GCM', 'A256GCM', 'A128CBC-HS256', 'A256CBC-HS512']
const CURVES: readonly EcdhCurve[] = ['P-256', 'P-384', 'X25519']

/** Every alg × enc pair (ECDH-ES on each curve): `--jwe all`. */
export const ALL_PAIRS: readonly JwePair[] = ALGS.flatMap((alg) =>
  ENCS.flatMap((enc) =>
    alg.startsWith('ECDH-ES') ? CURVES.map((crv) => ({ alg, enc, crv })) : [{ alg, enc }],
  ),
)

/**
 * The default rows: every alg and every enc at least once, each curve once.
 * The four encs are measured under `dir`, where nothing else costs; the key
 * management algorithms under A256GCM, the OpenID Connect default.
 */
export const DEFAULT_PAIRS: readonly JwePair[] = [
  { alg: 'dir', enc: 'A128GCM' },
  { alg: 'dir', enc: 'A256GCM' },
  { alg: 'dir', enc: 'A128CBC-HS256' },
  { alg: 'dir', enc: 'A256CBC-HS512' },
  { alg: 'A128KW', enc: 'A128GCM' },
  { alg: 'A256KW', enc: 'A256GCM' },
  { alg: 'ECDH-ES', enc: 'A256GCM', crv: 'P-256' },
  { alg: 'ECDH-ES', enc: 'A256GCM', crv: 'P-384' },
  { alg: 'ECDH-ES', enc: 'A256GCM', crv: 'X25519' },
  { alg: 'ECDH-ES+A128KW', enc: 'A128GCM', crv: 'P-256' },
  { alg: 'ECDH-ES+A256KW', enc: 'A256GCM', crv: 'P-256' },
  { alg: 'RSA-OAEP-256', enc: 'A256GCM' },
]

/**
 * `--jwe` values: `default`, `all`, `none`, or pairs written `alg/enc` or
 * `alg/enc/crv` (`ECDH-ES/A256GCM/X25519`; the curve defaults to P-256).
 * Returns the first value it does not know, as a string.
 */
export function parseJwePairs(values: readonly string[]): JwePair[] | string {
  const pairs: JwePair[] = []
  for (const value of values.flatMap((v) => v.split(',')).map((v) => v.trim())) {
    if (value === 'none') continue
    if (value === 'default') pairs.push(...DEFAULT_PAIRS)
    else if (value === 'all') pairs.push(...ALL_PAIRS)
    else {
      const [alg, enc, crv] = value.split('/')
      const pair = ALL_PAIRS.find(
        (p) =>
          p.alg === alg &&
          p.enc === enc &&
          (p.crv === undefined ? crv === undefined : p.crv === (crv ?? 'P-256')),
      )
      if (pair === undefined) return value
      pairs.push(pair)
    }
  }
  return pairs.filter(
    (pair, index) => pairs.findIndex((p) => pairLabel(p) === pairLabel(pair)) === index,
  )
}

// ---------------------------------------------------------------- keys

interface PairKeys {
  pair: JwePair
  kid: string
  /** Tessera: the recipient's public key (or the secret) and the private key (or the secret). */
  tessera: { encrypt: EncryptionKey; decrypt: EncryptionKey }
  /** jose: what `importJWK` gives its users, from the same JWKs. */
  jose: {
    encrypt: Awaited<ReturnType<typeof importJWK>>
    decrypt: Awaited<ReturnType<typeof importJWK>>
  }
  /** The bare floor: the secret bytes, or KeyObjects. */
  secret: Buffer | undefined
  publicKey: KeyObject | undefined
  privateKey: KeyObject | undefined
}

async function createPairKeys(pair: JwePair): Promise<PairKeys> {
  const kid = `bench-${pairLabel(pair).toLowerCase().replaceAll(' ', '-')}`
  let privateKey: EncryptionKey
  let publicKey: EncryptionKey
  if (pair.alg === 'dir') {
    privateKey = publicKey = generateEncryptionSecret('dir', { enc: pair.enc, kid })
  } else if (pair.alg === 'A128KW' || pair.alg === 'A256KW') {
    privateKey = publicKey = generateEncryptionSecret(pair.alg, { kid })
  } else {
    ;({ privateKey, publicKey } = generateEncryptionKeyPair(pair.alg, {
      kid,
      ...(pair.crv === undefined ? {} : { crv: pair.crv }),
    }))
  }
  const joseAlg = pair.alg === 'dir' ? pair.enc : pair.alg
  const secret = privateKey.type === 'secret'
  return {
    pair,
    kid,
    tessera: { encrypt: publicKey, decrypt: privateKey },
    jose: {
      encrypt: await importJWK(
        exportEncryptionJwk(publicKey, { includePrivate: secret }) as JWK,
        joseAlg,
      ),
      decrypt: await importJWK(
        exportEncryptionJwk(privateKey, { includePrivate: true }) as JWK,
        joseAlg,
      ),
    },
    secret: secret ? privateKey.keyObject.export() : undefined,
    publicKey: secret ? undefined : publicKey.keyObject,
    privateKey: secret
      ? undefined
      : createPrivateKey(privateKey.keyObject.export({ format: 'pem', type: 'pkcs8' })),
  }
}

// ---------------------------------------------------------------- the bare floor

/*
 * The floor is the least node:crypto code that produces and reads the same
 * compact JWE: a constant header (ECDH-ES: the ephemeral key added per
 * message), the key management and AES calls, base64url. It checks nothing a
 * JWE reader must (segment count, canonical base64url, lengths, allowlists,
 * crit, the epk's curve); AES-GCM's tag and the CBC HMAC are still checked,
 * since without them it would not be decryption at all.
 */

const CEK_BYTES: Record<ContentEncryption, number> = {
  A128GCM: 16,
  A256GCM: 32,
  'A128CBC-HS256': 32,
  'A256CBC-HS512': 64,
}
const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex')
const OAEP = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }

function u32(value: number): Buffer {
  const out = Buffer.alloc(4)
  out.writeUInt32BE(value)
  return out
}

/** RFC 7518 §4.6.2 Concat KDF, no apu/apv. */
function bareKdf(z: Buffer, bytes: number, algorithmId: string): Buffer {
  const id = Buffer.from(algorithmId)
  const rest = Buffer.concat([u32(id.length), id, u32(0), u32(0), u32(bytes * 8)])
  let out = Buffer.alloc(0)
  for (let counter = 1; out.length < bytes; counter++) {
    out = Buffer.concat([
      out,
      createHash('sha256').update(u32(counter)).update(z).update(rest).digest(),
    ])
  }
  return out.subarray(0, bytes)
}

function bareContentEncrypt(enc: ContentEncryption, cek: Buffer, aad: Buffer, plaintext: Buffer) {
  if (enc === 'A128GCM' || enc === 'A256GCM') {
    const iv = randomBytes(12)
    const cipher = createCipheriv(enc === 'A128GCM' ? 'aes-128-gcm' : 'aes-256-gcm', cek, iv)
    cipher.setAAD(aad)
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
    return { iv, ciphertext, tag: cipher.getAuthTag() }
  }
  const half = cek.length / 2
  const iv = randomBytes(16)
  const cipher = createCipheriv(half === 16 ? 'aes-128-cbc' : 'aes-256-cbc', cek.subarray(half), iv)
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
  const al = Buffer.alloc(8)
  al.writeUInt32BE(aad.length * 8, 4)
  const mac = createHmac(half === 16 ? 'sha256' : 'sha512', cek.subarray(0, half))
    .update(aad)
    .update(iv)
    .update(ciphertext)
    .update(al)
    .digest()
  return { iv, ciphertext, tag: mac.subarray(0, half) }
}

function bareContentDecrypt(
  enc: ContentEncryption,
  cek: Buffer,
  aad: Buffer,
  iv: Buffer,
  ciphertext: Buffer,
  tag: Buffer,
): Buffer {
  if (enc === 'A128GCM' || enc === 'A256GCM') {
    const decipher = createDecipheriv(enc === 'A128GCM' ? 'aes-128-gcm' : 'aes-256-gcm', cek, iv)
    decipher.setAAD(aad)
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(ciphertext), decipher.final()])
  }
  const half = cek.length / 2
  const al = Buffer.alloc(8)
  al.writeUInt32BE(aad.length * 8, 4)
  const mac = createHmac(half === 16 ? 'sha256' : 'sha512', cek.subarray(0, half))
    .update(aad)
    .update(iv)
    .update(ciphertext)
    .update(al)
    .digest()
  if (!timingSafeEqual(mac.subarray(0, half), tag)) throw new Error('decryption failed')
  const decipher = createDecipheriv(
    half === 16 ? 'aes-128-cbc' : 'aes-256-cbc',
    cek.subarray(half),
    iv,
  )
  return Buffer.concat([decipher.update(ciphertext), decipher.final()])
}

function bareEncryptor(keys: PairKeys): (plaintext: Buffer) => string {
  const { alg, enc } = keys.pair
  const cekBytes = CEK_BYTES[enc]
  const b64 = (data: Buffer | string) => Buffer.from(data).toString('base64url')
  const fixedHeader = b64(JSON.stringify({ alg, enc, kid: keys.kid }))
  const kwCipher = (bytes: number) => `id-aes${bytes * 8}-wrap`
  return (plaintext) => {
    let header = fixedHeader
    let cek: Buffer
    let encryptedKey = ''
    if (alg === 'dir') {
      cek = keys.secret!
    } else if (alg === 'A128KW' || alg === 'A256KW') {
      cek = randomBytes(cekBytes)
      const wrap = createCipheriv(kwCipher(keys.secret!.length), keys.secret!, KW_IV)
      encryptedKey = b64(Buffer.concat([wrap.update(cek), wrap.final()]))
    } else if (alg === 'RSA-OAEP-256') {
      cek = randomBytes(cekBytes)
      encryptedKey = b64(publicEncrypt({ key: keys.publicKey!, ...OAEP }, cek))
    } else {
      const ephemeral =
        keys.pair.crv === 'X25519'
          ? generateKeyPairSync('x25519')
          : generateKeyPairSync('ec', { namedCurve: keys.pair.crv! })
      const epk = ephemeral.publicKey.export({ format: 'jwk' })
      header = b64(JSON.stringify({ alg, enc, kid: keys.kid, epk }))
      const z = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: keys.publicKey! })
      if (alg === 'ECDH-ES') {
        cek = bareKdf(z, cekBytes, enc)
      } else {
        const kekBytes = alg === 'ECDH-ES+A128KW' ? 16 : 32
        cek = randomBytes(cekBytes)
        const wrap = createCipheriv(kwCipher(kekBytes), bareKdf(z, kekBytes, alg), KW_IV)
        encryptedKey = b64(Buffer.concat([wrap.update(cek), wrap.final()]))
      }
    }
    const { iv, ciphertext, tag } = bareContentEncrypt(enc, cek, Buffer.from(header), plaintext)
    return `${header}.${encryptedKey}.${b64(iv)}.${b64(ciphertext)}.${b64(tag)}`
  }
}

function bareDecryptor(keys: PairKeys): (jwe: string) => Buffer {
  const { alg, enc } = keys.pair
  const kwCipher = (bytes: number) => `id-aes${bytes * 8}-wrap`
  const unwrap = (kek: Buffer, wrapped: Buffer) => {
    const decipher = createDecipheriv(kwCipher(kek.length), kek, KW_IV)
    return Buffer.concat([decipher.update(wrapped), decipher.final()])
  }
  return (jwe) => {
    const [header, encryptedKey, iv, ciphertext, tag] = jwe.split('.') as [
      string,
      string,
      string,
      string,
      string,
    ]
    let cek: Buffer
    if (alg === 'dir') {
      cek = keys.secret!
    } else if (alg === 'A128KW' || alg === 'A256KW') {
      cek = unwrap(keys.secret!, Buffer.from(encryptedKey, 'base64url'))
    } else if (alg === 'RSA-OAEP-256') {
      cek = privateDecrypt(
        { key: keys.privateKey!, ...OAEP },
        Buffer.from(encryptedKey, 'base64url'),
      )
    } else {
      const { epk } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { epk: JsonWebKey }
      const z = diffieHellman({
        privateKey: keys.privateKey!,
        publicKey: createPublicKey({ key: epk, format: 'jwk' }),
      })
      cek =
        alg === 'ECDH-ES'
          ? bareKdf(z, CEK_BYTES[enc], enc)
          : unwrap(
              bareKdf(z, alg === 'ECDH-ES+A128KW' ? 16 : 32, alg),
              Buffer.from(encryptedKey, 'base64url'),
            )
    }
    return bareContentDecrypt(
      enc,
      cek,
      Buffer.from(header),
      Buffer.from(iv, 'base64url'),
      Buffer.from(ciphertext, 'base64url'),
      Buffer.from(tag, 'base64url'),
    )
  }
}

// ---------------------------------------------------------------- contenders

const TESSERA = 'tessera'
const JOSE = 'jose'
const BARE = 'bare node:crypto'

export type JweOperation = 'encrypt' | 'decrypt'

interface Impl<I, O> {
  name: string
  kind: 'sync' | 'async'
  run: (input: I) => O | Promise<O>
}

function encryptImpls(keys: PairKeys): Impl<Buffer, string>[] {
  const { alg, enc } = keys.pair
  const tesseraKey = keys.tessera.encrypt
  const options = { enc }
  const joseKey = keys.jose.encrypt
  const joseHeader = { alg, enc, kid: keys.kid }
  return [
    { name: TESSERA, kind: 'sync', run: (plaintext) => encrypt(plaintext, tesseraKey, options) },
    {
      name: JOSE,
      kind: 'async',
      run: (plaintext) =>
        new CompactEncrypt(plaintext).setProtectedHeader(joseHeader).encrypt(joseKey),
    },
    { name: BARE, kind: 'sync', run: bareEncryptor(keys) },
  ]
}

function decryptImpls(keys: PairKeys): Impl<string, Buffer>[] {
  const { alg, enc } = keys.pair
  const tesseraKey = keys.tessera.decrypt
  // The same allowlists for both: the pair's alg and enc only.
  const options = { algorithms: [alg], encryptions: [enc] }
  const joseKey = keys.jose.decrypt
  const joseOptions = { keyManagementAlgorithms: [alg], contentEncryptionAlgorithms: [enc] }
  return [
    { name: TESSERA, kind: 'sync', run: (jwe) => decrypt(jwe, tesseraKey, options).plaintext },
    {
      name: JOSE,
      kind: 'async',
      run: async (jwe) => Buffer.from((await compactDecrypt(jwe, joseKey, joseOptions)).plaintext),
    },
    { name: BARE, kind: 'sync', run: bareDecryptor(keys) },
  ]
}

// ---------------------------------------------------------------- correctness gate

export class JweGateError extends Error {}

/** Flips one byte in the middle of the ciphertext: every decryptor must refuse it. */
function tamper(jwe: string): string {
  const parts = jwe.split('.')
  const bytes = Buffer.from(parts[3]!, 'base64url')
  bytes[bytes.length >> 1]! ^= 0x01
  parts[3] = bytes.toString('base64url')
  return parts.join('.')
}

async function settle<T>(
  fn: () => T | Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false }> {
  try {
    return { ok: true, value: await fn() }
  } catch {
    return { ok: false }
  }
}

/** Each encryptor's output opens, with the same plaintext, in Tessera and in the floor. */
async function gateEncrypt(
  keys: PairKeys,
  impl: Impl<Buffer, string>,
  plaintext: Buffer,
): Promise<void> {
  const where = `${pairLabel(keys.pair)} ${impl.name} encrypt`
  const sealed = await settle(() => impl.run(plaintext))
  if (!sealed.ok) throw new JweGateError(`${where}: threw`)
  try {
    assert.ok(decrypt(sealed.value, keys.tessera.decrypt).plaintext.equals(plaintext))
    assert.ok(bareDecryptor(keys)(sealed.value).equals(plaintext))
  } catch {
    throw new JweGateError(`${where}: the JWE does not decrypt to the plaintext`)
  }
}

/** Each decryptor opens a JWE to its plaintext and refuses a tampered one. */
async function gateDecrypt(
  keys: PairKeys,
  impl: Impl<string, Buffer>,
  jwe: string,
  plaintext: Buffer,
) {
  const where = `${pairLabel(keys.pair)} ${impl.name} decrypt`
  const opened = await settle(() => impl.run(jwe))
  if (!opened.ok || !Buffer.from(opened.value).equals(plaintext)) {
    throw new JweGateError(`${where}: did not return the plaintext`)
  }
  if ((await settle(() => impl.run(tamper(jwe)))).ok) {
    throw new JweGateError(`${where}: accepted a tampered ciphertext`)
  }
}

// ---------------------------------------------------------------- the run

export interface JweResult {
  pair: string
  operation: JweOperation
  measurements: Measurement[]
}

export interface JweMeasureOptions {
  rounds: number
  roundMs: number
  warmupMs: number
  /** Distinct plaintexts (and JWEs) cycled through. */
  poolSize: number
}

/**
 * An ID token's worth of plaintext: an ES256-signed JWS of realistic claims
 * (what a nested JWT encrypts), about 600 bytes, distinct per `n`.
 */
function plaintexts(count: number): Buffer[] {
  const { privateKey } = generateKeyPair('ES256', { kid: 'bench-issuer' })
  const iat = Math.floor(Date.now() / 1000)
  return Array.from({ length: count }, (_, n) =>
    Buffer.from(
      sign(
        {
          iss: 'https://auth.example.com',
          sub: `user-${String(n).padStart(6, '0')}`,
          aud: 'client-0001',
          exp: iat + 3600,
          iat,
          auth_time: iat,
          nonce: randomBytes(16).toString('base64url'),
          email: `user${n}@example.com`,
          email_verified: true,
          name: 'Ada Lovelace',
        },
        privateKey,
        { timestamp: false },
      ),
    ),
  )
}

export async function benchJwe(
  pairs: readonly JwePair[],
  options: JweMeasureOptions,
  progress: (message: string) => void,
): Promise<JweResult[]> {
  if (pairs.length === 0) return []
  const pool = plaintexts(options.poolSize)
  const measure = { rounds: options.rounds, roundMs: options.roundMs, warmupMs: options.warmupMs }
  const results: JweResult[] = []
  for (const pair of pairs) {
    const label = pairLabel(pair)
    const setup = performance.now()
    const keys = await createPairKeys(pair)
    // Encrypted by the floor, so the pool owes nothing to any contender.
    const bareEncrypt = bareEncryptor(keys)
    const sealed = pool.map((plaintext) => bareEncrypt(plaintext))
    progress(
      `JWE ${label}: keys and ${sealed.length} JWEs in ${Math.round(performance.now() - setup)} ms`,
    )
    for (const operation of ['encrypt', 'decrypt'] as const) {
      const started = performance.now()
      let contenders: Contender[]
      if (operation === 'encrypt') {
        const impls = encryptImpls(keys)
        for (const impl of impls) await gateEncrypt(keys, impl, pool[0]!)
        contenders = impls.map((impl) => {
          const next = cycle(pool)
          const run = impl.run
          return { name: impl.name, kind: impl.kind, run: () => run(next()) }
        })
      } else {
        const impls = decryptImpls(keys)
        for (const impl of impls) await gateDecrypt(keys, impl, sealed[0]!, pool[0]!)
        contenders = impls.map((impl) => {
          const next = cycle(sealed)
          const run = impl.run
          return { name: impl.name, kind: impl.kind, run: () => run(next()) }
        })
      }
      const measurements = await measureScenario(contenders, measure)
      results.push({ pair: label, operation, measurements })
      const summary = measurements.map((m) => `${m.name} ${formatOps(m.opsPerSec)}`).join(', ')
      progress(
        `JWE ${label} ${operation} (${Math.round(performance.now() - started)} ms): ${summary}`,
      )
    }
  }
  return results
}

// ---------------------------------------------------------------- ratios and tables

export interface JweRatio {
  pair: string
  /** `JWE <pair>`: how the run's verdict names the row. */
  alg: string
  operation: JweOperation
  against: string
  ratio: number
  target: number
  pass: boolean
}

/** Targets: >= 1.5x jose and >= 0.8x the bare node:crypto floor, on every row. */
const TARGETS: Readonly<Record<string, number>> = { [JOSE]: 1.5, [BARE]: 0.8 }

function opsOf(result: JweResult, name: string): number | undefined {
  return result.measurements.find((m) => m.name === name)?.opsPerSec
}

export function jweRatios(results: readonly JweResult[]): JweRatio[] {
  const ratios: JweRatio[] = []
  for (const result of results) {
    const mine = opsOf(result, TESSERA)
    if (mine === undefined) continue
    for (const [against, target] of Object.entries(TARGETS)) {
      const theirs = opsOf(result, against)
      if (theirs === undefined) continue
      const ratio = mine / theirs
      ratios.push({
        pair: result.pair,
        alg: `JWE ${result.pair}`,
        operation: result.operation,
        against,
        ratio,
        target,
        pass: ratio >= target,
      })
    }
  }
  return ratios
}

export function jweOpsTable(results: readonly JweResult[]): Table {
  return {
    headers: ['JWE alg enc', 'Operation', 'Tessera', 'jose', 'bare node:crypto', 'Max spread'],
    align: ['left', 'left', 'right', 'right', 'right', 'right'],
    rows: results.map((result) => [
      result.pair,
      result.operation,
      ...[TESSERA, JOSE, BARE].map((name) => {
        const ops = opsOf(result, name)
        return ops === undefined ? 'n/a' : formatOps(ops)
      }),
      `${Math.round(Math.max(...result.measurements.map((m) => m.spread)) * 100)}%`,
    ]),
  }
}

export function jweRatioTable(results: readonly JweResult[], ratios: readonly JweRatio[]): Table {
  return {
    headers: ['JWE alg enc', 'Operation', 'vs jose', 'vs bare', 'Targets', 'Result'],
    align: ['left', 'left', 'right', 'right', 'left', 'left'],
    rows: results.map((result) => {
      const mine = ratios.filter((r) => r.pair === result.pair && r.operation === result.operation)
      const cell = (against: string) => {
        const found = mine.find((r) => r.against === against)
        return found === undefined ? 'n/a' : formatRatio(found.ratio)
      }
      const missed = mine.filter((r) => !r.pass).map((r) => r.against.replace(' node:crypto', ''))
      return [
        result.pair,
        result.operation,
        cell(JOSE),
        cell(BARE),
        'jose >= 1.5, bare >= 0.8',
        missed.length === 0 ? 'PASS' : `MISS (${missed.join(', ')})`,
      ]
    }),
  }
}
