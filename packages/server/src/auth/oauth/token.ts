// The token endpoint (RFC 6749 §3.2): the authorization code (with PKCE,
// RFC 7636), refresh (the same rotation, grace window and reuse detection as
// /auth/refresh) and client credentials grants.

import { createHash, randomUUID } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import type { OAuthClientRecord, SessionRecord, UserRecord } from '../../storage/ports.ts'
import type { FlowContext } from '../context.ts'
import { clientFingerprint, sameText } from '../fingerprint.ts'
import type { ClientInfo, TokenFlows, TokenResponse } from '../types.ts'
import { type CodeData, hashCode } from './authorize.ts'
import type { ClientAuthenticator } from './client-auth.ts'
import { encryptForClient } from './encryption.ts'
import { OAuthError } from './errors.ts'
import { checkScopes, formatScope, OPENID, parseScope, USER_SCOPES } from './scopes.ts'

const GRANTS = new Set(['authorization_code', 'refresh_token', 'client_credentials'])
/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/

/** What a racing refresh gets back inside the grace window. */
interface SealedAnswer {
  response: TokenResponse
  /** Public clients only: who rotated (address and User-Agent), as /auth/refresh keeps it. */
  fingerprint?: string
}

function required(params: Readonly<Record<string, string>>, name: string): string {
  const value = params[name]
  if (value === undefined || value === '')
    throw new OAuthError('invalid_request', `${name} is required`)
  return value
}

export function createTokenFlows(ctx: FlowContext, clients: ClientAuthenticator): TokenFlows {
  const { store, config, now, sealer, revoke, refreshTokens, oauthTokens, tokens: issuing } = ctx
  const resources = new Set([config.audience, ...config.oauthResources])

  function checkResource(resource: string | undefined): void {
    if (resource !== undefined && !resources.has(resource)) {
      throw new OAuthError(
        'invalid_target',
        'the resource is not one this server issues tokens for',
      )
    }
  }

  function idToken(
    user: UserRecord,
    session: SessionRecord,
    client: OAuthClientRecord,
    scopes: readonly string[],
    nonce: string | undefined,
  ): string {
    const iat = Math.floor(now() / 1000)
    const claims: Record<string, unknown> = {
      iss: config.issuer,
      sub: user.id,
      aud: client.id,
      exp: iat + (client.accessTokenTtl ?? config.accessTokenTtl),
      iat,
      auth_time: Math.floor(session.authTime / 1000),
      amr: session.amr,
      sid: session.id,
    }
    // The social-login provider the user signed in at, as in the access token.
    if (session.idp !== undefined) claims.idp = session.idp
    if (nonce !== undefined) claims.nonce = nonce
    if (scopes.includes('email')) {
      claims.email = user.email
      claims.email_verified = user.emailVerifiedAt !== null
    }
    if (scopes.includes('profile') && user.name !== null) claims.name = user.name
    const signed = oauthTokens.signIdToken(claims)
    // OpenID Connect Core §10.2: signed, then encrypted to the client (a nested JWT).
    return client.idTokenEncryption === null
      ? signed
      : encryptForClient(client, client.idTokenEncryption, signed, 'JWT')
  }

  async function activeUser(userId: string): Promise<UserRecord> {
    const user = await store.users.findUserById(userId)
    if (user === undefined || user.disabled)
      throw new OAuthError('invalid_grant', 'the grant is no longer valid')
    return user
  }

  function answer(
    client: OAuthClientRecord,
    user: UserRecord,
    session: SessionRecord,
    refreshToken: string,
    refreshExpiresAt: number,
    scopes: readonly string[],
    jkt: string | undefined,
    nonce?: string,
  ): TokenResponse {
    const issued = issuing.issueTokens(user, session, refreshToken, refreshExpiresAt, {
      scope: formatScope(scopes),
      ...(client.accessTokenTtl === null ? {} : { ttl: client.accessTokenTtl }),
      ...(jkt === undefined ? {} : { jkt }),
    })
    return {
      access_token: issued.accessToken,
      token_type: issued.tokenType,
      expires_in: issued.expiresIn,
      scope: formatScope(scopes),
      ...(client.grantTypes.includes('refresh_token') ? { refresh_token: refreshToken } : {}),
      ...(scopes.includes(OPENID)
        ? { id_token: idToken(user, session, client, scopes, nonce) }
        : {}),
    }
  }

  /**
   * The session the first redemption of a code started. A replay racing it
   * may arrive before the session is recorded: wait for it a little (up to
   * a second, on this rare path only) rather than revoke nothing.
   */
  async function sessionOfRedeemed(
    codeHash: string,
    code: { sessionId: string | null },
  ): Promise<string | null> {
    let sessionId = code.sessionId
    for (let tries = 0; sessionId === null && tries < 20; tries++) {
      await delay(50)
      const again = await store.oauth.redeemCode(codeHash, now())
      sessionId = again.status === 'replayed' ? again.code.sessionId : null
    }
    return sessionId
  }

  async function codeGrant(
    client: OAuthClientRecord,
    params: Readonly<Record<string, string>>,
    info: ClientInfo,
  ): Promise<TokenResponse> {
    const code = required(params, 'code')
    const verifier = required(params, 'code_verifier')
    const codeHash = hashCode(code)
    const redeemed = await store.oauth.redeemCode(codeHash, now())
    if (redeemed.status === 'not_found')
      throw new OAuthError('invalid_grant', 'the code is not valid or has expired')
    if (redeemed.status === 'replayed') {
      // RFC 6749 §4.1.2: a code used twice was stolen or leaked; what it gave is revoked.
      const sessionId =
        redeemed.code.clientId === client.id
          ? await sessionOfRedeemed(codeHash, redeemed.code)
          : null
      if (sessionId !== null) {
        if (await store.sessions.revokeSession(sessionId, now(), 'code_replayed')) {
          await revoke.sessions([sessionId])
        }
        await ctx.audit(
          'oauth.code_replayed',
          info,
          { userId: redeemed.code.userId, sessionId },
          { clientId: client.id },
        )
      }
      throw new OAuthError('invalid_grant', 'the code was already used')
    }
    const record = redeemed.code
    if (record.clientId !== client.id)
      throw new OAuthError('invalid_grant', 'the code was issued to another client')
    const data = JSON.parse(record.data) as CodeData
    if (
      data.redirectUriGiven
        ? params['redirect_uri'] !== data.redirectUri
        : params['redirect_uri'] !== undefined && params['redirect_uri'] !== data.redirectUri
    ) {
      throw new OAuthError('invalid_grant', 'redirect_uri differs from the authorization request')
    }
    const challenge = createHash('sha256').update(verifier).digest('base64url')
    if (!CODE_VERIFIER.test(verifier) || !sameText(challenge, data.codeChallenge)) {
      throw new OAuthError('invalid_grant', 'the code_verifier does not match the code_challenge')
    }
    const resource = params['resource'] ?? data.resource
    checkResource(resource)
    if (data.resource !== undefined && resource !== data.resource) {
      throw new OAuthError('invalid_target', 'the resource differs from the authorization request')
    }
    const user = await activeUser(record.userId)

    await revoke.awaitCutover(user.id)
    const at = now()
    const sessionExpiresAt = at + (client.refreshTokenTtl ?? config.refreshTokenTtl) * 1000
    const refresh = refreshTokens.createRefreshToken()
    const refreshExpiresAt = issuing.refreshExpiry(sessionExpiresAt, at)
    const session: SessionRecord = {
      id: randomUUID(),
      userId: user.id,
      createdAt: at,
      lastUsedAt: at,
      expiresAt: sessionExpiresAt,
      userAgent: info.userAgent,
      ip: info.ip,
      revokedAt: null,
      revokedReason: null,
      authTime: data.authTime,
      amr: data.amr,
      clientId: client.id,
      scope: formatScope(data.scopes),
      resource: resource ?? null,
      // RFC 9449 §5: a public client's refresh token is bound to its DPoP key
      // (a confidential client's is bound to its authentication already).
      dpopJkt: client.tokenEndpointAuthMethod === 'none' ? (info.dpopJkt ?? null) : null,
      ...(data.idp === undefined ? {} : { idp: data.idp }),
    }
    // One commit: the session, the code's record of it (what a replay
    // revokes) and the audit entry.
    await store.atomically(async () => {
      await store.sessions.createSession(session, {
        tokenHash: refresh.hash,
        sessionId: session.id,
        createdAt: at,
        expiresAt: refreshExpiresAt,
      })
      await store.oauth.attachCodeSession(codeHash, session.id)
      await ctx.audit(
        'oauth.token_issued',
        info,
        { userId: user.id, sessionId: session.id },
        { clientId: client.id, grant: 'authorization_code' },
      )
    })
    return answer(
      client,
      user,
      session,
      refresh.token,
      refreshExpiresAt,
      data.scopes,
      info.dpopJkt,
      data.nonce,
    )
  }

  async function refreshGrant(
    client: OAuthClientRecord,
    params: Readonly<Record<string, string>>,
    info: ClientInfo,
  ): Promise<TokenResponse> {
    const token = required(params, 'refresh_token')
    const invalid = () => new OAuthError('invalid_grant', 'the refresh token is not valid')
    if (!refreshTokens.isWellFormedRefreshToken(token)) throw invalid()
    const tokenHash = refreshTokens.hashRefreshToken(token)
    // The token's session and user in one read, as /auth/refresh reads them; whether
    // the token is still live is the rotation's to decide, atomically, below.
    const grant = await store.sessions.findRefreshTokenGrant(tokenHash)
    if (grant === undefined) throw invalid()
    const { session, user } = grant
    // Another client's token is not this client's to use, nor to burn.
    if (session.clientId !== client.id) throw invalid()
    const granted = parseScope(session.scope ?? '')
    const requested = parseScope(params['scope'])
    // RFC 6749 §6: the same scope or less, never more.
    checkScopes(requested, granted)
    const scopes = requested.length > 0 ? requested : granted
    if (
      params['resource'] !== undefined &&
      params['resource'] !== (session.resource ?? config.audience)
    ) {
      throw new OAuthError('invalid_target', 'a refresh keeps the resource of its grant')
    }
    if (user.disabled) throw new OAuthError('invalid_grant', 'the grant is no longer valid')

    await revoke.awaitCutover(user.id)
    const at = now()
    const successor = refreshTokens.createRefreshToken()
    const successorExpiresAt = issuing.refreshExpiry(session.expiresAt, at)
    if (session.dpopJkt !== null && session.dpopJkt !== info.dpopJkt) {
      throw new OAuthError(
        'invalid_dpop_proof',
        'this refresh token is bound to a DPoP key: send a proof signed with it',
      )
    }
    const response = answer(
      client,
      user,
      session,
      successor.token,
      successorExpiresAt,
      scopes,
      info.dpopJkt,
    )
    const fingerprint =
      client.tokenEndpointAuthMethod === 'none' ? clientFingerprint(info) : undefined
    const sealed: SealedAnswer = { response, ...(fingerprint === undefined ? {} : { fingerprint }) }
    const outcome = await store.sessions.rotateRefreshToken({
      tokenHash,
      now: at,
      graceMs: config.refreshReuseGrace * 1000,
      successor: {
        tokenHash: successor.hash,
        createdAt: at,
        expiresAt: successorExpiresAt,
        sealedPair: sealer.seal(JSON.stringify(sealed), `oauth-refresh:${tokenHash}`),
      },
    })
    switch (outcome.status) {
      case 'rotated':
        ctx.metrics.inc('refreshes')
        return response
      case 'within_grace': {
        const earlier = JSON.parse(
          sealer.open(outcome.sealedPair, `oauth-refresh:${tokenHash}`),
        ) as SealedAnswer
        // A confidential client proved who it is; a public one is matched as /auth/refresh matches a browser.
        if (
          earlier.fingerprint === undefined ||
          fingerprint === undefined ||
          sameText(earlier.fingerprint, fingerprint)
        ) {
          return earlier.response
        }
        return await reused(outcome.session, info, true)
      }
      case 'reused':
        return await reused(outcome.session, info, false)
      default:
        throw invalid()
    }
  }

  /** RFC 9700 §4.14.2: a used refresh token again means a stolen copy: the session ends. */
  async function reused(
    session: SessionRecord,
    info: ClientInfo,
    withinGrace: boolean,
  ): Promise<never> {
    await store.sessions.revokeSession(session.id, now(), 'refresh_token_reused')
    await revoke.sessions([session.id])
    ctx.metrics.inc('refresh_reuse_detected')
    await ctx.audit(
      'refresh.reuse_detected',
      info,
      { userId: session.userId, sessionId: session.id },
      { withinGrace, clientId: session.clientId },
    )
    throw new OAuthError(
      'invalid_grant',
      'the refresh token was already used; the grant is revoked',
    )
  }

  function clientCredentialsGrant(
    client: OAuthClientRecord,
    params: Readonly<Record<string, string>>,
    jkt: string | undefined,
  ): TokenResponse {
    if (client.tokenEndpointAuthMethod === 'none') {
      throw new OAuthError('unauthorized_client', 'a public client cannot use client credentials')
    }
    // A service speaks for itself: the scopes of a user's grant do not apply.
    const allowed = client.scopes.filter((scope) => !USER_SCOPES.has(scope))
    const requested = parseScope(params['scope'])
    checkScopes(requested, allowed)
    const scopes = requested.length > 0 ? requested : allowed
    const resource = params['resource']
    checkResource(resource)
    const issued = ctx.issuer.issue({
      userId: client.id,
      clientId: client.id,
      scope: formatScope(scopes),
      ...(resource === undefined ? {} : { audience: resource }),
      ...(client.accessTokenTtl === null ? {} : { ttl: client.accessTokenTtl }),
      ...(jkt === undefined ? {} : { jkt }),
    })
    return {
      access_token: issued.token,
      token_type: jkt === undefined ? 'Bearer' : 'DPoP',
      expires_in: issued.expiresIn,
      scope: formatScope(scopes),
    }
  }

  return {
    async token(credentials, audiences, info) {
      const grant = credentials.params['grant_type']
      if (grant === undefined) throw new OAuthError('invalid_request', 'grant_type is required')
      if (!GRANTS.has(grant))
        throw new OAuthError('unsupported_grant_type', `the grant ${grant} is not supported`)
      const client = await clients.authenticate(credentials, audiences)
      if (!client.grantTypes.includes(grant as OAuthClientRecord['grantTypes'][number])) {
        throw new OAuthError('unauthorized_client', `this client may not use the ${grant} grant`)
      }
      // RFC 9449 §5.2: a client registered with dpop_bound_access_tokens gets none without a proof.
      if (client.dpopBoundAccessTokens && info.dpopJkt === undefined) {
        throw new OAuthError('invalid_dpop_proof', 'this client must send a DPoP proof')
      }
      const { params } = credentials
      if (grant === 'authorization_code') return await codeGrant(client, params, info)
      if (grant === 'refresh_token') return await refreshGrant(client, params, info)
      return clientCredentialsGrant(client, params, info.dpopJkt)
    },
  }
}
