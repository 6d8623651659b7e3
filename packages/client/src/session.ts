// The session engine: the access token in memory, refreshed before it expires
// (once for all the tabs of the browser), after a reload, and once after a
// refused call; the reason a session ended; the token (and its DPoP proof)
// attached to the configured APIs only. Cookie mode talks to Tessera's JSON
// API in browser mode (the refresh token is an HttpOnly cookie); OAuth mode to
// its OAuth endpoints (the DPoP-bound refresh token is in IndexedDB).

import { dpopKey } from './dpop.ts'
import { errorFromResponse, networkError, TesseraError } from './errors.ts'
import {
  authorizeRequest,
  idTokenClaims,
  type PendingRedirect,
  readCallback,
  type TokenBody,
  userFromClaims,
} from './oauth.ts'
import { defaultStore } from './store.ts'
import { browserTabs } from './tabs.ts'
import type {
  AuthChangeDetail,
  AuthChangeEvent,
  AuthChangeListener,
  ClientOptions,
  Engine,
  RequestInit_,
  Session,
  SessionEndReason,
  User,
} from './types.ts'

/** A 401 with one of these refused the access token itself, not the request: worth one refresh. */
const TOKEN_ERRORS = new Set(['missing_token', 'invalid_token', 'token_expired', 'token_revoked'])
/**
 * Browser mode (docs/http-api.md): the refresh token only in an HttpOnly
 * cookie; a header that a cross-site form cannot send (OWASP CSRF cheat sheet).
 */
const CSRF = { 'x-tessera-csrf': '1' }
/** How long a tab that got the refresh lock waits for the session another tab has just announced. */
const BROADCAST_WAIT = 1000

/** OAuth mode's tokens in the store: the refresh token must survive a reload and reach the other tabs. */
interface StoredTokens {
  readonly refreshToken?: string | undefined
  readonly idToken?: string | undefined
  readonly user: User
}

interface SendOptions {
  /** Sent as `Authorization: <type> <token>`, with a proof carrying `ath` when DPoP-bound. */
  readonly token?: Session | undefined
  /** A DPoP proof without a token (the routes that issue tokens). */
  readonly proof?: boolean
  /** The request can be made again (its body is not a stream): a nonce retry is possible. */
  readonly replay?: boolean
  /** A call to Tessera: a fetch that rejects becomes TesseraError `network_error`. */
  readonly api?: boolean
}

function unsupported(message: string): TesseraError {
  return new TesseraError({ code: 'unsupported', message })
}

async function json<T>(response: Response): Promise<T> {
  const text = await response.text()
  if (text === '') return undefined as T
  try {
    return JSON.parse(text) as T
  } catch (cause) {
    throw new TesseraError({
      code: 'bad_response',
      message: `The server answered ${response.status} with something that is not JSON.`,
      status: response.status,
      cause,
    })
  }
}

/** Whether the answer refused the access token (RFC 6750 §3.1 challenge, or Tessera's code). */
async function refusesToken(response: Response): Promise<boolean> {
  if (response.status !== 401) return false
  if (/error="?invalid_token/.test(response.headers.get('www-authenticate') ?? '')) return true
  return TOKEN_ERRORS.has((await errorFromResponse(response)).code)
}

/** RFC 9449 §8, §9: `use_dpop_nonce`, as a challenge (resources) or a code (the token endpoint, /auth/*). */
async function wantsNonce(response: Response): Promise<boolean> {
  if (response.status !== 400 && response.status !== 401) return false
  if ((response.headers.get('www-authenticate') ?? '').includes('use_dpop_nonce')) return true
  return (await errorFromResponse(response)).code === 'use_dpop_nonce'
}

/** Whether `url` is under `api`: the same origin and, when the entry has a path, under that path. */
function allows(api: URL, url: URL): boolean {
  if (api.origin !== url.origin) return false
  const path = api.pathname.replace(/\/$/, '')
  return path === '' || url.pathname === path || url.pathname.startsWith(`${path}/`)
}

/**
 * The engine the client's flow methods run on (client.ts), in either mode.
 *
 * @example
 * const engine = createEngine({ issuer: location.origin })
 * const session = await engine.getSession() // restored from the refresh cookie after a reload
 */
export function createEngine(options: ClientOptions): Engine {
  const issuer = options.issuer.replace(/\/+$/, '')
  const mode = options.mode ?? 'cookie'
  const oauth = mode === 'oauth'
  const clientId = options.clientId ?? ''
  const redirectUri = options.redirectUri ?? ''
  if (oauth && (clientId === '' || redirectUri === '')) {
    throw unsupported('OAuth mode needs clientId and redirectUri.')
  }
  const fetchFn = options.fetch ?? ((input, init) => fetch(input, init))
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  const setTimer = options.setTimeout ?? ((callback, ms) => setTimeout(callback, ms))
  const clearTimer =
    options.clearTimeout ?? ((handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]))
  const navigate = options.navigate ?? ((url) => location.assign(url))
  const redirectStorage = () => options.redirectStorage ?? sessionStorage
  // Keys, lock and channel are this issuer's (and client's): two clients on one origin stay apart.
  const ns = `tessera:${oauth ? `${issuer}|${clientId}` : issuer}`
  const store = options.storage ?? defaultStore()
  const tabs = options.tabs ?? browserTabs(ns)
  // OAuth mode always binds: a public client's refresh token in IndexedDB is useless without the key.
  const dpop = oauth || options.dpop === true
  const keys = dpopKey(store, `${ns}:dpop`, now)
  // Relative URLs are the page's (SPA routing moves it): resolve them when used.
  const base = () => globalThis.location?.href ?? issuer
  const apis = (options.apis ?? [new URL(issuer).origin]).map((api) => new URL(api, base()))
  const maxOffline = options.maxOfflineRetries ?? 5
  /** The last `DPoP-Nonce` of each origin (RFC 9449 §8). */
  const nonces = new Map<string, string>()
  const listeners = new Set<AuthChangeListener>()
  const tokensKey = `${ns}:tokens`
  const generationKey = `${ns}:generation`
  const redirectKey = `${ns}:redirect`

  let session: Session | undefined
  /** How long the current access token was issued for, ms. */
  let lifetime = 0
  /** The newest generation this tab has seen (its own refreshes and the other tabs'). */
  let latest = 0
  /** Counts the ends of sessions: a refresh that began before one must not bring the session back. */
  let ended = 0
  /** A refresh was refused or the user signed out: no refresh until a sign-in (or refresh()). */
  let signedOut = false
  /** Transient refresh failures in a row. */
  let failures = 0
  let timer: unknown
  let refreshing: Promise<Session | null> | undefined
  let restoring = 0
  let initialized = false
  /** Why the first restore found no session although the browser had one (INITIAL_SESSION's reason). */
  let restoreRefused: SessionEndReason | undefined
  const wake: (() => void)[] = []

  function emit(event: AuthChangeEvent, current: Session | null, detail: AuthChangeDetail = {}) {
    // A restore in progress reports itself once, with INITIAL_SESSION.
    if (restoring > 0 && !initialized && event !== 'INITIAL_SESSION') return
    for (const listener of [...listeners]) {
      try {
        listener(event, current, detail)
      } catch (error) {
        queueMicrotask(() => {
          throw error
        })
      }
    }
  }

  function margin(): number {
    return Math.min((options.refreshMargin ?? 60) * 1000, lifetime / 3)
  }

  function schedule(ms: number) {
    clearTimer(timer)
    timer = setTimer(
      () => {
        refresh().catch(() => undefined)
      },
      Math.max(0, ms),
    )
  }

  function hold(next: Session) {
    session = next
    lifetime = next.expiresAt - now()
    failures = 0
    signedOut = false
    // Up to 10% more margin at random: the tabs' timers fire apart, the first refreshes
    // and the others take its broadcast.
    schedule(lifetime - margin() * (1 + random() / 10))
  }

  function forget() {
    session = undefined
    ended++
    clearTimer(timer)
  }

  /** The next generation, kept in the store: a tab waiting for the lock learns that another refreshed. */
  async function bump(): Promise<number> {
    latest = Math.max(latest, (await store.get<number>(generationKey)) ?? 0) + 1
    await store.set(generationKey, latest)
    return latest
  }

  async function establish(next: Session): Promise<Session> {
    const had = session
    hold(next)
    tabs.post({ type: 'session', session: next, generation: await bump() })
    emit(had?.user.id === next.user.id ? 'TOKEN_REFRESHED' : 'SIGNED_IN', next)
    return next
  }

  async function end(reason: SessionEndReason) {
    const had = session !== undefined
    forget()
    // Offline is not signed out: the key and the refresh token stay for a later getSession().
    if (reason !== 'network') {
      signedOut = true
      await Promise.all([keys.remove(), oauth && store.delete(tokensKey)])
      await bump()
      tabs.post({ type: 'signed_out', reason })
    }
    if (had) emit('SIGNED_OUT', null, { reason })
  }

  function toSession(accessToken: string, type: string, expiresIn: number, user: User): Session {
    const tokenType = type.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer'
    return { accessToken, tokenType, expiresAt: now() + expiresIn * 1000, user }
  }

  async function send(make: () => Request, options: SendOptions = {}): Promise<Response> {
    const { token, replay = true, api = true } = options
    const proof = options.proof === true || token?.tokenType === 'DPoP'
    const attempt = async () => {
      const request = make()
      const origin = new URL(request.url).origin
      if (token !== undefined) {
        request.headers.set('authorization', `${token.tokenType} ${token.accessToken}`)
      }
      if (proof) {
        const claims = { htm: request.method, htu: request.url, nonce: nonces.get(origin) }
        request.headers.set(
          'dpop',
          await keys.proof({ ...claims, accessToken: token?.accessToken }),
        )
      }
      let response: Response
      try {
        response = await fetchFn(request)
      } catch (cause) {
        throw api ? networkError(cause) : cause
      }
      const nonce = response.headers.get('dpop-nonce')
      if (nonce !== null) nonces.set(origin, nonce)
      return response
    }
    const response = await attempt()
    // The server wants its nonce in the proof and has just sent it: once more (RFC 9449 §8).
    return proof && replay && (await wantsNonce(response)) ? attempt() : response
  }

  function apiRequest(path: string, method: string, body?: unknown): Request {
    return new Request(issuer + path, {
      method,
      headers: body === undefined ? CSRF : { ...CSRF, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    })
  }

  function tokenRequest(params: Record<string, string>): () => Request {
    // A public client authenticates with its client_id alone (RFC 6749 §2.3, `none`).
    const body = new URLSearchParams({ ...params, client_id: clientId }).toString()
    return () =>
      new Request(`${issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        cache: 'no-store',
      })
  }

  /** A token endpoint answer as the session; its refresh and ID tokens go to the store. */
  async function oauthSession(
    body: TokenBody,
    nonce: string | undefined,
    previous: StoredTokens | undefined,
    epoch: number,
  ): Promise<Session | null> {
    const user =
      body.id_token === undefined
        ? previous?.user
        : userFromClaims(idTokenClaims(body.id_token, { issuer, clientId, nonce, now: now() }))
    if (user === undefined) {
      throw new TesseraError({
        code: 'bad_response',
        message: 'The token response has no ID token: ask for the openid scope.',
      })
    }
    if (epoch !== ended) return null
    const refreshToken = body.refresh_token ?? previous?.refreshToken
    await store.set(tokensKey, { refreshToken, idToken: body.id_token ?? previous?.idToken, user })
    return toSession(body.access_token, body.token_type, body.expires_in, user)
  }

  async function refused(reason: SessionEndReason, firstVisit = false): Promise<null> {
    if (session !== undefined) await end(reason)
    else {
      // No session held: a first visit (no cookie) is just none; a reload whose session
      // ended meanwhile says why with INITIAL_SESSION.
      signedOut = true
      if (!initialized && !firstVisit) restoreRefused = reason
      if (oauth) await store.delete(tokensKey)
    }
    return null
  }

  /** One refresh request, inside the lock. */
  async function exchange(): Promise<Session | null> {
    const epoch = ended
    let stored: StoredTokens | undefined
    let response: Response
    if (oauth) {
      // Read now, not before the lock: another tab may have rotated it.
      stored = await store.get<StoredTokens>(tokensKey)
      if (stored?.refreshToken === undefined) return refused('expired', true)
      const params = { grant_type: 'refresh_token', refresh_token: stored.refreshToken }
      response = await send(tokenRequest(params), { proof: true })
    } else {
      response = await send(() => apiRequest('/auth/refresh', 'POST'), { proof: dpop })
    }
    if (!response.ok) {
      const error = await errorFromResponse(response)
      // A refused CSRF check (a cookie sent twice, an Origin not allowed) says nothing of the
      // session, which stays as it is: the caller hears it with the error's `reason`.
      if (error.transient || error.code === 'csrf_failed') throw error
      // Reuse detection revoked the session (RFC 9700 §4.14.2); /oauth/token says so in words only.
      const reused =
        error.code === 'refresh_token_reused' ||
        (error.code === 'invalid_grant' && /already used/.test(error.message))
      // missing_token: no cookie any more, its Max-Age (the session's lifetime) has passed
      // (or there never was one: a first visit).
      const missing = error.code === 'missing_token'
      return refused(reused ? 'reused' : missing ? 'expired' : 'revoked', missing)
    }
    const next = oauth
      ? await oauthSession(await json<TokenBody>(response), undefined, stored, epoch)
      : await json<{ accessToken: string; tokenType: string; expiresIn: number; user: User }>(
          response,
        ).then((body) => toSession(body.accessToken, body.tokenType, body.expiresIn, body.user))
    if (next === null || epoch !== ended) return null
    return establish(next)
  }

  async function coordinated(): Promise<Session | null> {
    const before = session
    const asked = (await store.get<number>(generationKey)) ?? 0
    return tabs.withLock(`${ns}:refresh`, async () => {
      // Another tab refreshed while this one waited. Locks and messages travel apart, so
      // the store may tell before the broadcast arrives: wait for it (bounded).
      if (session === before && ((await store.get<number>(generationKey)) ?? 0) > asked) {
        await new Promise<void>((resolve) => {
          const wait = setTimer(resolve, BROADCAST_WAIT)
          wake.push(() => {
            clearTimer(wait)
            resolve()
          })
        })
      }
      if (session !== undefined && session !== before) return session
      return exchange()
    })
  }

  /** Single flight in this tab; the lock makes it one across tabs. */
  function refresh(): Promise<Session | null> {
    refreshing ??= coordinated().then(
      (result) => {
        refreshing = undefined
        return result
      },
      (error: unknown) => {
        refreshing = undefined
        failed(error)
        throw error
      },
    )
    return refreshing
  }

  /** 429, 5xx, offline: the session is kept and the refresh tried again, later and later. */
  function failed(error: unknown) {
    if (session === undefined || (error instanceof TesseraError && !error.transient)) return
    failures++
    if (failures >= maxOffline && now() >= session.expiresAt) {
      void end('network')
      return
    }
    const wait = error instanceof TesseraError ? (error.retryAfter ?? 0) * 1000 : 0
    schedule(Math.max(wait, 1000 * 2 ** Math.min(failures, 8)))
  }

  /** The session with a token worth sending, refreshed first when it is about to expire. */
  async function usable(): Promise<Session | null> {
    const current = session
    if (current === undefined && signedOut) return null
    // While refreshes fail, a token that has not expired is used as it is.
    if (current !== undefined && now() < current.expiresAt - (failures > 0 ? 0 : margin())) {
      return current
    }
    try {
      return await refresh()
    } catch (error) {
      if (session !== undefined && now() < session.expiresAt) return session
      throw error
    }
  }

  async function request<T>(path: string, init: RequestInit_ = {}): Promise<T> {
    if (oauth) {
      throw unsupported(
        "Tessera's /auth API is same-origin only: an app in OAuth mode has its OAuth endpoints.",
      )
    }
    const method = init.method ?? (init.body === undefined ? 'GET' : 'POST')
    const call = (token: Session | undefined) =>
      send(() => apiRequest(path, method, init.body), { token, proof: init.proof === true && dpop })
    let token = init.auth === true ? ((await usable()) ?? undefined) : undefined
    if (init.auth === true && token === undefined) {
      throw new TesseraError({ code: 'not_signed_in', message: 'Not signed in.' })
    }
    let response = await call(token)
    if (token !== undefined && (await refusesToken(response))) {
      // One refresh, one retry: the token may have expired while the tab slept. Calls
      // refused with the same token share the refresh; one whose token was replaced
      // meanwhile just retries.
      if (session === token) await refresh()
      if (session === undefined) throw await errorFromResponse(response)
      token = session
      response = await call(token)
      if (await refusesToken(response)) await end('revoked')
    }
    if (!response.ok) throw await errorFromResponse(response)
    return json<T>(response)
  }

  async function authFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : String(input), base())
    // The token goes to the configured APIs only; anything else is sent untouched.
    if (!apis.some((api) => allows(api, url))) return fetchFn(input, init)
    const original = new Request(input, init)
    // A stream is read once: such a request is sent as it is and never retried.
    const replay = !(init?.body instanceof ReadableStream)
    const make = replay ? () => original.clone() : () => original
    const token = (await usable()) ?? undefined
    const response = await send(make, { token, replay, api: false })
    if (token === undefined || !replay || !(await refusesToken(response))) return response
    if (session === token) await refresh()
    if (session === undefined) return response
    return send(make, { token: session, api: false })
  }

  async function signOut(scope: 'local' | 'global'): Promise<void> {
    if (oauth) {
      const stored = await store.get<StoredTokens>(tokensKey)
      const token = stored?.refreshToken
      if (token !== undefined) {
        // RFC 7009: revoking the refresh token ends the grant, its access tokens with it.
        const body = new URLSearchParams({
          client_id: clientId,
          token,
          token_type_hint: 'refresh_token',
        }).toString()
        const headers = { 'content-type': 'application/x-www-form-urlencoded' }
        const url = `${issuer}/oauth/revoke`
        const response = await send(() => new Request(url, { method: 'POST', headers, body }))
        if (response.status === 429 || response.status >= 500) {
          throw await errorFromResponse(response)
        }
      }
      await end('signed_out')
      if (scope === 'global') {
        // RP-Initiated Logout 1.0: ends the browser's own session at Tessera too.
        const query = new URLSearchParams({ client_id: clientId })
        if (stored?.idToken !== undefined) query.set('id_token_hint', stored.idToken)
        if (options.postLogoutRedirectUri !== undefined) {
          query.set('post_logout_redirect_uri', options.postLogoutRedirectUri)
        }
        navigate(`${issuer}/oauth/logout?${query}`)
      }
      return
    }
    if (scope === 'global') {
      try {
        // Ends every session of the user, this one and its cookie included.
        await request('/auth/logout-all', { method: 'POST', auth: true })
      } catch (error) {
        // A session already gone is what was asked; offline keeps it.
        if (!(error instanceof TesseraError) || error.transient) throw error
      }
    } else {
      const response = await send(() => apiRequest('/auth/logout', 'POST'), { token: session })
      // 401: no session left to end, which is what was asked.
      if (!response.ok && response.status !== 401) throw await errorFromResponse(response)
    }
    await end('signed_out')
  }

  const unsubscribe = tabs.subscribe((message) => {
    if (message.type === 'session') {
      if (message.generation > latest) {
        latest = message.generation
        const had = session
        hold(message.session)
        emit(
          had?.user.id === message.session.user.id ? 'TOKEN_REFRESHED' : 'SIGNED_IN',
          message.session,
        )
      }
    } else {
      const had = session !== undefined
      forget()
      signedOut = true
      if (had) emit('SIGNED_OUT', null, { reason: message.reason })
    }
    for (const resolve of wake.splice(0)) resolve()
  })

  return {
    mode,
    issuer,
    request,
    adopt: (response) =>
      establish(
        toSession(response.accessToken, response.tokenType, response.expiresIn, response.user),
      ),
    async getSession() {
      if (initialized) return usable()
      restoring++
      try {
        await usable()
      } finally {
        restoring--
      }
      if (!initialized) {
        initialized = true
        emit(
          'INITIAL_SESSION',
          session ?? null,
          session === undefined && restoreRefused !== undefined ? { reason: restoreRefused } : {},
        )
      }
      return session ?? null
    },
    refresh,
    signOut,
    current: () => session ?? null,
    setUser(user) {
      if (session === undefined) return
      session = { ...session, user }
      emit('USER_UPDATED', session)
    },
    onAuthStateChange(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    fetch: authFetch,
    async startRedirect(redirect) {
      if (!oauth) throw unsupported('Sign-in with a redirect is OAuth mode only.')
      const scope = options.scope ?? 'openid profile email offline_access'
      const params = { issuer, clientId, redirectUri, scope }
      const { url, pending } = await authorizeRequest(params, redirect)
      redirectStorage().setItem(redirectKey, JSON.stringify(pending))
      navigate(url)
    },
    async completeRedirect(url) {
      if (!oauth) throw unsupported('Sign-in with a redirect is OAuth mode only.')
      const storage = redirectStorage()
      const saved = storage.getItem(redirectKey)
      // Used once: a reload of the callback URL must not redeem the code again.
      storage.removeItem(redirectKey)
      const pending = saved === null ? undefined : (JSON.parse(saved) as PendingRedirect)
      const code = readCallback(url, pending, issuer)
      const params = {
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        code_verifier: pending!.verifier,
      }
      // The proof binds the access token and the refresh token to this browser's key.
      const response = await send(tokenRequest(params), { proof: true })
      if (!response.ok) throw await errorFromResponse(response)
      const body = await json<TokenBody>(response)
      const next = await oauthSession(body, pending!.nonce, undefined, ended)
      return { session: await establish(next!), returnTo: pending!.returnTo }
    },
    dispose() {
      clearTimer(timer)
      unsubscribe()
      tabs.close()
      for (const resolve of wake.splice(0)) resolve()
    },
  }
}
