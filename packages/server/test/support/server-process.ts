// Starts the real `tessera` binary as a child process on 127.0.0.1 with an
// ephemeral port, for end-to-end tests; runs the other `tessera` commands in
// this process (support/cli.ts) with the environment and working directory
// such a child gets. Nothing here is used by the server.

import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { CliResult } from './cli.ts'

export const repoRoot = resolve(import.meta.dirname, '../../../..')
const main = join(repoRoot, 'packages/server/src/cli/main.ts')

/** Every e2e server: loopback only, an ephemeral port, an issuer of its own. */
export const TEST_ENV: Record<string, string> = {
  TESSERA_HOST: '127.0.0.1',
  TESSERA_PORT: '0',
  TESSERA_ISSUER: 'http://localhost:3999',
  TESSERA_LOG_LEVEL: 'info',
}

export interface ServerProcess {
  readonly url: string
  readonly dataDir: string
  readonly logs: string[]
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export function makeDataDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-e2e-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * The child's working directory: the data dir, or the closest directory above
 * it that exists. Not the repository root, where a developer's ./.env would
 * reach the tests. A command run in process (support/cli.ts) gets it too.
 */
export function workingDir(dataDir: string): string {
  let dir = dataDir
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
}

/**
 * The child's environment, and a command's run in process: PATH and HOME
 * only of this process's, then TEST_ENV, TESSERA_DATA_DIR and `env`.
 */
export function childEnv(dataDir: string, env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME }
  return { ...base, ...TEST_ENV, TESSERA_DATA_DIR: dataDir, ...env }
}

/** Starts `tessera serve` and resolves once it logs its listening address. */
export async function startServer(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--conditions=source', main, 'serve'], {
    cwd: workingDir(dataDir),
    env: childEnv(dataDir, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: string[] = []
  const exited = once(child, 'exit')
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      // A server that never said it listens must not outlive the test run.
      child.kill('SIGKILL')
      reject(new Error(`server did not start:\n${logs.join('\n')}`))
    }, 20_000)
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      logs.push(line)
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(line)
      if (match) {
        clearTimeout(timer)
        resolveUrl(match[1]!)
      }
    })
    createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line))
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code}:\n${logs.join('\n')}`))
    })
  })
  return {
    url,
    dataDir,
    logs,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode
      child.kill(signal)
      const [code] = (await exited) as [number | null]
      return code
    },
  }
}

/**
 * Runs a `tessera` CLI command against a data dir, in this process
 * (support/cli.ts: no Node.js started per command), with the environment and
 * working directory a child would get; resolves to its exit code and output.
 * `serve` is startServer's: a child process.
 */
export async function runCli(
  dataDir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  // Loaded on first use: a suite that only starts servers never loads the CLI.
  const { runCliInProcess } = await import('./cli.ts')
  return runCliInProcess(dataDir, args, env)
}

/** A tiny cookie jar for one origin: enough for `tessera_refresh`. */
export class CookieJar {
  readonly #cookies = new Map<string, string>()

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))
      if (expired || value === '') this.#cookies.delete(name)
      else this.#cookies.set(name, value)
    }
  }

  get(name: string): string | undefined {
    return this.#cookies.get(name)
  }

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }
}
