// Nested JWTs (RFC 7519 §5.2, §11.2): a JWT signed first, then encrypted,
// so the recipient knows both who wrote it and that only it can read it.
// The inner token goes through `verify` itself: the same parsing, algorithm
// binding, `typ` and claim checks as any other JWT.

import { JwtError } from './errors.ts'
import { decrypt, type EncryptOptions, encrypt } from './jwe.ts'
import type { ContentEncryption, KeyManagementAlgorithm } from './jwe-algorithms.ts'
import type { EncryptionKey, EncryptionKeySet } from './jwe-keys.ts'
import { Key, KeySet } from './keys.ts'
import { normalizeTyp } from './parse.ts'
import { type SignOptions, sign } from './sign.ts'
import type { JwtPayload, KeyResolver, VerifiedJwt } from './types.ts'
import { type VerifyOptions, verify } from './verify.ts'

export interface EncryptJwtOptions extends SignOptions {
  /** The key management algorithm; the encryption key's own, so it may be left out. */
  alg?: KeyManagementAlgorithm
  /** The content encryption. Required unless the encryption key is bound to one (`dir`). */
  enc?: ContentEncryption
  /** The outer (JWE) `kid`: the encryption key's by default, this string instead, or none with `false`. */
  encryptionKid?: string | false
}

export interface DecryptJwtOptions extends VerifyOptions {
  /**
   * JWE key management algorithms accepted (`algorithms` is the inner JWS
   * algorithms, as for `verify`). Defaults to the decryption key's own.
   */
  keyManagementAlgorithms?: readonly KeyManagementAlgorithm[]
  /** Content encryptions accepted. Default: all four (a `dir` key: its own). */
  encryptions?: readonly ContentEncryption[]
}

/**
 * Signs `claims` as {@link sign} does, then encrypts the JWS for
 * `encryptionKey` with `cty: "JWT"` (RFC 7519 §5.2). The options are
 * `sign`'s (`typ`, `header`, `expiresIn`… apply to the inner JWS) plus `alg`
 * and `enc` for the JWE.
 *
 * @example
 * const idToken = encryptJwt({ sub: 'u1', nonce }, signingKey, clientKey, {
 *   issuer, audience: clientId, expiresIn: '5m', enc: 'A256GCM',
 * })
 */
export function encryptJwt(
  claims: Record<string, unknown>,
  signingKey: Key,
  encryptionKey: EncryptionKey,
  options: EncryptJwtOptions = {},
): string {
  const { alg, enc, encryptionKid, ...signOptions } = options
  const jws = sign(claims, signingKey, signOptions)
  const encryptOptions: EncryptOptions = { cty: 'JWT' }
  if (alg !== undefined) encryptOptions.alg = alg
  if (enc !== undefined) encryptOptions.enc = enc
  if (encryptionKid !== undefined) encryptOptions.kid = encryptionKid
  return encrypt(jws, encryptionKey, encryptOptions)
}

/**
 * Decrypts a nested JWT and verifies the JWS inside it through
 * {@link verify}, with `verificationKeys` and the same options (`issuer`,
 * `audience`, `typ`, `algorithms`…). The JWE must say `cty: "JWT"`: an
 * encrypted but unsigned JWT proves nothing about who wrote it (anyone
 * holding the recipient's public key can make one) and is refused.
 * `maxTokenLength` bounds the JWE. With a {@link KeyResolver} (a remote
 * JWKS) for the verification keys it returns a promise.
 *
 * @example
 * const { payload } = decryptJwt(idToken, clientPrivateKey, serverKeys, {
 *   issuer, audience: clientId, encryptions: ['A256GCM'],
 * })
 */
export function decryptJwt<P extends object = JwtPayload>(
  jwe: string,
  decryptionKeys: EncryptionKey | EncryptionKeySet,
  verificationKeys: Key | KeySet,
  options?: DecryptJwtOptions,
): VerifiedJwt<P>
export function decryptJwt<P extends object = JwtPayload>(
  jwe: string,
  decryptionKeys: EncryptionKey | EncryptionKeySet,
  verificationKeys: KeyResolver,
  options?: DecryptJwtOptions,
): Promise<VerifiedJwt<P>>
export function decryptJwt(
  jwe: string,
  decryptionKeys: EncryptionKey | EncryptionKeySet,
  verificationKeys: Key | KeySet | KeyResolver,
  options: DecryptJwtOptions = {},
): VerifiedJwt | Promise<VerifiedJwt> {
  if (options === null || typeof options !== 'object')
    throw new TypeError('options must be an object')
  let decryptOptions = decryptOptionsCache.get(options)
  if (decryptOptions === undefined) {
    decryptOptions = {}
    if (options.keyManagementAlgorithms !== undefined) {
      decryptOptions.algorithms = options.keyManagementAlgorithms
    }
    if (options.encryptions !== undefined) decryptOptions.encryptions = options.encryptions
    if (options.maxTokenLength !== undefined) decryptOptions.maxTokenLength = options.maxTokenLength
    decryptOptionsCache.set(options, decryptOptions)
  }
  const { header, plaintext } = decrypt(jwe, decryptionKeys, decryptOptions)
  if (header.cty === undefined || normalizeTyp(header.cty) !== 'jwt') {
    throw new JwtError('malformed', 'the JWE does not hold a signed JWT ("cty" must be "JWT")', {
      claim: 'cty',
    })
  }
  // A JWS is ASCII; anything else fails verify's strict parsing as malformed.
  const inner = plaintext.toString('latin1')
  if (verificationKeys instanceof Key || verificationKeys instanceof KeySet) {
    return verify(inner, verificationKeys, options)
  }
  return verify(inner, verificationKeys, options)
}

const decryptOptionsCache = new WeakMap<
  DecryptJwtOptions,
  {
    algorithms?: readonly KeyManagementAlgorithm[]
    encryptions?: readonly ContentEncryption[]
    maxTokenLength?: number
  }
>()
