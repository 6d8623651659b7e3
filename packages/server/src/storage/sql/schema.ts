// The tables as Kysely sees them (docs/architecture.md, "Data model").
// Column names stay snake_case in SQL; the port records are camelCase, and
// the mapping happens in one place per table (the `to*Record` functions).
//
// Times are integer epoch milliseconds: `integer` in SQLite, `bigint` in
// PostgreSQL (whose driver hands int8 back as a string or bigint, hence
// `DbInteger` and `toNumber` in dialect.ts). Booleans are 0/1 in SQLite and
// may be `boolean` in PostgreSQL (`DbBoolean`). JSON is stored as text.

import type { Generated } from 'kysely'

/** An integer column as a driver may return it. */
export type DbInteger = number | bigint | string

/** A boolean column as a driver may return it (0/1 in SQLite). */
export type DbBoolean = number | boolean

export interface UsersTable {
  id: string
  email: string
  name: string | null
  password_hash: string
  /** JSON array of strings. */
  roles: string
  created_at: DbInteger
  updated_at: DbInteger
  password_changed_at: DbInteger | null
  disabled: DbBoolean
  email_verified_at: DbInteger | null
}

export interface SessionsTable {
  id: string
  user_id: string
  created_at: DbInteger
  last_used_at: DbInteger
  expires_at: DbInteger
  user_agent: string | null
  ip: string | null
  revoked_at: DbInteger | null
  revoked_reason: string | null
  /** Null for a session from before issue 16: read as `created_at`. */
  auth_time: DbInteger | null
  /** JSON array of strings (RFC 8176 method references); null before issue 16: read as `["pwd"]`. */
  amr: string | null
  /** The OAuth client it was granted to; `tessera` (the default) for first-party sessions. */
  client_id: string
  /** Space-separated scopes granted; null: the first-party default. */
  scope: string | null
  /** The RFC 8707 resource of its access tokens; null: the server's audience. */
  resource: string | null
  /** RFC 7638 thumbprint of the DPoP key its refresh token is bound to; null: not bound. */
  dpop_jkt: string | null
  /** The social-login provider id it signed in at (its tokens' `idp`); null: not federated. */
  idp: string | null
}

export interface RefreshTokensTable {
  token_hash: string
  session_id: string
  created_at: DbInteger
  expires_at: DbInteger
  used_at: DbInteger | null
  /** Hash of the token that replaced this one (set by the rotation winner). */
  successor_hash: string | null
  /** The successor pair, sealed; cleared once the grace window has closed. */
  sealed_pair: string | null
}

export interface SigningKeysTable {
  kid: string
  alg: string
  public_jwk: string
  sealed_private_jwk: string
  created_at: DbInteger
  activates_at: DbInteger
  retires_at: DbInteger | null
  expires_at: DbInteger | null
}

export interface RevocationsTable {
  id: Generated<DbInteger>
  kind: string
  value: string
  /** Only for `sub` entries: epoch seconds, compared with `iat`. */
  before: DbInteger | null
  created_at: DbInteger
  expires_at: DbInteger
}

export interface AuditLogTable {
  id: Generated<DbInteger>
  at: DbInteger
  event: string
  user_id: string | null
  session_id: string | null
  ip: string | null
  /** JSON object. */
  details: string
}

export interface OutboxTable {
  id: string
  /** The address (OutboxMessage.to; `to` is an SQL keyword). */
  recipient: string
  template: string
  sealed_data: string
  user_id: string | null
  created_at: DbInteger
  /** `pending` | `sending` | `sent` | `dead`. */
  status: string
  attempts: number
  next_attempt_at: DbInteger
  last_error: string | null
  sent_at: DbInteger | null
}

export interface OneTimeTokensTable {
  hash: string
  user_id: string
  purpose: string
  email: string
  created_at: DbInteger
  expires_at: DbInteger
  attempts: number
  max_attempts: number
  used_at: DbInteger | null
}

export interface TotpFactorsTable {
  user_id: string
  sealed_secret: string
  created_at: DbInteger
  confirmed_at: DbInteger | null
  last_step: DbInteger | null
}

export interface RecoveryCodesTable {
  hash: string
  user_id: string
  created_at: DbInteger
  used_at: DbInteger | null
}

export interface PasskeysTable {
  id: string
  user_id: string
  name: string
  public_key: string
  counter: DbInteger
  /** JSON array of strings. */
  transports: string
  /** `singleDevice` | `multiDevice`. */
  device_type: string
  backed_up: DbBoolean
  created_at: DbInteger
  last_used_at: DbInteger | null
}

export interface ChallengesTable {
  hash: string
  /** `mfa` | `passkey_registration` | `passkey_login`, … */
  kind: string
  user_id: string | null
  data: string
  created_at: DbInteger
  expires_at: DbInteger
  attempts: number
  max_attempts: number
  used_at: DbInteger | null
}

export interface OAuthClientsTable {
  id: string
  name: string
  secret_hash: string | null
  /** JSON array of strings. */
  redirect_uris: string
  /** JSON array of strings. */
  post_logout_redirect_uris: string
  /** JSON array of strings (`authorization_code`, `refresh_token`, `client_credentials`). */
  grant_types: string
  /** `client_secret_basic` | `client_secret_post` | `private_key_jwt` | `none`. */
  token_endpoint_auth_method: string
  /** JSON array of strings. */
  scopes: string
  /** A JWK Set as JSON text. */
  jwks: string | null
  first_party: DbBoolean
  /** Seconds. */
  access_token_ttl: DbInteger | null
  /** Seconds. */
  refresh_token_ttl: DbInteger | null
  created_at: DbInteger
  /** RFC 9449 §5.2; false for clients registered before issue 18. */
  dpop_bound_access_tokens: DbBoolean
  /** OpenID Connect Registration §2: both null, or both set. */
  id_token_encrypted_alg: string | null
  id_token_encrypted_enc: string | null
  userinfo_encrypted_alg: string | null
  userinfo_encrypted_enc: string | null
}

export interface OAuthCodesTable {
  hash: string
  client_id: string
  user_id: string
  /** The authorization request, JSON. */
  data: string
  created_at: DbInteger
  expires_at: DbInteger
  used_at: DbInteger | null
  session_id: string | null
}

export interface OAuthConsentsTable {
  user_id: string
  client_id: string
  /** JSON array of strings. */
  scopes: string
  created_at: DbInteger
  updated_at: DbInteger
}

export interface OAuthAssertionsTable {
  client_id: string
  jti: string
  expires_at: DbInteger
}

export interface Database {
  users: UsersTable
  sessions: SessionsTable
  refresh_tokens: RefreshTokensTable
  signing_keys: SigningKeysTable
  revocations: RevocationsTable
  audit_log: AuditLogTable
  outbox: OutboxTable
  one_time_tokens: OneTimeTokensTable
  totp_factors: TotpFactorsTable
  recovery_codes: RecoveryCodesTable
  passkeys: PasskeysTable
  challenges: ChallengesTable
  oauth_clients: OAuthClientsTable
  oauth_codes: OAuthCodesTable
  oauth_consents: OAuthConsentsTable
  oauth_assertions: OAuthAssertionsTable
}

/** Social login (issue 21): a user's upstream identities. */
export interface IdentitiesTable {
  provider: string
  subject: string
  user_id: string
  email: string | null
  email_verified: DbBoolean
  created_at: DbInteger
  last_used_at: DbInteger | null
  /** The provider's tokens as sealed JSON (a provider that keeps them), else null. */
  tokens: string | null
}

export interface Database {
  identities: IdentitiesTable
}
