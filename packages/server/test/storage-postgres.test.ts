// The storage contract on PostgreSQL, plus what only a shared server has:
// several instances (one pool each) racing on one database, and outages.
//
// Needs TESSERA_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test).
// Unset, or set but unreachable, the suites are skipped with a message; with
// CI=true either one fails instead. Every store lives in a schema of its own
// (`?schema=tessera_pgtest_<random>`), dropped after each test.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type Socket } from 'node:net'
import { after, afterEach, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { type Store, StoreUnavailableError } from '../src/storage/ports.ts'
import { createSqlStore } from '../src/storage/sql/index.ts'
import { storageContract } from './storage-contract.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'

const BASE_URL = process.env.TESSERA_TEST_DATABASE_URL
const ON_CI = process.env.CI === 'true'
const T0 = 1_800_000_000_000
const DAY = 86_400_000

/**
 * Why the database cannot be used, phrased as what enables the suites (the
 * test reporter lists it at the end of the run), or undefined when it can.
 */
async function unavailability(url: string | undefined): Promise<string | undefined> {
  if (url === undefined) {
    return 'set TESSERA_TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/test'
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  // A connection that fails after connecting must not crash the probe.
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('select 1')
    return undefined
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'no code'
    return `PostgreSQL at TESSERA_TEST_DATABASE_URL is unreachable (${code}): start it or fix the URL`
  } finally {
    await client.end().catch(() => {})
  }
}

const unavailable = await unavailability(BASE_URL)
if (BASE_URL === undefined || unavailable !== undefined) {
  const reason = unavailable ?? 'PostgreSQL is unavailable'
  if (ON_CI) {
    it('PostgreSQL is available for the PostgreSQL suites (required with CI=true)', () => {
      assert.fail(`${reason}: the PostgreSQL suites must run on CI`)
    })
  } else {
    describe('PostgreSQL storage contract, instances and outages', { skip: reason }, () => {})
  }
} else {
  registerSuites(BASE_URL)
}

function registerSuites(baseUrl: string): void {
  const admin = new pg.Client({ connectionString: baseUrl })
  admin.on('error', () => {})
  /** Schemas created since the last cleanup. */
  const schemas = new Set<string>()
  const schemaOf = new WeakMap<Store, string>()

  before(() => admin.connect())
  // Runs after the contract's own afterEach has closed the stores.
  afterEach(dropSchemas)
  after(async () => {
    await dropSchemas()
    await admin.end()
  })

  async function dropSchemas(): Promise<void> {
    for (const schema of [...schemas]) {
      await admin.query(`drop schema if exists ${schema} cascade`)
      schemas.delete(schema)
    }
  }

  function newSchema(): string {
    const schema = `tessera_pgtest_${randomBytes(6).toString('hex')}`
    schemas.add(schema)
    return schema
  }

  /** The test database's URL with `schema` and any other parameters set. */
  function urlFor(schema: string, changes: (url: URL) => void = () => {}): string {
    const url = new URL(baseUrl)
    url.searchParams.set('schema', schema)
    changes(url)
    return url.href
  }

  async function open(schema: string, log?: (line: string) => void): Promise<Store> {
    const store = await createSqlStore(urlFor(schema), log ? { log } : {})
    schemaOf.set(store, schema)
    return store
  }

  function schemaFor(store: Store): string {
    const schema = schemaOf.get(store)
    if (schema === undefined) throw new Error('not a store of this suite')
    return schema
  }

  storageContract('PostgreSQL', () => open(newSchema()), {
    reopen: (store) => open(schemaFor(store)),
    // The admin connection, outside the store's pool: as an operator's psql would.
    raw: {
      async deleteUser(store, userId) {
        await admin.query(`delete from ${schemaFor(store)}.users where id = $1`, [userId])
      },
      async clearSessionAuth(store, sessionId) {
        await admin.query(
          `update ${schemaFor(store)}.sessions set auth_time = null, amr = null where id = $1`,
          [sessionId],
        )
      },
      async insertClientBeforeIssue18(store, id) {
        await admin.query(
          `insert into ${schemaFor(store)}.oauth_clients (id, name, redirect_uris,
             post_logout_redirect_uris, grant_types, token_endpoint_auth_method, scopes,
             first_party, created_at)
           values ($1, 'Old', '[]', '[]', '["client_credentials"]', 'client_secret_basic', '[]',
             false, 0)`,
          [id],
        )
      },
    },
  })

  describe('PostgreSQL specifics', () => {
    const stores: Store[] = []
    afterEach(async () => {
      await Promise.all(stores.splice(0).map((store) => store.close()))
    })

    /** `count` stores on one schema, standing in for that many instances; the first is migrated. */
    async function instances(count: number, schema = newSchema()): Promise<Store[]> {
      const opened: Store[] = []
      for (let i = 0; i < count; i++) opened.push(await open(schema))
      stores.push(...opened)
      await opened[0]?.migrate()
      // Connected before the race starts, so the race is about statements.
      await Promise.all(opened.map((store) => store.ping()))
      return opened
    }

    async function seedSession(store: Store): Promise<void> {
      const user = await store.users.createUser({
        id: 'u',
        email: 'u@example.com',
        name: null,
        passwordHash: 'x',
        roles: [],
        createdAt: T0,
      })
      assert.notEqual(user, 'email_taken')
      await store.sessions.createSession(
        {
          id: 's',
          userId: 'u',
          createdAt: T0,
          expiresAt: T0 + 30 * DAY,
          userAgent: null,
          ip: null,
          authTime: T0,
          amr: ['pwd'],
        },
        { tokenHash: 'tok', sessionId: 's', createdAt: T0, expiresAt: T0 + 7 * DAY },
      )
    }

    it('keeps its tables in the ?schema= schema, apart from other schemas', async () => {
      const [a] = await instances(1)
      const [b] = await instances(1)
      assert.ok(a && b)
      await seedSession(a)
      assert.equal(await a.users.countUsers(), 1)
      assert.equal(await b.users.countUsers(), 0, 'another schema is another database')
      const schemaA = schemaOf.get(a)
      const { rows } = await admin.query<{ table_name: string }>(
        'select table_name from information_schema.tables where table_schema = $1 order by 1',
        [schemaA],
      )
      assert.deepEqual(
        rows.map((row) => row.table_name),
        [
          'audit_log',
          'challenges',
          'identities',
          'kysely_migration',
          'kysely_migration_lock',
          'oauth_assertions',
          'oauth_clients',
          'oauth_codes',
          'oauth_consents',
          'one_time_tokens',
          'outbox',
          'passkeys',
          'recovery_codes',
          'refresh_tokens',
          'revocations',
          'sessions',
          'signing_keys',
          'totp_factors',
          'users',
        ],
      )
      const types = await admin.query<{ column: string; data_type: string }>(
        `select table_name || '.' || column_name as column, data_type
         from information_schema.columns
         where table_schema = $1 and (table_name, column_name) in (
           ('users', 'created_at'), ('users', 'disabled'), ('sessions', 'auth_time'),
           ('passkeys', 'counter'), ('passkeys', 'backed_up'), ('totp_factors', 'last_step'),
           ('oauth_clients', 'first_party'), ('oauth_codes', 'expires_at'))
         order by 1`,
        [schemaA],
      )
      assert.deepEqual(
        types.rows.map((row) => `${row.column}:${row.data_type}`),
        [
          'oauth_clients.first_party:boolean',
          'oauth_codes.expires_at:bigint',
          'passkeys.backed_up:boolean',
          'passkeys.counter:bigint',
          'sessions.auth_time:bigint',
          'totp_factors.last_step:bigint',
          'users.created_at:bigint',
          'users.disabled:boolean',
        ],
      )
    })

    it('logs where the data lives, without the password', async () => {
      const url = new URL(urlFor(newSchema()))
      // A server that trusts the connection ignores a password it did not ask for.
      const secret = url.password || 'not-the-password-7f3a'
      url.password = secret
      const lines: string[] = []
      const store = await createSqlStore(url.href, { log: (line) => lines.push(line) })
      stores.push(store)
      const applied = await store.migrate()
      assert.match(lines[0] ?? '', /^storage: PostgreSQL .+, schema tessera_pgtest_\w+, pool 10$/)
      assert.deepEqual(
        lines.slice(1),
        applied.map((name) => `storage: migration ${name} applied`),
      )
      assert.ok(lines.every((line) => !line.includes(secret)))
    })

    describe('several instances on one database', () => {
      it('concurrent rotation of one token from 4 pools: exactly one rotated', async () => {
        const pools = await instances(4)
        await seedSession(pools[0] as Store)
        const now = T0 + 60_000
        const results = await Promise.all(
          pools.map((store, i) =>
            store.sessions.rotateRefreshToken({
              tokenHash: 'tok',
              now,
              graceMs: 10_000,
              successor: {
                tokenHash: `succ-${i}`,
                createdAt: now,
                expiresAt: now + DAY,
                sealedPair: `sealed-${i}`,
              },
            }),
          ),
        )
        const winners = results.flatMap((r, i) => (r.status === 'rotated' ? [i] : []))
        assert.equal(winners.length, 1, results.map((r) => r.status).join())
        const pairs = results.flatMap((r) => (r.status === 'within_grace' ? [r.sealedPair] : []))
        assert.deepEqual(pairs, Array(3).fill(`sealed-${winners[0]}`))
        const successors = await Promise.all(
          pools.map((_, i) => pools[0]?.sessions.findRefreshToken(`succ-${i}`)),
        )
        assert.equal(successors.filter(Boolean).length, 1, 'one successor stored')
      })

      it('a refresh’s prepared statements outlive columns another instance’s migration adds', async () => {
        const schema = newSchema()
        // One connection: the statements are prepared on it before the change.
        const store = await createSqlStore(
          urlFor(schema, (url) => url.searchParams.set('pool', '1')),
        )
        stores.push(store)
        await store.migrate()
        await seedSession(store)
        const rotate = (from: string, to: string, now: number) =>
          store.sessions.rotateRefreshToken({
            tokenHash: from,
            now,
            graceMs: 10_000,
            successor: { tokenHash: to, createdAt: now, expiresAt: now + DAY, sealedPair: to },
          })
        assert.equal((await store.sessions.findRefreshTokenGrant('tok'))?.session.id, 's')
        assert.equal((await rotate('tok', 'tok-1', T0 + 1000)).status, 'rotated')
        // A prepared `select *` would now fail: "cached plan must not change result type".
        await admin.query(
          `alter table ${schema}.sessions add column later text; alter table ${schema}.users add column later text`,
        )
        assert.equal((await store.sessions.findRefreshTokenGrant('tok-1'))?.user.id, 'u')
        const next = await rotate('tok-1', 'tok-2', T0 + 2000)
        assert.equal(next.status === 'rotated' && next.session.lastUsedAt, T0 + 2000)
      })

      it('concurrent signups of one email from 4 pools: exactly one user', async () => {
        const pools = await instances(4)
        const results = await Promise.all(
          pools.map((store, i) =>
            store.users.createUser({
              id: `u${i}`,
              email: 'same@example.com',
              name: null,
              passwordHash: 'x',
              roles: [],
              createdAt: T0,
            }),
          ),
        )
        const created = results.filter((r) => r !== 'email_taken')
        assert.equal(created.length, 1)
        assert.equal(results.filter((r) => r === 'email_taken').length, 3)
        assert.equal(await pools[1]?.users.countUsers(), 1)
        assert.deepEqual(await pools[2]?.users.findUserByEmail('same@example.com'), created[0])
      })

      it('withRotationLock from two pools serializes: one inserts, the other sees its key', async () => {
        const pools = await instances(2)
        const events: string[] = []
        const results = await Promise.all(
          pools.map((store, i) =>
            store.keys.withRotationLock(async () => {
              events.push(`${i}:in`)
              const before = await store.keys.listKeys()
              // Long enough for the other instance to get in, were it not locked out.
              await sleep(50)
              if (before.length === 0) {
                await store.keys.insertKey({
                  kid: `kid-${i}`,
                  alg: 'ES256',
                  publicJwk: '{}',
                  sealedPrivateJwk: 'x',
                  createdAt: T0,
                  activatesAt: T0,
                  retiresAt: null,
                  expiresAt: null,
                })
              }
              events.push(`${i}:out`)
              return before.length === 0 ? 'inserted' : 'saw-key'
            }),
          ),
        )
        assert.deepEqual([...results].sort(), ['inserted', 'saw-key'])
        assert.equal((await pools[0]?.keys.listKeys())?.length, 1)
        assert.ok(
          ['0:in,0:out,1:in,1:out', '1:in,1:out,0:in,0:out'].includes(events.join()),
          events.join(),
        )
      })

      it('claimDue from 4 pools, 8 claimers: each message goes to exactly one', async () => {
        const pools = await instances(4)
        const ids = Array.from({ length: 60 }, (_, i) => `m-${String(i).padStart(2, '0')}`)
        for (const id of ids) {
          await pools[0]?.outbox.enqueue({
            id,
            to: 'ada@example.com',
            template: 'verify_email',
            sealedData: 'x',
            userId: null,
            createdAt: T0,
          })
        }
        const claimed: string[] = []
        await Promise.all(
          [...pools, ...pools].map(async (store) => {
            for (;;) {
              const batch = await store.outbox.claimDue(T0, 3, 60_000)
              if (batch.length === 0) return
              claimed.push(...batch.map((message) => message.id))
            }
          }),
        )
        assert.deepEqual(claimed.sort(), ids)
      })

      it('consumeToken of one link from 4 pools, 20 consumers: exactly one gets it', async () => {
        const pools = await instances(4)
        await seedSession(pools[0] as Store)
        await pools[0]?.oneTimeTokens.createToken(
          {
            hash: 'link',
            userId: 'u',
            purpose: 'reset_password',
            email: 'u@example.com',
            createdAt: T0,
            expiresAt: T0 + DAY,
            maxAttempts: 5,
          },
          T0,
        )
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            pools[i % 4]?.oneTimeTokens.consumeToken('link', 'reset_password', T0 + 1),
          ),
        )
        assert.equal(results.filter((r) => r !== undefined).length, 1)
      })

      it('second factors from 4 pools, 20 callers each: one TOTP step, one code use, one challenge', async () => {
        const pools = await instances(4)
        const first = pools[0] as Store
        await seedSession(first)
        await first.factors.startTotp({ userId: 'u', sealedSecret: 's', createdAt: T0 })
        await first.factors.confirmTotp('u', T0, 100)
        await first.factors.replaceRecoveryCodes('u', ['code'], T0)
        for (const hash of ['challenge', 'tries']) {
          await first.challenges.createChallenge({
            hash,
            kind: 'mfa',
            userId: 'u',
            data: '{}',
            createdAt: T0,
            expiresAt: T0 + DAY,
            maxAttempts: 5,
          })
        }
        const race = <T>(call: (store: Store) => Promise<T>) =>
          Promise.all(Array.from({ length: 20 }, (_, i) => call(pools[i % 4] as Store)))
        const [steps, codes, challenges, tries] = await Promise.all([
          race((store) => store.factors.useTotpStep('u', 101)),
          race((store) => store.factors.useRecoveryCode('u', 'code', T0 + 1)),
          race((store) => store.challenges.consumeChallenge('challenge', 'mfa', T0 + 1)),
          race((store) => store.challenges.countChallengeFailure('tries', T0 + 1)),
        ])
        assert.equal(steps.filter(Boolean).length, 1)
        assert.equal(codes.filter(Boolean).length, 1)
        assert.equal(challenges.filter((r) => r !== undefined).length, 1)
        assert.deepEqual(tries.filter((r) => r !== undefined).sort(), [0, 1, 2, 3, 4])
      })

      it('migrate() from three pools at once applies each migration once', async () => {
        const schema = newSchema()
        const pools = [await open(schema), await open(schema), await open(schema)]
        stores.push(...pools)
        const runs = await Promise.all(pools.map((store) => store.migrate()))
        assert.equal(runs.filter((applied) => applied.length > 0).length, 1, JSON.stringify(runs))
        const applied = runs.flat()
        assert.equal(new Set(applied).size, applied.length)
        assert.deepEqual(await pools[1]?.migrate(), [])
        assert.equal(await pools[2]?.users.countUsers(), 0)
      })

      it('revocation ids become visible in order: a polling reader never skips one', async () => {
        const [reader, ...writers] = await instances(5)
        assert.ok(reader)
        const now = T0
        let writing = true
        const written = Promise.all(
          writers.map(async (store, w) => {
            const ids: number[] = []
            for (let n = 0; n < 40; n++) {
              const [stored] = await store.revocations.addRevocations(
                [{ kind: 'jti', value: `w${w}-${n}`, expiresAt: now + DAY }],
                now,
              )
              if (stored) ids.push(stored.id)
            }
            return ids
          }),
        ).finally(() => {
          writing = false
        })
        // The reader does what a resource server does with GET /auth/revocations?since=.
        const seen: number[] = []
        let since = 0
        const poll = async () => {
          const page = await reader.revocations.listRevocations(since, now, 1000)
          for (const entry of page) seen.push(entry.id)
          since = page.at(-1)?.id ?? since
        }
        while (writing) await poll()
        await poll()
        const all = (await written).flat().sort((a, b) => a - b)
        assert.equal(all.length, 160)
        assert.deepEqual(seen, all, 'the cursor stepped over an id committed after a later one')
      })
    })

    describe('outages', () => {
      /** Every error a store threw during an outage: unavailable, safe to show, with a cause. */
      const isUnavailable = (error: unknown): boolean => {
        assert.ok(error instanceof StoreUnavailableError, String(error))
        assert.equal(error.message, 'the database is unavailable')
        assert.ok(error.cause !== undefined)
        return true
      }

      it('an unreachable server: ping() and every operation fail fast with StoreUnavailableError', async () => {
        const url = urlFor(newSchema(), (u) => {
          u.hostname = '127.0.0.1'
          u.port = '1'
          u.password = 'not-the-password-7f3a'
        })
        const store = await createSqlStore(url)
        stores.push(store)
        const started = performance.now()
        await assert.rejects(store.ping(), isUnavailable)
        assert.ok(performance.now() - started < 2000, 'refused, not timed out')
        await assert.rejects(store.migrate(), isUnavailable)
        await assert.rejects(store.users.findUserByEmail('a@example.com'), isUnavailable)
        await assert.rejects(
          store.keys.withRotationLock(async () => 'never'),
          isUnavailable,
        )
        await assert.rejects(store.ping(), (error: unknown) => {
          assert.ok(error instanceof Error)
          assert.ok(!error.message.includes('not-the-password'))
          return true
        })
      })

      it('a server that accepts but never answers: StoreUnavailableError after connect_timeout', async () => {
        const sockets = new Set<Socket>()
        const silent = createServer((socket) => sockets.add(socket))
        silent.listen(0, '127.0.0.1')
        await once(silent, 'listening')
        const address = silent.address()
        assert.ok(typeof address === 'object' && address !== null)
        try {
          const store = await createSqlStore(
            urlFor(newSchema(), (u) => {
              u.hostname = '127.0.0.1'
              u.port = String(address.port)
              u.searchParams.set('connect_timeout', '1')
            }),
          )
          stores.push(store)
          const started = performance.now()
          await assert.rejects(store.ping(), isUnavailable)
          const elapsed = performance.now() - started
          assert.ok(elapsed >= 900 && elapsed < 3000, `${elapsed} ms`)
        } finally {
          for (const socket of sockets) socket.destroy()
          silent.close()
        }
      })

      it('the server goes away and comes back: unavailable meanwhile, then the same store works', async () => {
        const target = new URL(baseUrl)
        const proxy = await startTcpProxy({
          host: target.hostname,
          port: Number(target.port || 5432),
        })
        const lines: string[] = []
        try {
          const store = await createSqlStore(
            urlFor(newSchema(), (u) => {
              u.hostname = '127.0.0.1'
              u.port = String(proxy.port)
            }),
            { log: (line) => lines.push(line) },
          )
          stores.push(store)
          await store.migrate()
          await seedSession(store)
          // Several idle connections in the pool when the server goes.
          await Promise.all([store.ping(), store.ping(), store.ping()])

          await proxy.down()
          // The idle clients notice on their own; one line for all of them.
          for (let i = 0; i < 100 && !lines.some((l) => l.includes('lost')); i++) await sleep(10)
          assert.equal(
            lines.filter((line) => line.includes('lost a PostgreSQL connection')).length,
            1,
          )

          await assert.rejects(store.ping(), isUnavailable)
          await assert.rejects(store.users.findUserByEmail('u@example.com'), isUnavailable)
          await assert.rejects(
            store.sessions.rotateRefreshToken({
              tokenHash: 'tok',
              now: T0 + 1,
              graceMs: 0,
              successor: {
                tokenHash: 'n',
                createdAt: T0 + 1,
                expiresAt: T0 + DAY,
                sealedPair: 'p',
              },
            }),
            isUnavailable,
          )
          await assert.rejects(store.migrate(), isUnavailable)

          await proxy.up()
          await store.ping()
          assert.equal((await store.users.findUserByEmail('u@example.com'))?.id, 'u')
          const rotated = await store.sessions.rotateRefreshToken({
            tokenHash: 'tok',
            now: T0 + 2,
            graceMs: 0,
            successor: { tokenHash: 'n', createdAt: T0 + 2, expiresAt: T0 + DAY, sealedPair: 'p' },
          })
          assert.equal(rotated.status, 'rotated', 'the failed attempt left nothing behind')
          assert.ok(lines.includes('storage: PostgreSQL connection restored'))
        } finally {
          await proxy.close()
        }
      })

      it('a connection lost inside withRotationLock: fn fails, the lock is freed, nothing crashes', async () => {
        const target = new URL(baseUrl)
        const proxy = await startTcpProxy({
          host: target.hostname,
          port: Number(target.port || 5432),
        })
        try {
          const schema = newSchema()
          const url = urlFor(schema, (u) => {
            u.hostname = '127.0.0.1'
            u.port = String(proxy.port)
          })
          const store = await createSqlStore(url)
          stores.push(store)
          await store.migrate()
          const key = (kid: string) => ({
            kid,
            alg: 'ES256',
            publicJwk: '{}',
            sealedPrivateJwk: 'x',
            createdAt: T0,
            activatesAt: T0,
            retiresAt: null,
            expiresAt: null,
          })
          await assert.rejects(
            store.keys.withRotationLock(async () => {
              await store.keys.insertKey(key('lost'))
              // The connection holding the lock drops while it is checked out.
              await proxy.down()
              await sleep(20)
              await store.keys.insertKey(key('never'))
            }),
            isUnavailable,
          )
          await proxy.up()
          // Another instance, straight to the server: the lock died with the connection.
          const [direct] = await instances(1, schema)
          const inserted = await direct?.keys.withRotationLock(async () => {
            await direct.keys.insertKey(key('after'))
            return 'ok'
          })
          assert.equal(inserted, 'ok')
          assert.deepEqual(
            (await store.keys.listKeys()).map((k) => k.kid),
            ['after'],
            'the interrupted transaction rolled back',
          )
        } finally {
          await proxy.close()
        }
      })
    })
  })
}
