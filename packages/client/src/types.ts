// The public types of @tessera/client, and the engine's interface that the
// flow methods (client.ts) are written against (session.ts implements it).

/** The signed-in user as Tessera describes it (GET /auth/me; in OAuth mode, the ID token's claims). */
export interface User {
  readonly id: string
  readonly email: string
  readonly name?: string | null
  readonly roles: readonly string[]
  readonly emailVerified: boolean
  readonly createdAt?: string
}

/** What the page may hold: never the refresh token. */
export interface Session {
  readonly accessToken: string
  /** `DPoP` when the access token is bound to this browser's key (send it with a proof). */
  readonly tokenType: 'Bearer' | 'DPoP'
  /** When the access token expires, epoch milliseconds. */
  readonly expiresAt: number
  readonly user: User
}

export type AuthChangeEvent =
  | 'INITIAL_SESSION'
  | 'SIGNED_IN'
  | 'TOKEN_REFRESHED'
  | 'USER_UPDATED'
  | 'SIGNED_OUT'

/**
 * Why a session ended:
 * - `signed_out`: signOut() in this tab or another;
 * - `revoked`: the server ended it (log out everywhere, a password reset, an admin, the app's access withdrawn);
 * - `reused`: its refresh token was used twice, so Tessera revoked it as possibly stolen;
 * - `expired`: its refresh token outlived its lifetime;
 * - `network`: the access token expired while the server could not be reached.
 */
export type SessionEndReason = 'signed_out' | 'revoked' | 'reused' | 'expired' | 'network'

export interface AuthChangeDetail {
  /**
   * Set on `SIGNED_OUT`; on `INITIAL_SESSION` when the browser had a session that
   * ended while no page held it (`revoked`, `reused`), so a reload can say why.
   */
  readonly reason?: SessionEndReason
}

export type AuthChangeListener = (
  event: AuthChangeEvent,
  session: Session | null,
  detail: AuthChangeDetail,
) => void

/** A small async key-value store: IndexedDB in browsers, a Map in tests. Values are structured-cloneable. */
export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>
  set(key: string, value: unknown): Promise<void>
  delete(key: string): Promise<void>
}

/** A message between the tabs of one browser. */
export type TabMessage =
  | {
      readonly type: 'session'
      readonly session: Session
      readonly generation: number
    }
  | { readonly type: 'signed_out'; readonly reason: SessionEndReason }

/** Cross-tab coordination: Web Locks and BroadcastChannel in browsers, in-process fakes in tests. */
export interface TabCoordinator {
  /** Runs `task` while holding the lock `name`, shared by every tab of this origin. */
  withLock<T>(name: string, task: () => Promise<T>): Promise<T>
  post(message: TabMessage): void
  subscribe(listener: (message: TabMessage) => void): () => void
  close(): void
}

export interface ClientOptions {
  /** Tessera's URL (`TESSERA_ISSUER`), e.g. `https://auth.example.com`. */
  readonly issuer: string
  /**
   * `cookie` (default): a first-party app on Tessera's origin; the refresh token is an
   * HttpOnly cookie JavaScript never sees. `oauth`: an app on another origin signing in
   * with the authorization code flow and PKCE at Tessera's hosted login.
   */
  readonly mode?: 'cookie' | 'oauth'
  /** OAuth mode: the public client's id (`tessera clients add --public`). */
  readonly clientId?: string
  /** OAuth mode: where /oauth/authorize sends the browser back, registered exactly. */
  readonly redirectUri?: string
  /** OAuth mode: where /oauth/logout sends the browser after a global sign-out; registered as a post-logout URI. */
  readonly postLogoutRedirectUri?: string
  /** OAuth mode: the scopes to ask for, default `openid profile email offline_access`. */
  readonly scope?: string
  /**
   * Bind tokens to a non-extractable key of this browser (RFC 9449 DPoP). Always on in
   * OAuth mode; off by default in cookie mode, where the refresh token is already out of
   * JavaScript's reach.
   */
  readonly dpop?: boolean
  /**
   * Origins (`https://api.example.com`) or URL prefixes (`https://example.com/api/`)
   * that `client.fetch` may send the access token to. Default: the issuer's origin.
   */
  readonly apis?: readonly string[]
  /** Seconds before expiry to refresh (default 60, at most a third of the lifetime), plus jitter. */
  readonly refreshMargin?: number
  /** Failed refreshes in a row after expiry before the session is reported ended with `network` (default 5). */
  readonly maxOfflineRetries?: number

  // Seams for tests and unusual hosts; browsers use the globals.
  readonly fetch?: typeof globalThis.fetch
  readonly now?: () => number
  readonly random?: () => number
  readonly storage?: KeyValueStore
  readonly tabs?: TabCoordinator
  readonly setTimeout?: (callback: () => void, ms: number) => unknown
  readonly clearTimeout?: (handle: unknown) => void
  /** Where to navigate (OAuth mode). Default `location.assign`. */
  readonly navigate?: (url: string) => void
  /** Redirect state of OAuth mode between leaving and coming back. Default `sessionStorage`. */
  readonly redirectStorage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>
}

/** A token response of Tessera's JSON API (`tokenType` is `DPoP` when bound). */
export interface TokenResponse {
  readonly accessToken: string
  readonly tokenType: 'Bearer' | 'DPoP'
  readonly expiresIn: number
  readonly user: User
}

export interface RequestInit_ {
  readonly method?: string
  readonly body?: unknown
  /** Attach the session's access token (refreshing first when needed); one refresh and one retry on a refused token. */
  readonly auth?: boolean
  /** Attach a DPoP proof (the routes that issue tokens) when DPoP is on. */
  readonly proof?: boolean
}

/** What client.ts needs of the session engine (session.ts). */
export interface Engine {
  readonly mode: 'cookie' | 'oauth'
  readonly issuer: string
  /**
   * A call to Tessera's JSON API (cookie mode): `X-Tessera-CSRF: 1`, same-origin
   * credentials, JSON body. Resolves the parsed body (undefined for 204); rejects a
   * TesseraError with the server's code.
   */
  request<T>(path: string, init?: RequestInit_): Promise<T>
  /** A token response becomes this tab's session (and the other tabs'): SIGNED_IN. */
  adopt(response: TokenResponse): Promise<Session>
  /** The session, restored with one refresh after a reload; null when signed out. */
  getSession(): Promise<Session | null>
  /** The session this tab holds now, without a request (null: none in memory). */
  current(): Session | null
  /** A new access token now (single flight across tabs); null when the session is gone. */
  refresh(): Promise<Session | null>
  signOut(scope: 'local' | 'global'): Promise<void>
  /** The user changed (an email change, a name): USER_UPDATED with the same token. */
  setUser(user: User): void
  onAuthStateChange(listener: AuthChangeListener): () => void
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>
  /** OAuth mode: leaves for /oauth/authorize. */
  startRedirect(options: RedirectOptions): Promise<void>
  /** OAuth mode: completes the code flow from the URL the browser came back to. */
  completeRedirect(url: string): Promise<{ session: Session; returnTo: string | undefined }>
  /** Stops timers and closes the tab channel. */
  dispose(): void
}

export interface RedirectOptions {
  /** Fills the login form's address (`login_hint`). */
  readonly loginHint?: string
  /** `login` asks for the password again; `consent` shows the consent page again. */
  readonly prompt?: 'login' | 'consent' | 'none'
  /**
   * A social-login provider's id (Tessera's `provider` parameter): a user
   * who must sign in goes straight to that provider instead of the login page.
   */
  readonly provider?: string
  /** Where the app wants to be once back (given back by handleRedirectCallback). */
  readonly returnTo?: string
}
