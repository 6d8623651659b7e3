// The tutorials' API on Hono, protected by a Tessera server: /welcome is
// public, /me needs a valid access token, /admin needs the role `admin`.

import {
  type AuthenticateOptions,
  authenticate,
  requireRoles,
  type TesseraEnv,
} from '@tessera/jwt/hono'
import { Hono } from 'hono'

/** The app, and `close()` for what `authenticate()` started (a feed given as options). */
export interface HonoExample {
  readonly app: Hono<TesseraEnv>
  close(): Promise<void>
}

/**
 * Builds the Hono app. `auth` is what `authenticate()` takes: the Tessera
 * server's issuer and JWKS, and its revocation feed.
 *
 * @example
 * const { app } = createApp({ issuer: 'http://localhost:3000', jwksUrl: 'http://127.0.0.1:3000/.well-known/jwks.json' })
 * serve({ fetch: app.fetch, port: 4002 })
 */
export function createApp(auth: AuthenticateOptions): HonoExample {
  const app = new Hono<TesseraEnv>()
  // Built once: one verifier, one JWKS cache, for every route that uses it.
  const requireToken = authenticate(auth)

  app.get('/welcome', (c) => c.json({ message: 'Welcome! This route needs no token.' }))

  app.get('/me', requireToken, (c) => {
    const { userId, roles, sessionId } = c.get('auth')
    return c.json({ sub: userId, roles, sid: sessionId })
  })

  // requireRoles lets through a token holding any one of the roles.
  app.get('/admin', requireToken, requireRoles('admin'), (c) =>
    c.json({ message: `Hello, admin ${c.get('auth').userId}` }),
  )

  return { app, close: () => requireToken.close() }
}
