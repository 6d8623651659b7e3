// Access tokens: RFC 9068 JWTs signed by the key ring's current key, and the
// verifier the server's own protected routes use.

import { randomUUID } from 'node:crypto'
import type { AccessTokenClaims } from '@tessera/jwt'
import { createVerifier, type JwtHeader, type JwtPayload, sign, type Verifier } from '@tessera/jwt'
import type { KeyRing } from './key-ring.ts'

/** RFC 9068 §2.1: access tokens are typed, so no other JWT can be replayed as one. */
const ACCESS_TOKEN_TYP = 'at+jwt'
const REQUIRED_CLAIMS = Object.freeze(['exp', 'iat', 'sub', 'jti', 'sid'])
/** Every token of the server's, user or service (RFC 9068 §2.2 claims). */
const OWN_TOKEN_CLAIMS = Object.freeze(['exp', 'iat', 'sub', 'jti', 'client_id'])
/** The client id of tokens from Tessera's own API (/auth/*). */
export const FIRST_PARTY_CLIENT_ID = 'tessera'

export interface AccessTokenInput {
  /** The user, or the client itself for a `client_credentials` token. */
  userId: string
  /** The session (`sid`); none for a `client_credentials` token. */
  sessionId?: string
  /** `roles`; none for a `client_credentials` token. */
  roles?: readonly string[]
  /** `client_id` (RFC 9068 §2.2): the OAuth client it was issued to; default `tessera`. */
  clientId?: string
  /** `aud`: an RFC 8707 resource chosen by the client; default the server's audience. */
  audience?: string
  /** Seconds: a client's own access-token lifetime; default the server's. */
  ttl?: number
  /** RFC 9449 §6: binds the token to this DPoP key (`cnf.jkt`). */
  jkt?: string
  email?: string
  /** `email_verified`, when the server verifies addresses. */
  emailVerified?: boolean
  scope?: string
  /** `amr`: how the user authenticated (RFC 8176 values). */
  amr?: readonly string[]
  /** `auth_time`: when, in epoch seconds. */
  authTime?: number
  /** `idp`: the social-login provider (its id) a federated session signed in at. */
  idp?: string
}

export interface IssuedAccessToken {
  token: string
  jti: string
  /** Seconds until `exp`. */
  expiresIn: number
  /** Epoch seconds. */
  exp: number
  /** Epoch seconds. */
  iat: number
}

export interface AccessTokenIssuer {
  issue(input: AccessTokenInput): IssuedAccessToken
}

function checkNonEmpty(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${name} must be a non-empty string`)
  }
  return value
}

/**
 * Issues access tokens: header `{alg, typ: "at+jwt", kid}`, claims `iss, sub,
 * aud, exp, iat, jti, sid, roles` (+ `email` when `includeEmail`, + `scope`,
 * `email_verified`, `amr`, `auth_time`, `idp` when given).
 *
 * @example
 * const issuer = createAccessTokenIssuer({ ring, issuer: config.issuer, audience: config.audience, ttl: 900, includeEmail: false, now: Date.now })
 * const { token, expiresIn } = issuer.issue({ userId, sessionId, roles: ['user'] })
 */
export function createAccessTokenIssuer(options: {
  ring: Pick<KeyRing, 'signingKey'>
  issuer: string
  audience: string
  /** Seconds. */
  ttl: number
  includeEmail: boolean
  /** Epoch milliseconds. */
  now: () => number
}): AccessTokenIssuer {
  const { ring, ttl, includeEmail, now } = options
  const iss = checkNonEmpty(options.issuer, 'issuer')
  const aud = checkNonEmpty(options.audience, 'audience')
  if (!Number.isSafeInteger(ttl) || ttl <= 0) {
    throw new TypeError('ttl must be a positive whole number of seconds')
  }
  if (typeof now !== 'function') throw new TypeError('now must be a function')
  if (ring === null || typeof ring !== 'object' || typeof ring.signingKey !== 'function') {
    throw new TypeError('ring must be a KeyRing')
  }

  return {
    issue(input: AccessTokenInput): IssuedAccessToken {
      const nowMs = now()
      const iat = Math.floor(nowMs / 1000)
      const lifetime = input.ttl ?? ttl
      const exp = iat + lifetime
      const jti = randomUUID()
      const claims: Record<string, unknown> = {
        iss,
        sub: input.userId,
        aud: input.audience ?? aud,
        exp,
        iat,
        jti,
        client_id: input.clientId ?? FIRST_PARTY_CLIENT_ID,
      }
      if (input.sessionId !== undefined) claims.sid = input.sessionId
      if (input.roles !== undefined) claims.roles = [...input.roles]
      if (input.jkt !== undefined) claims.cnf = { jkt: input.jkt }
      if (includeEmail && input.email !== undefined) claims.email = input.email
      if (input.emailVerified !== undefined) claims.email_verified = input.emailVerified
      if (input.scope !== undefined) claims.scope = input.scope
      if (input.amr !== undefined) claims.amr = [...input.amr]
      if (input.authTime !== undefined) claims.auth_time = input.authTime
      if (input.idp !== undefined) claims.idp = input.idp
      const token = sign(claims, ring.signingKey(), {
        typ: ACCESS_TOKEN_TYP,
        currentDate: new Date(nowMs),
      })
      return { token, jti, expiresIn: lifetime, exp, iat }
    },
  }
}

/**
 * The verifier for every access token the server issued, whatever its
 * audience (RFC 8707 resources) and whether a user's or a service's
 * (`client_credentials`, no `sid`): for introspection, userinfo and the
 * revocation feed. The revocation check runs on every call.
 *
 * @example
 * const verifyOwn = createOwnTokenVerifier({ ring, issuer, audiences: [config.audience], isRevoked })
 */
export function createOwnTokenVerifier(options: {
  ring: Pick<KeyRing, 'verificationKeys' | 'alg'>
  issuer: string
  audiences: readonly string[]
  now?: () => number
  isRevoked?: (payload: JwtPayload, header: JwtHeader) => boolean
}): Verifier<AccessTokenClaims> {
  const { ring, now, isRevoked } = options
  return createVerifier<AccessTokenClaims>({
    key: ring.verificationKeys,
    typ: ACCESS_TOKEN_TYP,
    issuer: checkNonEmpty(options.issuer, 'issuer'),
    audience: options.audiences,
    algorithms: [ring.alg],
    requiredClaims: OWN_TOKEN_CLAIMS,
    cache: true,
    ...(isRevoked === undefined ? {} : { isRevoked }),
    ...(now === undefined ? {} : { clock: now }),
  })
}

/**
 * The verifier for the server's own access tokens: the ring's live key set,
 * only the ring's algorithm (RFC 8725 §3.1), `typ` at+jwt, `iss` and `aud`
 * required, the claims the server relies on required, the verified-token
 * cache on, and the revocation check on every call (cached or not).
 *
 * @example
 * const verifyAccess = createAccessTokenVerifier({ ring, issuer, audience, isRevoked: (p) => revocations.isRevoked(p) })
 * const { payload } = verifyAccess(token) // throws JwtError
 */
export function createAccessTokenVerifier(options: {
  ring: Pick<KeyRing, 'verificationKeys' | 'alg'>
  issuer: string
  audience: string
  /** Epoch milliseconds; the system clock when omitted. */
  now?: () => number
  isRevoked?: (payload: JwtPayload, header: JwtHeader) => boolean
  /** Verified-token cache size, or false. Default on (1000 tokens). */
  cache?: boolean | number
}): Verifier<AccessTokenClaims> {
  const { ring, now, isRevoked } = options
  if (now !== undefined && typeof now !== 'function') throw new TypeError('now must be a function')
  return createVerifier<AccessTokenClaims>({
    key: ring.verificationKeys,
    typ: ACCESS_TOKEN_TYP,
    issuer: checkNonEmpty(options.issuer, 'issuer'),
    audience: checkNonEmpty(options.audience, 'audience'),
    algorithms: [ring.alg],
    requiredClaims: REQUIRED_CLAIMS,
    cache: options.cache ?? true,
    ...(isRevoked === undefined ? {} : { isRevoked }),
    ...(now === undefined ? {} : { clock: now }),
  })
}
