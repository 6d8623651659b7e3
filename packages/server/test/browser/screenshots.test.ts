// Screenshots of every page, for a reviewer to look at (and, with
// TESSERA_UPDATE_SCREENSHOTS=1, the ones docs/ and the README show), and
// the branding settings as a browser renders them.

import assert from 'node:assert/strict'
import { statSync } from 'node:fs'
import { after, before, test } from 'node:test'
import type { Page } from 'playwright-core'
import {
  browserSuite,
  openPage,
  PASSWORD,
  type PagesServer,
  SCREENSHOT_DIR,
  saveScreenshot,
  signUpWithForm,
  startPagesServer,
} from './harness.ts'

const VIEWPORT = { width: 1100, height: 760 }
const FIREFOX_ON_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0'

/** A computed style of the first element matching `selector`, e.g. `rgb(r, g, b)`. */
function style(page: Page, selector: string, property: 'backgroundColor' | 'color') {
  return page.evaluate<string>(
    `getComputedStyle(document.querySelector(${JSON.stringify(selector)})).${property}`,
  )
}

function assertPng(path: string): void {
  assert.ok(statSync(path).size > 5000, `${path} is a real screenshot`)
}

browserSuite('hosted pages: screenshots and branding', (browser) => {
  let server: PagesServer
  before(async () => {
    server = await startPagesServer()
  })
  after(() => server.close())

  test('login, signup, account and inspect, saved as PNG', async (t) => {
    const context = await browser().newContext({ viewport: VIEWPORT })
    const { page, errors } = await openPage(context)

    await page.goto(`${server.url}/login`)
    assertPng(await saveScreenshot(page, 'login'))
    assert.equal(
      await style(page, 'button[type=submit]', 'backgroundColor'),
      'rgb(47, 84, 198)',
      'the default brand colour #2f54c6',
    )

    await page.goto(`${server.url}/signup`)
    assertPng(await saveScreenshot(page, 'signup'))
    await page.getByLabel('Email').fill('not-an-email')
    await page.getByLabel('Password', { exact: true }).fill('short')
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.locator('#signup-password[aria-invalid="true"]').waitFor()
    assertPng(await saveScreenshot(page, 'signup-errors'))

    // Another device signed in too, so the list has a session to revoke.
    await signUpWithForm(page, server, { email: 'ada@example.com', name: 'Ada Lovelace' })
    const other = await fetch(`${server.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': FIREFOX_ON_WINDOWS },
      body: JSON.stringify({ email: 'ada@example.com', password: PASSWORD }),
    })
    assert.equal(other.status, 200)
    const { accessToken } = (await other.json()) as { accessToken: string }
    await page.reload()
    await page.getByRole('button', { name: /^Revoke the session of Firefox on Windows/ }).waitFor()
    assertPng(await saveScreenshot(page, 'account'))

    await page.goto(`${server.url}/inspect`)
    await page.getByLabel('Token').fill(accessToken)
    await page.getByText('Valid: signed by this server and not expired.').waitFor()
    await page.getByLabel('Token').blur()
    assertPng(await saveScreenshot(page, 'inspect'))

    assert.deepEqual(errors, [])
    t.diagnostic(`screenshots saved in ${SCREENSHOT_DIR}`)
    await context.close()
  })

  test('branding: name, colour and logo (its origin allowed by the CSP)', async () => {
    const branded = await startPagesServer({
      TESSERA_BRAND_NAME: 'Acme Cloud',
      TESSERA_BRAND_COLOR: '#ffcc00',
      TESSERA_BRAND_LOGO_URL: 'https://cdn.acme.example/logo.svg',
    })
    try {
      const context = await browser().newContext({ viewport: VIEWPORT })
      await context.route('https://cdn.acme.example/logo.svg', (route) =>
        route.fulfill({
          contentType: 'image/svg+xml',
          body: '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><circle cx="16" cy="16" r="14" fill="#111"/></svg>',
        }),
      )
      const { page, errors } = await openPage(context)
      await page.goto(`${branded.url}/login`)
      assert.equal(await page.title(), 'Log in · Acme Cloud')
      // The image loaded: the CSP's img-src names the logo's origin.
      await page.waitForFunction("document.querySelector('img.brand-logo').naturalWidth > 0")
      assert.equal(await style(page, 'button[type=submit]', 'backgroundColor'), 'rgb(255, 204, 0)')
      // Black text on yellow: white would not be readable.
      assert.equal(await style(page, 'button[type=submit]', 'color'), 'rgb(0, 0, 0)')
      assertPng(await saveScreenshot(page, 'login-branded'))
      assert.deepEqual(errors, [])
      await context.close()
    } finally {
      await branded.close()
    }
  })
})
