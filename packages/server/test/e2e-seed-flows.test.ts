// The seed tutorials' flows, end to end, against the real `tessera serve`
// process on an SQLite file: signup, login, /me, a flipped character, refresh
// by body and by cookie, logout, expiry, admin, imported bcrypt users,
// rotation races, reuse detection, restarts and key rotation.

import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { hash as bcryptHash } from '@node-rs/bcrypt'
import { decode } from '@tessera/jwt'
import {
  CookieJar,
  makeDataDir,
  runCli,
  type ServerProcess,
  startServer,
} from './support/server-process.ts'

interface Json {
  [key: string]: unknown
}

async function call(
  server: ServerProcess,
  method: string,
  path: string,
  options: {
    body?: unknown
    token?: string
    headers?: Record<string, string>
    jar?: CookieJar
  } = {},
): Promise<{ status: number; body: Json; response: Response }> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  const cookie = options.jar?.header()
  if (cookie) headers.cookie = cookie
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  })
  options.jar?.store(response)
  const text = await response.text()
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Json), response }
}

const errorCode = (body: Json): unknown => (body.error as Json | undefined)?.code

function flipOneCharacter(token: string): string {
  const dot = token.lastIndexOf('.')
  const i = dot + 10
  const replacement = token[i] === 'A' ? 'B' : 'A'
  return token.slice(0, i) + replacement + token.slice(i + 1)
}

describe('the seed tutorials against a running tessera serve', () => {
  const data = makeDataDir()
  let server: ServerProcess

  before(async () => {
    server = await startServer(data.dir, { TESSERA_REFRESH_REUSE_GRACE: '2s' })
  })
  after(async () => {
    await server?.stop()
    data.remove()
  })

  it('signup, login, /auth/me, and one flipped character is invalid_token', async () => {
    const signup = await call(server, 'POST', '/auth/signup', {
      body: { email: 'Alice@Example.com', password: 'correct horse battery staple', name: 'Alice' },
    })
    assert.equal(signup.status, 201, JSON.stringify(signup.body))
    assert.equal((signup.body.user as Json).email, 'alice@example.com')
    assert.equal(signup.body.tokenType, 'Bearer')
    assert.equal(typeof signup.body.refreshToken, 'string')
    const header = decode(signup.body.accessToken as string).header
    assert.equal(header.typ, 'at+jwt')
    assert.equal(header.alg, 'ES256')

    const login = await call(server, 'POST', '/auth/login', {
      body: { email: 'alice@example.com', password: 'correct horse battery staple' },
    })
    assert.equal(login.status, 200)
    const token = login.body.accessToken as string
    const me = await call(server, 'GET', '/auth/me', { token })
    assert.equal(me.status, 200)
    assert.equal(me.body.email, 'alice@example.com')
    assert.equal(me.body.name, 'Alice')
    assert.deepEqual(me.body.roles, ['user'])

    const tampered = await call(server, 'GET', '/auth/me', { token: flipOneCharacter(token) })
    assert.equal(tampered.status, 401)
    assert.equal(errorCode(tampered.body), 'invalid_token')
    assert.match(tampered.response.headers.get('www-authenticate') ?? '', /error="invalid_token"/)

    const missing = await call(server, 'GET', '/auth/me')
    assert.equal(missing.status, 401)
    assert.equal(errorCode(missing.body), 'missing_token')
  })

  it('unknown email and wrong password get the same invalid_credentials', async () => {
    const wrong = await call(server, 'POST', '/auth/login', {
      body: { email: 'alice@example.com', password: 'not the password' },
    })
    const unknown = await call(server, 'POST', '/auth/login', {
      body: { email: 'nobody@example.com', password: 'not the password' },
    })
    assert.equal(wrong.status, 401)
    assert.deepEqual(wrong.body, unknown.body)
    assert.equal(errorCode(wrong.body), 'invalid_credentials')
  })

  it('refresh by body rotates; logout revokes; the old refresh token then fails', async () => {
    const login = await call(server, 'POST', '/auth/login', {
      body: { email: 'alice@example.com', password: 'correct horse battery staple' },
    })
    const first = login.body.refreshToken as string
    const refreshed = await call(server, 'POST', '/auth/refresh', { body: { refreshToken: first } })
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body))
    const second = refreshed.body.refreshToken as string
    assert.notEqual(second, first)
    const me = await call(server, 'GET', '/auth/me', {
      token: refreshed.body.accessToken as string,
    })
    assert.equal(me.status, 200)

    const logout = await call(server, 'POST', '/auth/logout', {
      token: refreshed.body.accessToken as string,
    })
    assert.equal(logout.status, 204)
    const after = await call(server, 'POST', '/auth/refresh', { body: { refreshToken: second } })
    assert.equal(after.status, 401)
    assert.equal(errorCode(after.body), 'invalid_refresh_token')
    const revoked = await call(server, 'GET', '/auth/me', {
      token: refreshed.body.accessToken as string,
    })
    assert.equal(revoked.status, 401)
    assert.equal(errorCode(revoked.body), 'token_revoked')
  })

  it('browser mode: the refresh token lives only in an HttpOnly cookie, refreshed by the jar', async () => {
    const jar = new CookieJar()
    const csrf = { 'x-tessera-csrf': '1' }
    const login = await call(server, 'POST', '/auth/login', {
      body: { email: 'alice@example.com', password: 'correct horse battery staple' },
      headers: csrf,
      jar,
    })
    assert.equal(login.status, 200)
    assert.equal(login.body.refreshToken, undefined, 'never in the body in browser mode')
    const setCookie = login.response.headers.getSetCookie().join('\n')
    assert.match(setCookie, /tessera_refresh=/)
    assert.match(setCookie, /HttpOnly/i)
    assert.match(setCookie, /SameSite=Strict/i)
    assert.match(setCookie, /Path=\/(;|$|\n)/m)
    const firstCookie = jar.get('tessera_refresh')

    const noHeader = await call(server, 'POST', '/auth/refresh', { jar })
    assert.equal(noHeader.status, 403)
    assert.equal(errorCode(noHeader.body), 'csrf_failed')
    const foreign = await call(server, 'POST', '/auth/refresh', {
      jar,
      headers: { ...csrf, origin: 'https://evil.example' },
    })
    assert.equal(foreign.status, 403)
    assert.equal(errorCode(foreign.body), 'csrf_failed')

    const refreshed = await call(server, 'POST', '/auth/refresh', { jar, headers: csrf })
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body))
    assert.equal(typeof refreshed.body.accessToken, 'string')
    assert.notEqual(jar.get('tessera_refresh'), firstCookie, 'the cookie rotated')

    const logout = await call(server, 'POST', '/auth/logout', { jar, headers: csrf })
    assert.equal(logout.status, 204)
    assert.equal(jar.get('tessera_refresh'), undefined, 'logout cleared the cookie')
  })

  it('20 concurrent refreshes of one token rotate once; a replay after the grace window revokes the session', async () => {
    const login = await call(server, 'POST', '/auth/login', {
      body: { email: 'alice@example.com', password: 'correct horse battery staple' },
    })
    const token = login.body.refreshToken as string
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        call(server, 'POST', '/auth/refresh', { body: { refreshToken: token } }),
      ),
    )
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body))
    const successors = new Set(results.map((r) => r.body.refreshToken))
    assert.equal(successors.size, 1, 'every racing caller got the same successor')
    const successor = [...successors][0] as string
    const access = results[0]!.body.accessToken as string

    await sleep(2_500)
    const replay = await call(server, 'POST', '/auth/refresh', { body: { refreshToken: token } })
    assert.equal(replay.status, 401)
    assert.equal(errorCode(replay.body), 'refresh_token_reused')
    const successorAfter = await call(server, 'POST', '/auth/refresh', {
      body: { refreshToken: successor },
    })
    assert.equal(successorAfter.status, 401, 'the whole family is revoked')
    const me = await call(server, 'GET', '/auth/me', { token: access })
    assert.equal(errorCode(me.body), 'token_revoked')
  })

  it('a non-admin gets 403 on admin routes; set-roles makes an admin', async () => {
    const login = await call(server, 'POST', '/auth/login', {
      body: { email: 'alice@example.com', password: 'correct horse battery staple' },
    })
    const denied = await call(server, 'GET', '/admin/users', {
      token: login.body.accessToken as string,
    })
    assert.equal(denied.status, 403)
    assert.equal(errorCode(denied.body), 'forbidden')

    const cli = await runCli(data.dir, ['users', 'set-roles', 'alice@example.com', 'user,admin'])
    assert.equal(cli.code, 0, cli.stderr)
    // A new login carries the new role. (That the change also revokes older
    // tokens on running instances is asserted in scale-out.test.ts, with Redis.)
    const again = await call(server, 'POST', '/auth/login', {
      body: { email: 'alice@example.com', password: 'correct horse battery staple' },
    })
    const users = await call(server, 'GET', '/admin/users', {
      token: again.body.accessToken as string,
    })
    assert.equal(users.status, 200, JSON.stringify(users.body))
  })

  it('an imported bcrypt user logs in and is rehashed to argon2id', async () => {
    const file = join(data.dir, 'import.json')
    writeFileSync(
      file,
      JSON.stringify([
        {
          email: 'bob@example.com',
          name: 'Bob',
          passwordHash: await bcryptHash('bobs old password', 10),
        },
      ]),
    )
    const imported = await runCli(data.dir, ['users', 'import', file])
    assert.equal(imported.code, 0, imported.stderr)
    const login = await call(server, 'POST', '/auth/login', {
      body: { email: 'bob@example.com', password: 'bobs old password' },
    })
    assert.equal(login.status, 200, JSON.stringify(login.body))
    const admin = await call(server, 'POST', '/auth/login', {
      body: { email: 'alice@example.com', password: 'correct horse battery staple' },
    })
    const audit = await call(server, 'GET', '/admin/audit?event=user.password_rehashed', {
      token: admin.body.accessToken as string,
    })
    assert.equal(audit.status, 200)
    assert.equal((audit.body.entries as Json[]).length, 1)
    const rerun = await runCli(data.dir, ['users', 'import', file])
    assert.equal(rerun.code, 0, 're-running an import is safe')
    assert.match(rerun.stdout + rerun.stderr, /skipped/i)
  })
})

describe('expiry, restarts and key rotation', () => {
  const data = makeDataDir()
  after(() => data.remove())

  it('an expired access token gives token_expired', async () => {
    const server = await startServer(data.dir, { TESSERA_ACCESS_TOKEN_TTL: '1s' })
    try {
      const signup = await call(server, 'POST', '/auth/signup', {
        body: { email: 'carol@example.com', password: 'a long enough passphrase' },
      })
      assert.equal(signup.status, 201)
      await sleep(2_100)
      const me = await call(server, 'GET', '/auth/me', { token: signup.body.accessToken as string })
      assert.equal(me.status, 401)
      assert.equal(errorCode(me.body), 'token_expired')
    } finally {
      await server.stop()
    }
  })

  it('users, sessions and keys survive a restart; a token from before a key rotation still verifies', async () => {
    let server = await startServer(data.dir)
    const login = await call(server, 'POST', '/auth/login', {
      body: { email: 'carol@example.com', password: 'a long enough passphrase' },
    })
    assert.equal(login.status, 200)
    const jwksBefore = await call(server, 'GET', '/.well-known/jwks.json')
    assert.equal(await server.stop(), 0, 'graceful shutdown exits 0')

    const rotated = await runCli(data.dir, ['keys', 'rotate', '--now'])
    assert.equal(rotated.code, 0, rotated.stderr)

    server = await startServer(data.dir)
    try {
      const me = await call(server, 'GET', '/auth/me', { token: login.body.accessToken as string })
      assert.equal(me.status, 200, 'the token signed by the retired key still verifies')
      const refreshed = await call(server, 'POST', '/auth/refresh', {
        body: { refreshToken: login.body.refreshToken },
      })
      assert.equal(refreshed.status, 200, 'the session survived the restart')
      const oldKid = decode(login.body.accessToken as string).header.kid
      const newKid = decode(refreshed.body.accessToken as string).header.kid
      assert.notEqual(newKid, oldKid, 'new tokens are signed by the new key')
      const jwks = await call(server, 'GET', '/.well-known/jwks.json')
      const kids = (jwks.body.keys as Json[]).map((k) => k.kid)
      assert.ok(kids.includes(oldKid) && kids.includes(newKid))
      assert.equal((jwksBefore.body.keys as Json[]).length, 1)
    } finally {
      await server.stop()
    }
  })
})
