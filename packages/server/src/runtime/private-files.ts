// The data directory holds the SQLite database (emails, password hashes,
// client IPs, the audit log) and, outside production, the master key. Only
// the server's own user may read them, whatever umask it was started with:
// modes are set explicitly (mkdir and open only ever apply `mode & ~umask`),
// rather than left to a systemd unit's UMask=0077 that a shell, a container
// or `./dev start` does not have.

import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync, statSync } from 'node:fs'
import { dirname } from 'node:path'

/** Mode of every directory Tessera creates for its data. */
export const PRIVATE_DIR_MODE = 0o700
/** Mode of every data file Tessera creates (the database, the development master key). */
export const PRIVATE_FILE_MODE = 0o600

/**
 * Creates `dir` and its missing parents, each mode 0700. A directory that
 * already exists keeps its mode: choosing it is the operator's business
 * (`tessera serve` refuses an open data dir in production, see
 * {@link describeOpenDir}).
 *
 * @example
 * makePrivateDir('/var/lib/tessera')
 */
export function makePrivateDir(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
  if (first === undefined) return
  // mkdir returned the top directory it created: every one from `dir` up to it is new.
  for (let created = dir; ; created = dirname(created)) {
    chmodSync(created, PRIVATE_DIR_MODE)
    if (created === first || dirname(created) === created) break
  }
}

/**
 * Creates `path` as an empty file of mode 0600 unless it exists (then it is
 * left alone). SQLite gives the WAL and shared-memory files it creates next to
 * a database the database file's mode, so creating the database this way
 * before SQLite opens it makes all three private.
 *
 * @example
 * createPrivateFile('/var/lib/tessera/tessera.db')
 */
export function createPrivateFile(path: string): void {
  let fd: number
  try {
    fd = openSync(path, 'wx', PRIVATE_FILE_MODE)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return
    throw error
  }
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE)
  } finally {
    closeSync(fd)
  }
}

/**
 * Why `dir` is not private, as one line that ends with the command to run;
 * undefined when only its owner can enter it, or when it does not exist yet
 * (it will be created 0700). Any group or other bit counts, not only read: a
 * directory others can traverse lets them open a readable file in it by name.
 *
 * @example
 * const problem = describeOpenDir(config.dataDir)
 * if (problem !== undefined && config.production) throw new Error(problem)
 */
export function describeOpenDir(dir: string): string | undefined {
  if (process.platform === 'win32') return undefined
  let mode: number
  try {
    mode = statSync(dir).mode
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  if ((mode & 0o077) === 0) return undefined
  const octal = (mode & 0o777).toString(8).padStart(4, '0')
  return `the data directory ${dir} is open to group or others (mode ${octal}) and holds the database: run chmod 700 ${shellQuote(dir)}`
}

/** `path` as one shell word, so the printed command can be pasted as it is. */
function shellQuote(path: string): string {
  return /^[\w./@%+=:,-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`
}
