/**
 * An SMTP server in the bench's own process (smtp-server), plain and without
 * a login, that accepts every message and notes when it arrived, by
 * recipient. `tessera serve` sends to it through TESSERA_SMTP_URL as it
 * would to a relay (loopback: no STARTTLS asked for, even in production), and
 * the bench reads the arrival times on the same clock as its requests.
 *
 * smtp-server waits a fixed 100 ms after accepting a connection before it
 * greets (it checks for clients that talk too soon, and no option turns that
 * off), so each message's arrival includes those 100 ms; the time the
 * connection was accepted is kept as well, which they do not touch.
 */

import { once } from 'node:events'
import type { Socket } from 'node:net'
import { SMTPServer } from 'smtp-server'

/** When a message came, on the clock of performance.now(). */
export interface Arrival {
  /** Its DATA had been read in full (before the 250 that ends it). */
  readonly at: number
  /** The TCP connection that carried it was accepted. */
  readonly connectedAt: number
}

export interface SmtpSink {
  /** `smtp://127.0.0.1:<port>` */
  readonly url: string
  /** Messages accepted so far, all recipients together. */
  total(): number
  /** Messages accepted so far for `address` (lower case, as the envelope has it). */
  count(address: string): number
  /**
   * The arrival of the `nth` message (1-based) for `address`, once it is
   * there; rejects after `timeoutMs`.
   */
  waitFor(address: string, nth: number, timeoutMs: number): Promise<Arrival>
  close(): Promise<void>
}

/**
 * Starts the sink on a free port of 127.0.0.1. A message counts as arrived
 * when its DATA has been read in full, before the 250 that ends it.
 *
 * @example
 * const smtp = await startSmtpSink()
 * const before = smtp.count('a@example.com')
 * // ... something mails a@example.com ...
 * const arrivedAt = await smtp.waitFor('a@example.com', before + 1, 10_000)
 */
export async function startSmtpSink(): Promise<SmtpSink> {
  const arrivals = new Map<string, Arrival[]>()
  /** Accept time by the client's port (loopback: one address, a port per connection). */
  const accepted = new Map<number, number>()
  const waiters = new Set<() => void>()
  let total = 0
  const server = new SMTPServer({
    // Plain SMTP on loopback, as a local relay: no TLS, no login.
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    // Not the sink's own DNS: by default it looks the client's address up
    // (dns.reverse, a query to the resolver) before greeting, on every connection.
    disableReverseLookup: true,
    // The bench mails thousands of addresses, one or a few messages each.
    size: 1024 * 1024,
    onData(stream, session, callback) {
      stream.on('data', () => undefined)
      stream.on('end', () => {
        const arrival = {
          at: performance.now(),
          connectedAt: accepted.get(session.remotePort) ?? Number.NaN,
        }
        for (const rcpt of session.envelope.rcptTo) {
          const address = rcpt.address.toLowerCase()
          const list = arrivals.get(address)
          if (list === undefined) arrivals.set(address, [arrival])
          else list.push(arrival)
        }
        total++
        for (const wake of waiters) wake()
        callback()
      })
    },
  })
  server.server.prependListener('connection', (socket: Socket) => {
    const port = socket.remotePort
    if (port === undefined) return
    accepted.set(port, performance.now())
    socket.once('close', () => accepted.delete(port))
  })
  server.listen(0, '127.0.0.1')
  await once(server.server, 'listening')
  const address = server.server.address()
  if (typeof address !== 'object' || address === null) throw new Error('the SMTP sink has no port')

  return {
    url: `smtp://127.0.0.1:${address.port}`,
    total: () => total,
    count: (to) => arrivals.get(to.toLowerCase())?.length ?? 0,
    waitFor(to, nth, timeoutMs) {
      const key = to.toLowerCase()
      const arrived = (): Arrival | undefined => arrivals.get(key)?.[nth - 1]
      const now = arrived()
      if (now !== undefined) return Promise.resolve(now)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no mail #${nth} for ${to} within ${timeoutMs} ms`))
        }, timeoutMs)
        const check = (): void => {
          const at = arrived()
          if (at === undefined) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve(at)
        }
        waiters.add(check)
      })
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
