// A `text/event-stream` parser (WHATWG HTML §9.2.6), for the revocation
// feed client. It takes decoded text and knows nothing of revocations.

/** A line or an event larger than this is a broken (or hostile) server: drop the connection. */
const MAX_EVENT_CHARS = 1024 * 1024

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
 *
 * @example
 * const parser = new EventStreamParser({ onEvent: (event) => console.log(event.type, event.data) })
 * parser.push('event: ready\ndata: {"cursor":0}\n\n') // logs: ready {"cursor":0}
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
