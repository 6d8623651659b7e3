// The narrow interfaces the domain needs from storage. `auth/` and `tokens/`
// see storage only through these; `tessera.ts` wires a concrete backend
// (SQLite or PostgreSQL). Every backend passes test/storage-contract.ts.
//
// Times are epoch milliseconds (numbers) throughout, so the domain can inject
// its clock and no backend's date type leaks out.

import type { RateLimiterAbstract } from 'rate-limiter-flexible'

export interface UserRecord {
  id: string
  /** Normalized: trimmed, lower-cased. Unique. */
  email: string
  name: string | null
  /** argon2id PHC string, or a bcrypt hash for imported users until their next login. */
  passwordHash: string
  roles: string[]
  createdAt: number
  updatedAt: number
  /** Set by a password change; access tokens issued before it are revoked. */
  passwordChangedAt: number | null
  disabled: boolean
  /** When the owner proved the address (a verification link or code); null until then. */
  emailVerifiedAt: number | null
}

export interface NewUser {
  id: string
  email: string
  name: string | null
  passwordHash: string
  roles: string[]
  createdAt: number
  /** Null (the default) for an address nobody has proved yet. */
  emailVerifiedAt?: number | null
}

export interface UserPatch {
  name?: string | null
  passwordHash?: string
  roles?: string[]
  disabled?: boolean
  passwordChangedAt?: number
  /** A time marks the address verified; null marks it unverified again. */
  emailVerifiedAt?: number | null
  updatedAt: number
}

export interface UserStore {
  /** Inserts a user; `'email_taken'` when the email exists (exactly one of N concurrent inserts wins). */
  createUser(user: NewUser): Promise<UserRecord | 'email_taken'>
  findUserById(id: string): Promise<UserRecord | undefined>
  findUserByEmail(email: string): Promise<UserRecord | undefined>
  updateUser(id: string, patch: UserPatch): Promise<UserRecord | undefined>
  /**
   * Sets the user's (already normalized) email. `'email_taken'` when another
   * user has it: the unique index decides, so of two concurrent changes to
   * one address exactly one wins. Undefined for an unknown id.
   */
  changeEmail(
    id: string,
    email: string,
    updatedAt: number,
  ): Promise<UserRecord | 'email_taken' | undefined>
  /** In creation order, oldest first; keyset pagination: `after` is the id of the last user seen. */
  listUsers(options: { limit: number; after?: string; email?: string }): Promise<UserRecord[]>
  countUsers(): Promise<number>
}

export interface SessionRecord {
  id: string
  userId: string
  createdAt: number
  lastUsedAt: number
  /** Absolute end of the session (refresh token lifetime from login). */
  expiresAt: number
  userAgent: string | null
  ip: string | null
  revokedAt: number | null
  revokedReason: string | null
  /**
   * When the user last proved who they are in this session: the sign-in,
   * or a later re-authentication (epoch ms). Sessions from before issue 16
   * read their `createdAt`.
   */
  authTime: number
  /**
   * How (RFC 8176 method references: `pwd`, `otp`, `hwk`, `swk`, `user`,
   * `mfa`), as of `authTime`. Sessions from before issue 16 read `['pwd']`.
   */
  amr: string[]
  /**
   * The OAuth client the session was granted to: `tessera` (the built-in
   * first-party client) for sessions of /auth/* and those from before issue 17.
   */
  clientId: string
  /** The scopes granted (space-separated, RFC 6749 §3.3); null: the first-party default. */
  scope: string | null
  /** The RFC 8707 resource its access tokens are for (their `aud`); null: the server's audience. */
  resource: string | null
  /**
   * The RFC 7638 thumbprint of the DPoP key its refresh token is bound to
   * (RFC 9449 §5): a refresh must prove that key. Null: not bound.
   */
  dpopJkt: string | null
  /**
   * The social-login provider (its id in TESSERA_PROVIDERS) the session
   * signed in at: its tokens' `idp` claim. Absent for every other session.
   */
  idp?: string
}

export interface NewSession {
  id: string
  userId: string
  createdAt: number
  expiresAt: number
  userAgent: string | null
  ip: string | null
  authTime: number
  amr: string[]
  /** Default `tessera`. */
  clientId?: string
  /** Default null. */
  scope?: string | null
  /** Default null. */
  resource?: string | null
  /** Default null. */
  dpopJkt?: string | null
  /** The social-login provider it signed in at; default none. */
  idp?: string | null
}

export interface RefreshTokenRecord {
  /** SHA-256 of the opaque token, base64url. The token itself is never stored. */
  tokenHash: string
  sessionId: string
  createdAt: number
  /** min(session end, idle timeout from creation). */
  expiresAt: number
  usedAt: number | null
}

/** What the winner of a rotation stores so racing losers get the same answer. */
export interface RotationSuccessor {
  tokenHash: string
  createdAt: number
  expiresAt: number
  /**
   * The successor pair (refresh + access token), AES-256-GCM encrypted under
   * the master key; kept only until the grace window closes, never in clear.
   */
  sealedPair: string
}

/** What a refresh reads before it rotates: the token's session and the session's user. */
export interface RefreshTokenGrant {
  session: SessionRecord
  user: UserRecord
}

export type RotateResult =
  /** This caller won: the old token is now used, the successor stored. */
  | { status: 'rotated'; session: SessionRecord }
  /** Another caller rotated it inside the grace window: the same successor pair. */
  | { status: 'within_grace'; session: SessionRecord; sealedPair: string }
  /** Used before, outside the grace window (or its pair is gone): theft. The caller revokes. */
  | { status: 'reused'; session: SessionRecord }
  /** Unknown, expired, or its session is revoked or over. */
  | { status: 'not_found' }

export interface SessionStore {
  /** Creates a session and its first refresh token in one transaction. */
  createSession(session: NewSession, refresh: Omit<RefreshTokenRecord, 'usedAt'>): Promise<void>
  /**
   * Records a new proof of identity in a live (not revoked, not expired at
   * `at`) session: its `authTime` becomes `at` and its `amr` these methods.
   * Undefined when the session is not live.
   */
  reauthenticate(id: string, at: number, amr: readonly string[]): Promise<SessionRecord | undefined>
  findSession(id: string): Promise<SessionRecord | undefined>
  /** Active (not revoked, not expired at `now`) sessions of a user, newest first. */
  listSessions(userId: string, now: number): Promise<SessionRecord[]>
  /**
   * The security race as one atomic method. Exactly one concurrent caller with
   * the same `tokenHash` gets `rotated`; the others get `within_grace` while
   * `now - usedAt <= graceMs`, else `reused`. A token past `expiresAt`, a
   * revoked session or one past its `expiresAt` gives `not_found`.
   * `rotated` also sets the session's `lastUsedAt` to `now`.
   */
  rotateRefreshToken(input: {
    tokenHash: string
    now: number
    graceMs: number
    successor: RotationSuccessor
  }): Promise<RotateResult>
  /** The session a refresh token belongs to, without using it (for logout by refresh token). */
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined>
  /**
   * The session of a refresh token and that session's user, in one read,
   * without using the token: what a refresh checks and signs the successor
   * pair with before rotateRefreshToken decides the race. Undefined for an
   * unknown token. Says nothing of whether the token is live (used, expired,
   * its session revoked or over): the rotation answers that, atomically.
   */
  findRefreshTokenGrant(tokenHash: string): Promise<RefreshTokenGrant | undefined>
  /** Revokes one session; false when it was already revoked or does not exist. */
  revokeSession(id: string, now: number, reason: string): Promise<boolean>
  /** Revokes every active session of a user except `exceptId`; returns their ids. */
  revokeUserSessions(
    userId: string,
    now: number,
    reason: string,
    exceptId?: string,
  ): Promise<string[]>
  /**
   * Revokes every active session granted to OAuth client `clientId` (of one
   * user when `userId` is given: a consent withdrawn; of all users: the
   * client removed); returns their ids.
   */
  revokeClientSessions(
    clientId: string,
    now: number,
    reason: string,
    userId?: string,
  ): Promise<string[]>
  /** Deletes expired refresh tokens and sessions, and sealed pairs older than the grace window. */
  purgeExpired(now: number, graceMs: number): Promise<number>
}

export interface SigningKeyRecord {
  kid: string
  alg: string
  /** Public JWK as JSON text. */
  publicJwk: string
  /** Private JWK (or HS secret) AES-256-GCM encrypted under the master key. */
  sealedPrivateJwk: string
  createdAt: number
  /** When it starts signing; published as "next" before that. */
  activatesAt: number
  /** When it stops signing; null while it is (or will be) the current key. */
  retiresAt: number | null
  /** When it leaves the JWKS: retiresAt plus the longest access-token lifetime. */
  expiresAt: number | null
}

export interface KeyStore {
  listKeys(): Promise<SigningKeyRecord[]>
  insertKey(key: SigningKeyRecord): Promise<void>
  /** Sets retiresAt/expiresAt of a key. */
  retireKey(kid: string, retiresAt: number, expiresAt: number): Promise<void>
  /** Deletes keys whose expiresAt has passed. */
  deleteExpiredKeys(now: number): Promise<number>
  /**
   * Runs `fn` while holding the deployment-wide rotation lock, so exactly
   * one instance rotates (SQLite: a write transaction; PostgreSQL: an
   * advisory lock). Store writes inside `fn` commit together or not at all;
   * `fn` must not catch a store error and carry on (PostgreSQL aborts the
   * transaction) and must finish well within a minute. Returns what `fn` returns.
   */
  withRotationLock<T>(fn: () => Promise<T>): Promise<T>
}

export type RevocationEntry =
  | { kind: 'jti'; value: string; expiresAt: number }
  | { kind: 'sid'; value: string; expiresAt: number }
  /** Every token of user `value` issued before `before` (epoch seconds, as `iat`). */
  | { kind: 'sub'; value: string; before: number; expiresAt: number }

export type StoredRevocation = RevocationEntry & { id: number; createdAt: number }

export interface RevocationStore {
  /** Appends entries; ids increase monotonically (the feed's `since` cursor). */
  addRevocations(entries: RevocationEntry[], now: number): Promise<StoredRevocation[]>
  /** Entries with id > `since` that have not expired at `now`, in id order. */
  listRevocations(since: number, now: number, limit: number): Promise<StoredRevocation[]>
  deleteExpiredRevocations(now: number): Promise<number>
}

export interface AuditEvent {
  at: number
  event: string
  userId: string | null
  sessionId: string | null
  ip: string | null
  /** Free-form details; never a password, token, hash or key. */
  details: Record<string, unknown>
}

export interface AuditStore {
  appendAudit(event: AuditEvent): Promise<void>
  listAudit(options: {
    limit: number
    before?: number
    userId?: string
    event?: string
  }): Promise<(AuditEvent & { id: number })[]>
  /**
   * Deletes up to `limit` of the oldest entries with `at < before` (epoch ms)
   * and returns how many it deleted. One short statement per call: the
   * retention pass calls again while a call deletes `limit`.
   */
  deleteAuditBefore(before: number, limit: number): Promise<number>
}

/**
 * A message waiting in the outbox: written in the same transaction as the
 * state change that caused it (Store.atomically), sent by the outbox worker.
 */
export interface OutboxMessage {
  id: string
  /** The recipient's address (normalized). */
  to: string
  /** Which template renders it: `verify_email`, `reset_password`, `sign_in_code`, … */
  template: string
  /**
   * The template's variables, sealed under the master key (they hold link
   * tokens and codes): a copy of the database does not hand out a link.
   */
  sealedData: string
  /** The user it concerns, for the audit log and `tessera mail list`; null for none. */
  userId: string | null
  createdAt: number
  status: 'pending' | 'sending' | 'sent' | 'dead'
  /** Delivery attempts made so far. */
  attempts: number
  /** When the worker may (re)try it: pending, or sending whose lease ran out. */
  nextAttemptAt: number
  /**
   * The last delivery error, for the operator (never a secret: the SMTP
   * server's answer); the store keeps its first 1000 characters.
   */
  lastError: string | null
  sentAt: number | null
}

export type NewOutboxMessage = Pick<
  OutboxMessage,
  'id' | 'to' | 'template' | 'sealedData' | 'userId' | 'createdAt'
>

export interface OutboxStore {
  /**
   * Adds a pending message, due at its `createdAt`. Inside Store.atomically
   * it commits with the change that caused it. A duplicate id is an error.
   */
  enqueue(message: NewOutboxMessage): Promise<void>
  /**
   * Claims up to `limit` messages due at `now` (pending, or sending with an
   * expired lease) for one worker: marks them `sending` with
   * `nextAttemptAt = now + leaseMs` and `attempts + 1`, and returns them,
   * the longest waiting first. Of concurrent claimers (other instances)
   * each message goes to exactly one (PostgreSQL: FOR UPDATE SKIP LOCKED).
   * A worker that outlives its lease may see its message claimed again:
   * delivery is at least once, so keep the lease well above a send's timeout.
   */
  claimDue(now: number, limit: number, leaseMs: number): Promise<OutboxMessage[]>
  /** Delivered: `sent` from now on, whatever a slower attempt reports later. */
  markSent(id: string, at: number): Promise<void>
  /**
   * A failed attempt of a `sending` message: pending again at `retryAt`, or
   * `dead` when `retryAt` is null. A message already sent or dead stays so.
   */
  markFailed(id: string, error: string, retryAt: number | null): Promise<void>
  /** Newest first, for `tessera mail list` and the admin view. */
  listMessages(options: {
    limit: number
    status?: OutboxMessage['status']
  }): Promise<OutboxMessage[]>
  /** Messages per status, for /metrics. */
  countByStatus(): Promise<Record<OutboxMessage['status'], number>>
  /**
   * Deletes up to `limit` of the oldest sent and dead messages created
   * before `before`; returns how many (retention: call again while it
   * returns `limit`). Pending and sending messages are never deleted.
   */
  deleteFinishedBefore(before: number, limit: number): Promise<number>
}

/** What a one-time link or code is for; a token of one purpose never serves another. */
/** `sign_in` is the link of a sign-in mail, `sign_in_code` its 6-digit code. */
export type OneTimePurpose =
  | 'verify_email'
  | 'reset_password'
  | 'sign_in'
  | 'sign_in_code'
  | 'change_email'

/** A one-time link token or code, stored as a hash only. */
export interface OneTimeTokenRecord {
  /** SHA-256 (base64url) of the link token, or of `userId:code` for a 6-digit code. */
  hash: string
  userId: string
  purpose: OneTimePurpose
  /** The address it was mailed to (a change of email: the new address). */
  email: string
  createdAt: number
  expiresAt: number
  /** Wrong tries so far (codes only); the token dies at `maxAttempts`. */
  attempts: number
  maxAttempts: number
  /** When it was consumed, or ended (superseded by a newer token, revoked); null while usable. */
  usedAt: number | null
}

export type NewOneTimeToken = Omit<OneTimeTokenRecord, 'attempts' | 'usedAt'>

export interface OneTimeTokenStore {
  /**
   * Stores a token and ends every older unused token of the same user and
   * purpose (a new link makes the previous ones dead), in one transaction;
   * of two concurrent calls for one user and purpose, the later one's
   * token is the only one left usable. The user must exist.
   */
  createToken(token: NewOneTimeToken, now: number): Promise<void>
  /**
   * Consumes the token with this hash and purpose if it is unused, unexpired
   * at `now` (`now < expiresAt`) and under its attempts: marks it used and
   * returns it (with `usedAt = now`). Exactly one of concurrent consumers
   * receives it; everyone else gets undefined.
   */
  consumeToken(
    hash: string,
    purpose: OneTimePurpose,
    now: number,
  ): Promise<OneTimeTokenRecord | undefined>
  /**
   * Counts a wrong code against the user's live token of `purpose`; returns
   * the attempts left (0: the token is now dead), or undefined without one.
   * Atomic: of concurrent wrong tries, no more than `maxAttempts` count.
   */
  countFailedAttempt(
    userId: string,
    purpose: OneTimePurpose,
    now: number,
  ): Promise<number | undefined>
  /**
   * Ends the user's live tokens of these purposes (all when omitted; none
   * for an empty list) and returns how many: a password change kills reset links.
   */
  revokeTokens(userId: string, now: number, purposes?: readonly OneTimePurpose[]): Promise<number>
  /**
   * Deletes the tokens dead at `before`: expired (`expiresAt <= before`) or
   * used or ended before it (`usedAt < before`); returns how many.
   */
  deleteExpiredTokens(before: number): Promise<number>
}

/** A user's authenticator app secret (TOTP, RFC 6238). */
export interface TotpRecord {
  userId: string
  /** The shared secret, sealed under the master key: never stored in clear. */
  sealedSecret: string
  createdAt: number
  /** Null until a first code confirmed it: an unconfirmed secret protects nothing. */
  confirmedAt: number | null
  /** The last time step a code was accepted for; codes of that step or an earlier one are refused. */
  lastStep: number | null
}

/** A WebAuthn credential (passkey) of a user. */
export interface PasskeyRecord {
  /** The credential id, base64url. Unique across users. */
  id: string
  userId: string
  /** The user's label for it ("Work laptop"). */
  name: string
  /** The COSE public key, base64url. */
  publicKey: string
  /** The signature counter last seen (0 for authenticators that do not count). */
  counter: number
  /** Authenticator transports as the browser reported them (`internal`, `usb`, `hybrid`, …). */
  transports: string[]
  /** `multiDevice` for a synced passkey, `singleDevice` for one bound to its authenticator. */
  deviceType: 'singleDevice' | 'multiDevice'
  /** Whether the credential is backed up (synced) now. */
  backedUp: boolean
  createdAt: number
  lastUsedAt: number | null
}

/** The second factors of users: an authenticator app, recovery codes, passkeys. */
export interface FactorStore {
  findTotp(userId: string): Promise<TotpRecord | undefined>
  /**
   * Stores a new unconfirmed secret, replacing an unconfirmed one;
   * `'exists'` (and nothing changes) when the user has a confirmed one.
   */
  startTotp(record: {
    userId: string
    sealedSecret: string
    createdAt: number
  }): Promise<'started' | 'exists'>
  /**
   * Confirms the user's unconfirmed secret at `at`, recording `step` as
   * used. False when there is no unconfirmed secret (none, or confirmed).
   */
  confirmTotp(userId: string, at: number, step: number): Promise<boolean>
  /**
   * Records `step` as used when the user's confirmed secret has accepted no
   * code of that step or a later one: of concurrent callers with one step
   * exactly one gets true, so a code is accepted once.
   */
  useTotpStep(userId: string, step: number): Promise<boolean>
  /** Removes the secret, confirmed or not; false when there was none. */
  deleteTotp(userId: string): Promise<boolean>
  /** Replaces every recovery code of the user by these hashes, all unused, in one transaction. */
  replaceRecoveryCodes(userId: string, hashes: readonly string[], at: number): Promise<void>
  /** Marks the unused code with this hash used: exactly one of concurrent callers gets true. */
  useRecoveryCode(userId: string, hash: string, at: number): Promise<boolean>
  /** How many of the user's recovery codes are unused. */
  countRecoveryCodes(userId: string): Promise<number>
  deleteRecoveryCodes(userId: string): Promise<number>
  /** `'exists'` when a credential with this id is stored (for any user). */
  addPasskey(record: PasskeyRecord): Promise<'added' | 'exists'>
  /** The user's passkeys, oldest first. */
  listPasskeys(userId: string): Promise<PasskeyRecord[]>
  findPasskey(id: string): Promise<PasskeyRecord | undefined>
  /**
   * After a sign-in with it: the new counter and backup state, `lastUsedAt`.
   * A counter that does not grow (when either is non-zero) is the caller's
   * to refuse before; this only stores.
   */
  recordPasskeyUse(
    id: string,
    use: { counter: number; backedUp: boolean; at: number },
  ): Promise<boolean>
  /** Undefined unless the passkey is the user's. */
  renamePasskey(userId: string, id: string, name: string): Promise<PasskeyRecord | undefined>
  /** False unless the passkey was the user's. */
  deletePasskey(userId: string, id: string): Promise<boolean>
  /** Removes every factor of the user (an admin's reset); returns how many went. */
  deleteAllFactors(userId: string): Promise<number>
  /** What the user has: a confirmed TOTP secret, how many passkeys, how many unused recovery codes. */
  summary(userId: string): Promise<{ totp: boolean; passkeys: number; recoveryCodes: number }>
}

/**
 * `mfa`: the second step of a sign-in; `mfa_enrollment`: a sign-in that must
 * set up a factor first (TESSERA_MFA=required); `passkey_registration` and
 * `passkey_login`: a WebAuthn ceremony's challenge; `oauth_request`: an
 * authorization request waiting for the user's sign-in or consent.
 */
export type ChallengeKind =
  | 'mfa'
  | 'mfa_enrollment'
  | 'passkey_registration'
  | 'passkey_login'
  | 'oauth_request'

/** A short-lived, single-use challenge, stored by the hash of its opaque token. */
export interface ChallengeRecord {
  /** SHA-256 (base64url) of the token handed to the client. */
  hash: string
  kind: ChallengeKind
  /** Whose it is; null for a passwordless passkey sign-in (the passkey says who). */
  userId: string | null
  /** The flow's JSON (the first factor's methods, the WebAuthn challenge); no secret of the user's. */
  data: string
  createdAt: number
  expiresAt: number
  /** Wrong tries so far; the challenge dies at `maxAttempts`. */
  attempts: number
  maxAttempts: number
  usedAt: number | null
}

export interface ChallengeStore {
  createChallenge(record: Omit<ChallengeRecord, 'attempts' | 'usedAt'>): Promise<void>
  /** The live challenge (unused, `now < expiresAt`, under its attempts) of this hash and kind, unchanged. */
  findChallenge(
    hash: string,
    kind: ChallengeKind,
    now: number,
  ): Promise<ChallengeRecord | undefined>
  /** Marks the live challenge used and returns it: exactly one of concurrent callers gets it. */
  consumeChallenge(
    hash: string,
    kind: ChallengeKind,
    now: number,
  ): Promise<ChallengeRecord | undefined>
  /**
   * Counts a wrong try against the live challenge; returns the tries left
   * (0: it is now dead), or undefined when it is not live. Atomic: of
   * concurrent wrong tries no more than `maxAttempts` count.
   */
  countChallengeFailure(hash: string, now: number): Promise<number | undefined>
  /** Deletes challenges expired (`expiresAt <= before`) or used before `before`; returns how many. */
  deleteExpiredChallenges(before: number): Promise<number>
}

/** How a client authenticates at the token endpoint (RFC 7591 §2). */
export type TokenEndpointAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'private_key_jwt'
  | 'none'

/** The grants a client may use at the token endpoint. */
export type OAuthGrantType = 'authorization_code' | 'refresh_token' | 'client_credentials'

/** A registered OAuth client (RFC 7591 metadata, stored). */
export interface OAuthClientRecord {
  /** The `client_id`: unique, random, URL-safe. */
  id: string
  /** `client_name`, shown on the consent page. */
  name: string
  /**
   * SHA-256 (base64url) of the client secret (256 random bits, so a fast
   * hash is enough); null for `none` and `private_key_jwt` clients.
   */
  secretHash: string | null
  /** Exact redirect URIs (a loopback one matches any port, RFC 8252 §7.3). */
  redirectUris: string[]
  postLogoutRedirectUris: string[]
  grantTypes: OAuthGrantType[]
  tokenEndpointAuthMethod: TokenEndpointAuthMethod
  /** The scopes it may ask for. */
  scopes: string[]
  /** Its public keys, a JWK Set as JSON text (`private_key_jwt`); null otherwise. */
  jwks: string | null
  /** Skips the consent screen (the operator's own apps). */
  firstParty: boolean
  /** Access-token lifetime in seconds; null: the server's. */
  accessTokenTtl: number | null
  /** Refresh-token (session) lifetime in seconds; null: the server's. */
  refreshTokenTtl: number | null
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`: its token requests must carry a DPoP proof. */
  dpopBoundAccessTokens: boolean
  /**
   * OpenID Connect Core §10.2: its ID tokens (and userinfo) are encrypted to
   * a key of its `jwks` with this `alg` and `enc`; null: signed only.
   */
  idTokenEncryption: { alg: string; enc: string } | null
  userinfoEncryption: { alg: string; enc: string } | null
  createdAt: number
}

/** An authorization code, stored by the hash of the code handed out. */
export interface OAuthCodeRecord {
  /** SHA-256 (base64url) of the code. */
  hash: string
  clientId: string
  userId: string
  /**
   * The authorization request it answers, as JSON (redirect URI, PKCE
   * challenge, scope, nonce, resource, auth_time, amr): never a secret.
   */
  data: string
  createdAt: number
  expiresAt: number
  /** When it was redeemed; null while unused. */
  usedAt: number | null
  /** The session its redemption started: what a replay revokes. */
  sessionId: string | null
}

export type RedeemCodeResult =
  /** This caller redeemed it (it is now used). */
  | { status: 'redeemed'; code: OAuthCodeRecord }
  /** Redeemed before (expired or not): a replay; `code.sessionId` is what the first redemption started. */
  | { status: 'replayed'; code: OAuthCodeRecord }
  /** Unknown, or expired unused. */
  | { status: 'not_found' }

/** What a user allowed a third-party client. */
export interface ConsentRecord {
  userId: string
  clientId: string
  scopes: string[]
  createdAt: number
  updatedAt: number
}

/** Clients, authorization codes, consents and used client assertions. */
export interface OAuthStore {
  /** A duplicate id is an error. */
  createClient(client: OAuthClientRecord): Promise<void>
  findClient(id: string): Promise<OAuthClientRecord | undefined>
  /** Oldest first. */
  listClients(): Promise<OAuthClientRecord[]>
  /** Removes the client with its codes and consents; false when unknown. Its sessions are SessionStore.revokeClientSessions'. */
  deleteClient(id: string): Promise<boolean>
  createCode(code: Omit<OAuthCodeRecord, 'usedAt' | 'sessionId'>): Promise<void>
  /**
   * Redeems the code: of concurrent callers with one hash exactly one gets
   * `redeemed`, the others `replayed`. An unused code at or past
   * `expiresAt` is `not_found`; a used one stays `replayed` until purged.
   */
  redeemCode(hash: string, now: number): Promise<RedeemCodeResult>
  /** Records the session a redemption started. */
  attachCodeSession(hash: string, sessionId: string): Promise<void>
  /** Adds `scopes` to what the user allowed the client (created when none); returns the whole consent. */
  grantConsent(
    userId: string,
    clientId: string,
    scopes: readonly string[],
    now: number,
  ): Promise<ConsentRecord>
  findConsent(userId: string, clientId: string): Promise<ConsentRecord | undefined>
  /** The user's consents, newest first. */
  listConsents(userId: string): Promise<ConsentRecord[]>
  /** False when there was none. */
  deleteConsent(userId: string, clientId: string): Promise<boolean>
  /**
   * Records a client assertion's `jti` (RFC 7523 §3: single use) until
   * `expiresAt`; false when this client used it before (a replay).
   * Exactly one of concurrent callers with one (clientId, jti) gets true.
   */
  useAssertion(clientId: string, jti: string, expiresAt: number): Promise<boolean>
  /** Deletes codes and assertions with `expiresAt <= before`; returns how many. */
  purgeExpired(before: number): Promise<number>
}

/** Everything a backend provides. */
export interface Store {
  readonly users: UserStore
  readonly sessions: SessionStore
  readonly keys: KeyStore
  readonly revocations: RevocationStore
  readonly audit: AuditStore
  readonly outbox: OutboxStore
  readonly oneTimeTokens: OneTimeTokenStore
  readonly factors: FactorStore
  readonly challenges: ChallengeStore
  readonly oauth: OAuthStore
  /**
   * Runs `fn` in one transaction: every port call it makes (through this
   * store) commits together, or none does when `fn` throws. For a state
   * change and the mail it causes (the outbox row). Returns what `fn`
   * returns. A nested call joins the outer transaction.
   *
   * Keep `fn` short: no password hashing or network inside (on SQLite every
   * other caller waits for it). Await its calls one at a time, and do not
   * catch a store error inside and carry on (PostgreSQL aborts the
   * transaction at the first failed statement); the answers a port method
   * documents, such as `'email_taken'`, are not errors and are safe.
   *
   * @example
   * await store.atomically(async () => {
   *   await store.oneTimeTokens.createToken(token, now)
   *   await store.outbox.enqueue(message)
   * })
   */
  atomically<T>(fn: () => Promise<T>): Promise<T>
  /** Cheap round trip for /ready; rejects with StoreUnavailableError when the database is unreachable. */
  ping(): Promise<void>
  /**
   * A cheap value that changes once another connection (a `tessera` CLI
   * command, another instance) has committed revocations or signing-key
   * changes; it may change for other writes too. Equal values mean there is
   * nothing of theirs to reload. Writes through this store need not change
   * it. The server polls it about twice a second.
   */
  changeMarker(): Promise<string>
  /** Applies pending migrations (safe when several instances start at once); returns the names applied. */
  migrate(): Promise<string[]>
  close(): Promise<void>
}

/**
 * Thrown by a backend when the database cannot be reached (connection refused
 * or lost, pool exhausted, server shutting down). The HTTP layer answers 503
 * `unavailable`; the backend recovers by itself when the database returns.
 * The message is safe to show: never a URL, password or query.
 */
export class StoreUnavailableError extends Error {
  constructor(message = 'the database is unavailable', options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StoreUnavailableError'
  }
}

/** What a rate-limiter factory is asked to build: one limiter with its key namespace. */
export interface LimiterOptions {
  /** Namespace of the keys (`tessera:login-ip`, …). */
  keyPrefix: string
  /** Points per window. */
  points: number
  /** Window in seconds. */
  duration: number
}

/**
 * Builds the limiters auth/rate-limits.ts counts with: in memory by default,
 * in Redis (storage/redis) when instances share their budgets.
 */
export type RateLimiterFactory = (options: LimiterOptions) => RateLimiterAbstract

/**
 * An upstream identity (social login, issue 21): the provider's subject
 * for one of Tessera's users. A user may have several; a (provider,
 * subject) pair belongs to one user.
 */
export interface IdentityRecord {
  /** The provider's id in TESSERA_PROVIDERS (`google`, `corp`). */
  provider: string
  /** The provider's stable id of the person (`sub`; GitHub's numeric user id). */
  subject: string
  userId: string
  /** The address the provider gave at the last sign-in; null when it gave none. */
  email: string | null
  /** Whether the provider said it verified that address. */
  emailVerified: boolean
  createdAt: number
  lastUsedAt: number | null
}

export interface IdentityStore {
  /**
   * Links the identity to its user. `'identity_taken'` when the (provider,
   * subject) pair is already linked (to anyone): of concurrent inserts
   * exactly one wins, and no store error is raised, so it is safe inside
   * Store.atomically.
   */
  createIdentity(record: IdentityRecord): Promise<IdentityRecord | 'identity_taken'>
  findIdentity(provider: string, subject: string): Promise<IdentityRecord | undefined>
  /** A user's identities, oldest first. */
  listIdentities(userId: string): Promise<IdentityRecord[]>
  /** Records a sign-in: the address and its verification as the provider gave them now. */
  touchIdentity(
    provider: string,
    subject: string,
    patch: { email: string | null; emailVerified: boolean; lastUsedAt: number },
  ): Promise<void>
  /** Unlinks the identity if it is `userId`'s; whether one was removed. */
  deleteIdentity(provider: string, subject: string, userId: string): Promise<boolean>
  /**
   * The provider's tokens kept for the identity (social login's keep-tokens
   * option), as the flows sealed them; null when none are kept or there is
   * no such identity.
   */
  readIdentityTokens(provider: string, subject: string): Promise<string | null>
  /**
   * Keeps `sealed` (null: clears them) for the identity if it is `userId`'s;
   * whether it is. With `expected`, only while the kept value is still that
   * one (null: none kept), so a refresh that lost a race neither overwrites
   * nor clears what the winner stored.
   */
  setIdentityTokens(
    provider: string,
    subject: string,
    userId: string,
    sealed: string | null,
    expected?: string | null,
  ): Promise<boolean>
}

/** A Store with the identities of social login (issue 21). */
export interface Store {
  readonly identities: IdentityStore
}
