// The outbox worker: claims due messages (a lease, so with several instances
// each message goes to one of them, and a crashed instance's messages come
// back when the lease runs out), renders and sends them, and marks each sent,
// or failed with exponential back-off, or dead after the last attempt.
// The data of a message (links, codes) is opened only to render it: it is
// never logged, and neither is the rendered mail.

import type { OutboxMessage, OutboxStore } from '../storage/ports.ts'
import type { RenderMail } from './render.ts'
import { MailDeliveryError, type MailTransport } from './transport.ts'

/** The counters the worker increments (`tessera_<name>_total` in /metrics). */
export type MailCounter = 'mail_sent' | 'mail_failed' | 'mail_dead'

export interface OutboxWorkerLog {
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  error(fields: Record<string, unknown>, message: string): void
}

export interface OutboxWorkerOptions {
  outbox: OutboxStore
  transport: MailTransport
  render: RenderMail
  /** Opens a message's sealed data (messages.ts openMailData with the master key's sealer). */
  openData: (message: OutboxMessage) => Readonly<Record<string, unknown>>
  /** Epoch ms. */
  now: () => number
  log: OutboxWorkerLog
  metrics?: { inc(name: MailCounter): void }
  /** Attempts before a message is dead (TESSERA_EMAIL_MAX_ATTEMPTS). */
  maxAttempts: number
  /** Milliseconds between passes once started (retries, and mail queued by other processes). */
  intervalMs: number
  /** Back-off: the first retry waits `baseMs`, each next one twice as long, at most `maxMs`. Default 30 s and 1 h. */
  retry?: { baseMs: number; maxMs: number }
  /**
   * How long a claimed message stays this worker's: longer than any send
   * can take (transport.ts timeouts), or another instance would send it
   * too. Default 5 minutes.
   */
  leaseMs?: number
  /** Messages claimed, and sent in parallel, at a time. Default 10. */
  batchSize?: number
}

/** What one pass did. */
export interface OutboxPassResult {
  sent: number
  /** Failed attempts, the last attempts of dead messages included. */
  failed: number
  dead: number
}

export interface OutboxWorker {
  /** Runs a pass now, then one every `intervalMs` (the timer does not keep the process alive). */
  start(): void
  /** Stops the timer and waits for the pass in progress; later kicks do nothing. */
  stop(): Promise<void>
  /**
   * Sends every due message (batch after batch) and resolves with what it
   * did. Passes never overlap: called during one, it runs once more after it.
   */
  runOnce(): Promise<OutboxPassResult>
  /** A message was just queued (its transaction committed): send it now rather than at the next interval. */
  kick(): void
}

/** Batches one pass claims at most; the rest waits for the next pass. */
const MAX_BATCHES_PER_PASS = 100

/**
 * Creates the worker; it does nothing until `start()`, `runOnce()` or `kick()`.
 *
 * @example
 * const worker = createOutboxWorker({
 *   outbox: store.outbox, transport, render,
 *   openData: (message) => openMailData(sealer, message),
 *   now: Date.now, log, metrics, maxAttempts: config.emailMaxAttempts, intervalMs: 5000,
 * })
 * worker.start()
 * // after `store.atomically(...)` queued a message:
 * worker.kick()
 */
export function createOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  const { outbox, transport, render, openData, now, log, metrics } = options
  const { maxAttempts, intervalMs } = options
  const retry = options.retry ?? { baseMs: 30_000, maxMs: 3_600_000 }
  const leaseMs = options.leaseMs ?? 300_000
  const batchSize = options.batchSize ?? 10
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new TypeError('maxAttempts must be a positive integer')
  }
  for (const [name, value] of Object.entries({ intervalMs, leaseMs, batchSize, ...retry })) {
    if (!Number.isSafeInteger(value) || value < (name === 'intervalMs' ? 0 : 1)) {
      throw new TypeError(`${name} must be a positive integer`)
    }
  }

  let started = false
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let current: Promise<OutboxPassResult> | undefined
  let queued: Promise<OutboxPassResult> | undefined

  /** Delay before the retry that follows attempt number `attempts` (1-based). */
  function backoff(attempts: number): number {
    return Math.min(retry.baseMs * 2 ** Math.min(attempts - 1, 52), retry.maxMs)
  }

  async function fail(
    message: OutboxMessage,
    reason: string,
    permanent: boolean,
    result: OutboxPassResult,
  ): Promise<void> {
    result.failed++
    metrics?.inc('mail_failed')
    const fields = { mailId: message.id, template: message.template, attempts: message.attempts }
    if (permanent || message.attempts >= maxAttempts) {
      await outbox.markFailed(message.id, reason, null)
      result.dead++
      metrics?.inc('mail_dead')
      log.warn({ ...fields, error: reason }, 'mail given up (dead): it will not be sent')
      return
    }
    const retryAt = now() + backoff(message.attempts)
    await outbox.markFailed(message.id, reason, retryAt)
    log.warn(
      { ...fields, error: reason, retryAt: new Date(retryAt).toISOString() },
      'mail not sent; will retry',
    )
  }

  async function deliver(message: OutboxMessage, result: OutboxPassResult): Promise<void> {
    let data: Readonly<Record<string, unknown>>
    let rendered: ReturnType<RenderMail>
    try {
      data = openData(message)
      rendered = render(message.template, data, { to: message.to, createdAt: message.createdAt })
    } catch (error) {
      // A bug or a tampered row, not the network: retrying renders the same.
      // The reason names the template and variable, never a value (render.ts).
      const reason = `cannot render: ${error instanceof Error ? error.message : 'unknown error'}`
      await fail(message, reason, true, result)
      return
    }
    try {
      await transport.send({
        id: message.id,
        template: message.template,
        to: message.to,
        createdAt: message.createdAt,
        ...rendered,
        preview: {
          link: typeof data.link === 'string' ? data.link : undefined,
          code: typeof data.code === 'string' ? data.code : undefined,
        },
      })
    } catch (error) {
      const delivery = error instanceof MailDeliveryError ? error : undefined
      await fail(
        message,
        delivery?.message ?? 'unknown error',
        delivery?.permanent === true,
        result,
      )
      return
    }
    result.sent++
    metrics?.inc('mail_sent')
    try {
      await outbox.markSent(message.id, now())
    } catch (error) {
      // It went out: when the lease runs out it will be sent again.
      log.error({ mailId: message.id, err: error }, 'mail sent but not marked sent')
      return
    }
    log.info(
      {
        mailId: message.id,
        template: message.template,
        attempts: message.attempts,
        queuedMs: now() - message.createdAt,
      },
      'mail sent',
    )
  }

  async function pass(): Promise<OutboxPassResult> {
    const result: OutboxPassResult = { sent: 0, failed: 0, dead: 0 }
    for (let batch = 0; batch < MAX_BATCHES_PER_PASS && !stopped; batch++) {
      const messages = await outbox.claimDue(now(), batchSize, leaseMs)
      // Every send of the batch finishes before the pass does (stop() waits for it),
      // even when the store fails to record one of them.
      const settled = await Promise.allSettled(messages.map((m) => deliver(m, result)))
      const failure = settled.find((outcome) => outcome.status === 'rejected')
      if (failure !== undefined) throw failure.reason
      if (messages.length < batchSize) break
    }
    return result
  }

  function runOnce(): Promise<OutboxPassResult> {
    if (stopped) return Promise.resolve({ sent: 0, failed: 0, dead: 0 })
    if (current === undefined) {
      current = pass().finally(() => {
        current = undefined
      })
      return current
    }
    // One pass waits behind the running one, however many ask: it sees every message queued meanwhile.
    queued ??= current
      .catch(() => undefined)
      .then(() => {
        queued = undefined
        return runOnce()
      })
    return queued
  }

  function runInBackground(): void {
    runOnce().catch((error: unknown) => {
      log.error({ err: error }, 'cannot read the mail outbox; retrying at the next pass')
    })
  }

  function schedule(): void {
    if (stopped || intervalMs === 0) return
    timer = setTimeout(() => {
      runOnce()
        .catch((error: unknown) => {
          log.error({ err: error }, 'cannot read the mail outbox; retrying at the next pass')
        })
        .finally(schedule)
    }, intervalMs)
    timer.unref()
  }

  return {
    start() {
      if (stopped || started) return
      started = true
      // Messages left by a restart go out now, not after the first interval.
      runInBackground()
      schedule()
    },
    async stop() {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      await Promise.allSettled([current, queued])
    },
    runOnce,
    kick() {
      if (!stopped) runInBackground()
    },
  }
}
