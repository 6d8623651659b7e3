// Signing in by mail in headless Chromium: "Email me a code" on /login and
// the 6-digit code from the mail, and the mail's sign-in link, whose page
// consumes nothing until its button is pressed (mail scanners prefetch
// links). The mail arrives at a real SMTP server in process.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Page } from 'playwright-core'
import { startSmtpServer, type TestSmtpServer } from '../support/smtp-server.ts'
import {
  browserSuite,
  openPage,
  type PagesServer,
  saveScreenshot,
  startPagesServer,
  waitForAccount,
} from './harness.ts'
import { codeIn, linkIn, waitForMail } from './mail.ts'

const CODE_SUBJECT = /sign-in code$/

// page.evaluate() gets these as strings: the repository's TypeScript has no DOM types.
/** The id of the focused element. */
const FOCUSED = 'document.activeElement?.id'

/** Pastes `text` into the field `selector` names, as a user's paste would. */
function paste(selector: string, text: string): string {
  return `(() => {
    const data = new DataTransfer()
    data.setData('text/plain', ${JSON.stringify(text)})
    document.querySelector(${JSON.stringify(selector)}).dispatchEvent(
      new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }),
    )
  })()`
}

/** A 6-digit code that is not `code`. */
function otherCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0')
}

browserSuite('hosted pages: signing in by mail', (browser) => {
  let smtp: TestSmtpServer
  let server: PagesServer
  before(async () => {
    smtp = await startSmtpServer()
    server = await startPagesServer({ TESSERA_SMTP_URL: smtp.url })
  })
  after(async () => {
    await server.close()
    await smtp.close()
  })

  /** On the code page: asks for a code for `email`; returns its mail. */
  async function askForCode(page: Page, email: string) {
    const from = smtp.received.length
    await page.getByLabel('Email').fill(email)
    await page.getByRole('button', { name: 'Email me a code' }).click()
    await page.getByText(`If an account exists for ${email}, we mailed it a 6-digit code`).waitFor()
    return waitForMail(smtp, email, CODE_SUBJECT, from)
  }

  /** POST /auth/otp/send as a script would. */
  async function sendCode(email: string): Promise<number> {
    const response = await fetch(`${server.url}/auth/otp/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email }),
    })
    return response.status
  }

  test('"Email me a code" on /login: a wrong code says so, the mailed one signs in', async () => {
    const email = 'coded@example.com'
    await server.signUp(email)
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/login`)
    await page.getByRole('link', { name: 'Email me a code' }).click()
    await page.waitForURL(`${server.url}/login?method=code`)
    await saveScreenshot(page, 'login-code')

    const code = codeIn(await askForCode(page, email))
    const field = page.getByLabel('Code')
    assert.equal(await field.getAttribute('inputmode'), 'numeric')
    assert.equal(await field.getAttribute('autocomplete'), 'one-time-code')
    assert.equal(await page.evaluate(FOCUSED), 'code-verify-code')

    await field.fill('12345')
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByText('Enter the 6 digits from the mail.').waitFor()

    await field.fill(otherCode(code))
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByText('That code is not right, or it expired.').waitFor()
    assert.equal(await field.getAttribute('aria-invalid'), 'true')
    await saveScreenshot(page, 'login-code-wrong')

    // Typed letters are dropped; pasted with a space, only the digits are
    // kept (maxlength alone would cut one).
    await field.fill('')
    await field.pressSequentially('4x2')
    assert.equal(await field.inputValue(), '42')
    await field.fill('')
    await page.evaluate(paste('#code-verify-code', `${code.slice(0, 3)} ${code.slice(3)}`))
    assert.equal(await field.inputValue(), code)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)
    await page.locator('#profile-email').getByText(email).waitFor()
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('"Send a new code" mails another; the new one signs in, and redirect_to is followed', async () => {
    const email = 'again@example.com'
    await server.signUp(email)
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/login?redirect_to=${encodeURIComponent('/inspect')}`)
    await page.getByRole('link', { name: 'Email me a code' }).click()
    await page.waitForURL(`${server.url}/login?method=code&redirect_to=%2Finspect`)
    const first = await askForCode(page, email)

    const from = smtp.received.length
    await page.getByRole('button', { name: 'Send a new code' }).click()
    await page.getByText('We mailed a new code.', { exact: false }).waitFor()
    const second = codeIn(await waitForMail(smtp, email, CODE_SUBJECT, from))
    assert.notEqual(second, codeIn(first))
    await page.getByLabel('Code').fill(second)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL(`${server.url}/inspect`)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('too many codes asked for one address: the standard rate-limit message', async () => {
    const email = 'greedy@example.com'
    await server.signUp(email)
    let status = 202
    for (let sent = 0; status === 202 && sent < 20; sent += 1) status = await sendCode(email)
    assert.equal(status, 429, 'the per-address limit is reached')
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/login?method=code`)
    await page.getByLabel('Email').fill(email)
    await page.getByRole('button', { name: 'Email me a code' }).click()
    await page
      .getByRole('alert')
      .getByText(/^Too many attempts\. Try again in \d+ seconds\.$/)
      .waitFor()
    assert.equal(await page.getByLabel('Code').isVisible(), false)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('the sign-in link: opening it consumes nothing; the button signs in; a second use says so', async () => {
    const email = 'linked@example.com'
    await server.signUp(email)
    const from = smtp.received.length
    assert.equal(await sendCode(email), 202)
    const link = linkIn(await waitForMail(smtp, email, CODE_SUBJECT, from), '/login/link')
    assert.ok(link.startsWith(`${server.url}/login/link?token=`), link)

    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    // Opening the page (as a scanner would) uses nothing up.
    const seen = server.seen.length
    await page.goto(link)
    const button = page.getByRole('button', { name: 'Sign in' })
    await button.waitFor()
    assert.ok(await button.isEnabled())
    assert.deepEqual(server.requests('POST', '/auth/otp/verify', seen), [])
    await saveScreenshot(page, 'login-link')

    await button.click()
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)
    await page.locator('#profile-email').getByText(email).waitFor()
    assert.equal(server.requests('POST', '/auth/otp/verify', seen).length, 1)

    // The same link in another browser: spent, with the way back to /login.
    const other = await browser().newContext()
    const { page: again, errors: againErrors } = await openPage(other)
    await again.goto(link)
    await again.getByRole('button', { name: 'Sign in' }).click()
    await again.getByText('This link has expired or was already used.', { exact: false }).waitFor()
    assert.equal(
      await again.getByRole('link', { name: 'Back to log in' }).getAttribute('href'),
      '/login',
    )
    assert.equal(await again.getByRole('button', { name: 'Sign in' }).isVisible(), false)
    await saveScreenshot(again, 'login-link-spent')
    assert.deepEqual(errors, [])
    assert.deepEqual(againErrors, [])
    await other.close()
    await context.close()
  })

  test('a sign-in link without its token says so and offers no button', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/login/link?token=short`)
    await page.getByText('This link is not complete.', { exact: false }).waitFor()
    assert.equal(await page.getByRole('button', { name: 'Sign in' }).count(), 0)
    assert.deepEqual(errors, [])
    await context.close()
  })
})
