import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url))

function tessera(args: string[]) {
  return spawnSync(process.execPath, ['--conditions=source', MAIN, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  })
}

test('tessera bench passes its options to bench/index.ts (--help prints the bench usage)', () => {
  const result = tessera(['bench', '--help'])
  assert.equal(result.status, 0, result.stderr)
  assert.match(result.stdout, /Usage: npm run bench/)
  assert.match(result.stdout, /--scenario <list>/)
})

test('tessera bench exits 2 on a bad option before starting anything', () => {
  const result = tessera(['bench', '--scenario', '9'])
  assert.equal(result.status, 2)
  assert.match(result.stderr, /unknown --scenario "9"/)
})
