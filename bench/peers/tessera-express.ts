// A resource server on Express 5 protected by @tessera/jwt/express, as in
// examples/express-api, with a local key (the peers' key) instead of the
// server's JWKS. Checks signature, algorithm, typ at+jwt, exp, iss, aud and
// the RFC 9068 claims; the verified-token cache is on (its default). DPoP-bound
// tokens are taken too (`dpop: 'allowed'`, the default), with their proofs'
// `htu` checked against PEER_PUBLIC_URL when the bench sets it (scenario 7).
// With PEER_REVOCATION_URL it follows tessera serve's revocation feed, as the
// example does (`revocations`, `whenStale: 'refuse'`): every token is then
// also checked against the mirrored revocation list.
import type { AddressInfo } from 'node:net'
import { importPem, importSecret } from '@tessera/jwt'
import { authenticate } from '@tessera/jwt/express'
import express from 'express'
import { announce, meBody, peerSettings } from './common.ts'
import { feedOptions, revocationFeed } from './feed.ts'

const settings = peerSettings()
// Connected and caught up before the peer listens (see common.ts).
const feed = await revocationFeed()
const keys =
  settings.alg === 'HS256'
    ? importSecret(settings.secret!, 'HS256', { kid: settings.kid })
    : importPem(settings.publicPem!, 'ES256', { kid: settings.kid })

const app = express()
const requireToken = authenticate({
  issuer: settings.issuer,
  audience: settings.audience,
  keys,
  ...(settings.publicUrl === undefined ? {} : { publicUrl: settings.publicUrl }),
  ...feedOptions(feed),
})
app.get('/auth/me', requireToken, (req, res) => {
  res.json(meBody(settings.profile, req.auth!.claims))
})
const server = app.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port))
