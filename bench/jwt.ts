/**
 * `npm run bench:jwt`: Tessera's token engine against fast-jwt, jose,
 * jsonwebtoken and the bare node:crypto limit, measured in one run, on the
 * same keys, claims and checks. Prints ops/s and the ratios against the
 * targets; writes bench/results/jwt.json and its section of bench/RESULTS.md.
 * Fairness rules and flags: bench/README.md.
 */
import assert from 'node:assert/strict'
import {
  constants,
  createHmac,
  createSecretKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  randomUUID,
  timingSafeEqual,
  type webcrypto,
} from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  createVerifier,
  importKeyObject,
  importSecret,
  type Key,
  sign as tesseraSign,
  verify as tesseraVerify,
} from '@tessera/jwt'
import { createVerifier as createFastVerifier, createSigner } from 'fast-jwt'
import { jwtVerify, SignJWT } from 'jose'
import jsonwebtoken from 'jsonwebtoken'
import { parseCommandLine, UsageError } from './lib/cli.ts'
import {
  benchDpop,
  DPOP_BENCH_ALGS,
  type DpopBenchAlg,
  DpopGateError,
  type DpopRatio,
  type DpopResult,
  dpopOpsTable,
  dpopRatios,
  dpopRatioTable,
} from './lib/dpop.ts'
import {
  benchJwe,
  DEFAULT_PAIRS,
  JweGateError,
  type JwePair,
  type JweRatio,
  type JweResult,
  jweOpsTable,
  jweRatios,
  jweRatioTable,
  pairLabel,
  parseJwePairs,
} from './lib/jwe.ts'
import { type MachineInfo, machineInfo, packageVersion } from './lib/machine.ts'
import {
  type Contender,
  cycle,
  drainSink,
  type Measurement,
  measureScenario,
} from './lib/measure.ts'
import {
  formatOps,
  formatRatio,
  renderMarkdown,
  renderText,
  type Table,
  writeResultsSection,
} from './lib/table.ts'

// ---------------------------------------------------------------- options

const ALGORITHMS = ['HS256', 'RS256', 'PS256', 'ES256', 'EdDSA'] as const
type BenchAlg = (typeof ALGORITHMS)[number]

const USAGE = `Usage: npm run bench:jwt -- [options]

  --quick            tiny rounds, for a CI smoke run (~20 s); does not write results
  --alg <ALG>        only these algorithms (repeat or comma-separate): ${ALGORITHMS.join(', ')}
  --jwe <pairs>      JWE rows: default, all, none, or pairs as alg/enc[/crv] (ECDH-ES/A256GCM/X25519);
                     default: every alg and enc once (none when --alg is given)
  --rounds <n>       rounds per scenario (default 7, quick 3)
  --time <ms>        time per contender per round (default 400, quick 40)
  --write            write results/jwt.json and RESULTS.md even for a quick or filtered run
  --no-write         do not write them, even for a full run
  --strict           exit 1 when a target is missed
  -h, --help         this text`

interface Config {
  algs: BenchAlg[]
  quick: boolean
  rounds: number
  roundMs: number
  warmupMs: number
  /** Distinct tokens cycled by the verifiers without a cache (and claim sets cycled by signers). */
  poolSize: number
  /** Distinct tokens cycled by the cached verifiers: all fit in every cache. */
  cachePoolSize: number
  /** JWE alg/enc pairs timed (bench/lib/jwe.ts). */
  jwe: JwePair[]
  write: boolean
  strict: boolean
}

function positiveInteger(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw new UsageError(`--${name} takes a positive integer, not ${JSON.stringify(value)}`)
  }
  return parsed
}

function parseConfig(argv: string[]): Config | undefined {
  const { values } = parseArgs({
    args: argv,
    allowNegative: true,
    options: {
      quick: { type: 'boolean', default: false },
      alg: { type: 'string', multiple: true },
      jwe: { type: 'string', multiple: true },
      rounds: { type: 'string' },
      time: { type: 'string' },
      write: { type: 'boolean' },
      strict: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return undefined
  let algs: BenchAlg[] = [...ALGORITHMS]
  if (values.alg !== undefined) {
    const wanted = values.alg.flatMap((value) => value.split(',')).map((value) => value.trim())
    algs = []
    for (const name of wanted) {
      const alg = ALGORITHMS.find((a) => a.toLowerCase() === name.toLowerCase())
      if (alg === undefined) {
        throw new UsageError(`unknown --alg ${JSON.stringify(name)}: ${ALGORITHMS.join(', ')}`)
      }
      if (!algs.includes(alg)) algs.push(alg)
    }
    algs.sort((a, b) => ALGORITHMS.indexOf(a) - ALGORITHMS.indexOf(b))
  }
  const quick = values.quick
  const roundMs = positiveInteger(values.time, 'time', quick ? 40 : 400)
  let jwe: JwePair[] = values.alg === undefined ? [...DEFAULT_PAIRS] : []
  if (values.jwe !== undefined) {
    const parsed = parseJwePairs(values.jwe)
    if (typeof parsed === 'string') {
      throw new UsageError(
        `unknown --jwe ${JSON.stringify(parsed)}: default, all, none, or alg/enc[/crv]`,
      )
    }
    jwe = parsed
  }
  const complete =
    algs.length === ALGORITHMS.length &&
    DEFAULT_PAIRS.every((pair) => jwe.some((p) => pairLabel(p) === pairLabel(pair)))
  return {
    algs,
    quick,
    rounds: positiveInteger(values.rounds, 'rounds', quick ? 3 : 7),
    roundMs,
    warmupMs: Math.max(10, Math.round(roundMs / 2)),
    poolSize: quick ? 500 : 2000,
    cachePoolSize: 500,
    jwe,
    // A quick or partial run must not replace the committed full results by accident.
    write: values.write ?? (!quick && complete),
    strict: values.strict,
  }
}

// ---------------------------------------------------------------- keys and tokens

const ISSUER = 'https://auth.example.com'
const AUDIENCE = 'https://api.example.com'
const TYP = 'at+jwt'
/** Same lifetime for everyone; long enough that no token expires during a run. */
const LIFETIME_SECONDS = 3600

type CryptoKey = webcrypto.CryptoKey

/** One algorithm's keys, in the form each contender documents as its fast path. */
interface AlgKeys {
  alg: BenchAlg
  kid: string
  hmac: boolean
  /** node:crypto: the secret (HS) or the private half. */
  signKey: KeyObject
  /** node:crypto: the secret (HS) or the public half. */
  verifyKey: KeyObject
  /** Digest name for crypto.sign/verify; null for Ed25519, which hashes internally. */
  hash: string | null
  /**
   * Options for crypto.sign/verify when node's defaults are not the JWS ones
   * (PS256 only); otherwise the KeyObject is passed alone, node's fastest path.
   */
  cryptoOptions: { padding: number; saltLength: number } | undefined
  /** ES256: node signs and verifies DER; JWS carries R || S (RFC 7518 §3.4). */
  ecdsa: boolean
  tessera: { sign: Key; verify: Key }
  /** fast-jwt takes PEM strings, or the raw secret. */
  fastJwt: { sign: string | Buffer; verify: string | Buffer }
  /** jose: CryptoKeys, what importSPKI/importJWK/JWKS give its users. */
  jose: { sign: CryptoKey; verify: CryptoKey }
  /** jsonwebtoken 9 takes KeyObjects (the secret too). */
  jsonwebtoken: { sign: KeyObject; verify: KeyObject }
}

function createKeys(alg: BenchAlg): AlgKeys {
  const kid = `bench-${alg.toLowerCase()}`
  if (alg === 'HS256') {
    const secret = randomBytes(32)
    const keyObject = createSecretKey(secret)
    const tessera = importSecret(secret, 'HS256', { kid })
    const webAlg = { name: 'HMAC', hash: 'SHA-256' }
    return {
      alg,
      kid,
      hmac: true,
      signKey: keyObject,
      verifyKey: keyObject,
      hash: 'sha256',
      cryptoOptions: undefined,
      ecdsa: false,
      tessera: { sign: tessera, verify: tessera },
      fastJwt: { sign: secret, verify: secret },
      jose: {
        sign: keyObject.toCryptoKey(webAlg, false, ['sign']),
        verify: keyObject.toCryptoKey(webAlg, false, ['verify']),
      },
      jsonwebtoken: { sign: keyObject, verify: keyObject },
    }
  }
  let pair: { privateKey: KeyObject; publicKey: KeyObject }
  let webAlg: webcrypto.AlgorithmIdentifier | webcrypto.RsaHashedImportParams
  let cryptoOptions: AlgKeys['cryptoOptions']
  let hash: string | null = 'sha256'
  switch (alg) {
    case 'RS256':
      pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
      // PKCS#1 v1.5 is node's default RSA padding.
      webAlg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
      break
    case 'PS256':
      pair = generateKeyPairSync('rsa', { modulusLength: 2048 })
      webAlg = { name: 'RSA-PSS', hash: 'SHA-256' }
      // RFC 7518 §3.5: salt as long as the digest.
      cryptoOptions = {
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      }
      break
    case 'ES256':
      pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      webAlg = { name: 'ECDSA', namedCurve: 'P-256' } as webcrypto.AlgorithmIdentifier
      break
    case 'EdDSA':
      pair = generateKeyPairSync('ed25519')
      webAlg = { name: 'Ed25519' }
      hash = null
      break
  }
  const { privateKey, publicKey } = pair
  return {
    alg,
    kid,
    hmac: false,
    signKey: privateKey,
    verifyKey: publicKey,
    hash,
    cryptoOptions,
    ecdsa: alg === 'ES256',
    tessera: {
      sign: importKeyObject(privateKey, alg, { kid }),
      verify: importKeyObject(publicKey, alg, { kid }),
    },
    fastJwt: {
      sign: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      verify: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    },
    jose: {
      sign: privateKey.toCryptoKey(webAlg, false, ['sign']),
      verify: publicKey.toCryptoKey(webAlg, false, ['verify']),
    },
    jsonwebtoken: { sign: privateKey, verify: publicKey },
  }
}

/** A realistic RFC 9068 access token's claims, distinct per `n`. */
interface AccessClaims {
  iss: string
  sub: string
  aud: string
  exp: number
  iat: number
  jti: string
  sid: string
  roles: string[]
  scope: string
  [claim: string]: unknown
}

function accessClaims(n: number, overrides: Partial<AccessClaims> = {}): AccessClaims {
  const iat = Math.floor(Date.now() / 1000)
  return {
    iss: ISSUER,
    sub: `user-${String(n).padStart(6, '0')}`,
    aud: AUDIENCE,
    exp: iat + LIFETIME_SECONDS,
    iat,
    jti: randomUUID(),
    sid: randomUUID(),
    roles: ['member', 'billing:read', 'projects:write'],
    scope: 'openid profile email projects:read projects:write',
    ...overrides,
  }
}

// ---------------------------------------------------------------- the bare node:crypto limit

/*
 * The bare limit calls node:crypto the fastest correct way. On Node 24,
 * crypto.sign/verify take roughly twice as long with an options object
 * (`{ key, dsaEncoding: 'ieee-p1363' }`, even `{ key, padding }`) as with the
 * KeyObject alone, so the KeyObject goes alone wherever node's defaults are the
 * JWS ones, and ES256 signatures are converted between JOSE's R || S and DER
 * here, which costs far less than the option does.
 */

/** P-256 coordinate size in bytes. */
const P256_BYTES = 32

/** One DER INTEGER for an unsigned big-endian number: minimal, with a 0x00 when the top bit is set. */
function derInteger(bytes: Buffer): Buffer {
  let start = 0
  while (start < bytes.length - 1 && bytes[start] === 0) start++
  const pad = bytes[start]! & 0x80 ? 1 : 0
  const length = bytes.length - start + pad
  const out = Buffer.alloc(2 + length)
  out[0] = 0x02
  out[1] = length
  bytes.copy(out, 2 + pad, start)
  return out
}

/** JOSE R || S (64 bytes) to a DER ECDSA-Sig-Value; anything else comes out invalid. */
function joseToDer(signature: Buffer): Buffer {
  if (signature.length !== 2 * P256_BYTES) return Buffer.alloc(0)
  const r = derInteger(signature.subarray(0, P256_BYTES))
  const s = derInteger(signature.subarray(P256_BYTES))
  // At most 2 * 35 bytes for P-256: the short length form always fits.
  return Buffer.concat([Buffer.from([0x30, r.length + s.length]), r, s])
}

/** The DER ECDSA-Sig-Value node returns, as JOSE R || S, each left-padded to 32 bytes. */
function derToJose(der: Buffer): Buffer {
  const out = Buffer.alloc(2 * P256_BYTES)
  let offset = 2 // SEQUENCE tag and short-form length
  for (let part = 0; part < 2; part++) {
    const length = der[offset + 1]!
    let value = der.subarray(offset + 2, offset + 2 + length)
    if (value.length > P256_BYTES) value = value.subarray(value.length - P256_BYTES)
    value.copy(out, (part + 1) * P256_BYTES - value.length)
    offset += 2 + length
  }
  return out
}

/**
 * The least a verifier can do and still be a verifier: split, decode the
 * signature, check it with node:crypto, decode and parse the payload, look at
 * `exp`. No header parsing, no canonical-base64url checks, no iss/aud.
 */
function bareVerifier(keys: AlgKeys): (token: string) => Record<string, unknown> {
  const payloadOf = (token: string, dot1: number, dot2: number): Record<string, unknown> => {
    const payload = JSON.parse(
      Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString('utf8'),
    ) as Record<string, unknown>
    const exp = payload.exp
    if (typeof exp !== 'number' || exp <= Date.now() / 1000) throw new Error('expired')
    return payload
  }
  const split = (token: string): [number, number] => {
    const dot1 = token.indexOf('.')
    const dot2 = token.indexOf('.', dot1 + 1)
    if (dot1 === -1 || dot2 === -1) throw new Error('malformed')
    return [dot1, dot2]
  }
  const { verifyKey } = keys
  if (keys.hmac) {
    return (token) => {
      const [dot1, dot2] = split(token)
      const signature = Buffer.from(token.slice(dot2 + 1), 'base64url')
      const mac = createHmac('sha256', verifyKey).update(token.slice(0, dot2)).digest()
      if (signature.length !== mac.length || !timingSafeEqual(signature, mac)) {
        throw new Error('invalid signature')
      }
      return payloadOf(token, dot1, dot2)
    }
  }
  const { hash, ecdsa } = keys
  const key =
    keys.cryptoOptions === undefined ? verifyKey : { key: verifyKey, ...keys.cryptoOptions }
  return (token) => {
    const [dot1, dot2] = split(token)
    const decoded = Buffer.from(token.slice(dot2 + 1), 'base64url')
    const signature = ecdsa ? joseToDer(decoded) : decoded
    if (!cryptoVerify(hash, Buffer.from(token.slice(0, dot2)), key, signature)) {
      throw new Error('invalid signature')
    }
    return payloadOf(token, dot1, dot2)
  }
}

/** JSON.stringify + base64url + the signature; the header segment is constant, so built once. */
function bareSigner(keys: AlgKeys): (claims: AccessClaims) => string {
  const header = Buffer.from(JSON.stringify({ alg: keys.alg, typ: TYP, kid: keys.kid })).toString(
    'base64url',
  )
  const { signKey, hash } = keys
  if (keys.hmac) {
    return (claims) => {
      const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
      return `${input}.${createHmac('sha256', signKey).update(input).digest('base64url')}`
    }
  }
  const key = keys.cryptoOptions === undefined ? signKey : { key: signKey, ...keys.cryptoOptions }
  const { ecdsa } = keys
  return (claims) => {
    const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
    const signature = cryptoSign(hash, Buffer.from(input), key)
    return `${input}.${(ecdsa ? derToJose(signature) : signature).toString('base64url')}`
  }
}

// ---------------------------------------------------------------- contenders

const TESSERA = 'tessera'
const TESSERA_CACHE = 'tessera (cache)'
const FAST_JWT = 'fast-jwt'
const FAST_JWT_CACHE = 'fast-jwt (cache)'
const JOSE = 'jose'
const JSONWEBTOKEN = 'jsonwebtoken'
const BARE = 'bare node:crypto'

type Operation = 'verify' | 'verify (cache)' | 'sign'
const OPERATIONS: readonly Operation[] = ['verify', 'verify (cache)', 'sign']

interface VerifyImpl {
  name: string
  kind: 'sync' | 'async'
  verify: (token: string) => unknown
  /** The payload out of what `verify` returned (or resolved to). */
  payloadOf: (result: unknown) => unknown
  /** Whether it is configured to check iss and aud (all but the bare limit). */
  checksClaims: boolean
  /** The cache, to confirm afterwards that the timed calls were hits. */
  cacheSize?: () => number
}

interface SignImpl {
  name: string
  kind: 'sync' | 'async'
  sign: (claims: AccessClaims) => string | Promise<string>
}

function unwrapPayload(result: unknown): unknown {
  return (result as { payload: unknown }).payload
}

function identity(result: unknown): unknown {
  return result
}

function verifyImpls(keys: AlgKeys, cached: boolean): VerifyImpl[] {
  const { alg } = keys
  if (cached) {
    const tessera = createVerifier({
      key: keys.tessera.verify,
      algorithms: [alg],
      issuer: ISSUER,
      audience: AUDIENCE,
    })
    const fast = createFastVerifier({
      key: keys.fastJwt.verify,
      algorithms: [alg],
      allowedIss: ISSUER,
      allowedAud: AUDIENCE,
      requiredClaims: ['exp'],
      cache: true,
    })
    const fastCache = (fast as unknown as { cache: { size: number } }).cache
    return [
      {
        name: TESSERA_CACHE,
        kind: 'sync',
        verify: tessera,
        payloadOf: unwrapPayload,
        checksClaims: true,
        cacheSize: () => tessera.cache?.size ?? 0,
      },
      {
        name: FAST_JWT_CACHE,
        kind: 'sync',
        verify: fast,
        payloadOf: identity,
        checksClaims: true,
        cacheSize: () => fastCache.size,
      },
    ]
  }
  const tessera = createVerifier({
    key: keys.tessera.verify,
    algorithms: [alg],
    issuer: ISSUER,
    audience: AUDIENCE,
    cache: false,
  })
  const fast = createFastVerifier({
    key: keys.fastJwt.verify,
    algorithms: [alg],
    allowedIss: ISSUER,
    allowedAud: AUDIENCE,
    requiredClaims: ['exp'],
    cache: false,
  })
  const joseKey = keys.jose.verify
  const joseOptions = {
    algorithms: [alg],
    issuer: ISSUER,
    audience: AUDIENCE,
    requiredClaims: ['exp'],
  }
  const impls: VerifyImpl[] = [
    { name: TESSERA, kind: 'sync', verify: tessera, payloadOf: unwrapPayload, checksClaims: true },
    { name: FAST_JWT, kind: 'sync', verify: fast, payloadOf: identity, checksClaims: true },
    {
      name: JOSE,
      kind: 'async',
      verify: (token) => jwtVerify(token, joseKey, joseOptions),
      payloadOf: unwrapPayload,
      checksClaims: true,
    },
  ]
  if (jsonwebtokenSupports(alg)) {
    const key = keys.jsonwebtoken.verify
    const options: jsonwebtoken.VerifyOptions = {
      algorithms: [alg],
      issuer: ISSUER,
      audience: AUDIENCE,
    }
    impls.push({
      name: JSONWEBTOKEN,
      kind: 'sync',
      verify: (token) => jsonwebtoken.verify(token, key, options),
      payloadOf: identity,
      checksClaims: true,
    })
  }
  impls.push({
    name: BARE,
    kind: 'sync',
    verify: bareVerifier(keys),
    payloadOf: identity,
    checksClaims: false,
  })
  return impls
}

/** jsonwebtoken 9 (jws/jwa underneath) has no EdDSA. */
function jsonwebtokenSupports(alg: BenchAlg): alg is Exclude<BenchAlg, 'EdDSA'> {
  return alg !== 'EdDSA'
}

function signImpls(keys: AlgKeys): SignImpl[] {
  const { alg, kid } = keys
  const tesseraKey = keys.tessera.sign
  // The claims are complete (iat included), so no library is asked to add any.
  const tesseraOptions = { typ: TYP, timestamp: false }
  const fast = createSigner({
    key: keys.fastJwt.sign,
    algorithm: alg,
    kid,
    header: { alg, typ: TYP },
  })
  const joseKey = keys.jose.sign
  const joseHeader = { alg, typ: TYP, kid }
  const impls: SignImpl[] = [
    {
      name: TESSERA,
      kind: 'sync',
      sign: (claims) => tesseraSign(claims, tesseraKey, tesseraOptions),
    },
    { name: FAST_JWT, kind: 'sync', sign: (claims) => fast(claims) },
    {
      name: JOSE,
      kind: 'async',
      sign: (claims) => new SignJWT(claims).setProtectedHeader(joseHeader).sign(joseKey),
    },
  ]
  if (jsonwebtokenSupports(alg)) {
    const key = keys.jsonwebtoken.sign
    // iat is in the payload, so jsonwebtoken keeps it rather than adding its own.
    const options: jsonwebtoken.SignOptions = {
      algorithm: alg,
      keyid: kid,
      header: { alg, typ: TYP },
    }
    impls.push({
      name: JSONWEBTOKEN,
      kind: 'sync',
      sign: (claims) => jsonwebtoken.sign(claims, key, options),
    })
  }
  impls.push({ name: BARE, kind: 'sync', sign: bareSigner(keys) })
  return impls
}

// ---------------------------------------------------------------- correctness gate

class GateError extends Error {}

/** Re-encodes the payload with another `sub` and keeps the old signature. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.')
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as AccessClaims
  claims.sub = 'admin'
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`
}

interface GateTokens {
  valid: string
  validClaims: AccessClaims
  /** Must be refused by every contender, the bare limit included. */
  refusedByAll: Record<string, string>
  /** Must be refused by every contender told to check iss and aud. */
  refusedWithClaims: Record<string, string>
}

function gateTokens(keys: AlgKeys, pool: readonly string[], claims: readonly AccessClaims[]) {
  const sign = bareSigner(keys)
  const now = Math.floor(Date.now() / 1000)
  return {
    valid: pool[0]!,
    validClaims: claims[0]!,
    refusedByAll: {
      'tampered payload': tamper(pool[0]!),
      expired: sign(accessClaims(-1, { iat: now - 960, exp: now - 60 })),
    },
    refusedWithClaims: {
      'wrong audience': sign(accessClaims(-2, { aud: 'https://other.example.com' })),
      'wrong issuer': sign(accessClaims(-3, { iss: 'https://evil.example.com' })),
    },
  } satisfies GateTokens
}

async function settle(fn: () => unknown): Promise<{ ok: true; value: unknown } | { ok: false }> {
  try {
    return { ok: true, value: await fn() }
  } catch {
    return { ok: false }
  }
}

async function gateVerify(alg: BenchAlg, impl: VerifyImpl, tokens: GateTokens): Promise<void> {
  const where = `${alg} ${impl.name} verify`
  const accepted = await settle(() => impl.verify(tokens.valid))
  if (!accepted.ok) throw new GateError(`${where}: refused a valid token`)
  const payload = impl.payloadOf(accepted.value)
  try {
    assert.deepEqual(payload, JSON.parse(JSON.stringify(tokens.validClaims)))
  } catch {
    throw new GateError(`${where}: returned another payload than the token's`)
  }
  const mustRefuse = impl.checksClaims
    ? { ...tokens.refusedByAll, ...tokens.refusedWithClaims }
    : tokens.refusedByAll
  for (const [what, token] of Object.entries(mustRefuse)) {
    const outcome = await settle(() => impl.verify(token))
    if (outcome.ok) throw new GateError(`${where}: accepted a token with a ${what}`)
  }
}

async function gateSign(
  keys: AlgKeys,
  impl: SignImpl,
  claims: AccessClaims,
  check: (token: string) => unknown,
): Promise<void> {
  const where = `${keys.alg} ${impl.name} sign`
  const before = JSON.stringify(claims)
  const signed = await settle(() => impl.sign(claims))
  if (!signed.ok || typeof signed.value !== 'string') throw new GateError(`${where}: threw`)
  const token = signed.value
  if (JSON.stringify(claims) !== before)
    throw new GateError(`${where}: changed the caller's claims`)
  let header: unknown
  let payload: unknown
  try {
    // Two independent checks: the bare node:crypto verifier and Tessera's strict one.
    check(token)
    ;({ header, payload } = tesseraVerify(token, keys.tessera.verify, {
      issuer: ISSUER,
      audience: AUDIENCE,
    }))
  } catch {
    throw new GateError(`${where}: the token does not verify`)
  }
  try {
    assert.deepEqual(payload, JSON.parse(before))
    assert.deepEqual(header, { alg: keys.alg, typ: TYP, kid: keys.kid })
  } catch {
    throw new GateError(
      `${where}: the token does not carry exactly the claims and header asked for`,
    )
  }
}

// ---------------------------------------------------------------- the run

interface ScenarioResult {
  alg: BenchAlg
  operation: Operation
  measurements: Measurement[]
  /** Cached verifiers: entries in each cache after the run (should be the pool size). */
  cacheEntries?: Record<string, number>
}

function progress(message: string): void {
  process.stderr.write(`${message}\n`)
}

async function benchAlgorithm(alg: BenchAlg, config: Config): Promise<ScenarioResult[]> {
  const setupStart = performance.now()
  const keys = createKeys(alg)
  const bareSign = bareSigner(keys)
  const claims = Array.from({ length: config.poolSize }, (_, n) => accessClaims(n))
  // Signed by the bare limit, so the pool owes nothing to any contender.
  const pool = claims.map(bareSign)
  const cachePool = pool.slice(0, config.cachePoolSize)
  const gate = gateTokens(keys, pool, claims)
  const measure = { rounds: config.rounds, roundMs: config.roundMs, warmupMs: config.warmupMs }
  progress(
    `${alg}: keys and ${pool.length} tokens in ${Math.round(performance.now() - setupStart)} ms`,
  )

  const results: ScenarioResult[] = []
  for (const operation of OPERATIONS) {
    const started = performance.now()
    let contenders: Contender[]
    let cacheCheck: VerifyImpl[] = []
    if (operation === 'sign') {
      const impls = signImpls(keys)
      const check = bareVerifier(keys)
      for (const impl of impls) await gateSign(keys, impl, claims[0]!, check)
      contenders = impls.map((impl) => {
        const next = cycle(claims)
        const sign = impl.sign
        return { name: impl.name, kind: impl.kind, run: () => sign(next()) }
      })
    } else {
      const cached = operation === 'verify (cache)'
      const impls = verifyImpls(keys, cached)
      for (const impl of impls) await gateVerify(alg, impl, gate)
      const tokens = cached ? cachePool : pool
      // Fill the caches before timing, so the rounds time hits and nothing else.
      if (cached) for (const impl of impls) for (const token of cachePool) await impl.verify(token)
      contenders = impls.map((impl) => {
        const next = cycle(tokens)
        const verify = impl.verify
        return { name: impl.name, kind: impl.kind, run: () => verify(next()) }
      })
      if (cached) cacheCheck = impls
    }
    const measurements = await measureScenario(contenders, measure)
    const result: ScenarioResult = { alg, operation, measurements }
    if (cacheCheck.length > 0) {
      result.cacheEntries = {}
      for (const impl of cacheCheck) {
        const size = impl.cacheSize?.() ?? 0
        result.cacheEntries[impl.name] = size
        if (size < cachePool.length) {
          progress(
            `  warning: ${impl.name} holds ${size} of ${cachePool.length} tokens: misses were timed`,
          )
        }
      }
    }
    results.push(result)
    const summary = measurements.map((m) => `${m.name} ${formatOps(m.opsPerSec)}`).join(', ')
    progress(`${alg} ${operation} (${Math.round(performance.now() - started)} ms): ${summary}`)
  }
  return results
}

// ---------------------------------------------------------------- ratios and targets

interface Ratio {
  alg: BenchAlg
  operation: Operation
  /** Tessera's contender name and the peer's. */
  subject: string
  against: string
  ratio: number
  /** Minimum ratio the target asks for; absent for ratios reported for information. */
  target?: number
  pass?: boolean
}

/** Targets: verify >= 1.0x fast-jwt and >= 0.8x bare; sign >= 1.0x fast-jwt; cached >= 1.0x. */
const TARGETS: Record<Operation, Partial<Record<string, number>>> = {
  verify: { [FAST_JWT]: 1.0, [BARE]: 0.8 },
  'verify (cache)': { [FAST_JWT_CACHE]: 1.0 },
  sign: { [FAST_JWT]: 1.0 },
}

const PEERS: Record<Operation, { subject: string; against: string[] }> = {
  verify: { subject: TESSERA, against: [FAST_JWT, BARE, JOSE, JSONWEBTOKEN] },
  'verify (cache)': { subject: TESSERA_CACHE, against: [FAST_JWT_CACHE] },
  sign: { subject: TESSERA, against: [FAST_JWT, BARE, JOSE, JSONWEBTOKEN] },
}

function opsOf(result: ScenarioResult, name: string): number | undefined {
  return result.measurements.find((m) => m.name === name)?.opsPerSec
}

function computeRatios(results: readonly ScenarioResult[]): Ratio[] {
  const ratios: Ratio[] = []
  for (const result of results) {
    const { subject, against } = PEERS[result.operation]
    const mine = opsOf(result, subject)
    if (mine === undefined) continue
    for (const peer of against) {
      const theirs = opsOf(result, peer)
      if (theirs === undefined) continue
      const ratio = mine / theirs
      const target = TARGETS[result.operation][peer]
      ratios.push({
        alg: result.alg,
        operation: result.operation,
        subject,
        against: peer,
        ratio,
        ...(target === undefined ? {} : { target, pass: ratio >= target }),
      })
    }
  }
  return ratios
}

// ---------------------------------------------------------------- output

/** Column of the ops table for each contender; cached contenders share Tessera's and fast-jwt's. */
const OPS_COLUMNS: { header: string; names: string[] }[] = [
  { header: 'Tessera', names: [TESSERA, TESSERA_CACHE] },
  { header: 'fast-jwt', names: [FAST_JWT, FAST_JWT_CACHE] },
  { header: 'jose', names: [JOSE] },
  { header: 'jsonwebtoken', names: [JSONWEBTOKEN] },
  { header: 'bare node:crypto', names: [BARE] },
]

function opsTable(results: readonly ScenarioResult[]): Table {
  return {
    headers: ['Alg', 'Operation', ...OPS_COLUMNS.map((c) => c.header), 'Max spread'],
    align: ['left', 'left', ...OPS_COLUMNS.map(() => 'right' as const), 'right'],
    rows: results.map((result) => {
      const cells = OPS_COLUMNS.map((column) => {
        const m = result.measurements.find((x) => column.names.includes(x.name))
        if (m !== undefined) return formatOps(m.opsPerSec)
        if (result.operation === 'verify (cache)') return '-'
        return 'n/a'
      })
      const spread = Math.max(...result.measurements.map((m) => m.spread))
      return [result.alg, result.operation, ...cells, `${Math.round(spread * 100)}%`]
    }),
  }
}

const RATIO_COLUMNS = [FAST_JWT, BARE, JOSE, JSONWEBTOKEN] as const

function ratioTable(results: readonly ScenarioResult[], ratios: readonly Ratio[]): Table {
  return {
    headers: [
      'Alg',
      'Operation',
      'vs fast-jwt',
      'vs bare',
      'vs jose',
      'vs jsonwebtoken',
      'Targets',
      'Result',
    ],
    align: ['left', 'left', 'right', 'right', 'right', 'right', 'left', 'left'],
    rows: results.map((result) => {
      const mine = ratios.filter((r) => r.alg === result.alg && r.operation === result.operation)
      const cells = RATIO_COLUMNS.map((peer) => {
        const cachedPeer = result.operation === 'verify (cache)' && peer === FAST_JWT
        const found = mine.find((r) => r.against === (cachedPeer ? FAST_JWT_CACHE : peer))
        if (found !== undefined) return formatRatio(found.ratio)
        return result.operation === 'verify (cache)' ? '-' : 'n/a'
      })
      const targeted = mine.filter((r) => r.target !== undefined)
      const targets = targeted
        .map((r) => `${r.against.replace(' node:crypto', '')} >= ${r.target!.toFixed(1)}`)
        .join(', ')
      const missed = targeted.filter((r) => r.pass === false)
      const verdict =
        missed.length === 0
          ? 'PASS'
          : `MISS (${missed.map((r) => r.against.replace(' node:crypto', '')).join(', ')})`
      return [result.alg, result.operation, ...cells, targets, verdict]
    }),
  }
}

interface Report {
  benchmark: 'jwt'
  date: string
  durationSeconds: number
  machine: MachineInfo & { loadAverageAtEnd: number[] }
  packages: Record<string, string>
  config: Omit<Config, 'write' | 'strict'>
  results: ScenarioResult[]
  ratios: Ratio[]
  /** DPoP proof verification (bench/lib/dpop.ts), for the algorithms run that DPoP clients use. */
  dpop: { results: DpopResult[]; ratios: DpopRatio[] }
  /** JWE encrypt and decrypt (bench/lib/jwe.ts), for the pairs run. */
  jwe: { results: JweResult[]; ratios: JweRatio[] }
  allTargetsMet: boolean
}

function markdownSection(report: Report, results: ScenarioResult[], ratios: Ratio[]): string {
  const { machine, packages, config } = report
  const versions = Object.entries(packages)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ')
  const verdict = report.allTargetsMet
    ? 'Every target met.'
    : `Missed: ${[...ratios, ...report.dpop.ratios, ...report.jwe.ratios]
        .filter((r) => r.pass === false)
        .map(
          (r) =>
            `${r.alg} ${r.operation} vs ${r.against} (${formatRatio(r.ratio)} < ${r.target!.toFixed(1)})`,
        )
        .join('; ')}.`
  return `## JWT engine (\`npm run bench:jwt\`)

Generated by \`bench/jwt.ts\` on ${report.date}; how it measures: [bench/README.md](README.md).
${machine.cpuModel}, ${machine.cores} cores, ${machine.platform} ${machine.arch}, Node ${machine.node}
(OpenSSL ${machine.openssl}); load average ${machine.loadAverageAtStart.join(' / ')} at the start,
${machine.loadAverageAtEnd.join(' / ')} at the end.
${versions}.
${config.rounds} rounds of ${config.roundMs} ms per contender, median reported${config.quick ? ' (quick run: indicative only)' : ''}.

Operations per second (higher is better; "Max spread" is the widest (max - min) / median of the row):

${renderMarkdown(opsTable(results))}

Tessera's throughput divided by each peer's (above 1 means Tessera is faster):

${renderMarkdown(ratioTable(results, ratios))}
${dpopMarkdown(report.dpop)}${jweMarkdown(report.jwe)}
${verdict}
`
}

/** The JWE section of the results: absent when no JWE pair ran. */
function jweMarkdown(jwe: Report['jwe']): string {
  if (jwe.results.length === 0) return ''
  return `
JWE (RFC 7516, compact): \`encrypt\` and \`decrypt\` against jose's \`CompactEncrypt\` and
\`compactDecrypt\` (keys from \`importJWK\`, the same alg and enc allowlists) and against a bare
node:crypto floor (the least code that writes and reads the same JWE, checking nothing but the
tag), on ID-token-sized plaintexts (a ~600-byte signed JWT), operations per second:

${renderMarkdown(jweOpsTable(jwe.results))}

${renderMarkdown(jweRatioTable(jwe.results, jwe.ratios))}
`
}

/** The DPoP section of the results: absent when no DPoP algorithm ran. */
function dpopMarkdown(dpop: Report['dpop']): string {
  if (dpop.results.length === 0) return ''
  return `
DPoP proof verification (RFC 9449 §4.3, with the replay cache and \`ath\`, and the key's
thumbprint for \`cnf.jkt\`): \`verifyDpopProof\` against the same checks built from jose's
\`jwtVerify\` with \`EmbeddedJWK\` and \`calculateJwkThumbprint\`, a \`Map\` of \`jti\`s and
node:crypto's SHA-256, on proofs of 64 clients (and, for information, a new key per proof),
operations per second:

${renderMarkdown(dpopOpsTable(dpop.results))}

${renderMarkdown(dpopRatioTable(dpop.results, dpop.ratios))}
`
}

function writeOutputs(report: Report, benchDir: string): string[] {
  const resultsDir = join(benchDir, 'results')
  mkdirSync(resultsDir, { recursive: true })
  const jsonPath = join(resultsDir, 'jwt.json')
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`)
  const mdPath = join(benchDir, 'RESULTS.md')
  writeResultsSection(mdPath, 'jwt', markdownSection(report, report.results, report.ratios))
  return [jsonPath, mdPath]
}

async function main(): Promise<number> {
  const parsed = parseCommandLine(() => parseConfig(process.argv.slice(2)), USAGE)
  if ('exitCode' in parsed) return parsed.exitCode
  const config = parsed.settings
  const started = performance.now()
  const machine = machineInfo()
  const packages: Record<string, string> = {}
  for (const name of ['@tessera/jwt', 'fast-jwt', 'jose', 'jsonwebtoken']) {
    packages[name] = packageVersion(name)
  }
  progress(
    `bench:jwt ${config.quick ? '(quick) ' : ''}${config.algs.join(', ')}: ${config.rounds} rounds x ${config.roundMs} ms; ` +
      `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadAverageAtStart.join(' ')}`,
  )

  const results: ScenarioResult[] = []
  const dpopResults: DpopResult[] = []
  const jweResults: JweResult[] = []
  try {
    for (const alg of config.algs) results.push(...(await benchAlgorithm(alg, config)))
    const dpopAlgs = config.algs.filter((alg): alg is DpopBenchAlg =>
      (DPOP_BENCH_ALGS as readonly string[]).includes(alg),
    )
    const measure = { rounds: config.rounds, roundMs: config.roundMs, warmupMs: config.warmupMs }
    dpopResults.push(...(await benchDpop(dpopAlgs, measure, progress)))
    const jweMeasure = {
      rounds: config.rounds,
      roundMs: config.roundMs,
      warmupMs: config.warmupMs,
      poolSize: config.quick ? 50 : 200,
    }
    jweResults.push(...(await benchJwe(config.jwe, jweMeasure, progress)))
  } catch (error) {
    if (
      error instanceof GateError ||
      error instanceof DpopGateError ||
      error instanceof JweGateError
    ) {
      process.stderr.write(
        `\ncorrectness gate failed, nothing was timed for it: ${error.message}\n`,
      )
      return 3
    }
    throw error
  }
  drainSink()

  const ratios = computeRatios(results)
  const dpop = { results: dpopResults, ratios: dpopRatios(dpopResults) }
  const jwe = { results: jweResults, ratios: jweRatios(jweResults) }
  const allTargetsMet =
    ratios.every((r) => r.pass !== false) &&
    dpop.ratios.every((r) => r.pass !== false) &&
    jwe.ratios.every((r) => r.pass)
  const { write, strict, ...shownConfig } = config
  const report: Report = {
    benchmark: 'jwt',
    date: new Date().toISOString(),
    durationSeconds: Math.round((performance.now() - started) / 100) / 10,
    machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    packages,
    config: shownConfig,
    results,
    ratios,
    dpop,
    jwe,
    allTargetsMet,
  }

  process.stdout.write(`\nOperations per second (median of ${config.rounds} rounds)\n\n`)
  process.stdout.write(`${renderText(opsTable(results))}\n`)
  process.stdout.write('\nTessera / peer\n\n')
  process.stdout.write(`${renderText(ratioTable(results, ratios))}\n`)
  if (dpop.results.length > 0) {
    process.stdout.write('\nDPoP proof verification, operations per second, and Tessera / jose\n\n')
    process.stdout.write(`${renderText(dpopOpsTable(dpop.results))}\n\n`)
    process.stdout.write(`${renderText(dpopRatioTable(dpop.results, dpop.ratios))}\n`)
  }
  if (jwe.results.length > 0) {
    process.stdout.write('\nJWE encrypt and decrypt, operations per second, and Tessera / peer\n\n')
    process.stdout.write(`${renderText(jweOpsTable(jwe.results))}\n\n`)
    process.stdout.write(`${renderText(jweRatioTable(jwe.results, jwe.ratios))}\n`)
  }
  process.stdout.write(
    `\n${allTargetsMet ? 'All targets met.' : 'Some targets missed.'} (${report.durationSeconds} s)\n`,
  )

  if (write) {
    const benchDir = dirname(fileURLToPath(import.meta.url))
    const written = writeOutputs(report, benchDir)
    progress(`wrote ${written.map((path) => relative(process.cwd(), path)).join(', ')}`)
  } else {
    progress('results not written (quick, filtered or --no-write run; --write forces it)')
  }
  return strict && !allTargetsMet ? 1 : 0
}

process.exitCode = await main()
