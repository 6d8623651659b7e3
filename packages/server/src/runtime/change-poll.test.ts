import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startChangePoll } from './change-poll.ts'

const INTERVAL = 5

/** A marker the test moves, and a record of what the poll did. */
function fixture(initial = 'm0') {
  const state = {
    marker: initial,
    reads: 0,
    changes: 0,
    errors: [] as unknown[],
    recoveries: 0,
    readFails: false,
    changeFails: false,
  }
  const poll = startChangePoll({
    async read() {
      state.reads++
      if (state.readFails) throw new Error('store unavailable')
      return state.marker
    },
    async onChange() {
      if (state.changeFails) throw new Error('reload failed')
      state.changes++
    },
    initial,
    intervalMs: INTERVAL,
    onError: (error) => state.errors.push(error),
    onRecover: () => state.recoveries++,
  })
  return { state, poll }
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !condition(); i++) await sleep(INTERVAL)
  assert.ok(condition(), 'timed out')
}

test('reloads once per move of the marker, never while it stays', async () => {
  const { state, poll } = fixture()
  try {
    await until(() => state.reads >= 5)
    assert.equal(state.changes, 0, 'the marker of the initial load needs no reload')
    state.marker = 'm1'
    await until(() => state.changes === 1)
    const reads = state.reads
    await until(() => state.reads >= reads + 5)
    assert.equal(state.changes, 1)
    state.marker = 'm2'
    await until(() => state.changes === 2)
  } finally {
    await poll.stop()
  }
})

test('a failed reload is retried at the next check; an outage is reported once, then its end', async () => {
  const { state, poll } = fixture()
  try {
    state.changeFails = true
    state.marker = 'm1'
    await until(() => state.reads >= 5)
    assert.equal(state.changes, 0)
    assert.equal(state.errors.length, 1, 'one report for a run of failures')
    state.changeFails = false
    await until(() => state.changes === 1)
    assert.equal(state.recoveries, 1)

    state.readFails = true
    const reads = state.reads
    await until(() => state.reads >= reads + 5)
    assert.equal(state.errors.length, 2)
    state.readFails = false
    await until(() => state.recoveries === 2)
  } finally {
    await poll.stop()
  }
})

test('stop() waits for the check in progress, and no check starts after it', async () => {
  let release: () => void = () => {}
  let inProgress = 0
  let reads = 0
  const poll = startChangePoll({
    async read() {
      reads++
      inProgress++
      await new Promise<void>((resolve) => {
        release = resolve
      })
      inProgress--
      return 'm1'
    },
    onChange: async () => {},
    initial: 'm0',
    intervalMs: INTERVAL,
    onError: () => {},
  })
  await until(() => inProgress === 1)
  await sleep(INTERVAL * 4)
  assert.equal(reads, 1, 'checks never overlap')
  const stopped = poll.stop()
  release()
  await stopped
  assert.equal(inProgress, 0)
  await sleep(INTERVAL * 4)
  assert.equal(reads, 1)
})

test('a bad interval is a TypeError at creation', () => {
  for (const intervalMs of [0, -1, Number.NaN]) {
    assert.throws(
      () =>
        startChangePoll({
          read: async () => '',
          onChange: async () => {},
          initial: '',
          intervalMs,
          onError: () => {},
        }),
      TypeError,
    )
  }
})
