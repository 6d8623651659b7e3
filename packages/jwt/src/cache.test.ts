import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { TokenCache, tokenDigest } from './cache.ts'

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

for (const [label, name, digest] of [
  ['short keys', (n: number) => `k${n}`, false],
  // Token-sized keys: a long shared head and distinct tails (only the tail is hashed).
  ['token-sized keys', (n: number) => `${'h'.repeat(300)}.${String(n).padStart(70, 's')}`, false],
  ['digest keys', (n: number) => `${'h'.repeat(300)}.${String(n).padStart(70, 's')}`, true],
] as const)
  test(`TokenCache behaves as an exact LRU under any sequence of operations (${label})`, () => {
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
          const cache = new TokenCache<number>(capacity, { digest })
          let model = new ModelLru(capacity)
          for (const o of ops) {
            if (o.kind === 'get') assert.equal(cache.get(name(o.key)), model.get(name(o.key)))
            else if (o.kind === 'set') {
              cache.set(name(o.key), o.value)
              model.set(name(o.key), o.value)
            } else if (o.kind === 'delete')
              assert.equal(cache.delete(name(o.key)), model.delete(name(o.key)))
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

test('long keys that share their last 64 characters never answer for each other', () => {
  const tail = '.'.padEnd(64, 'x')
  const a = `aaaa${tail}`.padStart(200, 'a')
  const b = `bbbb${tail}`.padStart(200, 'b')
  const cache = new TokenCache<string>(10)
  cache.set(a, 'A')
  assert.equal(cache.get(b), undefined, 'a different key with the same tail is a miss')
  assert.equal(cache.delete(b), false)
  assert.equal(cache.get(a), 'A')
  // The later key takes the slot: the earlier one becomes a miss, never a wrong hit.
  cache.set(b, 'B')
  assert.equal(cache.size, 1)
  assert.equal(cache.get(a), undefined)
  assert.equal(cache.get(b), 'B')
  assert.deepEqual(
    (() => {
      const seen: string[] = []
      cache.deleteWhere((_value, key) => {
        seen.push(key)
        return true
      })
      return seen
    })(),
    [b],
    'deleteWhere sees whole keys',
  )
  assert.equal(cache.size, 0)
})

test('a digest cache keeps 32 bytes of each key and still answers for that key alone', () => {
  const token = `${'h'.repeat(40)}.${'p'.repeat(300)}.${'s'.repeat(86)}`
  const cache = new TokenCache<string>(10, { digest: true })
  cache.set(token, 'T')
  // One character changed anywhere (head, middle, tail) is another key.
  for (const at of [0, 41, 200, token.length - 1]) {
    const other = `${token.slice(0, at)}x${token.slice(at + 1)}`
    assert.equal(cache.get(other), undefined, `changed at ${at}`)
    assert.equal(cache.delete(other), false)
  }
  assert.equal(cache.get(`${token}x`), undefined, 'a longer key')
  assert.equal(cache.get(token.slice(0, -1)), undefined, 'a shorter key')
  // A fresh copy of the same string (as a request header is) hits.
  assert.equal(cache.get(Buffer.from(token).toString('latin1')), 'T')
  const seen: string[] = []
  cache.deleteWhere((_value, key) => {
    seen.push(key)
    return false
  })
  assert.deepEqual(seen, [tokenDigest(token)], 'deleteWhere sees the digests')
  assert.equal(tokenDigest(token).length, 32)
  assert.equal(cache.delete(token), true)
  assert.equal(cache.size, 0)
})

test('tokenDigest tells apart every two strings, lone surrogates included', () => {
  // Both would be EF BF BD in UTF-8: such a string is kept whole instead.
  assert.notEqual(tokenDigest('a.b.\uD800'), tokenDigest('a.b.\uDFFF'))
  assert.equal(tokenDigest('a.b.\uD800'), 'a.b.\uD800')
  assert.notEqual(tokenDigest('a.b.\uFFFD'), tokenDigest('a.b.\uD800'))
  const cache = new TokenCache<number>(4, { digest: true })
  cache.set('a.b.\uD800', 1)
  assert.equal(cache.get('a.b.\uDFFF'), undefined)
  assert.equal(cache.get('a.b.\uFFFD'), undefined)
  assert.equal(cache.get('a.b.\uD800'), 1)
})
