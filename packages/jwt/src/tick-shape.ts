// A workaround for a V8 slow path that node:http hits on every answer.
//
// `process.nextTick` builds its queue entry with an object literal whose first
// keys are computed (`{ [async_id_symbol]: id, ... }`, node's
// lib/internal/process/task_queues.js). V8 records one object shape (map) per
// computed key of such a literal and, on seeing a second one, gives up for
// good: from then on every call defines those keys through the runtime
// (Runtime_DefineKeyedOwnPropertyInLiteral), about 5,000 instructions per
// call. The shapes of the entries are held only weakly, so when no entry is
// alive (an idle server) a full garbage collection can free them; the next
// entries get new shapes, and the literal is slow for the rest of the
// process's life. node:http and its streams queue three or four ticks per
// request: GET /auth/me on tessera serve then executed about 20% more
// instructions (measured with callgrind: ~110k instead of ~89k per request),
// and a Fastify route behind authenticate() spent ~4 µs more CPU per request
// (perf: Runtime_DefineKeyedOwnPropertyInLiteral under Reply.send), in some
// processes and not others, depending on when a collection ran.
//
// Keeping one entry alive keeps its shapes alive, so every later entry gets
// the same ones and the literal stays on V8's fast path. authenticate() of
// each framework calls it when it is created; tessera serve first thing.

import { executionAsyncResource } from 'node:async_hooks'

let kept: object | undefined

/**
 * Keeps one `process.nextTick` queue entry reachable for the life of the
 * process, so that V8 keeps node's tick queue on its fast path (a slow path
 * there can cost an HTTP server several µs per request, at random per
 * process). Idempotent; the entry is taken on the next tick. The
 * middlewares' `authenticate()` calls it; call it yourself first thing in
 * your entry module to cover what runs before.
 *
 * @example
 * import { keepTickEntryShape } from '@tessera/jwt'
 * keepTickEntryShape() // once, at start
 */
export function keepTickEntryShape(): void {
  if (kept !== undefined) return
  process.nextTick(() => {
    // Inside a tick callback the current resource is the queue entry itself.
    const entry = executionAsyncResource()
    if (kept === undefined && typeof entry === 'object' && entry !== null) kept = entry
  })
}

/** The entry kept, for tests. @internal */
export function keptTickEntry(): object | undefined {
  return kept
}
