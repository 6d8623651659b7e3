import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AuthError } from '../../auth/errors.ts'
import { readBearerToken, requireRoles } from './authentication.ts'

test('readBearerToken: absent, well-formed, and everything else', () => {
  assert.equal(readBearerToken(undefined), undefined)
  assert.equal(readBearerToken('Bearer abc.DEF-_~+/='), 'abc.DEF-_~+/=')
  assert.equal(readBearerToken('bEaReR   tok'), 'tok')
  for (const header of [
    '',
    'Bearer',
    'Bearer ',
    'Bearer a b',
    'Basic abc',
    'Bearer a=b',
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
