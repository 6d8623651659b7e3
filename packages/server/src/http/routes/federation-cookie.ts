// The social-login flow cookie: what a start (a sign-in, or a link from a
// signed-in session) keeps sealed in the browser until the provider sends
// it back to the callback. SameSite=Lax, as that return is a cross-site
// navigation; HttpOnly, and __Host- when the issuer is https.

import type { FastifyRequest } from 'fastify'
import type { Config } from '../../config/types.ts'

const FLOW_COOKIE = 'tessera_federation'

/** The cookie's name: `__Host-tessera_federation` on an https issuer with secure cookies. */
export function flowCookieName(config: Pick<Config, 'issuer' | 'cookieSecure'>): string {
  return config.cookieSecure && config.issuer.startsWith('https:')
    ? `__Host-${FLOW_COOKIE}`
    : FLOW_COOKIE
}

/** Its attributes; `maxAge` 0 clears it. */
export function flowCookieOptions(config: Pick<Config, 'cookieSecure'>, maxAge: number) {
  return {
    httpOnly: true,
    secure: config.cookieSecure,
    sameSite: 'lax' as const,
    path: '/',
    maxAge,
  }
}

/** The sealed flow the browser sent, or undefined. */
export function readFlowCookie(
  request: FastifyRequest,
  config: Pick<Config, 'issuer' | 'cookieSecure'>,
): string | undefined {
  const header = request.headers.cookie
  if (header === undefined) return undefined
  const value = request.server.parseCookie(header)[flowCookieName(config)]
  return value === undefined || value === '' ? undefined : value
}
