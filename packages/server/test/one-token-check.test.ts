// One token check: the server checks its own access tokens with
// @tessera/jwt's authenticator core, so a request gets the same status and
// wire code from the server (GET /auth/me) as from a resource server using
// the middleware over the server's JWKS: the same header parsing (another
// scheme is `missing_token`, RFC 6750 §3.1) and the same JwtError mapping.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { importJwk, type Jwk, KeySet, type RevocationFeed } from '@tessera/jwt'
import { authenticate } from '@tessera/jwt/fastify'
import Fastify from 'fastify'
import { code, harness } from './support/harness.ts'

interface Answer {
  status: number
  code: unknown
  challenge: unknown
}

describe('the server and the middleware answer every token alike', () => {
  test('headers, tampered, expired and revoked tokens: same status, same code', async (t) => {
    const h = await harness()
    const { config } = h.tessera
    const keys = new KeySet(
      (h.tessera.keyRing.jwks() as unknown as { keys: Jwk[] }).keys.map((jwk) => importJwk(jwk)),
    )
    // The server's own revocation list, as a resource server's feed would mirror it.
    const revocations: RevocationFeed = {
      start: async () => {},
      ready: true,
      stale: false,
      unauthorized: false,
      cursor: 0,
      size: 0,
      isRevoked: (claims) => h.tessera.revocations.isRevoked(claims),
      close: async () => {},
    }
    const api = Fastify()
    t.after(() => api.close())
    api.addHook(
      'onRequest',
      authenticate({
        issuer: config.issuer,
        audience: config.audience,
        keys,
        revocations,
        now: () => h.clock.now,
      }),
    )
    api.get('/auth/me', async () => ({ ok: true }))

    async function both(authorization: string | undefined): Promise<[Answer, Answer]> {
      const headers: Record<string, string> = authorization === undefined ? {} : { authorization }
      const server = await h.call('GET', '/auth/me', { headers })
      const middleware = await api.inject({ url: '/auth/me', headers })
      return [
        {
          status: server.status,
          code: code(server.body),
          challenge: /error="([a-z_]+)"/.exec(String(server.headers['www-authenticate']))?.[1],
        },
        {
          status: middleware.statusCode,
          code: code(middleware.json()),
          challenge: /error="([a-z_]+)"/.exec(String(middleware.headers['www-authenticate']))?.[1],
        },
      ]
    }

    const { accessToken } = (await h.signup('same@example.com')) as { accessToken: string }
    const [head, payload, signature] = accessToken.split('.') as [string, string, string]
    const tampered = `${head}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`
    const cases: [string | undefined, number, string | undefined][] = [
      [undefined, 401, 'missing_token'],
      ['', 401, 'missing_token'],
      ['Basic dXNlcjpwYXNz', 401, 'missing_token'],
      [`Token ${accessToken}`, 401, 'missing_token'],
      ['Bearer', 401, 'invalid_token'],
      ['Bearer ', 401, 'invalid_token'],
      [`Bearer ${accessToken} ${accessToken}`, 401, 'invalid_token'],
      [`Bearer ${tampered}`, 401, 'invalid_token'],
      ['Bearer not.a.jwt', 401, 'invalid_token'],
      [`bearer  ${accessToken}`, 200, undefined],
    ]
    for (const [authorization, status, wire] of cases) {
      const [server, middleware] = await both(authorization)
      assert.deepEqual(server, middleware, String(authorization))
      assert.equal(server.status, status, String(authorization))
      assert.equal(server.code, wire, String(authorization))
      // RFC 6750 §3.1: no error attribute when no Bearer credentials were presented.
      assert.equal(server.challenge, wire === 'missing_token' ? undefined : wire && 'invalid_token')
    }

    h.clock.advance(config.accessTokenTtl + 1)
    const expired = await both(`Bearer ${accessToken}`)
    assert.deepEqual(expired[0], expired[1])
    assert.equal(expired[0].code, 'token_expired')
    h.clock.advance(-(config.accessTokenTtl + 1))

    const fresh = (await h.signup('revoked@example.com')) as { accessToken: string }
    assert.equal(
      (await h.call('POST', '/auth/logout-all', { token: fresh.accessToken })).status,
      204,
    )
    const revoked = await both(`Bearer ${fresh.accessToken}`)
    assert.deepEqual(revoked[0], revoked[1])
    assert.equal(revoked[0].code, 'token_revoked')
  })
})
