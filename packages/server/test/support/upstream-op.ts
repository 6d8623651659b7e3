// An upstream OpenID provider for the social login tests: panva's
// oidc-provider (an OpenID Certified implementation) on 127.0.0.1, with one
// confidential client (PKCE required, client_secret_post) and interactions
// that finish by themselves: the login signs in `upstream.next` (or ends
// with access_denied when it is 'deny'), the consent grants what was asked.
// Used over HTTP by test/social-login.test.ts and by Chromium in
// test/browser/social-login.test.ts.

import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'

/** Who the upstream signs in next. */
export interface UpstreamAccount {
  sub: string
  email?: string
  email_verified?: boolean
  name?: string
}

interface OidcProvider {
  callback(): (request: IncomingMessage, response: ServerResponse) => void
  interactionDetails(
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<{
    prompt: { name: string }
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
  Grant: new (init: {
    accountId: string
    clientId: string
  }) => { addOIDCScope(scope: string): void; save(): Promise<string> }
  on(event: string, listener: (...args: unknown[]) => void): void
}
type ProviderConstructor = new (issuer: string, configuration: object) => OidcProvider

export interface UpstreamOp {
  /** `http://127.0.0.1:<port>`. */
  issuer: string
  /**
   * The client's redirect URIs. Read when the first request arrives, so a
   * test may add Tessera's callback once it knows its port.
   */
  redirectUris: string[]
  /** The account the next interaction signs in; `deny` ends it with access_denied. */
  next: UpstreamAccount | 'deny'
  /** How many interactions have signed someone in. */
  logins: number
  serverErrors: unknown[]
  close(): Promise<void>
}

export async function listen(server: Server): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return `http://127.0.0.1:${address.port}`
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((done) => {
    server.closeAllConnections()
    server.close(() => done())
  })
}

/** Starts oidc-provider with the client `clientId` / `clientSecret`. */
export async function startUpstreamOp(options: {
  clientId: string
  clientSecret: string
  redirectUris?: string[]
  /**
   * Refresh tokens with every code (no offline_access and prompt=consent
   * needed), and a revocation endpoint where revoking any token revokes its
   * grant, refresh tokens included (as a user removing the app there).
   */
  refreshTokens?: boolean
}): Promise<UpstreamOp> {
  const server = createServer()
  const issuer = await listen(server)
  const specifier: string = 'oidc-provider'
  const { default: Provider } = (await import(specifier)) as { default: ProviderConstructor }
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    format: 'jwk',
  })
  const accounts = new Map<string, UpstreamAccount>()
  const upstream: UpstreamOp = {
    issuer,
    redirectUris: [...(options.redirectUris ?? [])],
    next: { sub: 'nobody' },
    logins: 0,
    serverErrors: [],
    close: () => closeServer(server),
  }
  let built: { provider: OidcProvider; handle: ReturnType<OidcProvider['callback']> } | undefined
  const op = () => {
    if (built !== undefined) return built
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: options.clientId,
          client_secret: options.clientSecret,
          redirect_uris: upstream.redirectUris,
          grant_types: options.refreshTokens
            ? ['authorization_code', 'refresh_token']
            : ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_post',
        },
      ],
      jwks: { keys: [{ ...key, kid: 'upstream-rs256', use: 'sig', alg: 'RS256' }] },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      pkce: { required: () => true },
      scopes: ['openid', 'profile', 'email'],
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
      responseTypes: ['code'],
      interactions: {
        url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
      },
      findAccount: async (_ctx: unknown, id: string) => ({
        accountId: id,
        claims: async () => {
          const { sub: _sub, ...claims } = accounts.get(id) ?? { sub: id }
          return { sub: id, ...claims }
        },
      }),
      features: {
        devInteractions: { enabled: false },
        ...(options.refreshTokens ? { revocation: { enabled: true } } : {}),
      },
      ...(options.refreshTokens
        ? {
            issueRefreshToken: async (
              _ctx: unknown,
              client: { grantTypeAllowed(type: string): boolean },
            ) => client.grantTypeAllowed('refresh_token'),
            revokeGrantPolicy: () => true,
          }
        : {}),
    })
    provider.on('server_error', (_ctx, error) => upstream.serverErrors.push(error))
    built = { provider, handle: provider.callback() }
    return built
  }
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const { provider, handle } = op()
    if (!request.url?.startsWith('/interaction/')) {
      handle(request, response)
      return
    }
    void (async () => {
      const details = await provider.interactionDetails(request, response)
      const next = upstream.next
      if (next === 'deny') {
        await provider.interactionFinished(
          request,
          response,
          { error: 'access_denied', error_description: 'the user said no' },
          { mergeWithLastSubmission: false },
        )
        return
      }
      if (details.prompt.name === 'login') {
        accounts.set(next.sub, next)
        upstream.logins += 1
        await provider.interactionFinished(
          request,
          response,
          { login: { accountId: next.sub } },
          { mergeWithLastSubmission: false },
        )
        return
      }
      const grant = new provider.Grant({
        accountId: details.session?.accountId ?? next.sub,
        clientId: String(details.params.client_id),
      })
      grant.addOIDCScope(String(details.params.scope ?? 'openid'))
      await provider.interactionFinished(
        request,
        response,
        { consent: { grantId: await grant.save() } },
        { mergeWithLastSubmission: true },
      )
    })().catch((error: unknown) => {
      upstream.serverErrors.push(error)
      response.statusCode = 500
      response.end()
    })
  })
  return upstream
}
