// A Server-Sent Events reader for tests of GET /auth/revocations: a real
// socket (inject() waits for a response to end, and a feed never does), the
// text as it arrives, and the events of its complete blocks.

import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'

/** One dispatched Server-Sent Event, as a feed test sees it. */
export interface SseEvent {
  /** The block's own `id:` field (undefined without one). */
  id: string | undefined
  /** `message` when the block has no `event:` field. */
  event: string
  data: string
}

/** An HTTP response read as it arrives: for tests of the revocation feed. */
export interface EventStreamReader {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** Everything received so far, as text. */
  text(): string
  /** The events of the complete blocks received so far (comments and `retry` dispatch nothing). */
  events(): SseEvent[]
  /** Resolves once `predicate(text())` holds; rejects after `timeoutMs` (default 2 s). */
  waitFor(predicate: (text: string) => boolean, timeoutMs?: number): Promise<void>
  /** Settles when the response is over: true when the server ended it, false when it broke off. */
  readonly ended: Promise<boolean>
  /** Stops reading without disconnecting (the server's writes then pile up). */
  pause(): void
  /** Disconnects. */
  close(): void
}

/** Parses complete SSE blocks (WHATWG HTML §9.2.6), LF line ends only. */
export function parseEventStream(text: string): SseEvent[] {
  const complete = text.slice(0, text.lastIndexOf('\n\n') + 2)
  const events: SseEvent[] = []
  for (const block of complete.split('\n\n')) {
    let id: string | undefined
    let event = 'message'
    const data: string[] = []
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon === -1 ? line : line.slice(0, colon)
      let value = colon === -1 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'id') id = value
      else if (field === 'event') event = value
      else if (field === 'data') data.push(value)
    }
    if (data.length > 0) events.push({ id, event, data: data.join('\n') })
  }
  return events
}

/**
 * Opens a GET to `url` and resolves with a reader once the status and
 * headers are in; the body keeps arriving into `text()`.
 *
 * @example
 * const feed = await openEventStream(`${base}/auth/revocations`, { 'x-tessera-feed-key': key })
 * await feed.waitFor((text) => text.includes('event: ready'))
 */
export function openEventStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<EventStreamReader> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { method: 'GET', headers }, (response) => {
      let text = ''
      const waiters = new Set<() => void>()
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        text += chunk
        for (const check of [...waiters]) check()
      })
      const ended = new Promise<boolean>((settle) => {
        response.once('end', () => settle(true))
        response.once('aborted', () => settle(false))
        response.once('error', () => settle(false))
        response.once('close', () => settle(response.complete))
      })
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        text: () => text,
        events: () => parseEventStream(text),
        waitFor(predicate, timeoutMs = 2000) {
          return new Promise<void>((done, fail) => {
            const timer = setTimeout(() => {
              waiters.delete(check)
              fail(new Error(`timed out waiting on the stream; received: ${JSON.stringify(text)}`))
            }, timeoutMs)
            function check(): void {
              if (!predicate(text)) return
              clearTimeout(timer)
              waiters.delete(check)
              done()
            }
            waiters.add(check)
            check()
          })
        },
        ended,
        pause: () => response.pause(),
        close: () => outgoing.destroy(),
      })
    })
    outgoing.on('error', reject)
    outgoing.end()
  })
}
