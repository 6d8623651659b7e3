import type { Command } from 'commander'
import { describeConfig } from '../config/index.ts'
import type { CliIo } from './io.ts'
import { loadCliConfig } from './serve.ts'

export function register(program: Command, io: CliIo): void {
  program
    .command('config')
    .description('configuration')
    .command('check')
    .description(
      'validate TESSERA_* variables and print the effective configuration (secrets redacted)',
    )
    .option('--env-file <path>', 'read variables from this file instead of ./.env')
    .action((options: { envFile?: string }) => {
      const { config, envFile, warnings } = loadCliConfig(io, { envFile: options.envFile })
      // On stderr: stdout is the configuration alone.
      if (envFile !== undefined) io.stderr.write(`read variables from ${envFile}\n`)
      for (const warning of warnings) io.stderr.write(`warning: ${warning}\n`)
      io.stdout.write(`${describeConfig(config)}\n`)
    })
}
