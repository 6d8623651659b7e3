// Runs `tessera` commands in the test's own process (src/cli/run.ts): the
// same program as the binary, with the environment, working directory and
// stdin a child process would get, without starting Node.js for each
// command. The binary itself stays tested end to end where a suite spawns it
// (cli-token's bin/ and stdin tests, first-hour, `serve` everywhere).

import { type CliResult, runCli } from '../../src/cli/run.ts'
import { childEnv, workingDir } from './server-process.ts'

export type { CliResult }

/**
 * Runs `tessera ARGS` against a data dir, with the environment and working
 * directory support/server-process.ts gives its children (PATH and HOME,
 * TEST_ENV, TESSERA_DATA_DIR, then `env`; the data dir or the closest
 * directory above it that exists); resolves to its exit code and output.
 * server-process.ts's runCli is this, without stdin.
 */
export function runCliInProcess(
  dataDir: string,
  args: string[],
  env: Record<string, string> = {},
  options: { stdin?: string } = {},
): Promise<CliResult> {
  // Either would keep its server or child, and its signal handlers, in the test's process.
  const help = args.includes('--help') || args.includes('-h')
  if ((args[0] === 'serve' || args[0] === 'bench') && !help) {
    throw new Error(`tessera ${args[0]} runs as a child process (startServer), not in process`)
  }
  return runCli(args, {
    cwd: workingDir(dataDir),
    env: childEnv(dataDir, env),
    ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
  })
}
