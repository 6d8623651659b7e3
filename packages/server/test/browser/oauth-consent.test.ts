// The hosted pages of OAuth in headless Chromium (issue 17): a third-party
// app on another site (http://localhost:<port>, while Tessera is
// http://127.0.0.1:<port>, so SameSite=Strict keeps the refresh cookie home)
// sends the user to /oauth/authorize by a link; the continue page brings the
// request home with the cookie, /login signs in, the consent page asks, and
// the browser lands back at the app with a code (or access_denied). Then: a
// remembered consent is not asked again, prompt=consent asks again, a
// request that cannot be sent back stays on the error page, the consent
// form works without JavaScript, "Apps with access" on /account lists the
// app and removes it, and RP-initiated logout asks before signing out.

import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { after, before, test } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import type { OAuthClientRecord } from '../../src/storage/ports.ts'
import {
  browserSuite,
  logInWithForm,
  openPage,
  PASSWORD,
  type PagesServer,
  startPagesServer,
  waitForAccount,
} from './harness.ts'

/** The third-party app: a start page with a link to Tessera, and its callback. */
interface App {
  /** `http://localhost:<port>`: another site than Tessera's 127.0.0.1. */
  readonly origin: string
  readonly callback: string
  /** Every path the app was asked for, in order. */
  readonly hits: string[]
  close(): Promise<void>
}

function escapeAttribute(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;')
}

async function startApp(): Promise<App> {
  const hits: string[] = []
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost')
    hits.push(request.url ?? '/')
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    if (url.pathname === '/start') {
      // A link the user clicks: a navigation this other site starts.
      const target = escapeAttribute(url.searchParams.get('to') ?? '')
      response.end(
        `<!doctype html><title>Photo Printer</title><a id="sign-in" href="${target}">Sign in</a>`,
      )
      return
    }
    response.end('<!doctype html><title>Photo Printer</title><p id="back">Back at the app.</p>')
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  const origin = `http://localhost:${address.port}`
  return {
    origin,
    callback: `${origin}/callback`,
    hits,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      }),
  }
}

/** RFC 7636: a verifier and its S256 challenge. */
function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

browserSuite('hosted pages: OAuth', (browser) => {
  let server: PagesServer
  let app: App
  before(async () => {
    server = await startPagesServer({ TESSERA_LOGIN_RATE_LIMIT: 'ip=1000/15m' })
    app = await startApp()
  })
  after(async () => {
    await app.close()
    await server.close()
  })

  let accounts = 0
  /** A new account, signed up over the API; its address. */
  async function newUser(): Promise<string> {
    accounts += 1
    const email = `oauth-${accounts}@example.com`
    await server.signUp(email)
    return email
  }

  /** A third-party (not first-party) public client of the app, straight into the store. */
  async function registerClient(name = 'Photo Printer'): Promise<OAuthClientRecord> {
    const client: OAuthClientRecord = {
      id: randomBytes(16).toString('base64url'),
      name,
      secretHash: null,
      redirectUris: [app.callback],
      postLogoutRedirectUris: [`${app.origin}/signed-out`],
      grantTypes: ['authorization_code', 'refresh_token'],
      tokenEndpointAuthMethod: 'none',
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      jwks: null,
      firstParty: false,
      accessTokenTtl: null,
      refreshTokenTtl: null,
      dpopBoundAccessTokens: false,
      idTokenEncryption: null,
      userinfoEncryption: null,
      createdAt: Date.now(),
    }
    await server.tessera.store.oauth.createClient(client)
    return client
  }

  interface Started {
    readonly state: string
    readonly verifier: string
    /** Index into server.seen before the click. */
    readonly from: number
  }

  /**
   * Opens the app's start page and clicks its link to /oauth/authorize: a
   * cross-site navigation, as from a real app (page.goto would be typed in
   * the address bar, which sends SameSite=Strict cookies).
   */
  async function startAt(
    page: Page,
    client: OAuthClientRecord,
    options: { scope?: string; prompt?: string; redirectUri?: string; clientId?: string } = {},
  ): Promise<Started> {
    const state = randomBytes(12).toString('base64url')
    const { verifier, challenge } = pkce()
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: options.clientId ?? client.id,
      redirect_uri: options.redirectUri ?? app.callback,
      scope: options.scope ?? 'openid profile email',
      state,
      nonce: randomBytes(12).toString('base64url'),
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...(options.prompt === undefined ? {} : { prompt: options.prompt }),
    })
    const authorize = `${server.url}/oauth/authorize?${query}`
    await page.goto(`${app.origin}/start?to=${encodeURIComponent(authorize)}`)
    const from = server.seen.length
    await page.locator('#sign-in').click()
    return { state, verifier, from }
  }

  const CONSENT = 'body[data-page="oauth-consent"]'

  /** The app's callback URL the browser landed on, as parameters. */
  async function landedAtApp(page: Page): Promise<URLSearchParams> {
    await page.waitForURL((url) => url.href.startsWith(app.callback))
    return new URL(page.url()).searchParams
  }

  /** The requests to /oauth/* since `from`: path (without the query), status, whether the cookie came. */
  function oauthRequests(from: number): string[] {
    return server.seen
      .slice(from)
      .filter((request) => request.url.startsWith('/oauth/'))
      .map((r) => `${r.method} ${r.url.split('?')[0]} ${r.status} cookie=${r.cookie}`)
  }

  /** Redeems `code` as the app does; the token answer. */
  async function redeem(client: OAuthClientRecord, code: string, verifier: string) {
    const response = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: app.callback,
        client_id: client.id,
        code_verifier: verifier,
      }),
    })
    assert.equal(response.status, 200, await response.clone().text())
    return (await response.json()) as {
      access_token: string
      refresh_token?: string
      scope: string
    }
  }

  /** Allows on the consent page (which must be showing) and returns the callback's parameters. */
  async function allow(page: Page): Promise<URLSearchParams> {
    await page.locator(CONSENT).waitFor()
    await page.getByRole('button', { name: 'Allow' }).click()
    return landedAtApp(page)
  }

  async function newContext(
    options: { javaScriptEnabled?: boolean } = {},
  ): Promise<BrowserContext> {
    return browser().newContext(options)
  }

  test('from another site: the continue page, /login, the consent page, back at the app with a code', async () => {
    const email = await newUser()
    const client = await registerClient()
    const context = await newContext()
    const { page, errors } = await openPage(context)

    const { state, verifier, from } = await startAt(page, client)
    // No session in this browser: the continue page sends it on to /login, which comes back.
    await page.waitForURL((url) => url.pathname === '/login')
    const redirectTo = new URL(page.url()).searchParams.get('redirect_to') ?? ''
    assert.match(redirectTo, /^\/oauth\/authorize\/continue\?id=[A-Za-z0-9_-]+$/)
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()

    await page.locator(CONSENT).waitFor()
    assert.equal(
      await page.locator('h1').textContent(),
      'Photo Printer wants to access your account',
    )
    assert.equal(await page.locator('#consent-email').textContent(), email)
    assert.deepEqual(await page.locator('#consent-scopes li').allTextContents(), [
      'Confirm who you are',
      'Your name',
      'Your email address',
    ])
    assert.equal(
      (await page.locator('#consent-redirect').textContent())?.trim(),
      `You will be sent to ${new URL(app.origin).host}.`,
    )
    assert.equal(await page.locator('#consent-client-id').textContent(), client.id)

    const params = await allow(page)
    assert.equal(params.get('state'), state)
    assert.equal(params.get('iss'), server.url)
    const code = params.get('code')
    assert.ok(code, 'a code')
    assert.equal(params.get('error'), null)

    // The first request came without the cookie (another site); the continue
    // page's navigation, after the sign-in, with it.
    const trail = oauthRequests(from)
    assert.equal(trail[0], 'GET /oauth/authorize 200 cookie=false')
    assert.ok(
      trail.some((line) => /^GET \/oauth\/authorize\/continue 30\d cookie=false$/.test(line)),
      trail.join('\n'),
    )
    assert.ok(
      trail.some((line) => /^GET \/oauth\/authorize\/continue \d+ cookie=true$/.test(line)),
      trail.join('\n'),
    )
    // 303: the form's POST becomes the app's GET.
    assert.ok(trail.includes('POST /oauth/consent 303 cookie=true'), trail.join('\n'))

    const tokens = await redeem(client, code, verifier)
    assert.equal(tokens.scope, 'openid profile email')
    // No CSP violation on the way (the consent form's redirect to the app among them).
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('signed in already: the continue page carries the cookie; a remembered consent is not asked again; prompt=consent asks again', async () => {
    const email = await newUser()
    const client = await registerClient()
    const context = await newContext()
    const { page, errors } = await openPage(context)
    await logInWithForm(page, server, email)

    const first = await startAt(page, client)
    await page.locator(CONSENT).waitFor()
    // The continue page came first (the click brought no cookie), then its navigation brought it.
    const [arrival, hop] = oauthRequests(first.from)
    assert.equal(arrival, 'GET /oauth/authorize 200 cookie=false')
    assert.match(hop ?? '', /^GET \/oauth\/authorize\/continue \d+ cookie=true$/)
    const allowed = await allow(page)
    assert.equal(allowed.get('state'), first.state)
    assert.ok(allowed.get('code'))

    // Again, the same scopes: straight back with a code, no consent page.
    const second = await startAt(page, client)
    const again = await landedAtApp(page)
    assert.equal(again.get('state'), second.state)
    assert.ok(again.get('code'))
    assert.ok(
      !oauthRequests(second.from).some((line) => line.includes('/oauth/consent')),
      oauthRequests(second.from).join('\n'),
    )
    assert.ok(
      !server.seen.slice(second.from).some((request) => request.url.startsWith('/login')),
      'no sign-in asked either',
    )

    // prompt=consent: asked again although remembered.
    const third = await startAt(page, client, { prompt: 'consent' })
    const asked = await allow(page)
    assert.equal(asked.get('state'), third.state)
    assert.ok(asked.get('code'))

    // A scope not allowed before is asked for.
    await startAt(page, client, { scope: 'openid profile email offline_access' })
    await page.locator(CONSENT).waitFor()
    assert.deepEqual(await page.locator('#consent-scopes li').allTextContents(), [
      'Confirm who you are',
      'Your name',
      'Your email address',
      'Stay signed in (keep access when you are away)',
    ])
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('Deny: back at the app with access_denied, the state and iss, and no code', async () => {
    const email = await newUser()
    const client = await registerClient()
    const context = await newContext()
    const { page, errors } = await openPage(context)
    await logInWithForm(page, server, email)

    const { state } = await startAt(page, client)
    await page.locator(CONSENT).waitFor()
    await page.getByRole('button', { name: 'Deny' }).click()
    const params = await landedAtApp(page)
    assert.equal(params.get('error'), 'access_denied')
    assert.equal(params.get('state'), state)
    assert.equal(params.get('iss'), server.url)
    assert.equal(params.get('code'), null)
    // Nothing remembered: the next request asks again.
    await startAt(page, client)
    await page.locator(CONSENT).waitFor()
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('an unknown client or an unregistered redirect URI: the error page, and the browser stays here', async () => {
    const email = await newUser()
    const client = await registerClient()
    const context = await newContext()
    const { page, errors } = await openPage(context)
    await logInWithForm(page, server, email)

    const cases = [
      { clientId: randomBytes(16).toString('base64url') },
      { redirectUri: `${app.origin}/elsewhere` },
    ]
    for (const options of cases) {
      const hitsBefore = app.hits.length
      await startAt(page, client, options)
      await page.locator('body[data-page="oauth-error"]').waitFor()
      assert.equal(await page.locator('h1').textContent(), 'This sign-in link is not valid.')
      assert.match(
        (await page.locator('.lead').textContent()) ?? '',
        /The app that sent you here is misconfigured/,
      )
      assert.ok(await page.locator('#authorize-error-code').textContent())
      assert.equal(new URL(page.url()).origin, server.url)
      // No link leads back to the app.
      const hrefs = await page
        .locator('a[href]')
        .evaluateAll((links) => links.map((link) => (link as unknown as { href: string }).href))
      assert.ok(!hrefs.some((href) => href.startsWith(app.origin)), hrefs.join(' '))
      // And the app's callback heard nothing.
      assert.deepEqual(
        app.hits.slice(hitsBefore).filter((hit) => hit.startsWith('/callback')),
        [],
      )
    }
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('without JavaScript: the continue link, then the plain consent form', async () => {
    const email = await newUser()
    const client = await registerClient()
    // Signed in with the script, then the same cookies in a browser without it.
    const signedIn = await newContext()
    const { page: signIn } = await openPage(signedIn)
    await logInWithForm(signIn, server, email)
    const cookies = await signedIn.cookies()
    await signedIn.close()
    const context = await newContext({ javaScriptEnabled: false })
    await context.addCookies(cookies)
    const { page, errors } = await openPage(context)

    const { state, verifier } = await startAt(page, client)
    await page.locator('body[data-page="oauth-continue"]').waitFor()
    assert.equal(await page.locator('h1').textContent(), 'Continuing to sign in…')
    // Nothing moves without the script: the link does (a click here is same-site).
    await page.getByRole('link', { name: 'Continue' }).click()
    const params = await allow(page)
    assert.equal(params.get('state'), state)
    await redeem(client, params.get('code') ?? '', verifier)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('Apps with access on /account: empty, then the app with its scopes, then removed (and signed out)', async () => {
    const email = await newUser()
    const client = await registerClient('<img src=x onerror=alert(1)> Printer')
    const context = await newContext()
    const { page, errors } = await openPage(context)
    await logInWithForm(page, server, email)
    await page.locator('#apps-none').waitFor()
    assert.equal(
      await page.locator('#apps-none').textContent(),
      'No apps have access to your account.',
    )
    assert.equal(await page.locator('#apps-list li').count(), 0)

    const { verifier } = await startAt(page, client, { scope: 'openid email offline_access' })
    const params = await allow(page)
    const tokens = await redeem(client, params.get('code') ?? '', verifier)
    assert.ok(tokens.refresh_token, 'offline_access gives a refresh token')

    await page.goto(`${server.url}/account`)
    await waitForAccount(page)
    const item = page.locator('#apps-list li')
    await item.waitFor()
    assert.equal(await page.locator('#apps-none').isHidden(), true)
    assert.equal(await item.getAttribute('data-client-id'), client.id)
    // The name is text: no image was made of it.
    assert.equal(await item.locator('.app-name').textContent(), client.name)
    assert.equal(await item.locator('img').count(), 0)
    assert.equal(
      await item.locator('.app-scopes').textContent(),
      'Confirm who you are · Your email address · Stay signed in (keep access when you are away)',
    )
    assert.match(
      (await item.locator('.app-meta').textContent()) ?? '',
      /^Allowed (just now|\d+ seconds? ago)$/,
    )

    const from = server.seen.length
    await item.getByRole('button', { name: `Remove the access of ${client.name}` }).click()
    await page.locator('#apps-none').waitFor()
    assert.equal(await page.locator('#apps-list li').count(), 0)
    assert.equal(
      await page.locator('#apps-status').textContent(),
      `${client.name} no longer has access.`,
    )
    assert.equal(await page.evaluate('document.activeElement?.id'), 'apps-heading')
    assert.deepEqual(
      server.requests('DELETE', `/auth/consents/${client.id}`, from).map((r) => r.status),
      [204],
    )

    // The app is signed out: its refresh token no longer works.
    const refreshed = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token ?? '',
        client_id: client.id,
      }),
    })
    assert.equal(refreshed.status, 400)
    assert.equal(((await refreshed.json()) as { error: string }).error, 'invalid_grant')

    // And it has to ask again.
    await startAt(page, client, { scope: 'openid email' })
    await page.locator(CONSENT).waitFor()
    assert.deepEqual(errors, [])
    await context.close()
  })

  /**
   * A signed-in browser that the app's page sends to /oauth/logout (a link
   * on another site, without id_token_hint): the question is asked first.
   */
  async function askedToSignOut(query: URLSearchParams) {
    const client = await registerClient()
    query.set('client_id', client.id)
    const email = await newUser()
    const context = await newContext()
    const { page, errors } = await openPage(context)
    await logInWithForm(page, server, email)
    const open = async () => {
      const logout = `${server.url}/oauth/logout?${query}`
      await page.goto(`${app.origin}/start?to=${encodeURIComponent(logout)}`)
      await page.locator('#sign-in').click()
      await page.locator('body[data-page="oauth-logout"]').waitFor()
    }
    await open()
    assert.equal(await page.locator('h1').textContent(), 'Sign out of Tessera?')
    assert.match(
      (await page.locator('#logout-asker').textContent()) ?? '',
      /^Photo Printer asked to sign you out\./,
    )
    // "Stay signed in" keeps the session; then the question again.
    await page.getByRole('link', { name: 'Stay signed in' }).click()
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)
    await open()
    return { context, page, errors }
  }

  /** The browser's session is over: /account sends it to /login. */
  async function signedOut(page: Page): Promise<void> {
    await page.goto(`${server.url}/account`)
    await page.waitForURL((url) => url.pathname === '/login')
  }

  test('RP-initiated logout without id_token_hint: asked first, then signed out and back at the app', async () => {
    const back = `${app.origin}/signed-out`
    const { context, page, errors } = await askedToSignOut(
      new URLSearchParams({ post_logout_redirect_uri: back, state: 'st-1' }),
    )
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(`${back}?state=st-1`)
    await signedOut(page)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('RP-initiated logout without a URI to go back to: the signed-out page, and the other tabs hear of it', async () => {
    const { context, page, errors } = await askedToSignOut(new URLSearchParams())
    const { page: other } = await openPage(context)
    await other.goto(`${server.url}/account`)
    await waitForAccount(other)

    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.locator('body[data-page="oauth-signed-out"]').waitFor()
    assert.equal(await page.locator('h1').textContent(), 'You are signed out')
    // The /account tab leaves at once, without a call of its own.
    await other.waitForURL(`${server.url}/login?redirect_to=%2Faccount&reason=signed_out`)
    await page.getByRole('link', { name: 'Log in again' }).click()
    await page.waitForURL(`${server.url}/login`)
    await signedOut(page)
    assert.deepEqual(errors, [])
    await context.close()
  })
})
