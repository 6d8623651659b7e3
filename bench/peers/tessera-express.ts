// A resource server on Express 5 protected by @tessera/jwt/express, as in
// examples/express-api, with a local key (the peers' key) instead of the
// server's JWKS. Checks signature, algorithm, typ at+jwt, exp, iss, aud and
// the RFC 9068 claims; the verified-token cache is on (its default). DPoP-bound
// tokens are taken too (`dpop: 'allowed'`, the default), with their proofs'
// `htu` checked against PEER_PUBLIC_URL when the bench sets it (scenario 7).
import type { AddressInfo } from 'node:net'
import { importPem, importSecret } from '@tessera/jwt'
import { authenticate } from '@tessera/jwt/express'
import express from 'express'
import { announce, meBody, peerSettings } from './common.ts'

const settings = peerSettings()
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
})
app.get('/auth/me', requireToken, (req, res) => {
  res.json(meBody(settings.profile, req.auth!.claims))
})
const server = app.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port))
