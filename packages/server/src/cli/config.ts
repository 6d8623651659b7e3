import type { Command } from 'commander'
import { describeConfig } from '../config/index.ts'
import { configFromEnv } from './serve.ts'

export function register(program: Command): void {
  program
    .command('config')
    .description('configuration')
    .command('check')
    .description(
      'validate TESSERA_* variables and print the effective configuration (secrets redacted)',
    )
    .action(() => {
      process.stdout.write(`${describeConfig(configFromEnv())}\n`)
    })
}
