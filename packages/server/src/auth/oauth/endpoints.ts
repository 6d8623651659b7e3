// The OAuth endpoints around the grants: introspection (RFC 7662),
// revocation (RFC 7009), userinfo (OpenID Connect Core §5.3), RP-initiated
// logout (OpenID Connect RP-Initiated Logout 1.0), the user's consents, and
// the server's metadata (RFC 8414, OpenID Connect Discovery 1.0).

import type { AccessTokenClaims, VerifiedJwt } from '@tessera/jwt'
import { isJwtError } from '@tessera/jwt'
import type { OAuthClientRecord } from '../../storage/ports.ts'
import { FIRST_PARTY_CLIENT_ID } from '../../tokens/access-tokens.ts'
import type { FlowContext } from '../context.ts'
import { AuthError } from '../errors.ts'
import type { ClientCredentials, ConsentListing, OAuthEndpointFlows } from '../types.ts'
import type { ClientAuthenticator } from './client-auth.ts'
import { redirectUriMatches } from './clients.ts'
import { encryptForClient } from './encryption.ts'
import { OAuthError } from './errors.ts'
import { redirectWith } from './requests.ts'
import { OPENID, parseScope, REVOCATIONS_SCOPE } from './scopes.ts'

function looksLikeJwt(token: string): boolean {
  return token.split('.').length === 3
}

export function createOAuthEndpointFlows(
  ctx: FlowContext,
  clients: ClientAuthenticator,
): OAuthEndpointFlows {
  const { store, config, now, oauthTokens, revoke, refreshTokens } = ctx

  function verifyAccess(token: string): VerifiedJwt<AccessTokenClaims> | undefined {
    try {
      return oauthTokens.verifyAccessToken(token)
    } catch (error) {
      if (isJwtError(error)) return undefined
      throw error
    }
  }

  /** A client's token stays good only while the client is registered. */
  async function clientExists(clientId: unknown): Promise<boolean> {
    if (clientId === FIRST_PARTY_CLIENT_ID) return true
    return typeof clientId === 'string' && (await store.oauth.findClient(clientId)) !== undefined
  }

  /** The live session and user a refresh token is for, or undefined. */
  async function refreshGrantOf(token: string) {
    if (!refreshTokens.isWellFormedRefreshToken(token)) return undefined
    const record = await store.sessions.findRefreshToken(refreshTokens.hashRefreshToken(token))
    const at = now()
    if (record === undefined || record.usedAt !== null || record.expiresAt <= at) return undefined
    const session = await store.sessions.findSession(record.sessionId)
    if (session === undefined || session.revokedAt !== null || session.expiresAt <= at)
      return undefined
    return { record, session }
  }

  async function authenticated(
    credentials: ClientCredentials,
    audiences: readonly string[],
  ): Promise<OAuthClientRecord> {
    const client = await clients.authenticate(credentials, audiences)
    const token = credentials.params['token']
    if (token === undefined || token === '')
      throw new OAuthError('invalid_request', 'token is required')
    return client
  }

  return {
    async introspect(credentials, audiences) {
      const client = await authenticated(credentials, audiences)
      // RFC 7662 §2.1: a protected resource authenticates; a public client cannot.
      if (client.tokenEndpointAuthMethod === 'none') {
        throw new OAuthError('invalid_client', 'a public client cannot introspect tokens')
      }
      const token = credentials.params['token'] as string
      if (looksLikeJwt(token)) {
        const verified = verifyAccess(token)
        // The caller's own token needs no second look at the registry.
        const owner = verified?.payload.client_id
        if (verified === undefined || (owner !== client.id && !(await clientExists(owner)))) {
          return { active: false }
        }
        const claims = verified.payload as AccessTokenClaims & Record<string, unknown>
        return {
          active: true,
          // RFC 9449 §6.2: a bound token is a DPoP token, with its cnf.
          token_type: claims['cnf'] === undefined ? 'Bearer' : 'DPoP',
          ...pick(claims, [
            'scope',
            'client_id',
            'sub',
            'exp',
            'iat',
            'iss',
            'aud',
            'jti',
            'sid',
            'auth_time',
            'amr',
            'idp',
            'roles',
            'cnf',
          ]),
        }
      }
      const grant = await refreshGrantOf(token)
      if (grant === undefined) return { active: false }
      return {
        active: true,
        token_type: 'refresh_token',
        client_id: grant.session.clientId,
        sub: grant.session.userId,
        scope: grant.session.scope ?? undefined,
        iat: Math.floor(grant.record.createdAt / 1000),
        exp: Math.floor(grant.record.expiresAt / 1000),
        iss: config.issuer,
        sid: grant.session.id,
      }
    },

    async revokeToken(credentials, audiences, info) {
      const client = await authenticated(credentials, audiences)
      const token = credentials.params['token'] as string
      // RFC 7009 §2.2: an unknown or invalid token is answered 200 all the
      // same; §2.1: a good token of another client is refused, and left alone.
      const foreign = () =>
        new OAuthError('invalid_request', 'the token was not issued to this client')
      if (looksLikeJwt(token)) {
        const verified = verifyAccess(token)
        if (verified === undefined) return
        if (verified.payload.client_id !== client.id) throw foreign()
        const { jti, exp } = verified.payload
        if (typeof jti === 'string' && typeof exp === 'number') {
          await ctx.revocations.add([{ kind: 'jti', value: jti, expiresAt: exp * 1000 }])
        }
        return
      }
      const grant = await refreshGrantOf(token)
      if (grant === undefined) return
      if (grant.session.clientId !== client.id) throw foreign()
      // A refresh token's revocation ends its grant: the session and its access tokens.
      if (await store.sessions.revokeSession(grant.session.id, now(), 'revoked_by_client')) {
        await revoke.sessions([grant.session.id])
        await ctx.audit(
          'oauth.token_revoked',
          info,
          { userId: grant.session.userId, sessionId: grant.session.id },
          { clientId: client.id },
        )
      }
    },

    async userinfo(accessToken, presented = { scheme: 'Bearer' }) {
      if (accessToken === undefined) {
        throw new OAuthError('invalid_token', 'an access token is required', {
          noCredentials: true,
        })
      }
      const verified = verifyAccess(accessToken)
      if (verified === undefined || typeof verified.payload.sid !== 'string') {
        throw new OAuthError('invalid_token', 'the access token is not valid')
      }
      const claims = verified.payload
      // RFC 9449 §7: a bound token only with a proof of its key; never as a bearer token.
      const bound = (claims['cnf'] as { jkt?: unknown } | undefined)?.jkt
      if (bound !== undefined && (presented.scheme !== 'DPoP' || presented.jkt !== bound)) {
        throw new OAuthError(
          'invalid_token',
          'the access token is bound to a DPoP key: send it as DPoP with a proof of that key',
        )
      }
      // The DPoP scheme is for bound tokens only (RFC 9449 §7.1).
      if (bound === undefined && presented.scheme === 'DPoP') {
        throw new OAuthError('invalid_token', 'the access token is not bound to a DPoP key')
      }
      const scopes = parseScope(typeof claims.scope === 'string' ? claims.scope : '')
      if (!scopes.includes(OPENID))
        throw new OAuthError('insufficient_scope', 'the openid scope is required')
      const user = await store.users.findUserById(claims.sub as string)
      const client =
        claims.client_id === FIRST_PARTY_CLIENT_ID || typeof claims.client_id !== 'string'
          ? undefined
          : await store.oauth.findClient(claims.client_id)
      if (
        user === undefined ||
        user.disabled ||
        (claims.client_id !== FIRST_PARTY_CLIENT_ID && client === undefined)
      ) {
        throw new OAuthError('invalid_token', 'the access token is not valid')
      }
      const info: Record<string, unknown> = { sub: user.id }
      if (scopes.includes('profile')) {
        if (user.name !== null) info.name = user.name
        info.updated_at = Math.floor(user.updatedAt / 1000)
      }
      if (scopes.includes('email')) {
        info.email = user.email
        info.email_verified = user.emailVerifiedAt !== null
      }
      // OpenID Connect Core §5.3.2: for a client that asked, a JWE of the claims.
      if (client?.userinfoEncryption != null) {
        return {
          claims: info,
          encrypted: encryptForClient(client, client.userinfoEncryption, JSON.stringify(info)),
        }
      }
      return { claims: info }
    },

    async logout(params, browser, confirmed, info) {
      const hint = params['id_token_hint']
      let hinted: { sub: string; sid?: string; clientId: string } | undefined
      if (hint !== undefined) {
        try {
          const payload = oauthTokens.verifyHint(hint)
          const aud = Array.isArray(payload.aud) ? payload.aud[0] : payload.aud
          hinted = {
            sub: String(payload.sub),
            clientId: String(aud),
            ...(typeof payload['sid'] === 'string' ? { sid: payload['sid'] } : {}),
          }
        } catch (error) {
          if (!isJwtError(error)) throw error
          return {
            kind: 'error_page',
            error: 'invalid_request',
            description: 'id_token_hint is not an ID token of this server',
          }
        }
      }
      const clientId = params['client_id'] ?? hinted?.clientId
      if (
        hinted !== undefined &&
        params['client_id'] !== undefined &&
        params['client_id'] !== hinted.clientId
      ) {
        return {
          kind: 'error_page',
          error: 'invalid_request',
          description: 'client_id does not match id_token_hint',
        }
      }
      const client = clientId === undefined ? undefined : await store.oauth.findClient(clientId)
      const back = params['post_logout_redirect_uri']
      if (back !== undefined) {
        // Only to a URI the client registered for this, or logout is an open redirect.
        if (client === undefined || !redirectUriMatches(client.postLogoutRedirectUris, back)) {
          return {
            kind: 'error_page',
            error: 'invalid_request',
            description: 'post_logout_redirect_uri is not registered for this client',
          }
        }
      }
      // Without a hint that this browser's user signed in to the client, a
      // link could sign anyone out: ask first.
      const trusted =
        hinted !== undefined && (browser === undefined || browser.user.id === hinted.sub)
      if (!trusted && !confirmed) {
        const hidden: Record<string, string> = {}
        for (const name of ['id_token_hint', 'client_id', 'post_logout_redirect_uri', 'state']) {
          const value = params[name]
          if (value !== undefined) hidden[name] = value
        }
        return { kind: 'confirm', hidden, clientName: client?.name ?? null }
      }
      const ended: string[] = []
      const at = now()
      if (
        browser !== undefined &&
        (await store.sessions.revokeSession(browser.session.id, at, 'logout'))
      ) {
        ended.push(browser.session.id)
      }
      if (hinted?.sid !== undefined) {
        const session = await store.sessions.findSession(hinted.sid)
        if (
          session !== undefined &&
          session.userId === hinted.sub &&
          (await store.sessions.revokeSession(session.id, at, 'logout'))
        ) {
          ended.push(session.id)
        }
      }
      if (ended.length > 0) {
        await revoke.sessions(ended)
        await ctx.audit(
          'oauth.logout',
          info,
          { userId: browser?.user.id ?? hinted?.sub ?? null },
          { clientId: clientId ?? null, sessions: ended.length },
        )
      }
      const location =
        back === undefined ? undefined : redirectWith(back, { state: params['state'] })
      return { kind: 'done', location, endedSessions: ended }
    },

    async listConsents(access) {
      const consents = await store.oauth.listConsents(access.userId)
      const listing: ConsentListing[] = []
      for (const consent of consents) {
        const client = await store.oauth.findClient(consent.clientId)
        if (client === undefined) continue
        listing.push({
          clientId: client.id,
          clientName: client.name,
          scopes: consent.scopes,
          grantedAt: new Date(consent.updatedAt).toISOString(),
        })
      }
      return listing
    },

    async revokeConsent(access, clientId, info) {
      const had = await store.oauth.deleteConsent(access.userId, clientId)
      const ended = await store.sessions.revokeClientSessions(
        clientId,
        now(),
        'consent_revoked',
        access.userId,
      )
      if (!had && ended.length === 0) throw new AuthError('not_found', 'no such app has access')
      if (ended.length > 0) await revoke.sessions(ended)
      await ctx.audit(
        'oauth.consent_revoked',
        info,
        { userId: access.userId, sessionId: access.sessionId },
        { clientId, sessions: ended.length },
      )
    },

    async authenticateFeedService(token) {
      const verified = verifyAccess(token)
      const claims = verified?.payload
      if (
        claims === undefined ||
        claims.sid !== undefined ||
        typeof claims.client_id !== 'string' ||
        claims.sub !== claims.client_id ||
        !parseScope(typeof claims.scope === 'string' ? claims.scope : '').includes(
          REVOCATIONS_SCOPE,
        ) ||
        !(await clientExists(claims.client_id))
      ) {
        throw new AuthError('invalid_token', 'the access token is not valid')
      }
      return { clientId: claims.client_id }
    },
  }
}

function pick(source: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const picked: Record<string, unknown> = {}
  for (const name of names) if (source[name] !== undefined) picked[name] = source[name]
  return picked
}
