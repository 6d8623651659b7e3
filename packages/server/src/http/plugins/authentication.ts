// Bearer authentication for protected routes (RFC 6750 §2.1) and role
// checks. Both run as onRequest hooks, before the body is read: an
// unauthenticated caller cannot make the server parse anything.

import type { FastifyRequest, onRequestAsyncHookHandler, onRequestHookHandler } from 'fastify'
import { AuthError } from '../../auth/errors.ts'
import type { AccessContext, AuthService } from '../../auth/types.ts'

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token, the scheme
// case-insensitive (RFC 9110 §11.1). Only the scheme is checked here: the
// token's syntax is the verifier's, whose JWS compact form is stricter than
// b64token, and scanning a 400-character token twice cost measurable time on
// every request.
const BEARER_SCHEME = /^bearer +/i

/**
 * The token of an `Authorization` header: `undefined` when there is no
 * header, `invalid_token` when there is one but it is not `Bearer <token>`
 * (the token itself is checked by whoever verifies it).
 */
export function readBearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  const scheme = BEARER_SCHEME.exec(header)
  if (scheme === null || scheme[0].length === header.length) {
    throw new AuthError('invalid_token', 'the Authorization header must be "Bearer <token>"')
  }
  return header.slice(scheme[0].length)
}

/** The access context of a request that passed `authenticate`; a bug otherwise. */
export function accessOf(request: FastifyRequest): AccessContext {
  const access = request.access
  if (access === null) throw new Error('route is missing the authenticate hook')
  return access
}

/**
 * The hook that authenticates a request with its access token and sets
 * `request.access` (`missing_token` without a header; whatever the service
 * throws for a bad token). Callback-style and synchronous: it runs on every
 * protected request, and an async hook costs a promise and a microtask each.
 */
export function createAuthenticate(auth: AuthService): onRequestHookHandler {
  return function authenticate(request, _reply, done) {
    const token = readBearerToken(request.headers.authorization)
    if (token === undefined) throw new AuthError('missing_token', 'an access token is required')
    request.access = auth.authenticate(token)
    done()
  }
}

/**
 * A hook, after `authenticate`, that lets through only callers holding
 * every one of `roles` (403 `forbidden` otherwise).
 *
 * @example
 * app.get('/admin/keys', { onRequest: [authenticate, requireRoles('admin')] }, handler)
 */
export function requireRoles(...roles: string[]): onRequestAsyncHookHandler {
  if (roles.length === 0) throw new TypeError('requireRoles needs at least one role')
  return async function checkRoles(request) {
    const granted = accessOf(request).roles
    if (!roles.every((role) => granted.includes(role))) {
      throw new AuthError('forbidden', 'this requires a role the caller does not have')
    }
  }
}
