// The examples in examples/ as a user runs them: the real `tessera serve`,
// and the Express, Fastify and Hono resource servers as child processes that
// trust it through its JWKS and its revocation feed. For each: /welcome is
// public, /me answers the token's claims, missing and tampered tokens are
// refused, /admin follows a role change, and a logout on the Tessera server
// is refused at the resource server within one second (measured, printed).
// Then the Express example against an issuer that is not Tessera: a plain
// JWKS file and tokens signed by jose, as Auth0, Keycloak or Supabase would.

import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { decode } from '@tessera/jwt'
import type { AuthenticateOptions } from '@tessera/jwt/express'
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT, UnsecuredJWT } from 'jose'
import { createApp as createExpressApp } from '../../../examples/express-api/app.ts'
import {
  makeDataDir,
  repoRoot,
  runCli,
  type ServerProcess,
  startServer,
  TEST_ENV,
} from './support/server-process.ts'

const FEED_KEY = randomBytes(32).toString('base64url')
const ISSUER = TEST_ENV.TESSERA_ISSUER!
const PASSWORD = 'correct horse battery staple'
/** The promise this file checks: a logout is refused everywhere within a second. */
const REVOCATION_BUDGET_MS = 1000
const POLL_EVERY_MS = 10

const FRAMEWORKS = ['express', 'fastify', 'hono'] as const
type Framework = (typeof FRAMEWORKS)[number]

interface Json {
  [key: string]: unknown
}

interface Answer {
  status: number
  body: Json
  headers: Headers
}

async function request(
  url: string,
  options: { method?: string; token?: string; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {}
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(url, {
    method: options.method ?? 'GET',
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  })
  const text = await response.text()
  let body: Json
  try {
    body = text === '' ? {} : (JSON.parse(text) as Json)
  } catch {
    // Not JSON (a framework's own error page): keep it for the assertion message.
    body = { text }
  }
  return { status: response.status, body, headers: response.headers }
}

const errorCode = (body: Json): unknown => (body.error as Json | undefined)?.code

/** The same token with one character of its signature changed. */
function tamper(token: string): string {
  const i = token.lastIndexOf('.') + 10
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1)
}

interface ExampleProcess {
  readonly name: Framework
  readonly url: string
  readonly logs: string[]
  /** Sends SIGTERM and resolves to the exit code. */
  stop(): Promise<number | null>
}

/**
 * Starts `examples/<name>-api/server.ts` pointed at `tessera`, on an
 * ephemeral port; resolves once it listens and (unless `waitForFeed` is
 * false) its revocation feed caught up.
 */
async function startExample(
  name: Framework,
  tessera: ServerProcess,
  { feedKey = FEED_KEY, waitForFeed = true }: { feedKey?: string; waitForFeed?: boolean } = {},
): Promise<ExampleProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=source', join(repoRoot, `examples/${name}-api/server.ts`)],
    {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        HOST: '127.0.0.1',
        PORT: '0',
        TESSERA_URL: tessera.url,
        TESSERA_ISSUER: ISSUER,
        TESSERA_FEED_KEY: feedKey,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const logs: string[] = []
  const exited = once(child, 'exit')
  const url = await new Promise<string>((resolve, reject) => {
    let listening: string | undefined
    let feedReady = !waitForFeed
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${name} did not start:\n${logs.join('\n')}`))
    }, 15_000)
    const onLine = (line: string) => {
      logs.push(line)
      listening ??= /listening on (http:\/\/[\d.]+:\d+)/.exec(line)?.[1]
      if (line.includes('revocation feed ready')) feedReady = true
      if (listening !== undefined && feedReady) {
        clearTimeout(timer)
        resolve(listening)
      }
    }
    createInterface({ input: child.stdout! }).on('line', onLine)
    createInterface({ input: child.stderr! }).on('line', (line) => logs.push(line))
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited with ${code}:\n${logs.join('\n')}`))
    })
  })
  return {
    name,
    url,
    logs,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const [code] = (await exited) as [number | null]
      return code
    },
  }
}

describe('the example resource servers trust a running tessera serve', () => {
  const data = makeDataDir()
  let tessera: ServerProcess
  const examples = new Map<Framework, ExampleProcess>()

  before(async () => {
    tessera = await startServer(data.dir, { TESSERA_REVOCATION_FEED_KEY: FEED_KEY })
    const started = await Promise.allSettled(FRAMEWORKS.map((name) => startExample(name, tessera)))
    // Keep those that started, so after() stops them even when another failed.
    for (const result of started) {
      if (result.status === 'fulfilled') examples.set(result.value.name, result.value)
    }
    for (const result of started) if (result.status === 'rejected') throw result.reason
  })
  after(async () => {
    await Promise.all([...examples.values()].map((example) => example.stop()))
    await tessera?.stop()
    data.remove()
  })

  const example = (name: Framework): ExampleProcess =>
    examples.get(name) ?? assert.fail(`${name} is not running`)

  async function signup(email: string): Promise<string> {
    const answer = await request(`${tessera.url}/auth/signup`, {
      method: 'POST',
      body: { email, password: PASSWORD },
    })
    assert.equal(answer.status, 201, JSON.stringify(answer.body))
    return answer.body.accessToken as string
  }

  async function login(email: string): Promise<string> {
    const answer = await request(`${tessera.url}/auth/login`, {
      method: 'POST',
      body: { email, password: PASSWORD },
    })
    assert.equal(answer.status, 200, JSON.stringify(answer.body))
    return answer.body.accessToken as string
  }

  for (const name of FRAMEWORKS) {
    describe(name, () => {
      const email = `${name}-user@example.com`

      it('/welcome answers without a token', async () => {
        const welcome = await request(`${example(name).url}/welcome`)
        assert.equal(welcome.status, 200)
        assert.equal(typeof welcome.body.message, 'string')
      })

      it('/me answers the sub, roles and sid of a token from signup', async () => {
        const token = await signup(email)
        const claims = decode(token).payload
        const me = await request(`${example(name).url}/me`, { token })
        assert.equal(me.status, 200, JSON.stringify(me.body))
        assert.deepEqual(me.body, { sub: claims.sub, roles: ['user'], sid: claims.sid })
        assert.equal(typeof me.body.sid, 'string')
      })

      it('/me: 401 missing_token without a token, invalid_token for a tampered one', async () => {
        const missing = await request(`${example(name).url}/me`)
        assert.equal(missing.status, 401)
        assert.equal(errorCode(missing.body), 'missing_token')
        assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer /)

        const token = await login(email)
        const tampered = await request(`${example(name).url}/me`, { token: tamper(token) })
        assert.equal(tampered.status, 401)
        assert.equal(errorCode(tampered.body), 'invalid_token')
        assert.match(tampered.headers.get('www-authenticate') ?? '', /error="invalid_token"/)
      })

      it('/admin: 403 for a user, 200 after `tessera users set-roles` and a fresh login', async () => {
        const before = await request(`${example(name).url}/admin`, { token: await login(email) })
        assert.equal(before.status, 403, JSON.stringify(before.body))
        assert.equal(errorCode(before.body), 'forbidden')

        const cli = await runCli(data.dir, ['users', 'set-roles', email, 'user,admin'])
        assert.equal(cli.code, 0, cli.stderr)

        const token = await login(email)
        assert.deepEqual(decode(token).payload.roles, ['user', 'admin'])
        const admin = await request(`${example(name).url}/admin`, { token })
        assert.equal(admin.status, 200, JSON.stringify(admin.body))
        assert.equal(typeof admin.body.message, 'string')
      })

      it(`a logout on the Tessera server is refused here within ${REVOCATION_BUDGET_MS} ms`, async (t) => {
        const token = await login(email)
        const me = `${example(name).url}/me`
        // Verified once first, so the token sits in the verified-token cache:
        // revocation must win over the cache, not only over a fresh verification.
        assert.equal((await request(me, { token })).status, 200)

        const start = performance.now()
        const logout = await request(`${tessera.url}/auth/logout`, { method: 'POST', token })
        assert.equal(logout.status, 204, JSON.stringify(logout.body))
        const loggedOutAfter = performance.now() - start

        let answer: Answer
        let polls = 0
        for (;;) {
          answer = await request(me, { token })
          polls++
          if (answer.status !== 200) break
          if (performance.now() - start > REVOCATION_BUDGET_MS * 2) break
          await sleep(POLL_EVERY_MS)
        }
        const delay = performance.now() - start
        assert.equal(answer.status, 401, JSON.stringify(answer.body))
        assert.equal(errorCode(answer.body), 'token_revoked')
        t.diagnostic(
          `${name}: revoked after ${delay.toFixed(1)} ms (logout answered in ${loggedOutAfter.toFixed(1)} ms; ${polls} requests to /me)`,
        )
        assert.ok(delay < REVOCATION_BUDGET_MS, `${name}: revoked only after ${delay} ms`)
      })
    })
  }

  it('with a wrong feed key an example says so once, naming the variable, and answers 503 saying why', async () => {
    const wrongKey = randomBytes(32).toString('base64url')
    const misconfigured = await startExample('express', tessera, {
      feedKey: wrongKey,
      waitForFeed: false,
    })
    try {
      const token = await login('express-user@example.com')
      const refusedLine = (line: string) => line.includes('refuses TESSERA_FEED_KEY')
      for (let waited = 0; !misconfigured.logs.some(refusedLine); waited += 20) {
        assert.ok(waited < 5000, `no refusal logged:\n${misconfigured.logs.join('\n')}`)
        await sleep(20)
      }
      const me = await request(`${misconfigured.url}/me`, { token })
      assert.equal(me.status, 503)
      assert.equal(errorCode(me.body), 'unavailable')
      assert.match(String((me.body.error as Json).message), /revocation feed refuses this service/)
      assert.equal(me.headers.get('retry-after'), '30')
      // The old back-off retried after 0.5, 1 and 2 s, logging each 401: now
      // the next try waits 30 s, so two seconds later the log still has one line.
      await sleep(2000)
      const lines = misconfigured.logs.filter((line) => line.includes('revocation feed'))
      assert.deepEqual(lines, [
        "[express] revocation feed: the Tessera server refuses TESSERA_FEED_KEY: set it to the server's TESSERA_REVOCATION_FEED_KEY (requests with a token are answered 503 until it is fixed; retrying every 30 s)",
      ])
      assert.ok(!misconfigured.logs.join('\n').includes(wrongKey), 'the key is never logged')
    } finally {
      await misconfigured.stop()
    }
  })

  it('every example stops cleanly on SIGTERM (exit code 0)', async () => {
    for (const name of FRAMEWORKS) {
      const running = example(name)
      const code = await running.stop()
      assert.equal(code, 0, `${name} exited with ${code}:\n${running.logs.join('\n')}`)
      assert.ok(
        running.logs.some((line) => line.endsWith('stopped')),
        running.logs.join('\n'),
      )
    }
  })
})

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey']

/** A JWKS served by plain node:http, as any issuer publishes one; counts fetches. */
async function startJwksServer(jwks: { keys: object[] }): Promise<{
  url: string
  fetches: () => number
  close(): Promise<void>
}> {
  let fetches = 0
  const server: Server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end()
      return
    }
    fetches++
    res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'public, max-age=300',
    })
    res.end(JSON.stringify(jwks))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    fetches: () => fetches,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** Runs the Express example's app with `auth`, in process, on an ephemeral port. */
async function startExpressExample(auth: AuthenticateOptions): Promise<{
  url: string
  close(): Promise<void>
}> {
  const { app, close } = createExpressApp(auth)
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await close()
    },
  }
}

describe('the Express example trusts an issuer that is not Tessera (JWKS + jose tokens)', () => {
  // Auth0-style values: an issuer with a trailing slash, an API identifier as audience.
  const issuer = 'https://tenant.issuer.example/'
  const audience = 'https://api.example.com'
  const kid = 'signing-key-1'
  let privateKey: SigningKey
  let otherKey: SigningKey
  let jwks: Awaited<ReturnType<typeof startJwksServer>>
  const running: { close(): Promise<void> }[] = []

  before(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true })
    privateKey = pair.privateKey
    otherKey = (await generateKeyPair('ES256')).privateKey
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' }
    // A Keycloak JWKS also lists an encryption key: it must be skipped, not fatal.
    const encryption = await generateKeyPair('RSA-OAEP', { extractable: true })
    const encJwk = {
      ...(await exportJWK(encryption.publicKey)),
      kid: 'enc-1',
      alg: 'RSA-OAEP',
      use: 'enc',
    }
    jwks = await startJwksServer({ keys: [encJwk, publicJwk] })
  })
  after(async () => {
    for (const server of running.splice(0)) await server.close()
    await jwks?.close()
  })

  async function app(extra: Partial<AuthenticateOptions> = {}) {
    const started = await startExpressExample({
      issuer,
      audience,
      jwksUrl: jwks.url,
      ...extra,
    } as AuthenticateOptions)
    running.push(started)
    return started.url
  }

  function token(
    claims: JWTPayload,
    header: { typ?: string; kid?: string } = {},
    options: { key?: SigningKey; expiresIn?: string | false } = {},
  ): Promise<string> {
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt', ...header })
      .setIssuer(issuer)
      .setAudience([audience, `${issuer}userinfo`])
      .setIssuedAt()
    if (options.expiresIn !== false) jwt.setExpirationTime(options.expiresIn ?? '5m')
    return jwt.sign(options.key ?? privateKey)
  }

  const standard = (sub: string, extra: JWTPayload = {}): JWTPayload => ({
    sub,
    jti: randomUUID(),
    scope: 'read:messages',
    ...extra,
  })

  it('an at+jwt token signed by jose passes /me, and /admin with its roles claim', async () => {
    const url = await app()
    const user = await token(standard('auth0|alice', { roles: ['editor'] }))
    const me = await request(`${url}/me`, { token: user })
    assert.equal(me.status, 200, JSON.stringify(me.body))
    assert.deepEqual(me.body, { sub: 'auth0|alice', roles: ['editor'] })
    assert.equal((await request(`${url}/admin`, { token: user })).status, 403)

    const admin = await token(standard('auth0|root', { roles: ['admin'] }))
    assert.equal((await request(`${url}/admin`, { token: admin })).status, 200)
  })

  it('typ JWT (Auth0, Keycloak, Supabase) is refused by default and accepted with typ: false', async () => {
    const jwtTyped = await token(standard('kc-user-1'), { typ: 'JWT' })
    const strict = await request(`${await app()}/me`, { token: jwtTyped })
    assert.equal(strict.status, 401)
    assert.equal(errorCode(strict.body), 'invalid_token')

    const relaxed = await request(`${await app({ typ: false })}/me`, { token: jwtTyped })
    assert.equal(relaxed.status, 200, JSON.stringify(relaxed.body))
    assert.equal(relaxed.body.sub, 'kc-user-1')
  })

  it('refuses alg none, a token without exp, a wrong audience and a foreign signer', async () => {
    const url = await app()
    const unsigned = new UnsecuredJWT(standard('mallory'))
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime('5m')
      .encode()
    const noExp = await token(standard('mallory'), {}, { expiresIn: false })
    const wrongAudience = await new SignJWT(standard('mallory'))
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setAudience('https://other-api.example.com')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey)
    const foreign = await token(standard('mallory'), {}, { key: otherKey })
    for (const [label, refused] of Object.entries({ unsigned, noExp, wrongAudience, foreign })) {
      const answer = await request(`${url}/me`, { token: refused })
      assert.equal(answer.status, 401, `${label}: ${JSON.stringify(answer.body)}`)
      assert.equal(errorCode(answer.body), 'invalid_token', label)
    }
  })

  it('unknown kids do not make a JWKS fetch per request (the 30 s cooldown)', async () => {
    const url = await app()
    // The first request fetches the JWKS.
    assert.equal((await request(`${url}/me`, { token: await token(standard('a')) })).status, 200)
    const fetchedBefore = jwks.fetches()
    for (let i = 0; i < 5; i++) {
      const forged = await token(standard('a'), { kid: `random-${i}` }, { key: otherKey })
      const answer = await request(`${url}/me`, { token: forged })
      assert.equal(answer.status, 401)
      assert.equal(errorCode(answer.body), 'invalid_token')
    }
    assert.ok(jwks.fetches() - fetchedBefore <= 1, `${jwks.fetches() - fetchedBefore} refetches`)
  })

  it('a token without jti (Auth0, Supabase) is refused by default and accepted with requiredClaims', async () => {
    const noJti = await token({ sub: 'supabase-user', role: 'authenticated' }, { typ: 'JWT' })
    const strict = await request(`${await app({ typ: false })}/me`, { token: noJti })
    assert.equal(strict.status, 401)
    assert.equal(errorCode(strict.body), 'invalid_token')
    const relaxed = await request(
      `${await app({ typ: false, requiredClaims: ['iat', 'sub'] })}/me`,
      { token: noJti },
    )
    assert.equal(relaxed.status, 200, JSON.stringify(relaxed.body))
    const noExp = await token({ sub: 'forever' }, { typ: 'JWT' }, { expiresIn: false })
    const stillStrict = await request(`${await app({ typ: false, requiredClaims: [] })}/me`, {
      token: noExp,
    })
    assert.equal(stillStrict.status, 401, 'exp stays required whatever requiredClaims says')
  })
})
