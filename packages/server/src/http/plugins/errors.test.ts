// Unit tests of the error mapping: registry statuses, Fastify's client
// errors, the RFC 6750 challenge and the envelope.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { AuthError, type ErrorCode } from '../../auth/errors.ts'
import { StoreUnavailableError } from '../../storage/ports.ts'
import { errorCodeList, errorCodes, isErrorCode } from '../error-codes.ts'
import { errorBody, toWireError, wwwAuthenticate } from './errors.ts'

describe('toWireError', () => {
  test('every AuthError code gets the status of the registry', () => {
    for (const code of errorCodeList) {
      const wire = toWireError(new AuthError(code, 'message'))
      assert.equal(wire?.status, errorCodes[code].status, code)
      assert.equal(wire?.code, code)
    }
  })

  test('the registry has the statuses of PRODUCT.md', () => {
    const expected: Record<ErrorCode, number> = {
      validation_failed: 400,
      invalid_code: 400,
      email_not_verified: 403,
      invalid_credentials: 401,
      missing_token: 401,
      invalid_token: 401,
      token_expired: 401,
      token_revoked: 401,
      invalid_dpop_proof: 401,
      use_dpop_nonce: 401,
      invalid_refresh_token: 401,
      refresh_token_reused: 401,
      mfa_required: 401,
      forbidden: 403,
      reauthentication_required: 403,
      csrf_failed: 403,
      not_found: 404,
      email_taken: 409,
      last_sign_in_method: 409,
      provider_token_revoked: 409,
      payload_too_large: 413,
      unsupported_media_type: 415,
      rate_limited: 429,
      unavailable: 503,
      provider_unavailable: 503,
    }
    assert.deepEqual(
      Object.fromEntries(errorCodeList.map((code) => [code, errorCodes[code].status])),
      expected,
    )
    assert.ok(isErrorCode('forbidden'))
    assert.ok(!isErrorCode('internal_error'))
    assert.ok(!isErrorCode('toString'))
  })

  test('Fastify client errors map to registry codes', () => {
    const cases: [Record<string, unknown>, ErrorCode][] = [
      [{ code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }, 'payload_too_large'],
      [{ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 }, 'unsupported_media_type'],
      [{ code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 }, 'validation_failed'],
      [{ code: 'FST_ERR_CTP_EMPTY_JSON_BODY', statusCode: 400 }, 'validation_failed'],
      [{ code: 'FST_ERR_BAD_URL', statusCode: 400 }, 'validation_failed'],
      [{ code: 'FST_ERR_MAX_PARAM_LENGTH', statusCode: 414 }, 'validation_failed'],
      [{ name: 'SyntaxError', statusCode: 400 }, 'validation_failed'],
      [{ statusCode: 404 }, 'not_found'],
      [{ statusCode: 413 }, 'payload_too_large'],
      [{ statusCode: 415 }, 'unsupported_media_type'],
      [{ statusCode: 431 }, 'validation_failed'],
    ]
    for (const [error, code] of cases) {
      const wire = toWireError(Object.assign(new Error('x'), error))
      assert.equal(wire?.code, code, JSON.stringify(error))
      assert.equal(wire?.status, errorCodes[code].status)
    }
  })

  test('validation errors list issues by path, never the value', () => {
    const error = Object.assign(new Error('body/password too long'), {
      statusCode: 400,
      validation: [
        { instancePath: '/password', message: 'Expected string length less or equal to 1024' },
      ],
    })
    const wire = toWireError(error)
    assert.equal(wire?.code, 'validation_failed')
    assert.deepEqual(wire?.details, {
      issues: [{ path: '/password', message: 'Expected string length less or equal to 1024' }],
    })
  })

  test('anything else is not a client error', () => {
    for (const error of [
      new Error('bug'),
      new TypeError('x is undefined'),
      Object.assign(new Error('db'), { statusCode: 500 }),
      Object.assign(new Error('odd'), { statusCode: 302 }),
      'a string',
      null,
      undefined,
      42,
    ]) {
      assert.equal(toWireError(error), undefined, String(error))
    }
  })
})

describe('wwwAuthenticate (RFC 6750 §3)', () => {
  test('no error code when no credentials were presented', () => {
    assert.equal(wwwAuthenticate('missing_token', 'x'), 'Bearer realm="tessera"')
    assert.equal(wwwAuthenticate('invalid_credentials', 'x'), 'Bearer realm="tessera"')
  })

  test('invalid_token with a description limited to the allowed characters', () => {
    const header = wwwAuthenticate('token_expired', 'Expired "now" \\ é\r\nInjected: 1')
    const prefix = 'Bearer realm="tessera", error="invalid_token", error_description="'
    assert.ok(header.startsWith(prefix), header)
    assert.ok(header.endsWith('"'))
    const description = header.slice(prefix.length, -1)
    assert.match(description, /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/)
    assert.match(description, /^Expired {2}now {7}Injected: 1$/)
  })
})

describe('errorBody', () => {
  test('details are added but never replace code or message', () => {
    const body = errorBody({
      status: 400,
      code: 'validation_failed',
      message: 'the request is invalid',
      details: { code: 'spoofed', message: 'spoofed', issues: [] },
      retryAfter: undefined,
    })
    assert.deepEqual(body, {
      error: { code: 'validation_failed', message: 'the request is invalid', issues: [] },
    })
  })

  test('retryAfter joins the body', () => {
    const body = errorBody({
      status: 429,
      code: 'rate_limited',
      message: 'Slow down.',
      retryAfter: 7,
    })
    assert.deepEqual(body, {
      error: { code: 'rate_limited', message: 'Slow down.', retryAfter: 7 },
    })
  })
})

test('a store outage is 503 unavailable with Retry-After, never a 500', () => {
  const wireError = toWireError(
    new StoreUnavailableError('the database is unavailable', { cause: new Error('ECONNREFUSED') }),
  )
  assert.equal(wireError?.status, 503)
  assert.equal(wireError?.code, 'unavailable')
  assert.equal(wireError?.retryAfter, 1)
  assert.doesNotMatch(wireError?.message ?? '', /ECONNREFUSED/)
})
