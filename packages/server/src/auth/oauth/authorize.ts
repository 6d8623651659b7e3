// The authorization endpoint's flow (RFC 6749 §4.1, OpenID Connect Core
// §3.1.2): check the request, find who is signed in in this browser, send
// them to sign in or to consent when needed, and hand the client a code.
//
// The browser's session is its refresh cookie. That cookie is SameSite=Strict,
// so a user arriving from the client's site does not bring it: the request
// is stored and the browser is sent on to /oauth/authorize/continue by a
// page of ours (a same-site navigation, which carries the cookie). Where the
// request comes with the cookie (a same-site start), it goes straight on.

import { createHash, randomBytes } from 'node:crypto'
import type { OAuthClientRecord, SessionRecord } from '../../storage/ports.ts'
import { FIRST_PARTY_CLIENT_ID } from '../../tokens/access-tokens.ts'
import type { FlowContext } from '../context.ts'
import { hashChallengeToken } from '../sign-in.ts'
import type { AuthorizeFlows, AuthorizeStep, BrowserSession, ClientInfo } from '../types.ts'
import { type AuthorizationRequest, checkAuthorizationRequest, redirectWith } from './requests.ts'

/** Time to sign in (a second factor, perhaps setting one up) and consent. */
const REQUEST_TTL_MS = 30 * 60_000
/** RFC 6749 §4.1.2 recommends at most 10 minutes; a client redeems at once. */
export const CODE_TTL_MS = 60_000

/** What the code remembers for the token request. */
export interface CodeData {
  redirectUri: string
  redirectUriGiven: boolean
  codeChallenge: string
  scopes: string[]
  nonce?: string
  resource?: string
  /** Epoch ms. */
  authTime: number
  amr: string[]
  /** The social-login provider the browser's session signed in at: the grant's `idp`. */
  idp?: string
}

/**
 * A checked request: stored (its `id` set) only once a step must wait for
 * the browser (continue, login, consent); one that can be answered at once
 * never touches the store.
 */
interface Pending {
  id?: string
  readonly request: AuthorizationRequest
}

const EXPIRED_REQUEST: AuthorizeStep = {
  kind: 'error_page',
  error: 'invalid_request',
  description: 'this sign-in request has expired or was already used: start again from the app',
}

export function createAuthorizeFlows(ctx: FlowContext): AuthorizeFlows {
  const { store, config, now } = ctx
  const resources = [config.audience, ...config.oauthResources]
  const providers = config.providers.map((provider) => provider.id)

  function respond(
    request: AuthorizationRequest,
    params: Record<string, string | undefined>,
  ): AuthorizeStep {
    return {
      kind: 'redirect',
      location: redirectWith(request.redirectUri, {
        ...params,
        state: request.state,
        iss: config.issuer,
      }),
    }
  }

  async function storeRequest(request: AuthorizationRequest): Promise<string> {
    const id = randomBytes(32).toString('base64url')
    await store.challenges.createChallenge({
      hash: hashChallengeToken(id),
      kind: 'oauth_request',
      userId: null,
      data: JSON.stringify(request),
      createdAt: request.createdAt,
      expiresAt: request.createdAt + REQUEST_TTL_MS,
      maxAttempts: 1,
    })
    return id
  }

  async function loadRequest(id: string): Promise<AuthorizationRequest | undefined> {
    if (id.length === 0 || id.length > 100) return undefined
    const record = await store.challenges.findChallenge(
      hashChallengeToken(id),
      'oauth_request',
      now(),
    )
    return record === undefined ? undefined : (JSON.parse(record.data) as AuthorizationRequest)
  }

  /** Ends the stored request: one code (or one answer) per request. True when it was never stored. */
  async function endRequest(pending: Pending): Promise<boolean> {
    if (pending.id === undefined) return true
    return (
      (await store.challenges.consumeChallenge(
        hashChallengeToken(pending.id),
        'oauth_request',
        now(),
      )) !== undefined
    )
  }

  /** The request's id, storing it first if it waits for the first time. */
  async function idOf(pending: Pending): Promise<string> {
    pending.id ??= await storeRequest(pending.request)
    return pending.id
  }

  /** Whether this sign-in satisfies the request: `prompt=login` and `max_age` ask for a recent one. */
  function signInIsFresh(request: AuthorizationRequest, session: SessionRecord): boolean {
    if (request.prompt.includes('login') && session.authTime < request.createdAt) return false
    if (request.maxAge !== undefined && now() - session.authTime > request.maxAge * 1000)
      return false
    return true
  }

  async function needsConsent(
    request: AuthorizationRequest,
    client: OAuthClientRecord,
    userId: string,
  ): Promise<boolean> {
    if (client.firstParty && !request.prompt.includes('consent')) return false
    if (request.prompt.includes('consent')) return true
    const consent = await store.oauth.findConsent(userId, client.id)
    if (consent === undefined) return true
    const granted = new Set(consent.scopes)
    return request.scopes.some((scope) => !granted.has(scope))
  }

  /** Issues the code for a request the user may complete, and ends the request. */
  async function issueCode(
    pending: Pending,
    browser: BrowserSession,
    client: ClientInfo,
  ): Promise<AuthorizeStep> {
    const { request } = pending
    if (!(await endRequest(pending))) return EXPIRED_REQUEST
    const code = randomBytes(32).toString('base64url')
    const at = now()
    const data: CodeData = {
      redirectUri: request.redirectUri,
      redirectUriGiven: request.redirectUriGiven,
      codeChallenge: request.codeChallenge,
      scopes: request.scopes,
      ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
      ...(request.resource === undefined ? {} : { resource: request.resource }),
      authTime: browser.session.authTime,
      amr: browser.session.amr,
      ...(browser.session.idp === undefined ? {} : { idp: browser.session.idp }),
    }
    await store.atomically(async () => {
      await store.oauth.createCode({
        hash: hashCode(code),
        clientId: request.clientId,
        userId: browser.user.id,
        data: JSON.stringify(data),
        createdAt: at,
        expiresAt: at + CODE_TTL_MS,
      })
      await ctx.audit(
        'oauth.authorized',
        client,
        { userId: browser.user.id, sessionId: browser.session.id },
        { clientId: request.clientId, scope: request.scopes.join(' ') },
      )
    })
    return respond(request, { code })
  }

  /** From a checked request and what the browser holds, the next step. */
  async function proceed(
    pending: Pending,
    browser: BrowserSession | undefined,
    client: ClientInfo,
    known?: OAuthClientRecord,
  ): Promise<AuthorizeStep> {
    const { request } = pending
    const registered = known ?? (await store.oauth.findClient(request.clientId))
    if (registered === undefined) {
      return {
        kind: 'error_page',
        error: 'invalid_request',
        description: 'client_id names no registered client',
      }
    }
    const silent = request.prompt.includes('none')
    if (browser === undefined || !signInIsFresh(request, browser.session)) {
      if (silent) {
        await endRequest(pending)
        return respond(request, {
          error: 'login_required',
          error_description: 'the user must sign in',
        })
      }
      return {
        kind: 'login',
        requestId: await idOf(pending),
        ...(request.loginHint === undefined ? {} : { loginHint: request.loginHint }),
        ...(request.provider === undefined ? {} : { provider: request.provider }),
      }
    }
    if (await needsConsent(request, registered, browser.user.id)) {
      if (silent) {
        await endRequest(pending)
        return respond(request, {
          error: 'consent_required',
          error_description: 'the user must consent',
        })
      }
      return {
        kind: 'consent',
        requestId: await idOf(pending),
        view: {
          clientId: registered.id,
          clientName: registered.name,
          scopes: request.scopes,
          userEmail: browser.user.email,
          redirectHost: hostOf(request.redirectUri),
        },
        redirectUri: request.redirectUri,
      }
    }
    return await issueCode(pending, browser, client)
  }

  return {
    async authorize(params, repeated, browser, client) {
      const registered =
        params['client_id'] === undefined
          ? undefined
          : await store.oauth.findClient(params['client_id'])
      const checked = checkAuthorizationRequest({
        params,
        repeated,
        client: registered,
        resources,
        providers,
        now: now(),
      })
      if ('kind' in checked) {
        if (checked.kind === 'error_page') return checked
        return {
          kind: 'redirect',
          location: redirectWith(checked.redirectUri, {
            error: checked.error,
            error_description: checked.description,
            state: checked.state,
            iss: config.issuer,
          }),
        }
      }
      const pending: Pending = { request: checked }
      // Without the cookie this may be a cross-site arrival that did not bring it: look again, same-site.
      if (browser === undefined) return { kind: 'continue', requestId: await idOf(pending) }
      return await proceed(pending, browser, client, registered)
    },

    async continueAuthorization(id, browser, client) {
      const request = await loadRequest(id)
      if (request === undefined) return EXPIRED_REQUEST
      return await proceed({ id, request }, browser, client)
    },

    async consent(id, decision, browser, client) {
      const request = await loadRequest(id)
      if (request === undefined) return EXPIRED_REQUEST
      if (browser === undefined || !signInIsFresh(request, browser.session)) {
        return {
          kind: 'login',
          requestId: id,
          ...(request.provider === undefined ? {} : { provider: request.provider }),
        }
      }
      if (decision === 'deny') {
        await endRequest({ id, request })
        await ctx.audit(
          'oauth.denied',
          client,
          { userId: browser.user.id },
          { clientId: request.clientId },
        )
        return respond(request, {
          error: 'access_denied',
          error_description: 'the user denied the request',
        })
      }
      const consented = request.scopes
      await store.oauth.grantConsent(browser.user.id, request.clientId, consented, now())
      await ctx.audit(
        'oauth.consented',
        client,
        { userId: browser.user.id },
        { clientId: request.clientId, scope: consented.join(' ') },
      )
      return await issueCode({ id, request }, browser, client)
    },

    async browserSession(refreshToken) {
      if (!ctx.refreshTokens.isWellFormedRefreshToken(refreshToken)) return undefined
      const at = now()
      const record = await store.sessions.findRefreshToken(
        ctx.refreshTokens.hashRefreshToken(refreshToken),
      )
      if (record === undefined || record.usedAt !== null || record.expiresAt <= at) return undefined
      const session = await store.sessions.findSession(record.sessionId)
      if (
        session === undefined ||
        session.revokedAt !== null ||
        session.expiresAt <= at ||
        session.clientId !== FIRST_PARTY_CLIENT_ID
      ) {
        return undefined
      }
      const user = await store.users.findUserById(session.userId)
      if (user === undefined || user.disabled) return undefined
      if (config.emailVerification === 'required' && user.emailVerifiedAt === null) return undefined
      return { session, user }
    },
  }
}

export function hashCode(code: string): string {
  return createHash('sha256').update(code).digest('base64url')
}

function hostOf(uri: string): string {
  const url = URL.parse(uri)
  return url === null ? uri : url.host === '' ? `${url.protocol}` : url.host
}
