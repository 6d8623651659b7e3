import assert from 'node:assert/strict'
import { createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { ConfigError, loadConfig } from './load.ts'
import { unknownVariableWarnings } from './unknown-variables.ts'

const load = (env: Record<string, string>) => loadConfig(env, { cwd: '/srv/tessera' })

function refusal(env: Record<string, string>): { variable: string; message: string } {
  try {
    load(env)
  } catch (error) {
    assert.ok(error instanceof ConfigError)
    return { variable: error.variable, message: error.message }
  }
  assert.fail('expected a ConfigError')
}

const GOOGLE = {
  TESSERA_PROVIDERS: 'google',
  TESSERA_PROVIDER_GOOGLE_CLIENT_ID: 'gid',
  TESSERA_PROVIDER_GOOGLE_CLIENT_SECRET: 'gsecret-value',
}

describe('TESSERA_PROVIDERS', () => {
  it('defaults to no provider', () => {
    assert.deepEqual(load({}).providers, [])
  })

  it('reads each listed provider; the preset defaults to the id when it names one', () => {
    const config = load({
      ...GOOGLE,
      TESSERA_PROVIDERS: 'google, Corp,ms',
      TESSERA_PROVIDER_CORP_PRESET: 'oidc',
      TESSERA_PROVIDER_CORP_ISSUER: 'https://id.corp.example/',
      TESSERA_PROVIDER_CORP_CLIENT_ID: 'tessera',
      TESSERA_PROVIDER_CORP_SCOPES: 'openid,email profile',
      TESSERA_PROVIDER_MS_PRESET: 'microsoft',
      TESSERA_PROVIDER_MS_CLIENT_ID: 'mid',
      TESSERA_PROVIDER_MS_CLIENT_SECRET: 'msecret',
    })
    assert.deepEqual(config.providers, [
      {
        id: 'google',
        preset: 'google',
        issuer: undefined,
        clientId: 'gid',
        clientSecret: 'gsecret-value',
        scopes: undefined,
        name: undefined,
        keepTokens: false,
        apple: undefined,
      },
      {
        id: 'corp',
        preset: 'oidc',
        issuer: 'https://id.corp.example/',
        clientId: 'tessera',
        clientSecret: undefined,
        scopes: ['openid', 'email', 'profile'],
        name: undefined,
        keepTokens: false,
        apple: undefined,
      },
      {
        id: 'ms',
        preset: 'microsoft',
        issuer: 'https://login.microsoftonline.com/common/v2.0',
        clientId: 'mid',
        clientSecret: 'msecret',
        scopes: undefined,
        name: undefined,
        keepTokens: false,
        apple: undefined,
      },
    ])
    assert.ok(Object.isFrozen(config.providers[0]))
  })

  const cases: [string, Record<string, string>, string, RegExp][] = [
    ['a bad id', { TESSERA_PROVIDERS: 'go-ogle' }, 'TESSERA_PROVIDERS', /lower-case/],
    [
      'an id twice',
      { ...GOOGLE, TESSERA_PROVIDERS: 'google,google' },
      'TESSERA_PROVIDERS',
      /twice/,
    ],
    ['no preset', { TESSERA_PROVIDERS: 'corp' }, 'TESSERA_PROVIDER_CORP_PRESET', /required/],
    [
      'an unknown preset',
      { TESSERA_PROVIDERS: 'corp', TESSERA_PROVIDER_CORP_PRESET: 'facebook' },
      'TESSERA_PROVIDER_CORP_PRESET',
      /expected one of google, microsoft/,
    ],
    [
      'oidc without an issuer',
      { TESSERA_PROVIDERS: 'corp', TESSERA_PROVIDER_CORP_PRESET: 'oidc' },
      'TESSERA_PROVIDER_CORP_ISSUER',
      /required/,
    ],
    [
      'an http issuer off loopback',
      {
        TESSERA_PROVIDERS: 'corp',
        TESSERA_PROVIDER_CORP_PRESET: 'oidc',
        TESSERA_PROVIDER_CORP_ISSUER: 'http://id.corp.example',
      },
      'TESSERA_PROVIDER_CORP_ISSUER',
      /must be https/,
    ],
    [
      'an issuer for google',
      { ...GOOGLE, TESSERA_PROVIDER_GOOGLE_ISSUER: 'https://accounts.google.com' },
      'TESSERA_PROVIDER_GOOGLE_ISSUER',
      /not used by the google preset/,
    ],
    [
      'a microsoft issuer elsewhere',
      {
        TESSERA_PROVIDERS: 'microsoft',
        TESSERA_PROVIDER_MICROSOFT_ISSUER: 'https://login.example.com/common/v2.0',
        TESSERA_PROVIDER_MICROSOFT_CLIENT_ID: 'x',
        TESSERA_PROVIDER_MICROSOFT_CLIENT_SECRET: 'y',
      },
      'TESSERA_PROVIDER_MICROSOFT_ISSUER',
      /login\.microsoftonline\.com/,
    ],
    [
      'no client id',
      { TESSERA_PROVIDERS: 'github' },
      'TESSERA_PROVIDER_GITHUB_CLIENT_ID',
      /required/,
    ],
    [
      'no client secret',
      { TESSERA_PROVIDERS: 'github', TESSERA_PROVIDER_GITHUB_CLIENT_ID: 'x' },
      'TESSERA_PROVIDER_GITHUB_CLIENT_SECRET',
      /required/,
    ],
    [
      'scopes without openid',
      { ...GOOGLE, TESSERA_PROVIDER_GOOGLE_SCOPES: 'email profile' },
      'TESSERA_PROVIDER_GOOGLE_SCOPES',
      /must include openid/,
    ],
  ]
  for (const [title, env, variable, message] of cases) {
    it(`refuses ${title}, naming ${variable}`, () => {
      const error = refusal(env)
      assert.equal(error.variable, variable)
      assert.ok(error.message.startsWith(`${variable}: `), error.message)
      assert.match(error.message, message)
    })
  }

  it('refuses an http issuer in production even on loopback', () => {
    const error = refusal({
      NODE_ENV: 'production',
      TESSERA_MASTER_KEY: Buffer.alloc(32, 7).toString('base64url'),
      TESSERA_ISSUER: 'https://auth.example.com',
      TESSERA_PROVIDERS: 'corp',
      TESSERA_PROVIDER_CORP_PRESET: 'oidc',
      TESSERA_PROVIDER_CORP_ISSUER: 'http://127.0.0.1:4000',
      TESSERA_PROVIDER_CORP_CLIENT_ID: 'x',
    })
    assert.equal(error.variable, 'TESSERA_PROVIDER_CORP_ISSUER')
  })

  it('never echoes a client secret', () => {
    const error = refusal({ ...GOOGLE, TESSERA_PROVIDER_GOOGLE_SCOPES: 'email' })
    assert.doesNotMatch(error.message, /gsecret-value/)
  })

  it('the provider variables of listed ids are no typo; those of unlisted ones are', () => {
    assert.deepEqual(unknownVariableWarnings(GOOGLE), [])
    const warnings = unknownVariableWarnings({ ...GOOGLE, TESSERA_PROVIDER_CORP_CLIENT_ID: 'x' })
    assert.equal(warnings.length, 1)
    assert.match(warnings[0]!, /^TESSERA_PROVIDER_CORP_CLIENT_ID is ignored: .*not listed/)
  })
})

describe('TESSERA_PROVIDER_<ID>_NAME and _KEEP_TOKENS', () => {
  it('reads a display name and whether to keep the tokens', () => {
    const [google] = load({
      ...GOOGLE,
      TESSERA_PROVIDER_GOOGLE_NAME: '  Google Workspace  ',
      TESSERA_PROVIDER_GOOGLE_KEEP_TOKENS: 'true',
    }).providers
    assert.equal(google?.name, 'Google Workspace')
    assert.equal(google?.keepTokens, true)
    const [plain] = load({ ...GOOGLE, TESSERA_PROVIDER_GOOGLE_KEEP_TOKENS: 'false' }).providers
    assert.equal(plain?.name, undefined)
    assert.equal(plain?.keepTokens, false)
  })

  const cases: [string, Record<string, string>, string, RegExp][] = [
    [
      'a name too long for a button',
      { ...GOOGLE, TESSERA_PROVIDER_GOOGLE_NAME: 'x'.repeat(65) },
      'TESSERA_PROVIDER_GOOGLE_NAME',
      /at most 64/,
    ],
    [
      'a name with a control character',
      { ...GOOGLE, TESSERA_PROVIDER_GOOGLE_NAME: 'Goo\u0007gle' },
      'TESSERA_PROVIDER_GOOGLE_NAME',
      /control characters/,
    ],
    [
      'a name with a bidirectional override',
      { ...GOOGLE, TESSERA_PROVIDER_GOOGLE_NAME: 'elgooG\u202e' },
      'TESSERA_PROVIDER_GOOGLE_NAME',
      /bidirectional/,
    ],
    [
      'a keep-tokens that is no boolean',
      { ...GOOGLE, TESSERA_PROVIDER_GOOGLE_KEEP_TOKENS: 'sometimes' },
      'TESSERA_PROVIDER_GOOGLE_KEEP_TOKENS',
      /expected true or false/,
    ],
  ]
  for (const [title, env, variable, message] of cases) {
    it(`refuses ${title}, naming ${variable}`, () => {
      const error = refusal(env)
      assert.equal(error.variable, variable)
      assert.match(error.message, message)
    })
  }
})

describe('the apple preset', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const PEM = String(p256.privateKey.export({ type: 'pkcs8', format: 'pem' }))
  const APPLE = {
    TESSERA_PROVIDERS: 'apple',
    TESSERA_PROVIDER_APPLE_CLIENT_ID: 'com.example.signin',
    TESSERA_PROVIDER_APPLE_TEAM_ID: 'TEAM123456',
    TESSERA_PROVIDER_APPLE_KEY_ID: 'KEY1234567',
  }
  const dir = mkdtempSync(join(tmpdir(), 'tessera-apple-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it('reads the team id, the key id and the key (a .p8 file, relative to the working directory)', () => {
    writeFileSync(join(dir, 'AuthKey_KEY1234567.p8'), PEM, { mode: 0o600 })
    const [apple] = loadConfig(
      { ...APPLE, TESSERA_PROVIDER_APPLE_PRIVATE_KEY_FILE: 'AuthKey_KEY1234567.p8' },
      { cwd: dir },
    ).providers
    assert.equal(apple?.preset, 'apple')
    assert.equal(apple?.issuer, undefined)
    assert.equal(apple?.clientSecret, undefined)
    assert.equal(apple?.apple?.teamId, 'TEAM123456')
    assert.equal(apple?.apple?.keyId, 'KEY1234567')
    assert.equal(
      createPrivateKey(apple?.apple?.privateKey ?? '').asymmetricKeyDetails?.namedCurve,
      'prime256v1',
    )
  })

  it('takes the PEM inline, its line breaks written \\n (one line of a .env file)', () => {
    const oneLine = PEM.trim().replaceAll('\n', '\\n')
    const [apple] = load({ ...APPLE, TESSERA_PROVIDER_APPLE_PRIVATE_KEY: oneLine }).providers
    assert.equal(apple?.apple?.privateKey, PEM)
    // A SEC 1 key (`BEGIN EC PRIVATE KEY`) is the same key: kept as PKCS #8.
    const sec1 = String(p256.privateKey.export({ type: 'sec1', format: 'pem' }))
    const [again] = load({ ...APPLE, TESSERA_PROVIDER_APPLE_PRIVATE_KEY: sec1 }).providers
    assert.equal(again?.apple?.privateKey, PEM)
  })

  it('accepts a loopback issuer outside production (a local provider standing in for Apple)', () => {
    const [apple] = load({
      ...APPLE,
      TESSERA_PROVIDER_APPLE_PRIVATE_KEY: PEM,
      TESSERA_PROVIDER_APPLE_ISSUER: 'http://127.0.0.1:4000',
    }).providers
    assert.equal(apple?.issuer, 'http://127.0.0.1:4000')
  })

  const p384 = String(
    generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }),
  )
  const rsa = String(
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }),
  )
  const publicPem = String(p256.publicKey.export({ type: 'spki', format: 'pem' }))
  const withKey = { ...APPLE, TESSERA_PROVIDER_APPLE_PRIVATE_KEY: PEM }
  const cases: [string, Record<string, string>, string, RegExp][] = [
    [
      'a client secret (Tessera signs its own)',
      { ...withKey, TESSERA_PROVIDER_APPLE_CLIENT_SECRET: 'eyJhbGciOi.x.y' },
      'TESSERA_PROVIDER_APPLE_CLIENT_SECRET',
      /not used by the apple preset.*signs/,
    ],
    [
      'no team id',
      { ...withKey, TESSERA_PROVIDER_APPLE_TEAM_ID: '' },
      'TESSERA_PROVIDER_APPLE_TEAM_ID',
      /required/,
    ],
    [
      'a malformed team id',
      { ...withKey, TESSERA_PROVIDER_APPLE_TEAM_ID: 'team' },
      'TESSERA_PROVIDER_APPLE_TEAM_ID',
      /10-character/,
    ],
    [
      'no key id',
      { ...withKey, TESSERA_PROVIDER_APPLE_KEY_ID: '' },
      'TESSERA_PROVIDER_APPLE_KEY_ID',
      /required/,
    ],
    ['no key', APPLE, 'TESSERA_PROVIDER_APPLE_PRIVATE_KEY_FILE', /required/],
    [
      'both key variables',
      { ...withKey, TESSERA_PROVIDER_APPLE_PRIVATE_KEY_FILE: '/etc/key.p8' },
      'TESSERA_PROVIDER_APPLE_PRIVATE_KEY',
      /not both/,
    ],
    [
      'a key file that cannot be read',
      { ...APPLE, TESSERA_PROVIDER_APPLE_PRIVATE_KEY_FILE: '/nonexistent/AuthKey.p8' },
      'TESSERA_PROVIDER_APPLE_PRIVATE_KEY_FILE',
      /cannot read \/nonexistent\/AuthKey\.p8 \(ENOENT\)/,
    ],
    [
      'text that is no key',
      { ...APPLE, TESSERA_PROVIDER_APPLE_PRIVATE_KEY: 'not-a-key-secretvalue' },
      'TESSERA_PROVIDER_APPLE_PRIVATE_KEY',
      /could not be read as a private key/,
    ],
    [
      'a public key',
      { ...APPLE, TESSERA_PROVIDER_APPLE_PRIVATE_KEY: publicPem },
      'TESSERA_PROVIDER_APPLE_PRIVATE_KEY',
      /could not be read as a private key/,
    ],
    [
      'a P-384 key',
      { ...APPLE, TESSERA_PROVIDER_APPLE_PRIVATE_KEY: p384 },
      'TESSERA_PROVIDER_APPLE_PRIVATE_KEY',
      /P-256/,
    ],
    [
      'an RSA key',
      { ...APPLE, TESSERA_PROVIDER_APPLE_PRIVATE_KEY: rsa },
      'TESSERA_PROVIDER_APPLE_PRIVATE_KEY',
      /P-256/,
    ],
    [
      'an issuer other than Apple',
      { ...withKey, TESSERA_PROVIDER_APPLE_ISSUER: 'https://appleid.example.com' },
      'TESSERA_PROVIDER_APPLE_ISSUER',
      /not used by the apple preset/,
    ],
    [
      'scopes without openid',
      { ...withKey, TESSERA_PROVIDER_APPLE_SCOPES: 'email name' },
      'TESSERA_PROVIDER_APPLE_SCOPES',
      /must include openid/,
    ],
    [
      "Apple's variables on another preset",
      { ...GOOGLE, TESSERA_PROVIDER_GOOGLE_TEAM_ID: 'TEAM123456' },
      'TESSERA_PROVIDER_GOOGLE_TEAM_ID',
      /only used by the apple preset/,
    ],
  ]
  for (const [title, env, variable, message] of cases) {
    it(`refuses ${title}, naming ${variable}`, () => {
      const error = refusal(env)
      assert.equal(error.variable, variable)
      assert.ok(error.message.startsWith(`${variable}: `), error.message)
      assert.match(error.message, message)
      // Never a word of the key (nor of a secret given where none belongs).
      assert.doesNotMatch(error.message, /secretvalue|eyJhbGciOi|MIG|MII/)
    })
  }

  it('refuses a loopback issuer in production', () => {
    const error = refusal({
      ...withKey,
      NODE_ENV: 'production',
      TESSERA_MASTER_KEY: Buffer.alloc(32, 7).toString('base64url'),
      TESSERA_ISSUER: 'https://auth.example.com',
      TESSERA_PROVIDER_APPLE_ISSUER: 'http://127.0.0.1:4000',
    })
    assert.equal(error.variable, 'TESSERA_PROVIDER_APPLE_ISSUER')
  })

  it("Apple's variables of a listed provider are no typo", () => {
    assert.deepEqual(
      unknownVariableWarnings({
        ...withKey,
        TESSERA_PROVIDER_APPLE_NAME: 'Apple',
        TESSERA_PROVIDER_APPLE_KEEP_TOKENS: 'false',
      }),
      [],
    )
  })
})
