import assert from 'node:assert/strict'
import { it } from 'node:test'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import {
  baseOptions,
  issue,
  middlewareSuite,
  toHeaders,
  toReply,
} from '../test/middleware-suite.ts'
import {
  authenticate,
  requireAllRoles,
  requireAnyAuthMethod,
  requireAuthMethods,
  requireRecentAuth,
  requireRoles,
  requireScopes,
  type TesseraEnv,
} from './hono.ts'
import { generateSecret, sign } from './index.ts'

function suiteApp(options: Parameters<typeof authenticate>[0]) {
  const app = new Hono<TesseraEnv>()
  const auth = authenticate(options)
  app.use('/api/*', auth)
  app.get('/api/me', (c) => {
    const { userId, sessionId, roles, scopes, claims, token } = c.get('auth')
    const jkt = c.get('auth').jkt ?? null
    return c.json({ userId, sessionId, roles, scopes, iss: claims.iss, token, jkt })
  })
  app.get('/api/admin', requireRoles('admin', 'owner'), (c) => c.json({ ok: true }))
  app.get('/api/owners', requireAllRoles('admin', 'owner'), (c) => c.json({ ok: true }))
  app.get('/api/reports', requireScopes('reports:read', 'reports:export'), (c) =>
    c.json({ ok: true }),
  )
  app.get('/api/mfa', requireAuthMethods('mfa'), (c) => c.json({ ok: true }))
  app.get('/api/otp-key', requireAuthMethods('otp', 'hwk'), (c) => c.json({ ok: true }))
  app.get('/api/passkey', requireAnyAuthMethod('hwk', 'swk'), (c) => c.json({ ok: true }))
  app.get('/api/recent', requireRecentAuth('5m'), (c) => c.json({ ok: true }))
  app.get('/bare/admin', requireRoles('admin'), (c) => c.json({ ok: true }))
  app.get('/bare/recent', requireRecentAuth(300), (c) => c.json({ ok: true }))
  // Quiet 500s (Hono's default handler logs the error).
  app.onError((_error, c) =>
    c.json({ error: { code: 'internal', message: 'internal error' } }, 500),
  )
  return { app, auth }
}

// Through app.request: the fetch Request's headers (every runtime but node's).
middlewareSuite('hono', async (options) => {
  const { app, auth } = suiteApp(options)
  return {
    request: async (path, headers) =>
      toReply(await app.request(path, { headers: toHeaders(headers) })),
    origin: 'http://localhost',
    close: () => auth.close(),
  }
})

// Through @hono/node-server: the headers node:http parsed (c.env.incoming).
middlewareSuite('hono on @hono/node-server', async (options) => {
  const { app, auth } = suiteApp(options)
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  return {
    request: async (path, headers) =>
      toReply(await fetch(base + path, { headers: toHeaders(headers) })),
    origin: base,
    close: async () => {
      ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await auth.close()
    },
  }
})

it('hono: headers set earlier by other middleware survive a refusal', async () => {
  const app = new Hono<TesseraEnv>()
  app.use('*', async (c, next) => {
    c.header('x-request-id', 'r-1')
    await next()
  })
  app.use('*', authenticate(baseOptions()))
  app.get('/', (c) => c.text(c.get('auth').userId))
  const refused = await app.request('/')
  assert.equal(refused.status, 401)
  assert.equal(refused.headers.get('x-request-id'), 'r-1')
  const ok = await app.request('/', { headers: { authorization: `Bearer ${issue()}` } })
  assert.equal(await ok.text(), 'user-1')
})

it('a refusal through @hono/node-server keeps its status (the headers object is copied, not frozen)', async () => {
  const key = generateSecret('HS256')
  const app = new Hono()
  app.get(
    '/admin',
    authenticate({ issuer: 'https://issuer.example', keys: key }),
    requireRoles('admin'),
    (c) => c.text('ok'),
  )
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  try {
    const { port } = server.address() as { port: number }
    const token = sign({ sub: 'u', jti: 'j', roles: ['user'] }, key, {
      expiresIn: 60,
      issuer: 'https://issuer.example',
      audience: 'https://issuer.example',
      typ: 'at+jwt',
    })
    const response = await fetch(`http://127.0.0.1:${port}/admin`, {
      headers: { authorization: `Bearer ${token}` },
    })
    assert.equal(response.status, 403)
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'forbidden')
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
})
