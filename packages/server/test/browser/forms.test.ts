// The forms as a keyboard and a screen reader use them: focus order, error
// messages tied to their fields, the server's verdicts shown where they
// belong; redirect_to after signing in; small screens; and no JavaScript.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Page } from 'playwright-core'
import {
  browserSuite,
  openPage,
  PASSWORD,
  type PagesServer,
  startPagesServer,
  waitForAccount,
} from './harness.ts'

/** The focused element as a test names it: its id, else its text. */
function focused(page: Page): Promise<string> {
  return page.evaluate('document.activeElement.id || document.activeElement.textContent.trim()')
}

/** What a screen reader announces with field `id`: the texts its aria-describedby names. */
async function description(page: Page, id: string): Promise<string> {
  const ids = (await page.locator(`#${id}`).getAttribute('aria-describedby')) ?? ''
  const texts = await Promise.all(
    ids.split(' ').map(async (part) => (await page.locator(`#${part}`).textContent())?.trim()),
  )
  return texts.filter(Boolean).join(' | ')
}

browserSuite('hosted pages: forms, keyboard and redirect_to', (browser) => {
  let server: PagesServer
  before(async () => {
    // The pages' own origin stays on the list: their calls to the API come from it.
    server = await startPagesServer((url) => ({
      TESSERA_ALLOWED_ORIGINS: `${url},https://app.example.com`,
    }))
  })
  after(() => server.close())

  test('sign up with the keyboard only: focus order, errors on their fields, then /account', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/signup`)
    const order: string[] = []
    for (let i = 0; i < 9; i++) {
      await page.keyboard.press('Tab')
      order.push(await focused(page))
    }
    assert.deepEqual(order, [
      'Skip to content',
      'Tessera',
      'Account',
      'Token inspector',
      'signup-name',
      'signup-email',
      'signup-password',
      'Create account',
      'Log in',
    ])

    // Nothing filled in: the first required field gets the focus and its message.
    await page.locator('#signup-name').focus()
    await page.keyboard.press('Enter')
    assert.equal(await focused(page), 'signup-email')
    assert.equal(await page.locator('#signup-email').getAttribute('aria-invalid'), 'true')
    assert.equal(await description(page, 'signup-email'), 'Enter your email.')
    assert.equal(await page.locator('#signup-name').getAttribute('aria-invalid'), null)

    await page.keyboard.type('not-an-email')
    await page.keyboard.press('Tab')
    await page.keyboard.type('short')
    await page.keyboard.press('Enter')
    assert.equal(await focused(page), 'signup-email')
    assert.equal(
      await description(page, 'signup-email'),
      'Enter an email address like name@example.com.',
    )
    assert.equal(
      await description(page, 'signup-password'),
      'At least 8 characters. Common passwords are refused. | Use at least 8 characters.',
    )

    // The server's verdict on a common password lands on the password field.
    await page.locator('#signup-email').fill('')
    await page.keyboard.type('keyboard@example.com')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Control+A')
    await page.keyboard.type('password123')
    await page.keyboard.press('Enter')
    await page.locator('#signup-password[aria-invalid="true"]').waitFor()
    assert.equal(await focused(page), 'signup-password')
    assert.match(await description(page, 'signup-password'), /too common/)
    assert.equal(await page.locator('#signup-email').getAttribute('aria-invalid'), null)

    await page.keyboard.press('Control+A')
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press('Enter')
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('a wrong password is reported above the form; the focus returns to the button', async () => {
    await server.signUp('wrong@example.com')
    const context = await browser().newContext()
    const { page } = await openPage(context)
    await page.goto(`${server.url}/login`)
    await page.getByLabel('Email').fill('wrong@example.com')
    await page.getByLabel('Password').fill('not the password at all')
    await page.getByLabel('Password').press('Enter')
    const alert = page
      .getByRole('alert')
      .filter({ hasText: 'The email or the password is not right.' })
    await alert.waitFor()
    assert.equal(await focused(page), 'Log in')
    await context.close()
  })

  test('redirect_to: a path or an allowed origin is followed after login; others go to /account', async () => {
    await server.signUp('redirect@example.com')
    const context = await browser().newContext()
    // The allowed app's origin is not running: answer for it here.
    await context.route('https://app.example.com/**', (route) =>
      route.fulfill({ body: 'the app', contentType: 'text/plain' }),
    )
    const { page } = await openPage(context)
    for (const [target, landing, refused] of [
      ['/inspect?x=1', `${server.url}/inspect?x=1`, false],
      ['https://app.example.com/welcome', 'https://app.example.com/welcome', false],
      ['https://evil.example/phish', `${server.url}/account`, true],
      ['//evil.example/phish', `${server.url}/account`, true],
      ['/.//evil.example/phish', `${server.url}/account`, true],
      ['javascript:alert(1)', `${server.url}/account`, true],
    ] as const) {
      await context.clearCookies()
      await page.goto(`${server.url}/login?redirect_to=${encodeURIComponent(target)}`)
      assert.equal(await page.locator('#redirect-refused').isVisible(), refused, target)
      // The link to the other form keeps the target.
      assert.equal(
        await page.getByRole('link', { name: 'Sign up' }).getAttribute('href'),
        refused ? '/signup' : `/signup?redirect_to=${encodeURIComponent(target)}`,
      )
      await page.getByLabel('Email').fill('redirect@example.com')
      await page.getByLabel('Password').fill(PASSWORD)
      await page.getByRole('button', { name: 'Log in' }).click()
      await page.waitForURL(landing)
    }
    await context.close()
  })

  test('every page fits a 320 px wide screen without sideways scrolling', async () => {
    const context = await browser().newContext({ viewport: { width: 320, height: 640 } })
    const { page } = await openPage(context)
    const email = 'narrow@example.com'
    await server.signUp(email)
    await page.goto(`${server.url}/login`)
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)
    for (const path of ['/account', '/login', '/signup', '/inspect']) {
      if (path !== '/account') await page.goto(`${server.url}${path}`)
      const width = await page.evaluate<number>('document.documentElement.scrollWidth')
      assert.ok(width <= 320, `${path} is ${width} px wide`)
    }
    await context.close()
  })

  test('without JavaScript the forms cannot be submitted (no password in a URL) and say why', async () => {
    const context = await browser().newContext({ javaScriptEnabled: false })
    const { page } = await openPage(context)
    for (const path of ['/login', '/signup']) {
      await page.goto(`${server.url}${path}`)
      const notice = page.locator('noscript .notice')
      assert.ok(await notice.isVisible())
      assert.match((await notice.textContent()) ?? '', /^This page needs JavaScript/)
      assert.ok(await page.getByLabel('Email').isDisabled())
      assert.ok(await page.getByLabel('Password', { exact: true }).isDisabled())
      assert.ok(await page.getByRole('button', { name: /Log in|Create account/ }).isDisabled())
      // Even if it could be submitted, the browser would post the body, not build a query.
      assert.equal(await page.locator('form').getAttribute('method'), 'post')
      assert.equal(page.url(), `${server.url}${path}`)
    }
    await context.close()
  })
})
