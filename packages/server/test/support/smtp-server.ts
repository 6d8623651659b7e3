// A real SMTP server in process (smtp-server), for the mail tests: every
// message it accepts is parsed with mailparser, as a mail client would read
// it. It can refuse messages (a server having a bad day) or recipients, ask
// for a login, and speak TLS from the start (smtps://, with smtp-server's own
// self-signed certificate). Never a mock transport: nodemailer talks SMTP to it.

import { once } from 'node:events'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer, type SMTPServerOptions } from 'smtp-server'

export interface ReceivedMail {
  /** The envelope: MAIL FROM and RCPT TO. */
  readonly envelope: { from: string; to: string[] }
  /** The raw message, as it arrived. */
  readonly raw: string
  readonly parsed: ParsedMail
}

export interface TestSmtpServer {
  readonly port: number
  /** `smtp://127.0.0.1:<port>` (or smtps://, with credentials when the server asks for them). */
  readonly url: string
  /** Every message accepted so far, in order. */
  readonly received: readonly ReceivedMail[]
  /** Resolves once `count` messages have been accepted; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<readonly ReceivedMail[]>
  /**
   * Answers every message (after DATA) with this SMTP reply until set back to
   * undefined: `{ code: 451, message: 'try later' }`.
   */
  refuseMessages(reply: { code: number; message: string } | undefined): void
  close(): Promise<void>
}

export interface TestSmtpOptions {
  /** TLS from the first byte (smtps://); the URL skips certificate checks (self-signed). */
  secure?: boolean
  /** Require this login; the URL carries it, percent-encoded. */
  auth?: { user: string; pass: string }
  /** Recipients answered 550 at RCPT TO. */
  rejectRecipients?: readonly string[]
}

/**
 * Starts the server on a free port of 127.0.0.1.
 *
 * @example
 * const smtp = await startSmtpServer()
 * const config = testConfig({ TESSERA_SMTP_URL: smtp.url })
 * // …queue and send…
 * const [mail] = await smtp.waitFor(1)
 * mail.parsed.subject
 */
export async function startSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = []
  const waiters = new Set<() => void>()
  let refusal: { code: number; message: string } | undefined
  const serverOptions: SMTPServerOptions = {
    secure: options.secure === true,
    // Plain tests stay plain: nodemailer would upgrade to TLS and refuse the self-signed certificate.
    disabledCommands: options.secure === true ? [] : ['STARTTLS'],
    authOptional: options.auth === undefined,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === options.auth?.user && auth.password === options.auth?.pass) {
        callback(null, { user: auth.username })
      } else {
        callback(Object.assign(new Error('invalid login'), { responseCode: 535 }))
      }
    },
    onRcptTo(address, _session, callback) {
      if (options.rejectRecipients?.includes(address.address)) {
        callback(Object.assign(new Error('no such mailbox'), { responseCode: 550 }))
      } else {
        callback()
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        if (refusal !== undefined) {
          callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }))
          return
        }
        const raw = Buffer.concat(chunks).toString('utf8')
        simpleParser(raw).then(
          (parsed) => {
            const from = session.envelope.mailFrom
            received.push({
              envelope: {
                from: from === false ? '' : from.address,
                to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
              },
              raw,
              parsed,
            })
            for (const wake of waiters) wake()
            callback()
          },
          (error: unknown) => callback(error as Error),
        )
      })
    },
  }
  const server = new SMTPServer(serverOptions)
  // A client that goes away mid-session (an instance killed by a test) is a
  // socket error on the server: normal for a server, and no test's failure.
  server.on('error', () => {})
  server.listen(0, '127.0.0.1')
  await once(server.server, 'listening')
  const address = server.server.address()
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  const credentials =
    options.auth === undefined
      ? ''
      : `${encodeURIComponent(options.auth.user)}:${encodeURIComponent(options.auth.pass)}@`
  const url =
    options.secure === true
      ? `smtps://${credentials}127.0.0.1:${address.port}?tls.rejectUnauthorized=false`
      : `smtp://${credentials}127.0.0.1:${address.port}`

  return {
    port: address.port,
    url,
    received,
    waitFor(count, timeoutMs = 5000) {
      if (received.length >= count) return Promise.resolve(received)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`${received.length} of ${count} messages arrived in ${timeoutMs} ms`))
        }, timeoutMs)
        const check = (): void => {
          if (received.length < count) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve(received)
        }
        waiters.add(check)
      })
    },
    refuseMessages(reply) {
      refusal = reply
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
