import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { createRefreshToken, hashRefreshToken, isWellFormedRefreshToken } from './refresh-tokens.ts'

test('refresh tokens are 43 base64url characters (256 bits) and unique', () => {
  const seen = new Set<string>()
  for (let i = 0; i < 2000; i++) {
    const { token, hash } = createRefreshToken()
    assert.match(token, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(Buffer.from(token, 'base64url').length, 32)
    assert.ok(isWellFormedRefreshToken(token))
    assert.equal(hash, hashRefreshToken(token))
    assert.ok(!seen.has(token))
    seen.add(token)
  }
})

test('the hash is SHA-256 of the token in base64url, and differs from the token', () => {
  const { token, hash } = createRefreshToken()
  assert.equal(hash, createHash('sha256').update(token).digest('base64url'))
  assert.equal(hash.length, 43)
  assert.notEqual(hash, token)
  assert.equal(hashRefreshToken(token), hashRefreshToken(token))
  const other = token.endsWith('A') ? 'B' : 'A'
  assert.notEqual(hashRefreshToken(`${token.slice(0, -1)}${other}`), hash)
  // Any string hashes: the shape check is separate.
  assert.equal(hashRefreshToken(''), createHash('sha256').update('').digest('base64url'))
})

test('isWellFormedRefreshToken refuses anything but the exact shape', () => {
  const { token } = createRefreshToken()
  const bad: unknown[] = [
    undefined,
    null,
    42,
    {},
    [token],
    '',
    token.slice(1),
    `${token}A`,
    `${token.slice(0, 42)}+`,
    `${token.slice(0, 42)}/`,
    `${token.slice(0, 42)}=`,
    `${token.slice(0, 42)} `,
    // The 43rd character's low 2 bits must be zero: 'B' sets one.
    `${'A'.repeat(42)}B`,
    'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.sig',
  ]
  for (const value of bad) assert.equal(isWellFormedRefreshToken(value), false, String(value))
  assert.equal(isWellFormedRefreshToken(`${'A'.repeat(42)}E`), true)
})
