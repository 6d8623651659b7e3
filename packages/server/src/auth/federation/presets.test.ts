import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PRESETS, resolveProvider } from './presets.ts'

const base = { clientId: 'id', clientSecret: 'secret', issuer: undefined, scopes: undefined }

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

test('the presets are frozen data; apple is not among them yet', () => {
  assert.ok(Object.isFrozen(PRESETS))
  assert.ok(Object.isFrozen(PRESETS.google))
  assert.equal('apple' in PRESETS, false)
  assert.throws(() => resolveProvider({ ...base, id: 'apple', preset: 'apple' }), TypeError)
})
