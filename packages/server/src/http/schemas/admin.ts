// Schemas of the /admin routes.

import { Type } from '@sinclair/typebox'
import { AdminUser, Email, Id, Role, Text } from './common.ts'

export const MAX_PAGE = 100
export const DEFAULT_PAGE = 50

const Limit = Type.Integer({
  minimum: 1,
  maximum: MAX_PAGE,
  description: `Default ${DEFAULT_PAGE}.`,
})

export const UsersQuery = Type.Object(
  {
    limit: Type.Optional(Limit),
    after: Type.Optional(Id),
    email: Type.Optional(Email),
  },
  { additionalProperties: false },
)

export const UserList = Type.Object(
  {
    users: Type.Array(AdminUser),
    next: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as `after` for the next page; null on the last page.',
    }),
  },
  { additionalProperties: false },
)

export const UserPatch = Type.Object(
  {
    roles: Type.Optional(Type.Array(Role, { maxItems: 32, uniqueItems: true })),
    disabled: Type.Optional(Type.Boolean()),
    name: Type.Optional(Type.Union([Text(200), Type.Null()])),
    emailVerified: Type.Optional(
      Type.Boolean({
        description:
          'Mark the address verified (as if the user had used a verification link), or not.',
      }),
    ),
    resetMfa: Type.Optional(
      Type.Literal(true, {
        description:
          'Remove every second factor (authenticator app, passkeys, recovery codes): the user signs in with the password alone and sets them up again; they are mailed a notice.',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
)

export const KeyView = Type.Object(
  {
    kid: Type.String(),
    alg: Type.String(),
    state: Type.Union([Type.Literal('next'), Type.Literal('current'), Type.Literal('retired')]),
    createdAt: Type.String({ format: 'date-time' }),
    activatesAt: Type.String({ format: 'date-time' }),
    retiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { additionalProperties: false },
)

export const KeyList = Type.Object({ keys: Type.Array(KeyView) }, { additionalProperties: false })

export const AuditQuery = Type.Object(
  {
    limit: Type.Optional(Limit),
    before: Type.Optional(
      Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Entry id.' }),
    ),
    userId: Type.Optional(Id),
    event: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9_.:-]+$' })),
  },
  { additionalProperties: false },
)

export const AuditEntry = Type.Object(
  {
    id: Type.Integer(),
    at: Type.String({ format: 'date-time' }),
    event: Type.String(),
    userId: Type.Union([Type.String(), Type.Null()]),
    sessionId: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    details: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
)

export const AuditList = Type.Object(
  {
    entries: Type.Array(AuditEntry),
    next: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Pass as `before` for the next page; null on the last page.',
    }),
  },
  { additionalProperties: false },
)
