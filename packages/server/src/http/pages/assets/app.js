// The script of Tessera's hosted pages (served as /pages/app.js, an ES module).
//
// The pages are built on @tessera/client, Tessera's browser SDK, in cookie
// mode: the way a team's own pages on Tessera's origin would be
// (docs/pages.md). The package, which the server serves to the pages at
// /pages/client/, holds the session: the access token in memory only, the
// refresh token in the HttpOnly cookie it never sees, the refresh before
// expiry, after a reload and after a refused token (one for all the tabs),
// the sign-out reaching the other tabs, the passkey ceremonies. What is left
// here is the pages' own logic: the forms and their messages, the second
// step and the enrolment step, the account's sections, where to go next
// (redirect_to, /login?reason=…), and the token inspector.
//
// Only the pages that call the API load the package (the inspector and the
// OAuth hops do without), and only when they run in a browser: Node imports
// this file for the unit tests of its pure helpers, which are exported.
//
// The DOM is only ever built with textContent and element properties, never
// with HTML strings (the CSP's require-trusted-types-for makes them throw).

const MAX_REDIRECT_LENGTH = 2048
const NETWORK_ERROR = 'The server could not be reached. Check your connection and try again.'
// ---------------------------------------------------------------------------
// Pure helpers (tested in Node)

/**
 * The redirect target after signing in, or undefined when `raw` must be
 * ignored: a path on this origin (not `//host`, not `/\host`) or an http(s)
 * URL without credentials on `ownOrigin` or one of `allowedOrigins`. The
 * server applies the same rules (pages/redirect.ts) before rendering it.
 */
export function safeRedirect(raw, ownOrigin, allowedOrigins) {
  if (typeof raw !== 'string' || raw === '' || raw.length > MAX_REDIRECT_LENGTH) return undefined
  // URL parsers drop tabs and newlines, trim spaces and controls, and read
  // `\` as `/` (`/\evil` is `//evil`): refuse them all rather than guess.
  if (/[\p{Cc}\s\\]/u.test(raw)) return undefined
  if (raw.startsWith('/')) {
    if (raw.startsWith('//')) return undefined
    const url = URL.parse(raw, ownOrigin)
    if (url === null || url.origin !== ownOrigin) return undefined
    // Dot segments can fold a path into `//host` (`/.//evil`, `/%2e%2e//evil`):
    // check what the parser made of it, not only what came in.
    if (url.pathname.startsWith('//')) return undefined
    return `${url.pathname}${url.search}${url.hash}`
  }
  const url = URL.parse(raw)
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) return undefined
  if (url.username !== '' || url.password !== '') return undefined
  if (url.origin !== ownOrigin && !allowedOrigins.includes(url.origin)) return undefined
  return url.href
}

/** A short name for the device of a session: "Firefox on Windows". */
export function deviceLabel(userAgent) {
  if (typeof userAgent !== 'string' || userAgent === '') return 'Unknown device'
  const browsers = [
    [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
    [/\bOPR\//, 'Opera'],
    [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
    [/\bHeadlessChrome\//, 'Headless Chrome'],
    [/\bChrom(?:e|ium)\/|\bCriOS\//, 'Chrome'],
    [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
    [/^curl\//, 'curl'],
    [/^node|undici/i, 'Node.js'],
  ]
  const systems = [
    [/\bAndroid\b/, 'Android'],
    [/\biPhone|iPad|iPod\b/, 'iOS'],
    [/\bWindows\b/, 'Windows'],
    [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
    [/\bCrOS\b/, 'ChromeOS'],
    [/\bLinux\b/, 'Linux'],
  ]
  const browser = browsers.find(([pattern]) => pattern.test(userAgent))?.[1]
  const system = systems.find(([pattern]) => pattern.test(userAgent))?.[1]
  if (browser && system) return `${browser} on ${system}`
  return browser ?? system ?? 'Other client'
}

/** "just now", "3 minutes ago", "in 14 minutes": `time` relative to `now` (epoch ms). */
export function relativeTime(time, now) {
  const seconds = Math.round((time - now) / 1000)
  if (Math.abs(seconds) < 10) return 'just now'
  const units = [
    ['year', 31_536_000],
    ['month', 2_592_000],
    ['day', 86_400],
    ['hour', 3600],
    ['minute', 60],
    ['second', 1],
  ]
  const format = new Intl.RelativeTimeFormat('en', { numeric: 'auto' })
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size || unit === 'second') {
      return format.format(Math.trunc(seconds / size), unit)
    }
  }
  return ''
}

/** Bytes of strict base64url (RFC 4648 §5, no padding); throws on anything else. */
export function base64urlDecode(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new Error('not base64url')
  }
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'))
  return Uint8Array.from(binary, (char) => char.charCodeAt(0))
}

function jsonPart(text, name) {
  let value
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64urlDecode(text)))
  } catch {
    throw new Error(`The ${name} is not base64url-encoded JSON.`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`The ${name} is not a JSON object.`)
  }
  return value
}

/** The parts of a compact JWS; throws an Error whose message can be shown. */
export function decodeJwt(token) {
  const parts = token.split('.')
  if (parts.length !== 3) {
    throw new Error(
      parts.length === 5
        ? 'This is an encrypted token (JWE): it cannot be read without the key.'
        : `A JWT has three parts separated by dots; this has ${parts.length}.`,
    )
  }
  const [header, payload, signature] = parts
  let signatureBytes
  try {
    signatureBytes = base64urlDecode(signature)
  } catch {
    throw new Error('The signature is not base64url.')
  }
  return {
    header: jsonPart(header, 'header'),
    payload: jsonPart(payload, 'payload'),
    signingInput: new TextEncoder().encode(`${header}.${payload}`),
    signature: signatureBytes,
  }
}

const HASHES = { 256: 'SHA-256', 384: 'SHA-384', 512: 'SHA-512' }
const CURVES = { 256: 'P-256', 384: 'P-384', 512: 'P-521' }

/** WebCrypto parameters for a JWS algorithm (RFC 7518 §3), or undefined when unsupported. */
export function webCryptoParams(alg, jwk) {
  const match = /^(ES|RS|PS)(256|384|512)$/.exec(alg)
  if (match) {
    const [, family, bits] = match
    const hash = HASHES[bits]
    if (family === 'ES') {
      return {
        importParams: { name: 'ECDSA', namedCurve: CURVES[bits] },
        verifyParams: { name: 'ECDSA', hash },
      }
    }
    if (family === 'RS') {
      return {
        importParams: { name: 'RSASSA-PKCS1-v1_5', hash },
        verifyParams: { name: 'RSASSA-PKCS1-v1_5' },
      }
    }
    return {
      importParams: { name: 'RSA-PSS', hash },
      // RFC 7518 §3.5: the salt is as long as the hash output.
      verifyParams: { name: 'RSA-PSS', saltLength: Number(bits) / 8 },
    }
  }
  if (alg === 'EdDSA' && jwk?.crv === 'Ed25519') {
    return { importParams: { name: 'Ed25519' }, verifyParams: { name: 'Ed25519' } }
  }
  return undefined
}

/** A sign-in's second step lives 5 minutes and takes 5 wrong codes (docs/mfa.md). */
const SECOND_STEP_MS = 5 * 60_000
const SECOND_STEP_TRIES = 5

/**
 * Whether an `invalid_code` from POST /auth/mfa/verify means that the second
 * step itself is over (its 5 minutes or its 5 tries are used up) rather than
 * that this code was wrong: the API answers both alike, so the page counts.
 * `startedAt` and `now` are milliseconds on one clock (performance.now());
 * the 5 s of margin are the trips to the server.
 */
export function secondStepOver(wrongCodes, startedAt, now, lifetime = SECOND_STEP_MS) {
  return wrongCodes >= SECOND_STEP_TRIES || now - startedAt >= lifetime - 5000
}

/** The enrolment step's token (TESSERA_MFA=required) lives 15 minutes, with the same 5 tries. */
export const ENROLMENT_MS = 15 * 60_000

/**
 * An SVG document as a `data:` URL for an <img>: the image shows the
 * server's QR code without its markup ever being parsed into the page.
 */
export function svgDataUrl(svg) {
  const bytes = new TextEncoder().encode(svg)
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return `data:image/svg+xml;base64,${btoa(binary)}`
}

/** A base32 key in groups of 4 for reading and typing (apps ignore the spaces). */
export function groupSecret(secret) {
  return (String(secret).match(/.{1,4}/g) ?? []).join(' ')
}

/** The text of the recovery codes' download: what they are, for whom, then one code a line. */
export function recoveryCodesText(codes, { email, site, date }) {
  return [
    `Recovery codes for ${email} at ${site}`,
    `Saved ${date}. Each code signs you in once in place of a code from your`,
    'authenticator app. Keep them as safe as a password.',
    '',
    ...codes,
    '',
  ].join('\n')
}

/** Where a passkey lives: copied between devices by a passkey manager, or kept by one device. */
export function passkeyKind(passkey) {
  return passkey.deviceType === 'multiDevice' ? 'Synced' : 'This device only'
}

/**
 * The name offered for a new passkey: the device ("Chrome on macOS"),
 * numbered when the account already has one of that name.
 */
export function defaultPasskeyName(userAgent, takenNames) {
  const device = deviceLabel(userAgent)
  const base = device === 'Unknown device' || device === 'Other client' ? 'Passkey' : device
  const taken = new Set(takenNames)
  if (!taken.has(base)) return base
  let number = 2
  while (taken.has(`${base} (${number})`)) number += 1
  return `${base} (${number})`
}

/**
 * What to say when navigator.credentials refused (the DOMException's
 * name): `create` a new passkey, or `get` one to sign in.
 */
export function ceremonyErrorText(name, kind) {
  if (kind === 'create' && name === 'InvalidStateError') {
    return 'This device already holds a passkey for your account.'
  }
  if (name === 'NotAllowedError') {
    return kind === 'create'
      ? 'No passkey was made: it was cancelled, or the device said no. Try again.'
      : 'No passkey was used: it was cancelled, or none of them is for this account. Try again.'
  }
  if (name === 'SecurityError') return 'This browser does not allow passkeys on this address.'
  return kind === 'create'
    ? 'This browser could not make a passkey.'
    : 'This browser could not use a passkey.'
}

/** What the account page says of the recovery codes left. */
export function recoveryCodesLeft(count) {
  if (count === 0) return 'None left: replace them to keep a way in without your phone.'
  if (count <= 3) return `${count} left: replace them soon.`
  return `${count} left`
}

/**
 * The path the OAuth "continue" page navigates to (its `data-continue`), or
 * undefined: only a path under /oauth/ on this origin is followed, whatever
 * the page was given (no `//host`, no backslash or control character the URL
 * parser would fold into one).
 */
export function oauthContinueTarget(raw) {
  if (typeof raw !== 'string' || !raw.startsWith('/oauth/')) return undefined
  if (raw.length > MAX_REDIRECT_LENGTH || /[\p{Cc}\s\\]/u.test(raw)) return undefined
  return raw
}

/** What each scope lets an app do: the words of the consent page (oauth-pages.ts SCOPE_TEXT). */
const SCOPE_TEXT = {
  openid: 'Confirm who you are',
  profile: 'Your name',
  email: 'Your email address',
  offline_access: 'Stay signed in (keep access when you are away)',
}

/** A scope in words, or its own name when it has none. */
export function scopeText(scope) {
  return Object.hasOwn(SCOPE_TEXT, scope) ? SCOPE_TEXT[scope] : String(scope)
}

/**
 * The `reason` /login shows for a refused CSRF check (issue #13: a page sent
 * back to /login says why): the refresh cookie arrived twice (a sibling
 * domain planted one) or the page's origin is not allowed. Anything else is
 * no reason of this kind.
 */
export function csrfReason(error) {
  if (error?.code !== 'csrf_failed') return undefined
  return error.reason === 'duplicate_cookie' ? 'cookie_conflict' : 'origin_refused'
}

/** /login's `reason` for each way the client reports a session ended. */
const ENDED = {
  signed_out: 'signed_out',
  reused: 'reused',
  revoked: 'session_ended',
  expired: 'session_ended',
}

/**
 * The `reason` /login shows for a session the client reports ended
 * (SIGNED_OUT's `reason`, or INITIAL_SESSION's when a reload found it ended):
 * `signed_out` (in another tab) and `reused` as they are, `revoked` and
 * `expired` as `session_ended`; `network` is none (the server is out of
 * reach: no page to go to), and so is no reason at all (a first visit).
 */
export function endedReason(reason) {
  return typeof reason === 'string' && Object.hasOwn(ENDED, reason) ? ENDED[reason] : undefined
}

// ---------------------------------------------------------------------------
// The client: @tessera/client, on this page's origin

/** The package's entry, as the server serves it to the pages (client-script.ts). */
const CLIENT_ENTRY = '/pages/client/index.js'

/** The package's error class, once loaded: what every method of the client rejects with. */
let TesseraError
let loadingClient
/** Why the session the browser had ended before this page loaded (INITIAL_SESSION's reason). */
let restoreReason
/** The page is on its way elsewhere (to /login): what fails meanwhile is not shown. */
let leaving = false

/**
 * The pages' one client, made on first use. Its issuer is this page's own
 * origin rather than TESSERA_ISSUER: the pages are served by Tessera, whose
 * JSON API answers same-origin calls only (it sends no CORS headers) and
 * keeps the refresh cookie of the host the page was opened at, and outside
 * production a server is also reached at another loopback spelling than its
 * issuer's (127.0.0.1 for localhost), which its CSRF check accepts.
 */
function client() {
  loadingClient ??= import(CLIENT_ENTRY).then((sdk) => {
    TesseraError = sdk.TesseraError
    return sdk.createClient({ issuer: location.origin, mode: 'cookie' })
  })
  return loadingClient
}

/** Whether `error` is the client's: a TesseraError, with the server's code or its own. */
function isClientError(error) {
  return TesseraError !== undefined && error instanceof TesseraError
}

function isCode(error, code) {
  return isClientError(error) && error.code === code
}

/** Whether the server answered (a refusal to word), rather than nobody (offline). */
function answered(error) {
  return isClientError(error) && error.status > 0
}

/** Leaves for /login, asking to come back here afterwards, saying why when there is a reason. */
function goToLogin(reason) {
  leaving = true
  const back = `${location.pathname}${location.search}`
  const why = reason === undefined ? '' : `&reason=${encodeURIComponent(reason)}`
  location.assign(`/login?redirect_to=${encodeURIComponent(back)}${why}`)
}

function rateLimitText(error) {
  const wait = Number(error.retryAfter)
  return `Too many attempts. Try again in ${Number.isFinite(wait) ? wait : 'a few'} seconds.`
}

/** What to show when a call failed: the client's error in words, anything else as a network failure. */
function failureText(error) {
  return isClientError(error) ? errorText(error) : NETWORK_ERROR
}

// ---------------------------------------------------------------------------
// Forms: validation messages tied to their fields

function labelOf(input) {
  return input.labels?.[0]?.firstChild?.textContent?.trim() ?? input.name
}

function errorElementOf(input) {
  return document.getElementById(`${input.id}-error`)
}

function clearErrors(form) {
  setText(document.getElementById(`${form.id}-error`), '')
  for (const input of form.querySelectorAll('input')) {
    input.removeAttribute('aria-invalid')
    setText(errorElementOf(input), '')
  }
}

/**
 * An API message as a sentence for the page: the API writes them in lower
 * case without a final period (`must be an email address`), the pages show
 * sentences (`Must be an email address.`).
 */
export function sentence(message) {
  const text = String(message ?? '').trim()
  if (text === '') return text
  const capitalized = text.charAt(0).toUpperCase() + text.slice(1)
  return /[.!?]$/.test(capitalized) ? capitalized : `${capitalized}.`
}

function showFieldError(input, message) {
  input.setAttribute('aria-invalid', 'true')
  setText(errorElementOf(input), message)
}

function showFormError(form, message) {
  setText(document.getElementById(`${form.id}-error`), message)
}
/** The browser's constraints, with our own words; returns the invalid inputs. */
function validate(form) {
  const invalid = []
  for (const input of form.querySelectorAll('input')) {
    const value = input.value
    let message
    if (input.required && value.trim() === '')
      message = `Enter your ${labelOf(input).toLowerCase()}.`
    else if (input.type === 'email' && value !== '' && input.validity.typeMismatch) {
      message = 'Enter an email address like name@example.com.'
    } else if (input.minLength > 0 && value !== '' && value.length < input.minLength) {
      message = `Use at least ${input.minLength} characters.`
    } else if (value !== '' && input.validity.patternMismatch) {
      message = input.dataset.patternMessage ?? 'Check this value.'
    }
    if (message !== undefined) {
      showFieldError(input, message)
      invalid.push(input)
    }
  }
  return invalid
}

/** The words of every page for codes whose API message is meant for developers. */
const COMMON_MESSAGES = {
  // The step-up prompt was cancelled (change()): the change was not made.
  reauthentication_required: 'Nothing was changed: confirm it’s you to make this change.',
  network_error: NETWORK_ERROR,
}

/** A client error as a sentence for a status line (errors outside a form). */
function errorText(error) {
  if (error.code === 'rate_limited') return rateLimitText(error)
  if (error.status >= 500) return 'The server is unavailable for a moment. Try again shortly.'
  return COMMON_MESSAGES[error.code] ?? sentence(error.message)
}

/**
 * Shows a client error: field issues next to their fields, anything else
 * above the form; `messages` words codes for this form (a string above it,
 * `{ field, message }` at a field). Returns the first field in error (to be
 * focused), if any.
 */
function showApiError(form, error, messages = {}) {
  const fields = []
  for (const issue of error.issues ?? []) {
    const input = form.elements.namedItem(String(issue.path ?? '').replace(/^\//, ''))
    if (input instanceof HTMLInputElement) {
      showFieldError(input, sentence(issue.message))
      fields.push(input)
    }
  }
  const special = Object.hasOwn(messages, error.code) ? messages[error.code] : undefined
  if (typeof special === 'object') {
    const input = form.elements.namedItem(special.field)
    showFieldError(input, special.message)
    fields.push(input)
  }
  if (fields.length > 0) return fields[0]
  showFormError(form, typeof special === 'string' ? special : errorText(error))
  return undefined
}

/**
 * What a form's submit function returns when the form is done with: the
 * page is navigating away, or the form was replaced by its outcome. It then
 * stays disabled.
 */
const LEAVING = Symbol('leaving')

/**
 * Submits `form` through `submit(values)` after the local checks; focus
 * moves to the first field in error. What `submit` throws is shown on the
 * form (showApiError, with `messages`), unless the page is leaving. The
 * fieldset is disabled while busy, which takes the focus away: it comes
 * back to the element `submit` returns (a field in error), else to the
 * submit button.
 *
 * The fieldset is rendered disabled and only enabled here, once this
 * handler is in place: a form the script does not handle can never be
 * submitted by the browser itself.
 */
function handleForm(form, submit, messages = {}) {
  const fieldset = form.querySelector('fieldset')
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    clearErrors(form)
    const invalid = validate(form)
    if (invalid.length > 0) {
      invalid[0].focus()
      return
    }
    const values = {}
    for (const input of form.querySelectorAll('input[name]')) {
      if (input.value !== '') values[input.name] = input.value
    }
    fieldset.disabled = true
    let outcome
    try {
      outcome = await submit(values)
    } catch (error) {
      if (leaving) return
      if (isClientError(error)) outcome = showApiError(form, error, messages)
      else showFormError(form, failureText(error))
    }
    if (outcome === LEAVING) return
    fieldset.disabled = false
    ;(outcome ?? form.querySelector('button[type=submit]')).focus()
  })
  fieldset.disabled = false
}

function setText(element, text) {
  if (element) element.textContent = text
}

function element(tag, properties = {}, children = []) {
  const node = document.createElement(tag)
  Object.assign(node, properties)
  node.append(...children)
  return node
}

// ---------------------------------------------------------------------------
// Pages

/** Where to go after signing in: the checked redirect_to, else the account page. */
function afterSignIn() {
  const { redirectTo = '', redirectOrigins = '' } = document.body.dataset
  const allowed = redirectOrigins.split(' ').filter(Boolean)
  return safeRedirect(redirectTo, location.origin, allowed) ?? '/account'
}

/**
 * Where a first step leads (a password, a mailed code or link, a passkey,
 * a signup: the client's SignInResult). Signed in, the page leaves for
 * afterSignIn() (the refresh token came as the cookie). An account with a
 * second factor gets the second step in place of the first, and
 * `restart(message)` brings the first back if the second runs out; under
 * TESSERA_MFA=required an account without one gets the enrolment step.
 * Resolves to LEAVING, or to a message for the first step when it cannot
 * go on; rejects what the enrolment step's start was refused.
 */
async function firstStepDone(result, restart) {
  if (result.mfa !== undefined) {
    showSecondStep(result.mfa, restart)
    return LEAVING
  }
  if (result.mfaEnrollment !== undefined) return showEnrolment(result.mfaEnrollment, restart)
  // The next page's client restores the session from the cookie: nothing to carry over.
  location.assign(afterSignIn())
  return LEAVING
}

/** firstStepDone() for a form's submit: LEAVING, or undefined once the form says why not. */
async function signedIn(form, result, restart) {
  const outcome = await firstStepDone(result, restart)
  if (outcome === LEAVING) return LEAVING
  showFormError(form, outcome)
  return undefined
}

/**
 * Codes are digits: a pasted "123 456" or "123-456" is taken as 123456
 * (maxlength alone would keep "123 45"), and a typed letter is dropped.
 */
function acceptDigitsOnly(input) {
  input.addEventListener('paste', (event) => {
    const text = event.clipboardData?.getData('text') ?? ''
    const digits = text.replace(/\D/g, '')
    if (digits === text) return
    event.preventDefault()
    input.value = digits.slice(0, input.maxLength)
  })
  input.addEventListener('input', () => {
    const digits = input.value.replace(/\D/g, '')
    if (digits !== input.value) input.value = digits
  })
}

// Passkeys (docs/mfa.md, "Passkeys"): the client runs the browser's
// ceremonies (the server's options as JSON, the browser's answer back as
// JSON); the page decides where they are offered and words their failures.

/** Whether this browser can make and use passkeys at all: where the pages offer them. */
function webAuthnAvailable() {
  return (
    typeof PublicKeyCredential === 'function' &&
    typeof navigator.credentials?.create === 'function' &&
    typeof navigator.credentials?.get === 'function'
  )
}

/**
 * The words for a passkey ceremony the browser refused (`passkey_cancelled`,
 * or `unsupported` with the DOMException's name as its reason), or
 * undefined for any other error.
 */
function ceremonyText(error, kind) {
  if (!isCode(error, 'passkey_cancelled') && !isCode(error, 'unsupported')) return undefined
  return ceremonyErrorText(error.reason ?? '', kind)
}

// The sign-in's second step (docs/mfa.md), on /login, the code form and
// /login/link alike: the first step's `mfa` challenge in, verifyMfa() out,
// which signs in as the first step would have.

/**
 * Replaces the first step (#first-step) with a fresh copy of the second
 * (#mfa-template): a passkey when `methods` has one and the browser can use
 * it, else the authenticator app's code, with a switch to each other way
 * (a recovery code among them). The mfaToken stays in this closure: never
 * in the DOM, a URL or storage. When the step has run out (5 minutes, 5
 * wrong answers) it is removed and `restart(message)` shows the first step
 * again.
 */
function showSecondStep(challenge, restart) {
  const { mfaToken, methods } = challenge
  const firstStep = document.getElementById('first-step')
  const template = document.getElementById('mfa-template')
  document.getElementById('mfa-step')?.remove()
  document.getElementById('enrol-step')?.remove()
  template.after(template.content.cloneNode(true))
  const step = document.getElementById('mfa-step')
  firstStep.hidden = true
  const startedAt = performance.now()
  let wrongCodes = 0

  const forms = {
    totp: document.getElementById('mfa-totp'),
    recovery_code: document.getElementById('mfa-recovery'),
  }
  const views = { passkey: document.getElementById('mfa-passkey'), ...forms }
  const switches = {
    passkey: document.getElementById('mfa-use-passkey'),
    totp: document.getElementById('mfa-use-app'),
    recovery_code: document.getElementById('mfa-use-recovery'),
  }

  function end(message) {
    step.remove()
    firstStep.hidden = false
    restart?.(message)
  }

  /** Counts a wrong answer (`invalid_code`); true when that ended the step. */
  function refused(error) {
    if (!isCode(error, 'invalid_code')) return false
    wrongCodes += 1
    if (!secondStepOver(wrongCodes, startedAt, performance.now())) return false
    end('This sign-in has expired. Start again.')
    return true
  }

  const passkey = methods.includes('passkey') && offerPasskey(mfaToken, step, refused)
  const usable = Object.keys(views).filter(
    (method) => methods.includes(method) && (method !== 'passkey' || passkey),
  )

  /** Shows the way of `method` and a switch to each other usable one. */
  function use(method) {
    for (const [name, view] of Object.entries(views)) {
      view.hidden = name !== method
      switches[name].hidden = name === method || !usable.includes(name)
    }
    if (method === 'passkey') document.getElementById('mfa-passkey-button').focus()
    else forms[method].elements.namedItem('code').focus()
  }

  for (const [method, form] of Object.entries(forms)) {
    handleForm(
      form,
      async ({ code }) => {
        try {
          await (await client()).verifyMfa({ mfaToken, method, code })
        } catch (error) {
          if (refused(error)) return LEAVING
          throw error
        }
        location.assign(afterSignIn())
        return LEAVING
      },
      { invalid_code: { field: 'code', message: 'That code is not right.' } },
    )
  }
  for (const [method, button] of Object.entries(switches)) {
    button.addEventListener('click', () => {
      if (forms[method] !== undefined) clearErrors(forms[method])
      use(method)
    })
  }
  acceptDigitsOnly(forms.totp.elements.namedItem('code'))

  if (usable.length > 0) {
    use(usable[0])
  } else {
    for (const view of Object.values(views)) view.hidden = true
    document.getElementById('mfa-unavailable').hidden = false
  }
}

/**
 * The second step with a passkey, when the challenge offers one: "Use a
 * passkey" in `step`'s #mfa-passkey runs verifyMfa() with `method:
 * 'passkey'` (its options, the browser's prompt, the answer), which signs
 * in as the first step would have. A refused answer (`invalid_code`)
 * counts as a wrong code (`refused`). Returns whether it offered one (not
 * without WebAuthn).
 */
function offerPasskey(mfaToken, step, refused) {
  if (!webAuthnAvailable()) return false
  const button = step.querySelector('#mfa-passkey-button')
  const errorLine = step.querySelector('#mfa-passkey-error')

  button.addEventListener('click', async () => {
    setText(errorLine, '')
    button.disabled = true
    try {
      await (await client()).verifyMfa({ mfaToken, method: 'passkey' })
      location.assign(afterSignIn())
      return
    } catch (error) {
      if (refused(error)) return
      setText(
        errorLine,
        isCode(error, 'invalid_code')
          ? 'That passkey was not accepted. Try again, or use another way.'
          : (ceremonyText(error, 'get') ?? failureText(error)),
      )
    }
    button.disabled = false
    button.focus()
  })
  return true
}

// The enrolment step (TESSERA_MFA=required): a first step answered
// `mfaEnrollment` sets up an authenticator app, whose confirmation signs
// in as the first step would have, with the recovery codes, shown once
// before the page leaves.

/**
 * Replaces the first step with a fresh copy of #enrol-template: the app's
 * QR code and key (mfa.startTotpEnrollment), its first code, then the
 * recovery codes; "I saved them" goes on to afterSignIn() (the
 * confirmation set the refresh cookie). Resolves to LEAVING, or to a
 * message when the page has no such step; rejects when the start is
 * refused.
 */
async function showEnrolment(challenge, restart) {
  const { mfaToken } = challenge
  const template = document.getElementById('enrol-template')
  if (template === null) {
    return 'This account must set up two-step sign-in, which this page cannot do.'
  }
  const auth = await client()
  const key = await auth.mfa.startTotpEnrollment(mfaToken)

  const firstStep = document.getElementById('first-step')
  document.getElementById('mfa-step')?.remove()
  document.getElementById('enrol-step')?.remove()
  template.after(template.content.cloneNode(true))
  const step = document.getElementById('enrol-step')
  firstStep.hidden = true
  const setup = document.getElementById('totp-setup')
  const codesPanel = document.getElementById('recovery-show')
  const confirmForm = document.getElementById('totp-confirm')
  const startedAt = performance.now()
  let wrongCodes = 0
  let email = ''

  showTotpKey(key)
  setup.hidden = false
  const codes = wireRecoveryCodes(
    () => email,
    () => {
      location.assign(afterSignIn())
    },
  )

  acceptDigitsOnly(confirmForm.elements.namedItem('code'))
  handleForm(
    confirmForm,
    async ({ code }) => {
      let answer
      try {
        answer = await auth.mfa.confirmTotpEnrollment({ mfaToken, code })
      } catch (error) {
        if (isCode(error, 'invalid_code')) {
          wrongCodes += 1
          if (secondStepOver(wrongCodes, startedAt, performance.now(), ENROLMENT_MS)) {
            step.remove()
            firstStep.hidden = false
            restart?.('This sign-in has expired. Start again.')
            return LEAVING
          }
        }
        throw error
      }
      // Signed in: the refresh cookie came with this answer. The codes first.
      email = answer.session.user.email
      setup.hidden = true
      codesPanel.hidden = false
      codes.show(answer.recoveryCodes, 'Two-step sign-in is on. Save these recovery codes now.')
      return LEAVING
    },
    {
      invalid_code: {
        field: 'code',
        message:
          'That code is not right. Check that the phone sets its time automatically, then enter the code it shows now.',
      },
    },
  )
  document.getElementById('enrol-heading').focus()
  return LEAVING
}

function initLogin() {
  const form = document.getElementById('login')
  const password = form.elements.namedItem('password')
  // The second step ran out: the password again (the address stays).
  const restart = (message) => {
    password.value = ''
    form.querySelector('fieldset').disabled = false
    showFormError(form, message)
    password.focus()
  }
  const passkeys = initPasskeySignIn(form, restart)
  continueFederation(passkeys, restart)
  handleForm(
    form,
    async ({ email, password }) => {
      // The password it is: the passkey autofill gives way.
      passkeys.stopAutofill()
      const auth = await client()
      return signedIn(form, await auth.signInWithPassword({ email, password }), restart)
    },
    { invalid_credentials: 'The email or the password is not right.' },
  )
}

/**
 * The challenge a social login's callback left in the fragment of
 * `/login?reason=mfa_required` (or `mfa_enrollment_required`):
 * `#mfa_token=…&methods=totp,recovery_code`, or undefined. Exported for the
 * tests.
 */
export function federationChallenge(reason, hash) {
  if (reason !== 'mfa_required' && reason !== 'mfa_enrollment_required') return undefined
  const fragment = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash)
  const mfaToken = fragment.get('mfa_token') ?? ''
  if (mfaToken === '' || mfaToken.length > 4096) return undefined
  const methods = (fragment.get('methods') ?? '').split(',').filter(Boolean)
  return { kind: reason, challenge: { mfaToken, methods } }
}

/**
 * A social login whose account has a second factor ends on /login with the
 * MFA token in the fragment: the token leaves the URL at once (history,
 * bookmarks, a copied address), the notice that words the reason without
 * the script goes, and the second step (or the enrolment step) takes the
 * first's place, as after a password. `restart(message)` brings the first
 * step back, saying why.
 */
function continueFederation(passkeys, restart) {
  const reason = new URLSearchParams(location.search).get('reason')
  const found = federationChallenge(reason ?? '', location.hash)
  if (found === undefined) return
  history.replaceState(history.state, '', `${location.pathname}${location.search}`)
  passkeys.stopAutofill()
  document.getElementById('login-reason')?.remove()
  if (found.kind === 'mfa_required') {
    showSecondStep(found.challenge, restart)
    return
  }
  showEnrolment(found.challenge, restart).then(
    (outcome) => {
      if (outcome !== LEAVING) restart(outcome)
    },
    (error) => restart(failureText(error)),
  )
}

/**
 * "Sign in with a passkey" on /login, and passkey autofill: when the browser
 * can offer passkeys in the email field's suggestions (`autocomplete=
 * "username webauthn"`), a conditional request waits for the user to pick
 * one (the client asks for fresh options and checks that the browser can);
 * the button and the password form abort it. Without WebAuthn neither
 * exists. Returns `{ stopAutofill }`.
 */
function initPasskeySignIn(form, restart) {
  let autofill
  const stopAutofill = () => {
    autofill?.abort()
    autofill = undefined
  }
  const box = document.getElementById('passkey-sign-in')
  if (box === null || !webAuthnAvailable()) return { stopAutofill }
  const button = document.getElementById('passkey-button')

  /**
   * A sign-in with a passkey: LEAVING, a message to show, or undefined
   * (aborted; or, for the autofill, which the user did not ask for, any
   * failure before a passkey was chosen and refused).
   */
  async function passkeySignIn(options) {
    const quiet = options.mediation === 'conditional'
    let result
    try {
      result = await (await client()).signInWithPasskey(options)
    } catch (error) {
      if (!isClientError(error)) throw error
      if (isCode(error, 'passkey_cancelled') && error.reason === 'AbortError') return undefined
      const unchosen = isCode(error, 'passkey_cancelled') || isCode(error, 'unsupported')
      if (quiet && (unchosen || error.transient)) return undefined
      if (isCode(error, 'invalid_credentials')) return 'That passkey is not known here.'
      if (isCode(error, 'invalid_code')) return 'That took too long. Try again.'
      return ceremonyText(error, 'get') ?? errorText(error)
    }
    return firstStepDone(result, restart)
  }

  async function startAutofill() {
    if (autofill !== undefined || box.hidden) return
    const controller = new AbortController()
    autofill = controller
    let outcome
    try {
      outcome = await passkeySignIn({ mediation: 'conditional', signal: controller.signal })
    } catch {
      outcome = undefined // offline: the other ways remain
    }
    if (autofill === controller) autofill = undefined
    if (outcome === LEAVING || controller.signal.aborted || outcome === undefined) return
    // The user chose a passkey the server refused. The button remains (a
    // new request here could loop on an authenticator that answers by itself).
    showFormError(form, outcome)
  }

  button.addEventListener('click', async () => {
    stopAutofill()
    clearErrors(form)
    button.disabled = true
    try {
      const outcome = await passkeySignIn({})
      if (outcome === LEAVING) return
      if (outcome !== undefined) showFormError(form, outcome)
    } catch (failure) {
      showFormError(form, failureText(failure))
    }
    button.disabled = false
    button.focus()
  })
  box.hidden = false
  startAutofill()
  return { stopAutofill }
}

// /login?method=code: the address, then the 6-digit code mailed to it.

function initLoginCode() {
  const sendForm = document.getElementById('code-send')
  const verifyForm = document.getElementById('code-verify')
  const step = document.getElementById('code-step')
  const status = document.getElementById('code-status')
  const email = document.getElementById('code-verify-email')
  const code = document.getElementById('code-verify-code')
  const resend = document.getElementById('code-resend')
  const sentText = (address) =>
    `If an account exists for ${address}, we mailed it a 6-digit code and a sign-in link. They work for 10 minutes.`

  // signInWithOtp resolves whatever the address (202), so the page never
  // says whether an account exists.
  const send = async (address) => (await client()).signInWithOtp({ email: address })

  handleForm(sendForm, async (values) => {
    await send(values.email)
    email.value = values.email
    sendForm.hidden = true
    step.hidden = false
    setText(status, sentText(values.email))
    code.focus()
    return LEAVING
  })

  acceptDigitsOnly(code)
  // The second step ran out: the mailed code is spent, so back to the address.
  const restart = (message) => {
    code.value = ''
    step.hidden = true
    verifyForm.querySelector('fieldset').disabled = false
    sendForm.hidden = false
    sendForm.querySelector('fieldset').disabled = false
    showFormError(sendForm, message)
    sendForm.querySelector('input[name=email]').focus()
  }
  handleForm(
    verifyForm,
    async (values) => {
      const auth = await client()
      const result = await auth.verifyOtp({ email: values.email, code: values.code })
      return signedIn(verifyForm, result, restart)
    },
    { invalid_code: { field: 'code', message: 'That code is not right, or it expired.' } },
  )

  resend.addEventListener('click', async () => {
    clearErrors(verifyForm)
    resend.disabled = true
    try {
      await send(email.value)
      code.value = ''
      setText(status, `We mailed a new code. ${sentText(email.value)}`)
      code.focus()
    } catch (failure) {
      if (isClientError(failure)) showApiError(verifyForm, failure)
      else showFormError(verifyForm, failureText(failure))
    }
    resend.disabled = false
  })
  document.getElementById('code-restart').addEventListener('click', () => {
    clearErrors(verifyForm)
    code.value = ''
    step.hidden = true
    sendForm.hidden = false
    sendForm.querySelector('fieldset').disabled = false
    sendForm.querySelector('input[name=email]').focus()
  })
}

function initSignup() {
  const form = document.getElementById('signup')
  if (form === null) return // sign-ups are closed
  // The enrolment step (TESSERA_MFA=required) ran out: the account exists now.
  const restart = () => {
    form.querySelector('fieldset').disabled = false
    showFormError(form, 'This sign-in has expired. Log in to set up two-step sign-in and finish.')
  }
  handleForm(
    form,
    async ({ name, email, password }) => {
      const result = await (await client()).signUp({ name, email, password })
      if (result.verificationSent === true) {
        // TESSERA_EMAIL_VERIFICATION=required: no session until the address is verified.
        form.querySelector('fieldset').hidden = true
        showFormError(
          form,
          `If ${email} is new here, we mailed it a link to verify it: open it, then log in.`,
        )
        return LEAVING
      }
      return signedIn(form, result, restart)
    },
    {
      email_taken: { field: 'email', message: 'An account with this email already exists.' },
      forbidden: 'Sign-ups are closed on this server.',
    },
  )
}

function timeElement(iso) {
  return element('time', {
    dateTime: iso,
    textContent: relativeTime(Date.parse(iso), Date.now()),
    title: new Date(iso).toLocaleString(),
  })
}

/** This device first, then the most recently used. */
function bySessionOrder(a, b) {
  if (a.current !== b.current) return a.current ? -1 : 1
  return Date.parse(b.lastUsedAt) - Date.parse(a.lastUsedAt)
}

function renderSessions(sessions) {
  const list = document.getElementById('sessions-list')
  const items = sessions.toSorted(bySessionOrder).map((session) => {
    const device = deviceLabel(session.userAgent)
    const heading = element('div', { className: 'session-device' }, [
      element('strong', { textContent: device }),
    ])
    if (session.current) {
      heading.append(element('span', { className: 'badge', textContent: 'This device' }))
    }
    const meta = element('div', { className: 'session-meta' }, [
      `IP ${session.ip ?? 'unknown'} · last used `,
      timeElement(session.lastUsedAt),
      ' · signed in ',
      timeElement(session.createdAt),
    ])
    const agent = element('div', {
      className: 'session-agent',
      textContent: session.userAgent ?? 'No user agent',
    })
    const item = element('li', { className: 'session' }, [heading, meta, agent])
    item.dataset.sessionId = session.id
    if (!session.current) {
      const button = element('button', {
        type: 'button',
        className: 'secondary',
        textContent: 'Revoke',
      })
      button.setAttribute(
        'aria-label',
        `Revoke the session of ${device}, last used ${relativeTime(Date.parse(session.lastUsedAt), Date.now())}`,
      )
      button.addEventListener('click', () => revokeSession(session.id, button))
      item.append(button)
    }
    return item
  })
  list.replaceChildren(...items)
}

async function loadSessions() {
  let sessions
  try {
    sessions = await (await client()).sessions.list()
  } catch (error) {
    if (leaving) return
    if (!answered(error)) throw error
    const status = document.getElementById('sessions-status')
    setText(status, `The sessions could not be loaded: ${error.message}`)
    return
  }
  renderSessions(sessions)
}

async function revokeSession(id, button) {
  const status = document.getElementById('sessions-status')
  button.disabled = true
  try {
    try {
      await (await client()).sessions.revoke(id)
    } catch (error) {
      // not_found: it ended meanwhile, which is what was asked.
      if (!isCode(error, 'not_found')) throw error
    }
    await loadSessions()
    if (leaving) return
    // Said once the list shows it; the button is gone with its row, so the
    // focus goes somewhere meaningful.
    setText(status, 'Session revoked.')
    document.getElementById('sessions-heading').focus()
  } catch (error) {
    if (leaving) return
    setText(
      status,
      answered(error) ? `That session could not be revoked: ${error.message}` : failureText(error),
    )
    button.disabled = false
  }
}

/**
 * /account: the session (restored from the cookie), then the user and the
 * sections. No session sends the page to /login, saying why when the
 * refresh was refused rather than absent.
 */
async function loadAccount() {
  const status = document.getElementById('account-status')
  try {
    const auth = await client()
    let session
    try {
      session = await auth.getSession()
    } catch (error) {
      // A refused CSRF check: /login explains the duplicate cookie or the origin.
      if (!isCode(error, 'csrf_failed')) throw error
      goToLogin(csrfReason(error))
      return
    }
    if (session === null) {
      goToLogin(endedReason(restoreReason))
      return
    }
    const user = await auth.getUser()
    setText(document.getElementById('profile-name'), user.name ?? '—')
    setText(document.getElementById('profile-email'), user.email)
    showVerification(user)
    document.getElementById('password-username').value = user.email
    document.getElementById('reauth-username').value = user.email
    setText(document.getElementById('profile-roles'), user.roles.join(', ') || '—')
    const created = document.getElementById('profile-created')
    created.replaceChildren(
      element('time', {
        dateTime: user.createdAt,
        textContent: new Date(user.createdAt).toLocaleDateString(undefined, {
          dateStyle: 'long',
        }),
      }),
    )
    await Promise.all([loadSessions(), loadTwoStep(), loadApps(), loadIdentities()])
    if (leaving) return
    setText(status, '')
    document.getElementById('account').hidden = false
    showLinkOutcome()
  } catch (error) {
    if (leaving) return
    setText(status, failureText(error))
  }
}

/** This tab is signing out itself (signOut): its own SIGNED_OUT is no news. */
let signingOut = false

async function initAccount() {
  initReauth()
  initPasswordForm()
  initChangeEmailForm()
  initTwoStep()
  initVerificationButton()
  document.getElementById('sessions-reload').addEventListener('click', reloadSessions)
  document.getElementById('logout').addEventListener('click', () => signOut('local'))
  document.getElementById('logout-all').addEventListener('click', () => signOut('global'))
  // A session that ends while the page shows it (revoked, reused, signed out
  // in another tab of this browser, which the client hears on its channel)
  // sends the page to /login, which says why.
  try {
    const auth = await client()
    auth.onAuthStateChange((event, _session, { reason }) => {
      if (event === 'INITIAL_SESSION') restoreReason = reason
      if (event !== 'SIGNED_OUT' || signingOut || leaving) return
      if (reason === 'network') {
        // The token expired while the server was out of reach: the next call tries again.
        setText(document.getElementById('account-status'), NETWORK_ERROR)
        return
      }
      goToLogin(endedReason(reason))
    })
  } catch {
    // The package did not load: loadAccount says so.
  }
  loadAccount()
}

/** Whether the address is verified, and a way to get a new link when it is not. */
function showVerification(user) {
  const state = document.getElementById('profile-email-state')
  if (state === null) return // addresses are not verified on this server
  setText(state, user.emailVerified ? 'Verified' : 'Not verified')
  state.hidden = false
  document.getElementById('verify-email-send').hidden = user.emailVerified
}

function initVerificationButton() {
  const button = document.getElementById('verify-email-button')
  if (button === null) return
  button.addEventListener('click', async () => {
    const status = document.getElementById('verify-email-status')
    const email = document.getElementById('profile-email').textContent
    button.disabled = true
    try {
      await (await client()).resendVerification(email)
      setText(status, `We mailed a new link to ${email}. It works for 24 hours.`)
    } catch (error) {
      setText(status, failureText(error))
    } finally {
      button.disabled = false
    }
  })
}

function initChangeEmailForm() {
  const form = document.getElementById('change-email')
  if (form === null) return // the server cannot mail
  handleForm(
    form,
    async ({ newEmail, currentPassword }) => {
      const auth = await client()
      await change(() => auth.updateEmail({ newEmail, currentPassword }), form)
      for (const input of form.querySelectorAll('input')) input.value = ''
      setText(
        document.getElementById('change-email-status'),
        `We mailed a link to ${newEmail}; your address changes when you open it.`,
      )
      return undefined
    },
    { invalid_credentials: { field: 'currentPassword', message: 'This is not your password.' } },
  )
}

function initPasswordForm() {
  const form = document.getElementById('password')
  handleForm(
    form,
    async ({ currentPassword, newPassword }) => {
      const auth = await client()
      await change(() => auth.updatePassword({ currentPassword, newPassword }), form)
      for (const input of form.querySelectorAll('input[type=password]')) input.value = ''
      setText(
        document.getElementById('password-status'),
        'Password changed. Every other session has been signed out.',
      )
      await loadSessions()
      return undefined
    },
    { invalid_credentials: { field: 'currentPassword', message: 'This is not your password.' } },
  )
}

// Step-up (docs/mfa.md): changing the password, the email or a second
// factor needs a recent sign-in (TESSERA_REAUTH_WINDOW); an older session
// is refused `reauthentication_required`, and the page asks for the
// password in place, next to the change, then makes the change again.

/** The open prompt's outcome, to be resolved: true (confirmed), false (cancelled) or LEAVING. */
let settleReauth
/** The open prompt, shared by the changes asked while it is open. */
let reauthPrompt

/**
 * Runs `run` (a change that needs a recent sign-in); refused with
 * `reauthentication_required`, it asks for the password next to `near`
 * (the change's form or controls), then runs it once more. A cancelled
 * prompt rejects with that refusal, which the pages word "Nothing was
 * changed" (COMMON_MESSAGES).
 */
async function change(run, near) {
  try {
    return await run()
  } catch (error) {
    if (!isCode(error, 'reauthentication_required')) throw error
    if ((await confirmItsYou(near)) !== true) throw error
    return run()
  }
}

/** Shows the "Confirm it's you" form after `near` and resolves with its outcome. */
function confirmItsYou(near) {
  reauthPrompt ??= new Promise((resolve) => {
    const panel = document.getElementById('reauth-panel')
    const form = document.getElementById('reauth')
    const password = form.elements.namedItem('password')
    near.after(panel)
    clearErrors(form)
    password.value = ''
    form.querySelector('fieldset').disabled = false
    panel.hidden = false
    password.focus()
    settleReauth = (outcome) => {
      panel.hidden = true
      password.value = ''
      settleReauth = undefined
      reauthPrompt = undefined
      resolve(outcome)
    }
  })
  return reauthPrompt
}

function initReauth() {
  const form = document.getElementById('reauth')
  handleForm(
    form,
    async ({ password }) => {
      try {
        // A new access token, whose authentication time is now; the refresh token stays.
        await (await client()).reauthenticate({ password })
      } catch (error) {
        if (leaving) settleReauth?.(LEAVING)
        throw error
      }
      settleReauth?.(true)
      return LEAVING
    },
    { invalid_credentials: { field: 'password', message: 'This is not your password.' } },
  )
  const cancel = () => settleReauth?.(false)
  document.getElementById('reauth-cancel').addEventListener('click', cancel)
  document.getElementById('reauth-panel').addEventListener('keydown', (event) => {
    if (event.key === 'Escape') cancel()
  })
}

// "Two-step sign-in" on /account: the state (mfa.getFactors), then setting
// up an authenticator app, the recovery codes, turning the app off, and
// the passkeys.

async function loadTwoStep() {
  let state
  let passkeys
  try {
    const auth = await client()
    ;[state, passkeys] = await Promise.all([auth.mfa.getFactors(), auth.passkeys.list()])
  } catch (error) {
    if (leaving) return
    if (!answered(error)) throw error
    setText(document.getElementById('two-step-error'), errorText(error))
    return
  }
  renderPasskeys(passkeys)
  const protectedAccount = state.totp || state.passkeys > 0
  setText(document.getElementById('two-step-app'), state.totp ? 'On' : 'Off')
  document.getElementById('two-step-codes-row').hidden = !protectedAccount
  setText(document.getElementById('two-step-codes'), recoveryCodesLeft(state.recoveryCodes))
  document.getElementById('totp-start').hidden = state.totp
  document.getElementById('recovery-replace').hidden = !protectedAccount
  document.getElementById('totp-remove').hidden = !state.totp
}

/** The passkeys the list shows, for the default name of a new one. */
let passkeyList = []
/** What the passkeys' Rename and Remove buttons do (set by initTwoStep). */
const passkeyActions = { rename: () => {}, remove: () => {} }

function renderPasskeys(passkeys) {
  passkeyList = passkeys
  document.getElementById('passkeys-none').hidden = passkeys.length > 0
  const items = passkeys.map((passkey) => {
    const heading = element('div', { className: 'passkey-name' }, [
      element('strong', { textContent: passkey.name }),
      element('span', { className: 'badge', textContent: passkeyKind(passkey) }),
    ])
    const meta = element('div', { className: 'passkey-meta' }, [
      'added ',
      timeElement(passkey.createdAt),
      ' · ',
      ...(passkey.lastUsedAt === null
        ? ['never used']
        : ['last used ', timeElement(passkey.lastUsedAt)]),
    ])
    const rename = element('button', {
      type: 'button',
      className: 'secondary',
      textContent: 'Rename',
    })
    rename.setAttribute('aria-label', `Rename the passkey ${passkey.name}`)
    rename.addEventListener('click', () => passkeyActions.rename(passkey, rename))
    const remove = element('button', { type: 'button', className: 'danger', textContent: 'Remove' })
    remove.setAttribute('aria-label', `Remove the passkey ${passkey.name}`)
    remove.addEventListener('click', () => passkeyActions.remove(passkey, remove))
    const item = element('li', { className: 'passkey' }, [
      heading,
      meta,
      element('div', { className: 'actions' }, [rename, remove]),
    ])
    item.dataset.passkeyId = passkey.id
    return item
  })
  document.getElementById('passkeys-list').replaceChildren(...items)
}

/** Shows a new authenticator app's QR code, key and otpauth:// link (/account and the enrolment step). */
function showTotpKey({ secret, otpauthUrl, qrSvg }) {
  document.getElementById('totp-qr').src = svgDataUrl(qrSvg)
  setText(document.getElementById('totp-secret'), groupSecret(secret))
  const link = document.getElementById('totp-link')
  // The apps' own URI scheme; nothing else may become a link.
  const appLink = String(otpauthUrl).startsWith('otpauth://')
  link.parentElement.hidden = !appLink
  if (appLink) link.href = otpauthUrl
  else link.removeAttribute('href')
  const confirmForm = document.getElementById('totp-confirm')
  clearErrors(confirmForm)
  confirmForm.elements.namedItem('code').value = ''
  confirmForm.querySelector('fieldset').disabled = false
}

/**
 * Wires the recovery codes' panel (#recovery-show): Copy, Download (a file
 * naming `email()`), and "I saved them", which forgets them and calls
 * `done()`. Returns `{ show(codes, lead) }`, which fills the panel (the
 * caller makes it visible) and moves the focus to its heading.
 */
function wireRecoveryCodes(email, done) {
  const codesStatus = document.getElementById('recovery-status')
  const list = document.getElementById('recovery-list')
  /** The codes on show, for Copy and Download; forgotten once saved. */
  let shownCodes = []

  document.getElementById('recovery-copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(shownCodes.join('\n'))
      setText(codesStatus, 'Copied. Paste them somewhere safe.')
    } catch {
      setText(
        codesStatus,
        'This browser did not let the page copy them: select the codes and copy them, or download them.',
      )
    }
  })
  document.getElementById('recovery-download').addEventListener('click', () => {
    const text = recoveryCodesText(shownCodes, {
      email: email(),
      site: location.host,
      date: new Date().toLocaleString(),
    })
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }))
    const name = `recovery-codes-${location.hostname}.txt`
    const link = element('a', { href: url, download: name, hidden: true })
    document.body.append(link)
    link.click()
    link.remove()
    // After the download has started; the URL would keep the codes in memory.
    setTimeout(() => URL.revokeObjectURL(url), 60_000)
    setText(codesStatus, `Downloaded as ${name}.`)
  })
  document.getElementById('recovery-done').addEventListener('click', async () => {
    shownCodes = []
    list.replaceChildren()
    await done()
  })

  return {
    show(codes, lead) {
      shownCodes = codes
      list.replaceChildren(
        ...codes.map((code) => element('li', {}, [element('code', { textContent: code })])),
      )
      setText(document.getElementById('recovery-lead'), lead)
      setText(codesStatus, '')
      document.getElementById('recovery-heading').focus()
    },
  }
}

function initTwoStep() {
  const heading = document.getElementById('two-step-heading')
  const status = document.getElementById('two-step-status')
  const error = document.getElementById('two-step-error')
  const actions = document.getElementById('two-step-actions')
  const setup = document.getElementById('totp-setup')
  const confirmForm = document.getElementById('totp-confirm')
  const removal = document.getElementById('totp-remove-confirm')
  const codesPanel = document.getElementById('recovery-show')
  const start = document.getElementById('totp-start')
  const remove = document.getElementById('totp-remove')
  const addPanel = document.getElementById('passkey-add-panel')
  const renamePanel = document.getElementById('passkey-rename-panel')
  const passkeyRemoval = document.getElementById('passkey-remove-confirm')

  /** Shows `panel` (or the actions, for undefined) and nothing else of the section. */
  function show(panel) {
    const panels = [setup, removal, codesPanel, addPanel, renamePanel, passkeyRemoval]
    for (const part of panels) part.hidden = part !== panel
    actions.hidden = panel !== undefined
    setText(error, '')
  }

  /** The state again, then `message` in the status line with the focus on the heading. */
  async function settle(message) {
    show(undefined)
    await loadTwoStep()
    setText(status, message)
    heading.focus()
  }

  /** Runs a button's change: the button is disabled meanwhile, a failure shown. */
  function onClick(button, run) {
    button.addEventListener('click', async () => {
      setText(status, '')
      setText(error, '')
      button.disabled = true
      try {
        await run()
      } catch (failure) {
        if (leaving) return
        setText(error, failureText(failure))
      }
      button.disabled = false
      // A cancelled "Confirm it's you" hid the focused field (the browser may
      // not have moved the focus to <body> yet): back to the button.
      const focused = document.activeElement
      if (focused === null || focused === document.body || focused.closest('[hidden]') !== null) {
        button.focus()
      }
    })
  }

  const codes = wireRecoveryCodes(
    () => document.getElementById('profile-email').textContent,
    () => settle('Two-step sign-in is on. Keep your recovery codes safe.'),
  )
  function showCodes(recoveryCodes, lead) {
    show(codesPanel)
    codes.show(recoveryCodes, lead)
  }

  onClick(start, async () => {
    const auth = await client()
    showTotpKey(await change(() => auth.mfa.enrollTotp(), actions))
    show(setup)
    document.getElementById('totp-setup-heading').focus()
  })

  acceptDigitsOnly(confirmForm.elements.namedItem('code'))
  handleForm(
    confirmForm,
    async ({ code }) => {
      const auth = await client()
      const { recoveryCodes } = await change(() => auth.mfa.confirmTotp(code), confirmForm)
      await loadTwoStep()
      showCodes(recoveryCodes, 'The authenticator app is on. Save these recovery codes now.')
      return LEAVING
    },
    {
      invalid_code: {
        field: 'code',
        message:
          'That code is not right. Check that the phone sets its time automatically, then enter the code it shows now.',
      },
      not_found: 'This setup is over (it was finished or cancelled elsewhere). Start again.',
    },
  )
  document.getElementById('totp-cancel').addEventListener('click', () => {
    // The unconfirmed key protects nothing; a new setup replaces it.
    show(undefined)
    start.focus()
  })

  const replace = document.getElementById('recovery-replace')
  onClick(replace, async () => {
    const auth = await client()
    const { recoveryCodes } = await change(() => auth.mfa.regenerateRecoveryCodes(), actions)
    await loadTwoStep()
    showCodes(recoveryCodes, 'Here are your new recovery codes; the old ones no longer work.')
  })

  remove.addEventListener('click', () => {
    setText(status, '')
    show(removal)
    document.getElementById('totp-remove-question').focus()
  })
  document.getElementById('totp-remove-no').addEventListener('click', () => {
    show(undefined)
    remove.focus()
  })
  const removeYes = document.getElementById('totp-remove-yes')
  onClick(removeYes, async () => {
    const auth = await client()
    // not_found: it was off already (removed in another tab): the state says so.
    await ignoreGone(change(() => auth.mfa.removeTotp(), removal))
    await settle('The authenticator app is off: signing in needs only your password again.')
  })

  initPasskeys({ show, settle, onClick, showCodes, status })
}

/** A removal's promise, with `not_found` (removed already, in another tab) taken as done. */
async function ignoreGone(removal) {
  try {
    await removal
  } catch (error) {
    if (!isCode(error, 'not_found')) throw error
  }
}

/**
 * The passkeys of "Two-step sign-in": add one (a name, then the browser's
 * ceremony, which passkeys.register() runs; the account's first factor
 * brings the recovery codes), rename one, remove one (asked first). Every
 * change goes through change(), so an old sign-in is asked to confirm it's
 * you first.
 */
function initPasskeys({ show, settle, onClick, showCodes, status }) {
  const add = document.getElementById('passkey-add-start')
  const addForm = document.getElementById('passkey-add')
  const renameForm = document.getElementById('passkey-rename')
  const removeName = document.getElementById('passkey-remove-name')
  const removeYes = document.getElementById('passkey-remove-yes')
  /** The passkey being renamed or removed, and the button that asked. */
  let target
  let asker

  if (webAuthnAvailable()) {
    add.hidden = false
  } else {
    document.getElementById('passkey-unsupported').hidden = false
  }

  /** Opens a panel whose form starts with `name`; the focus goes to the field. */
  function openForm(panel, form, name) {
    setText(status, '')
    clearErrors(form)
    const field = form.elements.namedItem('name')
    field.value = name
    form.querySelector('fieldset').disabled = false
    show(panel)
    field.focus()
    field.select()
  }

  add.addEventListener('click', () => {
    const name = defaultPasskeyName(
      navigator.userAgent,
      passkeyList.map((passkey) => passkey.name),
    )
    openForm(document.getElementById('passkey-add-panel'), addForm, name)
  })
  document.getElementById('passkey-add-cancel').addEventListener('click', () => {
    show(undefined)
    add.focus()
  })
  handleForm(
    addForm,
    async ({ name }) => {
      const auth = await client()
      let passkey
      try {
        passkey = await change(() => auth.passkeys.register({ name }), addForm)
      } catch (error) {
        const refused = ceremonyText(error, 'create')
        if (refused === undefined) throw error
        showFormError(addForm, refused)
        return undefined
      }
      if (Array.isArray(passkey.recoveryCodes)) {
        await loadTwoStep()
        showCodes(
          passkey.recoveryCodes,
          `The passkey “${passkey.name}” is added. Save these recovery codes now.`,
        )
        return LEAVING
      }
      await settle(`The passkey “${passkey.name}” is added.`)
      return LEAVING
    },
    {
      forbidden: 'This passkey is registered already.',
      invalid_code: 'That took too long. Try again.',
    },
  )

  passkeyActions.rename = (passkey, button) => {
    target = passkey
    asker = button
    openForm(document.getElementById('passkey-rename-panel'), renameForm, passkey.name)
  }
  document.getElementById('passkey-rename-cancel').addEventListener('click', () => {
    show(undefined)
    asker?.focus()
  })
  handleForm(
    renameForm,
    async ({ name }) => {
      const auth = await client()
      const renamed = await change(() => auth.passkeys.rename(target.id, name), renameForm)
      await settle(`The passkey is now called “${renamed.name}”.`)
      return LEAVING
    },
    { not_found: 'This passkey is gone: it was removed elsewhere.' },
  )

  passkeyActions.remove = (passkey, button) => {
    target = passkey
    asker = button
    setText(status, '')
    setText(removeName, passkey.name)
    show(document.getElementById('passkey-remove-confirm'))
    document.getElementById('passkey-remove-question').focus()
  }
  document.getElementById('passkey-remove-no').addEventListener('click', () => {
    show(undefined)
    asker?.focus()
  })
  onClick(removeYes, async () => {
    const auth = await client()
    const near = document.getElementById('passkey-remove-confirm')
    // not_found: removed already (in another tab): the list says so.
    await ignoreGone(change(() => auth.passkeys.remove(target.id), near))
    await settle(`The passkey “${target.name}” is removed.`)
  })
}

// "Apps with access": the third-party OAuth clients the user allowed
// (GET /auth/consents), each with "Remove access" (DELETE, which also signs
// the app out).

function renderApps(consents) {
  const items = consents.map((consent) => {
    const name = element('strong', { className: 'app-name', textContent: consent.clientName })
    const scopes = element('div', {
      className: 'app-scopes',
      textContent: consent.scopes.map(scopeText).join(' · '),
    })
    const meta = element('div', { className: 'app-meta' }, [
      'Allowed ',
      timeElement(consent.grantedAt),
    ])
    const button = element('button', {
      type: 'button',
      className: 'secondary',
      textContent: 'Remove access',
    })
    button.setAttribute('aria-label', `Remove the access of ${consent.clientName}`)
    button.addEventListener('click', () => removeApp(consent, button))
    const item = element('li', { className: 'app' }, [name, scopes, meta, button])
    item.dataset.clientId = consent.clientId
    return item
  })
  document.getElementById('apps-list').replaceChildren(...items)
  document.getElementById('apps-none').hidden = consents.length > 0
}

async function loadApps() {
  let consents
  try {
    consents = await (await client()).consents.list()
  } catch (error) {
    if (leaving) return
    if (!answered(error)) throw error
    const status = document.getElementById('apps-status')
    setText(status, `The apps could not be loaded: ${error.message}`)
    return
  }
  renderApps(consents)
}

// "Connected accounts" (social login, docs/social-login.md): the user's
// identities at providers (GET /auth/identities), each with "Disconnect"
// (DELETE /auth/identities/:provider), and "Connect <name>" for each
// configured provider (GET /auth/providers) not connected yet: POST
// /auth/providers/:id/link answers the provider's URL (and sets the flow
// cookie), the browser goes there, and the callback comes back to
// /account?linked=<id>, or /account?reason=<why>&provider=<id>. Both are
// changes that need a recent sign-in (change()).

/** The configured providers ({ id, name, kind }), in the server's order. */
let providerList = []

/** The name the pages give provider `id`: its configured one, else a neutral phrase. */
function providerName(id) {
  return providerList.find((provider) => provider.id === id)?.name ?? 'your identity provider'
}

/**
 * A call of the signed-in user's own API through the client (the access
 * token attached, refreshed once when refused): the JSON answer, or the
 * refusal thrown as the client's error with the server's code.
 */
async function accountCall(path, init = {}) {
  const auth = await client()
  const response = await auth.fetch(path, init)
  if (response.ok) return response.status === 204 ? undefined : await response.json()
  let body
  try {
    body = await response.json()
  } catch {
    // Not the API's JSON (a proxy's page): the status must do.
  }
  const refusal = body?.error
  throw new TesseraError({
    code: typeof refusal?.code === 'string' ? refusal.code : 'bad_response',
    message:
      typeof refusal?.message === 'string'
        ? refusal.message
        : `The server answered ${response.status}.`,
    status: response.status,
  })
}

function renderIdentities(identities) {
  const items = identities.map((identity) => {
    const name = element('strong', { className: 'app-name', textContent: identity.providerName })
    const email = element('div', {
      className: 'app-scopes',
      textContent: identity.email ?? 'No email address shared',
    })
    const meta = element('div', { className: 'app-meta' }, [
      'Connected ',
      timeElement(identity.createdAt),
      ...(identity.lastUsedAt === null ? [] : [' · last used ', timeElement(identity.lastUsedAt)]),
    ])
    const button = element('button', {
      type: 'button',
      className: 'secondary',
      textContent: 'Disconnect',
    })
    button.setAttribute('aria-label', `Disconnect ${identity.providerName}`)
    button.addEventListener('click', () => disconnectIdentity(identity, button))
    const item = element('li', { className: 'app' }, [name, email, meta, button])
    item.dataset.provider = identity.provider
    return item
  })
  document.getElementById('identities-list').replaceChildren(...items)
  document.getElementById('identities-none').hidden = identities.length > 0
  renderConnectButtons(identities)
}

/** "Connect <name>" for each configured provider the account has no identity at. */
function renderConnectButtons(identities) {
  const connected = new Set(identities.map((identity) => identity.provider))
  const items = providerList
    .filter((provider) => !connected.has(provider.id))
    .map((provider) => {
      const button = element('button', {
        type: 'button',
        className: 'secondary',
        textContent: `Connect ${provider.name}`,
      })
      button.dataset.provider = provider.id
      button.addEventListener('click', () => connectProvider(provider, button))
      return element('li', {}, [button])
    })
  document.getElementById('identities-providers').replaceChildren(...items)
  document.getElementById('identities-connect').hidden = items.length === 0
}

/** Fills "Connected accounts" when the page has it (identity providers are configured). */
async function loadIdentities() {
  if (document.getElementById('identities-list') === null) return
  const status = document.getElementById('identities-status')
  let identities
  try {
    const [mine, configured] = await Promise.all([
      accountCall('/auth/identities'),
      fetch('/auth/providers', { headers: { accept: 'application/json' } }).then((response) =>
        response.ok ? response.json() : { providers: [] },
      ),
    ])
    identities = mine.identities
    providerList = Array.isArray(configured.providers) ? configured.providers : []
  } catch (error) {
    if (leaving) return
    if (!answered(error)) throw error
    setText(status, `The connected accounts could not be loaded: ${error.message}`)
    return
  }
  renderIdentities(identities)
}

/**
 * What a link that started here came back with (/account?linked=<id>, or
 * ?reason=<why>&provider=<id>), worded from the page's own table (the
 * template #identities-outcomes) with the provider's configured name; the
 * query is then dropped, so a reload does not say it again.
 */
function showLinkOutcome() {
  const outcomes = document.getElementById('identities-outcomes')
  if (outcomes === null) return
  const query = new URLSearchParams(location.search)
  const linked = query.get('linked')
  const reason = query.get('reason')
  if (linked === null && reason === null) return
  const key = linked === null ? reason : 'linked'
  const entries = [...outcomes.content.children]
  const entry =
    entries.find((candidate) => candidate.dataset.outcome === key) ??
    entries.find((candidate) => candidate.dataset.outcome === 'other')
  const notice = document.getElementById('identities-notice')
  // Text only: the name is the configured one, never the URL's.
  notice.textContent = entry.textContent.replaceAll(
    '{provider}',
    providerName(linked ?? query.get('provider') ?? ''),
  )
  notice.className = linked === null ? 'status bad' : 'status ok'
  notice.hidden = false
  history.replaceState(history.state, '', location.pathname)
  notice.focus()
}

async function connectProvider(provider, button) {
  const status = document.getElementById('identities-status')
  setText(status, '')
  button.disabled = true
  try {
    const path = `/auth/providers/${encodeURIComponent(provider.id)}/link`
    const near = document.getElementById('identities-connect')
    const { url } = await change(() => accountCall(path, { method: 'POST' }), near)
    // The provider's own page; the flow cookie came with the answer.
    if (!/^https?:\/\//i.test(url)) throw new Error('not a web address')
    leaving = true
    location.assign(url)
  } catch (error) {
    if (leaving) return
    let text
    if (isCode(error, 'provider_unavailable')) {
      text = `${provider.name} could not be reached. Try again later.`
    } else if (answered(error)) {
      text = `${provider.name} could not be connected. ${errorText(error)}`
    } else {
      text = failureText(error)
    }
    setText(status, text)
    button.disabled = false
    button.focus()
  }
}

async function disconnectIdentity(identity, button) {
  const status = document.getElementById('identities-status')
  setText(status, '')
  button.disabled = true
  try {
    const path = `/auth/identities/${encodeURIComponent(identity.provider)}`
    const near = document.getElementById('identities-list')
    // not_found: disconnected already (in another tab): the list says so.
    await ignoreGone(change(() => accountCall(path, { method: 'DELETE' }), near))
    await loadIdentities()
    if (leaving) return
    // The button is gone with its row: the focus goes to the section.
    setText(status, `${identity.providerName} is disconnected.`)
    document.getElementById('identities-heading').focus()
  } catch (error) {
    if (leaving) return
    let text
    if (isCode(error, 'last_sign_in_method')) {
      text = `${identity.providerName} can’t be disconnected: it is the only way to sign in to this account. Set a password (“Forgot your password?” on the login page mails you a link) or add a passkey first.`
    } else if (answered(error)) {
      text = `${identity.providerName} could not be disconnected. ${errorText(error)}`
    } else {
      text = failureText(error)
    }
    setText(status, text)
    button.disabled = false
    button.focus()
  }
}

async function removeApp(consent, button) {
  const status = document.getElementById('apps-status')
  setText(status, '')
  button.disabled = true
  try {
    // not_found: removed meanwhile (another tab): the list below says so anyway.
    await ignoreGone((await client()).consents.revoke(consent.clientId))
    await loadApps()
    if (leaving) return
    // The button is gone with its row: the focus goes to the section.
    setText(status, `${consent.clientName} no longer has access.`)
    document.getElementById('apps-heading').focus()
  } catch (error) {
    if (leaving) return
    setText(
      status,
      answered(error) ? `That access could not be removed: ${error.message}` : failureText(error),
    )
    button.disabled = false
  }
}

async function reloadSessions() {
  const status = document.getElementById('sessions-status')
  setText(status, '')
  try {
    await loadSessions()
  } catch (error) {
    if (leaving) return
    setText(status, failureText(error))
  }
}

/**
 * "Log out" (`local`: this browser's session, which the cookie names even
 * once the access token has expired) or "Log out everywhere" (`global`:
 * every session of the user). Once done, this tab goes to /login; the
 * client tells the other tabs, which go there too.
 */
async function signOut(scope) {
  const error = document.getElementById('signout-error')
  setText(error, '')
  signingOut = true
  try {
    await (await client()).signOut({ scope })
  } catch (failure) {
    signingOut = false
    if (leaving) return
    setText(
      error,
      answered(failure) ? `Logging out failed: ${failure.message}` : failureText(failure),
    )
    return
  }
  leaving = true
  location.assign('/login')
}

// /forgot-password and /reset-password.

function initForgotPassword() {
  const form = document.getElementById('forgot')
  handleForm(form, async ({ email }) => {
    await (await client()).resetPasswordForEmail(email)
    // Resolved whatever the address: the same words for every address.
    form.hidden = true
    const status = document.getElementById('forgot-status')
    setText(
      status,
      `If an account exists for ${email}, we mailed it a link to choose a new password. The link works for 1 hour.`,
    )
    status.focus()
    return LEAVING
  })
}

/** The token of a mailed link: the page was rendered with its controls only when it is well-formed. */
function linkToken() {
  return new URLSearchParams(location.search).get('token') ?? ''
}

function initResetPassword() {
  const form = document.getElementById('reset')
  if (form === null) return // the link is not complete: no form
  handleForm(form, async ({ newPassword }) => {
    try {
      await (await client()).resetPassword({ token: linkToken(), newPassword })
    } catch (error) {
      if (!isCode(error, 'invalid_code')) throw error
      // The link is spent: the form can do nothing more.
      form.querySelector('fieldset').hidden = true
      document
        .getElementById('reset-error')
        .replaceChildren(
          'This link has expired or was already used. ',
          element('a', { href: '/forgot-password', textContent: 'Ask for a new link' }),
          '.',
        )
      return LEAVING
    }
    location.assign('/login?reason=password_changed')
    return LEAVING
  })
}

// The pages of mailed links (/verify-email, /login/link, /confirm-email):
// the token is posted only when the user presses the button (a GET of the
// link, such as a mail scanner's, consumes nothing).

/**
 * Wires the button of a mailed link's page: `submit(token)` resolves to
 * `{ done: text }` (shown, with the page's next link), `{ message }` (shown,
 * the button left to try again) or LEAVING, or rejects. An expired or used
 * link (`invalid_code`) says so and offers the way on; any other failure
 * leaves the button to try again.
 */
function initMailedLink(busy, submit) {
  const button = document.getElementById('link-button')
  if (button === null) return // the link is not complete: no button
  const status = document.getElementById('link-status')
  const show = (id) => {
    button.hidden = true
    const next = document.getElementById(id)
    if (next !== null) next.hidden = false
  }
  button.addEventListener('click', async () => {
    button.disabled = true
    setText(status, busy)
    try {
      const outcome = await submit(linkToken())
      if (outcome === LEAVING) return
      setText(status, outcome.done ?? outcome.message)
      if (outcome.done !== undefined) {
        show('link-done')
        return
      }
    } catch (failure) {
      if (isCode(failure, 'invalid_code')) {
        setText(status, 'This link has expired or was already used. Ask for a new one.')
        show('link-spent')
        return
      }
      setText(status, failureText(failure))
    }
    button.disabled = false
  })
  button.disabled = false
}

function initVerifyEmail() {
  initMailedLink('Verifying…', async (token) => {
    await (await client()).verifyEmail(token)
    return { done: 'Your email address is verified.' }
  })
}

function initLoginLink() {
  // The second step ran out: the link is spent, so back to /login.
  const restart = (message) => {
    document.getElementById('link-button').hidden = true
    setText(document.getElementById('link-status'), message)
    const spent = document.getElementById('link-spent')
    spent.hidden = false
    spent.querySelector('a').focus()
  }
  initMailedLink('Signing in…', async (token) => {
    const outcome = await firstStepDone(await (await client()).verifyOtp({ token }), restart)
    return outcome === LEAVING ? LEAVING : { message: outcome }
  })
}

function initConfirmEmail() {
  initMailedLink('Confirming…', async (token) => {
    const user = await (await client()).confirmEmailChange(token)
    return { done: `Your email address is now ${user.email}.` }
  })
}

// The inspector: everything happens here; the only request is for the JWKS.

let jwks
function fetchJwks(reload = false) {
  if (reload || jwks === undefined) {
    jwks = fetch('/.well-known/jwks.json', {
      credentials: 'omit',
      cache: reload ? 'no-cache' : 'default',
    }).then((response) => {
      if (!response.ok) throw new Error(`the JWKS answered ${response.status}`)
      return response.json()
    })
    jwks.catch(() => {
      jwks = undefined
    })
  }
  return jwks
}

/** Checks the signature against this server's JWKS: `{ ok, text }`. */
async function verifySignature(decoded) {
  const { alg, kid } = decoded.header
  if (typeof alg !== 'string') {
    return { ok: false, text: 'The header names no algorithm ("alg"): this is not a signed token.' }
  }
  if (alg === 'none') return { ok: false, text: 'Unsigned token (alg "none"): never accept it.' }
  if (/^HS/.test(alg)) {
    return {
      ok: false,
      text: `${alg} is signed with a shared secret, which a JWKS does not publish: not checked here.`,
    }
  }
  let keys = (await fetchJwks()).keys ?? []
  let key = keys.find((candidate) => candidate.kid === kid)
  if (key === undefined) {
    keys = (await fetchJwks(true)).keys ?? []
    key = keys.find((candidate) => candidate.kid === kid)
  }
  if (key === undefined) {
    return { ok: false, text: `No key of this server has the kid ${JSON.stringify(kid)}.` }
  }
  // RFC 8725 §3.1: the key decides the algorithm, not the token.
  if (key.alg !== undefined && key.alg !== alg) {
    return { ok: false, text: `Key ${kid} is for ${key.alg}, but the token says ${alg}.` }
  }
  const params = webCryptoParams(alg, key)
  if (params === undefined) {
    return { ok: false, text: `This browser check does not support ${alg}.` }
  }
  let cryptoKey
  try {
    const { alg: _alg, use: _use, key_ops: _ops, ...material } = key
    cryptoKey = await crypto.subtle.importKey('jwk', material, params.importParams, false, [
      'verify',
    ])
  } catch {
    return { ok: false, text: `Key ${kid} could not be imported by this browser.` }
  }
  const valid = await crypto.subtle.verify(
    params.verifyParams,
    cryptoKey,
    decoded.signature,
    decoded.signingInput,
  )
  return valid
    ? { ok: true, text: `Signature verified with this server's key ${kid} (${alg}).` }
    : {
        ok: false,
        text: `The signature does not match key ${kid}: the token was altered or forged.`,
      }
}

function claimChecks(payload, issuer, now) {
  const checks = []
  const seconds = now / 1000
  if (typeof payload.exp === 'number') {
    const when = relativeTime(payload.exp * 1000, now)
    checks.push(
      payload.exp > seconds
        ? { ok: true, text: `Expires ${when} (${new Date(payload.exp * 1000).toLocaleString()}).` }
        : {
            ok: false,
            text: `Expired ${when} (${new Date(payload.exp * 1000).toLocaleString()}).`,
          },
    )
  } else {
    checks.push({ ok: false, text: 'No exp claim: this token never expires.' })
  }
  if (typeof payload.nbf === 'number' && payload.nbf > seconds) {
    checks.push({
      ok: false,
      text: `Not valid before ${new Date(payload.nbf * 1000).toLocaleString()}.`,
    })
  }
  if (typeof payload.iat === 'number') {
    checks.push({ info: true, text: `Issued ${relativeTime(payload.iat * 1000, now)}.` })
  }
  if (payload.iss === issuer) {
    checks.push({ ok: true, text: `Issued by this server (${issuer}).` })
  } else {
    checks.push({
      ok: false,
      text: `Issuer ${JSON.stringify(payload.iss)} is not this server (${issuer}).`,
    })
  }
  return checks
}

function initInspect() {
  const input = document.getElementById('inspect-token')
  const status = document.getElementById('inspect-status')
  const result = document.getElementById('inspect-result')
  const checksList = document.getElementById('inspect-checks')
  const issuer = document.body.dataset.issuer ?? ''
  let latest = 0

  const show = (checks) =>
    checksList.replaceChildren(
      ...checks.map((check) =>
        element('li', {
          className: check.info ? 'info' : check.ok ? 'ok' : 'bad',
          textContent: check.text,
        }),
      ),
    )

  async function inspect() {
    const run = ++latest
    const token = input.value.trim()
    status.className = 'status'
    if (token === '') {
      setText(status, '')
      result.hidden = true
      return
    }
    let decoded
    try {
      decoded = decodeJwt(token)
    } catch (error) {
      status.className = 'status bad'
      setText(status, error.message)
      result.hidden = true
      return
    }
    setText(document.getElementById('inspect-header'), JSON.stringify(decoded.header, null, 2))
    setText(document.getElementById('inspect-payload'), JSON.stringify(decoded.payload, null, 2))
    const claims = claimChecks(decoded.payload, issuer, Date.now())
    show([{ info: true, text: 'Checking the signature…' }, ...claims])
    result.hidden = false
    setText(status, 'Decoded. Checking the signature…')
    let signature
    try {
      signature = await verifySignature(decoded)
    } catch {
      signature = { ok: false, text: "This server's keys could not be fetched." }
    }
    if (run !== latest) return
    show([signature, ...claims])
    const valid = signature.ok && claims.every((check) => check.ok !== false)
    status.className = valid ? 'status ok' : 'status bad'
    setText(
      status,
      valid
        ? 'Valid: signed by this server and not expired.'
        : signature.ok
          ? 'The signature is valid, but see the checks below.'
          : 'Not verified: see the checks below.',
    )
  }

  input.addEventListener('input', inspect)
  if (input.value !== '') inspect()
}

// The OAuth pages (oauth-pages.ts).

/**
 * The hop of a cross-site authorization request: this navigation starts on
 * this origin, so the browser sends the SameSite=Strict session cookie with
 * it (the request that brought the user here could not). `replace`: Back
 * then skips this page rather than landing on it again.
 */
function initOauthContinue() {
  const target = oauthContinueTarget(document.body.dataset.continue)
  if (target !== undefined) location.replace(target)
}

/**
 * The consent form is plain HTML and posts without the script. The script
 * only keeps a second click (or Enter) from posting a request that the
 * first answer has already used up. The buttons are not disabled: a
 * disabled submitter would drop `decision` from the form data.
 */
function initConsent() {
  const form = document.getElementById('consent')
  let sent = false
  form.addEventListener('submit', (event) => {
    if (sent) event.preventDefault()
    sent = true
    form.setAttribute('aria-busy', 'true')
  })
  // Back to this page from the back/forward cache: the server says whether the request still stands.
  window.addEventListener('pageshow', (event) => {
    if (!event.persisted) return
    sent = false
    form.removeAttribute('aria-busy')
  })
}

/**
 * The end of RP-initiated logout: this browser's session is over, so the
 * other tabs of /account go to /login now rather than at their next call.
 * The client's sign-out tells them (on its channel, the news only): its
 * POST /auth/logout finds no session left to end, which is what it asks.
 */
async function initSignedOut() {
  try {
    await (await client()).signOut()
  } catch {
    // Offline: the other tabs find out at their next call instead.
  }
}

/** Each page's script, by the `data-page` of its <body>. */
const PAGES = {
  login: initLogin,
  'login-code': initLoginCode,
  'login-link': initLoginLink,
  signup: initSignup,
  account: initAccount,
  inspect: initInspect,
  'verify-email': initVerifyEmail,
  'forgot-password': initForgotPassword,
  'reset-password': initResetPassword,
  'confirm-email': initConfirmEmail,
  'oauth-continue': initOauthContinue,
  'oauth-consent': initConsent,
  'oauth-signed-out': initSignedOut,
}

/** The pages without a call to the API: they never load @tessera/client. */
const WITHOUT_CLIENT = new Set(['inspect', 'oauth-continue', 'oauth-consent'])

function start() {
  const page = document.body.dataset.page
  if (!Object.hasOwn(PAGES, page)) return
  // The package loads while the page sets up: it is there by the first submit.
  if (!WITHOUT_CLIENT.has(page)) client().catch(() => {})
  PAGES[page]()
}

if (typeof document !== 'undefined') start()
