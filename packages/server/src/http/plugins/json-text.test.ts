import assert from 'node:assert/strict'
import { test } from 'node:test'
import Fastify from 'fastify'
import { createJsonTextSender } from './json-text.ts'

const schema = {
  response: {
    200: {
      type: 'object',
      properties: { id: { type: 'string' }, roles: { type: 'array', items: { type: 'string' } } },
    },
  },
}

test('sends the text the route schema serializes, kept for a deeply frozen value only', async () => {
  const app = Fastify()
  const sendFrozen = createJsonTextSender()
  const sendShallow = createJsonTextSender()
  const frozen = Object.freeze({ id: 'a', roles: Object.freeze(['user']), secret: 'x' })
  const shallow = Object.freeze({ id: 'b', roles: ['user'] })
  let serialized = 0
  app.get('/frozen', { schema }, (_request, reply) => {
    const serialize = reply.serialize.bind(reply)
    reply.serialize = (value: unknown) => {
      serialized++
      return serialize(value)
    }
    sendFrozen(reply, frozen)
  })
  app.get('/shallow', { schema }, (_request, reply) => {
    const serialize = reply.serialize.bind(reply)
    reply.serialize = (value: unknown) => {
      serialized++
      return serialize(value)
    }
    sendShallow(reply, shallow)
  })
  for (let i = 0; i < 3; i++) {
    const response = await app.inject({ method: 'GET', url: '/frozen' })
    assert.equal(response.statusCode, 200)
    // The schema's serializer: members outside the schema are left out.
    assert.equal(response.body, '{"id":"a","roles":["user"]}')
    assert.equal(response.headers['content-type'], 'application/json; charset=utf-8')
  }
  assert.equal(serialized, 1)
  for (let i = 0; i < 2; i++) {
    const response = await app.inject({ method: 'GET', url: '/shallow' })
    assert.equal(response.body, '{"id":"b","roles":["user"]}')
  }
  // Its roles array could change: serialized each time.
  assert.equal(serialized, 3)
  await app.close()
})
