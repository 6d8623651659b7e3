// Shared fixtures for the suites under test/: one key pair per algorithm,
// generated once per process (RSA generation is slow), converters to the key
// shapes jose and fast-jwt take, and a raw token builder for forged tokens.

import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import * as jose from 'jose'
// Module paths rather than index.ts, so these suites do not depend on the
// network-facing modules the index also re-exports.
import { ALGORITHMS, type Algorithm } from '../src/algorithms.ts'
import { JwtError, type JwtErrorCode } from '../src/errors.ts'
import {
  exportJwk,
  generateKeyPair,
  generateSecret,
  importKeyObject,
  type Key,
} from '../src/keys.ts'

export { ALGORITHMS }

export type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512'
export type AsymmetricAlgorithm = Exclude<Algorithm, HmacAlgorithm>

export interface KeyPair {
  /** The signing key: the private key, or the secret for HS*. */
  readonly privateKey: Key
  /** The verification key: the public key, or the same secret for HS*. */
  readonly publicKey: Key
}

export function isHmac(alg: Algorithm): alg is HmacAlgorithm {
  return alg.startsWith('HS')
}

let rsaPair: ReturnType<typeof generateRsa> | undefined
function generateRsa() {
  return generateKeyPairSync('rsa', { modulusLength: 2048 })
}

const pairs = new Map<Algorithm, KeyPair>()

/**
 * The key pair for `alg`, made on first use. All RS* and PS* keys share one
 * RSA 2048 key pair (each bound to its own algorithm), so a test can present
 * a PS256 token signed by the very RSA key an RS256 verifier holds.
 */
export function keyPair(alg: Algorithm): KeyPair {
  let pair = pairs.get(alg)
  if (pair !== undefined) return pair
  if (isHmac(alg)) {
    const secret = generateSecret(alg, { kid: `kid-${alg}` })
    pair = { privateKey: secret, publicKey: secret }
  } else if (alg.startsWith('RS') || alg.startsWith('PS')) {
    rsaPair ??= generateRsa()
    const privateKey = importKeyObject(rsaPair.privateKey, alg, { kid: `kid-${alg}` })
    pair = { privateKey, publicKey: privateKey.publicKey }
  } else {
    pair = generateKeyPair(alg as AsymmetricAlgorithm, { kid: `kid-${alg}` })
  }
  pairs.set(alg, pair)
  return pair
}

/** A jose key for `key`, imported from our own {@link exportJwk}. */
export async function toJoseKey(key: Key): Promise<jose.CryptoKey | Uint8Array> {
  const jwk = exportJwk(key, { includePrivate: key.type !== 'public' })
  return jose.importJWK(jwk as jose.JWK, key.alg)
}

/** PEM (SPKI for public keys, PKCS#8 for private keys), or the raw bytes of a secret. */
export function toPem(key: Key): string | Buffer {
  if (key.type === 'secret') return key.keyObject.export()
  if (key.type === 'public') return key.keyObject.export({ type: 'spki', format: 'pem' }).toString()
  return key.keyObject.export({ type: 'pkcs8', format: 'pem' }).toString()
}

/** base64url of a string's UTF-8 bytes, or of bytes. */
export function b64(data: string | Uint8Array): string {
  return Buffer.from(data as Uint8Array).toString('base64url')
}

/** base64url of JSON.stringify(value). */
export function b64json(value: unknown): string {
  return b64(JSON.stringify(value))
}

/**
 * Builds a compact token from arbitrary header and payload (objects are
 * JSON-encoded, strings are taken as already-encoded segments), signed by
 * `signer` with its own algorithm, or with an empty signature when null.
 * `Key.signData` signs any input, so this forges tokens our `sign` refuses to make.
 */
export function forge(header: unknown, payload: unknown, signer: Key | null): string {
  const h = typeof header === 'string' ? header : b64json(header)
  const p = typeof payload === 'string' ? payload : b64json(payload)
  const input = `${h}.${p}`
  return `${input}.${signer === null ? '' : signer.signData(input)}`
}

/** Seconds since the epoch, as NumericDate. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

/**
 * Runs `fn`, asserts it throws a JwtError whose code is `code` (or one of
 * `code`), and returns the error for further checks.
 */
export function expectJwtError(fn: () => unknown, code: JwtErrorCode | JwtErrorCode[]): JwtError {
  const codes = Array.isArray(code) ? code : [code]
  let thrown: unknown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  assert.ok(thrown !== undefined, `expected a JwtError (${codes.join(' | ')}), nothing was thrown`)
  assert.ok(
    thrown instanceof JwtError,
    `expected a JwtError (${codes.join(' | ')}), got ${String(thrown)}`,
  )
  assert.ok(
    codes.includes(thrown.code),
    `expected code ${codes.join(' | ')}, got ${thrown.code} (${thrown.message})`,
  )
  return thrown
}
