// Runs a `tessera` command in this process, as the binary would run it in
// its own: the same program, the same exit codes and output, but with the
// environment, working directory and stdin given here and stdout and stderr
// collected. Tests use it to run many commands without starting a Node.js
// process for each. It never calls process.exit and never reads
// process.env, process.stdin or writes process.stdout.
//
// `serve` resolves once it listens and keeps its server (and its SIGINT and
// SIGTERM handlers) in this process: run it through the binary instead.
// `bench` runs its child on this process's own stdio.

import type { CliIo, Sink } from './io.ts'
import { execute } from './main.ts'

export interface RunCliOptions {
  /** The environment the command reads its configuration from (not process.env): `{}` by default. */
  env?: Readonly<Record<string, string | undefined>>
  /** Where `./.env` and relative paths are looked up: process.cwd() by default. */
  cwd?: string
  /** All of stdin (`--password-stdin`, `token decode -`): empty by default. */
  stdin?: string
}

export interface CliResult {
  /** The exit code the binary would exit with. */
  code: number
  stdout: string
  stderr: string
}

/** A sink that keeps what is written; not a terminal. */
function buffer(): Sink & { text(): string } {
  const chunks: string[] = []
  return {
    write(text: string) {
      chunks.push(text)
      return true
    },
    isTTY: false,
    text: () => chunks.join(''),
  }
}

/**
 * Runs `tessera ARGS` and resolves with its exit code and output.
 *
 * @example
 * const { code, stdout } = await runCli(['users', 'list', '--json'], {
 *   env: { TESSERA_DATA_DIR: dir },
 *   cwd: dir,
 * })
 */
export async function runCli(
  args: readonly string[],
  options: RunCliOptions = {},
): Promise<CliResult> {
  const stdout = buffer()
  const stderr = buffer()
  const stdin = options.stdin ?? ''
  const io: CliIo = {
    env: { ...options.env },
    cwd: options.cwd ?? process.cwd(),
    stdout,
    stderr,
    readStdin: async () => stdin,
    exitCode: undefined,
  }
  const code = await execute(args, io)
  return { code, stdout: stdout.text(), stderr: stderr.text() }
}
