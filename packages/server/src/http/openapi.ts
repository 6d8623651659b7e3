// GET /openapi.json, generated on its first request rather than at start:
// @fastify/swagger and what it loads (a YAML library, a JSON Schema
// resolver: ~100 modules) stay out of the process until someone asks.
// The app records its routes as they are added (what the plugin's own
// onRoute hook would have kept); the first request replays them into a
// throwaway Fastify instance that has the plugin, with the same schemas and
// no handlers, and keeps the document it generates.

import type { SwaggerOptions } from '@fastify/swagger'
import type { FastifyInstance, RouteOptions } from 'fastify'
import Fastify from 'fastify'

export interface LazyOpenApi {
  /** The document, generated once (the first call imports @fastify/swagger). */
  document(): Promise<Record<string, unknown>>
}

/**
 * Records the routes of `app` from now on (call it before registering
 * them) and returns the generator of their document.
 *
 * @example
 * const openapi = recordOpenApi(app, { openapi: { openapi: '3.1.0', info } })
 * app.get('/openapi.json', async () => openapi.document())
 */
export function recordOpenApi(app: FastifyInstance, options: SwaggerOptions): LazyOpenApi {
  const routes: RouteOptions[] = []
  // As @fastify/swagger's own hook: the HEAD routes Fastify adds for each GET
  // are left out of the document.
  app.addHook('onRoute', (route) => {
    if (route.method !== 'HEAD') routes.push(route)
  })
  let made: Promise<Record<string, unknown>> | undefined
  return {
    document() {
      made ??= generate(routes, options).catch((error: unknown) => {
        made = undefined
        throw error
      })
      return made
    },
  }
}

async function generate(
  routes: readonly RouteOptions[],
  options: SwaggerOptions,
): Promise<Record<string, unknown>> {
  const { default: fastifySwagger } = await import('@fastify/swagger')
  const replay = Fastify({ logger: false, exposeHeadRoutes: false })
  // The schemas were compiled by the app already: nothing is compiled here.
  replay.setValidatorCompiler(() => () => true)
  replay.setSerializerCompiler(() => (data) => JSON.stringify(data))
  await replay.register(fastifySwagger, options)
  for (const route of routes) {
    replay.route({
      method: route.method,
      url: route.url,
      ...(route.schema === undefined ? {} : { schema: route.schema }),
      ...(route.config === undefined ? {} : { config: route.config }),
      handler: async () => undefined,
    })
  }
  try {
    await replay.ready()
    return replay.swagger() as unknown as Record<string, unknown>
  } finally {
    await replay.close()
  }
}
