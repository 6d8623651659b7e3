// /.well-known/*: the JWKS resource servers verify with, and the discovery
// document (RFC 8414 metadata, limited to what Tessera really supports).

import { createHash } from 'node:crypto'
import { type Static, Type } from '@sinclair/typebox'
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
      reply.header('cache-control', PUBLIC_CACHE).header('etag', etag)
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send(null)
      // The service types JWKs loosely; the response schema lets only public members out.
      return jwks as Static<typeof Jwks>
    },
  )

  app.get(
    '/.well-known/openid-configuration',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Server metadata (RFC 8414 fields plus Tessera endpoints)',
        response: withErrors({ 200: Discovery }),
      },
    },
    async (_request, reply) => {
      const algorithms = new Set<string>([config.signingAlg])
      for (const key of auth.jwks().keys)
        if (typeof key['alg'] === 'string') algorithms.add(key['alg'])
      reply.header('cache-control', PUBLIC_CACHE)
      return {
        issuer: config.issuer,
        jwks_uri: url('/.well-known/jwks.json'),
        // The password grant of Tessera's own JSON API, not RFC 6749 form posts.
        token_endpoint: url('/auth/login'),
        grant_types_supported: ['password', 'refresh_token'],
        // No authorization endpoint, hence no response types (RFC 8414 §2 requires the member).
        response_types_supported: [],
        // Public clients only: no client authentication at the token endpoint.
        token_endpoint_auth_methods_supported: ['none'],
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
    },
  )
}
