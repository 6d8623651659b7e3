// Fakes for the engine's unit tests: a recording fetch, a clock with timers
// that run when the test says so, and a group of "tabs" in one process that
// share a lock and a channel as the tabs of a browser do.

import type { TabCoordinator, TabMessage } from '../../src/types.ts'

export interface Recorded {
  readonly method: string
  readonly url: string
  readonly path: string
  readonly headers: Headers
  readonly body: string
}

export type Handler = (request: Recorded) => Response | Promise<Response>

/** A fetch that records each request (its body read as text) and answers with `handler`. */
export function fakeServer(handler: Handler) {
  const calls: Recorded[] = []
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init)
    const url = new URL(request.url)
    const recorded: Recorded = {
      method: request.method,
      url: request.url,
      path: url.pathname,
      headers: request.headers,
      body: await request.text(),
    }
    calls.push(recorded)
    return handler(recorded)
  }
  return {
    fetch: fetch as typeof globalThis.fetch,
    calls,
    /** The requests to `path`. */
    to: (path: string) => calls.filter((call) => call.path === path),
  }
}

/** A JSON answer. */
export function reply(status: number, body?: unknown, headers: Record<string, string> = {}) {
  if (body === undefined) return new Response(null, { status, headers })
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  })
}

/** Tessera's error envelope. */
export function apiError(status: number, code: string, extra: Record<string, unknown> = {}) {
  return reply(status, { error: { code, message: code, ...extra } })
}

/** Lets promises, crypto.subtle and queued messages run. */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** Waits (for real, briefly) until `condition` holds. */
export async function waitFor(condition: () => boolean, what = 'the condition'): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** A clock whose timers fire only when the test advances it. */
export function fakeClock(start = Date.UTC(2026, 0, 1)) {
  let time = start
  let nextId = 1
  const timers = new Map<number, { at: number; callback: () => void }>()
  return {
    now: () => time,
    setTimeout: (callback: () => void, ms: number): unknown => {
      const id = nextId++
      timers.set(id, { at: time + ms, callback })
      return id
    },
    clearTimeout: (id: unknown) => {
      timers.delete(id as number)
    },
    /** The delays of the pending timers, shortest first. */
    pending: () => [...timers.values()].map((timer) => timer.at - time).sort((a, b) => a - b),
    /** Advances time by `ms`, firing each timer due on the way and letting it run. */
    async tick(ms: number): Promise<void> {
      const end = time + ms
      for (;;) {
        const due = [...timers.entries()]
          .filter(([, timer]) => timer.at <= end)
          .sort((a, b) => a[1].at - b[1].at)[0]
        if (due === undefined) break
        timers.delete(due[0])
        time = due[1].at
        due[1].callback()
        await settle()
      }
      time = end
      await settle()
    },
  }
}

/**
 * The tabs of one browser in one process: one lock per name for the group
 * (first come, first served, as Web Locks), and a channel that delivers a
 * message to every other tab, cloned, after the sender has moved on. `hold()`
 * keeps messages back until `release()`: a broadcast that arrives after the
 * lock has passed to the next tab.
 */
export function tabGroup() {
  const chains = new Map<string, Promise<unknown>>()
  const members = new Set<Set<(message: TabMessage) => void>>()
  const held: (() => void)[] = []
  const posted: TabMessage[] = []
  let holding = false
  return {
    /** Every message posted, in order. */
    posted,
    tab(): TabCoordinator {
      const listeners = new Set<(message: TabMessage) => void>()
      members.add(listeners)
      return {
        withLock<T>(name: string, task: () => Promise<T>): Promise<T> {
          const run = (chains.get(name) ?? Promise.resolve()).then(task)
          chains.set(
            name,
            run.catch(() => undefined),
          )
          return run
        },
        post(message) {
          posted.push(message)
          for (const other of members) {
            if (other === listeners) continue
            const deliver = () => {
              for (const listener of other) listener(structuredClone(message))
            }
            if (holding) held.push(deliver)
            else queueMicrotask(deliver)
          }
        },
        subscribe(listener) {
          listeners.add(listener)
          return () => listeners.delete(listener)
        },
        close() {
          members.delete(listeners)
        },
      }
    },
    hold() {
      holding = true
    },
    release() {
      holding = false
      for (const deliver of held.splice(0)) deliver()
    },
  }
}

/** An unsigned JWT with these claims (the engine decodes ID tokens, it does not verify them). */
export function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'ES256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`
}

/** sessionStorage for OAuth mode's redirect state. */
export function memoryStorage() {
  const items = new Map<string, string>()
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  }
}
