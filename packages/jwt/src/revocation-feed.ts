import { type Duration, parseDuration } from './duration.ts'

/** The claims a revocation check reads: any verified payload will do. */
export interface RevocableClaims {
  jti?: unknown
  sid?: unknown
  sub?: unknown
  iat?: unknown
}

/** One entry of the feed, as the server sends it in a `revocation` event. */
export type RevocationEntry =
  | { id: number; kind: 'jti' | 'sid'; value: string; expiresAt: number }
  /** Every token of user `value` whose `iat` is before `before` (epoch seconds). */
  | { id: number; kind: 'sub'; value: string; before: number; expiresAt: number }

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
/** A line or an event larger than this is a broken (or hostile) server: drop the connection. */
const MAX_EVENT_CHARS = 1024 * 1024
/** Visible ASCII: what an HTTP header value may carry without surprises. */
const HEADER_VALUE = /^[\x21-\x7e]+$/

/** One dispatched Server-Sent Event. */
export interface ServerSentEvent {
  type: string
  data: string
  /** The last event ID after this event (it persists across events). */
  lastEventId: string
}

export interface EventStreamHandlers {
  onEvent(event: ServerSentEvent): void
  /** A `retry:` field, in milliseconds. */
  onRetry?(ms: number): void
  /** A comment line, such as the `: heartbeat` keep-alive. */
  onComment?(text: string): void
}

/**
 * A `text/event-stream` parser as the WHATWG HTML standard (§9.2.6) defines
 * it: lines end with CRLF, LF or CR, even when a chunk ends between the CR
 * and the LF; a leading BOM is dropped; `data:` lines join with LF; an event
 * dispatches at a blank line; an unfinished event at the end is discarded.
 * Lines and events over 1 MiB throw, so a broken server cannot grow memory.
 */
export class EventStreamParser {
  readonly #handlers: EventStreamHandlers
  #buffer = ''
  #started = false
  /** The previous chunk ended with CR: an LF starting this one belongs to it. */
  #pendingCr = false
  #data = ''
  #type = ''
  #lastEventId = ''

  constructor(handlers: EventStreamHandlers) {
    this.#handlers = handlers
  }

  /** Feeds decoded text. */
  push(chunk: string): void {
    let text = chunk
    if (!this.#started) {
      if (text.length === 0) return
      this.#started = true
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    }
    if (this.#pendingCr && text.length > 0) {
      this.#pendingCr = false
      if (text.charCodeAt(0) === 10) text = text.slice(1)
    }
    const buffer = this.#buffer + text
    let start = 0
    for (;;) {
      let end = start
      while (end < buffer.length) {
        const code = buffer.charCodeAt(end)
        if (code === 10 || code === 13) break
        end++
      }
      if (end === buffer.length) break
      const line = buffer.slice(start, end)
      if (buffer.charCodeAt(end) === 13) {
        if (end + 1 === buffer.length) {
          this.#pendingCr = true
          start = end + 1
        } else {
          start = buffer.charCodeAt(end + 1) === 10 ? end + 2 : end + 1
        }
      } else {
        start = end + 1
      }
      this.#line(line)
    }
    this.#buffer = buffer.slice(start)
    if (this.#buffer.length > MAX_EVENT_CHARS) throw new Error('an event-stream line is too long')
  }

  #line(line: string): void {
    if (line.length === 0) {
      this.#dispatch()
      return
    }
    if (line.charCodeAt(0) === 58 /* : */) {
      this.#handlers.onComment?.(line.slice(1).trimStart())
      return
    }
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.charCodeAt(0) === 32) value = value.slice(1)
    switch (field) {
      case 'event':
        this.#type = value
        break
      case 'data':
        this.#data += `${value}\n`
        if (this.#data.length > MAX_EVENT_CHARS) throw new Error('an event is too large')
        break
      case 'id':
        // The standard ignores ids holding NULL.
        if (!value.includes('\0')) this.#lastEventId = value
        break
      case 'retry':
        if (/^\d+$/.test(value)) this.#handlers.onRetry?.(Number(value))
        break
      default:
      // Unknown fields are ignored, as the standard says.
    }
  }

  #dispatch(): void {
    const data = this.#data
    const type = this.#type
    this.#data = ''
    this.#type = ''
    if (data.length === 0) return
    this.#handlers.onEvent({
      type: type === '' ? 'message' : type,
      data: data.slice(0, -1),
      lastEventId: this.#lastEventId,
    })
  }
}

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

/** The entry in a `revocation` event's data, or undefined when it is not one. */
function parseEntry(data: string): RevocationEntry | undefined {
  let value: unknown
  try {
    value = JSON.parse(data)
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object') return undefined
  const entry = value as Record<string, unknown>
  if (typeof entry.value !== 'string' || entry.value === '' || !isFiniteNumber(entry.expiresAt)) {
    return undefined
  }
  const id = isFiniteNumber(entry.id) ? entry.id : 0
  if (entry.kind === 'jti' || entry.kind === 'sid') {
    return { id, kind: entry.kind, value: entry.value, expiresAt: entry.expiresAt }
  }
  if (entry.kind === 'sub' && isFiniteNumber(entry.before)) {
    const { value: sub, before, expiresAt } = entry
    return { id, kind: 'sub', value: sub, before, expiresAt }
  }
  return undefined
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
  readonly #jtis = new Map<string, number>()
  readonly #sids = new Map<string, number>()
  /** sub → the newest `before` (epoch seconds) and when that entry expires. */
  readonly #subs = new Map<string, { before: number; expiresAt: number }>()
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
    return this.#jtis.size + this.#sids.size + this.#subs.size
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
    // Three Map lookups; the clock is read only on a hit.
    const { jti, sid, sub } = claims
    if (typeof jti === 'string') {
      const expiresAt = this.#jtis.get(jti)
      if (expiresAt !== undefined && expiresAt > this.#settings.now()) return true
    }
    if (typeof sid === 'string') {
      const expiresAt = this.#sids.get(sid)
      if (expiresAt !== undefined && expiresAt > this.#settings.now()) return true
    }
    if (typeof sub === 'string') {
      const entry = this.#subs.get(sub)
      if (entry !== undefined && entry.expiresAt > this.#settings.now()) {
        // Tokens issued in the second of `before` or later survive (a new login right after).
        const { iat } = claims
        if (typeof iat !== 'number' || iat < entry.before) return true
      }
    }
    return false
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

  /** Forgets expired entries, so memory follows the server's list. */
  #prune(): void {
    const now = this.#settings.now()
    for (const map of [this.#jtis, this.#sids]) {
      for (const [value, expiresAt] of map) if (expiresAt <= now) map.delete(value)
    }
    for (const [sub, entry] of this.#subs) if (entry.expiresAt <= now) this.#subs.delete(sub)
  }

  #checkLiveness(): void {
    this.#prune()
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
      const entry = parseEntry(event.data)
      if (entry === undefined) this.#report(feedError('the revocation feed sent a bad entry'))
      else {
        this.#apply(entry)
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

  #apply(entry: RevocationEntry): void {
    if (entry.expiresAt <= this.#settings.now()) return
    if (entry.kind === 'sub') {
      const current = this.#subs.get(entry.value)
      this.#subs.set(entry.value, {
        before: Math.max(entry.before, current?.before ?? 0),
        expiresAt: Math.max(entry.expiresAt, current?.expiresAt ?? 0),
      })
    } else {
      const map = entry.kind === 'jti' ? this.#jtis : this.#sids
      map.set(entry.value, Math.max(entry.expiresAt, map.get(entry.value) ?? 0))
    }
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
