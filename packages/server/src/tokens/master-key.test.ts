import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { loadMasterKey, MasterKeyError } from './master-key.ts'

const root = await mkdtemp(join(tmpdir(), 'tessera-master-key-'))
after(() => rm(root, { recursive: true, force: true }))
let counter = 0
const freshDir = (): string => join(root, `case-${counter++}`, 'data')

test('a configured key is returned as is, in production or not, without touching the data dir', async () => {
  const key = randomBytes(32)
  const dataDir = freshDir()
  const warnings: string[] = []
  for (const production of [true, false]) {
    const loaded = await loadMasterKey({
      masterKey: key,
      production,
      dataDir,
      warn: (m) => warnings.push(m),
    })
    assert.ok(loaded.equals(key))
  }
  await assert.rejects(stat(dataDir), { code: 'ENOENT' })
  assert.deepEqual(warnings, [])
})

test('a configured key of the wrong size is refused', async () => {
  await assert.rejects(
    loadMasterKey({
      masterKey: randomBytes(16),
      production: false,
      dataDir: freshDir(),
      warn: () => {},
    }),
    /TESSERA_MASTER_KEY/,
  )
})

test('production without a key is refused, naming TESSERA_MASTER_KEY, and nothing is generated', async () => {
  const dataDir = freshDir()
  await assert.rejects(
    loadMasterKey({ masterKey: undefined, production: true, dataDir, warn: () => {} }),
    (error: unknown) => error instanceof Error && error.message.includes('TESSERA_MASTER_KEY'),
  )
  await assert.rejects(stat(dataDir), { code: 'ENOENT' })
})

test('development: generates master.key (0600, base64url 32 bytes) with one warning, then reuses it', async () => {
  const dataDir = freshDir()
  const warnings: string[] = []
  const warn = (m: string): void => {
    warnings.push(m)
  }
  const first = await loadMasterKey({ masterKey: undefined, production: false, dataDir, warn })
  assert.equal(first.length, 32)
  const path = join(dataDir, 'master.key')
  const text = (await readFile(path, 'utf8')).trim()
  assert.ok(Buffer.from(text, 'base64url').equals(first))
  assert.equal((await stat(path)).mode & 0o777, 0o600)
  assert.equal(warnings.length, 1)
  assert.match(warnings[0]!, /generated a development master key/)
  assert.ok(warnings[0]!.includes(path))
  assert.ok(warnings[0]!.includes('TESSERA_MASTER_KEY'))
  assert.ok(!warnings[0]!.includes(text), 'the key is never in the warning')

  const second = await loadMasterKey({ masterKey: undefined, production: false, dataDir, warn })
  assert.ok(second.equals(first), 'the existing file is reused, not overwritten')
  assert.equal(warnings.length, 1, 'no second warning')
  assert.equal((await readFile(path, 'utf8')).trim(), text)
})

test('concurrent first starts agree on one key and one file', async () => {
  const dataDir = freshDir()
  const warnings: string[] = []
  const keys = await Promise.all(
    Array.from({ length: 5 }, () =>
      loadMasterKey({
        masterKey: undefined,
        production: false,
        dataDir,
        warn: (m) => warnings.push(m),
      }),
    ),
  )
  for (const key of keys) assert.ok(key.equals(keys[0]!))
  const onDisk = Buffer.from(
    (await readFile(join(dataDir, 'master.key'), 'utf8')).trim(),
    'base64url',
  )
  assert.ok(onDisk.equals(keys[0]!))
  assert.equal(warnings.length, 1)
})

test('an existing key file is read; one readable by group or others is refused with chmod 600', async () => {
  const dataDir = freshDir()
  await loadMasterKey({ masterKey: undefined, production: false, dataDir, warn: () => {} })
  const path = join(dataDir, 'master.key')
  const key = randomBytes(32)
  await writeFile(path, key.toString('base64url'))
  await chmod(path, 0o600)
  assert.ok(
    (
      await loadMasterKey({ masterKey: undefined, production: false, dataDir, warn: () => {} })
    ).equals(key),
  )
  for (const mode of [0o644, 0o640, 0o604, 0o660]) {
    await chmod(path, mode)
    await assert.rejects(
      loadMasterKey({ masterKey: undefined, production: false, dataDir, warn: () => {} }),
      (error: unknown) =>
        error instanceof Error &&
        error.message.includes(path) &&
        error.message.includes('chmod 600') &&
        !error.message.includes(key.toString('base64url')),
    )
  }
  // Refused, not fixed and not replaced.
  assert.equal((await stat(path)).mode & 0o777, 0o660)
  assert.equal(await readFile(path, 'utf8'), key.toString('base64url'))
})

test('a key file that does not hold 32 bytes of base64url is refused, not replaced', async () => {
  const dataDir = freshDir()
  await loadMasterKey({ masterKey: undefined, production: false, dataDir, warn: () => {} })
  const path = join(dataDir, 'master.key')
  for (const content of [
    'short',
    randomBytes(16).toString('base64url'),
    `${randomBytes(32).toString('base64')}==`,
  ]) {
    await writeFile(path, content)
    await chmod(path, 0o600)
    await assert.rejects(
      loadMasterKey({ masterKey: undefined, production: false, dataDir, warn: () => {} }),
      (error: unknown) => error instanceof Error && error.message.includes(path),
    )
    assert.equal(await readFile(path, 'utf8'), content)
  }
})

test('a lost key file next to sealed keys: refused with the file and both ways out, and no key is generated', async () => {
  const dataDir = freshDir()
  const databaseUrl = `sqlite:${join(dataDir, 'tessera.db')}`
  const path = join(dataDir, 'master.key')
  await assert.rejects(
    loadMasterKey({
      masterKey: undefined,
      production: false,
      dataDir,
      warn: () => {},
      hasSealedKeys: async () => true,
      databaseUrl,
    }),
    (error: unknown) =>
      error instanceof MasterKeyError &&
      error.message ===
        `the master key file ${path} is missing, and ${join(dataDir, 'tessera.db')} holds signing keys sealed with it: restore ${path} (or set TESSERA_MASTER_KEY to its value), or start over by moving ${join(dataDir, 'tessera.db')} away`,
  )
  await assert.rejects(stat(path), { code: 'ENOENT' })
  // A PostgreSQL URL is never shown (it may hold a password).
  await assert.rejects(
    loadMasterKey({
      masterKey: undefined,
      production: false,
      dataDir,
      warn: () => {},
      hasSealedKeys: async () => true,
      databaseUrl: 'postgres://tessera:hunter2@db/tessera',
    }),
    (error: unknown) =>
      error instanceof MasterKeyError &&
      error.message.includes('moving the PostgreSQL database away') &&
      !error.message.includes('hunter2'),
  )
})

test('the store is asked only when the key file is missing; an empty one gets a new key', async () => {
  const dataDir = freshDir()
  let asked = 0
  const hasSealedKeys = async (): Promise<boolean> => {
    asked++
    return false
  }
  const options = { masterKey: undefined, production: false, dataDir, warn: () => {} }
  const first = await loadMasterKey({ ...options, hasSealedKeys })
  assert.equal(asked, 1)
  const second = await loadMasterKey({ ...options, hasSealedKeys: async () => true })
  assert.ok(second.equals(first), 'an existing file is used whatever the store holds')
})
