// Compile-time checks of the public types (`npx tsc -p tsconfig.json`): each
// `@ts-expect-error` line proves a wrong usage does not compile; the rest
// proves the right ones do, with the types users rely on. The checks sit in
// functions that never run; the one runtime test below checks that the
// subpath exports resolve through package.json.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as expressAuth from '@tessera/jwt/express'
import * as fastifyAuth from '@tessera/jwt/fastify'
import * as honoAuth from '@tessera/jwt/hono'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import {
  type AccessTokenClaims,
  createRevocationFeed,
  generateKeyPair,
  type RevocationFeed,
} from '../src/index.ts'

/** True when A and B are the same type (not merely assignable). */
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
/** Compiles only when `A` and `B` are the same type: `expectTypeOf<A>().toEqual<B>()` style. */
function expectEqual<A, B>(..._proof: Equal<A, B> extends true ? [] : [never]): void {}

type AuthInfo = expressAuth.AuthInfo

const issuer = 'https://auth.example.com'
const jwksUrl = 'https://auth.example.com/.well-known/jwks.json'
const { publicKey } = generateKeyPair('ES256')

export function optionTypes(): void {
  expressAuth.authenticate({ issuer, jwksUrl })
  expressAuth.authenticate({ issuer, keys: publicKey, audience: ['a', 'b'], typ: false })
  expressAuth.authenticate({
    issuer,
    jwksUrl,
    algorithms: ['ES256', 'EdDSA'],
    clockTolerance: '30s',
    cookie: 'access_token',
    revocations: { url: 'https://auth.example.com/auth/revocations', key: 'k', staleAfter: 30 },
    whenStale: 'refuse',
    cache: 500,
    maxAuthAge: '10m',
  })
  honoAuth.authenticate({ issuer, jwksUrl, maxAuthAge: 600 })
  // @ts-expect-error exactly one of jwksUrl and keys: neither
  expressAuth.authenticate({ issuer })
  // @ts-expect-error exactly one of jwksUrl and keys: both
  expressAuth.authenticate({ issuer, jwksUrl, keys: publicKey })
  // @ts-expect-error issuer is required
  expressAuth.authenticate({ jwksUrl })
  // @ts-expect-error a misspelt option does not compile (nor run)
  expressAuth.authenticate({ issuer, jwksUrl, revocation: { url: 'x' } })
  // @ts-expect-error whenStale is 'serve' or 'refuse'
  expressAuth.authenticate({ issuer, jwksUrl, whenStale: 'wait' })
  // @ts-expect-error typ is a string or false
  expressAuth.authenticate({ issuer, jwksUrl, typ: true })
  // @ts-expect-error no such algorithm
  expressAuth.authenticate({ issuer, jwksUrl, algorithms: ['none'] })
  // @ts-expect-error keys are Key or KeySet objects, not PEM text
  expressAuth.authenticate({ issuer, keys: '-----BEGIN PUBLIC KEY-----' })
  // @ts-expect-error roles are strings
  expressAuth.requireRoles('admin', 1)
  // @ts-expect-error roles are strings
  honoAuth.requireAllRoles(['admin', 'owner'])
  // @ts-expect-error scopes are strings
  fastifyAuth.requireScopes(['a'])
  // @ts-expect-error maxAuthAge is a Duration
  expressAuth.authenticate({ issuer, jwksUrl, maxAuthAge: true })
  // @ts-expect-error methods are strings, spread
  expressAuth.requireAuthMethods(['mfa'])
  // @ts-expect-error methods are strings
  honoAuth.requireAnyAuthMethod('hwk', 1)
  // @ts-expect-error requireRecentAuth takes one Duration
  fastifyAuth.requireRecentAuth()
  // @ts-expect-error requireRecentAuth takes one Duration, not options
  expressAuth.requireRecentAuth({ maxAge: 300 })
}

export function authInfoTypes(auth: AuthInfo): void {
  expectEqual<typeof auth.userId, string>()
  expectEqual<typeof auth.sessionId, string | undefined>()
  expectEqual<typeof auth.roles, readonly string[]>()
  expectEqual<typeof auth.scopes, readonly string[]>()
  expectEqual<typeof auth.claims, Readonly<AccessTokenClaims>>()
  expectEqual<typeof auth.claims.sid, string>()
  expectEqual<typeof auth.claims.amr, string[] | undefined>()
  expectEqual<typeof auth.claims.auth_time, number | undefined>()
  expectEqual<fastifyAuth.AuthInfo, AuthInfo>()
  expectEqual<honoAuth.AuthInfo, AuthInfo>()
  // @ts-expect-error AuthInfo is read-only
  auth.userId = 'someone else'
  // @ts-expect-error so are its roles
  auth.roles.push('admin')
  // @ts-expect-error and its claims
  auth.claims.sub = 'someone else'
}

export function expressTypes(): void {
  const app = express()
  const authenticate = expressAuth.authenticate({ issuer, jwksUrl })
  app.use(authenticate)
  app.get('/admin', expressAuth.requireRoles('admin'), expressAuth.requireScopes('a', 'b'))
  app.get('/owners', expressAuth.requireAllRoles('admin', 'owner'))
  app.post(
    '/payouts',
    expressAuth.requireAuthMethods('mfa'),
    expressAuth.requireAnyAuthMethod('hwk', 'swk'),
    expressAuth.requireRecentAuth('5m'),
    (req, res) => {
      res.json({ at: req.auth?.claims.auth_time })
    },
  )
  app.get('/users/:id', (req, res) => {
    expectEqual<typeof req.auth, AuthInfo | undefined>()
    expectEqual<typeof req.params.id, string>()
    res.json({ id: req.auth?.userId })
  })
  expectEqual<typeof authenticate.revocations, RevocationFeed | undefined>()
  expectEqual<ReturnType<typeof authenticate.close>, Promise<void>>()
}

export function fastifyTypes(): void {
  const app = Fastify()
  const authenticate = fastifyAuth.authenticate({ issuer, jwksUrl })
  app.addHook('onRequest', authenticate)
  app.addHook('preHandler', authenticate)
  app.get('/me', async (request) => {
    expectEqual<typeof request.auth, AuthInfo | undefined>()
    return { id: request.auth?.userId }
  })
  app.get<{ Params: { id: string } }>(
    '/users/:id',
    {
      onRequest: [
        authenticate,
        fastifyAuth.requireRoles('admin'),
        fastifyAuth.requireAllRoles('a', 'b'),
      ],
    },
    async (request) => request.params.id,
  )
  app.post(
    '/reports',
    { preHandler: fastifyAuth.requireScopes('reports:write') },
    async (request) => request.auth?.scopes,
  )
  app.put(
    '/password',
    {
      preHandler: [
        fastifyAuth.requireAuthMethods('mfa'),
        fastifyAuth.requireAnyAuthMethod('hwk', 'swk'),
        fastifyAuth.requireRecentAuth(300),
      ],
    },
    async (request) => request.auth?.claims.amr,
  )
  app.register(fastifyAuth.tesseraAuth, { issuer, keys: publicKey })
  // @ts-expect-error the plugin takes the same options, checked the same way
  app.register(fastifyAuth.tesseraAuth, { issuer })
}

export function honoTypes(): void {
  const app = new Hono<honoAuth.TesseraEnv>()
  app.use('/api/*', honoAuth.authenticate({ issuer, jwksUrl }))
  app.get('/api/owners', honoAuth.requireAllRoles('admin', 'owner'), (c) => c.text('ok'))
  app.put(
    '/api/password',
    honoAuth.requireAuthMethods('mfa'),
    honoAuth.requireAnyAuthMethod('hwk', 'swk'),
    honoAuth.requireRecentAuth('5m'),
    (c) => c.json({ amr: c.get('auth').claims.amr ?? [] }),
  )
  app.get('/api/me', honoAuth.requireRoles('member'), (c) => {
    const auth = c.get('auth')
    expectEqual<typeof auth, AuthInfo>()
    return c.json({ id: auth.userId })
  })
  app.get('/api/other', (c) => {
    // @ts-expect-error only the declared variables exist
    const user = c.get('user')
    return c.text(String(user))
  })

  // Without declaring the env up front, the middleware brings its variables along.
  const plain = new Hono()
  plain.get('/me', honoAuth.authenticate({ issuer, jwksUrl }), (c) => {
    const auth = c.get('auth')
    expectEqual<typeof auth, AuthInfo>()
    return c.text(auth.userId)
  })
}

export function feedTypes(): void {
  const feed = createRevocationFeed({
    url: 'https://auth.example.com/auth/revocations',
    token: async () => 'service-access-token',
    reconnect: { minDelay: '1s', maxDelay: 60 },
  })
  expectEqual<ReturnType<typeof feed.start>, Promise<void>>()
  expectEqual<typeof feed.stale, boolean>()
  expectEqual<typeof feed.cursor, number>()
  feed.isRevoked({ jti: 'j', sid: 's', sub: 'u', iat: 1 })
  expressAuth.authenticate({ issuer, jwksUrl, revocations: feed })
  // @ts-expect-error the url is required
  createRevocationFeed({ key: 'k' })
  // @ts-expect-error a token is a string or a function returning one
  createRevocationFeed({ url: 'https://a/b', token: 42 })
  // @ts-expect-error the cursor is read-only
  feed.cursor = 0
}

test('the subpath exports resolve and export the same names', () => {
  for (const adapter of [expressAuth, fastifyAuth, honoAuth]) {
    for (const name of [
      'authenticate',
      'requireRoles',
      'requireAllRoles',
      'requireScopes',
      'requireAuthMethods',
      'requireAnyAuthMethod',
      'requireRecentAuth',
    ] as const) {
      assert.equal(typeof adapter[name], 'function', name)
    }
  }
  assert.equal(typeof fastifyAuth.tesseraAuth, 'function')
})
