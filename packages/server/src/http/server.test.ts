// The app behind a real listening socket (127.0.0.1, port 0): what only
// node:http sees (header size, malformed HTTP) and graceful shutdown.

import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { test } from 'node:test'
import { createTestApp } from './testing.ts'

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

function envelope(answer: string): { status: number; code: unknown } {
  const status = Number(answer.slice(9, 12))
  const body = answer.slice(answer.indexOf('\r\n\r\n') + 4)
  return { status, code: (JSON.parse(body) as { error?: { code?: unknown } }).error?.code }
}

test('headers over 16 KiB and malformed HTTP get the error envelope', async () => {
  const { app } = await createTestApp()
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
  const { app } = await createTestApp({
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
