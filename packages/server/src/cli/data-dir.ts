// The data dir holding the SQLite database must be the server user's alone:
// the database has every email, password hash, client IP and the audit log.
// Tessera creates it 0700 (runtime/private-files.ts); one made by hand, by an
// older version or by a container volume may be open to others.

import { isAbsolute, relative } from 'node:path'
import type { Config } from '../config/types.ts'
import { describeOpenDir } from '../runtime/private-files.ts'
import { parseDatabaseUrl } from '../storage/sql/index.ts'
import { CliError } from './output.ts'

/**
 * Checks the data dir when the SQLite database lives in it (PostgreSQL, and a
 * SQLite file elsewhere, leave nothing of Tessera's to check). A data dir that
 * group or others can enter is a refusal in production (exit 2, one line with
 * the `chmod 700` to run) and a warning to log otherwise.
 *
 * @example
 * const warning = checkDataDir(config)
 * if (warning !== undefined) log.warn(warning)
 */
export function checkDataDir(config: Config): string | undefined {
  const location = parseDatabaseUrl(config.databaseUrl)
  if (location.kind !== 'sqlite' || location.path === ':memory:') return undefined
  const inside = relative(config.dataDir, location.path)
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return undefined
  const problem = describeOpenDir(config.dataDir)
  if (problem === undefined) return undefined
  if (config.production) throw new CliError(`refusing to start: ${problem}`)
  return `${problem} (NODE_ENV=production refuses to start)`
}
