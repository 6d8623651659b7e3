// The browser session pattern of the hosted pages, in headless Chromium: the
// access token in memory only, the refresh token in an HttpOnly cookie that
// signs the page in again after a reload, racing tabs inside the grace
// window, silent refresh before expiry, and logout everywhere reaching
// another browser.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Page, Response, Route } from 'playwright-core'
import {
  browserSuite,
  logInWithForm,
  openPage,
  type PagesServer,
  signUpWithForm,
  startPagesServer,
  until,
  waitForAccount,
} from './harness.ts'

/** Whether `response` answers `path` on the server under test. */
function isPath(response: Response, path: string): boolean {
  return new URL(response.url()).pathname === path
}

/** The `Authorization` header of the page's next request to `path`. */
async function nextBearer(page: Page, path: string): Promise<string | undefined> {
  const request = await page.waitForRequest(
    (candidate) => new URL(candidate.url()).pathname === path,
  )
  return (await request.allHeaders())['authorization']
}

browserSuite('hosted pages: the session in a real browser', (browser) => {
  let server: PagesServer
  before(async () => {
    server = await startPagesServer()
  })
  after(() => server.close())

  test('sign up lands on /account; no token in cookies, storage, URLs or the console; a reload signs in again', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    const urls: string[] = []
    const consoleLines: string[] = []
    context.on('request', (request) => urls.push(request.url()))
    page.on('console', (message) => consoleLines.push(message.text()))
    const issuedBefore = server.issued.length
    await signUpWithForm(page, server, { email: 'ada@example.com', name: 'Ada Lovelace' })
    assert.equal(await page.locator('#profile-email').textContent(), 'ada@example.com')

    const storage = await page.evaluate<Record<string, string>>(`({
      cookie: document.cookie,
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
    })`)
    assert.deepEqual(
      storage,
      { cookie: '', local: '{}', session: '{}' },
      'the refresh cookie is HttpOnly (scripts see no cookie); nothing is stored',
    )

    const [cookie, ...others] = await context.cookies()
    assert.equal(others.length, 0)
    assert.equal(cookie?.name, 'tessera_refresh')
    assert.equal(cookie?.httpOnly, true)
    assert.equal(cookie?.secure, true)
    assert.equal(cookie?.sameSite, 'Strict')
    assert.equal(cookie?.path, '/')
    assert.match(cookie?.value ?? '', /^[A-Za-z0-9_-]{43}$/, 'an opaque token, not a JWT')

    const from = server.seen.length
    await page.reload()
    await waitForAccount(page)
    assert.equal(await page.locator('#profile-name').textContent(), 'Ada Lovelace')
    const refreshes = server.requests('POST', '/auth/refresh', from)
    assert.deepEqual(
      refreshes.map((r) => [r.status, r.cookie]),
      [[200, true]],
      'the reload signed in again through the cookie, once',
    )

    const secrets = [...server.issued.slice(issuedBefore), cookie?.value ?? '']
    assert.equal(secrets.length, 4, 'signup, the refresh of /account, the one after the reload')
    for (const secret of secrets) {
      for (const line of [...urls, ...consoleLines, page.url()]) {
        assert.ok(!line.includes(secret), `a token in ${line}`)
      }
    }
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('two tabs refreshing at the same moment both stay signed in (grace window)', async () => {
    const context = await browser().newContext()
    // With Web Locks the tabs take turns and the second uses the first one's
    // session (client-cookie.test.ts counts one refresh for five tabs).
    // Without them (Safari before 15.4) each tab refreshes for itself, with
    // the same cookie: the server's grace window must keep both signed in.
    await context.addInitScript(
      "Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined, configurable: true })",
    )
    const { page: first } = await openPage(context)
    await signUpWithForm(first, server, { email: 'tabs@example.com' })
    const { page: second } = await openPage(context)

    // Hold both refreshes until both are in flight: they carry the same cookie.
    const held: (() => Promise<void>)[] = []
    let release: () => void = () => {}
    const bothHeld = new Promise<void>((done) => {
      release = done
    })
    await context.route('**/auth/refresh', async (route) => {
      held.push(() => route.continue())
      if (held.length === 2) release()
      await bothHeld
    })
    const from = server.seen.length
    const loads = Promise.all([first.reload(), second.goto(`${server.url}/account`)])
    await bothHeld
    await Promise.all(held.map((go) => go()))
    await loads
    await Promise.all([waitForAccount(first), waitForAccount(second)])
    await context.unroute('**/auth/refresh')

    const refreshes = server.requests('POST', '/auth/refresh', from)
    assert.deepEqual(
      refreshes.map((r) => r.status),
      [200, 200],
      'the second use of the same refresh token is inside the grace window',
    )
    // The cookie both answers set is the live successor: a third load signs in too.
    await first.reload()
    await waitForAccount(first)
    assert.equal(server.requests('POST', '/auth/refresh', from).at(-1)?.status, 200)
    await context.close()
  })

  test('calls refused with the same token share one refresh, even a refusal that comes late', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await signUpWithForm(page, server, { email: 'single-flight@example.com' })

    // The next three list calls are held, then refused as if the token had expired.
    const held: Route[] = []
    await context.route('**/auth/sessions', async (route) => {
      if (held.length < 3) held.push(route)
      else await route.continue()
    })
    const refuse = (route: Route | undefined) =>
      route?.fulfill({
        status: 401,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'token_expired', message: 'The token expired.' } }),
      })
    const from = server.seen.length
    const reload = page.getByRole('button', { name: 'Reload the list' })
    for (let i = 0; i < 3; i++) await reload.click()
    await until(() => held.length === 3, 'three held calls')

    // Two refusals at once: one refresh between them, then both retry.
    await Promise.all([refuse(held[0]), refuse(held[1])])
    await until(
      () => server.requests('GET', '/auth/sessions', from).length === 2,
      'the two retries',
    )
    // The third refusal arrives after that refresh: its retry needs no other.
    await refuse(held[2])
    await until(() => server.requests('GET', '/auth/sessions', from).length === 3, 'the retry')
    await context.unroute('**/auth/sessions')

    assert.deepEqual(
      server.requests('POST', '/auth/refresh', from).map((r) => r.status),
      [200],
      'one refresh for the three refusals',
    )
    assert.deepEqual(
      server.requests('GET', '/auth/sessions', from).map((r) => r.status),
      [200, 200, 200],
    )
    assert.equal(page.url(), `${server.url}/account`)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('a refresh answered 429 keeps the session: a message, not /login', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await signUpWithForm(page, server, { email: 'busy@example.com' })
    await context.route('**/auth/refresh', (route) =>
      route.fulfill({
        status: 429,
        contentType: 'application/json',
        headers: { 'retry-after': '7' },
        body: JSON.stringify({
          error: { code: 'rate_limited', message: 'Too many requests.', retryAfter: 7 },
        }),
      }),
    )
    await page.reload()
    await page.getByText('Too many attempts. Try again in 7 seconds.').waitFor()
    assert.equal(page.url(), `${server.url}/account`)
    assert.ok(await page.locator('#account').isHidden())

    // The cookie was never touched: once the server answers again, so does the page.
    await context.unroute('**/auth/refresh')
    await page.reload()
    await waitForAccount(page)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('logging out in one tab sends this browser’s other tabs to /login at once', async () => {
    const context = await browser().newContext()
    const { page: first } = await openPage(context)
    await signUpWithForm(first, server, { email: 'two-tabs-out@example.com' })
    const { page: second } = await openPage(context)
    await second.goto(`${server.url}/account`)
    await waitForAccount(second)

    const calls: string[] = []
    second.on('request', (request) => calls.push(new URL(request.url()).pathname))
    await first.getByRole('button', { name: 'Log out', exact: true }).click()
    await first.waitForURL(`${server.url}/login`)
    // The other tab heard it on the BroadcastChannel, and its login page says so.
    await second.waitForURL(`${server.url}/login?redirect_to=%2Faccount&reason=signed_out`)
    assert.deepEqual(
      // The passkey autofill /login starts as it loads is not a refused call.
      calls.filter((path) => path.startsWith('/auth/') && path !== '/auth/passkeys/login/options'),
      [],
      'told by the other tab, not by a refused call',
    )
    await context.close()
  })

  test('the access token is refreshed before it expires, without a 401', async () => {
    // 5 s: `exp` counts from the second the token was issued in, so it lives
    // 4 to 5 s; refreshDelay(5) is 3.125 to 3.75 s, safely inside.
    const shortLived = await startPagesServer({ TESSERA_ACCESS_TOKEN_TTL: '5s' })
    try {
      const context = await browser().newContext()
      const { page } = await openPage(context)
      const loaded = page.waitForResponse((response) => isPath(response, '/auth/refresh'))
      await signUpWithForm(page, shortLived, { email: 'timer@example.com' })
      const first = (await (await loaded).json()) as { accessToken: string; expiresIn: number }
      const expiresAt = JSON.parse(
        Buffer.from(first.accessToken.split('.')[1] ?? '', 'base64url').toString(),
      ).exp as number
      const from = shortLived.seen.length

      const renewed = await page.waitForResponse((response) => isPath(response, '/auth/refresh'))
      assert.ok(Date.now() < expiresAt * 1000, 'the timer refreshed before the token expired')
      const { accessToken: next } = (await renewed.json()) as { accessToken: string }
      assert.notEqual(next, first.accessToken)

      // The next call carries the refreshed token.
      const bearer = nextBearer(page, '/auth/sessions')
      await page.getByRole('button', { name: 'Reload the list' }).click()
      assert.equal(await bearer, `Bearer ${next}`)
      await until(
        () => shortLived.requests('GET', '/auth/sessions', from).length === 1,
        'the list call',
      )
      assert.deepEqual(
        shortLived.seen
          .slice(from)
          .filter((r) => !r.url.startsWith('/pages/'))
          .map((r) => `${r.method} ${r.url} ${r.status}`),
        ['POST /auth/refresh 200', 'GET /auth/sessions 200'],
        'no call was refused for an expired token',
      )
      await context.close()
    } finally {
      await shortLived.close()
    }
  })

  test('log out everywhere: another browser’s next call fails, one refresh, then /login', async () => {
    const one = await browser().newContext()
    const other = await browser().newContext()
    const { page: mine } = await openPage(one)
    const { page: theirs } = await openPage(other)
    await signUpWithForm(mine, server, { email: 'everywhere@example.com' })
    await logInWithForm(theirs, server, 'everywhere@example.com')

    await mine.getByRole('button', { name: 'Log out everywhere' }).click()
    await mine.waitForURL(`${server.url}/login`)
    assert.deepEqual(await one.cookies(), [], 'this browser’s cookie is cleared')

    const from = server.seen.length
    await theirs.getByRole('button', { name: 'Reload the list' }).click()
    await theirs.waitForURL(`${server.url}/login?redirect_to=%2Faccount&reason=session_ended`)
    const calls = server.seen
      .slice(from)
      // Assets, and the passkey autofill each /login starts as it loads (here
      // also the first browser's, which was just sent there): not the session's calls.
      .filter((r) => !r.url.startsWith('/pages/') && r.url !== '/auth/passkeys/login/options')
      .map((r) => `${r.method} ${r.url} ${r.status} ${r.code}`)
    assert.deepEqual(calls.slice(0, 3), [
      'GET /auth/sessions 401 token_revoked',
      'POST /auth/refresh 401 invalid_refresh_token',
      'GET /login?redirect_to=%2Faccount&reason=session_ended 200 null',
    ])

    // Signing in again returns to the page that sent the user away.
    await theirs.getByLabel('Email').fill('everywhere@example.com')
    await theirs.getByLabel('Password').fill('correct horse battery staple')
    await theirs.getByRole('button', { name: 'Log in' }).click()
    await theirs.waitForURL(`${server.url}/account`)
    await waitForAccount(theirs)
    await one.close()
    await other.close()
  })

  test('revoking another session from the list signs that browser out', async () => {
    const one = await browser().newContext()
    const other = await browser().newContext({
      userAgent: 'Mozilla/5.0 (Windows NT 10.0) Firefox/127.0',
    })
    const { page: mine } = await openPage(one)
    const { page: theirs } = await openPage(other)
    await signUpWithForm(mine, server, { email: 'revoke@example.com' })
    await logInWithForm(theirs, server, 'revoke@example.com')

    await mine.getByRole('button', { name: 'Reload the list' }).click()
    const revoke = mine.getByRole('button', { name: /^Revoke the session of Firefox on Windows/ })
    await revoke.click()
    await mine.getByText('Session revoked.').waitFor()
    assert.equal(await mine.locator('.session').count(), 1)
    assert.equal(
      await mine.evaluate('document.activeElement.id'),
      'sessions-heading',
      'focus moves to the list heading once the row is gone',
    )

    await theirs.getByRole('button', { name: 'Reload the list' }).click()
    await theirs.waitForURL(/\/login\?redirect_to=%2Faccount&reason=session_ended$/)
    await one.close()
    await other.close()
  })

  test('change the password: the other session is signed out, this one stays', async () => {
    const one = await browser().newContext()
    const other = await browser().newContext()
    const { page: mine } = await openPage(one)
    const { page: theirs } = await openPage(other)
    await signUpWithForm(mine, server, { email: 'password@example.com' })
    await logInWithForm(theirs, server, 'password@example.com')

    await mine.getByLabel('Current password').fill('not my password')
    await mine.getByLabel('New password').fill('an even better passphrase')
    await mine.getByRole('button', { name: 'Change password' }).click()
    const current = mine.getByLabel('Current password')
    await mine.getByText('This is not your password.').waitFor()
    assert.equal(await current.getAttribute('aria-invalid'), 'true')
    assert.equal(await mine.evaluate('document.activeElement.id'), 'password-currentPassword')

    await current.fill('correct horse battery staple')
    await mine.getByRole('button', { name: 'Change password' }).click()
    await mine.getByText('Password changed.', { exact: false }).waitFor()
    assert.equal(await current.getAttribute('aria-invalid'), null)

    await theirs.reload()
    await theirs.waitForURL(/\/login\?redirect_to=%2Faccount&reason=session_ended$/)
    await mine.reload()
    await waitForAccount(mine)
    await one.close()
    await other.close()
  })

  test('log out: the session ends and /account sends the browser to /login', async () => {
    const context = await browser().newContext()
    const { page } = await openPage(context)
    await signUpWithForm(page, server, { email: 'logout@example.com' })
    await page.getByRole('button', { name: 'Log out', exact: true }).click()
    await page.waitForURL(`${server.url}/login`)
    assert.deepEqual(await context.cookies(), [])
    await page.goto(`${server.url}/account`)
    await page.waitForURL(`${server.url}/login?redirect_to=%2Faccount`)
    await context.close()
  })
})
