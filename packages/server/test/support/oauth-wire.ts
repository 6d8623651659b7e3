// The OAuth suites' wire: the clients both authorization servers register
// (Tessera and the oidc-provider reference, configured alike), raw form posts
// for the requests a certified client would never send, RFC 7523 client
// assertions, and the loopback page that catches authorization responses.
// Nothing here is used by the server.

import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'

/** The scopes every user-facing client may ask for. */
export const USER_SCOPES = 'openid profile email offline_access'
/** The service scope that opens Tessera's revocation feed. */
export const SERVICE_SCOPE = 'tessera:revocations'

/** Which client of the set: one per token endpoint authentication method, plus a service. */
export type ClientRole = 'basic' | 'post' | 'jwt' | 'native' | 'service'

/** RFC 7591 metadata as both servers take it. */
export interface ClientMetadata {
  client_name: string
  redirect_uris: string[]
  post_logout_redirect_uris: string[]
  grant_types: string[]
  response_types: string[]
  token_endpoint_auth_method:
    | 'client_secret_basic'
    | 'client_secret_post'
    | 'private_key_jwt'
    | 'none'
  scope: string
  jwks?: { keys: JWK[] }
  first_party?: boolean
}

/** A registered client as a test holds it. */
export interface RegisteredClient {
  readonly role: ClientRole
  readonly id: string
  /** client_secret_basic / client_secret_post clients only. */
  readonly secret: string | undefined
  readonly metadata: ClientMetadata
}

/** The private key of the `jwt` client (the public half is in its registration). */
export interface ClientKey {
  readonly privateKey: CryptoKey
  readonly publicJwk: JWK
  /** A key of the same kind the server does not know: a forged assertion. */
  readonly strangerKey: CryptoKey
}

export async function createClientKey(): Promise<ClientKey> {
  const pair = await generateKeyPair('ES256', { extractable: true })
  const stranger = await generateKeyPair('ES256')
  const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'client-key-1', alg: 'ES256' }
  return { privateKey: pair.privateKey, publicJwk, strangerKey: stranger.privateKey }
}

/**
 * The client set both servers register, alike: one confidential client per
 * authentication method (RFC 6749 §2.3.1 basic and post, RFC 7523
 * private_key_jwt), a public native client on a loopback redirect (RFC 8252
 * §7.3: any port), and a service limited to client_credentials.
 * `firstParty` marks the clients whose consent Tessera skips (the reference
 * grants consent automatically for all).
 */
export function clientSet(
  catcher: RedirectCatcher,
  key: ClientKey,
): Record<ClientRole, ClientMetadata> {
  const user = {
    redirect_uris: [catcher.url('/cb')],
    post_logout_redirect_uris: [catcher.url('/logged-out')],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: USER_SCOPES,
  }
  return {
    // Third party: Tessera asks the user's consent for this one.
    basic: {
      ...user,
      client_name: 'Basic Web App',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    post: {
      ...user,
      client_name: 'Post Web App',
      token_endpoint_auth_method: 'client_secret_post',
      first_party: true,
    },
    jwt: {
      ...user,
      client_name: 'Key Web App',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      scope: `${USER_SCOPES} ${SERVICE_SCOPE}`,
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [key.publicJwk] },
      first_party: true,
    },
    native: {
      ...user,
      client_name: 'Native App',
      // Registered without a port: RFC 8252 §7.3 lets the app pick one at run time.
      redirect_uris: ['http://127.0.0.1/cb'],
      token_endpoint_auth_method: 'none',
      first_party: true,
    },
    service: {
      client_name: 'Billing Service',
      redirect_uris: [],
      post_logout_redirect_uris: [],
      grant_types: ['client_credentials'],
      response_types: [],
      scope: SERVICE_SCOPE,
      token_endpoint_auth_method: 'client_secret_basic',
    },
  }
}

/**
 * RFC 6749 §2.3.1: the client id and secret are form-urlencoded before they
 * are joined and base64-encoded (a secret with `:` or `+` must survive).
 */
export function basicAuthorization(id: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`
}

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/**
 * An RFC 7523 §3 client assertion for `clientId`, addressed to `audience`;
 * `claims` overrides or (with `undefined`) removes a claim, `key` signs with
 * another key than the registered one.
 */
export async function clientAssertion(
  clientId: string,
  audience: string,
  key: CryptoKey,
  claims: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const payload: Record<string, unknown> = {
    iss: clientId,
    sub: clientId,
    aud: audience,
    jti: randomUUID(),
    iat: now,
    exp: now + 60,
    ...claims,
  }
  for (const [name, value] of Object.entries(payload)) {
    if (value === undefined) delete payload[name]
  }
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: 'client-key-1' }).sign(key)
}

/** A JSON answer as the wire carried it. */
export interface WireAnswer {
  /** Where the request went. */
  readonly url: string
  readonly status: number
  readonly headers: Headers
  /** The parsed JSON body; `{}` for an empty one, `{ raw }` for something else. */
  readonly body: Record<string, unknown>
}

/**
 * POSTs `fields` form-encoded to `url` (pairs, so a parameter can repeat);
 * `init` adds headers or replaces the body (a JSON body, say).
 */
export async function postForm(
  url: string,
  fields: ReadonlyArray<readonly [string, string]>,
  init: { headers?: Record<string, string>; body?: string; contentType?: string } = {},
): Promise<WireAnswer> {
  const body =
    init.body ?? new URLSearchParams(fields.map(([k, v]): [string, string] => [k, v])).toString()
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': init.contentType ?? 'application/x-www-form-urlencoded',
      accept: 'application/json',
      ...init.headers,
    },
    body,
  })
  return {
    url,
    status: response.status,
    headers: response.headers,
    body: await readJson(response),
  }
}

export async function readJson(response: Response): Promise<Record<string, unknown>> {
  const text = await response.text()
  if (text === '') return {}
  try {
    const parsed: unknown = JSON.parse(text)
    return typeof parsed === 'object' && parsed !== null
      ? (parsed as Record<string, unknown>)
      : { raw: text }
  } catch {
    return { raw: text }
  }
}

/** The redirect URI's page: records every authorization (and logout) response it receives. */
export interface RedirectCatcher {
  readonly origin: string
  readonly port: number
  /** `http://127.0.0.1:<port><path>`. */
  url(path: string): string
  /** Every URL requested so far, in order. */
  readonly received: URL[]
  close(): Promise<void>
}

/**
 * A page at the clients' redirect URIs on 127.0.0.1 (RFC 8252 §7.3 loopback):
 * it answers 200 with a tiny page and remembers the URL, which carries the
 * code (or error), `state` and `iss`.
 */
export async function startRedirectCatcher(): Promise<RedirectCatcher> {
  const received: URL[] = []
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', `http://${request.headers.host}`)
    if (url.pathname !== '/favicon.ico') received.push(url)
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    response.end('<!doctype html><title>client</title><p>caught</p>')
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  const origin = `http://127.0.0.1:${address.port}`
  return {
    origin,
    port: address.port,
    url: (path) => `${origin}${path}`,
    received,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      }),
  }
}

/** A cookie jar with no regard for paths: enough to walk a login on one origin. */
export class OriginCookies {
  readonly #cookies = new Map<string, string>()

  store(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      const expired =
        attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) ||
        attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a))
      if (expired || value === '') this.#cookies.delete(name)
      else this.#cookies.set(name, value)
    }
  }

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }
}
