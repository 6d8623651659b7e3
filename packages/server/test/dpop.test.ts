// DPoP (RFC 9449) on the server: proofs made by panva's `dpop` client bind
// the tokens of a sign-in, a refresh and the OAuth token endpoint; bound
// tokens work on Tessera's own routes only with a proof of their key; bound
// refresh tokens refresh only with it; server nonces when configured.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { decode } from '@tessera/jwt'
import { calculateThumbprint, generateKeyPair, generateProof, type KeyPair } from 'dpop'
import { hashClientSecret } from '../src/auth/oauth/clients.ts'
import type { OAuthClientRecord } from '../src/storage/ports.ts'
import { type Harness, harness, PASSWORD } from './support/harness.ts'
import { addClientRecord } from './support/oauth-client.ts'

const ISSUER = 'http://localhost:3000'
const SECRET = 'a-secret-of-the-test-client-that-is-long-enough'

/** A harness whose clock is the real one: the proofs carry the real time. */
async function realTime(env: Record<string, string> = {}): Promise<Harness> {
  const h = await harness(env)
  h.clock.now = Date.now()
  return h
}

async function proof(
  keys: KeyPair,
  method: string,
  path: string,
  extra: { nonce?: string; token?: string } = {},
) {
  return await generateProof(keys, `${ISSUER}${path}`, method, extra.nonce, extra.token)
}

async function send(
  h: Harness,
  method: 'GET' | 'POST',
  path: string,
  options: { headers?: Record<string, string>; body?: unknown; form?: Record<string, string> } = {},
) {
  const response = await h.app.inject({
    method,
    url: path,
    headers: {
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.form === undefined
        ? {}
        : { 'content-type': 'application/x-www-form-urlencoded' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { payload: JSON.stringify(options.body) }),
    ...(options.form === undefined
      ? {}
      : { payload: new URLSearchParams(options.form).toString() }),
  })
  return {
    status: response.statusCode,
    headers: response.headers,
    body: response.body === '' ? {} : (JSON.parse(response.body) as Record<string, unknown>),
  }
}

const code = (body: Record<string, unknown>) =>
  (body.error as { code?: string } | undefined)?.code ?? body.error

async function signIn(h: Harness, keys: KeyPair) {
  await h.user('ada@example.com')
  return await send(h, 'POST', '/auth/login', {
    body: { email: 'ada@example.com', password: PASSWORD },
    headers: { dpop: await proof(keys, 'POST', '/auth/login') },
  })
}

async function addClient(
  h: Harness,
  overrides: Partial<OAuthClientRecord> = {},
): Promise<OAuthClientRecord> {
  return await addClientRecord(h, {
    id: `client-${randomBytes(6).toString('hex')}`,
    name: 'DPoP App',
    secretHash: hashClientSecret(SECRET),
    redirectUris: ['https://app.example.com/cb'],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    tokenEndpointAuthMethod: 'client_secret_basic',
    scopes: ['openid', 'email', 'api:read'],
    ...overrides,
  })
}

const basic = (client: OAuthClientRecord) =>
  `Basic ${Buffer.from(`${client.id}:${SECRET}`).toString('base64')}`

describe('DPoP on the server', () => {
  test('a sign-in with a proof gets a DPoP token bound to its key (cnf.jkt)', async () => {
    const h = await realTime()
    const keys = await generateKeyPair('ES256')
    const login = await signIn(h, keys)
    assert.equal(login.status, 200, JSON.stringify(login.body))
    assert.equal(login.body.tokenType, 'DPoP')
    const claims = decode(login.body.accessToken as string).payload as { cnf?: { jkt?: string } }
    assert.equal(claims.cnf?.jkt, await calculateThumbprint(keys.publicKey))
  })

  test('Tessera’s own routes take a bound token only as DPoP with a fresh proof of its key', async () => {
    const h = await realTime()
    const keys = await generateKeyPair('ES256')
    const token = (await signIn(h, keys)).body.accessToken as string
    const withProof = async (p: string) =>
      await send(h, 'GET', '/auth/me', { headers: { authorization: `DPoP ${token}`, dpop: p } })
    const first = await proof(keys, 'GET', '/auth/me', { token })
    assert.equal((await withProof(first)).status, 200)
    // The same proof again: a replay.
    const replay = await withProof(first)
    assert.equal(replay.status, 401)
    assert.equal(code(replay.body), 'invalid_dpop_proof')
    assert.match(replay.headers['www-authenticate'] as string, /^DPoP /)
    // As a bearer token: refused, the key is the point.
    assert.equal(
      (await send(h, 'GET', '/auth/me', { headers: { authorization: `Bearer ${token}` } })).status,
      401,
    )
    // Without a proof, a proof of another key, of another URL or method, or without the token's hash.
    const other = await generateKeyPair('ES256')
    for (const bad of [
      undefined,
      await proof(other, 'GET', '/auth/me', { token }),
      await proof(keys, 'GET', '/auth/sessions', { token }),
      await proof(keys, 'POST', '/auth/me', { token }),
      await proof(keys, 'GET', '/auth/me'),
    ]) {
      const response = await send(h, 'GET', '/auth/me', {
        headers: { authorization: `DPoP ${token}`, ...(bad === undefined ? {} : { dpop: bad }) },
      })
      assert.equal(response.status, 401)
      // A proof by another key than cnf.jkt: the token is not the caller's (invalid_token).
      assert.ok(['invalid_dpop_proof', 'invalid_token'].includes(String(code(response.body))))
    }
  })

  test('a bound session refreshes only with a proof of its key', async () => {
    const h = await realTime()
    const keys = await generateKeyPair('ES256')
    const login = await signIn(h, keys)
    const refreshToken = login.body.refreshToken as string
    const none = await send(h, 'POST', '/auth/refresh', { body: { refreshToken } })
    assert.equal(none.status, 401)
    assert.equal(code(none.body), 'invalid_dpop_proof')
    const other = await generateKeyPair('ES256')
    const wrong = await send(h, 'POST', '/auth/refresh', {
      body: { refreshToken },
      headers: { dpop: await proof(other, 'POST', '/auth/refresh') },
    })
    assert.equal(code(wrong.body), 'invalid_dpop_proof')
    // Refused attempts burned nothing: the holder of the key refreshes.
    const right = await send(h, 'POST', '/auth/refresh', {
      body: { refreshToken },
      headers: { dpop: await proof(keys, 'POST', '/auth/refresh') },
    })
    assert.equal(right.status, 200, JSON.stringify(right.body))
    assert.equal(right.body.tokenType, 'DPoP')
  })

  test('a sign-in without a proof stays bearer', async () => {
    const h = await realTime()
    await h.user('ada@example.com')
    const login = await send(h, 'POST', '/auth/login', {
      body: { email: 'ada@example.com', password: PASSWORD },
    })
    assert.equal(login.body.tokenType, 'Bearer')
    assert.equal(
      (decode(login.body.accessToken as string).payload as { cnf?: unknown }).cnf,
      undefined,
    )
    const bad = await send(h, 'POST', '/auth/login', {
      body: { email: 'ada@example.com', password: PASSWORD },
      headers: { dpop: 'not.a.proof' },
    })
    assert.equal(bad.status, 401)
    assert.equal(code(bad.body), 'invalid_dpop_proof')
  })

  test('OAuth: client_credentials and introspection report the binding; a dpop_bound client needs a proof', async () => {
    const h = await realTime()
    const keys = await generateKeyPair('ES256')
    const client = await addClient(h)
    const token = await send(h, 'POST', '/oauth/token', {
      form: { grant_type: 'client_credentials', scope: 'api:read' },
      headers: { authorization: basic(client), dpop: await proof(keys, 'POST', '/oauth/token') },
    })
    assert.equal(token.status, 200, JSON.stringify(token.body))
    assert.equal(token.body.token_type, 'DPoP')
    const jkt = await calculateThumbprint(keys.publicKey)
    const seen = await send(h, 'POST', '/oauth/introspect', {
      form: { token: token.body.access_token as string },
      headers: { authorization: basic(client) },
    })
    assert.equal(seen.body.token_type, 'DPoP')
    assert.deepEqual(seen.body.cnf, { jkt })

    const bound = await addClient(h, { dpopBoundAccessTokens: true })
    const refused = await send(h, 'POST', '/oauth/token', {
      form: { grant_type: 'client_credentials' },
      headers: { authorization: basic(bound) },
    })
    assert.equal(refused.status, 400)
    assert.equal(refused.body.error, 'invalid_dpop_proof')
    const badProof = await send(h, 'POST', '/oauth/token', {
      form: { grant_type: 'client_credentials' },
      headers: { authorization: basic(client), dpop: await proof(keys, 'POST', '/oauth/revoke') },
    })
    assert.equal(badProof.status, 400)
    assert.equal(badProof.body.error, 'invalid_dpop_proof')
  })

  test('OAuth: a public client’s refresh token is bound; userinfo takes the bound token as DPoP', async () => {
    const h = await realTime()
    const keys = await generateKeyPair('ES256')
    const client = await addClient(h, { tokenEndpointAuthMethod: 'none', secretHash: null })
    await h.user('ada@example.com')
    const cookie = `tessera_refresh=${(await h.login('ada@example.com')).tokens.refreshToken}`
    const verifier = randomBytes(32).toString('base64url')
    const { createHash } = await import('node:crypto')
    const challenge = createHash('sha256').update(verifier).digest('base64url')
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: 'https://app.example.com/cb',
      scope: 'openid email',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })
    const authorized = await h.app.inject({ url: `/oauth/authorize?${query}`, headers: { cookie } })
    const authCode = new URL(authorized.headers.location as string).searchParams.get(
      'code',
    ) as string
    const token = await send(h, 'POST', '/oauth/token', {
      form: {
        grant_type: 'authorization_code',
        client_id: client.id,
        code: authCode,
        redirect_uri: 'https://app.example.com/cb',
        code_verifier: verifier,
      },
      headers: { dpop: await proof(keys, 'POST', '/oauth/token') },
    })
    assert.equal(token.status, 200, JSON.stringify(token.body))
    assert.equal(token.body.token_type, 'DPoP')
    const access = token.body.access_token as string
    const info = await send(h, 'GET', '/oauth/userinfo', {
      headers: {
        authorization: `DPoP ${access}`,
        dpop: await proof(keys, 'GET', '/oauth/userinfo', { token: access }),
      },
    })
    assert.equal(info.status, 200, JSON.stringify(info.body))
    assert.equal(info.body.email, 'ada@example.com')
    const asBearer = await send(h, 'GET', '/oauth/userinfo', {
      headers: { authorization: `Bearer ${access}` },
    })
    assert.equal(asBearer.status, 401)
    const other = await generateKeyPair('ES256')
    const otherKey = await send(h, 'GET', '/oauth/userinfo', {
      headers: {
        authorization: `DPoP ${access}`,
        dpop: await proof(other, 'GET', '/oauth/userinfo', { token: access }),
      },
    })
    assert.equal(otherKey.status, 401)
    assert.match(otherKey.headers['www-authenticate'] as string, /error="invalid_token"/)
    const unbound = await send(h, 'POST', '/oauth/token', {
      form: {
        grant_type: 'refresh_token',
        client_id: client.id,
        refresh_token: token.body.refresh_token as string,
      },
    })
    assert.equal(unbound.body.error, 'invalid_dpop_proof')
    const refreshed = await send(h, 'POST', '/oauth/token', {
      form: {
        grant_type: 'refresh_token',
        client_id: client.id,
        refresh_token: token.body.refresh_token as string,
      },
      headers: { dpop: await proof(keys, 'POST', '/oauth/token') },
    })
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body))
  })

  test('with TESSERA_DPOP_NONCES a proof without the server’s nonce is answered use_dpop_nonce and a nonce', async () => {
    const h = await realTime({ TESSERA_DPOP_NONCES: 'true' })
    const keys = await generateKeyPair('ES256')
    await h.user('ada@example.com')
    const body = { email: 'ada@example.com', password: PASSWORD }
    const first = await send(h, 'POST', '/auth/login', {
      body,
      headers: { dpop: await proof(keys, 'POST', '/auth/login') },
    })
    assert.equal(first.status, 401)
    assert.equal(code(first.body), 'use_dpop_nonce')
    const nonce = first.headers['dpop-nonce'] as string
    assert.ok(nonce)
    const second = await send(h, 'POST', '/auth/login', {
      body,
      headers: { dpop: await proof(keys, 'POST', '/auth/login', { nonce }) },
    })
    assert.equal(second.status, 200, JSON.stringify(second.body))
    assert.equal(second.body.tokenType, 'DPoP')
    // Tessera's own routes ask the proofs for the nonce too.
    const token = second.body.accessToken as string
    const me = await send(h, 'GET', '/auth/me', {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await proof(keys, 'GET', '/auth/me', { token }),
      },
    })
    assert.equal(me.status, 401)
    assert.equal(code(me.body), 'use_dpop_nonce')
    const fresh = me.headers['dpop-nonce'] as string
    const retried = await send(h, 'GET', '/auth/me', {
      headers: {
        authorization: `DPoP ${token}`,
        dpop: await proof(keys, 'GET', '/auth/me', { token, nonce: fresh }),
      },
    })
    assert.equal(retried.status, 200, JSON.stringify(retried.body))
    const client = await addClient(h)
    const oauth = await send(h, 'POST', '/oauth/token', {
      form: { grant_type: 'client_credentials' },
      headers: { authorization: basic(client), dpop: await proof(keys, 'POST', '/oauth/token') },
    })
    assert.equal(oauth.status, 400)
    assert.equal(oauth.body.error, 'use_dpop_nonce')
    assert.ok(oauth.headers['dpop-nonce'])
  })
})
