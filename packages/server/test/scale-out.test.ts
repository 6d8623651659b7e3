// Three `tessera serve` processes on 127.0.0.1 sharing one PostgreSQL (through
// a TCP proxy the test can cut, standing in for a database restart) and one
// private Redis (which the test stops and starts). Needs
// TESSERA_TEST_DATABASE_URL; under CI=true a missing or unreachable database
// fails the suite instead of skipping it.

import assert from 'node:assert/strict'
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { generateKeyPair, generateProof } from 'dpop'
import pg from 'pg'
import { totpCode } from '../src/auth/totp.ts'
import { type RedisProcess, startRedisServer } from './support/redis-server.ts'
import { makeDataDir, runCli, type ServerProcess, startServer } from './support/server-process.ts'
import { startSmtpServer, type TestSmtpServer } from './support/smtp-server.ts'
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts'

const databaseUrl = process.env.TESSERA_TEST_DATABASE_URL
const skip =
  databaseUrl === undefined && process.env.CI !== 'true'
    ? 'set TESSERA_TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test'
    : false

interface Json {
  [key: string]: unknown
}

async function call(
  server: ServerProcess,
  method: string,
  path: string,
  options: { body?: unknown; token?: string } = {},
): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = {}
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(10_000),
  })
  const text = await response.text()
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Json) }
}

const code = (body: Json): unknown => (body.error as Json | undefined)?.code
const PASSWORD = 'a shared passphrase'

describe('three instances on PostgreSQL and Redis', { skip, timeout: 180_000 }, () => {
  const data = makeDataDir()
  const schema = `tessera_scale_${randomBytes(6).toString('hex')}`
  const masterKey = randomBytes(32).toString('base64url')
  let admin: pg.Client
  let proxy: TcpProxy
  let redis: RedisProcess
  let smtp: TestSmtpServer
  let instances: ServerProcess[] = []
  let env: Record<string, string>

  before(async () => {
    if (databaseUrl === undefined) throw new Error('CI=true: TESSERA_TEST_DATABASE_URL must be set')
    admin = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3_000 })
    await admin.connect()
    await admin.query(`create schema ${schema}`)
    const target = new URL(databaseUrl)
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    const viaProxy = new URL(databaseUrl)
    viaProxy.hostname = '127.0.0.1'
    viaProxy.port = String(proxy.port)
    viaProxy.searchParams.set('schema', schema)
    redis = await startRedisServer()
    smtp = await startSmtpServer()
    env = {
      TESSERA_SMTP_URL: smtp.url,
      TESSERA_DATABASE_URL: viaProxy.toString(),
      TESSERA_REDIS_URL: redis.url,
      TESSERA_MASTER_KEY: masterKey,
      TESSERA_REFRESH_REUSE_GRACE: '2s',
      TESSERA_LOGIN_RATE_LIMIT: 'ip=1000/15m,fails=3,maxBackoff=15m',
    }
    // Started one after another: the first creates the schema and the key.
    for (let i = 0; i < 3; i++) instances.push(await startServer(data.dir, env))
  })

  after(async () => {
    await Promise.all(instances.map((s) => s.stop('SIGKILL')))
    await redis?.stop()
    await smtp?.close()
    await proxy?.close()
    if (admin !== undefined) {
      await admin.query(`drop schema if exists ${schema} cascade`)
      await admin.end()
    }
    data.remove()
  })

  it('a user signed up on A logs in on B and is known on C; all publish the same JWKS', async () => {
    const [a, b, c] = instances as [ServerProcess, ServerProcess, ServerProcess]
    const signup = await call(a, 'POST', '/auth/signup', {
      body: { email: 'one@example.com', password: PASSWORD },
    })
    assert.equal(signup.status, 201, JSON.stringify(signup.body))
    const login = await call(b, 'POST', '/auth/login', {
      body: { email: 'one@example.com', password: PASSWORD },
    })
    assert.equal(login.status, 200)
    const me = await call(c, 'GET', '/auth/me', { token: login.body.accessToken as string })
    assert.equal(me.status, 200)
    const jwks = await Promise.all(instances.map((s) => call(s, 'GET', '/.well-known/jwks.json')))
    assert.equal(
      new Set(jwks.map((j) => JSON.stringify(j.body))).size,
      1,
      'one key set for the deployment',
    )
  })

  it('50 parallel refreshes of one token over three instances: one rotation; a late replay revokes it everywhere', async () => {
    const login = await call(instances[0]!, 'POST', '/auth/login', {
      body: { email: 'one@example.com', password: PASSWORD },
    })
    const token = login.body.refreshToken as string
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        call(instances[i % 3]!, 'POST', '/auth/refresh', { body: { refreshToken: token } }),
      ),
    )
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body))
    assert.equal(
      new Set(results.map((r) => r.body.refreshToken)).size,
      1,
      'every caller got the same successor',
    )
    const access = results[0]!.body.accessToken as string

    await sleep(2_300)
    const replay = await call(instances[1]!, 'POST', '/auth/refresh', {
      body: { refreshToken: token },
    })
    assert.equal(code(replay.body), 'refresh_token_reused')
    const started = Date.now()
    for (const s of instances) {
      for (;;) {
        const me = await call(s, 'GET', '/auth/me', { token: access })
        if (code(me.body) === 'token_revoked') break
        assert.ok(Date.now() - started < 1_000, 'revoked on every instance within one second')
        await sleep(25)
      }
    }
  })

  it('logout on A: the access token is refused on B and C within one second', async () => {
    const [a, b, c] = instances as [ServerProcess, ServerProcess, ServerProcess]
    const login = await call(a, 'POST', '/auth/login', {
      body: { email: 'one@example.com', password: PASSWORD },
    })
    const token = login.body.accessToken as string
    assert.equal((await call(b, 'GET', '/auth/me', { token })).status, 200)
    assert.equal((await call(c, 'GET', '/auth/me', { token })).status, 200)
    assert.equal((await call(a, 'POST', '/auth/logout', { token })).status, 204)
    const started = Date.now()
    const seen: number[] = []
    for (const s of [b, c]) {
      for (;;) {
        const me = await call(s, 'GET', '/auth/me', { token })
        if (code(me.body) === 'token_revoked') break
        assert.ok(Date.now() - started < 1_000, 'refused within one second')
        await sleep(10)
      }
      seen.push(Date.now() - started)
    }
    process.stderr.write(`# logout propagation: ${seen.join(' ms, ')} ms\n`)
  })

  it('a role change made with the CLI revokes older tokens on every running instance within one second', async () => {
    const login = await call(instances[0]!, 'POST', '/auth/login', {
      body: { email: 'one@example.com', password: PASSWORD },
    })
    const token = login.body.accessToken as string
    await sleep(1_100) // `before` has one-second resolution: the change must come in a later second
    const cli = await runCli(
      data.dir,
      ['users', 'set-roles', 'one@example.com', 'user,editor'],
      env,
    )
    assert.equal(cli.code, 0, cli.stderr)
    const started = Date.now()
    for (const s of instances) {
      while (code((await call(s, 'GET', '/auth/me', { token })).body) !== 'token_revoked') {
        assert.ok(Date.now() - started < 1_000, 'refused within one second')
        await sleep(25)
      }
    }
  })

  it('mail: sends limited per address across instances, each mail sent once, one link or code signs in once', async () => {
    const email = `mail-${randomUUID()}@example.com`
    const signup = await call(instances[0]!, 'POST', '/auth/signup', {
      body: { email, password: PASSWORD },
    })
    assert.equal(signup.status, 201)
    // Five sends over the three instances reach the shared limit; the sixth waits.
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (await call(instances[i % 3]!, 'POST', '/auth/otp/send', { body: { email } })).status,
      )
    }
    assert.deepEqual(statuses, [202, 202, 202, 202, 202, 429])
    const mine = () => smtp.received.filter((m) => m.envelope.to.includes(email))
    const deadline = Date.now() + 10_000
    while (mine().length < 6 && Date.now() < deadline) await sleep(50)
    // Three workers claim from one outbox: nothing goes twice.
    await sleep(1_000)
    const mails = mine()
    assert.equal(mails.length, 6, 'the verification mail and five sign-in mails, once each')
    // Each sign-in mail ended the one before: of the five, one link is live.
    // Every link is used on two instances at once: one use of one link wins.
    const signIns = mails
      .map((m) => m.parsed.text ?? '')
      .filter((text) => text.includes('/login/link?token='))
    assert.equal(signIns.length, 5)
    const outcomes: string[] = []
    let live = ''
    for (const text of signIns) {
      const token = /\/login\/link\?token=([A-Za-z0-9_-]{43})/.exec(text)![1]
      const racing = await Promise.all(
        [1, 2].map((i) => call(instances[i]!, 'POST', '/auth/otp/verify', { body: { token } })),
      )
      const statuses = racing.map((r) => r.status).sort()
      outcomes.push(statuses.join(','))
      if (statuses[0] === 200) live = text
    }
    assert.deepEqual(outcomes.sort(), ['200,400', '400,400', '400,400', '400,400', '400,400'])
    // The code of the live mail was spent with its link.
    const byCode = await call(instances[0]!, 'POST', '/auth/otp/verify', {
      body: { email, code: /\b(\d{6})\b/.exec(live)![1] },
    })
    assert.equal(code(byCode.body), 'invalid_code')
  })

  it('second factors: a TOTP code and an MFA challenge used on one instance are refused on the others', async () => {
    const email = `mfa-${randomUUID()}@example.com`
    const signup = await call(instances[0]!, 'POST', '/auth/signup', {
      body: { email, password: PASSWORD },
    })
    const token = signup.body.accessToken as string
    const enroll = await call(instances[1]!, 'POST', '/auth/mfa/totp/enroll', { token })
    assert.equal(enroll.status, 200, JSON.stringify(enroll.body))
    const secret = enroll.body.secret as string
    const confirm = await call(instances[2]!, 'POST', '/auth/mfa/totp/confirm', {
      token,
      body: { code: totpCode(secret, Date.now()) },
    })
    assert.equal(confirm.status, 200, JSON.stringify(confirm.body))
    // The confirming code's step is spent everywhere; the next step's code
    // is accepted (one step of drift), once.
    const code1 = totpCode(secret, Date.now() + 30_000)
    const a = await call(instances[0]!, 'POST', '/auth/login', {
      body: { email, password: PASSWORD },
    })
    assert.equal(a.body.mfaRequired, true)
    const done = await call(instances[1]!, 'POST', '/auth/mfa/verify', {
      body: { mfaToken: a.body.mfaToken, method: 'totp', code: code1 },
    })
    assert.equal(done.status, 200, JSON.stringify(done.body))
    // The same code for another sign-in, on a third instance: a replay.
    const b = await call(instances[2]!, 'POST', '/auth/login', {
      body: { email, password: PASSWORD },
    })
    const replay = await call(instances[2]!, 'POST', '/auth/mfa/verify', {
      body: { mfaToken: b.body.mfaToken, method: 'totp', code: code1 },
    })
    assert.equal(code(replay.body), 'invalid_code')
    // The spent challenge, on an instance that never saw it.
    const spent = await call(instances[0]!, 'POST', '/auth/mfa/verify', {
      body: {
        mfaToken: a.body.mfaToken,
        method: 'recovery_code',
        code: (confirm.body.recoveryCodes as string[])[0],
      },
    })
    assert.equal(code(spent.body), 'invalid_code')
  })

  it('OAuth: a code issued on A is redeemed once over A, B and C; the racing replays revoke the grant everywhere', async () => {
    const [a, b, c] = instances as [ServerProcess, ServerProcess, ServerProcess]
    const added = await runCli(
      data.dir,
      [
        'clients',
        'add',
        '--name',
        'Scale App',
        '--redirect-uri',
        'https://app.example.com/cb',
        '--grant',
        'authorization_code,refresh_token,client_credentials',
        '--scope',
        'openid email offline_access api:read',
        '--first-party',
        '--json',
      ],
      env,
    )
    assert.equal(added.code, 0, added.stderr)
    const registration = JSON.parse(added.stdout) as { client_id: string; client_secret: string }
    const authorization = `Basic ${Buffer.from(`${registration.client_id}:${registration.client_secret}`).toString('base64')}`
    const form = async (server: ServerProcess, path: string, params: Record<string, string>) => {
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
        body: new URLSearchParams(params),
        signal: AbortSignal.timeout(10_000),
      })
      return { status: response.status, body: (await response.json()) as Json }
    }
    // A browser signed in on A: the refresh cookie of a browser-mode login.
    const login = await fetch(`${a.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tessera-csrf': '1' },
      body: JSON.stringify({ email: 'one@example.com', password: PASSWORD }),
    })
    assert.equal(login.status, 200)
    // The live cookie (an expired one for the old Path=/auth comes first).
    const cookie = login.headers
      .getSetCookie()
      .map((line) => line.split(';')[0] as string)
      .find((pair) => pair.startsWith('tessera_refresh=') && pair !== 'tessera_refresh=') as string
    const verifier = randomBytes(32).toString('base64url')
    const challenge = createHash('sha256').update(verifier).digest('base64url')
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: registration.client_id,
      redirect_uri: 'https://app.example.com/cb',
      scope: 'openid email',
      state: 's',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })
    const authorize = await fetch(`${b.url}/oauth/authorize?${query}`, {
      headers: { cookie },
      redirect: 'manual',
    })
    assert.equal(authorize.status, 302)
    const code = new URL(authorize.headers.get('location') as string).searchParams.get(
      'code',
    ) as string
    const params = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: 'https://app.example.com/cb',
      code_verifier: verifier,
    }
    const race = await Promise.all(
      Array.from({ length: 9 }, (_, i) => form(instances[i % 3]!, '/oauth/token', params)),
    )
    const won = race.filter((r) => r.status === 200)
    assert.equal(won.length, 1, JSON.stringify(race.map((r) => r.status)))
    for (const lost of race.filter((r) => r.status !== 200))
      assert.equal(lost.body.error, 'invalid_grant')
    // The replays revoked what the one redemption issued, on every instance.
    const access = won[0]!.body.access_token as string
    const started = Date.now()
    for (const s of [a, b, c]) {
      while ((await form(s, '/oauth/introspect', { token: access })).body.active !== false) {
        assert.ok(Date.now() - started < 2_000, 'inactive everywhere within a second or so')
        await sleep(50)
      }
    }
    assert.equal(
      (
        await form(c, '/oauth/token', {
          grant_type: 'refresh_token',
          refresh_token: won[0]!.body.refresh_token as string,
        })
      ).body.error,
      'invalid_grant',
    )
    // A service token from C is active on A.
    const service = await form(c, '/oauth/token', {
      grant_type: 'client_credentials',
      scope: 'api:read',
    })
    assert.equal(service.status, 200, JSON.stringify(service.body))
    const seen = await form(a, '/oauth/introspect', { token: service.body.access_token as string })
    assert.equal(seen.body.active, true)
    assert.equal(seen.body.client_id, registration.client_id)
  })

  it('DPoP: a proof accepted by A is a replay on B and C (its jti is shared through Redis)', async () => {
    const [a, b, c] = instances as [ServerProcess, ServerProcess, ServerProcess]
    const keys = await generateKeyPair('ES256')
    // Every instance has the one issuer: a proof's htu is the same URL on each.
    const proof = await generateProof(keys, 'http://localhost:3999/auth/login', 'POST')
    const login = (server: ServerProcess) =>
      fetch(`${server.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', dpop: proof },
        body: JSON.stringify({ email: 'one@example.com', password: PASSWORD }),
      }).then(async (response) => ({
        status: response.status,
        body: (await response.json()) as Json,
      }))
    const first = await login(a)
    assert.equal(first.status, 200, JSON.stringify(first.body))
    assert.equal(first.body.tokenType, 'DPoP')
    for (const other of [b, c]) {
      const replay = await login(other)
      assert.equal(replay.status, 401)
      assert.equal(code(replay.body), 'invalid_dpop_proof')
    }
  })

  it('Redis stopped during logins: no 5xx (each instance limits alone); restarted: limits are shared again', async () => {
    await redis.stop()
    const during = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call(instances[i % 3]!, 'POST', '/auth/login', {
          body: { email: 'one@example.com', password: PASSWORD },
        }),
      ),
    )
    for (const r of during)
      assert.ok(r.status < 500, `no 5xx while Redis is down: ${r.status} ${JSON.stringify(r.body)}`)
    assert.ok(
      during.some((r) => r.status === 200),
      'logins still work',
    )
    await redis.start()
    // The clients reconnect with back-off: under load that can take a few
    // seconds. Each round uses a new address, so one round's counts cannot
    // help the next.
    let limited = { status: 0 }
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
      await sleep(500)
      const email = `limit-${randomUUID()}@example.com`
      // Three failures spread over the three instances reach the shared limit...
      for (let i = 0; i < 3; i++) {
        const r = await call(instances[i]!, 'POST', '/auth/login', {
          body: { email, password: 'wrong wrong wrong' },
        })
        assert.ok(r.status === 401 || r.status === 429, JSON.stringify(r.body))
      }
      // ...so the fourth, on any instance, waits.
      limited = await call(instances[0]!, 'POST', '/auth/login', {
        body: { email, password: 'wrong wrong wrong' },
      })
      if (limited.status === 429) break
    }
    assert.equal(limited.status, 429, 'rate limiting is shared through Redis again')
  })

  it('PostgreSQL unreachable: 503 unavailable and /ready 503; token checks, recent profiles and JWKS keep working; recovery without a restart', async () => {
    // A user no earlier test has read: each instance caches the profile at
    // its first read below, not at some earlier test's (a cache hit does not
    // extend an entry, which lives 5 s).
    const signup = await call(instances[0]!, 'POST', '/auth/signup', {
      body: { email: 'outage@example.com', password: PASSWORD },
    })
    assert.equal(signup.status, 201, JSON.stringify(signup.body))
    const token = signup.body.accessToken as string
    // Each instance read the profile just now: it keeps it a few seconds.
    for (const s of instances)
      assert.equal((await call(s, 'GET', '/auth/me', { token })).status, 200)
    await proxy.down()
    for (const s of instances) {
      // The cached profile first, while it is surely within its 5 s.
      const me = await call(s, 'GET', '/auth/me', { token })
      assert.equal(me.status, 200, 'the token check and the recently read profile need no database')
      const ready = await call(s, 'GET', '/ready')
      assert.equal(ready.status, 503)
      const attempt = await call(s, 'POST', '/auth/login', {
        body: { email: 'one@example.com', password: PASSWORD },
      })
      assert.equal(attempt.status, 503, JSON.stringify(attempt.body))
      assert.equal(code(attempt.body), 'unavailable')
      assert.equal((await call(s, 'GET', '/health')).status, 200)
      assert.equal((await call(s, 'GET', '/.well-known/jwks.json')).status, 200)
      const sessions = await call(s, 'GET', '/auth/sessions', { token })
      assert.equal(sessions.status, 503, 'a route that must read the database answers 503')
    }
    await proxy.up()
    for (const s of instances) {
      const started = Date.now()
      while ((await call(s, 'GET', '/ready')).status !== 200) {
        assert.ok(Date.now() - started < 10_000, 'ready again within 10 s')
        await sleep(100)
      }
      const again = await call(s, 'POST', '/auth/login', {
        body: { email: 'one@example.com', password: PASSWORD },
      })
      assert.equal(again.status, 200)
    }
  })

  it('connection pool exhausted: 503 unavailable instead of waiting forever, then recovery', async () => {
    const url = new URL(env.TESSERA_DATABASE_URL!)
    url.searchParams.set('pool', '1')
    url.searchParams.set('connect_timeout', '1')
    const small = await startServer(data.dir, { ...env, TESSERA_DATABASE_URL: url.toString() })
    const locker = new pg.Client({ connectionString: databaseUrl })
    await locker.connect()
    try {
      // Hold the users table: the instance's only connection waits on it...
      await locker.query('begin')
      await locker.query(`lock table ${schema}.users in access exclusive mode`)
      const blocked = call(small, 'POST', '/auth/login', {
        body: { email: 'one@example.com', password: PASSWORD },
      })
      await sleep(200)
      // ...so the next request finds no free connection within connect_timeout.
      const second = await call(small, 'POST', '/auth/login', {
        body: { email: 'one@example.com', password: PASSWORD },
      })
      assert.equal(second.status, 503, JSON.stringify(second.body))
      assert.equal(code(second.body), 'unavailable')
      await locker.query('rollback')
      assert.equal(
        (await blocked).status,
        200,
        'the waiting request completes once the lock is gone',
      )
      const after = await call(small, 'POST', '/auth/login', {
        body: { email: 'one@example.com', password: PASSWORD },
      })
      assert.equal(after.status, 200)
    } finally {
      await locker.end()
      await small.stop()
    }
  })

  it('kill -9 of one instance under signup/login/refresh load: every 2xx is durable', async () => {
    const victim = instances[1]!
    const survivors = [instances[0]!, instances[2]!]
    const signedUp: string[] = []
    const refreshed: string[] = []
    let stop = false
    const worker = async (w: number) => {
      let n = 0
      while (!stop) {
        const target = instances[(w + n) % 3]!
        const email = `load-${w}-${n++}@example.com`
        try {
          const s = await call(target, 'POST', '/auth/signup', {
            body: { email, password: PASSWORD },
          })
          if (s.status === 201) {
            signedUp.push(email)
            const r = await call(target, 'POST', '/auth/refresh', {
              body: { refreshToken: s.body.refreshToken },
            })
            if (r.status === 200) refreshed.push(r.body.refreshToken as string)
          }
        } catch {
          // A request to the killed instance fails: it never got a 2xx.
        }
      }
    }
    const workers = Array.from({ length: 6 }, (_, w) => worker(w))
    await sleep(1_500)
    await victim.stop('SIGKILL')
    await sleep(1_500)
    stop = true
    await Promise.all(workers)
    instances = survivors
    assert.ok(signedUp.length > 5, `some signups happened (${signedUp.length})`)
    for (const [i, email] of signedUp.entries()) {
      const r = await call(survivors[i % 2]!, 'POST', '/auth/login', {
        body: { email, password: PASSWORD },
      })
      assert.equal(r.status, 200, `${email} can log in`)
    }
    for (const [i, refreshToken] of refreshed.entries()) {
      const r = await call(survivors[i % 2]!, 'POST', '/auth/refresh', { body: { refreshToken } })
      assert.equal(r.status, 200, 'a refresh answered with 2xx left a usable successor')
    }
  })
})
