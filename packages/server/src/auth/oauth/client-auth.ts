// Client authentication at the token, introspection and revocation
// endpoints (RFC 6749 §2.3): a secret in the Basic header or the form, a
// signed assertion (RFC 7523 `private_key_jwt`), or none for a public
// client. A client authenticates by the one method it registered.

import { decode, isJwtError, KeySet, verify } from '@tessera/jwt'
import type { OAuthClientRecord, TokenEndpointAuthMethod } from '../../storage/ports.ts'
import type { FlowContext } from '../context.ts'
import type { ClientCredentials } from '../types.ts'
import { clientSecretMatches } from './clients.ts'
import { OAuthError } from './errors.ts'

/** RFC 7523 §2.2. */
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
/** The algorithms a client may sign its assertion with: asymmetric only (its keys are public). */
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
] as const
/** An assertion's `exp` may lie at most this far ahead: its `jti` is stored until then. */
const MAX_ASSERTION_LIFETIME_MS = 60 * 60_000
/** Parsed client key sets, by the JWKS text they came from. */
const KEY_SET_CACHE_SIZE = 256

/**
 * The registered method the client used, and who it claims to be; throws
 * invalid_request when it offers two methods at once (RFC 6749 §2.3) and
 * invalid_client when it offers none or a malformed one.
 */
function presented(credentials: ClientCredentials): {
  method: TokenEndpointAuthMethod
  clientId: string
  secret?: string
  assertion?: string
} {
  const { authorization, params } = credentials
  const offered: TokenEndpointAuthMethod[] = []
  let basic: { clientId: string; secret: string } | undefined
  if (authorization !== undefined && /^basic /i.test(authorization)) {
    basic = parseBasic(authorization.slice(6).trim())
    offered.push('client_secret_basic')
  }
  if (params['client_secret'] !== undefined) offered.push('client_secret_post')
  if (params['client_assertion'] !== undefined || params['client_assertion_type'] !== undefined) {
    offered.push('private_key_jwt')
  }
  if (offered.length > 1) {
    throw new OAuthError('invalid_request', 'use one client authentication method, not several')
  }
  switch (offered[0]) {
    case 'client_secret_basic':
      if (basic === undefined)
        throw new OAuthError('invalid_client', 'the Basic credentials are malformed')
      if (params['client_id'] !== undefined && params['client_id'] !== basic.clientId) {
        throw new OAuthError('invalid_request', 'client_id differs from the authenticated client')
      }
      return { method: 'client_secret_basic', ...basic }
    case 'client_secret_post':
      if (params['client_id'] === undefined) {
        throw new OAuthError('invalid_client', 'client_id is required with client_secret')
      }
      return {
        method: 'client_secret_post',
        clientId: params['client_id'],
        secret: params['client_secret'] as string,
      }
    case 'private_key_jwt': {
      const assertion = params['client_assertion']
      if (params['client_assertion_type'] !== JWT_BEARER_ASSERTION || assertion === undefined) {
        throw new OAuthError(
          'invalid_client',
          `client_assertion_type must be ${JWT_BEARER_ASSERTION}, with a client_assertion`,
        )
      }
      let sub: unknown
      try {
        sub = decode(assertion).payload['sub']
      } catch {
        throw new OAuthError('invalid_client', 'the client assertion is malformed')
      }
      if (
        typeof sub !== 'string' ||
        (params['client_id'] !== undefined && params['client_id'] !== sub)
      ) {
        throw new OAuthError('invalid_client', 'the client assertion does not name the client')
      }
      return { method: 'private_key_jwt', clientId: sub, assertion }
    }
    default:
      if (params['client_id'] === undefined) {
        throw new OAuthError('invalid_client', 'client authentication is required')
      }
      return { method: 'none', clientId: params['client_id'] }
  }
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding. */
function parseBasic(encoded: string): { clientId: string; secret: string } | undefined {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) return undefined
  try {
    const formDecode = (part: string) => decodeURIComponent(part.replaceAll('+', ' '))
    return {
      clientId: formDecode(decoded.slice(0, colon)),
      secret: formDecode(decoded.slice(colon + 1)),
    }
  } catch {
    return undefined
  }
}

export interface ClientAuthenticator {
  /**
   * The authenticated client. `audiences` are the URLs an assertion's `aud`
   * may name (the issuer and this endpoint). invalid_client (401) for an
   * unknown client, a wrong secret, a bad or replayed assertion, or a
   * method other than the registered one.
   */
  authenticate(
    credentials: ClientCredentials,
    audiences: readonly string[],
  ): Promise<OAuthClientRecord>
}

export function createClientAuthenticator(
  ctx: Pick<FlowContext, 'store' | 'now'>,
): ClientAuthenticator {
  const keySets = new Map<string, KeySet>()

  function keySetOf(client: OAuthClientRecord): KeySet {
    const jwks = client.jwks ?? '{"keys":[]}'
    let keys = keySets.get(jwks)
    if (keys === undefined) {
      keys = KeySet.fromJwks(JSON.parse(jwks))
      if (keySets.size >= KEY_SET_CACHE_SIZE) keySets.delete(keySets.keys().next().value as string)
      keySets.set(jwks, keys)
    }
    return keys
  }

  async function checkAssertion(
    client: OAuthClientRecord,
    assertion: string,
    audiences: readonly string[],
  ): Promise<void> {
    let payload: Record<string, unknown>
    try {
      payload = verify(assertion, keySetOf(client), {
        algorithms: ASSERTION_ALGS,
        issuer: client.id,
        subject: client.id,
        audience: audiences,
        requiredClaims: ['exp', 'jti'],
        currentDate: new Date(ctx.now()),
        clockTolerance: 5,
      }).payload
    } catch (error) {
      if (isJwtError(error))
        throw new OAuthError('invalid_client', 'the client assertion is not valid')
      throw error
    }
    const expiresAt = (payload['exp'] as number) * 1000
    if (expiresAt - ctx.now() > MAX_ASSERTION_LIFETIME_MS) {
      throw new OAuthError('invalid_client', 'the client assertion must expire within an hour')
    }
    const jti = payload['jti']
    if (typeof jti !== 'string' || jti === '' || jti.length > 256) {
      throw new OAuthError('invalid_client', 'the client assertion needs a jti')
    }
    if (!(await ctx.store.oauth.useAssertion(client.id, jti, expiresAt))) {
      throw new OAuthError('invalid_client', 'the client assertion was used before')
    }
  }

  return {
    async authenticate(credentials, audiences) {
      const offer = presented(credentials)
      const client = await ctx.store.oauth.findClient(offer.clientId)
      // One answer for an unknown client, a wrong secret and a wrong method:
      // nothing tells which client ids exist.
      // (Built only when needed: an Error's stack trace costs on every request.)
      const refused = () => new OAuthError('invalid_client', 'client authentication failed')
      if (client === undefined || client.tokenEndpointAuthMethod !== offer.method) throw refused()
      switch (offer.method) {
        case 'client_secret_basic':
        case 'client_secret_post':
          if (offer.secret === undefined || !clientSecretMatches(client, offer.secret))
            throw refused()
          break
        case 'private_key_jwt':
          await checkAssertion(client, offer.assertion as string, audiences)
          break
        default:
          break
      }
      return client
    },
  }
}
