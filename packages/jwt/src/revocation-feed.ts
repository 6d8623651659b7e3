import { type Duration, parseDuration } from './duration.ts'
import { EventStreamParser, type ServerSentEvent } from './event-stream.ts'
import { parseRevocationEvent } from './revocation-event.ts'
import { type RevocableClaims, RevocationSet } from './revocation-set.ts'

export type { RevocableClaims } from './revocation-set.ts'

export interface RevocationFeedOptions {
  /** The feed, e.g. `https://auth.example.com/auth/revocations`. */
  url: string
  /** Shared feed key, sent as `X-Tessera-Feed-Key`. */
  key?: string
  /**
   * A Bearer access token with role `service` or `admin`, or a function that
   * returns one; the function is called for every (re)connection, so it can
   * hand out a fresh token.
   */
  token?: string | (() => string | Promise<string>)
  /**
   * How long without a byte from the feed (events, or the server's heartbeat
   * every 15 s) before the list counts as stale. Default 30 s.
   */
  staleAfter?: Duration
  /**
   * Back-off between reconnections, with jitter. Default 0.5 s to 30 s. After
   * the server refuses the key or token (HTTP 401 or 403) every retry waits
   * `maxDelay`: retrying sooner would not fix a wrong key.
   */
  reconnect?: { minDelay?: Duration; maxDelay?: Duration }
  /**
   * Called with each connection failure or bad event; messages hold no URL,
   * key or token. A refused key or token is reported once (`unauthorized`
   * turns true), not at every retry, until a connection succeeds again.
   */
  onError?: (error: Error) => void
  /** The `fetch` to use; for tests or a custom agent. Default the global `fetch`. */
  fetch?: typeof fetch
  /** The clock, in epoch milliseconds; for tests. Default `Date.now`. */
  now?: () => number
}

/**
 * The server's revocation list, mirrored in memory from its Server-Sent
 * Events feed. See {@link createRevocationFeed}.
 */
export interface RevocationFeed {
  /**
   * Connects (once; later calls return the same promise). Resolves when the
   * first catch-up has arrived (`ready`), or when the feed is closed first.
   * Never rejects: network failures are retried with back-off.
   */
  start(): Promise<void>
  /** True once the first catch-up arrived. */
  readonly ready: boolean
  /**
   * In memory, no I/O: true when an unexpired entry names the token's `jti`,
   * its `sid`, or its `sub` with an `iat` before the entry's `before`.
   */
  isRevoked(claims: RevocableClaims): boolean
  /** True before the first catch-up, and when nothing came from the feed for `staleAfter`. */
  readonly stale: boolean
  /**
   * True while the server refuses the key or token (it answered HTTP 401 or
   * 403): a configuration error, which retrying does not fix. Cleared by the
   * next successful connection.
   */
  readonly unauthorized: boolean
  /** The id of the newest entry applied; sent as `Last-Event-ID` on reconnection. */
  readonly cursor: number
  /** Entries held (expired ones are pruned). */
  readonly size: number
  /** Disconnects and stops every timer; resolves once nothing is left running. */
  close(): Promise<void>
}

const DEFAULT_STALE_AFTER = 30
const DEFAULT_MIN_DELAY = 0.5
const DEFAULT_MAX_DELAY = 30
/** Visible ASCII: what an HTTP header value may carry without surprises. */
const HEADER_VALUE = /^[\x21-\x7e]+$/

/**
 * The delay before reconnection number `attempt` (0 for the first): an
 * exponential back-off from `baseMs`, capped at `maxMs`, with "equal jitter"
 * (between half and all of the step) so that resource servers cut off
 * together do not reconnect together, never below `minMs`.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  minMs: number,
  maxMs: number,
  random: number,
): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30))
  return Math.min(maxMs, Math.max(minMs, Math.round(step * (0.5 + random / 2))))
}

interface Settings {
  readonly url: string
  readonly key: string | undefined
  readonly token: string | (() => string | Promise<string>) | undefined
  readonly staleAfterMs: number
  readonly minDelayMs: number
  readonly maxDelayMs: number
  readonly onError: ((error: Error) => void) | undefined
  readonly fetch: typeof fetch
  readonly now: () => number
}

const KNOWN_OPTIONS = new Set([
  'url',
  'key',
  'token',
  'staleAfter',
  'reconnect',
  'onError',
  'fetch',
  'now',
])

function compileSettings(options: RevocationFeedOptions): Settings {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('revocation feed options must be an object')
  }
  for (const name of Object.keys(options)) {
    // A misspelt option would silently weaken revocation: refuse it.
    if (!KNOWN_OPTIONS.has(name)) throw new TypeError(`unknown revocation feed option "${name}"`)
  }
  if (typeof options.url !== 'string')
    throw new TypeError('the revocation feed url must be a string')
  const url = new URL(options.url) // throws TypeError on an invalid URL
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('the revocation feed url must be http: or https:')
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError('the revocation feed url must not carry credentials; use key or token')
  }
  const { key, token } = options
  if (key !== undefined && (typeof key !== 'string' || !HEADER_VALUE.test(key))) {
    throw new TypeError('the revocation feed key must be a non-empty string of visible ASCII')
  }
  if (
    token !== undefined &&
    typeof token !== 'function' &&
    (typeof token !== 'string' || !HEADER_VALUE.test(token))
  ) {
    throw new TypeError('the revocation feed token must be a token string or a function')
  }
  const staleAfter = parseDuration(options.staleAfter ?? DEFAULT_STALE_AFTER, 'staleAfter')
  if (staleAfter <= 0) throw new TypeError('staleAfter must be more than zero')
  const reconnect = options.reconnect ?? {}
  if (reconnect === null || typeof reconnect !== 'object') {
    throw new TypeError('reconnect must be an object { minDelay, maxDelay }')
  }
  const minDelay = parseDuration(reconnect.minDelay ?? DEFAULT_MIN_DELAY, 'reconnect.minDelay')
  const maxDelay = parseDuration(reconnect.maxDelay ?? DEFAULT_MAX_DELAY, 'reconnect.maxDelay')
  if (minDelay <= 0) throw new TypeError('reconnect.minDelay must be more than zero')
  if (minDelay > maxDelay) throw new TypeError('reconnect.minDelay must not exceed maxDelay')
  const { onError, now = Date.now } = options
  if (onError !== undefined && typeof onError !== 'function') {
    throw new TypeError('onError must be a function')
  }
  if (typeof now !== 'function') throw new TypeError('now must be a function')
  const fetchImpl = options.fetch ?? globalThis.fetch
  if (typeof fetchImpl !== 'function') throw new TypeError('fetch must be a function')
  return {
    url: url.href,
    key,
    token,
    staleAfterMs: staleAfter * 1000,
    minDelayMs: minDelay * 1000,
    maxDelayMs: maxDelay * 1000,
    onError,
    fetch: fetchImpl,
    now,
  }
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

function feedError(message: string, cause?: unknown): Error {
  return new Error(message, cause === undefined ? undefined : { cause })
}

function noop(): void {}

/** What a 401 or 403 from the feed means, for the one report it gets. */
function refusalMessage(status: number, settings: Settings): string {
  const what =
    settings.key !== undefined
      ? "the key (it must be the server's TESSERA_REVOCATION_FEED_KEY)"
      : status === 403
        ? 'the token (it needs the role service or admin)'
        : 'the token (not a valid access token of this server)'
  return `the revocation feed refused ${what}, HTTP ${status}; retrying every ${settings.maxDelayMs / 1000} s`
}

class SseRevocationFeed implements RevocationFeed {
  readonly #settings: Settings
  readonly #revoked: RevocationSet
  #cursor = 0
  #ready = false
  #closed = false
  /** The server refused the credentials at the last attempt. */
  #unauthorized = false
  /** When a byte last came from the feed, on the `now` clock. */
  #lastHeard = Number.NEGATIVE_INFINITY
  /** When the current connection (or attempt) last showed life, for the watchdog. */
  #lastSign = 0
  /** The server's `retry:` hint in ms, the base of the back-off. */
  #retryMs: number | undefined
  #started: Promise<void> | undefined
  #resolveStarted: () => void = noop
  #loop: Promise<void> | undefined
  #connection: AbortController | undefined
  #sleepTimer: NodeJS.Timeout | undefined
  #wake: () => void = noop
  #watchdog: NodeJS.Timeout | undefined

  constructor(settings: Settings) {
    this.#settings = settings
    this.#revoked = new RevocationSet({ now: settings.now })
  }

  get ready(): boolean {
    return this.#ready
  }

  get stale(): boolean {
    return !this.#ready || this.#settings.now() - this.#lastHeard > this.#settings.staleAfterMs
  }

  get unauthorized(): boolean {
    return this.#unauthorized
  }

  get cursor(): number {
    return this.#cursor
  }

  get size(): number {
    return this.#revoked.size
  }

  start(): Promise<void> {
    if (this.#started !== undefined) return this.#started
    this.#started = new Promise<void>((resolve) => {
      this.#resolveStarted = resolve
    })
    if (this.#closed) {
      this.#resolveStarted()
      return this.#started
    }
    const tick = Math.min(5000, Math.max(100, Math.floor(this.#settings.staleAfterMs / 4)))
    // Not unref'd: an open feed is a live subscription (its socket keeps the
    // process alive anyway); close() ends it, timer included.
    this.#watchdog = setInterval(() => this.#checkLiveness(), tick)
    this.#loop = this.#run()
    return this.#started
  }

  isRevoked(claims: RevocableClaims): boolean {
    return this.#revoked.isRevoked(claims)
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#watchdog)
    clearTimeout(this.#sleepTimer)
    this.#wake()
    this.#connection?.abort()
    this.#resolveStarted()
    await this.#loop
  }

  #checkLiveness(): void {
    // Expired entries leave memory, so it follows the server's list.
    this.#revoked.prune()
    // A connection that shows no sign of life (not even the heartbeat) for
    // staleAfter is dead without knowing it (a half-open TCP connection):
    // drop it and reconnect.
    const connection = this.#connection
    if (
      connection !== undefined &&
      this.#settings.now() - this.#lastSign > this.#settings.staleAfterMs
    ) {
      connection.abort(feedError('the revocation feed went silent'))
    }
  }

  #report(error: Error): void {
    try {
      this.#settings.onError?.(error)
    } catch {
      // A throwing error hook must not stop the feed.
    }
  }

  async #run(): Promise<void> {
    let failures = 0
    while (!this.#closed) {
      let reachedReady = false
      const wasUnauthorized = this.#unauthorized
      try {
        reachedReady = await this.#connect()
      } catch (error) {
        if (this.#closed) break
        // A wrong key is said once, not at every retry (it would fill the log).
        if (!(this.#unauthorized && wasUnauthorized)) {
          this.#report(
            error instanceof Error ? error : feedError('the revocation feed failed', error),
          )
        }
      }
      if (this.#closed) break
      failures = reachedReady ? 0 : failures + 1
      const { minDelayMs, maxDelayMs } = this.#settings
      if (this.#unauthorized) {
        // Retrying sooner would not fix a refused key; a fixed server (or a
        // fresh token from the token function) is picked up within maxDelay.
        await this.#sleep(maxDelayMs)
        continue
      }
      const base = Math.min(maxDelayMs, Math.max(minDelayMs, this.#retryMs ?? minDelayMs))
      await this.#sleep(
        backoffDelay(Math.max(0, failures - 1), base, minDelayMs, maxDelayMs, Math.random()),
      )
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve
      this.#sleepTimer = setTimeout(resolve, ms)
    })
  }

  async #headers(): Promise<Record<string, string>> {
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      'cache-control': 'no-cache',
    }
    const { key, token } = this.#settings
    if (key !== undefined) headers['x-tessera-feed-key'] = key
    if (token !== undefined) {
      let value: unknown
      try {
        value = typeof token === 'function' ? await token() : token
      } catch (error) {
        throw feedError('the revocation feed token function failed', error)
      }
      if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
        throw feedError('the revocation feed token function returned no token')
      }
      headers.authorization = `Bearer ${value}`
    }
    // The server sends only entries after this id (the SSE reconnection contract).
    if (this.#cursor > 0) headers['last-event-id'] = String(this.#cursor)
    return headers
  }

  /** One connection, read until it ends; true when it delivered a `ready`. */
  async #connect(): Promise<boolean> {
    const settings = this.#settings
    const controller = new AbortController()
    this.#connection = controller
    this.#lastSign = settings.now()
    let reachedReady = false
    try {
      const headers = await this.#headers()
      if (this.#closed) return false
      let response: Response
      try {
        response = await settings.fetch(settings.url, {
          headers,
          signal: controller.signal,
          // A feed that moves must be reconfigured; following could downgrade to http.
          redirect: 'manual',
        })
      } catch (error) {
        throw feedError('the revocation feed could not be reached', error)
      }
      const type = response.headers.get('content-type') ?? ''
      const { status } = response
      this.#unauthorized = status === 401 || status === 403
      if (status !== 200 || !type.toLowerCase().startsWith('text/event-stream')) {
        response.body?.cancel().catch(noop)
        throw feedError(
          this.#unauthorized
            ? refusalMessage(status, settings)
            : status === 200
              ? 'the revocation feed did not answer with text/event-stream'
              : `the revocation feed answered HTTP ${status}`,
        )
      }
      if (response.body === null) throw feedError('the revocation feed sent no body')
      const parser = new EventStreamParser({
        onEvent: (event) => {
          if (this.#onEvent(event)) reachedReady = true
        },
        onRetry: (ms) => {
          this.#retryMs = ms
        },
      })
      const reader = response.body.getReader()
      const decoder = new TextDecoder()
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          const now = settings.now()
          this.#lastSign = now
          this.#lastHeard = now
          parser.push(decoder.decode(value, { stream: true }))
        }
      } catch (error) {
        reader.cancel().catch(noop)
        if (this.#closed) return reachedReady
        if (controller.signal.aborted && controller.signal.reason instanceof Error) {
          throw controller.signal.reason
        }
        throw feedError('the revocation feed connection broke', error)
      }
      if (!this.#closed) this.#report(feedError('the revocation feed connection ended'))
      return reachedReady
    } finally {
      if (this.#connection === controller) this.#connection = undefined
      controller.abort()
    }
  }

  /** Applies one event; true for `ready`. */
  #onEvent(event: ServerSentEvent): boolean {
    let isReady = false
    if (event.type === 'revocation') {
      const entry = parseRevocationEvent(event.data)
      if (entry === undefined) this.#report(feedError('the revocation feed sent a bad entry'))
      else {
        this.#revoked.add(entry)
        if (entry.id > this.#cursor) this.#cursor = entry.id
      }
    } else if (event.type === 'ready') {
      let cursor: unknown
      try {
        cursor = (JSON.parse(event.data) as { cursor?: unknown } | null)?.cursor
      } catch {
        cursor = undefined
      }
      if (isFiniteNumber(cursor) && cursor > this.#cursor) this.#cursor = cursor
      isReady = true
      if (!this.#ready) {
        this.#ready = true
        this.#resolveStarted()
      }
    }
    // The SSE id is what the server resumes from (Last-Event-ID).
    if (/^\d+$/.test(event.lastEventId)) {
      const id = Number(event.lastEventId)
      if (id > this.#cursor) this.#cursor = id
    }
    return isReady
  }
}

/**
 * Mirrors the Tessera revocation list in memory from `GET /auth/revocations`
 * (Server-Sent Events over the global `fetch`), so a resource server checks
 * revocation with Map lookups and no per-request network call.
 *
 * - `start()` connects: the server replays every unexpired entry, then sends
 *   `ready`; live entries follow as they happen.
 * - A dropped connection is retried forever with exponential back-off and
 *   jitter (`reconnect.minDelay`..`maxDelay`, 0.5 s..30 s, the server's
 *   `retry:` as the base), sending `Last-Event-ID` so only newer entries come.
 * - `stale` turns true when nothing (not even the 15 s heartbeat) came for
 *   `staleAfter` (30 s); a silent connection is dropped and replaced then.
 * - Entries leave memory when they expire; lines and events over 1 MiB drop
 *   the connection, so a broken server cannot grow memory.
 * - Authenticate with `key` (`X-Tessera-Feed-Key`) or `token` (Bearer). A
 *   refused one (HTTP 401 or 403) sets `unauthorized`, is reported to
 *   `onError` once, and is retried every `maxDelay` only.
 *
 * Bad options throw a `TypeError` here.
 *
 * @example
 * const revocations = createRevocationFeed({
 *   url: 'https://auth.example.com/auth/revocations',
 *   key: process.env.TESSERA_FEED_KEY,
 * })
 * await revocations.start()
 * const verifyAccess = createVerifier({ key: jwks, issuer, isRevoked: (c) => revocations.isRevoked(c) })
 */
export function createRevocationFeed(options: RevocationFeedOptions): RevocationFeed {
  return new SseRevocationFeed(compileSettings(options))
}

/** True for a {@link RevocationFeed} (as opposed to its options). */
export function isRevocationFeed(value: unknown): value is RevocationFeed {
  return (
    value instanceof SseRevocationFeed ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as RevocationFeed).isRevoked === 'function' &&
      typeof (value as RevocationFeed).start === 'function')
  )
}
