// What the @tessera/client browser suites add to harness.ts: the two places
// the SDK runs. Cookie mode: a reverse proxy on 127.0.0.1 puts a test page
// and Tessera on one origin (docs/http-api.md, "Browser mode"), counts the
// requests on the wire and can hold some of them. OAuth mode: a single-page
// app on http://localhost:<port> (another site than Tessera's 127.0.0.1)
// that serves the SDK's modules from its own origin. Beside them: a resource
// server that takes DPoP-bound tokens only, a foreign origin that records
// what it was sent, the hosted login walked by a user, and IndexedDB read
// from the page. Nothing here is used by the server.

import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { extname, join, resolve } from 'node:path'
import type { KeySet } from '@tessera/jwt'
import { authenticate } from '@tessera/jwt/express'
import express from 'express'
import type { BrowserContext, Page } from 'playwright-core'
import type { OAuthClientRecord } from '../../src/storage/ports.ts'
import { openPage, type PagesServer, startPagesServer } from './harness.ts'

/** One request as a proxy or a server of this file saw it. */
export interface WireRequest {
  readonly method: string
  /** Path and query. */
  readonly url: string
  readonly status: number
  readonly authorization: string | undefined
  readonly dpop: string | undefined
  /** What a CORS preflight asked to send (`Access-Control-Request-Headers`). */
  readonly requestHeaders: string | undefined
}

/** Requests matching `method path` (the path without its query) held until released. */
export interface Hold {
  /** How many are waiting now. */
  readonly waiting: number
  release(): void
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((done) => {
    server.closeAllConnections()
    server.close(() => done())
  })
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

/** Sends `request` on to 127.0.0.1:`port` at `path`, and its answer back, headers untouched. */
function forward(
  request: IncomingMessage,
  response: ServerResponse,
  port: number,
  path: string,
): void {
  const upstream = httpRequest(
    { host: '127.0.0.1', port, method: request.method, path, headers: request.headers },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.rawHeaders)
      answer.pipe(response)
    },
  )
  upstream.on('error', (error) => {
    response.writeHead(502, { 'content-type': 'text/plain' })
    response.end(String(error))
  })
  request.pipe(upstream)
}

/** A recorder of `wire` plus holds, shared by the proxies below. */
function createWire() {
  const wire: WireRequest[] = []
  const holds: Array<{
    method: string
    path: string
    waiting: Array<() => void>
    released: boolean
  }> = []
  return {
    wire,
    /** Records `request` once answered; first waits while a hold matches it. */
    async enter(request: IncomingMessage, response: ServerResponse): Promise<void> {
      response.on('finish', () => {
        wire.push({
          method: request.method ?? '',
          url: request.url ?? '',
          status: response.statusCode,
          authorization: header(request, 'authorization'),
          dpop: header(request, 'dpop'),
          requestHeaders: header(request, 'access-control-request-headers'),
        })
      })
      const path = (request.url ?? '').split('?')[0]
      const hold = holds.find(
        (candidate) =>
          !candidate.released && candidate.method === request.method && candidate.path === path,
      )
      if (hold !== undefined) await new Promise<void>((done) => hold.waiting.push(done))
    },
    requests: (method: string, path: string, from = 0) =>
      wire
        .slice(from)
        .filter((request) => request.method === method && request.url.split('?')[0] === path),
    hold(method: string, path: string): Hold {
      const hold = { method, path, waiting: [] as Array<() => void>, released: false }
      holds.push(hold)
      return {
        get waiting() {
          return hold.waiting.length
        },
        release() {
          hold.released = true
          for (const go of hold.waiting.splice(0)) go()
        },
      }
    },
  }
}

/**
 * A test page: its script imports the SDK from `moduleUrl`, creates the
 * client with `options` (an expression), and puts on `window` the client
 * (`client`), the module (`sdk`) and every auth event so far (`events`:
 * `{event, accessToken, reason}`), then marks `<body data-ready>`. Served
 * with a strict CSP (scripts: this origin's and the one inline script by its
 * nonce; no eval), as an app would be: the SDK must run under it.
 */
function sendPage(response: ServerResponse, moduleUrl: string, options: string): void {
  const nonce = randomBytes(16).toString('base64')
  response.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': [
      "default-src 'none'",
      `script-src 'self' 'nonce-${nonce}'`,
      // Tessera, the resource server and the foreign origin: all on 127.0.0.1.
      "connect-src 'self' http://127.0.0.1:*",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
  })
  response.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>@tessera/client test page</title></head>
<body><main><h1>@tessera/client</h1></main>
<script type="module" nonce="${nonce}">
import * as sdk from ${JSON.stringify(moduleUrl)}
const events = []
const client = sdk.createClient(${options})
client.onAuthStateChange((event, session, detail) => {
  events.push({ event, accessToken: session ? session.accessToken : null, reason: detail && detail.reason ? detail.reason : null })
})
Object.assign(window, { sdk, client, events })
document.body.dataset.ready = 'true'
</script></body></html>`)
}

/** A script's JSON: `<` escaped so no value can close the script element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replaceAll('<', '\\u003c')
}

/** Tessera behind a reverse proxy that serves the first-party test page on Tessera's origin. */
export interface FirstParty {
  /** `http://127.0.0.1:<proxy port>`: TESSERA_ISSUER, and the test page's origin. */
  readonly origin: string
  readonly tessera: PagesServer
  /** Every request that went through the proxy, in the order they were answered. */
  readonly wire: WireRequest[]
  /** The requests to `method path` (the path without the query) since `from`, an index into `wire`. */
  requests(method: string, path: string, from?: number): WireRequest[]
  /** Holds the requests to `method path` at the proxy until released. */
  hold(method: string, path: string): Hold
  /**
   * The test page: it creates the client with `{ issuer: location.origin,
   * ...options }` (default mode, cookie). `/api/<anything>` on the same
   * origin echoes the request's `Authorization` and `DPoP` headers as JSON.
   */
  page(options?: Record<string, unknown>): string
  close(): Promise<void>
}

/**
 * Starts the proxy, then Tessera with the proxy's URL as its issuer (and
 * `env`): the documented deployment of a first-party app on Tessera's origin.
 */
export async function startFirstParty(env: Record<string, string> = {}): Promise<FirstParty> {
  const recorder = createWire()
  let tesseraPort = 0
  const proxy = createServer(async (request, response) => {
    await recorder.enter(request, response)
    const url = new URL(request.url ?? '/', 'http://proxy')
    if (url.pathname === '/app') {
      const options = url.searchParams.get('options') ?? '{}'
      sendPage(
        response,
        '/pages/client/index.js',
        `{ issuer: location.origin, ...${scriptJson(JSON.parse(options))} }`,
      )
      return
    }
    if (url.pathname.startsWith('/api/')) {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(
        JSON.stringify({
          method: request.method,
          path: url.pathname,
          authorization: header(request, 'authorization') ?? null,
          dpop: header(request, 'dpop') ?? null,
        }),
      )
      return
    }
    forward(request, response, tesseraPort, request.url ?? '/')
  })
  const port = await listen(proxy)
  const origin = `http://127.0.0.1:${port}`
  let tessera: PagesServer
  try {
    tessera = await startPagesServer({ ...env, TESSERA_ISSUER: origin })
  } catch (error) {
    await closeServer(proxy)
    throw error
  }
  tesseraPort = tessera.port
  return {
    origin,
    tessera,
    wire: recorder.wire,
    requests: recorder.requests,
    hold: recorder.hold,
    page: (options = {}) =>
      `${origin}/app?${new URLSearchParams({ options: JSON.stringify(options) })}`,
    async close() {
      await closeServer(proxy)
      await tessera.close()
    },
  }
}

/** A single-page app on another site than Tessera: `http://localhost:<port>`. */
export interface Spa {
  readonly origin: string
  /** `<origin>/callback`: the redirect URI to register. */
  readonly redirectUri: string
  /** Every request the app's server answered. */
  readonly wire: WireRequest[]
  /**
   * The options every page of the app creates its client with, besides
   * `issuer`, `mode: 'oauth'` and `redirectUri`; set before opening a page.
   */
  options: Record<string, unknown>
  close(): Promise<void>
}

/**
 * Starts the app: every path but `/client/*` answers the test page (the
 * redirect URI included: the test, not the page, completes the callback),
 * and `/client/<module>.js` is Tessera's `/pages/client/<module>.js`,
 * proxied so that the module scripts are same-origin.
 */
export async function startSpa(tessera: PagesServer): Promise<Spa> {
  const recorder = createWire()
  let origin = ''
  const spa: Spa = {
    get origin() {
      return origin
    },
    get redirectUri() {
      return `${origin}/callback`
    },
    wire: recorder.wire,
    options: {},
    close: () => closeServer(server),
  }
  const server = createServer(async (request, response) => {
    await recorder.enter(request, response)
    const url = new URL(request.url ?? '/', 'http://spa')
    if (url.pathname.startsWith('/client/')) {
      forward(
        request,
        response,
        tessera.port,
        `/pages/client/${url.pathname.slice('/client/'.length)}`,
      )
      return
    }
    const options = {
      issuer: tessera.url,
      mode: 'oauth',
      redirectUri: spa.redirectUri,
      ...spa.options,
    }
    sendPage(response, '/client/index.js', scriptJson(options))
  })
  origin = `http://localhost:${await listen(server)}`
  return spa
}

/** A public client (PKCE, no secret) for `redirectUri`, straight into the store. */
export async function registerPublicClient(
  tessera: PagesServer,
  redirectUri: string,
  options: { firstParty?: boolean; postLogoutRedirectUris?: string[]; name?: string } = {},
): Promise<OAuthClientRecord> {
  const client: OAuthClientRecord = {
    id: randomBytes(16).toString('base64url'),
    name: options.name ?? 'Console',
    secretHash: null,
    redirectUris: [redirectUri],
    postLogoutRedirectUris: options.postLogoutRedirectUris ?? [],
    grantTypes: ['authorization_code', 'refresh_token'],
    tokenEndpointAuthMethod: 'none',
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    jwks: null,
    firstParty: options.firstParty ?? false,
    accessTokenTtl: null,
    refreshTokenTtl: null,
    dpopBoundAccessTokens: false,
    idTokenEncryption: null,
    userinfoEncryption: null,
    createdAt: Date.now(),
  }
  await tessera.tessera.store.oauth.createClient(client)
  return client
}

/** A server on another origin that records what it was sent and lets any origin read its answers. */
export interface Recorder {
  readonly url: string
  readonly wire: WireRequest[]
  close(): Promise<void>
}

export async function startRecorder(): Promise<Recorder> {
  const recorder = createWire()
  const server = createServer(async (request, response) => {
    await recorder.enter(request, response)
    // CORS that would let a leaked token through: the test sees it arrive.
    response.setHeader('access-control-allow-origin', '*')
    if (request.method === 'OPTIONS') {
      response.writeHead(204, {
        'access-control-allow-headers': 'authorization, dpop, content-type',
        'access-control-allow-methods': 'GET, POST',
      })
      response.end()
      return
    }
    response.writeHead(200, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ authorization: header(request, 'authorization') ?? null }))
  })
  const port = await listen(server)
  return { url: `http://127.0.0.1:${port}`, wire: recorder.wire, close: () => closeServer(server) }
}

/**
 * A resource server on another origin: @tessera/jwt's Express middleware
 * with `dpop: 'required'`, and CORS for `appOrigin` (the `Authorization`
 * and `DPoP` headers; `WWW-Authenticate` and `DPoP-Nonce` exposed).
 * `GET /me` answers the verified `sub` and `cnf.jkt`.
 */
export async function startResourceServer(options: {
  issuer: string
  keys: KeySet
  appOrigin: string
}): Promise<Recorder> {
  const recorder = createWire()
  const app = express()
  app.disable('x-powered-by')
  const server = createServer(app)
  const port = await listen(server)
  const url = `http://127.0.0.1:${port}`
  app.use((request, response, next) => {
    void recorder.enter(request, response).then(() => next())
  })
  app.use((request, response, next) => {
    response.setHeader('access-control-allow-origin', options.appOrigin)
    response.setHeader('access-control-expose-headers', 'WWW-Authenticate, DPoP-Nonce')
    response.setHeader('vary', 'Origin')
    if (request.method !== 'OPTIONS') return next()
    response.setHeader('access-control-allow-headers', 'authorization, dpop')
    response.setHeader('access-control-allow-methods', 'GET')
    response.status(204).end()
  })
  app.use(
    authenticate({
      issuer: options.issuer,
      keys: options.keys,
      dpop: 'required',
      publicUrl: url,
    }),
  )
  app.get('/me', (request, response) => {
    response.json({ sub: request.auth?.userId, jkt: request.auth?.jkt })
  })
  return { url, wire: recorder.wire, close: () => closeServer(server) }
}

/** Opens a page at `url` and waits for the SDK to be loaded and the client created. */
export async function openApp(
  context: BrowserContext,
  url: string,
): Promise<{ page: Page; errors: string[] }> {
  const opened = await openPage(context)
  await opened.page.goto(url)
  await appReady(opened.page, opened.errors)
  return opened
}

/** Waits for `<body data-ready>` (after a load or a reload); fails with the page's errors. */
export async function appReady(page: Page, errors: string[] = []): Promise<void> {
  try {
    // A selector, not a predicate: waitForFunction evaluates strings, which the CSP forbids.
    await page.locator('body[data-ready="true"]').waitFor({ state: 'attached', timeout: 5000 })
  } catch (error) {
    assert.fail(`the test page did not load the SDK: ${errors.join('; ') || String(error)}`)
  }
}

/** What a call in the page came to: its value, or the error it threw (a TesseraError's fields). */
export type Settled<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false
      readonly error: {
        readonly name: string
        readonly code: string | undefined
        readonly status: number | undefined
        readonly reason: string | undefined
        readonly message: string
      }
    }

/** Evaluates `expression` (awaited) in the page; never throws for the page's own errors. */
export function settle<T>(page: Page, expression: string): Promise<Settled<T>> {
  return page.evaluate<Settled<T>>(`(async () => {
    try {
      return { ok: true, value: await (${expression}) }
    } catch (error) {
      return { ok: false, error: {
        name: String(error?.name), code: error?.code, status: error?.status,
        reason: error?.reason, message: String(error?.message ?? error),
      } }
    }
  })()`)
}

/** The value of `expression` in the page; fails the test with the page's error. */
export async function call<T>(page: Page, expression: string): Promise<T> {
  const result = await settle<T>(page, expression)
  if (!result.ok) {
    assert.fail(
      `${expression} threw ${result.error.name} ${result.error.code}: ${result.error.message}`,
    )
  }
  return result.value
}

/** An event as the test page recorded it. */
export interface RecordedEvent {
  readonly event: string
  readonly accessToken: string | null
  readonly reason: string | null
}

export function events(page: Page): Promise<RecordedEvent[]> {
  return page.evaluate<RecordedEvent[]>('window.events')
}

/** Resolves once the page has recorded an event matching `match`; returns it. */
export async function nextEvent(
  page: Page,
  match: (event: RecordedEvent) => boolean,
  what: string,
  from = 0,
): Promise<RecordedEvent> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const found = (await events(page)).slice(from).find(match)
    if (found !== undefined) return found
    if (Date.now() > deadline) {
      assert.fail(`no ${what}; the page saw ${JSON.stringify(await events(page))}`)
    }
    await new Promise((done) => setTimeout(done, 20))
  }
}

/**
 * Waits until `count` tabs of the page's origin are on Web Locks (one holding
 * the SDK's refresh lock, the others queued behind it) and `waiting()` says
 * the refresh that holder sent is being held: every tab has asked.
 */
export async function queuedOnTheLock(
  page: Page,
  count: number,
  waiting: () => number,
): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const locks = await page.evaluate<{ held: number; pending: number }>(
      'navigator.locks.query().then((s) => ({ held: s.held.length, pending: s.pending.length }))',
    )
    if (waiting() >= 1 && locks.held + locks.pending >= count) return
    if (Date.now() > deadline) {
      assert.fail(
        `expected ${count} tabs on the refresh lock and a refresh held; locks ${JSON.stringify(locks)}, held refreshes ${waiting()}`,
      )
    }
    await new Promise((done) => setTimeout(done, 20))
  }
}

/** The claims of a JWT, unverified. */
export function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<
    string,
    unknown
  >
}

/** RFC 7638 thumbprint of a public EC JWK. */
export function thumbprint(jwk: { crv: string; kty: string; x: string; y: string }): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })
  return createHash('sha256').update(canonical).digest('base64url')
}

/**
 * Page-side helpers: `dumpStorage()` lists every IndexedDB record (CryptoKeys
 * described, not cloned), plus localStorage, sessionStorage and
 * document.cookie; `keyPair()` finds the stored DPoP key pair; `proof()`
 * signs a DPoP proof with it, as a thief running script in the page could.
 */
const PAGE_HELPERS = `
const request = (r) => new Promise((ok, ko) => { r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error) })
async function records() {
  const out = []
  for (const { name } of await indexedDB.databases()) {
    const db = await request(indexedDB.open(name))
    for (const store of db.objectStoreNames) {
      const objects = db.transaction(store, 'readonly').objectStore(store)
      const [keys, values] = await Promise.all([request(objects.getAllKeys()), request(objects.getAll())])
      keys.forEach((key, i) => out.push({ db: name, store, key: String(key), value: values[i] }))
    }
    db.close()
  }
  return out
}
function describe(value) {
  if (value instanceof CryptoKey) {
    return { cryptoKey: { type: value.type, extractable: value.extractable, algorithm: value.algorithm.name, namedCurve: value.algorithm.namedCurve, usages: value.usages } }
  }
  if (Array.isArray(value)) return value.map(describe)
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return { bytes: value.byteLength }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, describe(v)]))
  }
  return value
}
async function dumpStorage() {
  return {
    indexedDB: (await records()).map((r) => ({ ...r, value: describe(r.value) })),
    localStorage: { ...localStorage },
    sessionStorage: { ...sessionStorage },
    cookie: document.cookie,
  }
}
function findKeys(value, found = []) {
  if (value instanceof CryptoKey) found.push(value)
  else if (value !== null && typeof value === 'object' && !(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value)) findKeys(v, found)
  }
  return found
}
async function keyPair() {
  const keys = findKeys((await records()).map((r) => r.value))
  const privateKey = keys.find((k) => k.type === 'private')
  const publicKey = keys.find((k) => k.type === 'public')
  if (!privateKey || !publicKey) throw new Error('no DPoP key pair in IndexedDB')
  return { privateKey, publicKey }
}
const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '')
const b64json = (value) => b64(new TextEncoder().encode(JSON.stringify(value)))
async function publicJwk(pair) {
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey)
  return { kty, crv, x, y }
}
async function proof(pair, htm, htu, accessToken) {
  const header = { typ: 'dpop+jwt', alg: 'ES256', jwk: await publicJwk(pair) }
  const payload = { jti: b64(crypto.getRandomValues(new Uint8Array(16))), htm, htu, iat: Math.floor(Date.now() / 1000) }
  if (accessToken) payload.ath = b64(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken)))
  const input = b64json(header) + '.' + b64json(payload)
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, new TextEncoder().encode(input))
  return input + '.' + b64(signature)
}
`

/** Runs `body` (statements ending in a `return`) with the page-side helpers in scope. */
export function withHelpers<T>(page: Page, body: string): Promise<T> {
  return page.evaluate<T>(`(async () => { ${PAGE_HELPERS}\n${body} })()`)
}

/** What script on the page can read: IndexedDB (CryptoKeys described), both Web Storages, document.cookie. */
export interface PageStorage {
  readonly indexedDB: Array<{ db: string; store: string; key: string; value: unknown }>
  readonly localStorage: Record<string, string>
  readonly sessionStorage: Record<string, string>
  readonly cookie: string
}

export function pageStorage(page: Page): Promise<PageStorage> {
  return withHelpers<PageStorage>(page, 'return await dumpStorage()')
}

/** The CryptoKeys described in `value` (a PageStorage's IndexedDB records). */
export function describedKeys(value: unknown): Array<{
  type: string
  extractable: boolean
  algorithm: string
  namedCurve?: string
  usages: string[]
}> {
  if (value === null || typeof value !== 'object') return []
  if ('cryptoKey' in value) return [(value as { cryptoKey: never }).cryptoKey]
  return Object.values(value).flatMap(describedKeys)
}

/** Every string held in `value`, however deep. */
export function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (value === null || typeof value !== 'object') return []
  return Object.values(value).flatMap(strings)
}

/**
 * Walks the hosted pages the way a user does, from a tab on its way to
 * Tessera: signs in on /login with `login` when asked, allows on the consent
 * page when asked, until the tab is back on `appOrigin`. Returns the hosted
 * pages it went through.
 */
export async function walkHostedLogin(
  page: Page,
  issuer: string,
  appOrigin: string,
  login: { email: string; password: string },
): Promise<Array<'login' | 'consent'>> {
  const pages: Array<'login' | 'consent'> = []
  let left = false
  const where = async (): Promise<string> => {
    const origin = new URL(page.url()).origin
    if (origin === appOrigin) return left ? 'app' : ''
    if (origin !== issuer) return ''
    left = true
    // Between two documents there is no page to ask: none yet.
    return String(await page.evaluate('document.body?.dataset.page ?? ""').catch(() => ''))
  }
  const deadline = Date.now() + 15_000
  let last = ''
  for (;;) {
    const now = await where()
    if (now === 'app') return pages
    if (now !== last && now === 'login') {
      pages.push('login')
      await page.getByLabel('Email').fill(login.email)
      await page.getByLabel('Password').fill(login.password)
      await page.getByRole('button', { name: 'Log in' }).click()
    } else if (now !== last && now === 'oauth-consent') {
      pages.push('consent')
      await page.getByRole('button', { name: 'Allow' }).click()
    }
    last = now
    if (Date.now() > deadline) assert.fail(`the sign-in stopped at ${page.url()} (page "${now}")`)
    await new Promise((done) => setTimeout(done, 30))
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
}

/** A built single-page app served from `dir` at `http://localhost:<port>`; unknown paths get index.html. */
export interface StaticSite {
  readonly origin: string
  /** Serves `dir` from now on. */
  serve(dir: string): void
  close(): Promise<void>
}

export async function startStaticSite(): Promise<StaticSite> {
  let root: string | undefined
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://site').pathname
    const file = root === undefined ? undefined : resolve(root, `.${path}`)
    const inside = file !== undefined && root !== undefined && file.startsWith(`${root}/`)
    const found =
      inside &&
      (await stat(file).then(
        (s) => s.isFile(),
        () => false,
      ))
        ? file
        : undefined
    const served = found ?? (root === undefined ? undefined : join(root, 'index.html'))
    if (served === undefined) {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(served)] ?? 'application/octet-stream',
    })
    response.end(await readFile(served))
  })
  const origin = `http://localhost:${await listen(server)}`
  return {
    origin,
    serve(dir) {
      root = resolve(dir)
    },
    close: () => closeServer(server),
  }
}
