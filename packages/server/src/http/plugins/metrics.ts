// Prometheus metrics on a registry of their own (never prom-client's global
// one, so two apps in one process do not collide): request durations, and
// counters of auth outcomes that the service increments (see docs/http-api.md
// "Metrics").

import type { FastifyInstance } from 'fastify'
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'

/** The auth counters; each is exported as `tessera_<name>_total`. */
export type CounterName =
  | 'signups'
  | 'logins'
  | 'logins_failed'
  | 'refreshes'
  | 'refresh_reuse_detected'
  | 'rate_limited'

const COUNTERS: Readonly<Record<CounterName, string>> = {
  signups: 'Accounts created through POST /auth/signup.',
  logins: 'Successful logins.',
  logins_failed: 'Logins refused with invalid_credentials (unknown email or wrong password).',
  refreshes: 'Successful refresh-token rotations (grace-window replays included).',
  refresh_reuse_detected:
    'Refresh tokens presented again after the grace window (session revoked).',
  rate_limited: 'Requests answered 429 rate_limited.',
}

/**
 * The metrics of one app (`app.tesseraMetrics`). The service increments
 * the auth counters through `inc` (it matches auth/service.ts AuthMetrics);
 * the HTTP layer observes request durations and counts `rate_limited`.
 */
export interface TesseraMetrics {
  readonly registry: Registry
  inc(name: CounterName): void
  /** Records one answered request (the HTTP layer calls it). */
  observeRequest(method: string, route: string, status: number, seconds: number): void
}

/**
 * Creates the registry and its metrics, plus Node's default process metrics
 * (prefixed `tessera_`) unless `defaultMetrics` is false.
 *
 * @example
 * const metrics = createMetrics()
 * metrics.inc('logins')
 */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): TesseraMetrics {
  const registry = new Registry()
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: 'tessera_' })
  }
  const counters = new Map<CounterName, Counter>()
  for (const [name, help] of Object.entries(COUNTERS) as [CounterName, string][]) {
    counters.set(name, new Counter({ name: `tessera_${name}_total`, help, registers: [registry] }))
  }
  const duration = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  })
  return {
    registry,
    inc(name) {
      counters.get(name)?.inc()
    },
    observeRequest(method, route, status, seconds) {
      duration.observe({ method, route, status_code: String(status) }, seconds)
    },
  }
}

/**
 * Observes every response: its duration by route pattern (never the raw
 * URL: unbounded label values would grow without limit), and 429s.
 */
export function installMetrics(app: FastifyInstance, metrics: TesseraMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000)
    if (request.errorCode === 'rate_limited') metrics.inc('rate_limited')
  })
}
