// The `tessera` command line. Each command lives in its own module that
// exports `register(program)`; this file only assembles them and turns every
// failure into one `error: ...` line and an exit code (see output.ts).

import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import * as benchCommand from './bench.ts'
import * as clientsCommand from './clients.ts'
import * as configCommand from './config.ts'
import * as keysCommand from './keys.ts'
import * as mailCommand from './mail.ts'
import * as migrateCommand from './migrate.ts'
import { oneLine, reportError } from './output.ts'
import * as secretCommand from './secret.ts'
import * as serveCommand from './serve.ts'
import * as tokenCommand from './token.ts'
import * as usersCommand from './users.ts'

/** What a command module exports. */
export interface CommandModule {
  register(program: Command): void
}

/** Registration order is the order `tessera --help` lists them in. */
const COMMANDS: readonly CommandModule[] = [
  serveCommand,
  migrateCommand,
  usersCommand,
  clientsCommand,
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
 * Builds the program. Settings made here before the commands are registered
 * are inherited by every subcommand (commander copies them in `.command()`).
 */
export function createProgram(commands: readonly CommandModule[] = COMMANDS): Command {
  const program = new Command('tessera')
    .description('Tessera: self-hosted JWT authentication server and token toolkit')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      // Commander's parse errors already start with "error: "; keep them to one line.
      outputError: (text, write) => write(`${oneLine(text)}\n`),
    })
  for (const command of commands) command.register(program)
  return program
}

/**
 * Runs the CLI and resolves to the exit code. It does not call process.exit:
 * a long-running command (`serve`) resolves once it has started, and the
 * process lives on.
 */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  try {
    await createProgram().parseAsync([...argv])
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (error) {
    return reportError(error)
  }
}

if (import.meta.main) process.exitCode = await main()
