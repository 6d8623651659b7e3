// `tessera token decrypt`: the JWEs a client gets from Tessera (encrypted ID
// tokens and userinfo) or anyone makes with jose, read with a JWK, a JWKS or
// a PEM private key; a wrong key is a verdict (exit 1), bad input exit 2.
// The command runs in this process (src/cli/run.ts); cli-token.test.ts runs
// the binary itself.

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, test } from 'node:test'
import * as jose from 'jose'
import { type CliResult, runCli } from '../src/cli/run.ts'

const root = resolve(import.meta.dirname, '../../..')

function run(args: string[]): Promise<CliResult> {
  return runCli(['token', 'decrypt', ...args], { cwd: root })
}

describe('tessera token decrypt', () => {
  let dir: string
  let rsaJwe: string
  let nestedJwe: string
  const files = { rsaJwk: '', jwks: '', pem: '', otherJwk: '' }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-decrypt-'))
    const rsa = await jose.generateKeyPair('RSA-OAEP-256', { extractable: true })
    const ec = await jose.generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true })
    const other = await jose.generateKeyPair('RSA-OAEP-256', { extractable: true })
    const rsaPrivate = { ...(await jose.exportJWK(rsa.privateKey)), alg: 'RSA-OAEP-256', kid: 'r1' }
    const ecPrivate = { ...(await jose.exportJWK(ec.privateKey)), alg: 'ECDH-ES', kid: 'e1' }
    const write = (name: string, content: string) => {
      const path = join(dir, name)
      writeFileSync(path, content)
      return path
    }
    files.rsaJwk = write('rsa.json', JSON.stringify(rsaPrivate))
    files.jwks = write('keys.json', JSON.stringify({ keys: [rsaPrivate, ecPrivate] }))
    files.pem = write('rsa.pem', await jose.exportPKCS8(rsa.privateKey))
    files.otherJwk = write(
      'other.json',
      JSON.stringify({ ...(await jose.exportJWK(other.privateKey)), alg: 'RSA-OAEP-256' }),
    )
    rsaJwe = await new jose.CompactEncrypt(
      new TextEncoder().encode('{"sub":"u-1","email":"a@b.c"}'),
    )
      .setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'r1' })
      .encrypt(rsa.publicKey)
    const signing = await jose.generateKeyPair('ES256')
    const inner = await new jose.SignJWT({ sub: 'u-2' })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuedAt()
      .sign(signing.privateKey)
    nestedJwe = await new jose.CompactEncrypt(new TextEncoder().encode(inner))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A128CBC-HS256', cty: 'JWT', kid: 'e1' })
      .encrypt(ec.publicKey)
  })

  after(() => rmSync(dir, { recursive: true, force: true }))

  test('a JWK, a JWKS (by kid) and a PEM key decrypt; the plaintext is shown as JSON', async () => {
    for (const key of [files.rsaJwk, files.jwks, files.pem]) {
      const result = await run([rsaJwe, '--key', key, '--json'])
      assert.equal(result.code, 0, result.stderr)
      const out = JSON.parse(result.stdout)
      assert.equal(out.header.alg, 'RSA-OAEP-256')
      assert.deepEqual(out.plaintext, { sub: 'u-1', email: 'a@b.c' })
    }
  })

  test('a nested JWT is decoded and said to be unverified', async () => {
    const result = await run([nestedJwe, '--key', files.jwks])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /Nested JWT \(its signature is NOT verified/)
    assert.match(result.stdout, /"sub": "u-2"/)
  })

  test('another key: exit 1 and one line that says nothing of why', async () => {
    const result = await run([rsaJwe, '--key', files.otherJwk])
    assert.equal(result.code, 1, result.stderr)
    assert.equal(result.stdout, '')
    assert.match(result.stderr, /^error: .*\n$/)
    assert.doesNotMatch(result.stderr, /\n\s+at /)
  })

  test('not a JWE, or a missing key file: exit 2', async () => {
    assert.equal((await run(['not-a-jwe', '--key', files.rsaJwk])).code, 2)
    assert.equal((await run([rsaJwe, '--key', join(dir, 'missing.json')])).code, 2)
  })
})
