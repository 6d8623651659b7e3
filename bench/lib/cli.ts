/** What the bench scripts share on their command line. */

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
