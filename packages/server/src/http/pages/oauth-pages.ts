// The hosted pages of the OAuth authorization server (routes/oauth.ts renders
// them): the "continue" hop that brings a cross-site authorization request
// home, the consent page, the page of a request that cannot be sent back,
// and the two pages of RP-initiated logout.
//
// Unlike the sign-in pages, the consent and logout forms are plain HTML
// forms that work without JavaScript: what they post is an opaque request id
// and a decision, no password and no token, and the routes behind them
// check the session (the SameSite=Strict cookie) and the request id, which
// another site can neither send nor guess. Everything shown is escaped by the
// `html` tag; the layout is the other pages'.

import { html } from './escape.ts'
import { type Branding, layout } from './templates.ts'

/**
 * What each scope lets an app do, in the words the consent page and the
 * account's "Apps with access" show (app.js has the same table; a test
 * keeps them equal). A scope not listed is shown by its name.
 */
export const SCOPE_TEXT: Readonly<Record<string, string>> = Object.freeze({
  openid: 'Confirm who you are',
  profile: 'Your name',
  email: 'Your email address',
  offline_access: 'Stay signed in (keep access when you are away)',
})

/**
 * The line a scope gets on the consent page.
 *
 * @example
 * scopeText('email') // 'Your email address'
 * scopeText('invoices:read') // 'invoices:read'
 */
export function scopeText(scope: string): string {
  return Object.hasOwn(SCOPE_TEXT, scope) ? (SCOPE_TEXT[scope] as string) : scope
}

/**
 * The hop of an authorization request that arrived from another site.
 * Its SameSite=Strict refresh cookie was not sent with that request, so the
 * server cannot tell whether the browser is signed in; app.js navigates to
 * `continuePath` with `location.replace`, a navigation this origin starts,
 * which carries the cookie. The link does the same for a browser without
 * JavaScript (a click on this page is same-site too).
 *
 * `continuePath` is the server's own `/oauth/...` path (anything else is a
 * bug in the caller and throws); app.js checks it again before following it.
 *
 * @example
 * oauthContinuePage(brand, '/oauth/authorize/continue?id=3Jq...')
 */
export function oauthContinuePage(b: Branding, continuePath: string): string {
  if (!continuePath.startsWith('/oauth/')) {
    throw new TypeError('continuePath must be a path under /oauth/')
  }
  const main = html`<div class="card">
<h1>Continuing to sign in…</h1>
<p class="lead" role="status">Taking you to ${b.name}.</p>
<p><a id="oauth-continue-link" href="${continuePath}">Continue</a></p>
</div>`
  return layout({
    page: 'oauth-continue',
    title: 'Continuing to sign in',
    brand: b,
    data: { continue: continuePath },
    width: 'narrow',
    main,
  })
}

/** What the consent page shows of one authorization request. */
export interface ConsentView {
  /** The client's registered `client_name`. */
  readonly clientName: string
  readonly clientId: string
  /** The scopes asked for (and not yet allowed). */
  readonly scopes: readonly string[]
  /** The stored request's id, posted back with the decision. */
  readonly requestId: string
  /** Who is signed in: the account the app will get. */
  readonly userEmail: string
  /** The host of the redirect URI, where either button leads. */
  readonly redirectHost: string
}

/**
 * The consent page of a third-party client: who asks, for what, as whom,
 * where the browser goes next, and Allow / Deny, posted as
 * `application/x-www-form-urlencoded` to POST /oauth/consent (`id`,
 * `decision=allow|deny`).
 *
 * Serve it with {@link withFormTarget}: the answer to the form is a redirect
 * to the client, which `form-action 'self'` alone would block.
 *
 * @example
 * consentPage(brand, { clientName: 'Acme', clientId: 'k3...', scopes: ['openid', 'email'],
 *   requestId: 'X', userEmail: 'ada@example.com', redirectHost: 'app.acme.test' })
 */
export function consentPage(b: Branding, view: ConsentView): string {
  const scopes = [...new Set(view.scopes)]
  const main = html`<div class="card">
<h1>${view.clientName} wants to access your account</h1>
<p class="lead">You are signed in to ${b.name} as <strong id="consent-email">${view.userEmail}</strong>.</p>
<h2 class="scopes-heading" id="consent-scopes-heading">It asks for</h2>
<ul class="scopes" id="consent-scopes" aria-labelledby="consent-scopes-heading">
${scopes.map((scope) => html`<li data-scope="${scope}">${scopeText(scope)}</li>`)}
</ul>
<p id="consent-redirect">You will be sent to <strong>${view.redirectHost}</strong>.</p>
<form id="consent" class="form" method="post" action="/oauth/consent">
<input type="hidden" name="id" value="${view.requestId}">
<div class="actions consent-actions">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" class="secondary" name="decision" value="deny">Deny</button>
</div>
</form>
<p class="hint">You can remove its access at any time under <em>Apps with access</em> on your account page.</p>
<p class="fine-print">App ID: <code id="consent-client-id">${view.clientId}</code></p>
</div>`
  return layout({
    page: 'oauth-consent',
    title: `Allow ${view.clientName}?`,
    brand: b,
    width: 'narrow',
    main,
  })
}

/**
 * The page of an authorization request that must not be redirected (RFC 6749
 * §4.1.2.1: an unknown client or a redirect URI it did not register): sending
 * the browser there would make this server an open redirector. It names the
 * error for the app's developers and offers no link back.
 *
 * @example
 * authorizeErrorPage(brand, { error: 'invalid_request', description: 'redirect_uri is not registered' })
 */
export function authorizeErrorPage(
  b: Branding,
  view: { readonly error: string; readonly description: string },
): string {
  const main = html`<div class="card">
<h1>This sign-in link is not valid.</h1>
<p class="lead">The app that sent you here is misconfigured, so it cannot sign you in
with ${b.name}. Go back to the app and try again later, or tell the people who run it.</p>
<p class="fine-print" id="authorize-error">For the app’s developers:
<code id="authorize-error-code">${view.error}</code>
${view.description === '' ? '' : html`<span id="authorize-error-description">${view.description}</span>`}</p>
</div>`
  return layout({
    page: 'oauth-error',
    title: 'This sign-in link is not valid',
    brand: b,
    width: 'narrow',
    main,
  })
}

/**
 * The question of RP-initiated logout (OpenID Connect RP-Initiated Logout
 * 1.0 §2) when the request cannot be trusted to come from the app (no valid
 * `id_token_hint`): the user decides. The form posts the request's
 * parameters (`hidden`) back to POST /oauth/logout with `confirm=yes`.
 * Serve it with {@link withFormTarget} when the answer redirects to a
 * `post_logout_redirect_uri`.
 *
 * @example
 * logoutConfirmPage(brand, { hidden: { client_id: 'k3...', state: 's' }, clientName: 'Acme' })
 */
export function logoutConfirmPage(
  b: Branding,
  view: { readonly hidden: Readonly<Record<string, string>>; readonly clientName: string | null },
): string {
  // The button carries `confirm`: a parameter of that name from the request must not pre-answer.
  const fields = Object.entries(view.hidden).filter(([name]) => name !== 'confirm')
  const main = html`<div class="card">
<h1>Sign out of ${b.name}?</h1>
<p class="lead" id="logout-asker">${
    view.clientName === null
      ? 'An app asked to sign you out.'
      : html`<strong>${view.clientName}</strong> asked to sign you out.`
  } If you did not mean to, stay signed in.</p>
<form id="oauth-logout" class="form" method="post" action="/oauth/logout">
${fields.map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<div class="actions">
<button type="submit" name="confirm" value="yes">Sign out</button>
<a class="button-link" href="/account">Stay signed in</a>
</div>
</form>
</div>`
  return layout({
    page: 'oauth-logout',
    title: `Sign out of ${b.name}?`,
    brand: b,
    width: 'narrow',
    main,
  })
}

/** Where RP-initiated logout ends when no `post_logout_redirect_uri` takes the browser back. */
export function signedOutPage(b: Branding): string {
  const main = html`<div class="card">
<h1>You are signed out</h1>
<p class="lead">You signed out of ${b.name} in this browser.</p>
<p class="switch"><a href="/login">Log in again</a></p>
</div>`
  return layout({ page: 'oauth-signed-out', title: 'Signed out', brand: b, width: 'narrow', main })
}

/** A CSP scheme or host source: nothing that could end the directive or add one. */
const SAFE_SOURCE =
  /^(?:[a-z][a-z0-9+.-]*:|https?:\/\/[a-z0-9.-]+(?::\d+)?|https?:\/\/\[[0-9a-f:.]+\](?::\d+)?)$/

/**
 * The CSP source that lets a form's answer redirect to `redirectUri`: its
 * origin for http(s), its scheme for a native app's private-use scheme
 * (`com.example.app:`, RFC 8252 §7.1). Undefined when it is neither or
 * holds a character a CSP source cannot (the form then stays blocked:
 * failing closed).
 *
 * @example
 * formActionSource('https://app.example.com/cb?x=1') // 'https://app.example.com'
 * formActionSource('com.example.app:/oauth2redirect') // 'com.example.app:'
 */
export function formActionSource(redirectUri: string): string | undefined {
  const url = URL.parse(redirectUri)
  if (url === null) return undefined
  const source = url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol
  return SAFE_SOURCE.test(source) ? source : undefined
}

/**
 * The headers of a page whose plain form posts to this server (the consent
 * page, the logout question), from the pages' `headers`:
 *
 * - `Referrer-Policy: same-origin` in place of `no-referrer`. Under
 *   `no-referrer` a browser sends a form post's `Origin` as `null` (Fetch,
 *   "append a request Origin header"), so the route could not tell its own
 *   page from a sandboxed frame of another site. `same-origin` sends the
 *   page's origin, and still no URL of the page to any other site.
 * - `form-action` widened to `redirectUri`, where the form's answer
 *   redirects, when there is one: browsers apply `form-action` to every
 *   redirect of a form submission (CSP 3 §6.3.1; Chromium blocks it), so
 *   with `'self'` alone POST /oauth/consent's redirect to the client, or
 *   POST /oauth/logout's to a `post_logout_redirect_uri`, would leave the
 *   user on a blank page. Only that one origin (or scheme) is added.
 *
 * @example
 * reply.headers(withFormTarget(pageHeaders(config), step.redirectUri))
 * reply.headers(withFormTarget(pageHeaders(config), undefined)) // posts here, redirects nowhere else
 */
export function withFormTarget(
  headers: Readonly<Record<string, string>>,
  redirectUri: string | undefined,
): Readonly<Record<string, string>> {
  const widened: Record<string, string> = { ...headers, 'referrer-policy': 'same-origin' }
  const source = redirectUri === undefined ? undefined : formActionSource(redirectUri)
  const csp = headers['content-security-policy']
  if (source !== undefined && csp !== undefined) {
    widened['content-security-policy'] = csp.replace(
      "form-action 'self'",
      `form-action 'self' ${source}`,
    )
  }
  return Object.freeze(widened)
}
