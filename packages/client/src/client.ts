// The flow methods of @tessera/client: one thin method per route of
// Tessera's API (docs/http-api.md), written against the engine's interface
// (types.ts), which owns tokens, refresh, tabs and DPoP.

import { errorFromResponse, TesseraError } from './errors.ts'
import type {
  AuthChangeListener,
  ClientOptions,
  Engine,
  RedirectOptions,
  RequestInit_,
  Session,
  TokenResponse,
  User,
} from './types.ts'
import {
  type AuthenticationResponseJson,
  assertPasskeys,
  type CeremonyOptions,
  type CreationOptionsJson,
  createPasskey,
  getPasskey,
  type RequestOptionsJson,
} from './webauthn.ts'

/** A second factor: an authenticator app, a passkey, or a recovery code. */
export type MfaMethod = 'totp' | 'passkey' | 'recovery_code'

/** The password (or mailed code) was right; a second step is due with `mfaToken` (5 minutes, 5 tries). */
export interface MfaChallenge {
  readonly mfaToken: string
  /** What the account can answer with (`TESSERA_MFA=required` enrolment: what can be set up). */
  readonly methods: readonly MfaMethod[]
}

/**
 * What a sign-in gives: a session; or no session yet and why: the second
 * step (`mfa`, finish with verifyMfa), an authenticator app to set up first
 * (`mfaEnrollment`, `TESSERA_MFA=required`: startTotpEnrollment), or a
 * verification link mailed (`verificationSent`, signup with
 * `TESSERA_EMAIL_VERIFICATION=required`).
 *
 * @example
 * const result = await client.signInWithPassword({ email, password })
 * if (result.session) goHome()
 * else if (result.mfa) askForSecondFactor(result.mfa)
 * else if (result.mfaEnrollment) setUpAuthenticatorApp(result.mfaEnrollment)
 */
export type SignInResult =
  | {
      readonly session: Session
      readonly mfa?: undefined
      readonly mfaEnrollment?: undefined
      readonly verificationSent?: undefined
    }
  | {
      readonly session: null
      readonly mfa: MfaChallenge
      readonly mfaEnrollment?: undefined
      readonly verificationSent?: undefined
    }
  | {
      readonly session: null
      readonly mfa?: undefined
      readonly mfaEnrollment: MfaChallenge
      readonly verificationSent?: undefined
    }
  | {
      readonly session: null
      readonly mfa?: undefined
      readonly mfaEnrollment?: undefined
      readonly verificationSent: true
    }

/** A code from the app or a recovery code, or a passkey (its dialog runs in this call). */
export type VerifyMfaInput =
  | { readonly mfaToken: string; readonly method: 'totp' | 'recovery_code'; readonly code: string }
  | { readonly mfaToken: string; readonly method: 'passkey'; readonly signal?: AbortSignal }

/** Proof it is still the user: the password, a code, or a passkey. */
export type ReauthenticateInput =
  | { readonly password: string }
  | { readonly method: 'totp' | 'recovery_code'; readonly code: string }
  | { readonly method: 'passkey'; readonly signal?: AbortSignal }

/** An authenticator app to set up: show `qrSvg` (or `secret` to type in), then confirm its first code. */
export interface TotpSetup {
  readonly secret: string
  readonly otpauthUrl: string
  /** An SVG document: render it as an image (`data:image/svg+xml,…`), not as HTML. */
  readonly qrSvg: string
}

/** What the user has set up (GET /auth/mfa). */
export interface MfaFactors {
  readonly totp: boolean
  readonly passkeys: number
  /** Unused recovery codes left. */
  readonly recoveryCodes: number
}

/** Ten one-time codes, shown once. */
export interface RecoveryCodes {
  readonly recoveryCodes: readonly string[]
}

export interface Passkey {
  readonly id: string
  readonly name: string
  readonly createdAt: string
  readonly lastUsedAt: string | null
  /** `multiDevice`: synced by a passkey manager; `singleDevice`: kept by one authenticator. */
  readonly deviceType: 'singleDevice' | 'multiDevice'
  readonly backedUp: boolean
}

/** A new passkey; `recoveryCodes` when it is the account's first factor. */
export type RegisteredPasskey = Passkey & { readonly recoveryCodes?: readonly string[] }

/** One of the user's sessions (a signed-in browser or app). */
export interface ActiveSession {
  readonly id: string
  readonly createdAt: string
  readonly lastUsedAt: string
  readonly expiresAt: string
  readonly userAgent: string | null
  readonly ip: string | null
  /** This session. */
  readonly current: boolean
}

/** An app (OAuth client) the user allowed. */
export interface Consent {
  readonly clientId: string
  readonly clientName: string
  readonly scopes: readonly string[]
  readonly grantedAt: string
}

/**
 * Second factors of the signed-in user, and enrolment at sign-in under `TESSERA_MFA=required`.
 *
 * @example
 * const { qrSvg } = await client.mfa.enrollTotp()
 * const { recoveryCodes } = await client.mfa.confirmTotp('123456')
 */
export interface MfaApi {
  /** GET /auth/mfa. */
  getFactors(): Promise<MfaFactors>
  /** POST /auth/mfa/totp/enroll (recent sign-in). */
  enrollTotp(): Promise<TotpSetup>
  /** POST /auth/mfa/totp/confirm: the app's first code turns it on. */
  confirmTotp(code: string): Promise<RecoveryCodes>
  /** DELETE /auth/mfa/totp (recent sign-in). */
  removeTotp(): Promise<void>
  /** POST /auth/mfa/recovery-codes: the old codes stop working (recent sign-in). */
  regenerateRecoveryCodes(): Promise<RecoveryCodes>
  /** POST /auth/mfa/enroll/totp with the `mfaEnrollment` token of a sign-in. */
  startTotpEnrollment(mfaToken: string): Promise<TotpSetup>
  /** POST /auth/mfa/enroll/totp/confirm: finishes the sign-in. */
  confirmTotpEnrollment(input: {
    readonly mfaToken: string
    readonly code: string
  }): Promise<{ readonly session: Session; readonly recoveryCodes: readonly string[] }>
}

/**
 * The signed-in user's passkeys.
 *
 * @example
 * const passkey = await client.passkeys.register({ name: 'Work laptop' })
 * await client.passkeys.rename(passkey.id, 'Old laptop')
 */
export interface PasskeysApi {
  /** Makes a passkey on this device and adds it (recent sign-in). */
  register(options?: {
    readonly name?: string
    readonly signal?: AbortSignal
  }): Promise<RegisteredPasskey>
  list(): Promise<readonly Passkey[]>
  rename(id: string, name: string): Promise<Passkey>
  /** Recent sign-in. */
  remove(id: string): Promise<void>
}

/**
 * The user's sessions: every browser and app signed in.
 *
 * @example
 * for (const session of await client.sessions.list()) {
 *   if (!session.current) await client.sessions.revoke(session.id)
 * }
 */
export interface SessionsApi {
  list(): Promise<readonly ActiveSession[]>
  revoke(id: string): Promise<void>
}

/**
 * The apps the user allowed through OAuth.
 *
 * @example
 * await client.consents.revoke('billing')
 */
export interface ConsentsApi {
  list(): Promise<readonly Consent[]>
  /** Withdraws the app's access and ends its sessions. */
  revoke(clientId: string): Promise<void>
}

type SignInAnswer =
  | TokenResponse
  | { readonly mfaRequired: true; readonly mfaToken: string; readonly methods: MfaMethod[] }
  | {
      readonly mfaEnrollmentRequired: true
      readonly mfaToken: string
      readonly methods: MfaMethod[]
    }
  | { readonly status: 'verification_sent' }

const path = (base: string, id: string) => `${base}/${encodeURIComponent(id)}`
const nothing = () => undefined

function sameUser(a: User, b: User): boolean {
  const key = (user: User) =>
    JSON.stringify([user.id, user.email, user.name ?? null, user.roles, user.emailVerified])
  return key(a) === key(b) && (a.createdAt ?? b.createdAt) === (b.createdAt ?? a.createdAt)
}

function absoluteUrl(value: unknown, name: string, web = false): URL {
  let url: URL | undefined
  try {
    // Not URL.canParse: Safari has it from 17 only.
    if (typeof value === 'string') url = new URL(value)
  } catch {}
  if (url === undefined || (web && url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new TypeError(`${name} must be an absolute ${web ? 'http(s) ' : ''}URL`)
  }
  return url
}

/**
 * Checks the options once (misuse is a TypeError at creation, never a
 * surprise at the first sign-in) and normalises the issuer.
 */
export function normalizeOptions(options: ClientOptions): ClientOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('createClient needs options: { issuer }')
  }
  const url = absoluteUrl(options.issuer, 'issuer', true)
  // The issuer is the `iss` of every token and the base of every route.
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(options.issuer)) {
    throw new TypeError('issuer must have no query or fragment')
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError('issuer must not carry credentials')
  }
  const mode = options.mode ?? 'cookie'
  if (mode === 'oauth') {
    if (typeof options.clientId !== 'string' || options.clientId === '') {
      throw new TypeError("mode 'oauth' needs clientId (tessera clients add --auth-method none)")
    }
    absoluteUrl(options.redirectUri, 'redirectUri')
    if (options.postLogoutRedirectUri !== undefined) {
      absoluteUrl(options.postLogoutRedirectUri, 'postLogoutRedirectUri')
    }
    if (options.dpop === false) {
      throw new TypeError("mode 'oauth' always binds its tokens with DPoP: leave dpop unset")
    }
  } else if (mode === 'cookie') {
    if (options.clientId !== undefined || options.redirectUri !== undefined) {
      throw new TypeError("clientId and redirectUri are for mode 'oauth'")
    }
  } else {
    throw new TypeError("mode must be 'cookie' or 'oauth'")
  }
  if (options.apis !== undefined) {
    if (!Array.isArray(options.apis)) throw new TypeError('apis must be an array of URLs')
    for (const api of options.apis) absoluteUrl(api, 'each of apis', true)
  }
  for (const name of ['refreshMargin', 'maxOfflineRetries'] as const) {
    const value = options[name]
    if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
      throw new TypeError(`${name} must be a number of 0 or more`)
    }
  }
  return { ...options, mode, issuer: options.issuer.replace(/\/+$/, '') }
}

/**
 * A Tessera client: made by {@link createClient}. Every method rejects with a
 * {@link TesseraError} whose `code` is the server's (docs/errors.md) or the
 * client's own.
 *
 * @example
 * const client = createClient({ issuer: 'https://auth.example.com' })
 * const { session, mfa } = await client.signInWithPassword({ email, password })
 * if (mfa) await client.verifyMfa({ mfaToken: mfa.mfaToken, method: 'totp', code })
 */
export class TesseraClient {
  readonly #engine: Engine

  /** Second factors: the authenticator app, recovery codes, and enrolment at sign-in. */
  readonly mfa: MfaApi
  /** The user's passkeys. */
  readonly passkeys: PasskeysApi
  /** The user's sessions (signed-in browsers and apps). */
  readonly sessions: SessionsApi
  /** The apps the user allowed through OAuth. */
  readonly consents: ConsentsApi

  /**
   * `fetch` with the access token (and DPoP proof) attached, for the URLs of
   * `apis` only: other origins get the request untouched. On a refused token
   * it refreshes once and retries once. Bound: it may be passed around.
   *
   * @example
   * const response = await client.fetch('https://api.example.com/orders')
   */
  readonly fetch: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>

  /** @internal Use {@link createClient}. */
  constructor(engine: Engine) {
    this.#engine = engine
    this.fetch = (input, init) => engine.fetch(input, init)
    const auth = { auth: true }
    this.mfa = {
      getFactors: () => this.#api('/auth/mfa', auth),
      enrollTotp: () => this.#api('/auth/mfa/totp/enroll', { method: 'POST', auth: true }),
      confirmTotp: (code) =>
        this.#api('/auth/mfa/totp/confirm', { method: 'POST', body: { code }, auth: true }),
      removeTotp: () => this.#void('/auth/mfa/totp', { method: 'DELETE', auth: true }),
      regenerateRecoveryCodes: () =>
        this.#api('/auth/mfa/recovery-codes', { method: 'POST', auth: true }),
      startTotpEnrollment: (mfaToken) => this.#post('/auth/mfa/enroll/totp', { mfaToken }),
      confirmTotpEnrollment: async ({ mfaToken, code }) => {
        const { recoveryCodes, ...tokens } = await this.#api<
          TokenResponse & { recoveryCodes: string[] }
        >('/auth/mfa/enroll/totp/confirm', {
          method: 'POST',
          body: { mfaToken, code },
          proof: true,
        })
        return { session: await engine.adopt(tokens), recoveryCodes }
      },
    }
    this.passkeys = {
      register: async ({ name, signal } = {}) => {
        await this.#requireMode()
        await assertPasskeys()
        const options = await this.#api<CreationOptionsJson>('/auth/passkeys/register/options', {
          method: 'POST',
          auth: true,
        })
        const response = await createPasskey(options, signal)
        return this.#api('/auth/passkeys/register/verify', {
          method: 'POST',
          body: { response, challengeId: options.challengeId, name },
          auth: true,
        })
      },
      list: async () => (await this.#api<{ passkeys: Passkey[] }>('/auth/passkeys', auth)).passkeys,
      rename: (id, name) =>
        this.#api(path('/auth/passkeys', id), { method: 'PATCH', body: { name }, auth: true }),
      remove: (id) => this.#void(path('/auth/passkeys', id), { method: 'DELETE', auth: true }),
    }
    this.sessions = {
      list: async () =>
        (await this.#api<{ sessions: ActiveSession[] }>('/auth/sessions', auth)).sessions,
      revoke: (id) => this.#void(path('/auth/sessions', id), { method: 'DELETE', auth: true }),
    }
    this.consents = {
      list: async () => (await this.#api<{ consents: Consent[] }>('/auth/consents', auth)).consents,
      revoke: (clientId) =>
        this.#void(path('/auth/consents', clientId), { method: 'DELETE', auth: true }),
    }
  }

  /** Rejects `unsupported` unless in `mode`: each mode has its own way to sign in. */
  async #requireMode(mode: 'cookie' | 'oauth' = 'cookie'): Promise<void> {
    if (this.#engine.mode === mode) return
    throw new TesseraError({
      code: 'unsupported',
      message:
        mode === 'cookie'
          ? "OAuth mode signs in with signInWithRedirect() at Tessera's hosted pages, where users also manage their account; this method needs cookie mode."
          : 'This method is for OAuth mode; cookie mode signs in with signInWithPassword() and the other sign-in methods.',
    })
  }

  /** A call to Tessera's first-party JSON API: cookie mode only (it sends no CORS headers). */
  async #api<T>(route: string, init?: RequestInit_): Promise<T> {
    await this.#requireMode()
    return this.#engine.request<T>(route, init)
  }

  #post<T>(route: string, body?: unknown, proof?: boolean): Promise<T> {
    return this.#api<T>(route, { method: 'POST', body, ...(proof ? { proof } : {}) })
  }

  #void(route: string, init: RequestInit_): Promise<void> {
    return this.#api(route, init).then(nothing)
  }

  /** A sign-in route's answer (`proof`: it may issue tokens) as a SignInResult. */
  async #signIn(route: string, body: unknown): Promise<SignInResult> {
    const answer = await this.#post<SignInAnswer>(route, body, true)
    if ('accessToken' in answer) return { session: await this.#engine.adopt(answer) }
    if ('mfaRequired' in answer) {
      return { session: null, mfa: { mfaToken: answer.mfaToken, methods: answer.methods } }
    }
    if ('mfaEnrollmentRequired' in answer) {
      return {
        session: null,
        mfaEnrollment: { mfaToken: answer.mfaToken, methods: answer.methods },
      }
    }
    return { session: null, verificationSent: true }
  }

  /** A passkey's answer to the options of `route` (checked for WebAuthn before asking for them). */
  async #assertion(
    route: string,
    init: RequestInit_,
    extra: CeremonyOptions = {},
  ): Promise<{ response: AuthenticationResponseJson; challengeId: string | undefined }> {
    await this.#requireMode()
    await assertPasskeys(extra.mediation)
    const options = await this.#api<RequestOptionsJson>(route, { method: 'POST', ...init })
    return { response: await getPasskey(options, extra), challengeId: options.challengeId }
  }

  /** The user changed (a verified or new address): tell the session when it is this user. */
  async #updateUser(user: User): Promise<User> {
    // Only a session held already: asking for one would spend a refresh to compare users.
    const session = this.#engine.current()
    if (session !== null && session.user.id === user.id && !sameUser(session.user, user)) {
      this.#engine.setUser(user)
    }
    return user
  }

  /**
   * Creates an account (POST /auth/signup). Signed in at once, or
   * `verificationSent` when addresses must be verified first.
   *
   * @example
   * const result = await client.signUp({ email, password, name: 'Ada' })
   * if (result.verificationSent) showCheckYourMail()
   */
  signUp(input: {
    readonly email: string
    readonly password: string
    readonly name?: string
  }): Promise<SignInResult> {
    const { email, password, name } = input
    return this.#signIn('/auth/signup', { email, password, name })
  }

  /**
   * Signs in with an address and a password (POST /auth/login).
   *
   * @example
   * const { session, mfa } = await client.signInWithPassword({ email, password })
   */
  signInWithPassword(input: {
    readonly email: string
    readonly password: string
  }): Promise<SignInResult> {
    return this.#signIn('/auth/login', { email: input.email, password: input.password })
  }

  /**
   * Mails a 6-digit sign-in code and link to the address (POST /auth/otp/send);
   * resolves the same whether or not it has an account.
   *
   * @example
   * await client.signInWithOtp({ email })
   */
  async signInWithOtp(input: { readonly email: string }): Promise<void> {
    await this.#post('/auth/otp/send', { email: input.email })
  }

  /**
   * Signs in with the mailed code, or the token of the mailed link (POST /auth/otp/verify).
   *
   * @example
   * await client.verifyOtp({ email, code: '123456' })
   * await client.verifyOtp({ token: new URL(location.href).searchParams.get('token')! })
   */
  verifyOtp(
    input: { readonly email: string; readonly code: string } | { readonly token: string },
  ): Promise<SignInResult> {
    return this.#signIn(
      '/auth/otp/verify',
      'token' in input ? { token: input.token } : { email: input.email, code: input.code },
    )
  }

  /**
   * Signs in with a passkey, no password (POST /auth/passkeys/login/options,
   * the browser's dialog, then /verify). `mediation: 'conditional'` offers
   * the passkeys in the autofill of an `autocomplete="username webauthn"`
   * field and waits for a pick: abort it with `signal` when the user types a
   * password instead. Rejects `passkey_cancelled` when dismissed or aborted,
   * `unsupported` without WebAuthn (or without autofill, for conditional).
   *
   * @example
   * const controller = new AbortController()
   * client.signInWithPasskey({ mediation: 'conditional', signal: controller.signal })
   */
  async signInWithPasskey(options: CeremonyOptions = {}): Promise<SignInResult> {
    const answer = await this.#assertion('/auth/passkeys/login/options', {}, options)
    return this.#signIn('/auth/passkeys/login/verify', answer)
  }

  /**
   * Finishes a sign-in that answered `mfa` (POST /auth/mfa/verify), with a
   * code or a passkey (whose options come from POST /auth/mfa/passkey/options).
   *
   * @example
   * const session = await client.verifyMfa({ mfaToken: mfa.mfaToken, method: 'totp', code })
   */
  async verifyMfa(input: VerifyMfaInput): Promise<Session> {
    const { mfaToken } = input
    const body =
      input.method === 'passkey'
        ? {
            mfaToken,
            method: input.method,
            response: (
              await this.#assertion(
                '/auth/mfa/passkey/options',
                { body: { mfaToken } },
                input.signal ? { signal: input.signal } : {},
              )
            ).response,
          }
        : { mfaToken, method: input.method, code: input.code }
    return this.#engine.adopt(await this.#post<TokenResponse>('/auth/mfa/verify', body, true))
  }

  /**
   * Confirms it is still the user (POST /auth/reauthenticate), for the
   * changes that answer `reauthentication_required`: the password, the
   * address, second factors. The session gets a new access token.
   *
   * @example
   * try {
   *   await client.updatePassword({ currentPassword, newPassword })
   * } catch (error) {
   *   if (!isTesseraError(error, 'reauthentication_required')) throw error
   *   await client.reauthenticate({ password: currentPassword })
   *   await client.updatePassword({ currentPassword, newPassword })
   * }
   */
  async reauthenticate(input: ReauthenticateInput): Promise<Session> {
    let body: unknown
    if ('password' in input) body = { password: input.password }
    else if (input.method !== 'passkey') body = { method: input.method, code: input.code }
    else {
      const answer = await this.#assertion(
        '/auth/reauthenticate/passkey/options',
        { auth: true },
        input.signal ? { signal: input.signal } : {},
      )
      body = { method: 'passkey', ...answer }
    }
    const tokens = await this.#api<Omit<TokenResponse, 'user'>>('/auth/reauthenticate', {
      method: 'POST',
      body,
      auth: true,
    })
    // The answer holds no user: the session's stays.
    const session = this.#engine.current()
    if (session === null) {
      throw new TesseraError({ code: 'not_signed_in', message: 'The session has ended.' })
    }
    return this.#engine.adopt({ ...tokens, user: session.user })
  }

  /**
   * Mails a password reset link (POST /auth/password/forgot); resolves the
   * same whether or not the address has an account.
   *
   * @example
   * await client.resetPasswordForEmail('ada@example.com')
   */
  async resetPasswordForEmail(email: string): Promise<void> {
    await this.#post('/auth/password/forgot', { email })
  }

  /**
   * Sets a new password with the mailed link's token (POST /auth/password/reset).
   * Every session of the account ends: sign in again afterwards.
   *
   * @example
   * await client.resetPassword({ token, newPassword })
   */
  async resetPassword(input: {
    readonly token: string
    readonly newPassword: string
  }): Promise<void> {
    await this.#post('/auth/password/reset', { token: input.token, newPassword: input.newPassword })
  }

  /**
   * Mails a new verification link (POST /auth/email/verify/send).
   *
   * @example
   * await client.resendVerification('ada@example.com')
   */
  async resendVerification(email: string): Promise<void> {
    await this.#post('/auth/email/verify/send', { email })
  }

  /**
   * Verifies the address with the mailed link's token (POST /auth/email/verify).
   *
   * @example
   * const user = await client.verifyEmail(new URL(location.href).searchParams.get('token')!)
   */
  async verifyEmail(token: string): Promise<User> {
    return this.#updateUser(
      (await this.#post<{ user: User }>('/auth/email/verify', { token })).user,
    )
  }

  /**
   * Asks to change the address (POST /auth/email/change, recent sign-in): the
   * new address is mailed a link; nothing changes until confirmEmailChange.
   *
   * @example
   * await client.updateEmail({ newEmail, currentPassword })
   */
  async updateEmail(input: {
    readonly newEmail: string
    readonly currentPassword: string
  }): Promise<void> {
    const { newEmail, currentPassword } = input
    await this.#api('/auth/email/change', {
      method: 'POST',
      body: { newEmail, currentPassword },
      auth: true,
    })
  }

  /**
   * Confirms the new address with the token mailed to it (POST /auth/email/change/confirm).
   *
   * @example
   * const user = await client.confirmEmailChange(token)
   */
  async confirmEmailChange(token: string): Promise<User> {
    const { user } = await this.#post<{ user: User }>('/auth/email/change/confirm', { token })
    return this.#updateUser(user)
  }

  /**
   * Changes the password (POST /auth/password, recent sign-in); every other session ends.
   *
   * @example
   * await client.updatePassword({ currentPassword, newPassword })
   */
  async updatePassword(input: {
    readonly currentPassword: string
    readonly newPassword: string
  }): Promise<void> {
    const { currentPassword, newPassword } = input
    await this.#api('/auth/password', {
      method: 'POST',
      body: { currentPassword, newPassword },
      auth: true,
    })
  }

  /**
   * The user as the server sees it now: GET /auth/me in cookie mode,
   * /oauth/userinfo in OAuth mode. A change reaches the session (USER_UPDATED).
   *
   * @example
   * const user = await client.getUser()
   */
  async getUser(): Promise<User> {
    const engine = this.#engine
    if (engine.mode === 'cookie') {
      return this.#updateUser(await this.#api<User>('/auth/me', { auth: true }))
    }
    const response = await engine.fetch(`${engine.issuer}/oauth/userinfo`)
    if (!response.ok) throw await errorFromResponse(response)
    const claims = (await response.json().catch(nothing)) as
      | { sub?: unknown; email?: string; name?: string; email_verified?: boolean }
      | undefined
    if (typeof claims?.sub !== 'string') {
      throw new TesseraError({
        code: 'bad_response',
        message: 'The userinfo answer is not JSON with a sub.',
        status: response.status,
      })
    }
    // Userinfo has no roles or creation date: those of the session stay.
    const base = engine.current()?.user
    return this.#updateUser({
      ...base,
      id: claims.sub,
      email: claims.email ?? base?.email ?? '',
      name: claims.name ?? base?.name ?? null,
      roles: base?.roles ?? [],
      emailVerified: claims.email_verified ?? base?.emailVerified ?? false,
    })
  }

  /**
   * Signs out: `local` (default) ends this browser's session, in every tab;
   * `global` ends every session of the user (cookie mode: POST
   * /auth/logout-all; OAuth mode: Tessera's /oauth/logout).
   *
   * @example
   * await client.signOut({ scope: 'global' })
   */
  signOut(options: { readonly scope?: 'local' | 'global' } = {}): Promise<void> {
    return this.#engine.signOut(options.scope ?? 'local')
  }

  /**
   * The session, restored after a reload (one refresh, shared by the tabs); null when signed out.
   *
   * @example
   * const session = await client.getSession()
   */
  getSession(): Promise<Session | null> {
    return this.#engine.getSession()
  }

  /**
   * A new access token now (one refresh for all the tabs); null when the session is gone.
   *
   * @example
   * const session = await client.refreshSession()
   */
  refreshSession(): Promise<Session | null> {
    return this.#engine.refresh()
  }

  /**
   * Calls `listener` on INITIAL_SESSION, SIGNED_IN, TOKEN_REFRESHED,
   * USER_UPDATED and SIGNED_OUT (with `detail.reason`); returns the unsubscribe.
   *
   * @example
   * const stop = client.onAuthStateChange((event, session, { reason }) => {
   *   if (event === 'SIGNED_OUT' && reason === 'revoked') showSignedOutElsewhere()
   * })
   */
  onAuthStateChange(listener: AuthChangeListener): () => void {
    return this.#engine.onAuthStateChange(listener)
  }

  /**
   * OAuth mode: leaves for Tessera's /oauth/authorize (code flow with PKCE).
   *
   * @example
   * await client.signInWithRedirect({ returnTo: location.pathname })
   */
  async signInWithRedirect(options: RedirectOptions = {}): Promise<void> {
    await this.#requireMode('oauth')
    return this.#engine.startRedirect(options)
  }

  /**
   * OAuth mode: on the redirect URI's page, checks the answer and exchanges
   * the code for the session; `returnTo` is what signInWithRedirect was given.
   * Rejects `invalid_callback` for a redirect this tab did not start.
   *
   * @example
   * const { returnTo } = await client.handleRedirectCallback()
   * history.replaceState(null, '', returnTo ?? '/')
   */
  async handleRedirectCallback(
    url: string = globalThis.location?.href,
  ): Promise<{ session: Session; returnTo: string | undefined }> {
    await this.#requireMode('oauth')
    return this.#engine.completeRedirect(url)
  }
}
