// What the Express, Fastify and Hono adapters share, and what the Tessera
// server checks its own access tokens with: option checks, one verifier built
// at creation, Bearer, DPoP (RFC 9449) and cookie extraction, the mapping of
// failures to the wire codes of error-codes.ts and RFC 6750 / RFC 9449
// answers, and the role, scope and step-up (RFC 9470) guards. The adapters
// only move headers and statuses between this and their framework, and say
// how to read a request's method, URL and headers (a RequestReader).

import type { AccessTokenClaims } from './access-token.ts'
import { type Algorithm, isAlgorithm } from './algorithms.ts'
import {
  checkDpopProof,
  createDpopReplayCache,
  DPOP_ALGORITHMS,
  type DpopAlgorithm,
  type DpopReplayCache,
  type VerifiedDpopProof,
} from './dpop.ts'
import { type Duration, parseDuration } from './duration.ts'
import { type AuthErrorCode, authErrorCodes, type ErrorCodeInfo } from './error-codes.ts'
import { JwtError } from './errors.ts'
import { Key, KeySet } from './keys.ts'
import { createRemoteKeySet } from './remote-key-set.ts'
import {
  createRevocationFeed,
  isRevocationFeed,
  type RevocationFeed,
  type RevocationFeedOptions,
} from './revocation-feed.ts'
import { keepTickEntryShape } from './tick-shape.ts'
import type { JwtPayload, VerifiedJwt } from './types.ts'
import { createVerifier } from './verifier.ts'

/** The DPoP (RFC 9449) options of `authenticate()` and of `createAuthenticator({ verify })`. */
export interface DpopAuthenticateOptions {
  /**
   * DPoP (RFC 9449). `'allowed'` (default): Bearer tokens, and DPoP-bound
   * tokens sent as `Authorization: DPoP <token>` with a `DPoP` proof header;
   * `'required'`: DPoP-bound tokens only. Whatever this says, a token bound
   * to a key (`cnf.jkt`) is never accepted without a valid proof by that key.
   */
  dpop?: 'allowed' | 'required'
  /**
   * Algorithms accepted for DPoP proofs, and advertised in the challenge's
   * `algs`. Default: every asymmetric one (`DPOP_ALGORITHMS`).
   */
  dpopAlgorithms?: DpopAlgorithm[]
  /** How old a proof's `iat` may be (`60`, `'2m'`). Default 60 seconds. */
  dpopMaxAge?: Duration
  /**
   * Where the `jti`s of accepted proofs are remembered. Default: an in-memory
   * cache per authenticator (`createDpopReplayCache()`). Several instances
   * behind one URL need a shared one, such as Redis.
   */
  dpopReplayCache?: DpopReplayCache
  /**
   * The server's current DPoP nonce (RFC 9449 §9): a proof must carry it,
   * else 401 `use_dpop_nonce` with a `DPoP-Nonce` header holding it.
   */
  dpopNonce?: () => string
  /**
   * The base URL clients call this service at (`https://api.example.com`,
   * with a path prefix if a proxy strips one): a proof's `htu` must be it
   * plus the request's path. Without it (nor `forwardedHeader`), the URL is
   * the request's own as the framework sees it (its scheme and `Host`):
   * behind a TLS-terminating proxy that is `http://` and an internal host,
   * so proofs fail; and where the framework trusts `X-Forwarded-*` from
   * anyone, a client chooses the URL its proofs are checked against.
   */
  publicUrl?: string
  /**
   * Behind a proxy that sets this header (and drops it from what clients
   * send): the public scheme and host for `htu` come from `Forwarded`
   * (RFC 7239 `proto` and `host`) or from `X-Forwarded-Proto` and
   * `X-Forwarded-Host`, the values the proxy added last (rightmost). A
   * request without them is refused. Not with `publicUrl`.
   */
  forwardedHeader?: 'forwarded' | 'x-forwarded'
}

/** Options of `authenticate()` other than the key source. */
export interface AuthenticateBaseOptions extends DpopAuthenticateOptions {
  /** The Tessera server's issuer (`TESSERA_ISSUER`); the token's `iss` must equal it. */
  issuer: string
  /**
   * The audience the token's `aud` must contain (one of these). Default: the
   * issuer, as a Tessera server's `TESSERA_AUDIENCE` defaults to it.
   */
  audience?: string | string[]
  /** Narrows the accepted algorithms further (each key only ever checks its own). */
  algorithms?: Algorithm[]
  /** Expected `typ` header. Default `'at+jwt'` (RFC 9068); `false` to not check it. */
  typ?: string | false
  /**
   * Leeway for `exp`, `nbf`, `iat` and `auth_time`, and for `maxAuthAge` (`30`, `'30s'`).
   * Default 0 (and 5 seconds for the `iat` of DPoP proofs).
   */
  clockTolerance?: Duration
  /**
   * Step-up for every route this guards: the token's `auth_time` must be at
   * most this old (`300`, `'10m'`), else 403 `reauthentication_required`
   * with an RFC 9470 challenge carrying `max_age`. A token without
   * `auth_time` is refused too. For some routes only, use
   * `requireRecentAuth()`.
   */
  maxAuthAge?: Duration
  /**
   * Opt-in: read the token from this cookie when the request has no
   * `Authorization` header. Cookies ride along on cross-site requests: pair
   * this with `SameSite=Strict` cookies or a CSRF defence.
   */
  cookie?: string
  /** A revocation feed, or its options (the middleware then starts and owns it). */
  revocations?: RevocationFeed | RevocationFeedOptions
  /**
   * What to do while the feed is stale: `'serve'` (default) keeps checking
   * against the last known list; `'refuse'` answers 503 `unavailable` (whose
   * message says so when the feed refuses the key or token).
   */
  whenStale?: 'serve' | 'refuse'
  /**
   * Claims every token must carry. Default `['exp', 'iat', 'sub', 'jti']`
   * (RFC 9068 §2.2). Issuers whose access tokens lack some (Auth0 and
   * Supabase issue no `jti`) can narrow it; `exp` stays required regardless.
   */
  requiredClaims?: string[]
  /** Verified-token cache: `true` (1000 tokens, the default), a size, or `false`. */
  cache?: boolean | number
  /**
   * The clock, in epoch ms; for tests. Default `Date.now`. `maxAuthAge`,
   * `requireRecentAuth()` and DPoP proofs read it too.
   */
  now?: () => number
}

/**
 * Options of `authenticate()`, the same for Express, Fastify and Hono: the
 * base options and exactly one key source, `jwksUrl` (the server's JWKS, e.g.
 * `https://auth.example.com/.well-known/jwks.json`) or `keys` (local keys,
 * e.g. the shared HS256 secret).
 */
export type AuthenticateOptions = AuthenticateBaseOptions &
  ({ jwksUrl: string; keys?: undefined } | { keys: Key | KeySet; jwksUrl?: undefined })

/** What a request that passed `authenticate()` carries. */
export interface AuthInfo {
  /** The access token as received. */
  readonly token: string
  /** The verified claims (frozen). */
  readonly claims: Readonly<AccessTokenClaims>
  /** `sub`. */
  readonly userId: string
  /** `sid`, the session; undefined when the token has none. */
  readonly sessionId: string | undefined
  /** `roles`, or empty. */
  readonly roles: readonly string[]
  /** `scope` split on spaces, or empty. */
  readonly scopes: readonly string[]
  /**
   * `cnf.jkt` (RFC 9449 §6.1): the thumbprint of the key the token is bound
   * to, whose DPoP proof this request carried; undefined for a bearer token.
   */
  readonly jkt: string | undefined
}

export type { AuthErrorCode } from './error-codes.ts'

/** The options of `createAuthenticator()` over a verifier of your own instead of a key source. */
export interface VerifierAuthenticateOptions extends DpopAuthenticateOptions {
  /**
   * Verifies one token, throwing (or rejecting with) a `JwtError` when it
   * fails: e.g. a `createVerifier()` over keys that rotate, bound to the
   * issuer, audience and `typ` it expects.
   */
  verify: (token: string) => VerifiedJwt | Promise<VerifiedJwt>
  /** As in {@link AuthenticateBaseOptions.cookie}. */
  cookie?: string
  /** The clock of DPoP proofs, in epoch ms. Default `Date.now`. */
  now?: () => number
}

/**
 * A request as {@link Authenticator.check} reads it for DPoP, shaped like
 * Node's `IncomingMessage` (which can be passed as it is): `url` is the
 * request target as received (`/orders?page=2`) or an absolute URL.
 */
export interface HttpRequestLike {
  readonly method?: string
  readonly url?: string
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>
  readonly socket?: { readonly encrypted?: boolean }
}

/**
 * How an adapter reads what DPoP needs from its framework's request. Called
 * only for requests that use the DPoP scheme: the Bearer path reads nothing.
 */
export interface RequestReader<R> {
  /** The method as received (`'GET'`). */
  method(request: R): string
  /** The request target: path and query as received (`/api/orders?page=2`). */
  target(request: R): string
  /**
   * The scheme and host the framework believes the request was sent to
   * (`https://api.example.com`): the default public origin for `htu`.
   */
  origin(request: R): string | undefined
  /** A header by lower-case name; an array when the framework keeps repeats apart. */
  header(request: R, name: string): string | readonly string[] | undefined
}

/** A token sent as `Authorization: DPoP <token>`, with what its proof is checked against. */
export interface DpopPresentation {
  /** The `DPoP` header's value (an array if the request repeated it). */
  readonly proof: string | readonly string[] | undefined
  /** The request method (`'GET'`). */
  readonly method: string
  /** The request's public absolute URL (`https://api.example.com/orders?page=2`). */
  readonly url: string
}

/**
 * A refusal, ready to send: status, headers and the `{"error":{code,message}}`
 * body. The status, and for a 401 the `WWW-Authenticate` challenge, come from
 * the code's entry in `authErrorCodes`.
 *
 * @example
 * const failure = new AuthFailure('token_expired', 'the access token has expired')
 * failure.status // 401
 * failure.headers['www-authenticate'] // 'Bearer error="invalid_token", error_description="the access token has expired"'
 */
export class AuthFailure {
  readonly status: (typeof authErrorCodes)[AuthErrorCode]['status']
  readonly code: AuthErrorCode
  /** Public: never holds the token or a key. */
  readonly message: string
  readonly headers: Readonly<Record<string, string>>
  /** The JSON body, serialized once. */
  readonly body: string
  /** The `JwtError` behind it, if any: for a log line, never for the client. */
  readonly cause: JwtError | undefined

  constructor(
    code: AuthErrorCode,
    message: string,
    options: { headers?: Record<string, string>; cause?: JwtError } = {},
  ) {
    const { status, challenge } = authErrorCodes[code] as {
      status: AuthFailure['status']
      challenge?: Challenge
    }
    this.status = status
    this.code = code
    this.message = message
    this.headers = Object.freeze({
      ...(challenge === undefined ? {} : { 'www-authenticate': challengeOf(challenge, message) }),
      ...options.headers,
      'content-type': 'application/json; charset=utf-8',
    })
    this.body = JSON.stringify({ error: { code, message } })
    this.cause = options.cause
    Object.freeze(this)
  }
}

/** The core of `authenticate()`: one verifier, bound at creation. */
export interface Authenticator<R = HttpRequestLike> {
  /**
   * Checks a request from its `Authorization` and `Cookie` headers. Returns
   * at once when it can (local keys, cached tokens), a promise otherwise.
   * Errors that are not token failures (bugs, a failing replay cache) throw
   * or reject. `request` is read only for `Authorization: DPoP` (its `DPoP`
   * header, method and URL); without it such a request is refused.
   */
  check(
    authorization: string | undefined,
    cookieHeader: string | undefined,
    request?: R,
  ): AuthInfo | AuthFailure | Promise<AuthInfo | AuthFailure>
  /**
   * The same check for a token already taken from the request: a bearer
   * token (by {@link extractBearerToken}, say), or, with `dpop`, one sent as
   * `Authorization: DPoP <token>` with its proof.
   */
  checkToken(
    token: string,
    dpop?: DpopPresentation,
  ): AuthInfo | AuthFailure | Promise<AuthInfo | AuthFailure>
  /** The revocation feed in use, if any. */
  readonly revocations: RevocationFeed | undefined
  /** Closes the revocation feed when `authenticate()` created it from options. */
  close(): Promise<void>
}

const DPOP_OPTIONS = [
  'dpop',
  'dpopAlgorithms',
  'dpopMaxAge',
  'dpopReplayCache',
  'dpopNonce',
  'publicUrl',
  'forwardedHeader',
] as const

const KNOWN_OPTIONS = new Set<string>([
  ...DPOP_OPTIONS,
  'issuer',
  'audience',
  'jwksUrl',
  'keys',
  'algorithms',
  'typ',
  'clockTolerance',
  'maxAuthAge',
  'cookie',
  'revocations',
  'whenStale',
  'cache',
  'requiredClaims',
  'now',
])

/** RFC 6265 §4.1.1 cookie-name (an RFC 7230 token). */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/
/**
 * An RFC 8176 method as a guard takes it (`mfa`, `hwk`): printable ASCII
 * without space, quote or backslash, as it is echoed in a challenge.
 */
const AUTH_METHOD = SCOPE_TOKEN
/** Retry-After when no JWKS key is cached: the key set tries again after its 30 s cooldown. */
const JWKS_RETRY_AFTER = '30'
/** Retry-After while the revocation feed is stale: it reconnects within seconds. */
const STALE_RETRY_AFTER = '5'
/** Retry-After while the feed refuses the credentials: it retries every maxDelay (30 s). */
const REFUSED_RETRY_AFTER = '30'

/**
 * An RFC 6750 §3 attribute value: error_description and scope may hold only
 * %x20-21 / %x23-5B / %x5D-7E, so quotes, backslashes and anything else are
 * replaced rather than escaped.
 */
export function challengeValue(text: string): string {
  return text.replace(/"/g, "'").replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, ' ')
}

type Challenge = NonNullable<ErrorCodeInfo['challenge']>

/**
 * The challenge of a 401: RFC 6750 §3.1, a request without credentials gets
 * one with no error; any other gets its error (`invalid_token`, or RFC 9470's
 * `insufficient_user_authentication`) and the message.
 */
function challengeOf(kind: Challenge, message: string): string {
  if (kind === 'bare') return 'Bearer realm="api"'
  // RFC 9449 §7.1: the DPoP errors belong to the DPoP scheme.
  const scheme = kind === 'invalid_dpop_proof' || kind === 'use_dpop_nonce' ? 'DPoP' : 'Bearer'
  return `${scheme} error="${kind}", error_description="${challengeValue(message)}"`
}

const MISSING_TOKEN = new AuthFailure('missing_token', 'an access token is required')
const MALFORMED_HEADER = new AuthFailure(
  'invalid_token',
  'the Authorization header must hold one Bearer token',
)
const EXPIRED = new AuthFailure('token_expired', 'the access token has expired')
const REVOKED = new AuthFailure('token_revoked', 'the access token has been revoked')
const JWKS_DOWN = new AuthFailure('unavailable', 'the token signing keys are unavailable', {
  headers: { 'retry-after': JWKS_RETRY_AFTER },
})
const FEED_STALE = new AuthFailure(
  'unavailable',
  'the revocation list is not up to date; try again shortly',
  { headers: { 'retry-after': STALE_RETRY_AFTER } },
)
/** The feed's key or token is refused: no retry soon will help, so say what is wrong. */
const FEED_REFUSED = new AuthFailure(
  'unavailable',
  'revoked tokens cannot be checked: the revocation feed refuses this service (misconfigured key or token)',
  { headers: { 'retry-after': REFUSED_RETRY_AFTER } },
)

/** A token whose `cnf` names another confirmation method (an mTLS certificate, say) or none. */
const UNCHECKED_CONFIRMATION = new AuthFailure(
  'invalid_token',
  'the access token is bound by a confirmation method ("cnf") this service cannot check',
)
const BOUND_AS_BEARER = new AuthFailure(
  'invalid_token',
  'the access token is bound to a DPoP key: send it as Authorization: DPoP with a proof',
)
const DPOP_ONLY = new AuthFailure(
  'invalid_token',
  'this service accepts DPoP-bound access tokens only (Authorization: DPoP, with a proof)',
)
const NOT_BOUND = new AuthFailure(
  'invalid_token',
  'a token sent as DPoP must be bound to the proof key ("cnf.jkt")',
)
// RFC 9449 §7.1's own example answers a key mismatch with invalid_token.
const KEY_MISMATCH = new AuthFailure(
  'invalid_token',
  'the DPoP proof is signed by another key than the one the token is bound to',
)
const MALFORMED_DPOP_HEADER = new AuthFailure(
  'invalid_token',
  'the Authorization header must hold one DPoP token',
)
const MISSING_PROOF = new AuthFailure('invalid_dpop_proof', 'the request carries no DPoP proof')
const TWO_PROOFS = new AuthFailure(
  'invalid_dpop_proof',
  'the request must carry exactly one DPoP header',
)
const NO_REQUEST = new AuthFailure(
  'invalid_dpop_proof',
  'the DPoP proof cannot be checked: the request was not passed to the authenticator',
)
const NO_PUBLIC_URL = new AuthFailure(
  'invalid_dpop_proof',
  "the DPoP proof cannot be checked: the request's public URL is unknown",
)

/**
 * RFC 9449 §7.1 and §7.2: the challenges of a 401 for the scheme a request
 * used. With Bearer allowed both schemes are offered, the one used first and
 * carrying the error; `DPoP` names the accepted algorithms (`algs`). With
 * `dpop: 'required'` only `DPoP` is. Rewritten failures are kept per
 * original, so the constant ones are rewritten once.
 */
function createChallenges(dpop: DpopSettings): {
  bearer(failure: AuthFailure): AuthFailure
  dpop(failure: AuthFailure): AuthFailure
} {
  const algs = `algs="${dpop.algs}"`
  function rewrite(failure: AuthFailure, scheme: 'Bearer' | 'DPoP'): AuthFailure {
    const kind = (authErrorCodes[failure.code] as ErrorCodeInfo).challenge
    // Step-up answers (RFC 9470) keep their own challenge.
    if (kind === undefined || kind === 'insufficient_user_authentication') return failure
    const error =
      kind === 'bare'
        ? undefined
        : `error="${kind}", error_description="${challengeValue(failure.message)}"`
    const onDpop = scheme === 'DPoP' || dpop.required
    const dpopChallenge = onDpop && error !== undefined ? `DPoP ${error}, ${algs}` : `DPoP ${algs}`
    let header: string
    if (dpop.required) header = dpopChallenge
    else if (scheme === 'DPoP') header = `${dpopChallenge}, Bearer realm="api"`
    else
      header = `${error === undefined ? 'Bearer realm="api"' : `Bearer ${error}`}, ${dpopChallenge}`
    return new AuthFailure(failure.code, failure.message, {
      headers: { ...failure.headers, 'www-authenticate': header },
      ...(failure.cause === undefined ? {} : { cause: failure.cause }),
    })
  }
  function via(scheme: 'Bearer' | 'DPoP'): (failure: AuthFailure) => AuthFailure {
    const rewritten = new WeakMap<AuthFailure, AuthFailure>()
    return (failure) => {
      let answer = rewritten.get(failure)
      if (answer === undefined) {
        answer = rewrite(failure, scheme)
        rewritten.set(failure, answer)
      }
      return answer
    }
  }
  return { bearer: via('Bearer'), dpop: via('DPoP') }
}

/** The answer for a verification error; anything but a JwtError is a bug and is rethrown. */
function failureOf(error: unknown): AuthFailure {
  if (!(error instanceof JwtError)) throw error
  switch (error.code) {
    case 'expired':
      return EXPIRED
    case 'revoked':
      return REVOKED
    case 'jwks_unavailable':
      return JWKS_DOWN
    default:
      // JwtError messages never hold the token or a key (see errors.ts).
      return new AuthFailure('invalid_token', error.message, { cause: error })
  }
}

/**
 * The token of an `Authorization` header (RFC 6750 §2.1), or the refusal:
 * `missing_token` when the request presents no Bearer credentials (no header,
 * an empty one, or another scheme such as `Basic`: RFC 6750 §3.1, "attempted
 * using an unsupported authentication method"), `invalid_token` when it is
 * Bearer but not exactly one token. The token itself is the verifier's to
 * check.
 *
 * @example
 * extractBearerToken('Bearer eyJ…') // 'eyJ…'
 * extractBearerToken('Basic dXNlcjpwYXNz') // an AuthFailure, code 'missing_token'
 */
export function extractBearerToken(authorization: string | undefined): string | AuthFailure {
  if (authorization === undefined || authorization === '') return MISSING_TOKEN
  // RFC 7235 §2.1: the scheme is case-insensitive.
  if (authorization.length < 6 || authorization.slice(0, 6).toLowerCase() !== 'bearer') {
    return MISSING_TOKEN
  }
  if (authorization.length > 6 && authorization.charCodeAt(6) !== 32) return MISSING_TOKEN
  const token = authorization.slice(7).trim()
  // RFC 6750 §2.1: one b64token. Only "one" is checked here (a regex over
  // the whole token would cost more than a cached verification); the
  // verifier's strict parsing refuses every character base64url lacks.
  return token.length > 0 && token.indexOf(' ') === -1 ? token : MALFORMED_HEADER
}

/** The value of cookie `name` in a Cookie header, or undefined. */
function readCookie(header: string, name: string): string | undefined {
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue
    let value = pair.slice(eq + 1).trim()
    // RFC 6265 §4.1.1 allows a DQUOTE-wrapped value.
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
      value = value.slice(1, -1)
    return value === '' ? undefined : value
  }
  return undefined
}

function checkOptionNames(options: object): void {
  for (const name of Object.keys(options)) {
    // A misspelt option (`revocation`, `audiences`) would silently weaken the check.
    if (!KNOWN_OPTIONS.has(name)) throw new TypeError(`unknown authenticate() option "${name}"`)
  }
}

function checkStrings(value: unknown, name: string): void {
  const list = typeof value === 'string' ? [value] : value
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    list.some((item) => typeof item !== 'string' || item === '')
  ) {
    throw new TypeError(`${name} must be a non-empty string or array of strings`)
  }
}

function invalidClaim(message: string): AuthFailure {
  return new AuthFailure('invalid_token', message)
}

/** The clock step-up checks read: the authenticator's `now` (epoch ms) and `clockTolerance` (s). */
interface StepUpClock {
  readonly now: () => number
  readonly tolerance: number
}

const SYSTEM_CLOCK: StepUpClock = Object.freeze({ now: Date.now, tolerance: 0 })

/**
 * Where an AuthInfo keeps the clock of the authenticator that made it, so
 * that `requireRecentAuth()`, created apart from `authenticate()`, measures
 * age on the same clock and with the same tolerance (a test clock included).
 * A symbol: not part of the AuthInfo type, nor of its JSON.
 */
const STEP_UP_CLOCK = Symbol('tessera.stepUpClock')

/** A step-up age (`maxAuthAge`, `requireRecentAuth()`): whole seconds, as RFC 9470's `max_age`. */
function authAgeSeconds(value: unknown, name: string): number {
  const seconds = parseDuration(value as Duration, name)
  if (!Number.isInteger(seconds)) throw new TypeError(`${name} must be a whole number of seconds`)
  return seconds
}

/**
 * The check of an authentication's age: undefined when `auth_time` is at
 * most `maxAge` seconds old (plus the tolerance), else 403
 * `reauthentication_required`, the status and code a Tessera server answers
 * its own sensitive routes with (PRODUCT.md), with the RFC 9470 §3 challenge
 * and its `max_age` so that standard clients know to sign the user in again.
 */
function createAgeCheck(
  maxAge: number,
): (auth: AuthInfo, clock: StepUpClock) => AuthFailure | undefined {
  const refusal = (message: string) =>
    new AuthFailure('reauthentication_required', message, {
      headers: {
        'www-authenticate': `Bearer error="insufficient_user_authentication", error_description="${challengeValue(message)}", max_age="${maxAge}"`,
      },
    })
  const missing = refusal('this needs a recent sign-in and the token does not say when it was')
  const tooOld = refusal(`this needs a sign-in at most ${maxAge} seconds old`)
  return (auth, clock) => {
    const authTime = auth.claims.auth_time
    // A verifier of our own has checked the type; a custom `verify` may not have.
    if (typeof authTime !== 'number') return missing
    // As maxTokenAge in claims.ts: still recent during the second `maxAge` itself.
    return authTime + maxAge + clock.tolerance < Math.floor(clock.now() / 1000) ? tooOld : undefined
  }
}

/** The AuthInfo of a verified token, or a failure when Tessera's own claims are mistyped. */
function authInfoOf(
  token: string,
  payload: JwtPayload,
  clock: StepUpClock,
): AuthInfo | AuthFailure {
  const { sub, sid, roles, scope } = payload
  if (typeof sub !== 'string') return invalidClaim('the token has no "sub"')
  if (sid !== undefined && typeof sid !== 'string') return invalidClaim('"sid" must be a string')
  if (
    roles !== undefined &&
    (!Array.isArray(roles) || roles.some((role) => typeof role !== 'string'))
  ) {
    return invalidClaim('"roles" must be an array of strings')
  }
  if (scope !== undefined && typeof scope !== 'string') {
    return invalidClaim('"scope" must be a string')
  }
  const jkt = confirmedKey(payload.cnf)
  if (jkt === null) return UNCHECKED_CONFIRMATION
  return Object.freeze({
    token,
    claims: payload as AccessTokenClaims,
    userId: sub,
    sessionId: sid,
    roles: (roles as string[] | undefined) ?? [],
    scopes: Object.freeze(scope === undefined ? [] : scope.split(' ').filter((s) => s !== '')),
    jkt,
    [STEP_UP_CLOCK]: clock,
  })
}

/**
 * The DPoP key a token's `cnf` (RFC 7800) binds it to: undefined for an
 * unbound token, null for a confirmation this core cannot check (another
 * method, such as an mTLS certificate's `x5t#S256`, or a malformed one): a
 * sender-constrained token is never taken for a bearer token.
 */
function confirmedKey(cnf: unknown): string | undefined | null {
  if (cnf === undefined) return undefined
  if (cnf === null || typeof cnf !== 'object' || Array.isArray(cnf)) return null
  const jkt = (cnf as { jkt?: unknown }).jkt
  if (typeof jkt !== 'string' || jkt === '') return null
  for (const member in cnf) if (member !== 'jkt') return null
  return jkt
}

/**
 * The framework-neutral core of `authenticate()`: validates the options once
 * (a `TypeError` for any misuse) and binds one verifier, so nothing is
 * re-checked per request. Given `verify` instead of a key source, it checks
 * tokens with that verifier (the Tessera server passes its key ring's), and
 * parses headers and maps failures exactly as the adapters do.
 *
 * @example
 * import { AuthFailure, createAuthenticator } from '@tessera/jwt'
 * const authenticator = createAuthenticator({ issuer, jwksUrl })
 * // `req` is read only for `Authorization: DPoP` (its DPoP header, method and URL).
 * const result = await authenticator.check(req.headers.authorization, req.headers.cookie, req)
 * if (result instanceof AuthFailure) res.writeHead(result.status, result.headers).end(result.body)
 */
export function createAuthenticator<R = HttpRequestLike>(
  options: AuthenticateOptions | VerifierAuthenticateOptions,
  reader?: RequestReader<R>,
): Authenticator<R> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('authenticate() takes an options object')
  }
  // node's tick queue on V8's fast path for every answer (tick-shape.ts).
  keepTickEntryShape()
  const read = (reader ?? NODE_READER) as RequestReader<R>
  if ('verify' in options) return createVerifierAuthenticator(options, read)
  checkOptionNames(options)
  const { issuer, jwksUrl, keys, cookie, revocations, whenStale = 'serve' } = options
  if (typeof issuer !== 'string' || issuer === '') {
    throw new TypeError('issuer must be a non-empty string')
  }
  const audience = options.audience ?? issuer
  checkStrings(audience, 'audience')
  if ((jwksUrl === undefined) === (keys === undefined)) {
    throw new TypeError('pass exactly one of jwksUrl and keys')
  }
  if (keys !== undefined && !(keys instanceof Key || keys instanceof KeySet)) {
    throw new TypeError('keys must be a Key or a KeySet')
  }
  if (jwksUrl !== undefined && typeof jwksUrl !== 'string') {
    throw new TypeError('jwksUrl must be a string')
  }
  if (
    options.algorithms !== undefined &&
    (!Array.isArray(options.algorithms) || !options.algorithms.every(isAlgorithm))
  ) {
    throw new TypeError('algorithms must be an array of supported algorithms')
  }
  const typ = options.typ ?? 'at+jwt'
  if (typ !== false && (typeof typ !== 'string' || typ === '')) {
    throw new TypeError('typ must be a non-empty string, or false to not check it')
  }
  if (
    options.requiredClaims !== undefined &&
    (!Array.isArray(options.requiredClaims) ||
      !options.requiredClaims.every((c) => typeof c === 'string' && c !== ''))
  ) {
    throw new TypeError('requiredClaims must be an array of claim names')
  }
  checkCookieName(cookie)
  if (whenStale !== 'serve' && whenStale !== 'refuse') {
    throw new TypeError("whenStale must be 'serve' or 'refuse'")
  }
  if (whenStale === 'refuse' && revocations === undefined) {
    throw new TypeError("whenStale: 'refuse' needs revocations")
  }
  const { cache } = options
  if (
    cache !== undefined &&
    typeof cache !== 'boolean' &&
    !(Number.isSafeInteger(cache) && cache > 0)
  ) {
    throw new TypeError('cache must be true, false or a positive number of tokens')
  }
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new TypeError('now must be a function')
  }
  const maxAuthAge =
    options.maxAuthAge === undefined ? undefined : authAgeSeconds(options.maxAuthAge, 'maxAuthAge')
  const clock: StepUpClock = Object.freeze({
    now: options.now ?? Date.now,
    tolerance:
      options.clockTolerance === undefined
        ? 0
        : parseDuration(options.clockTolerance, 'clockTolerance'),
  })
  const dpop = compileDpop(
    options,
    clock.now,
    options.clockTolerance === undefined ? undefined : clock.tolerance,
  )

  let feed: RevocationFeed | undefined
  let ownsFeed = false
  if (revocations !== undefined) {
    if (isRevocationFeed(revocations)) feed = revocations
    else if (revocations !== null && typeof revocations === 'object') {
      const feedOptions: RevocationFeedOptions = { ...revocations }
      if (feedOptions.now === undefined && options.now !== undefined) feedOptions.now = options.now
      feed = createRevocationFeed(feedOptions)
      ownsFeed = true
    } else {
      throw new TypeError('revocations must be a RevocationFeed or its options')
    }
  }

  const verifierOptions = {
    issuer,
    audience,
    ...(typ === false ? {} : { typ }),
    ...(options.algorithms === undefined ? {} : { algorithms: options.algorithms }),
    ...(options.clockTolerance === undefined ? {} : { clockTolerance: options.clockTolerance }),
    ...(cache === undefined ? {} : { cache }),
    ...(options.now === undefined ? {} : { clock: options.now }),
    // RFC 9068 §2.2: an access token carries exp, iat, sub and jti; a token that never expires is never accepted.
    requiredClaims: [...new Set(['exp', ...(options.requiredClaims ?? ['iat', 'sub', 'jti'])])],
    ...(feed === undefined ? {} : { isRevoked: feed.isRevoked.bind(feed) }),
  }
  const verify: (token: string) => VerifiedJwt | Promise<VerifiedJwt> =
    keys !== undefined
      ? createVerifier({ ...verifierOptions, key: keys })
      : createVerifier({ ...verifierOptions, key: createRemoteKeySet(jwksUrl as string) })

  if (feed !== undefined) {
    // Starting twice is harmless; forgetting to start would leave the list empty.
    Promise.resolve(feed.start()).catch(() => {})
  }
  return bindAuthenticator(
    verify,
    {
      cookie,
      feed,
      ownsFeed,
      refuseWhenStale: whenStale === 'refuse',
      clock,
      maxAuthAge,
      dpop,
    },
    read,
  )
}

function checkCookieName(cookie: unknown): void {
  if (cookie !== undefined && (typeof cookie !== 'string' || !COOKIE_NAME.test(cookie))) {
    throw new TypeError('cookie must be a cookie name')
  }
}

const VERIFIER_OPTIONS = new Set<string>(['verify', 'cookie', 'now', ...DPOP_OPTIONS])

function createVerifierAuthenticator<R>(
  options: VerifierAuthenticateOptions,
  reader: RequestReader<R>,
): Authenticator<R> {
  for (const name of Object.keys(options)) {
    // Issuer, audience, keys…: the verifier is bound to them already.
    if (!VERIFIER_OPTIONS.has(name)) {
      throw new TypeError(`createAuthenticator({ verify }) takes no option "${name}"`)
    }
  }
  if (typeof options.verify !== 'function') throw new TypeError('verify must be a function')
  checkCookieName(options.cookie)
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw new TypeError('now must be a function')
  }
  return bindAuthenticator(
    options.verify,
    {
      cookie: options.cookie,
      feed: undefined,
      ownsFeed: false,
      refuseWhenStale: false,
      clock: SYSTEM_CLOCK,
      maxAuthAge: undefined,
      dpop: compileDpop(options, options.now ?? Date.now, undefined),
    },
    reader,
  )
}

/** The DPoP options, checked once. */
interface DpopSettings {
  readonly required: boolean
  readonly algorithms: readonly DpopAlgorithm[]
  readonly maxAge: number | undefined
  /** Seconds; undefined for the proof default (5 s). */
  readonly tolerance: number | undefined
  readonly replayCache: DpopReplayCache | undefined
  readonly nonce: (() => string) | undefined
  /** `publicUrl` without its trailing slash. */
  readonly publicBase: string | undefined
  readonly forwarded: 'forwarded' | 'x-forwarded' | undefined
  readonly now: () => number
  /** The `DPoP` challenge's `algs` parameter. */
  readonly algs: string
}

function compileDpop(
  options: DpopAuthenticateOptions & { cookie?: string | undefined },
  now: () => number,
  tolerance: number | undefined,
): DpopSettings {
  const mode = options.dpop ?? 'allowed'
  if (mode !== 'allowed' && mode !== 'required') {
    throw new TypeError("dpop must be 'allowed' or 'required'")
  }
  if (mode === 'required' && options.cookie !== undefined) {
    // A cookie carries a bearer token, which 'required' refuses.
    throw new TypeError("dpop: 'required' refuses bearer tokens: drop cookie")
  }
  const algorithms = options.dpopAlgorithms ?? DPOP_ALGORITHMS
  if (
    !Array.isArray(algorithms) ||
    algorithms.length === 0 ||
    !algorithms.every((alg) => DPOP_ALGORITHMS.includes(alg))
  ) {
    throw new TypeError('dpopAlgorithms must be a non-empty array of DPoP algorithms')
  }
  const replayCache = options.dpopReplayCache
  if (replayCache !== undefined && typeof replayCache?.checkAndAdd !== 'function') {
    throw new TypeError('dpopReplayCache must have a checkAndAdd method')
  }
  if (options.dpopNonce !== undefined && typeof options.dpopNonce !== 'function') {
    throw new TypeError('dpopNonce must be a function returning the current nonce')
  }
  const { publicUrl, forwardedHeader } = options
  if (publicUrl !== undefined && forwardedHeader !== undefined) {
    throw new TypeError('pass at most one of publicUrl and forwardedHeader')
  }
  if (
    forwardedHeader !== undefined &&
    forwardedHeader !== 'forwarded' &&
    forwardedHeader !== 'x-forwarded'
  ) {
    throw new TypeError("forwardedHeader must be 'forwarded' or 'x-forwarded'")
  }
  let publicBase: string | undefined
  if (publicUrl !== undefined) {
    let url: URL | undefined
    try {
      url = typeof publicUrl === 'string' ? new URL(publicUrl) : undefined
    } catch {}
    if (
      url === undefined ||
      (url.protocol !== 'https:' && url.protocol !== 'http:') ||
      url.search !== '' ||
      url.hash !== '' ||
      url.username !== '' ||
      url.password !== ''
    ) {
      throw new TypeError('publicUrl must be an absolute http(s) URL without query or fragment')
    }
    publicBase = url.origin + url.pathname.replace(/\/+$/, '')
  }
  return Object.freeze({
    required: mode === 'required',
    algorithms: Object.freeze([...algorithms]),
    maxAge:
      options.dpopMaxAge === undefined
        ? undefined
        : parseDuration(options.dpopMaxAge, 'dpopMaxAge'),
    tolerance,
    replayCache,
    nonce: options.dpopNonce,
    publicBase,
    forwarded: forwardedHeader,
    now,
    algs: algorithms.join(' '),
  })
}

/** Reads Node's IncomingMessage, and any object shaped like it. */
const NODE_READER: RequestReader<HttpRequestLike> = Object.freeze({
  method: (request: HttpRequestLike) => request.method ?? 'GET',
  target: (request: HttpRequestLike) => request.url ?? '/',
  origin(request: HttpRequestLike): string | undefined {
    const url = request.url
    if (url !== undefined && !url.startsWith('/')) {
      try {
        return new URL(url).origin
      } catch {}
    }
    const host = request.headers.host
    if (typeof host !== 'string' || host === '') return undefined
    return `${request.socket?.encrypted === true ? 'https' : 'http'}://${host}`
  },
  header: (request: HttpRequestLike, name: string) => request.headers[name],
})

/**
 * The request target as a path and query (RFC 9112 §3.2.1 origin-form): an
 * absolute-form target gives its path, anything else nothing, so that no
 * target can extend the public origin it is appended to (`.evil.example`).
 */
function originForm(target: string): string | undefined {
  if (target.startsWith('/')) return target
  try {
    const url = new URL(target)
    return url.pathname + url.search
  } catch {
    return undefined
  }
}

/** The rightmost element of a list header (RFC 9110 §5.3), repeated or comma-joined. */
function lastListElement(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  const joined = typeof value === 'string' ? value : value.join(',')
  const last = joined.slice(joined.lastIndexOf(',') + 1).trim()
  return last === '' ? undefined : last
}

/** RFC 7239 §4: `proto=https;host="api.example.com"` in the element the proxy added. */
function forwardedOrigin(value: string | readonly string[] | undefined): string | undefined {
  const element = lastListElement(value)
  if (element === undefined) return undefined
  let proto: string | undefined
  let host: string | undefined
  for (const pair of element.split(';')) {
    const eq = pair.indexOf('=')
    if (eq === -1) continue
    const name = pair.slice(0, eq).trim().toLowerCase()
    let text = pair.slice(eq + 1).trim()
    if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1)
    if (name === 'proto') proto = text
    else if (name === 'host') host = text
  }
  return originOf(proto, host)
}

const HOST = /^[A-Za-z0-9.\-_~!$&'()*+,;=:[\]%]+$/

function originOf(proto: string | undefined, host: string | undefined): string | undefined {
  if (proto === undefined || host === undefined || !HOST.test(host)) return undefined
  const scheme = proto.toLowerCase()
  return scheme === 'https' || scheme === 'http' ? `${scheme}://${host}` : undefined
}

/** One proof from the `DPoP` header, or why not (RFC 9449 §4.3 check 1). */
function singleProof(value: string | readonly string[] | undefined): string | AuthFailure {
  if (value === undefined) return MISSING_PROOF
  let proof: string
  if (typeof value === 'string') proof = value
  else if (value.length === 1) proof = value[0]!
  else return value.length === 0 ? MISSING_PROOF : TWO_PROOFS
  proof = proof.trim()
  if (proof === '') return MISSING_PROOF
  // A JWT holds no comma: one means the header was sent twice and joined.
  return proof.includes(',') ? TWO_PROOFS : proof
}

/** `DPoP` (RFC 9449 §7.1), case-insensitive as every scheme (RFC 7235 §2.1), alone or before a space. */
function isDpopScheme(authorization: string): boolean {
  return (
    authorization.length >= 4 &&
    (authorization.length === 4 || authorization.charCodeAt(4) === 32) &&
    authorization.slice(0, 4).toLowerCase() === 'dpop'
  )
}

/** The per-request part, over options already checked. */
function bindAuthenticator<R>(
  verify: (token: string) => VerifiedJwt | Promise<VerifiedJwt>,
  settings: {
    cookie: string | undefined
    feed: RevocationFeed | undefined
    ownsFeed: boolean
    refuseWhenStale: boolean
    clock: StepUpClock
    /** Seconds; undefined when every authentication age is fine. */
    maxAuthAge: number | undefined
    dpop: DpopSettings
  },
  reader: RequestReader<R>,
): Authenticator<R> {
  const { cookie, feed, ownsFeed, refuseWhenStale, clock, maxAuthAge, dpop } = settings
  const challenges = createChallenges(dpop)
  const forBearer = challenges.bearer
  const forDpop = challenges.dpop
  let replayCache = dpop.replayCache
  // Cached verifications return the same frozen payload: reuse its AuthInfo too.
  const infos = new WeakMap<JwtPayload, AuthInfo>()
  const infoOf = (token: string, { payload }: VerifiedJwt): AuthInfo | AuthFailure => {
    const known = infos.get(payload)
    if (known !== undefined) return known
    const info = authInfoOf(token, payload, clock)
    if (!(info instanceof AuthFailure) && Object.isFrozen(payload)) infos.set(payload, info)
    return info
  }
  // The age is checked on every request, after the caches: a cached token grows
  // older. Without maxAuthAge the path has no extra call.
  const checkAge = maxAuthAge === undefined ? undefined : createAgeCheck(maxAuthAge)
  const bearerFailureOf = (error: unknown): AuthFailure => forBearer(failureOf(error))
  const dpopFailureOf = (error: unknown): AuthFailure => forDpop(failureOf(error))

  function finishBearer(token: string, verified: VerifiedJwt): AuthInfo | AuthFailure {
    const info = infoOf(token, verified)
    if (info instanceof AuthFailure) return forBearer(info)
    // RFC 9449 §7.2: a token bound to a key is not a bearer token.
    if (info.jkt !== undefined) return forBearer(BOUND_AS_BEARER)
    return checkAge === undefined ? info : (checkAge(info, clock) ?? info)
  }

  /** The stale-feed refusal (503, no challenge), or undefined to go on. */
  function staleFeed(): AuthFailure | undefined {
    if (!refuseWhenStale || !feed!.stale) return undefined
    // `unauthorized` is checked as a boolean: a hand-made RevocationFeed may lack it.
    return feed!.unauthorized === true ? FEED_REFUSED : FEED_STALE
  }

  function checkBearer(token: string): AuthInfo | AuthFailure | Promise<AuthInfo | AuthFailure> {
    if (refuseWhenStale) {
      const stale = staleFeed()
      if (stale !== undefined) return stale
    }
    let result: VerifiedJwt | Promise<VerifiedJwt>
    try {
      result = verify(token)
    } catch (error) {
      return bearerFailureOf(error)
    }
    if (result instanceof Promise) {
      return result.then((verified) => finishBearer(token, verified), bearerFailureOf)
    }
    return finishBearer(token, result)
  }

  /** RFC 9449 §7.1: a token sent with the DPoP scheme, and its proof. */
  function checkPresentation(
    token: string,
    presentation: DpopPresentation,
  ): AuthInfo | AuthFailure | Promise<AuthInfo | AuthFailure> {
    const stale = staleFeed()
    if (stale !== undefined) return stale
    let result: VerifiedJwt | Promise<VerifiedJwt>
    try {
      result = verify(token)
    } catch (error) {
      return dpopFailureOf(error)
    }
    if (result instanceof Promise) {
      return result.then((verified) => proveBinding(token, verified, presentation), dpopFailureOf)
    }
    return proveBinding(token, result, presentation)
  }

  function proveBinding(
    token: string,
    verified: VerifiedJwt,
    presentation: DpopPresentation,
  ): AuthInfo | AuthFailure | Promise<AuthInfo | AuthFailure> {
    const info = infoOf(token, verified)
    if (info instanceof AuthFailure) return forDpop(info)
    if (info.jkt === undefined) return forDpop(NOT_BOUND)
    const proof = singleProof(presentation.proof)
    if (typeof proof !== 'string') return forDpop(proof)
    const nonce = dpop.nonce?.()
    const refusal = (error: unknown): AuthFailure => {
      if (!(error instanceof JwtError)) throw error
      if (error.code === 'use_dpop_nonce') {
        return forDpop(
          new AuthFailure('use_dpop_nonce', error.message, {
            headers: { 'dpop-nonce': nonce! },
            cause: error,
          }),
        )
      }
      // Anything else the engine throws is a refusal of the proof.
      return forDpop(new AuthFailure('invalid_dpop_proof', error.message, { cause: error }))
    }
    replayCache ??= createDpopReplayCache()
    let checked: VerifiedDpopProof | Promise<VerifiedDpopProof>
    try {
      checked = checkDpopProof(proof, {
        method: presentation.method,
        url: presentation.url,
        // §4.3 check 12 (ath): the proof is for this very token.
        accessToken: token,
        ...(nonce === undefined ? {} : { nonce }),
        ...(dpop.maxAge === undefined ? {} : { maxAge: dpop.maxAge }),
        ...(dpop.tolerance === undefined ? {} : { clockTolerance: dpop.tolerance }),
        replayCache,
        algorithms: dpop.algorithms,
        now: dpop.now,
      })
    } catch (error) {
      return refusal(error)
    }
    const bind = (proven: VerifiedDpopProof): AuthInfo | AuthFailure => {
      // §4.3 check 12 (jkt): the proof's key is the one the token is bound to.
      if (proven.jkt !== info.jkt) return forDpop(KEY_MISMATCH)
      return checkAge === undefined ? info : (checkAge(info, clock) ?? info)
    }
    return checked instanceof Promise ? checked.then(bind, refusal) : bind(checked)
  }

  /** The public URL of a request, for `htu`: from the options, never guessed when they say. */
  function publicUrlOf(request: R): string | AuthFailure {
    const target = originForm(reader.target(request))
    if (target === undefined) return NO_PUBLIC_URL
    if (dpop.publicBase !== undefined) return dpop.publicBase + target
    let origin: string | undefined
    if (dpop.forwarded === 'forwarded')
      origin = forwardedOrigin(reader.header(request, 'forwarded'))
    else if (dpop.forwarded === 'x-forwarded') {
      origin = originOf(
        lastListElement(reader.header(request, 'x-forwarded-proto')),
        lastListElement(reader.header(request, 'x-forwarded-host')),
      )
    } else origin = reader.origin(request)
    return origin === undefined ? NO_PUBLIC_URL : origin + target
  }

  function checkDpopRequest(
    authorization: string,
    request: R | undefined,
  ): AuthInfo | AuthFailure | Promise<AuthInfo | AuthFailure> {
    const token = authorization.slice(5).trim()
    if (token === '' || token.indexOf(' ') !== -1) return forDpop(MALFORMED_DPOP_HEADER)
    if (request === undefined) return forDpop(NO_REQUEST)
    const url = publicUrlOf(request)
    if (typeof url !== 'string') return forDpop(url)
    return checkPresentation(token, {
      proof: reader.header(request, 'dpop'),
      method: reader.method(request),
      url,
    })
  }

  return {
    check(authorization, cookieHeader, request) {
      if (authorization !== undefined && authorization !== '') {
        // 'D' or 'd': the only scheme besides Bearer this reads.
        const first = authorization.charCodeAt(0)
        if ((first === 68 || first === 100) && isDpopScheme(authorization)) {
          return checkDpopRequest(authorization, request)
        }
        const token = extractBearerToken(authorization)
        if (typeof token !== 'string') return forBearer(token)
        return dpop.required ? forBearer(DPOP_ONLY) : checkBearer(token)
      }
      if (cookie !== undefined && cookieHeader !== undefined) {
        const token = readCookie(cookieHeader, cookie)
        if (token !== undefined) return checkBearer(token)
      }
      return forBearer(MISSING_TOKEN)
    },
    checkToken(token, presentation) {
      if (presentation !== undefined) {
        if (presentation === null || typeof presentation !== 'object') {
          throw new TypeError('checkToken: dpop must be { proof, method, url }')
        }
        return checkPresentation(token, presentation)
      }
      return dpop.required ? forBearer(DPOP_ONLY) : checkBearer(token)
    },
    revocations: feed,
    async close() {
      if (ownsFeed) await feed!.close()
    },
  }
}

/** A role, scope or step-up guard: undefined to let the request through, or the refusal. */
export type Guard = (auth: AuthInfo | undefined) => AuthFailure | undefined

function guardList(values: string[], name: string, pattern: RegExp): string[] {
  if (values.length === 0) throw new TypeError(`${name}() needs at least one value`)
  for (const value of values) {
    if (typeof value !== 'string' || !pattern.test(value)) {
      throw new TypeError(`${name}(): ${JSON.stringify(value)} is not a valid value`)
    }
  }
  return [...values]
}

function notAuthenticated(name: string): Error {
  // A configuration mistake (the guard runs before authenticate), not a client error.
  return new Error(`${name}() must run after authenticate()`)
}

/**
 * Lets through tokens holding at least one of `roles` (`'any'`,
 * `requireRoles`) or every one of them (`'all'`, `requireAllRoles`);
 * otherwise 403 `forbidden`.
 */
export function createRoleGuard(roles: string[], holding: 'any' | 'all' = 'any'): Guard {
  const name = holding === 'any' ? 'requireRoles' : 'requireAllRoles'
  const wanted = guardList(roles, name, /^\S+$/)
  const refusal = new AuthFailure('forbidden', 'the token lacks a role this needs')
  if (holding === 'all') {
    return (auth) => {
      if (auth === undefined) throw notAuthenticated(name)
      for (const role of wanted) if (!auth.roles.includes(role)) return refusal
      return undefined
    }
  }
  return (auth) => {
    if (auth === undefined) throw notAuthenticated(name)
    for (const role of wanted) if (auth.roles.includes(role)) return undefined
    return refusal
  }
}

/** Lets through tokens holding every one of `scopes`; otherwise 403 `forbidden` (RFC 6750 §3.1 insufficient_scope). */
export function createScopeGuard(scopes: string[]): Guard {
  const wanted = guardList(scopes, 'requireScopes', SCOPE_TOKEN)
  const message = 'the token lacks a scope this needs'
  const refusal = new AuthFailure('forbidden', message, {
    headers: {
      'www-authenticate': `Bearer error="insufficient_scope", error_description="${message}", scope="${wanted.join(' ')}"`,
    },
  })
  return (auth) => {
    if (auth === undefined) throw notAuthenticated('requireScopes')
    for (const scope of wanted) if (!auth.scopes.includes(scope)) return refusal
    return undefined
  }
}

/**
 * Lets through tokens whose `amr` (RFC 8176) holds every one of `methods`
 * (`'all'`, `requireAuthMethods`) or at least one of them (`'any'`,
 * `requireAnyAuthMethod`); otherwise, and for a token without `amr`, 401
 * `mfa_required` with RFC 9470's `error="insufficient_user_authentication"`
 * challenge. No `acr_values` hint: these are methods, not the authentication
 * context classes that parameter names, and Tessera defines none.
 */
export function createAuthMethodGuard(methods: string[], holding: 'all' | 'any' = 'all'): Guard {
  const name = holding === 'all' ? 'requireAuthMethods' : 'requireAnyAuthMethod'
  const wanted = guardList(methods, name, AUTH_METHOD)
  const refusal = new AuthFailure(
    'mfa_required',
    `this needs a sign-in with ${wanted.join(holding === 'all' ? ' and ' : ' or ')}`,
  )
  if (holding === 'any') {
    return (auth) => {
      if (auth === undefined) throw notAuthenticated(name)
      const amr = auth.claims.amr
      if (!Array.isArray(amr)) return refusal
      for (const method of wanted) if (amr.includes(method)) return undefined
      return refusal
    }
  }
  return (auth) => {
    if (auth === undefined) throw notAuthenticated(name)
    const amr = auth.claims.amr
    if (!Array.isArray(amr)) return refusal
    for (const method of wanted) if (!amr.includes(method)) return refusal
    return undefined
  }
}

/**
 * Lets through tokens whose `auth_time` is at most `maxAuthAge` old, on the
 * clock and with the `clockTolerance` of the `authenticate()` that let the
 * request in; otherwise, and for a token without `auth_time`, 403
 * `reauthentication_required` with RFC 9470's challenge and `max_age`.
 */
export function createAuthAgeGuard(maxAuthAge: Duration): Guard {
  const check = createAgeCheck(authAgeSeconds(maxAuthAge, 'requireRecentAuth(): maxAuthAge'))
  return (auth) => {
    if (auth === undefined) throw notAuthenticated('requireRecentAuth')
    const clock = (auth as { [STEP_UP_CLOCK]?: StepUpClock })[STEP_UP_CLOCK]
    return check(auth, clock ?? SYSTEM_CLOCK)
  }
}
