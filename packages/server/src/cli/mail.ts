// `tessera mail list`: the outbox as an operator needs it (who, which
// template, where it stands, why it failed), newest first. Never the data:
// it holds links and codes, and stays sealed.

import type { Command } from 'commander'
import type { OutboxMessage } from '../storage/ports.ts'
import { withTessera } from './context.ts'
import type { CliIo } from './io.ts'
import { CliError, printJson, printLine } from './output.ts'

const STATUSES: readonly OutboxMessage['status'][] = ['pending', 'sending', 'sent', 'dead']

/** A message as the command shows it: no sealed data. */
export interface MailView {
  id: string
  to: string
  template: string
  userId: string | null
  status: OutboxMessage['status']
  attempts: number
  createdAt: string
  /** When it is (re)tried: pending or sending only. */
  nextAttemptAt: string | null
  sentAt: string | null
  lastError: string | null
}

const iso = (at: number): string => new Date(at).toISOString()

export function mailView(message: OutboxMessage): MailView {
  const waiting = message.status === 'pending' || message.status === 'sending'
  return {
    id: message.id,
    to: message.to,
    template: message.template,
    userId: message.userId,
    status: message.status,
    attempts: message.attempts,
    createdAt: iso(message.createdAt),
    nextAttemptAt: waiting ? iso(message.nextAttemptAt) : null,
    sentAt: message.sentAt === null ? null : iso(message.sentAt),
    lastError: message.lastError,
  }
}

/** One line per message, and the last error under it when there is one. */
export function formatMailList(views: readonly MailView[]): string[] {
  const lines: string[] = []
  const width = (pick: (view: MailView) => string): number =>
    Math.max(0, ...views.map((view) => pick(view).length))
  const templateWidth = width((view) => view.template)
  const toWidth = width((view) => view.to)
  for (const view of views) {
    const when =
      view.status === 'sent'
        ? `sent ${view.sentAt}`
        : view.nextAttemptAt === null
          ? ''
          : `next attempt ${view.nextAttemptAt}`
    lines.push(
      [
        view.createdAt,
        view.status.padEnd(7),
        `${view.attempts} ${view.attempts === 1 ? 'attempt ' : 'attempts'}`,
        view.template.padEnd(templateWidth),
        view.to.padEnd(toWidth),
        view.id,
        when,
      ]
        .join('  ')
        .trimEnd(),
    )
    if (view.lastError !== null) lines.push(`    last error: ${view.lastError}`)
  }
  return lines
}

export function register(program: Command, io: CliIo): void {
  const mail = program
    .command('mail')
    .description('the mail outbox: what was sent, what waits, what failed')
  mail
    .command('list')
    .description('list queued, sent and dead mail, newest first (never its links or codes)')
    .option('--status <status>', `only this status: ${STATUSES.join(', ')}`)
    .option('--limit <n>', 'how many (the newest first)', '50')
    .option('--json', 'print JSON')
    .action(async (options: { status?: string; limit: string; json?: boolean }) => {
      const limit = Number(options.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        throw new CliError('--limit is 1..10000')
      }
      const status = STATUSES.find((s) => s === options.status)
      if (options.status !== undefined && status === undefined) {
        throw new CliError(`--status is one of ${STATUSES.join(', ')}`)
      }
      await withTessera(io, async (tessera) => {
        const messages = await tessera.store.outbox.listMessages({
          limit,
          ...(status === undefined ? {} : { status }),
        })
        const views = messages.map(mailView)
        if (options.json === true) {
          printJson(io, views)
          return
        }
        if (views.length === 0) {
          printLine(io, status === undefined ? 'no mail' : `no ${status} mail`)
          return
        }
        for (const line of formatMailList(views)) printLine(io, line)
        if (views.length === limit) {
          io.stderr.write(`the newest ${limit} shown; raise --limit to see more\n`)
        }
      })
    })
}
