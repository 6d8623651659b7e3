/** What the bench scripts share on their command line. */

import { isLoopbackUrl } from './services.ts'

/** A bad option: the message and the usage are printed, exit code 2. */
export class UsageError extends Error {}

/**
 * Runs a script's option parser: its settings, or the exit code to end with
 * once the usage is printed (0 when the parser returned nothing: `--help`;
 * 2 for a {@link UsageError} or one of `node:util` parseArgs' own errors).
 *
 * @example
 * const parsed = parseCommandLine(() => parseSettings(argv), USAGE)
 * if ('exitCode' in parsed) return parsed.exitCode
 */
export function parseCommandLine<S>(
  parse: () => S | undefined,
  usage: string,
): { settings: S } | { exitCode: number } {
  let settings: S | undefined
  try {
    settings = parse()
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (
      error instanceof UsageError ||
      (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`${(error as Error).message}\n\n${usage}\n`)
      return { exitCode: 2 }
    }
    throw error
  }
  if (settings === undefined) {
    process.stdout.write(`${usage}\n`)
    return { exitCode: 0 }
  }
  return { settings }
}

/**
 * An integer option from 1 to `max`, or `fallback` when absent.
 *
 * @example
 * const tries = positiveInteger(values.tries, 'tries', quick ? 10 : 50, 1000)
 */
export function positiveInteger(
  value: string | undefined,
  name: string,
  fallback: number,
  max: number,
): number {
  if (value === undefined) return fallback
  const parsed = Number(value)
  if (!Number.isInteger(parsed) || parsed <= 0 || parsed > max) {
    throw new UsageError(
      `--${name} takes an integer from 1 to ${max}, not ${JSON.stringify(value)}`,
    )
  }
  return parsed
}

/**
 * Checks a `--database-url`: a postgres:// URL on this machine (the bench
 * loads this machine only); a {@link UsageError} otherwise.
 */
export function checkDatabaseUrl(databaseUrl: string): string {
  let url: URL
  try {
    url = new URL(databaseUrl)
  } catch {
    throw new UsageError('--database-url takes a postgres:// URL')
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new UsageError('--database-url takes a postgres:// URL')
  }
  if (!isLoopbackUrl(databaseUrl)) {
    throw new UsageError(`refusing a non-loopback database address: ${url.hostname}`)
  }
  return databaseUrl
}
