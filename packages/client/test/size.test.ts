// The size budget, checked in CI: the core entry point of @tessera/client,
// bundled as an app would ship it (scripts/size.ts), stays within 12 KB
// min+gzip. A missing entry point fails here: it is not skipped.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CORE_BUDGET, formatSizes, measure } from '../scripts/size.ts'

test('@tessera/client stays within its size budget (12 KB min+gzip); every entry point is reported', async (t) => {
  const sizes = await measure()
  t.diagnostic(`\n${formatSizes(sizes)}`)
  assert.deepEqual(
    sizes.map((entry) => entry.name),
    ['@tessera/client', '@tessera/client/react'],
  )
  const core = sizes[0]!
  assert.equal(core.budget, CORE_BUDGET)
  assert.ok(
    core.gzip <= CORE_BUDGET,
    `the core entry is ${core.gzip} bytes min+gzip, over its budget of ${CORE_BUDGET}`,
  )
  const react = sizes[1]!
  // The bindings alone: React stays the app's (a peer), and the client is the
  // app's own import, so the react entry must not carry the core in it.
  assert.ok(react.gzip < 2048, `@tessera/client/react is ${react.gzip} bytes min+gzip`)
})
