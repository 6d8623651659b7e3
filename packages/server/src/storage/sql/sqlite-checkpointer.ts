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
// The thread starts once the WAL reaches SQLite's own checkpoint size, so a
// server that writes little does without it.

import { stat } from 'node:fs/promises'
import { Worker } from 'node:worker_threads'

/** How often the worker checkpoints. */
export const CHECKPOINT_INTERVAL_MS = 1000
/**
 * The WAL size at which {@link startCheckpointerWhenNeeded} starts the
 * thread: SQLite's own checkpoint threshold (1000 pages of 4 KiB). Below it a
 * checkpoint has little to copy, and a server that writes little never pays
 * for the thread (a second V8 instance: ~12 MiB of resident memory).
 */
export const START_AT_WAL_BYTES = 4 * 1024 * 1024
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

/**
 * {@link startCheckpointer} once the WAL (`<path>-wal`) has grown to
 * `walBytes`: its size is read every `intervalMs` until then (one stat on
 * libuv's threadpool). The event loop's own safety threshold
 * ({@link SAFETY_AUTOCHECKPOINT_PAGES}) still applies meanwhile.
 *
 * @example
 * const checkpointer = startCheckpointerWhenNeeded('/var/lib/tessera/tessera.db')
 * await checkpointer.stop()
 */
export function startCheckpointerWhenNeeded(
  path: string,
  onError: (message: string) => void = () => {},
  options: { intervalMs?: number; walBytes?: number } = {},
): Checkpointer {
  const intervalMs = options.intervalMs ?? CHECKPOINT_INTERVAL_MS
  const walBytes = options.walBytes ?? START_AT_WAL_BYTES
  let started: Checkpointer | undefined
  let stopped = false
  let checking = false
  const timer = setInterval(() => {
    if (checking) return
    checking = true
    stat(`${path}-wal`)
      .then(
        ({ size }) => {
          if (stopped || started !== undefined || size < walBytes) return
          clearInterval(timer)
          started = startCheckpointer(path, onError, intervalMs)
        },
        // No WAL yet (nothing written since it was last removed).
        () => {},
      )
      .finally(() => {
        checking = false
      })
  }, intervalMs)
  timer.unref()
  return {
    async stop() {
      stopped = true
      clearInterval(timer)
      await started?.stop()
    },
  }
}
