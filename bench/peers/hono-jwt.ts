// Hono + hono/jwt on @hono/node-server. The key is a CryptoKey imported once
// (one of the key forms its docs list, and its fast path: a PEM or a string
// is imported again through WebCrypto on every request). `verification`
// checks iss and aud, and typ at+jwt (hono otherwise accepts only "JWT" or
// none); exp is checked by default.
import { webcrypto } from 'node:crypto'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { jwt } from 'hono/jwt'
import { announce, meBody, peerSettings } from './common.ts'

const settings = peerSettings()
const secret =
  settings.alg === 'HS256'
    ? await webcrypto.subtle.importKey(
        'raw',
        Buffer.from(settings.secret!, 'utf8'),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['verify'],
      )
    : await webcrypto.subtle.importKey(
        'jwk',
        settings.publicJwk! as webcrypto.JsonWebKey,
        { name: 'ECDSA', namedCurve: 'P-256' },
        false,
        ['verify'],
      )

const app = new Hono()
app.get(
  '/auth/me',
  jwt({
    secret,
    alg: settings.alg,
    verification: { iss: settings.issuer, aud: settings.audience, typ: 'at+jwt' },
  }),
  (c) =>
    c.json(meBody(settings.profile, c.get('jwtPayload') as { sub?: unknown; roles?: unknown })),
)
serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => announce(info.port))
