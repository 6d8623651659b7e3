// Changing the email address in headless Chromium: the form on /account,
// the link mailed to the new address (at a real SMTP server in process),
// /confirm-email consuming nothing until its button is pressed, and the
// account page showing the new address.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
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
import { linkIn, waitForMail } from './mail.ts'

const CONFIRM_SUBJECT = /^Confirm your new email address/
const CHANGED_SUBJECT = /email address was changed$/

browserSuite('hosted pages: changing the email address', (browser) => {
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

  test('from /account: the link mailed to the new address confirms it, once', async () => {
    const [old, next] = ['moving@example.com', 'moved@example.com']
    await server.signUp(old)
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await logInWithForm(page, server, old)

    const from = smtp.received.length
    await page.getByLabel('New email address').fill(next)
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByRole('button', { name: 'Change email' }).click()
    await page
      .getByText(`We mailed a link to ${next}; your address changes when you open it.`)
      .waitFor()
    assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '')
    await page.locator('#profile-email').getByText(old).waitFor()
    await saveScreenshot(page, 'account-change-email')

    const link = linkIn(await waitForMail(smtp, next, CONFIRM_SUBJECT, from), '/confirm-email')
    assert.ok(link.startsWith(`${server.url}/confirm-email?token=`), link)
    // Opening the page (as a scanner would) uses nothing up.
    const seen = server.seen.length
    await page.goto(link)
    const button = page.getByRole('button', { name: 'Confirm my new email' })
    await button.waitFor()
    assert.deepEqual(server.requests('POST', '/auth/email/change/confirm', seen), [])
    await saveScreenshot(page, 'confirm-email')

    await button.click()
    await page.getByText(`Your email address is now ${next}.`).waitFor()
    assert.equal(server.requests('POST', '/auth/email/change/confirm', seen).length, 1)
    await saveScreenshot(page, 'confirm-email-done')
    await waitForMail(smtp, old, CHANGED_SUBJECT, from)

    await page.getByRole('link', { name: 'Go to your account' }).click()
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)
    await page.locator('#profile-email').getByText(next).waitFor()

    // The same link again: spent.
    await page.goto(link)
    await page.getByRole('button', { name: 'Confirm my new email' }).click()
    await page.getByText('This link has expired or was already used.', { exact: false }).waitFor()
    await page.getByRole('link', { name: 'Go to your account' }).waitFor()
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('a wrong password is refused at its field', async () => {
    const email = 'careful@example.com'
    await server.signUp(email)
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await logInWithForm(page, server, email)
    const from = server.seen.length
    await page.getByLabel('New email address').fill('elsewhere@example.com')
    const password = page.getByLabel('Password', { exact: true })
    await password.fill('not my password')
    await page.getByRole('button', { name: 'Change email' }).click()
    await page
      .locator('#change-email-currentPassword-error')
      .getByText('This is not your password.')
      .waitFor()
    assert.equal(await password.getAttribute('aria-invalid'), 'true')
    // A string: the repository's TypeScript has no DOM types.
    assert.equal(await page.evaluate('document.activeElement?.id'), 'change-email-currentPassword')
    const [asked] = server.requests('POST', '/auth/email/change', from)
    assert.equal(asked?.status, 401)
    assert.equal(asked?.code, 'invalid_credentials')
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('a link without its token says so and offers no button', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/confirm-email`)
    await page.getByText('This link is not complete.', { exact: false }).waitFor()
    assert.equal(await page.getByRole('button', { name: 'Confirm my new email' }).count(), 0)
    assert.deepEqual(errors, [])
    await context.close()
  })
})
