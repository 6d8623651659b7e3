import assert from 'node:assert/strict'
import { test } from 'node:test'
import { keepTickEntryShape, keptTickEntry } from './tick-shape.ts'

test('keeps one process.nextTick queue entry alive, taken on the next tick, once', async () => {
  keepTickEntryShape()
  await new Promise((resolve) => setImmediate(resolve))
  const entry = keptTickEntry()
  // node's queue entry: { [async_id_symbol], [trigger_async_id_symbol], [kAsyncContextFrame], callback, args }
  assert.equal(typeof entry, 'object')
  assert.equal(typeof (entry as { callback?: unknown }).callback, 'function')
  assert.ok(Object.getOwnPropertySymbols(entry).length >= 2)
  keepTickEntryShape()
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(keptTickEntry(), entry)
})
