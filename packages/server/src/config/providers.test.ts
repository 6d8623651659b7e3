import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
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
      },
      {
        id: 'corp',
        preset: 'oidc',
        issuer: 'https://id.corp.example/',
        clientId: 'tessera',
        clientSecret: undefined,
        scopes: ['openid', 'email', 'profile'],
      },
      {
        id: 'ms',
        preset: 'microsoft',
        issuer: 'https://login.microsoftonline.com/common/v2.0',
        clientId: 'mid',
        clientSecret: 'msecret',
        scopes: undefined,
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
    ['apple', { TESSERA_PROVIDERS: 'apple' }, 'TESSERA_PROVIDER_APPLE_PRESET', /not yet supported/],
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
