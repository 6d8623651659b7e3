// The size of @tessera/client as an app's bundler would ship it: each entry
// point of package.json's `exports`, bundled from its source by esbuild (ESM,
// browser, minified, tree-shaken, peer dependencies left out), then gzipped.
// `npm run size` prints the table and exits 1 when the core entry is over
// budget; test/size.test.ts runs the same measure, which is how CI checks it.

import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

/** The core entry's budget, min+gzip bytes (issue 19). */
export const CORE_BUDGET = 12 * 1024

const PACKAGE_DIR = new URL('../', import.meta.url)

/** One entry point's size. */
export interface EntrySize {
  /** The import specifier: `@tessera/client`, `@tessera/client/react`. */
  readonly name: string
  /** Its source file, relative to the package. */
  readonly source: string
  /** Minified bytes. */
  readonly min: number
  /** Minified, then gzipped (level 9) bytes. */
  readonly gzip: number
  /** The budget of its min+gzip size, when it has one. */
  readonly budget?: number
}

interface PackageJson {
  readonly name: string
  readonly exports: Record<string, string | { readonly source?: string }>
  readonly peerDependencies?: Record<string, string>
}

/**
 * Bundles and measures every entry point that has a `source` in package.json's
 * `exports`. Rejects, naming the file, when an entry's source is missing.
 *
 * @example
 * const sizes = await measure()
 * const core = sizes.find((entry) => entry.name === '@tessera/client')
 */
export async function measure(): Promise<EntrySize[]> {
  const pkg = JSON.parse(readFileSync(new URL('package.json', PACKAGE_DIR), 'utf8')) as PackageJson
  const external = Object.keys(pkg.peerDependencies ?? {})
  const sizes: EntrySize[] = []
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const source = typeof target === 'object' ? target.source : undefined
    if (source === undefined) continue
    const file = fileURLToPath(new URL(source, PACKAGE_DIR))
    if (!existsSync(file)) {
      throw new Error(`${pkg.name}: the entry point ${subpath} has no source: ${source} is missing`)
    }
    const result = await build({
      entryPoints: [file],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2024',
      minify: true,
      treeShaking: true,
      external,
      write: false,
      logLevel: 'silent',
    })
    const code = result.outputFiles[0]!.contents
    const name = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`
    sizes.push({
      name,
      source,
      min: code.byteLength,
      gzip: gzipSync(code, { level: 9 }).byteLength,
      ...(subpath === '.' ? { budget: CORE_BUDGET } : {}),
    })
  }
  return sizes
}

/** Whether each entry with a budget is within it. */
export function withinBudget(sizes: readonly EntrySize[]): boolean {
  return sizes.every((entry) => entry.budget === undefined || entry.gzip <= entry.budget)
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KB`

/**
 * The table `npm run size` prints.
 *
 * @example
 * console.log(formatSizes(await measure()))
 */
export function formatSizes(sizes: readonly EntrySize[]): string {
  const rows = [
    ['entry point', 'min (bytes)', 'min+gzip (bytes)', 'min+gzip', 'budget'],
    ...sizes.map((entry) => [
      entry.name,
      String(entry.min),
      String(entry.gzip),
      kb(entry.gzip),
      entry.budget === undefined
        ? ''
        : `${kb(entry.budget)} ${entry.gzip <= entry.budget ? 'ok' : 'OVER'}`,
    ]),
  ]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows
    .map((row) =>
      row
        .map((cell, column) =>
          column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

if (import.meta.main) {
  const sizes = await measure()
  console.log(formatSizes(sizes))
  if (!withinBudget(sizes)) {
    console.error(`over budget: the core entry must stay within ${kb(CORE_BUDGET)} min+gzip`)
    process.exitCode = 1
  }
}
