// The negative cases of RFC 6749, RFC 7636 (PKCE), RFC 7009, RFC 7523,
// RFC 7662, RFC 9207 and RFC 9700 (the OAuth security BCP), sent alike to
// panva's oidc-provider (an OpenID Certified provider, started in process)
// and to the real `tessera serve`: one table of expected RFC error codes,
// run against both. Where the two answer differently and both readings of
// the RFCs hold, the case says so (`differs`) and why; everything else must
// match the reference.
//
// Tessera's codes come through its hosted pages in headless Chromium (the
// suite's user signs in once and allows every client); the reference's
// through its own endpoints with the user signed in by the test.
//
// Where they legitimately differ (each case's `differs` says why):
// - oidc-provider answers invalid_request where RFC 6749 §5.2 names
//   invalid_client (no client authentication at all, at the token and the
//   introspection endpoint) and unauthorized_client (a grant the client is
//   not registered for): there the reference departs from the RFC.
// - A malformed Basic header, an unknown client_assertion_type, a missing
//   code_verifier or redirect_uri, a code_verifier of the wrong length: RFC
//   6749 §5.2's definitions cover both answers; the two pick differently.
// - oidc-provider takes a secret by either secret method; Tessera holds a
//   client to the method it registered.
// - The reference answers response_type=token's error in the fragment (that
//   type's default response mode), Tessera in the query; both are read.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import * as oauth from 'oauth4webapi'
import { chromiumMissing } from './support/oauth-browser.ts'
import {
  pkcePair,
  startReferenceTarget,
  startTesseraTarget,
  type Target,
} from './support/oauth-targets.ts'
import {
  ASSERTION_TYPE,
  basicAuthorization,
  clientAssertion,
  postForm,
  SERVICE_SCOPE,
  USER_SCOPES,
  type WireAnswer,
} from './support/oauth-wire.ts'

const ON_CI = process.env.CI === 'true'
const ATTACKER = 'https://attacker.example/cb'

/** What an answer must be: an RFC error code (or a success, `error: null`) and its status. */
interface Expected {
  readonly error: string | null
  /** The exact status, where an RFC fixes it; otherwise any 4xx for an error. */
  readonly status?: number
  /** RFC 6749 §5.2: a 401 to a client that used the Authorization header carries a Basic challenge. */
  readonly challenge?: boolean
}

/** A legitimate difference: what this server answers instead, and why that is within the RFCs. */
interface Difference extends Expected {
  readonly why: string
}

interface TokenCase {
  readonly name: string
  /** The section that names the expected answer. */
  readonly rfc: string
  readonly expect: Expected
  readonly differs?: Partial<Record<Target['name'], Difference>>
  send(t: Target): Promise<WireAnswer>
}

const codeGrant = (
  code: string,
  verifier: string,
  redirectUri: string,
): Array<[string, string]> => [
  ['grant_type', 'authorization_code'],
  ['code', code],
  ['redirect_uri', redirectUri],
  ['code_verifier', verifier],
]

/** The error codes of RFC 6749 §5.2 and RFC 7009 §2.2.1. */
const RFC6749_TOKEN_ERRORS = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'unsupported_token_type',
]

/** A grant the client is not registered for: here the reference departs from the RFC. */
const UNAUTHORIZED_CLIENT_WHY =
  'oidc-provider answers invalid_request ("requested grant type is not allowed for this client", its allowedGrantTypeCheck) where RFC 6749 §5.2 names unauthorized_client ("The authenticated client is not authorized to use this authorization grant type"), which Tessera answers'

/** A fresh refresh token of `role` (from a fresh code). */
async function refreshTokenOf(
  t: Target,
  role: 'basic' | 'post' | 'jwt' | 'native',
): Promise<string> {
  const tokens = await t.tokens(role)
  assert.equal(typeof tokens.refresh_token, 'string', `${t.name} issued no refresh token`)
  return tokens.refresh_token as string
}

/** The basic client's credentials as a form-encoded client_credentials request with `fields` added. */
async function asBasic(
  t: Target,
  fields: Array<[string, string]>,
  headers: Record<string, string> = {},
) {
  return postForm(t.endpoint('token'), fields, { headers })
}

/**
 * The malformed and refused token requests. Each runs against a fresh code
 * or refresh token where it needs one, so no case depends on another.
 */
const TOKEN_CASES: TokenCase[] = [
  // Request syntax: RFC 6749 §3.2 (form-encoded POST), §5.2.
  {
    name: 'no grant_type',
    rfc: 'RFC 6749 §5.2 invalid_request: missing a required parameter',
    expect: { error: 'invalid_request', status: 400 },
    send: (t) => t.post('token', 'service', [['scope', SERVICE_SCOPE]]),
  },
  {
    name: 'an unknown grant_type',
    rfc: 'RFC 6749 §5.2 unsupported_grant_type',
    expect: { error: 'unsupported_grant_type', status: 400 },
    send: (t) => t.post('token', 'service', [['grant_type', 'urn:example:made-up']]),
  },
  {
    name: 'the password grant',
    rfc: 'RFC 9700 §2.4: the resource owner password credentials grant MUST NOT be used',
    expect: { error: 'unsupported_grant_type', status: 400 },
    send: (t) =>
      t.post('token', 'basic', [
        ['grant_type', 'password'],
        ['username', 'oauth-user@example.com'],
        ['password', 'correct horse battery staple'],
      ]),
  },
  {
    name: 'grant_type twice',
    rfc: 'RFC 6749 §3.2: parameters MUST NOT be included more than once; §5.2 invalid_request',
    expect: { error: 'invalid_request', status: 400 },
    send: (t) =>
      t.post('token', 'service', [
        ['grant_type', 'client_credentials'],
        ['grant_type', 'client_credentials'],
      ]),
  },
  {
    name: 'code twice',
    rfc: 'RFC 6749 §3.2, §5.2 invalid_request',
    expect: { error: 'invalid_request', status: 400 },
    async send(t) {
      const fresh = await t.code('post')
      return t.post('token', 'post', [
        ...codeGrant(fresh.code, fresh.verifier, fresh.redirectUri),
        ['code', fresh.code],
      ])
    },
  },
  {
    name: 'client_id twice in the body',
    rfc: 'RFC 6749 §3.2, §5.2 invalid_request',
    expect: { error: 'invalid_request', status: 400 },
    send: (t) =>
      t.post('token', 'post', [
        ['grant_type', 'refresh_token'],
        ['refresh_token', 'x'],
        ['client_id', t.clients.post.id],
      ]),
  },
  {
    name: 'a JSON body instead of a form',
    rfc: 'RFC 6749 §3.2: application/x-www-form-urlencoded; §5.2 invalid_request (otherwise malformed)',
    expect: { error: 'invalid_request', status: 400 },
    async send(t) {
      const client = t.clients.service
      return postForm(t.endpoint('token'), [], {
        contentType: 'application/json',
        body: JSON.stringify({ grant_type: 'client_credentials', scope: SERVICE_SCOPE }),
        headers: { authorization: basicAuthorization(client.id, client.secret!) },
      })
    },
  },

  // Client authentication: RFC 6749 §2.3, §5.2.
  {
    name: 'no client authentication at all',
    rfc: 'RFC 6749 §5.2 invalid_client: "no client authentication included"',
    expect: { error: 'invalid_client', status: 401 },
    differs: {
      'oidc-provider': {
        error: 'invalid_request',
        status: 400,
        why: 'oidc-provider calls a request naming no client at all "no client authentication mechanism provided" (invalid_request, as a missing parameter); RFC 6749 §5.2 lists this very case under invalid_client, which Tessera answers',
      },
    },
    send: (t) =>
      postForm(t.endpoint('token'), [
        ['grant_type', 'client_credentials'],
        ['scope', SERVICE_SCOPE],
      ]),
  },
  {
    name: 'an unknown client in the Basic header',
    rfc: 'RFC 6749 §5.2 invalid_client, 401 with WWW-Authenticate when the header was used',
    expect: { error: 'invalid_client', status: 401, challenge: true },
    send: (t) =>
      asBasic(t, [['grant_type', 'client_credentials']], {
        authorization: basicAuthorization('no-such-client', randomBytes(32).toString('base64url')),
      }),
  },
  {
    name: 'a wrong secret in the Basic header',
    rfc: 'RFC 6749 §5.2 invalid_client, 401 with WWW-Authenticate',
    expect: { error: 'invalid_client', status: 401, challenge: true },
    send: (t) =>
      asBasic(t, [['grant_type', 'client_credentials']], {
        authorization: basicAuthorization(t.clients.service.id, `${t.clients.service.secret}x`),
      }),
  },
  {
    name: 'a wrong secret in the body (client_secret_post)',
    rfc: 'RFC 6749 §5.2 invalid_client',
    expect: { error: 'invalid_client', status: 401 },
    send: (t) =>
      postForm(t.endpoint('token'), [
        ['grant_type', 'refresh_token'],
        ['refresh_token', 'x'],
        ['client_id', t.clients.post.id],
        ['client_secret', `${t.clients.post.secret}x`],
      ]),
  },
  {
    name: 'the right secret by a method the client did not register (Basic for a post client)',
    rfc: 'RFC 6749 §5.2 invalid_client: "unsupported authentication method"; RFC 7591 §2 token_endpoint_auth_method',
    expect: { error: 'invalid_client', status: 401, challenge: true },
    differs: {
      'oidc-provider': {
        error: 'invalid_grant',
        status: 400,
        why: 'oidc-provider takes a client secret by either secret method from a client registered for one of them, so the request reaches the grant and the made-up refresh token is refused; Tessera holds a client to the one method it registered (RFC 7591 §2), as RFC 6749 §5.2 "unsupported authentication method" allows',
      },
    },
    send: (t) =>
      asBasic(
        t,
        [
          ['grant_type', 'refresh_token'],
          ['refresh_token', 'x'],
        ],
        {
          authorization: basicAuthorization(t.clients.post.id, t.clients.post.secret!),
        },
      ),
  },
  {
    name: 'a confidential client presenting only its client_id',
    rfc: 'RFC 6749 §2.3.1, §5.2 invalid_client',
    expect: { error: 'invalid_client', status: 401 },
    send: (t) =>
      postForm(t.endpoint('token'), [
        ['grant_type', 'refresh_token'],
        ['refresh_token', 'x'],
        ['client_id', t.clients.basic.id],
      ]),
  },
  {
    name: 'a client_id in the body other than the Basic client',
    rfc: 'RFC 6749 §2.3.1, §5.2 invalid_request',
    expect: { error: 'invalid_request', status: 400 },
    send: (t) =>
      asBasic(
        t,
        [
          ['grant_type', 'client_credentials'],
          ['client_id', t.clients.basic.id],
        ],
        {
          authorization: basicAuthorization(t.clients.service.id, t.clients.service.secret!),
        },
      ),
  },
  {
    name: 'two authentication methods at once (Basic header and client_secret)',
    rfc: 'RFC 6749 §2.3: MUST NOT use more than one authentication method; §5.2 invalid_request',
    expect: { error: 'invalid_request', status: 400 },
    send: (t) =>
      asBasic(
        t,
        [
          ['grant_type', 'client_credentials'],
          ['client_id', t.clients.service.id],
          ['client_secret', t.clients.service.secret!],
        ],
        { authorization: basicAuthorization(t.clients.service.id, t.clients.service.secret!) },
      ),
  },
  {
    name: 'a Basic header without a colon',
    rfc: 'RFC 7617 §2 user-pass; RFC 6749 §5.2',
    expect: { error: 'invalid_client', status: 401, challenge: true },
    differs: {
      'oidc-provider': {
        error: 'invalid_request',
        status: 400,
        why: 'a Basic value that is not id:secret is both "otherwise malformed" (invalid_request) and a failed client authentication (invalid_client) under RFC 6749 §5.2; oidc-provider picks the first, Tessera the second, and both refuse it',
      },
    },
    send: (t) =>
      asBasic(t, [['grant_type', 'client_credentials']], {
        authorization: `Basic ${Buffer.from(t.clients.service.id).toString('base64')}`,
      }),
  },

  // private_key_jwt: RFC 7523 §3 and §3.1 (invalid_client for a bad assertion).
  ...assertionCases(),

  // authorization_code: RFC 6749 §4.1.3, §5.2; RFC 7636 §4.6.
  {
    name: 'authorization_code without code',
    rfc: 'RFC 6749 §4.1.3 code REQUIRED; §5.2 invalid_request',
    expect: { error: 'invalid_request', status: 400 },
    send: (t) =>
      t.post('token', 'post', [
        ['grant_type', 'authorization_code'],
        ['redirect_uri', t.redirectUri],
        ['code_verifier', pkcePair().verifier],
      ]),
  },
  {
    name: 'a code the server never issued',
    rfc: 'RFC 6749 §5.2 invalid_grant',
    expect: { error: 'invalid_grant', status: 400 },
    send: (t) =>
      t.post(
        'token',
        'post',
        codeGrant(randomBytes(32).toString('base64url'), pkcePair().verifier, t.redirectUri),
      ),
  },
  {
    name: 'a code without its code_verifier',
    rfc: 'RFC 7636 §4.5 code_verifier REQUIRED; RFC 6749 §5.2 invalid_request: missing a required parameter',
    expect: { error: 'invalid_request', status: 400 },
    differs: {
      'oidc-provider': {
        error: 'invalid_grant',
        status: 400,
        why: 'oidc-provider treats a missing code_verifier as a failed PKCE verification (RFC 7636 §4.6 invalid_grant); Tessera requires PKCE of every client, so the verifier is a required parameter of every code redemption and its absence is invalid_request (RFC 6749 §5.2); both refuse the code',
      },
    },
    async send(t) {
      const fresh = await t.code('post')
      return t.post('token', 'post', [
        ['grant_type', 'authorization_code'],
        ['code', fresh.code],
        ['redirect_uri', fresh.redirectUri],
      ])
    },
  },
  {
    name: 'a code with another code_verifier',
    rfc: 'RFC 7636 §4.6 invalid_grant',
    expect: { error: 'invalid_grant', status: 400 },
    async send(t) {
      const fresh = await t.code('post')
      return t.post('token', 'post', codeGrant(fresh.code, pkcePair().verifier, fresh.redirectUri))
    },
  },
  {
    name: 'a code without redirect_uri (the authorization request had one)',
    rfc: 'RFC 6749 §4.1.3: redirect_uri REQUIRED when it was in the authorization request; §5.2 invalid_request',
    expect: { error: 'invalid_request', status: 400 },
    differs: {
      tessera: {
        error: 'invalid_grant',
        status: 400,
        why: 'RFC 6749 §5.2 defines invalid_grant as a grant that "does not match the redirection URI used in the authorization request", which an absent one does not; Tessera answers that, oidc-provider (with allowOmittingSingleRegisteredRedirectUri off) the missing parameter; both refuse the code',
      },
    },
    async send(t) {
      const fresh = await t.code('post')
      return t.post('token', 'post', [
        ['grant_type', 'authorization_code'],
        ['code', fresh.code],
        ['code_verifier', fresh.verifier],
      ])
    },
  },
  {
    name: 'a code_verifier shorter than RFC 7636 allows',
    rfc: 'RFC 7636 §4.1: 43 to 128 characters; RFC 6749 §5.2 invalid_request (malformed)',
    expect: { error: 'invalid_request', status: 400 },
    differs: {
      tessera: {
        error: 'invalid_grant',
        status: 400,
        why: 'Tessera does not check the syntax of a verifier apart from verifying it: one that is malformed cannot hash to the challenge, so it fails verification (RFC 7636 §4.6 invalid_grant); oidc-provider checks the syntax first (invalid_request); both refuse the code',
      },
    },
    async send(t) {
      const fresh = await t.code('post')
      return t.post('token', 'post', codeGrant(fresh.code, 'too-short', fresh.redirectUri))
    },
  },
  {
    name: 'a code with another redirect_uri',
    rfc: 'RFC 6749 §4.1.3: redirect_uri identical to the authorization request; §5.2 invalid_grant',
    expect: { error: 'invalid_grant', status: 400 },
    async send(t) {
      const fresh = await t.code('native')
      return t.post(
        'token',
        'native',
        codeGrant(fresh.code, fresh.verifier, `http://127.0.0.1:${t.catcher.port + 1}/cb`),
      )
    },
  },
  {
    name: 'a code issued to another client',
    rfc: 'RFC 6749 §4.1.3: the code was issued to the authenticated client; §5.2 invalid_grant',
    expect: { error: 'invalid_grant', status: 400 },
    async send(t) {
      const fresh = await t.code('basic')
      return t.post('token', 'post', codeGrant(fresh.code, fresh.verifier, fresh.redirectUri))
    },
  },
  {
    name: 'a code redeemed twice',
    rfc: 'RFC 6749 §4.1.2: single use; §5.2 invalid_grant',
    expect: { error: 'invalid_grant', status: 400 },
    async send(t) {
      const fresh = await t.code('post')
      const fields = codeGrant(fresh.code, fresh.verifier, fresh.redirectUri)
      const first = await t.post('token', 'post', fields)
      assert.equal(first.status, 200, JSON.stringify(first.body))
      return t.post('token', 'post', fields)
    },
  },
  {
    name: 'authorization_code by a client not registered for it',
    rfc: 'RFC 6749 §5.2 unauthorized_client',
    expect: { error: 'unauthorized_client', status: 400 },
    differs: {
      'oidc-provider': {
        error: 'invalid_request',
        status: 400,
        why: UNAUTHORIZED_CLIENT_WHY,
      },
    },
    send: (t) =>
      t.post(
        'token',
        'service',
        codeGrant(randomBytes(32).toString('base64url'), pkcePair().verifier, t.redirectUri),
      ),
  },

  // refresh_token: RFC 6749 §6, §5.2; RFC 9700 §4.14.
  {
    name: 'refresh_token without the token',
    rfc: 'RFC 6749 §6 refresh_token REQUIRED; §5.2 invalid_request',
    expect: { error: 'invalid_request', status: 400 },
    send: (t) => t.post('token', 'post', [['grant_type', 'refresh_token']]),
  },
  {
    name: 'a refresh token the server never issued',
    rfc: 'RFC 6749 §5.2 invalid_grant',
    expect: { error: 'invalid_grant', status: 400 },
    send: (t) =>
      t.post('token', 'post', [
        ['grant_type', 'refresh_token'],
        ['refresh_token', randomBytes(32).toString('base64url')],
      ]),
  },
  {
    name: "another client's refresh token",
    rfc: 'RFC 6749 §6: bound to the client it was issued to; §5.2 invalid_grant',
    expect: { error: 'invalid_grant', status: 400 },
    async send(t) {
      const token = await refreshTokenOf(t, 'basic')
      return t.post('token', 'post', [
        ['grant_type', 'refresh_token'],
        ['refresh_token', token],
      ])
    },
  },
  {
    name: 'a refresh asking for a scope beyond the grant',
    rfc: 'RFC 6749 §6: MUST NOT include any scope not originally granted; §5.2 invalid_scope',
    expect: { error: 'invalid_scope', status: 400 },
    async send(t) {
      const tokens = await t.tokens('post', { scope: 'openid email' })
      return t.post('token', 'post', [
        ['grant_type', 'refresh_token'],
        ['refresh_token', String(tokens.refresh_token)],
        ['scope', 'openid email profile'],
      ])
    },
  },
  {
    name: 'a rotated refresh token presented again',
    rfc: 'RFC 9700 §4.14.2: refresh token rotation, the old one is invalid; RFC 6749 §5.2 invalid_grant',
    expect: { error: 'invalid_grant', status: 400 },
    async send(t) {
      const token = await refreshTokenOf(t, 'post')
      const fields: Array<[string, string]> = [
        ['grant_type', 'refresh_token'],
        ['refresh_token', token],
      ]
      const rotated = await t.post('token', 'post', fields)
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body))
      assert.notEqual(rotated.body.refresh_token, token, 'the refresh token was not rotated')
      return t.post('token', 'post', fields)
    },
  },
  {
    name: 'an access token presented as a refresh token',
    rfc: 'RFC 6749 §5.2 invalid_grant',
    expect: { error: 'invalid_grant', status: 400 },
    async send(t) {
      const tokens = await t.tokens('post')
      return t.post('token', 'post', [
        ['grant_type', 'refresh_token'],
        ['refresh_token', String(tokens.access_token)],
      ])
    },
  },
  {
    name: 'a refresh token its public client revoked',
    rfc: 'RFC 7009 §2.1: public clients may revoke their own tokens; RFC 6749 §5.2 invalid_grant',
    expect: { error: 'invalid_grant', status: 400 },
    async send(t) {
      const token = await refreshTokenOf(t, 'native')
      const revoked = await t.post('revocation', 'native', [['token', token]])
      assert.equal(revoked.status, 200, JSON.stringify(revoked.body))
      return t.post('token', 'native', [
        ['grant_type', 'refresh_token'],
        ['refresh_token', token],
      ])
    },
  },
  {
    name: 'a refresh back to the whole grant after a narrower one (allowed)',
    rfc: 'RFC 6749 §6: any scope originally granted may be asked for',
    expect: { error: null, status: 200 },
    async send(t) {
      const tokens = await t.tokens('post')
      const narrowed = await t.post('token', 'post', [
        ['grant_type', 'refresh_token'],
        ['refresh_token', String(tokens.refresh_token)],
        ['scope', 'openid email'],
      ])
      assert.equal(narrowed.status, 200, JSON.stringify(narrowed.body))
      return t.post('token', 'post', [
        ['grant_type', 'refresh_token'],
        ['refresh_token', String(narrowed.body.refresh_token)],
        ['scope', 'openid profile email'],
      ])
    },
  },
  {
    name: 'refresh_token by a client not registered for it',
    rfc: 'RFC 6749 §5.2 unauthorized_client',
    expect: { error: 'unauthorized_client', status: 400 },
    differs: {
      'oidc-provider': {
        error: 'invalid_request',
        status: 400,
        why: UNAUTHORIZED_CLIENT_WHY,
      },
    },
    send: (t) =>
      t.post('token', 'service', [
        ['grant_type', 'refresh_token'],
        ['refresh_token', randomBytes(32).toString('base64url')],
      ]),
  },

  // client_credentials: RFC 6749 §4.4.
  {
    name: 'client_credentials by a client not registered for it',
    rfc: 'RFC 6749 §5.2 unauthorized_client',
    expect: { error: 'unauthorized_client', status: 400 },
    differs: {
      'oidc-provider': {
        error: 'invalid_request',
        status: 400,
        why: UNAUTHORIZED_CLIENT_WHY,
      },
    },
    send: (t) => t.post('token', 'post', [['grant_type', 'client_credentials']]),
  },
  {
    name: 'client_credentials by a public client',
    rfc: 'RFC 6749 §4.4: confidential clients only; §5.2 unauthorized_client',
    expect: { error: 'unauthorized_client', status: 400 },
    differs: {
      'oidc-provider': {
        error: 'invalid_request',
        status: 400,
        why: UNAUTHORIZED_CLIENT_WHY,
      },
    },
    send: (t) => t.post('token', 'native', [['grant_type', 'client_credentials']]),
  },
  {
    name: 'client_credentials asking for a scope the client may not have',
    rfc: 'RFC 6749 §4.4.2, §5.2 invalid_scope',
    expect: { error: 'invalid_scope', status: 400 },
    send: (t) =>
      t.post('token', 'service', [
        ['grant_type', 'client_credentials'],
        ['scope', `${SERVICE_SCOPE} email`],
      ]),
  },

  // Revocation (RFC 7009) and introspection (RFC 7662).
  {
    name: 'revocation without a token',
    rfc: 'RFC 7009 §2.1 token REQUIRED; §2.2.1 with RFC 6749 §5.2 invalid_request',
    expect: { error: 'invalid_request', status: 400 },
    send: (t) => t.post('revocation', 'post', [['token_type_hint', 'refresh_token']]),
  },
  {
    name: 'revocation with a wrong secret',
    rfc: 'RFC 7009 §2.1: client authentication; RFC 6749 §5.2 invalid_client',
    expect: { error: 'invalid_client', status: 401, challenge: true },
    send: (t) =>
      postForm(t.endpoint('revocation'), [['token', 'x']], {
        headers: {
          authorization: basicAuthorization(t.clients.basic.id, `${t.clients.basic.secret}x`),
        },
      }),
  },
  {
    name: 'revocation of a token the server never issued',
    rfc: 'RFC 7009 §2.2: 200 also for an invalid token',
    expect: { error: null, status: 200 },
    send: (t) => t.post('revocation', 'basic', [['token', randomBytes(32).toString('base64url')]]),
  },
  {
    name: 'introspection without client authentication',
    rfc: 'RFC 7662 §2.1: the endpoint MUST require authorization; RFC 6749 §5.2 invalid_client',
    expect: { error: 'invalid_client', status: 401 },
    differs: {
      'oidc-provider': {
        error: 'invalid_request',
        status: 400,
        why: 'as at the token endpoint: oidc-provider calls a request naming no client invalid_request, RFC 6749 §5.2 invalid_client',
      },
    },
    send: (t) => postForm(t.endpoint('introspection'), [['token', 'x']]),
  },
  {
    name: 'introspection without a token',
    rfc: 'RFC 7662 §2.1 token REQUIRED; RFC 6749 §5.2 invalid_request',
    expect: { error: 'invalid_request', status: 400 },
    send: (t) => t.post('introspection', 'basic', [['token_type_hint', 'access_token']]),
  },
  {
    name: 'introspection of a token the server never issued',
    rfc: 'RFC 7662 §2.2: active false',
    expect: { error: null, status: 200 },
    async send(t) {
      const answer = await t.post('introspection', 'basic', [
        ['token', randomBytes(32).toString('base64url')],
      ])
      assert.deepEqual(answer.body, { active: false })
      return answer
    },
  },
]

/** RFC 7523 §3: each way a client assertion can be wrong is invalid_client. */
function assertionCases(): TokenCase[] {
  const bad = (
    name: string,
    rfc: string,
    assertion: (t: Target) => Promise<string>,
    type = ASSERTION_TYPE,
  ): TokenCase => ({
    name: `private_key_jwt: ${name}`,
    rfc,
    expect: { error: 'invalid_client', status: 401 },
    async send(t) {
      return postForm(t.endpoint('token'), [
        ['grant_type', 'client_credentials'],
        ['client_assertion_type', type],
        ['client_assertion', await assertion(t)],
      ])
    },
  })
  const jwt = (t: Target, claims: Record<string, unknown> = {}, key = t.key.privateKey) =>
    clientAssertion(t.clients.jwt.id, t.issuer, key, claims)
  const now = () => Math.floor(Date.now() / 1000)
  return [
    bad('signed by a key the client did not register', 'RFC 7523 §3 item 9', (t) =>
      jwt(t, {}, t.key.strangerKey),
    ),
    bad('addressed to another server', 'RFC 7523 §3 item 3: aud', (t) =>
      jwt(t, { aud: 'https://other-server.example' }),
    ),
    bad('expired', 'RFC 7523 §3 item 4: exp', (t) =>
      jwt(t, { iat: now() - 600, exp: now() - 300 }),
    ),
    bad('without exp', 'RFC 7523 §3 item 4: exp MUST', (t) => jwt(t, { exp: undefined })),
    bad('unsigned (alg none)', 'RFC 7523 §3 item 9: a digital signature or MAC', async (t) => {
      const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
      const id = t.clients.jwt.id
      return `${encode({ alg: 'none' })}.${encode({ iss: id, sub: id, aud: t.issuer, jti: `none-${Date.now()}`, exp: now() + 60 })}.`
    }),
    {
      name: 'private_key_jwt: aud is the token endpoint URL (accepted)',
      rfc: 'RFC 7523 §3 item 3: the token endpoint URL MAY be used as the audience',
      expect: { error: null, status: 200 },
      async send(t) {
        return postForm(t.endpoint('token'), [
          ['grant_type', 'client_credentials'],
          ['client_assertion_type', ASSERTION_TYPE],
          [
            'client_assertion',
            await clientAssertion(t.clients.jwt.id, t.endpoint('token'), t.key.privateKey),
          ],
        ])
      },
    },
    bad('iss other than the client', 'RFC 7523 §3 item 1, §2.2: iss = sub = client_id', (t) =>
      jwt(t, { iss: t.clients.basic.id }),
    ),
    {
      name: 'private_key_jwt: the same assertion twice',
      rfc: 'RFC 7523 §3 item 7: jti, single use',
      expect: { error: 'invalid_client', status: 401 },
      async send(t) {
        const assertion = await jwt(t)
        const fields: Array<[string, string]> = [
          ['grant_type', 'client_credentials'],
          ['scope', SERVICE_SCOPE],
          ['client_assertion_type', ASSERTION_TYPE],
          ['client_assertion', assertion],
        ]
        const first = await postForm(t.endpoint('token'), fields)
        assert.equal(first.status, 200, JSON.stringify(first.body))
        return postForm(t.endpoint('token'), fields)
      },
    },
    {
      ...bad(
        'another client_assertion_type',
        'RFC 7523 §2.2',
        (t) => jwt(t),
        'urn:example:made-up',
      ),
      differs: {
        'oidc-provider': {
          error: 'invalid_request',
          status: 400,
          why: 'an unknown client_assertion_type is an "unsupported parameter value" (invalid_request) or an "unsupported authentication method" (invalid_client) under RFC 6749 §5.2; oidc-provider picks the first, Tessera the second',
        },
      },
    },
  ]
}

function expectationFor(
  t: Target,
  c: { expect: Expected; differs?: TokenCase['differs'] },
): Expected {
  return c.differs?.[t.name] ?? c.expect
}

function assertAnswer(t: Target, answer: WireAnswer, expected: Expected): void {
  const shown = `${t.name} answered ${answer.status} ${JSON.stringify(answer.body)}`
  if (expected.error === null) {
    assert.equal(answer.status, expected.status ?? 200, shown)
    return
  }
  assert.equal(answer.body.error, expected.error, shown)
  if (expected.status !== undefined) assert.equal(answer.status, expected.status, shown)
  else assert.ok(answer.status >= 400 && answer.status < 500, shown)
  // RFC 6749 §5.2: a JSON object with `error`, and `error_description` if any is a string.
  if (answer.body.error_description !== undefined) {
    assert.equal(typeof answer.body.error_description, 'string', shown)
  }
  if (expected.challenge === true) {
    assert.match(answer.headers.get('www-authenticate') ?? '', /^Basic /i, shown)
  }
  if (answer.url === t.endpoint('token')) {
    // RFC 6749 §5.1: what the token endpoint answers is never cached.
    assert.match(answer.headers.get('cache-control') ?? '', /no-store/, `${shown}: Cache-Control`)
  }
}

/** An authorization request that ends before any sign-in, and where it must end. */
interface AuthorizeCase {
  readonly name: string
  readonly rfc: string
  /** `page`: the server's own error page, no redirect; otherwise the error sent to the registered redirect URI. */
  readonly expect: { readonly page: true } | { readonly error: string }
  readonly differs?: Partial<
    Record<Target['name'], { page: true; why: string } | { error: string; why: string }>
  >
  params(t: Target): Record<string, string> | Array<[string, string]>
}

/** A well-formed request for the basic client, which each case then spoils. */
function authorizeParams(
  t: Target,
  changes: Record<string, string | undefined> = {},
): Record<string, string> {
  const base: Record<string, string | undefined> = {
    client_id: t.clients.basic.id,
    redirect_uri: t.redirectUri,
    response_type: 'code',
    scope: USER_SCOPES,
    state: 'state-123',
    code_challenge: pkcePair().challenge,
    code_challenge_method: 'S256',
    ...changes,
  }
  return Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >
}

const AUTHORIZE_CASES: AuthorizeCase[] = [
  // RFC 6749 §4.1.2.1: with an invalid client or redirect URI, the user is told, never redirected.
  {
    name: 'an unknown client_id',
    rfc: 'RFC 6749 §4.1.2.1: MUST NOT redirect',
    expect: { page: true },
    params: (t) => authorizeParams(t, { client_id: 'no-such-client' }),
  },
  {
    name: 'no client_id',
    rfc: 'RFC 6749 §4.1.2.1: MUST NOT redirect',
    expect: { page: true },
    params: (t) => authorizeParams(t, { client_id: undefined }),
  },
  {
    name: 'an unregistered redirect_uri',
    rfc: 'RFC 6749 §4.1.2.1, RFC 9700 §4.1.3: exact matching, MUST NOT redirect',
    expect: { page: true },
    params: (t) => authorizeParams(t, { redirect_uri: ATTACKER }),
  },
  {
    name: 'the registered redirect_uri with a longer path',
    rfc: 'RFC 9700 §2.1, §4.1.3: exact string matching',
    expect: { page: true },
    params: (t) => authorizeParams(t, { redirect_uri: `${t.redirectUri}/../evil` }),
  },
  {
    name: 'the registered redirect_uri with a query added',
    rfc: 'RFC 9700 §2.1: exact string matching',
    expect: { page: true },
    params: (t) => authorizeParams(t, { redirect_uri: `${t.redirectUri}?next=${ATTACKER}` }),
  },
  {
    name: 'the registered redirect_uri on another host',
    rfc: 'RFC 9700 §4.1.3',
    expect: { page: true },
    params: (t) =>
      authorizeParams(t, { redirect_uri: t.redirectUri.replace('127.0.0.1', 'localhost') }),
  },
  {
    name: 'an open redirect through the error path: unregistered redirect_uri and a bad response_type',
    rfc: 'RFC 9700 §4.11.2: errors go only to a registered redirect URI',
    expect: { page: true },
    params: (t) => authorizeParams(t, { redirect_uri: ATTACKER, response_type: 'token' }),
  },
  {
    name: 'an open redirect through the error path: unknown client, attacker redirect_uri, no PKCE',
    rfc: 'RFC 9700 §4.11.2',
    expect: { page: true },
    params: (t) =>
      authorizeParams(t, {
        client_id: 'no-such-client',
        redirect_uri: ATTACKER,
        code_challenge: undefined,
        code_challenge_method: undefined,
      }),
  },
  // RFC 6749 §4.1.2.1: every other error goes back to the client, with state and (RFC 9207) iss.
  {
    name: 'no code_challenge',
    rfc: 'RFC 9700 §2.1.1: PKCE required; RFC 7636 §4.4.1 invalid_request',
    expect: { error: 'invalid_request' },
    params: (t) =>
      authorizeParams(t, { code_challenge: undefined, code_challenge_method: undefined }),
  },
  {
    name: 'code_challenge_method=plain',
    rfc: 'RFC 9700 §2.1.1: S256; RFC 7636 §4.4.1 invalid_request',
    expect: { error: 'invalid_request' },
    params: (t) =>
      authorizeParams(t, { code_challenge: pkcePair().verifier, code_challenge_method: 'plain' }),
  },
  {
    name: 'code_challenge without code_challenge_method',
    rfc: 'RFC 7636 §4.3: the method defaults to plain, which is refused (RFC 9700 §2.1.1); invalid_request',
    expect: { error: 'invalid_request' },
    params: (t) => authorizeParams(t, { code_challenge_method: undefined }),
  },
  {
    name: 'a code_challenge that is not a SHA-256 (too short)',
    rfc: 'RFC 7636 §4.2 (43 characters for S256), §4.4.1 invalid_request',
    expect: { error: 'invalid_request' },
    params: (t) => authorizeParams(t, { code_challenge: 'short' }),
  },
  {
    name: 'a request object',
    rfc: 'OpenID Connect Core §6.1 / RFC 9101: request_not_supported where request objects are not',
    expect: { error: 'request_not_supported' },
    params: (t) => authorizeParams(t, { request: 'eyJhbGciOiJub25lIn0.e30.' }),
  },
  {
    name: 'response_type=token',
    rfc: 'RFC 6749 §4.1.2.1 unsupported_response_type; RFC 9700 §2.1.2: no implicit grant',
    expect: { error: 'unsupported_response_type' },
    params: (t) => authorizeParams(t, { response_type: 'token' }),
  },
  {
    name: 'no response_type',
    rfc: 'RFC 6749 §4.1.1 REQUIRED; §4.1.2.1 invalid_request',
    expect: { error: 'invalid_request' },
    params: (t) => authorizeParams(t, { response_type: undefined }),
  },
  {
    name: 'scope twice',
    rfc: 'RFC 6749 §3.1: parameters MUST NOT be included more than once; invalid_request',
    expect: { error: 'invalid_request' },
    params: (t) => [...Object.entries(authorizeParams(t)), ['scope', 'openid']],
  },
  {
    name: 'a scope the client is not allowed',
    rfc: 'RFC 6749 §4.1.2.1 invalid_scope',
    expect: { error: 'invalid_scope' },
    params: (t) => authorizeParams(t, { scope: `openid ${SERVICE_SCOPE}` }),
  },
]

function authorizeExpectation(t: Target, c: AuthorizeCase): AuthorizeCase['expect'] {
  return c.differs?.[t.name] ?? c.expect
}

/** Declares the whole comparison for one server. */
function errorSuite(name: string, start: () => Promise<Target>): void {
  describe(name, () => {
    let t: Target
    before(async () => {
      t = await start()
    })
    after(() => t?.close())

    describe('token, revocation and introspection endpoints', () => {
      for (const c of TOKEN_CASES) {
        test(`${c.name} (${c.rfc})`, async () => {
          assertAnswer(t, await c.send(t), expectationFor(t, c))
        })
      }
    })

    describe('authorization endpoint', () => {
      for (const c of AUTHORIZE_CASES) {
        test(`${c.name} (${c.rfc})`, async () => {
          const outcome = await t.authorizeAnonymously(new URLSearchParams(c.params(t)))
          const expected = authorizeExpectation(t, c)
          if ('page' in expected) {
            assert.equal(outcome.kind, 'page', `${t.name} redirected: ${JSON.stringify(outcome)}`)
            const page = outcome as { status: number; text: string }
            assert.ok(page.status >= 400 && page.status < 500, `${t.name} answered ${page.status}`)
            // Not even a link or a refresh may lead to the attacker.
            assert.doesNotMatch(
              page.text,
              /attacker\.example/,
              `${t.name}'s error page names the attacker's URI`,
            )
            return
          }
          assert.equal(
            outcome.kind,
            'redirect',
            `${t.name} showed a page: ${JSON.stringify(outcome)}`,
          )
          const url = (outcome as { url: URL }).url
          assert.equal(`${url.origin}${url.pathname}`, t.redirectUri, url.href)
          // The query, except where the refused request itself named another response mode:
          // oidc-provider answers response_type=token in the fragment, that type's default
          // (OAuth 2.0 Multiple Response Type Encoding Practices §2.1); the query is as right
          // for a type the server does not support.
          const answer =
            url.search === '' ? new URLSearchParams(url.hash.slice(1)) : url.searchParams
          assert.equal(answer.get('error'), expected.error, url.href)
          // RFC 9207 §2: iss in every authorization response, errors included.
          assert.equal(answer.get('iss'), t.issuer, url.href)
          assert.equal(answer.get('code'), null, url.href)
          if (!c.name.includes('twice')) assert.equal(answer.get('state'), 'state-123', url.href)
        })
      }
    })

    test('code replay: invalid_grant, and what the first redemption issued is revoked (RFC 6749 §4.1.2, RFC 9700 §4.5)', async () => {
      const fresh = await t.code('post')
      const fields = codeGrant(fresh.code, fresh.verifier, fresh.redirectUri)
      const first = await t.post('token', 'post', fields)
      assert.equal(first.status, 200, JSON.stringify(first.body))
      const { access_token: accessToken, refresh_token: refreshToken } = first.body as Record<
        string,
        string
      >
      const live = await t.post('introspection', 'post', [['token', accessToken!]])
      assert.equal(live.body.active, true, `${t.name}: ${JSON.stringify(live.body)}`)

      const replay = await t.post('token', 'post', fields)
      assertAnswer(t, replay, { error: 'invalid_grant', status: 400 })

      const refresh = await t.post('token', 'post', [
        ['grant_type', 'refresh_token'],
        ['refresh_token', refreshToken!],
      ])
      assertAnswer(t, refresh, { error: 'invalid_grant', status: 400 })
      const access = await t.post('introspection', 'post', [['token', accessToken!]])
      assert.deepEqual(
        access.body,
        { active: false },
        `${t.name}: the first access token is still active`,
      )
      const rt = await t.post('introspection', 'post', [['token', refreshToken!]])
      assert.deepEqual(
        rt.body,
        { active: false },
        `${t.name}: the first refresh token is still active`,
      )
    })

    test("revoking another client's token is refused and leaves it active (RFC 7009 §2.1)", async () => {
      const tokens = await t.tokens('basic')
      for (const [hint, token] of [
        ['refresh_token', String(tokens.refresh_token)],
        ['access_token', String(tokens.access_token)],
      ]) {
        const answer = await t.post('revocation', 'post', [
          ['token', token!],
          ['token_type_hint', hint!],
        ])
        // "verifies whether the token was issued to the client making the revocation request.
        // If this validation fails, the request is refused and the client is informed of the
        // error": RFC 7009 §2.2.1 names no code of its own for this, so any of RFC 6749 §5.2's.
        const shown = `${t.name}: ${hint}: ${answer.status} ${JSON.stringify(answer.body)}`
        assert.ok(answer.status >= 400 && answer.status < 500, shown)
        assert.ok(RFC6749_TOKEN_ERRORS.includes(String(answer.body.error)), shown)
        const still = await t.post('introspection', 'basic', [['token', token!]])
        assert.equal(
          still.body.active,
          true,
          `${t.name}: the ${hint} was revoked by another client`,
        )
      }
    })

    describe('userinfo endpoint (OpenID Connect Core §5.3.3, RFC 6750 §3.1)', () => {
      const userinfo = (token?: string) =>
        fetch(String(t.metadata.userinfo_endpoint), {
          headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        })

      test('no access token: 401 with a Bearer challenge that carries no error code', async () => {
        const response = await userinfo()
        await response.body?.cancel()
        assert.equal(response.status, 401)
        const challenge = response.headers.get('www-authenticate') ?? ''
        assert.match(challenge, /^Bearer\b/i, `${t.name}: ${challenge}`)
        // RFC 6750 §3.1: "If the request lacks any authentication information ..., the
        // resource server SHOULD NOT include an error code or other error information."
        assert.doesNotMatch(challenge, /error=/, `${t.name}: ${challenge}`)
      })

      test('a token the server never issued: 401 invalid_token', async () => {
        const response = await userinfo(randomBytes(32).toString('base64url'))
        await response.body?.cancel()
        assert.equal(response.status, 401)
        assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token"/)
      })

      test("a client's own token (client_credentials): no user, 401 invalid_token", async () => {
        const service = await t.post('token', 'service', [['grant_type', 'client_credentials']])
        assert.equal(service.status, 200, JSON.stringify(service.body))
        const response = await userinfo(String(service.body.access_token))
        await response.body?.cancel()
        assert.equal(response.status, 401)
        assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token"/)
      })
    })

    test('prompt=none without a session: login_required at the redirect URI, with state and iss (OIDC Core §3.1.2.6)', async () => {
      const callback = await t.authorizeSignedOut(
        new URLSearchParams(authorizeParams(t, { prompt: 'none', nonce: 'n-1' })),
      )
      assert.equal(`${callback.origin}${callback.pathname}`, t.redirectUri, callback.href)
      assert.equal(callback.searchParams.get('error'), 'login_required', callback.href)
      assert.equal(callback.searchParams.get('state'), 'state-123')
      assert.equal(callback.searchParams.get('iss'), t.issuer)
      assert.equal(callback.searchParams.get('code'), null)
    })

    test('mix-up defence (RFC 9207): iss is the issuer, and oauth4webapi refuses a response naming another', async () => {
      const as = await discover(t)
      assert.equal(as.authorization_response_iss_parameter_supported, true)
      const client: oauth.Client = { client_id: t.clients.post.id }
      const fresh = await t.code('post', { state: 'mix-up-state' })
      assert.equal(fresh.callback.searchParams.get('iss'), t.issuer)
      const params = oauth.validateAuthResponse(as, client, fresh.callback, 'mix-up-state')
      assert.equal(params.get('code'), fresh.code)

      const forged = new URL(fresh.callback)
      forged.searchParams.set('iss', 'https://attacker.example')
      assert.throws(
        () => oauth.validateAuthResponse(as, client, forged, 'mix-up-state'),
        (error: unknown) => error instanceof oauth.OperationProcessingError,
      )
      const stripped = new URL(fresh.callback)
      stripped.searchParams.delete('iss')
      assert.throws(
        () => oauth.validateAuthResponse(as, client, stripped, 'mix-up-state'),
        (error: unknown) => error instanceof oauth.OperationProcessingError,
      )
    })
  })
}

async function discover(t: Target): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(t.issuer)
  const response = await oauth.discoveryRequest(issuer, {
    algorithm: 'oidc',
    [oauth.allowInsecureRequests]: true,
  })
  return oauth.processDiscoveryResponse(issuer, response)
}

errorSuite('oidc-provider (the reference) answers the RFC error codes', startReferenceTarget)

const missing = chromiumMissing()
if (missing === undefined) {
  errorSuite('tessera serve answers the RFC error codes, as the reference does', () =>
    startTesseraTarget({ TESSERA_REFRESH_REUSE_GRACE: '0' }),
  )
} else if (ON_CI) {
  test('Chromium is available (required with CI=true)', () => assert.fail(missing))
} else {
  describe('tessera serve answers the RFC error codes', { skip: missing }, () => {})
}
