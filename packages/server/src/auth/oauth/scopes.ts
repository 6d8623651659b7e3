// Scopes (RFC 6749 §3.3): space-separated scope tokens; the OpenID ones
// decide the ID token's and userinfo's claims.

import { OAuthError } from './errors.ts'

/** Scopes with a meaning to the server itself. */
export const OPENID = 'openid'
export const OFFLINE_ACCESS = 'offline_access'
/** A `client_credentials` token with it may read GET /auth/revocations. */
export const REVOCATIONS_SCOPE = 'tessera:revocations'
/** What a user's consent covers: the scopes that speak of the user. */
export const USER_SCOPES: ReadonlySet<string> = new Set([
  'openid',
  'profile',
  'email',
  OFFLINE_ACCESS,
])
/** The scope of access tokens from Tessera's own API (the built-in client `tessera`). */
export const FIRST_PARTY_SCOPE = 'openid profile email'

/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/**
 * The scope tokens of a `scope` parameter, once each, in order; an empty
 * list for an absent or empty one. invalid_scope for a malformed one.
 */
export function parseScope(raw: string | undefined): string[] {
  if (raw === undefined) return []
  const tokens = raw.split(' ').filter((token) => token !== '')
  for (const token of tokens) {
    if (!SCOPE_TOKEN.test(token)) throw new OAuthError('invalid_scope', 'the scope is malformed')
  }
  return [...new Set(tokens)]
}

/** Throws invalid_scope unless every requested scope is in `allowed`. */
export function checkScopes(requested: readonly string[], allowed: readonly string[]): void {
  const permitted = new Set(allowed)
  const refused = requested.filter((scope) => !permitted.has(scope))
  if (refused.length > 0) {
    throw new OAuthError('invalid_scope', `the scope ${refused.join(' ')} is not allowed here`)
  }
}

export function formatScope(scopes: readonly string[]): string {
  return scopes.join(' ')
}
