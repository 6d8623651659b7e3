// The administration commands against a data directory, as an operator runs
// them: in this process (support/cli.ts), the binary's program with the
// environment and stdin a child would get.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { hash as bcryptHash } from '@node-rs/bcrypt'
import { runCli as runTessera } from '../src/cli/run.ts'
import { runCliInProcess as runCli } from './support/cli.ts'
import { makeDataDir } from './support/server-process.ts'

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
    const add = (email: string, password: string) =>
      runTessera(['users', 'add', email, '--password-stdin', '--roles', 'user,admin'], {
        cwd: join(import.meta.dirname, '../../..'),
        stdin: `${password}\n`,
        env: { PATH: process.env.PATH, TESSERA_DATA_DIR: data.dir, ...env },
      })
    const ok = await add('Root@Example.com', 'a long admin passphrase')
    assert.equal(ok.code, 0, ok.stderr)
    assert.match(ok.stdout, /created root@example.com .* roles user,admin/)
    assert.doesNotMatch(ok.stdout, /passphrase/)
    const weak = await add('weak@example.com', 'password')
    assert.equal(weak.code, 2)
    assert.match(weak.stderr, /^error: password: /)
    assert.equal((await add('root@example.com', 'another long passphrase')).code, 2)
    const list = await runCli(data.dir, ['users', 'list', '--json'], env)
    const users = JSON.parse(list.stdout) as { email: string; roles: string[] }[]
    assert.deepEqual(
      users.map((u) => [u.email, u.roles]),
      [['root@example.com', ['user', 'admin']]],
    )
  })

  it('users import takes CSV, counts created, skipped and failed rows, names each by its line, and is safe to re-run', async () => {
    const hash = await bcryptHash('imported passphrase', 4)
    const file = join(data.dir, 'users.csv')
    writeFileSync(
      file,
      [
        'email,name,password_hash,roles',
        `dan@example.com,Dan,${hash},user`,
        `erin@example.com,"Erin, Jr.",${hash},user;editor`,
        '',
        `not-an-email,X,${hash},user`,
        'frank@example.com,Frank,plaintext-password,user',
        `dan@example.com,Dan again,${hash},user`,
        `root@example.com,"Root,${'\n'}on two lines",${hash},user`,
      ].join('\n'),
    )
    const first = await runCli(data.dir, ['users', 'import', file], env)
    assert.equal(first.code, 0, first.stderr)
    assert.match(
      first.stdout,
      /users\.csv: 6 rows; created 2, skipped 1 \(email already exists\), failed 3\n/,
    )
    assert.match(first.stdout, /line numbers are those of the file, its header line included/)
    // The file's own line numbers: the header is line 1, the empty line 4 counts.
    const rows = first.stdout.split('\n').filter((line) => line.startsWith('  '))
    assert.deepEqual(rows, [
      '  line 5: failed, invalid email',
      '  line 6: failed, unsupported password hash (bcrypt or argon2 only)',
      '  line 7: failed, duplicate email in the file',
      '  line 8: skipped, already exists',
    ])
    assert.match(first.stderr, /read 6\/6 rows/)
    assert.doesNotMatch(first.stderr, /imported/)
    assert.doesNotMatch(first.stdout + first.stderr, /\$2b\$/, 'hashes are never printed')
    const again = await runCli(data.dir, ['users', 'import', file], env)
    assert.match(again.stdout, /created 0, skipped 3 \(email already exists\), failed 3/)
    assert.match(again.stdout, /^ {2}line 2: skipped, already exists$/m)

    const json = join(data.dir, 'users.json')
    writeFileSync(
      json,
      JSON.stringify([
        { email: 'gus@example.com', passwordHash: hash },
        { email: 'gus@example.com', passwordHash: hash },
      ]),
    )
    const fromJson = await runCli(data.dir, ['users', 'import', json], env)
    assert.match(
      fromJson.stdout,
      /users\.json: 2 rows; created 1, skipped 0 \(email already exists\), failed 1/,
    )
    assert.match(fromJson.stdout, /entry n is the n-th user of the JSON array, counting from 1/)
    assert.match(fromJson.stdout, /^ {2}entry 2: failed, duplicate email in the file$/m)

    const bad = await runCli(data.dir, ['users', 'import', join(data.dir, 'missing.json')], env)
    assert.equal(bad.code, 2)
    assert.equal(bad.stderr.trim().split('\n').length, 1, 'one line, no stack')
  })

  it('users set-roles refuses an empty list unless --none says so; users list is in creation order', async () => {
    const empty = await runCli(data.dir, ['users', 'set-roles', 'dan@example.com', ''], env)
    assert.equal(empty.code, 2)
    assert.equal(
      empty.stderr,
      'error: no roles given: name at least one (e.g. user,admin), or pass --none to leave dan@example.com with no role\n',
    )
    const both = await runCli(
      data.dir,
      ['users', 'set-roles', 'dan@example.com', 'user', '--none'],
      env,
    )
    assert.equal(both.code, 2)
    const none = await runCli(data.dir, ['users', 'set-roles', 'dan@example.com', '--none'], env)
    assert.equal(none.code, 0, none.stderr)
    assert.equal(none.stdout, 'dan@example.com: (no roles)\n')
    const back = await runCli(
      data.dir,
      ['users', 'set-roles', 'dan@example.com', 'user,editor'],
      env,
    )
    assert.equal(back.stdout, 'dan@example.com: user,editor\n')

    const list = await runCli(data.dir, ['users', 'list', '--json'], env)
    const users = JSON.parse(list.stdout) as { email: string; createdAt: string }[]
    // root was added first, then one import created dan and erin (maybe within one
    // millisecond: the id breaks that tie), and a later one gus.
    const emails = users.map((u) => u.email)
    assert.equal(emails[0], 'root@example.com')
    assert.deepEqual(emails.slice(1, 3).sort(), ['dan@example.com', 'erin@example.com'])
    assert.equal(emails[3], 'gus@example.com')
    const times = users.map((u) => Date.parse(u.createdAt))
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    )
    const text = await runCli(data.dir, ['users', 'list', '--limit', '2'], env)
    const lines = text.stdout.trim().split('\n')
    assert.equal(lines.length, 2)
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\S+ {2}\S+ {2}root@example\.com {2}user,admin$/)
    assert.match(text.stderr, /the oldest 2 users shown; raise --limit to see more/)
  })

  it('users verify-email marks the address verified (and --undo not); users reset-mfa; an unknown user is an error', async () => {
    const verified = await runCli(data.dir, ['users', 'verify-email', 'Dan@Example.com'], env)
    assert.equal(verified.code, 0, verified.stderr)
    assert.equal(verified.stdout, 'dan@example.com: verified\n')
    const listed = async () =>
      (
        JSON.parse(
          (await runCli(data.dir, ['users', 'list', '--json', '--email', 'dan@example.com'], env))
            .stdout,
        ) as { emailVerified: boolean }[]
      )[0]?.emailVerified
    assert.equal(await listed(), true)
    const undone = await runCli(
      data.dir,
      ['users', 'verify-email', 'dan@example.com', '--undo'],
      env,
    )
    assert.equal(undone.stdout, 'dan@example.com: not verified\n')
    assert.equal(await listed(), false)
    const noFactor = await runCli(data.dir, ['users', 'reset-mfa', 'dan@example.com'], env)
    assert.equal(noFactor.code, 0, noFactor.stderr)
    assert.equal(noFactor.stdout, 'dan@example.com: had no second factor\n')
    const nobody = await runCli(data.dir, ['users', 'reset-mfa', 'nobody@example.com'], env)
    assert.equal(nobody.stderr, 'error: no user nobody@example.com\n')
    const unknown = await runCli(data.dir, ['users', 'verify-email', 'nobody@example.com'], env)
    assert.equal(unknown.code, 2)
    assert.equal(unknown.stderr, 'error: no user nobody@example.com\n')
  })

  it('users normalize-emails reports, and writes only with --apply', async () => {
    const dry = await runCli(data.dir, ['users', 'normalize-emails'], env)
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(
      dry.stdout,
      /^\d+ users: \d+ already canonical, 0 to rewrite \(run again with --apply\), 0 collisions, 0 refused\n$/,
    )
    const applied = await runCli(data.dir, ['users', 'normalize-emails', '--apply'], env)
    assert.match(applied.stdout, /, 0 rewritten, 0 collisions, 0 refused\n$/)
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
