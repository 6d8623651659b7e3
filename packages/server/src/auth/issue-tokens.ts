// Handing out tokens: the access token of a user's session, the refresh
// token's expiry, and a new session with its first pair.

import { randomUUID } from 'node:crypto'
import type { Config } from '../config/types.ts'
import type { SessionRecord, Store, UserRecord } from '../storage/ports.ts'
import { FIRST_PARTY_CLIENT_ID } from '../tokens/access-tokens.ts'
import { FIRST_PARTY_SCOPE } from './oauth/scopes.ts'
import type { AccessTokenIssuerPort, RefreshTokens } from './ports.ts'
import type { Revoker } from './revoke.ts'
import type { AuthResult, ClientInfo, IssuedTokens } from './types.ts'
import { publicUser } from './views.ts'

/**
 * The session an access token speaks for: its id, how and when the user last
 * proved who they are, and (OAuth) the client, scopes and resource it was
 * granted; without those, Tessera's own API's (client `tessera`); and, for
 * a social login, the provider it signed in at (`idp`).
 */
export type TokenSession = Pick<SessionRecord, 'id' | 'amr' | 'authTime'> &
  Partial<Pick<SessionRecord, 'clientId' | 'scope' | 'resource' | 'idp'>>

export interface IssueOptions {
  /** A narrower scope than the session's (an OAuth refresh asking for less). */
  scope?: string
  /** Seconds: the client's own access-token lifetime. */
  ttl?: number
  /** The DPoP key the access token is bound to (RFC 9449 §6, `cnf.jkt`). */
  jkt?: string
}

export interface TokenIssuing {
  /** The access token for `user` in `session`, with the refresh token it travels with. */
  issueTokens(
    user: UserRecord,
    session: TokenSession,
    refreshToken: string,
    refreshExpiresAt: number,
    options?: IssueOptions,
  ): IssuedTokens
  /** A refresh token expires at the idle timeout, never after its session. */
  refreshExpiry(sessionExpiresAt: number, at: number): number
  /**
   * A new session for `user`, who just authenticated by `amr` (RFC 8176),
   * and its first pair; `idp` when the first factor was a social login.
   */
  startSession(
    user: UserRecord,
    client: ClientInfo,
    amr: readonly string[],
    options?: { idp?: string | undefined },
  ): Promise<AuthResult>
}

export function createTokenIssuing(deps: {
  config: Pick<
    Config,
    'accessTokenEmail' | 'refreshIdleTtl' | 'refreshTokenTtl' | 'emailVerification'
  >
  store: Store
  issuer: AccessTokenIssuerPort
  refreshTokens: RefreshTokens
  revoke: Revoker
  now: () => number
}): TokenIssuing {
  const { config, store, issuer, refreshTokens, revoke, now } = deps

  function issueTokens(
    user: UserRecord,
    session: TokenSession,
    refreshToken: string,
    refreshExpiresAt: number,
    options: IssueOptions = {},
  ): IssuedTokens {
    const access = issuer.issue({
      userId: user.id,
      sessionId: session.id,
      roles: user.roles,
      clientId: session.clientId ?? FIRST_PARTY_CLIENT_ID,
      scope: options.scope ?? session.scope ?? FIRST_PARTY_SCOPE,
      ...(session.resource == null ? {} : { audience: session.resource }),
      ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
      ...(options.jkt === undefined ? {} : { jkt: options.jkt }),
      amr: session.amr,
      authTime: Math.floor(session.authTime / 1000),
      ...(session.idp === undefined ? {} : { idp: session.idp }),
      ...(config.accessTokenEmail ? { email: user.email } : {}),
      ...(config.emailVerification === 'off'
        ? {}
        : { emailVerified: user.emailVerifiedAt !== null }),
    })
    return {
      accessToken: access.token,
      tokenType: options.jkt === undefined ? 'Bearer' : 'DPoP',
      expiresIn: access.expiresIn,
      refreshToken,
      refreshExpiresIn: Math.max(0, Math.floor((refreshExpiresAt - now()) / 1000)),
    }
  }

  function refreshExpiry(sessionExpiresAt: number, at: number): number {
    return Math.min(sessionExpiresAt, at + config.refreshIdleTtl * 1000)
  }

  return {
    issueTokens,
    refreshExpiry,
    async startSession(user, client, amr, options = {}) {
      await revoke.awaitCutover(user.id)
      const at = now()
      const session: TokenSession = {
        id: randomUUID(),
        amr: [...amr],
        authTime: at,
        ...(options.idp === undefined ? {} : { idp: options.idp }),
      }
      const sessionExpiresAt = at + config.refreshTokenTtl * 1000
      const refresh = refreshTokens.createRefreshToken()
      const refreshExpiresAt = refreshExpiry(sessionExpiresAt, at)
      await store.sessions.createSession(
        {
          ...session,
          userId: user.id,
          createdAt: at,
          expiresAt: sessionExpiresAt,
          userAgent: client.userAgent,
          ip: client.ip,
          // RFC 9449 §5: a first-party session started with a DPoP proof
          // refreshes only with that key.
          dpopJkt: client.dpopJkt ?? null,
          idp: session.idp ?? null,
        },
        {
          tokenHash: refresh.hash,
          sessionId: session.id,
          createdAt: at,
          expiresAt: refreshExpiresAt,
        },
      )
      return {
        user: publicUser(user),
        sessionId: session.id,
        tokens: issueTokens(
          user,
          session,
          refresh.token,
          refreshExpiresAt,
          client.dpopJkt === undefined ? {} : { jkt: client.dpopJkt },
        ),
      }
    },
  }
}
