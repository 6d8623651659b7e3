// Node has Web Locks and BroadcastChannel, shared by every instance in the
// process: two coordinators here behave as two tabs of one browser.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { defaultStore, indexedDbStore, memoryStore } from './store.ts'
import { browserTabs } from './tabs.ts'
import type { TabMessage } from './types.ts'

function deferred() {
  let resolve: () => void = () => undefined
  const promise = new Promise<void>((done) => {
    resolve = done
  })
  return { promise, resolve }
}

/** Runs `body` with `name` removed from globalThis. */
async function without(name: 'navigator' | 'BroadcastChannel', body: () => Promise<void>) {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, name)!
  Object.defineProperty(globalThis, name, { value: undefined, configurable: true })
  try {
    await body()
  } finally {
    Object.defineProperty(globalThis, name, descriptor)
  }
}

/** Two tasks under one lock: whether the second started before the first ended. */
async function overlap(lockA: (task: () => Promise<void>) => Promise<void>, lockB: typeof lockA) {
  const order: string[] = []
  const gate = deferred()
  const first = lockA(async () => {
    order.push('a start')
    await gate.promise
    order.push('a end')
  })
  const second = lockB(async () => {
    order.push('b start')
  })
  await new Promise((resolve) => setTimeout(resolve, 20))
  gate.resolve()
  await Promise.all([first, second])
  return order
}

describe('browserTabs()', () => {
  it('delivers a message to the other tabs, not to the sender', async () => {
    const one = browserTabs('tessera:test:channel')
    const two = browserTabs('tessera:test:channel')
    const seenByOne: TabMessage[] = []
    const seenByTwo: TabMessage[] = []
    const arrived = deferred()
    one.subscribe((message) => seenByOne.push(message))
    const stop = two.subscribe((message) => {
      seenByTwo.push(message)
      arrived.resolve()
    })
    one.post({ type: 'signed_out', reason: 'signed_out' })
    await arrived.promise
    assert.deepEqual(seenByTwo, [{ type: 'signed_out', reason: 'signed_out' }])
    assert.deepEqual(seenByOne, [])
    stop()
    one.close()
    two.close()
  })

  it('lets one tab at a time hold a lock (Web Locks)', async () => {
    const one = browserTabs('tessera:test:locks')
    const two = browserTabs('tessera:test:locks')
    const order = await overlap(
      (task) => one.withLock('tessera:test:lock', task),
      (task) => two.withLock('tessera:test:lock', task),
    )
    assert.deepEqual(order, ['a start', 'a end', 'b start'])
    assert.equal(await one.withLock('tessera:test:lock', async () => 42), 42)
    one.close()
    two.close()
  })

  it('without Web Locks or BroadcastChannel: a lock in this tab, a failed task not blocking the next', async () => {
    await without('navigator', () =>
      without('BroadcastChannel', async () => {
        const tabs = browserTabs('tessera:test:fallback')
        const lock = (task: () => Promise<void>) => tabs.withLock('l', task)
        assert.deepEqual(await overlap(lock, lock), ['a start', 'a end', 'b start'])
        await assert.rejects(
          tabs.withLock('l', async () => {
            throw new Error('boom')
          }),
          /boom/,
        )
        assert.equal(await tabs.withLock('l', async () => 'next'), 'next')
        tabs.post({ type: 'signed_out', reason: 'revoked' })
        tabs.close()
      }),
    )
  })
})

describe('stores', () => {
  it('memoryStore keeps, replaces and deletes values', async () => {
    const store = memoryStore()
    assert.equal(await store.get('k'), undefined)
    await store.set('k', { a: 1 })
    await store.set('k', { a: 2 })
    assert.deepEqual(await store.get('k'), { a: 2 })
    await store.delete('k')
    assert.equal(await store.get('k'), undefined)
  })

  it('indexedDbStore falls back to memory where there is no IndexedDB', async () => {
    assert.equal(typeof indexedDB, 'undefined')
    const store = indexedDbStore()
    await store.set('k', 'v')
    assert.equal(await store.get('k'), 'v')
    await store.delete('k')
    assert.equal(await store.get('k'), undefined)
    const fallback = defaultStore()
    await fallback.set('k', 1)
    assert.equal(await fallback.get('k'), 1)
  })
})
