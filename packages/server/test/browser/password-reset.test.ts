// Forgotten passwords in headless Chromium: /login leads to /forgot-password,
// the reset mail arrives at a real SMTP server in process, its link opens
// /reset-password, and the new password signs in where the old one no
// longer does.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Page } from 'playwright-core'
import { startSmtpServer, type TestSmtpServer } from '../support/smtp-server.ts'
import {
  browserSuite,
  openPage,
  PASSWORD,
  type PagesServer,
  saveScreenshot,
  startPagesServer,
  waitForAccount,
} from './harness.ts'
import { linkIn, waitForMail } from './mail.ts'

const NEW_PASSWORD = 'a brand new passphrase'
const RESET_SUBJECT = /^Reset your .* password$/

browserSuite('hosted pages: a forgotten password', (browser) => {
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

  /** Asks for a reset of `email` on /forgot-password; returns the mailed link. */
  async function askForReset(page: Page, email: string): Promise<string> {
    const from = smtp.received.length
    await page.goto(`${server.url}/forgot-password`)
    await page.getByLabel('Email').fill(email)
    await page.getByRole('button', { name: 'Email me a link' }).click()
    await page.getByText(`If an account exists for ${email}, we mailed it a link`).waitFor()
    return linkIn(await waitForMail(smtp, email, RESET_SUBJECT, from), '/reset-password')
  }

  async function logIn(page: Page, email: string, password: string): Promise<void> {
    await page.goto(`${server.url}/login`)
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Log in' }).click()
  }

  test('from /login: forgot, the mailed link, a new password; it signs in and the old one does not', async () => {
    const email = 'forgetful@example.com'
    await server.signUp(email)
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)

    await page.goto(`${server.url}/login`)
    await page.getByRole('link', { name: 'Forgot your password?' }).click()
    await page.waitForURL(`${server.url}/forgot-password`)
    await page.getByLabel('Email').fill(email)
    await page.getByRole('button', { name: 'Email me a link' }).click()
    const sent = page.getByRole('status')
    await sent
      .getByText(
        `If an account exists for ${email}, we mailed it a link to choose a new password. The link works for 1 hour.`,
      )
      .waitFor()
    assert.equal(await page.locator('#forgot').isVisible(), false, 'the form is done')
    await saveScreenshot(page, 'forgot-password-sent')

    const link = linkIn(await waitForMail(smtp, email, RESET_SUBJECT), '/reset-password')
    assert.ok(link.startsWith(`${server.url}/reset-password?token=`), link)
    await page.goto(link)
    const field = page.getByLabel('New password')
    assert.equal(await field.getAttribute('autocomplete'), 'new-password')
    await saveScreenshot(page, 'reset-password')
    await field.fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Set my new password' }).click()
    await page.waitForURL(`${server.url}/login?reason=password_changed`)
    await page.getByText('Your password was changed. Log in with the new one.').waitFor()

    await logIn(page, email, PASSWORD)
    await page.getByText('The email or the password is not right.').waitFor()
    await logIn(page, email, NEW_PASSWORD)
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('an unknown address gets the same answer, and no mail', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    const known = 'known@example.com'
    await server.signUp(known)
    const from = smtp.received.length
    await page.goto(`${server.url}/forgot-password`)
    await page.getByLabel('Email').fill('nobody@example.com')
    await page.getByRole('button', { name: 'Email me a link' }).click()
    await page
      .getByText(
        'If an account exists for nobody@example.com, we mailed it a link to choose a new password. The link works for 1 hour.',
      )
      .waitFor()
    // Mail goes out in order: once the known address's has come, the unknown one had its turn.
    await askForReset(page, known)
    assert.deepEqual(
      smtp.received.slice(from).filter((mail) => mail.envelope.to.includes('nobody@example.com')),
      [],
    )
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('redirect_to survives the way to /forgot-password and back', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/login?redirect_to=${encodeURIComponent('/inspect')}`)
    await page.getByRole('link', { name: 'Forgot your password?' }).click()
    await page.waitForURL(`${server.url}/forgot-password?redirect_to=%2Finspect`)
    await page.getByRole('link', { name: 'Log in' }).click()
    await page.waitForURL(`${server.url}/login?redirect_to=%2Finspect`)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('a password the policy refuses is shown at the field, and the link still works', async () => {
    const email = 'weak@example.com'
    await server.signUp(email)
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(await askForReset(page, email))
    const field = page.getByLabel('New password')
    await field.fill('short')
    await page.getByRole('button', { name: 'Set my new password' }).click()
    await page.getByText('Use at least 8 characters.').waitFor()
    const from = server.seen.length
    await field.fill('password1')
    await page.getByRole('button', { name: 'Set my new password' }).click()
    await page.locator('#reset-newPassword-error').getByText('too common').waitFor()
    assert.equal(await field.getAttribute('aria-invalid'), 'true')
    assert.equal(
      server.requests('POST', '/auth/password/reset', from)[0]?.code,
      'validation_failed',
    )
    await saveScreenshot(page, 'reset-password-refused')
    await field.fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Set my new password' }).click()
    await page.waitForURL(`${server.url}/login?reason=password_changed`)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('a reset link used twice says it expired, with the way to a new one', async () => {
    const email = 'twice@example.com'
    await server.signUp(email)
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    const link = await askForReset(page, email)
    await page.goto(link)
    await page.getByLabel('New password').fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Set my new password' }).click()
    await page.waitForURL(`${server.url}/login?reason=password_changed`)

    await page.goto(link)
    await page.getByLabel('New password').fill('yet another passphrase')
    await page.getByRole('button', { name: 'Set my new password' }).click()
    const alert = page.getByRole('alert')
    await alert.getByText('This link has expired or was already used.').waitFor()
    assert.equal(
      await alert.getByRole('link', { name: 'Ask for a new link' }).getAttribute('href'),
      '/forgot-password',
    )
    assert.equal(await page.getByLabel('New password').isVisible(), false, 'no form left')
    await saveScreenshot(page, 'reset-password-spent')
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('a link without its token says so and shows no form', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    for (const query of ['', '?token=abc', '?token=%3Cscript%3Ealert(1)%3C%2Fscript%3E']) {
      await page.goto(`${server.url}/reset-password${query}`)
      await page.getByText('This link is not complete.', { exact: false }).waitFor()
      assert.equal(await page.locator('form').count(), 0, query)
      assert.equal(
        await page.getByRole('link', { name: 'Ask for a new link' }).getAttribute('href'),
        '/forgot-password',
      )
    }
    assert.deepEqual(errors, [])
    await context.close()
  })
})
