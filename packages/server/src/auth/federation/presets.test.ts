import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PRESETS, resolveProvider } from './presets.ts'

const base = {
  clientId: 'id',
  clientSecret: 'secret',
  issuer: undefined,
  scopes: undefined,
  name: undefined,
  keepTokens: false,
  apple: undefined,
}

test('presets fill in the issuer, the scopes and the name', () => {
  const google = resolveProvider({ ...base, id: 'google', preset: 'google' })
  assert.equal(google.issuer, 'https://accounts.google.com')
  assert.deepEqual(google.scopes, ['openid', 'email', 'profile'])
  assert.equal(google.name, 'Google')
  assert.equal(google.preset.kind, 'oidc')

  const ms = resolveProvider({ ...base, id: 'work', preset: 'microsoft' })
  assert.equal(ms.issuer, 'https://login.microsoftonline.com/common/v2.0')
  assert.equal(ms.name, 'Microsoft')

  const gitlab = resolveProvider({
    ...base,
    id: 'gitlab',
    preset: 'gitlab',
    issuer: 'https://gitlab.corp.example',
    scopes: ['openid', 'email'],
  })
  assert.equal(gitlab.issuer, 'https://gitlab.corp.example')
  assert.deepEqual(gitlab.scopes, ['openid', 'email'])

  const github = resolveProvider({ ...base, id: 'github', preset: 'github' })
  assert.equal(github.preset.kind, 'oauth2')
  assert.deepEqual(github.scopes, ['read:user', 'user:email'])

  // A generic OpenID provider is named by its id: two of them stay apart on a login page.
  const corp = resolveProvider({
    ...base,
    id: 'corp',
    preset: 'oidc',
    issuer: 'https://id.corp.example',
  })
  assert.equal(corp.name, 'corp')
})

test('the operator names a provider; keepTokens comes through', () => {
  const corp = resolveProvider({
    ...base,
    id: 'corp',
    preset: 'oidc',
    issuer: 'https://id.corp.example',
    name: 'Corp SSO',
    keepTokens: true,
  })
  assert.equal(corp.name, 'Corp SSO')
  assert.equal(corp.keepTokens, true)
  assert.equal(resolveProvider({ ...base, id: 'google', preset: 'google' }).keepTokens, false)
})

test('apple: its issuer, scopes, form_post, and the key it signs its secret with', () => {
  const key = { teamId: 'TEAM123456', keyId: 'KEY1234567', privateKey: 'pem' }
  const apple = resolveProvider({
    ...base,
    clientSecret: undefined,
    id: 'apple',
    preset: 'apple',
    apple: key,
  })
  assert.equal(apple.issuer, 'https://appleid.apple.com')
  assert.deepEqual(apple.scopes, ['openid', 'email', 'name'])
  assert.equal(apple.name, 'Apple')
  assert.equal(apple.preset.kind === 'oidc' && apple.preset.responseMode, 'form_post')
  assert.equal(apple.apple, key)
  // Without its key (a configuration that skipped config/providers.ts) it cannot sign in.
  assert.throws(() => resolveProvider({ ...base, id: 'apple', preset: 'apple' }), TypeError)
  // The key is the apple preset's only.
  assert.equal(
    resolveProvider({ ...base, id: 'google', preset: 'google', apple: key }).apple,
    undefined,
  )
})

test('the presets are frozen data', () => {
  assert.ok(Object.isFrozen(PRESETS))
  for (const preset of Object.values(PRESETS)) {
    assert.ok(Object.isFrozen(preset))
    assert.ok(Object.isFrozen(preset.scopes))
  }
})
