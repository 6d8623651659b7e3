// The hosted pages' HTML. Server-rendered and mostly static: what the server
// knows (brand, a checked redirect_to, whether signup is open) is rendered
// here, escaped by the `html` tag; what only the signed-in browser knows
// (the user, the sessions) is filled in by assets/app.js with textContent.
// No inline script or style anywhere: the CSP forbids both.

import type { FederationFailure, LinkFailure } from '../../auth/federation/flows.ts'
import { type HtmlValue, html, type SafeHtml } from './escape.ts'

/** What every page shows of the configuration. */
export interface Branding {
  readonly name: string
  readonly logoUrl: string | undefined
}

/** The pages, by the `data-page` value app.js dispatches on. */
export type PageName =
  | 'login'
  | 'login-code'
  | 'login-link'
  | 'signup'
  | 'account'
  | 'inspect'
  | 'verify-email'
  | 'forgot-password'
  | 'reset-password'
  | 'confirm-email'
  // The OAuth pages (oauth-pages.ts).
  | 'oauth-continue'
  | 'oauth-consent'
  | 'oauth-error'
  | 'oauth-logout'
  | 'oauth-signed-out'

export interface LayoutOptions {
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

/** The page around `main`: the head (one stylesheet, one script), the header with the brand, the nav. */
export function layout(options: LayoutOptions): string {
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
  /** The virtual keyboard a phone shows (a code: digits only). */
  readonly inputMode?: 'numeric'
  /** An HTML pattern, and what app.js says when the value does not match it. */
  readonly pattern?: { readonly regex: string; readonly message: string }
  /** A value to start with (an OAuth `login_hint`); escaped like any text. */
  readonly value?: string | undefined
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
  }"${options.inputMode === undefined ? '' : html` inputmode="${options.inputMode}"`}${
    options.pattern === undefined
      ? ''
      : html` pattern="${options.pattern.regex}" data-pattern-message="${options.pattern.message}"`
  }${options.value === undefined ? '' : html` value="${options.value}"`} aria-describedby="${describedBy}"${
    textual ? html` spellcheck="false" autocapitalize="off"` : ''
  }>
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
  /** Buttons beside the submit button (type="button", handled by app.js): Cancel. */
  extra?: SafeHtml
}): SafeHtml {
  const submit = html`<button type="submit">${options.submit}</button>`
  return html`<form id="${options.id}" class="form" method="post" novalidate>
<p class="form-error" id="${options.id}-error" role="alert"></p>
<fieldset data-needs-script disabled>
<legend class="visually-hidden">${options.legend}</legend>
${options.before}
${options.fields}
${
  options.extra === undefined
    ? submit
    : html`<div class="actions">${submit}
${options.extra}</div>`
}
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
  if (redirect.target === '') return path
  return `${path}${path.includes('?') ? '&' : '?'}redirect_to=${encodeURIComponent(redirect.target)}`
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
  password_changed: 'Your password was changed. Log in with the new one.',
} as const

/**
 * Why a social login sent the user back to /login (the `reason` of
 * /auth/providers/:id/callback and /start, routes/providers.ts), worded with
 * the name of the provider its `provider` parameter names when that is a
 * configured one (never the parameter itself). `mfa_required` and
 * `mfa_enrollment_required` are shown only when the second step cannot go on
 * (no script, or the fragment with the MFA token is gone): app.js removes the
 * notice when it continues with the token.
 */
export const FEDERATION_REASONS = {
  access_denied: (name: string) =>
    `Signing in with ${name} was cancelled or refused there. Try again, or log in another way.`,
  provider_error: (name: string) =>
    `Signing in with ${name} did not work: it answered with an error. Try again, or log in another way.`,
  provider_unavailable: (name: string) =>
    `Signing in with ${name} did not work: it could not be reached. Try again later, or log in another way.`,
  state_mismatch: (name: string) =>
    `That answer from ${name} does not belong to a sign-in this browser started, so it was not used. Start again.`,
  invalid_response: (name: string) =>
    `The answer from ${name} could not be checked, so you were not signed in. Try again; if it keeps happening, tell the server’s operator.`,
  flow_expired: (name: string) =>
    `That sign-in with ${name} took too long, or was started in another browser. Start again.`,
  email_missing: (name: string) =>
    `Signing in with ${name} did not give this server a verified email address, which an account needs. Add one there (as your primary address), or log in another way.`,
  email_not_verified: (name: string) =>
    `${name} does not vouch for your email address, so it cannot sign you in here. Verify the address there, or log in another way.`,
  account_email_unverified: (name: string) =>
    `An account with the email address ${name} shared exists here, but its address is not verified yet, so ${name} cannot be linked to it. Log in with your password, verify your address from your account page, then continue with ${name} again.`,
  signup_closed: (name: string) =>
    `There is no account here for the email address ${name} shared, and sign-ups are closed on this server. Ask an administrator for an account.`,
  account_disabled: (_name: string) => 'This account is disabled. Ask an administrator.',
  mfa_required: (name: string) =>
    `Signing in with ${name} needs your second step, which this page could not continue. Start again.`,
  mfa_enrollment_required: (name: string) =>
    `Signing in with ${name} needs two-step sign-in set up, which this page could not continue. Start again.`,
} as const satisfies Record<
  FederationFailure | 'mfa_required' | 'mfa_enrollment_required',
  (name: string) => string
>

export type FederationReason = keyof typeof FEDERATION_REASONS
export type LoginReason = keyof typeof LOGIN_REASONS | FederationReason

/** The `reason` query parameter, when it is one of the tables'. */
export function loginReasonOf(raw: unknown): LoginReason | undefined {
  return typeof raw === 'string' &&
    (Object.hasOwn(LOGIN_REASONS, raw) || Object.hasOwn(FEDERATION_REASONS, raw))
    ? (raw as LoginReason)
    : undefined
}

/** What a provider is called where the `provider` parameter names none of the configured ones. */
const SOME_PROVIDER = 'your identity provider'

/** The notice's words for `reason`; `provider` is the configured name of the `provider` parameter's id. */
export function loginReasonText(reason: LoginReason, provider?: string): string {
  if (Object.hasOwn(FEDERATION_REASONS, reason)) {
    const text = FEDERATION_REASONS[reason as FederationReason](provider ?? SOME_PROVIDER)
    return text.charAt(0).toUpperCase() + text.slice(1)
  }
  return LOGIN_REASONS[reason as keyof typeof LOGIN_REASONS]
}

function reasonNotice(
  reason: LoginReason | undefined,
  issuer: string,
  provider: string | undefined,
): HtmlValue {
  if (reason === undefined) return ''
  // For a refused origin, where it works: the operator's issuer (not secret).
  const where =
    reason === 'origin_refused'
      ? html` Open <a href="${`${issuer}/login`}">${issuer}</a>, or ask the operator to add this address to TESSERA_ALLOWED_ORIGINS.`
      : ''
  return html`<p class="notice" id="login-reason" role="status"${
    Object.hasOwn(FEDERATION_REASONS, reason) ? html` data-reason="${reason}"` : ''
  }>${loginReasonText(reason, provider)}${where}</p>`
}

/** A configured identity provider, as the sign-in pages offer it (GET /auth/providers' entries). */
export interface PageProvider {
  readonly id: string
  readonly name: string
  readonly kind: 'oidc' | 'oauth2'
}

/**
 * Generic icons per kind of provider, inline SVG (no remote image, no
 * brand's logo): a key for OpenID Connect, a link for plain OAuth 2.0.
 * Presentation attributes only (the CSP forbids inline styles).
 */
const PROVIDER_ICONS: Record<PageProvider['kind'], SafeHtml> = {
  oidc: html`<svg class="provider-icon" aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><circle cx="7.5" cy="15.5" r="4.5"/><path d="M10.7 12.3 20 3"/><path d="m16 7 3 3"/><path d="m18 5 2 2"/></svg>`,
  oauth2: html`<svg class="provider-icon" aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7"/><path d="M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7"/></svg>`,
}

/**
 * "Continue with <name>" per configured provider: plain links to
 * /auth/providers/<id>/start with the page's checked redirect_to (they work
 * without the script). Nothing when no provider is configured.
 */
function providerButtons(providers: readonly PageProvider[], redirect: RedirectState): HtmlValue {
  if (providers.length === 0) return ''
  return html`<div class="providers" id="providers">
<p class="divider"><span>or</span></p>
<ul class="provider-list">${providers.map(
    (provider) =>
      html`<li><a class="provider-button" href="${withRedirect(
        `/auth/providers/${encodeURIComponent(provider.id)}/start`,
        redirect,
      )}" data-provider="${provider.id}">${PROVIDER_ICONS[provider.kind]}<span>Continue with ${provider.name}</span></a></li>`,
  )}</ul>
</div>`
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
  /**
   * Whether the server can mail (an SMTP URL, or files outside production):
   * then /login offers "Forgot your password?" and "Email me a code".
   */
  readonly mailEnabled: boolean
  /** The address to fill in: an OAuth client's `login_hint`, passed on as `email`. */
  readonly email?: string | undefined
  /** The configured identity providers: a "Continue with" button each on /login and /signup. */
  readonly providers?: readonly PageProvider[]
  /** The name of the provider a social login's `reason` is about (its `provider` parameter, when configured). */
  readonly provider?: string | undefined
}

function authData(options: AuthPageOptions): Record<string, string> {
  return {
    'redirect-to': options.redirect.target,
    'redirect-origins': options.redirectOrigins.join(' '),
  }
}

const PASSWORD_HINT = 'At least 8 characters. Common passwords are refused.'

/** A field for a password being chosen (signup, change, reset): one policy hint everywhere. */
function newPasswordField(form: string, name: string, label: string): SafeHtml {
  return field({
    form,
    name,
    label,
    type: 'password',
    autocomplete: 'new-password',
    required: true,
    minLength: 8,
    maxLength: 1024,
    hint: PASSWORD_HINT,
  })
}

/**
 * The account's address. On /login it is `username webauthn`: the browser
 * may offer the passkeys it holds for this site right in the field's
 * autofill (app.js starts the conditional request that feeds it).
 */
function emailField(form: string, autocomplete = 'username', value?: string): SafeHtml {
  return field({
    form,
    name: 'email',
    label: 'Email',
    type: 'email',
    autocomplete,
    required: true,
    maxLength: 254,
    value,
  })
}

/**
 * "Sign in with a passkey" on /login, under the password form: app.js shows
 * it only where the browser has WebAuthn, and runs the ceremony (POST
 * /auth/passkeys/login/options, navigator.credentials.get, then
 * /auth/passkeys/login/verify).
 */
const PASSKEY_SIGN_IN = html`<div class="passkey-sign-in" id="passkey-sign-in" hidden>
<p class="divider"><span>or</span></p>
<button type="button" class="secondary" id="passkey-button">Sign in with a passkey</button>
</div>`

/**
 * Setting up an authenticator app, on /account and in the enrolment step:
 * the QR code (app.js sets its data: URL), the key in groups of 4, an
 * otpauth:// link, then the form of its first code (`totp-confirm`).
 */
function totpSetupSteps(extra?: SafeHtml): SafeHtml {
  return html`<ol class="steps">
<li><p>Open an authenticator app on your phone (any app for time-based codes,
such as Google Authenticator, Microsoft Authenticator, 1Password or Aegis)
and scan this QR code:</p>
<img class="qr" id="totp-qr" alt="QR code to scan with your authenticator app" width="246" height="246"></li>
<li><p>Cannot scan it? Type this key into the app instead:</p>
<p><code class="secret" id="totp-secret"></code></p>
<p><a id="totp-link">Or add it to an authenticator app on this device</a></p></li>
<li><p>Enter the code the app now shows for this account.</p>
${form({
  id: 'totp-confirm',
  legend: 'The first code of your authenticator app',
  fields: [
    field({
      form: 'totp-confirm',
      name: 'code',
      label: 'Code from the app',
      type: 'text',
      autocomplete: 'one-time-code',
      inputMode: 'numeric',
      pattern: { regex: '[0-9]{6}', message: 'Enter the 6 digits the app shows.' },
      required: true,
      maxLength: 6,
      hint: 'The 6 digits the app shows for this account; a new code comes every 30 seconds.',
    }),
  ],
  submit: 'Turn on',
  extra,
})}</li>
</ol>`
}

/**
 * The recovery codes, shown once (after the app is on, a first passkey is
 * added, the codes are replaced, or an enrolment at sign-in): Copy, Download,
 * I saved them. app.js fills the list.
 */
const RECOVERY_CODES_PANEL = html`<div class="panel" id="recovery-show" hidden>
<h3 id="recovery-heading" tabindex="-1">Your recovery codes</h3>
<p id="recovery-lead"></p>
<p>If you lose your phone (or your passkeys), each code signs you in once in
place of the second step. Keep them somewhere safe, such as a password manager: they are
shown only this once.</p>
<ol class="recovery-codes" id="recovery-list"></ol>
<p class="status" id="recovery-status" role="status"></p>
<div class="actions">
<button type="button" class="secondary" id="recovery-copy">Copy</button>
<button type="button" class="secondary" id="recovery-download">Download</button>
<button type="button" id="recovery-done">I saved them</button>
</div>
</div>`

/**
 * The enrolment step (TESSERA_MFA=required, docs/mfa.md): a sign-in or
 * signup answered `mfaEnrollmentRequired` sets up an authenticator app
 * before it gets a session. A `<template>` like the second step, cloned in
 * place of the first step by app.js; the `mfaToken` stays in the script. The
 * QR code needs `data:` images, which the sign-in pages allow only in this
 * mode (routes.ts).
 */
const ENROLMENT_STEP = html`<template id="enrol-template">
<div id="enrol-step">
<h2 id="enrol-heading" tabindex="-1">Set up two-step sign-in</h2>
<p>This server asks every account for a second step after the password: a
code from an authenticator app on your phone. Set it up to finish signing in.</p>
<p class="form-error" id="enrol-error" role="alert"></p>
<div id="totp-setup" hidden>
${totpSetupSteps()}
</div>
${RECOVERY_CODES_PANEL}
</div>
</template>`

/**
 * The sign-in's second step (docs/mfa.md), for an account with a second
 * factor: the code of its authenticator app, or one of its recovery codes.
 * A `<template>`: nothing of it is in the page until a sign-in answers
 * `mfaRequired` and app.js clones it in place of the first step (`#first-step`),
 * so no hidden one-time-code field sits in the form for autofill to find, and
 * each challenge starts from fresh markup. Its `mfaToken` stays in the script.
 * `#mfa-passkey` is the passkey's way, offered by app.js (offerPasskey) when
 * `methods` has `passkey` and the browser can use one.
 */
const SECOND_STEP = html`<template id="mfa-template">
<div id="mfa-step">
<h2 id="mfa-heading">Two-step sign-in</h2>
${form({
  id: 'mfa-totp',
  legend: 'The code from your authenticator app',
  fields: [
    field({
      form: 'mfa-totp',
      name: 'code',
      label: 'Authentication code',
      type: 'text',
      autocomplete: 'one-time-code',
      inputMode: 'numeric',
      pattern: { regex: '[0-9]{6}', message: 'Enter the 6 digits your app shows.' },
      required: true,
      maxLength: 6,
      hint: 'The 6 digits your authenticator app shows for this account now.',
    }),
  ],
  submit: 'Continue',
})}
${form({
  id: 'mfa-recovery',
  legend: 'One of your recovery codes',
  fields: [
    field({
      form: 'mfa-recovery',
      name: 'code',
      label: 'Recovery code',
      type: 'text',
      autocomplete: 'off',
      // The API ignores case, spaces and dashes.
      pattern: {
        regex: '[A-Za-z0-9 \\-]{6,32}',
        message: 'Enter a recovery code, like k7mq-2xrp.',
      },
      required: true,
      maxLength: 32,
      hint: 'One of the codes you saved when you set up two-step sign-in. Each works once.',
    }),
  ],
  submit: 'Continue',
})}
<div id="mfa-passkey" hidden>
<p class="form-error" id="mfa-passkey-error" role="alert"></p>
<p>Use a passkey of this account: on this device, a phone nearby or a security key.</p>
<button type="button" id="mfa-passkey-button">Use a passkey</button>
</div>
<p class="notice" id="mfa-unavailable" hidden>This account’s second step cannot be done on this page.</p>
<div class="actions other-code">
<button type="button" class="secondary" id="mfa-use-passkey" hidden>Use a passkey instead</button>
<button type="button" class="secondary" id="mfa-use-recovery" hidden>Use a recovery code</button>
<button type="button" class="secondary" id="mfa-use-app" hidden>Use your authenticator app</button>
</div>
</div>
</template>`

export function loginPage(options: AuthPageOptions): string {
  const main = html`<div class="card">
<h1>Log in</h1>
<p class="lead">to your ${options.brand.name} account</p>
${NEEDS_SCRIPT}
${reasonNotice(options.reason, options.issuer, options.provider)}
${redirectNotice(options.redirect)}
<div id="first-step">
${form({
  id: 'login',
  legend: 'Your email and password',
  fields: [
    emailField('login', 'username webauthn', options.email),
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
${PASSKEY_SIGN_IN}
${providerButtons(options.providers ?? [], options.redirect)}
${
  options.mailEnabled
    ? html`<p class="other-ways"><a href="${withRedirect('/forgot-password', options.redirect)}">Forgot your password?</a>
<a href="${withRedirect('/login?method=code', options.redirect)}">Email me a code</a></p>`
    : ''
}
</div>
${SECOND_STEP}
${ENROLMENT_STEP}
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

/**
 * `/login?method=code`: "email me a code". The address first (POST
 * /auth/otp/send answers 202 for any address), then the 6-digit code from
 * the mail, which signs in like the password does.
 */
export function loginCodePage(options: AuthPageOptions): string {
  const main = html`<div class="card">
<h1>Log in with a code</h1>
<p class="lead">We mail a 6-digit code to the address of your ${options.brand.name} account: no password needed.</p>
${NEEDS_SCRIPT}
${redirectNotice(options.redirect)}
<div id="first-step">
${form({
  id: 'code-send',
  legend: 'Your email',
  fields: [emailField('code-send')],
  submit: 'Email me a code',
})}
<div id="code-step" hidden>
<p class="status" id="code-status" role="status"></p>
${form({
  id: 'code-verify',
  legend: 'The code from the mail',
  // The address the code was sent to (app.js fills it), posted with the code.
  before: html`<input id="code-verify-email" name="email" type="hidden">`,
  fields: [
    field({
      form: 'code-verify',
      name: 'code',
      label: 'Code',
      type: 'text',
      autocomplete: 'one-time-code',
      inputMode: 'numeric',
      pattern: { regex: '[0-9]{6}', message: 'Enter the 6 digits from the mail.' },
      required: true,
      maxLength: 6,
      hint: 'The 6 digits from the mail. The code works for 10 minutes, once.',
    }),
  ],
  submit: 'Log in',
})}
<div class="actions other-code">
<button type="button" class="secondary" id="code-resend">Send a new code</button>
<button type="button" class="secondary" id="code-restart">Use another address</button>
</div>
</div>
</div>
${SECOND_STEP}
${ENROLMENT_STEP}
</div>
<p class="switch">Know your password? <a href="${withRedirect('/login', options.redirect)}">Log in with it</a></p>`
  return layout({
    page: 'login-code',
    title: 'Log in with a code',
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
<div id="first-step">
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
    emailField('signup'),
    newPasswordField('signup', 'password', 'Password'),
  ],
  submit: 'Create account',
})}
${providerButtons(options.providers ?? [], options.redirect)}
</div>
${ENROLMENT_STEP}`
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

/** What /account shows besides the profile, the password and the sessions. */
export interface AccountPageOptions {
  /** Whether the server can mail: the "Change email" form needs a link mailed to the new address. */
  readonly mailEnabled: boolean
  /** Whether addresses are verified (TESSERA_EMAIL_VERIFICATION is not off): the profile says if this one is. */
  readonly verification: boolean
  /** TESSERA_REAUTH_WINDOW in seconds: how recent a sign-in a change needs (the step-up prompt says it). */
  readonly reauthWindow: number
  /** Whether identity providers are configured: then "Connected accounts" lists the user's identities. */
  readonly federation?: boolean
}

/** The placeholder app.js replaces with the provider's configured name (as text, never markup). */
const PROVIDER_PLACEHOLDER = '{provider}'

/**
 * What /account says when a link started from it comes back: `linked`
 * (/account?linked=<id>), or the `reason` of a refusal
 * (/account?reason=…&provider=<id>, routes/providers.ts), and `other` for a
 * reason not in this table. A fixed table, so nothing from the URL is shown
 * but the configured name of the provider its id names.
 */
export const LINK_OUTCOMES = {
  linked: (name: string) => `${name} is connected: you can sign in with it from now on.`,
  identity_in_use: (name: string) =>
    `That ${name} account is already connected to another account here, so it was not connected to this one. Sign in with it to use that account, or disconnect it there first.`,
  provider_already_linked: (name: string) =>
    `This account is already connected to another ${name} account. Disconnect that one first, then connect again.`,
  session_ended: (name: string) =>
    `Your session ended before ${name} answered, so nothing was connected. Log in and try again.`,
  account_disabled: (_name: string) => 'This account is disabled. Ask an administrator.',
  access_denied: (name: string) =>
    `Connecting ${name} was cancelled or refused there. Nothing was connected.`,
  provider_error: (name: string) =>
    `Connecting ${name} did not work: it answered with an error. Try again.`,
  provider_unavailable: (name: string) =>
    `Connecting ${name} did not work: it could not be reached. Try again later.`,
  state_mismatch: (name: string) =>
    `That answer from ${name} does not belong to a connection this browser started, so it was not used. Start again.`,
  invalid_response: (name: string) =>
    `The answer from ${name} could not be checked, so nothing was connected. Try again; if it keeps happening, tell the server’s operator.`,
  flow_expired: (name: string) =>
    `Connecting ${name} took too long, or was started in another browser. Start again.`,
  other: (name: string) => `Connecting ${name} did not work. Try again.`,
} as const satisfies Record<
  | 'linked'
  | 'other'
  | LinkFailure
  | Exclude<
      FederationFailure,
      'email_missing' | 'email_not_verified' | 'account_email_unverified' | 'signup_closed'
    >,
  (name: string) => string
>

/**
 * "Connected accounts" (social login): the user's identities at providers
 * (GET /auth/identities), each with "Disconnect", and a "Connect <name>"
 * button per configured provider not connected yet, all made by app.js.
 * The outcome of a link is worded from LINK_OUTCOMES, kept in a template
 * app.js fills the provider's name into.
 */
const CONNECTED_ACCOUNTS_SECTION = html`<section aria-labelledby="identities-heading">
<h2 id="identities-heading" tabindex="-1">Connected accounts</h2>
<p>Accounts at other services you can sign in with. One is connected when
you connect it here, or when you continue with it on the login page and it
vouches for this account’s verified email address.</p>
<p class="status" id="identities-notice" role="status" tabindex="-1" hidden></p>
<template id="identities-outcomes">${Object.entries(LINK_OUTCOMES).map(
  ([key, text]) => html`<p data-outcome="${key}">${text(PROVIDER_PLACEHOLDER)}</p>`,
)}</template>
<p class="status" id="identities-status" role="status"></p>
<p id="identities-none" hidden>No connected accounts yet.</p>
<ul class="apps" id="identities-list" aria-labelledby="identities-heading"></ul>
<div id="identities-connect" hidden>
<h3 id="identities-connect-heading">Connect another account</h3>
<p>You will be asked to sign in there; then you can sign in here with it too.</p>
<ul class="provider-list" id="identities-providers" aria-labelledby="identities-connect-heading"></ul>
</div>
</section>`

export function accountPage(brand: Branding, options: AccountPageOptions): string {
  const main = html`<h1>Your account</h1>
${NEEDS_SCRIPT}
<p class="status" id="account-status" role="status">Loading your account…</p>
<div id="account" hidden>
<section aria-labelledby="profile-heading">
<h2 id="profile-heading">Profile</h2>
<dl class="profile">
<div><dt>Name</dt><dd id="profile-name"></dd></div>
<div><dt>Email</dt><dd><span id="profile-email"></span>${
    options.verification ? html` <span class="badge" id="profile-email-state" hidden></span>` : ''
  }</dd></div>
<div><dt>Roles</dt><dd id="profile-roles"></dd></div>
<div><dt>Member since</dt><dd id="profile-created"></dd></div>
</dl>
${
  options.verification
    ? html`<div id="verify-email-send" hidden>
<p>Your address is not verified yet: open the link we mailed you, or ask for a new one.</p>
<p class="status" id="verify-email-status" role="status"></p>
<button type="button" class="secondary" id="verify-email-button">Send a new link</button>
</div>`
    : ''
}
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
    newPasswordField('password', 'newPassword', 'New password'),
  ],
  submit: 'Change password',
})}
</section>
${options.mailEnabled ? changeEmailSection() : ''}
${TWO_STEP_SECTION}
<section aria-labelledby="sessions-heading">
<h2 id="sessions-heading" tabindex="-1">Sessions</h2>
<p>Every browser and app signed in to your account. Revoke the ones you do
not recognise.</p>
<p class="status" id="sessions-status" role="status"></p>
<ul class="sessions" id="sessions-list"></ul>
<button type="button" class="secondary" id="sessions-reload">Reload the list</button>
</section>
<section aria-labelledby="apps-heading">
<h2 id="apps-heading" tabindex="-1">Apps with access</h2>
<p>Apps you allowed to use your account. Removing one signs it out too; it
will have to ask you again.</p>
<p class="status" id="apps-status" role="status"></p>
<p id="apps-none" hidden>No apps have access to your account.</p>
<ul class="apps" id="apps-list" aria-labelledby="apps-heading"></ul>
</section>
${options.federation ? CONNECTED_ACCOUNTS_SECTION : ''}
<section aria-labelledby="signout-heading">
<h2 id="signout-heading">Sign out</h2>
<p class="form-error" id="signout-error" role="alert"></p>
<div class="actions">
<button type="button" class="secondary" id="logout">Log out</button>
<button type="button" class="danger" id="logout-all">Log out everywhere</button>
</div>
</section>
${reauthPanel(options.reauthWindow)}
</div>`
  return layout({ page: 'account', title: 'Your account', brand, main })
}

/**
 * "Two-step sign-in" (docs/mfa.md): the state (from GET /auth/mfa), setting
 * up an authenticator app (its QR code, the key to type in, a first code to
 * confirm), the recovery codes shown once, replacing them, turning the app
 * off. app.js shows one part at a time and moves the focus to it; the QR
 * code is an <img> of the server's SVG as a data: URL (this page's CSP
 * allows data: images), never markup parsed into the page.
 */
const TWO_STEP_SECTION = html`<section aria-labelledby="two-step-heading">
<h2 id="two-step-heading" tabindex="-1">Two-step sign-in</h2>
<p>After your password or a mailed code, a code from an app on your phone or
a passkey: a stolen password alone no longer opens your account.</p>
<p class="status" id="two-step-status" role="status"></p>
<p class="form-error" id="two-step-error" role="alert"></p>
<dl class="profile">
<div><dt>Authenticator app</dt><dd id="two-step-app"></dd></div>
<div id="two-step-codes-row" hidden><dt>Recovery codes</dt><dd id="two-step-codes"></dd></div>
</dl>
<h3 id="passkeys-heading">Passkeys</h3>
<p>A passkey signs you in with this device’s screen lock, fingerprint or face
(or a phone or security key), without a password or a code.</p>
<p id="passkeys-none">No passkeys yet.</p>
<ul class="passkeys" id="passkeys-list" aria-labelledby="passkeys-heading"></ul>
<p class="hint" id="passkey-unsupported" hidden>This browser cannot make passkeys: add one from a browser that can.</p>
<div class="actions two-step-actions" id="two-step-actions">
<button type="button" id="totp-start" hidden>Set up an authenticator app</button>
<button type="button" class="secondary" id="passkey-add-start" hidden>Add a passkey</button>
<button type="button" class="secondary" id="recovery-replace" hidden>Replace recovery codes</button>
<button type="button" class="danger" id="totp-remove" hidden>Turn off the authenticator app</button>
</div>
<div class="panel" id="totp-remove-confirm" hidden>
<p id="totp-remove-question" tabindex="-1"><strong>Turn off the authenticator app?</strong>
Signing in will need only your password or a mailed code again, and your
recovery codes will stop working.</p>
<div class="actions">
<button type="button" class="danger" id="totp-remove-yes">Turn it off</button>
<button type="button" class="secondary" id="totp-remove-no">Keep it</button>
</div>
</div>
<div class="panel" id="passkey-add-panel" hidden>
<h3 id="passkey-add-heading" tabindex="-1">Add a passkey</h3>
<p>Name it, then follow what the browser asks: it makes the passkey on this
device, a phone or a security key.</p>
${form({
  id: 'passkey-add',
  legend: 'A name for the new passkey',
  fields: [
    field({
      form: 'passkey-add',
      name: 'name',
      label: 'Passkey name',
      type: 'text',
      autocomplete: 'off',
      required: true,
      maxLength: 64,
      hint: 'To tell your passkeys apart, like “Work laptop”.',
    }),
  ],
  submit: 'Create the passkey',
  extra: html`<button type="button" class="secondary" id="passkey-add-cancel">Cancel</button>`,
})}
</div>
<div class="panel" id="passkey-rename-panel" hidden>
<h3 id="passkey-rename-heading" tabindex="-1">Rename the passkey</h3>
${form({
  id: 'passkey-rename',
  legend: 'The passkey’s new name',
  fields: [
    field({
      form: 'passkey-rename',
      name: 'name',
      label: 'New name',
      type: 'text',
      autocomplete: 'off',
      required: true,
      maxLength: 64,
    }),
  ],
  submit: 'Rename',
  extra: html`<button type="button" class="secondary" id="passkey-rename-cancel">Cancel</button>`,
})}
</div>
<div class="panel" id="passkey-remove-confirm" hidden>
<p id="passkey-remove-question" tabindex="-1"><strong>Remove the passkey
“<span id="passkey-remove-name"></span>”?</strong> It will no longer sign you
in here; the device keeps it until you delete it there too.</p>
<div class="actions">
<button type="button" class="danger" id="passkey-remove-yes">Remove it</button>
<button type="button" class="secondary" id="passkey-remove-no">Keep it</button>
</div>
</div>
<div class="panel" id="totp-setup" hidden>
<h3 id="totp-setup-heading" tabindex="-1">Set up an authenticator app</h3>
${totpSetupSteps(html`<button type="button" class="secondary" id="totp-cancel">Cancel</button>`)}
</div>
${RECOVERY_CODES_PANEL}
</section>`

/** "10 minutes", "1 hour": a whole number of minutes or hours, as the step-up prompt says it. */
export function durationText(seconds: number): string {
  const [count, unit] =
    seconds >= 3600 && seconds % 3600 === 0
      ? [seconds / 3600, 'hour']
      : [Math.max(1, Math.round(seconds / 60)), 'minute']
  return `${count} ${unit}${count === 1 ? '' : 's'}`
}

/**
 * The step-up prompt: one form that app.js moves next to whichever change
 * (password, email, second factor) answered 403 reauthentication_required,
 * then retries that change once the password is confirmed.
 */
function reauthPanel(reauthWindow: number): SafeHtml {
  return html`<div class="panel reauth" id="reauth-panel" hidden>
<h3 id="reauth-heading">Confirm it’s you</h3>
${form({
  id: 'reauth',
  legend: 'Your password, to confirm that it is you',
  before: html`<input id="reauth-username" type="email" autocomplete="username" hidden readonly>`,
  fields: [
    field({
      form: 'reauth',
      name: 'password',
      label: 'Your password',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
      maxLength: 1024,
      hint: `This change needs a sign-in from the last ${durationText(reauthWindow)}. Enter your password to go on.`,
    }),
  ],
  submit: 'Confirm',
  extra: html`<button type="button" class="secondary" id="reauth-cancel">Cancel</button>`,
})}
</div>`
}

/** A new address for the account: it changes only when the link mailed to it is opened. */
function changeEmailSection(): SafeHtml {
  return html`<section aria-labelledby="change-email-heading">
<h2 id="change-email-heading">Change email</h2>
<p>We mail a link to the new address; your address changes when you open it.</p>
<p class="status" id="change-email-status" role="status"></p>
${form({
  id: 'change-email',
  legend: 'Your new email address and your password',
  fields: [
    field({
      form: 'change-email',
      name: 'newEmail',
      label: 'New email address',
      type: 'email',
      autocomplete: 'email',
      required: true,
      maxLength: 254,
    }),
    field({
      form: 'change-email',
      name: 'currentPassword',
      // Not "Current password": one label per page names one field.
      label: 'Password',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
      maxLength: 1024,
      hint: 'Your current password, to confirm that it is you.',
    }),
  ],
  submit: 'Change email',
})}
</section>`
}

/** `/forgot-password`: an address in, the same answer out whatever the address. */
export function forgotPasswordPage(options: AuthPageOptions): string {
  const main = html`<div class="card">
<h1>Forgot your password?</h1>
<p class="lead">We mail you a link to choose a new one.</p>
${NEEDS_SCRIPT}
<p class="status" id="forgot-status" role="status" tabindex="-1"></p>
${form({
  id: 'forgot',
  legend: 'The email address of your account',
  fields: [emailField('forgot')],
  submit: 'Email me a link',
})}
</div>
<p class="switch">Remembered it? <a href="${withRedirect('/login', options.redirect)}">Log in</a></p>`
  return layout({
    page: 'forgot-password',
    title: 'Forgot your password?',
    brand: options.brand,
    width: 'narrow',
    main,
  })
}

/** A mailed link's token: 43 base64url characters (32 random bytes), as the API takes it. */
export function isLinkToken(raw: unknown): boolean {
  return typeof raw === 'string' && /^[A-Za-z0-9_-]{43}$/.test(raw)
}

/** Where a page that takes a mailed link's token goes next. */
interface NextLink {
  readonly href: string
  readonly label: string
}

/** The page of a link whose token is missing or cut short (a mail client may wrap it). */
function incompleteLink(next: NextLink): SafeHtml {
  return html`<p class="notice" id="link-incomplete">This link is not complete. Open the link from the mail again, or ask for a new one.</p>
<p class="switch"><a href="${next.href}">${next.label}</a></p>`
}

/**
 * `/reset-password?token=…`: a new password for the account the mailed link
 * names. Rendered without its form when the token is missing or malformed
 * (`complete` false). The token stays in the URL and the script; the page
 * never renders it.
 */
export function resetPasswordPage(brand: Branding, complete: boolean): string {
  const forgot = { href: '/forgot-password', label: 'Ask for a new link' }
  const main = html`<div class="card">
<h1>Choose a new password</h1>
${
  complete
    ? html`<p class="lead">for your ${brand.name} account. Every device signed in to it will be signed out.</p>
${NEEDS_SCRIPT}
${form({
  id: 'reset',
  legend: 'Your new password',
  fields: [newPasswordField('reset', 'newPassword', 'New password')],
  submit: 'Set my new password',
})}`
    : incompleteLink(forgot)
}
</div>
<p class="switch"><a href="/login">Back to log in</a></p>`
  return layout({
    page: 'reset-password',
    title: 'Choose a new password',
    brand,
    width: 'narrow',
    main,
  })
}

interface MailedLinkPageOptions {
  readonly page: PageName
  readonly title: string
  readonly brand: Branding
  /** Whether the URL has a well-formed token (else: no button, a notice). */
  readonly complete: boolean
  readonly intro: HtmlValue
  readonly button: string
  /** Shown once the link worked; none when the page then navigates away. */
  readonly done?: NextLink
  /** Shown when the link turns out expired or used. */
  readonly spent: NextLink
  /** The button signs in, so an account with a second factor is asked for it next. */
  readonly secondStep?: boolean
}

/**
 * A page a mailed link opens (/verify-email, /login/link, /confirm-email).
 * Opening it consumes nothing (mail scanners prefetch links): only its button,
 * enabled by app.js, POSTs the token. The token stays in the URL and the
 * script; the page never renders it.
 */
function mailedLinkPage(options: MailedLinkPageOptions): string {
  const body = options.complete
    ? html`${NEEDS_SCRIPT}
<div id="first-step">
<p id="link-intro">${options.intro}</p>
<p class="status" id="link-status" role="status"></p>
<button type="button" id="link-button" disabled>${options.button}</button>
${
  options.done === undefined
    ? ''
    : html`<p class="switch" id="link-done" hidden><a href="${options.done.href}">${options.done.label}</a></p>`
}
<p class="switch" id="link-spent" hidden><a href="${options.spent.href}">${options.spent.label}</a></p>
</div>
${
  options.secondStep
    ? html`${SECOND_STEP}
${ENROLMENT_STEP}`
    : ''
}`
    : incompleteLink(options.spent)
  const main = html`<div class="card">
<h1>${options.title}</h1>
${body}
</div>`
  return layout({
    page: options.page,
    title: options.title,
    brand: options.brand,
    width: 'narrow',
    main,
  })
}

const TO_ACCOUNT: NextLink = { href: '/account', label: 'Go to your account' }

/** `/verify-email?token=…`, where a verification mail's link leads. */
export function verifyEmailPage(brand: Branding, complete: boolean): string {
  return mailedLinkPage({
    page: 'verify-email',
    title: 'Verify your email',
    brand,
    complete,
    intro: html`Confirm that this address is yours to finish setting up your ${brand.name} account.`,
    button: 'Verify my email',
    done: TO_ACCOUNT,
    spent: TO_ACCOUNT,
  })
}

/** `/login/link?token=…`: the sign-in link of a code mail; its button signs in. */
export function loginLinkPage(brand: Branding, complete: boolean): string {
  return mailedLinkPage({
    page: 'login-link',
    title: 'Sign in',
    brand,
    complete,
    intro: html`Sign in to your ${brand.name} account with the link we mailed you.`,
    button: 'Sign in',
    spent: { href: '/login', label: 'Back to log in' },
    secondStep: true,
  })
}

/** `/confirm-email?token=…`: the link mailed to a new address makes it the account's. */
export function confirmEmailPage(brand: Branding, complete: boolean): string {
  return mailedLinkPage({
    page: 'confirm-email',
    title: 'Confirm your new email',
    brand,
    complete,
    intro: html`Make this address the email address of your ${brand.name} account.`,
    button: 'Confirm my new email',
    done: TO_ACCOUNT,
    spent: TO_ACCOUNT,
  })
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
