import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server'
import type { AccessTokenClaims, DpopPresentation } from '@tessera/jwt'
import type {
  OAuthGrantType,
  SessionRecord,
  StoredRevocation,
  TokenEndpointAuthMethod,
  UserRecord,
} from '../storage/ports.ts'
import type { KeyView } from '../tokens/key-ring.ts'
import type { DpopPolicy } from './dpop.ts'

/** Claims of the access tokens Tessera issues: defined in @tessera/jwt, shared with resource servers. */
export type { AccessTokenClaims } from '@tessera/jwt'

/** Who is calling and from where; recorded on sessions and in the audit log. */
export interface ClientInfo {
  ip: string | null
  userAgent: string | null
  /**
   * The RFC 7638 thumbprint of the key a valid DPoP proof of this request
   * proved (RFC 9449): what the tokens it gets are bound to. Absent: none.
   */
  dpopJkt?: string
}

/** The user as the API shows it: never the password hash. */
export interface PublicUser {
  id: string
  email: string
  name: string | null
  roles: string[]
  /** Whether the user proved the address (a verification link was used). */
  emailVerified: boolean
  /** ISO 8601. */
  createdAt: string
}

export interface AdminUser extends PublicUser {
  disabled: boolean
  updatedAt: string
}

export interface IssuedTokens {
  accessToken: string
  /** `DPoP` when the access token is bound to a DPoP key (RFC 9449 §5). */
  tokenType: 'Bearer' | 'DPoP'
  /** Seconds until the access token expires. */
  expiresIn: number
  refreshToken: string
  /** Seconds until the refresh token expires (absolute or idle, whichever is first). */
  refreshExpiresIn: number
}

export interface AuthResult {
  user: PublicUser
  sessionId: string
  tokens: IssuedTokens
}

/** A second factor that can finish a sign-in. */
export type MfaMethod = 'totp' | 'passkey' | 'recovery_code'

/**
 * The answer to a sign-in of an account with a second factor: no tokens
 * yet; POST /auth/mfa/verify with the token and one of the methods
 * finishes it (5 minutes, 5 tries).
 */
export interface MfaChallenge {
  mfaRequired: true
  mfaToken: string
  methods: MfaMethod[]
}

/**
 * The answer to a sign-in when TESSERA_MFA=required and the account has no
 * second factor: no tokens; the `mfaToken` sets one up (`methods`: what can
 * be set up) and the sign-in finishes with it.
 */
export interface MfaEnrollment {
  mfaEnrollmentRequired: true
  mfaToken: string
  methods: MfaMethod[]
}

/** What a sign-in's first step answers: the tokens, or what is still missing. */
export type SignInResult = AuthResult | MfaChallenge | MfaEnrollment

/** Who performs an administrative action: a user's session, or the CLI (sessionId null). */
export interface Actor {
  userId: string
  sessionId: string | null
}

/** A verified access token on a protected route. */
export interface AccessContext {
  token: string
  claims: AccessTokenClaims
  userId: string
  sessionId: string
  roles: readonly string[]
}

export interface SessionView {
  id: string
  createdAt: string
  lastUsedAt: string
  expiresAt: string
  userAgent: string | null
  ip: string | null
  /** The session of the token making the request. */
  current: boolean
}

/** A signing key as `GET /admin/keys` shows it (the key ring's own view). */
export type { KeyView } from '../tokens/key-ring.ts'

export interface AuditView {
  id: number
  at: string
  event: string
  userId: string | null
  sessionId: string | null
  ip: string | null
  details: Record<string, unknown>
}

/** Accounts: signup, login, the password, the profile (auth/accounts.ts). */
export interface AccountFlows {
  /**
   * A new account and its first session; with TESSERA_EMAIL_VERIFICATION
   * required, `{ verificationSent: true }` instead, for a new and an
   * existing address alike (the owner of an existing one is mailed a notice).
   * With TESSERA_MFA=required, the enrolment answer instead of tokens.
   */
  signup(
    input: { email: string; password: string; name?: string },
    client: ClientInfo,
  ): Promise<SignInResult | { verificationSent: true }>
  /**
   * Unknown email and wrong password both give invalid_credentials, in the
   * same time. An account with a second factor gets the MFA challenge.
   */
  login(input: { email: string; password: string }, client: ClientInfo): Promise<SignInResult>
  /**
   * Checks the current password, stores the new hash, revokes every other
   * session. The caller's session and tokens stay valid.
   */
  changePassword(
    access: AccessContext,
    input: { currentPassword: string; newPassword: string },
    client: ClientInfo,
  ): Promise<void>
  me(access: AccessContext): Promise<PublicUser>
}

/** Email: verification of the address (auth/verification.ts). */
export interface EmailFlows {
  /**
   * Mails a new verification link to an unverified account with this
   * address; answers the same, at once, for any address (the lookup and the
   * mail happen after the answer).
   */
  sendVerification(input: { email: string }, client: ClientInfo): Promise<void>
  /** Uses a verification link: invalid_code when it is unknown, used, expired or for another address. */
  verifyEmail(input: { token: string }, client: ClientInfo): Promise<PublicUser>
  /** Resolves once the work earlier calls started after answering (mail to queue) is done. */
  settled(): Promise<void>
}

/** Forgotten passwords (auth/recovery.ts). */
export interface RecoveryFlows {
  /** Mails a reset link (1 hour) to an account with this address; answers the same, at once, for any address. */
  forgotPassword(input: { email: string }, client: ClientInfo): Promise<void>
  /**
   * Uses a reset link: sets the new password, ends every session and every
   * older access token, kills the other pending links, mails a notice.
   * invalid_code when the link is unknown, used or expired.
   */
  resetPassword(input: { token: string; newPassword: string }, client: ClientInfo): Promise<void>
}

/** Signing in by mail: a 6-digit code and a link in one mail (auth/passwordless.ts). */
export interface PasswordlessFlows {
  /**
   * Mails a code and a sign-in link (10 minutes, once) to an account with
   * this address; answers the same, at once, for any address.
   */
  sendSignInCode(input: { email: string }, client: ClientInfo): Promise<void>
  /**
   * Signs in with the mailed code (5 tries) or link: the login response, and
   * the address counts as verified. invalid_code for a wrong, used or
   * expired one, whatever the address.
   */
  signInByMail(
    input: { email: string; code: string } | { token: string },
    client: ClientInfo,
  ): Promise<SignInResult>
}

/** Changing the address (auth/email-change.ts). */
export interface EmailChangeFlows {
  /**
   * Checks the current password, then mails a link (24 hours) to the new
   * address unless it has an account: the answer is the same either way.
   */
  requestEmailChange(
    access: AccessContext,
    input: { newEmail: string; currentPassword: string },
    client: ClientInfo,
  ): Promise<void>
  /**
   * Uses the link: the account takes the new (now verified) address, the
   * old one is told, links mailed to it die; sessions stay.
   */
  confirmEmailChange(input: { token: string }, client: ClientInfo): Promise<PublicUser>
}

/** Second factors: the authenticator app, recovery codes, the sign-in's second step, step-up (auth/mfa.ts). */
export interface MfaFlows {
  /** What the caller has set up. */
  mfaStatus(
    access: AccessContext,
  ): Promise<{ totp: boolean; passkeys: number; recoveryCodes: number }>
  /**
   * Starts setting up an authenticator app: the secret, as a URI and a QR
   * code. Nothing protects the account until confirmTotp. Needs a recent
   * authentication; forbidden when one is set up already.
   */
  enrollTotp(
    access: AccessContext,
    client: ClientInfo,
  ): Promise<{ secret: string; otpauthUrl: string; qrSvg: string }>
  /** A first code confirms it: 10 new recovery codes, shown this once. */
  confirmTotp(
    access: AccessContext,
    input: { code: string },
    client: ClientInfo,
  ): Promise<{ recoveryCodes: string[] }>
  removeTotp(access: AccessContext, client: ClientInfo): Promise<void>
  /** 10 new recovery codes; the old ones die. Needs a factor and a recent authentication. */
  regenerateRecoveryCodes(
    access: AccessContext,
    client: ClientInfo,
  ): Promise<{ recoveryCodes: string[] }>
  /**
   * Finishes a sign-in that answered an MFA challenge: with a code, or with
   * a passkey's answer to the options of mfaPasskeyOptions.
   */
  verifyMfa(
    input: { mfaToken: string } & (
      | { method: 'totp' | 'recovery_code'; code: string }
      | { method: 'passkey'; response: AuthenticationResponseJSON }
    ),
    client: ClientInfo,
  ): Promise<AuthResult>
  /**
   * Renews the session's authentication (step-up) with the password or a
   * second factor (a passkey: an answer to reauthPasskeyOptions).
   */
  reauthenticate(
    access: AccessContext,
    input:
      | { password: string }
      | { method: 'totp' | 'recovery_code'; code: string }
      | { method: 'passkey'; response: AuthenticationResponseJSON; challengeId: string },
    client: ClientInfo,
  ): Promise<{ accessToken: string; tokenType: 'Bearer' | 'DPoP'; expiresIn: number }>
}

/** A passkey as the API shows it: never its public key. */
export interface PasskeyView {
  /** The WebAuthn credential id (base64url). */
  id: string
  name: string
  /** ISO 8601. */
  createdAt: string
  lastUsedAt: string | null
  /** `multiDevice`: synced by a passkey manager; `singleDevice`: bound to one authenticator. */
  deviceType: 'singleDevice' | 'multiDevice'
  /** Whether it is backed up (synced) now. */
  backedUp: boolean
}

/** WebAuthn options, with the id of the stored challenge the verify call names. */
export type WithChallengeId<Options> = Options & { challengeId: string }

/**
 * Passkeys (WebAuthn, auth/passkeys.ts): options are SimpleWebAuthn's JSON
 * for navigator.credentials; each challenge lives 5 minutes and is spent by
 * the first answer to it, right or wrong.
 */
export interface PasskeyFlows {
  /** Options for navigator.credentials.create. Needs a recent authentication. */
  passkeyRegistrationOptions(
    access: AccessContext,
    client: ClientInfo,
  ): Promise<WithChallengeId<PublicKeyCredentialCreationOptionsJSON>>
  /**
   * Stores the new passkey; the owner is mailed. The account's first factor
   * (no recovery codes yet) brings 10 recovery codes, shown this once.
   */
  registerPasskey(
    access: AccessContext,
    input: { response: RegistrationResponseJSON; challengeId: string; name?: string },
    client: ClientInfo,
  ): Promise<PasskeyView & { recoveryCodes?: string[] }>
  listPasskeys(access: AccessContext): Promise<PasskeyView[]>
  /** not_found unless the passkey is the caller's. */
  renamePasskey(
    access: AccessContext,
    id: string,
    input: { name: string },
    client: ClientInfo,
  ): Promise<PasskeyView>
  /** Needs a recent authentication; the last factor gone takes the recovery codes along. */
  removePasskey(access: AccessContext, id: string, client: ClientInfo): Promise<void>
  /** Options for a passwordless sign-in: discoverable credentials, user verification required. */
  passkeyLoginOptions(
    client: ClientInfo,
  ): Promise<WithChallengeId<PublicKeyCredentialRequestOptionsJSON>>
  /** The login response; invalid_credentials for a passkey this server does not accept. */
  signInWithPasskey(
    input: { response: AuthenticationResponseJSON; challengeId: string },
    client: ClientInfo,
  ): Promise<AuthResult>
  /** Options for the sign-in's second step by passkey (the MFA token's user's passkeys). */
  mfaPasskeyOptions(
    input: { mfaToken: string },
    client: ClientInfo,
  ): Promise<PublicKeyCredentialRequestOptionsJSON>
  /** Options for re-authenticating with a passkey of the caller's. */
  reauthPasskeyOptions(
    access: AccessContext,
    client: ClientInfo,
  ): Promise<WithChallengeId<PublicKeyCredentialRequestOptionsJSON>>
}

/** Enrolment at sign-in when TESSERA_MFA=required (auth/mfa-enrollment.ts). */
export interface MfaEnrollmentFlows {
  /** The enrolment token of the sign-in's answer: a new authenticator app secret. */
  startTotpEnrollment(
    input: { mfaToken: string },
    client: ClientInfo,
  ): Promise<{ secret: string; otpauthUrl: string; qrSvg: string }>
  /** Its first code turns the app on and finishes the sign-in, with 10 recovery codes. */
  finishTotpEnrollment(
    input: { mfaToken: string; code: string },
    client: ClientInfo,
  ): Promise<AuthResult & { recoveryCodes: string[] }>
}

/** Sessions: refresh rotation, logout, logout everywhere, the list (auth/sessions.ts). */
export interface SessionFlows {
  /** Rotation with grace window and reuse detection. */
  refresh(refreshToken: string, client: ClientInfo): Promise<AuthResult>
  /** Revokes the session of the access token, or of the refresh token. */
  logout(by: { access?: AccessContext; refreshToken?: string }, client: ClientInfo): Promise<void>
  /** Revokes every session of the user (and every access token issued before now). */
  logoutAll(access: AccessContext, client: ClientInfo): Promise<void>
  listSessions(access: AccessContext): Promise<SessionView[]>
  /** not_found unless the session is the caller's own. */
  revokeSession(access: AccessContext, sessionId: string, client: ClientInfo): Promise<void>
}

/** Administration: users, keys, the audit log (auth/admin.ts). */
export interface AdminFlows {
  adminListUsers(query: { limit: number; after?: string; email?: string }): Promise<AdminUser[]>
  /** Role changes revoke the user's older access tokens (`sub/before`). */
  adminUpdateUser(
    actor: Actor,
    userId: string,
    patch: {
      roles?: string[]
      disabled?: boolean
      name?: string | null
      emailVerified?: boolean
      /** Removes every second factor of the user (lost phone); mails a notice. */
      resetMfa?: true
    },
    client: ClientInfo,
  ): Promise<AdminUser>
  adminRotateKeys(
    actor: Actor,
    client: ClientInfo,
    options?: { immediate?: boolean },
  ): Promise<KeyView[]>
  adminListKeys(): KeyView[]
  adminAudit(query: {
    limit: number
    before?: number
    userId?: string
    event?: string
  }): Promise<AuditView[]>
}

/** Checking access: access tokens, the public keys, the revocation list (auth/access.ts). */
export interface AccessFlows {
  /** Verifies an access token for a protected route: signature, claims, revocation list. */
  authenticate(token: string): AccessContext
  /**
   * The same for `Authorization: DPoP <token>` (RFC 9449 §7): the token must
   * be bound (`cnf.jkt`) to the key of a valid proof of this request.
   * invalid_dpop_proof when the proof is missing, bad, replayed or of another key.
   */
  authenticateDpop(token: string, presentation: DpopPresentation): Promise<AccessContext>
  /** The public JWKS document (next, current, retired-but-valid keys). */
  jwks(): { keys: Record<string, unknown>[] }
  /** Revocation entries after `since`, for the feed. */
  revocationsSince(since: number, limit: number): Promise<StoredRevocation[]>
  /** Calls `listener` with each batch of new revocation entries; returns the unsubscribe function. */
  watchRevocations(listener: (entries: readonly StoredRevocation[]) => void): () => void
}

/**
 * Client metadata, as RFC 7591 §2 (and OpenID Connect Dynamic Client
 * Registration §2, RP-Initiated Logout §3.1) name it, with Tessera's
 * extensions `first_party`, `access_token_lifetime` and
 * `refresh_token_lifetime` (seconds). Members not listed here are ignored
 * (RFC 7591 §2), except those auth/oauth/clients.ts refuses by name.
 *
 * Defaults: `grant_types` authorization_code + refresh_token;
 * `token_endpoint_auth_method` client_secret_basic; `scope` `openid profile
 * email`, plus `offline_access` with the refresh_token grant (none for a
 * client_credentials-only client: its scopes are named); `first_party`
 * false; lifetimes the server's.
 */
export interface ClientMetadata {
  client_name?: string
  redirect_uris?: string[]
  post_logout_redirect_uris?: string[]
  grant_types?: string[]
  response_types?: string[]
  token_endpoint_auth_method?: string
  scope?: string
  jwks?: { keys: unknown[] }
  first_party?: boolean
  access_token_lifetime?: number
  refresh_token_lifetime?: number
  /** RFC 9449 §5.2. Default false. */
  dpop_bound_access_tokens?: boolean
  /** OpenID Connect Registration §2; `_enc` defaults to A128CBC-HS256 and needs `_alg`. */
  id_token_encrypted_response_alg?: string
  id_token_encrypted_response_enc?: string
  userinfo_encrypted_response_alg?: string
  userinfo_encrypted_response_enc?: string
  [member: string]: unknown
}

/** A registered client as RFC 7591 §3.2.1 answers it: never a secret or its hash. */
export interface ClientRegistration {
  client_id: string
  client_name: string
  /** Epoch seconds. */
  client_id_issued_at: number
  redirect_uris: string[]
  post_logout_redirect_uris: string[]
  grant_types: OAuthGrantType[]
  /** `['code']` with the authorization_code grant, else empty. */
  response_types: string[]
  token_endpoint_auth_method: TokenEndpointAuthMethod
  /** Space-separated (RFC 6749 §3.3). */
  scope: string
  /** The client's public keys (private_key_jwt, encryption), a JWK Set. */
  jwks?: { keys: Record<string, unknown>[] }
  first_party: boolean
  /** RFC 9449 §5.2: its access tokens must be DPoP-bound. */
  dpop_bound_access_tokens: boolean
  /** Present when its ID tokens are encrypted (OpenID Connect Core §10.2). */
  id_token_encrypted_response_alg?: string
  id_token_encrypted_response_enc?: string
  /** Present when its userinfo answers are encrypted. */
  userinfo_encrypted_response_alg?: string
  userinfo_encrypted_response_enc?: string
  /** Seconds; absent: the server's. */
  access_token_lifetime?: number
  /** Seconds; absent: the server's. */
  refresh_token_lifetime?: number
}

/** The answer to a registration: the secret is in it this once, and stored only as a hash. */
export interface RegisteredClient {
  registration: ClientRegistration
  /** For client_secret_basic and client_secret_post clients. */
  clientSecret?: string
}

/** The OAuth client registry, for the admin API and `tessera clients` (auth/oauth/clients.ts). */
export interface OAuthClientFlows {
  /** validation_failed, an issue per field (RFC 7591 names as JSON Pointers), for bad metadata. */
  registerClient(
    actor: Actor,
    metadata: ClientMetadata,
    client: ClientInfo,
  ): Promise<RegisteredClient>
  /** Oldest first. */
  listClients(): Promise<ClientRegistration[]>
  /** not_found for an unknown id (and for `tessera`, built in, not registered). */
  findClient(id: string): Promise<ClientRegistration>
  /**
   * Removes the client (its codes and consents go with it) and revokes
   * every session granted to it, access tokens included; returns how many
   * sessions that was. not_found for an unknown id.
   */
  removeClient(actor: Actor, id: string, client: ClientInfo): Promise<{ sessionsRevoked: number }>
}

// ---------------------------------------------------------------------------
// OAuth 2.0 and OpenID Connect (auth/oauth/)

/** What the endpoint does next; the HTTP layer turns each into a response. */
export type AuthorizeStep =
  /** Show the error page (the request cannot be sent back). */
  | { kind: 'error_page'; error: string; description: string }
  /** Redirect to the client (a code, or an error). */
  | { kind: 'redirect'; location: string }
  /** Show the page that moves on to /oauth/authorize/continue?id= (same-site, with the cookie). */
  | { kind: 'continue'; requestId: string }
  /**
   * Send the browser to /login, which returns to the continue URL; with
   * `provider` (the request's `provider` hint), to that provider's start instead.
   */
  | { kind: 'login'; requestId: string; loginHint?: string; provider?: string }
  /** Show the consent page. */
  | { kind: 'consent'; requestId: string; view: ConsentView; redirectUri: string }

export interface ConsentView {
  clientId: string
  clientName: string
  scopes: string[]
  userEmail: string
  redirectHost: string
}

/** The signed-in browser: its live first-party session and user. */
export interface BrowserSession {
  session: SessionRecord
  user: UserRecord
}

export interface AuthorizeFlows {
  authorize(
    params: Readonly<Record<string, string>>,
    repeated: readonly string[],
    browser: BrowserSession | undefined,
    client: ClientInfo,
  ): Promise<AuthorizeStep>
  continueAuthorization(
    requestId: string,
    browser: BrowserSession | undefined,
    client: ClientInfo,
  ): Promise<AuthorizeStep>
  consent(
    requestId: string,
    decision: 'allow' | 'deny',
    browser: BrowserSession | undefined,
    client: ClientInfo,
  ): Promise<AuthorizeStep>
  /** The live first-party session a refresh cookie belongs to, without using the token. */
  browserSession(refreshToken: string | undefined): Promise<BrowserSession | undefined>
}

/** What a request offers to authenticate its client. */
export interface ClientCredentials {
  /** The Authorization header, as sent. */
  authorization: string | undefined
  /** The form parameters. */
  params: Readonly<Record<string, string>>
}

/** The successful answer (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3). */
export interface TokenResponse {
  access_token: string
  /** `DPoP` when the access token is bound to the proof's key (RFC 9449 §5). */
  token_type: 'Bearer' | 'DPoP'
  expires_in: number
  scope: string
  refresh_token?: string
  id_token?: string
}

export interface TokenFlows {
  /** `audiences`: what a client assertion's `aud` may name (the issuer, this endpoint). */
  token(
    credentials: ClientCredentials,
    audiences: readonly string[],
    client: ClientInfo,
  ): Promise<TokenResponse>
}

export interface ConsentListing {
  clientId: string
  clientName: string
  scopes: string[]
  grantedAt: string
}

/** What RP-initiated logout does next. */
export type LogoutStep =
  | { kind: 'error_page'; error: string; description: string }
  /** Ask the user first (no valid `id_token_hint`): these fields go back in the confirming POST. */
  | { kind: 'confirm'; hidden: Record<string, string>; clientName: string | null }
  /** Signed out: to the client's registered URI, or (undefined) our "signed out" page. */
  | { kind: 'done'; location: string | undefined; endedSessions: string[] }

export interface OAuthEndpointFlows {
  introspect(
    credentials: ClientCredentials,
    audiences: readonly string[],
  ): Promise<Record<string, unknown>>
  revokeToken(
    credentials: ClientCredentials,
    audiences: readonly string[],
    client: ClientInfo,
  ): Promise<void>
  /** The claims the access token's scopes allow; throws OAuthError invalid_token / insufficient_scope. */
  userinfo(
    accessToken: string | undefined,
    /**
     * How the token came (`Authorization: Bearer` or `DPoP`) and, for DPoP,
     * the key its proof proved: a token bound to a key (`cnf.jkt`) needs both.
     */
    presented?: { scheme: 'Bearer' | 'DPoP'; jkt?: string },
  ): Promise<{
    claims: Record<string, unknown>
    /** For a client registered with userinfo encryption: the claims as a JWE (`application/jwt`). */
    encrypted?: string
  }>
  logout(
    params: Readonly<Record<string, string>>,
    browser: BrowserSession | undefined,
    confirmed: boolean,
    client: ClientInfo,
  ): Promise<LogoutStep>
  listConsents(access: AccessContext): Promise<ConsentListing[]>
  /** Withdraws the consent and signs the app out of every session it holds for the user. */
  revokeConsent(access: AccessContext, clientId: string, client: ClientInfo): Promise<void>
  /**
   * A `client_credentials` token with the scope `tessera:revocations`, of a
   * client still registered: the revocation feed's service access. Throws
   * AuthError when it is not one.
   */
  authenticateFeedService(token: string): Promise<{ clientId: string }>
}

/** The authorization server and OpenID provider: every flow of /oauth/*. */
export type OAuthFlows = AuthorizeFlows & TokenFlows & OAuthEndpointFlows

/**
 * Every flow of the server, with plain inputs and results: no HTTP here.
 * Failures throw AuthError (auth/errors.ts) with a wire code. Route modules
 * take only the slice they use.
 */
export interface AuthService
  extends AccountFlows,
    SessionFlows,
    AdminFlows,
    AccessFlows,
    EmailFlows,
    RecoveryFlows,
    PasswordlessFlows,
    EmailChangeFlows,
    MfaFlows,
    MfaEnrollmentFlows,
    PasskeyFlows,
    OAuthClientFlows {
  /** The authorization server and OpenID provider (auth/oauth/). */
  readonly oauth: OAuthFlows
  /** DPoP proofs (RFC 9449): checked by the routes that issue or accept bound tokens. */
  readonly dpop: DpopPolicy
}

/** A provider as a login page lists it (social login, issue 21: auth/federation/). */
export interface ProviderView {
  id: string
  name: string
  /** `oidc` (OpenID Connect) or `oauth2` (GitHub). */
  kind: 'oidc' | 'oauth2'
}

/** One of the signed-in user's identities at a provider (GET /auth/identities). */
export interface IdentityView {
  /** The provider's id in TESSERA_PROVIDERS. */
  provider: string
  /** Its name as the pages show it; the id when the provider is no longer configured. */
  providerName: string
  /** The address the provider gave at the last sign-in, or null. */
  email: string | null
  /** When it was linked, and last used to sign in (ISO 8601). */
  createdAt: string
  lastUsedAt: string | null
}

export interface FederationFlows {
  /** The configured providers, in TESSERA_PROVIDERS order. */
  listProviders(): ProviderView[]
  /** The identities linked to the caller's account, oldest first. */
  listIdentities(access: AccessContext): Promise<IdentityView[]>
  /**
   * Starts a sign-in at provider `id`: the URL to send the browser to and the
   * sealed flow the browser keeps until the callback (`flow`, good for
   * `maxAge` seconds). `redirectTo` is already checked by the caller.
   * @throws AuthError not_found for an unknown provider; FederationError
   * provider_unavailable when its discovery fails.
   */
  startFederation(
    id: string,
    input: { redirectTo: string | undefined },
  ): Promise<{ url: string; flow: string; maxAge: number }>
  /**
   * Finishes it: `query` is the callback's query, `flow` the browser's
   * sealed flow. Returns the sign-in (tokens, or the MFA challenge) and where
   * to go next.
   * @throws AuthError not_found for an unknown provider; FederationError otherwise.
   */
  finishFederation(
    id: string,
    input: { query: URLSearchParams; flow: string | undefined },
    client: ClientInfo,
  ): Promise<FederationOutcome>
  /**
   * Starts linking provider `id` to the caller's account: as
   * startFederation, with the caller's user and session sealed into the
   * flow, so that the callback links the identity to them (outcome
   * `linked`). Needs a recent authentication, as adding a factor does.
   * @throws AuthError not_found (unknown provider), reauthentication_required,
   * provider_unavailable (its discovery fails).
   */
  startLink(
    access: AccessContext,
    id: string,
    input: { redirectTo: string | undefined },
  ): Promise<{ url: string; flow: string; maxAge: number }>
  /**
   * Unlinks the caller's identity at `provider`. Needs a recent
   * authentication.
   * @throws AuthError not_found (no identity there), last_sign_in_method
   * (it is the account's only way in), reauthentication_required.
   */
  unlinkIdentity(access: AccessContext, provider: string, client: ClientInfo): Promise<void>
  /**
   * The provider's access token kept for the caller's identity at
   * `provider` (a provider that keeps tokens), refreshed first when it
   * expires within a minute or when `refresh` asks.
   * @throws AuthError not_found (none kept), provider_token_revoked (the
   * provider refused the refresh: the kept tokens are gone),
   * provider_unavailable.
   */
  providerToken(
    access: AccessContext,
    provider: string,
    input: { refresh: boolean },
    client: ClientInfo,
  ): Promise<ProviderTokenView>
}

/** A provider's access token kept for the user (POST /auth/identities/:provider/token). */
export interface ProviderTokenView {
  accessToken: string
  tokenType: 'Bearer'
  /** When it expires (ISO 8601); null when the provider did not say. */
  expiresAt: string | null
  /** The scopes it was granted, space-separated; null when the provider did not say. */
  scope: string | null
}

/**
 * What a social-login callback came to: a sign-in (tokens, or the MFA
 * challenge), or an identity linked to the signed-in user who started it
 * (the session goes on unchanged). `redirectTo` is where the start asked to
 * go next, already checked.
 */
export type FederationOutcome =
  | { kind: 'signed_in'; result: SignInResult; redirectTo: string | undefined }
  | { kind: 'linked'; provider: string; redirectTo: string | undefined }

export interface AuthService {
  readonly federation: FederationFlows
}
