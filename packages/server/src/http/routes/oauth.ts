// /oauth/*: the authorization server and OpenID provider over HTTP. The
// protocol endpoints (token, introspect, revoke, userinfo) take form posts
// and answer RFC 6749 §5.2 errors, `{error, error_description}`; the browser
// endpoints (authorize, its continue step, consent, logout) answer pages and
// redirects. GET /auth/consents and DELETE /auth/consents/:id (a client id) are the
// account page's "apps with access".

import { type TSchema, Type } from '@sinclair/typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AuthError } from '../../auth/errors.ts'
import { OAuthError } from '../../auth/oauth/errors.ts'
import type { AuthorizeStep, AuthService, LogoutStep } from '../../auth/types.ts'
import { pageHeaders } from '../pages/headers.ts'
import {
  authorizeErrorPage,
  consentPage,
  logoutConfirmPage,
  oauthContinuePage,
  signedOutPage,
  withFormTarget,
} from '../pages/oauth-pages.ts'
import type { Branding } from '../pages/templates.ts'
import { accessOf } from '../plugins/authentication.ts'
import {
  clearRefreshCookie,
  hasRefreshCookie,
  readRefreshCookie,
} from '../plugins/browser-session.ts'
import { clientWithProof, offerDpopNonce, publicUrlOf } from '../plugins/dpop.ts'
import { sendError } from '../plugins/errors.ts'
import { clientInfo } from '../plugins/request-context.ts'
import { BEARER, IdParams, NoContent, NoQuery, withErrors } from '../schemas/common.ts'
import type { RouteDeps, TypedApp } from './deps.ts'

const TAGS = ['oauth']
/** Form bodies of the protocol endpoints: parameters are short. */
const FORM_LIMIT = 64 * 1024
/** What a DPoP challenge offers (RFC 9449 §7.1). */
const DPOP_ALGS = 'ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519'
/** Marks a logout request sent on by the continue page (same-site now). */
const LOOKED_AGAIN = 'continued'
/** RFC 6749 §5.1: token answers are never cached. */
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }

/** The endpoints a client calls from script: open to every origin (no cookie is read there). */
const PROTOCOL_PATHS: ReadonlySet<string> = new Set([
  '/oauth/token',
  '/oauth/introspect',
  '/oauth/revoke',
  '/oauth/userinfo',
])
const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'WWW-Authenticate, DPoP-Nonce',
}
const CORS_PREFLIGHT = {
  'access-control-allow-methods': 'GET, POST',
  'access-control-allow-headers': 'Authorization, Content-Type, DPoP',
  'access-control-max-age': '600',
}

/** A parsed `application/x-www-form-urlencoded` body or query. */
interface Form {
  readonly params: Readonly<Record<string, string>>
  /** Names sent more than once (RFC 6749 §3.1: each at most once). */
  readonly repeated: readonly string[]
}

/** RFC 6749 §3.1: a parameter sent without a value is treated as omitted. */
function parseForm(text: string): Form {
  const params: Record<string, string> = {}
  const repeated = new Set<string>()
  for (const [name, value] of new URLSearchParams(text)) {
    if (value === '') continue
    if (Object.hasOwn(params, name)) repeated.add(name)
    else params[name] = value
  }
  return { params, repeated: [...repeated] }
}

const FORM = Symbol('oauth form')

function formOf(request: FastifyRequest): Form {
  const body = request.body as { [FORM]?: Form } | undefined
  if (body?.[FORM] === undefined) {
    throw new OAuthError(
      'invalid_request',
      'send the parameters as application/x-www-form-urlencoded',
    )
  }
  return body[FORM]
}

function queryOf(request: FastifyRequest): Form {
  const url = request.raw.url ?? ''
  const mark = url.indexOf('?')
  return parseForm(mark < 0 ? '' : url.slice(mark + 1))
}

const OAuthErrorBody = Type.Object(
  {
    error: Type.String({ description: 'An RFC 6749 §5.2 (or RFC 7009, RFC 8707) error code.' }),
    error_description: Type.Optional(Type.String()),
  },
  { description: 'OAuth error (RFC 6749 §5.2).' },
)

const TokenAnswer = Type.Object({
  access_token: Type.String(),
  token_type: Type.Union([Type.Literal('Bearer'), Type.Literal('DPoP')]),
  expires_in: Type.Integer(),
  scope: Type.String(),
  refresh_token: Type.Optional(Type.String()),
  id_token: Type.Optional(Type.String()),
})

const Introspection = Type.Object(
  { active: Type.Boolean() },
  {
    additionalProperties: true,
    description: 'RFC 7662 §2.2; only `active` when the token is not.',
  },
)

const UserInfo = Type.Object(
  {
    sub: Type.String(),
    name: Type.Optional(Type.String()),
    updated_at: Type.Optional(Type.Integer()),
    email: Type.Optional(Type.String()),
    email_verified: Type.Optional(Type.Boolean()),
  },
  { description: 'OpenID Connect Core §5.3.2: the claims the token’s scopes allow.' },
)

const Consents = Type.Object({
  consents: Type.Array(
    Type.Object({
      clientId: Type.String(),
      clientName: Type.String(),
      scopes: Type.Array(Type.String()),
      grantedAt: Type.String({ format: 'date-time' }),
    }),
  ),
})

/** A form POST endpoint of the protocol: form body in, JSON or an RFC 6749 error out. */
function protocolSchema(summary: string, ok: Record<number, TSchema>) {
  return {
    tags: TAGS,
    summary,
    consumes: ['application/x-www-form-urlencoded'],
    response: { ...ok, '4xx': OAuthErrorBody, '5xx': OAuthErrorBody },
  }
}

/**
 * Runs `step` and turns a refused DPoP proof (AuthError) into the OAuth
 * error of the same name (RFC 9449 §5.1, §7.1): 400 at the token endpoint,
 * `status` elsewhere.
 */
async function asOAuthError<T>(step: () => Promise<T>, status?: number): Promise<T> {
  try {
    return await step()
  } catch (error) {
    if (
      error instanceof AuthError &&
      (error.code === 'invalid_dpop_proof' || error.code === 'use_dpop_nonce')
    ) {
      throw new OAuthError(error.code, error.message, status === undefined ? {} : { status })
    }
    throw error
  }
}

/**
 * Sends an OAuth error as RFC 6749 §5.2 (and RFC 6750 §3 for userinfo)
 * says; anything else as the rest of the API does.
 */
function sendOAuthError(request: FastifyRequest, reply: FastifyReply, error: unknown): void {
  if (!(error instanceof OAuthError)) {
    // The framework's own refusals of a body (its media type, its size, its
    // syntax) are the client's request at fault: invalid_request here.
    const status = (error as { statusCode?: unknown }).statusCode
    if (
      typeof status === 'number' &&
      status >= 400 &&
      status < 500 &&
      !(error instanceof AuthError)
    ) {
      sendOAuthError(
        request,
        reply,
        new OAuthError('invalid_request', 'the request body is not valid'),
      )
      return
    }
    sendError(request, reply, error)
    return
  }
  request.errorCode = null
  if (error.code === 'invalid_client') {
    // RFC 6749 §5.2: a 401 names the scheme the client may authenticate with.
    reply.header('www-authenticate', 'Basic realm="tessera", charset="UTF-8"')
  } else if (error.noCredentials) {
    reply.header('www-authenticate', 'Bearer realm="tessera"')
  } else if (
    error.status === 401 &&
    (error.code === 'invalid_dpop_proof' || error.code === 'use_dpop_nonce')
  ) {
    reply.header('www-authenticate', `DPoP error="${error.code}", algs="${DPOP_ALGS}"`)
  } else if (error.code === 'invalid_token' || error.code === 'insufficient_scope') {
    reply.header(
      'www-authenticate',
      `Bearer error="${error.code}", error_description="${error.message.replaceAll('"', "'")}"`,
    )
  }
  request.log.info({ error: error.code, description: error.message }, 'oauth request refused')
  void reply
    .code(error.status)
    .headers(NO_STORE)
    .type('application/json; charset=utf-8')
    .send({ error: error.code, error_description: error.message })
}

/**
 * Registers the OAuth endpoints. The browser endpoints need the hosted
 * pages (the login and consent steps); without them only the protocol
 * endpoints exist, for client_credentials, introspection and revocation.
 *
 * @example
 * registerOAuthRoutes(app, routeDeps)
 */
export function registerOAuthRoutes(
  app: TypedApp,
  deps: RouteDeps<Pick<AuthService, 'oauth' | 'dpop'>>,
): void {
  const { config, auth, authenticate } = deps
  const { oauth } = auth
  const ownOrigin = new URL(config.issuer).origin
  /** What a client assertion's `aud` may name (RFC 7523 §3; OpenID Connect Core §9). */
  const audiences = (path: string) => [config.issuer, `${config.issuer}${path}`]

  app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: FORM_LIMIT },
      (_request, body, done) => done(null, { [FORM]: parseForm(body as string) }),
    )
    scope.setErrorHandler((error, request, reply) => sendOAuthError(request, reply, error))
    // An SPA or another site's app calls these from its own origin. They
    // read no cookie (the client's credentials, code and tokens come in the
    // request), so any origin may, without credentials.
    scope.addHook('onRequest', (request, reply, done) => {
      if (
        request.headers.origin !== undefined &&
        PROTOCOL_PATHS.has(request.routeOptions.url ?? '')
      ) {
        reply.headers(CORS_HEADERS)
      }
      done()
    })
    for (const path of PROTOCOL_PATHS) {
      scope.options(path, { schema: { hide: true } }, async (_request, reply) =>
        reply
          .code(204)
          .headers({ ...CORS_HEADERS, ...CORS_PREFLIGHT })
          .send(),
      )
    }

    const credentialsOf = (request: FastifyRequest) => {
      const form = formOf(request)
      if (form.repeated.length > 0) {
        throw new OAuthError('invalid_request', `${form.repeated.join(', ')} must be sent once`)
      }
      return { authorization: request.headers.authorization, params: form.params }
    }

    scope.post(
      '/oauth/token',
      {
        schema: protocolSchema(
          'Token endpoint (RFC 6749 §3.2): authorization_code, refresh_token, client_credentials',
          { 200: TokenAnswer },
        ),
      },
      async (request, reply) => {
        const credentials = credentialsOf(request)
        const client = await asOAuthError(() => clientWithProof(request, reply, deps))
        const answer = await oauth.token(credentials, audiences('/oauth/token'), client)
        return reply.headers(NO_STORE).send(answer)
      },
    )

    scope.post(
      '/oauth/introspect',
      {
        schema: protocolSchema('Token introspection (RFC 7662), client-authenticated', {
          200: Introspection,
        }),
      },
      async (request, reply) => {
        const answer = await oauth.introspect(
          credentialsOf(request),
          audiences('/oauth/introspect'),
        )
        return reply.headers(NO_STORE).send(answer)
      },
    )

    scope.post(
      '/oauth/revoke',
      {
        schema: protocolSchema('Token revocation (RFC 7009), client-authenticated', {
          200: NoContent,
        }),
      },
      async (request, reply) => {
        await oauth.revokeToken(
          credentialsOf(request),
          audiences('/oauth/revoke'),
          clientInfo(request),
        )
        return reply.headers(NO_STORE).code(200).send(null)
      },
    )

    /** The claims as JSON, or as the JWE the client asked for (OpenID Connect Core §5.3.2). */
    const sendUserinfo = (
      reply: FastifyReply,
      answer: { claims: Record<string, unknown>; encrypted?: string },
    ) =>
      answer.encrypted === undefined
        ? reply.headers(NO_STORE).send(answer.claims)
        : reply.headers(NO_STORE).type('application/jwt').send(answer.encrypted)

    /** RFC 6750 §2.1 (header) or §2.2 (form body of a POST), not both. */
    const userinfo = async (request: FastifyRequest, reply: FastifyReply) => {
      const header = request.headers.authorization
      const bearer =
        header !== undefined && /^bearer /i.test(header) ? header.slice(7).trim() : undefined
      const dpop =
        header !== undefined && /^dpop /i.test(header) ? header.slice(5).trim() : undefined
      const inBody =
        request.method === 'POST' && request.body !== undefined && request.body !== null
          ? formOf(request).params['access_token']
          : undefined
      if ([bearer, dpop, inBody].filter((token) => token !== undefined).length > 1) {
        throw new OAuthError('invalid_request', 'send the access token once')
      }
      if (dpop !== undefined) {
        // RFC 9449 §7.1: the proof carries the token's hash; a refusal is a 401 challenge.
        offerDpopNonce(auth, reply)
        const jkt = await asOAuthError(
          () =>
            auth.dpop.proofKey({
              proofs: request.headers.dpop ?? '',
              method: request.method,
              url: publicUrlOf(config, request),
              accessToken: dpop,
            }),
          401,
        )
        return sendUserinfo(
          reply,
          await oauth.userinfo(dpop, { scheme: 'DPoP', ...(jkt === undefined ? {} : { jkt }) }),
        )
      }
      return sendUserinfo(reply, await oauth.userinfo(bearer ?? inBody))
    }
    const userinfoSchema = {
      tags: TAGS,
      summary: 'OpenID Connect userinfo: the claims the access token’s scopes allow',
      security: BEARER,
      response: { 200: UserInfo, '4xx': OAuthErrorBody, '5xx': OAuthErrorBody },
    }
    scope.get('/oauth/userinfo', { schema: userinfoSchema }, userinfo)
    scope.post('/oauth/userinfo', { schema: userinfoSchema }, userinfo)

    if (!config.pagesEnabled) return
    registerBrowserEndpoints(scope as unknown as TypedApp)
  })

  function registerBrowserEndpoints(scope: TypedApp): void {
    const headers = pageHeaders(config)
    const brand: Branding = { name: config.brandName, logoUrl: config.brandLogoUrl }
    const HIDDEN = { schema: { hide: true } } as const

    function page(
      reply: FastifyReply,
      body: string,
      status = 200,
      headerSet = headers,
    ): FastifyReply {
      return reply.code(status).headers(headerSet).type('text/html; charset=utf-8').send(body)
    }

    /** A form post from a page of ours (the cookie is SameSite=Strict; this checks the Origin as well). */
    function checkOrigin(request: FastifyRequest): void {
      const origin = request.headers.origin
      if (origin !== undefined && origin !== ownOrigin) {
        throw new AuthError('csrf_failed', 'this form must be sent from this server’s own page')
      }
    }

    const continuePath = (id: string) => `/oauth/authorize/continue?id=${encodeURIComponent(id)}`

    function sendStep(reply: FastifyReply, step: AuthorizeStep, afterPost = false): FastifyReply {
      switch (step.kind) {
        case 'error_page':
          return page(reply, authorizeErrorPage(brand, step), 400)
        case 'redirect':
          // After a form post, 303 turns the POST into the client's GET.
          return reply
            .headers({ 'cache-control': 'no-store' })
            .redirect(step.location, afterPost ? 303 : 302)
        case 'continue':
          return page(reply, oauthContinuePage(brand, continuePath(step.requestId)))
        case 'login': {
          const query = new URLSearchParams({ redirect_to: continuePath(step.requestId) })
          // The `provider` hint: straight to that provider, back to the continue step.
          if (step.provider !== undefined) {
            return reply
              .headers({ 'cache-control': 'no-store' })
              .redirect(
                `/auth/providers/${encodeURIComponent(step.provider)}/start?${query}`,
                afterPost ? 303 : 302,
              )
          }
          if (step.loginHint !== undefined) query.set('email', step.loginHint)
          return reply
            .headers({ 'cache-control': 'no-store' })
            .redirect(`/login?${query}`, afterPost ? 303 : 302)
        }
        case 'consent':
          return page(
            reply,
            consentPage(brand, { ...step.view, requestId: step.requestId }),
            200,
            withFormTarget(headers, step.redirectUri),
          )
      }
    }

    const browserOf = async (request: FastifyRequest) =>
      await oauth.browserSession(readRefreshCookie(request, config))

    const authorize = async (request: FastifyRequest, reply: FastifyReply) => {
      const form = request.method === 'POST' ? formOf(request) : queryOf(request)
      const step = await oauth.authorize(
        form.params,
        form.repeated,
        await browserOf(request),
        clientInfo(request),
      )
      return sendStep(reply, step)
    }
    // OpenID Connect Core §3.1.2.1: GET and POST.
    scope.get('/oauth/authorize', HIDDEN, authorize)
    scope.post('/oauth/authorize', HIDDEN, authorize)

    scope.get('/oauth/authorize/continue', HIDDEN, async (request, reply) => {
      const id = queryOf(request).params['id'] ?? ''
      return sendStep(
        reply,
        await oauth.continueAuthorization(id, await browserOf(request), clientInfo(request)),
      )
    })

    scope.post('/oauth/consent', HIDDEN, async (request, reply) => {
      checkOrigin(request)
      const { params } = formOf(request)
      const decision = params['decision'] === 'allow' ? 'allow' : 'deny'
      const step = await oauth.consent(
        params['id'] ?? '',
        decision,
        await browserOf(request),
        clientInfo(request),
      )
      return sendStep(reply, step, true)
    })

    const logout = async (request: FastifyRequest, reply: FastifyReply) => {
      const posted = request.method === 'POST'
      if (posted) checkOrigin(request)
      const form = posted ? formOf(request) : queryOf(request)
      // From the app's site the SameSite=Strict cookie stays home, and the
      // browser's own session would outlive the logout: look again, same-site.
      if (
        !posted &&
        !hasRefreshCookie(request, config) &&
        form.params[LOOKED_AGAIN] === undefined
      ) {
        const query = new URLSearchParams(form.params)
        query.set(LOOKED_AGAIN, '1')
        return page(reply, oauthContinuePage(brand, `/oauth/logout?${query}`))
      }
      const confirmed = posted && form.params['confirm'] === 'yes'
      const step: LogoutStep = await oauth.logout(
        form.params,
        await browserOf(request),
        confirmed,
        clientInfo(request),
      )
      switch (step.kind) {
        case 'error_page':
          return page(reply, authorizeErrorPage(brand, step), 400)
        case 'confirm':
          // The answer may redirect to the client; and the form must carry its Origin (withFormTarget).
          return page(
            reply,
            logoutConfirmPage(brand, step),
            200,
            withFormTarget(headers, step.hidden['post_logout_redirect_uri']),
          )
        case 'done':
          clearRefreshCookie(reply, config)
          if (step.location !== undefined) {
            return reply
              .headers({ 'cache-control': 'no-store' })
              .redirect(step.location, posted ? 303 : 302)
          }
          return page(reply, signedOutPage(brand))
      }
    }
    scope.get('/oauth/logout', HIDDEN, logout)
    scope.post('/oauth/logout', HIDDEN, logout)
  }

  app.get(
    '/auth/consents',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'The apps the user has allowed (OAuth consents)',
        security: BEARER,
        response: withErrors({ 200: Consents }),
      },
      onRequest: authenticate,
    },
    async (request) => ({ consents: await oauth.listConsents(accessOf(request)) }),
  )

  app.delete(
    '/auth/consents/:id',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Remove an app’s access: withdraws the consent and ends its sessions',
        security: BEARER,
        params: IdParams,
        response: withErrors({ 204: NoContent }),
      },
      onRequest: authenticate,
    },
    async (request, reply) => {
      await oauth.revokeConsent(accessOf(request), request.params.id, clientInfo(request))
      return reply.code(204).send(null)
    },
  )
}
