// What needs no running PostgreSQL: reading the URL and telling connection
// failures from statement errors. The backend itself is tested against a real
// server in test/storage-postgres.test.ts.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DatabaseError } from 'pg'
import { createSqlStore } from './index.ts'
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_POOL_SIZE,
  isConnectionError,
  parsePostgresUrl,
  sendStatement,
} from './postgres.ts'
import { PREPARED_PREFIX, prepared } from './prepared.ts'

const SECRET = 'hunter2'

describe('parsePostgresUrl', () => {
  it('applies the defaults and passes the URL on to pg untouched', () => {
    const url = `postgres://tessera:${SECRET}@db.internal:5432/tessera?sslmode=require`
    const options = parsePostgresUrl(url)
    assert.equal(options.poolSize, DEFAULT_POOL_SIZE)
    assert.equal(options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS)
    assert.equal(options.schema, undefined)
    assert.equal(options.startupOptions, undefined)
    assert.equal(options.connectionString, url)
    assert.equal(options.description, 'PostgreSQL tessera@db.internal:5432/tessera, pool 10')
  })

  it('takes pool, connect_timeout and schema, and strips them from what pg sees', () => {
    const options = parsePostgresUrl(
      `postgresql://tessera:${SECRET}@db/auth?pool=25&schema=tessera_a1&connect_timeout=2&application_name=x`,
    )
    assert.equal(options.poolSize, 25)
    assert.equal(options.connectTimeoutMs, 2000)
    assert.equal(options.schema, 'tessera_a1')
    assert.equal(options.startupOptions, '-c search_path=tessera_a1')
    const forPg = new URL(options.connectionString)
    assert.deepEqual([...forPg.searchParams.keys()], ['application_name'])
    assert.equal(forPg.password, SECRET, 'pg still gets the password')
    assert.equal(options.description, 'PostgreSQL tessera@db/auth, schema tessera_a1, pool 25')
  })

  it('merges the URL’s own startup options with the schema’s search_path', () => {
    const options = parsePostgresUrl(
      'postgres://db/auth?options=-c%20work_mem%3D8MB&schema=tessera',
    )
    assert.equal(options.startupOptions, '-c work_mem=8MB -c search_path=tessera')
    assert.equal(new URL(options.connectionString).searchParams.has('options'), false)
  })

  it('never puts a password or a query parameter into the description', () => {
    const { description } = parsePostgresUrl(
      `postgres://u:${SECRET}@h/d?password=${SECRET}&sslpassword=${SECRET}`,
    )
    assert.ok(!description.includes(SECRET), description)
    assert.equal(description, 'PostgreSQL u@h/d, pool 10')
  })

  it('rejects bad parameters with a TypeError that does not echo the URL', () => {
    const bad = [
      'postgres://u:hunter2@h/d?pool=0',
      'postgres://u:hunter2@h/d?pool=1001',
      'postgres://u:hunter2@h/d?pool=ten',
      'postgres://u:hunter2@h/d?pool=2.5',
      'postgres://u:hunter2@h/d?connect_timeout=0',
      'postgres://u:hunter2@h/d?schema=Tessera',
      'postgres://u:hunter2@h/d?schema=a;drop%20table%20users',
      'postgres://u:hunter2@h/d?schema=',
      'mysql://u:hunter2@h/d',
      'postgres://u:hunter2@[bad/d',
    ]
    for (const url of bad) {
      assert.throws(
        () => parsePostgresUrl(url),
        (error: unknown) => error instanceof TypeError && !error.message.includes(SECRET),
        url,
      )
    }
  })
})

describe('createSqlStore on postgres://', () => {
  it('refuses a bad URL before connecting, without echoing it', async () => {
    await assert.rejects(
      createSqlStore(`postgres://tessera:${SECRET}@db.invalid/tessera?pool=0`),
      (error: unknown) =>
        error instanceof TypeError &&
        /pool must be an integer/.test(error.message) &&
        !error.message.includes(SECRET),
    )
  })

  it('opens lazily: a store on an unresolvable host is created, then closed', async () => {
    const lines: string[] = []
    const store = await createSqlStore(`postgres://tessera:${SECRET}@db.invalid/tessera`, {
      log: (line) => lines.push(line),
    })
    await store.close()
    assert.deepEqual(lines, ['storage: PostgreSQL tessera@db.invalid/tessera, pool 10'])
  })
})

describe('isConnectionError', () => {
  const withCode = (message: string, code: string): Error =>
    Object.assign(new Error(message), { code })
  const database = (code: string): DatabaseError => {
    const error = new DatabaseError('server says no', 0, 'error')
    error.code = code
    return error
  }

  it('recognizes a server that is gone, refusing, restarting or full', () => {
    for (const error of [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      withCode('getaddrinfo ENOTFOUND db', 'ENOTFOUND'),
      new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], 'failed'),
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Client has encountered a connection error and is not queryable'),
      database('57P01'),
      database('57P03'),
      database('53300'),
      database('08006'),
      database('08P01'),
    ]) {
      assert.equal(
        isConnectionError(error),
        true,
        `${error.message} ${String(Reflect.get(error, 'code'))}`,
      )
    }
  })

  it('leaves statement errors alone: constraints, syntax, credentials, timeouts', () => {
    for (const error of [
      database('23505'),
      database('42601'),
      database('28P01'),
      database('3D000'),
      database('57014'),
      new TypeError('x is not a function'),
      new Error('Cannot use a pool after calling end on the pool'),
      'ECONNREFUSED',
      undefined,
    ]) {
      assert.equal(isConnectionError(error), false, String(error))
    }
  })
})

describe('sendStatement: prepared statements', () => {
  const database = (code: string): DatabaseError => {
    const error = new DatabaseError('server says no', 0, 'error')
    error.code = code
    return error
  }
  const PREPARED = `${PREPARED_PREFIX}refresh_grant*/ select 1`
  /** A pg client that records what it was asked, and fails named statements with `code`. */
  const client = (code?: string) => {
    const calls: unknown[] = []
    return {
      calls,
      query: (async (config: unknown, values?: unknown[]) => {
        calls.push(values === undefined ? config : [config, values])
        if (code !== undefined && typeof config === 'object') throw database(code)
        return { command: 'SELECT', rowCount: 0, rows: [] }
      }) as never,
    }
  }

  it('prepared() marks a statement with its name, and takes only plain names', () => {
    assert.equal(
      prepared('refresh_grant').toOperationNode().sqlFragments.join(''),
      `${PREPARED_PREFIX}refresh_grant*/ `,
    )
    assert.throws(() => prepared('a*/ drop'), TypeError)
  })

  it('runs a marked statement by name, and any other as it is', async () => {
    const pg = client()
    const state = { enabled: true }
    await sendStatement(pg, state, () => {}, PREPARED, [1])
    await sendStatement(pg, state, () => {}, 'select 2', [2])
    assert.deepEqual(pg.calls, [
      { name: 'tessera_refresh_grant', text: PREPARED, values: [1] },
      ['select 2', [2]],
    ])
  })

  it('a statement lost behind a pooler runs again unnamed, and so does every one after', async () => {
    for (const code of ['26000', '42P05']) {
      const pg = client(code)
      const state = { enabled: true }
      const lines: string[] = []
      await sendStatement(pg, state, (line) => lines.push(line), PREPARED, [1])
      await sendStatement(pg, state, (line) => lines.push(line), PREPARED, [2])
      assert.equal(state.enabled, false)
      assert.deepEqual(pg.calls, [
        { name: 'tessera_refresh_grant', text: PREPARED, values: [1] },
        [PREPARED, [1]],
        [PREPARED, [2]],
      ])
      assert.equal(lines.length, 1, 'said once')
      assert.match(lines[0] ?? '', new RegExp(`\\(${code}\\).+no longer prepared`))
    }
  })

  it('any other failure of a named statement is the caller’s', async () => {
    const pg = client('23505')
    const state = { enabled: true }
    await assert.rejects(
      sendStatement(pg, state, () => {}, PREPARED, [1]),
      { code: '23505' },
    )
    assert.equal(state.enabled, true)
    assert.equal(pg.calls.length, 1)
  })
})
