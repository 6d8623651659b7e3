/**
 * The deployment bench/load.ts measures: `tessera serve` child processes on
 * 127.0.0.1 with ephemeral ports, a PostgreSQL schema made for the run and
 * dropped after it, and CPU accounting from /proc for the processes involved.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import {
  ensureBuilt,
  onInterruptCleanup,
  ROOT,
  readRssKiB,
  removeTempDir,
  TESSERA_BIN,
  tempDir,
  track,
} from './processes.ts'

const root = ROOT

/** Log lines kept per instance at warn and above (the rest is only counted). */
const KEPT_LINES = 20

/** One running `tessera serve`. */
export interface Instance {
  readonly name: string
  readonly url: string
  readonly pid: number
  readonly dataDir: string
  /** Log lines by pino level name (info, warn, error, ...). */
  readonly levels: Map<string, number>
  /** The first warn/error/fatal lines (message and error message only). */
  readonly problems: string[]
  /** Peak resident memory so far (VmHWM), MiB; NaN once the process is gone. */
  peakRssMiB(): number
  /** Resident memory now (VmRSS), KiB; NaN once the process is gone. */
  rssKiB(): number
  stop(): Promise<number | null>
}

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
}

/** What of a pino line is safe and useful to report: level, message, error message. */
function summarize(line: string): { level: string; text: string } {
  try {
    const entry = JSON.parse(line) as {
      level?: unknown
      msg?: unknown
      err?: { message?: unknown }
    }
    const level = typeof entry.level === 'number' ? (LEVEL_NAMES[entry.level] ?? 'other') : 'other'
    const error = typeof entry.err?.message === 'string' ? ` (${entry.err.message})` : ''
    return { level, text: `${String(entry.msg ?? '')}${error}` }
  } catch {
    return { level: 'text', text: line.slice(0, 300) }
  }
}

/**
 * Profiling, for when a target is missed (bench/profiles/README.md, "Cost
 * growth"): with TESSERA_BENCH_CPU_PROF=<dir> every server the bench starts
 * runs under `node --cpu-prof` and writes `<name>.<time>.cpuprofile` there
 * when it stops. Empty otherwise: a measured run carries no profiler.
 */
export function profilingEnv(name: string): Record<string, string> {
  const dir = process.env.TESSERA_BENCH_CPU_PROF
  if (!dir) return {}
  const file = `${name.replace(/[^A-Za-z0-9._-]+/g, '_')}.${Date.now()}.cpuprofile`
  return { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${dir} --cpu-prof-name=${file}` }
}

/**
 * Starts `tessera serve` with `env` on top of a minimal environment (PATH and
 * HOME only: nothing else of the caller's leaks in), and resolves once it logs
 * its listening address. Its data dir is a fresh temporary one, removed when
 * it stops, unless `options.dataDir` names one the caller owns (a database
 * seeded beforehand).
 */
export async function startInstance(
  name: string,
  env: Record<string, string>,
  options: { dataDir?: string } = {},
): Promise<Instance> {
  const ownDir = options.dataDir === undefined
  const dataDir = options.dataDir ?? tempDir('load')
  const dropDir = (): void => {
    if (ownDir) removeTempDir(dataDir)
  }
  ensureBuilt()
  const child: ChildProcess = spawn(process.execPath, [TESSERA_BIN, 'serve'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TESSERA_HOST: '127.0.0.1',
      TESSERA_PORT: '0',
      TESSERA_DATA_DIR: dataDir,
      ...profilingEnv(name),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  track(child)
  const exited = once(child, 'exit')
  const levels = new Map<string, number>()
  const problems: string[] = []
  const early: string[] = []
  const onLine = (line: string): void => {
    const { level, text } = summarize(line)
    levels.set(level, (levels.get(level) ?? 0) + 1)
    if (early.length < 40) early.push(text)
    if (
      level !== 'info' &&
      level !== 'debug' &&
      level !== 'trace' &&
      problems.length < KEPT_LINES
    ) {
      problems.push(`${level}: ${text}`)
    }
  }
  createInterface({ input: child.stderr! }).on('line', onLine)
  const lines = createInterface({ input: child.stdout! })
  try {
    const url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s`)), 30_000)
      lines.on('line', (line) => {
        onLine(line)
        const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(line)
        if (match) {
          clearTimeout(timer)
          resolveUrl(match[1]!)
        }
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${name} exited with ${code}: ${early.slice(-5).join(' | ')}`))
      })
    })
    return {
      name,
      url,
      pid: child.pid!,
      dataDir,
      levels,
      problems,
      peakRssMiB: () => peakRssMiB(child.pid!),
      rssKiB: () => readRssKiB(child.pid!),
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM')
          const force = setTimeout(() => child.kill('SIGKILL'), 15_000)
          await exited
          clearTimeout(force)
        }
        dropDir()
        return child.exitCode
      },
    }
  } catch (error) {
    if (child.exitCode === null) {
      child.kill('SIGKILL')
      await exited
    }
    dropDir()
    throw error
  }
}

function peakRssMiB(pid: number): number {
  return Math.round(readRssKiB(pid, 'VmHWM') / 1024)
}

let clockTicks: number | undefined

/** Clock ticks per second of /proc times (USER_HZ). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

/** CPU seconds (user + system) a process has used so far; 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may hold spaces and parentheses: fields count from the last ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond()
  } catch {
    return 0
  }
}

/**
 * CPU seconds a process has used so far, in nanoseconds' precision: the sum
 * of its threads' run time from /proc/<pid>/task/<tid>/schedstat (the
 * scheduler's own clock; /proc/<pid>/stat counts in 10 ms ticks, too coarse
 * for a burst of a few hundred requests). A thread that exited is no longer
 * counted (Node's threads live as long as the process). 0 when it is gone.
 */
export function processCpuSecondsPrecise(pid: number): number {
  let tasks: string[]
  try {
    tasks = readdirSync(`/proc/${pid}/task`)
  } catch {
    return 0
  }
  let ns = 0
  for (const task of tasks) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1e9
}

/**
 * CPU seconds used so far by each process whose command name is `comm`, by
 * pid (postgres backends come and go, so a sum would drop when one exits:
 * compare two readings with {@link cpuSecondsBetween}).
 */
export function commandCpuSeconds(comm: string): Map<number, number> {
  const byPid = new Map<number, number>()
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return byPid
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) {
        byPid.set(Number(entry), processCpuSeconds(Number(entry)))
      }
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return byPid
}

/**
 * CPU seconds used between two readings by the processes alive at the
 * second (all of a process started meanwhile counts); a process that exited
 * meanwhile is missed, which undercounts slightly.
 */
export function cpuSecondsBetween(
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
): number {
  let total = 0
  for (const [pid, seconds] of after) total += Math.max(0, seconds - (before.get(pid) ?? 0))
  return total
}

/** Busy and total CPU seconds of the whole machine so far, from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!
    const values = line.trim().split(/\s+/).slice(1).map(Number)
    const total = values.reduce((sum, value) => sum + value, 0)
    // idle + iowait are not busy.
    const idle = (values[3] ?? 0) + (values[4] ?? 0)
    return { busy: (total - idle) / ticksPerSecond(), total: total / ticksPerSecond() }
  } catch {
    return { busy: 0, total: 0 }
  }
}

/** A PostgreSQL schema made for one run. */
export interface RunSchema {
  readonly name: string
  /** `baseUrl` with `?schema=<name>` (and any other parameter it had). */
  readonly url: string
  drop(): Promise<void>
}

/**
 * Creates a fresh schema (`tessera_load_<random>`) in the database of
 * `baseUrl`, so a run starts empty and leaves nothing behind; `drop()` removes
 * it with everything in it.
 */
export async function createRunSchema(baseUrl: string): Promise<RunSchema> {
  const { default: pg } = await import('pg')
  const name = `tessera_load_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const connectionUrl = new URL(baseUrl)
  connectionUrl.searchParams.delete('schema')
  connectionUrl.searchParams.delete('pool')
  const client = new pg.Client({ connectionString: connectionUrl.href })
  await client.connect()
  try {
    // The name is ours (letters, digits, underscores), never user input.
    await client.query(`CREATE SCHEMA "${name}"`)
  } finally {
    await client.end()
  }
  const url = new URL(baseUrl)
  url.searchParams.set('schema', name)
  const drop = async (): Promise<void> => {
    const dropper = new pg.Client({ connectionString: connectionUrl.href })
    await dropper.connect()
    try {
      await dropper.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`)
    } finally {
      await dropper.end()
    }
  }
  // Ctrl-C before the owner drops it: dropped on the way out all the same.
  const unregister = onInterruptCleanup(drop)
  return {
    name,
    url: url.href,
    async drop() {
      unregister()
      await drop()
    },
  }
}
