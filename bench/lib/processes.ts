/**
 * Everything a bench run starts outside its own process: child processes
 * (servers, wrk, migrations), temporary directories and PostgreSQL schemas.
 * Each is registered when it is made, so that a normal end, a thrown error,
 * Ctrl-C or SIGTERM leaves no server running and no directory behind.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'

/** The repository root (bench/lib/ is two levels under it). */
export const ROOT = resolve(import.meta.dirname, '../..')

/**
 * Servers run the built packages (`dist/`, plain JavaScript), which is what
 * `npm install @tessera/server` gives users, not the TypeScript sources
 * through Node's type stripping. The two are not equally fast: a peer that
 * only imports @tessera/jwt's sources served a bare Fastify route ~20%
 * slower (V8 took a slow path creating objects in process.nextTick), and
 * the built package does not (bench/README.md).
 */
export const TESSERA_MAIN = join(ROOT, 'packages/server/dist/cli/main.js')
/**
 * The `tessera` launcher as npm installs it (it runs dist/ once built): `serve`
 * goes through it, so the bench server starts as users start it, with the
 * glibc malloc settings the launcher applies (docs/deployment.md, "Memory").
 */
export const TESSERA_BIN = join(ROOT, 'packages/server/bin/tessera.js')

let built = false

/** Builds the packages (`npm run build`) once per bench process, before the first server starts. */
export function ensureBuilt(): void {
  if (built) return
  process.stderr.write('building the packages (npm run build) so servers run dist/ ...\n')
  execFileSync('npm', ['run', '--silent', 'build'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  built = true
}

const children = new Set<ChildProcess>()
const directories = new Set<string>()
/** Async clean-ups (dropping a PostgreSQL schema) run on an interrupt. */
const asyncCleanups = new Set<() => Promise<void>>()

/** Aborted on SIGINT/SIGTERM: loops check it and stop early. */
export const interrupted = new AbortController()

/** Registers a child process: killed at exit if it is still running. */
export function track(child: ChildProcess): void {
  children.add(child)
  child.once('exit', () => children.delete(child))
}

/** A fresh directory under the system temp dir, removed at exit at the latest. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tessera-bench-${prefix}-`))
  directories.add(dir)
  return dir
}

/** Removes a directory made by {@link tempDir} now. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  directories.delete(dir)
}

/** Registers an async clean-up for an interrupt; returns its unregistration. */
export function onInterruptCleanup(cleanup: () => Promise<void>): () => void {
  asyncCleanups.add(cleanup)
  return () => asyncCleanups.delete(cleanup)
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null
}

/** Kills every registered child and removes every registered directory, synchronously. */
export function cleanUpNow(): void {
  for (const child of children) {
    if (alive(child)) child.kill('SIGKILL')
  }
  children.clear()
  for (const dir of directories) rmSync(dir, { recursive: true, force: true })
  directories.clear()
}

let installed = false

/**
 * Installs the exit and signal handlers once: on exit (normal, or after an
 * uncaught error) the children are killed and directories removed; on
 * SIGINT/SIGTERM the async clean-ups get up to 5 s first, then the process
 * exits with 130.
 */
export function installCleanup(log: (line: string) => void): void {
  if (installed) return
  installed = true
  process.on('exit', cleanUpNow)
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted.signal.aborted) {
      cleanUpNow()
      process.exit(130)
    }
    log(`${signal}: stopping the servers and cleaning up`)
    interrupted.abort()
    for (const child of children) if (alive(child)) child.kill('SIGTERM')
    const pending = [...asyncCleanups].map((cleanup) => cleanup().catch(() => undefined))
    const deadline = new Promise((done) => setTimeout(done, 5_000).unref())
    void Promise.race([Promise.all(pending), deadline]).then(() => {
      cleanUpNow()
      process.exit(130)
    })
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

/** A server started by {@link startServer}. */
export interface Server {
  readonly name: string
  readonly url: string
  readonly pid: number
  /** Resident memory now (VmRSS), KiB; NaN once the process is gone. */
  rssKiB(): number
  stop(): Promise<void>
}

/** Resident memory of a process (VmRSS, or VmHWM for the peak), KiB; NaN when unreadable. */
export function readRssKiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
    return match === null ? Number.NaN : Number(match[1])
  } catch {
    return Number.NaN
  }
}

/**
 * Stops a child: SIGTERM, then SIGKILL after `graceMs`; resolves once it has
 * exited.
 */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (!alive(child)) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const force = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(force)
}

/**
 * Starts `node <script>` (a peer server, importing the built packages) with `env` on
 * top of a minimal environment (PATH and HOME), and resolves once it prints
 * `listening on http://127.0.0.1:PORT`. Its output is drained for as long as
 * it runs (a full pipe would stall it); the last lines are kept for errors.
 */
export async function startServer(
  name: string,
  script: string,
  env: Record<string, string>,
): Promise<Server> {
  ensureBuilt()
  const child = spawn(process.execPath, [script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  track(child)
  const tail: string[] = []
  const keep = (line: string): void => {
    tail.push(line.slice(0, 300))
    if (tail.length > 10) tail.shift()
  }
  createInterface({ input: child.stderr! }).on('line', keep)
  const lines = createInterface({ input: child.stdout! })
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s`)), 30_000)
      lines.on('line', (line) => {
        keep(line)
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)
        if (match) {
          clearTimeout(timer)
          resolveUrl(match[1]!)
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${name} exited with ${code}: ${tail.join(' | ')}`))
      })
    })
    return {
      name,
      url,
      pid: child.pid!,
      rssKiB: () => readRssKiB(child.pid!),
      stop: () => stopChild(child),
    }
  } catch (error) {
    await stopChild(child, 0)
    throw error
  }
}
