// Operational routes: liveness, readiness, Prometheus metrics, OpenAPI.

import type { Static } from '@sinclair/typebox'
import { AuthError } from '../../auth/errors.ts'
import type { TesseraMetrics } from '../plugins/metrics.ts'
import { NoQuery, withErrors } from '../schemas/common.ts'
import { MetricsText, OpenApiDocument, Status } from '../schemas/discovery.ts'
import type { TypedApp } from './deps.ts'

const TAGS = ['operations']
/** A readiness probe that hangs is a failed one. */
const READINESS_TIMEOUT_MS = 5_000

export interface OpsDeps {
  readonly readiness: () => Promise<void>
  /** True once the server has begun shutting down. */
  readonly closing: () => boolean
  readonly metrics: TesseraMetrics | undefined
  /** This API's OpenAPI document (generated from the route schemas on the first call). */
  readonly openapi: () => Promise<Record<string, unknown>>
}

async function withTimeout(check: () => Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`readiness check timed out after ${ms} ms`)), ms)
  })
  try {
    await Promise.race([check(), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Registers /health, /ready, /metrics (when metrics are on) and /openapi.json.
 *
 * @example
 * registerOpsRoutes(app, { readiness: () => store.ping(), closing: () => false, metrics, openapi })
 */
export function registerOpsRoutes(app: TypedApp, deps: OpsDeps): void {
  app.get(
    '/health',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Liveness: the process answers',
        response: withErrors({ 200: Status }),
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/ready',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Readiness: the store is reachable and the server is not shutting down',
        response: withErrors({ 200: Status }),
      },
    },
    async () => {
      if (deps.closing()) throw new AuthError('unavailable', 'the server is shutting down')
      try {
        await withTimeout(deps.readiness, READINESS_TIMEOUT_MS)
      } catch (cause) {
        throw new AuthError('unavailable', 'the server is not ready', { cause })
      }
      return { status: 'ok' as const }
    },
  )

  const { metrics } = deps
  if (metrics !== undefined) {
    app.get(
      '/metrics',
      {
        schema: {
          tags: TAGS,
          querystring: NoQuery,
          summary: 'Prometheus metrics',
          response: withErrors({ 200: MetricsText }),
        },
      },
      async (_request, reply) => {
        reply.type(metrics.registry.contentType)
        return metrics.registry.metrics()
      },
    )
  }

  app.get(
    '/openapi.json',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'This API as OpenAPI 3.1, generated from the route schemas',
        response: withErrors({ 200: OpenApiDocument }),
      },
    },
    // The generated document is typed by @fastify/swagger, not by our schema.
    async () => (await deps.openapi()) as unknown as Static<typeof OpenApiDocument>,
  )
}
