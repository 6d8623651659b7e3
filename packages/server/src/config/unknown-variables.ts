// A misspelt variable (TESSERA_PROT) would otherwise be ignored without a
// word and the default used instead. Every TESSERA_* name that is neither in
// the schema nor read by the project's own tooling gets one warning line,
// with the closest known name when there is one.

import { PROVIDER_FIELDS, providerVariable } from './providers.ts'
import { CONFIG_SCHEMA } from './schema.ts'

/**
 * TESSERA_* variables the project reads outside the server's configuration,
 * so they are no typo in the server's environment: the test suites
 * (TESSERA_TEST_*, and these), ./dev's Node.js cache, and the example
 * resource servers (examples/shared/config.ts).
 */
export const OTHER_VARIABLES: readonly string[] = Object.freeze([
  'TESSERA_UPDATE_SCREENSHOTS',
  'TESSERA_WRITE_INTEROP',
  'TESSERA_NODE_CACHE',
  'TESSERA_URL',
  'TESSERA_FEED_KEY',
  'TESSERA_WHEN_STALE',
])

/** Prefixes of variable families read outside the server (the test suites' and benchmarks' databases, browser). */
export const OTHER_PREFIXES: readonly string[] = Object.freeze(['TESSERA_TEST_', 'TESSERA_BENCH_'])

const PREFIX = 'TESSERA_'

/** Longest edit distance at which a known name is offered as the one meant. */
function suggestionDistance(name: string): number {
  return Math.max(2, Math.floor((name.length - PREFIX.length) / 3))
}

/**
 * One line per environment variable that looks like Tessera's but is not
 * one it reads, in name order, e.g.
 * `TESSERA_PROT is not a Tessera variable and is ignored; did you mean TESSERA_PORT?`.
 * A name that differs from a known one only by case (`tessera_port`) is
 * caught too: environment names are case-sensitive.
 *
 * @example
 * for (const line of unknownVariableWarnings(process.env)) log.warn(line)
 */
export function unknownVariableWarnings(
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const schema = CONFIG_SCHEMA.map((entry) => entry.name).filter((name) => name.startsWith(PREFIX))
  const known = new Set([...schema, ...OTHER_VARIABLES, ...providerVariables(env)])
  const warnings: string[] = []
  for (const name of Object.keys(env).sort()) {
    if (!name.toUpperCase().startsWith(PREFIX) || known.has(name)) continue
    if (OTHER_PREFIXES.some((prefix) => name.startsWith(prefix))) continue
    if (PROVIDER_VARIABLE.test(name)) {
      warnings.push(
        `${name} is ignored: its provider is not listed in TESSERA_PROVIDERS; docs/configuration.md lists every variable`,
      )
      continue
    }
    const closest = closestName(name.toUpperCase(), schema)
    const hint =
      closest === undefined
        ? '; docs/configuration.md lists every variable'
        : `; did you mean ${closest}?`
    warnings.push(`${name} is not a Tessera variable and is ignored${hint}`)
  }
  return warnings
}

const PROVIDER_VARIABLE = new RegExp(`^TESSERA_PROVIDER_[A-Z0-9_]+_(${PROVIDER_FIELDS.join('|')})$`)

/** The TESSERA_PROVIDER_<ID>_* names of the providers TESSERA_PROVIDERS lists. */
function providerVariables(env: Readonly<Record<string, string | undefined>>): string[] {
  const ids = (env.TESSERA_PROVIDERS ?? '')
    .split(',')
    .map((id) => id.trim().toLowerCase())
    .filter((id) => id !== '')
  return ids.flatMap((id) => PROVIDER_FIELDS.map((field) => providerVariable(id, field)))
}

/** The known name nearest to `name`, when it is near enough to be the one meant. */
function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate)
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= suggestionDistance(name) ? best : undefined
}

/**
 * Optimal string alignment distance: insertions, deletions, substitutions,
 * and a swap of two adjacent characters (PROT/PORT) each cost 1.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[] = new Array(rows * cols).fill(0)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min(
        d[(i - 1) * cols + j]! + 1,
        d[i * cols + j - 1]! + 1,
        d[(i - 1) * cols + j - 1]! + cost,
      )
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, d[(i - 2) * cols + j - 2]! + 1)
      }
      d[i * cols + j] = value
    }
  }
  return d[rows * cols - 1]!
}
