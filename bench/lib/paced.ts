/**
 * Open-loop load at a fixed rate, for latency under someone else's load
 * (scenario 2: GET /auth/me while logins flood the hasher). Request `i` is
 * due at `start + i / rate`; its latency is counted from when it was due,
 * not from when it could be sent, so a stalled server shows up in the
 * percentiles instead of silently slowing the generator down (the
 * "coordinated omission" of closed-loop tools such as wrk).
 */

import { NoReply, type Reply, send, type Target } from './load-http.ts'
import { median } from './scenario.ts'

export interface PacedOptions {
  readonly target: Target
  readonly method: 'GET' | 'POST'
  readonly path: string
  readonly headers?: Record<string, string>
  /** Requests per second. */
  readonly rate: number
  readonly durationMs: number
  /** Requests in flight beyond this are not sent and counted as `skipped`. */
  readonly maxInFlight: number
  readonly signal?: AbortSignal
}

export interface PacedResult {
  /** Requests due in the window. */
  readonly due: number
  readonly ok: number
  /** Non-2xx answers and requests without an answer. */
  readonly failed: number
  /** Due but not sent: too many in flight already (the server had stalled). */
  readonly skipped: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  readonly seconds: number
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

/** Sends `rate` requests per second for `durationMs`, then waits for the last answers. */
export async function pacedLoad(options: PacedOptions): Promise<PacedResult> {
  const interval = 1000 / options.rate
  const latencies: number[] = []
  let ok = 0
  let failed = 0
  let skipped = 0
  let inFlight = 0
  let due = 0
  const pending = new Set<Promise<void>>()
  const start = performance.now()
  const end = start + options.durationMs
  const fire = (dueAt: number): void => {
    inFlight++
    const request: Promise<void> = send(options.target, options.method, options.path, {
      ...(options.headers === undefined ? {} : { headers: options.headers }),
      readBody: false,
    })
      .then(
        (reply: Reply) => {
          if (reply.status >= 200 && reply.status < 300) {
            ok++
            latencies.push(performance.now() - dueAt)
          } else failed++
        },
        (error: unknown) => {
          if (error instanceof NoReply) failed++
          else throw error
        },
      )
      .finally(() => {
        inFlight--
        pending.delete(request)
      })
    pending.add(request)
  }
  for (;;) {
    const now = performance.now()
    if (now >= end || options.signal?.aborted === true) break
    const target = Math.floor((now - start) / interval) + 1
    while (due < target) {
      const dueAt = start + due * interval
      due++
      if (inFlight >= options.maxInFlight) skipped++
      else fire(dueAt)
    }
    // Timers fire about every millisecond: a burst of rate/1000 requests each time.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(interval, 1))))
  }
  await Promise.all(pending)
  // Open loop: a request that failed or was never sent (the server had
  // stalled) counts as infinitely late, so a stall shows in the percentiles
  // instead of leaving them only the requests that went well.
  for (let i = 0; i < failed + skipped; i++) latencies.push(Number.POSITIVE_INFINITY)
  const sorted = Float64Array.from(latencies).sort()
  return {
    due,
    ok,
    failed,
    skipped,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
    seconds: options.durationMs / 1000,
  }
}

/** Medians of several paced windows. */
export function medianPaced(results: readonly PacedResult[]): {
  p50Ms: number
  p99Ms: number
  maxMs: number
  ok: number
  failed: number
  skipped: number
} {
  return {
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    maxMs: Math.max(...results.map((r) => r.maxMs)),
    ok: results.reduce((sum, r) => sum + r.ok, 0),
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    skipped: results.reduce((sum, r) => sum + r.skipped, 0),
  }
}
