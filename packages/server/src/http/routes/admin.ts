// /admin/*: user administration, signing keys, audit log. Every route needs
// an access token with the `admin` role, checked before the body is read.

import type { AdminFlows } from '../../auth/types.ts'
import { accessOf, requireRoles } from '../plugins/authentication.ts'
import { clientInfo } from '../plugins/request-context.ts'
import {
  AuditList,
  AuditQuery,
  DEFAULT_PAGE,
  KeyList,
  UserList,
  UserPatch,
  UsersQuery,
} from '../schemas/admin.ts'
import { AdminUser, BEARER, EmptyBody, IdParams, NoQuery, withErrors } from '../schemas/common.ts'
import type { RouteDeps, TypedApp } from './deps.ts'

const TAGS = ['admin']

/**
 * Registers the /admin routes.
 *
 * @example
 * registerAdminRoutes(app, { config, auth, authenticate })
 */
export function registerAdminRoutes(app: TypedApp, deps: RouteDeps<AdminFlows>): void {
  const { auth } = deps
  const onRequest = [deps.authenticate, requireRoles('admin')]

  app.get(
    '/admin/users',
    {
      schema: {
        tags: TAGS,
        summary: 'List users in creation order (keyset pagination, after a user id)',
        security: BEARER,
        querystring: UsersQuery,
        response: withErrors({ 200: UserList }),
      },
      onRequest,
    },
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_PAGE
      const users = await auth.adminListUsers({ ...request.query, limit })
      const last = users.at(-1)
      return { users, next: users.length === limit && last !== undefined ? last.id : null }
    },
  )

  app.patch(
    '/admin/users/:id',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Change roles, disable or rename a user',
        description: "A role change revokes the user's older access tokens.",
        security: BEARER,
        params: IdParams,
        body: UserPatch,
        response: withErrors({ 200: AdminUser }),
      },
      onRequest,
    },
    async (request) =>
      auth.adminUpdateUser(accessOf(request), request.params.id, request.body, clientInfo(request)),
  )

  app.post(
    '/admin/keys/rotate',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Rotate the signing key now',
        description:
          'The new key is published as "next" before it signs anything. With HS* the secrets rotate through TESSERA_HS_SECRETS: 403 `forbidden`.',
        security: BEARER,
        body: EmptyBody,
        response: withErrors({ 200: KeyList }),
      },
      onRequest,
    },
    async (request) => {
      return { keys: await auth.adminRotateKeys(accessOf(request), clientInfo(request)) }
    },
  )

  app.get(
    '/admin/keys',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Signing keys and their states',
        security: BEARER,
        response: withErrors({ 200: KeyList }),
      },
      onRequest,
    },
    async () => ({ keys: auth.adminListKeys() }),
  )

  app.get(
    '/admin/audit',
    {
      schema: {
        tags: TAGS,
        summary: 'The audit log, newest first',
        security: BEARER,
        querystring: AuditQuery,
        response: withErrors({ 200: AuditList }),
      },
      onRequest,
    },
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_PAGE
      const entries = await auth.adminAudit({ ...request.query, limit })
      const last = entries.at(-1)
      return { entries, next: entries.length === limit && last !== undefined ? last.id : null }
    },
  )
}
