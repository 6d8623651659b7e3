// The OAuth client registry through /admin/clients on the real service:
// only admins reach it, metadata is checked field by field (RFC 7591 names
// in each issue's path), the secret is answered once and stored hashed,
// removal ends every session granted to the client; and the pure helpers
// the OAuth endpoints use (secret check, redirect URI matching).

import assert from 'node:assert/strict'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import {
  exportEncryptionJwk,
  exportJwk,
  generateEncryptionKeyPair,
  generateKeyPair,
} from '@tessera/jwt'
import {
  clientSecretMatches,
  hashClientSecret,
  redirectUriMatches,
  registrationView,
} from '../src/auth/oauth/clients.ts'
import type { OAuthClientRecord } from '../src/storage/ports.ts'
import { code, type Harness, harness } from './support/harness.ts'

const ADMIN = 'admin@example.com'
const USER = 'user@example.com'
const WEB_APP = { client_name: 'Dashboard', redirect_uris: ['https://dash.example.com/callback'] }

async function setup(env: Record<string, string> = {}) {
  const h = await harness(env)
  await h.user(ADMIN, { roles: ['admin'] })
  const user = await h.user(USER)
  const admin = (await h.login(ADMIN)).tokens.accessToken
  const userToken = (await h.login(USER)).tokens.accessToken
  const register = (body: unknown) => h.call('POST', '/admin/clients', { token: admin, body })
  return { h, admin, user, userToken, register }
}

/** A session granted to `clientId`, as the token endpoint will start one. */
async function sessionFor(h: Harness, userId: string, clientId: string): Promise<string> {
  const id = randomUUID()
  const now = h.clock.now
  await h.tessera.store.sessions.createSession(
    {
      id,
      userId,
      createdAt: now,
      expiresAt: now + 86_400_000,
      userAgent: null,
      ip: null,
      authTime: now,
      amr: ['pwd'],
      clientId,
      scope: 'openid',
    },
    {
      tokenHash: randomBytes(32).toString('base64url'),
      sessionId: id,
      createdAt: now,
      expiresAt: now + 3_600_000,
    },
  )
  return id
}

function issuePaths(body: Record<string, unknown>): string[] {
  const issues = (body.error as { issues?: { path: string }[] }).issues ?? []
  return issues.map((issue) => issue.path)
}

describe('/admin/clients', () => {
  test('only an admin reaches the registry: 401 without a token, 403 for a user, before the service', async () => {
    const { h, userToken, register } = await setup()
    const created = await register(WEB_APP)
    assert.equal(created.status, 201)
    const id = created.body.client_id as string
    const routes = [
      ['POST', '/admin/clients', WEB_APP],
      ['GET', '/admin/clients', undefined],
      ['GET', `/admin/clients/${id}`, undefined],
      ['DELETE', `/admin/clients/${id}`, undefined],
    ] as const
    for (const [method, url, body] of routes) {
      const calls = h.calls.length
      const anonymous = await h.call(method, url, { body })
      assert.equal(anonymous.status, 401, `${method} ${url}`)
      assert.equal(code(anonymous.body), 'missing_token')
      const user = await h.call(method, url, { body, token: userToken })
      assert.equal(user.status, 403, `${method} ${url}`)
      assert.equal(code(user.body), 'forbidden')
      assert.deepEqual(
        h.calls.slice(calls).filter((name) => name !== 'authenticate'),
        [],
      )
    }
    assert.equal((await h.tessera.store.oauth.listClients()).length, 1)
  })

  test('a web app gets the defaults, an id, and its secret once: stored as a SHA-256 hash, never shown again', async () => {
    const { h, admin, register } = await setup()
    const created = await register(WEB_APP)
    assert.equal(created.status, 201, JSON.stringify(created.body))
    assert.equal(created.headers['cache-control'], 'no-store')
    const { client_id: id, client_secret: secret, client_secret_expires_at, ...rest } = created.body
    assert.equal(client_secret_expires_at, 0)
    assert.match(String(id), /^[A-Za-z0-9_-]{22,}$/)
    assert.match(String(secret), /^[A-Za-z0-9_-]{43}$/)
    assert.deepEqual(rest, {
      client_name: 'Dashboard',
      client_id_issued_at: Math.floor(h.clock.now / 1000),
      redirect_uris: ['https://dash.example.com/callback'],
      post_logout_redirect_uris: [],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid profile email offline_access',
      first_party: false,
      dpop_bound_access_tokens: false,
    })

    const stored = await h.tessera.store.oauth.findClient(String(id))
    assert.ok(stored)
    assert.equal(stored.secretHash, createHash('sha256').update(String(secret)).digest('base64url'))
    assert.equal(stored.secretHash, hashClientSecret(String(secret)))
    assert.ok(clientSecretMatches(stored, String(secret)))
    assert.ok(!clientSecretMatches(stored, `${secret}x`))
    assert.ok(!clientSecretMatches(stored, ''))

    const one = await h.call('GET', `/admin/clients/${id}`, { token: admin })
    const list = await h.call('GET', '/admin/clients', { token: admin })
    assert.equal(one.status, 200)
    assert.equal(list.status, 200)
    assert.deepEqual(one.body, { client_id: id, ...rest })
    assert.deepEqual(list.body, { clients: [one.body] })
    const audit = await h.tessera.store.audit.listAudit({ limit: 10, event: 'client.registered' })
    assert.equal(audit.length, 1)
    assert.equal(audit[0]?.details['clientId'], id)
    for (const text of [
      JSON.stringify(one.body),
      JSON.stringify(list.body),
      JSON.stringify(audit),
    ]) {
      assert.ok(!text.includes(String(secret)), 'the secret is answered once only')
      assert.ok(!text.includes(stored.secretHash!), 'its hash is never shown')
      assert.ok(!text.includes('client_secret"'))
    }
  })

  test('a public client, a private_key_jwt client and a service: no secret where none is used', async () => {
    const { h, register } = await setup()
    const spa = await register({
      client_name: 'SPA',
      redirect_uris: ['https://spa.example.com/', 'http://localhost:5173/callback'],
      token_endpoint_auth_method: 'none',
      scope: 'openid email',
      first_party: true,
      access_token_lifetime: 300,
      refresh_token_lifetime: 7 * 86_400,
    })
    assert.equal(spa.status, 201, JSON.stringify(spa.body))
    assert.equal(spa.body.client_secret, undefined)
    assert.equal(spa.body.client_secret_expires_at, undefined)
    assert.equal(spa.body.scope, 'openid email')
    assert.equal(spa.body.first_party, true)
    assert.equal(spa.body.access_token_lifetime, 300)
    assert.equal(spa.body.refresh_token_lifetime, 7 * 86_400)
    assert.equal(
      (await h.tessera.store.oauth.findClient(String(spa.body.client_id)))?.secretHash,
      null,
    )

    const { publicKey } = generateKeyPair('ES256', { kid: 'k1' })
    const jwk = exportJwk(publicKey)
    const signed = await register({
      client_name: 'Backend',
      redirect_uris: ['https://backend.example.com/cb'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [jwk] },
    })
    assert.equal(signed.status, 201, JSON.stringify(signed.body))
    assert.equal(signed.body.client_secret, undefined)
    assert.deepEqual(signed.body.jwks, { keys: [jwk] })

    const rsa = generateKeyPair('PS256', { kid: 'r1' }).publicKey
    const native = await register({
      client_name: 'Phone app',
      redirect_uris: ['com.example.app:/oauth2redirect', 'http://127.0.0.1/callback'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [exportJwk(rsa)] },
      // Standard metadata Tessera has no use for is accepted and left out.
      application_type: 'native',
      logo_uri: 'https://example.com/logo.png',
      contacts: ['ops@example.com'],
      response_types: ['code'],
    })
    assert.equal(native.status, 201, JSON.stringify(native.body))
    assert.equal(native.body.logo_uri, undefined)

    const service = await register({
      client_name: 'Gateway',
      grant_types: ['client_credentials'],
      scope: 'tessera:revocations orders:read',
    })
    assert.equal(service.status, 201, JSON.stringify(service.body))
    assert.match(String(service.body.client_secret), /^[A-Za-z0-9_-]{43}$/)
    assert.deepEqual(service.body.grant_types, ['client_credentials'])
    assert.deepEqual(service.body.response_types, [])
    assert.deepEqual(service.body.redirect_uris, [])
    assert.equal(service.body.scope, 'tessera:revocations orders:read')

    const bare = await register({ client_name: 'Cron', grant_types: ['client_credentials'] })
    assert.equal(bare.body.scope, '', 'no scope unless named: nothing a service did not ask for')
  })

  test('the client id never comes from the input; tessera is the built-in client, not in the registry', async () => {
    const { h, admin, register } = await setup()
    const chosen = await register({ ...WEB_APP, client_id: 'tessera' })
    assert.equal(chosen.status, 400)
    assert.deepEqual(issuePaths(chosen.body), ['/client_id'])
    // The domain ignores it (RFC 7591 §2): the id is the server's.
    const direct = await h.tessera.auth.registerClient(
      { userId: 'cli', sessionId: null },
      { ...WEB_APP, client_id: 'tessera' },
      { ip: null, userAgent: null },
    )
    assert.notEqual(direct.registration.client_id, 'tessera')
    const builtIn = await h.call('GET', '/admin/clients/tessera', { token: admin })
    assert.equal(builtIn.status, 404)
    assert.equal(code(builtIn.body), 'not_found')
    const removed = await h.call('DELETE', '/admin/clients/tessera', { token: admin })
    assert.equal(removed.status, 404)
  })

  test('invalid metadata is validation_failed, with the RFC 7591 member in the issue path', async () => {
    const { register } = await setup()
    const rsaWithoutAlg = exportJwk(generateKeyPair('RS256').publicKey)
    delete rsaWithoutAlg.alg
    const privateJwk = exportJwk(generateKeyPair('ES256').privateKey, { includePrivate: true })
    const ec = exportJwk(generateKeyPair('ES256', { kid: 'same' }).publicKey)
    const ec2 = exportJwk(generateKeyPair('ES256', { kid: 'same' }).publicKey)
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['no name', { redirect_uris: WEB_APP.redirect_uris }, ['/client_name']],
      ['a blank name', { ...WEB_APP, client_name: '   ' }, ['/client_name']],
      ['a code client without redirect URIs', { client_name: 'x' }, ['/redirect_uris']],
      [
        'a fragment',
        { ...WEB_APP, redirect_uris: ['https://a.example/cb#x'] },
        ['/redirect_uris/0'],
      ],
      [
        'http off loopback',
        { ...WEB_APP, redirect_uris: ['https://ok.example/cb', 'http://a.example/cb'] },
        ['/redirect_uris/1'],
      ],
      ['a relative URI', { ...WEB_APP, redirect_uris: ['/callback'] }, ['/redirect_uris/0']],
      ['javascript:', { ...WEB_APP, redirect_uris: ['javascript:alert(1)'] }, ['/redirect_uris/0']],
      [
        'credentials in the URI',
        { ...WEB_APP, redirect_uris: ['https://user:pw@a.example/cb'] },
        ['/redirect_uris/0'],
      ],
      [
        'localhost look-alike',
        { ...WEB_APP, redirect_uris: ['http://localhost.evil.example/cb'] },
        ['/redirect_uris/0'],
      ],
      [
        'post-logout URI over http',
        { ...WEB_APP, post_logout_redirect_uris: ['http://a.example/bye'] },
        ['/post_logout_redirect_uris/0'],
      ],
      ['the password grant', { ...WEB_APP, grant_types: ['password'] }, ['/grant_types/0']],
      [
        'refresh_token without a code',
        { client_name: 'x', grant_types: ['refresh_token', 'client_credentials'] },
        ['/grant_types'],
      ],
      [
        'a public client with client_credentials',
        {
          ...WEB_APP,
          grant_types: ['authorization_code', 'client_credentials'],
          token_endpoint_auth_method: 'none',
        },
        ['/grant_types'],
      ],
      ['the implicit flow', { ...WEB_APP, response_types: ['token'] }, ['/response_types']],
      [
        'client_secret_jwt',
        { ...WEB_APP, token_endpoint_auth_method: 'client_secret_jwt' },
        ['/token_endpoint_auth_method'],
      ],
      [
        'private_key_jwt without keys',
        { ...WEB_APP, token_endpoint_auth_method: 'private_key_jwt' },
        ['/jwks'],
      ],
      [
        'a private key',
        { ...WEB_APP, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [privateJwk] } },
        ['/jwks/keys/0'],
      ],
      [
        'an RSA key without alg',
        {
          ...WEB_APP,
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [rsaWithoutAlg] },
        },
        ['/jwks/keys/0'],
      ],
      [
        'a symmetric key',
        {
          ...WEB_APP,
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [{ kty: 'oct', k: randomBytes(32).toString('base64url'), alg: 'HS256' }] },
        },
        ['/jwks/keys/0'],
      ],
      [
        'two keys with one kid',
        { ...WEB_APP, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [ec, ec2] } },
        ['/jwks/keys/1'],
      ],
      ['keys without private_key_jwt', { ...WEB_APP, jwks: { keys: [ec] } }, ['/jwks']],
      ['jwks_uri', { ...WEB_APP, jwks_uri: 'https://a.example/jwks' }, ['/jwks_uri']],
      [
        'another ID token algorithm',
        { ...WEB_APP, id_token_signed_response_alg: 'none' },
        ['/id_token_signed_response_alg'],
      ],
      ['pairwise subjects', { ...WEB_APP, subject_type: 'pairwise' }, ['/subject_type']],
      ['a malformed scope', { ...WEB_APP, scope: 'openid "quoted"' }, ['/scope']],
      ['a tessera: scope of no meaning', { ...WEB_APP, scope: 'openid tessera:admin' }, ['/scope']],
      [
        'the revocation feed for a user app',
        { ...WEB_APP, scope: 'tessera:revocations' },
        ['/scope'],
      ],
      [
        'offline_access without refresh_token',
        { ...WEB_APP, grant_types: ['authorization_code'], scope: 'openid offline_access' },
        ['/scope'],
      ],
      [
        'user scopes for a service',
        { client_name: 'svc', grant_types: ['client_credentials'], scope: 'openid' },
        ['/scope'],
      ],
      [
        'a session lifetime without refresh tokens',
        { client_name: 'svc', grant_types: ['client_credentials'], refresh_token_lifetime: 600 },
        ['/refresh_token_lifetime'],
      ],
      ['a zero lifetime', { ...WEB_APP, access_token_lifetime: 0 }, ['/access_token_lifetime']],
      ['a misspelt member', { ...WEB_APP, scopes: 'openid' }, ['/scopes']],
      [
        'several at once',
        { client_name: '', redirect_uris: ['http://a.example/'], grant_types: ['implicit'] },
        ['/client_name', '/grant_types/0', '/redirect_uris/0'],
      ],
    ]
    for (const [name, body, paths] of cases) {
      const response = await register(body)
      assert.equal(response.status, 400, `${name}: ${JSON.stringify(response.body)}`)
      assert.equal(code(response.body), 'validation_failed', name)
      assert.deepEqual(
        issuePaths(response.body).toSorted(),
        paths,
        `${name}: ${JSON.stringify(response.body)}`,
      )
    }
  })

  test('removal ends every session granted to the client, access tokens included, and nothing else', async () => {
    const { h, admin, user, register } = await setup()
    const doomed = String((await register(WEB_APP)).body.client_id)
    const other = String((await register({ ...WEB_APP, client_name: 'Other' })).body.client_id)
    const first = await sessionFor(h, user.id, doomed)
    const second = await sessionFor(h, user.id, doomed)
    const kept = await sessionFor(h, user.id, other)
    const own = await h.login(USER)

    const removed = await h.call('DELETE', `/admin/clients/${doomed}`, { token: admin })
    assert.equal(removed.status, 204)
    assert.deepEqual(removed.body, {})

    const iat = Math.floor(h.clock.now / 1000)
    for (const id of [first, second]) {
      const session = await h.tessera.store.sessions.findSession(id)
      assert.equal(session?.revokedReason, 'client_removed')
      assert.ok(
        h.tessera.revocations.isRevoked({ sub: user.id, sid: id, iat }),
        'its access tokens die',
      )
    }
    for (const id of [kept, own.sessionId]) {
      assert.equal((await h.tessera.store.sessions.findSession(id))?.revokedAt, null)
      assert.ok(!h.tessera.revocations.isRevoked({ sub: user.id, sid: id, iat }))
    }
    const me = await h.call('GET', '/auth/me', { token: own.tokens.accessToken })
    assert.equal(me.status, 200, "first-party sessions are not the client's")

    assert.equal((await h.call('GET', `/admin/clients/${doomed}`, { token: admin })).status, 404)
    const again = await h.call('DELETE', `/admin/clients/${doomed}`, { token: admin })
    assert.equal(again.status, 404)
    assert.equal(code(again.body), 'not_found')
    const list = await h.call('GET', '/admin/clients', { token: admin })
    assert.deepEqual(
      (list.body.clients as { client_id: string }[]).map((c) => c.client_id),
      [other],
    )
    const audit = await h.tessera.store.audit.listAudit({ limit: 10, event: 'client.removed' })
    assert.deepEqual(audit[0]?.details, { clientId: doomed, sessionsRevoked: 2 })
  })
})

describe('redirectUriMatches', () => {
  test('an exact string match: no prefix, no trailing slash, no case folding', () => {
    const registered = ['https://app.example.com/cb', 'com.example.app:/oauth2redirect']
    assert.ok(redirectUriMatches(registered, 'https://app.example.com/cb'))
    assert.ok(redirectUriMatches(registered, 'com.example.app:/oauth2redirect'))
    for (const presented of [
      'https://app.example.com/cb/',
      'https://app.example.com/cb?x=1',
      'https://app.example.com/cb#x',
      'https://APP.example.com/cb',
      'https://app.example.com:443/cb',
      'https://app.example.com/c',
      'https://app.example.com/cb/../cb',
      'https://app.example.com.evil.example/cb',
      'http://app.example.com/cb',
    ]) {
      assert.ok(!redirectUriMatches(registered, presented), presented)
    }
  })

  test('a loopback IP literal takes any port (RFC 8252 §7.3); the rest must match exactly', () => {
    const registered = ['http://127.0.0.1/callback', 'http://[::1]:8080/cb?app=1']
    for (const presented of [
      'http://127.0.0.1/callback',
      'http://127.0.0.1:51004/callback',
      'http://127.0.0.1:1/callback',
      'http://127.0.0.1:65535/callback',
      'http://[::1]/cb?app=1',
      'http://[::1]:8080/cb?app=1',
      'http://[::1]:49152/cb?app=1',
    ]) {
      assert.ok(redirectUriMatches(registered, presented), presented)
    }
    for (const presented of [
      'http://127.0.0.1:51004/callback/',
      'http://127.0.0.1:51004/other',
      'http://127.0.0.1:0/callback',
      'http://127.0.0.1:65536/callback',
      'http://127.0.0.1:051004/callback',
      'http://127.0.0.1:80@evil.example/callback',
      'http://127.0.0.1.evil.example/callback',
      'http://[::1]:8080/cb',
      'http://127.0.0.1:8080/cb?app=1',
      'https://127.0.0.1:51004/callback',
      'http://127.0.0.1:51004/callback#x',
    ]) {
      assert.ok(!redirectUriMatches(registered, presented), presented)
    }
  })

  test('localhost gets no port exception (RFC 8252 §8.3)', () => {
    const registered = ['http://localhost/callback', 'http://localhost:3000/cb']
    assert.ok(redirectUriMatches(registered, 'http://localhost/callback'))
    assert.ok(redirectUriMatches(registered, 'http://localhost:3000/cb'))
    assert.ok(!redirectUriMatches(registered, 'http://localhost:51004/callback'))
    assert.ok(!redirectUriMatches(registered, 'http://localhost:3001/cb'))
  })
})

describe('/admin/clients: DPoP and encrypted responses (issue 18)', () => {
  const ecEnc = () =>
    exportEncryptionJwk(generateEncryptionKeyPair('ECDH-ES', { kid: 'enc-ec' }).publicKey)
  const rsaEnc = () =>
    exportEncryptionJwk(generateEncryptionKeyPair('RSA-OAEP-256', { kid: 'enc-rsa' }).publicKey)

  test('dpop_bound_access_tokens: false by default, true when asked, stored and shown', async () => {
    const { h, admin, register } = await setup()
    const plain = await register(WEB_APP)
    assert.equal(plain.body.dpop_bound_access_tokens, false)
    const bound = await register({ ...WEB_APP, dpop_bound_access_tokens: true })
    assert.equal(bound.status, 201, JSON.stringify(bound.body))
    assert.equal(bound.body.dpop_bound_access_tokens, true)
    const id = String(bound.body.client_id)
    assert.equal((await h.tessera.store.oauth.findClient(id))?.dpopBoundAccessTokens, true)
    const shown = await h.call('GET', `/admin/clients/${id}`, { token: admin })
    assert.equal(shown.body.dpop_bound_access_tokens, true)
    const notBoolean = await register({ ...WEB_APP, dpop_bound_access_tokens: 'yes' })
    assert.equal(notBoolean.status, 400)
    assert.deepEqual(issuePaths(notBoolean.body), ['/dpop_bound_access_tokens'])
  })

  test('encrypted ID tokens and userinfo: enc defaults to A128CBC-HS256, round trip through the store and the view', async () => {
    const { h, admin, register } = await setup()
    // Keys are bound to their alg: an ECDH-ES+A256KW key, not an ECDH-ES one.
    const ec = exportEncryptionJwk(generateEncryptionKeyPair('ECDH-ES+A256KW').publicKey)
    const rsa = rsaEnc()
    const created = await register({
      ...WEB_APP,
      jwks: { keys: [ec, rsa] },
      id_token_encrypted_response_alg: 'ECDH-ES+A256KW',
      userinfo_encrypted_response_alg: 'RSA-OAEP-256',
      userinfo_encrypted_response_enc: 'A256GCM',
    })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    assert.equal(created.body.id_token_encrypted_response_alg, 'ECDH-ES+A256KW')
    assert.equal(created.body.id_token_encrypted_response_enc, 'A128CBC-HS256')
    assert.equal(created.body.userinfo_encrypted_response_alg, 'RSA-OAEP-256')
    assert.equal(created.body.userinfo_encrypted_response_enc, 'A256GCM')
    assert.deepEqual(created.body.jwks, { keys: [ec, rsa] })
    const id = String(created.body.client_id)
    const stored = await h.tessera.store.oauth.findClient(id)
    assert.deepEqual(stored?.idTokenEncryption, { alg: 'ECDH-ES+A256KW', enc: 'A128CBC-HS256' })
    assert.deepEqual(stored?.userinfoEncryption, { alg: 'RSA-OAEP-256', enc: 'A256GCM' })
    const shown = await h.call('GET', `/admin/clients/${id}`, { token: admin })
    const {
      client_secret: _secret,
      client_secret_expires_at: _expires,
      ...registration
    } = created.body
    assert.deepEqual(shown.body, registration)
    const audit = await h.tessera.store.audit.listAudit({ limit: 10, event: 'client.registered' })
    assert.deepEqual(audit[0]?.details['idTokenEncryption'], stored?.idTokenEncryption)

    // Without encryption the members are absent, not null.
    const plain = await register(WEB_APP)
    assert.equal(plain.body.id_token_encrypted_response_alg, undefined)
    assert.equal(plain.body.userinfo_encrypted_response_enc, undefined)
    assert.equal(
      (await h.tessera.store.oauth.findClient(String(plain.body.client_id)))?.idTokenEncryption,
      null,
    )
  })

  test('one JWKS may hold private_key_jwt signing keys (use sig) and encryption keys (use enc)', async () => {
    const { h, register } = await setup()
    const sig = exportJwk(generateKeyPair('ES256', { kid: 'sig-1' }).publicKey)
    const enc = ecEnc()
    const created = await register({
      ...WEB_APP,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [sig, enc] },
      id_token_encrypted_response_alg: 'ECDH-ES',
      id_token_encrypted_response_enc: 'A256GCM',
    })
    assert.equal(created.status, 201, JSON.stringify(created.body))
    assert.deepEqual(created.body.jwks, { keys: [sig, enc] })
    const stored = await h.tessera.store.oauth.findClient(String(created.body.client_id))
    assert.deepEqual(stored?.idTokenEncryption, { alg: 'ECDH-ES', enc: 'A256GCM' })

    // A key without `use` serves whatever it fits: this EC key is for ECDH-ES.
    const { use: _use, alg: _alg, ...bare } = ecEnc()
    const unlabelled = await register({
      ...WEB_APP,
      token_endpoint_auth_method: 'none',
      jwks: { keys: [bare] },
      userinfo_encrypted_response_alg: 'ECDH-ES',
    })
    assert.equal(unlabelled.status, 201, JSON.stringify(unlabelled.body))
  })

  test('each rule of encryption and keys is validation_failed, naming the member', async () => {
    const { register } = await setup()
    const ec = ecEnc()
    const rsa = rsaEnc()
    const sig = exportJwk(generateKeyPair('ES256', { kid: 'sig-1' }).publicKey)
    const withKeys = { ...WEB_APP, jwks: { keys: [ec] } }
    const cases: [string, Record<string, unknown>, string[], RegExp?][] = [
      [
        'dir: no key is shared with a client',
        { ...withKeys, id_token_encrypted_response_alg: 'dir' },
        ['/id_token_encrypted_response_alg'],
        /shared/,
      ],
      [
        'A128KW: a shared secret too',
        { ...withKeys, id_token_encrypted_response_alg: 'A128KW' },
        ['/id_token_encrypted_response_alg'],
        /shared/,
      ],
      [
        'A256KW',
        { ...withKeys, userinfo_encrypted_response_alg: 'A256KW' },
        ['/userinfo_encrypted_response_alg'],
        /shared/,
      ],
      [
        'RSA1_5: padding oracles',
        { ...withKeys, id_token_encrypted_response_alg: 'RSA1_5' },
        ['/id_token_encrypted_response_alg'],
        /padding-oracle/,
      ],
      [
        'PBES2',
        { ...withKeys, id_token_encrypted_response_alg: 'PBES2-HS256+A128KW' },
        ['/id_token_encrypted_response_alg'],
        /PBES2 is refused/,
      ],
      [
        'an unknown alg',
        { ...withKeys, id_token_encrypted_response_alg: 'RSA-OAEP' },
        ['/id_token_encrypted_response_alg'],
        /RSA-OAEP-256/,
      ],
      [
        'an unknown enc',
        {
          ...withKeys,
          id_token_encrypted_response_alg: 'ECDH-ES',
          id_token_encrypted_response_enc: 'A192GCM',
        },
        ['/id_token_encrypted_response_enc'],
      ],
      [
        'enc without alg',
        { ...WEB_APP, id_token_encrypted_response_enc: 'A128GCM' },
        ['/id_token_encrypted_response_enc'],
        /needs id_token_encrypted_response_alg/,
      ],
      [
        'userinfo enc without alg',
        { ...WEB_APP, userinfo_encrypted_response_enc: 'A128GCM' },
        ['/userinfo_encrypted_response_enc'],
      ],
      [
        'an encryption alg without jwks',
        { ...WEB_APP, id_token_encrypted_response_alg: 'ECDH-ES' },
        ['/jwks'],
        /ECDH-ES/,
      ],
      [
        'no key for the alg (an EC key for RSA-OAEP-256)',
        { ...withKeys, id_token_encrypted_response_alg: 'RSA-OAEP-256' },
        ['/jwks/keys/0'],
      ],
      [
        'a key for one alg but none for the other',
        {
          ...withKeys,
          id_token_encrypted_response_alg: 'ECDH-ES',
          userinfo_encrypted_response_alg: 'RSA-OAEP-256',
        },
        ['/jwks'],
        /no public key to encrypt to with RSA-OAEP-256/,
      ],
      [
        'one key for each alg: accepted',
        {
          ...WEB_APP,
          jwks: { keys: [ec, rsa] },
          id_token_encrypted_response_alg: 'ECDH-ES',
          userinfo_encrypted_response_alg: 'RSA-OAEP-256',
        },
        [],
      ],
      [
        'only a signing key (use sig) for encryption',
        {
          ...WEB_APP,
          jwks: { keys: [sig] },
          id_token_encrypted_response_alg: 'ECDH-ES',
        },
        ['/jwks/keys/0'],
        /signing key/,
      ],
      [
        'an encryption key (use enc) for private_key_jwt alone',
        { ...WEB_APP, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [ec] } },
        ['/jwks/keys/0'],
        /encryption key/,
      ],
      [
        'private_key_jwt with encryption keys only',
        {
          ...WEB_APP,
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [ec] },
          id_token_encrypted_response_alg: 'ECDH-ES',
        },
        ['/jwks'],
        /signing key/,
      ],
      [
        'a private encryption key',
        {
          ...WEB_APP,
          jwks: {
            keys: [
              exportEncryptionJwk(generateEncryptionKeyPair('ECDH-ES').privateKey, {
                includePrivate: true,
              }),
            ],
          },
          id_token_encrypted_response_alg: 'ECDH-ES',
        },
        ['/jwks/keys/0'],
        /private key material/,
      ],
      [
        'a use other than sig or enc',
        {
          ...WEB_APP,
          jwks: { keys: [{ ...ec, use: 'wrap' }] },
          id_token_encrypted_response_alg: 'ECDH-ES',
        },
        ['/jwks/keys/0'],
      ],
      [
        'dpop_bound_access_tokens not a boolean',
        { ...WEB_APP, dpop_bound_access_tokens: 1 },
        ['/dpop_bound_access_tokens'],
      ],
    ]
    for (const [name, body, paths, message] of cases) {
      const response = await register(body)
      if (paths.length === 0) {
        assert.equal(response.status, 201, `${name}: ${JSON.stringify(response.body)}`)
        continue
      }
      assert.equal(response.status, 400, `${name}: ${JSON.stringify(response.body)}`)
      assert.equal(code(response.body), 'validation_failed', name)
      assert.deepEqual(
        issuePaths(response.body).toSorted(),
        paths,
        `${name}: ${JSON.stringify(response.body)}`,
      )
      if (message !== undefined) assert.match(JSON.stringify(response.body), message, name)
    }
  })
})

describe('client secrets and the registration view', () => {
  const record: OAuthClientRecord = {
    id: 'c1',
    name: 'App',
    secretHash: hashClientSecret('s3cret'),
    redirectUris: ['https://a.example/cb'],
    postLogoutRedirectUris: [],
    grantTypes: ['authorization_code'],
    tokenEndpointAuthMethod: 'client_secret_post',
    scopes: ['openid', 'email'],
    jwks: null,
    firstParty: false,
    accessTokenTtl: null,
    refreshTokenTtl: null,
    dpopBoundAccessTokens: false,
    idTokenEncryption: null,
    userinfoEncryption: null,
    createdAt: Date.parse('2026-06-01T12:00:00.999Z'),
  }

  test('the hash is SHA-256 base64url; a client without a secret matches none', () => {
    assert.equal(
      hashClientSecret('s3cret'),
      createHash('sha256').update('s3cret').digest('base64url'),
    )
    assert.ok(clientSecretMatches(record, 's3cret'))
    assert.ok(!clientSecretMatches(record, 's3cre'))
    assert.ok(
      !clientSecretMatches(record, hashClientSecret('s3cret')),
      'the hash is not the secret',
    )
    assert.ok(!clientSecretMatches({ secretHash: null }, ''))
  })

  test('the view: seconds, code response type, space-separated scope, jwks and lifetimes only when set', () => {
    assert.deepEqual(registrationView(record), {
      client_id: 'c1',
      client_name: 'App',
      client_id_issued_at: Date.parse('2026-06-01T12:00:00Z') / 1000,
      redirect_uris: ['https://a.example/cb'],
      post_logout_redirect_uris: [],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      scope: 'openid email',
      first_party: false,
      dpop_bound_access_tokens: false,
    })
    const keys = { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'abc' }] }
    const view = registrationView({
      ...record,
      jwks: JSON.stringify(keys),
      accessTokenTtl: 60,
      refreshTokenTtl: 3600,
    })
    assert.deepEqual(view.jwks, keys)
    assert.equal(view.access_token_lifetime, 60)
    assert.equal(view.refresh_token_lifetime, 3600)
    const encrypted = registrationView({
      ...record,
      dpopBoundAccessTokens: true,
      idTokenEncryption: { alg: 'ECDH-ES', enc: 'A256GCM' },
      userinfoEncryption: { alg: 'RSA-OAEP-256', enc: 'A128CBC-HS256' },
    })
    assert.equal(encrypted.dpop_bound_access_tokens, true)
    assert.equal(encrypted.id_token_encrypted_response_alg, 'ECDH-ES')
    assert.equal(encrypted.id_token_encrypted_response_enc, 'A256GCM')
    assert.equal(encrypted.userinfo_encrypted_response_alg, 'RSA-OAEP-256')
    assert.equal(encrypted.userinfo_encrypted_response_enc, 'A128CBC-HS256')
  })
})
