// The master key seals every signing key and refresh pair. In production it
// comes from TESSERA_MASTER_KEY (every instance of a deployment shares it);
// in development one is generated into the data directory so `tessera serve`
// works out of the box.

import { randomBytes } from 'node:crypto'
import { link, open, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { makePrivateDir } from '../runtime/private-files.ts'

const MASTER_KEY_BYTES = 32
const FILE_NAME = 'master.key'

/**
 * A master key that cannot be had, for a reason the operator can fix (a lost,
 * unreadable or malformed key file): its message is one line that says how.
 */
export class MasterKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MasterKeyError'
  }
}

export interface LoadMasterKeyOptions {
  /** TESSERA_MASTER_KEY, already decoded by the config; undefined when unset. */
  masterKey: Buffer | undefined
  production: boolean
  dataDir: string
  warn: (message: string) => void
  /**
   * Whether the database already holds keys sealed with a master key, asked
   * only when `<dataDir>/master.key` is missing: a new key could not open
   * them, so none is generated.
   */
  hasSealedKeys?: () => Promise<boolean>
  /** The database, as the error for a lost key file names it (e.g. `sqlite:/srv/data/tessera.db`). */
  databaseUrl?: string
}

/**
 * The master key: the configured one; in production without one, an Error
 * naming TESSERA_MASTER_KEY; otherwise `<dataDir>/master.key`, generated
 * (mode 0600, never overwritten) on first use with a warning. A missing file
 * next to a database that holds sealed keys is a MasterKeyError, not a new key.
 *
 * @example
 * const masterKey = await loadMasterKey({ masterKey: config.masterKey, production: config.production, dataDir: config.dataDir, warn: (m) => log.warn(m) })
 */
export async function loadMasterKey(options: LoadMasterKeyOptions): Promise<Buffer> {
  const { masterKey, production, dataDir, warn, hasSealedKeys, databaseUrl } = options
  if (masterKey !== undefined) {
    if (!Buffer.isBuffer(masterKey) || masterKey.length !== MASTER_KEY_BYTES) {
      throw new Error(`TESSERA_MASTER_KEY must be ${MASTER_KEY_BYTES} bytes (base64url)`)
    }
    return masterKey
  }
  if (production) {
    throw new Error(
      'TESSERA_MASTER_KEY is required in production: generate one with `tessera secret` and give every instance the same value',
    )
  }
  const path = join(dataDir, FILE_NAME)
  const existing = await readKeyFile(path)
  if (existing !== undefined) return existing
  // A lost key file: a new key would be written next to keys it cannot open.
  if (hasSealedKeys !== undefined && (await hasSealedKeys())) {
    const database = describeDatabase(databaseUrl)
    throw new MasterKeyError(
      `the master key file ${path} is missing, and ${database} holds signing keys sealed with it: restore ${path} (or set TESSERA_MASTER_KEY to its value), or start over by moving ${database} away`,
    )
  }
  // 0700 whatever the umask: the directory also holds the SQLite database.
  makePrivateDir(dataDir)
  const created = await createKeyFile(path)
  if (created.generated) {
    warn(`generated a development master key in ${path}; set TESSERA_MASTER_KEY in production`)
  }
  return created.key
}

/** What the lost-key error calls the database: a SQLite file by its path; never a URL's credentials. */
function describeDatabase(databaseUrl: string | undefined): string {
  if (databaseUrl?.startsWith('sqlite:')) return databaseUrl.slice('sqlite:'.length)
  if (databaseUrl === undefined) return 'the database'
  return 'the PostgreSQL database'
}

/** The key in `path`, or undefined when the file does not exist. */
async function readKeyFile(path: string): Promise<Buffer | undefined> {
  let handle: Awaited<ReturnType<typeof open>>
  try {
    handle = await open(path, 'r')
  } catch (error) {
    if (isErrorCode(error, 'ENOENT')) return undefined
    throw new MasterKeyError(`cannot read the master key file ${path} (${codeOf(error)})`, {
      cause: error,
    })
  }
  try {
    // fstat on the open handle: the file checked is the file read.
    const { mode } = await handle.stat()
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new MasterKeyError(
        `the master key file ${path} is accessible by group or others: run chmod 600 ${path}`,
      )
    }
    const text = (await handle.readFile('utf8')).trim()
    const key = Buffer.from(text, 'base64url')
    if (key.length !== MASTER_KEY_BYTES || key.toString('base64url') !== text) {
      throw new MasterKeyError(
        `the master key file ${path} must hold ${MASTER_KEY_BYTES} bytes in base64url`,
      )
    }
    return key
  } finally {
    await handle.close()
  }
}

/**
 * Writes a new key without ever replacing an existing file: the key goes to a
 * private temporary file (flag 'wx', mode 0600), then link() publishes it
 * whole, and link() fails if `path` exists. If another process got there
 * first, its key wins and is read back.
 */
async function createKeyFile(path: string): Promise<{ key: Buffer; generated: boolean }> {
  const key = randomBytes(MASTER_KEY_BYTES)
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`
  await writeNew(temporary, key)
  try {
    await link(temporary, path)
  } catch (error) {
    if (isErrorCode(error, 'EEXIST')) {
      const winner = await readKeyFile(path)
      if (winner !== undefined) return { key: winner, generated: false }
    }
    if (!isErrorCode(error, 'EPERM') && !isErrorCode(error, 'ENOTSUP')) {
      throw new MasterKeyError(`cannot write the master key file ${path} (${codeOf(error)})`, {
        cause: error,
      })
    }
    // A file system without hard links: create the file in place, still never overwriting.
    try {
      await writeNew(path, key)
    } catch (fallbackError) {
      if (isErrorCode(fallbackError, 'EEXIST')) {
        const winner = await readKeyFile(path)
        if (winner !== undefined) return { key: winner, generated: false }
      }
      throw new MasterKeyError(
        `cannot write the master key file ${path} (${codeOf(fallbackError)})`,
        { cause: fallbackError },
      )
    }
  } finally {
    await unlink(temporary).catch(() => {})
  }
  return { key, generated: true }
}

async function writeNew(path: string, key: Buffer): Promise<void> {
  const handle = await open(path, 'wx', 0o600)
  try {
    // The umask can only remove bits from 0600, but a chmod makes the mode explicit.
    await handle.chmod(0o600)
    await handle.writeFile(`${key.toString('base64url')}\n`, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown error'
}

function isErrorCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code
}
