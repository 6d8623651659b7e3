// panva's oidc-provider (v9, an OpenID Certified provider) started in process
// on 127.0.0.1 as the reference Tessera's wire answers are compared with:
// the same client set, PKCE required for every client, refresh tokens issued
// to every client allowed the grant and rotated on each use, no consent
// screen (a test stands in for the user and allows everything).
// Nothing here is used by the server.

import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import {
  type ClientMetadata,
  type ClientRole,
  OriginCookies,
  type RegisteredClient,
  readJson,
} from './oauth-wire.ts'

/** The one account the reference signs in. */
export const REFERENCE_ACCOUNT = {
  id: 'reference-user-1',
  email: 'reference@example.com',
  name: 'Reference User',
} as const

/**
 * The slice of oidc-provider's API this file uses. The package ships no
 * TypeScript declarations (and @types/oidc-provider is not a dependency), so
 * it is imported by a computed specifier and typed here.
 */
interface OidcProvider {
  callback(): (request: IncomingMessage, response: ServerResponse) => void
  interactionDetails(
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<{
    prompt: { name: string; details: { missingOIDCScope?: string[] } }
    params: Record<string, unknown>
    session?: { accountId: string }
    grantId?: string
  }>
  interactionFinished(
    request: IncomingMessage,
    response: ServerResponse,
    result: Record<string, unknown>,
    options: { mergeWithLastSubmission: boolean },
  ): Promise<void>
  Grant: {
    new (init: {
      accountId: string
      clientId: string
    }): { addOIDCScope(scope: string): void; save(): Promise<string> }
    find(id: string): Promise<{ addOIDCScope(scope: string): void; save(): Promise<string> }>
  }
  on(event: string, listener: (...args: unknown[]) => void): void
}
type ProviderConstructor = new (issuer: string, configuration: object) => OidcProvider

/** What the authorization endpoint ended with: a redirect to the client, or a page of its own. */
export type AuthorizeOutcome =
  | { readonly kind: 'redirect'; readonly url: URL }
  | { readonly kind: 'page'; readonly status: number; readonly text: string }

export interface ReferenceServer {
  readonly issuer: string
  readonly metadata: Record<string, unknown>
  readonly clients: Record<ClientRole, RegisteredClient>
  /** Unexpected exceptions inside the provider (it answers them as server_error). */
  readonly serverErrors: unknown[]
  /**
   * Sends the user agent to the authorization endpoint with `params`, signs
   * the account in and allows what is asked, and follows the provider's own
   * redirects until one leaves its origin (the response to the client) or a
   * page is shown (an error the provider does not redirect).
   */
  authorize(params: Record<string, string> | URLSearchParams): Promise<AuthorizeOutcome>
  close(): Promise<void>
}

/** Secrets are 32 random bytes, as Tessera's; ids the provider's own length. */
function credentials(metadata: ClientMetadata, role: ClientRole): RegisteredClient {
  const confidential =
    metadata.token_endpoint_auth_method === 'client_secret_basic' ||
    metadata.token_endpoint_auth_method === 'client_secret_post'
  return {
    role,
    id: `${role}-${randomBytes(16).toString('base64url')}`,
    secret: confidential ? randomBytes(32).toString('base64url') : undefined,
    metadata,
  }
}

/** The provider's client record: RFC 7591 names, minus Tessera's extension. */
function providerClient(client: RegisteredClient): Record<string, unknown> {
  const { first_party: _firstParty, ...metadata } = client.metadata
  return {
    ...metadata,
    client_id: client.id,
    ...(client.secret === undefined ? {} : { client_secret: client.secret }),
    // oidc-provider ignores the port of a loopback redirect URI only for native clients (RFC 8252 §7.3).
    application_type: client.role === 'native' ? 'native' : 'web',
    ...(client.role === 'jwt' ? { token_endpoint_auth_signing_alg: 'ES256' } : {}),
  }
}

/** Starts oidc-provider with `clients` registered; the issuer is the address it listens on. */
export async function startReference(
  clients: Record<ClientRole, ClientMetadata>,
): Promise<ReferenceServer> {
  const registered = Object.fromEntries(
    Object.entries(clients).map(([role, metadata]) => [
      role,
      credentials(metadata, role as ClientRole),
    ]),
  ) as Record<ClientRole, RegisteredClient>
  const server = createServer()
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  const issuer = `http://127.0.0.1:${address.port}`

  const specifier: string = 'oidc-provider'
  const { default: Provider } = (await import(specifier)) as { default: ProviderConstructor }
  const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    format: 'jwk',
  })
  const account = REFERENCE_ACCOUNT
  const provider = new Provider(issuer, {
    clients: Object.values(registered).map(providerClient),
    jwks: { keys: [{ ...signingKey, kid: 'reference-rs256', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // Tessera requires PKCE (S256) of every client; oidc-provider v9 knows only S256.
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'tessera:revocations'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    // Tessera issues a refresh token to every client allowed the grant and rotates it on each use.
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(g: string): boolean }) =>
      client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    // RFC 6749 §4.1.3: redirect_uri is REQUIRED at the token endpoint when the
    // authorization request had one; oidc-provider fills in a client's only URI unless told not to.
    allowOmittingSingleRegisteredRedirectUri: false,
    // Tessera answers only the code flow.
    responseTypes: ['code'],
    // Lifetimes of the same order as Tessera's defaults (seconds).
    ttl: {
      AccessToken: 900,
      AuthorizationCode: 60,
      ClientCredentials: 900,
      IdToken: 900,
      Interaction: 600,
      Session: 86_400,
      Grant: 86_400,
      RefreshToken: 30 * 86_400,
    },
    interactions: {
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    findAccount: async (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: async () => ({
        sub: id,
        email: account.email,
        email_verified: true,
        name: account.name,
      }),
    }),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      // Tessera's `resource` is optional; the reference is left without resource servers.
      resourceIndicators: { enabled: false },
    },
  })
  const serverErrors: unknown[] = []
  provider.on('server_error', (_ctx, error) => serverErrors.push(error))

  const handle = provider.callback()
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (!request.url?.startsWith('/interaction/')) {
      handle(request, response)
      return
    }
    // The interaction "page": the user signs in, then allows every scope asked.
    void finishInteraction(provider, request, response, account.id).catch((error: unknown) => {
      serverErrors.push(error)
      response.statusCode = 500
      response.end()
    })
  })

  const discovery = await fetch(`${issuer}/.well-known/openid-configuration`)
  const metadata = await readJson(discovery)

  return {
    issuer,
    metadata,
    clients: registered,
    serverErrors,
    async authorize(params) {
      const cookies = new OriginCookies()
      let url = new URL(String(metadata.authorization_endpoint))
      url.search = new URLSearchParams(params).toString()
      for (let hops = 0; hops < 10; hops++) {
        const response = await fetch(url, {
          redirect: 'manual',
          headers: { cookie: cookies.header() },
        })
        cookies.store(response)
        const location = response.headers.get('location')
        if (response.status < 300 || response.status >= 400 || location === null) {
          return { kind: 'page', status: response.status, text: await response.text() }
        }
        await response.body?.cancel()
        url = new URL(location, url)
        if (url.origin !== issuer) return { kind: 'redirect', url }
      }
      throw new Error('the reference redirected more than 10 times')
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      }),
  }
}

async function finishInteraction(
  provider: OidcProvider,
  request: IncomingMessage,
  response: ServerResponse,
  accountId: string,
): Promise<void> {
  const details = await provider.interactionDetails(request, response)
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(
      request,
      response,
      { login: { accountId } },
      { mergeWithLastSubmission: false },
    )
    return
  }
  const grant =
    details.grantId === undefined
      ? new provider.Grant({
          accountId: details.session?.accountId ?? accountId,
          clientId: String(details.params.client_id),
        })
      : await provider.Grant.find(details.grantId)
  grant.addOIDCScope(String(details.params.scope ?? 'openid'))
  const grantId = await grant.save()
  await provider.interactionFinished(
    request,
    response,
    { consent: { grantId } },
    { mergeWithLastSubmission: true },
  )
}
