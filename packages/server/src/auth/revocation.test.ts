import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createSqlStore } from '../storage/sql/index.ts'
import { createRevocationList } from './revocation.ts'

async function setup() {
  let now = Date.parse('2026-01-01T00:00:00Z')
  const store = await createSqlStore('sqlite::memory:')
  await store.migrate()
  const clock = { now: () => now, advance: (ms: number) => (now += ms) }
  return { store, clock, list: createRevocationList({ store: store.revocations, now: clock.now }) }
}

test('jti, sid and sub-before entries are enforced, and only for the tokens they name', async () => {
  const { store, clock, list } = await setup()
  const exp = clock.now() + 60_000
  await list.add([
    { kind: 'jti', value: 'j1', expiresAt: exp },
    { kind: 'sid', value: 's1', expiresAt: exp },
    { kind: 'sub', value: 'u1', before: 1000, expiresAt: exp },
  ])
  assert.ok(list.isRevoked({ jti: 'j1' }))
  assert.ok(list.isRevoked({ sid: 's1', jti: 'other' }))
  assert.ok(list.isRevoked({ sub: 'u1', iat: 999 }))
  assert.equal(
    list.isRevoked({ sub: 'u1', iat: 1000 }),
    false,
    'issued in the second of before or later survives',
  )
  assert.equal(list.isRevoked({ sub: 'u2', iat: 1, sid: 's2', jti: 'j2' }), false)
  assert.equal(list.isRevoked({ sub: 'u1' }), true, 'no iat: cannot prove it is newer')
  assert.equal(list.cursor, 3, 'its own contiguous entries advance the cursor')
  await store.close()
})

test('another list catches up from the store; expired entries are pruned and not loaded', async () => {
  const { store, clock, list } = await setup()
  const other = createRevocationList({ store: store.revocations, now: clock.now })
  await other.load()
  await list.add([
    { kind: 'sid', value: 'short', expiresAt: clock.now() + 1_000 },
    { kind: 'sid', value: 'long', expiresAt: clock.now() + 60_000 },
  ])
  assert.equal(other.isRevoked({ sid: 'long' }), false)
  assert.equal(await other.sync(), 2)
  assert.ok(other.isRevoked({ sid: 'long' }) && other.isRevoked({ sid: 'short' }))
  clock.advance(1_000)
  assert.equal(other.prune(), 1)
  assert.equal(other.isRevoked({ sid: 'short' }), false)
  const fresh = createRevocationList({ store: store.revocations, now: clock.now })
  await fresh.load()
  assert.equal(fresh.size, 1)
  assert.ok(fresh.isRevoked({ sid: 'long' }))
  await store.close()
})

test('an entry pushed out of order does not move the cursor past one never seen', async () => {
  const { store, clock, list } = await setup()
  const writer = createRevocationList({ store: store.revocations, now: clock.now })
  const exp = clock.now() + 60_000
  await writer.add([{ kind: 'sid', value: 'missed', expiresAt: exp }])
  const [second] = await writer.add([{ kind: 'sid', value: 'pushed', expiresAt: exp }])
  // Only the second reaches `list` (the first message was lost).
  list.apply([second!])
  assert.ok(list.isRevoked({ sid: 'pushed' }), 'enforced at once')
  assert.equal(list.cursor, 0, 'but the cursor waits for id 1')
  await list.sync()
  assert.ok(list.isRevoked({ sid: 'missed' }), 'the lost entry is caught up')
  assert.equal(list.cursor, second!.id)
  // Contiguous pushes advance it.
  const [third] = await writer.add([{ kind: 'jti', value: 'j3', expiresAt: exp }])
  list.apply([third!])
  assert.equal(list.cursor, third!.id)
  await store.close()
})

test('subscribers hear each entry once, whether added here, pushed, or found by a sync', async () => {
  const { store, clock, list } = await setup()
  const heard: number[] = []
  const unsubscribe = list.subscribe((entries) => heard.push(...entries.map((e) => e.id)))
  const exp = clock.now() + 60_000
  const [mine] = await list.add([{ kind: 'jti', value: 'a', expiresAt: exp }])
  const other = createRevocationList({ store: store.revocations, now: clock.now })
  const [theirs] = await other.add([{ kind: 'jti', value: 'b', expiresAt: exp }])
  list.apply([theirs!])
  await list.sync()
  assert.deepEqual(heard, [mine!.id, theirs!.id])
  unsubscribe()
  await list.add([{ kind: 'jti', value: 'c', expiresAt: exp }])
  assert.equal(heard.length, 2)
  await store.close()
})
