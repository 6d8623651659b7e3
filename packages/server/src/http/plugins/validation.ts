// Input validation with TypeBox's compiler instead of Fastify's default Ajv,
// whose defaults (`removeAdditional: true`, `coerceTypes: 'array'`) would
// silently drop unknown body fields and turn `123` into `"123"`: here a body
// is checked exactly as sent, and only the querystring and path parameters
// (always strings on the wire) are converted, strictly, to the schema's
// scalar types first (TypeBox's own Value.Convert would read "1.5" as 1).

import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler, type ValueError, ValueErrorType } from '@sinclair/typebox/compiler'
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'

/** At most this many issues in one answer: a huge body must not build a huge reply. */
const MAX_ISSUES = 20
/** Issue paths echo client-chosen keys; keep them short. */
const MAX_PATH = 200

const INTEGER = /^-?(0|[1-9]\d{0,15})$/
const NUMBER = /^-?(0|[1-9]\d{0,15})(\.\d{1,16})?$/

/** One query or path value: only a canonical spelling converts; anything else stays a string and fails. */
function convertScalar(schema: unknown, value: unknown): unknown {
  if (typeof value !== 'string' || typeof schema !== 'object' || schema === null) return value
  const type = (schema as { type?: unknown }).type
  if (type === 'integer' && INTEGER.test(value)) return Number(value)
  if (type === 'number' && NUMBER.test(value)) return Number(value)
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true'
  return value
}

/** Converts the top-level members of a querystring or params object. */
function convertParts(schema: TSchema, value: unknown): unknown {
  const properties = schema['properties'] as Record<string, unknown> | undefined
  if (properties === undefined || typeof value !== 'object' || value === null) return value
  const converted: Record<string, unknown> = {}
  for (const [key, member] of Object.entries(value)) {
    converted[key] = Object.hasOwn(properties, key)
      ? convertScalar(properties[key], member)
      : member
  }
  return converted
}

/**
 * TypeBox's message, except for a pattern mismatch, whose message would
 * print the regular expression: the schema's `errorMessage` (or a generic
 * phrase) says what was expected instead. In the style of every message of
 * the API: a lower-case first letter, no final period.
 */
function issueMessage(error: ValueError): string {
  if (error.type !== ValueErrorType.StringPattern) {
    const text = error.message
    return text.charAt(0).toLowerCase() + text.slice(1)
  }
  const custom = (error.schema as { errorMessage?: unknown }).errorMessage
  return typeof custom === 'string' ? custom : 'has an invalid format'
}

/** A body schema with nothing required accepts "no body at all". */
function bodyIsOptional(schema: TSchema): boolean {
  const required = schema['required'] as unknown
  const minProperties = schema['minProperties'] as unknown
  return (
    schema['type'] === 'object' &&
    (!Array.isArray(required) || required.length === 0) &&
    (typeof minProperties !== 'number' || minProperties === 0)
  )
}

/**
 * The validator compiler for every route (`app.setValidatorCompiler`). Each
 * failure lists one issue per path (the first message for it), never the
 * offending value: it may be a password.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema)
  const isBody = httpPart === 'body'
  const optionalBody = isBody && bodyIsOptional(schema)
  return (value: unknown) => {
    // Fastify hands a missing body over as null (a JSON `null` body looks the
    // same, and means "nothing" just as well).
    if (optionalBody && (value === undefined || value === null)) return { value: undefined }
    const candidate = isBody ? value : convertParts(schema, value)
    if (check.Check(candidate)) return { value: candidate }
    const issues: FastifySchemaValidationError[] = []
    const seen = new Set<string>()
    for (const error of check.Errors(candidate)) {
      if (seen.has(error.path)) continue
      seen.add(error.path)
      issues.push({
        keyword: 'typebox',
        instancePath: error.path.slice(0, MAX_PATH),
        schemaPath: '',
        params: {},
        message: issueMessage(error),
      })
      if (issues.length >= MAX_ISSUES) break
    }
    return { error: issues }
  }
}
