import pino from 'pino'
import type { Config } from '../config/types.ts'
import { createTessera, type Tessera } from '../tessera.ts'
import type { CliIo } from './io.ts'
import { configFromEnv } from './serve.ts'

/**
 * Opens the deployment a CLI command works on: same config, store, keys and
 * services as `tessera serve`, with logs (warnings only) on the command's
 * stderr so stdout stays its output, and no timers.
 */
export async function withTessera<T>(
  io: CliIo,
  fn: (tessera: Tessera, config: Config) => Promise<T>,
): Promise<T> {
  const config = configFromEnv(io)
  const logger = pino({ level: 'warn', base: null }, io.stderr)
  const tessera = await createTessera(config, {
    logger,
    maintenanceInterval: 0,
    changePollMs: 0,
    // No timer: mail a command queues goes out with its kick, or from the server.
    mailIntervalMs: 0,
  })
  try {
    return await fn(tessera, config)
  } finally {
    await tessera.close()
  }
}

/** The administrator a CLI command acts as, in the audit log. */
export const CLI_ACTOR = Object.freeze({ userId: 'cli', sessionId: null })
export const CLI_CLIENT = Object.freeze({ ip: null, userAgent: 'tessera-cli' })
