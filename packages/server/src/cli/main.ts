// The `tessera` command line. Each command lives in its own module that
// exports `register(program, io)`; this file only assembles them and turns
// every failure into one `error: ...` line and an exit code (see output.ts).
// Commands read and write through a CliIo (io.ts): the process's for the
// real binary, buffers for runCli (run.ts).

import './keep-tick-shape.ts'
import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import * as benchCommand from './bench.ts'
import * as clientsCommand from './clients.ts'
import * as configCommand from './config.ts'
import { type CliIo, hasColors, processIo } from './io.ts'
import * as keysCommand from './keys.ts'
import * as mailCommand from './mail.ts'
import * as migrateCommand from './migrate.ts'
import { oneLine, reportError } from './output.ts'
import * as providersCommand from './providers.ts'
import * as secretCommand from './secret.ts'
import * as serveCommand from './serve.ts'
import * as tokenCommand from './token.ts'
import * as usersCommand from './users.ts'

/** What a command module exports. */
export interface CommandModule {
  /** Adds the command; its actions read and write through `io` only. */
  register(program: Command, io: CliIo): void
}

/** Registration order is the order `tessera --help` lists them in. */
const COMMANDS: readonly CommandModule[] = [
  serveCommand,
  migrateCommand,
  usersCommand,
  clientsCommand,
  providersCommand,
  keysCommand,
  mailCommand,
  configCommand,
  tokenCommand,
  secretCommand,
  benchCommand,
]

function packageVersion(): string {
  // src/cli/ and dist/cli/ both sit two levels under the package root.
  const raw = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
  return (JSON.parse(raw) as { version: string }).version
}

/**
 * Builds the program for one run. Settings made here before the commands are
 * registered are inherited by every subcommand (commander copies them in
 * `.command()`): commander's own output (help, version, parse errors) goes
 * to `io` too, wrapped and colored as the real streams would be.
 */
export function createProgram(io: CliIo, commands: readonly CommandModule[] = COMMANDS): Command {
  const program = new Command('tessera')
    .description('Tessera: self-hosted JWT authentication server and token toolkit')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      // Commander's parse errors already start with "error: "; keep them to one line.
      outputError: (text, write) => write(`${oneLine(text)}\n`),
      // A terminal's width, 80 columns otherwise (commander's own default).
      getOutHelpWidth: () => (io.stdout.isTTY === true ? io.stdout.columns : undefined) ?? 80,
      getErrHelpWidth: () => (io.stderr.isTTY === true ? io.stderr.columns : undefined) ?? 80,
      getOutHasColors: () => hasColors(io, io.stdout),
      getErrHasColors: () => hasColors(io, io.stderr),
    })
  for (const command of commands) command.register(program, io)
  return program
}

/**
 * Runs `tessera ARGS` (the arguments after the command name) with `io` and
 * resolves to the exit code; every failure is one `error: ...` line on
 * io.stderr. It does not call process.exit: a long-running command (`serve`)
 * resolves once it has started, and the process lives on.
 */
export async function execute(args: readonly string[], io: CliIo): Promise<number> {
  try {
    await createProgram(io).parseAsync([...args], { from: 'user' })
    return io.exitCode ?? 0
  } catch (error) {
    return reportError(io, error)
  }
}

/** The real binary: `argv` as process.argv holds it, and this process's streams and environment. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  return execute(argv.slice(2), processIo())
}

if (import.meta.main) process.exitCode = await main()
