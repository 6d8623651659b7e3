import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type Generated, Kysely, sql } from 'kysely'
import { NodeSqliteDialect, openNodeSqlite } from './node-sqlite.ts'

interface TestDb {
  items: { id: Generated<number>; name: string; flag: number }
}

async function withDb(fn: (db: Kysely<TestDb>) => Promise<void>): Promise<void> {
  const db = new Kysely<TestDb>({ dialect: new NodeSqliteDialect(openNodeSqlite(':memory:')) })
  try {
    await sql`create table items (id integer primary key, name text not null unique, flag integer not null)`.execute(
      db,
    )
    await fn(db)
  } finally {
    await db.destroy()
  }
}

describe('NodeSqliteDialect', () => {
  it('tells readers from writers: RETURNING rows, affected counts, insert ids', async () => {
    await withDb(async (db) => {
      const inserted = await db
        .insertInto('items')
        .values({ name: 'a', flag: 1 })
        .returning(['id', 'name'])
        .executeTakeFirst()
      assert.deepEqual({ ...inserted }, { id: 1, name: 'a' })
      const plain = await db.insertInto('items').values({ name: 'b', flag: 0 }).executeTakeFirst()
      assert.equal(plain.insertId, 2n)
      const updated = await db.updateTable('items').set({ flag: 2 }).executeTakeFirst()
      assert.equal(updated.numUpdatedRows, 2n)
    })
  })

  it('binds booleans as 0/1 and refuses other objects without echoing them', async () => {
    await withDb(async (db) => {
      await sql`insert into items (name, flag) values (${'t'}, ${true}), (${'f'}, ${false})`.execute(
        db,
      )
      const rows = await db.selectFrom('items').select(['name', 'flag']).orderBy('id').execute()
      assert.deepEqual(
        rows.map((r) => [r.name, r.flag]),
        [
          ['t', 1],
          ['f', 0],
        ],
      )
      await assert.rejects(
        sql`select ${{ secret: 'hunter2' }} as x`.execute(db),
        (error: unknown) =>
          error instanceof TypeError &&
          /type object/.test(error.message) &&
          !error.message.includes('hunter2'),
      )
    })
  })

  it('streams a select, before and after the same query ran from the cache', async () => {
    await withDb(async (db) => {
      for (const name of ['a', 'b', 'c']) {
        await db.insertInto('items').values({ name, flag: 0 }).execute()
      }
      const query = db.selectFrom('items').select('name').orderBy('id')
      assert.equal((await query.execute()).length, 3)
      const seen: string[] = []
      for await (const row of query.stream()) seen.push(row.name)
      assert.deepEqual(seen, ['a', 'b', 'c'])
      assert.equal((await query.execute()).length, 3)
    })
  })

  it('keeps working past the statement cache size and across schema changes', async () => {
    await withDb(async (db) => {
      for (let i = 0; i < 300; i++) {
        const { x } = await sql<{ x: number }>`select ${sql.lit(i)} as x`
          .execute(db)
          .then((r) => r.rows[0] ?? { x: -1 })
        assert.equal(x, i)
      }
      const count = () =>
        db
          .selectFrom('items')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      assert.equal((await count()).n, 0)
      await sql`alter table items add column extra text`.execute(db)
      assert.equal((await count()).n, 0)
    })
  })

  it('rolls a failed transaction back, and a later one commits', async () => {
    await withDb(async (db) => {
      await assert.rejects(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('items').values({ name: 'x', flag: 0 }).execute()
          await trx.insertInto('items').values({ name: 'x', flag: 0 }).execute()
        }),
        /UNIQUE/,
      )
      assert.equal((await db.selectFrom('items').selectAll().execute()).length, 0)
      await db
        .transaction()
        .execute((trx) => trx.insertInto('items').values({ name: 'y', flag: 0 }).execute())
      assert.equal((await db.selectFrom('items').selectAll().execute()).length, 1)
    })
  })
})
