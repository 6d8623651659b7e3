// The one configuration schema: every environment variable Tessera reads, in
// the order it is parsed, with its parser, default, unit, doc line and whether
// it is a secret. loadConfig, describeConfig, .env.example and
// docs/configuration.md all come from this array.

import { isIP } from 'node:net'
import { join, resolve } from 'node:path'
import { ALGORITHMS, type Algorithm } from '@tessera/jwt'
import {
  decodeBase64url,
  ExpectedValue,
  formatSeconds,
  isLoopbackHttp,
  parseBoolean,
  parseHost,
  parseInteger,
  parseIssuer,
  parseOneOf,
  parseOrigin,
  parseSeconds,
  RefusedValue,
  redactUrlPassword,
} from './parsers.ts'
import { parseProviders } from './providers.ts'
import type { Config, LoginRateLimit, Mailbox } from './types.ts'

/** Where an effective value came from. */
export type ValueSource = 'env' | 'default'

/** What a parser, a default or a check may look at: the values parsed before it. */
export interface ParseContext {
  /** Values of the variables earlier in the schema (all set when a variable is reached). */
  readonly config: Readonly<Partial<Config>>
  /** Where each earlier value came from. */
  readonly sources: ReadonlyMap<keyof Config, ValueSource>
  /** Directory relative paths resolve against. */
  readonly cwd: string
  /** The whole environment, for families of variables named after a value (TESSERA_PROVIDER_<ID>_*). */
  readonly env: Readonly<Record<string, string | undefined>>
}

/** One environment variable: how it is read, defaulted, checked, documented and shown. */
export interface ConfigVariable<K extends keyof Config = keyof Config> {
  /** The environment variable. */
  readonly name: string
  /** The Config field it sets. */
  readonly key: K
  /** One line for .env.example, the docs and `tessera config check`. */
  readonly doc: string
  /** Unit or form of the value ('' when it speaks for itself). */
  readonly unit: string
  /** Never echoed: not in errors, not in `describeConfig`. */
  readonly secret: boolean
  /** The default as documented, when it is not a constant that `format` can show. */
  readonly defaultText?: string
  /** A value for .env.example when the default is derived but has a literal form (`./data`). */
  readonly envExample?: string
  /** Parses a non-empty raw value; throws ExpectedValue (or RefusedValue). */
  parse(raw: string, context: ParseContext): Config[K]
  /** The value when the variable is unset: a constant, or derived from earlier values. */
  readonly default: Config[K] | ((context: ParseContext) => Config[K])
  /** Rules on the effective value (env or default): cross-field and production refusals. Throws RefusedValue. */
  check?(value: Config[K], context: ParseContext): void
  /** The value in the variable's own syntax (for describeConfig and the documented defaults). */
  format(value: Config[K]): string
  /** For values that may embed a credential (URLs): the form that may be shown; undefined to show nothing. */
  redact?(raw: string): string | undefined
}

function variable<K extends keyof Config>(spec: ConfigVariable<K>): ConfigVariable<K> {
  return spec
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const NODE_ENVS = ['development', 'production', 'test'] as const

/** HMAC key sizes: RFC 7518 §3.2 requires at least the hash output. */
const HS_SECRET_BYTES: Readonly<Partial<Record<Algorithm, number>>> = {
  HS256: 32,
  HS384: 48,
  HS512: 64,
}

/** Longest refresh-reuse grace accepted: a replay window, so keep it short. */
export const MAX_REUSE_GRACE_SECONDS = 300

/** Defaults of TESSERA_LOGIN_RATE_LIMIT. */
export const DEFAULT_LOGIN_RATE_LIMIT: Readonly<LoginRateLimit> = Object.freeze({
  ipPoints: 100,
  ipWindowSeconds: 900,
  freeFailures: 5,
  accountFreeFailures: 50,
  maxBackoffSeconds: 900,
})

// The same separators as `tessera secret --kid`: a kid cannot hold ":" or ",".
const KID = /^[A-Za-z0-9._~-]+$/

const HS_SECRETS_FORMAT =
  'comma-separated kid:base64url-secret pairs (e.g. k1:<tessera secret output>)'

/**
 * TESSERA_HS_SECRETS next to an asymmetric algorithm: said before the value is
 * parsed, so a malformed or short secret does not earn advice about its size.
 */
function refuseHsSecrets(alg: Algorithm): RefusedValue {
  return new RefusedValue(
    `HS secrets are refused with TESSERA_SIGNING_ALG=${alg}, whose keys the server generates and rotates: unset TESSERA_HS_SECRETS, or choose HS256, HS384 or HS512`,
  )
}

function parseHsSecrets(raw: string, context: ParseContext): Config['hsSecrets'] {
  const alg = context.config.signingAlg
  if (alg !== undefined && HS_SECRET_BYTES[alg] === undefined) throw refuseHsSecrets(alg)
  const minBytes = (alg === undefined ? undefined : HS_SECRET_BYTES[alg]) ?? 32
  const kids = new Set<string>()
  const secrets: { kid: string; secret: Buffer }[] = []
  // Pairs are named by position: a kid may be a secret typed in the wrong place.
  for (const [index, item] of raw.split(',').entries()) {
    const pair = `pair ${index + 1}`
    const colon = item.indexOf(':')
    const kid = colon < 0 ? '' : item.slice(0, colon).trim()
    const secret = colon < 0 ? undefined : decodeBase64url(item.slice(colon + 1).trim())
    if (!KID.test(kid) || secret === undefined) throw new ExpectedValue(HS_SECRETS_FORMAT)
    if (kids.has(kid))
      throw new ExpectedValue(`${HS_SECRETS_FORMAT} with unique kids (${pair} repeats one)`)
    if (secret.length < minBytes) {
      throw new ExpectedValue(
        `secrets of at least ${minBytes} bytes for ${alg ?? 'HS256'} (${pair} has ${secret.length}; make one with \`tessera secret --alg ${alg ?? 'HS256'}\`)`,
      )
    }
    kids.add(kid)
    secrets.push({ kid, secret })
  }
  return secrets
}

const LOGIN_RATE_LIMIT_FORMAT =
  'comma-separated ip=<attempts>/<duration>, fails=<count>, accountFails=<count>, maxBackoff=<duration> (any of them, e.g. ip=100/15m,fails=5,accountFails=50,maxBackoff=15m)'

function parseLoginRateLimit(raw: string): LoginRateLimit {
  const limit: LoginRateLimit = { ...DEFAULT_LOGIN_RATE_LIMIT }
  const seen = new Set<string>()
  for (const item of raw.split(',')) {
    const [name, value, ...rest] = item.split('=').map((part) => part.trim())
    if (name === undefined || value === undefined || rest.length > 0 || seen.has(name)) {
      throw new ExpectedValue(LOGIN_RATE_LIMIT_FORMAT)
    }
    seen.add(name)
    try {
      if (name === 'ip') {
        const [points, window, ...extra] = value.split('/')
        if (points === undefined || window === undefined || extra.length > 0) {
          throw new ExpectedValue(LOGIN_RATE_LIMIT_FORMAT)
        }
        limit.ipPoints = parseInteger(points, 1, Number.MAX_SAFE_INTEGER)
        limit.ipWindowSeconds = parseSeconds(window, 1)
      } else if (name === 'fails') {
        limit.freeFailures = parseInteger(value, 0, 1000)
      } else if (name === 'accountFails') {
        limit.accountFreeFailures = parseInteger(value, 0, 100_000)
      } else if (name === 'maxBackoff') {
        limit.maxBackoffSeconds = parseSeconds(value, 1)
      } else {
        throw new ExpectedValue(LOGIN_RATE_LIMIT_FORMAT)
      }
    } catch (error) {
      if (error instanceof ExpectedValue && error.message !== LOGIN_RATE_LIMIT_FORMAT) {
        throw new ExpectedValue(`${LOGIN_RATE_LIMIT_FORMAT}; ${name}: ${error.message}`)
      }
      throw error
    }
  }
  return limit
}

function formatLoginRateLimit(limit: Readonly<LoginRateLimit>): string {
  return `ip=${limit.ipPoints}/${formatSeconds(limit.ipWindowSeconds)},fails=${limit.freeFailures},accountFails=${limit.accountFreeFailures},maxBackoff=${formatSeconds(limit.maxBackoffSeconds)}`
}

function parseOrigins(raw: string): string[] {
  const items = raw.split(',').map((item) => item.trim())
  if (items.includes('*')) {
    if (items.length > 1) throw new ExpectedValue('"*" alone, or a list of origins without "*"')
    return ['*']
  }
  return [...new Set(items.map(parseOrigin))]
}

function parseDatabaseUrl(raw: string, context: ParseContext): string {
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length)
    if (path === '')
      throw new ExpectedValue('sqlite:<path> with a path, sqlite::memory:, or postgres://…')
    // A relative SQLite path is taken from the working directory, like TESSERA_DATA_DIR.
    return path === ':memory:' ? raw : `sqlite:${resolve(context.cwd, path)}`
  }
  if (raw.startsWith('postgres://') || raw.startsWith('postgresql://')) {
    if (URL.parse(raw) === null) throw new ExpectedValue('a valid postgres:// URL')
    return raw
  }
  throw new ExpectedValue('sqlite:<path>, sqlite::memory:, postgres://… or postgresql://…')
}

function parseBrandName(raw: string): string {
  // Escaped wherever it is rendered; control characters would still garble a title.
  if (raw.length > 60 || /\p{Cc}/u.test(raw)) {
    throw new ExpectedValue('up to 60 characters without control characters')
  }
  return raw
}

function parseHexColor(raw: string): string {
  // Only this shape reaches the stylesheet, so the value cannot inject CSS.
  if (!/^#[0-9a-fA-F]{6}$/.test(raw)) throw new ExpectedValue('a #rrggbb colour (e.g. #2f54c6)')
  return raw.toLowerCase()
}

function parseLogoUrl(raw: string): string {
  const url = URL.parse(raw)
  if (
    url === null ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.hostname === '' ||
    url.username !== '' ||
    url.password !== ''
  ) {
    throw new ExpectedValue('an absolute http(s) URL of an image, without credentials')
  }
  return url.href
}

function parseSmtpUrl(raw: string): string {
  const url = URL.parse(raw)
  if (
    url === null ||
    (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') ||
    url.hostname === ''
  ) {
    throw new ExpectedValue(
      'an smtp:// (STARTTLS) or smtps:// (TLS) URL, e.g. smtp://user:password@smtp.example.com:587',
    )
  }
  return raw
}

// The address part of a mailbox (RFC 5322 addr-spec, the common subset): no
// spaces, brackets, quotes or separators, so it cannot carry a second address.
const ADDRESS = /^[^\s@<>()[\]",;:\\]+@[^\s@<>()[\]",;:\\]+$/

function parseMailbox(raw: string): Mailbox {
  const expected = 'an address or Name <address> (e.g. Acme <no-reply@acme.example>)'
  // A line break in a header value would start a header of its own.
  if (/\p{Cc}/u.test(raw)) throw new ExpectedValue(expected)
  const named = /^(.*?)\s*<([^<>]*)>$/.exec(raw)
  const name = (named?.[1] ?? '').replace(/^"(.*)"$/, '$1').trim()
  const address = named?.[2]?.trim() ?? raw
  if (!ADDRESS.test(address) || /[<>]/.test(name) || name.length > 100) {
    throw new ExpectedValue(expected)
  }
  return { name, address }
}

function formatMailbox(mailbox: Readonly<Mailbox>): string {
  return mailbox.name === '' ? mailbox.address : `${mailbox.name} <${mailbox.address}>`
}

const production = (context: ParseContext): boolean => context.config.production === true
const duration = (seconds: number): string => formatSeconds(seconds)
const secretShown = (value: unknown): string =>
  value === undefined || (Array.isArray(value) && value.length === 0)
    ? '<not set>'
    : '<set, redacted>'

/**
 * Every variable, in parse order: a default may use the values above it, and
 * a check sees them too. The first variable that fails stops loading.
 */
export const CONFIG_SCHEMA: readonly ConfigVariable[] = Object.freeze([
  variable({
    name: 'NODE_ENV',
    key: 'production',
    doc: '`production` turns on the production refusals (docs/configuration.md); `development` and `test` do not. Any other value is refused: a typo must not switch the refusals off.',
    unit: 'development|production|test',
    secret: false,
    parse: (raw) => parseOneOf(raw, NODE_ENVS) === 'production',
    default: false,
    format: (value) => (value ? 'production' : 'development'),
  }),
  variable({
    name: 'TESSERA_HOST',
    key: 'host',
    doc: 'Address the HTTP server listens on (0.0.0.0 or :: for every interface).',
    unit: 'IP address or host name',
    secret: false,
    parse: parseHost,
    default: '127.0.0.1',
    format: (value) => value,
  }),
  variable({
    name: 'TESSERA_PORT',
    key: 'port',
    doc: 'TCP port the HTTP server listens on (0 picks a free one).',
    unit: 'port',
    secret: false,
    parse: (raw) => parseInteger(raw, 0, 65_535),
    default: 3000,
    format: String,
  }),
  variable({
    name: 'TESSERA_ISSUER',
    key: 'issuer',
    doc: 'Public base URL of this server: the `iss` of every token and the base of the discovery document.',
    unit: 'http(s) URL',
    secret: false,
    defaultText: '`http://localhost:<port>`',
    parse: parseIssuer,
    default: (context) => `http://localhost:${context.config.port}`,
    check(value, context) {
      // Browsers only keep a Secure cookie set over https (localhost excepted),
      // so a production issuer on plain http would lose the refresh cookie.
      if (production(context) && value.startsWith('http:') && !isLoopbackHttp(value)) {
        throw new RefusedValue('must be an https:// URL when NODE_ENV=production')
      }
    },
    format: (value) => value,
  }),
  variable({
    name: 'TESSERA_AUDIENCE',
    key: 'audience',
    doc: 'The `aud` claim of access tokens; resource servers check it.',
    unit: 'string',
    secret: false,
    defaultText: 'the issuer',
    parse(raw) {
      if (/[\s,]/.test(raw)) throw new ExpectedValue('one audience value without spaces or commas')
      return raw
    },
    default: (context) => context.config.issuer!,
    format: (value) => value,
  }),
  variable({
    name: 'TESSERA_OAUTH_RESOURCES',
    key: 'oauthResources',
    doc: "The resources (RFC 8707) an OAuth client may ask a token for with `resource`: that value becomes the access token's `aud`. TESSERA_AUDIENCE is always one of them.",
    unit: 'comma-separated absolute URIs',
    secret: false,
    defaultText: 'none besides TESSERA_AUDIENCE',
    parse(raw) {
      const resources = raw
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '')
      for (const resource of resources) {
        // RFC 8707 §2: an absolute URI without a fragment.
        const url = URL.parse(resource)
        if (url === null || url.hash !== '' || resource.includes('#')) {
          throw new ExpectedValue('absolute URIs without a fragment, separated by commas')
        }
      }
      return [...new Set(resources)]
    },
    default: () => [],
    format: (value) => value.join(','),
  }),
  variable({
    name: 'TESSERA_DATA_DIR',
    key: 'dataDir',
    doc: 'Directory for the SQLite file and the development master key (made absolute against the working directory).',
    unit: 'path',
    secret: false,
    defaultText: '`./data`',
    envExample: './data',
    parse: (raw, context) => resolve(context.cwd, raw),
    default: (context) => resolve(context.cwd, 'data'),
    format: (value) => value,
  }),
  variable({
    name: 'TESSERA_DATABASE_URL',
    key: 'databaseUrl',
    doc: 'Where users, sessions and keys live: SQLite for one instance, PostgreSQL to run several (postgres:// URLs also take ?pool=10, ?schema=name, ?connect_timeout=5).',
    unit: 'sqlite:<path> or postgres:// URL',
    secret: false,
    defaultText: '`sqlite:<data dir>/tessera.db`',
    parse: parseDatabaseUrl,
    default: (context) => `sqlite:${join(context.config.dataDir!, 'tessera.db')}`,
    format: (value) => redactUrlPassword(value) ?? '<not shown>',
    redact: redactUrlPassword,
  }),
  variable({
    name: 'TESSERA_REDIS_URL',
    key: 'redisUrl',
    doc: 'Redis for shared rate limits and revocation fan-out between instances; unset keeps both in process.',
    unit: 'redis:// or rediss:// URL',
    secret: false,
    defaultText: 'none',
    parse(raw) {
      const url = URL.parse(raw)
      if (url === null || (url.protocol !== 'redis:' && url.protocol !== 'rediss:')) {
        throw new ExpectedValue('a redis:// or rediss:// URL')
      }
      return raw
    },
    default: undefined,
    format: (value) =>
      value === undefined ? '<not set>' : (redactUrlPassword(value) ?? '<not shown>'),
    redact: redactUrlPassword,
  }),
  variable({
    name: 'TESSERA_MASTER_KEY',
    key: 'masterKey',
    doc: 'Encrypts signing keys at rest (AES-256-GCM); every instance of a deployment shares it. Make one with `tessera secret`.',
    unit: 'base64url of 32 bytes',
    secret: true,
    defaultText: 'generated into the data dir outside production',
    parse(raw) {
      const key = decodeBase64url(raw)
      if (key === undefined || key.length !== 32) {
        throw new ExpectedValue(
          'base64url (no padding) of exactly 32 random bytes, as `tessera secret` prints',
        )
      }
      return key
    },
    default: undefined,
    check(value, context) {
      if (value === undefined && production(context)) {
        throw new RefusedValue('required when NODE_ENV=production (make one with `tessera secret`)')
      }
    },
    format: secretShown,
  }),
  variable({
    name: 'TESSERA_SIGNING_ALG',
    key: 'signingAlg',
    doc: 'Algorithm of access tokens. Asymmetric keys are generated and rotated by the server; HS* uses TESSERA_HS_SECRETS.',
    unit: 'JWS algorithm',
    secret: false,
    parse: (raw) => parseOneOf(raw, ALGORITHMS),
    default: 'ES256',
    format: (value) => value,
  }),
  variable({
    name: 'TESSERA_HS_SECRETS',
    key: 'hsSecrets',
    doc: 'For HS* only: the shared secrets; the first one signs, all verify. Each at least the hash size (32/48/64 bytes).',
    unit: 'kid:base64url[,kid:base64url…]',
    secret: true,
    defaultText: 'none (required for HS*)',
    parse: parseHsSecrets,
    default: [],
    check(value, context) {
      const alg = context.config.signingAlg!
      const hs = HS_SECRET_BYTES[alg] !== undefined
      if (hs && value.length === 0) {
        throw new RefusedValue(
          `required when TESSERA_SIGNING_ALG is ${alg} (make one with \`tessera secret --alg ${alg} --kid k1\`)`,
        )
      }
      if (!hs && value.length > 0) throw refuseHsSecrets(alg)
    },
    format: secretShown,
  }),
  variable({
    name: 'TESSERA_ACCESS_TOKEN_TTL',
    key: 'accessTokenTtl',
    doc: 'Lifetime of access tokens (RFC 9068 JWTs). Keep it short: revocation reaches other services through the feed.',
    unit: 'duration',
    secret: false,
    parse: (raw) => parseSeconds(raw, 1),
    default: 900,
    format: duration,
  }),
  variable({
    name: 'TESSERA_REFRESH_TOKEN_TTL',
    key: 'refreshTokenTtl',
    doc: 'Absolute lifetime of a session (its refresh-token family), counted from login.',
    unit: 'duration',
    secret: false,
    parse: (raw) => parseSeconds(raw, 1),
    default: 30 * 86_400,
    format: duration,
  }),
  variable({
    name: 'TESSERA_REFRESH_IDLE_TTL',
    key: 'refreshIdleTtl',
    doc: 'A session unused for this long expires; at least the access-token TTL, at most the refresh-token TTL.',
    unit: 'duration',
    secret: false,
    parse: (raw) => parseSeconds(raw, 1),
    default: 7 * 86_400,
    check(value, context) {
      const access = context.config.accessTokenTtl!
      const refresh = context.config.refreshTokenTtl!
      if (value < access) {
        throw new RefusedValue(
          `must be at least TESSERA_ACCESS_TOKEN_TTL (${formatSeconds(value)} < ${formatSeconds(access)})`,
        )
      }
      if (value > refresh) {
        throw new RefusedValue(
          `must be at most TESSERA_REFRESH_TOKEN_TTL (${formatSeconds(value)} > ${formatSeconds(refresh)})`,
        )
      }
    },
    format: duration,
  }),
  variable({
    name: 'TESSERA_REFRESH_REUSE_GRACE',
    key: 'refreshReuseGrace',
    doc: 'A used refresh token presented again within this window returns the same new pair (racing tabs); after it, reuse revokes the session.',
    unit: 'duration, under 5m',
    secret: false,
    parse(raw) {
      const seconds = parseSeconds(raw, 0)
      if (seconds >= MAX_REUSE_GRACE_SECONDS)
        throw new ExpectedValue('a duration under 5m (e.g. 10s)')
      return seconds
    },
    default: 10,
    format: duration,
  }),
  variable({
    name: 'TESSERA_KEY_ROTATION_INTERVAL',
    key: 'keyRotationInterval',
    doc: 'How often a new signing key is generated; the old one stays published until its tokens have expired.',
    unit: 'duration',
    secret: false,
    parse: (raw) => parseSeconds(raw, 60),
    default: 30 * 86_400,
    format: duration,
  }),
  variable({
    name: 'TESSERA_AUDIT_RETENTION',
    key: 'auditRetention',
    doc: 'How long audit-log entries (with the IPs they record) are kept; the maintenance pass deletes older ones every minute. 0 keeps them forever.',
    unit: 'duration of at least 1d, or 0',
    secret: false,
    parse(raw) {
      if (raw === '0') return 0
      try {
        return parseSeconds(raw, 86_400)
      } catch (error) {
        // A bare number is seconds: `90` would empty the log; say what is meant.
        if (!(error instanceof ExpectedValue)) throw error
        throw new ExpectedValue(
          'a duration of at least 1d (e.g. 90d, 52w), or 0 to keep entries forever',
        )
      }
    },
    default: 90 * 86_400,
    format: (value) => (value === 0 ? '0' : duration(value)),
  }),
  variable({
    name: 'TESSERA_ALLOWED_ORIGINS',
    key: 'allowedOrigins',
    doc: 'Origins allowed to make cookie-authenticated calls (browser mode); `*` is refused in production.',
    unit: 'comma-separated scheme://host[:port]',
    secret: false,
    defaultText: "the issuer's origin",
    parse: parseOrigins,
    default: (context) => [new URL(context.config.issuer!).origin],
    check(value, context) {
      if (production(context) && value.includes('*')) {
        throw new RefusedValue('"*" is refused when NODE_ENV=production: list the exact origins')
      }
    },
    format: (value) => value.join(','),
  }),
  variable({
    name: 'TESSERA_LOGIN_RATE_LIMIT',
    key: 'loginRateLimit',
    doc: 'Login attempts per IP per window; consecutive failures per account+IP before that client backs off (1s, 2s, 4s… up to maxBackoff); failures of the account from all addresses before clients that failed on it back off too (docs/http-api.md, "Login throttling").',
    unit: 'ip=<n>/<duration>,fails=<n>,accountFails=<n>,maxBackoff=<duration>',
    secret: false,
    parse: parseLoginRateLimit,
    default: DEFAULT_LOGIN_RATE_LIMIT,
    format: formatLoginRateLimit,
  }),
  variable({
    name: 'TESSERA_SIGNUP_RATE_LIMIT',
    key: 'signupRateLimit',
    doc: 'Signups per IP per hour (1000 outside production, so a developer never waits).',
    unit: 'signups per IP per hour',
    secret: false,
    defaultText: '20 in production, 1000 otherwise',
    envExample: '20',
    parse: (raw) => parseInteger(raw, 1, Number.MAX_SAFE_INTEGER),
    default: (context) => (production(context) ? 20 : 1000),
    format: String,
  }),
  variable({
    name: 'TESSERA_REFRESH_RATE_LIMIT',
    key: 'refreshRateLimit',
    doc: 'Refreshes per session per minute.',
    unit: 'refreshes per session per minute',
    secret: false,
    parse: (raw) => parseInteger(raw, 1, Number.MAX_SAFE_INTEGER),
    default: 60,
    format: String,
  }),
  variable({
    name: 'TESSERA_LOG_LEVEL',
    key: 'logLevel',
    doc: 'Lowest level written to the log (JSON lines on stdout).',
    unit: LOG_LEVELS.join('|'),
    secret: false,
    parse: (raw) => parseOneOf(raw, LOG_LEVELS),
    default: 'info',
    format: (value) => value,
  }),
  variable({
    name: 'TESSERA_COOKIE_SECURE',
    key: 'cookieSecure',
    doc: 'The `Secure` attribute of the refresh cookie. Only `false` outside production for http://localhost development.',
    unit: 'boolean',
    secret: false,
    defaultText:
      'false outside production on an `http://localhost` or `http://127.0.0.1` issuer; true otherwise',
    parse: parseBoolean,
    default: (context) => production(context) || !isLoopbackHttp(context.config.issuer!),
    check(value, context) {
      if (!value && production(context)) {
        throw new RefusedValue(
          'cannot be false when NODE_ENV=production (the refresh cookie needs Secure)',
        )
      }
    },
    format: String,
  }),
  variable({
    name: 'TESSERA_ACCESS_TOKEN_EMAIL',
    key: 'accessTokenEmail',
    doc: "Put the user's email in access tokens (`email` claim).",
    unit: 'boolean',
    secret: false,
    parse: parseBoolean,
    default: false,
    format: String,
  }),
  variable({
    name: 'TESSERA_SIGNUP',
    key: 'signupEnabled',
    doc: 'Whether POST /auth/signup is open; when false, accounts come from `tessera users add|import` or the admin API.',
    unit: 'boolean',
    secret: false,
    parse: parseBoolean,
    default: true,
    format: String,
  }),
  variable({
    name: 'TESSERA_TRUST_PROXY',
    key: 'trustProxy',
    doc: 'How many reverse-proxy hops to trust in X-Forwarded-For for the client IP (rate limits, sessions); 0 trusts none.',
    unit: 'proxy hops',
    secret: false,
    parse: (raw) => parseInteger(raw, 0, 100),
    default: 0,
    format: String,
  }),
  variable({
    name: 'TESSERA_REQUEST_TIMEOUT',
    key: 'requestTimeout',
    doc: 'Time a client has to send a whole request, headers and body; a slower one gets 400 `validation_failed` and its connection is closed. An open revocation feed is not cut by it.',
    unit: 'duration',
    secret: false,
    parse: (raw) => parseSeconds(raw, 1),
    default: 30,
    format: duration,
  }),
  variable({
    name: 'TESSERA_HEADERS_TIMEOUT',
    key: 'headersTimeout',
    doc: "Time a client has to send a request's headers, from its first byte (or from connecting); at most TESSERA_REQUEST_TIMEOUT.",
    unit: 'duration',
    secret: false,
    defaultText: '`10s`, or TESSERA_REQUEST_TIMEOUT when shorter',
    envExample: '10s',
    parse: (raw) => parseSeconds(raw, 1),
    default: (context) => Math.min(10, context.config.requestTimeout!),
    check(value, context) {
      const request = context.config.requestTimeout!
      if (value > request) {
        throw new RefusedValue(
          `must be at most TESSERA_REQUEST_TIMEOUT (${formatSeconds(value)} > ${formatSeconds(request)})`,
        )
      }
    },
    format: duration,
  }),
  variable({
    name: 'TESSERA_KEEP_ALIVE_TIMEOUT',
    key: 'keepAliveTimeout',
    doc: 'How long an idle keep-alive connection stays open between requests. Behind a proxy, keep it longer than the proxy keeps idle connections to Tessera (nginx upstream `keepalive_timeout`, 60s by default).',
    unit: 'duration',
    secret: false,
    parse: (raw) => parseSeconds(raw, 1),
    default: 72,
    format: duration,
  }),
  variable({
    name: 'TESSERA_REVOCATION_FEED_KEY',
    key: 'revocationFeedKey',
    doc: 'Shared key that lets resource servers read GET /auth/revocations without a service token; unset: tokens only.',
    unit: 'at least 32 characters',
    secret: true,
    defaultText: 'none',
    parse(raw) {
      // It travels in an HTTP header: visible ASCII only.
      if (raw.length < 32 || !/^[\x21-\x7e]+$/.test(raw)) {
        throw new ExpectedValue(
          'at least 32 visible ASCII characters (e.g. the output of `tessera secret`)',
        )
      }
      return raw
    },
    default: undefined,
    format: secretShown,
  }),
  variable({
    name: 'TESSERA_DPOP_NONCES',
    key: 'dpopNonces',
    doc: 'Require server nonces in DPoP proofs (RFC 9449 §8): a proof without the current `DPoP-Nonce` is answered `use_dpop_nonce` with a fresh one. Each nonce lasts 5 to 10 minutes; every instance derives the same from the master key.',
    unit: 'boolean',
    secret: false,
    parse: parseBoolean,
    default: false,
    format: String,
  }),
  variable({
    name: 'TESSERA_PAGES',
    key: 'pagesEnabled',
    doc: 'Serve the hosted pages: /login, /signup, /account and the /inspect token inspector (docs/pages.md).',
    unit: 'boolean',
    secret: false,
    parse: parseBoolean,
    default: true,
    format: String,
  }),
  variable({
    name: 'TESSERA_BRAND_NAME',
    key: 'brandName',
    doc: 'Product name shown in the hosted pages (title, header).',
    unit: 'text, up to 60 characters',
    secret: false,
    parse: parseBrandName,
    default: 'Tessera',
    format: (value) => value,
  }),
  variable({
    name: 'TESSERA_BRAND_COLOR',
    key: 'brandColor',
    doc: 'Accent colour of the hosted pages (buttons, links, focus ring); text on it is black or white, whichever contrasts more.',
    unit: '#rrggbb',
    secret: false,
    parse: parseHexColor,
    default: '#2f54c6',
    format: (value) => value,
  }),
  variable({
    name: 'TESSERA_BRAND_LOGO_URL',
    key: 'brandLogoUrl',
    doc: "Logo image shown in the hosted pages' header; that exact URL is added to their Content-Security-Policy img-src. https only when NODE_ENV=production.",
    unit: 'http(s) URL',
    secret: false,
    defaultText: 'none (the brand name alone)',
    parse: parseLogoUrl,
    default: undefined,
    check(value, context) {
      if (value !== undefined && production(context) && value.startsWith('http:')) {
        throw new RefusedValue('must be an https:// URL when NODE_ENV=production')
      }
    },
    format: (value) => value ?? '<not set>',
  }),
  variable({
    name: 'TESSERA_SMTP_URL',
    key: 'smtpUrl',
    doc: 'Mail server for outgoing mail (docs/email.md): `smtp://` upgrades with STARTTLS (required in production, localhost excepted, unless `?requireTLS=false`), `smtps://` is TLS from the start; percent-encode the user and password. Unset: outside production each mail is written to `<data dir>/mail/` as an .eml file.',
    unit: 'smtp:// or smtps:// URL',
    secret: false,
    defaultText: 'none',
    parse: parseSmtpUrl,
    default: undefined,
    format: (value) =>
      value === undefined ? '<not set>' : (redactUrlPassword(value) ?? '<not shown>'),
    redact: redactUrlPassword,
  }),
  variable({
    name: 'TESSERA_EMAIL_FROM',
    key: 'emailFrom',
    doc: 'The From of every mail; use an address your SMTP provider lets you send from (SPF, DKIM).',
    unit: 'address or Name <address>',
    secret: false,
    defaultText: "`<brand name> <no-reply@<issuer's host>>`",
    parse: parseMailbox,
    default: (context) => {
      const host = new URL(context.config.issuer!).hostname
      // An IP literal is no mail domain.
      const domain = /^[\d.]+$|^\[/.test(host) ? 'localhost' : host
      return { name: context.config.brandName!, address: `no-reply@${domain}` }
    },
    format: formatMailbox,
  }),
  variable({
    name: 'TESSERA_EMAIL_TEMPLATES',
    key: 'emailTemplatesDir',
    doc: 'Directory of mail templates that replace the built-in ones, file by file (`<template>.subject.txt`, `.txt`, `.html`; docs/email.md); read at start.',
    unit: 'path',
    secret: false,
    defaultText: 'none (the built-in templates)',
    parse: (raw, context) => resolve(context.cwd, raw),
    default: undefined,
    format: (value) => value ?? '<not set>',
  }),
  variable({
    name: 'TESSERA_EMAIL_MAX_ATTEMPTS',
    key: 'emailMaxAttempts',
    doc: 'Delivery attempts of one mail before it is given up as dead; retries wait 30s, 1m, 2m… up to 1h between attempts.',
    unit: 'attempts',
    secret: false,
    parse: (raw) => parseInteger(raw, 1, 100),
    default: 8,
    format: String,
  }),
  variable({
    name: 'TESSERA_EMAIL_RETENTION',
    key: 'emailRetention',
    doc: 'How long sent and dead mail stays in the outbox (`tessera mail list`); the maintenance pass deletes older messages.',
    unit: 'duration of at least 1h',
    secret: false,
    parse: (raw) => parseSeconds(raw, 3600),
    default: 7 * 86_400,
    format: duration,
  }),
  variable({
    name: 'TESSERA_EMAIL_VERIFICATION',
    key: 'emailVerification',
    doc: '`off`; `optional`: signup mails a verification link, unverified accounts sign in, tokens carry `email_verified`; `required`: unverified accounts cannot sign in, and signup answers the same for new and existing addresses (docs/email.md).',
    unit: 'off|optional|required',
    secret: false,
    defaultText: '`optional`; `off` in production without TESSERA_SMTP_URL',
    envExample: 'optional',
    parse: (raw) => parseOneOf(raw, ['off', 'optional', 'required'] as const),
    // A production server with no way to send mail does not promise any.
    default: (context) =>
      production(context) && context.config.smtpUrl === undefined ? 'off' : 'optional',
    check(value, context) {
      if (value !== 'off' && production(context) && context.config.smtpUrl === undefined) {
        throw new RefusedValue(
          'needs TESSERA_SMTP_URL when NODE_ENV=production: verification mail would never be sent',
        )
      }
    },
    format: String,
  }),
  variable({
    name: 'TESSERA_MFA',
    key: 'mfa',
    doc: '`optional`: users may add an authenticator app or a passkey, and then sign in with it as a second step; `required`: an account without one is sent to add one at its next sign-in (docs/mfa.md).',
    unit: 'optional|required',
    secret: false,
    parse: (raw) => parseOneOf(raw, ['optional', 'required'] as const),
    default: 'optional',
    format: String,
  }),
  variable({
    name: 'TESSERA_REAUTH_WINDOW',
    key: 'reauthWindow',
    doc: 'How recent the last sign-in (or re-authentication) of a session must be to change its password, email or second factors; older ones answer 403 `reauthentication_required` (POST /auth/reauthenticate renews it).',
    unit: 'duration, 1m to 1d',
    secret: false,
    parse(raw) {
      const seconds = parseSeconds(raw, 60)
      if (seconds > 86_400) throw new ExpectedValue('a duration from 1m to 1d (e.g. 10m)')
      return seconds
    },
    default: 600,
    format: duration,
  }),
  variable({
    name: 'TESSERA_WEBAUTHN_RP_ID',
    key: 'webauthnRpId',
    doc: "The passkeys' relying party id: a domain that every TESSERA_WEBAUTHN_ORIGINS host is or ends with (`example.com` serves `auth.example.com` and `app.example.com`). Passkeys are bound to it: changing it later makes the stored ones useless (docs/mfa.md).",
    unit: 'domain name',
    secret: false,
    defaultText: "the issuer's host name",
    parse: parseRpId,
    default: (context) => new URL(context.config.issuer!).hostname,
    format: (value) => value,
  }),
  variable({
    name: 'TESSERA_WEBAUTHN_ORIGINS',
    key: 'webauthnOrigins',
    doc: 'The pages passkeys are used from (the `origin` a browser reports in a WebAuthn answer); a ceremony from any other origin is refused.',
    unit: 'comma-separated scheme://host[:port]',
    secret: false,
    defaultText: "the issuer's origin",
    parse: (raw) => [...new Set(raw.split(',').map((item) => parseOrigin(item.trim())))],
    default: (context) => [new URL(context.config.issuer!).origin],
    check(value, context) {
      const rpId = context.config.webauthnRpId!
      for (const origin of value) {
        const host = new URL(origin).hostname
        // WebAuthn §5.1.3 step 8: the RP id must be the origin's effective domain or a registrable suffix of it.
        if (host !== rpId && !host.endsWith(`.${rpId}`)) {
          throw new RefusedValue(
            `${origin} is not on the passkeys' RP id ${rpId} (TESSERA_WEBAUTHN_RP_ID): browsers offer a passkey of ${rpId} only on ${rpId} and its subdomains`,
          )
        }
        // A name of one label (`localhost`, `com`) is a public suffix to
        // browsers: no subdomain may claim it as its RP id.
        if (host !== rpId && !rpId.includes('.')) {
          throw new RefusedValue(
            `${origin} cannot use the RP id ${rpId} (TESSERA_WEBAUTHN_RP_ID): browsers let no subdomain claim a top-level name; use ${host}, or a domain of two labels or more`,
          )
        }
        // Browsers offer WebAuthn to secure contexts only (https, or http on localhost).
        if (production(context) && origin.startsWith('http:') && !isLoopbackHttp(origin)) {
          throw new RefusedValue(
            `${origin} must be https:// when NODE_ENV=production: browsers offer passkeys to secure origins only`,
          )
        }
      }
    },
    format: (value) => value.join(','),
  }),
  variable({
    name: 'TESSERA_PROVIDERS',
    key: 'providers',
    doc: 'Upstream identity providers for social login (docs/social-login.md), by id; each is set up by its TESSERA_PROVIDER_<ID>_* variables (PRESET, ISSUER, CLIENT_ID, CLIENT_SECRET, SCOPES, NAME, KEEP_TOKENS; for Apple TEAM_ID, KEY_ID, PRIVATE_KEY_FILE or PRIVATE_KEY; docs/configuration.md, "Social login providers"). The redirect URI to register at the provider is <issuer>/auth/providers/<id>/callback.',
    unit: 'comma-separated ids',
    secret: false,
    defaultText: 'none',
    parse: (raw, context) => parseProviders(raw, context.env, production(context), context.cwd),
    default: [],
    format: (value) => value.map((provider) => provider.id).join(','),
  }),
])

/**
 * A WebAuthn RP id: a lower-case domain name without scheme or port. IP
 * addresses are refused: browsers never accept one as an RP id.
 */
function parseRpId(raw: string): string {
  const expected = 'a domain name without scheme or port (e.g. example.com, localhost)'
  const name = raw.toLowerCase()
  if (isIP(name) !== 0) throw new ExpectedValue(expected)
  try {
    return parseHost(name)
  } catch {
    throw new ExpectedValue(expected)
  }
}

/** The documented default of a variable, in its own syntax or as text. */
export function describeDefault(entry: ConfigVariable): string {
  if (entry.defaultText !== undefined) return entry.defaultText
  if (typeof entry.default === 'function') return ''
  return entry.format(entry.default)
}
