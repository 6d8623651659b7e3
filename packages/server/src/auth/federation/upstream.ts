// The conversation with one upstream provider, through openid-client (v6,
// panva's certified relying party on oauth4webapi): discovery, the
// authorization URL with PKCE (S256), `state` and `nonce`, and the code
// exchange, which checks the authorization response (state, `iss` per RFC
// 9207, errors) and the ID token (signature over the provider's JWKS,
// `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`: OpenID Connect Core §3.1.3.7).
// Then who the person is: the ID token's claims (and userinfo when they lack
// an address), or for GitHub its user API. No HTTP framework here: the
// routes pass the callback's query in and get a profile out. Sign in with
// Apple adds its client secret (a JWT signed here, ES256) and its
// once-only `user` field.

import {
  ALGORITHMS,
  createRemoteKeySet,
  importPem,
  isJwtError,
  type Key,
  type RemoteKeySet,
  sign,
  verify,
} from '@tessera/jwt'
import type * as OpenIdClient from 'openid-client'
import type { AppleClientSecretConfig } from '../../config/types.ts'
import type { ResolvedProvider } from './presets.ts'

/**
 * The signatures an ID token may carry: every asymmetric algorithm
 * @tessera/jwt knows. HS* would take the client secret as the key (OpenID
 * Connect Core §10.1); no preset needs it, and refusing it closes algorithm
 * confusion.
 */
const ID_TOKEN_ALGORITHMS = ALGORITHMS.filter((alg) => !alg.startsWith('HS'))

/** Who the provider says signed in. */
export interface UpstreamProfile {
  /** The provider's stable id of the person (`sub`; GitHub's numeric id). */
  readonly subject: string
  /** As the provider gave it (not normalized); null when it gave none. */
  readonly email: string | null
  /** Only true when the provider says it verified `email`. */
  readonly emailVerified: boolean
  readonly name: string | null
  /** What the code bought: kept (sealed) only for a provider configured with keepTokens. */
  readonly tokens: ProviderTokens
}

/** The provider's tokens of one sign-in, or of a refresh. */
export interface ProviderTokens {
  readonly accessToken: string
  /** Null when the provider issued none (most do only for `offline_access` or a setting of theirs). */
  readonly refreshToken: string | null
  /** When the access token expires, in ms since the epoch (this process's clock); null: the provider did not say. */
  readonly expiresAt: number | null
  /** The scopes granted, when the provider said (RFC 6749 §5.1: it may omit them when as asked). */
  readonly scope: string | null
}

/** What the start of a sign-in keeps for its callback (sealed in the browser's flow cookie). */
export interface FlowSecrets {
  readonly state: string
  /** Undefined for a provider without ID tokens (GitHub). */
  readonly nonce: string | undefined
  readonly codeVerifier: string
}

/** Why the provider's part failed, as the flows report it (never a token or the provider's text). */
export type UpstreamFailure =
  | 'access_denied'
  | 'provider_error'
  | 'provider_unavailable'
  | 'state_mismatch'
  | 'invalid_response'

export class UpstreamError extends Error {
  readonly reason: UpstreamFailure

  constructor(reason: UpstreamFailure, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'UpstreamError'
    this.reason = reason
  }
}

export interface Upstream {
  /** Where to send the browser, and what the callback must hold to finish. */
  start(): Promise<{ url: URL; secrets: FlowSecrets }>
  /** Exchanges the code of `callbackUrl` and says who signed in. */
  finish(callbackUrl: URL, secrets: FlowSecrets): Promise<UpstreamProfile>
  /**
   * Trades a kept refresh token for fresh tokens (RFC 6749 §6).
   *
   * @throws UpstreamError `provider_unavailable` (down), else `invalid_response` (refused: revoked, expired).
   */
  refresh(refreshToken: string): Promise<ProviderTokens>
}

export interface UpstreamOptions {
  /** `<issuer>/auth/providers/<id>/callback`, as registered at the provider. */
  readonly redirectUri: string
  /** Seconds a request to the provider may take. */
  readonly timeout: number
  /** Every request to the provider goes through it (default the global fetch); tests stand in for a provider with it. */
  readonly fetch?: typeof fetch
}

/**
 * The upstream of `provider`. Discovery runs on first use and is kept; a
 * failed one is retried on the next sign-in (a provider down at boot must
 * not need a restart).
 */
/**
 * openid-client, imported by the first sign-in through a provider (with
 * oauth4webapi and jose under it): a deployment without providers never
 * loads it. Every use below comes after {@link loadClient} resolved.
 */
let client: typeof OpenIdClient

async function loadClient(): Promise<void> {
  client ??= await import('openid-client')
}

export function createUpstream(provider: ResolvedProvider, options: UpstreamOptions): Upstream {
  const { preset } = provider
  // Plain http only reaches this far for a loopback issuer outside production (config/providers.ts).
  const insecure = provider.issuer.startsWith('http:')
  let configuration: Promise<OpenIdClient.Configuration> | undefined

  const appleSecret =
    provider.apple === undefined
      ? undefined
      : createAppleClientSecret(provider.apple, provider.clientId, provider.issuer)

  async function build(): Promise<OpenIdClient.Configuration> {
    await loadClient()
    const metadata =
      provider.clientSecret === undefined ? {} : { client_secret: provider.clientSecret }
    let auth: OpenIdClient.ClientAuth | undefined
    if (appleSecret !== undefined) {
      // Apple takes client_secret_post, with a secret Tessera signs: a fresh
      // one (re-signed before it expires) for each request.
      auth = (server, clientMetadata, body, headers) =>
        client.ClientSecretPost(appleSecret())(server, clientMetadata, body, headers)
    } else if (provider.clientSecret === undefined) {
      auth = client.None()
    }
    if (preset.kind === 'oidc') {
      return await client.discovery(new URL(provider.issuer), provider.clientId, metadata, auth, {
        timeout: options.timeout,
        ...(options.fetch === undefined ? {} : { [client.customFetch]: options.fetch }),
        ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
      })
    }
    const config = new client.Configuration(
      {
        issuer: provider.issuer,
        authorization_endpoint: preset.authorizationEndpoint,
        token_endpoint: preset.tokenEndpoint,
      },
      provider.clientId,
      metadata,
      auth,
    )
    config.timeout = options.timeout
    if (options.fetch !== undefined) config[client.customFetch] = options.fetch
    if (insecure) client.allowInsecureRequests(config)
    return config
  }

  async function configure(): Promise<OpenIdClient.Configuration> {
    configuration ??= build().catch((error: unknown) => {
      configuration = undefined
      throw error
    })
    try {
      return await configuration
    } catch (error) {
      throw new UpstreamError('provider_unavailable', `provider ${provider.id}: discovery failed`, {
        cause: error,
      })
    }
  }

  let jwks: { uri: string; keys: RemoteKeySet } | undefined

  /**
   * openid-client checks the ID token's claims but, for a token taken
   * straight from the token endpoint over TLS, not its signature (OpenID
   * Connect Core §3.1.3.7 step 6 allows that). Tessera checks it anyway,
   * against the provider's JWKS with @tessera/jwt: a plain-http issuer in
   * development, or a compromised route to the token endpoint, must not be
   * enough to forge a sign-in.
   */
  async function checkSignature(config: OpenIdClient.Configuration, idToken: string | undefined) {
    if (idToken === undefined) throw new UpstreamError('invalid_response', 'no ID token')
    const uri = config.serverMetadata().jwks_uri
    if (uri === undefined)
      throw new UpstreamError('invalid_response', 'the provider has no jwks_uri')
    if (jwks?.uri !== uri)
      jwks = {
        uri,
        keys: createRemoteKeySet(uri, {
          timeout: options.timeout,
          ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
        }),
      }
    const claims = JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString())
    try {
      // iss, aud, exp and nonce were checked by openid-client (Entra's
      // {tenantid} issuer included); this repeats aud and binds iss to what it accepted.
      await verify(idToken, jwks.keys, {
        algorithms: ID_TOKEN_ALGORITHMS,
        issuer: String(claims.iss),
        audience: provider.clientId,
        clockTolerance: 30,
      })
    } catch (cause) {
      if (isJwtError(cause) && cause.code === 'jwks_unavailable') {
        throw new UpstreamError('provider_unavailable', "the provider's JWKS could not be read", {
          cause,
        })
      }
      throw new UpstreamError('invalid_response', "the ID token signature is not the provider's", {
        cause,
      })
    }
  }

  return {
    async start() {
      const config = await configure()
      const secrets: FlowSecrets = {
        state: client.randomState(),
        nonce: preset.kind === 'oidc' ? client.randomNonce() : undefined,
        codeVerifier: client.randomPKCECodeVerifier(),
      }
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: options.redirectUri,
        scope: provider.scopes.join(' '),
        state: secrets.state,
        ...(secrets.nonce === undefined ? {} : { nonce: secrets.nonce }),
        code_challenge: await client.calculatePKCECodeChallenge(secrets.codeVerifier),
        code_challenge_method: 'S256',
        ...(preset.kind === 'oidc' && preset.responseMode !== undefined
          ? { response_mode: preset.responseMode }
          : {}),
      })
      return { url, secrets }
    },

    async finish(callbackUrl, secrets) {
      // The provider's own refusal (RFC 6749 §4.1.2.1) comes before the state
      // check only in what it is called: a forged error cannot sign anyone in.
      const error = callbackUrl.searchParams.get('error')
      if (error !== null) {
        if (callbackUrl.searchParams.get('state') !== secrets.state) {
          throw new UpstreamError('state_mismatch', 'the state of the error response is not ours')
        }
        throw new UpstreamError(
          error === 'access_denied' ? 'access_denied' : 'provider_error',
          `provider ${provider.id} answered ${error.slice(0, 64)}`,
        )
      }
      if (callbackUrl.searchParams.get('state') !== secrets.state) {
        throw new UpstreamError('state_mismatch', 'the state of the response is not ours')
      }
      const config = await configure()
      let tokens: Awaited<ReturnType<typeof OpenIdClient.authorizationCodeGrant>>
      try {
        tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: secrets.codeVerifier,
          expectedState: secrets.state,
          ...(secrets.nonce === undefined ? {} : { expectedNonce: secrets.nonce }),
          idTokenExpected: preset.kind === 'oidc',
        })
      } catch (cause) {
        throw classify(cause, provider.id)
      }
      try {
        if (preset.kind === 'oidc') {
          await checkSignature(config, tokens.id_token)
          const profile = await oidcProfile(config, tokens, preset.verifiedEmailClaim)
          if (preset.apple !== true || profile.name !== null) return profile
          return { ...profile, name: appleUserName(callbackUrl.searchParams.get('user')) }
        }
        return await githubProfile(config, tokens, preset)
      } catch (cause) {
        if (cause instanceof UpstreamError) throw cause
        throw classify(cause, provider.id)
      }
    },

    async refresh(refreshToken) {
      const config = await configure()
      let tokens: Awaited<ReturnType<typeof OpenIdClient.refreshTokenGrant>>
      try {
        // An ID token in the answer is checked by openid-client (iss, aud,
        // exp); the tokens are only handed on, nobody signs in with them.
        tokens = await client.refreshTokenGrant(config, refreshToken)
      } catch (cause) {
        throw classify(cause, provider.id)
      }
      return tokensOf(tokens)
    },
  }
}

/**
 * Sign in with Apple's client secret: a JWT with `alg` ES256 and `kid` the
 * key id, `iss` the team id, `sub` the Services ID (client id), `aud` Apple's
 * issuer, and a short life (Apple allows up to six months; five minutes
 * limits what a leaked one is worth). It is kept and re-signed a minute
 * before it expires. The key is imported once, here, at the provider's
 * creation (the configuration checked it is a P-256 private key).
 */
export function createAppleClientSecret(
  apple: AppleClientSecretConfig,
  clientId: string,
  audience: string,
  now: () => number = Date.now,
): () => string {
  const key: Key = importPem(apple.privateKey, 'ES256', { kid: apple.keyId })
  let cached: { token: string; expiresAt: number } | undefined
  return () => {
    const at = now()
    if (cached === undefined || cached.expiresAt - at < APPLE_SECRET_RENEW_MS) {
      const token = sign({}, key, {
        issuer: apple.teamId,
        subject: clientId,
        audience,
        expiresIn: APPLE_SECRET_LIFETIME_S,
        currentDate: new Date(at),
      })
      cached = { token, expiresAt: at + APPLE_SECRET_LIFETIME_S * 1000 }
    }
    return cached.token
  }
}

/** Seconds an Apple client secret lives. */
export const APPLE_SECRET_LIFETIME_S = 300
/** A secret with less life than this left is signed anew. */
const APPLE_SECRET_RENEW_MS = 60_000
/** Longest name part kept from Apple's `user` field. */
const APPLE_NAME_MAX = 100

/**
 * The name in Sign in with Apple's `user` form field
 * (`{"name":{"firstName":"…","lastName":"…"},"email":"…"}`), sent on the
 * first authorization only. It is not signed: anyone posting to the
 * callback could write it, so it gives a name and nothing else; the
 * address comes from the ID token alone.
 */
export function appleUserName(raw: string | null): string | null {
  if (raw === null || raw.length > 2048) return null
  let user: unknown
  try {
    user = JSON.parse(raw)
  } catch {
    return null
  }
  const name =
    typeof user === 'object' && user !== null ? (user as { name?: unknown }).name : undefined
  if (typeof name !== 'object' || name === null) return null
  const part = (value: unknown) =>
    typeof value === 'string'
      ? value
          .replace(/\p{Cc}/gu, '')
          .trim()
          .slice(0, APPLE_NAME_MAX)
      : ''
  const { firstName, lastName } = name as { firstName?: unknown; lastName?: unknown }
  const full = [part(firstName), part(lastName)].filter((item) => item !== '').join(' ')
  return full === '' ? null : full
}

/** The tokens of a token endpoint's answer, the expiry turned into a time. */
function tokensOf(response: OpenIdClient.TokenEndpointResponse): ProviderTokens {
  const expiresIn = response.expires_in
  return {
    accessToken: response.access_token,
    refreshToken: text(response.refresh_token),
    expiresAt:
      typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn >= 0
        ? Date.now() + expiresIn * 1000
        : null,
    scope: text(response.scope),
  }
}

/** A network failure or timeout is the provider being down; anything else a response we refuse. */
function classify(cause: unknown, id: string): UpstreamError {
  const network =
    cause instanceof Error &&
    (cause.name === 'TimeoutError' ||
      cause.name === 'AbortError' ||
      (cause instanceof TypeError && /fetch failed/i.test(cause.message)) ||
      (cause instanceof client.ClientError && cause.code === 'OAUTH_TIMEOUT') ||
      (cause.cause instanceof Error &&
        /ECONNREFUSED|ECONNRESET|fetch failed/.test(String(cause.cause))))
  if (network) {
    return new UpstreamError('provider_unavailable', `provider ${id} could not be reached`, {
      cause,
    })
  }
  if (cause instanceof client.ResponseBodyError && cause.status >= 500) {
    return new UpstreamError('provider_unavailable', `provider ${id} answered ${cause.status}`, {
      cause,
    })
  }
  return new UpstreamError('invalid_response', `provider ${id}: the response was refused`, {
    cause,
  })
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}

async function oidcProfile(
  config: OpenIdClient.Configuration,
  tokens: Awaited<ReturnType<typeof OpenIdClient.authorizationCodeGrant>>,
  verifiedEmailClaim: string | undefined,
): Promise<UpstreamProfile> {
  const claims = tokens.claims()
  if (claims === undefined) {
    throw new UpstreamError('invalid_response', 'the token response has no ID token')
  }
  let source: Record<string, unknown> = claims
  // Some providers (and minimal ID tokens) keep the address for userinfo.
  if (text(claims.email) === null && config.serverMetadata().userinfo_endpoint !== undefined) {
    source = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  }
  const email = text(source.email)
  // A string "true" is how Apple (and older Cognito) send booleans; anything else is "not verified".
  const yes = (value: unknown) => value === true || value === 'true'
  return {
    tokens: tokensOf(tokens),
    subject: claims.sub,
    email,
    emailVerified:
      email !== null &&
      (yes(source.email_verified) ||
        (verifiedEmailClaim !== undefined &&
          (yes(source[verifiedEmailClaim]) || yes(claims[verifiedEmailClaim])))),
    name: text(source.name) ?? text(claims.name),
  }
}

async function githubProfile(
  config: OpenIdClient.Configuration,
  tokens: OpenIdClient.TokenEndpointResponse,
  preset: { userEndpoint: string; emailsEndpoint: string },
): Promise<UpstreamProfile> {
  const accessToken = tokens.access_token
  const headers = new Headers({
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
  })
  const user = await readJson(
    await client.fetchProtectedResource(
      config,
      accessToken,
      new URL(preset.userEndpoint),
      'GET',
      undefined,
      headers,
    ),
  )
  const id = user.id
  if (typeof id !== 'number' && typeof id !== 'string') {
    throw new UpstreamError('invalid_response', 'the GitHub user has no id')
  }
  const emails = await readJson(
    await client.fetchProtectedResource(
      config,
      accessToken,
      new URL(preset.emailsEndpoint),
      'GET',
      undefined,
      headers,
    ),
  )
  const primary = Array.isArray(emails)
    ? emails.find(
        (entry: unknown) =>
          typeof entry === 'object' &&
          entry !== null &&
          (entry as Record<string, unknown>).primary === true,
      )
    : undefined
  const email = text((primary as Record<string, unknown> | undefined)?.email)
  return {
    tokens: tokensOf(tokens),
    subject: String(id),
    email,
    emailVerified: email !== null && (primary as Record<string, unknown>).verified === true,
    name: text(user.name) ?? text(user.login),
  }
}

// biome-ignore lint/suspicious/noExplicitAny: JSON of a foreign API, checked field by field
async function readJson(response: Response): Promise<any> {
  if (response.status >= 500) {
    await response.body?.cancel()
    throw new UpstreamError(
      'provider_unavailable',
      `the provider's API answered ${response.status}`,
    )
  }
  if (!response.ok) {
    await response.body?.cancel()
    throw new UpstreamError('invalid_response', `the provider's API answered ${response.status}`)
  }
  return await response.json()
}
