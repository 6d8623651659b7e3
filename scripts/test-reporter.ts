// A node:test reporter that runs next to `spec` (see the "test" script of the
// root package.json) and closes the run with what did not run: each skipped
// suite or test, the reason it gave, which by convention says what enables
// it ("set TESSERA_TEST_DATABASE_URL ..."), and its file.
//
// Why: a suite skipped as a whole is one line in node's own count, so a run
// that left 77 tests out ended with "ℹ skipped 1". Node's closing lines
// ("ℹ tests N", "ℹ pass N", ...) are left as they are, since CI reads them:
// this reporter adds lines after them and prints nothing when nothing was
// skipped.

import { relative } from 'node:path'
import type { TestEvent } from 'node:test/reporters'

/** One skipped suite or test. */
export interface Skipped {
  /** The names from the top-level suite down, joined with " > ". */
  readonly name: string
  readonly type: 'suite' | 'test'
  /** The skip message; undefined when the test gave none (`skip: true`). */
  readonly reason: string | undefined
  /** The test file, relative to the working directory. */
  readonly file: string | undefined
}

/** Collects the skipped suites and tests from a run's events, in the order they were reported. */
export function collectSkipped(events: Iterable<TestEvent>, cwd = process.cwd()): Skipped[] {
  const collector = skipCollector(cwd)
  for (const event of events) collector.add(event)
  return collector.skipped
}

/** The incremental form of {@link collectSkipped}, for the streaming reporter. */
function skipCollector(cwd: string): { add(event: TestEvent): void; skipped: Skipped[] } {
  const skipped: Skipped[] = []
  // The names of the suites enclosing the test that starts next, per file:
  // files run in parallel, so their events may interleave.
  const paths = new Map<string, string[]>()
  return {
    skipped,
    add(event) {
      if (event.type === 'test:start') {
        const key = event.data.file ?? ''
        const path = paths.get(key) ?? []
        path.length = event.data.nesting
        path.push(event.data.name)
        paths.set(key, path)
        return
      }
      if (event.type !== 'test:pass' && event.type !== 'test:fail') return
      const { skip, name, nesting, file, details } = event.data
      if (skip === undefined || skip === false) return
      const parents = (paths.get(file ?? '') ?? []).slice(0, nesting)
      skipped.push({
        name: [...parents, name].join(' > '),
        type: details.type === 'suite' ? 'suite' : 'test',
        reason: typeof skip === 'string' && skip.trim() !== '' ? skip.trim() : undefined,
        file: file === undefined ? undefined : relative(cwd, file),
      })
    },
  }
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`
}

/**
 * The closing lines for the skipped suites and tests; empty when there are none.
 *
 * @example
 * renderSkipped([{ name: 'with a real Redis', type: 'suite', reason: 'set TESSERA_TEST_REDIS_URL', file: 'redis.test.ts' }])
 * // "\nnot run: 1 suite skipped (node's counts above leave out the tests inside a skipped suite)\n" +
 * // "  skipped: with a real Redis (set TESSERA_TEST_REDIS_URL) in redis.test.ts\n"
 */
export function renderSkipped(skipped: readonly Skipped[]): string {
  if (skipped.length === 0) return ''
  const suites = skipped.filter((s) => s.type === 'suite').length
  const tests = skipped.length - suites
  const counts = [suites > 0 ? plural(suites, 'suite') : '', tests > 0 ? plural(tests, 'test') : '']
    .filter((part) => part !== '')
    .join(' and ')
  const lines = [
    '',
    `not run: ${counts} skipped (node's counts above leave out the tests inside a skipped suite)`,
  ]
  for (const s of skipped) {
    const reason = s.reason ?? 'no reason given'
    lines.push(`  skipped: ${s.name} (${reason})${s.file === undefined ? '' : ` in ${s.file}`}`)
  }
  return `${lines.join('\n')}\n`
}

/** The reporter: `--test-reporter=./scripts/test-reporter.ts --test-reporter-destination=stdout`. */
export default async function* skippedSummary(
  source: AsyncIterable<TestEvent>,
): AsyncGenerator<string, void> {
  const collector = skipCollector(process.cwd())
  for await (const event of source) collector.add(event)
  const text = renderSkipped(collector.skipped)
  if (text !== '') yield text
}
