import assert from 'node:assert/strict'
import { test } from 'node:test'
import { generateKeyPair, generateSecret, KeySet } from './keys.ts'
import { sign } from './sign.ts'
import { createVerifier } from './verifier.ts'

test('a cached token returns the same frozen result; cache: false verifies every time', () => {
  const key = generateSecret('HS256')
  const token = sign({ sub: 'a', roles: ['x'] }, key, { expiresIn: 60 })
  const cached = createVerifier({ key })
  const first = cached(token)
  assert.equal(cached(token), first)
  assert.ok(Object.isFrozen(first.payload) && Object.isFrozen(first.payload.roles))
  assert.equal(cached.cache?.size, 1)
  const uncached = createVerifier({ key, cache: false })
  assert.equal(uncached.cache, undefined)
  assert.notEqual(uncached(token), uncached(token))
})

test('a cached entry never outlives exp', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-01-01T00:00:00Z') })
  const key = generateSecret('HS256')
  const token = sign({}, key, { expiresIn: 10 })
  const verifyToken = createVerifier({ key })
  verifyToken(token)
  t.mock.timers.tick(9_999)
  assert.ok(verifyToken(token))
  t.mock.timers.tick(1)
  assert.throws(() => verifyToken(token), { code: 'expired' })
  assert.equal(verifyToken.cache?.size, 0)
})

test('maxTokenAge also bounds the cached entry', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: Date.parse('2026-01-01T00:00:00Z') })
  const key = generateSecret('HS256')
  const token = sign({}, key, { expiresIn: 3600 })
  const verifyToken = createVerifier({ key, maxTokenAge: 5 })
  verifyToken(token)
  t.mock.timers.tick(5_999)
  assert.ok(verifyToken(token), 'an age of exactly maxTokenAge seconds is still valid')
  t.mock.timers.tick(1)
  assert.throws(() => verifyToken(token), { code: 'expired', claim: 'iat' })
})

test('isRevoked runs on cache hits too, and a revoked token is evicted', () => {
  const key = generateSecret('HS256')
  const revoked = new Set<string>()
  const verifyToken = createVerifier({ key, isRevoked: (p) => revoked.has(String(p.sid)) })
  const token = sign({ sid: 's1' }, key, { expiresIn: 60 })
  verifyToken(token)
  revoked.add('s1')
  assert.throws(() => verifyToken(token), { code: 'revoked' })
  assert.equal(verifyToken.cache?.size, 0)
  assert.throws(() => verifyToken(token), { code: 'revoked' })
})

test('a key removed from the KeySet takes its cached tokens with it', () => {
  const a = generateKeyPair('ES256', { kid: 'a' })
  const set = new KeySet([a.publicKey])
  const verifyToken = createVerifier({ key: set })
  const token = sign({}, a.privateKey, { expiresIn: 60 })
  verifyToken(token)
  set.delete('a')
  assert.throws(() => verifyToken(token), { code: 'key_not_found' })
})

test('failed verifications are never cached and misuse fails at creation', () => {
  const key = generateSecret('HS256')
  const verifyToken = createVerifier({ key, issuer: 'me' })
  const token = sign({ iss: 'you' }, key, { expiresIn: 60 })
  assert.throws(() => verifyToken(token), { code: 'claim_invalid' })
  assert.equal(verifyToken.cache?.size, 0)
  assert.throws(() => createVerifier({ key: 'secret' as never }), TypeError)
  assert.throws(() => createVerifier({ key, cache: 0.5 }), TypeError)
  assert.throws(() => createVerifier({ key, algorithms: ['HS1' as never] }), TypeError)
})

test('the cache is bounded by its size', () => {
  const key = generateSecret('HS256')
  const verifyToken = createVerifier({ key, cache: 10 })
  for (let i = 0; i < 50; i++) verifyToken(sign({ i }, key, { expiresIn: 60 }))
  assert.equal(verifyToken.cache?.size, 10)
})

test('clock is read on every call, for claims and for cached entries', () => {
  let now = Date.parse('2026-01-01T00:00:00Z')
  const key = generateSecret('HS256')
  const token = sign({}, key, { expiresIn: 10, currentDate: new Date(now) })
  const verifyToken = createVerifier({ key, clock: () => now })
  assert.ok(verifyToken(token))
  now += 10_000
  assert.throws(() => verifyToken(token), { code: 'expired' })
  const fresh = createVerifier({ key, clock: () => now, cache: false })
  assert.throws(() => fresh(token), { code: 'expired' })
  now -= 1
  assert.ok(fresh(token))
  assert.throws(() => createVerifier({ key, clock: 5 as never }), TypeError)
})

test('the cache answers only for the very token it verified', () => {
  const { privateKey, publicKey } = generateKeyPair('ES256')
  const token = sign({ sub: 'a', iss: 'i', aud: 'api' }, privateKey, { expiresIn: 60 })
  const verifyToken = createVerifier({ key: publicKey, issuer: 'i', audience: 'api' })
  verifyToken(token)
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const forged = Buffer.from(JSON.stringify({ sub: 'b', iss: 'i', aud: 'api' })).toString(
    'base64url',
  )
  // The cached token's signature on another payload, or on another header, is checked and refused.
  assert.throws(() => verifyToken(`${header}.${forged}.${signature}`), {
    code: 'invalid_signature',
  })
  const otherHeader = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT', x: 1 })).toString(
    'base64url',
  )
  assert.throws(() => verifyToken(`${otherHeader}.${payload}.${signature}`), {
    code: 'invalid_signature',
  })
  // Claims equal to the options are kept as the options' strings: the same values.
  const { payload: claims } = verifyToken(token)
  assert.equal(claims.iss, 'i')
  assert.equal(claims.aud, 'api')
  assert.equal(verifyToken.cache?.size, 1)
})
