import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import type { TestEvent } from 'node:test/reporters'
import { collectSkipped, renderSkipped } from './test-reporter.ts'

const FILE = '/repo/packages/server/test/storage-postgres.test.ts'

function start(name: string, nesting: number, file = FILE): TestEvent {
  return {
    type: 'test:start',
    data: { name, nesting, file, line: 1, column: 1 },
  } as TestEvent
}

function pass(
  name: string,
  nesting: number,
  options: { skip?: string | boolean; type?: 'suite' | 'test'; file?: string } = {},
): TestEvent {
  return {
    type: 'test:pass',
    data: {
      name,
      nesting,
      file: options.file ?? FILE,
      line: 1,
      column: 1,
      testNumber: 1,
      details: { duration_ms: 0, type: options.type ?? 'test' },
      ...(options.skip === undefined ? {} : { skip: options.skip }),
    },
  } as TestEvent
}

describe('collectSkipped', () => {
  it('lists skipped suites and tests with their reason and file; ignores what ran', () => {
    const skipped = collectSkipped(
      [
        start('PostgreSQL storage contract', 0),
        pass('PostgreSQL storage contract', 0, {
          type: 'suite',
          skip: 'set TESSERA_TEST_DATABASE_URL',
        }),
        start('ran', 0),
        pass('ran', 0),
      ],
      '/repo',
    )
    assert.deepEqual(skipped, [
      {
        name: 'PostgreSQL storage contract',
        type: 'suite',
        reason: 'set TESSERA_TEST_DATABASE_URL',
        file: 'packages/server/test/storage-postgres.test.ts',
      },
    ])
  })

  it('names a nested skip with its enclosing suites, per file even when files interleave', () => {
    const other = '/repo/other.test.ts'
    const skipped = collectSkipped(
      [
        start('outer', 0),
        start('elsewhere', 0, other),
        start('inner', 1),
        start('thread priorities', 2),
        pass('thread priorities', 2, { skip: 'Linux only' }),
        pass('elsewhere', 0, { file: other, skip: true }),
      ],
      '/repo',
    )
    assert.deepEqual(
      skipped.map((s) => [s.name, s.reason, s.file]),
      [
        [
          'outer > inner > thread priorities',
          'Linux only',
          'packages/server/test/storage-postgres.test.ts',
        ],
        ['elsewhere', undefined, 'other.test.ts'],
      ],
    )
  })
})

describe('renderSkipped', () => {
  it('prints nothing when nothing was skipped', () => {
    assert.equal(renderSkipped([]), '')
  })

  it('counts suites and tests apart and gives one line each, with the reason', () => {
    const text = renderSkipped([
      {
        name: 'with a real Redis',
        type: 'suite',
        reason: 'set TESSERA_TEST_REDIS_URL',
        file: 'a.ts',
      },
      { name: 'browser', type: 'suite', reason: undefined, file: undefined },
      { name: 'one', type: 'test', reason: 'Linux only', file: 'b.ts' },
    ])
    assert.equal(
      text,
      [
        '',
        "not run: 2 suites and 1 test skipped (node's counts above leave out the tests inside a skipped suite)",
        '  skipped: with a real Redis (set TESSERA_TEST_REDIS_URL) in a.ts',
        '  skipped: browser (no reason given)',
        '  skipped: one (Linux only) in b.ts',
        '',
      ].join('\n'),
    )
  })
})

describe('the reporter next to spec, as package.json runs it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-reporter-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  it("adds the skipped suites after node's closing lines, which stay as they were", () => {
    writeFileSync(
      join(dir, 'fixture.test.mjs'),
      `import { describe, it } from 'node:test'
describe('needs a database', { skip: 'set SOME_TEST_URL' }, () => {
  it('one', () => {})
  it('two', () => {})
})
it('runs', () => {})
`,
    )
    // A child `node --test` must not think it is a worker of this run.
    const env = { ...process.env }
    delete env.NODE_TEST_CONTEXT
    const run = spawnSync(
      process.execPath,
      [
        '--test',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        `--test-reporter=${join(import.meta.dirname, 'test-reporter.ts')}`,
        '--test-reporter-destination=stdout',
        'fixture.test.mjs',
      ],
      { cwd: dir, env, encoding: 'utf8', timeout: 60_000 },
    )
    assert.equal(run.status, 0, run.stderr)
    const lines = run.stdout.split('\n')
    const at = (prefix: string): number => lines.findIndex((line) => line.startsWith(prefix))
    for (const prefix of ['ℹ tests 1', 'ℹ pass 1', 'ℹ fail 0', 'ℹ skipped 0'])
      assert.ok(at(prefix) !== -1, `"${prefix}" in:\n${run.stdout}`)
    const summary = at('not run: 1 suite skipped')
    assert.ok(summary > at('ℹ duration_ms'), `the summary comes last:\n${run.stdout}`)
    assert.equal(
      lines[summary + 1],
      '  skipped: needs a database (set SOME_TEST_URL) in fixture.test.mjs',
    )
  })
})
