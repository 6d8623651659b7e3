// The one in-process harness for the auth flows: the real service (createTessera)
// on an in-memory SQLite store, fast argon2, and a clock the tests move.
// Requests go through app.inject; each harness is closed after its test.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { afterEach } from 'node:test'
import pino, { type Logger } from 'pino'
import { loadConfig } from '../../src/config/index.ts'
import { createTessera, type Tessera } from '../../src/tessera.ts'

export const FAST_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 }
export const PASSWORD = 'correct horse battery staple'

export interface CallResult {
  status: number
  body: Record<string, unknown>
  headers: Record<string, unknown>
}

export interface Harness {
  tessera: Tessera
  clock: { now: number; advance(seconds: number): void }
  call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    options?: {
      body?: unknown
      token?: string
      headers?: Record<string, string>
      /** The client's address, as Fastify sees it (default 127.0.0.1). */
      remoteAddress?: string
    },
  ): Promise<CallResult>
  signup(email: string): Promise<Record<string, unknown>>
}

const open: Tessera[] = []
afterEach(async () => {
  for (const t of open.splice(0)) await t.close()
})

/** The wire error code of a response body. */
export const code = (body: Record<string, unknown>): unknown =>
  (body.error as { code?: unknown } | undefined)?.code

/**
 * Starts the real service with `env` over the test defaults. The clock starts
 * at 2026-06-01T12:00:00Z and moves only when the test (or a wait the service
 * asks for) moves it.
 */
export async function harness(
  env: Record<string, string> = {},
  options: { logger?: Logger } = {},
): Promise<Harness> {
  const clock = {
    now: Date.parse('2026-06-01T12:00:00Z'),
    advance(seconds: number) {
      this.now += seconds * 1000
    },
  }
  const config = loadConfig({
    TESSERA_DATABASE_URL: 'sqlite::memory:',
    TESSERA_MASTER_KEY: randomBytes(32).toString('base64url'),
    TESSERA_LOG_LEVEL: 'silent',
    ...env,
  })
  const tessera = await createTessera(config, {
    now: () => clock.now,
    sleep: async (ms) => clock.advance(ms / 1000),
    logger: options.logger ?? pino({ level: 'silent' }),
    maintenanceInterval: 0,
    argon2: FAST_ARGON2,
  })
  open.push(tessera)
  const call: Harness['call'] = async (method, url, options = {}) => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
    const response = await tessera.app.inject({
      method,
      url,
      headers,
      ...(options.remoteAddress === undefined ? {} : { remoteAddress: options.remoteAddress }),
      ...(options.body === undefined ? {} : { payload: options.body as object }),
    })
    return {
      status: response.statusCode,
      body: response.body === '' ? {} : (JSON.parse(response.body) as Record<string, unknown>),
      headers: response.headers,
    }
  }
  return {
    tessera,
    clock,
    call,
    async signup(email) {
      const r = await call('POST', '/auth/signup', { body: { email, password: PASSWORD } })
      assert.equal(r.status, 201, JSON.stringify(r.body))
      return r.body
    },
  }
}
