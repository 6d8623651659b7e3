import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { openNodeSqlite } from './node-sqlite.ts'
import { startCheckpointer, startCheckpointerWhenNeeded } from './sqlite-checkpointer.ts'

test('the worker thread copies the WAL into the database file; the writer never had to', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-checkpoint-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'test.db')
  const db = openNodeSqlite(path)
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  for (let i = 0; i < 300; i++) insert.run('x'.repeat(1000))
  // 300 KB of rows sit in the WAL: far below the writer's own threshold.
  const before = statSync(path).size
  assert.ok(before < 100_000, `the database file holds little yet (${before} bytes)`)

  const errors: string[] = []
  const checkpointer = startCheckpointer(path, (message) => errors.push(message), 20)
  let after = before
  for (let i = 0; i < 100 && after < 300_000; i++) {
    await sleep(20)
    after = statSync(path).size
  }
  await checkpointer.stop()
  assert.ok(after >= 300_000, `the rows reached the database file (${after} bytes)`)
  assert.deepEqual(errors, [])
  // Stopping twice is harmless, and the database is still the writer's.
  await checkpointer.stop()
  insert.run('after')
  assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 301)
  db.close()
})

test('a checkpoint that fails is reported, and the thread carries on until stopped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-checkpoint-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const errors: string[] = []
  // Not a database at all: opening it works, every checkpoint fails.
  const path = join(dir, 'not-a-db')
  writeFileSync(
    path,
    'this is not a SQLite file, just text long enough to have a header.'.repeat(10),
  )
  const checkpointer = startCheckpointer(path, (message) => errors.push(message), 10)
  for (let i = 0; i < 100 && errors.length < 2; i++) await sleep(10)
  await checkpointer.stop()
  assert.ok(errors.length >= 2, 'each failed checkpoint is reported')
  assert.match(errors[0]!, /not a database/)
})

test('a checkpointer left running never keeps the process alive', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-checkpoint-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const moduleUrl = new URL('./sqlite-checkpointer.ts', import.meta.url).href
  const script = `
    const { startCheckpointer } = await import(${JSON.stringify(moduleUrl)})
    startCheckpointer(${JSON.stringify(join(dir, 'left.db'))}, () => {}, 10)
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' })
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null]
  clearTimeout(timer)
  assert.deepEqual([code, signal], [0, null], 'the process ended on its own')
})

test('startCheckpointerWhenNeeded starts the thread once the WAL reaches its size, not before', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-checkpoint-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'test.db')
  const db = openNodeSqlite(path)
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)')
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)')
  for (let i = 0; i < 50; i++) insert.run('x'.repeat(1000))
  const errors: string[] = []
  const checkpointer = startCheckpointerWhenNeeded(path, (message) => errors.push(message), {
    intervalMs: 10,
    walBytes: 400_000,
  })
  const before = statSync(path).size
  // ~50 KB in the WAL: below the size, nothing is copied.
  await sleep(200)
  assert.equal(statSync(path).size, before, 'no checkpoint while the WAL is small')
  for (let i = 0; i < 400; i++) insert.run('x'.repeat(1000))
  let after = before
  for (let i = 0; i < 200 && after < 400_000; i++) {
    await sleep(20)
    after = statSync(path).size
  }
  await checkpointer.stop()
  assert.ok(after >= 400_000, `the rows reached the database file (${after} bytes)`)
  assert.deepEqual(errors, [])
  db.close()
})

test('startCheckpointerWhenNeeded stopped before the WAL grew starts no thread', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-checkpoint-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'test.db')
  const db = openNodeSqlite(path)
  db.exec('CREATE TABLE t (v TEXT)')
  const checkpointer = startCheckpointerWhenNeeded(path, () => {}, { intervalMs: 10, walBytes: 1 })
  await checkpointer.stop()
  const threads = () => readdirSync('/proc/self/task').length
  const count = process.platform === 'linux' ? threads() : 0
  db.exec("INSERT INTO t VALUES ('x')")
  await sleep(100)
  if (process.platform === 'linux') assert.equal(threads(), count, 'no thread was started')
  db.close()
})
