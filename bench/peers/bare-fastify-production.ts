// A reference, not a peer: the bare Fastify route (same JSON, no
// authentication) with what a production API answer carries anyway and
// tessera serve sends on every answer: a request id (a UUID), the security
// headers of packages/server/src/http/plugins/security-headers.ts and a
// pino logger at info (one line per failure, none per success). The gap
// between this and bare Fastify is the cost of those, not of authentication.
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'

const body = JSON.parse(process.env.ME_BODY ?? '{}') as Record<string, unknown>
const HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cache-control': 'no-store',
}
const app = Fastify({
  logger: { level: 'info' },
  disableRequestLogging: true,
  genReqId: () => randomUUID(),
})
app.addHook('onRequest', (request, reply, done) => {
  reply.header('x-request-id', request.id)
  reply.headers(HEADERS)
  done()
})
app.get('/auth/me', async () => body)
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
process.stdout.write(
  `listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`,
)
process.on('SIGTERM', () => void app.close())
