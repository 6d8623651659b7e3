// Sessions: refresh rotation (grace window for the client that rotated,
// reuse detection for everyone else), logout, logout everywhere, the list
// of a user's sessions and revoking one of them.

import { decode } from '@tessera/jwt'
import type { SessionRecord } from '../storage/ports.ts'
import { FIRST_PARTY_CLIENT_ID } from '../tokens/access-tokens.ts'
import type { FlowContext } from './context.ts'
import { AuthError } from './errors.ts'
import { clientFingerprint, sameText } from './fingerprint.ts'
import type { ClientInfo, IssuedTokens, SessionFlows } from './types.ts'
import { publicUser, sessionView } from './views.ts'

/** The sealed successor pair, as racing refreshes receive it. */
interface SealedPair {
  tokens: IssuedTokens
  userId: string
  /** clientFingerprint() of the request that rotated: only that client gets the pair again. */
  client?: string
}

const invalidRefreshToken = () =>
  new AuthError('invalid_refresh_token', 'the refresh token is not valid')

export function createSessionFlows(ctx: FlowContext): SessionFlows {
  const { config, store, refreshTokens, rateLimits, sealer, revocations, metrics, audit } = ctx
  const { revoke, tokens: issuing, now } = ctx

  /**
   * RFC 9700 §4.14.2: a used refresh token presented again means one of the
   * two parties holds a stolen copy: end the whole family.
   */
  async function refreshReused(
    session: SessionRecord,
    client: ClientInfo,
    details: { withinGrace: boolean },
  ): Promise<never> {
    await store.sessions.revokeSession(session.id, now(), 'refresh_token_reused')
    await revoke.sessions([session.id])
    metrics.inc('refresh_reuse_detected')
    await audit(
      'refresh.reuse_detected',
      client,
      { userId: session.userId, sessionId: session.id },
      details,
    )
    ctx.log?.warn({ sessionId: session.id, ...details }, 'refresh token reuse: session revoked')
    throw new AuthError(
      'refresh_token_reused',
      'the refresh token was already used; the session is revoked',
    )
  }

  return {
    async refresh(refreshToken, client) {
      if (!refreshTokens.isWellFormedRefreshToken(refreshToken)) throw invalidRefreshToken()
      const tokenHash = refreshTokens.hashRefreshToken(refreshToken)
      // The token, its session and its user in one read (a round trip each
      // on PostgreSQL otherwise); whether the token is still live is the
      // rotation's to decide, atomically, below.
      const grant = await store.sessions.findRefreshTokenGrant(tokenHash)
      if (grant === undefined) throw invalidRefreshToken()
      const { session, user } = grant
      await rateLimits.checkRefresh(session.id)
      // An OAuth client's session refreshes at /oauth/token, with its client's authentication.
      if (session.clientId !== FIRST_PARTY_CLIENT_ID || user.disabled) {
        throw invalidRefreshToken()
      }
      if (config.emailVerification === 'required' && user.emailVerifiedAt === null) {
        throw new AuthError('email_not_verified', 'verify your email address first')
      }
      // RFC 9449 §5: a session bound to a DPoP key refreshes only with a proof of it.
      if (session.dpopJkt !== null && session.dpopJkt !== client.dpopJkt) {
        throw new AuthError(
          'invalid_dpop_proof',
          'this refresh token is bound to a DPoP key: send a proof signed with it',
        )
      }

      await revoke.awaitCutover(user.id)
      // The successor pair is made before the race is decided, so the winner can
      // seal it into the row and racing tabs inside the grace window get it back.
      const at = now()
      const successor = refreshTokens.createRefreshToken()
      const successorExpiresAt = issuing.refreshExpiry(session.expiresAt, at)
      // A proof binds the new access token, whether or not the session is bound.
      const binding = client.dpopJkt === undefined ? {} : { jkt: client.dpopJkt }
      const tokens = issuing.issueTokens(
        user,
        session,
        successor.token,
        successorExpiresAt,
        binding,
      )
      const fingerprint = clientFingerprint(client)
      const pair: SealedPair = { tokens, userId: user.id, client: fingerprint }
      const outcome = await store.sessions.rotateRefreshToken({
        tokenHash,
        now: at,
        graceMs: config.refreshReuseGrace * 1000,
        successor: {
          tokenHash: successor.hash,
          createdAt: at,
          expiresAt: successorExpiresAt,
          sealedPair: sealer.seal(JSON.stringify(pair), `refresh-pair:${tokenHash}`),
        },
      })
      switch (outcome.status) {
        case 'rotated':
          metrics.inc('refreshes')
          return { user: publicUser(user), sessionId: session.id, tokens }
        case 'within_grace': {
          const earlier = JSON.parse(
            sealer.open(outcome.sealedPair, `refresh-pair:${tokenHash}`),
          ) as SealedPair
          // Issue #12: the grace window is for racing tabs and a retry after a
          // lost response, both from the client that rotated. From anyone else
          // the live successor would be handed to a thief, and we cannot tell
          // which of the two is one: it is reuse, as after the window.
          if (earlier.client !== undefined && !sameText(earlier.client, fingerprint)) {
            return await refreshReused(outcome.session, client, { withinGrace: true })
          }
          metrics.inc('refreshes')
          let earlierTokens = earlier.tokens
          // A cut-over since the pair was sealed (a role change) killed its
          // access token: the same refresh token, a fresh access token.
          if (revocations.isRevoked(decode(earlierTokens.accessToken).payload)) {
            const fresh = issuing.issueTokens(user, outcome.session, '', 0, binding)
            earlierTokens = {
              ...earlierTokens,
              accessToken: fresh.accessToken,
              expiresIn: fresh.expiresIn,
            }
          }
          return { user: publicUser(user), sessionId: outcome.session.id, tokens: earlierTokens }
        }
        case 'reused':
          return await refreshReused(outcome.session, client, { withinGrace: false })
        default:
          throw invalidRefreshToken()
      }
    },

    async logout(by, client) {
      let sessionId = by.access?.sessionId
      if (sessionId === undefined && by.refreshToken !== undefined) {
        if (!refreshTokens.isWellFormedRefreshToken(by.refreshToken)) throw invalidRefreshToken()
        const record = await store.sessions.findRefreshToken(
          refreshTokens.hashRefreshToken(by.refreshToken),
        )
        // Logging out a session that is already gone is done: idempotent.
        if (record === undefined) return
        sessionId = record.sessionId
      }
      if (sessionId === undefined)
        throw new AuthError('missing_token', 'an access or refresh token is required')
      const session = await store.sessions.findSession(sessionId)
      if (session === undefined) return
      if (await store.sessions.revokeSession(sessionId, now(), 'logout')) {
        await revoke.sessions([sessionId])
        await audit('logout', client, { userId: session.userId, sessionId })
      }
    },

    async logoutAll(access, client) {
      const ids = await store.sessions.revokeUserSessions(access.userId, now(), 'logout_all')
      await revoke.sessions([...new Set([...ids, access.sessionId])])
      await revoke.userTokens(access.userId)
      await audit(
        'logout_all',
        client,
        { userId: access.userId, sessionId: access.sessionId },
        { sessions: ids.length },
      )
    },

    async listSessions(access) {
      await ctx.profiles.requireUser(access, 'cached')
      const sessions = await store.sessions.listSessions(access.userId, now())
      return sessions.map((s) => sessionView(s, access.sessionId))
    },

    async revokeSession(access, sessionId, client) {
      const session = await store.sessions.findSession(sessionId)
      // Another user's session is "not found", not "forbidden": ids do not leak.
      if (session === undefined || session.userId !== access.userId || session.revokedAt !== null) {
        throw new AuthError('not_found', 'no such session')
      }
      await store.sessions.revokeSession(sessionId, now(), 'revoked_by_user')
      await revoke.sessions([sessionId])
      await audit('session.revoked', client, { userId: access.userId, sessionId })
    },
  }
}
