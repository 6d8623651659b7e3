// @tessera/jwt/hono: authenticate(), requireRoles(), requireAllRoles(), requireScopes(),
// requireAuthMethods(), requireAnyAuthMethod(), requireRecentAuth() as Hono 4
// middleware. Type-only imports: Hono is an optional peer, never loaded here.

import type { Context, MiddlewareHandler } from 'hono'
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

/**
 * The Hono environment `authenticate()` provides: `c.get('auth')` is typed.
 *
 * @example const app = new Hono<TesseraEnv>()
 */
export type TesseraEnv = { Variables: { auth: AuthInfo } }

/** The middleware `authenticate()` returns, with a handle on its revocation feed. */
export type AuthenticateMiddleware = MiddlewareHandler<TesseraEnv> & {
  /** The revocation feed in use, if any. */
  readonly revocations: RevocationFeed | undefined
  /** Closes the revocation feed `authenticate()` created from options (call on shutdown). */
  close(): Promise<void>
}

/** The end of the scheme and host in an absolute URL (`https://h/p` → 9). */
function pathStart(url: string): number {
  const slash = url.indexOf('/', url.indexOf('//') + 2)
  return slash === -1 ? url.length : slash
}

type NodeHeaders = Readonly<Record<string, string | readonly string[] | undefined>>

/**
 * The request's headers as node:http parsed them, when @hono/node-server
 * runs the app (its `c.env.incoming` is the IncomingMessage); undefined on
 * other runtimes. On node-server, `c.req.header()` first builds a fetch
 * `Headers` of every header the request has, which costs more than the
 * whole check of a cached token (bench/README.md, "The middlewares on a
 * fast machine").
 */
function nodeHeaders(c: Context): NodeHeaders | undefined {
  const incoming = (c.env as { incoming?: { headers?: unknown; rawHeaders?: unknown } } | undefined)
    ?.incoming
  if (typeof incoming !== 'object' || incoming === null) return undefined
  const headers = incoming.headers
  return typeof headers === 'object' && headers !== null && Array.isArray(incoming.rawHeaders)
    ? (headers as NodeHeaders)
    : undefined
}

/** A header by lower-case name, from node's parse when there is one. */
function headerOf(c: Context, name: string): string | readonly string[] | undefined {
  const headers = nodeHeaders(c)
  return headers === undefined ? c.req.header(name) : headers[name]
}

/** What DPoP reads from a Hono context: the request's own URL, as the runtime built it. */
const HONO_REQUEST: RequestReader<Context> = Object.freeze({
  method: (c: Context) => c.req.method,
  target(c: Context): string {
    const url = c.req.url
    return url.slice(pathStart(url)) || '/'
  },
  origin(c: Context): string {
    const url = c.req.url
    return url.slice(0, pathStart(url))
  },
  header: headerOf,
})

function send(c: Context, failure: AuthFailure): Response {
  // A copy: @hono/node-server adds Content-Length to the headers object it is given.
  return c.body(failure.body, failure.status, { ...failure.headers })
}

/**
 * Hono middleware that verifies the Bearer access token (or the opt-in
 * cookie), or the DPoP-bound token and its proof (RFC 9449), and sets the
 * verified claims as `c.get('auth')`; refusals are
 * answered here (401 with `WWW-Authenticate`, 503 when keys or the
 * revocation list are unavailable). Options are checked now: a `TypeError`
 * for any misuse.
 *
 * @example
 * import { authenticate, requireRoles, type TesseraEnv } from '@tessera/jwt/hono'
 * const app = new Hono<TesseraEnv>()
 * app.use('/api/*', authenticate({ issuer: 'https://auth.example.com', jwksUrl: 'https://auth.example.com/.well-known/jwks.json' }))
 * app.get('/api/me', (c) => c.json({ id: c.get('auth').userId }))
 * app.delete('/api/users/:id', requireRoles('admin'), handler)
 */
export function authenticate(options: AuthenticateOptions): AuthenticateMiddleware {
  const authenticator = createAuthenticator(options, HONO_REQUEST)
  const middleware: MiddlewareHandler<TesseraEnv> = async (c, next) => {
    const headers = nodeHeaders(c)
    const checked =
      headers === undefined
        ? authenticator.check(c.req.header('authorization'), c.req.header('cookie'), c)
        : authenticator.check(
            headers.authorization as string | undefined,
            headers.cookie as string | undefined,
            c,
          )
    const result = checked instanceof Promise ? await checked : checked
    if (result instanceof AuthFailure) return send(c, result)
    c.set('auth', result)
    await next()
  }
  return Object.defineProperties(middleware, {
    revocations: { value: authenticator.revocations, enumerable: true },
    close: { value: () => authenticator.close() },
  }) as AuthenticateMiddleware
}

function guarded(guard: Guard): MiddlewareHandler<TesseraEnv> {
  return async (c, next) => {
    // `c.get` is typed as always set; before authenticate() it is not.
    const failure = guard(c.get('auth') as AuthInfo | undefined)
    if (failure !== undefined) return send(c, failure)
    await next()
  }
}

/**
 * Lets through requests whose token holds at least one of `roles`; others
 * get 403 `forbidden`. Runs after {@link authenticate}. For "every one of",
 * use {@link requireAllRoles}.
 *
 * @example app.post('/admin/rotate', requireRoles('admin'), handler)
 */
export function requireRoles(...roles: string[]): MiddlewareHandler<TesseraEnv> {
  return guarded(createRoleGuard(roles))
}

/**
 * Lets through requests whose token holds every one of `roles`;
 * others get 403 `forbidden`. Runs after {@link authenticate}. For "any
 * one of", use {@link requireRoles}.
 *
 * @example app.delete('/admin/users/:id', requireAllRoles('admin', 'security'), handler)
 */
export function requireAllRoles(...roles: string[]): MiddlewareHandler<TesseraEnv> {
  return guarded(createRoleGuard(roles, 'all'))
}

/**
 * Lets through requests whose token holds every one of `scopes`; others get
 * 403 `forbidden` with `WWW-Authenticate: Bearer error="insufficient_scope"`.
 * Runs after {@link authenticate}.
 *
 * @example app.get('/reports', requireScopes('reports:read'), handler)
 */
export function requireScopes(...scopes: string[]): MiddlewareHandler<TesseraEnv> {
  return guarded(createScopeGuard(scopes))
}

/**
 * Lets through requests whose token's `amr` (RFC 8176) holds every one of
 * `methods`; others, and tokens without `amr`, get 401 `mfa_required` with
 * `WWW-Authenticate: Bearer error="insufficient_user_authentication"` (RFC
 * 9470). `'mfa'`: a second factor was used; `'hwk'`: a hardware-bound key.
 * Runs after {@link authenticate}. For "any one of", use
 * {@link requireAnyAuthMethod}; for "recently", {@link requireRecentAuth}.
 *
 * @example app.post('/payouts', requireAuthMethods('mfa'), createPayout)
 */
export function requireAuthMethods(...methods: string[]): MiddlewareHandler<TesseraEnv> {
  return guarded(createAuthMethodGuard(methods))
}

/**
 * Lets through requests whose token's `amr` holds at least one of
 * `methods`; others get 401 `mfa_required`, as {@link requireAuthMethods}.
 *
 * @example app.delete('/account', requireAnyAuthMethod('hwk', 'swk'), deleteAccount) // a key: a passkey or a security key
 */
export function requireAnyAuthMethod(...methods: string[]): MiddlewareHandler<TesseraEnv> {
  return guarded(createAuthMethodGuard(methods, 'any'))
}

/**
 * Lets through requests whose token's `auth_time` is at most `maxAuthAge`
 * old (seconds, or `'10m'`), on the clock and with the `clockTolerance` of
 * {@link authenticate}; others, and tokens without `auth_time`, get 403
 * `reauthentication_required` with `WWW-Authenticate: Bearer
 * error="insufficient_user_authentication", …, max_age="…"` (RFC 9470).
 * For every route at once, use the `maxAuthAge` option of `authenticate()`.
 *
 * @example app.put('/password', requireRecentAuth('5m'), changePassword)
 */
export function requireRecentAuth(maxAuthAge: Duration): MiddlewareHandler<TesseraEnv> {
  return guarded(createAuthAgeGuard(maxAuthAge))
}
