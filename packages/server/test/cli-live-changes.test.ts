// A `tessera` CLI command is another process writing to the database of a
// running server. Without Redis nothing tells that server; it used to learn of
// a role change or a key rotation at its next maintenance pass, up to 60 s
// later (while `users set-roles --help` says older tokens "are revoked"). It
// now notices within a poll interval (PRAGMA data_version on SQLite, a marker
// query on PostgreSQL): these tests hold it to 2 seconds against the real
// `tessera serve`, on SQLite, and on PostgreSQL when TESSERA_TEST_DATABASE_URL
// is set (under CI=true it must be). The server is a child process; the
// commands run in this one (support/cli.ts), another process all the same.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { decode } from '@tessera/jwt'
import pg from 'pg'
import { runCliInProcess as runTessera } from './support/cli.ts'
import { makeDataDir, type ServerProcess, startServer } from './support/server-process.ts'

const PASSWORD = 'correct horse battery staple'
const EMAIL = 'root@example.com'
/** What the issue asks: a CLI change is in force on the running server within this. */
const LIMIT_MS = 2_000

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
  })
  const text = await response.text()
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Json) }
}

const errorCode = (body: Json): unknown => (body.error as Json | undefined)?.code

async function login(server: ServerProcess): Promise<string> {
  const r = await call(server, 'POST', '/auth/login', {
    body: { email: EMAIL, password: PASSWORD },
  })
  assert.equal(r.status, 200, JSON.stringify(r.body))
  return r.body.accessToken as string
}

/** Polls `check` every 25 ms from now; resolves to the milliseconds it took to hold. */
async function msUntil(check: () => Promise<boolean>, limit = LIMIT_MS): Promise<number> {
  const started = performance.now()
  for (;;) {
    if (await check()) return Math.round(performance.now() - started)
    assert.ok(performance.now() - started < limit, `not seen within ${limit} ms`)
    await sleep(25)
  }
}

/** A database for one suite: the env that points `tessera` at it, and its clean-up. */
interface Backend {
  env: Record<string, string>
  drop(): Promise<void>
}

const databaseUrl = process.env.TESSERA_TEST_DATABASE_URL

async function postgresSchema(): Promise<Backend> {
  if (databaseUrl === undefined) throw new Error('CI=true: TESSERA_TEST_DATABASE_URL must be set')
  const schema = `tessera_live_${randomBytes(6).toString('hex')}`
  const url = new URL(databaseUrl)
  url.searchParams.set('schema', schema)
  return {
    env: { TESSERA_DATABASE_URL: url.toString() },
    async drop() {
      const admin = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3_000 })
      await admin.connect()
      try {
        await admin.query(`drop schema if exists ${schema} cascade`)
      } finally {
        await admin.end()
      }
    },
  }
}

const backends: [string, () => Promise<Backend>, string | false][] = [
  ['SQLite', async () => ({ env: {}, drop: async () => {} }), false],
  [
    'PostgreSQL',
    postgresSchema,
    databaseUrl === undefined && process.env.CI !== 'true'
      ? 'set TESSERA_TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test'
      : false,
  ],
]

for (const [name, openBackend, skip] of backends) {
  const title = `CLI changes reach a running server on ${name} without Redis within 2 seconds`
  describe(title, { skip }, () => {
    const data = makeDataDir()
    let backend: Backend | undefined
    let server: ServerProcess
    const seen: string[] = []
    // The CLI commands and the server share the data dir, so the development master key too.
    const runCli = (dir: string, args: string[]) => runTessera(dir, args, backend?.env)

    before(async () => {
      backend = await openBackend()
      // Maintenance runs every 60 s and its first pass is 60 s after start: only the poll can pass.
      server = await startServer(data.dir, backend.env)
      const signup = await call(server, 'POST', '/auth/signup', {
        body: { email: EMAIL, password: PASSWORD },
      })
      assert.equal(signup.status, 201, JSON.stringify(signup.body))
    })
    after(async () => {
      await server?.stop()
      await backend?.drop()
      data.remove()
      process.stderr.write(`# ${name}: CLI change seen by the running server: ${seen.join(', ')}\n`)
    })

    it('users set-roles: the admin token issued before a demotion is refused', async () => {
      const promoted = await runCli(data.dir, ['users', 'set-roles', EMAIL, 'user,admin'])
      assert.equal(promoted.code, 0, promoted.stderr)
      const token = await login(server)
      const admin = await call(server, 'GET', '/admin/users', { token })
      assert.equal(admin.status, 200, JSON.stringify(admin.body))
      // A revocation's `before` has one-second resolution: the demotion must come in a later second.
      await sleep(1_100)

      const demoted = await runCli(data.dir, ['users', 'set-roles', EMAIL, 'user'])
      assert.equal(demoted.code, 0, demoted.stderr)
      const ms = await msUntil(async () => {
        const r = await call(server, 'GET', '/admin/users', { token })
        if (r.status === 200) return false
        assert.equal(errorCode(r.body), 'token_revoked')
        return true
      })
      seen.push(`set-roles ${ms} ms`)
    })

    it('keys rotate --now: the running server publishes the new key and signs with it', async () => {
      const before = await call(server, 'GET', '/.well-known/jwks.json')
      const kidsBefore = (before.body.keys as Json[]).map((k) => k.kid)
      const rotated = await runCli(data.dir, ['keys', 'rotate', '--now'])
      assert.equal(rotated.code, 0, rotated.stderr)
      const current = /^current\s+\S+\s+(\S+)/m.exec(rotated.stdout)?.[1]
      assert.ok(current !== undefined && !kidsBefore.includes(current), rotated.stdout)

      const ms = await msUntil(async () => {
        const jwks = await call(server, 'GET', '/.well-known/jwks.json')
        if (!(jwks.body.keys as Json[]).some((k) => k.kid === current)) return false
        // Published, and signing: the compromised key signs nothing more.
        return decode(await login(server)).header.kid === current
      })
      seen.push(`keys rotate --now ${ms} ms`)
    })

    it('keys rotate: the next key is published at once, long before it signs', async () => {
      const rotated = await runCli(data.dir, ['keys', 'rotate'])
      assert.equal(rotated.code, 0, rotated.stderr)
      const next = /^next\s+\S+\s+(\S+)/m.exec(rotated.stdout)?.[1]
      assert.ok(next !== undefined, rotated.stdout)
      const ms = await msUntil(async () => {
        const jwks = await call(server, 'GET', '/.well-known/jwks.json')
        return (jwks.body.keys as Json[]).some((k) => k.kid === next)
      })
      assert.notEqual(decode(await login(server)).header.kid, next, 'next does not sign yet')
      seen.push(`keys rotate ${ms} ms`)
    })
  })
}
