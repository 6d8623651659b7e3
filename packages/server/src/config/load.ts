// loadConfig: the only reader of environment variables. Parses the schema in
// order, stops at the first bad variable with one line that names it (never a
// secret's value), and returns a deep-frozen Config (Fastify freezes its
// validated options the same way: nothing can change them after boot).

import { ExpectedValue, RefusedValue } from './parsers.ts'
import { ProviderVariableError } from './providers.ts'
import {
  CONFIG_SCHEMA,
  type ConfigVariable,
  type ParseContext,
  type ValueSource,
} from './schema.ts'
import type { Config } from './types.ts'

/** A bad configuration value. `message` is one line naming the variable; `variable` is its name. */
export class ConfigError extends Error {
  readonly variable: string

  constructor(variable: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ConfigError'
    this.variable = variable
  }
}

export interface LoadConfigOptions {
  /** Directory relative paths (TESSERA_DATA_DIR, sqlite: paths) resolve against. Default: the process's. */
  cwd?: string
}

// Where each value of a loaded Config came from, for describeConfig.
const sourcesByConfig = new WeakMap<Config, ReadonlyMap<keyof Config, ValueSource>>()

/**
 * Parses and validates every variable of the schema and returns the frozen
 * Config. An empty value counts as unset (as `FOO=` in a compose file means).
 *
 * @throws ConfigError for the first variable (in schema order) that is
 * malformed or breaks a rule, e.g.
 * `TESSERA_PORT: expected an integer from 0 to 65535, got "abc"`.
 *
 * @example
 * const config = loadConfig(process.env, { cwd: process.cwd() })
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  options: LoadConfigOptions = {},
): Config {
  const values: Partial<Record<keyof Config, unknown>> = {}
  const sources = new Map<keyof Config, ValueSource>()
  const context: ParseContext = {
    config: values as Partial<Config>,
    sources,
    cwd: options.cwd ?? process.cwd(),
    env,
  }
  for (const entry of CONFIG_SCHEMA) {
    const raw = Object.hasOwn(env, entry.name) ? env[entry.name]?.trim() : undefined
    const fromEnv = raw !== undefined && raw !== ''
    let value: Config[keyof Config] | undefined
    try {
      value = fromEnv ? entry.parse(raw, context) : defaultOf(entry, context)
      entry.check?.(value, context)
    } catch (error) {
      throw toConfigError(entry, error, fromEnv ? raw : undefined, fromEnv ? undefined : value)
    }
    values[entry.key] = value
    sources.set(entry.key, fromEnv ? 'env' : 'default')
  }
  const config = deepFreeze(values) as Config
  sourcesByConfig.set(config, sources)
  return config
}

function defaultOf(entry: ConfigVariable, context: ParseContext): Config[keyof Config] {
  return typeof entry.default === 'function' ? entry.default(context) : entry.default
}

function toConfigError(
  entry: ConfigVariable,
  error: unknown,
  raw: string | undefined,
  defaultValue: Config[keyof Config] | undefined,
): ConfigError {
  // A provider's own variable (TESSERA_PROVIDER_<ID>_*) is named, not TESSERA_PROVIDERS.
  if (error instanceof ProviderVariableError) {
    return new ConfigError(error.variable, `${error.variable}: ${error.message}`)
  }
  if (error instanceof ExpectedValue) {
    let message = `${entry.name}: expected ${error.message}`
    // A secret's value is never echoed; a URL's only with its password masked.
    const shown =
      raw === undefined || entry.secret ? undefined : entry.redact ? entry.redact(raw) : raw
    if (shown !== undefined) message += `, got ${JSON.stringify(clip(shown))}`
    return new ConfigError(entry.name, message)
  }
  if (error instanceof RefusedValue) {
    const label =
      defaultValue !== undefined && !entry.secret
        ? `${entry.name} (default ${entry.format(defaultValue)})`
        : entry.name
    return new ConfigError(entry.name, `${label}: ${error.message}`)
  }
  return new ConfigError(entry.name, `${entry.name}: could not be read`, { cause: error })
}

function clip(text: string): string {
  return text.length <= 120 ? text : `${text.slice(0, 117)}...`
}

/** Freezes every nested object and array. Buffers cannot be frozen (typed arrays): treat them as read-only. */
function deepFreeze<T extends object>(root: T): T {
  const pending: object[] = [root]
  while (pending.length > 0) {
    const value = pending.pop()!
    if (ArrayBuffer.isView(value) || Object.isFrozen(value)) continue
    Object.freeze(value)
    for (const child of Object.values(value)) {
      if (typeof child === 'object' && child !== null) pending.push(child)
    }
  }
  return root
}

/**
 * Every variable with its effective value and where it came from (`env` or
 * `default`), one per line, for `tessera config check`. Secrets show as
 * `<set, redacted>` or `<not set>`; URLs with their password masked.
 */
export function describeConfig(config: Config): string {
  const sources = sourcesByConfig.get(config)
  const rows = CONFIG_SCHEMA.map((entry) => {
    const value = config[entry.key]
    const shown = entry.secret ? secretState(value) : entry.format(value)
    return [entry.name, shown, sources?.get(entry.key) ?? 'unknown'] as const
  })
  const nameWidth = Math.max(...rows.map(([name]) => name.length))
  const valueWidth = Math.min(60, Math.max(...rows.map(([, shown]) => shown.length)))
  return rows
    .map(
      ([name, shown, source]) =>
        `${name.padEnd(nameWidth)}  ${shown.padEnd(valueWidth)}  (${source})`,
    )
    .join('\n')
}

function secretState(value: unknown): string {
  const empty = value === undefined || (Array.isArray(value) && value.length === 0)
  return empty ? '<not set>' : '<set, redacted>'
}
