// Express 5 + express-jwt (which verifies with jsonwebtoken) as its README
// sets it up, with an error handler for its UnauthorizedError. The key is a
// KeyObject made once, jsonwebtoken's fast path (a string would be parsed
// again on every request). It checks the signature, the algorithm, exp, iss
// and aud.
import { createPublicKey, createSecretKey } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import express, { type NextFunction, type Request, type Response } from 'express'
import { expressjwt, type Request as JwtRequest } from 'express-jwt'
import { announce, meBody, peerSettings } from './common.ts'

const settings = peerSettings()
const key =
  settings.alg === 'HS256'
    ? createSecretKey(Buffer.from(settings.secret!, 'utf8'))
    : createPublicKey(settings.publicPem!)

const app = express()
app.get(
  '/auth/me',
  expressjwt({
    secret: key,
    algorithms: [settings.alg],
    issuer: settings.issuer,
    audience: settings.audience,
  }),
  (req: JwtRequest, res: Response) => {
    res.json(meBody(settings.profile, req.auth!))
  },
)
app.use((err: Error, _req: Request, res: Response, next: NextFunction) => {
  if (err.name === 'UnauthorizedError') res.status(401).json({ error: 'invalid token' })
  else next(err)
})
const server = app.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port))
