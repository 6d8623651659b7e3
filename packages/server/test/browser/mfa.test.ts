// Two-step sign-in in headless Chromium (issue 16, "Hosted pages"): setting
// up an authenticator app on /account (the QR code, the key read off the
// page, the recovery codes copied and downloaded), the sign-in's second step
// after a password, a mailed code and a sign-in link, recovery codes,
// wrong and expired steps, the rate limit, replacing the codes, turning the
// app off, and the step-up prompt ("Confirm it's you") of every change.
//
// The server's clock is real here, so codes are computed from Date.now(),
// each for a time step the account has not used yet (the server accepts a
// step once). A session is made "old" for the step-up by moving its
// authentication time back through the store's own port
// (SessionStore.reauthenticate), which is what the server reads: no waiting
// out TESSERA_REAUTH_WINDOW.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { after, before, test } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import { TOTP_PERIOD_SECONDS, totpCode } from '../../src/auth/totp.ts'
import { startSmtpServer, type TestSmtpServer } from '../support/smtp-server.ts'
import {
  browserSuite,
  logInWithForm,
  openPage,
  PASSWORD,
  type PagesServer,
  saveScreenshot,
  startPagesServer,
  waitForAccount,
} from './harness.ts'
import { codeIn, linkIn, waitForMail } from './mail.ts'

const STEP_MS = TOTP_PERIOD_SECONDS * 1000
const CODE_SUBJECT = /sign-in code$/
// page.evaluate() gets these as strings: the repository's TypeScript has no DOM types.
const FOCUSED = 'document.activeElement?.id'
const FOCUSED_TEXT = 'document.activeElement?.textContent'

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))

/** The last time step used per secret: the server takes each step once. */
const usedSteps = new Map<string, number>()

/**
 * A code of `secret` the server will take: the current step's, or a later
 * one's when that was used already (the server allows one step of drift;
 * beyond that, wait for the clock).
 */
async function nextCode(secret: string): Promise<string> {
  const last = usedSteps.get(secret) ?? Number.NEGATIVE_INFINITY
  const step = Math.max(Math.floor(Date.now() / STEP_MS), last + 1)
  while (step > Math.floor(Date.now() / STEP_MS) + 1) await sleep(500)
  usedSteps.set(secret, step)
  return totpCode(secret, step * STEP_MS)
}

/** A 6-digit code that is none of the codes the server would take now. */
function wrongCode(secret: string): string {
  const now = Math.floor(Date.now() / STEP_MS)
  const valid = new Set([-2, -1, 0, 1, 2].map((delta) => totpCode(secret, (now + delta) * STEP_MS)))
  return ['000000', '111111', '222222'].find((code) => !valid.has(code)) ?? '333333'
}

browserSuite('hosted pages: two-step sign-in', (browser) => {
  let smtp: TestSmtpServer
  let server: PagesServer
  before(async () => {
    smtp = await startSmtpServer()
    server = await startPagesServer({
      TESSERA_SMTP_URL: smtp.url,
      // Every sign-in of the suite comes from 127.0.0.1.
      TESSERA_LOGIN_RATE_LIMIT: 'ip=1000/15m',
    })
  })
  after(async () => {
    await server.close()
    await smtp.close()
  })

  /** A new account with an authenticator app, set up over the JSON API as a native client. */
  async function userWithApp(
    email: string,
    on: PagesServer = server,
  ): Promise<{ secret: string; recoveryCodes: string[] }> {
    const { accessToken } = await on.signUp(email)
    const call = async (path: string, body: object) => {
      const response = await fetch(`${on.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      assert.equal(response.status, 200, await response.clone().text())
      return response.json()
    }
    const { secret } = (await call('/auth/mfa/totp/enroll', {})) as { secret: string }
    const { recoveryCodes } = (await call('/auth/mfa/totp/confirm', {
      code: await nextCode(secret),
    })) as { recoveryCodes: string[] }
    return { secret, recoveryCodes }
  }

  /** /login with the password, up to the second step. */
  async function passwordStep(page: Page, email: string, query = '', on = server): Promise<void> {
    await page.goto(`${on.url}/login${query}`)
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByLabel('Authentication code').waitFor()
  }

  /** Whether the browser holds the refresh cookie (HttpOnly: only the context sees it). */
  async function hasRefreshCookie(context: BrowserContext): Promise<boolean> {
    return (await context.cookies()).some((cookie) => /tessera_refresh$/.test(cookie.name))
  }

  /** Makes every session of `email` look signed in 11 minutes ago (past TESSERA_REAUTH_WINDOW). */
  async function ageSessions(email: string): Promise<void> {
    const { store } = server.tessera
    const user = (await store.users.findUserByEmail(email)) ?? assert.fail(`no user ${email}`)
    const sessions = await store.sessions.listSessions(user.id, Date.now())
    assert.ok(sessions.length > 0)
    for (const session of sessions) {
      await store.sessions.reauthenticate(session.id, Date.now() - 11 * 60_000, session.amr)
    }
  }

  test('/account: set up an authenticator app from its QR code and key, then the recovery codes (copy, download)', async () => {
    const email = 'setup@example.com'
    await server.signUp(email)
    const context = await browser().newContext()
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })
    const { page, errors } = await openPage(context)
    await logInWithForm(page, server, email)

    await page.locator('#two-step-app').getByText('Off').waitFor()
    assert.equal(await page.locator('#two-step-codes-row').isVisible(), false)
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click()
    await page.getByRole('heading', { name: 'Set up an authenticator app' }).waitFor()
    assert.equal(await page.evaluate(FOCUSED), 'totp-setup-heading')
    // The QR code: the server's SVG as a data: image, loaded under the page's CSP.
    const qr = page.getByRole('img', { name: 'QR code to scan with your authenticator app' })
    assert.match(
      String(await qr.getAttribute('src')),
      /^data:image\/svg\+xml;base64,[A-Za-z0-9+/]+=*$/,
    )
    await page.waitForFunction("document.getElementById('totp-qr').naturalWidth > 0")
    // One part at a time: the section's buttons give way to the setup.
    assert.equal(await page.locator('#two-step-actions').isVisible(), false)
    const secret = (await page.locator('#totp-secret').textContent())?.replaceAll(' ', '') ?? ''
    assert.match(secret, /^[A-Z2-7]{32}$/)
    assert.match(
      String(await page.locator('#totp-link').getAttribute('href')),
      /^otpauth:\/\/totp\/.*secret=/,
    )
    await saveScreenshot(page, 'account-two-step-setup')

    // A wrong code first: at the field, with the focus.
    const field = page.getByLabel('Code from the app')
    assert.equal(await field.getAttribute('inputmode'), 'numeric')
    assert.equal(await field.getAttribute('autocomplete'), 'one-time-code')
    await field.fill(wrongCode(secret))
    await page.getByRole('button', { name: 'Turn on' }).click()
    await page
      .locator('#totp-confirm-code-error')
      .getByText('That code is not right.', { exact: false })
      .waitFor()
    assert.equal(await field.getAttribute('aria-invalid'), 'true')
    assert.equal(await page.evaluate(FOCUSED), 'totp-confirm-code')

    // The right one, from the keyboard.
    await field.fill(await nextCode(secret))
    await field.press('Enter')
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor()
    assert.equal(await page.evaluate(FOCUSED), 'recovery-heading')
    const codes = await page.locator('#recovery-list code').allTextContents()
    assert.equal(codes.length, 10)
    for (const code of codes) assert.match(code, /^[a-z0-9]{4}-[a-z0-9]{4}$/)
    await page.locator('#two-step-app').getByText('On').waitFor()
    assert.equal(await page.locator('#two-step-actions').isVisible(), false)
    assert.equal(await page.locator('#totp-setup').isVisible(), false)
    await saveScreenshot(page, 'account-recovery-codes')

    await page.getByRole('button', { name: 'Copy' }).click()
    await page.getByText('Copied. Paste them somewhere safe.').waitFor()
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), codes.join('\n'))

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download' }).click(),
    ])
    assert.equal(download.suggestedFilename(), 'recovery-codes-127.0.0.1.txt')
    const text = readFileSync(await download.path(), 'utf8')
    assert.ok(text.startsWith(`Recovery codes for ${email} at 127.0.0.1:${server.port}\n`), text)
    assert.deepEqual(text.trim().split('\n').slice(-10), codes)
    await page.getByText('Downloaded as recovery-codes-127.0.0.1.txt.').waitFor()

    await page.getByRole('button', { name: 'I saved them' }).click()
    await page.getByText('Two-step sign-in is on. Keep your recovery codes safe.').waitFor()
    assert.equal(await page.evaluate(FOCUSED), 'two-step-heading')
    assert.equal(await page.locator('#recovery-list li').count(), 0, 'the codes are gone')
    await page.locator('#two-step-codes').getByText('10 left').waitFor()
    await page.getByRole('button', { name: 'Replace recovery codes' }).waitFor()
    await page.getByRole('button', { name: 'Turn off the authenticator app' }).waitFor()
    assert.equal(await page.getByRole('button', { name: 'Set up an authenticator app' }).count(), 0)
    await saveScreenshot(page, 'account-two-step-on')

    // The app now asks for its code at the next sign-in.
    await page.getByRole('button', { name: 'Log out', exact: true }).click()
    await page.waitForURL(`${server.url}/login`)
    await passwordStep(page, email)
    await page.getByLabel('Authentication code').fill(await nextCode(secret))
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('/login: the password, then the app’s code; a wrong code says so; then redirect_to, as a sign-in does', async () => {
    const email = 'second-step@example.com'
    const { secret } = await userWithApp(email)
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await passwordStep(page, email, `?redirect_to=${encodeURIComponent('/inspect')}`)
    assert.equal(await hasRefreshCookie(context), false, 'no session before the second step')
    const field = page.getByLabel('Authentication code')
    assert.equal(await page.evaluate(FOCUSED), 'mfa-totp-code')
    assert.equal(await field.getAttribute('inputmode'), 'numeric')
    assert.equal(await field.getAttribute('autocomplete'), 'one-time-code')
    assert.equal(await page.locator('#first-step').isVisible(), false)
    await page.getByRole('button', { name: 'Use a recovery code' }).waitFor()
    await saveScreenshot(page, 'login-second-step')

    await field.fill(wrongCode(secret))
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.locator('#mfa-totp-code-error').getByText('That code is not right.').waitFor()
    assert.equal(await field.getAttribute('aria-invalid'), 'true')
    assert.equal(await page.evaluate(FOCUSED), 'mfa-totp-code')
    await saveScreenshot(page, 'login-second-step-error')

    // A pasted "123 456" is taken as its digits.
    const code = await nextCode(secret)
    await field.fill('')
    await page.evaluate(`(() => {
      const data = new DataTransfer()
      data.setData('text/plain', '${code.slice(0, 3)} ${code.slice(3)}')
      document.getElementById('mfa-totp-code').dispatchEvent(
        new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }),
      )
    })()`)
    assert.equal(await field.inputValue(), code)
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.waitForURL(`${server.url}/inspect`)
    assert.equal(await hasRefreshCookie(context), true)
    // The mfaToken never reached the page's URL, storage or DOM.
    assert.equal(await page.evaluate('localStorage.length + sessionStorage.length'), 0)
    await page.goto(`${server.url}/account`)
    await waitForAccount(page)
    await page.locator('#two-step-app').getByText('On').waitFor()
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('a recovery code instead of the app: each works once, and the account counts what is left', async () => {
    const email = 'recovery@example.com'
    const { recoveryCodes } = await userWithApp(email)
    const [first] = recoveryCodes
    assert.ok(first)
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await passwordStep(page, email)
    await page.getByRole('button', { name: 'Use a recovery code' }).click()
    const field = page.getByLabel('Recovery code')
    assert.equal(await page.evaluate(FOCUSED), 'mfa-recovery-code')
    assert.equal(await page.getByLabel('Authentication code').isVisible(), false)
    await page.getByRole('button', { name: 'Use your authenticator app' }).waitFor()
    // Case and spaces do not matter.
    await field.fill(first.toUpperCase().replace('-', ' '))
    await saveScreenshot(page, 'login-recovery-code')
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)
    await page.locator('#two-step-codes').getByText('9 left').waitFor()

    // The same code again: refused at its field.
    const other = await browser().newContext()
    const second = await openPage(other)
    await passwordStep(second.page, email)
    await second.page.getByRole('button', { name: 'Use a recovery code' }).click()
    await second.page.getByLabel('Recovery code').fill(first)
    await second.page.getByRole('button', { name: 'Continue' }).click()
    await second.page
      .locator('#mfa-recovery-code-error')
      .getByText('That code is not right.')
      .waitFor()
    // Not a code at all: said before anything is sent.
    const from = server.seen.length
    await second.page.getByLabel('Recovery code').fill('<b>!')
    await second.page.getByRole('button', { name: 'Continue' }).click()
    await second.page.getByText('Enter a recovery code, like k7mq-2xrp.').waitFor()
    assert.deepEqual(server.requests('POST', '/auth/mfa/verify', from), [])
    assert.deepEqual(errors, [])
    assert.deepEqual(second.errors, [])
    await other.close()
    await context.close()
  })

  test('five wrong codes end the second step: "This sign-in has expired", back to the password', async () => {
    const email = 'expired@example.com'
    const { secret } = await userWithApp(email)
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await passwordStep(page, email)
    const field = page.getByLabel('Authentication code')
    for (let attempt = 1; attempt <= 4; attempt++) {
      await field.fill(wrongCode(secret))
      await Promise.all([
        page.waitForResponse((response) => response.url().endsWith('/auth/mfa/verify')),
        page.getByRole('button', { name: 'Continue' }).click(),
      ])
      await page.locator('#mfa-totp fieldset:not([disabled])').waitFor()
      assert.equal(await field.getAttribute('aria-invalid'), 'true', `attempt ${attempt}`)
    }
    await field.fill(wrongCode(secret))
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.locator('#login-error').getByText('This sign-in has expired. Start again.').waitFor()
    assert.equal(await page.locator('#mfa-step').count(), 0, 'the second step is gone')
    assert.equal(await page.getByLabel('Email').inputValue(), email, 'the address stays')
    assert.equal(await page.getByLabel('Password').inputValue(), '')
    assert.equal(await page.evaluate(FOCUSED), 'login-password')
    await saveScreenshot(page, 'login-second-step-expired')
    // The server agrees: the five tries were the challenge's last.
    const verifies = server.requests('POST', '/auth/mfa/verify')
    assert.deepEqual(
      verifies.slice(-5).map((request) => request.code),
      Array(5).fill('invalid_code'),
    )
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('the second step after a mailed code, and after a sign-in link', async () => {
    const email = 'mailed-code@example.com'
    const { secret } = await userWithApp(email)
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/login?method=code`)
    const from = smtp.received.length
    await page.getByLabel('Email').fill(email)
    await page.getByRole('button', { name: 'Email me a code' }).click()
    const mail = await waitForMail(smtp, email, CODE_SUBJECT, from)
    await page.getByLabel('Code', { exact: true }).fill(codeIn(mail))
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByLabel('Authentication code').fill(await nextCode(secret))
    assert.equal(await page.locator('#code-step').isVisible(), false)
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)
    await context.close()

    // The link of a code mail: its button, then the second step.
    const linkEmail = 'mailed-link@example.com'
    const { secret: linkSecret } = await userWithApp(linkEmail)
    const linked = await browser().newContext()
    const second = await openPage(linked)
    const again = smtp.received.length
    const sent = await fetch(`${server.url}/auth/otp/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: linkEmail }),
    })
    assert.equal(sent.status, 202)
    const link = linkIn(await waitForMail(smtp, linkEmail, CODE_SUBJECT, again), '/login/link')
    await second.page.goto(link)
    await second.page.getByRole('button', { name: 'Sign in' }).click()
    const field = second.page.getByLabel('Authentication code')
    await field.waitFor()
    assert.equal(await second.page.evaluate(FOCUSED), 'mfa-totp-code')
    await saveScreenshot(second.page, 'login-link-second-step')
    await field.fill(await nextCode(linkSecret))
    await second.page.getByRole('button', { name: 'Continue' }).click()
    await second.page.waitForURL(`${server.url}/account`)
    await waitForAccount(second.page)
    assert.deepEqual(errors, [])
    assert.deepEqual(second.errors, [])
    await linked.close()
  })

  test('too many attempts on the second step: the standard rate-limit message', async () => {
    // Three sign-in attempts per address: setting the app up, the password, one code.
    const limited = await startPagesServer({ TESSERA_LOGIN_RATE_LIMIT: 'ip=3/15m' })
    try {
      const email = 'limited@example.com'
      const { secret } = await userWithApp(email, limited)
      const context = await browser().newContext()
      const { page, errors } = await openPage(context)
      await passwordStep(page, email, '', limited)
      const field = page.getByLabel('Authentication code')
      await field.fill(wrongCode(secret))
      await page.getByRole('button', { name: 'Continue' }).click()
      await page.locator('#mfa-totp-code-error').getByText('That code is not right.').waitFor()
      await field.fill(await nextCode(secret))
      await page.getByRole('button', { name: 'Continue' }).click()
      await page
        .locator('#mfa-totp-error')
        .getByText(/^Too many attempts\. Try again in \d+ seconds\.$/)
        .waitFor()
      assert.equal(limited.requests('POST', '/auth/mfa/verify').at(-1)?.code, 'rate_limited')
      // Still the second step: the code can be tried again later.
      assert.equal(await field.isVisible(), true)
      assert.deepEqual(errors, [])
      await context.close()
    } finally {
      await limited.close()
    }
  })

  test('replace the recovery codes, then turn the app off (confirmed): the next sign-in has no second step', async () => {
    const email = 'turn-off@example.com'
    const { secret, recoveryCodes: old } = await userWithApp(email)
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await passwordStep(page, email)
    await page.getByLabel('Authentication code').fill(await nextCode(secret))
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)

    await page.getByRole('button', { name: 'Replace recovery codes' }).click()
    await page.getByText('Here are your new recovery codes; the old ones no longer work.').waitFor()
    assert.equal(await page.evaluate(FOCUSED), 'recovery-heading')
    const fresh = await page.locator('#recovery-list code').allTextContents()
    assert.equal(fresh.length, 10)
    assert.equal(fresh.filter((code) => old.includes(code)).length, 0)
    await page.getByRole('button', { name: 'I saved them' }).click()
    await page.locator('#two-step-codes').getByText('10 left').waitFor()

    // Turning off asks first; "Keep it" keeps it.
    const turnOff = page.getByRole('button', { name: 'Turn off the authenticator app' })
    await turnOff.click()
    await page.getByText('Turn off the authenticator app?').waitFor()
    assert.equal(await page.evaluate(FOCUSED), 'totp-remove-question')
    await saveScreenshot(page, 'account-turn-off-confirm')
    await page.getByRole('button', { name: 'Keep it' }).click()
    assert.equal(await page.evaluate(FOCUSED), 'totp-remove')
    assert.deepEqual(server.requests('DELETE', '/auth/mfa/totp'), [])

    await turnOff.click()
    await page.getByRole('button', { name: 'Turn it off' }).click()
    await page
      .getByText('The authenticator app is off: signing in needs only your password again.')
      .waitFor()
    assert.equal(await page.evaluate(FOCUSED), 'two-step-heading')
    await page.locator('#two-step-app').getByText('Off').waitFor()
    assert.equal(await page.locator('#two-step-codes-row').isVisible(), false)
    await page.getByRole('button', { name: 'Set up an authenticator app' }).waitFor()

    await page.getByRole('button', { name: 'Log out', exact: true }).click()
    await page.waitForURL(`${server.url}/login`)
    await logInWithForm(page, server, email)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('step-up: an old sign-in asks "Confirm it’s you" in place, then makes the change once', async () => {
    const email = 'step-up@example.com'
    await server.signUp(email)
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await logInWithForm(page, server, email)
    await ageSessions(email)

    // The password: the prompt comes after its form, with the focus.
    const from = server.seen.length
    await page.getByLabel('Current password').fill(PASSWORD)
    await page.getByLabel('New password').fill('a brand new passphrase')
    await page.getByRole('button', { name: 'Change password' }).click()
    const prompt = page.getByLabel('Your password')
    await prompt.waitFor()
    assert.equal(await page.evaluate(FOCUSED), 'reauth-password')
    await page.getByRole('heading', { name: 'Confirm it’s you' }).waitFor()
    assert.equal(
      await page.evaluate(
        "document.getElementById('password').nextElementSibling === document.getElementById('reauth-panel')",
      ),
      true,
      'in place, after the form of the change',
    )
    assert.match(
      String(await page.locator('#reauth-password-hint').textContent()),
      /a sign-in from the last 10 minutes/,
    )
    await saveScreenshot(page, 'account-confirm-its-you')

    // A wrong password at the prompt's field; cancelling changes nothing.
    await prompt.fill('not my password')
    await page.getByRole('button', { name: 'Confirm', exact: true }).click()
    await page.locator('#reauth-password-error').getByText('This is not your password.').waitFor()
    await page.getByRole('button', { name: 'Cancel' }).click()
    await page
      .locator('#password-error')
      .getByText('Nothing was changed: confirm it’s you to make this change.')
      .waitFor()
    assert.equal(await prompt.isVisible(), false)
    assert.equal(await page.evaluate(FOCUSED_TEXT), 'Change password')

    // Again, with the right password: one re-authentication, one retry.
    await page.getByRole('button', { name: 'Change password' }).click()
    await prompt.fill(PASSWORD)
    await prompt.press('Enter')
    await page.getByText('Password changed. Every other session has been signed out.').waitFor()
    assert.equal(await prompt.isVisible(), false)
    assert.deepEqual(
      server.requests('POST', '/auth/password', from).map((request) => request.status),
      [403, 403, 204],
    )
    assert.deepEqual(
      server.requests('POST', '/auth/reauthenticate', from).map((request) => request.status),
      [401, 200],
    )

    // A factor: the same prompt, next to the section's buttons, then the setup.
    await ageSessions(email)
    const setUp = page.getByRole('button', { name: 'Set up an authenticator app' })
    await setUp.click()
    await prompt.waitFor()
    assert.equal(
      await page.evaluate(
        "document.getElementById('two-step-actions').nextElementSibling === document.getElementById('reauth-panel')",
      ),
      true,
    )
    // Escape cancels: the section says so, and the focus is back on the button.
    await prompt.press('Escape')
    await page
      .locator('#two-step-error')
      .getByText('Nothing was changed: confirm it’s you to make this change.')
      .waitFor()
    assert.equal(await page.evaluate(FOCUSED), 'totp-start')
    await setUp.click()
    await prompt.fill('a brand new passphrase')
    await page.getByRole('button', { name: 'Confirm', exact: true }).click()
    await page.getByRole('heading', { name: 'Set up an authenticator app' }).waitFor()
    assert.equal(await page.evaluate(FOCUSED), 'totp-setup-heading')
    assert.equal(await prompt.isVisible(), false)

    // The email: the same again.
    await ageSessions(email)
    await page.getByLabel('New email address').fill('stepped-up@example.com')
    await page.getByLabel('Password', { exact: true }).fill('a brand new passphrase')
    await page.getByRole('button', { name: 'Change email' }).click()
    await prompt.fill('a brand new passphrase')
    await page.getByRole('button', { name: 'Confirm', exact: true }).click()
    await page.getByText('We mailed a link to stepped-up@example.com', { exact: false }).waitFor()
    assert.deepEqual(errors, [])
    await context.close()
  })
})
