// Where mail goes: an SMTP server (nodemailer over TESSERA_SMTP_URL), or,
// outside production without one, .eml files in <data dir>/mail/ and a log
// line with the subject and the link, so a developer can follow every flow
// with nothing installed.

import { closeSync, constants, fchmodSync, openSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { SendMailOptions, Transporter } from 'nodemailer'
import type { Config, Mailbox } from '../config/types.ts'
import { makePrivateDir, PRIVATE_FILE_MODE } from '../runtime/private-files.ts'

/** One rendered message on its way out. */
export interface OutgoingMail {
  /** The outbox id: the Message-ID is `<id@from-domain>`, so a resend is recognisably the same mail. */
  readonly id: string
  readonly template: string
  readonly to: string
  readonly subject: string
  readonly text: string
  readonly html: string
  /** When it was queued (epoch ms): names the development file. */
  readonly createdAt: number
  /**
   * The link and code, for the development file transport's log line only;
   * the SMTP transport never looks at them.
   */
  readonly preview?: { readonly link?: string | undefined; readonly code?: string | undefined }
}

export interface MailTransport {
  readonly kind: 'smtp' | 'files'
  /** Where mail goes, fit for a log line: the SMTP URL with its password masked, or the directory. */
  readonly target: string
  /** Delivers one message; rejects with {@link MailDeliveryError}. */
  send(mail: OutgoingMail): Promise<void>
  /** Closes pooled connections (a no-op otherwise). */
  close(): void
}

/** A failed delivery. `message` is the server's answer or the network error: never a secret, kept for the operator. */
export class MailDeliveryError extends Error {
  /** True when retrying cannot help (the server refused the recipient or the message with a 5xx). */
  readonly permanent: boolean

  constructor(message: string, permanent: boolean, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MailDeliveryError'
    this.permanent = permanent
  }
}

export interface MailTransportLog {
  info(fields: Record<string, unknown>, message: string): void
}

type NodemailerOptions = Parameters<typeof import('nodemailer').createTransport>[0]

/**
 * A nodemailer transport made on the first message: nodemailer (~40 modules,
 * ~15 MiB) is imported only once there is mail to send, not by every start.
 */
function lazyTransporter(options: NodemailerOptions): {
  get(): Promise<Transporter>
  close(): void
} {
  let made: Promise<Transporter> | undefined
  let closed = false
  return {
    get() {
      made ??= import('nodemailer').then(({ default: nodemailer }) => {
        const transporter = nodemailer.createTransport(options)
        // close() came first: nothing is left open.
        if (closed) transporter.close()
        return transporter
      })
      return made
    },
    close() {
      closed = true
      void made?.then((transporter) => transporter.close())
    },
  }
}

/** Connection timeouts, well under the worker's claim lease (outbox-worker.ts). */
const SMTP_TIMEOUTS = { connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 60_000 }

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * The transport the configuration asks for: SMTP when TESSERA_SMTP_URL is
 * set, .eml files in `<data dir>/mail/` outside production, none in
 * production without an SMTP URL (mail stays queued until one is set).
 *
 * @example
 * const transport = createMailTransport(config, log)
 */
export function createMailTransport(
  config: Pick<Config, 'smtpUrl' | 'production' | 'emailFrom' | 'dataDir'>,
  log: MailTransportLog,
): MailTransport | undefined {
  if (config.smtpUrl !== undefined) {
    const url = new URL(config.smtpUrl)
    return createSmtpTransport({
      url: config.smtpUrl,
      from: config.emailFrom,
      // Credentials and links must not cross the network in clear: in
      // production, smtp:// must upgrade with STARTTLS (a local relay
      // excepted); `?requireTLS=false` in the URL overrides it.
      requireTls: config.production && url.protocol === 'smtp:' && !LOOPBACK.has(url.hostname),
    })
  }
  if (config.production) return undefined
  return createFileTransport({ dir: join(config.dataDir, 'mail'), from: config.emailFrom, log })
}

/** The message as nodemailer takes it, the same for both transports. */
function messageOptions(mail: OutgoingMail, from: Readonly<Mailbox>): SendMailOptions {
  const domain = from.address.slice(from.address.lastIndexOf('@') + 1)
  return {
    from: from.name === '' ? from.address : { name: from.name, address: from.address },
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: `<${mail.id}@${domain}>`,
    // RFC 3834 §5: no vacation auto-replies to it.
    headers: { 'Auto-Submitted': 'auto-generated' },
    // Only strings are ever given; never let a value name a file or a URL to fetch.
    disableFileAccess: true,
    disableUrlAccess: true,
  }
}

/** nodemailer's error as a delivery error: one line, short, and whether a retry can help. */
function deliveryError(error: unknown): MailDeliveryError {
  const details = error as { message?: unknown; code?: unknown; responseCode?: unknown }
  const message = String(details.message ?? error)
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 500)
  // A 5xx to the recipient (RCPT TO) or to the message (DATA) will be the same answer next time.
  const permanent =
    typeof details.responseCode === 'number' &&
    details.responseCode >= 500 &&
    details.responseCode < 600 &&
    (details.code === 'EENVELOPE' || details.code === 'EMESSAGE')
  return new MailDeliveryError(message === '' ? 'unknown error' : message, permanent, {
    cause: error,
  })
}

/**
 * nodemailer over an smtp:// or smtps:// URL (TLS as the URL says; query
 * parameters are nodemailer options, e.g. `?pool=true`, `?requireTLS=true`).
 *
 * @example
 * const smtp = createSmtpTransport({ url: 'smtps://user:pass@smtp.example.com', from })
 */
export function createSmtpTransport(options: {
  url: string
  from: Readonly<Mailbox>
  /** Fail unless the server upgrades with STARTTLS (smtp:// only); the URL may still say otherwise. */
  requireTls?: boolean
}): MailTransport {
  const { from } = options
  const url = new URL(options.url)
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new TypeError('the SMTP URL must be smtp:// or smtps://')
  }
  if (url.password !== '') url.password = 'redacted'
  // Settings given here apply where the URL does not set them.
  const transporter = lazyTransporter({
    url: options.url,
    ...SMTP_TIMEOUTS,
    ...(options.requireTls === true ? { requireTLS: true } : {}),
  })
  return {
    kind: 'smtp',
    target: url.href,
    async send(mail) {
      try {
        await (await transporter.get()).sendMail(messageOptions(mail, from))
      } catch (error) {
        throw deliveryError(error)
      }
    },
    close() {
      transporter.close()
    },
  }
}

/**
 * Development delivery: each message as an .eml file (0600, in a 0700
 * directory made on first use) that any mail client opens, and one log
 * line with its subject, link and code.
 *
 * @example
 * const files = createFileTransport({ dir: join(config.dataDir, 'mail'), from, log })
 */
export function createFileTransport(options: {
  dir: string
  from: Readonly<Mailbox>
  log: MailTransportLog
}): MailTransport {
  const { dir, from, log } = options
  // Builds the raw message (headers, both parts) without sending it anywhere.
  const composer = lazyTransporter({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
  })
  return {
    kind: 'files',
    target: dir,
    async send(mail) {
      const file = join(dir, `${fileStamp(mail.createdAt)}-${mail.template}-${mail.id}.eml`)
      try {
        const info = await (await composer.get()).sendMail(messageOptions(mail, from))
        makePrivateDir(dir)
        writePrivateFile(file, info.message as Buffer)
      } catch (error) {
        throw new MailDeliveryError(
          `cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? 'unknown error'}`,
          false,
          { cause: error },
        )
      }
      const { link, code } = mail.preview ?? {}
      const extra = [
        code === undefined ? '' : ` code ${code}`,
        link === undefined ? '' : ` ${link}`,
      ]
      log.info(
        { mailId: mail.id, template: mail.template, file },
        `mail to ${mail.to}: "${mail.subject}"${extra.join('')}`,
      )
    },
    close() {},
  }
}

/** `20260601T120000Z`: file names sort by the time the mail was queued. */
function fileStamp(at: number): string {
  return new Date(at).toISOString().replace(/[-:]|\.\d+/g, '')
}

/** Writes a new file of mode 0600 whatever the umask (runtime/private-files.ts). */
function writePrivateFile(path: string, content: Buffer): void {
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC,
    PRIVATE_FILE_MODE,
  )
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE)
    writeFileSync(fd, content)
  } finally {
    closeSync(fd)
  }
}
