/**
 * Scenario 6: Tessera's OAuth endpoints against oidc-provider (panva's
 * OpenID Certified authorization server, the reference issue 17 names),
 * configured the same way and run side by side: one confidential client
 * (client_secret_basic), one signed-in account, ES256 JWT access tokens
 * for the resource https://api.bench.example (RFC 8707), ES256 ID tokens.
 *
 *   client_credentials  POST token → a service's access token
 *   introspection       POST introspect (RFC 7662) on a user's access token
 *   code + PKCE         GET authorize with the signed-in session's cookie
 *                       → 302 with code, state and iss (RFC 9207), then POST
 *                       token with the code_verifier → access and ID token
 *
 * Each server is its own process on 127.0.0.1 over real HTTP, loaded by the
 * same closed-loop generator (bench/lib/load-http.ts: a fixed number of
 * virtual users, one request at a time each, keep-alive), in alternation,
 * bounded in time. Both servers are found through their discovery
 * documents. Tessera runs `tessera serve` (built) on its embedded SQLite;
 * oidc-provider keeps everything in its default in-memory adapter, the only
 * storage it ships. The correctness gate (every answer's status and shape;
 * tokens verified with jose against each server's JWKS) fails the run; the
 * 3x targets only read PASS or MISS.
 */

import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { promisify } from 'node:util'
import { createRemoteJWKSet, decodeProtectedHeader, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { alternateEach } from '../lib/alternate.ts'
import { cpuBetween, cpuMark } from '../lib/cpu.ts'
import { type Instance, profilingEnv, startInstance } from '../lib/load-cluster.ts'
import {
  closeTargets,
  loopbackTarget,
  type Reply,
  runPhase,
  type StepResult,
  send,
  type Target,
  type VirtualUser,
} from '../lib/load-http.ts'
import { packageVersion } from '../lib/machine.ts'
import { TESSERA_MAIN } from '../lib/processes.ts'
import {
  type BenchContext,
  chartLinks,
  checkSignal,
  median,
  type Rendered,
  type RunMeta,
  type Scenario,
  type TargetCheck,
  targetMarkdown,
  targetText,
} from '../lib/scenario.ts'
import { type RunningServer, startPeer } from '../lib/servers.ts'
import { barChart } from '../lib/svg.ts'
import {
  formatMs,
  formatRate,
  formatRatio,
  renderMarkdown,
  renderText,
  type Table,
} from '../lib/table.ts'
import { LOAD_PASSWORD, signUp, tesseraEnv, waitReady } from '../lib/tessera.ts'

const execFileAsync = promisify(execFile)

export const OAUTH_OPERATIONS = ['client_credentials', 'introspection', 'code'] as const
export type OAuthOperation = (typeof OAUTH_OPERATIONS)[number]
export const OAUTH_SERVERS = ['tessera', 'oidc-provider'] as const
export type OAuthServerId = (typeof OAUTH_SERVERS)[number]

const OPERATION_LABEL: Readonly<Record<OAuthOperation, string>> = {
  client_credentials: 'client_credentials token',
  introspection: 'introspection (RFC 7662)',
  code: 'code + PKCE: authorize → token',
}

const SERVER_LABEL: Readonly<Record<OAuthServerId, string>> = {
  tessera: 'tessera serve (SQLite)',
  'oidc-provider': 'oidc-provider (in memory)',
}

/** Virtual users per run, each with one request (or one exchange) in flight. */
export const OAUTH_CONCURRENCY = 32
/** Tessera / oidc-provider throughput the issue asks for, per operation. */
export const OAUTH_TARGET = 3

/** The resource both servers sign access tokens for (RFC 8707 `resource`, the `aud`). */
const RESOURCE = 'https://api.bench.example'
/** The resource server's one scope. */
const API_SCOPE = 'api'
/**
 * A loopback redirect URI with no port: Tessera matches it at any port
 * (RFC 8252 §7.3), oidc-provider exactly; nothing listens there, the
 * generator reads the code off the Location header.
 */
const REDIRECT_URI = 'http://127.0.0.1/bench/callback'
const CODE_SCOPE = `openid profile email ${API_SCOPE}`
/** PKCE pairs made before timing, taken in turn (RFC 7636: a 43-character verifier, S256). */
const PKCE_POOL = 256

/**
 * With TESSERA_BENCH_CPU_PROF=<dir> both servers write CPU profiles there
 * (`profilingEnv`); TESSERA_BENCH_OAUTH_ONLY (e.g. `code`) measures some
 * operations only, so a profile holds one.
 */

function operationsToRun(): readonly OAuthOperation[] {
  const only = process.env.TESSERA_BENCH_OAUTH_ONLY
  if (!only) return OAUTH_OPERATIONS
  const picked = only.split(',').map((item) => item.trim())
  for (const item of picked) {
    if (!(OAUTH_OPERATIONS as readonly string[]).includes(item)) {
      throw new Error(
        `TESSERA_BENCH_OAUTH_ONLY: ${item} is not one of ${OAUTH_OPERATIONS.join(', ')}`,
      )
    }
  }
  return OAUTH_OPERATIONS.filter((operation) => picked.includes(operation))
}

export interface OAuthRound {
  /** Successful operations per second (an exchange counts once). */
  rps: number
  p50Ms: number
  p99Ms: number
  ok: number
  /** Cores the server process used on average (1.00 = one core). */
  serverCpu: number
  generatorCpu: number
  /** Busy CPU of the machine besides the server and the generator (other work: noise). */
  otherCpu: number
}

export interface OAuthServerRounds {
  id: OAuthServerId
  rounds: OAuthRound[]
}

export interface OAuthOperationData {
  id: OAuthOperation
  servers: OAuthServerRounds[]
}

export interface OAuthData {
  concurrency: number
  target: number
  /** What each side ran on, for the report. */
  setups: Record<OAuthServerId, string>
  /** Whether each side's code exchange answered with a refresh token too. */
  refreshTokens: Record<OAuthServerId, boolean>
  operations: OAuthOperationData[]
}

// ---------------------------------------------------------------- the two sides

interface Pkce {
  verifier: string
  challenge: string
}

/** A server ready to be loaded: its client, its signed-in session, its paths. */
interface Side {
  readonly id: OAuthServerId
  readonly pid: number
  readonly url: string
  readonly target: Target
  readonly issuer: string
  readonly jwks: JWTVerifyGetKey
  readonly paths: { authorize: string; token: string; introspect: string }
  readonly clientId: string
  /** `Basic base64(client_id:client_secret)` (RFC 6749 §2.3.1). */
  readonly basic: string
  /** The Cookie header of the signed-in browser session. */
  readonly cookie: string
  /** The signed-in account's `sub`. */
  readonly userSub: string
  /** A user's access token the server introspects as active. */
  introspectToken: string
  /** Whether the gate's code exchange returned a refresh token. */
  refreshToken: boolean
  /** Warnings and errors the server logged (Tessera), for the report. */
  problems(): string[]
  stop(): Promise<void>
}

/** The query of an authorization request, without `?`. */
function authorizeQuery(clientId: string, pkce: Pkce, state: string, nonce: string): string {
  return new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: CODE_SCOPE,
    resource: RESOURCE,
    state,
    nonce,
    code_challenge: pkce.challenge,
    code_challenge_method: 'S256',
  }).toString()
}

function tokenForm(code: string, pkce: Pkce): string {
  return new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: pkce.verifier,
  }).toString()
}

const CC_FORM = new URLSearchParams({
  grant_type: 'client_credentials',
  scope: API_SCOPE,
  resource: RESOURCE,
}).toString()

function basicAuth(clientId: string, secret: string): string {
  const encode = (value: string): string => encodeURIComponent(value).replaceAll('%20', '+')
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`
}

function makePkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/**
 * The `name=value` pairs of Set-Cookie headers (attributes dropped). An
 * empty value is a cookie being expired (Tessera expires a refresh cookie
 * left on its old path beside setting the new one): skipped, as a browser
 * deletes that one and keeps the other.
 */
function setCookies(response: Response): Map<string, string> {
  const jar = new Map<string, string>()
  for (const line of response.headers.getSetCookie()) {
    const pair = line.split(';', 1)[0]!
    const at = pair.indexOf('=')
    const value = pair.slice(at + 1).trim()
    if (at > 0 && value !== '') jar.set(pair.slice(0, at).trim(), value)
  }
  return jar
}

interface Discovery {
  issuer: string
  authorize: string
  token: string
  introspect: string
  jwks: JWTVerifyGetKey
}

/**
 * The server's OpenID discovery document (both name their endpoints in it).
 * Only each endpoint's path is kept: Tessera's issuer is a fixed
 * http://localhost:3999, not the ephemeral port it listens on.
 */
async function discover(url: string): Promise<Discovery> {
  const response = await fetch(`${url}/.well-known/openid-configuration`)
  if (response.status !== 200) {
    throw new Error(`correctness gate: ${url} discovery answered ${response.status}`)
  }
  const doc = (await response.json()) as Record<string, unknown>
  const path = (name: string): string => {
    const value = doc[name]
    if (typeof value !== 'string') {
      throw new Error(`correctness gate: ${url} discovery names no ${name}`)
    }
    const parsed = new URL(value)
    return `${parsed.pathname}${parsed.search}`
  }
  return {
    issuer: String(doc.issuer),
    authorize: path('authorization_endpoint'),
    token: path('token_endpoint'),
    introspect: path('introspection_endpoint'),
    jwks: createRemoteJWKSet(new URL(`${url}${path('jwks_uri')}`)),
  }
}

async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
}

/**
 * `tessera serve` (built, production settings, SQLite in a temporary data
 * dir) with an admin, a first-party client registered through POST
 * /admin/clients, and an account signed in as a browser is (POST /auth/login
 * with X-Tessera-CSRF: 1, which sets the refresh cookie /oauth/authorize reads).
 */
async function startTesseraSide(): Promise<Side> {
  // TESSERA_AUDIENCE is the resource both servers sign for, so Tessera
  // accepts `resource` for it (it is always one of TESSERA_OAUTH_RESOURCES).
  const env = tesseraEnv({ TESSERA_AUDIENCE: RESOURCE })
  const instance: Instance = await startInstance('tessera', env)
  const target = loopbackTarget(instance.url)
  const stop = async (): Promise<void> => {
    closeTargets([target])
    await instance.stop()
  }
  try {
    await waitReady(target)
    const tag = randomBytes(4).toString('hex')
    const adminEmail = `oauth-admin-${tag}@example.com`
    const userEmail = `oauth-user-${tag}@example.com`
    await signUp(target, adminEmail)
    await signUp(target, userEmail)
    // The documented way to make the first admin: the CLI on the server's data.
    await execFileAsync(
      process.execPath,
      [TESSERA_MAIN, 'users', 'set-roles', adminEmail, 'user,admin'],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          ...env,
          TESSERA_DATA_DIR: instance.dataDir,
        },
      },
    )
    const adminLogin = await postJson(`${instance.url}/auth/login`, {
      email: adminEmail,
      password: LOAD_PASSWORD,
    })
    const adminToken = ((await adminLogin.json()) as { accessToken?: string }).accessToken
    if (adminLogin.status !== 200 || adminToken === undefined) {
      throw new Error(`the admin's login answered ${adminLogin.status}`)
    }
    const registered = await postJson(
      `${instance.url}/admin/clients`,
      {
        client_name: 'bench',
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: `openid profile email offline_access ${API_SCOPE}`,
        first_party: true,
      },
      { authorization: `Bearer ${adminToken}` },
    )
    const client = (await registered.json()) as { client_id?: string; client_secret?: string }
    if (
      registered.status !== 201 ||
      client.client_id === undefined ||
      client.client_secret === undefined
    ) {
      throw new Error(
        `correctness gate: POST /admin/clients answered ${registered.status} ${JSON.stringify(client).slice(0, 200)}`,
      )
    }
    const login = await postJson(
      `${instance.url}/auth/login`,
      { email: userEmail, password: LOAD_PASSWORD },
      { 'x-tessera-csrf': '1' },
    )
    const loggedIn = (await login.json()) as { user?: { id?: string } }
    const cookies = setCookies(login)
    const cookieName = [...cookies.keys()].find((name) => /refresh/.test(name))
    if (login.status !== 200 || cookieName === undefined || loggedIn.user?.id === undefined) {
      throw new Error(`the browser login answered ${login.status} without a refresh cookie`)
    }
    const discovery = await discover(instance.url)
    return {
      id: 'tessera',
      pid: instance.pid,
      url: instance.url,
      target,
      issuer: discovery.issuer,
      jwks: discovery.jwks,
      paths: discovery,
      clientId: client.client_id,
      basic: basicAuth(client.client_id, client.client_secret),
      cookie: `${cookieName}=${cookies.get(cookieName)}`,
      userSub: loggedIn.user.id,
      introspectToken: '',
      refreshToken: false,
      problems: () => instance.problems,
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/**
 * oidc-provider (bench/peers/oidc-provider.ts) with the same client and
 * account, signed in once through its interaction endpoint, which sets the
 * session cookie its authorization endpoint reads.
 */
async function startOidcSide(): Promise<Side> {
  const clientId = `bench-${randomBytes(16).toString('base64url')}`
  const clientSecret = randomBytes(32).toString('base64url')
  const account = {
    id: randomBytes(8).toString('hex'),
    email: 'oauth-user@example.com',
    name: 'Bench User',
  }
  const server: RunningServer = await startPeer('oidc-provider', 'oidc-provider.ts', {
    ...profilingEnv('oidc-provider'),
    OIDC_BENCH: JSON.stringify({
      clientId,
      clientSecret,
      redirectUri: REDIRECT_URI,
      jwtResource: RESOURCE,
      resourceScope: API_SCOPE,
      account,
    }),
  })
  const target = loopbackTarget(server.url)
  const stop = async (): Promise<void> => {
    closeTargets([target])
    await server.stop()
  }
  try {
    const discovery = await discover(server.url)
    // The interaction: authorize → the sign-in endpoint → back to authorize
    // → the redirect URI; the cookies set on the way hold the session.
    const jar = new Map<string, string>()
    let next = `${discovery.authorize}?${authorizeQuery(clientId, makePkce(), 'setup', 'setup')}`
    for (let hop = 0; hop < 6 && !next.startsWith(REDIRECT_URI); hop++) {
      const response = await fetch(new URL(next, server.url), {
        redirect: 'manual',
        headers: { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') },
      })
      for (const [name, value] of setCookies(response)) jar.set(name, value)
      const location = response.headers.get('location')
      if (location === null) throw new Error(`oidc-provider sign-in stopped at ${response.status}`)
      next = location
    }
    if (!next.startsWith(REDIRECT_URI) || !jar.has('_session')) {
      throw new Error('oidc-provider sign-in did not end at the redirect URI with a session')
    }
    return {
      id: 'oidc-provider',
      pid: server.pid,
      url: server.url,
      target,
      issuer: discovery.issuer,
      jwks: discovery.jwks,
      paths: discovery,
      clientId,
      basic: basicAuth(clientId, clientSecret),
      // What a browser sends to the authorization endpoint: the session
      // cookie and its signature (the interaction cookies are path-scoped
      // to the interaction and expire with it).
      cookie: ['_session', '_session.sig'].map((name) => `${name}=${jar.get(name)}`).join('; '),
      userSub: account.id,
      introspectToken: '',
      refreshToken: false,
      problems: () => [],
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

// ---------------------------------------------------------------- one exchange

/** What a refusal is counted as: the status and the OAuth `error`. */
function refusal(reply: Reply): string {
  try {
    const body = JSON.parse(reply.text) as { error?: unknown }
    if (typeof body.error === 'string') return `${reply.status} ${body.error}`
  } catch {
    // Not JSON: the status says enough.
  }
  return String(reply.status)
}

/**
 * The code of an authorization response, after checking it is one: a
 * redirect to the registered URI with the request's `state` and the
 * server's `iss` (RFC 9207); otherwise a failure label.
 */
function codeOf(reply: Reply, side: Side, state: string): { code: string } | { label: string } {
  const location = reply.location
  if ((reply.status !== 302 && reply.status !== 303) || location === undefined) {
    return { label: `authorize ${refusal(reply)}` }
  }
  if (!location.startsWith(`${REDIRECT_URI}?`))
    return { label: `authorize: not the redirect URI: ${location.slice(0, 80)}` }
  const params = new URLSearchParams(location.slice(REDIRECT_URI.length + 1))
  const code = params.get('code')
  if (code === null) return { label: `authorize: ${params.get('error') ?? 'no code'}` }
  if (params.get('state') !== state) return { label: 'authorize: state changed' }
  if (params.get('iss') !== side.issuer) return { label: 'authorize: iss missing or wrong' }
  return { code }
}

interface UserState {
  n: number
  readonly state: string
  readonly nonce: string
}

/** The last successful answer of a timed run (and the nonce its ID token must carry). */
interface Sample {
  text: string
  nonce: string
}

/** The timed step of each operation; `sample` keeps the last answer for the gate. */
function stepFor(
  operation: OAuthOperation,
  side: Side,
  pkces: readonly Pkce[],
  sample: Sample,
): (user: VirtualUser<UserState>) => Promise<StepResult> {
  const { target, paths, basic } = side
  const auth = { authorization: basic }
  switch (operation) {
    case 'client_credentials':
      return async () => {
        const reply = await send(target, 'POST', paths.token, { form: CC_FORM, headers: auth })
        if (reply.status !== 200 || !reply.text.includes('"access_token":"')) {
          return { ok: false, label: `token ${refusal(reply)}` }
        }
        sample.text = reply.text
        return { ok: true }
      }
    case 'introspection': {
      const form = new URLSearchParams({
        token: side.introspectToken,
        token_type_hint: 'access_token',
      }).toString()
      return async () => {
        const reply = await send(target, 'POST', paths.introspect, { form, headers: auth })
        if (reply.status !== 200 || !reply.text.includes('"active":true')) {
          return { ok: false, label: `introspect ${refusal(reply)}` }
        }
        sample.text = reply.text
        return { ok: true }
      }
    }
    case 'code': {
      const cookie = { cookie: side.cookie }
      return async (user) => {
        const pkce = pkces[user.state.n++ % pkces.length]!
        const query = authorizeQuery(side.clientId, pkce, user.state.state, user.state.nonce)
        const authorized = await send(target, 'GET', `${paths.authorize}?${query}`, {
          headers: cookie,
          readBody: false,
        })
        const code = codeOf(authorized, side, user.state.state)
        if ('label' in code) return { ok: false, label: code.label }
        const reply = await send(target, 'POST', paths.token, {
          form: tokenForm(code.code, pkce),
          headers: auth,
        })
        if (reply.status !== 200 || !reply.text.includes('"id_token":"')) {
          return { ok: false, label: `token ${refusal(reply)}` }
        }
        sample.text = reply.text
        sample.nonce = user.state.nonce
        return { ok: true }
      }
    }
  }
}

// ---------------------------------------------------------------- the gate

class GateError extends Error {
  constructor(failures: readonly string[]) {
    super(`correctness gate failed:\n${failures.map((line) => `    ${line}`).join('\n')}`)
    this.name = 'GateError'
  }
}

/** Collects what did not hold, with the server's name. */
class Checks {
  readonly failures: string[] = []
  readonly server: string
  constructor(server: string) {
    this.server = server
  }

  that(holds: boolean, what: string, got?: unknown): void {
    if (!holds) {
      this.failures.push(
        `${this.server}: ${what}${got === undefined ? '' : ` (got ${JSON.stringify(got).slice(0, 200)})`}`,
      )
    }
  }

  async verifies(what: string, run: () => Promise<unknown>): Promise<void> {
    try {
      await run()
    } catch (error) {
      this.failures.push(`${this.server}: ${what}: ${(error as Error).message}`)
    }
  }
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

/** An access token: ES256, typ at+jwt (RFC 9068), this issuer, the resource as audience. */
async function verifyAccessToken(
  side: Side,
  token: unknown,
  expected: { sub: string },
): Promise<void> {
  if (typeof token !== 'string') throw new Error('no access_token')
  const { payload } = await jwtVerify(token, side.jwks, {
    issuer: side.issuer,
    audience: RESOURCE,
    algorithms: ['ES256'],
    typ: 'at+jwt',
    requiredClaims: ['exp', 'iat', 'client_id'],
  })
  if (payload.client_id !== side.clientId) throw new Error(`client_id ${String(payload.client_id)}`)
  if (payload.sub !== expected.sub) throw new Error(`sub ${String(payload.sub)}`)
}

/** An ID token: ES256, this issuer, the client as audience, the request's nonce, the account. */
async function verifyIdToken(side: Side, token: unknown, nonce: string): Promise<void> {
  if (typeof token !== 'string') throw new Error('no id_token')
  if (decodeProtectedHeader(token).alg !== 'ES256') throw new Error('not ES256')
  const { payload } = await jwtVerify(token, side.jwks, {
    issuer: side.issuer,
    audience: side.clientId,
    algorithms: ['ES256'],
    requiredClaims: ['exp', 'iat', 'auth_time'],
  })
  if (payload.nonce !== nonce) throw new Error('nonce differs')
  if (payload.sub !== side.userSub) throw new Error(`sub ${String(payload.sub)}`)
  if (typeof payload.email !== 'string') throw new Error('no email claim for scope email')
}

/** One code + PKCE exchange outside timing; the token answer parsed. */
async function exchange(
  side: Side,
  checks: Checks,
  options: { resource: boolean },
): Promise<{ body: Record<string, unknown>; code: string; pkce: Pkce; nonce: string } | undefined> {
  const pkce = makePkce()
  const state = randomBytes(8).toString('base64url')
  const nonce = randomBytes(8).toString('base64url')
  let query = authorizeQuery(side.clientId, pkce, state, nonce)
  if (!options.resource) {
    const params = new URLSearchParams(query)
    params.delete('resource')
    params.set('scope', 'openid profile email')
    query = params.toString()
  }
  const authorized = await send(side.target, 'GET', `${side.paths.authorize}?${query}`, {
    headers: { cookie: side.cookie },
  })
  const code = codeOf(authorized, side, state)
  if ('label' in code) {
    checks.that(false, 'authorize answers a redirect with code, state and iss', code.label)
    return undefined
  }
  const reply = await send(side.target, 'POST', side.paths.token, {
    form: tokenForm(code.code, pkce),
    headers: { authorization: side.basic },
  })
  const body = parseJson(reply.text)
  checks.that(reply.status === 200, 'the code exchange answers 200', refusal(reply))
  checks.that(/^bearer$/i.test(String(body.token_type)), 'token_type Bearer', body.token_type)
  return { body, code: code.code, pkce, nonce }
}

/**
 * The correctness gate, before any timing: every operation once with its
 * answer checked in full and its tokens verified against the JWKS, plus the
 * refusals a client relies on (a wrong secret, a replayed code, an unknown
 * token). Leaves `side.introspectToken` set.
 */
async function gate(side: Side): Promise<string[]> {
  const checks = new Checks(side.id)
  // client_credentials
  const cc = await send(side.target, 'POST', side.paths.token, {
    form: CC_FORM,
    headers: { authorization: side.basic },
  })
  const ccBody = parseJson(cc.text)
  checks.that(cc.status === 200, 'client_credentials answers 200', refusal(cc))
  checks.that(/^bearer$/i.test(String(ccBody.token_type)), 'client_credentials token_type Bearer')
  checks.that(typeof ccBody.expires_in === 'number', 'client_credentials expires_in')
  checks.that(ccBody.refresh_token === undefined, 'client_credentials issues no refresh token')
  await checks.verifies('the client_credentials access token', () =>
    verifyAccessToken(side, ccBody.access_token, { sub: side.clientId }),
  )
  const wrongSecret = await send(side.target, 'POST', side.paths.token, {
    form: CC_FORM,
    headers: { authorization: basicAuth(side.clientId, 'not-the-secret') },
  })
  checks.that(
    wrongSecret.status === 401 && parseJson(wrongSecret.text).error === 'invalid_client',
    'a wrong secret answers 401 invalid_client',
    refusal(wrongSecret),
  )
  // code + PKCE
  const first = await exchange(side, checks, { resource: true })
  if (first !== undefined) {
    await checks.verifies('the code exchange access token', () =>
      verifyAccessToken(side, first.body.access_token, { sub: side.userSub }),
    )
    await checks.verifies('the ID token', () =>
      verifyIdToken(side, first.body.id_token, first.nonce),
    )
    side.refreshToken = typeof first.body.refresh_token === 'string'
    const replay = await send(side.target, 'POST', side.paths.token, {
      form: tokenForm(first.code, first.pkce),
      headers: { authorization: side.basic },
    })
    checks.that(
      replay.status === 400 && parseJson(replay.text).error === 'invalid_grant',
      'a replayed code answers 400 invalid_grant',
      refusal(replay),
    )
  }
  // introspection, on a user's access token from a fresh exchange (the
  // replay above may have revoked the first). oidc-provider introspects only
  // the tokens it stores (a JWT is refused as unsupported_token_type), so
  // its token is the opaque one it issues without a resource.
  const forIntrospection = await exchange(side, checks, { resource: side.id === 'tessera' })
  const token = forIntrospection?.body.access_token
  if (typeof token === 'string') {
    side.introspectToken = token
    const reply = await send(side.target, 'POST', side.paths.introspect, {
      form: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      headers: { authorization: side.basic },
    })
    const body = parseJson(reply.text)
    checks.that(reply.status === 200 && body.active === true, 'introspection answers active', body)
    checks.that(body.client_id === side.clientId, 'introspection names the client', body.client_id)
    checks.that(body.sub === side.userSub, 'introspection names the account', body.sub)
    checks.that(typeof body.exp === 'number', 'introspection has exp', body.exp)
    checks.that(typeof body.scope === 'string', 'introspection has scope', body.scope)
    const unknown = await send(side.target, 'POST', side.paths.introspect, {
      form: 'token=not-a-token-this-server-issued',
      headers: { authorization: side.basic },
    })
    checks.that(
      unknown.status === 200 && parseJson(unknown.text).active === false,
      'an unknown token introspects as {"active":false}',
      unknown.text,
    )
  } else {
    checks.that(false, 'an access token to introspect')
  }
  return checks.failures
}

/** Checks the last answer of a timed run as the gate checks one. */
async function checkSample(
  operation: OAuthOperation,
  side: Side,
  sample: Sample,
): Promise<string[]> {
  const checks = new Checks(`${side.id} (${operation}, last timed answer)`)
  if (sample.text === '') return [`${side.id} ${operation}: no successful answer`]
  if (operation === 'client_credentials') {
    await checks.verifies('access token', () =>
      verifyAccessToken(side, parseJson(sample.text).access_token, { sub: side.clientId }),
    )
  } else if (operation === 'introspection') {
    const body = parseJson(sample.text)
    checks.that(
      body.client_id === side.clientId && body.sub === side.userSub,
      'introspection',
      body,
    )
  } else {
    const body = parseJson(sample.text)
    await checks.verifies('access token', () =>
      verifyAccessToken(side, body.access_token, { sub: side.userSub }),
    )
    await checks.verifies('ID token', () => verifyIdToken(side, body.id_token, sample.nonce))
  }
  return checks.failures
}

// ---------------------------------------------------------------- measuring

async function measure(
  operation: OAuthOperation,
  side: Side,
  seconds: number,
  pkces: readonly Pkce[],
  signal: AbortSignal,
): Promise<{ round: OAuthRound; failures: string[] }> {
  const sample: Sample = { text: '', nonce: '' }
  const users: VirtualUser<UserState>[] = Array.from({ length: OAUTH_CONCURRENCY }, (_, index) => ({
    index,
    state: {
      n: index * 7,
      state: randomBytes(8).toString('base64url'),
      nonce: randomBytes(8).toString('base64url'),
    },
    done: false,
  }))
  const step = stepFor(operation, side, pkces, sample)
  const before = cpuMark([side.pid])
  const recorder = await runPhase({
    targets: [side.target],
    users,
    durationMs: seconds * 1000,
    maxRequests: 100_000_000,
    signal,
    step: (user) => step(user),
  })
  const cpu = cpuBetween(before, cpuMark([side.pid]))
  const failures = [...recorder.failures].map(
    ([label, count]) => `${side.id} ${operation}: ${count} x ${label}`,
  )
  failures.push(...(await checkSample(operation, side, sample)))
  return {
    round: {
      rps: Math.round(recorder.rps * 10) / 10,
      p50Ms: Math.round(recorder.percentile(50) * 100) / 100,
      p99Ms: Math.round(recorder.percentile(99) * 100) / 100,
      ok: recorder.ok,
      // cpuMark counts the pids it is given as `tessera`: here, the server measured.
      serverCpu: cpu.tessera,
      generatorCpu: cpu.generator,
      otherCpu: cpu.other,
    },
    failures,
  }
}

async function runOAuth(context: BenchContext): Promise<OAuthData> {
  const sides: Side[] = []
  try {
    context.progress('  starting tessera serve (SQLite) and oidc-provider (in memory) ...')
    sides.push(await startTesseraSide())
    sides.push(await startOidcSide())
    for (const side of sides) context.progress(`  ${SERVER_LABEL[side.id]}: ${side.url}`)
    const gateFailures: string[] = []
    for (const side of sides) gateFailures.push(...(await gate(side)))
    if (gateFailures.length > 0) throw new GateError(gateFailures)
    const pkces = Array.from({ length: PKCE_POOL }, makePkce)
    const data: OAuthData = {
      concurrency: OAUTH_CONCURRENCY,
      target: OAUTH_TARGET,
      setups: {
        tessera:
          'tessera serve (built, NODE_ENV=production, logs at info) on SQLite in a temporary data dir; a first-party client registered with POST /admin/clients; the account signed in with POST /auth/login (refresh cookie)',
        'oidc-provider': `oidc-provider ${packageVersion('oidc-provider')} on node:http with its default in-memory adapter (the only storage it ships; no database); the client in its static configuration; the account signed in once through its interaction endpoint (session cookie); consent skipped by loadExistingGrant, as for a first-party client`,
      },
      refreshTokens: {
        tessera: sides[0]!.refreshToken,
        'oidc-provider': sides[1]!.refreshToken,
      },
      operations: [],
    }
    for (const operation of operationsToRun()) {
      checkSignal(context.signal)
      context.progress(`  ${OPERATION_LABEL[operation]}`)
      const failures: string[] = []
      const samples = await alternateEach(sides, {
        rounds: context.rounds,
        signal: context.signal,
        ...(context.warmupSeconds > 0
          ? {
              warmUp: async (side: Side) => {
                const { failures: warm } = await measure(
                  operation,
                  side,
                  context.warmupSeconds,
                  pkces,
                  context.signal,
                )
                failures.push(...warm)
              },
            }
          : {}),
        measure: async (side) => {
          const { round, failures: timed } = await measure(
            operation,
            side,
            context.seconds,
            pkces,
            context.signal,
          )
          failures.push(...timed)
          context.progress(
            `    ${side.id.padEnd(13)} ${formatRate(round.rps).padStart(7)}/s  p50 ${formatMs(round.p50Ms)} ms  p99 ${formatMs(round.p99Ms)} ms  server CPU ${round.serverCpu.toFixed(2)}`,
          )
          return round
        },
      })
      if (failures.length > 0) throw new GateError(failures)
      data.operations.push({
        id: operation,
        servers: sides.map((side, index) => ({ id: side.id, rounds: samples[index]! })),
      })
    }
    for (const side of sides) {
      const problems = side.problems()
      if (problems.length > 0) {
        context.progress(`  ${side.id} logged: ${problems.slice(0, 5).join(' | ')}`)
      }
    }
    return data
  } finally {
    for (const side of sides) await side.stop()
  }
}

// ---------------------------------------------------------------- reporting

export interface OAuthSummary {
  rps: number
  p50Ms: number
  p99Ms: number
  serverCpu: number
  /** Operations per second per CPU-second of the server process. */
  perServerCpu: number
  /** (max - min) / median of the rounds' rates. */
  spread: number
}

export function summarizeOAuth(rounds: readonly OAuthRound[]): OAuthSummary {
  const rps = median(rounds.map((r) => r.rps))
  const rates = rounds.map((r) => r.rps)
  return {
    rps,
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    serverCpu: median(rounds.map((r) => r.serverCpu)),
    perServerCpu: median(rounds.map((r) => (r.serverCpu > 0 ? r.rps / r.serverCpu : Number.NaN))),
    spread: rounds.length > 1 && rps > 0 ? (Math.max(...rates) - Math.min(...rates)) / rps : 0,
  }
}

function pair(operation: OAuthOperationData): { tessera: OAuthSummary; oidc: OAuthSummary } {
  const of = (id: OAuthServerId): OAuthSummary =>
    summarizeOAuth(operation.servers.find((server) => server.id === id)?.rounds ?? [])
  return { tessera: of('tessera'), oidc: of('oidc-provider') }
}

export function oauthTargets(data: OAuthData): TargetCheck[] {
  return OAUTH_OPERATIONS.map((id) => {
    const operation = data.operations.find((o) => o.id === id)
    const label = `OAuth ${OPERATION_LABEL[id]}: tessera serve / oidc-provider, per second`
    if (operation === undefined) {
      return {
        label,
        value: Number.NaN,
        goal: data.target,
        better: 'higher',
        unit: 'x',
        missing: 'not measured',
      }
    }
    const { tessera, oidc } = pair(operation)
    return {
      label,
      short: `OAuth ${id === 'code' ? 'code + PKCE' : id} vs oidc-provider`,
      value: tessera.rps / oidc.rps,
      goal: data.target,
      better: 'higher' as const,
      unit: 'x' as const,
    }
  })
}

function serversTable(data: OAuthData): Table {
  const rows: string[][] = []
  for (const operation of data.operations) {
    for (const server of operation.servers) {
      const s = summarizeOAuth(server.rounds)
      rows.push([
        OPERATION_LABEL[operation.id],
        SERVER_LABEL[server.id],
        formatRate(s.rps),
        formatMs(s.p50Ms),
        formatMs(s.p99Ms),
        s.serverCpu.toFixed(2),
        formatRate(s.perServerCpu),
        `${Math.round(s.spread * 100)}%`,
      ])
    }
  }
  return {
    headers: [
      'Operation',
      'Server',
      'per second',
      'p50 ms',
      'p99 ms',
      'server CPU',
      'per server CPU-s',
      'max spread',
    ],
    align: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows,
  }
}

function ratiosTable(data: OAuthData): Table {
  return {
    headers: [
      'Operation',
      'per second',
      'p50 (oidc / tessera)',
      'p99 (oidc / tessera)',
      'per server CPU-s',
      'target',
    ],
    align: ['left', 'right', 'right', 'right', 'right', 'right'],
    rows: data.operations.map((operation) => {
      const { tessera, oidc } = pair(operation)
      return [
        OPERATION_LABEL[operation.id],
        formatRatio(tessera.rps / oidc.rps),
        formatRatio(oidc.p50Ms / tessera.p50Ms),
        formatRatio(oidc.p99Ms / tessera.p99Ms),
        formatRatio(tessera.perServerCpu / oidc.perServerCpu),
        `>= ${data.target}x`,
      ]
    }),
  }
}

export function renderOAuth(data: OAuthData, meta: RunMeta): Rendered {
  const targets = oauthTargets(data)
  const charts = [
    {
      file: 'oauth.svg',
      alt: 'OAuth operations per second, tessera serve against oidc-provider',
      svg: barChart({
        title: 'OAuth: operations per second, tessera serve and oidc-provider',
        subtitle: `${data.concurrency} concurrent clients, closed loop; higher is better`,
        bars: data.operations.flatMap((operation) =>
          operation.servers.map((server) => {
            const s = summarizeOAuth(server.rounds)
            return {
              label: `${OPERATION_LABEL[operation.id]}: ${server.id}`,
              value: s.rps,
              text: `${formatRate(s.rps)}/s (p99 ${formatMs(s.p99Ms)} ms)`,
              tone: server.id === 'tessera' ? ('tessera' as const) : ('peer' as const),
            }
          }),
        ),
      }),
    },
  ]
  const refresh = (id: OAuthServerId): string =>
    data.refreshTokens[id] ? 'a refresh token too' : 'no refresh token'
  const intro = [
    `Both servers side by side on this machine, each its own process on 127.0.0.1 over HTTP/1.1 keep-alive, loaded in alternation by the same closed-loop generator (${data.concurrency} concurrent clients, each with one request or exchange in flight; ${meta.rounds} rounds of ${meta.seconds} s after a ${meta.warmupSeconds} s warm-up, medians). Configured alike: one confidential client (client_secret_basic), PKCE S256 required, ES256 ID tokens and ES256 JWT access tokens (typ at+jwt) for the resource ${RESOURCE}, two-hour access tokens, no consent for the client.`,
    '',
    `- **client_credentials**: POST token, \`grant_type=client_credentials&scope=${API_SCOPE}&resource=...\`, Basic auth.`,
    `- **introspection**: POST introspect on a signed-in user's access token, Basic auth. Tessera checks its JWT (signature, claims, revocation); oidc-provider refuses to introspect JWTs (\`unsupported_token_type\`: they are self-contained), so its token is the opaque one it issues without a resource, looked up in memory.`,
    `- **code + PKCE**: GET authorize with the signed-in session's cookie → 302/303 with \`code\`, \`state\`, \`iss\` → POST token with the \`code_verifier\` → access token and ID token (scope \`${CODE_SCOPE}\`; Tessera answers with ${refresh('tessera')}, oidc-provider with ${refresh('oidc-provider')}). One exchange is both requests; its latency is theirs added.`,
    '',
    `Storage differs, as each ships: ${data.setups.tessera}. ${data.setups['oidc-provider']}. "server CPU" is the server process's cores busy on average (1.00 = one core); "per server CPU-s" divides the rate by it, which is less sensitive to the generator and other work sharing the ${meta.machine.cores} cores. Every answer of every run was checked (status and shape), and the last of each run verified with jose against the server's JWKS.`,
  ]
  const markdown = [
    ...intro,
    '',
    renderMarkdown(serversTable(data)),
    '',
    'Tessera against oidc-provider:',
    '',
    renderMarkdown(ratiosTable(data)),
    '',
    targetMarkdown(targets),
    '',
    chartLinks(charts),
  ].join('\n')
  const text = [
    `tessera serve on SQLite; oidc-provider ${packageVersionSafe(data)} with its in-memory adapter; ${data.concurrency} concurrent clients`,
    '',
    renderText(serversTable(data)),
    '',
    renderText(ratiosTable(data)),
    '',
    targetText(targets),
  ].join('\n')
  return { markdown, text, charts, targets }
}

function packageVersionSafe(data: OAuthData): string {
  return /oidc-provider (\S+)/.exec(data.setups['oidc-provider'])?.[1] ?? ''
}

export const oauthScenario: Scenario<OAuthData> = {
  number: 6,
  id: 'oauth',
  title:
    'OAuth: tessera serve against oidc-provider (client_credentials, introspection, code + PKCE)',
  run: (context) => runOAuth(context),
  render: renderOAuth,
  loadGenerator: 'bench/lib/load-http.ts (in process, closed loop)',
  versions: async () => ({
    'oidc-provider': packageVersion('oidc-provider'),
    jose: packageVersion('jose'),
  }),
}
