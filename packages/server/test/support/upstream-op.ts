// An upstream OpenID provider for the social login tests: panva's
// oidc-provider (an OpenID Certified implementation) on 127.0.0.1, with one
// confidential client (PKCE required, client_secret_post) and interactions
// that finish by themselves: the login signs in `upstream.next` (or ends
// with access_denied when it is 'deny'), the consent grants what was asked.
// Used over HTTP by test/social-login.test.ts and by Chromium in
// test/browser/social-login.test.ts.
//
// With `apple`, it stands in for Sign in with Apple (test/social-login-apple
// .test.ts): scopes `openid email name`, response_mode=form_post (the
// answer posted back with `user`, as Apple does on the first authorization
// of an account), claims in the ID token and no userinfo endpoint, and a
// check in front of the token endpoint of the client secret Tessera signs:
// an ES256 JWT of the test's key (`kid`, iss the team id, sub the client id,
// aud the issuer, a live exp); a good one is swapped for the client's
// registered secret before oidc-provider sees the request, any other is
// refused with invalid_client.

import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { decodeProtectedHeader, jwtVerify } from 'jose'

/** Who the upstream signs in next. */
export interface UpstreamAccount {
  sub: string
  email?: string
  /** Apple sends the strings "true" and "false". */
  email_verified?: boolean | 'true' | 'false'
  /** Apple: whether `email` is a private relay address. */
  is_private_email?: boolean | 'true' | 'false'
  name?: string
  /** Apple mode: the `user` field posted with the first authorization of this account (its JSON text). */
  appleUser?: string
}

/** What the Apple-style client secret check is given, and what it saw. */
export interface AppleSecretCheck {
  /** The public half of the team's key. */
  publicKey: KeyObject
  teamId: string
  keyId: string
  /** Seconds added to the clock the check reads (a positive skew makes a short-lived secret expired). */
  skew: number
  /** Every client_secret sent to the token endpoint, in order. */
  seen: string[]
  /** How many were refused, and why (jose's codes, or `kid` / `lifetime`). */
  refused: string[]
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
  /** Apple mode: the client secret check. */
  apple: AppleSecretCheck | undefined
  close(): Promise<void>
}

/** Listens on 127.0.0.1; the URL names it `host` (`localhost`: another site than 127.0.0.1 to a browser). */
export async function listen(server: Server, host = '127.0.0.1'): Promise<string> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return `http://${host}:${address.port}`
}

/** Reads a request body (a token request: small). */
async function readBody(request: IncomingMessage): Promise<string> {
  let body = ''
  for await (const chunk of request) {
    body += chunk
    if (body.length > 64 * 1024) throw new Error('token request too large')
  }
  return body
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
  /** Stand in for Sign in with Apple, checking client secrets signed with this key (see the header). */
  apple?: { publicKey: KeyObject; teamId: string; keyId: string }
  /** The issuer's host name (default 127.0.0.1; `localhost` puts the provider on another site than 127.0.0.1). */
  host?: string
}): Promise<UpstreamOp> {
  const server = createServer()
  const issuer = await listen(server, options.host)
  const apple = options.apple
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
    apple: apple === undefined ? undefined : { ...apple, skew: 0, seen: [], refused: [] },
    close: () => closeServer(server),
  }
  /** Apple sends `user` on the first authorization of an account only. */
  const userSent = new Set<string>()
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
      ...(apple === undefined
        ? {
            scopes: ['openid', 'profile', 'email'],
            claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
          }
        : {
            // Apple's scopes; its name never reaches a token (only the form's `user`).
            scopes: ['openid', 'email', 'name'],
            claims: {
              openid: ['sub'],
              email: ['email', 'email_verified', 'is_private_email'],
              name: [],
            },
            // The address in the ID token, as Apple does (it has no userinfo).
            conformIdTokenClaims: false,
          }),
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
        ...(apple === undefined ? {} : { userinfo: { enabled: false } }),
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
  /**
   * Apple's client secret: a JWT of the team's key. A good one is swapped for
   * the registered secret (oidc-provider reads a body parsed before it as
   * `request.body`); anything else is refused as Apple would.
   */
  async function checkAppleSecret(
    check: AppleSecretCheck,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<boolean> {
    const form = new URLSearchParams(await readBody(request))
    const secret = form.get('client_secret') ?? ''
    check.seen.push(secret)
    const refuse = (why: string) => {
      check.refused.push(why)
      response.statusCode = 400
      response.setHeader('content-type', 'application/json')
      response.end(JSON.stringify({ error: 'invalid_client' }))
      return false
    }
    try {
      if (decodeProtectedHeader(secret).kid !== check.keyId) return refuse('kid')
      const { payload } = await jwtVerify(secret, check.publicKey, {
        algorithms: ['ES256'],
        issuer: check.teamId,
        subject: options.clientId,
        audience: issuer,
        requiredClaims: ['iat', 'exp'],
        currentDate: new Date(Date.now() + check.skew * 1000),
      })
      // Apple: at most 15777000 seconds (six months).
      if (Number(payload.exp) - Number(payload.iat) > 15_777_000) return refuse('lifetime')
    } catch (error) {
      return refuse(String((error as { code?: unknown }).code ?? 'malformed'))
    }
    form.set('client_secret', options.clientSecret)
    ;(request as IncomingMessage & { body?: string }).body = form.toString()
    return true
  }

  /** Apple's `user` field in a form_post answer: added to oidc-provider's auto-submitting form. */
  function addAppleUser(response: ServerResponse): void {
    const end = response.end.bind(response) as (chunk?: unknown) => ServerResponse
    response.end = ((chunk?: unknown) => {
      const next = upstream.next
      if (
        typeof chunk === 'string' &&
        chunk.includes('<form method="post"') &&
        chunk.includes('name="code"') &&
        next !== 'deny' &&
        next.appleUser !== undefined &&
        !userSent.has(next.sub) &&
        !response.headersSent
      ) {
        userSent.add(next.sub)
        const escaped = next.appleUser.replaceAll('&', '&amp;').replaceAll('"', '&quot;')
        chunk = chunk.replace(
          '<noscript>',
          `<input type="hidden" name="user" value="${escaped}"/>\n    <noscript>`,
        )
        response.setHeader('content-length', Buffer.byteLength(chunk as string))
      }
      return end(chunk)
    }) as typeof response.end
  }

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const { provider, handle } = op()
    const check = upstream.apple
    if (check !== undefined && request.method === 'POST' && request.url === '/token') {
      void checkAppleSecret(check, request, response)
        .then((ok) => {
          if (ok) handle(request, response)
        })
        .catch((error: unknown) => {
          upstream.serverErrors.push(error)
          response.statusCode = 500
          response.end()
        })
      return
    }
    if (check !== undefined) addAppleUser(response)
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
