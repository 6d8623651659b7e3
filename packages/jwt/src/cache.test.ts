import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { TokenCache } from './cache.ts'

/** The obvious LRU: a Map re-inserted on every touch. TokenCache must behave exactly like it. */
class ModelLru {
  readonly map = new Map<string, number>()
  readonly capacity: number
  constructor(capacity: number) {
    this.capacity = capacity
  }
  get(k: string): number | undefined {
    const v = this.map.get(k)
    if (v !== undefined) {
      this.map.delete(k)
      this.map.set(k, v)
    }
    return v
  }
  set(k: string, v: number): void {
    this.map.delete(k)
    if (this.map.size >= this.capacity) this.map.delete(this.map.keys().next().value!)
    this.map.set(k, v)
  }
  delete(k: string): boolean {
    return this.map.delete(k)
  }
}

test('TokenCache behaves as an exact LRU under any sequence of operations', () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant('get' as const), key: fc.integer({ min: 0, max: 12 }) }),
    fc.record({
      kind: fc.constant('set' as const),
      key: fc.integer({ min: 0, max: 12 }),
      value: fc.integer(),
    }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.integer({ min: 0, max: 12 }) }),
    fc.record({ kind: fc.constant('clear' as const) }),
  )
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.array(op, { maxLength: 200 }),
      (capacity, ops) => {
        const cache = new TokenCache<number>(capacity)
        let model = new ModelLru(capacity)
        for (const o of ops) {
          if (o.kind === 'get') assert.equal(cache.get(`k${o.key}`), model.get(`k${o.key}`))
          else if (o.kind === 'set') {
            cache.set(`k${o.key}`, o.value)
            model.set(`k${o.key}`, o.value)
          } else if (o.kind === 'delete')
            assert.equal(cache.delete(`k${o.key}`), model.delete(`k${o.key}`))
          else {
            cache.clear()
            model = new ModelLru(capacity)
          }
          assert.equal(cache.size, model.map.size)
          assert.ok(cache.size <= capacity)
        }
        for (const [k, v] of model.map) assert.equal(cache.get(k), v)
      },
    ),
    { numRuns: 300 },
  )
})

test('a cyclic working set as large as the cache always hits', () => {
  const cache = new TokenCache<number>(100)
  for (let i = 0; i < 100; i++) cache.set(`t${i}`, i)
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 100; i++) assert.equal(cache.get(`t${i}`), i)
  }
})

test('deleteWhere removes matching entries and keeps the rest usable', () => {
  const cache = new TokenCache<{ sid: string }>(10)
  for (let i = 0; i < 10; i++) cache.set(`t${i}`, { sid: i % 2 === 0 ? 'a' : 'b' })
  assert.equal(
    cache.deleteWhere((v) => v.sid === 'a'),
    5,
  )
  assert.equal(cache.size, 5)
  assert.equal(cache.get('t0'), undefined)
  assert.deepEqual(cache.get('t1'), { sid: 'b' })
  for (let i = 10; i < 20; i++) cache.set(`t${i}`, { sid: 'c' })
  assert.equal(cache.size, 10)
})

test('capacity is validated', () => {
  assert.throws(() => new TokenCache(0), TypeError)
  assert.throws(() => new TokenCache(1.5), TypeError)
})
