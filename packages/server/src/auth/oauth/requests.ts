// The authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1)
// checked once at /oauth/authorize and kept while the user signs in and
// consents: a stored challenge of kind `oauth_request`, named by an opaque id.

import type { OAuthClientRecord } from '../../storage/ports.ts'
import { redirectUriMatches } from './clients.ts'
import { OAuthError, type OAuthErrorCode } from './errors.ts'
import { checkScopes, OPENID, parseScope } from './scopes.ts'

/** What the rest of the flow needs of the request. */
export interface AuthorizationRequest {
  clientId: string
  redirectUri: string
  /** Whether the request named it (then the token request must name it too, RFC 6749 §4.1.3). */
  redirectUriGiven: boolean
  scopes: string[]
  state?: string
  nonce?: string
  codeChallenge: string
  prompt: ('none' | 'login' | 'consent')[]
  /** Seconds (OpenID Connect `max_age`). */
  maxAge?: number
  loginHint?: string
  /**
   * Tessera's `provider` parameter: a social-login provider id; a user who
   * must sign in is sent to that provider rather than to /login.
   */
  provider?: string
  resource?: string
  /** Epoch ms; with `prompt=login` a sign-in must be newer. */
  createdAt: number
}

/** Where an error may go: a page of ours, or back to the client. */
export type RequestProblem =
  | { kind: 'error_page'; error: OAuthErrorCode; description: string }
  | {
      kind: 'redirect_error'
      redirectUri: string
      state?: string
      error: OAuthErrorCode
      description: string
    }

/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/
const MAX_PARAM_LENGTH = 2048
const PROMPTS = new Set(['none', 'login', 'consent'])

/**
 * Checks an authorization request. An unknown client or a redirect URI it
 * did not register is an error page (RFC 6749 §4.1.2.1: never redirect
 * there, or the server would be an open redirector); every other problem
 * goes back to the client's redirect URI.
 */
export function checkAuthorizationRequest(input: {
  params: Readonly<Record<string, string>>
  /** Parameters sent more than once (RFC 6749 §3.1: must not be). */
  repeated: readonly string[]
  client: OAuthClientRecord | undefined
  /** The resources a client may name: the server's audience and TESSERA_OAUTH_RESOURCES. */
  resources: readonly string[]
  /** The social-login provider ids (TESSERA_PROVIDERS) a `provider` hint may name. */
  providers: readonly string[]
  now: number
}): AuthorizationRequest | RequestProblem {
  const { params, repeated, client } = input
  if (repeated.includes('client_id') || repeated.includes('redirect_uri')) {
    return {
      kind: 'error_page',
      error: 'invalid_request',
      description: 'client_id and redirect_uri must be sent once',
    }
  }
  if (params['client_id'] === undefined) {
    return { kind: 'error_page', error: 'invalid_request', description: 'client_id is required' }
  }
  if (client === undefined) {
    return {
      kind: 'error_page',
      error: 'invalid_request',
      description: 'client_id names no registered client',
    }
  }
  let redirectUri = params['redirect_uri']
  const redirectUriGiven = redirectUri !== undefined
  if (redirectUri === undefined) {
    // RFC 6749 §3.1.2.3: may be left out when exactly one is registered (not with openid: OIDC requires it).
    if (client.redirectUris.length !== 1 || parseScopeQuietly(params['scope']).includes(OPENID)) {
      return {
        kind: 'error_page',
        error: 'invalid_request',
        description: 'redirect_uri is required',
      }
    }
    redirectUri = client.redirectUris[0] as string
  } else if (!redirectUriMatches(client.redirectUris, redirectUri)) {
    return {
      kind: 'error_page',
      error: 'invalid_request',
      description: 'redirect_uri is not registered for this client',
    }
  }
  const state = params['state']
  const back = (error: OAuthErrorCode, description: string): RequestProblem => ({
    kind: 'redirect_error',
    redirectUri: redirectUri as string,
    ...(state === undefined || repeated.includes('state') ? {} : { state }),
    error,
    description,
  })

  if (repeated.length > 0)
    return back('invalid_request', `${repeated.join(', ')} must be sent once`)
  for (const [name, value] of Object.entries(params)) {
    if (value.length > MAX_PARAM_LENGTH) return back('invalid_request', `${name} is too long`)
  }
  if (params['request'] !== undefined)
    return back('request_not_supported', 'request objects are not supported')
  if (params['request_uri'] !== undefined)
    return back('request_uri_not_supported', 'request_uri is not supported')
  if (params['registration'] !== undefined)
    return back('registration_not_supported', 'registration is not supported')
  const responseType = params['response_type']
  if (responseType === undefined) return back('invalid_request', 'response_type is required')
  if (responseType !== 'code')
    return back('unsupported_response_type', 'only response_type=code is supported')
  if (!client.grantTypes.includes('authorization_code')) {
    return back('unauthorized_client', 'this client may not use the authorization code grant')
  }
  const responseMode = params['response_mode']
  if (responseMode !== undefined && responseMode !== 'query') {
    return back('invalid_request', 'only response_mode=query is supported')
  }

  // RFC 9700 §2.1.1: PKCE for every client, S256 only.
  const challenge = params['code_challenge']
  const method = params['code_challenge_method']
  if (challenge === undefined)
    return back('invalid_request', 'code_challenge is required (PKCE, S256)')
  if (method !== 'S256') return back('invalid_request', 'code_challenge_method must be S256')
  if (!S256_CHALLENGE.test(challenge))
    return back('invalid_request', 'code_challenge is not an S256 challenge')

  let scopes: string[]
  try {
    scopes = parseScope(params['scope'])
    checkScopes(scopes, client.scopes)
  } catch (error) {
    if (error instanceof OAuthError) return back(error.code, error.message)
    throw error
  }

  const prompt = (params['prompt'] ?? '').split(' ').filter((value) => value !== '')
  if (prompt.some((value) => !PROMPTS.has(value)))
    return back('invalid_request', 'prompt must be none, login or consent')
  if (prompt.includes('none') && prompt.length > 1)
    return back('invalid_request', 'prompt=none cannot be combined')

  let maxAge: number | undefined
  if (params['max_age'] !== undefined) {
    if (!/^\d{1,9}$/.test(params['max_age']))
      return back('invalid_request', 'max_age must be a whole number of seconds')
    maxAge = Number(params['max_age'])
  }
  const resource = params['resource']
  if (resource !== undefined && !input.resources.includes(resource)) {
    return back('invalid_target', 'the resource is not one this server issues tokens for')
  }
  // An extension parameter, so not ignored when unknown: a client that names
  // a provider expects its user to meet that provider, not a password form.
  const provider = params['provider']
  if (provider !== undefined && !input.providers.includes(provider)) {
    return back('invalid_request', 'provider names no identity provider of this server')
  }
  return {
    clientId: client.id,
    redirectUri,
    redirectUriGiven,
    scopes,
    ...(state === undefined ? {} : { state }),
    ...(params['nonce'] === undefined ? {} : { nonce: params['nonce'] }),
    codeChallenge: challenge,
    prompt: prompt as AuthorizationRequest['prompt'],
    ...(maxAge === undefined ? {} : { maxAge }),
    ...(params['login_hint'] === undefined ? {} : { loginHint: params['login_hint'] }),
    ...(provider === undefined ? {} : { provider }),
    ...(resource === undefined ? {} : { resource }),
    createdAt: input.now,
  }
}

function parseScopeQuietly(raw: string | undefined): string[] {
  try {
    return parseScope(raw)
  } catch {
    return []
  }
}

/**
 * The client's redirect URI with the response parameters added to its query
 * (RFC 6749 §4.1.2), and `iss` (RFC 9207) so a client that talks to several
 * servers knows which one answered.
 */
export function redirectWith(
  redirectUri: string,
  params: Record<string, string | undefined>,
): string {
  const url = new URL(redirectUri)
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined) url.searchParams.append(name, value)
  }
  return url.href
}
