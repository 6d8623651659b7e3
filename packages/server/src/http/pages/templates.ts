// The hosted pages' HTML. Server-rendered and mostly static: what the server
// knows (brand, a checked redirect_to, whether signup is open) is rendered
// here, escaped by the `html` tag; what only the signed-in browser knows
// (the user, the sessions) is filled in by assets/app.js with textContent.
// No inline script or style anywhere: the CSP forbids both.

import { type HtmlValue, html, type SafeHtml } from './escape.ts'

/** What every page shows of the configuration. */
export interface Branding {
  readonly name: string
  readonly logoUrl: string | undefined
}

/** The pages, by the `data-page` value app.js dispatches on. */
export type PageName = 'login' | 'signup' | 'account' | 'inspect' | 'verify-email'

interface LayoutOptions {
  readonly page: PageName
  readonly title: string
  readonly brand: Branding
  /** data-* attributes of <body> for app.js (names without the prefix). */
  readonly data?: Readonly<Record<string, string>>
  /** A narrow column (the sign-in forms) or the wide one (default). */
  readonly width?: 'narrow' | 'wide'
  readonly main: SafeHtml
}

/** Where the page script and stylesheet are served (routes.ts). */
export const SCRIPT_PATH = '/pages/app.js'
export const STYLE_PATH = '/pages/app.css'
export const ICON_PATH = '/pages/favicon.svg'

function layout(options: LayoutOptions): string {
  const { brand, page } = options
  const data = Object.entries(options.data ?? {}).map(
    ([name, value]) => html` data-${name}="${value}"`,
  )
  const nav: [PageName, string, string][] = [
    ['account', '/account', 'Account'],
    ['inspect', '/inspect', 'Token inspector'],
  ]
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>${options.title} · ${brand.name}</title>
<link rel="icon" href="${ICON_PATH}" type="image/svg+xml">
<link rel="stylesheet" href="${STYLE_PATH}">
<script type="module" src="${SCRIPT_PATH}"></script>
</head>
<body data-page="${page}"${data}>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header">
<a class="brand" href="/account">${
    brand.logoUrl === undefined
      ? ''
      : html`<img class="brand-logo" src="${brand.logoUrl}" alt="" referrerpolicy="no-referrer">`
  }<span class="brand-name">${brand.name}</span></a>
<nav aria-label="Pages"><ul>${nav.map(
    ([name, href, label]) =>
      html`<li><a href="${href}"${name === page ? html` aria-current="page"` : ''}>${label}</a></li>`,
  )}</ul></nav>
</header>
<main id="main" class="${options.width ?? 'wide'}" tabindex="-1">
${options.main}
</main>
</body>
</html>
`.toString()
}

interface FieldOptions {
  readonly form: string
  readonly name: string
  readonly label: string
  readonly type: 'email' | 'password' | 'text'
  readonly autocomplete: string
  readonly required?: boolean
  readonly minLength?: number
  readonly maxLength: number
  readonly hint?: string
}

/**
 * One labelled input with its hint and its (initially empty) error message,
 * both tied to the input by aria-describedby; app.js fills the error and
 * sets aria-invalid.
 */
function field(options: FieldOptions): SafeHtml {
  const id = `${options.form}-${options.name}`
  const hintId = options.hint === undefined ? undefined : `${id}-hint`
  const errorId = `${id}-error`
  const describedBy = [hintId, errorId].filter((part) => part !== undefined).join(' ')
  const textual = options.type !== 'password'
  return html`<div class="field">
<label for="${id}">${options.label}${options.required ? '' : html` <span class="optional">(optional)</span>`}</label>
${options.hint === undefined ? '' : html`<p class="hint" id="${hintId}">${options.hint}</p>`}
<input id="${id}" name="${options.name}" type="${options.type}" autocomplete="${options.autocomplete}"${
    options.required ? html` required` : ''
  }${options.minLength === undefined ? '' : html` minlength="${options.minLength}"`} maxlength="${
    options.maxLength
  }" aria-describedby="${describedBy}"${textual ? html` spellcheck="false" autocapitalize="off"` : ''}>
<p class="field-error" id="${errorId}"></p>
</div>`
}

/**
 * A form whose controls stay disabled until app.js runs: without the script
 * nothing can be submitted (and no password can end up in a URL); the
 * <noscript> note says why.
 */
function form(options: {
  id: string
  legend: string
  fields: readonly SafeHtml[]
  submit: string
  /** Markup before the fields (not submitted: no name). */
  before?: SafeHtml
}): SafeHtml {
  return html`<form id="${options.id}" class="form" method="post" novalidate>
<p class="form-error" id="${options.id}-error" role="alert"></p>
<fieldset data-needs-script disabled>
<legend class="visually-hidden">${options.legend}</legend>
${options.before}
${options.fields}
<button type="submit">${options.submit}</button>
</fieldset>
</form>`
}

const NEEDS_SCRIPT = html`<noscript><p class="notice">This page needs JavaScript: it talks to
the server's JSON API, which keeps your session in a cookie that scripts cannot
read. Turn JavaScript on for this site to continue.</p></noscript>`

/** The redirect_to state of /login and /signup. */
export interface RedirectState {
  /** The checked target, or '' (then /account). */
  readonly target: string
  /** A redirect_to was given but refused. */
  readonly refused: boolean
}

function redirectNotice(redirect: RedirectState): HtmlValue {
  return redirect.refused
    ? html`<p class="notice" id="redirect-refused">The address this link wanted to send you to
after signing in is not on the allowed list, so you will go to your account page instead.</p>`
    : ''
}

function withRedirect(path: string, redirect: RedirectState): string {
  return redirect.target === ''
    ? path
    : `${path}?redirect_to=${encodeURIComponent(redirect.target)}`
}

/**
 * Why a page sent the user to /login (its `reason` parameter, set by app.js):
 * a fixed table, so nothing from the URL is ever shown.
 */
export const LOGIN_REASONS = {
  session_ended: 'Your session has ended. Log in again to continue.',
  signed_out: 'You signed out in another tab.',
  reused:
    'Your session was ended to protect your account: its refresh token was used twice, which can mean a copy was stolen. Log in again.',
  origin_refused:
    'The server does not accept sign-ins from this page’s address, so your session cannot be used here.',
  cookie_conflict:
    'Your browser sent this site’s session cookie twice (another site may have set one). Clear this site’s cookies, then log in again.',
} as const

export type LoginReason = keyof typeof LOGIN_REASONS

/** The `reason` query parameter, when it is one of the table's. */
export function loginReasonOf(raw: unknown): LoginReason | undefined {
  return typeof raw === 'string' && Object.hasOwn(LOGIN_REASONS, raw)
    ? (raw as LoginReason)
    : undefined
}

function reasonNotice(reason: LoginReason | undefined, issuer: string): HtmlValue {
  if (reason === undefined) return ''
  // For a refused origin, where it works: the operator's issuer (not secret).
  const where =
    reason === 'origin_refused'
      ? html` Open <a href="${`${issuer}/login`}">${issuer}</a>, or ask the operator to add this address to TESSERA_ALLOWED_ORIGINS.`
      : ''
  return html`<p class="notice" id="login-reason" role="status">${LOGIN_REASONS[reason]}${where}</p>`
}

interface AuthPageOptions {
  readonly brand: Branding
  readonly redirect: RedirectState
  /** Why the user was sent here (login page only). */
  readonly reason?: LoginReason | undefined
  /** The issuer's URL, named by the origin_refused notice. */
  readonly issuer: string
  /** Origins a redirect may go to, for app.js to check again (space-separated). */
  readonly redirectOrigins: readonly string[]
  readonly signupEnabled: boolean
}

function authData(options: AuthPageOptions): Record<string, string> {
  return {
    'redirect-to': options.redirect.target,
    'redirect-origins': options.redirectOrigins.join(' '),
  }
}

export function loginPage(options: AuthPageOptions): string {
  const main = html`<div class="card">
<h1>Log in</h1>
<p class="lead">to your ${options.brand.name} account</p>
${NEEDS_SCRIPT}
${reasonNotice(options.reason, options.issuer)}
${redirectNotice(options.redirect)}
${form({
  id: 'login',
  legend: 'Your email and password',
  fields: [
    field({
      form: 'login',
      name: 'email',
      label: 'Email',
      type: 'email',
      autocomplete: 'username',
      required: true,
      maxLength: 254,
    }),
    field({
      form: 'login',
      name: 'password',
      label: 'Password',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
      maxLength: 1024,
    }),
  ],
  submit: 'Log in',
})}
</div>
${
  options.signupEnabled
    ? html`<p class="switch">No account yet? <a href="${withRedirect('/signup', options.redirect)}">Sign up</a></p>`
    : ''
}`
  return layout({
    page: 'login',
    title: 'Log in',
    brand: options.brand,
    data: authData(options),
    width: 'narrow',
    main,
  })
}

export function signupPage(options: AuthPageOptions): string {
  const body = options.signupEnabled
    ? html`${NEEDS_SCRIPT}
${redirectNotice(options.redirect)}
${form({
  id: 'signup',
  legend: 'Your new account',
  fields: [
    field({
      form: 'signup',
      name: 'name',
      label: 'Name',
      type: 'text',
      autocomplete: 'name',
      maxLength: 200,
    }),
    field({
      form: 'signup',
      name: 'email',
      label: 'Email',
      type: 'email',
      autocomplete: 'username',
      required: true,
      maxLength: 254,
    }),
    field({
      form: 'signup',
      name: 'password',
      label: 'Password',
      type: 'password',
      autocomplete: 'new-password',
      required: true,
      minLength: 8,
      maxLength: 1024,
      hint: 'At least 8 characters. Common passwords are refused.',
    }),
  ],
  submit: 'Create account',
})}`
    : html`<p class="notice" id="signup-closed">Sign-ups are closed on this server: ask an
administrator for an account.</p>`
  const main = html`<div class="card">
<h1>Create an account</h1>
<p class="lead">on ${options.brand.name}</p>
${body}
</div>
<p class="switch">Already have an account? <a href="${withRedirect('/login', options.redirect)}">Log in</a></p>`
  return layout({
    page: 'signup',
    title: 'Sign up',
    brand: options.brand,
    data: authData(options),
    width: 'narrow',
    main,
  })
}

export function accountPage(brand: Branding): string {
  const main = html`<h1>Your account</h1>
${NEEDS_SCRIPT}
<p class="status" id="account-status" role="status">Loading your account…</p>
<div id="account" hidden>
<section aria-labelledby="profile-heading">
<h2 id="profile-heading">Profile</h2>
<dl class="profile">
<div><dt>Name</dt><dd id="profile-name"></dd></div>
<div><dt>Email</dt><dd id="profile-email"></dd></div>
<div><dt>Roles</dt><dd id="profile-roles"></dd></div>
<div><dt>Member since</dt><dd id="profile-created"></dd></div>
</dl>
</section>
<section aria-labelledby="password-heading">
<h2 id="password-heading">Change password</h2>
<p>Changing it signs out every other session.</p>
<p class="status" id="password-status" role="status"></p>
${form({
  id: 'password',
  legend: 'Your current and new password',
  // Password managers file the new password under this account (app.js fills it).
  before: html`<input id="password-username" type="email" autocomplete="username" hidden readonly>`,
  fields: [
    field({
      form: 'password',
      name: 'currentPassword',
      label: 'Current password',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
      maxLength: 1024,
    }),
    field({
      form: 'password',
      name: 'newPassword',
      label: 'New password',
      type: 'password',
      autocomplete: 'new-password',
      required: true,
      minLength: 8,
      maxLength: 1024,
      hint: 'At least 8 characters. Common passwords are refused.',
    }),
  ],
  submit: 'Change password',
})}
</section>
<section aria-labelledby="sessions-heading">
<h2 id="sessions-heading" tabindex="-1">Sessions</h2>
<p>Every browser and app signed in to your account. Revoke the ones you do
not recognise.</p>
<p class="status" id="sessions-status" role="status"></p>
<ul class="sessions" id="sessions-list"></ul>
<button type="button" class="secondary" id="sessions-reload">Reload the list</button>
</section>
<section aria-labelledby="signout-heading">
<h2 id="signout-heading">Sign out</h2>
<p class="form-error" id="signout-error" role="alert"></p>
<div class="actions">
<button type="button" class="secondary" id="logout">Log out</button>
<button type="button" class="danger" id="logout-all">Log out everywhere</button>
</div>
</section>
</div>`
  return layout({ page: 'account', title: 'Your account', brand, main })
}

/**
 * `/verify-email?token=…`, where a verification mail's link leads. Opening it
 * consumes nothing (mail scanners prefetch links): the button POSTs the
 * token. The token stays in the URL and the script; the page never renders it.
 */
export function verifyEmailPage(brand: Branding): string {
  const main = html`<div class="card">
<h1>Verify your email</h1>
${NEEDS_SCRIPT}
<p id="verify-intro">Confirm that this address is yours to finish setting up your ${brand.name} account.</p>
<p class="status" id="verify-status" role="status"></p>
<button type="button" id="verify-button">Verify my email</button>
<p class="switch" id="verify-next" hidden><a href="/account">Go to your account</a></p>
</div>`
  return layout({ page: 'verify-email', title: 'Verify your email', brand, width: 'narrow', main })
}

export function inspectPage(brand: Branding, issuer: string): string {
  const main = html`<h1>Token inspector</h1>
<p>Paste a JSON Web Token to decode it and check its signature against this
server's public keys. The token never leaves this page: it is decoded and
verified here, in your browser, and the only request made is for
<a href="/.well-known/jwks.json">/.well-known/jwks.json</a>.</p>
${NEEDS_SCRIPT}
<section>
<div class="field">
<label for="inspect-token">Token</label>
<p class="hint" id="inspect-token-hint">Three base64url parts separated by dots: header.payload.signature</p>
<textarea id="inspect-token" rows="6" spellcheck="false" autocomplete="off" autocapitalize="off"
aria-describedby="inspect-token-hint inspect-status"></textarea>
</div>
<p class="status" id="inspect-status" role="status"></p>
</section>
<section id="inspect-result" aria-labelledby="inspect-checks-heading" hidden>
<h2 id="inspect-checks-heading">Checks</h2>
<ul class="checks" id="inspect-checks"></ul>
<h2>Header</h2>
<pre id="inspect-header" tabindex="0"></pre>
<h2>Payload</h2>
<pre id="inspect-payload" tabindex="0"></pre>
</section>`
  return layout({ page: 'inspect', title: 'Token inspector', brand, data: { issuer }, main })
}
