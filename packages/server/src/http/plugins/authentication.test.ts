import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AuthError } from '../../auth/errors.ts'
import type { AccessContext } from '../../auth/types.ts'
import { readBearerToken, requireRoles } from './authentication.ts'

test('readBearerToken: absent, well-formed, and everything else', () => {
  assert.equal(readBearerToken('Bearer abc.DEF-_~+/='), 'abc.DEF-_~+/=')
  assert.equal(readBearerToken('bEaReR   tok'), 'tok')
  // No Bearer credentials at all: missing_token, as in @tessera/jwt's
  // middleware (RFC 6750 §3.1: "attempted using an unsupported authentication method").
  for (const header of [undefined, '', 'Basic abc', 'Bearer\ttok', 'xBearer tok', 'Token tok']) {
    assert.equal(readBearerToken(header), undefined, JSON.stringify(header))
  }
  // Bearer, but not exactly one token (the token's own syntax is the verifier's).
  for (const header of ['Bearer', 'Bearer ', 'Bearer  ', 'Bearer a b']) {
    assert.throws(
      () => readBearerToken(header),
      (error: unknown) => error instanceof AuthError && error.code === 'invalid_token',
      JSON.stringify(header),
    )
  }
})

test('requireRoles needs at least one role, and lets through a caller holding any one of them', () => {
  assert.throws(() => requireRoles(), TypeError)
  const hook = requireRoles('admin', 'owner')
  const run = (roles: string[]): unknown => {
    const request = { access: { roles } as unknown as AccessContext } as FastifyRequest
    let passed = false
    try {
      hook.call(undefined as never, request, {} as FastifyReply, () => {
        passed = true
      })
    } catch (error) {
      return error
    }
    return passed
  }
  assert.equal(run(['owner']), true)
  assert.equal(run(['member', 'admin']), true)
  const refused = run(['member'])
  assert.ok(refused instanceof AuthError && refused.code === 'forbidden')
  assert.ok(run([]) instanceof AuthError)
})
