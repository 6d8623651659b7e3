// Attacks on the HTTP layer of the real service that the hardening review
// (issue #12) found: stalled bodies holding connections (item 3), refused
// tokens amplified into kilobytes of log (item 6), lone surrogates and
// foreign charsets, and client-chosen request ids. In process, on in-memory
// SQLite; each case failed before its fix.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { type AddressInfo, connect } from 'node:net'
import { Writable } from 'node:stream'
import { afterEach, describe, it } from 'node:test'
import pino from 'pino'
import { createTessera, type Tessera } from '../src/tessera.ts'
import { testConfig } from './support/harness.ts'

const PASSWORD = 'correct horse battery staple'

const open: Tessera[] = []
afterEach(async () => {
  for (const tessera of open.splice(0)) await tessera.close()
})

/** The real service with its log captured as JSON lines. */
async function start(env: Record<string, string> = {}): Promise<{
  tessera: Tessera
  lines: string[]
}> {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      done()
    },
  })
  const config = testConfig({
    TESSERA_DATABASE_URL: 'sqlite::memory:',
    TESSERA_MASTER_KEY: randomBytes(32).toString('base64url'),
    ...env,
  })
  const tessera = await createTessera(config, {
    logger: pino({ level: 'info' }, stream),
    maintenanceInterval: 0,
    argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 },
  })
  open.push(tessera)
  return { tessera, lines }
}

const base64url = (value: unknown): string =>
  Buffer.from(JSON.stringify(value)).toString('base64url')

describe('refused tokens are cheap to log (item 6)', () => {
  it('each forged token is one short info line with its code, never a stack', async () => {
    const { tessera, lines } = await start()
    const signup = await tessera.app.inject({
      method: 'POST',
      url: '/auth/signup',
      payload: { email: 'real@example.com', password: PASSWORD },
    })
    const real = String(signup.json().accessToken)
    const [header, payload] = real.split('.')
    const forged = [
      `${base64url({ alg: 'none', typ: 'at+jwt' })}.${payload}.`,
      `${header}.${base64url({ sub: 'admin', roles: ['admin'] })}.${real.split('.')[2]}`,
      `${header}.${payload}.${'A'.repeat(86)}`,
      `${base64url({ alg: 'HS256', typ: 'at+jwt' })}.${payload}.c2lnbmF0dXJl`,
      'not-a-jwt-at-all',
    ]
    lines.length = 0
    for (const token of forged) {
      const response = await tessera.app.inject({
        url: '/auth/me',
        headers: { authorization: `Bearer ${token}` },
      })
      assert.equal(response.statusCode, 401, token)
    }
    assert.equal(lines.length, forged.length, lines.join('\n'))
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>
      assert.equal(entry['level'], 30, line)
      assert.equal(entry['msg'], 'request refused', line)
      assert.equal(entry['code'], 'invalid_token', line)
      assert.equal(entry['err'], undefined, line)
      assert.doesNotMatch(line, /stack|\\n\s+at /, line)
      // It was about 1.2 KB with the stack.
      assert.ok(line.length < 300, `${line.length} bytes: ${line}`)
    }
  })
})

describe('a stalled body does not hold a connection (item 3)', () => {
  it('the request timeout answers and closes it; the server keeps serving', async () => {
    const { tessera, lines } = await start({ TESSERA_REQUEST_TIMEOUT: '1s' })
    await tessera.app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = tessera.app.server.address() as AddressInfo
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      answer += chunk
    })
    const started = performance.now()
    const closed = new Promise<number>((resolve) =>
      socket.on('close', () => resolve(performance.now() - started)),
    )
    socket.write(
      'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 80\r\n\r\n{"email":"a@b.c",',
    )
    let timer: NodeJS.Timeout | undefined
    const elapsed = await Promise.race([
      closed,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error('the stalled connection is still open')), 4000)
      }),
    ]).finally(() => clearTimeout(timer))
    assert.ok(elapsed >= 900 && elapsed < 3000, `closed after ${elapsed} ms`)
    // One info line for the refusal; nothing at warn or error.
    const levels = lines.map((line) => (JSON.parse(line) as { level: number }).level)
    assert.ok(
      levels.every((level) => level <= 30),
      lines.join('\n'),
    )
    assert.match(answer, /^HTTP\/1\.1 400 /)
    assert.match(answer, /"code":"validation_failed"/)
    const health = await fetch(`http://127.0.0.1:${port}/health`)
    assert.equal(health.status, 200)
  })
})

describe('bodies are UTF-8 text (smaller items)', () => {
  it('a lone surrogate is refused, not stored as U+FFFD', async () => {
    const { tessera } = await start()
    const signup = (name: string) =>
      tessera.app.inject({
        method: 'POST',
        url: '/auth/signup',
        headers: { 'content-type': 'application/json' },
        payload: `{"email":"lone@example.com","password":"${PASSWORD}","name":${JSON.stringify(name)}}`,
      })
    const refused = await signup('Mallory \ud800')
    assert.equal(refused.statusCode, 400)
    assert.equal(refused.json().error.code, 'validation_failed')
    assert.deepEqual(refused.json().error.issues, [
      { path: '/name', message: 'has a lone surrogate: not valid Unicode text' },
    ])
    // Nothing was stored: the same email signs up afterwards.
    const fine = await signup('Mallory')
    assert.equal(fine.statusCode, 201)
    assert.equal(fine.json().user.name, 'Mallory')
  })

  it('a body in another charset is 415', async () => {
    const { tessera } = await start()
    const response = await tessera.app.inject({
      method: 'POST',
      url: '/auth/signup',
      headers: { 'content-type': 'application/json; charset=iso-8859-1' },
      payload: Buffer.from(
        `{"email":"latin@example.com","password":"${PASSWORD}","name":"Ren\u00e9"}`,
        'latin1',
      ),
    })
    assert.equal(response.statusCode, 415)
    assert.equal(response.json().error.code, 'unsupported_media_type')
  })
})

describe('request ids (smaller items)', () => {
  it('a client-chosen X-Request-Id is replaced unless a trusted proxy sends it', async () => {
    const direct = await start()
    const chosen = await direct.tessera.app.inject({
      url: '/health',
      headers: { 'x-request-id': 'forged-id' },
    })
    assert.notEqual(chosen.headers['x-request-id'], 'forged-id')
    const proxied = await start({ TESSERA_TRUST_PROXY: '1' })
    const kept = await proxied.tessera.app.inject({
      url: '/health',
      headers: { 'x-request-id': 'nginx-id-1' },
    })
    assert.equal(kept.headers['x-request-id'], 'nginx-id-1')
  })
})
