import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AuthError } from '../../auth/errors.ts'
import { readBearerToken, requireRoles } from './authentication.ts'

test('readBearerToken: absent, well-formed, and everything else', () => {
  assert.equal(readBearerToken(undefined), undefined)
  assert.equal(readBearerToken('Bearer abc.DEF-_~+/='), 'abc.DEF-_~+/=')
  assert.equal(readBearerToken('bEaReR   tok'), 'tok')
  // The token's own syntax is the verifier's (app.test.ts: a garbage header is invalid_token).
  assert.equal(readBearerToken('Bearer a b'), 'a b')
  for (const header of [
    '',
    'Bearer',
    'Bearer ',
    'Bearer  ',
    'Basic abc',
    'Bearer\ttok',
    'xBearer tok',
  ]) {
    assert.throws(
      () => readBearerToken(header),
      (error: unknown) => error instanceof AuthError && error.code === 'invalid_token',
      JSON.stringify(header),
    )
  }
})

test('requireRoles needs at least one role', () => {
  assert.throws(() => requireRoles(), TypeError)
})
