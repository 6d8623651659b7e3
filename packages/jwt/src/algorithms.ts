import { constants } from 'node:crypto'

/** Every JWS algorithm Tessera implements. `none` is not one of them, anywhere. */
export type Algorithm =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'

export type AlgorithmFamily = 'hmac' | 'rsa' | 'rsa-pss' | 'ecdsa' | 'eddsa'
export type HashName = 'sha256' | 'sha384' | 'sha512'
export type Curve = 'P-256' | 'P-384' | 'P-521'

export interface AlgorithmSpec {
  readonly alg: Algorithm
  readonly family: AlgorithmFamily
  /** Digest for the signature; EdDSA hashes internally and takes none. */
  readonly hash: HashName | null
  /** Hash output in bytes: the HMAC minimum key size and the PSS salt length. */
  readonly hashBytes: number
  readonly curve: Curve | null
  /** Exact signature length in bytes, when the algorithm fixes it. */
  readonly signatureBytes: number | null
}

function spec(
  alg: Algorithm,
  family: AlgorithmFamily,
  bits: 256 | 384 | 512,
  curve: Curve | null = null,
  signatureBytes: number | null = null,
): AlgorithmSpec {
  return Object.freeze({
    alg,
    family,
    hash: family === 'eddsa' ? null : (`sha${bits}` as HashName),
    hashBytes: bits / 8,
    curve,
    signatureBytes,
  })
}

const SPECS: Readonly<Record<Algorithm, AlgorithmSpec>> = Object.freeze({
  HS256: spec('HS256', 'hmac', 256, null, 32),
  HS384: spec('HS384', 'hmac', 384, null, 48),
  HS512: spec('HS512', 'hmac', 512, null, 64),
  RS256: spec('RS256', 'rsa', 256),
  RS384: spec('RS384', 'rsa', 384),
  RS512: spec('RS512', 'rsa', 512),
  PS256: spec('PS256', 'rsa-pss', 256),
  PS384: spec('PS384', 'rsa-pss', 384),
  PS512: spec('PS512', 'rsa-pss', 512),
  // RFC 7518 §3.4: the JWS signature is R || S, each the curve's byte size.
  ES256: spec('ES256', 'ecdsa', 256, 'P-256', 64),
  ES384: spec('ES384', 'ecdsa', 384, 'P-384', 96),
  ES512: spec('ES512', 'ecdsa', 512, 'P-521', 132),
  EdDSA: spec('EdDSA', 'eddsa', 512, null, 64),
})

export const ALGORITHMS: readonly Algorithm[] = Object.freeze(Object.keys(SPECS) as Algorithm[])

/** The spec of a supported algorithm, or undefined for anything else (`none`, `HS1`, `__proto__`). */
export function algorithmSpec(alg: unknown): AlgorithmSpec | undefined {
  return typeof alg === 'string' && Object.hasOwn(SPECS, alg) ? SPECS[alg as Algorithm] : undefined
}

export function isAlgorithm(alg: unknown): alg is Algorithm {
  return algorithmSpec(alg) !== undefined
}

export const CURVE_ALGORITHM: Readonly<Record<Curve, Algorithm>> = Object.freeze({
  'P-256': 'ES256',
  'P-384': 'ES384',
  'P-521': 'ES512',
})

export const RSA_PSS_PADDING = constants.RSA_PKCS1_PSS_PADDING
