// /auth/identities: the signed-in user's identities at upstream providers
// (social login, issue 21; docs/social-login.md).

import { Type } from '@sinclair/typebox'
import type { AuthService } from '../../auth/types.ts'
import { accessOf } from '../plugins/authentication.ts'
import { BEARER, NoQuery, withErrors } from '../schemas/common.ts'
import type { RouteDeps, TypedApp } from './deps.ts'

const TAGS = ['auth']

const DateTime = Type.String({ format: 'date-time' })

const IdentityList = Type.Object(
  {
    identities: Type.Array(
      Type.Object(
        {
          provider: Type.String({ description: 'The provider id (TESSERA_PROVIDERS).' }),
          providerName: Type.String({
            description: 'Its name as the pages show it (the id when it is no longer configured).',
          }),
          email: Type.Union([Type.String(), Type.Null()], {
            description: 'The address the provider gave at the last sign-in.',
          }),
          createdAt: DateTime,
          lastUsedAt: Type.Union([DateTime, Type.Null()]),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

/**
 * Registers the /auth/identities routes.
 *
 * @example
 * registerIdentityRoutes(app, { config, auth, authenticate })
 */
export function registerIdentityRoutes(
  app: TypedApp,
  deps: RouteDeps<Pick<AuthService, 'federation'>>,
): void {
  const { auth, authenticate } = deps

  app.get(
    '/auth/identities',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: "The signed-in user's identities at identity providers",
        description:
          'The (provider, subject) pairs linked to the account by social login, oldest first; the subject itself is not shown.',
        security: BEARER,
        response: withErrors({ 200: IdentityList }),
      },
      onRequest: authenticate,
    },
    async (request) => ({ identities: await auth.federation.listIdentities(accessOf(request)) }),
  )
}
