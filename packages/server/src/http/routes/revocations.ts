// GET /auth/revocations: the revocation list as Server-Sent Events (WHATWG
// HTML §9.2), for resource servers that check revocation in memory. The wire
// format is a contract with @tessera/jwt's feed client: each entry is written
// by @tessera/jwt's formatRevocationEvent, which that client's
// parseRevocationEvent reads; docs/http-api.md, "Revocation feed", describes
// the stream byte for byte.

import { createHash, timingSafeEqual } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { decode, formatRevocationEvent } from '@tessera/jwt'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AuthError } from '../../auth/errors.ts'
import type { AccessFlows, AuthService } from '../../auth/types.ts'
import type { StoredRevocation } from '../../storage/ports.ts'
import { readBearerToken } from '../plugins/authentication.ts'
import {
  RevocationsHeaders,
  RevocationsQuery,
  RevocationsResponses,
} from '../schemas/revocations.ts'
import type { RouteDeps, TypedApp } from './deps.ts'

/** Tunables of the feed; the defaults are what docs/http-api.md promises. */
export interface RevocationFeedOptions {
  /** Milliseconds between `: heartbeat` comments (default 15 000). */
  readonly heartbeatMs: number
  /** Open feeds per instance; one more is 503 `unavailable` (default 1000). */
  readonly maxConnections: number
  /** Unsent bytes a slow reader may leave queued before it is dropped (default 1 MiB). */
  readonly maxBufferedBytes: number
}

export const DEFAULT_REVOCATION_FEED_OPTIONS: RevocationFeedOptions = Object.freeze({
  heartbeatMs: 15_000,
  maxConnections: 1000,
  maxBufferedBytes: 1 << 20,
})

/** The roles whose access tokens may read the feed. */
const FEED_ROLES = ['service', 'admin']
export const FEED_KEY_HEADER = 'x-tessera-feed-key'
/** A token without `sid`: a client's own (client_credentials), not a user's. */
function isServiceToken(token: string): boolean {
  try {
    return decode(token).payload['sid'] === undefined
  } catch {
    return false
  }
}

/** Catch-up page size: one store read per this many entries. */
const PAGE = 1000
/** SSE `retry`: how long a client waits before reconnecting (ms). */
const RETRY_MS = 2000
/** Seconds a refused client should wait when every slot is taken. */
const FULL_RETRY_AFTER = 2

const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  // nginx buffers proxied responses by default, which would hold events back.
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

/**
 * The feed-key check, built once. Both sides are hashed first so that
 * timingSafeEqual compares equal lengths and the key's length does not leak
 * through timing either (OWASP: compare secrets in constant time).
 */
function createKeyCheck(key: string | undefined): (presented: string) => boolean {
  if (key === undefined) return () => false
  const expected = sha256(key)
  return (presented) => timingSafeEqual(sha256(presented), expected)
}

/** An open feed, as the shutdown hook and the slot count see it. */
interface OpenFeed {
  /** Ends the stream and lets its connection go (server shutdown). */
  shutdown(): void
}

/**
 * Registers GET /auth/revocations and the preClose hook that ends open
 * feeds, so `app.close()` does not wait on them.
 *
 * @example
 * registerRevocationRoutes(app, routeDeps, { heartbeatMs: 50 })
 */
export function registerRevocationRoutes(
  app: TypedApp,
  deps: RouteDeps<
    Pick<AccessFlows, 'authenticate' | 'revocationsSince' | 'watchRevocations'> &
      Pick<AuthService, 'oauth'>
  >,
  options: Partial<RevocationFeedOptions> = {},
): void {
  const { auth, config } = deps
  const { heartbeatMs, maxConnections, maxBufferedBytes } = {
    ...DEFAULT_REVOCATION_FEED_OPTIONS,
    ...options,
  }
  if (!(heartbeatMs > 0) || !(maxConnections > 0) || !(maxBufferedBytes > 0)) {
    throw new TypeError('revocation feed options must be positive numbers')
  }
  const keyMatches = createKeyCheck(config.revocationFeedKey)
  const feeds = new Set<OpenFeed>()
  let closing = false

  app.addHook('preClose', async () => {
    closing = true
    for (const feed of [...feeds]) feed.shutdown()
  })

  /**
   * The feed key, when its header is present, decides alone; otherwise an
   * access token with a feed role. Runs before the cursor is parsed.
   */
  async function authorizeFeed(request: FastifyRequest): Promise<void> {
    const presented = request.headers[FEED_KEY_HEADER]
    if (presented !== undefined) {
      if (typeof presented !== 'string' || !keyMatches(presented)) {
        throw new AuthError('invalid_token', 'the revocation feed key is invalid')
      }
      return
    }
    const token = readBearerToken(request.headers.authorization)
    if (token === undefined) {
      throw new AuthError('missing_token', 'an access token or the feed key is required')
    }
    // A service's own token (client_credentials, no session) with the
    // scope tessera:revocations: no shared feed key needed.
    if (isServiceToken(token)) {
      await auth.oauth.authenticateFeedService(token)
      return
    }
    const access = auth.authenticate(token)
    if (!FEED_ROLES.some((role) => access.roles.includes(role))) {
      throw new AuthError('forbidden', 'the revocation feed needs the role service or admin')
    }
  }

  app.get(
    '/auth/revocations',
    {
      // A HEAD would open a stream with no body: not offered.
      exposeHeadRoute: false,
      schema: {
        tags: ['auth'],
        summary: 'The revocation list as Server-Sent Events',
        description:
          'For resource servers: an access token with the role `service` or `admin`, or the shared key in `X-Tessera-Feed-Key`. The cursor is `Last-Event-ID`, else `since`.',
        security: [{ bearerAuth: [] }, { feedKey: [] }],
        querystring: RevocationsQuery,
        headers: RevocationsHeaders,
        response: RevocationsResponses,
      },
      onRequest: authorizeFeed,
    },
    async (request, reply) => {
      // The SSE reconnection header wins: it is what the client really holds.
      const cursor = request.headers['last-event-id'] ?? request.query.since ?? 0
      if (closing) throw new AuthError('unavailable', 'the server is shutting down')
      if (feeds.size >= maxConnections) {
        throw new AuthError('unavailable', 'too many revocation feeds are open here', {
          retryAfter: FULL_RETRY_AFTER,
        })
      }
      await streamFeed(request, reply, cursor)
    },
  )

  /**
   * Subscribes first, then reads the catch-up, buffering live entries
   * meanwhile: an entry stored between the read and the subscription would
   * otherwise be lost. The first page is read before the response starts,
   * so a store outage is still an ordinary 503.
   */
  async function streamFeed(request: FastifyRequest, reply: FastifyReply, since: number) {
    const res: ServerResponse = reply.raw
    let streaming = false
    let ended = false
    let heartbeat: NodeJS.Timeout | undefined
    /** Live entries that arrive while the catch-up is sent; null once it is. */
    let pending: StoredRevocation[] | null = []
    let highest = since

    // Ending the response is enough for shutdown: server.close() (Node 19
    // and later) then drops the connection as idle, even one whose reader
    // has stopped reading, so no feed holds app.close() open.
    const feed: OpenFeed = { shutdown: () => end('shutdown') }

    function end(reason: string): void {
      if (ended) return
      ended = true
      unsubscribe()
      clearInterval(heartbeat)
      feeds.delete(feed)
      if (streaming) {
        request.log.debug({ reason, cursor: highest }, 'revocation feed ended')
        if (!res.writableEnded) res.end()
      }
    }

    /** Writes unless the stream has ended; drops a reader that falls too far behind. */
    function write(chunk: string): void {
      if (ended) return
      res.write(chunk)
      if (res.writableLength > maxBufferedBytes) {
        request.log.info({ cursor: highest }, 'revocation feed reader too slow; dropped')
        end('slow reader')
        res.destroy()
      }
    }

    /** One write per batch: a page of the catch-up is one chunk, not a thousand. */
    function send(entries: readonly StoredRevocation[], seen?: Set<number>): void {
      let chunk = ''
      for (const entry of entries) {
        if (seen !== undefined) {
          if (seen.has(entry.id)) continue
          seen.add(entry.id)
        }
        if (entry.id > highest) highest = entry.id
        chunk += formatRevocationEvent(entry)
      }
      if (chunk !== '') write(chunk)
    }

    const unsubscribe = auth.watchRevocations((entries) => {
      if (pending === null) send(entries)
      else for (const entry of entries) pending.push(entry)
    })
    feeds.add(feed)
    // A client that leaves at any point (even before the first byte) frees its slot.
    res.once('close', () => end('client closed'))

    let page: StoredRevocation[]
    try {
      page = await auth.revocationsSince(since, PAGE)
    } catch (error) {
      end('store error')
      throw error
    }
    if (ended) {
      // Shut down (or the client left) while the first page was read.
      throw new AuthError('unavailable', 'the server is shutting down')
    }

    // From here on the response is ours (Fastify: reply.hijack for streams it
    // must not finish); the headers set by the hooks go out with it.
    reply.hijack()
    streaming = true
    const headers: Record<string, string | number | readonly string[]> = {}
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) headers[name] = value
    }
    res.writeHead(200, { ...headers, ...STREAM_HEADERS })
    res.write(`retry: ${RETRY_MS}\n\n`)
    heartbeat = setInterval(() => write(': heartbeat\n\n'), heartbeatMs)
    heartbeat.unref()
    request.log.debug({ since }, 'revocation feed opened')

    try {
      // Ids sent during the catch-up, to drop them from the buffered live ones.
      const seen = new Set<number>()
      for (;;) {
        send(page, seen)
        if (page.length < PAGE || ended) break
        // Wait for the client to take a page before reading the next one.
        if (res.writableNeedDrain) await drained(res)
        if (ended) break
        page = await auth.revocationsSince(page[page.length - 1]?.id ?? highest, PAGE)
      }
      const buffered: StoredRevocation[] = pending
      pending = null
      send(buffered, seen)
      write(`event: ready\ndata: ${JSON.stringify({ cursor: highest })}\n\n`)
    } catch (error) {
      // The client reconnects with Last-Event-ID and resumes where this stopped.
      request.log.warn({ err: error }, 'revocation feed catch-up failed')
      end('store error')
    }
  }
}

/** Resolves when `res` drains or closes. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}
