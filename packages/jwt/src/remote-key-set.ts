import type { Algorithm } from './algorithms.ts'
import { type Duration, parseDuration } from './duration.ts'
import { JwtError } from './errors.ts'
import { type Jwks, type Key, KeySet } from './keys.ts'
import type { KeyResolver } from './types.ts'

export interface RemoteKeySetOptions {
  /** Longest a fetch may take, body included (`'5s'`, or seconds). Default 5 s. */
  timeout?: Duration
  /** Largest response body read, in bytes; a longer one is cut off unread. Default 512 KiB. */
  maxResponseBytes?: number
  /** How long a fetched set stays fresh when the response has no `Cache-Control: max-age`. Default 10 min. */
  cacheMaxAge?: Duration
  /** Lower clamp on the freshness a response asks for. Default 30 s. */
  minCacheAge?: Duration
  /** Upper clamp on the freshness a response asks for. Default 24 h. */
  maxCacheAge?: Duration
  /**
   * Least time between two fetches the key set starts by itself (refresh of a
   * stale set, unknown `kid`, retry after a failure). Default 30 s.
   */
  cooldown?: Duration
  /** Extra request headers, such as `user-agent`. */
  headers?: Record<string, string>
  /** The clock, in epoch milliseconds; for tests. Default `Date.now`. */
  now?: () => number
  /** The `fetch` to use; for tests or a custom agent. Default the global `fetch`. */
  fetch?: typeof fetch
}

/**
 * A JWKS fetched over HTTP and cached: a {@link KeyResolver} for `verify` and
 * `createVerifier`. See {@link createRemoteKeySet} for its caching contract.
 */
export interface RemoteKeySet extends KeyResolver {
  /** The JWKS URL. */
  readonly url: string
  /** When the cached set was fetched, in epoch ms on the `now` clock; undefined before the first success. */
  readonly fetchedAt: number | undefined
  /**
   * The key for a token header: at once (no promise) when the cached set has
   * it, a promise when a fetch is needed. Errors always come as a rejected
   * promise: `key_not_found`, `alg_not_allowed` or `jwks_unavailable`.
   */
  resolveKey(alg: Algorithm, kid: string | undefined): Key | Promise<Key>
  /** The cached set, or undefined before the first successful fetch. */
  keySet(): KeySet | undefined
  /**
   * Fetches now, ignoring freshness and cooldown (or joins the fetch under
   * way). Rejects with `jwks_unavailable` on failure; the cached set stays.
   */
  reload(): Promise<void>
}

const DEFAULT_TIMEOUT = 5
const DEFAULT_MAX_RESPONSE_BYTES = 512 * 1024
const DEFAULT_CACHE_MAX_AGE = 600
const DEFAULT_MIN_CACHE_AGE = 30
const DEFAULT_MAX_CACHE_AGE = 86_400
const DEFAULT_COOLDOWN = 30

interface Settings {
  readonly url: string
  readonly timeoutMs: number
  readonly maxBytes: number
  readonly defaultAge: number
  readonly minAge: number
  readonly maxAge: number
  readonly cooldownMs: number
  readonly headers: Record<string, string>
  readonly now: () => number
  readonly fetch: typeof fetch
}

interface Fetched {
  readonly set: KeySet
  /** Freshness in seconds from `Cache-Control`, before clamping; undefined without one. */
  readonly lifetime: number | undefined
}

function noop(): void {}

type DurationOption = 'timeout' | 'cacheMaxAge' | 'minCacheAge' | 'maxCacheAge' | 'cooldown'

function durationReader(
  options: RemoteKeySetOptions,
): (name: DurationOption, fallback: number) => number {
  return (name, fallback) => {
    const value = options[name]
    return value === undefined ? fallback : parseDuration(value, `options.${name}`)
  }
}

function compileSettings(url: string | URL, options: RemoteKeySetOptions): Settings {
  if (typeof url !== 'string' && !(url instanceof URL)) {
    throw new TypeError('the JWKS url must be a string or a URL')
  }
  const parsed = new URL(url) // throws TypeError on an invalid URL
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError('the JWKS url must be http: or https:')
  }
  if (parsed.username !== '' || parsed.password !== '') {
    // fetch refuses them anyway; fail at creation, and keep credentials out of URLs.
    throw new TypeError('the JWKS url must not carry credentials; use options.headers')
  }
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object')
  }
  const duration = durationReader(options)
  const timeout = duration('timeout', DEFAULT_TIMEOUT)
  if (timeout <= 0) throw new TypeError('options.timeout must be more than zero')
  const minAge = duration('minCacheAge', DEFAULT_MIN_CACHE_AGE)
  const maxAge = duration('maxCacheAge', DEFAULT_MAX_CACHE_AGE)
  if (minAge > maxAge)
    throw new TypeError('options.minCacheAge must not exceed options.maxCacheAge')
  const defaultAge = duration('cacheMaxAge', DEFAULT_CACHE_MAX_AGE)
  const cooldown = duration('cooldown', DEFAULT_COOLDOWN)
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new TypeError('options.maxResponseBytes must be a positive integer')
  }
  const headers: Record<string, string> = {
    accept: 'application/jwk-set+json, application/json',
  }
  if (options.headers !== undefined) {
    if (options.headers === null || typeof options.headers !== 'object') {
      throw new TypeError('options.headers must be an object of strings')
    }
    for (const [name, value] of Object.entries(options.headers)) {
      if (typeof value !== 'string')
        throw new TypeError('options.headers must be an object of strings')
      headers[name.toLowerCase()] = value
    }
  }
  const now = options.now ?? Date.now
  if (typeof now !== 'function') throw new TypeError('options.now must be a function')
  const fetchImpl = options.fetch ?? globalThis.fetch
  if (typeof fetchImpl !== 'function') throw new TypeError('options.fetch must be a function')
  return {
    url: parsed.href,
    timeoutMs: timeout * 1000,
    maxBytes,
    defaultAge,
    minAge,
    maxAge,
    cooldownMs: cooldown * 1000,
    headers,
    now,
    fetch: fetchImpl,
  }
}

/**
 * Freshness lifetime in seconds from `Cache-Control` (RFC 9111 §4.2.1), less
 * the `Age` a shared cache reports; undefined when the response sets none.
 */
function freshnessOf(headers: Headers): number | undefined {
  const cacheControl = headers.get('cache-control')
  if (cacheControl === null) return undefined
  let maxAge: number | undefined
  for (const directive of cacheControl.split(',')) {
    const [rawName = '', rawValue = ''] = directive.split('=', 2)
    const name = rawName.trim().toLowerCase()
    // no-store / no-cache: as fresh as the lower clamp allows, never less.
    if (name === 'no-store' || name === 'no-cache') return 0
    if (name === 'max-age') {
      const value = rawValue.trim().replace(/^"(.*)"$/, '$1')
      if (/^\d+$/.test(value)) maxAge = Number(value)
    }
  }
  if (maxAge === undefined) return undefined
  const age = headers.get('age')?.trim()
  return age !== undefined && /^\d+$/.test(age) ? Math.max(0, maxAge - Number(age)) : maxAge
}

function unavailable(message: string, cause?: unknown): JwtError {
  // The URL stays out of the message: it may carry an API key in its query.
  return new JwtError('jwks_unavailable', message, cause === undefined ? undefined : { cause })
}

/** What a network error code means, for the few that tell the user what to fix. */
const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused: nothing listens there',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
}

/**
 * Why `fetch` failed, from the `code` of the error or its causes (undici puts
 * the socket's error under `cause`), e.g. `connection refused: nothing listens
 * there (ECONNREFUSED)`. Codes only: their messages name the address, and
 * nothing of the URL goes into ours.
 */
function networkReason(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code)) {
      const known = NETWORK_ERRORS[code]
      if (known !== undefined) return `${known} (${code})`
      if (code.includes('CERT') || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL'))
        return `TLS certificate not accepted (${code})`
      return code
    }
    current = current.cause
  }
  return undefined
}

/** Hints for the statuses a misconfigured JWKS URL gives. */
function statusHint(status: number): string {
  if (status >= 300 && status < 400) return ', a redirect: it is not followed, use the final URL'
  if (status === 401 || status === 403) return ': the JWKS needs credentials (options.headers)'
  if (status === 404) return ' Not Found: check the JWKS URL'
  return ''
}

/** `text/html`: a media type only, so a server cannot put much in our message. */
function mediaType(headers: Headers): string {
  const type = headers.get('content-type')?.split(';')[0]?.trim().toLowerCase() ?? ''
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type) && type.length <= 80
    ? type
    : 'no content-type'
}

/** Reads at most `maxBytes` of the body; stops reading (and aborts) past that. */
async function readBody(response: Response, maxBytes: number, abort: () => void): Promise<string> {
  const declared = response.headers.get('content-length')
  // A compressed body's length says nothing of its decoded size: count the bytes instead.
  if (
    declared !== null &&
    !response.headers.has('content-encoding') &&
    Number(declared) > maxBytes
  ) {
    abort()
    throw unavailable('the JWKS response is larger than maxResponseBytes')
  }
  const body = response.body
  if (body === null) return ''
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > maxBytes) {
      reader.cancel().catch(noop)
      abort()
      throw unavailable('the JWKS response is larger than maxResponseBytes')
    }
    chunks.push(value)
  }
  // fatal: invalid UTF-8 is a broken response, not a JWKS with replacement characters.
  return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks))
}

async function download(
  settings: Settings,
  controller: AbortController,
  signal: AbortSignal,
): Promise<Fetched> {
  const abort = (): void => controller.abort()
  const response = await settings.fetch(settings.url, {
    headers: settings.headers,
    signal,
    // Redirects are refused, not followed: a JWKS that moves must be reconfigured,
    // and following one could downgrade https to http.
    redirect: 'manual',
  })
  if (response.status !== 200) {
    abort()
    throw unavailable(`the JWKS answered HTTP ${response.status}${statusHint(response.status)}`)
  }
  const text = await readBody(response, settings.maxBytes, abort)
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch (error) {
    throw unavailable(`the JWKS response is not JSON (${mediaType(response.headers)})`, error)
  }
  if (
    document === null ||
    typeof document !== 'object' ||
    !Array.isArray((document as { keys?: unknown }).keys)
  ) {
    throw unavailable('the JWKS response has no "keys" array')
  }
  // RFC 7517 §5: keys this library cannot use are skipped, not fatal.
  const set = KeySet.fromJwks(document as Jwks)
  for (const key of set) {
    // A published secret is known to everyone who can read the JWKS: trusting it
    // would let any of them sign tokens (the confusion hono closes on its JWKS path).
    if (key.type === 'secret') set.delete(key.kid)
  }
  return { set, lifetime: freshnessOf(response.headers) }
}

/** One fetch with a hard deadline, even for a `fetch` that ignores its signal. */
function fetchJwks(settings: Settings): Promise<Fetched> {
  const controller = new AbortController()
  const timeout = AbortSignal.timeout(settings.timeoutMs)
  const signal = AbortSignal.any([timeout, controller.signal])
  return new Promise<Fetched>((resolve, reject) => {
    const onTimeout = (): void => {
      controller.abort()
      reject(unavailable(`the JWKS did not answer within ${settings.timeoutMs} ms`, timeout.reason))
    }
    timeout.addEventListener('abort', onTimeout, { once: true })
    download(settings, controller, signal).then(
      (fetched) => {
        timeout.removeEventListener('abort', onTimeout)
        resolve(fetched)
      },
      (error: unknown) => {
        timeout.removeEventListener('abort', onTimeout)
        if (error instanceof JwtError) reject(error)
        else if (timeout.aborted) onTimeout()
        else {
          const reason = networkReason(error)
          const message = 'the JWKS could not be fetched'
          reject(unavailable(reason === undefined ? message : `${message}: ${reason}`, error))
        }
      },
    )
  })
}

class RemoteJwks implements RemoteKeySet {
  readonly #settings: Settings
  #keySet: KeySet | undefined
  #fetchedAt: number | undefined
  /** Epoch ms after which the cached set is stale: refreshed in the background on use. */
  #staleAt = 0
  /** Epoch ms at which the last fetch started, for the cooldown. */
  #lastAttempt = Number.NEGATIVE_INFINITY
  #lastError: JwtError | undefined
  #inflight: Promise<KeySet> | undefined

  constructor(settings: Settings) {
    this.#settings = settings
  }

  get url(): string {
    return this.#settings.url
  }

  get fetchedAt(): number | undefined {
    return this.#fetchedAt
  }

  keySet(): KeySet | undefined {
    return this.#keySet
  }

  reload(): Promise<void> {
    return (this.#inflight ?? this.#fetch(this.#settings.now())).then(noop)
  }

  resolveKey(alg: Algorithm, kid: string | undefined): Key | Promise<Key> {
    const set = this.#keySet
    if (set === undefined) return this.#firstUse(alg, kid)
    const now = this.#settings.now()
    // Stale-while-revalidate: serve the cached set, refresh behind it.
    if (now >= this.#staleAt && this.#inflight === undefined && this.#cooledDown(now)) {
      this.#fetch(now)
    }
    try {
      return set.select(alg, kid)
    } catch (error) {
      return this.#miss(alg, kid, error, now)
    }
  }

  #cooledDown(now: number): boolean {
    // A clock that went backwards must not block fetching until it catches up.
    return now - this.#lastAttempt >= this.#settings.cooldownMs || now < this.#lastAttempt
  }

  /** No set yet: join the fetch under way, or start one (at most once per cooldown after a failure). */
  #firstUse(alg: Algorithm, kid: string | undefined): Promise<Key> {
    let pending = this.#inflight
    if (pending === undefined) {
      const now = this.#settings.now()
      if (this.#lastError !== undefined && !this.#cooledDown(now)) {
        // Without this, every request during an outage would hit the JWKS server.
        // The last failure's message says why (refused, 404, not JSON...).
        const wait = Math.ceil((this.#lastAttempt + this.#settings.cooldownMs - now) / 1000)
        return Promise.reject(
          unavailable(`${this.#lastError.message}; next try in ${wait} s`, this.#lastError),
        )
      }
      pending = this.#fetch(now)
    }
    return pending.then((set) => set.select(alg, kid))
  }

  /** The cached set lacks the key: refetch once, at most once per cooldown (random-kid floods). */
  #miss(alg: Algorithm, kid: string | undefined, error: unknown, now: number): Promise<Key> {
    if (!(error instanceof JwtError) || error.code !== 'key_not_found') return Promise.reject(error)
    let pending = this.#inflight
    if (pending === undefined) {
      if (!this.#cooledDown(now)) return Promise.reject(error)
      pending = this.#fetch(now)
    }
    return pending.then(
      (set) => set.select(alg, kid),
      (cause: unknown) => {
        // The cached set was searched; a failed refresh does not make the key appear.
        throw new JwtError('key_not_found', error.message, { cause })
      },
    )
  }

  #fetch(now: number): Promise<KeySet> {
    this.#lastAttempt = now
    const pending = fetchJwks(this.#settings).then(
      ({ set, lifetime }) => {
        const { defaultAge, minAge, maxAge, now: clock } = this.#settings
        const fetchedAt = clock()
        const seconds = Math.min(Math.max(lifetime ?? defaultAge, minAge), maxAge)
        this.#keySet = set
        this.#fetchedAt = fetchedAt
        this.#staleAt = fetchedAt + seconds * 1000
        this.#lastError = undefined
        this.#inflight = undefined
        return set
      },
      (error: JwtError) => {
        // The last good set stays: a failed refresh never takes keys away.
        this.#lastError = error
        this.#inflight = undefined
        throw error
      },
    )
    this.#inflight = pending
    // A background refresh has no caller to see its failure: not an unhandled rejection.
    pending.catch(noop)
    return pending
  }
}

/**
 * A remote JWKS as a key source for {@link verify} and {@link createVerifier}.
 * Zero dependencies: the global `fetch`, with a timeout and a size limit.
 *
 * - The first use fetches the JWKS; concurrent callers share one fetch.
 * - A key in the cached set is returned at once, without a promise.
 * - The set stays fresh for the response's `Cache-Control: max-age` (less
 *   `Age`), clamped to [`minCacheAge`, `maxCacheAge`] (30 s and 24 h), or
 *   `cacheMaxAge` (10 min) without one. Once stale it is still served while a
 *   refetch runs in the background (stale-while-revalidate).
 * - An unknown `kid` (or no key for the `alg`) refetches, but the key set
 *   starts at most one fetch per `cooldown` (30 s), so tokens with random
 *   `kid`s cannot make it hammer the JWKS server; still unknown → `key_not_found`.
 * - A fetch fails on a timeout (5 s), a body over `maxResponseBytes` (512 KiB,
 *   cut off unread), a status other than 200 (redirects are not followed),
 *   a body that is not JSON with a `keys` array, or a network error. With a
 *   cached set nothing changes: the last good set is never thrown away. Without
 *   one, the callers get `jwks_unavailable`, and the next try waits out the cooldown.
 * - Unsupported keys are skipped (RFC 7517 §5), and so are symmetric (`oct`)
 *   keys: a published secret is no secret.
 * - No timers: freshness is checked on use, so there is nothing to close.
 *
 * Only `http:` and `https:` URLs; bad URLs or options throw a `TypeError` here.
 * Durations are seconds or strings such as `'30s'`, `'10m'`.
 *
 * @example
 * const jwks = createRemoteKeySet('https://auth.example.com/.well-known/jwks.json')
 * const { payload } = await verify(token, jwks, { issuer: 'https://auth.example.com', audience: 'api' })
 *
 * const verifyAccess = createVerifier({ key: jwks, issuer: 'https://auth.example.com', audience: 'api' })
 * const { payload: claims } = await verifyAccess(token)
 */
export function createRemoteKeySet(
  url: string | URL,
  options: RemoteKeySetOptions = {},
): RemoteKeySet {
  return new RemoteJwks(compileSettings(url, options))
}
