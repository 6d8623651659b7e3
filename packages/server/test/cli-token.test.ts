// End-to-end tests of `tessera token` and `tessera secret`, asserting on
// stdout, stderr and exit codes. The commands run in this process
// (src/cli/run.ts, the binary's program with buffers for its streams); a few
// run the real CLI in a child process: bin/tessera.js, stdin from a pipe, and
// exit code 1. Tokens and keys come from @tessera/jwt directly, so the CLI is
// checked against the engine and not only against itself.

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { exportJwk, generateKeyPair, type Key, sign, verify } from '@tessera/jwt'
import { runCli } from '../src/cli/run.ts'
import { formatSpan, inspectToken } from '../src/cli/token.ts'

const root = resolve(import.meta.dirname, '../../..')
const SOURCE_ARGS = ['--conditions=source', 'packages/server/src/cli/main.ts']
const BIN_ARGS = ['packages/server/bin/tessera.js']

interface Result {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs `tessera ARGS` in this process, or in a child process: the source
 * entry with `child`, bin/tessera.js with `bin`.
 */
function run(
  args: string[],
  options: { stdin?: string; bin?: boolean; child?: boolean } = {},
): Promise<Result> {
  if (options.bin !== true && options.child !== true) {
    return runCli(args, { cwd: root, stdin: options.stdin ?? '' })
  }
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...(options.bin ? BIN_ARGS : SOURCE_ARGS), ...args], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    const timer = setTimeout(() => child.kill(), 15_000)
    child.on('error', fail)
    child.on('close', (code) => {
      clearTimeout(timer)
      done({ code, stdout, stderr })
    })
    child.stdin.end(options.stdin ?? '')
  })
}

/** A usage or verification failure: exactly one `error: ...` line, nothing on stdout, no stack. */
function assertOneErrorLine(result: Result, code: number, prefix: string): void {
  assert.equal(result.code, code, `exit code; stderr: ${result.stderr}`)
  assert.equal(result.stdout, '')
  const lines = result.stderr.split('\n').filter((line) => line !== '')
  assert.equal(lines.length, 1, `one stderr line, got: ${result.stderr}`)
  assert.ok(lines[0]!.startsWith(prefix), `"${lines[0]}" starts with "${prefix}"`)
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace')
}

/** The JSON after the first line of `verify` output. */
function claimsAfterValid(stdout: string): Record<string, unknown> {
  const [first, ...rest] = stdout.split('\n')
  assert.equal(first, 'valid')
  return JSON.parse(rest.join('\n')) as Record<string, unknown>
}

const ISSUER = 'https://auth.example.test'
let dir: string
let privateKey: Key
let publicKey: Key
let privateJwkFile: string
let jwksFile: string
let publicPemFile: string

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-cli-'))
  ;({ privateKey, publicKey } = generateKeyPair('ES256', { kid: 'k1' }))
  privateJwkFile = join(dir, 'private.jwk.json')
  writeFileSync(privateJwkFile, JSON.stringify(exportJwk(privateKey, { includePrivate: true })))
  jwksFile = join(dir, 'jwks.json')
  // The other key makes the set need the kid to pick.
  const other = generateKeyPair('ES256', { kid: 'k2' }).publicKey
  writeFileSync(jwksFile, JSON.stringify({ keys: [exportJwk(other), exportJwk(publicKey)] }))
  publicPemFile = join(dir, 'public.pem')
  writeFileSync(publicPemFile, publicKey.keyObject.export({ type: 'spki', format: 'pem' }))
})

after(() => rmSync(dir, { recursive: true, force: true }))

describe('tessera token decode', { concurrency: 4 }, () => {
  test('shows header, claims and the time left', async () => {
    const token = sign({ sub: 'user-1' }, privateKey, {
      expiresIn: '15m',
      issuer: ISSUER,
      typ: 'at+jwt',
    })
    const result = await run(['token', 'decode', token])
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stderr, '')
    assert.match(result.stdout, /"sub": "user-1"/)
    assert.match(result.stdout, /"kid": "k1"/)
    assert.match(result.stdout, /^expires {5}\d{4}-\d\d-\d\dT.*Z \(expires in 1[45]m( \d+s)?\)$/m)
    assert.match(result.stdout, /^issued at {3}.*\(\d+s ago\)$/m)
    assert.doesNotMatch(result.stdout, /warning:/)
  })

  test('--json prints one object with warnings and expiresIn', async () => {
    const token = sign({ sub: 'user-1' }, privateKey, { expiresIn: '15m', typ: 'at+jwt' })
    const result = await run(['token', 'decode', token, '--json'])
    assert.equal(result.code, 0, result.stderr)
    const report = JSON.parse(result.stdout) as {
      header: Record<string, unknown>
      payload: Record<string, unknown>
      warnings: string[]
      expiresIn: number
    }
    assert.deepEqual(report.header, { alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
    assert.equal(report.payload.sub, 'user-1')
    assert.deepEqual(report.warnings, [])
    assert.ok(report.expiresIn > 880 && report.expiresIn <= 900, `expiresIn ${report.expiresIn}`)
  })

  test('warns about a token without exp', async () => {
    const token = sign({ sub: 'user-1' }, privateKey)
    const human = await run(['token', 'decode', token])
    assert.equal(human.code, 0, human.stderr)
    assert.match(human.stdout, /^warning: no exp: this token never expires$/m)
    const json = await run(['token', 'decode', '--json', token])
    const report = JSON.parse(json.stdout) as { warnings: string[]; expiresIn: unknown }
    assert.equal(report.expiresIn, null)
    assert.ok(report.warnings.some((w) => w.startsWith('no exp')))
  })

  test('says how long ago an expired token expired', async () => {
    const issued = new Date(Date.now() - (3 * 3600 + 15 * 60) * 1000)
    const token = sign({}, privateKey, { expiresIn: '15m', currentDate: issued })
    const result = await run(['token', 'decode', token])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /\(expired 3h ago\)/)
  })

  test('warns about alg none, HS*, missing kid and typ, and a far exp', async () => {
    const segment = (value: object): string =>
      Buffer.from(JSON.stringify(value)).toString('base64url')
    const none = `${segment({ alg: 'none' })}.${segment({ sub: 'x', exp: 4102444800 })}.`
    const result = await run(['token', 'decode', '--json', none])
    assert.equal(result.code, 0, result.stderr)
    const { warnings } = JSON.parse(result.stdout) as { warnings: string[] }
    const starts = (prefix: string): boolean => warnings.some((w) => w.startsWith(prefix))
    assert.ok(starts('alg none: never accept this token'), warnings.join('; '))
    assert.ok(starts('no kid'))
    assert.ok(starts('typ missing'))
    assert.ok(starts('exp is '), 'exp far in the future')

    const hs = `${segment({ alg: 'HS256', typ: 'JWT', kid: 'a' })}.${segment({ exp: 1 })}.${segment({})}`
    const hsResult = await run(['token', 'decode', '--json', hs])
    const hsWarnings = (JSON.parse(hsResult.stdout) as { warnings: string[] }).warnings
    assert.ok(hsWarnings.includes('alg HS256: anyone with the secret can mint tokens'))
    assert.ok(!hsWarnings.some((w) => w.startsWith('no kid') || w.startsWith('typ missing')))
  })

  test('reads the token from stdin with -', async () => {
    const token = sign({ sub: 'from-stdin' }, privateKey, { expiresIn: '5m' })
    // Through a pipe to a child: process.stdin, as a shell gives it.
    const result = await run(['token', 'decode', '-'], { stdin: `${token}\n`, child: true })
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /"sub": "from-stdin"/)
    assert.match(result.stdout, /expires in [45]m/)
  })

  test('garbage is a usage error: exit 2, one line, no stack', async () => {
    assertOneErrorLine(await run(['token', 'decode', 'not-a-token']), 2, 'error: malformed:')
    assertOneErrorLine(await run(['token', 'decode', 'a.b@.c']), 2, 'error: malformed:')
    assertOneErrorLine(await run(['token', 'decode', '-'], { stdin: '' }), 2, 'error: ')
  })

  test('a missing argument or an unknown option is a usage error', async () => {
    assertOneErrorLine(await run(['token', 'decode']), 2, 'error: missing required argument')
    assertOneErrorLine(await run(['token', 'decode', 'x', '--nope']), 2, 'error: unknown option')
    assertOneErrorLine(await run(['tokn']), 2, 'error: unknown command')
  })
})

describe('tessera token sign and verify', { concurrency: 4 }, () => {
  test('round trip: sign with a JWK file, verify with a JWKS file and a PEM file', async () => {
    const signed = await run([
      'token',
      'sign',
      '--key',
      privateJwkFile,
      '--iss',
      ISSUER,
      '--aud',
      'api',
      '--sub',
      'user-7',
      '--exp',
      '10m',
      '--claims',
      '{"roles":["admin"]}',
    ])
    assert.equal(signed.code, 0, signed.stderr)
    const token = signed.stdout.trim()
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/)

    // The engine agrees with what the CLI signed.
    const checked = verify(token, publicKey, { issuer: ISSUER, audience: 'api' })
    assert.equal(checked.header.kid, 'k1')
    assert.deepEqual(checked.payload.roles, ['admin'])
    assert.equal((checked.payload.exp ?? 0) - (checked.payload.iat ?? 0), 600)

    const viaJwks = await run([
      'token',
      'verify',
      token,
      '--jwks',
      jwksFile,
      '--iss',
      ISSUER,
      '--aud',
      'api',
    ])
    assert.equal(viaJwks.code, 0, viaJwks.stderr)
    const claims = claimsAfterValid(viaJwks.stdout)
    assert.equal(claims.sub, 'user-7')
    assert.deepEqual(claims.roles, ['admin'])

    const viaPem = await run(['token', 'verify', token, '--jwks', publicPemFile, '--alg', 'ES256'])
    assert.equal(viaPem.code, 0, viaPem.stderr)
    assert.equal(claimsAfterValid(viaPem.stdout).sub, 'user-7')
  })

  test("a wrong --aud or --iss exits 1 with claim_invalid, naming the token's value and the expected one", async () => {
    const token = sign({}, privateKey, { expiresIn: '5m', audience: 'api', issuer: ISSUER })
    const result = await run(['token', 'verify', token, '--jwks', jwksFile, '--aud', 'other'])
    assertOneErrorLine(result, 1, 'error: claim_invalid:')
    assert.equal(
      result.stderr,
      'error: claim_invalid: unexpected "aud": the token has "api", --aud expects "other"\n',
    )
    const iss = await run([
      'token',
      'verify',
      token,
      '--jwks',
      jwksFile,
      '--iss',
      'https://auth.example.com',
      '--iss',
      'http://localhost:3000',
    ])
    assert.equal(iss.code, 1)
    assert.equal(
      iss.stderr,
      `error: claim_invalid: unexpected "iss": the token has "${ISSUER}", --iss expects "https://auth.example.com" or "http://localhost:3000"\n`,
    )
    const none = sign({}, privateKey, { expiresIn: '5m' })
    const missing = await run(['token', 'verify', none, '--jwks', jwksFile, '--iss', ISSUER])
    assert.match(missing.stderr, /the token has none, --iss expects/)
  })

  test('an expired token exits 1 with expired', async () => {
    const token = sign({}, privateKey, {
      expiresIn: '5m',
      currentDate: new Date(Date.now() - 3600_000),
    })
    // In a child process: exit code 1 as the shell sees it.
    assertOneErrorLine(
      await run(['token', 'verify', token, '--jwks', jwksFile], { child: true }),
      1,
      'error: expired:',
    )
  })

  test('a tampered signature exits 1; a malformed token exits 2', async () => {
    const token = sign({}, privateKey, { expiresIn: '5m' })
    const forged = sign({}, generateKeyPair('ES256', { kid: 'k1' }).privateKey, { expiresIn: '5m' })
    assertOneErrorLine(
      await run(['token', 'verify', forged, '--jwks', jwksFile]),
      1,
      'error: invalid_signature:',
    )
    assertOneErrorLine(
      await run(['token', 'verify', `${token}x.y`, '--jwks', jwksFile]),
      2,
      'error: malformed:',
    )
  })

  test('verify needs exactly one key source; an unreadable key file exits 2', async () => {
    const token = sign({}, privateKey, { expiresIn: '5m' })
    assertOneErrorLine(await run(['token', 'verify', token]), 2, 'error: pass exactly one')
    assertOneErrorLine(
      await run(['token', 'verify', token, '--jwks', join(dir, 'missing.json')]),
      2,
      'error: cannot read key file',
    )
    assertOneErrorLine(
      await run(['token', 'verify', token, '--jwks', jwksFile, '--alg', 'ES256,none']),
      2,
      'error: option',
    )
  })

  test('an RSA PEM needs --alg; --no-exp tokens need --no-require-exp', async () => {
    const rsa = generateKeyPair('PS256').privateKey
    const privatePem = join(dir, 'rsa.key.pem')
    const publicPem = join(dir, 'rsa.pub.pem')
    writeFileSync(privatePem, rsa.keyObject.export({ type: 'pkcs8', format: 'pem' }))
    writeFileSync(publicPem, rsa.publicKey.keyObject.export({ type: 'spki', format: 'pem' }))
    assertOneErrorLine(
      await run(['token', 'sign', '--key', privatePem]),
      2,
      'error: an RSA key fits several algorithms',
    )
    const signed = await run(['token', 'sign', '--key', privatePem, '--alg', 'PS256', '--no-exp'])
    assert.equal(signed.code, 0, signed.stderr)
    const token = signed.stdout.trim()
    assert.equal(verify(token, rsa.publicKey, { requiredClaims: [] }).payload.exp, undefined)
    assertOneErrorLine(
      await run(['token', 'verify', token, '--jwks', publicPem]),
      2,
      'error: an RSA key fits several algorithms',
    )
    // verify is strict by default: a token that never expires is refused.
    const noExp = await run(['token', 'verify', token, '--jwks', publicPem, '--alg', 'PS256'])
    assertOneErrorLine(noExp, 1, 'error: claim_invalid:')
    const allowed = await run([
      'token',
      'verify',
      token,
      '--jwks',
      publicPem,
      '--alg',
      'RS256,PS256',
      '--no-require-exp',
    ])
    assert.equal(allowed.code, 0, allowed.stderr)
    assert.equal(claimsAfterValid(allowed.stdout).exp, undefined)
  })

  test('HS512 round trip with a kid:secret file from `tessera secret`', async () => {
    const made = await run(['secret', '--alg', 'HS512', '--kid', 'hs-1'])
    assert.equal(made.code, 0, made.stderr)
    const secretFile = join(dir, 'hs.secret')
    writeFileSync(secretFile, made.stdout)
    const signed = await run(['token', 'sign', '--secret-file', secretFile, '--alg', 'HS512'])
    assert.equal(signed.code, 0, signed.stderr)
    const token = signed.stdout.trim()
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as {
      alg: string
      kid: string
    }
    assert.deepEqual([header.alg, header.kid], ['HS512', 'hs-1'])
    const ok = await run(['token', 'verify', '-', '--secret-file', secretFile, '--alg', 'HS512'], {
      stdin: signed.stdout,
    })
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(claimsAfterValid(ok.stdout).iat !== undefined, true)
    // Without --alg a secret is HS256: the clash is a verdict (exit 1), named in the message.
    const clash = await run(['token', 'verify', token, '--secret-file', secretFile])
    assertOneErrorLine(clash, 1, 'error: alg_not_allowed:')
  })

  test('errors never echo a key or a secret', async () => {
    const marker = 'c2VjcmV0LWRvLW5vdC1wcmludA'
    const badJwk = join(dir, 'bad.jwk.json')
    writeFileSync(badJwk, `{"kty":"EC","crv":"P-256","d":"${marker}"`)
    const badFile = await run(['token', 'sign', '--key', badJwk])
    assertOneErrorLine(badFile, 2, 'error: key file')
    assert.ok(!badFile.stderr.includes(marker))
    const short = await run(['token', 'sign', '--secret', marker])
    assertOneErrorLine(short, 2, 'error: key_invalid:')
    assert.ok(!short.stderr.includes(marker))
    const notBase64 = await run(['token', 'sign', '--secret', `${marker}+/`])
    assertOneErrorLine(notBase64, 2, 'error: the secret must be base64url')
    assert.ok(!notBase64.stderr.includes(marker))
  })

  test('verify against a JWKS URL (createRemoteKeySet)', async () => {
    const body = JSON.stringify({ keys: [exportJwk(publicKey)] })
    const server: Server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(body)
    })
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening))
    const { port } = server.address() as AddressInfo
    const url = `http://127.0.0.1:${port}/.well-known/jwks.json`
    try {
      const token = sign({ sub: 'remote' }, privateKey, { expiresIn: '5m', audience: 'api' })
      const ok = await run(['token', 'verify', token, '--jwks', url, '--aud', 'api'])
      assert.equal(ok.code, 0, ok.stderr)
      assert.equal(claimsAfterValid(ok.stdout).sub, 'remote')
      const bad = await run(['token', 'verify', token, '--jwks', url, '--aud', 'web'])
      assertOneErrorLine(bad, 1, 'error: claim_invalid:')
    } finally {
      await new Promise((closed) => server.close(closed))
    }
    // The server is gone: the keys cannot be fetched, which is not a verdict on the token.
    // In a child process: this one may still hold a kept-alive connection to it.
    const token = sign({}, privateKey, { expiresIn: '5m' })
    const gone = await run(['token', 'verify', token, '--jwks', url], { child: true })
    assertOneErrorLine(gone, 2, 'error: jwks_unavailable:')
    assert.match(
      gone.stderr,
      /could not be fetched: connection refused: nothing listens there \(ECONNREFUSED\)/,
    )
  })
})

describe('decode report (in process, fixed clock)', () => {
  test('formatSpan keeps the two largest units', () => {
    assert.equal(formatSpan(872), '14m 32s')
    assert.equal(formatSpan(-10_800), '3h')
    assert.equal(formatSpan(3605), '1h')
    assert.equal(formatSpan(93_784), '1d 2h')
    assert.equal(formatSpan(45), '45s')
    assert.equal(formatSpan(0), '0s')
  })

  test('a far exp is judged by typ: one day for access tokens, 30 for others', () => {
    const now = 1_700_000_000
    const farFor = (typ: string, lifetime: number): boolean =>
      inspectToken(
        { alg: 'ES256', kid: 'k', typ },
        { iat: now, exp: now + lifetime },
        now,
      ).report.warnings.some((w) => w.startsWith('exp is '))
    assert.equal(farFor('at+jwt', 2 * 86_400), true)
    assert.equal(farFor('application/AT+JWT', 2 * 86_400), true)
    assert.equal(farFor('at+jwt', 3600), false)
    assert.equal(farFor('logout+jwt', 2 * 86_400), false)
    assert.equal(farFor('logout+jwt', 31 * 86_400), true)
    const { report, timeLines } = inspectToken({ alg: 'ES256' }, { exp: now - 5 }, now)
    assert.equal(report.expiresIn, -5)
    assert.ok(timeLines.some((line) => line.endsWith('(expired 5s ago)')))
  })
})

describe('tessera secret', { concurrency: 4 }, () => {
  test('is 32, 48 or 64 random bytes of base64url by alg', async () => {
    for (const [alg, bytes] of [
      ['HS256', 32],
      ['HS384', 48],
      ['HS512', 64],
    ] as const) {
      const result = await run(['secret', '--alg', alg])
      assert.equal(result.code, 0, result.stderr)
      const text = result.stdout.trim()
      assert.match(text, /^[\w-]+$/)
      assert.equal(Buffer.from(text, 'base64url').length, bytes, alg)
    }
    const [a, b] = await Promise.all([run(['secret']), run(['secret'])])
    assert.equal(Buffer.from(a.stdout.trim(), 'base64url').length, 32)
    assert.notEqual(a.stdout, b.stdout)
  })

  test('--kid prints kid:secret; bad values are usage errors', async () => {
    const result = await run(['secret', '--kid', 'k-2024'])
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /^k-2024:[\w-]{43}\n$/)
    assertOneErrorLine(await run(['secret', '--kid', 'a:b']), 2, 'error: option')
    assertOneErrorLine(await run(['secret', '--alg', 'RS256']), 2, 'error: option')
  })
})

describe('bin/tessera.js', { concurrency: 4 }, () => {
  test('runs the TypeScript source from the workspace', async () => {
    const token = sign({ sub: 'via-bin' }, privateKey, { expiresIn: '15m' })
    const result = await run(['token', 'decode', token], { bin: true })
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /"sub": "via-bin"/)
    assert.match(result.stdout, /expires in 1[45]m/)
    assertOneErrorLine(
      await run(['token', 'decode', 'garbage'], { bin: true }),
      2,
      'error: malformed:',
    )
  })

  test('--help exits 0 and lists the commands', async () => {
    const result = await run(['--help'], { bin: true })
    assert.equal(result.code, 0, result.stderr)
    assert.match(result.stdout, /token/)
    assert.match(result.stdout, /secret/)
  })
})
