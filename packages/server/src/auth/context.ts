// What every flow module receives: the service's collaborators and the
// shared helpers (audit.ts, revoke.ts, issue-tokens.ts, profiles.ts), built
// once by createAuthService.

import type { VerifiedJwt } from '@tessera/jwt'
import type { Config } from '../config/types.ts'
import type { Store } from '../storage/ports.ts'
import type { OAuthTokens } from '../tokens/oauth-tokens.ts'
import type { Audit } from './audit.ts'
import type { Background } from './background.ts'
import type { DpopPolicy } from './dpop.ts'
import type { TokenIssuing } from './issue-tokens.ts'
import type {
  AccessTokenIssuerPort,
  AuthLog,
  AuthMetrics,
  KeyRingPort,
  MailQueue,
  PasswordHasher,
  PasswordRules,
  RateLimits,
  RefreshTokens,
  SealerPort,
} from './ports.ts'
import type { Profiles } from './profiles.ts'
import type { RevocationList } from './revocation.ts'
import type { Revoker } from './revoke.ts'

/** The configuration the flows read. */
export type AuthConfig = Pick<
  Config,
  | 'accessTokenTtl'
  | 'refreshTokenTtl'
  | 'refreshIdleTtl'
  | 'refreshReuseGrace'
  | 'signupEnabled'
  | 'accessTokenEmail'
  | 'emailVerification'
  | 'issuer'
  | 'brandName'
  | 'mfa'
  | 'reauthWindow'
  | 'webauthnRpId'
  | 'webauthnOrigins'
  | 'audience'
  | 'oauthResources'
  | 'providers'
>

/** What the composition root hands createAuthService. */
export interface AuthServiceDeps {
  config: AuthConfig
  store: Store
  keyRing: KeyRingPort
  issuer: AccessTokenIssuerPort
  /** Verifies access tokens: signature, iss, aud, typ, exp, and the revocation list. */
  verifyAccessToken: (token: string) => VerifiedJwt
  revocations: RevocationList
  passwords: PasswordHasher
  rules: PasswordRules
  refreshTokens: RefreshTokens
  rateLimits: RateLimits
  sealer: SealerPort
  now: () => number
  /**
   * Waits `ms` of the clock `now` reads (real timers by default; tests that
   * move `now` by hand pass one that moves it).
   */
  sleep?: (ms: number) => Promise<void>
  metrics?: AuthMetrics
  log?: AuthLog
  /** Writes mail to the outbox (inside Store.atomically) and wakes the worker. */
  mail: MailQueue
  /** ID tokens, and checking any access token of the server's (OAuth). */
  oauthTokens: OAuthTokens
  /** DPoP proofs (RFC 9449): their check, replay cache and nonces. */
  dpop: DpopPolicy
}

/** The deps with the shared helpers: what a flow module is built from. */
export interface FlowContext extends Omit<AuthServiceDeps, 'sleep' | 'metrics'> {
  metrics: AuthMetrics
  background: Background
  audit: Audit
  revoke: Revoker
  tokens: TokenIssuing
  profiles: Profiles
}
