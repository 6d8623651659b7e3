// /.well-known/*: the JWKS resource servers verify with, and the discovery
// documents (RFC 8414 and OpenID Connect Discovery metadata, limited to what
// Tessera really supports).

import { createHash } from 'node:crypto'
import { type Static, Type } from '@sinclair/typebox'
import { DPOP_ALGORITHMS } from '@tessera/jwt'
import { REVOCATIONS_SCOPE } from '../../auth/oauth/scopes.ts'
import type { AccessFlows } from '../../auth/types.ts'
import { refreshCookieName } from '../plugins/browser-session.ts'
import { NoQuery, withErrors } from '../schemas/common.ts'
import { Discovery, Jwks } from '../schemas/discovery.ts'
import type { RouteDeps, TypedApp } from './deps.ts'

const TAGS = ['discovery']
/**
 * Five minutes: a new key is published as "next" well before it signs
 * (architecture.md, Keys), so caches this short never miss a signing key.
 */
const PUBLIC_CACHE = 'public, max-age=300'

/** RFC 9110 §13.1.2: If-None-Match uses the weak comparison. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header.trim() === '*') return true
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '')
  return header.split(',').some((tag) => opaque(tag) === opaque(etag))
}

/**
 * Registers /.well-known/jwks.json and /.well-known/openid-configuration.
 *
 * @example
 * registerWellKnownRoutes(app, { config, auth, authenticate })
 */
export function registerWellKnownRoutes(
  app: TypedApp,
  deps: Omit<RouteDeps<Pick<AccessFlows, 'jwks'>>, 'authenticate'>,
): void {
  const { auth, config } = deps
  const url = (path: string) => `${config.issuer}${path}`

  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Public signing keys: next, current and retired-but-valid',
        response: withErrors({ 200: Jwks, 304: Type.Null({ description: 'Not modified.' }) }),
      },
    },
    async (request, reply) => {
      const jwks = auth.jwks()
      // The tag covers the whole document, so it changes whenever a key does.
      const etag = `"${createHash('sha256').update(JSON.stringify(jwks)).digest('base64url').slice(0, 27)}"`
      reply
        .header('cache-control', PUBLIC_CACHE)
        .header('etag', etag)
        .header('access-control-allow-origin', '*')
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send(null)
      // The service types JWKs loosely; the response schema lets only public members out.
      return jwks as Static<typeof Jwks>
    },
  )

  /** The algorithms a client may sign its assertion (private_key_jwt) with. */
  const ASSERTION_ALGS = [
    'ES256',
    'ES384',
    'ES512',
    'RS256',
    'RS384',
    'RS512',
    'PS256',
    'PS384',
    'PS512',
    'EdDSA',
  ]
  const metadata = () => {
    const algorithms = new Set<string>([config.signingAlg])
    for (const key of auth.jwks().keys)
      if (typeof key['alg'] === 'string') algorithms.add(key['alg'])
    const clientAuth = ['client_secret_basic', 'client_secret_post', 'private_key_jwt']
    // The browser endpoints need the hosted pages (login, consent): without
    // them, no authorization code, so neither they nor the code grant are named.
    const browser = config.pagesEnabled
    return {
      issuer: config.issuer,
      ...(browser ? { authorization_endpoint: url('/oauth/authorize') } : {}),
      token_endpoint: url('/oauth/token'),
      userinfo_endpoint: url('/oauth/userinfo'),
      jwks_uri: url('/.well-known/jwks.json'),
      ...(browser ? { end_session_endpoint: url('/oauth/logout') } : {}),
      revocation_endpoint: url('/oauth/revoke'),
      introspection_endpoint: url('/oauth/introspect'),
      scopes_supported: ['openid', 'profile', 'email', 'offline_access', REVOCATIONS_SCOPE],
      response_types_supported: browser ? ['code'] : [],
      ...(browser ? { response_modes_supported: ['query'] } : {}),
      grant_types_supported: [
        ...(browser ? ['authorization_code'] : []),
        'refresh_token',
        'client_credentials',
      ],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [config.signingAlg],
      token_endpoint_auth_methods_supported: [...clientAuth, 'none'],
      token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
      revocation_endpoint_auth_methods_supported: [...clientAuth, 'none'],
      revocation_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
      introspection_endpoint_auth_methods_supported: clientAuth,
      introspection_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
      code_challenge_methods_supported: ['S256'],
      // RFC 9449 §5.1: the algorithms a DPoP proof may use (every asymmetric one).
      dpop_signing_alg_values_supported: [...DPOP_ALGORITHMS],
      claims_supported: [
        'iss',
        'sub',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'nonce',
        'amr',
        'idp',
        'sid',
        'name',
        'email',
        'email_verified',
        'updated_at',
      ],
      ...(browser ? { prompt_values_supported: ['none', 'login', 'consent'] } : {}),
      authorization_response_iss_parameter_supported: true,
      claims_parameter_supported: false,
      request_parameter_supported: false,
      request_uri_parameter_supported: false,
      tessera: {
        access_token_signing_alg_values_supported: [...algorithms],
        signup_endpoint: url('/auth/signup'),
        login_endpoint: url('/auth/login'),
        refresh_endpoint: url('/auth/refresh'),
        logout_endpoint: url('/auth/logout'),
        logout_all_endpoint: url('/auth/logout-all'),
        me_endpoint: url('/auth/me'),
        sessions_endpoint: url('/auth/sessions'),
        password_endpoint: url('/auth/password'),
        openapi_endpoint: url('/openapi.json'),
        refresh_cookie_name: refreshCookieName(config),
        csrf_header_name: 'X-Tessera-CSRF',
      },
    }
  }

  // OpenID Connect Discovery 1.0 §4 and RFC 8414 §3: one document, two names.
  for (const [path, summary] of [
    [
      '/.well-known/openid-configuration',
      'OpenID provider metadata (OpenID Connect Discovery 1.0)',
    ],
    ['/.well-known/oauth-authorization-server', 'Authorization server metadata (RFC 8414)'],
  ] as const) {
    app.get(
      path,
      {
        schema: {
          tags: TAGS,
          querystring: NoQuery,
          summary,
          response: withErrors({ 200: Discovery }),
        },
      },
      async (_request, reply) => {
        // Public documents: any origin's script may read them (OpenID Connect Discovery §4).
        reply.header('cache-control', PUBLIC_CACHE).header('access-control-allow-origin', '*')
        return metadata()
      },
    )
  }
}
