import type { Command } from 'commander'
import { CLI_ACTOR, CLI_CLIENT, withTessera } from './context.ts'
import type { CliIo } from './io.ts'

function printKeys(
  io: CliIo,
  keys: readonly {
    kid: string
    alg: string
    state: string
    activatesAt: string
    expiresAt: string | null
  }[],
): void {
  for (const key of keys) {
    io.stdout.write(
      `${key.state.padEnd(8)} ${key.alg.padEnd(6)} ${key.kid}  activates ${key.activatesAt}${key.expiresAt === null ? '' : `  leaves the JWKS ${key.expiresAt}`}\n`,
    )
  }
}

export function register(program: Command, io: CliIo): void {
  const keys = program.command('keys').description('signing keys: list, rotate, export the JWKS')
  keys
    .command('list')
    .description('list signing keys and their state (next, current, retired)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      await withTessera(io, async (tessera) => {
        const list = tessera.auth.adminListKeys()
        if (options.json === true) io.stdout.write(`${JSON.stringify(list, null, 2)}\n`)
        else printKeys(io, list)
      })
    })
  keys
    .command('rotate')
    .description('publish a new key as "next"; it signs after the publication delay')
    .option('--now', 'sign with the new key at once (after a key compromise)')
    .action(async (options: { now?: boolean }) => {
      await withTessera(io, async (tessera) => {
        // HS* answers AuthError forbidden, saying what to do instead: one line, exit 2.
        printKeys(
          io,
          await tessera.auth.adminRotateKeys(CLI_ACTOR, CLI_CLIENT, {
            immediate: options.now === true,
          }),
        )
      })
    })
  keys
    .command('export')
    .description('print the public JWKS (what /.well-known/jwks.json serves)')
    .action(async () => {
      await withTessera(io, async (tessera) => {
        io.stdout.write(`${JSON.stringify(tessera.auth.jwks(), null, 2)}\n`)
      })
    })
}
