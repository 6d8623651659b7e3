// The published package must work where Node does not strip types: compiled
// JavaScript and .d.ts from `npm pack`, installed into a scratch project.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, test } from 'node:test'

const root = resolve(import.meta.dirname, '../../..')
const scratch = mkdtempSync(join(tmpdir(), 'tessera-pack-'))
after(() => rmSync(scratch, { recursive: true, force: true }))

const run = (cmd: string, args: string[], cwd: string): string =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

test('npm pack of @tessera/jwt installs and imports in a scratch project', {
  timeout: 120_000,
}, () => {
  run('npm', ['pack', '--silent', '-w', 'packages/jwt', '--pack-destination', scratch], root)
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
