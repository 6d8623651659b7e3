// Hostile input against EVERY route of the real service: malformed JSON,
// wrong types, missing and extra fields, a 1 MiB body, wrong content types and
// charsets, bytes that are not UTF-8, lone surrogates, unicode and
// injection-looking strings, garbage Authorization headers, bad path and
// query parameters. Each must be a 4xx with a registry code, never a 500,
// and a request refused by the HTTP layer must never reach the service.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { InjectOptions } from 'fastify'
import { isErrorCode } from '../src/http/error-codes.ts'
import { harness, PASSWORD } from './support/harness.ts'

const ONE_MIB = `{"email":"${'a'.repeat(1 << 20)}@example.com","password":"x"}`
const INJECTIONS = [
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  'nul\u0000byte',
  '𝓾𝓷𝓲𝓬𝓸𝓭𝓮 ☃',
  '../../etc/passwd',
]

type Access = 'public' | 'user' | 'admin' | 'logout'

interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** With `:id` (or `:provider`, a provider id) for routes that take one. */
  url: string
  access: Access
  /** A body the route accepts, or undefined for routes without a body. */
  body?: Record<string, unknown>
  /** The route's required body fields (for "missing fields"). */
  required?: string[]
  /** Free-text fields: any printable text is legal data there. */
  freeText?: string[]
  /** A wrong-typed body. */
  wrongTypes?: Record<string, unknown>
  /** Query strings the route must refuse. */
  badQueries?: string[]
  /** Names a second row of the same route (another form of its body). */
  variant?: string
  /** The longest `:id` the route takes (default 128; a WebAuthn credential id runs to 1364). */
  maxId?: number
}

/** A WebAuthn answer of the right shape (what the schema checks; the content is the library's). */
const ASSERTION = {
  id: 'AAAA',
  rawId: 'AAAA',
  type: 'public-key',
  response: { clientDataJSON: 'e30', authenticatorData: 'AAAA', signature: 'AAAA' },
  clientExtensionResults: {},
}
const ATTESTATION = {
  id: 'AAAA',
  rawId: 'AAAA',
  type: 'public-key',
  response: { clientDataJSON: 'e30', attestationObject: 'oA', transports: ['internal'] },
  clientExtensionResults: {},
}

/**
 * The OAuth protocol endpoints take form posts and answer RFC 6749 errors
 * (`{error, error_description}`), not this API's envelope: their bad input
 * is in oauth-server.test.ts ("bad input on the protocol endpoints").
 */
const OAUTH_PROTOCOL_ROUTES = [
  'POST /oauth/token',
  'POST /oauth/introspect',
  'POST /oauth/revoke',
  'GET /oauth/userinfo',
  'POST /oauth/userinfo',
]

/**
 * A provider's form_post answer (Sign in with Apple) is a form, only turned
 * into a redirect to the GET callback: its bad input is in
 * social-login-apple.test.ts ("the POST callback passes on only the known fields, bounded").
 */
const FORM_POST_ROUTES = ['POST /auth/providers/:id/callback']

const ROUTES: Route[] = [
  {
    method: 'POST',
    url: '/auth/signup',
    access: 'public',
    body: { email: 'new@example.com', password: PASSWORD, name: 'New' },
    required: ['email', 'password'],
    freeText: ['name'],
    wrongTypes: { email: 42, password: true, name: ['x'] },
  },
  {
    method: 'POST',
    url: '/auth/login',
    access: 'public',
    body: { email: 'user@example.com', password: PASSWORD },
    required: ['email', 'password'],
    wrongTypes: { email: { $ne: null }, password: 12345678 },
  },
  {
    method: 'POST',
    url: '/auth/refresh',
    access: 'public',
    body: { refreshToken: 'A'.repeat(43) },
    wrongTypes: { refreshToken: 123 },
  },
  {
    method: 'POST',
    url: '/auth/logout',
    access: 'logout',
    body: {},
    wrongTypes: { refreshToken: { token: 'x' } },
  },
  {
    method: 'POST',
    url: '/auth/logout-all',
    access: 'user',
    body: {},
    wrongTypes: { all: 'yes' },
  },
  {
    method: 'POST',
    url: '/auth/email/verify/send',
    access: 'public',
    body: { email: 'user@example.com' },
    required: ['email'],
    wrongTypes: { email: ['user@example.com'] },
  },
  {
    method: 'POST',
    url: '/auth/email/verify',
    access: 'public',
    body: { token: 'A'.repeat(43) },
    required: ['token'],
    wrongTypes: { token: 42 },
  },
  {
    method: 'POST',
    url: '/auth/password/forgot',
    access: 'public',
    body: { email: 'user@example.com' },
    required: ['email'],
    wrongTypes: { email: 7 },
  },
  {
    method: 'POST',
    url: '/auth/password/reset',
    access: 'public',
    body: { token: 'A'.repeat(43), newPassword: 'another long passphrase' },
    required: ['token', 'newPassword'],
    wrongTypes: { token: ['A'], newPassword: false },
  },
  {
    method: 'POST',
    url: '/auth/otp/send',
    access: 'public',
    body: { email: 'user@example.com' },
    required: ['email'],
    wrongTypes: { email: { $gt: '' } },
  },
  {
    method: 'POST',
    url: '/auth/otp/verify',
    access: 'public',
    body: { email: 'user@example.com', code: '123456' },
    required: ['email', 'code'],
    wrongTypes: { email: 'user@example.com', code: 123456 },
  },
  {
    method: 'POST',
    url: '/auth/email/change',
    access: 'user',
    body: { newEmail: 'new.address@example.com', currentPassword: PASSWORD },
    required: ['newEmail', 'currentPassword'],
    wrongTypes: { newEmail: null, currentPassword: 42 },
  },
  {
    method: 'POST',
    url: '/auth/email/change/confirm',
    access: 'public',
    body: { token: 'A'.repeat(43) },
    required: ['token'],
    wrongTypes: { token: { length: 43 } },
  },
  { method: 'GET', url: '/auth/mfa', access: 'user' },
  {
    method: 'POST',
    url: '/auth/mfa/totp/enroll',
    access: 'user',
    body: {},
    wrongTypes: { now: true },
  },
  {
    method: 'POST',
    url: '/auth/mfa/totp/confirm',
    access: 'user',
    body: { code: '123456' },
    required: ['code'],
    wrongTypes: { code: 123456 },
  },
  { method: 'DELETE', url: '/auth/mfa/totp', access: 'user' },
  {
    method: 'POST',
    url: '/auth/mfa/recovery-codes',
    access: 'user',
    body: {},
    wrongTypes: { count: 10 },
  },
  {
    method: 'POST',
    url: '/auth/mfa/verify',
    access: 'public',
    body: { mfaToken: 'A'.repeat(43), method: 'totp', code: '123456' },
    required: ['mfaToken', 'method', 'code'],
    wrongTypes: { mfaToken: 42, method: 'sms', code: ['123456'] },
  },
  {
    method: 'POST',
    url: '/auth/reauthenticate',
    access: 'user',
    body: { password: PASSWORD },
    wrongTypes: { password: 12345678 },
  },
  {
    method: 'POST',
    url: '/auth/reauthenticate',
    access: 'user',
    variant: 'with a passkey',
    body: { method: 'passkey', response: ASSERTION, challengeId: 'A'.repeat(43) },
    wrongTypes: { method: 'passkey', response: 'AAAA', challengeId: 43 },
  },
  {
    method: 'POST',
    url: '/auth/mfa/verify',
    access: 'public',
    variant: 'with a passkey',
    body: { mfaToken: 'A'.repeat(43), method: 'passkey', response: ASSERTION },
    required: ['mfaToken', 'method', 'response'],
    wrongTypes: { mfaToken: 'A'.repeat(43), method: 'passkey', response: [ASSERTION] },
  },
  {
    method: 'POST',
    url: '/auth/mfa/passkey/options',
    access: 'public',
    body: { mfaToken: 'A'.repeat(43) },
    required: ['mfaToken'],
    wrongTypes: { mfaToken: ['A'.repeat(43)] },
  },
  {
    method: 'POST',
    url: '/auth/reauthenticate/passkey/options',
    access: 'user',
    body: {},
    wrongTypes: { userVerification: 'required' },
  },
  {
    method: 'POST',
    url: '/auth/passkeys/register/options',
    access: 'user',
    body: {},
    wrongTypes: { residentKey: 'discouraged' },
  },
  {
    method: 'POST',
    url: '/auth/passkeys/register/verify',
    access: 'user',
    body: { response: ATTESTATION, challengeId: 'A'.repeat(43), name: 'Laptop' },
    required: ['response', 'challengeId'],
    freeText: ['name'],
    wrongTypes: { response: { ...ATTESTATION, response: 'oA' }, challengeId: 'A', name: 7 },
  },
  { method: 'GET', url: '/auth/passkeys', access: 'user' },
  {
    method: 'PATCH',
    url: '/auth/passkeys/:id',
    access: 'user',
    body: { name: 'Laptop' },
    required: ['name'],
    freeText: ['name'],
    wrongTypes: { name: { first: 'Laptop' } },
    maxId: 1364,
  },
  { method: 'DELETE', url: '/auth/passkeys/:id', access: 'user', maxId: 1364 },
  {
    method: 'POST',
    url: '/auth/passkeys/login/options',
    access: 'public',
    body: {},
    wrongTypes: { allowCredentials: [] },
  },
  {
    method: 'POST',
    url: '/auth/passkeys/login/verify',
    access: 'public',
    body: { response: ASSERTION, challengeId: 'A'.repeat(43) },
    required: ['response', 'challengeId'],
    wrongTypes: { response: { ...ASSERTION, type: 'password' }, challengeId: null },
  },
  { method: 'GET', url: '/auth/me', access: 'user' },
  { method: 'GET', url: '/auth/sessions', access: 'user' },
  { method: 'DELETE', url: '/auth/sessions/:id', access: 'user' },
  { method: 'GET', url: '/auth/consents', access: 'user' },
  { method: 'DELETE', url: '/auth/consents/:id', access: 'user' },
  {
    method: 'POST',
    url: '/auth/password',
    access: 'user',
    body: { currentPassword: PASSWORD, newPassword: 'another long passphrase' },
    required: ['currentPassword', 'newPassword'],
    wrongTypes: { currentPassword: null, newPassword: 1 },
  },
  { method: 'GET', url: '/auth/identities', access: 'user' },
  { method: 'DELETE', url: '/auth/identities/:provider', access: 'user' },
  {
    method: 'POST',
    url: '/auth/identities/:provider/token',
    access: 'user',
    body: { refresh: true },
    wrongTypes: { refresh: 'yes' },
  },
  {
    method: 'POST',
    url: '/auth/providers/:id/link',
    access: 'user',
    body: { redirect_to: '/account' },
    wrongTypes: { redirect_to: 1 },
  },
  { method: 'GET', url: '/auth/providers', access: 'public', badQueries: ['x=1'] },
  {
    method: 'GET',
    url: '/auth/providers/:id/start',
    access: 'public',
    badQueries: [`redirect_to=${'x'.repeat(2049)}`, 'redirect_to=a&redirect_to=b', 'provider=x'],
  },
  {
    method: 'GET',
    url: '/auth/providers/:id/callback',
    access: 'public',
    badQueries: [
      'code=a&code=b',
      `state=${'x'.repeat(4097)}`,
      Array.from({ length: 17 }, (_, i) => `p${i}=1`).join('&'),
    ],
  },
  {
    method: 'GET',
    url: '/auth/revocations',
    access: 'admin',
    // Every one is refused before the stream opens (a 200 would never end).
    badQueries: [
      'since=-1',
      'since=abc',
      'since=1.5',
      'since=010',
      'since=1e3',
      'since=',
      'since=9007199254740992',
      'since=1&since=2',
      'since=%27%20OR%201%3D1',
      'cursor=1',
    ],
  },
  { method: 'GET', url: '/.well-known/jwks.json', access: 'public' },
  { method: 'GET', url: '/.well-known/openid-configuration', access: 'public' },
  { method: 'GET', url: '/.well-known/oauth-authorization-server', access: 'public' },
  {
    method: 'GET',
    url: '/admin/users',
    access: 'admin',
    badQueries: [
      'limit=0',
      'limit=101',
      'limit=abc',
      'limit=1.5',
      'limit=1&limit=2',
      'after=%3Cscript%3E',
      "email=' OR 1=1 --",
      `email=${'a'.repeat(300)}@x.io`,
      'unknown=1',
    ],
  },
  {
    method: 'PATCH',
    url: '/admin/users/:id',
    access: 'admin',
    body: { roles: ['support'] },
    wrongTypes: { roles: 'admin', disabled: 'true', name: 5 },
  },
  { method: 'POST', url: '/admin/keys/rotate', access: 'admin', body: {}, wrongTypes: { kid: 1 } },
  { method: 'GET', url: '/admin/keys', access: 'admin' },
  {
    method: 'POST',
    url: '/admin/clients',
    access: 'admin',
    body: { client_name: 'App', redirect_uris: ['https://app.example.com/cb'] },
    required: ['client_name'],
    freeText: ['client_name'],
    wrongTypes: { client_name: 5, redirect_uris: 'https://app.example.com/cb', first_party: 'yes' },
  },
  { method: 'GET', url: '/admin/clients', access: 'admin' },
  { method: 'GET', url: '/admin/clients/:id', access: 'admin' },
  { method: 'DELETE', url: '/admin/clients/:id', access: 'admin' },
  {
    method: 'GET',
    url: '/admin/audit',
    access: 'admin',
    badQueries: [
      'limit=-1',
      'before=0',
      'before=abc',
      'before=1e400',
      'userId=%27%20OR%201%3D1',
      'event=%3Cscript%3E',
      'event=',
    ],
  },
  { method: 'GET', url: '/health', access: 'public' },
  { method: 'GET', url: '/ready', access: 'public' },
  { method: 'GET', url: '/metrics', access: 'public' },
  { method: 'GET', url: '/openapi.json', access: 'public' },
]

interface Case {
  name: string
  request: InjectOptions
  /** The exact answer, where the case has one: the code and the issue path. */
  expect?: { code: string; path?: string }
}

/** A string that is not well-formed UTF-16; JSON.stringify writes it as the escape `\ud800`. */
const LONE_SURROGATE = 'lone \ud800 surrogate'

/** `url` with its parameter filled: `id` for `:id`, a well-formed provider id for `:provider`. */
function filled(url: string, id: string): string {
  return url.replace(':id', id).replace(':provider', 'corp')
}

function casesFor(route: Route, headers: Record<string, string>, id: string): Case[] {
  const url = filled(route.url, id)
  const json = { ...headers, 'content-type': 'application/json' }
  const send = (name: string, payload: string, extra: Record<string, string> = {}): Case => ({
    name,
    request: { method: route.method, url, headers: { ...json, ...extra }, payload },
  })
  const cases: Case[] = [
    send('malformed JSON', '{"email": "a@b.c",'),
    send('JSON null inside', '{"email": nul}'),
    send('prototype poisoning', '{"__proto__": {"admin": true}}'),
    send('a 1 MiB body', ONE_MIB),
    send('text/plain', 'email=a@b.c', { 'content-type': 'text/plain' }),
    send('a form', 'email=a%40b.c&password=x', {
      'content-type': 'application/x-www-form-urlencoded',
    }),
    send('multipart', '--x\r\n\r\n--x--', { 'content-type': 'multipart/form-data; boundary=x' }),
    send('an array body', '[]'),
    send('a string body', '"hello"'),
    send('unknown query parameter', '{}'),
  ]
  const withQuery = cases.at(-1)
  if (withQuery !== undefined) withQuery.request.url = `${url}?debug=1`

  if (route.body !== undefined) {
    const valid = route.body
    cases.push(send('extra field', JSON.stringify({ ...valid, isAdmin: true })))
    if (route.wrongTypes) cases.push(send('wrong types', JSON.stringify(route.wrongTypes)))
    for (const field of route.required ?? []) {
      const { [field]: _dropped, ...rest } = valid
      cases.push(send(`missing ${field}`, JSON.stringify(rest)))
    }
    cases.push(send('empty body with a JSON content type', ''))
    const unsupported = { code: 'unsupported_media_type' }
    for (const charset of ['latin1', '"ISO-8859-1"', 'utf-16', 'us-ascii', '']) {
      cases.push({
        ...send(`charset=${charset}`, JSON.stringify(valid), {
          'content-type': `application/json; charset=${charset}`,
        }),
        expect: unsupported,
      })
    }
    cases.push({
      ...send('a UTF-16 body that says so', '', {
        'content-type': 'application/json; charset=utf-16le',
      }),
      expect: unsupported,
    })
    const last = cases.at(-1)
    if (last !== undefined) last.request.payload = Buffer.from(JSON.stringify(valid), 'utf16le')
    cases.push({
      name: 'bytes that are not UTF-8 (an encoded surrogate)',
      request: {
        method: route.method,
        url,
        headers: json,
        payload: Buffer.concat([
          Buffer.from('{"name":"'),
          Buffer.from([0xed, 0xa0, 0x80]),
          Buffer.from('"}'),
        ]),
      },
      expect: { code: 'validation_failed' },
    })
    cases.push({
      ...send(
        'a lone surrogate 5000 arrays deep',
        `{"deep":${'['.repeat(5000)}"\\udc00"${']'.repeat(5000)}}`,
      ),
      expect: { code: 'validation_failed' },
    })
    cases.push({
      ...send('a key with a lone surrogate', JSON.stringify({ ...valid, [LONE_SURROGATE]: 1 })),
      expect: { code: 'validation_failed' },
    })
    for (const [field, value] of Object.entries(valid)) {
      // Every string field, passwords included, and the strings of an array.
      const lone = Array.isArray(value) ? [LONE_SURROGATE] : LONE_SURROGATE
      if (typeof value !== 'string' && !Array.isArray(value)) continue
      cases.push({
        ...send(`${field} with a lone surrogate`, JSON.stringify({ ...valid, [field]: lone })),
        expect: {
          code: 'validation_failed',
          path: Array.isArray(value) ? `/${field}/0` : `/${field}`,
        },
      })
    }
    for (const field of Object.keys(valid)) {
      if (typeof valid[field] !== 'string' || field.toLowerCase().includes('password')) continue
      const free = route.freeText?.includes(field) ?? false
      for (const evil of free ? INJECTIONS.filter((text) => text.includes('\u0000')) : INJECTIONS) {
        cases.push(
          send(`${field} = ${JSON.stringify(evil)}`, JSON.stringify({ ...valid, [field]: evil })),
        )
      }
      cases.push(send(`${field} too long`, JSON.stringify({ ...valid, [field]: 'x'.repeat(5000) })))
    }
    for (const field of Object.keys(valid).filter((f) => f.toLowerCase().includes('password'))) {
      cases.push(
        send(`${field} over 1024`, JSON.stringify({ ...valid, [field]: 'p'.repeat(1025) })),
      )
    }
  }
  const param = route.url.includes(':id')
    ? ':id'
    : route.url.includes(':provider')
      ? ':provider'
      : undefined
  if (param !== undefined) {
    const maxId = route.maxId ?? 128
    // Over the schema's cap, and over the router's (maxParamLength).
    const long = ['x'.repeat(maxId + 1), 'x'.repeat(Math.max(300, maxId + 1000))]
    for (const evil of [...INJECTIONS, ...long, '%E0%A4%A']) {
      const encoded = evil.startsWith('%') ? evil : encodeURIComponent(evil)
      cases.push({
        name: `id = ${JSON.stringify(evil.slice(0, 20))}`,
        request: {
          method: route.method,
          url: route.url.replace(param, encoded),
          headers: route.body === undefined ? headers : json,
          ...(route.body === undefined ? {} : { payload: JSON.stringify(route.body) }),
        },
      })
    }
  }
  for (const query of route.badQueries ?? []) {
    cases.push({
      name: `query ${query.slice(0, 40)}`,
      request: { method: route.method, url: `${url}?${query}`, headers },
    })
  }
  return cases
}

const GARBAGE_AUTH = [
  'Bearer',
  'Bearer a b',
  'Basic dXNlcjpwYXNz',
  "Bearer ' OR 1=1 --",
  'Bearer <script>',
  `Bearer ${'A'.repeat(10_000)}`,
  'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.',
  'Bearer \u00e9t\u00e9',
]

describe('bad input on every route', () => {
  /** The real service with a user and an admin, each logged in once. */
  async function setup(env: Record<string, string> = {}) {
    const h = await harness(env)
    await h.user('admin@example.com', { roles: ['admin'] })
    await h.user('user@example.com')
    const user = await h.login('user@example.com')
    const admin = await h.login('admin@example.com')
    const headersFor: Record<Access, Record<string, string>> = {
      public: {},
      user: { authorization: `Bearer ${user.tokens.accessToken}` },
      admin: { authorization: `Bearer ${admin.tokens.accessToken}` },
      logout: { authorization: `Bearer ${user.tokens.accessToken}` },
    }
    return { h, app: h.app, headersFor, sessionId: user.sessionId }
  }

  test('the table covers every route the app serves', async () => {
    const { app } = await setup()
    const document = (await app.inject({ url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>
    }
    const served = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map(
        (method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`,
      ),
    )
    const tabled = new Set(ROUTES.map((route) => `${route.method} ${route.url}`))
    assert.deepEqual(
      [...tabled, ...OAUTH_PROTOCOL_ROUTES, ...FORM_POST_ROUTES].toSorted(),
      served.toSorted(),
    )
  })

  for (const route of ROUTES) {
    test(`${route.method} ${route.url}${route.variant ? ` ${route.variant}` : ''}`, async () => {
      const { h, app, headersFor, sessionId } = await setup()
      const cases = casesFor(route, headersFor[route.access], sessionId)
      if (route.access !== 'public') {
        for (const authorization of GARBAGE_AUTH) {
          cases.push({
            name: `Authorization: ${authorization.slice(0, 30)}`,
            request: {
              method: route.method,
              url: filled(route.url, sessionId),
              headers: { authorization, 'content-type': 'application/json' },
              ...(route.body === undefined ? {} : { payload: JSON.stringify(route.body) }),
            },
          })
        }
      }
      assert.ok(cases.length >= 10)
      for (const { name, request, expect } of cases) {
        const calls = h.calls.length
        const response = await app.inject(request)
        const label = `${route.method} ${route.url} with ${name}: ${response.statusCode} ${response.body.slice(0, 200)}`
        assert.ok(response.statusCode >= 400 && response.statusCode < 500, label)
        const body = response.json() as { error?: { code?: unknown; message?: unknown } }
        assert.ok(isErrorCode(body.error?.code), label)
        assert.equal(typeof body.error?.message, 'string', label)
        if (expect !== undefined) {
          assert.equal(body.error?.code, expect.code, label)
          if (expect.path !== undefined) {
            const issues = (body.error as { issues?: { path: string }[] }).issues ?? []
            assert.deepEqual(
              issues.map((issue) => issue.path),
              [expect.path],
              label,
            )
          }
        }
        // Only authentication may reach the service; nothing else is called,
        // so nothing is stored.
        const reached = h.calls.slice(calls).filter((call) => call !== 'authenticate')
        assert.deepEqual(reached, [], `service called: ${label}`)
      }
    })
  }

  test('injection-looking strings where they are legal data are stored verbatim, not run', async () => {
    const { h, app } = await setup()
    for (const [index, name] of ["' OR 1=1 --", '<script>alert(1)</script>', '𝓾𝓷𝓲 ☃'].entries()) {
      const response = await app.inject({
        method: 'POST',
        url: '/auth/signup',
        payload: { email: `odd${index}@example.com`, password: PASSWORD, name },
      })
      assert.equal(response.statusCode, 201)
      assert.equal(response.json().user.name, name)
      assert.match(String(response.headers['content-type']), /^application\/json/)
      const stored = await h.tessera.store.users.findUserByEmail(`odd${index}@example.com`)
      assert.equal(stored?.name, name)
    }
    // …and in a password (opaque to the schema) they are just a wrong password.
    const login = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'user@example.com', password: "' OR 1=1 --" },
    })
    assert.equal(login.statusCode, 401)
    assert.equal(login.json().error.code, 'invalid_credentials')
  })

  test('a UTF-8 charset, in any spelling, is accepted; a surrogate pair is fine', async () => {
    const { app } = await setup()
    for (const [index, charset] of ['utf-8', 'UTF-8', '"utf-8"', 'utf8'].entries()) {
      const response = await app.inject({
        method: 'POST',
        url: '/auth/signup',
        headers: { 'content-type': `application/json; charset=${charset}` },
        // JSON.stringify keeps a pair as it is; written as escapes here on purpose.
        payload: `{"email":"charset${index}@example.com","password":"${PASSWORD}","name":"\\ud83d\\ude00 ok"}`,
      })
      assert.equal(response.statusCode, 201, `${charset}: ${response.body}`)
      assert.equal(response.json().user.name, '\u{1f600} ok')
    }
  })

  test('X-Request-Id is kept only from a trusted proxy', async () => {
    const { app } = await setup()
    const direct = await app.inject({ url: '/health', headers: { 'x-request-id': 'chosen-1' } })
    assert.match(String(direct.headers['x-request-id']), /^[0-9a-f-]{36}$/)
    const proxied = await harness({ TESSERA_TRUST_PROXY: '1' })
    const kept = await proxied.app.inject({
      url: '/health',
      headers: { 'x-request-id': 'chosen-1' },
    })
    assert.equal(kept.headers['x-request-id'], 'chosen-1')
  })

  test('public routes ignore credentials they do not need', async () => {
    const { app } = await setup()
    for (const url of ['/health', '/.well-known/jwks.json']) {
      const response = await app.inject({ url, headers: { authorization: 'Bearer <garbage>' } })
      assert.equal(response.statusCode, 200)
    }
  })
})
