import assert from 'node:assert/strict'
import { it } from 'node:test'
import Fastify, { type FastifyRequest } from 'fastify'
import {
  baseOptions,
  issue,
  middlewareSuite,
  type Reply,
  type RequestHeaders,
} from '../test/middleware-suite.ts'
import {
  authenticate,
  requireAllRoles,
  requireAnyAuthMethod,
  requireAuthMethods,
  requireRecentAuth,
  requireRoles,
  requireScopes,
  tesseraAuth,
} from './fastify.ts'

function me(request: FastifyRequest) {
  const auth = request.auth!
  return {
    userId: auth.userId,
    sessionId: auth.sessionId,
    roles: auth.roles,
    scopes: auth.scopes,
    iss: auth.claims.iss,
    token: auth.token,
    jkt: auth.jkt ?? null,
  }
}

async function inject(
  app: ReturnType<typeof Fastify>,
  path: string,
  headers: RequestHeaders = {},
): Promise<Reply> {
  const response = await app.inject({ method: 'GET', url: path, headers })
  const responseHeaders = new Headers()
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) responseHeaders.set(name, String(value))
  }
  let body: unknown = response.body
  try {
    body = JSON.parse(response.body)
  } catch {}
  return { status: response.statusCode, headers: responseHeaders, body }
}

middlewareSuite('fastify', async (options) => {
  const app = Fastify()
  const auth = authenticate(options)
  await app.register(
    async (api) => {
      api.addHook('onRequest', auth)
      api.get('/me', async (request) => me(request))
      api.get('/admin', { preHandler: requireRoles('admin', 'owner') }, async () => ({ ok: true }))
      api.get('/owners', { preHandler: requireAllRoles('admin', 'owner') }, async () => ({
        ok: true,
      }))
      api.get(
        '/reports',
        { preHandler: requireScopes('reports:read', 'reports:export') },
        async () => ({ ok: true }),
      )
      api.get('/mfa', { preHandler: requireAuthMethods('mfa') }, async () => ({ ok: true }))
      api.get('/otp-key', { preHandler: requireAuthMethods('otp', 'hwk') }, async () => ({
        ok: true,
      }))
      api.get('/passkey', { preHandler: requireAnyAuthMethod('hwk', 'swk') }, async () => ({
        ok: true,
      }))
      api.get('/recent', { preHandler: requireRecentAuth('5m') }, async () => ({ ok: true }))
    },
    { prefix: '/api' },
  )
  app.get('/bare/admin', { preHandler: requireRoles('admin') }, async () => ({ ok: true }))
  app.get('/bare/recent', { preHandler: requireRecentAuth(300) }, async () => ({ ok: true }))
  await app.ready()
  return {
    request: (path, headers) => inject(app, path, headers),
    // light-my-request's default Host.
    origin: 'http://localhost:80',
    close: async () => {
      await app.close()
      await auth.close()
    },
  }
})

it('fastify: the tesseraAuth plugin protects the scope that registers it, and only that', async (t) => {
  const app = Fastify()
  t.after(() => app.close())
  app.get('/public', async () => ({ open: true }))
  await app.register(
    async (api) => {
      await api.register(tesseraAuth, baseOptions())
      api.get('/me', async (request) => me(request))
      api.get('/admin', { preHandler: requireRoles('admin') }, async () => ({ ok: true }))
    },
    { prefix: '/api' },
  )
  assert.equal((await inject(app, '/public')).status, 200)
  const token = issue()
  const ok = await inject(app, '/api/me', { authorization: `Bearer ${token}` })
  assert.equal(ok.status, 200)
  assert.equal((ok.body as { userId: string }).userId, 'user-1')
  assert.equal((await inject(app, '/api/me')).status, 401)
  assert.equal((await inject(app, '/api/admin', { authorization: `Bearer ${token}` })).status, 403)
})

it('fastify: the plugin reports bad options when the app loads, and runs as a preHandler too', async (t) => {
  const broken = Fastify()
  t.after(() => broken.close())
  // @ts-expect-error no keys, no jwksUrl: refused by the types and when the app loads
  broken.register(tesseraAuth, { issuer: 'https://auth.example.test' })
  await assert.rejects(async () => {
    await broken.ready()
  }, TypeError)

  const app = Fastify()
  t.after(() => app.close())
  app.addHook('preHandler', authenticate(baseOptions()))
  app.post('/echo', async (request) => ({ user: request.auth?.userId, body: request.body }))
  const response = await app.inject({
    method: 'POST',
    url: '/echo',
    headers: { authorization: `Bearer ${issue()}` },
    payload: { a: 1 },
  })
  assert.deepEqual(response.json(), { user: 'user-1', body: { a: 1 } })
})
