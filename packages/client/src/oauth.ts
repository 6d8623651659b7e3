// OAuth mode's protocol pieces: the authorization request with PKCE (RFC 7636),
// the callback's checks (state, RFC 9207's iss), and the ID token's claims
// (OpenID Connect Core §3.1.3.7). The engine (session.ts) sends the requests.

import { randomB64url, sha256 } from './dpop.ts'
import { TesseraError } from './errors.ts'
import type { RedirectOptions, User } from './types.ts'

/** What a tab remembers between leaving for /oauth/authorize and coming back. */
export interface PendingRedirect {
  readonly state: string
  readonly nonce: string
  readonly verifier: string
  readonly returnTo?: string | undefined
}

/** The token endpoint's answer (RFC 6749 §5.1). */
export interface TokenBody {
  readonly access_token: string
  readonly token_type: string
  readonly expires_in: number
  readonly refresh_token?: string
  readonly id_token?: string
  readonly scope?: string
}

export interface AuthorizeParams {
  readonly issuer: string
  readonly clientId: string
  readonly redirectUri: string
  readonly scope: string
}

/**
 * The URL of the authorization request and what to remember for the callback:
 * a PKCE verifier of 32 random bytes with its S256 challenge, `state` against
 * CSRF, `nonce` for the ID token.
 *
 * @example
 * const { url, pending } = await authorizeRequest({ issuer, clientId, redirectUri, scope: 'openid' }, {})
 */
export async function authorizeRequest(
  params: AuthorizeParams,
  options: RedirectOptions,
): Promise<{ url: string; pending: PendingRedirect }> {
  const pending = {
    state: randomB64url(16),
    nonce: randomB64url(16),
    verifier: randomB64url(32),
    returnTo: options.returnTo,
  }
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: params.clientId,
    redirect_uri: params.redirectUri,
    scope: params.scope,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await sha256(pending.verifier),
    code_challenge_method: 'S256',
  })
  if (options.loginHint !== undefined) query.set('login_hint', options.loginHint)
  if (options.prompt !== undefined) query.set('prompt', options.prompt)
  if (options.provider !== undefined) query.set('provider', options.provider)
  return { url: `${params.issuer}/oauth/authorize?${query}`, pending }
}

function invalid(message: string): TesseraError {
  return new TesseraError({ code: 'invalid_callback', message })
}

/**
 * The code of the redirect back, once it is known to answer this tab's request:
 * its `state` is the one sent, its `iss` (when present) this issuer (RFC 9207:
 * a code from another server must not be sent here). An `error` rejects with
 * that code (`access_denied`, `login_required`, …).
 */
export function readCallback(
  url: string,
  pending: PendingRedirect | undefined,
  issuer: string,
): string {
  const query = new URL(url).searchParams
  if (pending === undefined || query.get('state') !== pending.state) {
    throw invalid('This sign-in was not started in this tab, or has already completed.')
  }
  const iss = query.get('iss')
  if (iss !== null && iss.replace(/\/+$/, '') !== issuer) {
    throw invalid(`The answer comes from ${iss}, not ${issuer}.`)
  }
  const error = query.get('error')
  if (error !== null) {
    throw new TesseraError({ code: error, message: query.get('error_description') ?? error })
  }
  const code = query.get('code')
  if (code === null) throw invalid('The answer carries no code.')
  return code
}

/** The claims of a JWT, not verified. */
export function decodeClaims(jwt: string): Record<string, unknown> {
  const part = (jwt.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/')
  const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0))
  const claims: unknown = JSON.parse(new TextDecoder().decode(bytes))
  if (typeof claims !== 'object' || claims === null) throw new TypeError('not a JWT')
  return claims as Record<string, unknown>
}

/**
 * The claims of an ID token from the token endpoint, checked: `iss`, `aud`
 * naming this client, `exp` ahead, `nonce` the one sent (when expected). The
 * signature is not checked: the token came straight from the token endpoint
 * over TLS, which OpenID Connect Core §3.1.3.7 accepts in its place.
 */
export function idTokenClaims(
  idToken: string,
  expected: { issuer: string; clientId: string; nonce?: string | undefined; now: number },
): Record<string, unknown> {
  let claims: Record<string, unknown>
  try {
    claims = decodeClaims(idToken)
  } catch (cause) {
    throw new TesseraError({
      code: 'invalid_callback',
      message: 'The ID token is malformed.',
      cause,
    })
  }
  const aud = claims['aud']
  const audiences = Array.isArray(aud) ? aud : [aud]
  const problem =
    String(claims['iss']).replace(/\/+$/, '') !== expected.issuer
      ? 'iss'
      : !audiences.includes(expected.clientId)
        ? 'aud'
        : !(typeof claims['exp'] === 'number' && claims['exp'] * 1000 > expected.now)
          ? 'exp'
          : expected.nonce !== undefined && claims['nonce'] !== expected.nonce
            ? 'nonce'
            : typeof claims['sub'] !== 'string'
              ? 'sub'
              : undefined
  if (problem !== undefined) throw invalid(`The ID token's "${problem}" is not the expected one.`)
  return claims
}

/** The user an ID token (or userinfo) describes. */
export function userFromClaims(claims: Record<string, unknown>): User {
  const roles = claims['roles']
  return {
    id: String(claims['sub']),
    email: typeof claims['email'] === 'string' ? claims['email'] : '',
    name: typeof claims['name'] === 'string' ? claims['name'] : null,
    roles: Array.isArray(roles) ? roles.map(String) : [],
    emailVerified: claims['email_verified'] === true,
  }
}
