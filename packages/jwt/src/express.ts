// @tessera/jwt/express: authenticate(), requireRoles(), requireAllRoles(), requireScopes(),
// requireAuthMethods(), requireAnyAuthMethod(), requireRecentAuth() for Express 5.
// Type-only imports: Express is an optional peer, never loaded by this module.

import type { NextFunction, Request, RequestHandler, Response } from 'express'
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

declare global {
  // Express's own extension point (express-serve-static-core): declaration
  // merging into the global Express.Request. Ambient, so nothing is emitted.
  namespace Express {
    interface Request {
      /** Set by `authenticate()` from `@tessera/jwt/express`. */
      auth?: AuthInfo
    }
  }
}

/** The middleware `authenticate()` returns, with a handle on its revocation feed. */
export type AuthenticateMiddleware = RequestHandler & {
  /** The revocation feed in use, if any. */
  readonly revocations: RevocationFeed | undefined
  /** Closes the revocation feed `authenticate()` created from options (call on shutdown). */
  close(): Promise<void>
}

/**
 * What DPoP reads from an Express request: `originalUrl` (the path before
 * any mount point took its prefix), and `req.protocol` and `req.host`, which
 * follow Express's `trust proxy` setting.
 */
const EXPRESS_REQUEST: RequestReader<Request> = Object.freeze({
  method: (req: Request) => req.method,
  target: (req: Request) => req.originalUrl,
  origin: (req: Request) => (req.host === undefined ? undefined : `${req.protocol}://${req.host}`),
  header: (req: Request, name: string) => req.headers[name],
})

function send(res: Response, failure: AuthFailure): void {
  res.statusCode = failure.status
  for (const [name, value] of Object.entries(failure.headers)) res.setHeader(name, value)
  res.end(failure.body)
}

function settle(req: Request, res: Response, next: NextFunction, result: AuthInfo | AuthFailure) {
  if (result instanceof AuthFailure) send(res, result)
  else {
    req.auth = result
    next()
  }
}

/**
 * Express middleware that verifies the Bearer access token (or the opt-in
 * cookie), or the DPoP-bound token and its proof (RFC 9449), and puts the
 * verified claims on `req.auth`; refusals are answered here (401 with
 * `WWW-Authenticate`, 503 when keys or the revocation list are unavailable).
 * Options are checked now: a `TypeError` for any misuse.
 *
 * @example
 * import { authenticate, requireRoles } from '@tessera/jwt/express'
 * app.use(authenticate({ issuer: 'https://auth.example.com', jwksUrl: 'https://auth.example.com/.well-known/jwks.json' }))
 * app.get('/me', (req, res) => res.json({ id: req.auth!.userId }))
 * app.delete('/users/:id', requireRoles('admin'), handler)
 */
export function authenticate(options: AuthenticateOptions): AuthenticateMiddleware {
  const authenticator = createAuthenticator(options, EXPRESS_REQUEST)
  const middleware: RequestHandler = (req, res, next) => {
    let result: ReturnType<typeof authenticator.check>
    try {
      result = authenticator.check(req.headers.authorization, req.headers.cookie, req)
    } catch (error) {
      next(error)
      return
    }
    if (result instanceof Promise) {
      result.then((settled) => settle(req, res, next, settled), next)
    } else {
      settle(req, res, next, result)
    }
  }
  return Object.defineProperties(middleware, {
    revocations: { value: authenticator.revocations, enumerable: true },
    close: { value: () => authenticator.close() },
  }) as AuthenticateMiddleware
}

function guarded(guard: Guard): RequestHandler {
  return (req, res, next) => {
    let failure: AuthFailure | undefined
    try {
      failure = guard(req.auth)
    } catch (error) {
      next(error)
      return
    }
    if (failure === undefined) next()
    else send(res, failure)
  }
}

/**
 * Lets through requests whose token holds at least one of `roles`; others
 * get 403 `forbidden`. Runs after {@link authenticate}. For "every one of",
 * use {@link requireAllRoles}.
 *
 * @example app.post('/admin/rotate', requireRoles('admin'), handler)
 */
export function requireRoles(...roles: string[]): RequestHandler {
  return guarded(createRoleGuard(roles))
}

/**
 * Lets through requests whose token holds every one of `roles`;
 * others get 403 `forbidden`. Runs after {@link authenticate}. For "any
 * one of", use {@link requireRoles}.
 *
 * @example app.delete('/admin/users/:id', requireAllRoles('admin', 'security'), handler)
 */
export function requireAllRoles(...roles: string[]): RequestHandler {
  return guarded(createRoleGuard(roles, 'all'))
}

/**
 * Lets through requests whose token holds every one of `scopes`; others get
 * 403 `forbidden` with `WWW-Authenticate: Bearer error="insufficient_scope"`.
 * Runs after {@link authenticate}.
 *
 * @example app.get('/reports', requireScopes('reports:read'), handler)
 */
export function requireScopes(...scopes: string[]): RequestHandler {
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
export function requireAuthMethods(...methods: string[]): RequestHandler {
  return guarded(createAuthMethodGuard(methods))
}

/**
 * Lets through requests whose token's `amr` holds at least one of
 * `methods`; others get 401 `mfa_required`, as {@link requireAuthMethods}.
 *
 * @example app.delete('/account', requireAnyAuthMethod('hwk', 'swk'), deleteAccount) // a key: a passkey or a security key
 */
export function requireAnyAuthMethod(...methods: string[]): RequestHandler {
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
export function requireRecentAuth(maxAuthAge: Duration): RequestHandler {
  return guarded(createAuthAgeGuard(maxAuthAge))
}
