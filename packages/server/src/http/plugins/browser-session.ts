// Browser mode (PRODUCT.md): a request with `X-Tessera-CSRF: 1` is a browser
// client. Its refresh token lives only in an HttpOnly cookie scoped to
// /auth, so page scripts (XSS) cannot read it; SameSite=Strict plus the
// custom header (which a cross-site form or image cannot send without a
// CORS preflight) and the Origin allowlist close CSRF (OWASP CSRF Prevention
// Cheat Sheet: custom request headers, verifying origin with standard
// headers). Native clients never get a cookie.

import type { FastifyReply, FastifyRequest } from 'fastify'
import { AuthError } from '../../auth/errors.ts'
import type { Config } from '../../config/types.ts'

export const REFRESH_COOKIE = 'tessera_refresh'
export const CSRF_HEADER = 'x-tessera-csrf'
const COOKIE_PATH = '/auth'

/** Whether the request declares itself a browser client. */
export function isBrowserRequest(request: FastifyRequest): boolean {
  return request.headers[CSRF_HEADER] === '1'
}

/** The refresh token of the cookie, when the request carries one. */
export function readRefreshCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie
  if (header === undefined) return undefined
  // Parsed here, by the few routes that read it, rather than by a hook on
  // every request (@fastify/cookie is registered with `hook: false`).
  request.cookies ??= request.server.parseCookie(header)
  const value = request.cookies[REFRESH_COOKIE]
  return value === undefined || value === '' ? undefined : value
}

/**
 * Refuses (403 `csrf_failed`) a call authenticated by the cookie unless it
 * carries the CSRF header and, when it has an `Origin`, that origin is the
 * issuer's own (the hosted pages) or an allowed one. The comparison is exact
 * (origins are `scheme://host[:port]`); a lone `*`, which config accepts only
 * outside production, allows any.
 */
export function assertCsrf(request: FastifyRequest, config: Config): void {
  if (!isBrowserRequest(request)) {
    throw new AuthError('csrf_failed', 'Cookie-authenticated calls need the X-Tessera-CSRF header.')
  }
  const origin = request.headers.origin
  const allowed = config.allowedOrigins
  if (
    origin !== undefined &&
    !allowed.includes(origin) &&
    !allowed.includes('*') &&
    origin !== new URL(config.issuer).origin
  ) {
    throw new AuthError('csrf_failed', 'This origin is not allowed.')
  }
}

function cookieOptions(config: Config, maxAge: number) {
  return {
    httpOnly: true,
    secure: config.cookieSecure,
    sameSite: 'strict' as const,
    path: COOKIE_PATH,
    maxAge,
  }
}

/** Sets the refresh cookie for `maxAge` seconds. */
export function setRefreshCookie(
  reply: FastifyReply,
  config: Config,
  token: string,
  maxAge: number,
): void {
  reply.setCookie(REFRESH_COOKIE, token, cookieOptions(config, Math.max(0, Math.floor(maxAge))))
}

/** Expires the refresh cookie (same attributes, so the browser matches it). */
export function clearRefreshCookie(reply: FastifyReply, config: Config): void {
  reply.setCookie(REFRESH_COOKIE, '', cookieOptions(config, 0))
}
