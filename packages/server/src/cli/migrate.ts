import type { Command } from 'commander'
import { createSqlStore } from '../storage/sql/index.ts'
import type { CliIo } from './io.ts'
import { configFromEnv } from './serve.ts'

export function register(program: Command, io: CliIo): void {
  program
    .command('migrate')
    .description('apply pending database migrations (serve also does this at start)')
    .action(async () => {
      const config = configFromEnv(io)
      const store = await createSqlStore(config.databaseUrl)
      try {
        const applied = await store.migrate()
        io.stdout.write(
          applied.length === 0
            ? 'database is up to date\n'
            : applied.map((name) => `applied ${name}\n`).join(''),
        )
      } finally {
        await store.close()
      }
    })
}
