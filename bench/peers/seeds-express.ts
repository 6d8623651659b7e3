// The seeds' server: Express 5 + jsonwebtoken exactly as the tutorials write
// it (shared/seeds, "Create JWT Verification Middleware" and "Protect Routes
// and Read the Payload"): express.json() on every request, a requireAuth
// middleware that slices the Bearer token and calls jwt.verify with the key
// as a string (the secret from the environment, or the public key PEM read
// from a file), an algorithms allowlist, issuer and audience, puts the claims
// on req.user, and answers 401 JSON on failure; the route returns JSON built
// from req.user. The seeds' cookie-parser (for the refresh cookie) is left
// out: it is not installed here and does no work on this route.
import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import jwt, { type JwtPayload } from 'jsonwebtoken'
import { announce, meBody, peerSettings } from './common.ts'

const settings = peerSettings()
const ACCESS_TOKEN_KEY = settings.alg === 'HS256' ? settings.secret! : settings.publicPem!

type AuthedRequest = Request & { user?: JwtPayload }

function verifyAccessToken(token: string): JwtPayload {
  return jwt.verify(token, ACCESS_TOKEN_KEY, {
    algorithms: [settings.alg], // explicit allowlist, critical
    issuer: settings.issuer,
    audience: settings.audience,
  }) as JwtPayload
}

function requireAuth(req: AuthedRequest, res: Response, next: NextFunction): void {
  const header = req.headers.authorization || ''
  const token = header.startsWith('Bearer ') ? header.slice(7) : null
  if (!token) {
    res.status(401).json({ error: 'Missing token' })
    return
  }
  try {
    req.user = verifyAccessToken(token) // attaches decoded claims
    next()
  } catch (err) {
    res.status(401).json({ error: 'Invalid token', reason: (err as Error).name })
  }
}

const app = express()
app.use(express.json())
app.get('/auth/me', requireAuth, (req: AuthedRequest, res) => {
  res.json(meBody(settings.profile, req.user!))
})
const server = app.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port))
