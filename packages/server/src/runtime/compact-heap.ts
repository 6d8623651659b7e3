// Starting the server (loading ~1,200 modules, compiling every route's
// schemas) allocates fast and keeps much of it, so V8 grows the young
// generation to its ceiling (2 x 16 MiB on a 64-bit machine) before the first
// request, and keeps it: a third of the idle server's resident memory held
// empty. One full collection that asks V8 to reduce its footprint (what it
// does itself under memory pressure) returns it and compacts what startup
// left behind; under load the young generation grows again as it needs.
// Measured with bench/README.md's method: ~30 MiB less RSS at start, for one
// collection of ~50 ms before the server listens.

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

type Collect = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void

let collect: Collect | undefined

/** V8's `gc()`, obtained without `--expose-gc` on the command line or a global `gc`. */
function collector(): Collect {
  if (collect === undefined) {
    // The flag adds `gc` to contexts created while it is set: one throwaway
    // context, then it is unset again.
    setFlagsFromString('--expose-gc')
    try {
      collect = runInNewContext('gc') as Collect
    } finally {
      setFlagsFromString('--no-expose-gc')
    }
  }
  return collect
}

/**
 * Runs one full garbage collection that gives memory back (V8's "last
 * resort" collection: the young generation shrinks to its initial size).
 * Returns the heap's committed size before and after, in bytes. Call it once
 * after startup, before listening; it blocks the event loop while it runs.
 *
 * @example
 * const { before, after } = compactHeap()
 */
export function compactHeap(): { before: number; after: number } {
  const before = process.memoryUsage().heapTotal
  collector()({ type: 'major', execution: 'sync', flavor: 'last-resort' })
  return { before, after: process.memoryUsage().heapTotal }
}
