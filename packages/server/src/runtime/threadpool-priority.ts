// argon2 hashes run on libuv's threadpool; on a machine with few cores a
// login flood keeps every core busy hashing, and the event loop (which
// answers every other request) waits its turn behind the hashing threads.
// On 2 cores, GET /auth/me's p99 under a login flood was 11-12 ms with the
// pool at the same priority and 5-7 ms with it at nice 10, and logins/s
// rose too (bench/README.md, login flood). Linux schedules
// threads, and a thread's nice value is its own, so the pool's threads are
// made nicer than the event loop: hashing still uses every idle cycle, and
// the event loop runs as soon as it has work.

import { randomFill } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { setPriority } from 'node:os'

/** The nice value the pool's threads get (0 is normal, 19 the lowest priority). */
export const THREADPOOL_NICENESS = 10

/**
 * Lowers the scheduling priority of libuv's threadpool threads (Linux only;
 * elsewhere, or when /proc is not readable, nothing happens). Returns how
 * many threads were changed. Call once at startup.
 *
 * @example
 * const threads = await deprioritizeThreadpool()
 */
export async function deprioritizeThreadpool(
  niceness: number = THREADPOOL_NICENESS,
): Promise<number> {
  if (process.platform !== 'linux') return 0
  // libuv starts all its threads on the pool's first use.
  await new Promise((resolve) => randomFill(new Uint8Array(1), resolve))
  let tasks: string[]
  try {
    tasks = readdirSync('/proc/self/task')
  } catch {
    return 0
  }
  let changed = 0
  for (const tid of tasks) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== 'libuv-worker') continue
      // setpriority(2) with a thread id sets that thread's nice value on Linux.
      setPriority(Number(tid), niceness)
      changed++
    } catch {
      // The thread ended meanwhile, or the value is not ours to set: leave it.
    }
  }
  return changed
}
