// `tessera providers list|add|remove` as an operator runs them: the .env file
// edited in place (other lines and comments kept, created 0600), the result
// read back by the server's own loader and by a real `tessera serve`, and the
// refusals (a bad preset, a missing issuer, a duplicate, a variable the
// environment overrides), none of which writes anything or prints a secret.
// The commands run in this process (support/cli.ts); `serve` is a child.

import assert from 'node:assert/strict'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { parseEnv } from 'node:util'
import { editEnvText, envValue } from '../src/cli/providers.ts'
import { loadCliConfig } from '../src/cli/serve.ts'
import { readEnvironment } from '../src/config/env-file.ts'
import { PROVIDER_FIELDS } from '../src/config/providers.ts'
import { runCliInProcess } from './support/cli.ts'
import {
  childEnv,
  makeDataDir,
  startServer,
  TEST_ENV,
  workingDir,
} from './support/server-process.ts'

const MASTER_KEY = 'q2b1lXh5Yb7qz1wDZ9m0iV7cO6r0nQ0s2nH8pWmW9aA'
const ISSUER = TEST_ENV.TESSERA_ISSUER!

describe('tessera providers', () => {
  const dirs: { remove(): void }[] = []
  after(() => {
    for (const dir of dirs) dir.remove()
  })

  /** A fresh deployment directory; `.env` is looked up in it. */
  function deployment(env: Record<string, string> = {}) {
    const data = makeDataDir()
    dirs.push(data)
    const cwd = workingDir(data.dir)
    const envPath = join(cwd, '.env')
    const fullEnv = { TESSERA_MASTER_KEY: MASTER_KEY, ...env }
    return {
      dir: data.dir,
      envPath,
      cli: (args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) =>
        runCliInProcess(data.dir, ['providers', ...args], { ...fullEnv, ...options.env }, options),
      /** The configuration `tessera serve` would load here. */
      config: () => loadCliConfig({ env: childEnv(data.dir, fullEnv), cwd }).config,
      write(name: string, text: string): string {
        const path = join(cwd, name)
        writeFileSync(path, text)
        return path
      },
      envText: () => readFileSync(envPath, 'utf8'),
    }
  }

  const secret = () => `s3cret-${randomBytes(16).toString('base64url')}`

  function assertNoSecret(result: { stdout: string; stderr: string }, value: string) {
    assert.ok(!result.stdout.includes(value), 'the secret is not on stdout')
    assert.ok(!result.stderr.includes(value), 'the secret is not on stderr')
  }

  it('add → list → `tessera serve` offers it → remove; the .env is created 0600 and the secret never printed', async () => {
    const d = deployment()
    const clientSecret = secret()
    d.write('corp-secret.txt', `${clientSecret}\n`)
    const added = await d.cli([
      'add',
      'corp',
      '--preset',
      'oidc',
      '--issuer',
      'https://sso.corp.example',
      '--client-id',
      'tessera-rp',
      '--client-secret-file',
      'corp-secret.txt',
      '--scopes',
      'openid email profile',
    ])
    assert.equal(added.code, 0, added.stderr)
    assertNoSecret(added, clientSecret)
    assert.match(added.stdout, /added provider corp \(preset oidc\)/)
    assert.ok(
      added.stdout.includes(
        `register this redirect URI at the provider: ${ISSUER}/auth/providers/corp/callback`,
      ),
      added.stdout,
    )
    assert.match(added.stdout, /restart `tessera serve`/)
    assert.equal(statSync(d.envPath).mode & 0o777, 0o600)
    assert.ok(!readFileSync(d.envPath, 'utf8').includes('\n\n\n'))

    const listed = await d.cli(['list', '--json'])
    assert.equal(listed.code, 0, listed.stderr)
    assertNoSecret(listed, clientSecret)
    const [provider, ...others] = (
      JSON.parse(listed.stdout) as { providers: Record<string, unknown>[] }
    ).providers
    assert.deepEqual(others, [])
    assert.deepEqual(
      {
        id: provider!.id,
        preset: provider!.preset,
        issuer: provider!.issuer,
        clientId: provider!.clientId,
        clientSecret: provider!.clientSecret,
        scopes: provider!.scopes,
        redirectUri: provider!.redirectUri,
        configuredIn: provider!.configuredIn,
      },
      {
        id: 'corp',
        preset: 'oidc',
        issuer: 'https://sso.corp.example',
        clientId: 'tessera-rp',
        clientSecret: true,
        scopes: ['openid', 'email', 'profile'],
        redirectUri: `${ISSUER}/auth/providers/corp/callback`,
        configuredIn: d.envPath,
      },
    )
    assert.equal(typeof provider!.name, 'string')
    const table = await d.cli(['list'])
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout, /^corp\n/)
    assert.match(
      table.stdout,
      /redirect uri: +http:\/\/localhost:3999\/auth\/providers\/corp\/callback/,
    )
    assert.match(table.stdout, /client secret: +set\n/)
    assertNoSecret(table, clientSecret)

    // The server's own loader reads back exactly what was given.
    const [loaded] = d.config().providers
    assert.deepEqual(
      { ...loaded },
      {
        ...loaded,
        id: 'corp',
        preset: 'oidc',
        issuer: 'https://sso.corp.example',
        clientId: 'tessera-rp',
        clientSecret,
        scopes: ['openid', 'email', 'profile'],
      },
    )

    // A real `tessera serve` started here offers it.
    const server = await startServer(d.dir, { TESSERA_MASTER_KEY: MASTER_KEY })
    try {
      const response = await fetch(`${server.url}/auth/providers`)
      assert.equal(response.status, 200)
      const body = (await response.json()) as { providers: { id: string }[] }
      assert.deepEqual(
        body.providers.map((p) => p.id),
        ['corp'],
      )
      assert.ok(!server.logs.join('\n').includes(clientSecret), 'the secret is not logged')
    } finally {
      await server.stop()
    }

    const removed = await d.cli(['remove', 'corp'])
    assert.equal(removed.code, 0, removed.stderr)
    assert.match(removed.stdout, /removed provider corp/)
    assert.match(removed.stdout, /identities stay in the database/)
    assert.equal(d.envText(), '', 'nothing of the provider is left')
    assert.deepEqual(d.config().providers, [])
    const none = await d.cli(['list'])
    assert.equal(none.code, 0, none.stderr)
    assert.match(none.stdout, /no identity providers configured/)
  })

  it('keeps every other line and comment; remove gives the file back as it was', async () => {
    const d = deployment()
    const original = [
      '# Tessera, production-ish',
      'TESSERA_SIGNUP=true',
      '',
      '# mail',
      'TESSERA_SMTP_URL="smtp://mail.example.com:587"',
      "TESSERA_BRAND_NAME='Example # Inc'",
      'export TESSERA_LOG_LEVEL=warn # inline comment',
      '',
    ].join('\n')
    d.write('.env', original)
    const before = parseEnv(original)
    const clientSecret = `a'b"c#d ${secret()}`
    const added = await d.cli(
      ['add', 'google', '--client-id', '123.apps.googleusercontent.com', '--client-secret-stdin'],
      { stdin: `${clientSecret}\n` },
    )
    assert.equal(added.code, 0, added.stderr)
    assertNoSecret(added, clientSecret)
    assert.match(added.stdout, /preset google/)
    assert.ok(added.stdout.includes(`${ISSUER}/auth/providers/google/callback`))
    const text = d.envText()
    assert.ok(text.startsWith(original), 'the old lines come first, unchanged')
    const after = parseEnv(text)
    for (const [name, value] of Object.entries(before)) assert.equal(after[name], value, name)
    assert.equal(after.TESSERA_PROVIDERS, 'google')
    assert.equal(after.TESSERA_PROVIDER_GOOGLE_CLIENT_SECRET, clientSecret)
    const [google] = d.config().providers
    assert.equal(google?.clientSecret, clientSecret)
    assert.equal(google?.preset, 'google')

    // A second provider joins the list where it stands.
    const second = await d.cli([
      'add',
      'corp',
      '--preset',
      'oidc',
      '--issuer',
      'https://sso.corp.example/',
      '--client-id',
      'rp',
    ])
    assert.equal(second.code, 0, second.stderr)
    assert.equal(parseEnv(d.envText()).TESSERA_PROVIDERS, 'google,corp')
    assert.deepEqual(
      d.config().providers.map((p) => [p.id, p.issuer ?? null, p.clientSecret ?? null]),
      [
        ['google', null, clientSecret],
        ['corp', 'https://sso.corp.example/', null],
      ],
    )

    assert.equal((await d.cli(['remove', 'google'])).code, 0)
    assert.equal(parseEnv(d.envText()).TESSERA_PROVIDERS, 'corp')
    assert.ok(!d.envText().includes('GOOGLE'))
    assert.equal((await d.cli(['remove', 'corp'])).code, 0)
    assert.equal(d.envText(), original)
  })

  it('refuses what `tessera serve` would refuse, naming the flag, and writes nothing', async () => {
    const d = deployment()
    const clientSecret = secret()
    d.write('secret.txt', clientSecret)
    const refused = async (args: string[], pattern: RegExp, env?: Record<string, string>) => {
      const result = await d.cli(['add', ...args, '--client-secret-file', 'secret.txt'], {
        ...(env === undefined ? {} : { env }),
      })
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}${result.stderr}`)
      assert.equal(result.stdout, '')
      assert.match(result.stderr, /^error: /)
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr)
      assert.match(result.stderr, pattern)
      assertNoSecret(result, clientSecret)
      assert.equal(existsSync(d.envPath), false, 'nothing is written')
    }
    await refused(
      ['corp', '--preset', 'okta', '--client-id', 'x'],
      /--preset \(TESSERA_PROVIDER_CORP_PRESET: expected one of google, microsoft, .*got "okta"\)/,
    )
    await refused(
      ['corp', '--preset', 'oidc', '--client-id', 'x'],
      /--issuer \(TESSERA_PROVIDER_CORP_ISSUER: required for provider corp \(preset oidc\)/,
    )
    await refused(['corp', '--client-id', 'x'], /--preset \(TESSERA_PROVIDER_CORP_PRESET: required/)
    await refused(
      ['corp', '--preset', 'oidc', '--issuer', 'http://sso.corp.example', '--client-id', 'x'],
      /must be https:\/\//,
    )
    await refused(
      ['corp', '--preset', 'oidc', '--issuer', 'http://127.0.0.1:9000', '--client-id', 'x'],
      /must be https:\/\//,
      { NODE_ENV: 'production' },
    )
    await refused(
      [
        'corp',
        '--preset',
        'oidc',
        '--issuer',
        'https://sso.example',
        '--client-id',
        'x',
        '--scopes',
        'email',
      ],
      /--scopes \(TESSERA_PROVIDER_CORP_SCOPES: must include openid/,
    )
    await refused(['Bad-Id', '--preset', 'oidc', '--client-id', 'x'], /is not a provider id/)
    await refused(
      ['corp', '--preset', 'oidc', '--issuer', 'https://sso.example', '--client-id', 'x'],
      /the environment sets TESSERA_PROVIDERS, which wins over .*\.env/,
      { TESSERA_PROVIDERS: 'other' },
    )
    await refused(
      ['corp', '--preset', 'oidc', '--issuer', 'https://sso.example', '--client-id', 'x'],
      /the environment sets TESSERA_PROVIDER_CORP_CLIENT_ID/,
      { TESSERA_PROVIDER_CORP_CLIENT_ID: 'from-env' },
    )
    // A secret is never a flag's value (it would be in the shell's history and in ps).
    const flag = await d.cli([
      'add',
      'corp',
      '--preset',
      'oidc',
      '--client-id',
      'x',
      '--client-secret',
      clientSecret,
    ])
    assert.equal(flag.code, 2)
    assert.match(flag.stderr, /unknown option '--client-secret'/)
    const twice = await d.cli(
      [
        'add',
        'corp',
        '--preset',
        'oidc',
        '--issuer',
        'https://sso.example',
        '--client-id',
        'x',
        '--client-secret-file',
        'secret.txt',
        '--client-secret-stdin',
      ],
      { stdin: 'x' },
    )
    assert.equal(twice.code, 2)
    assert.match(twice.stderr, /give the client secret once/)
    const empty = await d.cli(
      [
        'add',
        'corp',
        '--preset',
        'oidc',
        '--issuer',
        'https://sso.example',
        '--client-id',
        'x',
        '--client-secret-stdin',
      ],
      { stdin: '\n' },
    )
    assert.equal(empty.code, 2)
    assert.match(empty.stderr, /stdin is empty/)
    assert.equal(existsSync(d.envPath), false)
  })

  it('a provider already configured is refused unless --force, which replaces it whole', async () => {
    const d = deployment()
    const args = [
      'add',
      'corp',
      '--preset',
      'oidc',
      '--issuer',
      'https://a.example',
      '--client-id',
      'one',
    ]
    assert.equal((await d.cli([...args, '--scopes', 'openid email'])).code, 0)
    const text = d.envText()
    const duplicate = await d.cli(args)
    assert.equal(duplicate.code, 2)
    assert.match(
      duplicate.stderr,
      /provider corp is already configured in .*: remove it first, or add --force/,
    )
    assert.equal(d.envText(), text)
    const forced = await d.cli([
      'add',
      'corp',
      '--preset',
      'oidc',
      '--issuer',
      'https://b.example',
      '--client-id',
      'two',
      '--force',
    ])
    assert.equal(forced.code, 0, forced.stderr)
    assert.match(forced.stdout, /replaced provider corp/)
    const env = parseEnv(d.envText())
    assert.equal(env.TESSERA_PROVIDERS, 'corp')
    assert.equal(env.TESSERA_PROVIDER_CORP_ISSUER, 'https://b.example')
    assert.equal(env.TESSERA_PROVIDER_CORP_CLIENT_ID, 'two')
    assert.equal(env.TESSERA_PROVIDER_CORP_SCOPES, undefined, 'a field not given again is dropped')
    assert.equal(d.envText().split('# Social login: provider corp').length, 2, 'one comment')
  })

  it('--name and --keep-tokens; an apple provider with its key file (the path is written, not the key)', async () => {
    const d = deployment()
    const named = await d.cli([
      'add',
      'corp',
      '--preset',
      'oidc',
      '--issuer',
      'https://sso.corp.example',
      '--client-id',
      'rp',
      '--name',
      'Corp SSO (staff)',
      '--keep-tokens',
    ])
    assert.equal(named.code, 0, named.stderr)
    const [corp] = d.config().providers
    assert.equal(corp?.name, 'Corp SSO (staff)')
    assert.equal(corp?.keepTokens, true)
    const listed = await d.cli(['list', '--json'])
    const [shown] = (JSON.parse(listed.stdout) as { providers: Record<string, unknown>[] })
      .providers
    assert.equal(shown?.name, 'Corp SSO (staff)')

    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
    const keyPath = d.write('AuthKey_ABCDE12345.p8', pem)
    const apple = await d.cli([
      'add',
      'apple',
      '--client-id',
      'com.example.signin',
      '--team-id',
      'TEAM123456',
      '--key-id',
      'ABCDE12345',
      '--private-key-file',
      'AuthKey_ABCDE12345.p8',
    ])
    assert.equal(apple.code, 0, apple.stderr)
    assert.ok(!apple.stdout.includes('PRIVATE KEY') && !apple.stderr.includes('PRIVATE KEY'))
    const env = parseEnv(d.envText())
    assert.equal(env.TESSERA_PROVIDER_APPLE_PRIVATE_KEY_FILE, keyPath, 'the absolute path')
    assert.ok(!d.envText().includes('BEGIN'), 'the key stays in its file')
    const configured = d.config().providers.find((p) => p.id === 'apple')
    assert.equal(configured?.preset, 'apple')
    assert.equal(configured?.apple?.teamId, 'TEAM123456')
    assert.equal(configured?.apple?.keyId, 'ABCDE12345')
    const table = await d.cli(['list'])
    assert.equal(table.code, 0, table.stderr)
    assert.match(
      table.stdout,
      /^apple\n(.*\n)* {2}client secret: +a JWT signed with the Apple key\n/m,
    )
    assert.ok(!table.stdout.includes('BEGIN'))

    // Apple's secret is a JWT Tessera signs: a client secret given is refused, as `serve` refuses it.
    d.write('secret.txt', 'x')
    const refused = await d.cli([
      'add',
      'apple2',
      '--preset',
      'apple',
      '--client-id',
      'com.example.other',
      '--team-id',
      'TEAM123456',
      '--key-id',
      'ABCDE12345',
      '--private-key-file',
      'AuthKey_ABCDE12345.p8',
      '--client-secret-file',
      'secret.txt',
    ])
    assert.equal(refused.code, 2)
    assert.match(
      refused.stderr,
      /--client-secret-file or --client-secret-stdin \(TESSERA_PROVIDER_APPLE2_CLIENT_SECRET: not used by the apple preset/,
    )
    const badKey = await d.cli([
      'add',
      'apple3',
      '--preset',
      'apple',
      '--client-id',
      'com.example.third',
      '--team-id',
      'TEAM123456',
      '--key-id',
      'ABCDE12345',
      '--private-key-file',
      'secret.txt',
    ])
    assert.equal(badKey.code, 2)
    assert.match(
      badKey.stderr,
      /--private-key-file \(TESSERA_PROVIDER_APPLE3_PRIVATE_KEY_FILE: expected the PEM text/,
    )
  })

  it('--env-file edits that file; list says where each provider is configured', async () => {
    const d = deployment()
    mkdirSync(join(d.dir, 'etc'), { recursive: true })
    const path = join(d.dir, 'etc', 'tessera.env')
    writeFileSync(path, 'TESSERA_LOG_LEVEL=info\n')
    const added = await d.cli(
      ['add', 'gitlab', '--client-id', 'gl', '--client-secret-stdin', '--env-file', path],
      { stdin: 'gl-secret' },
    )
    assert.equal(added.code, 0, added.stderr)
    assert.equal(existsSync(d.envPath), false, './.env is left alone')
    const { env } = readEnvironment({}, { cwd: d.dir, envFile: path })
    assert.equal(env.TESSERA_PROVIDERS, 'gitlab')
    assert.equal(env.TESSERA_PROVIDER_GITLAB_CLIENT_SECRET, 'gl-secret')
    const listed = await d.cli(['list', '--json', '--env-file', path])
    assert.equal(listed.code, 0, listed.stderr)
    const [gitlab] = (JSON.parse(listed.stdout) as { providers: Record<string, unknown>[] })
      .providers
    assert.equal(gitlab?.configuredIn, path)
    assert.equal(gitlab?.issuer, 'https://gitlab.com')

    // Configured in the environment: list says so; remove refuses (the file is not where it is).
    const fromEnv = await d.cli(['list', '--json'], {
      env: {
        TESSERA_PROVIDERS: 'github',
        TESSERA_PROVIDER_GITHUB_CLIENT_ID: 'gh',
        TESSERA_PROVIDER_GITHUB_CLIENT_SECRET: 'gh-secret',
      },
    })
    assert.equal(fromEnv.code, 0, fromEnv.stderr)
    assertNoSecret(fromEnv, 'gh-secret')
    const [github] = (JSON.parse(fromEnv.stdout) as { providers: Record<string, unknown>[] })
      .providers
    assert.equal(github?.configuredIn, 'environment')
    const remove = await d.cli(['remove', 'github'], { env: { TESSERA_PROVIDERS: 'github' } })
    assert.equal(remove.code, 2)
    assert.match(remove.stderr, /the environment sets TESSERA_PROVIDERS/)
    const unknown = await d.cli(['remove', 'nope'])
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /no provider nope in /)
  })

  it('writes every value so that Node’s .env parser reads it back exactly', () => {
    const values = [
      'plain',
      'https://sso.example.com/realms/main/',
      'with space',
      ' padded ',
      'hash # sign',
      '#start',
      "it's",
      'say "hi"',
      'back`tick',
      `both ' and "`,
      'line\nbreak',
      'literal \\n escape',
      "quote ' and \\n",
      '',
    ]
    for (const value of values) {
      const line = envValue(value)
      assert.ok(line !== undefined, value)
      assert.equal(parseEnv(`A=${line}\nB=after\n`).A, value, JSON.stringify(value))
      assert.equal(parseEnv(`A=${line}\nB=after\n`).B, 'after')
    }
    assert.equal(envValue(`' " \``), undefined)
    // A quoted value over several lines is one entry: replaced and dropped whole.
    const text = 'A="one\ntwo"\nB=2\nC=\'x\ny\'\n'
    assert.equal(editEnvText(text, { set: [['A', 'new']], unset: ['C'] }), 'A=new\nB=2\n')
    // The last of two assignments wins in the parser: both go, the new value stands where the first was.
    assert.equal(editEnvText('A=1\nB=2\nA=3\n', { set: [['A', '4']], unset: [] }), 'A=4\nB=2\n')
    assert.equal(
      editEnvText('A=1\r\nB=2\r\n', { set: [['C', '3']], unset: ['A'] }),
      'B=2\r\nC=3\r\n',
    )
    assert.ok(PROVIDER_FIELDS.includes('CLIENT_SECRET'))
  })
})
