import type { Algorithm } from '@tessera/jwt'

/** Login rate limits (OWASP: per account, per account+IP, and a generous per-IP ceiling). */
export interface LoginRateLimit {
  /** All login attempts per IP per window (shared NAT is common: keep it generous). */
  ipPoints: number
  ipWindowSeconds: number
  /** Consecutive failures per account+IP allowed before that pair backs off. */
  freeFailures: number
  /**
   * Failures of one account from every address before the account-wide
   * back-off starts; it then slows only clients that have failed on the
   * account themselves, so the owner's correct password still gets in.
   */
  accountFreeFailures: number
  /** Back-off after that: 2^(failures - freeFailures) seconds, capped at this. */
  maxBackoffSeconds: number
}

/** A mail address with its display name (`Acme <no-reply@acme.example>`). */
export interface Mailbox {
  /** The display name; '' for none. */
  name: string
  /** `local@domain`. */
  address: string
}

/**
 * The validated, frozen configuration. Built only by `loadConfig(env)`; nothing
 * else reads `process.env`. Durations are in seconds.
 */
export interface Config {
  readonly production: boolean
  readonly host: string
  readonly port: number
  /** Public base URL of this server; the `iss` of every token. No trailing slash. */
  readonly issuer: string
  /** `aud` of access tokens. */
  readonly audience: string
  /** RFC 8707 resources an OAuth client may name besides `audience`. */
  readonly oauthResources: readonly string[]
  readonly dataDir: string
  /** `sqlite:<path>` (or `sqlite::memory:`) or `postgres://…`. */
  readonly databaseUrl: string
  readonly redisUrl: string | undefined
  /** 32 bytes; undefined means "generate/load the development key in dataDir" (never in production). */
  readonly masterKey: Buffer | undefined
  readonly signingAlg: Algorithm
  /** For HS*: the first one signs, all verify. */
  readonly hsSecrets: readonly { readonly kid: string; readonly secret: Buffer }[]
  readonly accessTokenTtl: number
  readonly refreshTokenTtl: number
  readonly refreshIdleTtl: number
  readonly refreshReuseGrace: number
  readonly keyRotationInterval: number
  /** Audit-log entries older than this are deleted by the maintenance pass; 0 keeps them forever. */
  readonly auditRetention: number
  /** Origins allowed to make cookie-authenticated calls (exact `scheme://host[:port]`). */
  readonly allowedOrigins: readonly string[]
  readonly loginRateLimit: Readonly<LoginRateLimit>
  /** Signups per IP per hour. */
  readonly signupRateLimit: number
  /** Refreshes per session per minute. */
  readonly refreshRateLimit: number
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** `Secure` on the refresh cookie; false only outside production on http://localhost. */
  readonly cookieSecure: boolean
  /** Put the user's email in access tokens. */
  readonly accessTokenEmail: boolean
  /** Whether POST /auth/signup is open. */
  readonly signupEnabled: boolean
  /** Email verification: off, optional (mail a link, sign in anyway) or required. */
  readonly emailVerification: 'off' | 'optional' | 'required'
  /** Second factors: optional, or required (an account without one enrols at its next sign-in). */
  readonly mfa: 'optional' | 'required'
  /** Seconds a session's last authentication stays recent enough for password, email and factor changes. */
  readonly reauthWindow: number
  /** The WebAuthn relying party id passkeys are bound to (a domain, no port). */
  readonly webauthnRpId: string
  /** Origins passkey ceremonies may come from (exact `scheme://host[:port]`). */
  readonly webauthnOrigins: readonly string[]
  /** Trust X-Forwarded-For from this many proxy hops (0: none). */
  readonly trustProxy: number
  /** Seconds a client has to send a whole request (headers and body). */
  readonly requestTimeout: number
  /** Seconds a client has to send a request's headers; at most requestTimeout. */
  readonly headersTimeout: number
  /** Seconds an idle keep-alive connection stays open between requests. */
  readonly keepAliveTimeout: number
  /** Shared key for GET /auth/revocations, for resource servers without a service token. */
  readonly revocationFeedKey: string | undefined
  /** Serve the hosted pages (/login, /signup, /account, /inspect). */
  readonly pagesEnabled: boolean
  /** Require DPoP server nonces (RFC 9449 §8). */
  readonly dpopNonces: boolean
  /** Product name in the hosted pages. */
  readonly brandName: string
  /** Accent colour of the hosted pages, `#rrggbb` in lower case. */
  readonly brandColor: string
  /** Logo image of the hosted pages (https in production); undefined: none. */
  readonly brandLogoUrl: string | undefined
  /** Outgoing mail server, `smtp://` (STARTTLS) or `smtps://` (TLS); undefined: `.eml` files outside production. */
  readonly smtpUrl: string | undefined
  /** The From of every mail; `name` may be empty. */
  readonly emailFrom: Readonly<Mailbox>
  /** Directory of mail template overrides (absolute); undefined: the built-in templates. */
  readonly emailTemplatesDir: string | undefined
  /** Delivery attempts of one message before it is given up (dead). */
  readonly emailMaxAttempts: number
  /** Seconds sent and dead messages stay in the outbox (`tessera mail list`). */
  readonly emailRetention: number
}

/** The presets of social login (docs/social-login.md): each provider's endpoints, scopes and quirks. */
export type ProviderPreset = 'google' | 'microsoft' | 'apple' | 'github' | 'gitlab' | 'oidc'

/** One upstream identity provider (TESSERA_PROVIDERS and its TESSERA_PROVIDER_<ID>_* variables). */
export interface ProviderConfig {
  /** Lower case, as listed in TESSERA_PROVIDERS; the routes' `:id`. */
  readonly id: string
  readonly preset: ProviderPreset
  /** The OpenID issuer (oidc, microsoft with its tenant, a self-managed gitlab); undefined: the preset's. */
  readonly issuer: string | undefined
  readonly clientId: string
  /** Undefined: a public client (PKCE only), allowed for `oidc`. */
  readonly clientSecret: string | undefined
  /** Undefined: the preset's scopes. */
  readonly scopes: readonly string[] | undefined
  /** The name login pages show on its button (TESSERA_PROVIDER_<ID>_NAME); undefined: the preset's name, or the id for `oidc`. */
  readonly name: string | undefined
  /** Keep the provider's access and refresh tokens, sealed (TESSERA_PROVIDER_<ID>_KEEP_TOKENS); default false. */
  readonly keepTokens: boolean
  /** Sign in with Apple's client secret, a JWT Tessera signs with the team's key; only for the `apple` preset. */
  readonly apple: AppleClientSecretConfig | undefined
}

/** What Tessera needs to sign Sign in with Apple's client secret (ES256). */
export interface AppleClientSecretConfig {
  /** The Apple developer team id: the secret's `iss`. */
  readonly teamId: string
  /** The Sign in with Apple key's id: the secret's `kid`. */
  readonly keyId: string
  /** The key's PKCS #8 PEM (the `.p8` file): a P-256 private key. */
  readonly privateKey: string
}

/** Social login (issue 21). */
export interface Config {
  /** The upstream identity providers, in TESSERA_PROVIDERS order; empty: none. */
  readonly providers: readonly ProviderConfig[]
}
