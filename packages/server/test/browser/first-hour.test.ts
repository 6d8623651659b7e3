// What a newcomer and an attacker meet in the hosted pages, in headless
// Chromium: the default configuration opened at the address README gives
// (http://127.0.0.1:<port>, while the default issuer says localhost), a
// page sent back to /login saying why, and cookie tossing from a sibling
// subdomain (issue #12 item 4, issue #13 item 1).

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  browserSuite,
  openPage,
  PASSWORD,
  type PagesServer,
  startOtherOrigin,
  startPagesServer,
  waitForAccount,
} from './harness.ts'

browserSuite('hosted pages: the default configuration', (browser) => {
  let server: PagesServer
  before(async () => {
    // Nothing set but the port: issuer http://localhost:<port>, cookie without Secure.
    server = await startPagesServer({
      TESSERA_ISSUER: '',
      TESSERA_COOKIE_SECURE: '',
      TESSERA_SIGNUP_RATE_LIMIT: '',
    })
  })
  after(() => server.close())

  for (const host of ['127.0.0.1', 'localhost']) {
    test(`sign up at http://${host}:<port>, reload, stay signed in`, async () => {
      assert.equal(server.tessera.config.issuer, `http://localhost:${server.port}`)
      const context = await browser().newContext()
      const { page, errors } = await openPage(context)
      const base = `http://${host}:${server.port}`
      await page.goto(`${base}/signup`)
      await page.getByLabel('Email').fill(`first-${host}@example.com`)
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
      await page.getByRole('button', { name: 'Create account' }).click()
      await page.waitForURL(`${base}/account`)
      await waitForAccount(page)
      const from = server.seen.length
      await page.reload()
      await waitForAccount(page)
      assert.deepEqual(
        server.requests('POST', '/auth/refresh', from).map((r) => [r.status, r.code]),
        [[200, null]],
      )
      assert.deepEqual(errors, [])
      await context.close()
    })
  }
})

browserSuite('hosted pages: /login says why', (browser) => {
  let server: PagesServer
  before(async () => {
    server = await startPagesServer()
  })
  after(() => server.close())

  test('a session ended elsewhere sends the page to /login with a reason it shows', async () => {
    const context = await browser().newContext()
    const { page } = await openPage(context)
    const email = 'ended@example.com'
    await page.goto(`${server.url}/signup`)
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByRole('button', { name: 'Create account' }).click()
    await waitForAccount(page)
    // The user signs out everywhere from another device.
    const login = await fetch(`${server.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    })
    const { accessToken } = (await login.json()) as { accessToken: string }
    const all = await fetch(`${server.url}/auth/logout-all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}` },
    })
    assert.equal(all.status, 204)
    await page.reload()
    await page.waitForURL(/\/login\?/)
    assert.equal(new URL(page.url()).searchParams.get('reason'), 'session_ended')
    assert.match(
      (await page.locator('#login-reason').textContent()) ?? '',
      /Your session has ended/,
    )
    await context.close()
  })

  test('a first visit without any session shows no reason', async () => {
    const context = await browser().newContext()
    const { page } = await openPage(context)
    await page.goto(`${server.url}/account`)
    await page.waitForURL(/\/login\?/)
    assert.equal(new URL(page.url()).searchParams.get('reason'), null)
    assert.equal(await page.locator('#login-reason').count(), 0)
    await context.close()
  })

  test('a reason outside the table shows nothing from the URL', async () => {
    const context = await browser().newContext()
    const { page } = await openPage(context)
    await page.goto(`${server.url}/login?reason=%3Cimg%20src%3Dx%3E`)
    assert.equal(await page.locator('#login-reason').count(), 0)
    assert.equal(await page.locator('img[src=x]').count(), 0)
    await context.close()
  })
})

// Two names for 127.0.0.1 that share the parent domain tessera.test.
const MAP_TEST_DOMAIN = '--host-resolver-rules=MAP *.tessera.test 127.0.0.1'

browserSuite(
  'hosted pages: cookie tossing from a sibling subdomain',
  (browser) => {
    let server: PagesServer
    before(async () => {
      server = await startPagesServer((url) => ({
        TESSERA_ISSUER: url.replace('127.0.0.1', 'auth.tessera.test'),
        // Plain http on a non-loopback name: the browser drops Secure cookies there.
        TESSERA_COOKIE_SECURE: 'false',
      }))
    })
    after(() => server.close())

    test('a refresh cookie planted for the parent domain signs no one in to the attacker’s account', async () => {
      const issuer = server.tessera.config.issuer
      const attacker = await server.signUp('attacker@example.com')
      // The attacker's page on a sibling host plants its own refresh token for
      // every host of tessera.test, with a longer path so it is sent first.
      const evil = await startOtherOrigin({
        '/': `<script>document.cookie = 'tessera_refresh=${attacker.refreshToken}; Domain=tessera.test; Path=/auth/refresh'</script>`,
      })
      try {
        const context = await browser().newContext()
        const { page } = await openPage(context)
        await page.goto(`${issuer}/signup`)
        await page.getByLabel('Email').fill('victim@example.com')
        await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
        await page.getByRole('button', { name: 'Create account' }).click()
        await waitForAccount(page)

        await page.goto(`http://evil.tessera.test:${evil.port}/`)
        const planted = (await context.cookies(`${issuer}/auth/refresh`)).filter(
          (cookie) => cookie.name === 'tessera_refresh',
        )
        assert.equal(planted.length, 2, 'the browser now holds both cookies')

        const from = server.seen.length
        await page.goto(`${issuer}/account`)
        await page.waitForURL(/\/login\?/)
        assert.deepEqual(
          server.requests('POST', '/auth/refresh', from).map((r) => [r.status, r.code]),
          [[403, 'csrf_failed']],
          'refused, never answered with the attacker’s session',
        )
        assert.equal(new URL(page.url()).searchParams.get('reason'), 'cookie_conflict')
        assert.match(
          (await page.locator('#login-reason').textContent()) ?? '',
          /session cookie twice/,
        )
        await context.close()
      } finally {
        await evil.close()
      }
    })
  },
  { args: [MAP_TEST_DOMAIN] },
)
