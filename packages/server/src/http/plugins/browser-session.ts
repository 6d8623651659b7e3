// Browser mode (PRODUCT.md): a request with `X-Tessera-CSRF: 1` is a browser
// client. Its refresh token lives only in an HttpOnly cookie, so page scripts
// (XSS) cannot read it; SameSite=Strict plus the custom header (which a
// cross-site form or image cannot send without a CORS preflight) and the
// Origin allowlist close CSRF (OWASP CSRF Prevention Cheat Sheet: custom
// request headers, verifying origin with standard headers). Native clients
// never get a cookie.
//
// Cookie tossing (issue #12): a sibling subdomain can plant a cookie of the
// same name for the parent domain, which the browser sends first, signing the
// victim in to the attacker's account. On https the cookie is
// `__Host-tessera_refresh` (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain),
// which no other host can set; and a request carrying the refresh cookie
// twice is refused, whatever the scheme.

import type { FastifyReply, FastifyRequest } from 'fastify'
import { AuthError } from '../../auth/errors.ts'
import type { Config } from '../../config/types.ts'

/** The cookie's name on plain http (development on localhost). */
export const REFRESH_COOKIE = 'tessera_refresh'
/** The cookie's name on https: a `__Host-` cookie only this host can set. */
export const HOST_REFRESH_COOKIE = `__Host-${REFRESH_COOKIE}`
export const CSRF_HEADER = 'x-tessera-csrf'

type CookieConfig = Pick<Config, 'issuer' | 'cookieSecure'>

/** Whether the refresh cookie is a `__Host-` cookie: a Secure cookie of an https issuer. */
function hostOnly(config: CookieConfig): boolean {
  return config.cookieSecure && config.issuer.startsWith('https:')
}

/** The refresh cookie's name under this configuration. */
export function refreshCookieName(config: CookieConfig): string {
  return hostOnly(config) ? HOST_REFRESH_COOKIE : REFRESH_COOKIE
}

/** Whether the request declares itself a browser client. */
export function isBrowserRequest(request: FastifyRequest): boolean {
  return request.headers[CSRF_HEADER] === '1'
}

/** How many times the Cookie header names `name` (browsers send duplicates in order). */
function cookieCount(header: string, name: string): number {
  let count = 0
  for (const pair of header.split(';')) {
    const at = pair.indexOf('=')
    if (at !== -1 && pair.slice(0, at).trim() === name) count++
  }
  return count
}

/** Whether the request carries the refresh cookie (even an unusable one): logout clears it. */
export function hasRefreshCookie(request: FastifyRequest, config: CookieConfig): boolean {
  const header = request.headers.cookie
  return header !== undefined && cookieCount(header, refreshCookieName(config)) > 0
}

/**
 * The refresh token of the cookie, when the request carries one. Refuses
 * (403 `csrf_failed`) a request that carries it twice: one of the two was
 * planted by another host (cookie tossing), and nothing says which.
 */
export function readRefreshCookie(
  request: FastifyRequest,
  config: CookieConfig,
): string | undefined {
  const header = request.headers.cookie
  if (header === undefined) return undefined
  const name = refreshCookieName(config)
  if (cookieCount(header, name) > 1) {
    request.log.info({ cookie: name }, 'refresh cookie sent twice: refused')
    throw new AuthError(
      'csrf_failed',
      'the refresh cookie was sent more than once (another site may have set one); clear this site’s cookies and sign in again',
      { details: { reason: 'duplicate_cookie' } },
    )
  }
  // Parsed here, by the few routes that read it, rather than by a hook on
  // every request (@fastify/cookie is registered with `hook: false`).
  request.cookies ??= request.server.parseCookie(header)
  const value = request.cookies[name]
  return value === undefined || value === '' ? undefined : value
}

/**
 * The loopback spellings of a development issuer's origin: a page opened at
 * http://127.0.0.1:3000 is the same server as the default issuer
 * http://localhost:3000 (issue #13). Empty for any other issuer.
 */
export function loopbackAliases(issuer: string): string[] {
  const url = URL.parse(issuer)
  if (url === null || url.protocol !== 'http:') return []
  if (!['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) return []
  const port = url.port === '' ? '' : `:${url.port}`
  return ['localhost', '127.0.0.1', '[::1]'].map((host) => `http://${host}${port}`)
}

/**
 * Refuses (403 `csrf_failed`) a call authenticated by the cookie unless it
 * carries the CSRF header and, when it has an `Origin`, that origin is the
 * issuer's own (the hosted pages) or an allowed one. The comparison is exact
 * (origins are `scheme://host[:port]`); a lone `*`, which config accepts only
 * outside production, allows any. Outside production, an issuer on a
 * loopback address accepts its other loopback spellings (same port).
 */
export function assertCsrf(request: FastifyRequest, config: Config): void {
  if (!isBrowserRequest(request)) {
    throw new AuthError('csrf_failed', 'cookie-authenticated calls need the X-Tessera-CSRF header')
  }
  const origin = request.headers.origin
  if (origin === undefined || isAllowedOrigin(origin, config)) return
  // The operator's view: which origin, and what is allowed (neither is secret).
  request.log.info(
    { origin: origin.slice(0, 200), allowedOrigins: allowedOrigins(config) },
    'csrf: origin not allowed (TESSERA_ALLOWED_ORIGINS)',
  )
  throw new AuthError('csrf_failed', 'this origin is not allowed')
}

/** The origins a cookie-authenticated call may come from, as configured. */
function allowedOrigins(config: Config): string[] {
  const own = [new URL(config.issuer).origin]
  if (!config.production) own.push(...loopbackAliases(config.issuer))
  return [...new Set([...config.allowedOrigins, ...own])]
}

function isAllowedOrigin(origin: string, config: Config): boolean {
  return config.allowedOrigins.includes('*') || allowedOrigins(config).includes(origin)
}

/**
 * The plain cookie's path before issue 17. /oauth/authorize must see the
 * session too, so every refresh cookie now has Path=/ (as `__Host-` always
 * required); a browser may still hold one on /auth from before.
 */
const LEGACY_PATH = '/auth'

function cookieOptions(config: CookieConfig, maxAge: number, path = '/') {
  return {
    httpOnly: true,
    secure: config.cookieSecure,
    sameSite: 'strict' as const,
    path,
    maxAge,
  }
}

/**
 * Expires a plain cookie left on Path=/auth: beside the new one on Path=/
 * the browser would send both to /auth/*, and two refresh cookies are
 * refused as cookie tossing.
 */
function clearLegacyCookie(reply: FastifyReply, config: CookieConfig): void {
  if (hostOnly(config)) return
  reply.setCookie(refreshCookieName(config), '', cookieOptions(config, 0, LEGACY_PATH))
}

/** Sets the refresh cookie for `maxAge` seconds. */
export function setRefreshCookie(
  reply: FastifyReply,
  config: Config,
  token: string,
  maxAge: number,
): void {
  // The expired legacy cookie first: a client that keeps cookies by name
  // alone (not by path) then ends up with the live one.
  clearLegacyCookie(reply, config)
  reply.setCookie(
    refreshCookieName(config),
    token,
    cookieOptions(config, Math.max(0, Math.floor(maxAge))),
  )
}

/** Expires the refresh cookie (same attributes, so the browser matches it). */
export function clearRefreshCookie(reply: FastifyReply, config: Config): void {
  reply.setCookie(refreshCookieName(config), '', cookieOptions(config, 0))
  clearLegacyCookie(reply, config)
}
