// The reference authorization server of bench/oauth.ts: panva's oidc-provider
// (OpenID Certified), configured as Tessera is for the bench: one confidential
// client (client_secret_basic; authorization_code with PKCE S256 required,
// refresh_token, client_credentials), one first-party account, ES256 for ID
// tokens and JWT access tokens, introspection on, two-hour access tokens.
// Storage is oidc-provider's default in-memory adapter (an LRU cache in this
// process): it has no SQL adapter of its own, and any other would be the
// bench's code, not the library's.
//
// Settings come as JSON in OIDC_BENCH (see OidcPeerSettings). Prints
// `listening on http://127.0.0.1:PORT` once it listens; the issuer is that URL.
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'

// oidc-provider ships JavaScript without type declarations (and
// @types/oidc-provider is not a dependency): the part this peer touches is
// typed here, and the module is imported by a name TypeScript does not try
// to resolve.
interface Grant {
  addOIDCScope(scope: string): void
  addResourceScope(resource: string, scope: string): void
  save(): Promise<string>
}
interface OidcContext {
  method: string
  path: string
  req: IncomingMessage
  res: ServerResponse
  redirect(url: string): void
  oidc: {
    client: { clientId: string }
    session: { accountId: string; grantIdFor(clientId: string): string | undefined }
    result?: { consent?: { grantId?: string } }
    provider: OidcProvider
  }
}
interface OidcProvider {
  Grant: {
    new (fields: { clientId: string; accountId: string }): Grant
    find(id: string): Promise<Grant | undefined>
  }
  use(middleware: (ctx: OidcContext, next: () => Promise<void>) => Promise<void>): void
  callback(): (req: IncomingMessage, res: ServerResponse) => void
  interactionDetails(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<{ prompt: { name: string; reasons: string[] } }>
  interactionResult(
    req: IncomingMessage,
    res: ServerResponse,
    result: unknown,
    options: { mergeWithLastSubmission: boolean },
  ): Promise<string>
}
interface OidcProviderModule {
  default: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider
  errors: { InvalidTarget: new () => Error }
}
const moduleName: string = 'oidc-provider'
const { default: Provider, errors } = (await import(moduleName)) as OidcProviderModule

/** What bench/oauth.ts hands the peer (OIDC_BENCH, JSON). */
export interface OidcPeerSettings {
  clientId: string
  clientSecret: string
  redirectUri: string
  /** The resource server whose access tokens are ES256 JWTs (RFC 8707 `resource`). */
  jwtResource: string
  /** Its scope (one scope token). */
  resourceScope: string
  account: { id: string; email: string; name: string }
}

const settings = JSON.parse(process.env.OIDC_BENCH ?? '') as OidcPeerSettings
const TWO_HOURS = 2 * 60 * 60

// The port first, so that the issuer is the address clients use (discovery,
// `iss` in tokens and in the authorization response, RFC 9207).
const server = createServer()
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
const { port } = server.address() as AddressInfo
const issuer = `http://127.0.0.1:${port}`

// One P-256 key, generated at start as Tessera generates its own.
const { privateKey } = await generateKeyPair('ES256', { extractable: true })
const signingKey = {
  ...(await exportJWK(privateKey)),
  kid: 'bench-es256',
  alg: 'ES256',
  use: 'sig',
}

const account = settings.account

const configuration = {
  clients: [
    {
      client_id: settings.clientId,
      client_secret: settings.clientSecret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: [settings.redirectUri],
      // The OpenID scopes it may ask for; the resource server's scope is
      // governed by getResourceServerInfo below (oidc-provider keeps the
      // two apart: a resource scope listed here would be taken for an
      // OpenID one and asked consent for).
      scope: 'openid profile email offline_access',
      id_token_signed_response_alg: 'ES256',
      // Tessera's ID tokens always carry auth_time.
      require_auth_time: true,
    },
  ],
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Tessera's ID tokens carry email, email_verified and name by scope; by
  // default oidc-provider keeps them for userinfo when the response type is
  // `code`. The same token on both sides.
  conformIdTokenClaims: false,
  findAccount: (_ctx: unknown, id: string) =>
    id === account.id
      ? {
          accountId: id,
          claims: () => ({
            sub: id,
            email: account.email,
            email_verified: true,
            name: account.name,
          }),
        }
      : undefined,
  // The client is the operator's own app (Tessera's `first_party`): no
  // consent. The grant is made on the session's first authorization and
  // remembered by the session (oidc-provider's own recipe for skipping
  // consent), so every later authorization only finds it.
  loadExistingGrant: async (ctx: OidcContext) => {
    const { client, session, provider } = ctx.oidc
    const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId)
    const existing = grantId === undefined ? undefined : await provider.Grant.find(grantId)
    // A replayed code revokes its grant: a first-party client is granted anew.
    if (existing !== undefined || client.clientId !== settings.clientId) return existing
    const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId })
    grant.addOIDCScope('openid profile email offline_access')
    grant.addResourceScope(settings.jwtResource, settings.resourceScope)
    await grant.save()
    return grant
  },
  // Code flow only, PKCE S256 for every client, as Tessera requires.
  pkce: { required: () => true },
  // Tessera gives a refresh token with every code to a client registered
  // with the refresh_token grant, offline_access or not (docs/oauth.md,
  // "Choices"); oidc-provider's default waits for offline_access.
  issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) =>
    client.grantTypeAllowed('refresh_token'),
  // The sign-in "page": the bench signs its account in here once, in setup;
  // nothing timed goes through an interaction.
  interactions: {
    url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // The code's resource carries over to the token request, as Tessera's
      // `resource` on /oauth/authorize chooses the token's audience.
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx: unknown, resource: string) => {
        if (resource !== settings.jwtResource) throw new errors.InvalidTarget()
        return {
          scope: settings.resourceScope,
          audience: settings.jwtResource,
          accessTokenTTL: TWO_HOURS,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        }
      },
    },
  },
  ttl: {
    // The bench's Tessera runs with TESSERA_ACCESS_TOKEN_TTL=2h.
    AccessToken: TWO_HOURS,
    ClientCredentials: TWO_HOURS,
    AuthorizationCode: 60,
    // Tessera's ID tokens live as long as the client's access tokens.
    IdToken: TWO_HOURS,
    Grant: 14 * 24 * 60 * 60,
    Session: 14 * 24 * 60 * 60,
    Interaction: 60 * 60,
    RefreshToken: 14 * 24 * 60 * 60,
  },
}

const provider = new Provider(issuer, configuration)

provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path.startsWith('/interaction/')) {
    // Signs the bench's account in: what a login page does once the
    // password is checked (the bench has one account and no password to
    // type; setup only).
    const details = await provider.interactionDetails(ctx.req, ctx.res)
    if (details.prompt.name !== 'login') {
      throw new Error(`unexpected interaction prompt ${JSON.stringify(details.prompt)}`)
    }
    const to = await provider.interactionResult(
      ctx.req,
      ctx.res,
      { login: { accountId: account.id } },
      { mergeWithLastSubmission: false },
    )
    ctx.redirect(to)
    return
  }
  await next()
})

server.on('request', provider.callback())
process.stdout.write(`listening on ${issuer}\n`)
process.on('SIGTERM', () => server.close())
