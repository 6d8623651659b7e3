import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { EnvFileError, readEnvironment } from './env-file.ts'

const root = mkdtempSync(join(tmpdir(), 'tessera-env-file-'))
after(() => rmSync(root, { recursive: true, force: true }))
let counter = 0
function dirWith(files: Record<string, string>): string {
  const dir = join(root, `case-${counter++}`)
  mkdirSync(dir)
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

describe('readEnvironment', () => {
  test('reads ./.env; the environment wins over it, and flags win over both', () => {
    const cwd = dirWith({
      '.env':
        '# a comment\nTESSERA_PORT=4000\nTESSERA_BRAND_NAME="Acme Auth"\nTESSERA_HOST=0.0.0.0\nEMPTY=\n',
    })
    const { env, envFile } = readEnvironment(
      { TESSERA_PORT: '5000', TESSERA_HOST: '127.0.0.1', EMPTY: '' },
      { cwd, overrides: { TESSERA_HOST: '::1', TESSERA_DATA_DIR: undefined } },
    )
    assert.equal(envFile, join(cwd, '.env'))
    assert.equal(env['TESSERA_PORT'], '5000', 'the environment wins over the file')
    assert.equal(env['TESSERA_BRAND_NAME'], 'Acme Auth', 'quotes are the file syntax')
    assert.equal(env['TESSERA_HOST'], '::1', 'a flag wins over both')
    assert.equal(env['EMPTY'], '', 'an empty variable in the environment is set')
    assert.ok(!Object.hasOwn(env, 'TESSERA_DATA_DIR'), 'an unset flag sets nothing')
  })

  test('without ./.env: the environment as it is, and no file', () => {
    const cwd = dirWith({})
    const { env, envFile } = readEnvironment({ TESSERA_PORT: '5000' }, { cwd })
    assert.equal(envFile, undefined)
    assert.deepEqual({ ...env }, { TESSERA_PORT: '5000' })
  })

  test('--env-file replaces ./.env, relative to the working directory; a missing one is an error', () => {
    const cwd = dirWith({ '.env': 'TESSERA_PORT=4000\n', 'staging.env': 'TESSERA_PORT=4100\n' })
    const { env, envFile } = readEnvironment({}, { cwd, envFile: 'staging.env' })
    assert.equal(envFile, join(cwd, 'staging.env'))
    assert.equal(env['TESSERA_PORT'], '4100')
    assert.throws(
      () => readEnvironment({}, { cwd, envFile: 'missing.env' }),
      (error: unknown) =>
        error instanceof EnvFileError &&
        error.message === `cannot read the env file ${join(cwd, 'missing.env')}: no such file`,
    )
  })

  test('a .env that cannot be read is an error naming it, not silently skipped', () => {
    const cwd = dirWith({})
    mkdirSync(join(cwd, '.env'))
    assert.throws(
      () => readEnvironment({}, { cwd }),
      (error: unknown) =>
        error instanceof EnvFileError && error.message.endsWith('.env: is a directory'),
    )
  })

  test('the given environment object is not changed', () => {
    const cwd = dirWith({ '.env': 'TESSERA_PORT=4000\n' })
    const given = { PATH: '/bin' }
    readEnvironment(given, { cwd, overrides: { TESSERA_HOST: '::1' } })
    assert.deepEqual(given, { PATH: '/bin' })
  })
})
