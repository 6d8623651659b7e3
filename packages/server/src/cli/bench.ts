// `tessera bench`: the end-to-end benchmark of the repository (bench/index.ts,
// the same as `npm run bench`), in a child process so that its servers, its
// peers and their dependencies stay out of this one. It exists only in a
// source checkout: the published package carries no bench/.

import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import type { CliIo } from './io.ts'
import { CliError } from './output.ts'

// src/cli/ (and dist/cli/) sit four levels under the repository root.
const BENCH_INDEX = fileURLToPath(new URL('../../../../bench/index.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))

/** Runs bench/index.ts with `args`; resolves to its exit code. */
export function runBench(args: readonly string[], io: CliIo): Promise<number> {
  if (!existsSync(BENCH_INDEX)) {
    throw new CliError(
      'tessera bench runs from a source checkout of Tessera (bench/index.ts not found); clone the repository and run `npm run bench`',
    )
  }
  const child = spawn(process.execPath, ['--conditions=source', BENCH_INDEX, ...args], {
    cwd: ROOT,
    env: io.env,
    stdio: 'inherit',
  })
  // Ctrl-C reaches the child too (same process group): it stops its servers
  // and exits, and this process waits for that instead of dying first.
  const onInterrupt = (): void => {}
  const onTerminate = (): void => {
    child.kill('SIGTERM')
  }
  process.on('SIGINT', onInterrupt)
  process.on('SIGTERM', onTerminate)
  return new Promise((resolve, reject) => {
    const done = (): void => {
      process.off('SIGINT', onInterrupt)
      process.off('SIGTERM', onTerminate)
    }
    child.once('error', (error) => {
      done()
      reject(error)
    })
    child.once('exit', (code, signal) => {
      done()
      resolve(code ?? (signal === null ? 1 : 128 + 2))
    })
  })
}

export function register(program: Command, io: CliIo): void {
  program
    .command('bench')
    .description(
      'run the end-to-end benchmark against the peers (source checkout only; `tessera bench --help` for its options)',
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument(
      '[options...]',
      'passed to bench/index.ts: --quick, --scenario 1,3, --rounds N, --duration S, ...',
    )
    .action(async (options: string[]) => {
      io.exitCode = await runBench(options, io)
    })
}
