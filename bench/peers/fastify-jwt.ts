// Fastify + @fastify/jwt as its README sets it up: the plugin with the key
// (the public key alone verifies; a secret for HS256) and the verify options,
// and an `authenticate` decorator calling request.jwtVerify() on the route's
// onRequest. It checks the signature, the algorithm, exp, iss and aud.
import fastifyJwt from '@fastify/jwt'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import { announce, meBody, peerSettings } from './common.ts'

const settings = peerSettings()
const app = Fastify({ logger: false })
await app.register(fastifyJwt, {
  secret: settings.alg === 'HS256' ? settings.secret! : { public: settings.publicPem! },
  verify: {
    algorithms: [settings.alg],
    allowedIss: settings.issuer,
    allowedAud: settings.audience,
  },
})

async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  try {
    await request.jwtVerify()
  } catch (error) {
    reply.send(error)
  }
}

app.get('/auth/me', { onRequest: authenticate }, async (request) =>
  meBody(settings.profile, request.user as { sub?: unknown; roles?: unknown }),
)
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
announce(typeof address === 'object' && address !== null ? address.port : 0)
