// /auth/identities: the signed-in user's identities at upstream providers
// (social login, issue 21; docs/social-login.md): listing them, linking one
// from the signed-in session (POST /auth/providers/:id/link, whose callback
// is the sign-in's), unlinking one, and the provider's access token kept
// for one.

import { Type } from '@sinclair/typebox'
import type { AuthService } from '../../auth/types.ts'
import { MAX_REDIRECT_LENGTH, safeRedirect } from '../pages/redirect.ts'
import { redirectOrigins } from '../pages/routes.ts'
import { accessOf } from '../plugins/authentication.ts'
import { clientInfo } from '../plugins/request-context.ts'
import { BEARER, NoContent, NoQuery, withErrors } from '../schemas/common.ts'
import type { RouteDeps, TypedApp } from './deps.ts'
import { flowCookieName, flowCookieOptions } from './federation-cookie.ts'

const TAGS = ['auth']
const STEP_UP =
  'Needs a sign-in (or POST /auth/reauthenticate) at most TESSERA_REAUTH_WINDOW old: else 403 `reauthentication_required`.'

const ProviderId = Type.String({
  pattern: '^[a-z][a-z0-9_]{0,31}$',
  errorMessage: 'must be a provider id (lower-case letters, digits and _)',
})

const LinkParams = Type.Object({ id: ProviderId }, { additionalProperties: false })
const IdentityParams = Type.Object({ provider: ProviderId }, { additionalProperties: false })

/** Optional: the account page sends none. */
const LinkBody = Type.Object(
  {
    redirect_to: Type.Optional(
      Type.String({
        maxLength: MAX_REDIRECT_LENGTH,
        description:
          'Where the callback sends the browser after linking (a path here or a URL of TESSERA_ALLOWED_ORIGINS); default /account?linked=<id>.',
      }),
    ),
  },
  { additionalProperties: false },
)

const LinkStarted = Type.Object(
  {
    url: Type.String({
      description: "The provider's authorization URL: navigate the browser there.",
    }),
  },
  { additionalProperties: false },
)

/** Optional: `{ "refresh": true }` refreshes even a token that is not about to expire. */
const TokenBody = Type.Object(
  { refresh: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
)

const ProviderToken = Type.Object(
  {
    accessToken: Type.String({ description: "The provider's access token." }),
    tokenType: Type.Literal('Bearer'),
    expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When it expires; null when the provider did not say.',
    }),
    scope: Type.Union([Type.String(), Type.Null()], {
      description:
        'The scopes it was granted, space-separated; null when the provider did not say.',
    }),
  },
  { additionalProperties: false },
)

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
  const { config, auth, authenticate } = deps
  const ownOrigin = new URL(config.issuer).origin
  const origins = redirectOrigins(config)

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

  app.post(
    '/auth/providers/:id/link',
    {
      schema: {
        tags: TAGS,
        params: LinkParams,
        querystring: NoQuery,
        body: LinkBody,
        summary: "Connect an identity provider to the signed-in user's account",
        description: `Answers the provider's URL to navigate to and sets the flow cookie (sealed, HttpOnly, 10 minutes) that carries the user and session to link to. The callback (GET /auth/providers/:id/callback) links whoever signs in there to this account, even an identity whose address differs, and redirects to \`redirect_to\` or /account?linked=<id>; a refusal redirects to /account?reason=…&provider=<id> (identity_in_use: linked to another account; provider_already_linked: this account has another identity there; session_ended; account_disabled; or a provider failure as for sign-in). 404 \`not_found\` for an unknown provider, 503 \`provider_unavailable\` when it cannot be reached. ${STEP_UP}`,
        security: BEARER,
        response: withErrors({ 200: LinkStarted }),
      },
      onRequest: authenticate,
    },
    async (request, reply) => {
      const raw = request.body?.redirect_to
      const redirectTo = raw === undefined ? undefined : safeRedirect(raw, ownOrigin, origins)
      const started = await auth.federation.startLink(accessOf(request), request.params.id, {
        redirectTo,
      })
      reply.setCookie(
        flowCookieName(config),
        started.flow,
        flowCookieOptions(config, started.maxAge),
      )
      reply.headers({ 'cache-control': 'no-store' })
      return { url: started.url }
    },
  )

  app.delete(
    '/auth/identities/:provider',
    {
      schema: {
        tags: TAGS,
        params: IdentityParams,
        querystring: NoQuery,
        summary: "Disconnect the signed-in user's identity at a provider",
        description: `Unlinks it (and deletes the provider's tokens kept for it). 409 \`last_sign_in_method\` when the account would be left without a way in: no password, no passkey, no identity at another provider. 404 \`not_found\` when the account has no identity there. ${STEP_UP}`,
        security: BEARER,
        response: withErrors({ 204: NoContent }),
      },
      onRequest: authenticate,
    },
    async (request, reply) => {
      await auth.federation.unlinkIdentity(
        accessOf(request),
        request.params.provider,
        clientInfo(request),
      )
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/auth/identities/:provider/token',
    {
      schema: {
        tags: TAGS,
        params: IdentityParams,
        querystring: NoQuery,
        body: TokenBody,
        summary: "The provider's access token kept for the signed-in user",
        description:
          'Only for a provider configured with TESSERA_PROVIDER_<ID>_KEEP_TOKENS=true, whose tokens are kept (sealed) at each sign-in and link through it. A token that expires within 60 seconds, or any with `{"refresh": true}`, is refreshed at the provider first. 404 `not_found` when none are kept; 409 `provider_token_revoked` when the provider refuses the refresh (the kept tokens are then deleted: sign in with it again); 503 `provider_unavailable` when it cannot be reached.',
        security: BEARER,
        response: withErrors({ 200: ProviderToken }),
      },
      onRequest: authenticate,
    },
    async (request, reply) => {
      const token = await auth.federation.providerToken(
        accessOf(request),
        request.params.provider,
        { refresh: request.body?.refresh === true },
        clientInfo(request),
      )
      reply.headers({ 'cache-control': 'no-store', pragma: 'no-cache' })
      return token
    },
  )
}
