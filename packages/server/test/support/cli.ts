// Runs `tessera` commands in the test's own process (src/cli/run.ts): the
// same program as the binary, with the environment, working directory and
// stdin a child process would get, without starting Node.js for each
// command. The binary itself stays tested end to end where a suite spawns it
// (cli-token's bin/ and stdin tests, first-hour, `serve` everywhere).

import { existsSync } from 'node:fs'
import { dirname } from 'node:path'
import { type CliResult, runCli } from '../../src/cli/run.ts'
import { TEST_ENV } from './server-process.ts'

export type { CliResult }

/**
 * The working directory a command gets: the data dir, or the closest
 * directory above it that exists. Not the repository root, where a
 * developer's ./.env would reach the tests. (As support/server-process.ts.)
 */
function workingDir(dataDir: string): string {
  let dir = dataDir
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
}

/**
 * Runs `tessera ARGS` against a data dir, with the environment
 * support/server-process.ts gives its children (TEST_ENV, TESSERA_DATA_DIR,
 * then `env`); resolves to its exit code and output.
 */
export function runCliInProcess(
  dataDir: string,
  args: string[],
  env: Record<string, string> = {},
  options: { stdin?: string } = {},
): Promise<CliResult> {
  return runCli(args, {
    cwd: workingDir(dataDir),
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...TEST_ENV,
      TESSERA_DATA_DIR: dataDir,
      ...env,
    },
    ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
  })
}
