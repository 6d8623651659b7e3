import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { deprioritizeThreadpool, THREADPOOL_NICENESS } from './threadpool-priority.ts'

/** comm and nice value of every thread of this process (/proc/<pid>/task/<tid>/stat field 19). */
function threads(): { name: string; nice: number }[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    // The name is in parentheses and may hold spaces: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return {
      name: readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(),
      nice: Number(fields[16]),
    }
  })
}

test('the threadpool threads (argon2) run nicer than the event loop; the main thread is untouched', {
  skip: process.platform !== 'linux' && 'thread priorities are set on Linux only',
}, async () => {
  const changed = await deprioritizeThreadpool()
  const all = threads()
  const pool = all.filter((t) => t.name === 'libuv-worker')
  assert.ok(pool.length >= 1, 'the pool has started')
  assert.equal(changed, pool.length)
  for (const thread of pool) assert.equal(thread.nice, THREADPOOL_NICENESS)
  const main = all.find((t) => t.name === 'MainThread' || t.name === 'node')
  assert.equal(main?.nice, 0)
})
