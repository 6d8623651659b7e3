// Work a flow finishes after it has answered: what an enumeration-safe route
// (202 whatever the address) does for an address that has an account, so
// that neither the answer nor its timing tells the two apart. Failures are
// logged, never thrown at a caller who has already been answered.

import type { AuthLog } from './ports.ts'

export interface Background {
  /** Starts `work` now, after the caller's answer is decided. */
  run(what: string, work: () => Promise<void>): void
  /** Resolves once every piece of work started so far has finished (tests, shutdown). */
  settled(): Promise<void>
}

export function createBackground(log?: AuthLog): Background {
  const running = new Set<Promise<void>>()
  return {
    run(what, work) {
      // Not before the next turn of the event loop: the answer is written
      // first, so its timing cannot depend on what the work finds.
      const done: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
        .then(work)
        .catch((error: unknown) => log?.warn({ err: error }, `${what} failed`))
        .finally(() => running.delete(done))
      running.add(done)
    },
    async settled() {
      while (running.size > 0) await Promise.allSettled([...running])
    },
  }
}
