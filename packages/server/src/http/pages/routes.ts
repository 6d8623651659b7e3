// The hosted pages: /login, /signup, /account, /inspect, the pages mailed
// links open (/verify-email, /reset-password, /login/link, /confirm-email),
// /forgot-password, and their one script (with the modules of @tessera/client
// it imports) and one stylesheet under /pages/.
// Off with TESSERA_PAGES=false (then
// every one of these paths is the API's 404). The pages hold no secret and
// know no user: the browser signs in through the JSON API in browser mode
// (CSRF header, HttpOnly refresh cookie), so the API's CSRF and Origin
// checks protect every form.

import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { FastifyReply } from 'fastify'
import { resolveProvider } from '../../auth/federation/presets.ts'
import type { Config } from '../../config/types.ts'
import type { TypedApp } from '../routes/deps.ts'
import { CLIENT_PATH, clientModuleReaders } from './client-script.ts'
import { pageHeaders } from './headers.ts'
import { safeRedirect } from './redirect.ts'
import {
  accountPage,
  type Branding,
  confirmEmailPage,
  forgotPasswordPage,
  ICON_PATH,
  inspectPage,
  isLinkToken,
  loginCodePage,
  loginLinkPage,
  loginPage,
  loginReasonOf,
  type PageProvider,
  type RedirectState,
  resetPasswordPage,
  SCRIPT_PATH,
  STYLE_PATH,
  signupPage,
  verifyEmailPage,
} from './templates.ts'
import { brandCss, brandIcon } from './theme.ts'

/** Not part of the JSON API: kept out of /openapi.json. */
const HIDDEN = { schema: { hide: true } } as const

interface Asset {
  readonly body: string
  readonly type: string
  readonly etag: string
}

function asset(body: string, type: string): Asset {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
  return { body, type, etag }
}

/** `make`, called once on the first call and kept. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined
  return () => {
    made ??= { value: make() }
    return made.value
  }
}

function readAsset(name: string): string {
  return readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8')
}

/** `email` of /login (an OAuth `login_hint`): one address-sized string, or nothing. */
function emailHintOf(query: unknown): string | undefined {
  const raw = (query as Record<string, unknown> | undefined)?.['email']
  return typeof raw === 'string' && raw.length > 0 && raw.length <= 254 ? raw : undefined
}

/** The origins a redirect_to may point at: the issuer's and the allowed ones (`*` excluded). */
export function redirectOrigins(config: Pick<Config, 'issuer' | 'allowedOrigins'>): string[] {
  const own = new URL(config.issuer).origin
  return [...new Set([own, ...config.allowedOrigins.filter((origin) => origin !== '*')])]
}

/**
 * Whether the server can mail, so that the flows a mailed link or code
 * completes exist: with an SMTP URL, or outside production (mail is written
 * to files). app.ts registers the API's routes of those flows by it too.
 */
export function canMail(config: Pick<Config, 'smtpUrl' | 'production'>): boolean {
  return config.smtpUrl !== undefined || !config.production
}

/**
 * Registers the hosted pages unless `config.pagesEnabled` is false. Pages and
 * assets are rendered once here; /login, /signup and /forgot-password depend
 * on the request (their `redirect_to`), and the pages of mailed links on
 * whether their token is well-formed.
 *
 * @example
 * registerPageRoutes(app, { config })
 */
export function registerPageRoutes(app: TypedApp, deps: { readonly config: Config }): void {
  const { config } = deps
  if (!config.pagesEnabled) return
  const headers = pageHeaders(config)
  const brand: Branding = { name: config.brandName, logoUrl: config.brandLogoUrl }
  const ownOrigin = new URL(config.issuer).origin
  const origins = redirectOrigins(config)
  const mailEnabled = canMail(config)

  // /account draws the QR code of a new authenticator app as a data: image.
  const accountHeaders = pageHeaders(config, { dataImages: true })
  // With TESSERA_MFA=required a sign-in may have to set up an app first (the
  // enrolment step), which shows the QR code on the sign-in pages too.
  const signInHeaders = config.mfa === 'required' ? accountHeaders : headers

  function sendPage(reply: FastifyReply, body: string, headerSet = headers): FastifyReply {
    // Replaces the API's JSON-only CSP that the onRequest hook set.
    return reply.headers(headerSet).type('text/html; charset=utf-8').send(body)
  }

  function redirectOf(query: unknown): RedirectState {
    const raw = (query as Record<string, unknown> | undefined)?.['redirect_to']
    if (raw === undefined || raw === '') return { target: '', refused: false }
    // A repeated parameter arrives as an array: refused like any other odd value.
    const target = typeof raw === 'string' ? safeRedirect(raw, ownOrigin, origins) : undefined
    return target === undefined ? { target: '', refused: true } : { target, refused: false }
  }

  // The providers of social login, for their buttons and for the words of a
  // refusal: the name of a configured id, never the `provider` parameter itself.
  const providers: PageProvider[] = config.providers.map((entry) => {
    const provider = resolveProvider(entry)
    return { id: provider.id, name: provider.name, kind: provider.preset.kind }
  })
  const providerNameOf = (query: unknown): string | undefined => {
    const raw = (query as Record<string, unknown> | undefined)?.['provider']
    return providers.find((provider) => provider.id === raw)?.name
  }

  const authOptions = (query: unknown) => ({
    brand,
    redirect: redirectOf(query),
    reason: loginReasonOf((query as Record<string, unknown> | undefined)?.['reason']),
    issuer: ownOrigin,
    redirectOrigins: origins,
    signupEnabled: config.signupEnabled,
    mailEnabled,
    email: emailHintOf(query),
    providers,
    provider: providerNameOf(query),
  })

  /** The mailed link's token is well-formed (else its page shows no button). */
  const hasToken = (query: unknown) =>
    isLinkToken((query as Record<string, unknown> | undefined)?.['token'])

  app.get('/login', HIDDEN, async (request, reply) => {
    const options = authOptions(request.query)
    const method = (request.query as Record<string, unknown> | undefined)?.['method']
    return sendPage(
      reply,
      mailEnabled && method === 'code' ? loginCodePage(options) : loginPage(options),
      signInHeaders,
    )
  })
  app.get('/signup', HIDDEN, async (request, reply) =>
    sendPage(reply, signupPage(authOptions(request.query)), signInHeaders),
  )
  const account = accountPage(brand, {
    mailEnabled,
    verification: config.emailVerification !== 'off',
    reauthWindow: config.reauthWindow,
    federation: config.providers.length > 0,
  })
  app.get('/account', HIDDEN, async (_request, reply) => sendPage(reply, account, accountHeaders))
  // The server's root leads to the pages (the account page sends a signed-out
  // visitor on to /login); without pages, / stays the API's 404.
  app.get('/', HIDDEN, async (_request, reply) => reply.redirect('/account', 302))
  const inspect = inspectPage(brand, config.issuer)
  // A page per state, rendered once: the token itself is never rendered.
  const linkPage = (
    path: string,
    render: (brand: Branding, complete: boolean) => string,
    headerSet = headers,
  ) => {
    const pages = { complete: render(brand, true), incomplete: render(brand, false) }
    app.get(path, HIDDEN, async (request, reply) =>
      sendPage(reply, hasToken(request.query) ? pages.complete : pages.incomplete, headerSet),
    )
  }
  if (config.emailVerification !== 'off') linkPage('/verify-email', verifyEmailPage)
  // Their API routes exist under the same condition (app.ts).
  if (mailEnabled) {
    app.get('/forgot-password', HIDDEN, async (request, reply) =>
      sendPage(reply, forgotPasswordPage(authOptions(request.query))),
    )
    linkPage('/reset-password', resetPasswordPage)
    linkPage('/login/link', loginLinkPage, signInHeaders)
    linkPage('/confirm-email', confirmEmailPage)
  }
  app.get('/inspect', HIDDEN, async (_request, reply) => sendPage(reply, inspect))

  // Read (and their ETag computed) on their first request, not at start.
  const assets = new Map<string, () => Asset>([
    [SCRIPT_PATH, once(() => asset(readAsset('app.js'), 'text/javascript; charset=utf-8'))],
    [
      STYLE_PATH,
      once(() =>
        asset(brandCss(config.brandColor) + readAsset('app.css'), 'text/css; charset=utf-8'),
      ),
    ],
    [ICON_PATH, once(() => asset(brandIcon(config.brandColor), 'image/svg+xml'))],
    // @tessera/client, which the script imports (client-script.ts).
    ...[...clientModuleReaders()].map(
      ([name, read]) =>
        [
          `${CLIENT_PATH}${name}`,
          once(() => asset(read(), 'text/javascript; charset=utf-8')),
        ] as const,
    ),
  ])
  for (const [path, make] of assets) {
    app.get(path, HIDDEN, async (request, reply) => {
      const file = make()
      // Revalidated on every load (cheap 304s): a new version is never stale.
      reply.header('cache-control', 'no-cache').header('etag', file.etag)
      if (request.headers['if-none-match'] === file.etag) return reply.code(304).send()
      return reply.type(file.type).send(file.body)
    })
  }
}
