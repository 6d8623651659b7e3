// Schemas shared by several routes. Inputs are strict (additionalProperties:
// false, every string capped); outputs list their fields so the serializer
// drops anything else (Fastify: response schemas "help prevent accidental
// disclosure").

import { type TSchema, Type } from '@sinclair/typebox'
import { errorCodeList, INTERNAL_ERROR } from '../error-codes.ts'

/** Capped string with no C0 control characters (names end up in admin UIs and logs). */
export const Text = (maxLength: number, description?: string) =>
  Type.String({
    maxLength,
    pattern: '^[^\\x00-\\x1f\\x7f]*$',
    errorMessage: 'must not contain control characters',
    description,
  })

/** RFC 5321 caps a forward path at 256 octets including the brackets: 254 for the address. */
export const Email = Type.String({
  minLength: 3,
  maxLength: 254,
  pattern: '^[^\\s@\\x00-\\x1f\\x7f]+@[^\\s@\\x00-\\x1f\\x7f]+$',
  errorMessage: 'must be an email address',
  description: 'Email address; the server normalizes it (trim, lower case).',
})

/**
 * Only a size cap: the length policy (NIST SP 800-63B: 8..1024) belongs to
 * the domain, which answers `validation_failed` with its own issue.
 */
export const Password = Type.String({ maxLength: 1024, description: 'Password (policy: 8..1024).' })

/** Opaque refresh token: base64url of 256 random bits (43 characters). */
export const RefreshToken = Type.String({
  minLength: 1,
  maxLength: 512,
  pattern: '^[A-Za-z0-9_-]+$',
  errorMessage: 'must be a refresh token (base64url)',
  description: 'Opaque refresh token.',
})

/** Ids of users and sessions (UUIDs today; any URL-safe id up to 128 characters). */
export const Id = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9_-]+$',
  errorMessage: 'must be an id (letters, digits, - and _)',
})

export const IdParams = Type.Object({ id: Id }, { additionalProperties: false })

export const Role = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9_.:-]+$',
  errorMessage: 'must be a role name (letters, digits, and _ . : -)',
})

/** Routes without query parameters refuse any (an unknown input is an error). */
/** The OpenAPI security of a route that needs an access token. */
export const BEARER: Record<string, string[]>[] = [{ bearerAuth: [] }]

export const NoQuery = Type.Object({}, { additionalProperties: false })

/** For bodiless POSTs: no body, or `{}`. Anything else is `validation_failed`. */
export const EmptyBody = Type.Object({}, { additionalProperties: false })

const DateTime = Type.String({ format: 'date-time' })

export const PublicUser = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    name: Type.Union([Type.String(), Type.Null()]),
    roles: Type.Array(Type.String()),
    /** Whether the user proved the address (a link mailed to it was opened). */
    emailVerified: Type.Boolean(),
    createdAt: DateTime,
  },
  { additionalProperties: false },
)

export const AdminUser = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    name: Type.Union([Type.String(), Type.Null()]),
    roles: Type.Array(Type.String()),
    emailVerified: Type.Boolean(),
    createdAt: DateTime,
    updatedAt: DateTime,
    disabled: Type.Boolean(),
  },
  { additionalProperties: false },
)

export const Issue = Type.Object(
  { path: Type.String(), message: Type.String() },
  { additionalProperties: false },
)

/** The error envelope: `{ "error": { "code", "message", ...details } }`. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ enum: [...errorCodeList, INTERNAL_ERROR] }),
        message: Type.String(),
        issues: Type.Optional(Type.Array(Issue)),
        retryAfter: Type.Optional(Type.Integer({ description: 'Seconds (rate_limited).' })),
      },
      { additionalProperties: true },
    ),
  },
  { additionalProperties: false },
)

export const NoContent = Type.Null({ description: 'No content.' })

/**
 * Adds the error envelope for every 4xx and 5xx to a route's response
 * schemas, so OpenAPI shows it and the serializer keeps the envelope's fields.
 */
export function withErrors<T extends Record<number, TSchema>>(responses: T) {
  return { ...responses, '4xx': ErrorBody, '5xx': ErrorBody }
}
