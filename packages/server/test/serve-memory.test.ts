// bin/tessera.js runs `tessera serve` with glibc malloc settings that give
// argon2's blocks back to the system and with V8's young generation capped:
// it re-executes itself as the same process with GLIBC_TUNABLES and
// --max-semi-space-size, and leaves the operator's own settings alone.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { describe, test } from 'node:test'
import { childEnv, makeDataDir, repoRoot, workingDir } from './support/server-process.ts'

const glibc =
  process.platform === 'linux' &&
  (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header
    .glibcVersionRuntime !== undefined

/** Starts bin/tessera.js serve; resolves with its pid and environment once it listens, then stops it. */
async function serveThroughBin(env: Record<string, string>) {
  const data = makeDataDir()
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'packages/server/bin/tessera.js'), 'serve'],
    { cwd: workingDir(data.dir), env: childEnv(data.dir, env), stdio: ['ignore', 'pipe', 'pipe'] },
  )
  try {
    const lines = createInterface({ input: child.stdout })
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        if (line.includes('Tessera listening on')) resolve()
      })
      child.once('exit', (code) => reject(new Error(`exited with ${code}`)))
    })
    const raw = readFileSync(`/proc/${child.pid}/environ`, 'latin1')
    const environ = raw.split('\0')
    // glibc splits GLIBC_TUNABLES in place (its ':' become NULs): read it whole.
    const tunables = /(?:^|\0)(GLIBC_TUNABLES=[^\0]*(?:\0glibc\.[^\0]*)*)/
      .exec(raw)?.[1]
      ?.replaceAll('\0', ':')
    const arena = environ.find((entry) => entry.startsWith('MALLOC_ARENA_MAX='))
    const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0')
    const semiSpace = argv.filter((arg) => arg.startsWith('--max-semi-space-size'))
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const [code] = (await exited) as [number | null]
    return { tunables, arena, semiSpace, code }
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
    data.remove()
  }
}

describe('bin/tessera.js serve and glibc malloc', { skip: !glibc && 'glibc only' }, () => {
  test('runs with a fixed mmap threshold and huge pages (one arena without them), as the process started', async () => {
    let hugePages = false
    try {
      hugePages = /\[(always|madvise)\]/.test(
        readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'),
      )
    } catch {}
    const { tunables, code } = await serveThroughBin({})
    assert.equal(
      tunables,
      hugePages
        ? 'GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=4194304'
        : 'GLIBC_TUNABLES=glibc.malloc.arena_max=1',
    )
    assert.equal(code, 0, 'SIGTERM to the started pid stopped the server cleanly')
  })

  test("the operator's GLIBC_TUNABLES or MALLOC_ARENA_MAX is kept, and nothing added", async () => {
    const own = await serveThroughBin({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })
    assert.equal(own.tunables, 'GLIBC_TUNABLES=glibc.malloc.arena_max=2')
    const arena = await serveThroughBin({ MALLOC_ARENA_MAX: '4' })
    assert.equal(arena.arena, 'MALLOC_ARENA_MAX=4')
    assert.equal(arena.tunables, undefined)
  })
})

describe('bin/tessera.js serve and V8 young generation', {
  skip: process.platform !== 'linux' && '/proc only',
}, () => {
  test('starts with 16 MiB semi-spaces, as the process started, whatever the malloc settings', async () => {
    const plain = await serveThroughBin({})
    assert.deepEqual(plain.semiSpace, ['--max-semi-space-size=16'])
    assert.equal(plain.code, 0)
    const ownMalloc = await serveThroughBin({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })
    assert.deepEqual(ownMalloc.semiSpace, ['--max-semi-space-size=16'])
  })

  test("the operator's --max-semi-space-size in NODE_OPTIONS is kept, and nothing added", async () => {
    const own = await serveThroughBin({ NODE_OPTIONS: '--max-semi-space-size=32' })
    assert.deepEqual(own.semiSpace, [], 'no flag on the command line: NODE_OPTIONS carries it')
    assert.equal(own.code, 0)
  })
})
