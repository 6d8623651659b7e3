/**
 * The closed-loop HTTP load generator of `npm run bench`: wrk when it is
 * installed (a C program, one thread: it leaves the most CPU to the server
 * under test on a small machine), autocannon otherwise. Both send GET
 * requests with an `Authorization: Bearer` header taken in turn from a list
 * of tokens (one token: always the same header), over a fixed number of
 * keep-alive connections, and report successful requests per second and
 * latency percentiles.
 */

import { execFileSync, spawn } from 'node:child_process'
import { accessSync, constants, writeFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import autocannon from 'autocannon'
import { packageVersion } from './machine.ts'
import { stopChild, track } from './processes.ts'

/** One load run against one URL. */
export interface LoadRun {
  /** Full URL, e.g. http://127.0.0.1:4000/auth/me. */
  readonly url: string
  /** The tokens, taken in turn; also written to `tokensFile` for wrk. */
  readonly tokens: TokenSet
  readonly connections: number
  readonly seconds: number
}

/** Tokens for a load run, kept in memory and in a file (0600) in a temp dir. */
export interface TokenSet {
  readonly tokens: readonly string[]
  readonly file: string
}

/** Writes `tokens` one per line to `file` (readable by this user only) and returns the set. */
export function tokenSet(file: string, tokens: readonly string[]): TokenSet {
  if (tokens.length === 0) throw new TypeError('a token set needs at least one token')
  writeFileSync(file, `${tokens.join('\n')}\n`, { mode: 0o600 })
  return { tokens, file }
}

export interface LoadResult {
  /** Successful (2xx) requests per second. */
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly requests: number
  /** Non-2xx answers, socket errors and timeouts. */
  readonly errors: number
}

export interface LoadGenerator {
  readonly name: 'wrk' | 'autocannon'
  readonly version: string
  run(options: LoadRun): Promise<LoadResult>
}

const LUA = join(import.meta.dirname, 'rotate-tokens.lua')

/** An executable `wrk`: /usr/bin/wrk, or the first on PATH. */
export function findWrk(): string | undefined {
  const candidates = [
    '/usr/bin/wrk',
    ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'wrk')),
  ]
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // Not there.
    }
  }
  return undefined
}

/** The version `wrk -v` prints ("4.1.0-3+b2" of "wrk debian/4.1.0-3+b2 [epoll] ..."). */
function wrkVersion(path: string): string {
  let output: string
  try {
    output = execFileSync(path, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (error) {
    // `wrk -v` prints its version and usage, and exits 1.
    output = String((error as { stdout?: unknown }).stdout ?? '')
  }
  return /^wrk (?:\w+\/)?(\S+)/.exec(output)?.[1] ?? 'unknown'
}

interface WrkSummary {
  requests: number
  durationUs: number
  connect: number
  read: number
  write: number
  status: number
  timeout: number
  p50Us: number
  p99Us: number
}

function createWrk(path: string): LoadGenerator {
  const version = wrkVersion(path)
  return {
    name: 'wrk',
    version,
    async run({ url, tokens, connections, seconds }) {
      const args = [
        '-t1',
        `-c${connections}`,
        `-d${seconds}s`,
        '--timeout',
        '10s',
        '-s',
        LUA,
        url,
        '--',
        tokens.file,
      ]
      const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      track(child)
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk
      })
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk
      })
      const timer = setTimeout(() => void stopChild(child, 1_000), (seconds + 20) * 1000)
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
      clearTimeout(timer)
      const line = /^BENCH_RESULT (.+)$/m.exec(stdout)?.[1]
      if (code !== 0 || line === undefined) {
        throw new Error(`wrk failed (exit ${code}): ${stderr.trim().slice(0, 300)}`)
      }
      const summary = JSON.parse(line) as WrkSummary
      const errors =
        summary.status + summary.connect + summary.read + summary.write + summary.timeout
      const ok = summary.requests - summary.status
      return {
        rps: ok / (summary.durationUs / 1e6),
        p50Ms: summary.p50Us / 1000,
        p99Ms: summary.p99Us / 1000,
        requests: summary.requests,
        errors,
      }
    },
  }
}

function createAutocannon(): LoadGenerator {
  return {
    name: 'autocannon',
    version: packageVersion('autocannon'),
    async run({ url, tokens, connections, seconds }) {
      const list = tokens.tokens
      let next = 0
      const result = await autocannon({
        url,
        connections,
        duration: seconds,
        ...(list.length === 1
          ? { headers: { authorization: `Bearer ${list[0]}` } }
          : {
              requests: [
                {
                  method: 'GET',
                  setupRequest: (request) => {
                    const token = list[next]!
                    next = next + 1 === list.length ? 0 : next + 1
                    return { ...request, headers: { authorization: `Bearer ${token}` } }
                  },
                },
              ],
            }),
      })
      const ok = result['2xx']
      return {
        rps: ok / result.duration,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        requests: result.requests.total,
        // autocannon's `errors` already counts the timeouts.
        errors: result.non2xx + result.errors,
      }
    },
  }
}

/**
 * wrk when installed (or asked for), autocannon otherwise; `prefer` forces
 * one (wrk must then be installed).
 */
export function pickGenerator(prefer?: 'wrk' | 'autocannon'): LoadGenerator {
  if (prefer === 'autocannon') return createAutocannon()
  const wrk = findWrk()
  if (wrk !== undefined) return createWrk(wrk)
  if (prefer === 'wrk') throw new Error('--generator wrk: no wrk executable found')
  return createAutocannon()
}
