import type { Command } from 'commander'
import { loadConfig } from '../config/index.ts'
import { deprioritizeThreadpool } from '../runtime/threadpool-priority.ts'
import { createTessera } from '../tessera.ts'
import { CliError } from './output.ts'

/** Loads the config from the environment; a bad variable is one line and exit 2. */
export function configFromEnv(): ReturnType<typeof loadConfig> {
  try {
    return loadConfig(process.env, { cwd: process.cwd() })
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error))
  }
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the auth server (configured by TESSERA_* environment variables)')
    .action(async () => {
      const config = configFromEnv()
      const tessera = await createTessera(config)
      const { app, log } = tessera
      // Password hashing must not starve the event loop (runtime/threadpool-priority.ts).
      const niced = await deprioritizeThreadpool()
      log.debug(
        { threads: niced },
        'threadpool threads run at a lower priority than the event loop',
      )
      let closing = false
      const shutdown = (signal: string): void => {
        if (closing) return
        closing = true
        log.info({ signal }, 'shutting down: finishing in-flight requests')
        // A second signal, or a hung close, must still end the process.
        const force = setTimeout(() => {
          log.error('shutdown took longer than 10 s; exiting')
          process.exit(1)
        }, 10_000)
        force.unref()
        tessera.close().then(
          () => log.info('stopped'),
          (error: unknown) => {
            log.error({ err: error }, 'shutdown failed')
            process.exitCode = 1
          },
        )
      }
      process.once('SIGINT', () => shutdown('SIGINT'))
      process.once('SIGTERM', () => shutdown('SIGTERM'))
      try {
        await app.listen({ host: config.host, port: config.port })
      } catch (error) {
        await tessera.close()
        const code = (error as NodeJS.ErrnoException).code
        throw new CliError(
          code === 'EADDRINUSE'
            ? `TESSERA_PORT: ${config.host}:${config.port} is already in use`
            : `cannot listen on ${config.host}:${config.port}: ${code ?? 'unknown error'}`,
        )
      }
      const address = app.server.address()
      const port = typeof address === 'object' && address !== null ? address.port : config.port
      log.info(
        {
          issuer: config.issuer,
          jwks: `${config.issuer}/.well-known/jwks.json`,
          alg: config.signingAlg,
        },
        `Tessera listening on http://${config.host}:${port}`,
      )
    })
}
