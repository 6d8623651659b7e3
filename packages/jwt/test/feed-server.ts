// A tiny stand-in for Tessera's GET /auth/revocations, in the wire format the
// server speaks: `retry:`, the catch-up as `revocation` events after the
// client's Last-Event-ID, `ready` with the cursor, then live entries.
// Listens on 127.0.0.1:0; every stream and socket is closed by close().

import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { RevocationEntry } from '../src/revocation-event.ts'

/** An entry without its id (the server numbers them). */
export type NewEntry =
  | { kind: 'jti' | 'sid'; value: string; expiresAt: number }
  | { kind: 'sub'; value: string; before: number; expiresAt: number }

export interface FeedServerOptions {
  /** Feed key the server insists on (`X-Tessera-Feed-Key` or Bearer); none by default. */
  key?: string
  /** The `retry:` hint in ms. Default 2000. */
  retry?: number
  /** Line ending: LF (default) or CRLF. */
  eol?: '\n' | '\r\n'
}

export interface FeedServer {
  /** The feed URL, http://127.0.0.1:port/auth/revocations. */
  readonly url: string
  /** The feed key the server insists on now (`options.key` at first); settable. */
  key: string | undefined
  /** The headers of every request, in order. */
  readonly requests: IncomingHttpHeaders[]
  /** When each request arrived (performance.now()). */
  readonly arrivals: number[]
  /** Streams open right now. */
  readonly openStreams: number
  /**
   * 'ok' streams; 'refuse' answers 503; 'hold' accepts and sends nothing;
   * 'no-ready' streams the catch-up but never says ready.
   */
  mode: 'ok' | 'refuse' | 'hold' | 'no-ready'
  /** Stores entries and sends them to every open stream. */
  add(...entries: NewEntry[]): RevocationEntry[]
  /** Writes raw text to every open stream (for bad events, comments). */
  write(text: string): void
  /** Cuts every open stream (the server stays up). */
  dropAll(): void
  /** Resolves once `count` requests have arrived in total. */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>
  /** Resolves once no stream is open. */
  waitForNoStreams(timeoutMs?: number): Promise<void>
  /** Stops listening and closes every socket: the server is down. */
  close(): Promise<void>
}

function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const poll = (): void => {
      if (check()) resolve()
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`))
      else setTimeout(poll, 5)
    }
    poll()
  })
}

export async function startFeedServer(options: FeedServerOptions = {}): Promise<FeedServer> {
  const eol = options.eol ?? '\n'
  const retry = options.retry ?? 2000
  const entries: RevocationEntry[] = []
  const streams = new Set<ServerResponse>()
  const sockets = new Set<Socket>()
  const requests: IncomingHttpHeaders[] = []
  const arrivals: number[] = []
  let mode: FeedServer['mode'] = 'ok'
  let key = options.key

  const lines = (...parts: string[]): string => parts.map((p) => p + eol).join('') + eol
  const eventOf = (entry: RevocationEntry): string =>
    lines(`id: ${entry.id}`, 'event: revocation', `data: ${JSON.stringify(entry)}`)

  const server = createServer((req, res) => {
    requests.push(req.headers)
    arrivals.push(performance.now())
    if (key !== undefined) {
      const given =
        req.headers['x-tessera-feed-key'] ??
        req.headers.authorization?.replace(/^Bearer /, '') ??
        ''
      if (given !== key) {
        res.writeHead(401, { 'content-type': 'application/json' })
        res.end('{"error":{"code":"missing_token","message":"no"}}')
        return
      }
    }
    if (mode === 'refuse') {
      res.writeHead(503, { 'content-type': 'application/json' })
      res.end('{"error":{"code":"unavailable","message":"down"}}')
      return
    }
    streams.add(res)
    res.on('close', () => streams.delete(res))
    if (mode === 'hold') return
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    const since = Number(req.headers['last-event-id'] ?? 0)
    let text = `retry: ${retry}${eol}${eol}`
    for (const entry of entries) if (entry.id > since) text += eventOf(entry)
    if (mode !== 'no-ready') {
      text += lines('event: ready', `data: ${JSON.stringify({ cursor: entries.at(-1)?.id ?? 0 })}`)
    }
    res.write(text)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}/auth/revocations`,
    get key() {
      return key
    },
    set key(value) {
      key = value
    },
    requests,
    arrivals,
    get openStreams() {
      return streams.size
    },
    get mode() {
      return mode
    },
    set mode(value) {
      mode = value
    },
    add(...added) {
      const stored: RevocationEntry[] = []
      for (const entry of added) {
        // Ids increase one at a time, as the store numbers them.
        const numbered = { ...entry, id: (entries.at(-1)?.id ?? 0) + 1 } as RevocationEntry
        entries.push(numbered)
        stored.push(numbered)
      }
      for (const res of streams) if (res.headersSent) res.write(stored.map(eventOf).join(''))
      return stored
    },
    write(text) {
      for (const res of streams) if (res.headersSent) res.write(text)
    },
    dropAll() {
      for (const res of streams) res.destroy()
    },
    waitForRequests(count, timeoutMs = 5000) {
      return waitFor(() => requests.length >= count, timeoutMs, `${count} feed requests`)
    },
    waitForNoStreams(timeoutMs = 5000) {
      return waitFor(() => streams.size === 0, timeoutMs, 'no open feed stream')
    },
    async close() {
      server.close()
      for (const socket of sockets) socket.destroy()
      if (server.listening) await once(server, 'close')
    },
  }
}
