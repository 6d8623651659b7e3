// Another origin against a signed-in browser: a second local server plays the
// attacker's site, reached as http://127.0.0.1:<other port> (same site as
// Tessera: SameSite sends the cookie, so the CSRF header and the Origin
// check must stop it) and as http://localhost:<other port> (another site:
// SameSite=Strict keeps the cookie home). Neither may refresh, log out, or
// frame the pages.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Page } from 'playwright-core'
import {
  browserSuite,
  type OtherOrigin,
  openPage,
  type PagesServer,
  signUpWithForm,
  startOtherOrigin,
  startPagesServer,
  waitForAccount,
} from './harness.ts'

browserSuite('hosted pages: another origin', (browser) => {
  let server: PagesServer
  let other: OtherOrigin
  before(async () => {
    server = await startPagesServer()
    const frame = (path: string) => `<!doctype html><title>Framing</title>
<iframe id="victim" src="${server.url}${path}" width="600" height="400"></iframe>`
    other = await startOtherOrigin({
      '/': '<!doctype html><title>Another site</title><p>Nothing to see.</p>',
      '/frame-login': frame('/login'),
      '/frame-account': frame('/account'),
      // A classic CSRF: a form that posts to the victim on load.
      '/logout-form': `<!doctype html><title>Win a prize</title>
<form id="f" method="post" action="${server.url}/auth/logout"></form>
<script>document.getElementById('f').submit()</script>`,
    })
  })
  after(async () => {
    await other.close()
    await server.close()
  })

  /** What a script on the attacker's page gets from each call to Tessera. */
  async function attack(page: Page): Promise<Record<string, string>> {
    return page.evaluate(async (target) => {
      const outcome = async (call: Promise<Response>) => {
        try {
          const response = await call
          return response.type === 'opaque' ? 'opaque' : `status ${response.status}`
        } catch (error) {
          return `failed: ${(error as Error).name}`
        }
      }
      const post = (path: string, init: RequestInit) =>
        outcome(fetch(`${target}${path}`, { method: 'POST', credentials: 'include', ...init }))
      return {
        // With the CSRF header the browser must ask first (CORS preflight): Tessera never says yes.
        refreshWithHeader: await post('/auth/refresh', { headers: { 'x-tessera-csrf': '1' } }),
        logoutWithHeader: await post('/auth/logout', { headers: { 'x-tessera-csrf': '1' } }),
        // Without it the request is "simple" and goes out, blind.
        refreshBlind: await post('/auth/refresh', { mode: 'no-cors' }),
        logoutBlind: await post('/auth/logout', { mode: 'no-cors' }),
        logoutAllBlind: await post('/auth/logout-all', { mode: 'no-cors' }),
      }
    }, server.url)
  }

  /**
   * What reaches Tessera from each host: from the same site the cookie comes
   * along and the CSRF check refuses it; from another site no cookie comes
   * at all. The form post is refused before either, for its body type.
   */
  const cases = [
    {
      host: '127.0.0.1',
      site: 'same site',
      cookie: true,
      refused: ['403 csrf_failed', '403 csrf_failed', '401 missing_token'],
    },
    {
      host: 'localhost',
      site: 'another site',
      cookie: false,
      refused: ['401 missing_token', '401 missing_token', '401 missing_token'],
    },
  ] as const

  for (const { host, site, cookie, refused } of cases) {
    test(`a page on ${host}:<other port> (${site}) cannot refresh or log out the user`, async () => {
      const context = await browser().newContext()
      const { page: victim } = await openPage(context)
      await signUpWithForm(victim, server, { email: `victim-${host}@example.com` })
      const refreshToken = (await context.cookies())[0]?.value

      const { page: evil } = await openPage(context)
      const origin = `http://${host}:${other.port}`
      await evil.goto(`${origin}/`)
      const from = server.seen.length
      assert.deepEqual(await attack(evil), {
        refreshWithHeader: 'failed: TypeError',
        logoutWithHeader: 'failed: TypeError',
        refreshBlind: 'opaque',
        logoutBlind: 'opaque',
        logoutAllBlind: 'opaque',
      })
      await evil.goto(`${origin}/logout-form`)
      await evil.waitForURL(`${server.url}/auth/logout`)

      // The two calls with the header never left the browser: only the blind ones arrived.
      const posts = server.seen.slice(from).filter((r) => r.method === 'POST')
      assert.deepEqual(
        posts.map((r) => `${r.url} ${r.status} ${r.code} ${r.origin} cookie=${r.cookie}`),
        [
          `/auth/refresh ${refused[0]} ${origin} cookie=${cookie}`,
          `/auth/logout ${refused[1]} ${origin} cookie=${cookie}`,
          `/auth/logout-all ${refused[2]} ${origin} cookie=${cookie}`,
          `/auth/logout 415 unsupported_media_type ${origin} cookie=${cookie}`,
        ],
      )
      const preflights = server.seen.slice(from).filter((r) => r.method === 'OPTIONS')
      assert.ok(
        preflights.every((r) => r.status === 404),
        'no preflight was granted (Tessera sends no CORS headers)',
      )

      // Still signed in, with the same refresh token: nothing rotated or revoked it.
      assert.equal((await context.cookies())[0]?.value, refreshToken)
      await victim.reload()
      await waitForAccount(victim)
      await context.close()
    })
  }

  test('the pages cannot be framed by another origin (frame-ancestors, X-Frame-Options)', async () => {
    const context = await browser().newContext()
    const { page } = await openPage(context)
    for (const [path, target] of [
      ['/frame-login', '/login'],
      ['/frame-account', '/account'],
    ] as const) {
      const from = server.seen.length
      const refused = page.waitForEvent('console', (message) =>
        /frame-ancestors/.test(message.text()),
      )
      await page.goto(`http://localhost:${other.port}${path}`)
      await refused
      // The page was requested and served, but the browser refused to show it:
      // it loaded none of its script or stylesheet.
      assert.deepEqual(
        server.seen.slice(from).map((r) => `${r.method} ${r.url} ${r.status}`),
        [`GET ${target} 200`],
      )
      const frame = page.frames().find((candidate) => candidate !== page.mainFrame())
      assert.ok(frame)
      assert.ok(!frame.url().startsWith(server.url), `the frame shows ${frame.url()}`)
    }
    await context.close()
  })
})
