import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import type { FastifyBaseLogger } from 'fastify'
import { pino } from 'pino'
import { lazyChildLoggerFactory } from './request-logger.ts'

function capture(level: string) {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>)
      done()
    },
  })
  const parent = pino({ level }, stream)
  let children = 0
  const child = parent.child.bind(parent)
  parent.child = ((...args: Parameters<typeof child>) => {
    children++
    return child(...args)
  }) as typeof parent.child
  return { lines, parent, children: () => children }
}

function requestLogger(parent: unknown, options: { level?: string } = {}): FastifyBaseLogger {
  // Fastify calls the factory with the server as `this`; the factory does not use it.
  return lazyChildLoggerFactory.call(
    undefined as never,
    parent as FastifyBaseLogger,
    { reqId: 'req-1' },
    options,
    undefined as never,
  )
}

test('a request that logs nothing enabled never builds a pino child', () => {
  const { lines, parent, children } = capture('info')
  const log = requestLogger(parent)
  log.debug({ route: '/auth/me' }, 'request completed')
  log.trace('nothing')
  assert.equal(children(), 0)
  assert.deepEqual(lines, [])
  assert.equal(log.level, 'info')
})

test('the first enabled line builds the child once, with the request id bound', () => {
  const { lines, parent, children } = capture('info')
  const log = requestLogger(parent)
  log.info({ code: 'invalid_token' }, 'refused')
  log.warn('second')
  assert.equal(children(), 1)
  assert.equal(lines.length, 2)
  assert.equal(lines[0]!['reqId'], 'req-1')
  assert.equal(lines[0]!['code'], 'invalid_token')
  assert.equal(lines[1]!['msg'], 'second')
})

test("a route's own level is the child's to decide", () => {
  const { lines, parent } = capture('info')
  const log = requestLogger(parent, { level: 'debug' })
  assert.equal(log.level, 'debug')
  log.debug('shown at the route level')
  assert.equal(lines.length, 1)
  assert.equal(lines[0]!['msg'], 'shown at the route level')
})
