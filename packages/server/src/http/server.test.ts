// The app behind a real listening socket (127.0.0.1, port 0): what only
// node:http sees (header size, malformed HTTP, timeouts of slow clients) and
// graceful shutdown.

import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { describe, test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { type Harness, harness } from '../../test/support/harness.ts'

/** Sends raw bytes and returns everything the server answers before closing. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      answer += chunk
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(answer))
    socket.end(request)
  })
}

/** A raw connection left open: what it has received, and when it closed. */
interface RawConnection {
  write(data: string): void
  answer(): string
  /** Resolves with the milliseconds from opening to the server closing it. */
  closed: Promise<number>
}

function connectRaw(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      answer += chunk
    })
    const closed = new Promise<number>((settle) => {
      socket.on('close', () => settle(performance.now() - started))
    })
    socket.once('error', reject)
    socket.once('connect', () =>
      resolve({ write: (data) => socket.write(data), answer: () => answer, closed }),
    )
  })
}

/** `closed`, or a failure after `ms`: before the fix, nothing ever closed these sockets. */
async function closedWithin(connection: RawConnection, ms: number, what: string): Promise<number> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([connection.closed, late])
  } finally {
    clearTimeout(timer)
  }
}

/** Short timeouts for these tests: 300 ms for a request, its headers and an idle connection. */
const SHORT_TIMEOUTS = { requestTimeout: 0.3, headersTimeout: 0.3, keepAliveTimeout: 0.3 }

/**
 * The real service's app with SHORT_TIMEOUTS: whole seconds are all the
 * config's schema takes, so the fractions go over the loaded config.
 */
async function withShortTimeouts(h: Harness): Promise<FastifyInstance> {
  return h.buildApp({ config: Object.freeze({ ...h.tessera.config, ...SHORT_TIMEOUTS }) })
}

function envelope(answer: string): { status: number; code: unknown } {
  const status = Number(answer.slice(9, 12))
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4)
  return { status, code: (JSON.parse(body) as { error?: { code?: unknown } }).error?.code }
}

test('headers over 16 KiB and malformed HTTP get the error envelope', async () => {
  const { app } = await harness()
  await app.listen({ host: '127.0.0.1', port: 0 })
  try {
    const { port } = app.server.address() as AddressInfo
    const big = await raw(
      port,
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`,
    )
    assert.deepEqual(envelope(big), { status: 413, code: 'payload_too_large' })
    assert.match(big, /Content-Type: application\/json/)
    const fine = await raw(
      port,
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(8_000)}\r\nConnection: close\r\n\r\n`,
    )
    assert.equal(Number(fine.slice(9, 12)), 200)
    const garbage = await raw(port, 'NOT HTTP AT ALL\r\n\r\n')
    assert.deepEqual(envelope(garbage), { status: 400, code: 'validation_failed' })
  } finally {
    await app.close()
  }
})

test('close() lets an in-flight request finish, refuses late ones, and does not hang', async () => {
  let release: () => void = () => {}
  let entered: () => void = () => {}
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  const inside = new Promise<void>((resolve) => {
    entered = resolve
  })
  const h = await harness()
  const app = await h.buildApp({
    metrics: true,
    readiness: () => {
      entered()
      return gate
    },
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as AddressInfo
  // A keep-alive client (fetch) with a request in flight when close() starts.
  const inFlight = fetch(`http://127.0.0.1:${port}/ready`)
  // A second client whose request is half sent when close() starts.
  const late = connect(port, '127.0.0.1')
  let lateAnswer = ''
  late.setEncoding('utf8').on('data', (chunk: string) => {
    lateAnswer += chunk
  })
  const lateClosed = new Promise((resolve) => late.on('close', resolve))
  late.write('GET /health HTTP/1.1\r\nHost: x\r\n')
  await inside

  const started = Date.now()
  const closed = app.close()
  await new Promise((resolve) => setTimeout(resolve, 50))
  late.write('\r\n')
  release()
  const response = await inFlight
  assert.equal(response.status, 200)
  assert.deepEqual(await response.json(), { status: 'ok' })
  assert.equal(response.headers.get('connection'), 'close')
  await closed
  // Without "Connection: close" the idle keep-alive socket holds close() for 72 s.
  assert.ok(Date.now() - started < 2_000, 'close() returned promptly')
  await lateClosed
  assert.deepEqual(envelope(lateAnswer), { status: 503, code: 'unavailable' })
})

describe('timeouts of slow clients', () => {
  test('a request whose body never arrives is answered and closed within the request timeout', async () => {
    const h = await harness()
    const app = await withShortTimeouts(h)
    await app.listen({ host: '127.0.0.1', port: 0 })
    try {
      const { port } = app.server.address() as AddressInfo
      const stalled = await connectRaw(port)
      stalled.write(
        'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          'Content-Length: 64\r\n\r\n{"email":',
      )
      const elapsed = await closedWithin(stalled, 3000, 'a stalled body')
      assert.ok(elapsed >= 250, `closed after ${elapsed} ms, before the timeout`)
      assert.deepEqual(envelope(stalled.answer()), { status: 400, code: 'validation_failed' })
      assert.deepEqual(h.calls, [], 'the service never saw the request')
      // The server still answers everyone else.
      assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200)
    } finally {
      await app.close()
    }
  })

  test('headers that never end, and a connection that sends nothing, are closed within the headers timeout', async () => {
    const app = await withShortTimeouts(await harness())
    await app.listen({ host: '127.0.0.1', port: 0 })
    try {
      const { port } = app.server.address() as AddressInfo
      const slowloris = await connectRaw(port)
      slowloris.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ')
      const silent = await connectRaw(port)
      await closedWithin(slowloris, 3000, 'unfinished headers')
      await closedWithin(silent, 3000, 'a silent connection')
      assert.deepEqual(envelope(slowloris.answer()), { status: 400, code: 'validation_failed' })
    } finally {
      await app.close()
    }
  })

  test('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const app = await withShortTimeouts(await harness())
    await app.listen({ host: '127.0.0.1', port: 0 })
    try {
      const { port } = app.server.address() as AddressInfo
      const idle = await connectRaw(port)
      idle.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n')
      const elapsed = await closedWithin(idle, 3000, 'an idle keep-alive connection')
      assert.equal(Number(idle.answer().slice(9, 12)), 200)
      assert.ok(elapsed >= 250, `closed after ${elapsed} ms, before the timeout`)
    } finally {
      await app.close()
    }
  })

  test('a request refused before its body arrives is answered and closed at once, not again at the timeout', async () => {
    const app = await withShortTimeouts(await harness())
    await app.listen({ host: '127.0.0.1', port: 0 })
    try {
      const { port } = app.server.address() as AddressInfo
      // Authentication refuses before the body is read; the body never comes.
      const refused = await connectRaw(port)
      refused.write(
        'POST /auth/password HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
          'Content-Length: 64\r\n\r\n',
      )
      const elapsed = await closedWithin(refused, 3000, 'a refused request with a stalled body')
      const answer = refused.answer()
      assert.deepEqual(envelope(answer), { status: 401, code: 'missing_token' })
      assert.equal(answer.match(/HTTP\/1\.1 /g)?.length, 1, answer)
      // Closed with the answer, not left waiting for the body until the timeout.
      assert.match(answer, /\r\nconnection: close\r\n/i)
      assert.ok(elapsed < 250, `closed after ${elapsed} ms`)
    } finally {
      await app.close()
    }
  })

  test('a revocation feed outlives the request, headers and keep-alive timeouts', async () => {
    const feedKey = `${'k'.repeat(24)}-feed-key-for-tests`
    const h = await harness({ TESSERA_REVOCATION_FEED_KEY: feedKey })
    const app = await withShortTimeouts(h)
    await app.listen({ host: '127.0.0.1', port: 0 })
    try {
      const { port } = app.server.address() as AddressInfo
      // On a connection that served a request first, as a reconnecting client's may.
      const feed = await connectRaw(port)
      feed.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n')
      await new Promise((resolve) => setTimeout(resolve, 50))
      feed.write(
        `GET /auth/revocations HTTP/1.1\r\nHost: x\r\nX-Tessera-Feed-Key: ${feedKey}\r\n\r\n`,
      )
      // Five times every timeout, with the heartbeat (15 s) far away.
      const open = await Promise.race([
        feed.closed.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 1500)),
      ])
      assert.ok(open, `the feed was closed: ${feed.answer()}`)
      assert.match(feed.answer(), /event: ready\n/)
      await h.tessera.revocations.add([
        { kind: 'jti', value: 'after-the-timeouts', expiresAt: h.clock.now + 60_000 },
      ])
      const deadline = performance.now() + 2000
      while (!feed.answer().includes('"after-the-timeouts"')) {
        assert.ok(performance.now() < deadline, `no live entry: ${feed.answer()}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    } finally {
      await app.close()
    }
  })
})
