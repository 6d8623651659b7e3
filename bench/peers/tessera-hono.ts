// A resource server on Hono (@hono/node-server) protected by
// @tessera/jwt/hono, as in examples/hono-api, with a local key (the peers'
// key) instead of the server's JWKS. Checks signature, algorithm, typ
// at+jwt, exp, iss, aud and the RFC 9068 claims; the verified-token cache is
// on (its default). With PEER_REVOCATION_URL it follows tessera serve's
// revocation feed, as the example does (`revocations`, `whenStale:
// 'refuse'`): every token is then also checked against the mirrored list.
import { serve } from '@hono/node-server'
import { importPem, importSecret } from '@tessera/jwt'
import { authenticate, type TesseraEnv } from '@tessera/jwt/hono'
import { Hono } from 'hono'
import { announce, meBody, peerSettings } from './common.ts'
import { feedOptions, revocationFeed } from './feed.ts'

const settings = peerSettings()
// Connected and caught up before the peer listens (see common.ts).
const feed = await revocationFeed()
const keys =
  settings.alg === 'HS256'
    ? importSecret(settings.secret!, 'HS256', { kid: settings.kid })
    : importPem(settings.publicPem!, 'ES256', { kid: settings.kid })

const app = new Hono<TesseraEnv>()
app.get(
  '/auth/me',
  authenticate({
    issuer: settings.issuer,
    audience: settings.audience,
    keys,
    ...feedOptions(feed),
  }),
  (c) => c.json(meBody(settings.profile, c.get('auth').claims)),
)
serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => announce(info.port))
