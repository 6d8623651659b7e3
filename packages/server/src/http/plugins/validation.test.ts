import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Type } from '@sinclair/typebox'
import type { FastifyRouteSchemaDef, FastifyValidationResult } from 'fastify/types/schema.js'
import { validatorCompiler } from './validation.ts'

function compile(schema: ReturnType<typeof Type.Object>, httpPart: string) {
  const validate = validatorCompiler({
    schema,
    httpPart,
    method: 'GET',
    url: '/x',
  } as FastifyRouteSchemaDef<typeof schema>) as FastifyValidationResult
  return (value: unknown) =>
    validate(value) as { value?: unknown; error?: { instancePath: string; message: string }[] }
}

const Query = Type.Object(
  { limit: Type.Optional(Type.Integer({ minimum: 1 })), flag: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
)

test('query values convert only from their canonical spelling', () => {
  const check = compile(Query, 'querystring')
  assert.deepEqual(check({ limit: '10', flag: 'true' }).value, { limit: 10, flag: true })
  for (const limit of ['1.5', '1e3', '010', ' 1', '0x10', '', 'NaN', '99999999999999999']) {
    assert.ok(check({ limit }).error, `limit=${limit}`)
  }
  assert.ok(check({ flag: '1' }).error)
})

test('bodies are not converted; optional bodies may be absent; issues are one per path', () => {
  const Body = Type.Object(
    { email: Type.String({ maxLength: 5 }), n: Type.Optional(Type.Integer()) },
    { additionalProperties: false },
  )
  const check = compile(Body, 'body')
  assert.ok(check({ email: 'a', n: '1' }).error)
  const failure = check({ extra: 1 })
  assert.deepEqual(failure.error?.map((issue) => issue.instancePath).sort(), ['/email', '/extra'])
  assert.ok(check(undefined).error, 'a body with a required field must be sent')
  const optional = compile(Type.Object({ t: Type.Optional(Type.String()) }), 'body')
  assert.deepEqual(optional(undefined), { value: undefined })
  assert.deepEqual(optional(null), { value: undefined })
})

test('at most 20 issues, whatever the body', () => {
  const properties: Record<string, ReturnType<typeof Type.String>> = {}
  for (let i = 0; i < 50; i += 1) properties[`f${i}`] = Type.String()
  const check = compile(Type.Object(properties), 'body')
  assert.equal(check({}).error?.length, 20)
})

test("TypeBox's own messages follow the API's style: lower-case first letter, no period", () => {
  const check = compile(Type.Object({ name: Type.String({ maxLength: 3 }) }), 'body')
  assert.deepEqual(
    check({ name: 'long' }).error?.[0]?.message,
    'expected string length less or equal to 3',
  )
})

test('a pattern mismatch says what was expected, not the regular expression', () => {
  const Body = Type.Object({
    email: Type.String({ pattern: '^[^@]+@[^@]+$', errorMessage: 'must be an email address' }),
    code: Type.Optional(Type.String({ pattern: '^[0-9]+$' })),
  })
  const check = compile(Body, 'body')
  assert.deepEqual(
    check({ email: 'nope', code: 'x' }).error?.map(({ instancePath, message }) => ({
      instancePath,
      message,
    })),
    [
      { instancePath: '/email', message: 'must be an email address' },
      { instancePath: '/code', message: 'has an invalid format' },
    ],
  )
})
