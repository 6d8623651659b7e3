// In WAL mode with synchronous=NORMAL a commit does not wait for the disk;
// the checkpoint that copies the WAL back into the database does, twice
// (fsync of the WAL, then of the database). SQLite runs it inside whichever
// commit crosses wal_autocheckpoint, which for Tessera is the event loop:
// under a login flood that was a 10-90 ms stall every couple of seconds for
// every request in flight (bench/README.md, login flood). A worker thread
// with its own connection checkpoints instead, every second; PASSIVE mode
// never blocks the writer or the readers. The event loop's connection keeps
// a far larger auto-checkpoint threshold, as a safety net if this thread
// falls behind or dies. https://sqlite.org/wal.html#automatic_checkpoint

import { Worker } from 'node:worker_threads'

/** How often the worker checkpoints. */
export const CHECKPOINT_INTERVAL_MS = 1000
/** The event loop's own auto-checkpoint threshold (pages; ~40 MiB of 4 KiB pages). */
export const SAFETY_AUTOCHECKPOINT_PAGES = 10_000

// The worker's whole program, evaluated as CommonJS in its own thread. It
// needs only node:sqlite, so it is inline rather than a file to resolve in
// both the TypeScript sources and the built package.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { DatabaseSync } = require('node:sqlite')
const db = new DatabaseSync(workerData.path, { timeout: 1000 })
const checkpoint = () => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)')
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message) })
  }
}
const timer = setInterval(checkpoint, workerData.intervalMs)
parentPort.on('message', () => {
  clearInterval(timer)
  db.close()
  parentPort.close()
})
`

/** A running checkpointer; `stop()` resolves once its thread has ended. */
export interface Checkpointer {
  stop(): Promise<void>
}

/**
 * Starts the checkpoint thread for the SQLite file at `path` (in WAL mode).
 * `onError` hears a failed checkpoint (the next one is tried anyway).
 *
 * @example
 * const checkpointer = startCheckpointer('/var/lib/tessera/tessera.db')
 * await checkpointer.stop()
 */
export function startCheckpointer(
  path: string,
  onError: (message: string) => void = () => {},
  intervalMs: number = CHECKPOINT_INTERVAL_MS,
): Checkpointer {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, intervalMs } })
  worker.on('message', (message: { error?: string }) => {
    if (message.error !== undefined) onError(message.error)
  })
  worker.on('error', (error) => onError(error.message))
  // Never what keeps the process alive (after the listeners: adding a
  // 'message' listener references the worker again).
  worker.unref()
  let stopped: Promise<void> | undefined
  return {
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        // Referenced again while stopping, or a process (or thread) with
        // nothing else to do would end before hearing the thread exit.
        worker.ref()
        worker.once('exit', () => resolve())
        worker.postMessage('stop')
      })
      return stopped
    },
  }
}
