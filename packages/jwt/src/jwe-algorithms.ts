// The JWE algorithms Tessera implements (RFC 7518 §4 key management, §5
// content encryption), and the ones it refuses by name so the error says why.

/** Key management algorithms (the JWE `alg`). */
export type KeyManagementAlgorithm =
  | 'dir'
  | 'A128KW'
  | 'A256KW'
  | 'ECDH-ES'
  | 'ECDH-ES+A128KW'
  | 'ECDH-ES+A256KW'
  | 'RSA-OAEP-256'

/** Content encryption algorithms (the JWE `enc`). */
export type ContentEncryption = 'A128GCM' | 'A256GCM' | 'A128CBC-HS256' | 'A256CBC-HS512'

/** Curves of ECDH-ES keys (RFC 7518 §4.6, RFC 8037 §3.2). */
export type EcdhCurve = 'P-256' | 'P-384' | 'X25519'

export type KeyManagementFamily = 'dir' | 'aes-kw' | 'ecdh-es' | 'ecdh-es-kw' | 'rsa-oaep'

export interface KeyManagementSpec {
  readonly alg: KeyManagementAlgorithm
  readonly family: KeyManagementFamily
  /** AES key wrap (bare or after ECDH-ES): the key-encryption key size in bytes; 0 otherwise. */
  readonly kekBytes: number
  /** node:crypto cipher name of the key wrap, or null. */
  readonly wrapCipher: string | null
}

export interface ContentEncryptionSpec {
  readonly enc: ContentEncryption
  readonly mode: 'gcm' | 'cbc-hmac'
  /** CEK size in bytes (for CBC-HMAC: MAC key then encryption key, RFC 7518 §5.2.2.1). */
  readonly cekBytes: number
  /** Initialization vector size in bytes: 96 bits for GCM (§5.3), 128 for CBC (§5.2.2.1). */
  readonly ivBytes: number
  /** Authentication tag size in bytes: 128 bits for GCM, half the HMAC output for CBC-HMAC. */
  readonly tagBytes: number
  /** node:crypto cipher name. */
  readonly cipher: string
  /** CBC-HMAC: the HMAC digest. */
  readonly hash: 'sha256' | 'sha512' | null
}

function km(
  alg: KeyManagementAlgorithm,
  family: KeyManagementFamily,
  kekBytes = 0,
): KeyManagementSpec {
  return Object.freeze({
    alg,
    family,
    kekBytes,
    wrapCipher: kekBytes === 0 ? null : `id-aes${kekBytes * 8}-wrap`,
  })
}

const KEY_MANAGEMENT: Readonly<Record<KeyManagementAlgorithm, KeyManagementSpec>> = Object.freeze({
  dir: km('dir', 'dir'),
  A128KW: km('A128KW', 'aes-kw', 16),
  A256KW: km('A256KW', 'aes-kw', 32),
  'ECDH-ES': km('ECDH-ES', 'ecdh-es'),
  'ECDH-ES+A128KW': km('ECDH-ES+A128KW', 'ecdh-es-kw', 16),
  'ECDH-ES+A256KW': km('ECDH-ES+A256KW', 'ecdh-es-kw', 32),
  'RSA-OAEP-256': km('RSA-OAEP-256', 'rsa-oaep'),
})

const CONTENT_ENCRYPTION: Readonly<Record<ContentEncryption, ContentEncryptionSpec>> =
  Object.freeze({
    A128GCM: Object.freeze({
      enc: 'A128GCM',
      mode: 'gcm',
      cekBytes: 16,
      ivBytes: 12,
      tagBytes: 16,
      cipher: 'aes-128-gcm',
      hash: null,
    }),
    A256GCM: Object.freeze({
      enc: 'A256GCM',
      mode: 'gcm',
      cekBytes: 32,
      ivBytes: 12,
      tagBytes: 16,
      cipher: 'aes-256-gcm',
      hash: null,
    }),
    'A128CBC-HS256': Object.freeze({
      enc: 'A128CBC-HS256',
      mode: 'cbc-hmac',
      cekBytes: 32,
      ivBytes: 16,
      tagBytes: 16,
      cipher: 'aes-128-cbc',
      hash: 'sha256',
    }),
    'A256CBC-HS512': Object.freeze({
      enc: 'A256CBC-HS512',
      mode: 'cbc-hmac',
      cekBytes: 64,
      ivBytes: 16,
      tagBytes: 32,
      cipher: 'aes-256-cbc',
      hash: 'sha512',
    }),
  } as const)

export const KEY_MANAGEMENT_ALGORITHMS: readonly KeyManagementAlgorithm[] = Object.freeze(
  Object.keys(KEY_MANAGEMENT) as KeyManagementAlgorithm[],
)

export const CONTENT_ENCRYPTIONS: readonly ContentEncryption[] = Object.freeze(
  Object.keys(CONTENT_ENCRYPTION) as ContentEncryption[],
)

export function keyManagementSpec(alg: unknown): KeyManagementSpec | undefined {
  return typeof alg === 'string' && Object.hasOwn(KEY_MANAGEMENT, alg)
    ? KEY_MANAGEMENT[alg as KeyManagementAlgorithm]
    : undefined
}

export function contentEncryptionSpec(enc: unknown): ContentEncryptionSpec | undefined {
  return typeof enc === 'string' && Object.hasOwn(CONTENT_ENCRYPTION, enc)
    ? CONTENT_ENCRYPTION[enc as ContentEncryption]
    : undefined
}

export function isKeyManagementAlgorithm(alg: unknown): alg is KeyManagementAlgorithm {
  return keyManagementSpec(alg) !== undefined
}

export function isContentEncryption(enc: unknown): enc is ContentEncryption {
  return contentEncryptionSpec(enc) !== undefined
}

/**
 * Why a registered `alg` that Tessera does not implement is refused; the
 * error message says it, so nobody takes the refusal for a bug.
 */
export function refusedAlgorithmReason(alg: string): string {
  if (alg === 'RSA1_5') {
    // RFC 8725 §3.2; RFC 7516 §11.5; Bleichenbacher (CRYPTO '98).
    return '"alg" RSA1_5 is refused: RSA PKCS #1 v1.5 key encryption is open to padding-oracle attacks (RFC 8725 §3.2); use RSA-OAEP-256'
  }
  if (alg.startsWith('PBES2-')) {
    // The iteration count p2c comes from the token: a sender picks the cost of every decryption.
    return '"alg" PBES2 is refused: password-based key encryption takes its work factor ("p2c") from the token, a denial-of-service lever, and passwords make weak keys'
  }
  if (alg === 'RSA-OAEP' || alg === 'RSA-OAEP-384' || alg === 'RSA-OAEP-512') {
    return `"alg" ${alg} is not supported; RSA-OAEP-256 is`
  }
  return 'unsupported "alg"'
}
