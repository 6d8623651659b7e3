// What the auth flows need from their collaborators, declared once: the
// domain depends on behaviour, not on modules, and the composition root
// (tessera.ts) wires the implementations (passwords.ts, rate-limits.ts,
// tokens/, storage/).

import type { Jwks } from '@tessera/jwt'
import type { KeyView } from './types.ts'

/** Hashes and verifies passwords; no method throws on a malformed stored hash. */
export interface PasswordHasher {
  /** An argon2id PHC string for the (NFKC-normalized) password. */
  hash(password: string): Promise<string>
  /**
   * Checks `password` against a stored hash (argon2 or bcrypt). `needsRehash`
   * is true when the hash should be replaced by `hash(password)`: bcrypt,
   * another argon2 variant or other parameters. Unknown formats: `ok: false`.
   */
  verify(hash: string, password: string): Promise<{ ok: boolean; needsRehash: boolean }>
  /** Costs what a failed verify costs; call it for unknown accounts (enumeration-safe login). */
  verifyDummy(password: string): Promise<void>
}

/** The password policy and the canonical form of an email address. */
export interface PasswordRules {
  checkPasswordPolicy(
    password: string,
    context?: { email?: string; name?: string },
  ): { ok: true } | { ok: false; reason: string }
  normalizeEmail(email: string): string | undefined
}

/** Every method throws AuthError `rate_limited` (with `retryAfter` seconds, >= 1) when over a limit. */
export interface RateLimits {
  /**
   * Counts one attempt against the IP ceiling; refuses while this account+IP
   * is backing off, or while the account is and this pair has failed on it.
   */
  checkLogin(email: string, ip: string): Promise<void>
  /**
   * Records a failed attempt; may start or lengthen the back-offs.
   * `accountThrottled` is true on the failure that starts the account-wide one.
   */
  loginFailed(email: string, ip: string): Promise<{ accountThrottled: boolean }>
  /** Resets the consecutive-failure counters of the account and of this account+IP. */
  loginSucceeded(email: string, ip: string): Promise<void>
  checkSignup(ip: string): Promise<void>
  checkRefresh(sessionId: string): Promise<void>
  /** One mail requested for an address (verification, reset, code): per address and per IP. */
  checkMailSend(email: string, ip: string): Promise<void>
  /**
   * Options for a passwordless passkey sign-in (each stores a challenge; a
   * login page asks once per view, for autofill): per IP, generously, and
   * apart from the login ceiling.
   */
  checkPasskeyOptions(ip: string): Promise<void>
}

/** The signing keys: the public JWKS, rotation and the list for admins. */
export interface KeyRingPort {
  jwks(): Jwks
  rotate(options?: { immediate?: boolean }): Promise<KeyView[]>
  list(): KeyView[]
}

/** Signs access tokens with the current key. */
export interface AccessTokenIssuerPort {
  issue(input: {
    userId: string
    sessionId?: string
    roles?: string[]
    clientId?: string
    audience?: string
    ttl?: number
    jkt?: string
    email?: string
    emailVerified?: boolean
    scope?: string
    amr?: readonly string[]
    /** Epoch seconds. */
    authTime?: number
    /** The social-login provider a federated session signed in at. */
    idp?: string
  }): { token: string; jti: string; expiresIn: number; exp: number; iat: number }
}

/**
 * Queuing mail from a flow (the composition root implements it over the
 * outbox and mail/): `queue` writes the outbox row, its template data sealed,
 * and must run inside the flow's Store.atomically, with the state change
 * that caused it; `wake` tells the worker once the transaction has committed.
 */
export interface MailQueue {
  queue(message: {
    to: string
    /** A template of docs/email.md (`verify_email`, `account_exists`, …). */
    template: string
    userId: string | null
    /** That template's variables (links, codes, `expiresIn` seconds, `name`). */
    data: Record<string, unknown>
  }): Promise<void>
  wake(): void
}

/** Opaque refresh tokens: made, hashed for storage, and checked for shape. */
export interface RefreshTokens {
  createRefreshToken(): { token: string; hash: string }
  hashRefreshToken(token: string): string
  isWellFormedRefreshToken(token: unknown): token is string
}

/** AES-256-GCM under the master key, bound to a context string. */
export interface SealerPort {
  seal(plaintext: string, context: string): string
  open(sealed: string, context: string): string
}

/** Counters the flows bump; the composition root exports them as metrics. */
export interface AuthMetrics {
  inc(name: 'signups' | 'logins' | 'logins_failed' | 'refreshes' | 'refresh_reuse_detected'): void
}

/** Where the flows log (a pino logger in production). */
export interface AuthLog {
  warn(obj: object, msg: string): void
  info(obj: object, msg: string): void
}
