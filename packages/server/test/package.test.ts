// What `npm pack` of @tessera/server ships: the compiled server, its launcher
// and its docs, and no test code (unit tests, test support, test doubles).
// Packed from a copy in a temporary directory, as packages/jwt/test/
// package.test.ts does, so the prepack build writes dist/ there and the
// checkout's packages/server/dist/ is never created (a stale one would
// shadow src/ for anything run without --conditions=source).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, test } from 'node:test'

const root = resolve(import.meta.dirname, '../../..')
const scratch = mkdtempSync(join(tmpdir(), 'tessera-server-pack-'))
after(() => rmSync(scratch, { recursive: true, force: true }))

const run = (cmd: string, args: string[], cwd: string): string =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

/**
 * A copy of packages/server as it sits in the repository (without dist/ and
 * node_modules/), with the base tsconfig its build extends and the
 * workspace's node_modules (tsc, @tessera/jwt, the dependencies) linked in.
 * Returns its path.
 */
function stagePackage(): string {
  const stage = join(scratch, 'stage')
  const source = join(root, 'packages/server')
  const copy = join(stage, 'packages/server')
  mkdirSync(copy, { recursive: true })
  copyFileSync(join(root, 'tsconfig.base.json'), join(stage, 'tsconfig.base.json'))
  cpSync(source, copy, {
    recursive: true,
    filter: (path) => path !== join(source, 'dist') && path !== join(source, 'node_modules'),
  })
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir')
  return copy
}

/** What counts as test code in a tarball path. */
const TEST_CODE = [
  /\.test\.(?:[cm]?js|d\.[cm]?ts|[cm]?ts)$/,
  /(?:^|\/)testing\.(?:[cm]?js|d\.[cm]?ts|[cm]?ts)$/,
  /^package\/(?:.+\/)?test\//,
  /(?:^|\/)support\//,
]

test('npm pack of @tessera/server ships the build and no test code', {
  timeout: 180_000,
}, () => {
  const distBefore = statOrUndefined(join(root, 'packages/server/dist'))
  const staged = stagePackage()
  // prepack builds dist/ inside the copy.
  run('npm', ['pack', '--silent', '--pack-destination', scratch], staged)
  assert.equal(
    statOrUndefined(join(root, 'packages/server/dist')),
    distBefore,
    "the checkout's packages/server/dist/ is left as it was",
  )
  const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'))
  assert.ok(tarball, 'npm pack wrote a tarball')
  const files = run('tar', ['-tzf', join(scratch, tarball)], scratch)
    .split('\n')
    .filter((f) => f !== '')
  for (const expected of [
    'package/package.json',
    'package/bin/tessera.js',
    'package/dist/index.js',
    'package/dist/index.d.ts',
    'package/dist/cli/main.js',
    // Data read at run time beside its module (readFileSync of import.meta.url).
    'package/dist/auth/common-passwords.txt',
  ]) {
    assert.ok(files.includes(expected), `${expected} ships`)
  }
  assert.deepEqual(
    files.filter((f) => TEST_CODE.some((pattern) => pattern.test(f))),
    [],
    'no test code ships',
  )
  assert.deepEqual(
    files.filter((f) => f.startsWith('package/src/') || f.startsWith('package/test/')),
    [],
    'no TypeScript sources ship',
  )
})

/** The mtime of a path, or undefined when it does not exist. */
function statOrUndefined(path: string): number | undefined {
  return existsSync(path) ? statSync(path).mtimeMs : undefined
}
