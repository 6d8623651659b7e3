// Handing out tokens: the access token of a user's session, the refresh
// token's expiry, and a new session with its first pair.

import { randomUUID } from 'node:crypto'
import type { Config } from '../config/types.ts'
import type { Store, UserRecord } from '../storage/ports.ts'
import type { AccessTokenIssuerPort, RefreshTokens } from './ports.ts'
import type { Revoker } from './revoke.ts'
import type { AuthResult, ClientInfo, IssuedTokens } from './types.ts'
import { publicUser } from './views.ts'

export interface TokenIssuing {
  /** The access token for `user` in `sessionId`, with the refresh token it travels with. */
  issueTokens(
    user: UserRecord,
    sessionId: string,
    refreshToken: string,
    refreshExpiresAt: number,
  ): IssuedTokens
  /** A refresh token expires at the idle timeout, never after its session. */
  refreshExpiry(sessionExpiresAt: number, at: number): number
  /** A new session for `user` and its first pair. */
  startSession(user: UserRecord, client: ClientInfo): Promise<AuthResult>
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
    sessionId: string,
    refreshToken: string,
    refreshExpiresAt: number,
  ): IssuedTokens {
    const access = issuer.issue({
      userId: user.id,
      sessionId,
      roles: user.roles,
      ...(config.accessTokenEmail ? { email: user.email } : {}),
      ...(config.emailVerification === 'off'
        ? {}
        : { emailVerified: user.emailVerifiedAt !== null }),
    })
    return {
      accessToken: access.token,
      tokenType: 'Bearer',
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
    async startSession(user, client) {
      await revoke.awaitCutover(user.id)
      const at = now()
      const sessionId = randomUUID()
      const sessionExpiresAt = at + config.refreshTokenTtl * 1000
      const refresh = refreshTokens.createRefreshToken()
      const refreshExpiresAt = refreshExpiry(sessionExpiresAt, at)
      await store.sessions.createSession(
        {
          id: sessionId,
          userId: user.id,
          createdAt: at,
          expiresAt: sessionExpiresAt,
          userAgent: client.userAgent,
          ip: client.ip,
        },
        { tokenHash: refresh.hash, sessionId, createdAt: at, expiresAt: refreshExpiresAt },
      )
      return {
        user: publicUser(user),
        sessionId,
        tokens: issueTokens(user, sessionId, refresh.token, refreshExpiresAt),
      }
    },
  }
}
