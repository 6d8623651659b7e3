import type { JwtPayload } from './types.ts'

/**
 * The claims of an access token issued by Tessera (RFC 9068), shared by the
 * server that issues them and the middleware that checks them.
 */
export interface AccessTokenClaims extends JwtPayload {
  iss: string
  sub: string
  aud: string | string[]
  exp: number
  iat: number
  jti: string
  /** Session id: one refresh-token family. Logout revokes by it. */
  sid: string
  roles: string[]
  /** Space-separated scopes (RFC 8693 §4.2), when the token carries any. */
  scope?: string
  email?: string
  /** Whether the user proved the address (OIDC Core §5.1), when the server verifies emails. */
  email_verified?: boolean
  /**
   * How the user authenticated (RFC 8176 values: `pwd`, `otp`, `hwk`, `swk`,
   * `user`, `mfa`), when the server says. `requireAuthMethods()` checks it.
   */
  amr?: string[]
  /**
   * When the authentication that started the session happened (NumericDate
   * seconds, OIDC Core §2; RFC 9068 §2.2.1). A refresh keeps it; signing in
   * again renews it. `maxAuthAge` and `requireRecentAuth()` check it.
   */
  auth_time?: number
}
