// @tessera/jwt/fastify: authenticate(), requireRoles(), requireAllRoles(), requireScopes(),
// requireAuthMethods(), requireAnyAuthMethod(), requireRecentAuth() as
// Fastify 5 hooks, and the tesseraAuth plugin. Type-only imports: Fastify is
// an optional peer, never loaded by this module.

import type {
  FastifyPluginCallback,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify'
import type { Duration } from './duration.ts'
import {
  type AuthenticateOptions,
  AuthFailure,
  type AuthInfo,
  createAuthAgeGuard,
  createAuthenticator,
  createAuthMethodGuard,
  createRoleGuard,
  createScopeGuard,
  type Guard,
  type RequestReader,
} from './middleware-core.ts'
import type { RevocationFeed } from './revocation-feed.ts'

export type { AuthErrorCode, AuthenticateOptions, AuthInfo } from './middleware-core.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `authenticate()` from `@tessera/jwt/fastify`. */
    auth?: AuthInfo
  }
}

/** A callback-style hook, usable as `onRequest` or `preHandler`, globally or per route. */
export type AuthHook = (
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
) => void

/** The hook `authenticate()` returns, with a handle on its revocation feed. */
export type AuthenticateHook = AuthHook & {
  /** The revocation feed in use, if any. */
  readonly revocations: RevocationFeed | undefined
  /** Closes the revocation feed `authenticate()` created from options (call on shutdown). */
  close(): Promise<void>
}

/**
 * What DPoP reads from a Fastify request: `request.url` as received, and
 * `request.protocol` and `request.host`, which follow Fastify's `trustProxy`.
 */
const FASTIFY_REQUEST: RequestReader<FastifyRequest> = Object.freeze({
  method: (request: FastifyRequest) => request.method,
  target: (request: FastifyRequest) => request.url,
  origin: (request: FastifyRequest) =>
    request.host === '' ? undefined : `${request.protocol}://${request.host}`,
  header: (request: FastifyRequest, name: string) => request.headers[name],
})

function send(reply: FastifyReply, failure: AuthFailure): void {
  reply.code(failure.status).headers(failure.headers).send(failure.body)
}

/**
 * A hook that verifies the Bearer access token (or the opt-in cookie), or
 * the DPoP-bound token and its proof (RFC 9449), and puts the verified
 * claims on `request.auth`; refusals are answered here
 * (401 with `WWW-Authenticate`, 503 when keys or the revocation list are
 * unavailable). Options are checked now: a `TypeError` for any misuse.
 *
 * Prefer `onRequest`: the request is refused before its body is read.
 *
 * @example
 * import { authenticate, requireRoles } from '@tessera/jwt/fastify'
 * app.addHook('onRequest', authenticate({ issuer: 'https://auth.example.com', jwksUrl: 'https://auth.example.com/.well-known/jwks.json' }))
 * app.get('/me', async (request) => ({ id: request.auth!.userId }))
 * app.delete('/users/:id', { preHandler: requireRoles('admin') }, handler)
 */
export function authenticate(options: AuthenticateOptions): AuthenticateHook {
  const authenticator = createAuthenticator(options, FASTIFY_REQUEST)
  const settle = (
    request: FastifyRequest,
    reply: FastifyReply,
    done: HookHandlerDoneFunction,
    result: AuthInfo | AuthFailure,
  ): void => {
    if (result instanceof AuthFailure) send(reply, result)
    else {
      request.auth = result
      done()
    }
  }
  // Callback style, not async: a cached token is checked without a promise.
  const hook: AuthHook = (request, reply, done) => {
    let result: ReturnType<typeof authenticator.check>
    try {
      result = authenticator.check(request.headers.authorization, request.headers.cookie, request)
    } catch (error) {
      done(error as Error)
      return
    }
    if (result instanceof Promise) {
      result.then(
        (settled) => settle(request, reply, done, settled),
        (error: unknown) => done(error as Error),
      )
    } else {
      settle(request, reply, done, result)
    }
  }
  return Object.defineProperties(hook, {
    revocations: { value: authenticator.revocations, enumerable: true },
    close: { value: () => authenticator.close() },
  }) as AuthenticateHook
}

function guarded(guard: Guard): AuthHook {
  return (request, reply, done) => {
    let failure: AuthFailure | undefined
    try {
      failure = guard(request.auth)
    } catch (error) {
      done(error as Error)
      return
    }
    if (failure === undefined) done()
    else send(reply, failure)
  }
}

/**
 * A hook that lets through requests whose token holds at least one of
 * `roles`; others get 403 `forbidden`. Runs after {@link authenticate}. For
 * "every one of", use {@link requireAllRoles}.
 *
 * @example app.post('/admin/rotate', { preHandler: requireRoles('admin') }, handler)
 */
export function requireRoles(...roles: string[]): AuthHook {
  return guarded(createRoleGuard(roles))
}

/**
 * A hook that lets through requests whose token holds every one of `roles`;
 * others get 403 `forbidden`. Runs after {@link authenticate}. For "any
 * one of", use {@link requireRoles}.
 *
 * @example app.delete('/admin/users/:id', { preHandler: requireAllRoles('admin', 'security') }, handler)
 */
export function requireAllRoles(...roles: string[]): AuthHook {
  return guarded(createRoleGuard(roles, 'all'))
}

/**
 * A hook that lets through requests whose token holds every one of
 * `scopes`; others get 403 `forbidden` with
 * `WWW-Authenticate: Bearer error="insufficient_scope"`. Runs after {@link authenticate}.
 *
 * @example app.get('/reports', { preHandler: requireScopes('reports:read') }, handler)
 */
export function requireScopes(...scopes: string[]): AuthHook {
  return guarded(createScopeGuard(scopes))
}

/**
 * A hook that lets through requests whose token's `amr` (RFC 8176) holds every one of
 * `methods`; others, and tokens without `amr`, get 401 `mfa_required` with
 * `WWW-Authenticate: Bearer error="insufficient_user_authentication"` (RFC
 * 9470). `'mfa'`: a second factor was used; `'hwk'`: a hardware-bound key.
 * Runs after {@link authenticate}. For "any one of", use
 * {@link requireAnyAuthMethod}; for "recently", {@link requireRecentAuth}.
 *
 * @example app.post('/payouts', { preHandler: requireAuthMethods('mfa') }, createPayout)
 */
export function requireAuthMethods(...methods: string[]): AuthHook {
  return guarded(createAuthMethodGuard(methods))
}

/**
 * A hook that lets through requests whose token's `amr` holds at least one of
 * `methods`; others get 401 `mfa_required`, as {@link requireAuthMethods}.
 *
 * @example app.delete('/account', { preHandler: requireAnyAuthMethod('hwk', 'swk') }, deleteAccount) // a key: a passkey or a security key
 */
export function requireAnyAuthMethod(...methods: string[]): AuthHook {
  return guarded(createAuthMethodGuard(methods, 'any'))
}

/**
 * A hook that lets through requests whose token's `auth_time` is at most `maxAuthAge`
 * old (seconds, or `'10m'`), on the clock and with the `clockTolerance` of
 * {@link authenticate}; others, and tokens without `auth_time`, get 403
 * `reauthentication_required` with `WWW-Authenticate: Bearer
 * error="insufficient_user_authentication", …, max_age="…"` (RFC 9470).
 * For every route at once, use the `maxAuthAge` option of `authenticate()`.
 *
 * @example app.put('/password', { preHandler: requireRecentAuth('5m') }, changePassword)
 */
export function requireRecentAuth(maxAuthAge: Duration): AuthHook {
  return guarded(createAuthAgeGuard(maxAuthAge))
}

/** Options Fastify itself reads from `register()`, not ours. */
const REGISTER_OPTIONS = new Set(['prefix', 'logLevel', 'logSerializers'])

/**
 * `authenticate()` as a plugin: every route of the scope it is registered in
 * (and its children) needs a valid token (an `onRequest` hook); `request.auth`
 * is declared up front, and a revocation feed made from options is closed
 * with the server. Not encapsulated (like fastify-plugin), so the hook
 * applies to the scope that registers it.
 *
 * @example
 * await app.register(async (api) => {
 *   await api.register(tesseraAuth, { issuer, jwksUrl })
 *   api.get('/me', async (request) => ({ id: request.auth!.userId }))
 * })
 */
export const tesseraAuth: FastifyPluginCallback<AuthenticateOptions> = (instance, opts, done) => {
  let hook: AuthenticateHook
  try {
    const options: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(opts)) {
      if (!REGISTER_OPTIONS.has(name)) options[name] = value
    }
    hook = authenticate(options as unknown as AuthenticateOptions)
  } catch (error) {
    done(error as Error)
    return
  }
  // A request decorator keeps every request object the same shape (V8 hidden classes).
  if (!instance.hasRequestDecorator('auth')) instance.decorateRequest('auth', undefined)
  instance.addHook('onRequest', hook)
  instance.addHook('onClose', (_instance, closed) => {
    hook.close().then(() => closed(), closed)
  })
  done()
}
Object.assign(tesseraAuth, {
  // What fastify-plugin sets: skip encapsulation, name the plugin in errors.
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@tessera/jwt',
  [Symbol.for('plugin-meta')]: { name: '@tessera/jwt', fastify: '5.x' },
})
