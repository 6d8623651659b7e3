// Prometheus metrics on a registry of their own (never prom-client's global
// one, so two apps in one process do not collide): request durations, and
// counters of auth outcomes that the service increments (see docs/http-api.md
// "Metrics").

import { Counter, collectDefaultMetrics, Registry } from 'prom-client'

/** The auth counters; each is exported as `tessera_<name>_total`. */
export type CounterName =
  | 'signups'
  | 'logins'
  | 'logins_failed'
  | 'refreshes'
  | 'refresh_reuse_detected'
  | 'rate_limited'
  | 'mail_sent'
  | 'mail_failed'
  | 'mail_dead'

const COUNTERS: Readonly<Record<CounterName, string>> = {
  signups: 'Accounts created through POST /auth/signup.',
  logins: 'Successful logins.',
  logins_failed: 'Logins refused with invalid_credentials (unknown email or wrong password).',
  refreshes: 'Successful refresh-token rotations (grace-window replays included).',
  refresh_reuse_detected:
    'Refresh tokens presented again after the grace window (session revoked).',
  rate_limited: 'Requests answered 429 rate_limited.',
  mail_sent: 'Mail handed to the SMTP server (or written as a development .eml file).',
  mail_failed: 'Failed mail delivery attempts (the last attempt of a dead mail included).',
  mail_dead:
    'Mail given up after TESSERA_EMAIL_MAX_ATTEMPTS attempts, or refused for good by the SMTP server.',
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
  const duration = new DurationHistogram()
  registry.registerMetric(duration as never)
  return {
    registry,
    inc(name) {
      counters.get(name)?.inc()
    },
    observeRequest(method, route, status, seconds) {
      duration.observe(method, route, status, seconds)
    },
  }
}

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** One line of the exposition, as prom-client's registry formats it. */
interface ExportedValue {
  metricName: string
  labels: Record<string, string | number>
  value: number
}

interface DurationSeries {
  readonly labels: { method: string; route: string; status_code: string }
  /** Per bucket (the last is +Inf), not cumulative: summed at export. */
  readonly counts: Float64Array
  sum: number
}

/**
 * `tessera_http_request_duration_seconds`, observed on every answer. A
 * prom-client Histogram builds and hashes a label object and converts the
 * bucket bound to a property name on each observe, about a microsecond,
 * which GET /auth/me felt (bench/README.md). This one finds its series by
 * route, method and status in nested maps (the route and method strings are
 * the same objects on every request, so their hashes are already known; a
 * key string built per request had to be hashed anew) and bumps a
 * typed-array slot; prom-client's registry still does the exposition format
 * (it asks `get()` at scrape time).
 */
class DurationHistogram {
  readonly name = 'tessera_http_request_duration_seconds'
  readonly help = 'HTTP request duration by method, route pattern and status code.'
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  // Bounded: routes are patterns, methods and status codes few.
  readonly #byRoute = new Map<string, Map<string, Map<number, DurationSeries>>>()
  /** Every series, in the order they first appeared (the exposition's order). */
  readonly #series: DurationSeries[] = []

  observe(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.#byRoute.get(route)
    if (byMethod === undefined) {
      byMethod = new Map()
      this.#byRoute.set(route, byMethod)
    }
    let byStatus = byMethod.get(method)
    if (byStatus === undefined) {
      byStatus = new Map()
      byMethod.set(method, byStatus)
    }
    let series = byStatus.get(status)
    if (series === undefined) {
      series = {
        labels: { method, route, status_code: String(status) },
        counts: new Float64Array(DURATION_BUCKETS.length + 1),
        sum: 0,
      }
      byStatus.set(status, series)
      this.#series.push(series)
    }
    let bucket = 0
    while (bucket < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[bucket]!) bucket++
    series.counts[bucket]!++
    series.sum += seconds
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: ExportedValue[] } {
    const values: ExportedValue[] = []
    for (const { labels, counts, sum } of this.#series) {
      let cumulative = 0
      for (let i = 0; i <= DURATION_BUCKETS.length; i++) {
        cumulative += counts[i]!
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...labels, le: DURATION_BUCKETS[i] ?? '+Inf' },
          value: cumulative,
        })
      }
      values.push({ metricName: `${this.name}_sum`, labels, value: sum })
      values.push({ metricName: `${this.name}_count`, labels, value: cumulative })
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: 'sum',
      values,
    }
  }
}
