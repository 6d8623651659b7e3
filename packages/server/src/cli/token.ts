// `tessera token decode|verify|sign`: a local jwt.io on the @tessera/jwt engine.
// decode trusts nothing and says what it sees; verify is as strict as the
// engine; sign is for tests and local development.

import { createPrivateKey, createPublicKey } from 'node:crypto'
import {
  ALGORITHMS,
  type Algorithm,
  createRemoteKeySet,
  decode,
  decrypt,
  type EncryptionKey,
  EncryptionKeySet,
  importEncryptionJwk,
  importEncryptionKeyObject,
  importJwk,
  importPem,
  importSecret,
  type Jwk,
  JwtError,
  type JwtPayload,
  type Key,
  type KeyManagementAlgorithm,
  type KeyResolver,
  KeySet,
  parseDuration,
  type SignOptions,
  sign,
  type VerifyOptions,
  verify,
} from '@tessera/jwt'
import { type Command, InvalidArgumentError } from 'commander'
import type { CliIo } from './io.ts'
import { CliError, parseJsonObject, printJson, printLine, readTextFile } from './output.ts'

// ---------------------------------------------------------------------------
// Option parsers (commander argParser): a bad value is a usage error, exit 2.

function parseAlgorithm(value: string): Algorithm {
  const alg = value.trim()
  if (!(ALGORITHMS as readonly string[]).includes(alg)) {
    throw new InvalidArgumentError(
      `unknown algorithm ${JSON.stringify(alg)}: one of ${ALGORITHMS.join(', ')}`,
    )
  }
  return alg as Algorithm
}

function parseAlgorithmList(value: string, previous: Algorithm[] | undefined): Algorithm[] {
  return [...(previous ?? []), ...value.split(',').map(parseAlgorithm)]
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}

function parseDurationOption(value: string): string {
  try {
    parseDuration(value)
  } catch {
    throw new InvalidArgumentError('a duration is seconds or a number with s, m, h, d or w: 15m')
  }
  return value
}

// ---------------------------------------------------------------------------
// Inputs

/** The token from the argument, or from stdin when the argument is `-`. */
async function readToken(io: CliIo, arg: string): Promise<string> {
  const raw = arg === '-' ? await io.readStdin() : arg
  // Accept a pasted `Authorization` value too.
  const token = raw.trim().replace(/^Bearer\s+/i, '')
  if (token === '') throw new CliError(arg === '-' ? 'no token on stdin' : 'the token is empty')
  return token
}

interface SecretSource {
  secret?: string
  secretFile?: string
}

/**
 * A base64url secret from `--secret` or `--secret-file`. A file may hold the
 * `kid:secret` form `tessera secret --kid` prints.
 */
function readSecret(
  io: CliIo,
  options: SecretSource,
): { bytes: Buffer; kid: string | undefined } | undefined {
  if (options.secret !== undefined && options.secretFile !== undefined) {
    throw new CliError('pass --secret or --secret-file, not both')
  }
  let text: string
  if (options.secret !== undefined) text = options.secret.trim()
  else if (options.secretFile !== undefined) {
    text = readTextFile(io, options.secretFile, 'secret file').trim()
  } else return undefined
  let kid: string | undefined
  const colon = text.indexOf(':')
  if (colon !== -1) {
    kid = text.slice(0, colon)
    text = text.slice(colon + 1)
  }
  // Only the canonical spelling, so one secret has one text form. The message
  // never repeats the value.
  const bytes = Buffer.from(text, 'base64url')
  if (text === '' || !/^[A-Za-z0-9_-]+$/.test(text) || bytes.toString('base64url') !== text) {
    throw new CliError('the secret must be base64url, as `tessera secret` prints it')
  }
  return { bytes, kid: kid === '' ? undefined : kid }
}

type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512'

function isHmac(alg: Algorithm): alg is HmacAlgorithm {
  return alg === 'HS256' || alg === 'HS384' || alg === 'HS512'
}

function hmacAlgorithm(alg: Algorithm | undefined): HmacAlgorithm {
  if (alg === undefined) return 'HS256'
  if (!isHmac(alg)) throw new CliError(`a secret signs with HS256, HS384 or HS512, not ${alg}`)
  return alg
}

const PRIVATE_PEM = /-----BEGIN [A-Z ]*PRIVATE KEY-----/

/** What a key file holds: a PEM key, a JWK, or a JWKS. */
type KeyFile =
  | { kind: 'pem'; pem: string }
  | { kind: 'jwk'; jwk: Jwk }
  | { kind: 'jwks'; keys: unknown[] }

function readKeyFile(io: CliIo, path: string): KeyFile {
  const text = readTextFile(io, path, 'key file').trim()
  if (text.startsWith('{')) {
    const json = parseJsonObject(text, `key file ${path}`)
    if (Array.isArray(json.keys)) return { kind: 'jwks', keys: json.keys }
    if (typeof json.kty === 'string') return { kind: 'jwk', jwk: json as Jwk }
    throw new CliError(`key file ${path} is JSON but neither a JWK nor a JWKS`)
  }
  if (text.includes('-----BEGIN ')) return { kind: 'pem', pem: text }
  throw new CliError(`key file ${path} holds neither a PEM key nor JWK JSON`)
}

/**
 * RSA keys fit RS* and PS* alike, so the user must name one (RFC 8725 §3.1:
 * never take it from the token). Said up front, with the flag to use.
 */
function requireAlgorithmForRsa(file: KeyFile, alg: Algorithm | undefined): void {
  if (alg !== undefined) return
  let rsa: boolean
  if (file.kind === 'jwk') rsa = file.jwk.kty === 'RSA' && file.jwk.alg === undefined
  else if (file.kind === 'pem') {
    try {
      rsa = createPublicKey(file.pem).asymmetricKeyType?.startsWith('rsa') === true
    } catch {
      return // importPem reports the bad PEM
    }
  } else return
  if (rsa) throw new CliError('an RSA key fits several algorithms: pass --alg (RS256, PS256, ...)')
}

/** Imports a JWK; `alg` applies only when the JWK names none (RSA and oct keys need one). */
function importJwkWith(jwk: Jwk, alg: Algorithm | undefined, kid?: string): Key {
  return importJwk(jwk, {
    ...(jwk.alg === undefined && alg !== undefined ? { alg } : {}),
    ...(kid === undefined ? {} : { kid }),
  })
}

/** The half of a key that verifies: a private key file verifies as its public key. */
function verifyingHalf(key: Key): Key {
  return key.type === 'private' ? key.publicKey : key
}

/**
 * The algorithm to bind a lone key to. RFC 8725 §3.1: the algorithm comes from
 * the user, never from the token; among several the user allowed, the token's
 * may pick (any other fails the allowlist check anyway).
 */
function chooseAlgorithm(allowed: readonly Algorithm[] | undefined, tokenAlg: unknown) {
  if (allowed === undefined || allowed.length === 0) return undefined
  return allowed.find((alg) => alg === tokenAlg) ?? allowed[0]
}

/** A JWKS file read as RFC 7517 §5 asks: keys we cannot use are skipped, not fatal. */
function keySetFromFile(keys: unknown[], alg: Algorithm | undefined): KeySet {
  const set = new KeySet()
  for (const jwk of keys) {
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) continue
    let key: Key
    try {
      key = verifyingHalf(importJwkWith(jwk as Jwk, alg))
    } catch {
      continue
    }
    if (!set.has(key.kid)) set.add(key)
  }
  if (set.size === 0) throw new JwtError('key_invalid', 'the JWKS holds no usable signing key')
  return set
}

// ---------------------------------------------------------------------------
// decode

const DAY = 86_400
/** `typ` values that say "access token": RFC 9068 `at+jwt`, and the generic `JWT` most carry. */
const ACCESS_TYPS = new Set(['at+jwt', 'jwt'])
const EMBEDDED_KEY_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const

/** What `decode --json` prints. */
export interface DecodeReport {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  warnings: string[]
  /** Seconds until `exp` (negative once expired); null without a numeric `exp`. */
  expiresIn: number | null
}

/** `14m 32s`, `3h`, `2d 4h`: the two largest units, for humans. */
export function formatSpan(seconds: number): string {
  let rest = Math.round(Math.abs(seconds))
  const parts: string[] = []
  for (const [unit, size] of [
    ['d', DAY],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const count = Math.floor(rest / size)
    rest -= count * size
    if (count > 0 || (parts.length > 0 && parts.length < 2)) parts.push(`${count}${unit}`)
    if (parts.length === 2) break
  }
  // Drop a trailing zero unit: "3h 0m" reads better as "3h".
  if (parts.length === 2 && parts[1]!.startsWith('0')) parts.pop()
  return parts.length === 0 ? '0s' : parts.join(' ')
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

/** ISO 8601 for a NumericDate, or a note when no Date can hold it. */
function isoDate(seconds: number): string {
  const date = new Date(seconds * 1000)
  return Number.isNaN(date.getTime()) ? 'out of the range of dates' : date.toISOString()
}

function normalizeTyp(typ: string): string {
  const lower = typ.toLowerCase()
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower
}

/**
 * Looks at a decoded token and lists what a reviewer should know. `now` is
 * in seconds. Pure: the CLI passes the clock in.
 */
export function inspectToken(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  now: number,
): { report: DecodeReport; timeLines: string[] } {
  const warnings: string[] = []
  const timeLines: string[] = []
  const show = (value: unknown): string => JSON.stringify(value) ?? String(value)

  const alg = header.alg
  if (typeof alg === 'string' && alg.toLowerCase() === 'none') {
    // The engine's decode reads any alg; verify knows none of these.
    warnings.push('alg none: never accept this token (it carries no signature)')
  } else if (alg === undefined) {
    warnings.push('no alg: verify refuses this token')
  } else if (!(ALGORITHMS as readonly unknown[]).includes(alg)) {
    warnings.push(`alg ${show(alg)} is not supported: verify refuses this token`)
  } else if (isHmac(alg as Algorithm)) {
    warnings.push(`alg ${alg as string}: anyone with the secret can mint tokens`)
  }
  if (header.kid === undefined) {
    warnings.push('no kid: a verifier holding several keys cannot tell which one signed it')
  } else if (typeof header.kid !== 'string') {
    warnings.push('kid is not a string: verify refuses this token')
  }
  const typ = header.typ
  if (typ === undefined) {
    warnings.push('typ missing: nothing tells this token apart from other JWTs (RFC 8725 §3.11)')
  } else if (typeof typ !== 'string') {
    warnings.push('typ is not a string: verify refuses this token')
  }
  if (header.crit !== undefined) {
    warnings.push(`crit ${show(header.crit)}: a verifier that does not know these must refuse it`)
  }
  for (const name of EMBEDDED_KEY_HEADERS) {
    if (header[name] !== undefined) {
      warnings.push(`header carries "${name}": never take the verification key from the token`)
    }
  }
  if (header.b64 !== undefined && header.b64 !== true) {
    warnings.push('b64 is not true (RFC 7797 unencoded payload): verify refuses this token')
  }

  const { iat, nbf, exp } = payload
  if (iat !== undefined) {
    if (!isNumericDate(iat)) warnings.push('iat is not a number: verify refuses this token')
    else {
      const ago = now - iat
      timeLines.push(
        `issued at   ${isoDate(iat)} (${ago >= 0 ? `${formatSpan(ago)} ago` : `in ${formatSpan(ago)}`})`,
      )
      if (ago < 0) warnings.push('iat is in the future: a skewed issuer clock, or a forged token')
    }
  }
  if (nbf !== undefined) {
    if (!isNumericDate(nbf)) warnings.push('nbf is not a number: verify refuses this token')
    else {
      const until = nbf - now
      timeLines.push(
        `not before  ${isoDate(nbf)} (${until > 0 ? `valid in ${formatSpan(until)}` : `valid since ${formatSpan(until)} ago`})`,
      )
    }
  }
  let expiresIn: number | null = null
  if (exp === undefined) {
    warnings.push('no exp: this token never expires')
  } else if (!isNumericDate(exp)) {
    warnings.push('exp is not a number: verify refuses this token')
  } else {
    expiresIn = Math.floor(exp - now)
    // Same boundary as verify: expired once exp <= now.
    timeLines.push(
      `expires     ${isoDate(exp)} (${expiresIn > 0 ? `expires in ${formatSpan(expiresIn)}` : `expired ${formatSpan(expiresIn)} ago`})`,
    )
    const accessLike =
      typ === undefined || (typeof typ === 'string' && ACCESS_TYPS.has(normalizeTyp(typ)))
    const limit = accessLike ? DAY : 30 * DAY
    if (expiresIn > limit) {
      warnings.push(
        accessLike
          ? `exp is ${formatSpan(expiresIn)} away: far too long for an access token (minutes are usual)`
          : `exp is ${formatSpan(expiresIn)} away: a long-lived token is hard to revoke`,
      )
    }
    if (isNumericDate(nbf) && nbf >= exp)
      warnings.push('nbf is not before exp: this token is never valid')
  }
  return { report: { header, payload, warnings, expiresIn }, timeLines }
}

async function decodeAction(io: CliIo, arg: string, options: { json?: boolean }): Promise<void> {
  const { header, payload } = decode(await readToken(io, arg))
  const { report, timeLines } = inspectToken(header, payload, Date.now() / 1000)
  if (options.json === true) {
    printJson(io, report)
    return
  }
  printLine(io, 'Header:')
  printJson(io, report.header)
  printLine(io, 'Claims:')
  printJson(io, report.payload)
  if (timeLines.length > 0) {
    printLine(io)
    for (const line of timeLines) printLine(io, line)
  }
  if (report.warnings.length > 0) {
    printLine(io)
    for (const warning of report.warnings) printLine(io, `warning: ${warning}`)
  }
}

// ---------------------------------------------------------------------------
// verify

interface VerifyCliOptions extends SecretSource {
  jwks?: string
  iss?: string[]
  aud?: string[]
  alg?: Algorithm[]
  typ?: string
  sub?: string
  clockTolerance?: string
  requireExp: boolean
}

/** The keys `verify` checks against; `lone` when it is one key bound to one algorithm. */
type VerificationKeys =
  | { kind: 'local'; keys: Key | KeySet; lone: Key | undefined }
  | { kind: 'remote'; keys: KeyResolver; lone: undefined }

function verificationKeys(
  io: CliIo,
  options: VerifyCliOptions,
  tokenAlg: unknown,
): VerificationKeys {
  const secret = readSecret(io, options)
  if ((secret === undefined) === (options.jwks === undefined)) {
    throw new CliError('pass exactly one of --jwks, --secret or --secret-file')
  }
  const alg = chooseAlgorithm(options.alg, tokenAlg)
  if (secret !== undefined) {
    const key = importSecret(secret.bytes, hmacAlgorithm(alg))
    return { kind: 'local', keys: key, lone: key }
  }
  const source = options.jwks!
  if (/^https?:\/\//i.test(source)) {
    try {
      return { kind: 'remote', keys: createRemoteKeySet(source), lone: undefined }
    } catch (error) {
      if (error instanceof TypeError) throw new CliError(`--jwks: ${error.message}`)
      throw error
    }
  }
  const file = readKeyFile(io, source)
  if (file.kind === 'jwks') {
    return { kind: 'local', keys: keySetFromFile(file.keys, alg), lone: undefined }
  }
  requireAlgorithmForRsa(file, alg)
  const key = verifyingHalf(
    file.kind === 'jwk' ? importJwkWith(file.jwk, alg) : importPem(file.pem, alg),
  )
  return { kind: 'local', keys: key, lone: key }
}

/** `"a"`, or `"a" or "b"`: what an option asked for. */
function expected(values: readonly string[]): string {
  return values.map((value) => JSON.stringify(value)).join(' or ')
}

/**
 * The engine's `unexpected "iss"` names neither value (a library message must
 * not echo what it is given); here the user holds the token and typed the
 * option, so say both. The token's values are claims, never key material.
 */
function explainMismatch(
  error: unknown,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  options: VerifyCliOptions,
): unknown {
  if (!(error instanceof JwtError) || error.code !== 'claim_invalid') return error
  const show = (value: unknown): string =>
    value === undefined ? 'none' : (JSON.stringify(value) ?? String(value))
  const mismatch = (name: string, actual: unknown, wanted: readonly string[], flag: string) =>
    new JwtError(
      'claim_invalid',
      `unexpected "${name}": the token has ${show(actual)}, ${flag} expects ${expected(wanted)}`,
      { claim: name, cause: error },
    )
  // Only the engine's "unexpected" messages: "must be a string" and
  // "is required" already say what is wrong.
  if (error.message !== `unexpected "${error.claim}"`) return error
  switch (error.claim) {
    case 'iss':
      if (options.iss !== undefined) return mismatch('iss', payload.iss, options.iss, '--iss')
      break
    case 'aud':
      if (options.aud !== undefined) return mismatch('aud', payload.aud, options.aud, '--aud')
      break
    case 'sub':
      if (options.sub !== undefined) return mismatch('sub', payload.sub, [options.sub], '--sub')
      break
    case 'typ':
      if (options.typ !== undefined) return mismatch('typ', header.typ, [options.typ], '--typ')
      break
  }
  return error
}

async function verifyAction(io: CliIo, arg: string, options: VerifyCliOptions): Promise<void> {
  const token = await readToken(io, arg)
  // A malformed token is a usage error (exit 2) before any key is read; the
  // header also picks among several --alg values for a lone key.
  const { header, payload: claimed } = decode(token)
  const source = verificationKeys(io, options, header.alg)
  const lone = source.lone
  const verifyOptions: VerifyOptions = {}
  if (options.alg !== undefined) verifyOptions.algorithms = options.alg
  if (options.iss !== undefined) verifyOptions.issuer = options.iss
  if (options.aud !== undefined) verifyOptions.audience = options.aud
  if (options.typ !== undefined) verifyOptions.typ = options.typ
  if (options.sub !== undefined) verifyOptions.subject = options.sub
  if (options.clockTolerance !== undefined) verifyOptions.clockTolerance = options.clockTolerance
  if (!options.requireExp) verifyOptions.requiredClaims = []
  let payload: JwtPayload
  try {
    payload =
      source.kind === 'local'
        ? verify(token, source.keys, verifyOptions).payload
        : (await verify(token, source.keys, verifyOptions)).payload
  } catch (error) {
    // Say which algorithms clashed: the engine's message names neither.
    if (
      error instanceof JwtError &&
      error.code === 'alg_not_allowed' &&
      lone !== undefined &&
      (ALGORITHMS as readonly unknown[]).includes(header.alg) &&
      header.alg !== lone.alg
    ) {
      const hint = options.alg === undefined ? " (--alg picks the key's)" : ''
      throw new JwtError(
        'alg_not_allowed',
        `the token uses ${JSON.stringify(header.alg)}, the key ${lone.alg}${hint}`,
      )
    }
    throw explainMismatch(error, header, claimed, options)
  }
  printLine(io, 'valid')
  printJson(io, payload)
}

// ---------------------------------------------------------------------------
// sign

interface SignCliOptions extends SecretSource {
  key?: string
  alg?: Algorithm
  kid?: string
  exp: string | false
  nbf?: string
  iss?: string
  aud?: string[]
  sub?: string
  jti?: string | true
  typ: string
  claims?: string
  claimsFile?: string
}

function signingKey(io: CliIo, options: SignCliOptions): Key {
  const secret = readSecret(io, options)
  if ((secret === undefined) === (options.key === undefined)) {
    throw new CliError('pass exactly one of --key, --secret or --secret-file')
  }
  if (secret !== undefined) {
    const kid = options.kid ?? secret.kid
    return importSecret(secret.bytes, hmacAlgorithm(options.alg), kid === undefined ? {} : { kid })
  }
  const path = options.key!
  const file = readKeyFile(io, path)
  if (file.kind === 'jwks') {
    throw new CliError(`key file ${path} is a JWKS: signing takes one private key (PEM or JWK)`)
  }
  requireAlgorithmForRsa(file, options.alg)
  if (file.kind === 'jwk') {
    if (file.jwk.d === undefined && file.jwk.kty !== 'oct') {
      throw new CliError(`key file ${path} holds a public key: signing needs the private key`)
    }
    return importJwkWith(file.jwk, options.alg, options.kid)
  }
  if (!PRIVATE_PEM.test(file.pem)) {
    throw new CliError(`key file ${path} holds a public key: signing needs the private key`)
  }
  return importPem(file.pem, options.alg, options.kid === undefined ? {} : { kid: options.kid })
}

function readClaims(io: CliIo, options: SignCliOptions): Record<string, unknown> {
  if (options.claims !== undefined && options.claimsFile !== undefined) {
    throw new CliError('pass --claims or --claims-file, not both')
  }
  if (options.claims !== undefined) return parseJsonObject(options.claims, '--claims')
  if (options.claimsFile !== undefined) {
    const path = options.claimsFile
    return parseJsonObject(readTextFile(io, path, 'claims file'), `claims file ${path}`)
  }
  return {}
}

function signAction(io: CliIo, options: SignCliOptions, command: Command): void {
  const claims = readClaims(io, options)
  const key = signingKey(io, options)
  const signOptions: SignOptions = { typ: options.typ }
  // The default lifetime gives way to an `exp` the claims carry; an explicit --exp does not.
  const explicitExp = command.getOptionValueSource('exp') === 'cli'
  if (options.exp !== false && (explicitExp || claims.exp === undefined)) {
    signOptions.expiresIn = options.exp
  }
  if (options.nbf !== undefined) signOptions.notBefore = options.nbf
  if (options.iss !== undefined) signOptions.issuer = options.iss
  if (options.sub !== undefined) signOptions.subject = options.sub
  if (options.aud !== undefined) {
    signOptions.audience = options.aud.length === 1 ? options.aud[0]! : options.aud
  }
  if (options.jti !== undefined) signOptions.jwtId = options.jti
  let token: string
  try {
    token = sign(claims, key, signOptions)
  } catch (error) {
    // sign's TypeErrors are input conflicts (a claim set twice), not bugs.
    if (error instanceof TypeError) throw new CliError(error.message)
    throw error
  }
  printLine(io, token)
}

// ---------------------------------------------------------------------------
// decrypt

/** The JWE's protected header, read only to pick a PEM key's algorithm. */
function jweAlg(jwe: string): KeyManagementAlgorithm {
  try {
    const header = JSON.parse(Buffer.from(jwe.split('.')[0] ?? '', 'base64url').toString('utf8'))
    return header.alg as KeyManagementAlgorithm
  } catch {
    throw new JwtError('malformed', 'the JWE header is not JSON')
  }
}

/** The private key(s) of `--key`: a JWK, a JWKS (its `kid` picks the key) or a PEM private key. */
function decryptionKeys(io: CliIo, path: string, jwe: string): EncryptionKey | EncryptionKeySet {
  const text = readTextFile(io, path, 'key file').trim()
  if (text.startsWith('-----BEGIN')) {
    let keyObject: ReturnType<typeof createPrivateKey>
    try {
      keyObject = createPrivateKey(text)
    } catch {
      throw new CliError('the key file is not a PEM private key')
    }
    return importEncryptionKeyObject(keyObject, jweAlg(jwe))
  }
  const document = parseJsonObject(text, 'key file')
  if (Array.isArray(document.keys)) {
    return EncryptionKeySet.fromJwks(document as unknown as { keys: Jwk[] })
  }
  return importEncryptionJwk(document as Jwk)
}

async function decryptAction(
  io: CliIo,
  arg: string,
  options: { key: string; json?: boolean },
): Promise<void> {
  const jwe = await readToken(io, arg)
  const { header, plaintext } = decrypt(jwe, decryptionKeys(io, options.key, jwe))
  const text = plaintext.toString('utf8')
  const nested = typeof header.cty === 'string' && header.cty.toUpperCase() === 'JWT'
  let content: unknown = text
  try {
    content = nested ? decode(text) : JSON.parse(text)
  } catch {
    // Not JSON (or not a JWT after all): shown as text.
  }
  if (options.json === true) {
    printJson(io, { header, ...(nested ? { jwt: text, nested: content } : { plaintext: content }) })
    return
  }
  printLine(io, 'Header:')
  printJson(io, header)
  if (nested) {
    printLine(io, 'Nested JWT (its signature is NOT verified here: `tessera token verify` it):')
    printLine(io, text)
    if (typeof content === 'object') printJson(io, content)
  } else {
    printLine(io, 'Plaintext:')
    if (typeof content === 'string') printLine(io, content)
    else printJson(io, content)
  }
}

// ---------------------------------------------------------------------------

export function register(program: Command, io: CliIo): void {
  const token = program
    .command('token')
    .description('decode, verify, sign and decrypt JWTs (a local jwt.io)')

  token
    .command('decode')
    .description("show a token's header, claims, times and warnings, WITHOUT verifying it")
    .argument('<jwt>', 'the token, or - to read it from stdin')
    .option('--json', 'print one JSON object {header, payload, warnings, expiresIn}')
    .action((arg: string, options: { json?: boolean }) => decodeAction(io, arg, options))

  token
    .command('decrypt')
    .description(
      'decrypt a JWE (an encrypted ID token or userinfo); exit 0 decrypted, 1 not, 2 bad input',
    )
    .argument('<jwe>', 'the JWE, or - to read it from stdin')
    .requiredOption('--key <file>', 'private key: a JWK, a JWKS (by kid) or a PEM private key')
    .option('--json', 'print one JSON object {header, plaintext} (or {header, jwt, nested})')
    .action((arg: string, options: { key: string; json?: boolean }) =>
      decryptAction(io, arg, options),
    )

  token
    .command('verify')
    .description("verify a token's signature and claims; exit 0 valid, 1 invalid, 2 bad input")
    .argument('<jwt>', 'the token, or - to read it from stdin')
    .option('--jwks <url|file>', 'JWKS URL, or a file holding a JWKS, a JWK or a PEM public key')
    .option('--secret <base64url>', 'HMAC secret for HS* (visible to `ps`: prefer --secret-file)')
    .option('--secret-file <path>', 'file holding the HMAC secret (base64url, or kid:secret)')
    .option('--iss <issuer>', 'expected issuer (repeat to accept several)', collect)
    .option('--aud <audience>', 'expected audience (repeat to accept several)', collect)
    .option(
      '--alg <alg,...>',
      'allowed algorithms; needed for RSA keys without "alg"',
      parseAlgorithmList,
    )
    .option('--typ <typ>', 'expected typ header, e.g. at+jwt')
    .option('--sub <subject>', 'expected subject')
    .option(
      '--clock-tolerance <duration>',
      'leeway for exp, nbf and iat, e.g. 30s',
      parseDurationOption,
    )
    .option('--no-require-exp', 'accept a token without exp (one that never expires)')
    .action((arg: string, options: VerifyCliOptions) => verifyAction(io, arg, options))

  token
    .command('sign')
    .description('sign a token with a private key file or a secret (for tests and development)')
    .option('--key <file>', 'private key: PEM or JWK JSON')
    .option('--secret <base64url>', 'HMAC secret for HS* (visible to `ps`: prefer --secret-file)')
    .option('--secret-file <path>', 'file holding the HMAC secret (base64url, or kid:secret)')
    .option(
      '--alg <alg>',
      'algorithm; implied by EC and Ed25519 keys, HS256 for secrets',
      parseAlgorithm,
    )
    .option('--kid <kid>', "key id for the header (default: the key's, or its RFC 7638 thumbprint)")
    .option('--exp <duration>', 'lifetime: exp = iat + this', parseDurationOption, '15m')
    .option('--no-exp', 'leave exp out: the token never expires')
    .option('--nbf <duration>', 'nbf = iat + this', parseDurationOption)
    .option('--iss <issuer>', 'iss claim')
    .option('--aud <audience>', 'aud claim (repeat for several)', collect)
    .option('--sub <subject>', 'sub claim')
    .option('--jti [id]', 'jti claim; a random UUID without a value')
    .option('--typ <typ>', 'typ header', 'JWT')
    .option('--claims <json>', 'more claims as a JSON object')
    .option('--claims-file <path>', 'more claims from a JSON file')
    .action((options: SignCliOptions, command: Command) => signAction(io, options, command))
}
