// Shared fixtures for the JWE suites: one recipient key per algorithm (and
// curve), generated once per process, converters to jose's key shapes, and
// the list of every alg × enc × curve case.

import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import * as jose from 'jose'
import {
  CONTENT_ENCRYPTIONS,
  type ContentEncryption,
  type EcdhCurve,
  KEY_MANAGEMENT_ALGORITHMS,
  type KeyManagementAlgorithm,
} from '../src/jwe-algorithms.ts'
import {
  type EncryptionKey,
  exportEncryptionJwk,
  generateEncryptionKeyPair,
  generateEncryptionSecret,
  importEncryptionKeyObject,
} from '../src/jwe-keys.ts'

export { CONTENT_ENCRYPTIONS, KEY_MANAGEMENT_ALGORITHMS }

export interface JweCase {
  alg: KeyManagementAlgorithm
  enc: ContentEncryption
  /** ECDH-ES: the recipient's curve. */
  crv: EcdhCurve | undefined
  /** `alg enc [crv]`, for test names. */
  name: string
}

export interface RecipientKeys {
  /** What decrypts: the private key, or the secret. */
  readonly privateKey: EncryptionKey
  /** What encrypts: the public key, or the same secret. */
  readonly publicKey: EncryptionKey
}

export const ECDH_CURVES: readonly EcdhCurve[] = ['P-256', 'P-384', 'X25519']

export function isEcdh(alg: KeyManagementAlgorithm): boolean {
  return alg.startsWith('ECDH-ES')
}

/** Every supported alg × enc pair, ECDH-ES ones once per curve. */
export const JWE_CASES: readonly JweCase[] = KEY_MANAGEMENT_ALGORITHMS.flatMap((alg) =>
  CONTENT_ENCRYPTIONS.flatMap((enc) =>
    (isEcdh(alg) ? ECDH_CURVES : [undefined]).map((crv) => ({
      alg,
      enc,
      crv,
      name: `${alg} ${enc}${crv === undefined ? '' : ` ${crv}`}`,
    })),
  ),
)

let rsa: { privateKey: string; publicKey: string } | undefined
const rsaPair = () => {
  rsa ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  return rsa
}

const keys = new Map<string, RecipientKeys>()

/**
 * The recipient keys of a case, made on first use: `dir` keys are bound to
 * the case's `enc`, so there is one per `enc`; the others are shared.
 */
export function recipientKeys(c: Pick<JweCase, 'alg' | 'enc' | 'crv'>): RecipientKeys {
  const id = `${c.alg} ${c.alg === 'dir' ? c.enc : ''} ${c.crv ?? ''}`
  let pair = keys.get(id)
  if (pair !== undefined) return pair
  if (c.alg === 'dir' || c.alg === 'A128KW' || c.alg === 'A256KW') {
    const secret = generateEncryptionSecret(c.alg, {
      kid: `kid-${c.alg}-${c.enc}`,
      ...(c.alg === 'dir' ? { enc: c.enc } : {}),
    })
    pair = { privateKey: secret, publicKey: secret }
  } else if (c.alg === 'RSA-OAEP-256') {
    const privateKey = importEncryptionKeyObject(
      createPrivateKey(rsaPair().privateKey),
      'RSA-OAEP-256',
      { kid: 'kid-rsa' },
    )
    pair = { privateKey, publicKey: privateKey.publicKey }
  } else {
    pair = generateEncryptionKeyPair(c.alg, { crv: c.crv ?? 'P-256', kid: `kid-${c.alg}-${c.crv}` })
  }
  keys.set(id, pair)
  return pair
}

/** The `alg` jose imports a key for: a `dir` key is imported for its `enc`. */
export function joseAlg(key: EncryptionKey): string {
  return key.alg === 'dir' ? key.enc! : key.alg
}

/** A jose key for `key`, imported from our own export. */
export async function toJoseKey(key: EncryptionKey): Promise<jose.CryptoKey | Uint8Array> {
  const jwk = exportEncryptionJwk(key, { includePrivate: key.type !== 'public' })
  return jose.importJWK(jwk as jose.JWK, joseAlg(key))
}
