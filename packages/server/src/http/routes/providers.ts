// /auth/providers: social login (issue 21). The list for login pages, the
// start (a redirect to the provider, with the flow sealed in a cookie of this
// browser) and the callback (the provider's redirect back: a session in
// cookie mode, then the checked redirect_to or /account). A refusal of the
// flow's (the provider's error, a tampered state, a token from another
// issuer, a provider that is down…) is a redirect to /login with a reason,
// never a 500; an unknown provider is 404 `not_found`.
//
// Sign in with Apple answers with response_mode=form_post: a cross-site POST
// of the browser to the callback. The flow cookie is SameSite=Lax, which a
// browser does not send on a cross-site POST (and must stay so: None would
// send it along with any other site's request too). The POST callback only
// turns the answer into a 303 to the GET callback with the same fields in
// the query: that top-level GET navigation carries the Lax cookie, and the
// GET callback does the rest.

import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import { FederationError } from '../../auth/federation/flows.ts'
import type { AuthService } from '../../auth/types.ts'
import { MAX_REDIRECT_LENGTH, safeRedirect } from '../pages/redirect.ts'
import { redirectOrigins } from '../pages/routes.ts'
import { setRefreshCookie } from '../plugins/browser-session.ts'
import { clientInfo } from '../plugins/request-context.ts'
import { NoQuery, withErrors } from '../schemas/common.ts'
import type { RouteDeps, TypedApp } from './deps.ts'
import { flowCookieName, flowCookieOptions, readFlowCookie } from './federation-cookie.ts'

const TAGS = ['auth']

const ProviderParams = Type.Object(
  {
    id: Type.String({
      pattern: '^[a-z][a-z0-9_]{0,31}$',
      errorMessage: 'must be a provider id (lower-case letters, digits and _)',
    }),
  },
  { additionalProperties: false },
)

const StartQuery = Type.Object(
  { redirect_to: Type.Optional(Type.String({ maxLength: MAX_REDIRECT_LENGTH })) },
  { additionalProperties: false },
)

/** The provider's answer: code and state, or an error; providers add their own (scope, authuser, hd, session_state). */
const CallbackQuery = Type.Record(
  Type.String({ maxLength: 64 }),
  Type.String({ maxLength: 4096 }),
  {
    maxProperties: 16,
  },
)

/** Longest form_post answer read: a code, a state, an ID token of a few kB, Apple's `user`. */
const FORM_POST_LIMIT = 32 * 1024

/**
 * A form_post answer (OAuth 2.0 Form Post Response Mode): the fields the
 * callback uses, bounded; any other field a provider adds is allowed and dropped.
 */
const FormPostBody = Type.Object(
  {
    code: Type.Optional(Type.String({ maxLength: 4096 })),
    state: Type.Optional(Type.String({ maxLength: 1024 })),
    iss: Type.Optional(Type.String({ maxLength: 1024 })),
    error: Type.Optional(Type.String({ maxLength: 256 })),
    error_description: Type.Optional(Type.String({ maxLength: 4096 })),
    // Not passed on: the code exchange returns the ID token (and openid-client refuses one in the answer of a code flow).
    id_token: Type.Optional(Type.String({ maxLength: 16384 })),
    // Apple's once-only `{"name":{"firstName","lastName"},"email"}`.
    user: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { additionalProperties: Type.String({ maxLength: 4096 }), maxProperties: 16 },
)

/** The fields a form_post answer passes on to the GET callback. */
const FORWARDED = ['code', 'state', 'iss', 'error'] as const

/**
 * Apple's `user` with its name only: the address (which the ID token gives,
 * signed) would otherwise travel in a URL, into logs and the history.
 */
function userNameOnly(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined
  try {
    const user: unknown = JSON.parse(raw)
    const name =
      typeof user === 'object' && user !== null ? (user as { name?: unknown }).name : undefined
    if (typeof name !== 'object' || name === null) return undefined
    const { firstName, lastName } = name as { firstName?: unknown; lastName?: unknown }
    const kept = {
      ...(typeof firstName === 'string' ? { firstName } : {}),
      ...(typeof lastName === 'string' ? { lastName } : {}),
    }
    return Object.keys(kept).length === 0 ? undefined : JSON.stringify({ name: kept })
  } catch {
    return undefined
  }
}

const ProviderList = Type.Object(
  {
    providers: Type.Array(
      Type.Object(
        {
          id: Type.String(),
          name: Type.String(),
          kind: Type.Union([Type.Literal('oidc'), Type.Literal('oauth2')]),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
)

const Redirect = Type.Null({ description: 'A redirect (Location).' })

function describe(error: Error | undefined): string | undefined {
  if (error === undefined) return undefined
  const code = (error as { code?: unknown }).code
  return `${error.name}${typeof code === 'string' ? ` ${code}` : ''}: ${error.message.slice(0, 200)}`
}

/**
 * Registers the /auth/providers routes.
 *
 * @example
 * registerProviderRoutes(app, { config, auth, authenticate })
 */
export function registerProviderRoutes(
  app: TypedApp,
  deps: RouteDeps<Pick<AuthService, 'federation'>>,
): void {
  const { config, auth } = deps
  const ownOrigin = new URL(config.issuer).origin
  const origins = redirectOrigins(config)

  function toLogin(reply: FastifyReply, id: string, error: FederationError): FastifyReply {
    // The cause's name, code and message only: openid-client's errors carry
    // the provider's response (tokens, claims) in their other fields.
    const cause = error.cause instanceof Error ? error.cause : undefined
    const inner = cause?.cause instanceof Error ? cause.cause : undefined
    reply.request.log.info(
      {
        provider: id,
        reason: error.reason,
        cause: describe(inner ?? cause),
      },
      'social login refused',
    )
    const query = new URLSearchParams({ reason: error.reason, provider: id })
    // A refused sign-in keeps where it was going (an app's authorization
    // waiting for it): signing in another way on /login still gets there.
    if (!error.linking && error.redirectTo !== undefined) query.set('redirect_to', error.redirectTo)
    // A refused link goes back to the account page it started from; a sign-in to /login.
    const page = error.linking ? '/account' : '/login'
    return reply.headers({ 'cache-control': 'no-store' }).redirect(`${page}?${query}`, 302)
  }

  app.get(
    '/auth/providers',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'The identity providers a login page may offer',
        response: withErrors({ 200: ProviderList }),
      },
    },
    async () => ({ providers: auth.federation.listProviders() }),
  )

  app.get(
    '/auth/providers/:id/start',
    {
      schema: {
        tags: TAGS,
        params: ProviderParams,
        querystring: StartQuery,
        summary: 'Sign in with an identity provider: redirects there',
        description:
          'Redirects (302) to the provider with PKCE, state and nonce; the flow is kept in a sealed, HttpOnly cookie for 10 minutes. `redirect_to` (a path here or a URL of TESSERA_ALLOWED_ORIGINS) is where the callback sends the browser after signing in; anything else is ignored. A provider that cannot be reached redirects to /login?reason=provider_unavailable.',
        response: withErrors({ 302: Redirect }),
      },
    },
    async (request, reply) => {
      const { id } = request.params
      const raw = request.query.redirect_to
      const redirectTo = raw === undefined ? undefined : safeRedirect(raw, ownOrigin, origins)
      try {
        const started = await auth.federation.startFederation(id, { redirectTo })
        reply.setCookie(
          flowCookieName(config),
          started.flow,
          flowCookieOptions(config, started.maxAge),
        )
        return reply.headers({ 'cache-control': 'no-store' }).redirect(started.url, 302)
      } catch (error) {
        if (error instanceof FederationError) return toLogin(reply, id, error)
        throw error
      }
    },
  )

  app.register(async (scope) => {
    // A form post is the only body this route reads (JSON is refused, 415);
    // the repeated field of a form keeps its first value.
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: FORM_POST_LIMIT },
      (_request, body, done) => {
        const fields: Record<string, string> = {}
        for (const [name, value] of new URLSearchParams(body as string)) {
          if (!Object.hasOwn(fields, name)) fields[name] = value
        }
        done(null, fields)
      },
    )
    ;(scope as TypedApp).post(
      '/auth/providers/:id/callback',
      {
        schema: {
          tags: TAGS,
          params: ProviderParams,
          querystring: NoQuery,
          body: FormPostBody,
          consumes: ['application/x-www-form-urlencoded'],
          summary: 'Where an identity provider posts its answer (response_mode=form_post: Apple)',
          description:
            'Redirects (303) to the GET callback with the answer’s code, state, iss, error and (Apple) the name part of `user` in the query: the flow cookie is SameSite=Lax, so a browser sends it with that navigation but not with the provider’s cross-site POST. Other fields (the ID token: the code exchange returns it) are dropped. Nothing is checked or consumed here.',
          response: withErrors({ 303: Redirect }),
        },
      },
      async (request, reply) => {
        const { id } = request.params
        const body = request.body
        const query = new URLSearchParams()
        for (const name of FORWARDED) {
          const value = body[name]
          if (value !== undefined) query.set(name, value)
        }
        const user = userNameOnly(body.user)
        if (user !== undefined) query.set('user', user)
        return reply
          .headers({ 'cache-control': 'no-store' })
          .redirect(`/auth/providers/${encodeURIComponent(id)}/callback?${query}`, 303)
      },
    )
  })

  app.get(
    '/auth/providers/:id/callback',
    {
      schema: {
        tags: TAGS,
        params: ProviderParams,
        querystring: CallbackQuery,
        summary: 'Where the identity provider sends the browser back',
        description:
          'Exchanges the code, checks the ID token (issuer, audience, nonce, signature), then signs the user in: a known identity; or a new one linked to the account of the same address when the provider says it verified the address and the account has verified it too; or a new account. Sets the refresh cookie and redirects (302) to the start’s redirect_to or /account; a refusal redirects to /login?reason=… (access_denied, provider_error, provider_unavailable, state_mismatch, invalid_response, flow_expired, email_missing, email_not_verified, account_email_unverified, signup_closed, account_disabled).',
        response: withErrors({ 302: Redirect }),
      },
    },
    async (request, reply) => {
      const { id } = request.params
      const flow = readFlowCookie(request, config)
      // The flow is single use whatever happens next.
      reply.setCookie(flowCookieName(config), '', flowCookieOptions(config, 0))
      const query = new URLSearchParams(request.query as Record<string, string>)
      let finished: Awaited<ReturnType<typeof auth.federation.finishFederation>>
      try {
        finished = await auth.federation.finishFederation(id, { query, flow }, clientInfo(request))
      } catch (error) {
        if (error instanceof FederationError) return toLogin(reply, id, error)
        throw error
      }
      reply.headers({ 'cache-control': 'no-store' })
      if (finished.kind === 'linked') {
        // A link from a signed-in session: the session goes on as it was.
        const query = new URLSearchParams({ linked: finished.provider })
        return reply.redirect(finished.redirectTo ?? `/account?${query}`, 302)
      }
      const { result, redirectTo } = finished
      if ('mfaRequired' in result || 'mfaEnrollmentRequired' in result) {
        // The second step happens on /login; the token travels in the
        // fragment, which no server (nor a Referer) sees.
        const query = new URLSearchParams({
          reason: 'mfaRequired' in result ? 'mfa_required' : 'mfa_enrollment_required',
          ...(redirectTo === undefined ? {} : { redirect_to: redirectTo }),
        })
        const fragment = new URLSearchParams({
          mfa_token: result.mfaToken,
          methods: result.methods.join(','),
        })
        return reply.redirect(`/login?${query}#${fragment}`, 302)
      }
      setRefreshCookie(reply, config, result.tokens.refreshToken, result.tokens.refreshExpiresIn)
      return reply.redirect(redirectTo ?? '/account', 302)
    },
  )
}
