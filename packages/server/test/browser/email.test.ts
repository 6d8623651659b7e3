// Email verification in headless Chromium: the signup mail arrives at a real
// SMTP server in process, its link opens /verify-email, which consumes
// nothing until the button is pressed (mail scanners prefetch links).

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
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

browserSuite('hosted pages: verifying the email address', (browser) => {
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

  test('sign up, open the mailed link, press the button: verified; the link then is spent', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/signup`)
    await page.getByLabel('Email').fill('grace@example.com')
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByRole('button', { name: 'Create account' }).click()
    await waitForAccount(page)

    const [mail] = await smtp.waitFor(1)
    const link = /https?:\/\/\S+\/verify-email\?token=[A-Za-z0-9_-]{43}/.exec(
      mail!.parsed.text ?? '',
    )?.[0]
    assert.ok(link, mail!.parsed.text)
    const path = new URL(link)
    const at = `${server.url}${path.pathname}${path.search}`

    // Opening the page (as a scanner would) uses nothing up.
    const from = server.seen.length
    await page.goto(at)
    await page.getByRole('button', { name: 'Verify my email' }).waitFor()
    assert.deepEqual(server.requests('POST', '/auth/email/verify', from), [])
    await saveScreenshot(page, 'verify-email')

    await page.getByRole('button', { name: 'Verify my email' }).click()
    await page.getByText('Your email address is verified.').waitFor()
    await page.getByRole('link', { name: 'Go to your account' }).waitFor()

    // The same link again: spent, and the page says what to do.
    await page.goto(at)
    await page.getByRole('button', { name: 'Verify my email' }).click()
    await page.getByText('This link has expired or was already used.', { exact: false }).waitFor()
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('the account page says the address is not verified, mails a new link, then says verified', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/signup`)
    await page.getByLabel('Email').fill('hedy@example.com')
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByRole('button', { name: 'Create account' }).click()
    await waitForAccount(page)
    await waitForMail(smtp, 'hedy@example.com', /Confirm your email/)
    await page.getByText('Not verified', { exact: true }).waitFor()

    const from = smtp.received.length
    await page.getByRole('button', { name: 'Send a new link' }).click()
    await page.getByText('We mailed a new link to hedy@example.com.', { exact: false }).waitFor()
    const mail = await waitForMail(smtp, 'hedy@example.com', /Confirm your email/, from)
    const link = new URL(linkIn(mail, '/verify-email'))
    await page.goto(`${server.url}${link.pathname}${link.search}`)
    await page.getByRole('button', { name: 'Verify my email' }).click()
    await page.getByText('Your email address is verified.').waitFor()

    await page.goto(`${server.url}/account`)
    await waitForAccount(page)
    await page.getByText('Verified', { exact: true }).waitFor()
    assert.equal(await page.getByRole('button', { name: 'Send a new link' }).isVisible(), false)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('a link without its token says so and offers no button', async () => {
    const context = await browser().newContext()
    const { page } = await openPage(context)
    await page.goto(`${server.url}/verify-email?token=%3Cscript%3E`)
    await page.getByText('This link is not complete.', { exact: false }).waitFor()
    assert.equal(await page.getByRole('button', { name: 'Verify my email' }).isVisible(), false)
    await context.close()
  })
})
