// A `tessera` CLI command is another process writing to the same database:
// `users set-roles` appends a revocation, `keys rotate --now` a signing key.
// Without Redis nothing tells the running server, which used to learn of them
// at its next maintenance pass, up to a minute later. This poll reads a cheap
// marker from the store (SQLite: PRAGMA data_version, no table read) a couple
// of times a second and reloads only when it moved.

/** A running poll; `stop()` resolves once a check in progress has finished. */
export interface ChangePoll {
  stop(): Promise<void>
}

export interface ChangePollOptions {
  /** The store's marker (Store.changeMarker): cheap, and it moves when another process wrote. */
  read(): Promise<string>
  /** Catches up with what the other process wrote; runs again at the next check if it fails. */
  onChange(): Promise<void>
  /** The marker as of the last load, read before loading so no write in between is missed. */
  initial: string
  /** Milliseconds between the end of one check and the start of the next. */
  intervalMs: number
  /** Told of the first failure of a run of failures (one line per outage, not one per check). */
  onError(error: unknown): void
  /** Told when a check succeeds after failures. */
  onRecover?(): void
}

/**
 * Starts polling. Checks never overlap, the timer never keeps the process
 * alive, and a marker is remembered only once `onChange` has succeeded.
 *
 * @example
 * const poll = startChangePoll({
 *   read: () => store.changeMarker(),
 *   onChange: async () => { await revocations.sync(); await keyRing.reload() },
 *   initial: await store.changeMarker(),
 *   intervalMs: 500,
 *   onError: (error) => log.warn({ err: error }, 'change detection failed'),
 * })
 * await poll.stop()
 */
export function startChangePoll(options: ChangePollOptions): ChangePoll {
  const { read, onChange, intervalMs, onError, onRecover } = options
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new TypeError('intervalMs must be a positive number of milliseconds')
  }
  let last = options.initial
  let failing = false
  let stopped = false
  let running: Promise<void> | undefined
  let timer: NodeJS.Timeout | undefined

  async function check(): Promise<void> {
    try {
      const marker = await read()
      if (marker !== last) {
        await onChange()
        last = marker
      }
      if (failing) {
        failing = false
        onRecover?.()
      }
    } catch (error) {
      if (!failing) {
        failing = true
        onError(error)
      }
    }
  }

  function schedule(): void {
    if (stopped) return
    timer = setTimeout(() => {
      running = check().finally(() => {
        running = undefined
        schedule()
      })
    }, intervalMs)
    timer.unref()
  }

  schedule()
  return {
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}
