// The administration commands against a data directory, as an operator runs them.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { hash as bcryptHash } from '@node-rs/bcrypt'
import { makeDataDir, runCli } from './support/server-process.ts'

describe('tessera migrate, users, keys, config check', () => {
  const data = makeDataDir()
  const env = { TESSERA_MASTER_KEY: 'q2b1lXh5Yb7qz1wDZ9m0iV7cO6r0nQ0s2nH8pWmW9aA' }
  after(() => data.remove())

  it('migrate applies the schema once', async () => {
    const first = await runCli(data.dir, ['migrate'], env)
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stdout, /applied \d{4}-/)
    const second = await runCli(data.dir, ['migrate'], env)
    assert.equal(second.stdout.trim(), 'database is up to date')
  })

  it('users add reads the password from stdin, refuses weak ones and duplicates; users list shows them', async () => {
    const { spawnSync } = await import('node:child_process')
    const add = (email: string, password: string) =>
      spawnSync(
        process.execPath,
        [
          '--conditions=source',
          'packages/server/src/cli/main.ts',
          'users',
          'add',
          email,
          '--password-stdin',
          '--roles',
          'user,admin',
        ],
        {
          cwd: join(import.meta.dirname, '../../..'),
          input: `${password}\n`,
          encoding: 'utf8',
          env: { PATH: process.env.PATH, TESSERA_DATA_DIR: data.dir, ...env },
        },
      )
    const ok = add('Root@Example.com', 'a long admin passphrase')
    assert.equal(ok.status, 0, ok.stderr)
    assert.match(ok.stdout, /created root@example.com .* roles user,admin/)
    assert.doesNotMatch(ok.stdout, /passphrase/)
    const weak = add('weak@example.com', 'password')
    assert.equal(weak.status, 2)
    assert.match(weak.stderr, /^error: password: /)
    assert.equal(add('root@example.com', 'another long passphrase').status, 2)
    const list = await runCli(data.dir, ['users', 'list', '--json'], env)
    const users = JSON.parse(list.stdout) as { email: string; roles: string[] }[]
    assert.deepEqual(
      users.map((u) => [u.email, u.roles]),
      [['root@example.com', ['user', 'admin']]],
    )
  })

  it('users import takes CSV, reports each skipped row with its reason, and is safe to re-run', async () => {
    const hash = await bcryptHash('imported passphrase', 4)
    const file = join(data.dir, 'users.csv')
    writeFileSync(
      file,
      [
        'email,name,password_hash,roles',
        `dan@example.com,Dan,${hash},user`,
        `erin@example.com,"Erin, Jr.",${hash},user;editor`,
        `not-an-email,X,${hash},user`,
        'frank@example.com,Frank,plaintext-password,user',
        `dan@example.com,Dan again,${hash},user`,
      ].join('\n'),
    )
    const first = await runCli(data.dir, ['users', 'import', file], env)
    assert.equal(first.code, 0, first.stderr)
    assert.match(first.stdout, /created 2, skipped 3/)
    assert.match(first.stdout, /row 3: skipped, invalid email/)
    assert.match(first.stdout, /row 4: skipped, unsupported password hash/)
    assert.match(first.stdout, /row 5: skipped, duplicate email in the file/)
    assert.doesNotMatch(first.stdout + first.stderr, /\$2b\$/, 'hashes are never printed')
    const again = await runCli(data.dir, ['users', 'import', file], env)
    assert.match(again.stdout, /created 0, skipped 5/)
    assert.match(again.stdout, /row 1: skipped, already exists/)
    const bad = await runCli(data.dir, ['users', 'import', join(data.dir, 'missing.json')], env)
    assert.equal(bad.code, 2)
    assert.equal(bad.stderr.trim().split('\n').length, 1, 'one line, no stack')
  })

  it('keys list shows the current key; keys export prints the public JWKS only', async () => {
    const list = await runCli(data.dir, ['keys', 'list', '--json'], env)
    const keys = JSON.parse(list.stdout) as { state: string; alg: string }[]
    assert.deepEqual(
      keys.map((k) => [k.state, k.alg]),
      [['current', 'ES256']],
    )
    const exported = await runCli(data.dir, ['keys', 'export'], env)
    const jwks = JSON.parse(exported.stdout) as { keys: Record<string, unknown>[] }
    assert.equal(jwks.keys.length, 1)
    assert.equal(jwks.keys[0]!.d, undefined)
    const rotated = await runCli(data.dir, ['keys', 'rotate'], env)
    assert.match(rotated.stdout, /^next /m, 'a rotation publishes the new key as next first')
  })

  it('config check prints the effective configuration with secrets redacted; a bad variable is one line, exit 2', async () => {
    const check = await runCli(data.dir, ['config', 'check'], env)
    assert.equal(check.code, 0, check.stderr)
    assert.match(check.stdout, /TESSERA_MASTER_KEY/)
    assert.doesNotMatch(check.stdout, new RegExp(env.TESSERA_MASTER_KEY))
    const bad = await runCli(data.dir, ['config', 'check'], { ...env, TESSERA_PORT: 'eighty' })
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^error: TESSERA_PORT: /)
    assert.equal(bad.stderr.trim().split('\n').length, 1)
  })
})
