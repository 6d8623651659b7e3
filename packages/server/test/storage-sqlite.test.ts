// The storage contract on SQLite (a temporary file and `sqlite::memory:`),
// plus what only SQLite has: URL parsing, pragmas, and several processes on
// one file. "Processes" are worker threads, each with its own node:sqlite
// connection: node:sqlite is synchronous, so two connections in one thread
// cannot wait for each other, while threads contend for the file's locks
// exactly as processes do.

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { after, describe, it } from 'node:test'
import { Worker } from 'node:worker_threads'
import type { Store } from '../src/storage/ports.ts'
import { createSqlStore, parseDatabaseUrl } from '../src/storage/sql/index.ts'
import { storageContract } from './storage-contract.ts'

const dir = mkdtempSync(join(tmpdir(), 'tessera-sqlite-'))
after(() => rmSync(dir, { recursive: true, force: true }))

let databases = 0
const pathOf = new WeakMap<Store, string>()

/** A fresh database file in a directory that does not exist yet. */
function newPath(): string {
  databases += 1
  return join(dir, `db-${databases}`, 'tessera.db')
}

async function openFile(path: string): Promise<Store> {
  const store = await createSqlStore(`sqlite:${path}`)
  pathOf.set(store, path)
  return store
}

function pathFor(store: Store): string {
  const path = pathOf.get(store)
  if (!path) throw new Error('not a file store of this suite')
  return path
}

/** Runs one statement on a second connection to the store's file, as an operator's sqlite3 shell would. */
async function runRaw(store: Store, statement: string, ...params: string[]): Promise<void> {
  const db = new DatabaseSync(pathFor(store), { timeout: 5000 })
  try {
    db.prepare(statement).run(...params)
  } finally {
    db.close()
  }
}

storageContract('SQLite file', () => openFile(newPath()), {
  reopen: (store) => openFile(pathFor(store)),
  raw: {
    deleteUser: (store, userId) => runRaw(store, 'delete from users where id = ?', userId),
    clearSessionAuth: (store, sessionId) =>
      runRaw(store, 'update sessions set auth_time = null, amr = null where id = ?', sessionId),
    insertClientBeforeIssue18: (store, id) =>
      runRaw(
        store,
        `insert into oauth_clients (id, name, redirect_uris, post_logout_redirect_uris,
           grant_types, token_endpoint_auth_method, scopes, first_party, created_at)
         values (?, 'Old', '[]', '[]', '["client_credentials"]', 'client_secret_basic', '[]', 0, 0)`,
        id,
      ),
  },
})

storageContract('SQLite in memory', () => createSqlStore('sqlite::memory:'))

describe('SQLite specifics', () => {
  it('parses the database URL forms', () => {
    assert.deepEqual(parseDatabaseUrl('sqlite::memory:'), { kind: 'sqlite', path: ':memory:' })
    assert.deepEqual(parseDatabaseUrl('sqlite:/var/lib/tessera/db.sqlite'), {
      kind: 'sqlite',
      path: '/var/lib/tessera/db.sqlite',
    })
    assert.deepEqual(parseDatabaseUrl('sqlite:./data/tessera.db'), {
      kind: 'sqlite',
      path: resolve('data/tessera.db'),
    })
    assert.deepEqual(parseDatabaseUrl('postgres://u:p@db:5432/tessera'), {
      kind: 'postgres',
      url: 'postgres://u:p@db:5432/tessera',
    })
    assert.equal(parseDatabaseUrl('postgresql://db/tessera').kind, 'postgres')
    for (const bad of ['', 'sqlite:', 'sqlite://host/db', 'mysql://u:hunter2@db/x', './db']) {
      assert.throws(
        () => parseDatabaseUrl(bad),
        (error: unknown) =>
          error instanceof TypeError &&
          !error.message.includes('hunter2') &&
          /sqlite:/.test(error.message),
        bad,
      )
    }
  })

  it('creates parent directories and puts a file database in WAL mode', async () => {
    const path = join(dir, 'nested', 'deeper', 'tessera.db')
    const store = await createSqlStore(`sqlite:${path}`)
    try {
      await store.migrate()
      const peek = new DatabaseSync(path, { readOnly: true })
      try {
        assert.equal(peek.prepare('PRAGMA journal_mode').get()?.['journal_mode'], 'wal')
      } finally {
        peek.close()
      }
    } finally {
      await store.close()
    }
  })

  it('creates its directories 0700 and the database, WAL and shared-memory files 0600, whatever the umask', {
    skip: process.platform === 'win32',
  }, async () => {
    // The most permissive umask, as under a shell or container without
    // systemd's UMask=0077: every bit of the result comes from Tessera.
    const umask = process.umask(0)
    const path = join(dir, 'private', 'data', 'tessera.db')
    try {
      const store = await createSqlStore(`sqlite:${path}`)
      try {
        await store.migrate()
        await store.audit.appendAudit({
          at: 1,
          event: 'user.login',
          userId: null,
          sessionId: null,
          ip: '198.51.100.7',
          details: {},
        })
        const mode = (file: string) => (statSync(file).mode & 0o777).toString(8)
        assert.equal(mode(join(dir, 'private')), '700')
        assert.equal(mode(join(dir, 'private', 'data')), '700')
        for (const file of [path, `${path}-wal`, `${path}-shm`]) {
          assert.equal(mode(file), '600', file)
        }
      } finally {
        await store.close()
      }
    } finally {
      process.umask(umask)
    }
  })

  it('enforces foreign keys (a session needs its user)', async () => {
    const store = await createSqlStore('sqlite::memory:')
    try {
      await store.migrate()
      await assert.rejects(
        store.sessions.createSession(
          {
            id: 's',
            userId: 'ghost',
            createdAt: 1,
            expiresAt: 2,
            userAgent: null,
            ip: null,
            authTime: 1,
            amr: ['pwd'],
          },
          { tokenHash: 't', sessionId: 's', createdAt: 1, expiresAt: 2 },
        ),
        /FOREIGN KEY/,
      )
    } finally {
      await store.close()
    }
  })

  it('logs the database and each applied migration, and nothing else', async () => {
    const lines: string[] = []
    const store = await createSqlStore('sqlite::memory:', { log: (line) => lines.push(line) })
    try {
      const applied = await store.migrate()
      await store.migrate()
      assert.deepEqual(lines, [
        'storage: SQLite in memory',
        ...applied.map((name) => `storage: migration ${name} applied`),
      ])
    } finally {
      await store.close()
    }
  })

  describe('several processes on one file', () => {
    const WORKERS = 4
    const T0 = 1_800_000_000_000

    it('concurrent migrations: exactly one process applies each migration', {
      timeout: 20_000,
    }, async () => {
      const path = newPath()
      const results = await runWorkers(path, 'migrate')
      const applied = results.flatMap((r) => (Array.isArray(r) ? r : []))
      assert.equal(
        results.filter((r) => Array.isArray(r) && r.length > 0).length,
        1,
        String(results),
      )
      assert.equal(new Set(applied).size, applied.length)
      const store = await openFile(path)
      try {
        assert.deepEqual(await store.migrate(), [])
      } finally {
        await store.close()
      }
    })

    it('concurrent rotations: one rotated, the rest within_grace with its pair', {
      timeout: 20_000,
    }, async () => {
      const path = newPath()
      const store = await openFile(path)
      try {
        await store.migrate()
        await store.users.createUser({
          id: 'u',
          email: 'u@example.com',
          name: null,
          passwordHash: 'x',
          roles: [],
          createdAt: T0,
        })
        await store.sessions.createSession(
          {
            id: 's',
            userId: 'u',
            createdAt: T0,
            expiresAt: T0 + 86_400_000,
            userAgent: null,
            ip: null,
            authTime: T0,
            amr: ['pwd'],
          },
          { tokenHash: 'tok', sessionId: 's', createdAt: T0, expiresAt: T0 + 86_400_000 },
        )
        const results = await runWorkers(path, 'rotate')
        const statuses = results.map((r) => (isRecord(r) ? r['status'] : r))
        assert.equal(statuses.filter((s) => s === 'rotated').length, 1, String(statuses))
        assert.equal(statuses.filter((s) => s === 'within_grace').length, WORKERS - 1)
        const winner = results.findIndex((r) => isRecord(r) && r['status'] === 'rotated')
        for (const r of results) {
          if (isRecord(r) && r['status'] === 'within_grace') {
            assert.equal(r['sealedPair'], `sealed-${winner}`)
          }
        }
        assert.equal((await store.sessions.findRefreshToken(`succ-${winner}`))?.sessionId, 's')
      } finally {
        await store.close()
      }
    })

    it('the rotation lock serializes processes: exactly one inserts a key', {
      timeout: 20_000,
    }, async () => {
      const path = newPath()
      const store = await openFile(path)
      try {
        await store.migrate()
        const results = await runWorkers(path, 'lock')
        const keys = await store.keys.listKeys()
        assert.equal(keys.length, 1, String(results))
        assert.deepEqual(results.filter((r) => r === 'inserted').length, 1)
        assert.deepEqual(results.filter((r) => r === 'saw-key').length, WORKERS - 1)
      } finally {
        await store.close()
      }
    })

    it('concurrent outbox claims: each message goes to exactly one process', {
      timeout: 20_000,
    }, async () => {
      const path = newPath()
      const store = await openFile(path)
      try {
        await store.migrate()
        const ids = Array.from({ length: 40 }, (_, i) => `m-${String(i).padStart(2, '0')}`)
        await store.atomically(async () => {
          for (const id of ids) {
            await store.outbox.enqueue({
              id,
              to: 'ada@example.com',
              template: 'verify_email',
              sealedData: 'x',
              userId: null,
              createdAt: T0,
            })
          }
        })
        const results = await runWorkers(path, 'claim')
        const claimed = results.flatMap((r) => (Array.isArray(r) ? r : []))
        assert.deepEqual(claimed.sort(), ids)
      } finally {
        await store.close()
      }
    })

    it('concurrent consumers of one link: exactly one process gets it', {
      timeout: 20_000,
    }, async () => {
      const path = newPath()
      const store = await openFile(path)
      try {
        await store.migrate()
        await store.users.createUser({
          id: 'u',
          email: 'u@example.com',
          name: null,
          passwordHash: 'x',
          roles: [],
          createdAt: T0,
        })
        await store.oneTimeTokens.createToken(
          {
            hash: 'link',
            userId: 'u',
            purpose: 'reset_password',
            email: 'u@example.com',
            createdAt: T0,
            expiresAt: T0 + 3_600_000,
            maxAttempts: 5,
          },
          T0,
        )
        const results = await runWorkers(path, 'consume')
        assert.deepEqual(results.filter((r) => r === 'consumed').length, 1, String(results))
        assert.deepEqual(results.filter((r) => r === 'lost').length, WORKERS - 1)
      } finally {
        await store.close()
      }
    })

    it('concurrent second factors: one process gets the TOTP step, the recovery code, the challenge', {
      timeout: 20_000,
    }, async () => {
      const path = newPath()
      const store = await openFile(path)
      try {
        await store.migrate()
        await store.users.createUser({
          id: 'u',
          email: 'u@example.com',
          name: null,
          passwordHash: 'x',
          roles: [],
          createdAt: T0,
        })
        await store.factors.startTotp({ userId: 'u', sealedSecret: 's', createdAt: T0 })
        await store.factors.confirmTotp('u', T0, 100)
        await store.factors.replaceRecoveryCodes('u', ['code'], T0)
        await store.challenges.createChallenge({
          hash: 'challenge',
          kind: 'mfa',
          userId: 'u',
          data: '{}',
          createdAt: T0,
          expiresAt: T0 + 300_000,
          maxAttempts: 5,
        })
        const results = await runWorkers(path, 'factors')
        for (const what of ['step', 'code', 'challenge']) {
          const won = results.filter((r) => isRecord(r) && r[what] === true)
          assert.equal(won.length, 1, `${what}: ${JSON.stringify(results)}`)
        }
      } finally {
        await store.close()
      }
    })

    it('concurrent OAuth races: one process redeems the code, one uses the assertion jti', {
      timeout: 20_000,
    }, async () => {
      const path = newPath()
      const store = await openFile(path)
      try {
        await store.migrate()
        await store.users.createUser({
          id: 'u',
          email: 'u@example.com',
          name: null,
          passwordHash: 'x',
          roles: [],
          createdAt: T0,
        })
        await store.oauth.createClient({
          id: 'client-1',
          name: 'App',
          secretHash: null,
          redirectUris: ['https://app.example.com/cb'],
          postLogoutRedirectUris: [],
          grantTypes: ['authorization_code'],
          tokenEndpointAuthMethod: 'none',
          scopes: ['openid'],
          jwks: null,
          firstParty: false,
          accessTokenTtl: null,
          refreshTokenTtl: null,
          dpopBoundAccessTokens: false,
          idTokenEncryption: null,
          userinfoEncryption: null,
          createdAt: T0,
        })
        await store.oauth.createCode({
          hash: 'code',
          clientId: 'client-1',
          userId: 'u',
          data: '{}',
          createdAt: T0,
          expiresAt: T0 + 60_000,
        })
        const results = await runWorkers(path, 'oauth')
        for (const [what, won] of [
          ['code', 'redeemed'],
          ['assertion', true],
        ] as const) {
          const winners = results.filter((r) => isRecord(r) && r[what] === won)
          assert.equal(winners.length, 1, `${what}: ${JSON.stringify(results)}`)
        }
        const losers = results.filter((r) => isRecord(r) && r['code'] === 'replayed')
        assert.equal(losers.length, WORKERS - 1, JSON.stringify(results))
      } finally {
        await store.close()
      }
    })

    /**
     * Starts WORKERS threads that each open `path`, wait at a barrier so
     * they start together, run `mode`, and post the outcome.
     */
    async function runWorkers(
      path: string,
      mode: 'migrate' | 'rotate' | 'lock' | 'claim' | 'consume' | 'factors' | 'oauth',
    ): Promise<unknown[]> {
      // [0]: go flag, [1]: workers ready.
      const barrier = new Int32Array(new SharedArrayBuffer(8))
      const moduleUrl = new URL('../src/storage/sql/index.ts', import.meta.url).href
      const workers = Array.from(
        { length: WORKERS },
        (_, index) =>
          new Worker(WORKER_SOURCE, {
            eval: true,
            workerData: { moduleUrl, path, mode, index, barrier, t0: T0 },
          }),
      )
      const outcomes = workers.map(
        (worker) =>
          new Promise<unknown>((done, fail) => {
            worker.once('message', done)
            worker.once('error', fail)
          }),
      )
      const deadline = Date.now() + 15_000
      while (Atomics.load(barrier, 1) < WORKERS) {
        if (Date.now() > deadline) throw new Error('workers did not start')
        await new Promise((done) => setTimeout(done, 5))
      }
      Atomics.store(barrier, 0, 1)
      Atomics.notify(barrier, 0)
      const results = await Promise.all(outcomes)
      await Promise.all(workers.map((worker) => worker.terminate()))
      for (const result of results) {
        if (isRecord(result) && 'error' in result) assert.fail(String(result['error']))
      }
      return results
    }
  })
})

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

// Plain JavaScript (an eval worker is not type-stripped); it imports the
// store's TypeScript source, which the worker can, like the main thread.
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads')
const { moduleUrl, path, mode, index, barrier, t0 } = workerData
;(async () => {
  const { createSqlStore } = await import(moduleUrl)
  const store = await createSqlStore('sqlite:' + path)
  Atomics.add(barrier, 1, 1)
  Atomics.wait(barrier, 0, 0)
  let result
  try {
    if (mode === 'migrate') {
      result = await store.migrate()
    } else if (mode === 'rotate') {
      const now = t0 + 1000
      const r = await store.sessions.rotateRefreshToken({
        tokenHash: 'tok',
        now,
        graceMs: 10000,
        successor: { tokenHash: 'succ-' + index, createdAt: now, expiresAt: now + 3600000, sealedPair: 'sealed-' + index },
      })
      result = { status: r.status, sealedPair: r.sealedPair }
    } else if (mode === 'claim') {
      result = []
      for (;;) {
        const batch = await store.outbox.claimDue(t0, 2, 60000)
        if (batch.length === 0) break
        result.push(...batch.map((message) => message.id))
        // Let the other processes in between claims.
        await new Promise((done) => setTimeout(done, 1))
      }
    } else if (mode === 'consume') {
      const token = await store.oneTimeTokens.consumeToken('link', 'reset_password', t0 + 1)
      result = token ? 'consumed' : 'lost'
    } else if (mode === 'factors') {
      result = {
        step: await store.factors.useTotpStep('u', 101),
        code: await store.factors.useRecoveryCode('u', 'code', t0 + 1),
        challenge: (await store.challenges.consumeChallenge('challenge', 'mfa', t0 + 1)) !== undefined,
      }
    } else if (mode === 'oauth') {
      result = {
        code: (await store.oauth.redeemCode('code', t0 + 1)).status,
        assertion: await store.oauth.useAssertion('client-1', 'jti', t0 + 60000),
      }
    } else {
      result = await store.keys.withRotationLock(async () => {
        const keys = await store.keys.listKeys()
        if (keys.length > 0) return 'saw-key'
        await new Promise((done) => setTimeout(done, 20))
        await store.keys.insertKey({
          kid: 'kid-' + index, alg: 'ES256', publicJwk: '{}', sealedPrivateJwk: 'x',
          createdAt: t0, activatesAt: t0, retiresAt: null, expiresAt: null,
        })
        return 'inserted'
      })
    }
  } finally {
    await store.close()
  }
  parentPort.postMessage(result)
})().catch((error) => parentPort.postMessage({ error: String(error && error.message) }))
`
