// The published package must work where Node does not strip types: compiled
// JavaScript and .d.ts from `npm pack`, installed into a scratch project.
// The package is packed from a copy in a temporary directory, so its prepack
// build writes dist/ there: the checkout's packages/jwt/dist/ is never
// created (a stale one would shadow src/ for anything run without
// --conditions=source).
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
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, test } from 'node:test'

const root = resolve(import.meta.dirname, '../../..')
const scratch = mkdtempSync(join(tmpdir(), 'tessera-pack-'))
after(() => rmSync(scratch, { recursive: true, force: true }))

const run = (cmd: string, args: string[], cwd: string): string =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

/**
 * A copy of packages/jwt as it sits in the repository (without dist/ and
 * node_modules/), with the base tsconfig its build extends and the
 * workspace's node_modules (tsc, @types/node) linked in. Returns its path.
 */
function stagePackage(): string {
  const stage = join(scratch, 'stage')
  const source = join(root, 'packages/jwt')
  const copy = join(stage, 'packages/jwt')
  mkdirSync(copy, { recursive: true })
  copyFileSync(join(root, 'tsconfig.base.json'), join(stage, 'tsconfig.base.json'))
  cpSync(source, copy, {
    recursive: true,
    filter: (path) => path !== join(source, 'dist') && path !== join(source, 'node_modules'),
  })
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir')
  return copy
}

test('npm pack of @tessera/jwt installs and imports in a scratch project', {
  timeout: 120_000,
}, () => {
  const distBefore = statOrUndefined(join(root, 'packages/jwt/dist'))
  const staged = stagePackage()
  // prepack builds dist/ inside the copy.
  run('npm', ['pack', '--silent', '--pack-destination', scratch], staged)
  assert.deepEqual(
    statOrUndefined(join(root, 'packages/jwt/dist')),
    distBefore,
    "the checkout's packages/jwt/dist/ is left as it was",
  )
  const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'))
  assert.ok(tarball, 'npm pack wrote a tarball')
  const files = run('tar', ['-tzf', join(scratch, tarball)], scratch).split('\n')
  assert.ok(files.includes('package/dist/index.js'))
  assert.ok(files.includes('package/dist/index.d.ts'))
  assert.ok(
    !files.some((f) => f.endsWith('.test.js') || f.includes('/src/')),
    'no sources or tests',
  )

  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', type: 'module' }))
  run('npm', ['install', '--no-audit', '--no-fund', '--silent', `./${tarball}`], scratch)
  writeFileSync(
    join(scratch, 'check.mjs'),
    `import { generateKeyPair, sign, verify, JwtError } from '@tessera/jwt'
const { privateKey, publicKey } = generateKeyPair('EdDSA')
const token = sign({ sub: 'u1' }, privateKey, { expiresIn: '1m' })
console.log(verify(token, publicKey).payload.sub, new JwtError('expired', 'x').code)`,
  )
  assert.equal(run(process.execPath, ['check.mjs'], scratch).trim(), 'u1 expired')

  writeFileSync(
    join(scratch, 'check.ts'),
    `import { createVerifier, generateSecret, sign, type VerifiedJwt } from '@tessera/jwt'
const key = generateSecret('HS256')
const verifyToken = createVerifier({ key, issuer: 'me' })
const result: VerifiedJwt = verifyToken(sign({ iss: 'me' }, key, { expiresIn: 60 }))
const sub: string | undefined = result.payload.sub
console.log(sub)`,
  )
  writeFileSync(
    join(scratch, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        // A consumer of a Node library has @types/node; borrow the workspace's.
        types: ['node'],
        typeRoots: [join(root, 'node_modules/@types')],
      },
      files: ['check.ts'],
    }),
  )
  run(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
    scratch,
  )
})

/** The mtime of a path, or undefined when it does not exist. */
function statOrUndefined(path: string): number | undefined {
  return existsSync(path) ? statSync(path).mtimeMs : undefined
}
