// /admin/clients: the OAuth client registry (RFC 7591 names). Every route
// needs an access token with the `admin` role, checked before the body is
// read.

import type { OAuthClientFlows } from '../../auth/types.ts'
import { accessOf, requireRoles } from '../plugins/authentication.ts'
import { clientInfo } from '../plugins/request-context.ts'
import {
  ClientList,
  ClientMetadataBody,
  ClientRegistration,
  RegisteredClient,
} from '../schemas/admin-clients.ts'
import { BEARER, IdParams, NoContent, NoQuery, withErrors } from '../schemas/common.ts'
import type { RouteDeps, TypedApp } from './deps.ts'

const TAGS = ['admin']

/**
 * Registers the /admin/clients routes.
 *
 * @example
 * registerAdminClientRoutes(app, { config, auth, authenticate })
 */
export function registerAdminClientRoutes(app: TypedApp, deps: RouteDeps<OAuthClientFlows>): void {
  const { auth } = deps
  const onRequest = [deps.authenticate, requireRoles('admin')]

  app.post(
    '/admin/clients',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Register an OAuth client (RFC 7591 metadata)',
        description:
          'Answers the registration with `client_id` and, for client_secret_basic and client_secret_post clients, the `client_secret`: shown this once, stored only as a hash.',
        security: BEARER,
        body: ClientMetadataBody,
        response: withErrors({ 201: RegisteredClient }),
      },
      onRequest,
    },
    async (request, reply) => {
      const { registration, clientSecret } = await auth.registerClient(
        accessOf(request),
        request.body,
        clientInfo(request),
      )
      // RFC 7591 §3.2.1: the answer holds a secret, so no cache keeps it.
      reply.code(201).header('cache-control', 'no-store')
      return clientSecret === undefined
        ? registration
        : { ...registration, client_secret: clientSecret, client_secret_expires_at: 0 }
    },
  )

  app.get(
    '/admin/clients',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Registered OAuth clients, oldest first',
        security: BEARER,
        response: withErrors({ 200: ClientList }),
      },
      onRequest,
    },
    async () => ({ clients: await auth.listClients() }),
  )

  app.get(
    '/admin/clients/:id',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'One OAuth client (never its secret)',
        security: BEARER,
        params: IdParams,
        response: withErrors({ 200: ClientRegistration }),
      },
      onRequest,
    },
    async (request) => auth.findClient(request.params.id),
  )

  app.delete(
    '/admin/clients/:id',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Remove an OAuth client',
        description:
          'Its codes and consents go with it, and every session granted to it is revoked (refresh and access tokens alike).',
        security: BEARER,
        params: IdParams,
        response: withErrors({ 204: NoContent }),
      },
      onRequest,
    },
    async (request, reply) => {
      await auth.removeClient(accessOf(request), request.params.id, clientInfo(request))
      return reply.code(204).send(null)
    },
  )
}
