// The tutorials' API on Fastify, protected by a Tessera server: /welcome is
// public, /me needs a valid access token, /admin needs the role `admin`.

import { type AuthenticateOptions, requireRoles, tesseraAuth } from '@tessera/jwt/fastify'
import Fastify, { type FastifyInstance } from 'fastify'

/**
 * Builds the Fastify app (not listening). `auth` is what `authenticate()`
 * takes: the Tessera server's issuer and JWKS, and its revocation feed. A feed
 * given as options is closed by `app.close()`.
 *
 * @example
 * const app = createApp({ issuer: 'http://localhost:3000', jwksUrl: 'http://127.0.0.1:3000/.well-known/jwks.json' })
 * await app.listen({ port: 4001 })
 */
export function createApp(auth: AuthenticateOptions): FastifyInstance {
  const app = Fastify()

  app.get('/welcome', async () => ({ message: 'Welcome! This route needs no token.' }))

  // Every route of this child scope needs a token; /welcome above does not.
  // tesseraAuth adds an onRequest hook, so a refused request is never parsed.
  app.register(async (api) => {
    await api.register(tesseraAuth, auth)

    api.get('/me', async (request) => {
      const { userId, roles, sessionId } = request.auth!
      return { sub: userId, roles, sid: sessionId }
    })

    // requireRoles lets through a token holding any one of the roles.
    api.get('/admin', { preHandler: requireRoles('admin') }, async (request) => ({
      message: `Hello, admin ${request.auth!.userId}`,
    }))
  })

  return app
}
