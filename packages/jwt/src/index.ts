// @tessera/jwt: the public surface in one screen.

export type { AccessTokenClaims } from './access-token.ts'
export { ALGORITHMS, type Algorithm } from './algorithms.ts'
export { TokenCache, type TokenCacheOptions } from './cache.ts'
export { decode } from './decode.ts'
export {
  accessTokenHash,
  createDpopReplayCache,
  DPOP_ALGORITHMS,
  type DpopAlgorithm,
  type DpopProofClaims,
  type DpopProofHeader,
  type DpopProofOptions,
  type DpopReplayCache,
  htuMatches,
  jwkThumbprint,
  type MemoryDpopReplayCache,
  normalizeHtu,
  type VerifiedDpopProof,
  verifyDpopProof,
} from './dpop.ts'
export { type Duration, parseDuration } from './duration.ts'
export { type AuthErrorCode, authErrorCodes, type ErrorCodeInfo } from './error-codes.ts'
export { isJwtError, JwtError, type JwtErrorCode } from './errors.ts'
export {
  type DecryptedJwe,
  type DecryptOptions,
  decrypt,
  type EncryptOptions,
  encrypt,
  type JweHeader,
} from './jwe.ts'
export {
  CONTENT_ENCRYPTIONS,
  type ContentEncryption,
  type EcdhCurve,
  KEY_MANAGEMENT_ALGORITHMS,
  type KeyManagementAlgorithm,
} from './jwe-algorithms.ts'
export {
  type DecryptJwtOptions,
  decryptJwt,
  type EncryptJwtOptions,
  encryptJwt,
} from './jwe-jwt.ts'
export {
  EncryptionKey,
  type EncryptionKeyOptions,
  EncryptionKeySet,
  exportEncryptionJwk,
  generateEncryptionKeyPair,
  generateEncryptionSecret,
  importEncryptionJwk,
  importEncryptionKeyObject,
  importEncryptionSecret,
} from './jwe-keys.ts'
export {
  exportJwk,
  generateKeyPair,
  generateSecret,
  importJwk,
  importKeyObject,
  importPem,
  importSecret,
  type Jwk,
  type Jwks,
  Key,
  type KeyOptions,
  KeySet,
  type KeyType,
  thumbprintOf,
} from './keys.ts'
export {
  type AuthenticateOptions,
  type Authenticator,
  AuthFailure,
  type AuthInfo,
  createAuthenticator,
  type DpopAuthenticateOptions,
  type DpopPresentation,
  extractBearerToken,
  type HttpRequestLike,
  type RequestReader,
  type VerifierAuthenticateOptions,
} from './middleware-core.ts'
export {
  createRemoteKeySet,
  type RemoteKeySet,
  type RemoteKeySetOptions,
} from './remote-key-set.ts'
export {
  formatRevocationEvent,
  parseRevocationEvent,
  type RevocationEntry,
} from './revocation-event.ts'
export {
  createRevocationFeed,
  type RevocationFeed,
  type RevocationFeedOptions,
} from './revocation-feed.ts'
export {
  type RevocableClaims,
  type Revocation,
  RevocationSet,
  type RevocationSetOptions,
} from './revocation-set.ts'
export { type SignOptions, sign } from './sign.ts'
export { keepTickEntryShape } from './tick-shape.ts'
export type { JwtHeader, JwtPayload, KeyResolver, VerifiedJwt } from './types.ts'
export {
  type AsyncVerifier,
  createVerifier,
  type Verifier,
  type VerifierOptions,
} from './verifier.ts'
export { type KeyInput, type VerifyOptions, verify, verifyJws } from './verify.ts'
