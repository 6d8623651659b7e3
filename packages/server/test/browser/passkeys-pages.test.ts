// Passkeys on the hosted pages in headless Chromium (issue 16): the list on
// /account (add, name, rename, remove), "Sign in with a passkey" on /login,
// a passkey as the second step, the passkey autofill's conditional request,
// and the enrolment step of TESSERA_MFA=required (sign up, set up the app,
// the recovery codes, /account).
//
// The authenticator is the DevTools protocol's virtual one (CTAP2, internal,
// resident keys, user verification), added to the page's browser context as
// in passkeys.test.ts. WebAuthn needs a domain as the RP id, so the server
// answers as http://localhost:<port>.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import { TOTP_PERIOD_SECONDS, totpCode } from '../../src/auth/totp.ts'
import {
  browserSuite,
  openPage,
  PASSWORD,
  type PagesServer,
  saveScreenshot,
  startPagesServer,
  waitForAccount,
} from './harness.ts'

const FOCUSED = 'document.activeElement?.id'

interface Device {
  context: BrowserContext
  page: Page
  errors: string[]
}

/** A browser context with a virtual platform authenticator, its page on `url`. */
async function openDevice(context: BrowserContext, url: string): Promise<Device> {
  const { page, errors } = await openPage(context)
  // The authenticator first, then the page: a page that checks for passkey
  // autofill as it loads must find it there (it did not, now and then, when
  // the authenticator was added after the load).
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable', { enableUI: false })
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  })
  await page.goto(url)
  return { context, page, errors }
}

/**
 * A browser whose passkey autofill is off (as one without conditional
 * mediation): the virtual authenticator answers a conditional request by
 * itself, which would sign in before the test presses a button.
 */
async function withoutAutofill(context: BrowserContext): Promise<BrowserContext> {
  await context.addInitScript(
    'PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false)',
  )
  return context
}

/**
 * Counts the page's conditional requests and their aborts, seen from outside
 * its script. Headless Chromium's virtual authenticator settles a
 * conditional request at once (with its passkey, or NotAllowedError when it
 * holds none), so here such a request waits as a browser's autofill does
 * while the user types, until the page aborts it.
 */
async function watchConditional(context: BrowserContext): Promise<void> {
  await context.addInitScript(`(() => {
    const seen = (window.__conditional = { started: 0, aborted: 0 })
    const get = navigator.credentials.get.bind(navigator.credentials)
    navigator.credentials.get = (options) => {
      if (options?.mediation !== 'conditional') return get(options)
      seen.started += 1
      return new Promise((_, reject) => {
        options.signal?.addEventListener('abort', () => {
          seen.aborted += 1
          reject(new DOMException('aborted', 'AbortError'))
        })
      })
    }
  })()`)
}

/**
 * Resolves once `expression` is true in the page (polled; the pages' CSP
 * forbids eval). A bound on waiting, not a speed check: 15 s, as a loaded
 * CI machine running two test files beside Chromium may take its time.
 */
async function pageUntil(page: Page, expression: string): Promise<void> {
  const deadline = Date.now() + 15_000
  while (!(await page.evaluate<boolean>(expression))) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${expression}`)
    await new Promise((done) => setTimeout(done, 50))
  }
}

/** Makes a passkey for `accessToken`'s account over the API from `page` (and removes it); its id. */
async function passkeyOverApi(
  page: Page,
  accessToken: string,
  options: { remove?: boolean } = {},
): Promise<string> {
  return await page.evaluate<string>(`(async () => {
    const call = (path, init = {}) => fetch(path, { method: 'POST', ...init, headers: { 'x-tessera-csrf': '1', authorization: 'Bearer ${accessToken}', ...(init.body ? { 'content-type': 'application/json' } : {}) } }).then((r) => r.status === 204 ? {} : r.json())
    const { challengeId, ...json } = await call('/auth/passkeys/register/options')
    const credential = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(json) })
    const passkey = await call('/auth/passkeys/register/verify', { body: JSON.stringify({ response: credential.toJSON(), challengeId }) })
    if (${options.remove === true}) await call('/auth/passkeys/' + passkey.id, { method: 'DELETE' })
    return passkey.id
  })()`)
}

async function logIn(page: Page, origin: string, email: string): Promise<void> {
  await page.goto(`${origin}/login`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Log in' }).click()
}

/** Adds a passkey named `name` on /account, through its panel and the browser's ceremony. */
async function addPasskey(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name: 'Add a passkey' }).click()
  const field = page.getByLabel('Passkey name')
  await field.waitFor()
  assert.equal(await page.evaluate(FOCUSED), 'passkey-add-name')
  assert.notEqual(await field.inputValue(), '', 'a name is offered')
  await field.fill(name)
  await page.getByRole('button', { name: 'Create the passkey' }).click()
}

browserSuite('hosted pages: passkeys', (browser) => {
  let server: PagesServer
  let origin: string
  before(async () => {
    server = await startPagesServer((url) => ({
      TESSERA_ISSUER: url.replace('127.0.0.1', 'localhost'),
      TESSERA_LOGIN_RATE_LIMIT: 'ip=1000/15m',
    }))
    origin = server.url.replace('127.0.0.1', 'localhost')
  })
  after(() => server.close())

  test('/account: add two passkeys with names, rename one, remove one; then sign in with the passkey on /login', async () => {
    const email = 'ada@example.com'
    await server.signUp(email)
    const device = await openDevice(
      await withoutAutofill(await browser().newContext()),
      `${origin}/login`,
    )
    const { page } = device
    await logIn(page, origin, email)
    await page.waitForURL(`${origin}/account`)
    await waitForAccount(page)
    await page.getByText('No passkeys yet.').waitFor()

    // The first passkey is the account's first factor: the recovery codes, once.
    await addPasskey(page, 'Work laptop')
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor()
    assert.equal(await page.locator('#recovery-list code').count(), 10)
    await page
      .getByText('The passkey “Work laptop” is added. Save these recovery codes now.')
      .waitFor()
    await saveScreenshot(page, 'account-passkey-recovery-codes')
    await page.getByRole('button', { name: 'I saved them' }).click()
    await page.locator('#two-step-codes').getByText('10 left').waitFor()

    // The virtual authenticator holds one credential per account and RP: a
    // second passkey comes from a security key plugged in next.
    const cdp = await device.context.newCDPSession(page)
    await cdp.send('WebAuthn.enable', { enableUI: false })
    const key = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'usb',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    })
    await addPasskey(page, 'Security key')
    await page.getByText('The passkey “Security key” is added.').waitFor()
    assert.equal(await page.evaluate(FOCUSED), 'two-step-heading')
    const names = () => page.locator('#passkeys-list .passkey-name strong').allTextContents()
    assert.deepEqual(await names(), ['Work laptop', 'Security key'])
    await page.locator('#passkeys-list').getByText('This device only').first().waitFor()
    await page.locator('#passkeys-list').getByText('never used').first().waitFor()
    await saveScreenshot(page, 'account-passkeys')

    await page.getByRole('button', { name: 'Rename the passkey Security key' }).click()
    const rename = page.getByLabel('New name')
    assert.equal(await rename.inputValue(), 'Security key')
    await rename.fill('Blue key')
    await page.getByRole('button', { name: 'Rename', exact: true }).click()
    await page.getByText('The passkey is now called “Blue key”.').waitFor()
    assert.deepEqual(await names(), ['Work laptop', 'Blue key'])

    // Removing asks first; "Keep it" keeps it.
    await page.getByRole('button', { name: 'Remove the passkey Blue key' }).click()
    await page.getByText('Remove the passkey “Blue key”?').waitFor()
    assert.equal(await page.evaluate(FOCUSED), 'passkey-remove-question')
    await page.getByRole('button', { name: 'Keep it' }).click()
    assert.deepEqual(await names(), ['Work laptop', 'Blue key'])
    await page.getByRole('button', { name: 'Remove the passkey Blue key' }).click()
    await page.getByRole('button', { name: 'Remove it' }).click()
    await page.getByText('The passkey “Blue key” is removed.').waitFor()
    assert.deepEqual(await names(), ['Work laptop'])
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: key.authenticatorId })

    // Log out, then back in with the passkey alone.
    await page.getByRole('button', { name: 'Log out', exact: true }).click()
    await page.waitForURL(`${origin}/login`)
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await page.waitForURL(`${origin}/account`)
    await waitForAccount(page)
    await page.locator('#passkeys-list').getByText('last used').waitFor()
    assert.deepEqual(device.errors, [])
    await device.context.close()
  })

  test('/login: a passkey this server does not know says so', async () => {
    const { accessToken } = await server.signUp('gone@example.com')
    const device = await openDevice(
      await withoutAutofill(await browser().newContext()),
      `${origin}/inspect`,
    )
    // A passkey made over the API, then removed: the device still holds it.
    assert.ok(await passkeyOverApi(device.page, accessToken, { remove: true }))
    await device.page.goto(`${origin}/login`)
    await device.page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await device.page.locator('#login-error').getByText('That passkey is not known here.').waitFor()
    assert.equal(device.page.url(), `${origin}/login`)
    assert.deepEqual(device.errors, [])
    await device.context.close()
  })

  test('the second step with a passkey: password, then "Use a passkey"; a recovery code remains as the other way', async () => {
    const email = 'bob@example.com'
    await server.signUp(email)
    const device = await openDevice(
      await withoutAutofill(await browser().newContext()),
      `${origin}/login`,
    )
    const { page } = device
    await logIn(page, origin, email)
    await page.waitForURL(`${origin}/account`)
    await waitForAccount(page)
    await addPasskey(page, 'Laptop')
    await page.getByRole('button', { name: 'I saved them' }).click()
    await page.getByRole('button', { name: 'Log out', exact: true }).click()
    await page.waitForURL(`${origin}/login`)

    await logIn(page, origin, email)
    await page.getByRole('button', { name: 'Use a passkey', exact: true }).waitFor()
    assert.equal(await page.evaluate(FOCUSED), 'mfa-passkey-button')
    assert.equal(await page.getByLabel('Authentication code').isVisible(), false)
    await page.getByRole('button', { name: 'Use a recovery code' }).waitFor()
    await saveScreenshot(page, 'login-second-step-passkey')
    // The recovery code's form and back.
    await page.getByRole('button', { name: 'Use a recovery code' }).click()
    await page.getByLabel('Recovery code').waitFor()
    await page.getByRole('button', { name: 'Use a passkey instead' }).click()
    await page.getByRole('button', { name: 'Use a passkey', exact: true }).click()
    await page.waitForURL(`${origin}/account`)
    await waitForAccount(page)
    assert.deepEqual(device.errors, [])
    await device.context.close()
  })

  test('passkey autofill: the email field offers passkeys; a conditional request starts with /login, and the password form aborts it', async () => {
    const email = 'carol@example.com'
    await server.signUp(email)
    const context = await browser().newContext()
    await watchConditional(context)
    const device = await openDevice(context, `${origin}/login`)
    const { page } = device
    assert.equal(
      await page.locator('#login-email').getAttribute('autocomplete'),
      'username webauthn',
    )
    assert.equal(
      await page.evaluate<boolean>('PublicKeyCredential.isConditionalMediationAvailable()'),
      true,
      'headless Chromium offers passkey autofill',
    )
    await pageUntil(page, 'window.__conditional.started === 1')
    const from = server.seen.length
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL(`${origin}/account`)
    await waitForAccount(page)
    // Aborted (the account page's script has replaced the login page's): no passkey was sent.
    assert.equal(server.requests('POST', '/auth/passkeys/login/verify', from).length, 0)
    assert.deepEqual(device.errors, [])
    await context.close()
  })

  test('passkey autofill: aborted by the password form and by the passkey button', async () => {
    const context = await browser().newContext()
    await watchConditional(context)
    const device = await openDevice(context, `${origin}/login`)
    const { page } = device
    await pageUntil(page, 'window.__conditional.started === 1')
    await page.getByLabel('Email').fill('nobody@example.com')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page
      .locator('#login-error')
      .getByText('The email or the password is not right.')
      .waitFor()
    assert.equal(await page.evaluate('window.__conditional.aborted'), 1)

    await page.reload()
    await pageUntil(page, 'window.__conditional.started === 1')
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await pageUntil(page, 'window.__conditional.aborted === 1')
    // This browser holds no passkey for the site.
    await page.locator('#login-error').getByText('No passkey was used', { exact: false }).waitFor()
    assert.deepEqual(device.errors, [])
    await context.close()
  })

  test('passkey autofill: choosing the passkey signs in (the virtual authenticator answers the conditional request as a user picking it)', async () => {
    const { accessToken } = await server.signUp('erin@example.com')
    const context = await browser().newContext()
    const device = await openDevice(context, `${origin}/inspect`)
    const { page } = device
    assert.ok(await passkeyOverApi(page, accessToken))
    const from = server.seen.length
    await page.goto(`${origin}/login`)
    await page.waitForURL(`${origin}/account`)
    await waitForAccount(page)
    assert.equal(server.requests('POST', '/auth/passkeys/login/verify', from).length, 1)
    assert.deepEqual(device.errors, [])
    await context.close()
  })
})

browserSuite('hosted pages: the enrolment step (TESSERA_MFA=required)', (browser) => {
  let server: PagesServer
  before(async () => {
    server = await startPagesServer({ TESSERA_MFA: 'required' })
  })
  after(() => server.close())

  test('sign up, then the QR code and key, a code, the recovery codes, then /account', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/signup`)
    await page.getByLabel('Email').fill('dora@example.com')
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByRole('button', { name: 'Create account' }).click()

    await page.getByRole('heading', { name: 'Set up two-step sign-in' }).waitFor()
    assert.equal(await page.evaluate(FOCUSED), 'enrol-heading')
    assert.equal(await page.locator('#signup').isVisible(), false)
    await page.waitForFunction("document.getElementById('totp-qr').naturalWidth > 0")
    const secret = (await page.locator('#totp-secret').textContent())?.replaceAll(' ', '') ?? ''
    assert.match(secret, /^[A-Z2-7]{32}$/)
    assert.equal(await hasCookie(context), false, 'no session before the app is on')
    await saveScreenshot(page, 'signup-enrolment')

    await page
      .getByLabel('Code from the app')
      .fill('000000' === totpCode(secret, Date.now()) ? '111111' : '000000')
    await page.getByRole('button', { name: 'Turn on' }).click()
    await page
      .locator('#totp-confirm-code-error')
      .getByText('That code is not right.', { exact: false })
      .waitFor()

    const step = TOTP_PERIOD_SECONDS * 1000
    await page
      .getByLabel('Code from the app')
      .fill(totpCode(secret, Math.floor(Date.now() / step) * step))
    await page.getByRole('button', { name: 'Turn on' }).click()
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor()
    assert.equal(await page.locator('#recovery-list code').count(), 10)
    assert.equal(await hasCookie(context), true)
    assert.equal(page.url(), `${server.url}/signup`)
    await saveScreenshot(page, 'signup-enrolment-recovery-codes')
    await page.getByRole('button', { name: 'I saved them' }).click()
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)
    await page.locator('#two-step-app').getByText('On').waitFor()
    assert.deepEqual(errors, [])
    await context.close()
  })

  async function hasCookie(context: BrowserContext): Promise<boolean> {
    return (await context.cookies()).some((cookie) => /tessera_refresh$/.test(cookie.name))
  }
})
