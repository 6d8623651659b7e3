import type { Command } from 'commander'
import pino, { type Logger } from 'pino'
import { EnvFileError, readEnvironment } from '../config/env-file.ts'
import { ConfigError, loadConfig } from '../config/index.ts'
import type { Config } from '../config/types.ts'
import { unknownVariableWarnings } from '../config/unknown-variables.ts'
import { compactHeap } from '../runtime/compact-heap.ts'
import { deprioritizeThreadpool } from '../runtime/threadpool-priority.ts'
import { createTessera } from '../tessera.ts'
import { checkDataDir } from './data-dir.ts'
import type { CliIo, Sink } from './io.ts'
import { CliError } from './output.ts'

/** Where a command's configuration comes from, besides the environment. */
export interface ConfigSourceOptions {
  /** `--env-file`: read this file instead of `./.env`. */
  envFile?: string | undefined
  /** Flags that set a variable (`serve --port`): variable name → [flag, value]. */
  flags?: Readonly<Record<string, readonly [flag: string, value: string | undefined]>>
}

/** A loaded configuration, the `.env` file it read and the warnings about the environment. */
export interface LoadedConfig {
  readonly config: Config
  readonly envFile: string | undefined
  /** One line per unknown TESSERA_* variable (a typo), to show before starting. */
  readonly warnings: readonly string[]
}

/**
 * Loads the config from flags, the command's environment and `.env` in its
 * working directory (in that order of precedence); a bad variable is one line
 * and exit 2. A flag's error names the flag as well as its variable.
 */
export function loadCliConfig(
  io: Pick<CliIo, 'env' | 'cwd'>,
  options: ConfigSourceOptions = {},
): LoadedConfig {
  const { cwd } = io
  const flags = Object.entries(options.flags ?? {})
  const overrides = Object.fromEntries(flags.map(([name, [, value]]) => [name, value]))
  try {
    const { env, envFile } = readEnvironment(io.env, {
      cwd,
      envFile: options.envFile,
      overrides,
    })
    return { config: loadConfig(env, { cwd }), envFile, warnings: unknownVariableWarnings(env) }
  } catch (error) {
    if (error instanceof ConfigError) {
      const flag = flags.find(([name, [, value]]) => name === error.variable && value !== undefined)
      throw new CliError(flag === undefined ? error.message : `${flag[1][0]} (${error.message})`)
    }
    if (error instanceof EnvFileError) throw new CliError(error.message)
    throw new CliError(error instanceof Error ? error.message : String(error))
  }
}

/** Loads the config from the environment and `.env`; a bad variable is one line and exit 2. */
export function configFromEnv(io: Pick<CliIo, 'env' | 'cwd'>): Config {
  return loadCliConfig(io).config
}

/**
 * Readable lines (pino-pretty) for a developer at a terminal; JSON lines
 * otherwise: in production and whenever stdout is a pipe or a file, a log
 * shipper reads them.
 */
export function wantsPrettyLogs(config: Pick<Config, 'production'>, isTTY: boolean): boolean {
  return !config.production && isTTY
}

/** The logger of `tessera serve`, on `output` (its stdout). */
export async function createServeLogger(
  config: Config,
  output: Sink = process.stdout,
): Promise<Logger> {
  const options = { level: config.logLevel, base: { service: 'tessera' } }
  if (!wantsPrettyLogs(config, output.isTTY === true)) {
    return output === process.stdout ? pino(options) : pino(options, output)
  }
  // Imported here only: production and piped output never load it.
  const { default: pretty } = await import('pino-pretty')
  return pino(
    options,
    pretty({
      destination: output,
      sync: true,
      colorize: true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,service',
    }),
  )
}

export function register(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('run the auth server (configured by TESSERA_* environment variables)')
    .option('--port <port>', 'TCP port to listen on; sets TESSERA_PORT (default 3000)')
    .option('--host <address>', 'address to listen on; sets TESSERA_HOST (default 127.0.0.1)')
    .option(
      '--data-dir <path>',
      'directory of the SQLite file and the development master key; sets TESSERA_DATA_DIR (default ./data)',
    )
    .option('--env-file <path>', 'read variables from this file instead of ./.env')
    .addHelpText(
      'after',
      `
Every setting is a TESSERA_* environment variable; a flag wins over its
variable. Variables are also read from ./.env when it exists (or from
--env-file); a variable set in the environment wins over the file.
  tessera config check    prints the effective configuration
  docs/configuration.md   lists every variable, its default and its form`,
    )
    .action(
      async (options: { port?: string; host?: string; dataDir?: string; envFile?: string }) => {
        const { config, envFile, warnings } = loadCliConfig(io, {
          envFile: options.envFile,
          flags: {
            TESSERA_PORT: ['--port', options.port],
            TESSERA_HOST: ['--host', options.host],
            TESSERA_DATA_DIR: ['--data-dir', options.dataDir],
          },
        })
        const logger = await createServeLogger(config, io.stdout)
        if (envFile !== undefined) logger.info({ envFile }, `read variables from ${envFile}`)
        for (const warning of warnings) logger.warn(warning)
        const openDataDir = checkDataDir(config)
        if (openDataDir !== undefined) logger.warn(openDataDir)
        const tessera = await createTessera(config, { logger })
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
        // Fastify logs its own "Server listening at" line (one per address)
        // and has no option to skip it (fastify/help#641): its logger stays
        // quiet while it starts listening, so the line below is the only one.
        const level = app.log.level
        app.log.level = 'warn'
        try {
          // ready() compiles every route's schemas (listen would): then what
          // starting up allocated and no longer needs goes back to the
          // system, before the first request (runtime/compact-heap.ts).
          await app.ready()
          const started = performance.now()
          const heap = compactHeap()
          log.debug(
            {
              beforeMiB: Math.round(heap.before / 2 ** 20),
              afterMiB: Math.round(heap.after / 2 ** 20),
              ms: Math.round(performance.now() - started),
            },
            'heap compacted after start',
          )
          await app.listen({ host: config.host, port: config.port })
        } catch (error) {
          await tessera.close()
          const code = (error as NodeJS.ErrnoException).code
          throw new CliError(
            code === 'EADDRINUSE'
              ? `TESSERA_PORT: ${config.host}:${config.port} is already in use`
              : `cannot listen on ${config.host}:${config.port}: ${code ?? 'unknown error'}`,
          )
        } finally {
          app.log.level = level
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
        // A first start in development: where to go next.
        if (!config.production && config.pagesEnabled) {
          log.info(
            config.signupEnabled
              ? `Sign up at ${config.issuer}/signup`
              : `Sign in at ${config.issuer}/login`,
          )
        }
      },
    )
}
