// `.env` files: `.env.example` documents every variable, and a copy named
// `.env` in the working directory is read at start (or the file given with
// `--env-file`). The environment wins over the file, as with Node's own
// --env-file and process.loadEnvFile, so a deployment's variables cannot be
// changed by a stray file.

import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseEnv } from 'node:util'

/** The environment a command runs with, and the `.env` file it was read from. */
export interface Environment {
  readonly env: Readonly<Record<string, string | undefined>>
  /** Absolute path of the file read, or undefined when there was none. */
  readonly envFile: string | undefined
}

export interface ReadEnvironmentOptions {
  /** Directory `.env` (and a relative `envFile`) are looked up in. */
  cwd: string
  /** A file to read instead of `<cwd>/.env`; it must exist. */
  envFile?: string | undefined
  /** Values that win over both, such as `serve --port` (already variable names). */
  overrides?: Readonly<Record<string, string | undefined>>
}

/** `.env` that cannot be read, or an `--env-file` that does not exist. */
export class EnvFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EnvFileError'
  }
}

/**
 * The variables loadConfig should see: `overrides`, then `env`, then the
 * file's (only those `env` does not set; an empty value counts as set, as
 * with Node's loader). The file is parsed with Node's own parser
 * (`util.parseEnv`, what `process.loadEnvFile` uses) and `env` is not
 * changed: nothing but config/ reads the environment.
 *
 * @example
 * const { env, envFile } = readEnvironment(process.env, { cwd: process.cwd() })
 * const config = loadConfig(env, { cwd: process.cwd() })
 */
export function readEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  options: ReadEnvironmentOptions,
): Environment {
  const explicit = options.envFile !== undefined
  const path = resolve(options.cwd, options.envFile ?? '.env')
  let text: string | undefined
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code !== 'ENOENT' || explicit) {
      throw new EnvFileError(`cannot read the env file ${path}: ${fileErrorReason(error)}`, {
        cause: error,
      })
    }
  }
  const merged: Record<string, string | undefined> = {}
  if (text !== undefined) {
    for (const [name, value] of Object.entries(parseEnv(text))) merged[name] = value
  }
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined) merged[name] = value
  }
  for (const [name, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) merged[name] = value
  }
  return { env: merged, envFile: text === undefined ? undefined : path }
}

/** Why a file could not be read, in words (never its content): `no such file`, `permission denied`… */
export function fileErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return 'no such file'
  if (code === 'EACCES') return 'permission denied'
  if (code === 'EISDIR') return 'is a directory'
  return code ?? 'unreadable'
}
