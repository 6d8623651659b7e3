// The tutorials' Express API, protected by a Tessera server: /welcome is
// public, /me needs a valid access token, /admin needs the role `admin`.

import { type AuthenticateOptions, authenticate, requireRoles } from '@tessera/jwt/express'
import express, { type Express } from 'express'

/** The app, and `close()` for what `authenticate()` started (a feed given as options). */
export interface ExpressExample {
  readonly app: Express
  close(): Promise<void>
}

/**
 * Builds the Express app. `auth` is what `authenticate()` takes: the Tessera
 * server's issuer and JWKS, and its revocation feed.
 *
 * @example
 * const { app } = createApp({ issuer: 'http://localhost:3000', jwksUrl: 'http://127.0.0.1:3000/.well-known/jwks.json' })
 * app.listen(4000)
 */
export function createApp(auth: AuthenticateOptions): ExpressExample {
  const app = express()
  app.disable('x-powered-by')
  // Built once: one verifier, one JWKS cache, for every route that uses it.
  const requireToken = authenticate(auth)

  app.get('/welcome', (_req, res) => {
    res.json({ message: 'Welcome! This route needs no token.' })
  })

  app.get('/me', requireToken, (req, res) => {
    const { userId, roles, sessionId } = req.auth!
    res.json({ sub: userId, roles, sid: sessionId })
  })

  // requireRoles lets through a token holding any one of the roles.
  app.get('/admin', requireToken, requireRoles('admin'), (req, res) => {
    res.json({ message: `Hello, admin ${req.auth!.userId}` })
  })

  return { app, close: () => requireToken.close() }
}
