// One face for the two authorization servers the OAuth error suite compares:
// the oidc-provider reference and the real `tessera serve`, each with the
// same client set, a way to get a fresh authorization code for a client, and
// each client's registered way to authenticate. Nothing here is used by the server.

import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import type { Browser } from 'playwright-core'
import { launchChromium, openUserAgent, type UserAgent } from './oauth-browser.ts'
import { type AuthorizeOutcome, startReference } from './oauth-reference.ts'
import { startTesseraOAuth, type TesseraServer, USER_PASSWORD } from './oauth-tessera.ts'
import {
  ASSERTION_TYPE,
  basicAuthorization,
  type ClientKey,
  type ClientRole,
  clientAssertion,
  clientSet,
  createClientKey,
  postForm,
  type RedirectCatcher,
  type RegisteredClient,
  startRedirectCatcher,
  USER_SCOPES,
  type WireAnswer,
} from './oauth-wire.ts'

/** A code fresh from the authorization endpoint, with what redeeming it needs. */
export interface FreshCode {
  readonly code: string
  readonly verifier: string
  readonly redirectUri: string
  /** The whole authorization response. */
  readonly callback: URL
}

/** Form fields and headers of a request. */
export interface RequestParts {
  fields: Array<[string, string]>
  headers: Record<string, string>
}

export interface Target {
  readonly name: 'oidc-provider' | 'tessera'
  readonly issuer: string
  readonly metadata: Record<string, unknown>
  readonly clients: Record<ClientRole, RegisteredClient>
  readonly key: ClientKey
  readonly catcher: RedirectCatcher
  /** The registered redirect URI of every user-facing client (the loopback page). */
  readonly redirectUri: string
  endpoint(name: 'token' | 'revocation' | 'introspection' | 'authorization'): string
  /**
   * A new authorization request for `role` with PKCE S256, answered by a
   * signed-in user who allows it; `params` adds or replaces parameters.
   */
  code(role: ClientRole, params?: Record<string, string>): Promise<FreshCode>
  /**
   * The authorization endpoint's first answer to `params`, before anyone
   * signs in: a redirect leaving the server, or its own page.
   */
  authorizeAnonymously(params: URLSearchParams): Promise<AuthorizeOutcome>
  /**
   * The authorization endpoint's answer to `params` for a user agent that
   * has never signed in, as far as the client's redirect URI.
   */
  authorizeSignedOut(params: URLSearchParams): Promise<URL>
  /** How `role` authenticates by its registered method (a fresh assertion for `jwt`). */
  authenticate(role: ClientRole): Promise<RequestParts>
  /** POSTs to an endpoint as `role` (authenticated by its method) with `fields`. */
  post(
    endpoint: 'token' | 'revocation' | 'introspection',
    role: ClientRole,
    fields: Array<[string, string]>,
  ): Promise<WireAnswer>
  /** The token response to a fresh code of `role` (asserted 200). */
  tokens(role: ClientRole, params?: Record<string, string>): Promise<Record<string, unknown>>
  close(): Promise<void>
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** Everything the two targets share once the server and its clients are up. */
function makeTarget(init: {
  name: Target['name']
  issuer: string
  metadata: Record<string, unknown>
  clients: Record<ClientRole, RegisteredClient>
  key: ClientKey
  catcher: RedirectCatcher
  /** Runs the user agent through an authorization request; resolves with the client's callback. */
  run(url: URL): Promise<URL>
  /** The same in a user agent that never signed in, which must not be asked anything. */
  runSignedOut(url: URL): Promise<URL>
  close(): Promise<void>
}): Target {
  const endpointNames = {
    token: 'token_endpoint',
    revocation: 'revocation_endpoint',
    introspection: 'introspection_endpoint',
    authorization: 'authorization_endpoint',
  } as const
  const endpoint = (name: keyof typeof endpointNames): string => {
    const url = init.metadata[endpointNames[name]]
    assert.equal(typeof url, 'string', `${init.name} names no ${endpointNames[name]}`)
    return url as string
  }
  const redirectUri = init.catcher.url('/cb')
  const authenticate = async (role: ClientRole): Promise<RequestParts> => {
    const client = init.clients[role]
    switch (client.metadata.token_endpoint_auth_method) {
      case 'client_secret_basic':
        return {
          fields: [],
          headers: { authorization: basicAuthorization(client.id, client.secret!) },
        }
      case 'client_secret_post':
        return {
          fields: [
            ['client_id', client.id],
            ['client_secret', client.secret!],
          ],
          headers: {},
        }
      case 'private_key_jwt':
        return {
          fields: [
            ['client_assertion_type', ASSERTION_TYPE],
            [
              'client_assertion',
              await clientAssertion(client.id, init.issuer, init.key.privateKey),
            ],
          ],
          headers: {},
        }
      case 'none':
        return { fields: [['client_id', client.id]], headers: {} }
    }
  }
  const target: Target = {
    name: init.name,
    issuer: init.issuer,
    metadata: init.metadata,
    clients: init.clients,
    key: init.key,
    catcher: init.catcher,
    redirectUri,
    endpoint,
    async code(role, params = {}) {
      const { verifier, challenge } = pkcePair()
      const url = new URL(endpoint('authorization'))
      url.search = new URLSearchParams({
        client_id: init.clients[role].id,
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: USER_SCOPES,
        state: randomBytes(12).toString('base64url'),
        nonce: randomBytes(12).toString('base64url'),
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...params,
      }).toString()
      const callback = await init.run(url)
      const code = callback.searchParams.get('code')
      assert.ok(code, `${init.name} answered no code: ${callback.href}`)
      return { code, verifier, redirectUri: params.redirect_uri ?? redirectUri, callback }
    },
    authorizeSignedOut(params) {
      const url = new URL(endpoint('authorization'))
      url.search = params.toString()
      return init.runSignedOut(url)
    },
    authorizeAnonymously(params) {
      const url = new URL(endpoint('authorization'))
      url.search = params.toString()
      return firstAnswer(url)
    },
    authenticate,
    async post(name, role, fields) {
      const auth = await authenticate(role)
      return postForm(endpoint(name), [...auth.fields, ...fields], { headers: auth.headers })
    },
    async tokens(role, params) {
      const fresh = await target.code(role, params)
      const answer = await target.post('token', role, [
        ['grant_type', 'authorization_code'],
        ['code', fresh.code],
        ['redirect_uri', fresh.redirectUri],
        ['code_verifier', fresh.verifier],
      ])
      assert.equal(answer.status, 200, `${init.name}: ${JSON.stringify(answer.body)}`)
      return answer.body
    },
    close: init.close,
  }
  return target
}

/** The first answer of an authorization endpoint to a bare GET, no cookies. */
async function firstAnswer(url: URL): Promise<AuthorizeOutcome> {
  const response = await fetch(url, { redirect: 'manual' })
  const location = response.headers.get('location')
  if (response.status >= 300 && response.status < 400 && location !== null) {
    await response.body?.cancel()
    return { kind: 'redirect', url: new URL(location, url) }
  }
  return { kind: 'page', status: response.status, text: await response.text() }
}

/** oidc-provider with the client set. */
export async function startReferenceTarget(): Promise<Target> {
  const catcher = await startRedirectCatcher()
  const key = await createClientKey()
  const reference = await startReference(clientSet(catcher, key))
  return makeTarget({
    name: 'oidc-provider',
    issuer: reference.issuer,
    metadata: reference.metadata,
    clients: reference.clients,
    key,
    catcher,
    async run(url) {
      const outcome = await reference.authorize(url.searchParams)
      assert.equal(
        outcome.kind,
        'redirect',
        `the reference showed a page: ${JSON.stringify(outcome)}`,
      )
      return (outcome as { url: URL }).url
    },
    async runSignedOut(url) {
      // Each call of the reference's authorize is a fresh cookie jar; only a page would sign in.
      const outcome = await firstAnswer(url)
      assert.equal(
        outcome.kind,
        'redirect',
        `the reference showed a page: ${JSON.stringify(outcome)}`,
      )
      return (outcome as { url: URL }).url
    },
    async close() {
      assert.deepEqual(reference.serverErrors, [], 'the reference had internal errors')
      await reference.close()
      await catcher.close()
    },
  })
}

export interface TesseraTarget extends Target {
  readonly server: TesseraServer
  /** The signed-in user agent the codes come from. */
  readonly agent: UserAgent
  readonly browser: Browser
}

/**
 * `tessera serve` with the client set; codes come through the hosted pages
 * in Chromium, signed in as the suite's user (who allows every client).
 */
export async function startTesseraTarget(env: Record<string, string> = {}): Promise<TesseraTarget> {
  const catcher = await startRedirectCatcher()
  const key = await createClientKey()
  const server = await startTesseraOAuth(clientSet(catcher, key), env)
  const browser = await launchChromium()
  const agent = await openUserAgent(browser, server.issuer)
  const login = { email: server.user.email, password: USER_PASSWORD }
  const target = makeTarget({
    name: 'tessera',
    issuer: server.issuer,
    metadata: server.metadata,
    clients: server.clients,
    key,
    catcher,
    async run(url) {
      const trip = await agent.authorize(url, catcher.origin, { login, consent: 'allow' })
      return trip.callback
    },
    async runSignedOut(url) {
      const stranger = await openUserAgent(browser, server.issuer)
      try {
        return (await stranger.authorize(url, catcher.origin)).callback
      } finally {
        await stranger.close()
      }
    },
    async close() {
      await agent.close()
      await browser.close()
      await server.close()
      await catcher.close()
    },
  })
  return { ...target, server, agent, browser }
}
