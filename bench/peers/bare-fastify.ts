// The floor for GET /auth/me: a bare Fastify route returning the same JSON,
// with no authentication at all. Prints its URL on stdout once listening.
import Fastify from 'fastify'

const body = JSON.parse(process.env.ME_BODY ?? '{}') as Record<string, unknown>
const app = Fastify({ logger: false })
app.get('/auth/me', async () => body)
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
process.stdout.write(
  `listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`,
)
process.on('SIGTERM', () => void app.close())
