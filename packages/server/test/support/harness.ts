// The one in-process harness for the auth flows: the real service (createTessera)
// on an in-memory SQLite store, fast argon2, and a clock the tests move.
// Requests go through app.inject; each harness is closed after its test.

import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'node:test'
import type { FastifyInstance } from 'fastify'
import pino, { type Logger } from 'pino'
import { createPasswordHasher } from '../../src/auth/passwords.ts'
import type { AuthResult, AuthService } from '../../src/auth/types.ts'
import { loadConfig } from '../../src/config/index.ts'
import type { Config } from '../../src/config/types.ts'
import { type BuildAppDeps, buildApp } from '../../src/http/app.ts'
import type { UserRecord } from '../../src/storage/ports.ts'
import { createTessera, type Tessera } from '../../src/tessera.ts'

let scratch: string | undefined

/** One temporary data dir for the whole test process, removed when it exits. */
function scratchDir(): string {
  if (scratch === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-harness-'))
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    scratch = dir
  }
  return scratch
}

export const FAST_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 }
export const PASSWORD = 'correct horse battery staple'

/**
 * A Config for tests: `loadConfig` over in-memory SQLite, a fresh master key
 * and silent logs, with `env` on top. Every other value is the schema's
 * default, so a new variable needs no edit here.
 *
 * @example
 * const config = testConfig({ TESSERA_SIGNUP: 'false' })
 */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    TESSERA_DATABASE_URL: 'sqlite::memory:',
    // Mail without TESSERA_SMTP_URL is written under the data dir: never the repository's.
    TESSERA_DATA_DIR: scratchDir(),
    // Set, so the service never writes a development key into ./data.
    TESSERA_MASTER_KEY: randomBytes(32).toString('base64url'),
    TESSERA_LOG_LEVEL: 'silent',
    ...env,
  })
}

export interface CallResult {
  status: number
  body: Record<string, unknown>
  headers: Record<string, unknown>
}

export interface Harness {
  tessera: Tessera
  /** `tessera.app`: the app the service was built with. */
  app: FastifyInstance
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
  /**
   * Adds a user straight to the store, as `tessera users add` does: no
   * session, no audit entry, no request. Roles default to `user`.
   */
  user(
    email: string,
    options?: { password?: string; roles?: string[]; name?: string },
  ): Promise<UserRecord>
  /** Logs a user in through the service, not over HTTP (not in `calls`), from no address. */
  login(email: string, password?: string): Promise<AuthResult>
  /**
   * The names of the service methods the app called, in order
   * (`authenticate` included): "the request never reached the service".
   */
  readonly calls: readonly string[]
  /**
   * Another app over this same service, for what only buildApp takes
   * (readiness, metrics, logger, feed tunables) or a wrapped service;
   * closed after the test. Metrics are off unless given.
   */
  buildApp(deps?: Partial<BuildAppDeps>): Promise<FastifyInstance>
}

const open: Tessera[] = []
const apps: FastifyInstance[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close()
  for (const t of open.splice(0)) await t.close()
})

/** The wire error code of a response body. */
export const code = (body: Record<string, unknown>): unknown =>
  (body.error as { code?: unknown } | undefined)?.code

/**
 * Starts the real service with `env` over the test config. The clock starts
 * at 2026-06-01T12:00:00Z and moves only when the test (or a wait the service
 * asks for) moves it.
 *
 * @example
 * const h = await harness({ TESSERA_REFRESH_REUSE_GRACE: '10s' })
 * const { refreshToken } = await h.signup('a@example.com')
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
  const tessera = await createTessera(testConfig(env), {
    now: () => clock.now,
    sleep: async (ms) => clock.advance(ms / 1000),
    logger: options.logger ?? pino({ level: 'silent' }),
    maintenanceInterval: 0,
    argon2: FAST_ARGON2,
  })
  open.push(tessera)
  const service = { ...tessera.auth }
  const calls = recordCalls(tessera.auth)
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
  const hasher = createPasswordHasher({ argon2: FAST_ARGON2 })
  return {
    tessera,
    app: tessera.app,
    clock,
    call,
    calls,
    async signup(email) {
      const r = await call('POST', '/auth/signup', { body: { email, password: PASSWORD } })
      assert.equal(r.status, 201, JSON.stringify(r.body))
      return r.body
    },
    async user(email, { password = PASSWORD, roles = ['user'], name } = {}) {
      const created = await tessera.store.users.createUser({
        id: randomUUID(),
        email: email.trim().toLowerCase(),
        name: name ?? null,
        passwordHash: await hasher.hash(password),
        roles,
        createdAt: clock.now,
      })
      assert.notEqual(created, 'email_taken', email)
      return created as UserRecord
    },
    async login(email, password = PASSWORD) {
      const result = await service.login({ email, password }, { ip: null, userAgent: null })
      if (!('tokens' in result)) assert.fail(`${email} needs a second step: sign in over HTTP`)
      return result
    },
    async buildApp(deps = {}) {
      const app = await buildApp({
        config: tessera.config,
        auth: tessera.auth,
        readiness: () => tessera.store.ping(),
        metrics: false,
        ...deps,
      })
      apps.push(app)
      return app
    },
  }
}

/**
 * Records the name of every method of `auth` called from now on. The app
 * calls the service through this same object at request time, so the
 * methods are wrapped in place.
 */
function recordCalls(auth: AuthService): string[] {
  const calls: string[] = []
  const methods = auth as unknown as Record<string, unknown>
  for (const [name, method] of Object.entries(methods)) {
    if (typeof method !== 'function') continue
    methods[name] = function (this: unknown, ...args: unknown[]) {
      calls.push(name)
      return method.apply(this, args)
    }
  }
  return calls
}
