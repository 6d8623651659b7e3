// A resource server on Fastify protected by @tessera/jwt/fastify (the
// tesseraAuth plugin, an onRequest hook), as in examples/fastify-api, with a
// local key (the peers' key) instead of the server's JWKS. Checks signature,
// algorithm, typ at+jwt, exp, iss, aud and the RFC 9068 claims; the
// verified-token cache is on (its default). DPoP-bound tokens are taken too
// (`dpop: 'allowed'`, the default), with their proofs' `htu` checked against
// PEER_PUBLIC_URL when the bench sets it (scenario 7).
import { importPem, importSecret } from '@tessera/jwt'
import { tesseraAuth } from '@tessera/jwt/fastify'
import Fastify from 'fastify'
import { announce, meBody, peerSettings } from './common.ts'

const settings = peerSettings()
const keys =
  settings.alg === 'HS256'
    ? importSecret(settings.secret!, 'HS256', { kid: settings.kid })
    : importPem(settings.publicPem!, 'ES256', { kid: settings.kid })

const app = Fastify({ logger: false })
await app.register(tesseraAuth, {
  issuer: settings.issuer,
  audience: settings.audience,
  keys,
  ...(settings.publicUrl === undefined ? {} : { publicUrl: settings.publicUrl }),
})
app.get('/auth/me', async (request) => meBody(settings.profile, request.auth!.claims))
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
announce(typeof address === 'object' && address !== null ? address.port : 0)
