// buildApp: the Fastify application, without listening. The CLI composes it
// with a real AuthService and calls `listen`; tests use `app.inject()`.
// This folder is the only one that imports Fastify.

import { readFileSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import fastifyCookie from '@fastify/cookie'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from 'fastify'
import type { LoggerOptions } from 'pino'
import { AuthError } from '../auth/errors.ts'
import type { AccessContext, AuthService } from '../auth/types.ts'
import type { Config } from '../config/types.ts'
import type { WireCode } from './error-codes.ts'
import { BODY_LIMIT, httpServerOptions, serverTimeouts } from './http-server-options.ts'
import { recordOpenApi } from './openapi.ts'
import { canMail, registerPageRoutes } from './pages/routes.ts'
import { createAuthenticate } from './plugins/authentication.ts'
import { refreshCookieName } from './plugins/browser-session.ts'
import { clientErrorHandler, sendError } from './plugins/errors.ts'
import { createJsonBodyParser } from './plugins/json-body.ts'
import { createMetrics, type TesseraMetrics } from './plugins/metrics.ts'
import { createRequestIdGenerator } from './plugins/request-context.ts'
import { lazyChildLoggerFactory } from './plugins/request-logger.ts'
import { applySecurityHeaders } from './plugins/security-headers.ts'
import { validatorCompiler } from './plugins/validation.ts'
import { registerAdminRoutes } from './routes/admin.ts'
import { registerAdminClientRoutes } from './routes/admin-clients.ts'
import { registerAuthRoutes } from './routes/auth.ts'
import type { RouteDeps } from './routes/deps.ts'
import {
  registerEmailChangeRoutes,
  registerEmailRoutes,
  registerRecoveryRoutes,
  registerSignInByMailRoutes,
} from './routes/email.ts'
import { registerIdentityRoutes } from './routes/identities.ts'
import { registerMfaRoutes } from './routes/mfa.ts'
import { registerMfaEnrollmentRoutes } from './routes/mfa-enrollment.ts'
import { registerOAuthRoutes } from './routes/oauth.ts'
import { registerOpsRoutes } from './routes/ops.ts'
import { registerPasskeyRoutes } from './routes/passkeys.ts'
import { registerProviderRoutes } from './routes/providers.ts'
import { type RevocationFeedOptions, registerRevocationRoutes } from './routes/revocations.ts'
import { registerWellKnownRoutes } from './routes/well-known.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authenticate hook on protected routes; null elsewhere. */
    access: AccessContext | null
    /** The wire code of the error answer, for metrics; null on success. */
    errorCode: WireCode | null
  }
  interface FastifyInstance {
    /** The app's metrics (hand them to the service); undefined with `metrics: false`. */
    tesseraMetrics: TesseraMetrics | undefined
  }
}

export interface BuildAppDeps {
  readonly config: Config
  readonly auth: AuthService
  /**
   * pino options (merged over `{ level: config.logLevel }`) or a logger
   * instance (a child with the redactions is used). Redaction is always on.
   */
  readonly logger?: LoggerOptions | FastifyBaseLogger
  /**
   * Metrics (default true): `false` turns off collection and GET /metrics;
   * pass a `createMetrics()` result to share one registry.
   */
  readonly metrics?: boolean | TesseraMetrics
  /** Resolves when the store is reachable; GET /ready answers 503 when it throws. */
  readonly readiness: () => Promise<void>
  /**
   * GET /auth/revocations tunables (tests shorten the heartbeat); defaults:
   * heartbeat 15 s, 1000 open feeds, 1 MiB unsent per reader.
   */
  readonly revocationFeed?: Partial<RevocationFeedOptions>
}

/**
 * Log redaction (pino `redact`). Fastify logs no headers or bodies by
 * default; these paths make sure a custom serializer or a stray
 * `log.info({ body })` cannot leak a credential either.
 */
export const REDACTED_LOG_PATHS: readonly string[] = Object.freeze([
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-tessera-feed-key"]',
  'res.headers["set-cookie"]',
  'req.body',
  'body',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.refreshToken',
  '*.accessToken',
  'password',
  'currentPassword',
  'newPassword',
  'refreshToken',
  'accessToken',
])

const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS'])

function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length']
  return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * @fastify/swagger marks every request body required; ours are optional
 * when their schema requires nothing (refresh and logout by cookie).
 */
function markOptionalBodies(document: Record<string, unknown>): Record<string, unknown> {
  const paths = (document['paths'] ?? {}) as Record<string, Record<string, unknown>>
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item)) {
      const body = (operation as { requestBody?: { required?: boolean; content?: unknown } })
        .requestBody
      const schema = (body?.content as Record<string, { schema?: Record<string, unknown> }>)?.[
        'application/json'
      ]?.schema
      if (body === undefined || schema === undefined) continue
      const required = schema['required']
      const minProperties = schema['minProperties']
      if ((!Array.isArray(required) || required.length === 0) && !minProperties) {
        body.required = false
      }
    }
  }
  return document
}

function isLoggerInstance(logger: LoggerOptions | FastifyBaseLogger): logger is FastifyBaseLogger {
  return typeof (logger as { child?: unknown }).child === 'function'
}

function loggerOptions(
  deps: BuildAppDeps,
): Pick<FastifyServerOptions, 'logger' | 'loggerInstance'> {
  const redact = { paths: [...REDACTED_LOG_PATHS], censor: '[redacted]' }
  const { logger } = deps
  if (logger !== undefined && isLoggerInstance(logger)) {
    return { loggerInstance: logger.child({}, { redact }) }
  }
  return { logger: { level: deps.config.logLevel, ...logger, redact } }
}

function packageVersion(): string {
  // src/http/ and dist/http/ both sit two levels under the package root.
  const raw = readFileSync(new URL('../../package.json', import.meta.url), 'utf8')
  return (JSON.parse(raw) as { version: string }).version
}

/**
 * Builds the HTTP application: every route of the API with its schemas, the
 * error envelope, authentication, browser mode and CSRF, security headers,
 * metrics and OpenAPI. It does not listen, and is not yet `ready()`, so the
 * caller may register more (hosted pages) before `listen()`.
 *
 * @example
 * const app = await buildApp({ config, auth, readiness: () => store.ping() })
 * await app.listen({ host: config.host, port: config.port })
 */
export async function buildApp(deps: BuildAppDeps): Promise<FastifyInstance> {
  const { config, auth } = deps
  const timeouts = serverTimeouts(config)
  const root = Fastify({
    ...loggerOptions(deps),
    bodyLimit: BODY_LIMIT,
    http: httpServerOptions(timeouts),
    // Fastify's defaults turn node:http's request timeout off (a stalled body
    // held its connection forever); it sets these two on the server itself.
    // A revocation feed is not cut: node:http stops timing a request once it
    // has fully arrived, and a feed's GET has no body.
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    // A hop count: X-Forwarded-For is believed only that far (0: not at all),
    // as proxy-addr does for a number (Fastify's types only list the function).
    trustProxy: config.trustProxy > 0 ? (_address, hop) => hop < config.trustProxy : false,
    genReqId: createRequestIdGenerator(config.trustProxy),
    requestIdHeader: false,
    // Above the longest id a schema takes (a WebAuthn credential id: 1364
    // characters of base64url), so a longer one gets a validation issue.
    routerOptions: { maxParamLength: 1400 },
    // Fastify's own drain answer has another body shape: see the onRequest hook.
    return503OnClosing: false,
    clientErrorHandler,
    frameworkErrors: (error, request, reply) => sendError(request, reply, error),
    // Fastify logs two info lines per request by default: on the token-check
    // path that costs more than the check. One line per request instead, below.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLoggerFactory,
  })
  const app = root.withTypeProvider<TypeBoxTypeProvider>()
  const metrics =
    deps.metrics === false
      ? undefined
      : deps.metrics === true || deps.metrics === undefined
        ? createMetrics()
        : deps.metrics
  app.decorate('tesseraMetrics', metrics)

  // Hooks that run on every request are callback-style (`done`) and few: an
  // async hook costs a promise and a microtask per request, and each hook a
  // turn of Fastify's hook runner, measurable on the token-check path
  // (bench/README.md, GET /auth/me).
  const logSuccesses = root.log.level === 'debug' || root.log.level === 'trace'
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode
    // The error handler already logged every refusal (401s at info: a burst
    // of them is a signal); one line per request, successes at debug.
    const log = request.errorCode === null && (logSuccesses || status >= 500)
    if (metrics !== undefined || log) {
      // Route patterns, never the raw URL: label values must stay bounded.
      const route = request.routeOptions.url ?? 'unmatched'
      metrics?.observeRequest(request.method, route, status, reply.elapsedTime / 1000)
      if (request.errorCode === 'rate_limited') metrics?.inc('rate_limited')
      if (log) {
        request.log[status >= 500 ? 'error' : 'debug'](
          { method: request.method, route, status, ms: Math.round(reply.elapsedTime * 10) / 10 },
          'request completed',
        )
      }
    }
    done()
  })

  let closing = false
  app.decorateRequest('access', null)
  app.decorateRequest('errorCode', null)
  app.addHook('preClose', async () => {
    closing = true
  })
  // Node's server.close() drops only the connections idle at that moment; a
  // keep-alive connection whose request was in flight would then hold
  // close() open until its keep-alive timeout (72 s by default). Answers
  // sent while closing therefore end their connection. So does an answer
  // sent before the request's body has arrived (a refusal by the onRequest
  // hooks): node:http would otherwise wait for, and read, a body nobody
  // needs, and a stalled one would get a second answer at the request timeout.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (
      closing ||
      (request.body === undefined && !request.raw.complete && hasBody(request.headers))
    ) {
      reply.header('connection', 'close')
    }
    done(null, payload)
  })
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    applySecurityHeaders(reply)
    if (closing) {
      // In-flight requests finish; new ones are sent elsewhere by the balancer.
      reply.header('connection', 'close')
      throw new AuthError('unavailable', 'the server is shutting down')
    }
    // RFC 9110 §9.3.1/§9.3.5: a GET or DELETE body has no defined meaning,
    // so it is refused rather than silently ignored.
    if (BODYLESS_METHODS.has(request.method) && hasBody(request.headers)) {
      throw new AuthError('validation_failed', 'this method takes no request body')
    }
    done()
  })

  // Bodies are JSON in UTF-8 or nothing (415 otherwise): plugins/json-body.ts.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: BODY_LIMIT },
    createJsonBodyParser(app.getDefaultJsonParser('error', 'error')),
  )
  app.setValidatorCompiler(validatorCompiler)
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error))
  app.setNotFoundHandler(async () => {
    throw new AuthError('not_found', 'no such route')
  })

  // Cookies are parsed by the routes that read one (browser-session.ts),
  // not by a hook on every request.
  await app.register(fastifyCookie, { hook: false })
  // /openapi.json is generated on its first request (openapi.ts).
  const openapi = recordOpenApi(root, {
    transformObject: (documents) =>
      markOptionalBodies(
        ('openapiObject' in documents
          ? documents.openapiObject
          : documents.swaggerObject) as Record<string, unknown>,
      ),
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tessera',
        version: packageVersion(),
        description:
          'Self-hosted JWT authentication. Errors are `{"error": {"code", "message", ...}}`; see docs/errors.md.',
      },
      servers: [{ url: config.issuer }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          refreshCookie: { type: 'apiKey', in: 'cookie', name: refreshCookieName(config) },
          feedKey: { type: 'apiKey', in: 'header', name: 'X-Tessera-Feed-Key' },
        },
      },
    },
  })

  const routeDeps: RouteDeps = { config, auth, authenticate: createAuthenticate(auth, config) }
  registerAuthRoutes(app, routeDeps)
  registerProviderRoutes(app, routeDeps)
  registerIdentityRoutes(app, routeDeps)
  registerRevocationRoutes(app, routeDeps, deps.revocationFeed)
  registerWellKnownRoutes(app, routeDeps)
  if (config.emailVerification !== 'off') registerEmailRoutes(app, routeDeps)
  // These flows need mail: outside production it is written to files, in production it needs SMTP.
  if (canMail(config)) {
    registerRecoveryRoutes(app, routeDeps)
    registerSignInByMailRoutes(app, routeDeps)
    registerEmailChangeRoutes(app, routeDeps)
  }
  registerMfaRoutes(app, routeDeps)
  registerPasskeyRoutes(app, routeDeps)
  if (config.mfa === 'required') registerMfaEnrollmentRoutes(app, routeDeps)
  registerAdminRoutes(app, routeDeps)
  registerAdminClientRoutes(app, routeDeps)
  registerOAuthRoutes(app, routeDeps)
  registerOpsRoutes(app, {
    readiness: deps.readiness,
    closing: () => closing,
    metrics,
    openapi: () => openapi.document(),
  })
  registerPageRoutes(app, { config })
  return root
}
