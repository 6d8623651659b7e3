// The one catalogue of wire codes (src/auth/error-codes.ts) and what is
// tested against it besides docs/errors.md (test/http-errors-doc.test.ts):
// @tessera/jwt's middleware catalogue is a part of it, entry for entry, and
// the hosted pages' script (served as is, plain browser JavaScript) names no
// code the server or @tessera/client (on which the pages run) cannot give it.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { type AuthErrorCode, authErrorCodes } from '@tessera/jwt'
import { errorCodeList, errorCodes, isErrorCode } from '../src/auth/error-codes.ts'
import { wwwAuthenticate } from '../src/http/plugins/errors.ts'

const SCRIPT = new URL('../src/http/pages/assets/app.js', import.meta.url)
const CLIENT_ERRORS = new URL('../../client/src/errors.ts', import.meta.url)
const CLIENT_SESSION = new URL('../../client/src/session.ts', import.meta.url)

/** The codes @tessera/client raises itself (its `ClientErrorCode` union). */
function clientCodes(): Set<string> {
  const union = /export type ClientErrorCode =([\s\S]*?)\n\n/.exec(
    readFileSync(CLIENT_ERRORS, 'utf8'),
  )
  assert.ok(union !== null, 'errors.ts declares ClientErrorCode')
  return new Set([...union[1]!.matchAll(/\| '([a-z_]+)'/g)].map((match) => match[1]!))
}

/** snake_case names the script uses that are not wire codes. */
const SCRIPT_NAMES = new Set([
  'cookie_conflict', // a /login reason
  'duplicate_cookie', // the `reason` of a csrf_failed body
  'key_ops', // a JWK member
  'mfa_enrollment_required', // a /login reason (a social login whose account must set up a second factor)
  'mfa_token', // the fragment parameter a social login's second step arrives in
  'offline_access', // an OAuth scope (the consent page's words for it)
  'origin_refused', // a /login reason
  'password_changed', // a /login reason
  'recovery_code', // a second factor's method (POST /auth/mfa/verify)
  'redirect_to', // a query parameter
  'session_ended', // a /login reason
  'signed_out', // a /login reason
  'v1_5', // RSASSA-PKCS1-v1_5
])

describe('the error catalogue', () => {
  test("@tessera/jwt's codes are the server's, with the very same entries", () => {
    for (const code of Object.keys(authErrorCodes) as AuthErrorCode[]) {
      assert.ok(isErrorCode(code), code)
      assert.equal(errorCodes[code], authErrorCodes[code], code)
    }
  })

  test('every 401 names its challenge, and the error handler sends that one', () => {
    for (const code of errorCodeList) {
      const { status, challenge } = errorCodes[code]
      assert.equal(challenge !== undefined, status === 401, code)
      if (status !== 401) continue
      const header = wwwAuthenticate(code, 'message')
      assert.equal(header === 'Bearer realm="tessera"', challenge === 'bare', code)
      if (challenge === 'invalid_token') assert.match(header, /error="invalid_token"/)
    }
  })

  test('the pages script names only catalogue codes', () => {
    const script = readFileSync(SCRIPT, 'utf8')
    const named = new Set(script.match(/\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b/g) ?? [])
    const client = clientCodes()
    assert.ok(client.has('network_error'), 'the client codes are read')
    const codes = [...named].filter((name) => !SCRIPT_NAMES.has(name))
    assert.ok(codes.length >= 8, 'the script branches on codes')
    for (const name of codes) {
      assert.ok(
        isErrorCode(name) || client.has(name),
        `app.js names "${name}", which is neither a wire code nor one of @tessera/client's`,
      )
    }
    for (const name of SCRIPT_NAMES) {
      assert.ok(!isErrorCode(name), `${name} is a code: drop it from SCRIPT_NAMES`)
      assert.ok(named.has(name), `app.js no longer uses ${name}: drop it from SCRIPT_NAMES`)
    }
  })

  test("@tessera/client's own codes are not wire codes, and it refreshes for the 401s of a bad token only", () => {
    for (const name of clientCodes()) assert.ok(!isErrorCode(name), name)
    // The codes worth a refresh and a retry are the 401s of a bad access token.
    const session = readFileSync(CLIENT_SESSION, 'utf8')
    const tokenErrors = /const TOKEN_ERRORS = new Set\(\[([^\]]*)\]\)/.exec(session)?.[1]
    assert.ok(tokenErrors !== undefined, 'TOKEN_ERRORS is a Set literal')
    for (const name of tokenErrors.match(/[a-z_]+/g) ?? []) {
      assert.ok(isErrorCode(name) && errorCodes[name].status === 401, name)
    }
  })
})
