// Bearer authentication for protected routes (RFC 6750 §2.1) and role
// checks. Both run as onRequest hooks, before the body is read: an
// unauthenticated caller cannot make the server parse anything.

import { extractBearerToken } from '@tessera/jwt'
import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import { AuthError } from '../../auth/errors.ts'
import type { AccessContext, AuthService } from '../../auth/types.ts'
import type { Config } from '../../config/types.ts'
import { offerDpopNonce, publicUrlOf } from './dpop.ts'

/**
 * The token of an `Authorization` header, parsed by @tessera/jwt's
 * authenticator core as every resource server parses it: `undefined` when
 * the request presents no Bearer credentials (no header, or another scheme
 * such as `Basic`: RFC 6750 §3.1), `invalid_token` when it is Bearer but not
 * exactly one token (the token itself is checked by whoever verifies it).
 */
export function readBearerToken(header: string | undefined): string | undefined {
  const token = extractBearerToken(header)
  if (typeof token === 'string') return token
  if (token.code === 'missing_token') return undefined
  throw new AuthError(token.code, token.message)
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
export function createAuthenticate(
  auth: AuthService,
  config: Pick<Config, 'issuer'>,
): onRequestHookHandler {
  return function authenticate(request, reply, done) {
    const header = request.headers.authorization
    // RFC 9449 §7.1: a DPoP-bound token with its proof. The only async path:
    // the proof's jti goes through the (maybe shared) replay cache.
    if (header !== undefined && DPOP_SCHEME.test(header)) {
      const token = header.slice(5).trim()
      offerDpopNonce(auth, reply)
      auth
        .authenticateDpop(token, {
          proof: request.headers.dpop,
          method: request.method,
          url: publicUrlOf(config, request),
        })
        .then((access) => {
          request.access = access
          done()
        }, done)
      return
    }
    const token = readBearerToken(header)
    if (token === undefined) throw new AuthError('missing_token', 'an access token is required')
    request.access = auth.authenticate(token)
    done()
  }
}

/** `Authorization: DPoP <token>` (the scheme is case-insensitive, RFC 9110 §11.1). */
const DPOP_SCHEME = /^dpop [^\s]/i

/**
 * A hook, after `authenticate`, that lets through only callers holding at
 * least one of `roles` (403 `forbidden` otherwise): `requireRoles` means
 * "any of" here as in @tessera/jwt's middleware. Synchronous, like
 * `authenticate`.
 *
 * @example
 * app.get('/admin/keys', { onRequest: [authenticate, requireRoles('admin')] }, handler)
 */
export function requireRoles(...roles: string[]): onRequestHookHandler {
  if (roles.length === 0) throw new TypeError('requireRoles needs at least one role')
  const wanted = [...roles]
  return function checkRoles(request, _reply, done) {
    const granted = accessOf(request).roles
    if (!wanted.some((role) => granted.includes(role))) {
      throw new AuthError('forbidden', 'this requires a role the caller does not have')
    }
    done()
  }
}
