// A stand-in for the auth service, for the few HTTP tests that need what the
// real one (harness.ts) cannot do on demand: throw an unexpected error (the
// 500 path and its log line), fail with a domain error that carries an
// internal cause, or return more than its type says (what the response
// schemas must drop). It implements nothing: each test gives the methods it
// needs, and any other method throws.

import { afterEach } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { createDpopPolicy } from '../../src/auth/dpop.ts'
import type { AuthService } from '../../src/auth/types.ts'
import { type BuildAppDeps, buildApp } from '../../src/http/app.ts'
import { testConfig } from './harness.ts'

const apps: FastifyInstance[] = []
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close()
})

/** An AuthService made of `methods`; calling any other method throws. */
export function stubAuthService(methods: Partial<AuthService>): AuthService {
  // Not a flow but the routes' DPoP check, which every token-issuing route runs: the real one.
  const withDpop = { dpop: createDpopPolicy({ now: Date.now }), ...methods }
  return new Proxy(withDpop, {
    get(target, name) {
      if (typeof name !== 'string' || name in target) return Reflect.get(target, name)
      // Not a method of the service's type: it is not a thenable, say.
      if (name === 'then' || name === 'toJSON') return undefined
      return () => {
        throw new Error(`the stub has no ${name}`)
      }
    },
  }) as AuthService
}

/**
 * The app over `stubAuthService(methods)` and `testConfig(env)`, metrics off,
 * readiness fine; closed after the test.
 *
 * @example
 * const app = await stubApp({ login: async () => { throw new Error('kaboom') } })
 */
export async function stubApp(
  methods: Partial<AuthService>,
  options: { env?: Record<string, string> } & Partial<Omit<BuildAppDeps, 'auth' | 'config'>> = {},
): Promise<FastifyInstance> {
  const { env, ...deps } = options
  const app = await buildApp({
    config: testConfig(env),
    auth: stubAuthService(methods),
    readiness: async () => {},
    metrics: false,
    ...deps,
  })
  apps.push(app)
  return app
}
