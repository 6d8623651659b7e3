#!/usr/bin/env node
// Launcher of the `tessera` CLI. Installed from npm it runs the compiled
// dist/. Inside the workspace, where dist/ is not built, it runs the
// TypeScript source as Node 24 does (type stripping) and adds the `source`
// export condition, so @tessera/jwt resolves to its src/ as well. It does so
// in this process (module.registerHooks), not by re-executing Node: signals
// and exit codes need no forwarding. (`serve` alone may replace the process
// once, to start with glibc's malloc settings and a capped young generation:
// see below.)

import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const major = Number(process.versions.node.split('.')[0])
if (major < 24) {
  process.stderr.write(`error: tessera needs Node.js 24 or newer (this is ${process.version})\n`)
  process.exit(2)
}

const serving = process.argv.slice(2).includes('serve')

// `tessera serve` on glibc (Linux) gives argon2id's memory back. Each hash
// takes a 19 MiB block on a libuv thread; glibc's defaults keep a freed block
// of that size for reuse in each thread's arena, so after a few logins ~76
// MiB stay with the 4 threads for good. With a fixed mmap threshold each
// block is a mapping of its own, returned when freed; with transparent huge
// pages, mapping it anew costs ~2 ms per login (without them ~12 ms: then
// one malloc arena instead, which costs nothing and gives back what it can).
// Measured in docs/deployment.md, "Memory". glibc reads these when the
// process starts, so the launcher re-executes itself with them, as the same
// process (process.execve keeps the PID: signals and exit codes are
// untouched). Set GLIBC_TUNABLES or MALLOC_ARENA_MAX yourself (even empty)
// to keep your own.
function mallocTunables() {
  if (process.platform !== 'linux' || !serving) return undefined
  if (process.env.GLIBC_TUNABLES !== undefined || process.env.MALLOC_ARENA_MAX !== undefined) {
    return undefined
  }
  // musl (Alpine) has none of these; hugetlb needs glibc 2.35.
  let glibc
  try {
    glibc = process.report?.getReport().header.glibcVersionRuntime
  } catch {
    return undefined
  }
  if (glibc === undefined) return undefined
  const [glibcMajor = 0, glibcMinor = 0] = glibc.split('.').map(Number)
  let hugePages = false
  try {
    const thp = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8')
    hugePages = /\[(always|madvise)\]/.test(thp) && (glibcMajor > 2 || glibcMinor >= 35)
  } catch {
    // No THP on this kernel.
  }
  return hugePages
    ? 'glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=4194304'
    : 'glibc.malloc.arena_max=1'
}

// `tessera serve` caps V8's young generation: on a machine with a few GiB
// of memory V8 lets each semi-space grow to 64 MiB under load, and a server
// that allocates per request (a token's claims, its answer) keeps ~130 MiB
// of young generation resident while busy. At 16 MiB, GET /auth/me with
// 4,000 distinct tokens peaked at 204 MiB of RSS instead of 268, for 2% more
// CPU per request (0% with a cached token): bench/README.md, "Memory under
// load". V8 sizes its heap when the process starts, hence the same
// re-execution. Give --max-semi-space-size yourself (node's flags or
// NODE_OPTIONS) to keep your own.
const SEMI_SPACE_MIB = 16

function youngGenerationFlags() {
  if (!serving) return []
  const own = [...process.execArgv, process.env.NODE_OPTIONS ?? '']
  if (own.some((flag) => /--max[-_]semi[-_]space[-_]size/.test(flag))) return []
  return [`--max-semi-space-size=${SEMI_SPACE_MIB}`]
}

const tunables = mallocTunables()
const v8Flags = youngGenerationFlags()
if ((tunables !== undefined || v8Flags.length > 0) && typeof process.execve === 'function') {
  try {
    process.execve(
      process.execPath,
      [process.execPath, ...process.execArgv, ...v8Flags, ...process.argv.slice(1)],
      tunables === undefined ? process.env : { ...process.env, GLIBC_TUNABLES: tunables },
    )
  } catch {
    // Not permitted here: run as we are.
  }
}

const dist = new URL('../dist/cli/main.js', import.meta.url)
const source = new URL('../src/cli/main.ts', import.meta.url)

let entry = dist
if (!existsSync(fileURLToPath(dist)) && existsSync(fileURLToPath(source))) {
  const { registerHooks } = await import('node:module')
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const conditions = context.conditions.includes('source')
        ? context.conditions
        : [...context.conditions, 'source']
      return nextResolve(specifier, { ...context, conditions })
    },
  })
  entry = source
}

const { main } = await import(entry.href)
process.exitCode = await main(process.argv)
