// @tessera/client in cookie mode, where it runs: a first-party page on
// Tessera's origin (a reverse proxy in front of both, the deployment
// docs/http-api.md names), importing the SDK from /pages/client/index.js in
// headless Chromium. Sign-up and sign-in, the session after a reload, five
// tabs sharing one refresh on the wire, sign-out reaching every tab, a
// session ended elsewhere reported with its reason, the token sent to the
// configured APIs only, and an expired access token refreshed exactly once.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import {
  appReady,
  call,
  claims,
  describedKeys,
  events,
  type FirstParty,
  nextEvent,
  openApp,
  pageStorage,
  queuedOnTheLock,
  type Recorder,
  settle,
  startFirstParty,
  startRecorder,
  strings,
} from './client-harness.ts'
import { browserSuite, openPage, PASSWORD } from './harness.ts'

interface Session {
  readonly accessToken: string
  readonly tokenType: string
  readonly expiresAt: number
  readonly user: { readonly id: string; readonly email: string; readonly name?: string | null }
}

interface SignInResult {
  readonly session: Session | null
}

const quote = JSON.stringify

browserSuite('@tessera/client: cookie mode on a first-party page', (browser) => {
  let app: FirstParty
  let foreign: Recorder
  before(async () => {
    app = await startFirstParty({ TESSERA_LOGIN_RATE_LIMIT: 'ip=1000/15m' })
    foreign = await startRecorder()
  })
  after(async () => {
    await foreign?.close()
    await app?.close()
  })

  let accounts = 0
  /** A new address for this suite. */
  function newEmail(what: string): string {
    accounts += 1
    return `${what}-${accounts}@example.com`
  }

  /** Signs up in `page` with client.signUp; the session. */
  async function signUp(page: Page, email: string, name?: string): Promise<Session> {
    const input = { email, password: PASSWORD, ...(name === undefined ? {} : { name }) }
    const result = await call<SignInResult>(page, `client.signUp(${quote(input)})`)
    assert.ok(result.session, `signUp gave no session: ${quote(result)}`)
    return result.session
  }

  /** The refresh cookie of `context` (HttpOnly: the page cannot see it). */
  async function refreshCookie(context: BrowserContext): Promise<string> {
    const cookie = (await context.cookies()).find((c) => c.name === 'tessera_refresh')
    assert.ok(cookie, 'the refresh cookie is set')
    return cookie.value
  }

  test('signUp and signInWithPassword give a Bearer session; the refresh token never reaches script', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openApp(context, app.page())
    const email = newEmail('ada')
    const from = app.wire.length
    assert.equal(await call(page, 'client.getSession()'), null, 'no session yet')
    assert.deepEqual(
      (await events(page)).map((e) => [e.event, e.accessToken]),
      [['INITIAL_SESSION', null]],
    )

    const session = await signUp(page, email, 'Ada Lovelace')
    assert.equal(session.tokenType, 'Bearer')
    assert.equal(session.user.email, email)
    assert.equal(session.user.name, 'Ada Lovelace')
    assert.equal(claims(session.accessToken).sub, session.user.id)
    assert.ok(session.expiresAt > Date.now() && session.expiresAt <= Date.now() + 16 * 60_000)
    await nextEvent(page, (e) => e.event === 'SIGNED_IN', 'SIGNED_IN')
    const current = await call<Session>(page, 'client.getSession()')
    assert.equal(current.accessToken, session.accessToken, 'the session is in memory')

    const wrong = await settle(
      page,
      `client.signInWithPassword(${quote({ email, password: 'not the password at all' })})`,
    )
    assert.ok(!wrong.ok)
    assert.deepEqual(
      [wrong.error.name, wrong.error.code, wrong.error.status],
      ['TesseraError', 'invalid_credentials', 401],
    )

    // HttpOnly: the cookie is in the browser, and in nothing script can read.
    const cookie = await refreshCookie(context)
    const storage = await pageStorage(page)
    assert.equal(storage.cookie, '')
    for (const value of strings(storage)) {
      assert.ok(!value.includes(cookie), 'the refresh token is readable by script')
    }

    await call(page, 'client.signOut()')
    await nextEvent(
      page,
      (e) => e.event === 'SIGNED_OUT' && e.reason === 'signed_out',
      'SIGNED_OUT signed_out',
    )
    assert.equal(await call(page, 'client.getSession()'), null)
    assert.equal(
      (await context.cookies()).find((c) => c.name === 'tessera_refresh'),
      undefined,
      'the cookie is cleared',
    )

    const again = await call<SignInResult>(
      page,
      `client.signInWithPassword(${quote({ email, password: PASSWORD })})`,
    )
    assert.equal(again.session?.user.email, email)
    assert.notEqual(again.session?.accessToken, session.accessToken)
    assert.deepEqual(
      app.wire
        .slice(from)
        .filter((r) => r.url.startsWith('/auth/') && r.url !== '/auth/refresh')
        .map((r) => `${r.method} ${r.url} ${r.status}`),
      [
        'POST /auth/signup 201',
        'POST /auth/login 401',
        'POST /auth/logout 204',
        'POST /auth/login 200',
      ],
    )
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('a reload keeps the session: getSession() restores it with one refresh', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openApp(context, app.page())
    const email = newEmail('reload')
    const first = await signUp(page, email)

    const from = app.wire.length
    await page.reload()
    await appReady(page, errors)
    const restored = await call<Session>(page, 'client.getSession()')
    assert.equal(restored.user.email, email)
    assert.equal(restored.user.id, first.user.id)
    assert.notEqual(restored.accessToken, first.accessToken, 'a new access token')
    assert.equal(
      (await call<Session>(page, 'client.getSession()')).accessToken,
      restored.accessToken,
      'then kept in memory',
    )
    assert.deepEqual(
      app.requests('POST', '/auth/refresh', from).map((r) => r.status),
      [200],
      'one refresh on the wire',
    )
    const initial = (await events(page)).filter((e) => e.event === 'INITIAL_SESSION')
    assert.deepEqual(
      initial.map((e) => e.accessToken),
      [restored.accessToken],
      'INITIAL_SESSION once, with the restored session',
    )
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('five tabs restoring, then refreshing, at the same moment: ONE refresh on the wire each time, one token for all', async () => {
    const context = await browser().newContext()
    const { page: signIn } = await openApp(context, app.page())
    const email = newEmail('tabs')
    await signUp(signIn, email)
    await signIn.close()

    // Five tabs open; every refresh waits at the proxy until all five asked.
    let hold = app.hold('POST', '/auth/refresh')
    let from = app.wire.length
    const tabs: Page[] = []
    const errors: string[][] = []
    for (let i = 0; i < 5; i++) {
      const opened = await openApp(context, app.page())
      tabs.push(opened.page)
      errors.push(opened.errors)
    }
    const start = (method: string) =>
      Promise.all(
        tabs.map((tab) =>
          tab.evaluate(
            `window.pending = client.${method}().then((s) => s?.accessToken ?? null, (e) => 'threw ' + e.code); 0`,
          ),
        ),
      )
    const results = () =>
      Promise.all(tabs.map((tab) => tab.evaluate<string | null>('window.pending')))

    await start('getSession')
    await queuedOnTheLock(tabs[0]!, 5, () => hold.waiting)
    hold.release()
    const restored = await results()
    assert.equal(typeof restored[0], 'string')
    assert.ok(!String(restored[0]).startsWith('threw'), String(restored[0]))
    assert.deepEqual(restored, Array(5).fill(restored[0]), 'the five tabs hold one access token')
    assert.deepEqual(
      app.requests('POST', '/auth/refresh', from).map((r) => r.status),
      [200],
      'one refresh restored five tabs',
    )

    hold = app.hold('POST', '/auth/refresh')
    from = app.wire.length
    await start('refreshSession')
    await queuedOnTheLock(tabs[0]!, 5, () => hold.waiting)
    hold.release()
    const refreshed = await results()
    assert.equal(typeof refreshed[0], 'string')
    assert.ok(!String(refreshed[0]).startsWith('threw'), String(refreshed[0]))
    assert.notEqual(refreshed[0], restored[0], 'a new access token')
    assert.deepEqual(refreshed, Array(5).fill(refreshed[0]), 'the five tabs hold the new token')
    assert.deepEqual(
      app.requests('POST', '/auth/refresh', from).map((r) => r.status),
      [200],
      'five refreshSession() calls, one refresh',
    )
    for (const tab of tabs) {
      assert.equal(
        (await call<Session>(tab, 'client.getSession()')).accessToken,
        refreshed[0],
        'getSession() has it too',
      )
    }
    assert.deepEqual(app.requests('POST', '/auth/refresh', from).length, 1)
    assert.deepEqual(errors.flat(), [])
    await context.close()
  })

  test('signOut() in one tab signs the other tabs out: SIGNED_OUT with reason signed_out, told by the tab, not by the server', async () => {
    const context = await browser().newContext()
    const { page: mine } = await openApp(context, app.page())
    const { page: other } = await openApp(context, app.page())
    const { page: third } = await openApp(context, app.page())
    await signUp(mine, newEmail('sign-out'))
    for (const tab of [other, third]) assert.ok(await call(tab, 'client.getSession()'))

    const calls: string[] = []
    for (const tab of [other, third]) {
      tab.on('request', (request) => calls.push(`${request.method()} ${request.url()}`))
    }
    await call(mine, 'client.signOut()')
    for (const tab of [mine, other, third]) {
      await nextEvent(
        tab,
        (e) => e.event === 'SIGNED_OUT' && e.reason === 'signed_out',
        'SIGNED_OUT signed_out',
      )
    }
    assert.deepEqual(calls, [], 'the other tabs heard it from this one, without a request')
    for (const tab of [other, third]) assert.equal(await call(tab, 'client.getSession()'), null)
    assert.equal(
      (await context.cookies()).find((c) => c.name === 'tessera_refresh'),
      undefined,
      'the cookie is cleared',
    )
    await context.close()
  })

  test('a session revoked from another browser (the sessions API) is reported SIGNED_OUT revoked after one refresh', async () => {
    const context = await browser().newContext()
    const { page } = await openApp(context, app.page())
    const email = newEmail('revoked')
    const session = await signUp(page, email)

    // Another browser of the same user revokes this session from its list.
    const login = await fetch(`${app.tessera.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    })
    const { accessToken } = (await login.json()) as { accessToken: string }
    const bearer = { authorization: `Bearer ${accessToken}` }
    const list = (await (
      await fetch(`${app.tessera.url}/auth/sessions`, { headers: bearer })
    ).json()) as {
      sessions: Array<{ id: string; current: boolean }>
    }
    const target = list.sessions.find((s) => s.id === claims(session.accessToken).sid)
    assert.ok(target && !target.current, `the page's session is listed: ${quote(list)}`)
    const revoked = await fetch(`${app.tessera.url}/auth/sessions/${target.id}`, {
      method: 'DELETE',
      headers: bearer,
    })
    assert.equal(revoked.status, 204)

    const from = app.tessera.seen.length
    const user = await settle(page, 'client.getUser()')
    assert.ok(!user.ok, 'the call fails: the session is gone')
    await nextEvent(
      page,
      (e) => e.event === 'SIGNED_OUT' && e.reason === 'revoked',
      'SIGNED_OUT revoked',
    )
    assert.equal(await call(page, 'client.getSession()'), null)
    assert.deepEqual(
      app.tessera.seen
        .slice(from)
        .filter((r) => r.url.startsWith('/auth/'))
        .map((r) => `${r.method} ${r.url} ${r.status} ${r.code}`),
      ['GET /auth/me 401 token_revoked', 'POST /auth/refresh 401 invalid_refresh_token'],
      'the refused token, then one refresh, refused',
    )
    await context.close()
  })

  test('log out everywhere from another client: the next refreshSession() reports SIGNED_OUT revoked', async () => {
    const context = await browser().newContext()
    const { page } = await openApp(context, app.page())
    const email = newEmail('everywhere')
    await signUp(page, email)

    const login = await fetch(`${app.tessera.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    })
    const { accessToken } = (await login.json()) as { accessToken: string }
    const all = await fetch(`${app.tessera.url}/auth/logout-all`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}` },
    })
    assert.equal(all.status, 204)

    const from = app.tessera.seen.length
    const result = await settle(page, 'client.refreshSession()')
    assert.ok(!result.ok || result.value === null, quote(result))
    const ended = await nextEvent(page, (e) => e.event === 'SIGNED_OUT', 'SIGNED_OUT')
    assert.equal(ended.reason, 'revoked')
    assert.equal(await call(page, 'client.getSession()'), null)
    assert.deepEqual(
      app.tessera.requests('POST', '/auth/refresh', from).map((r) => `${r.status} ${r.code}`),
      ['401 invalid_refresh_token'],
    )
    await context.close()
  })

  test('a refresh token replayed by a thief: the page’s next refresh is refused as reuse, SIGNED_OUT reused', async () => {
    const context = await browser().newContext()
    const { page } = await openApp(context, app.page())
    await signUp(page, newEmail('reused'))
    const stolen = await refreshCookie(context)

    // The thief (another client: Node's User-Agent) rotates the token first.
    const theirs = await fetch(`${app.tessera.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: stolen }),
    })
    assert.equal(theirs.status, 200)
    const { refreshToken: successor } = (await theirs.json()) as { refreshToken: string }

    const from = app.tessera.seen.length
    const result = await settle(page, 'client.refreshSession()')
    assert.ok(!result.ok || result.value === null, quote(result))
    const ended = await nextEvent(page, (e) => e.event === 'SIGNED_OUT', 'SIGNED_OUT')
    assert.equal(ended.reason, 'reused')
    assert.equal(await call(page, 'client.getSession()'), null)
    assert.deepEqual(
      app.tessera.requests('POST', '/auth/refresh', from).map((r) => `${r.status} ${r.code}`),
      ['401 refresh_token_reused'],
    )
    // The whole family is revoked: the thief's successor too.
    const after = await fetch(`${app.tessera.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: successor }),
    })
    assert.equal(after.status, 401)
    await context.close()
  })

  test('client.fetch sends the token to the configured APIs only: never to another origin', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openApp(context, app.page())
    const session = await signUp(page, newEmail('fetch'))

    // Default apis: the issuer's origin, here the page's own.
    const echo = await call<{ authorization: string | null }>(
      page,
      `client.fetch('/api/echo').then((r) => r.json())`,
    )
    assert.equal(echo.authorization, `Bearer ${session.accessToken}`)
    const absolute = await call<{ authorization: string | null }>(
      page,
      `client.fetch(${quote(`${app.origin}/api/echo?absolute`)}, { method: 'POST', body: 'x' }).then((r) => r.json())`,
    )
    assert.equal(absolute.authorization, `Bearer ${session.accessToken}`)

    // 127.0.0.1 on another port: another origin.
    const away = await call<{ status: number; body: { authorization: string | null } }>(
      page,
      `client.fetch(${quote(`${foreign.url}/data`)}).then(async (r) => ({ status: r.status, body: await r.json() }))`,
    )
    assert.deepEqual(away, { status: 200, body: { authorization: null } })
    const asRequest = await call<number>(
      page,
      `client.fetch(new Request(${quote(`${foreign.url}/request`)})).then((r) => r.status)`,
    )
    assert.equal(asRequest, 200)

    // URL prefixes: only what is under them, after the URL is resolved.
    const { page: scoped } = await openApp(context, app.page({ apis: [`${foreign.url}/allowed/`] }))
    const scopedToken = (await call<Session>(scoped, 'client.getSession()')).accessToken
    const status = (url: string) =>
      call<number>(scoped, `client.fetch(${quote(url)}).then((r) => r.status)`)
    assert.equal(await status(`${foreign.url}/allowed/orders`), 200)
    assert.equal(await status(`${foreign.url}/allowed/../private`), 200)
    assert.equal(await status(`${foreign.url}/allowedx`), 200)
    const sameOrigin = await call<{ authorization: string | null }>(
      scoped,
      `client.fetch('/api/echo').then((r) => r.json())`,
    )
    assert.equal(sameOrigin.authorization, null, 'the page’s origin is not among its apis')

    const seen = foreign.wire.map((r) => [r.method, r.url, r.authorization ?? null])
    assert.deepEqual(
      seen.filter(([method]) => method !== 'OPTIONS'),
      [
        ['GET', '/data', null],
        ['GET', '/request', null],
        ['GET', '/allowed/orders', `Bearer ${scopedToken}`],
        ['GET', '/private', null],
        ['GET', '/allowedx', null],
      ],
    )
    assert.deepEqual(
      foreign.wire.filter((r) => r.method === 'OPTIONS').map((r) => r.url),
      ['/allowed/orders'],
      'a preflight for the Authorization header only where it was allowed',
    )
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('dpop: true binds the cookie session to a non-extractable key: DPoP tokens, proofs to the API, a reload refreshing with the same key', async () => {
    const context = await browser().newContext()
    const url = app.page({ dpop: true })
    const { page, errors } = await openApp(context, url)
    const session = await signUp(page, newEmail('dpop'))
    assert.equal(session.tokenType, 'DPoP')
    const jkt = (claims(session.accessToken).cnf as { jkt?: string } | undefined)?.jkt
    assert.equal(typeof jkt, 'string', 'the access token is bound')
    const keys = describedKeys((await pageStorage(page)).indexedDB)
    assert.deepEqual(
      keys.filter((key) => key.type === 'private').map((key) => key.extractable),
      [false],
    )

    const echo = await call<{ authorization: string | null; dpop: string | null }>(
      page,
      `client.fetch('/api/echo').then((r) => r.json())`,
    )
    assert.equal(echo.authorization, `DPoP ${session.accessToken}`)
    const proof = claims(echo.dpop ?? '')
    assert.deepEqual([proof.htm, proof.htu], ['GET', `${app.origin}/api/echo`])

    const from = app.wire.length
    await page.reload()
    await appReady(page, errors)
    const restored = await call<Session>(page, 'client.getSession()')
    assert.equal(restored.tokenType, 'DPoP')
    assert.deepEqual(claims(restored.accessToken).cnf, { jkt }, 'the same key after the reload')
    const refreshes = app.requests('POST', '/auth/refresh', from)
    assert.deepEqual(
      refreshes.map((r) => [r.status, r.dpop !== undefined]),
      [[200, true]],
    )

    // The cookie alone, replayed without the key, refreshes nothing.
    const cookie = await refreshCookie(context)
    const bare = await fetch(`${app.tessera.url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: cookie }),
    })
    assert.equal(bare.status, 401)
    assert.equal(
      ((await bare.json()) as { error: { code: string } }).error.code,
      'invalid_dpop_proof',
    )
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('an expired access token is refreshed exactly once: after a 401, and before the call when the clock says so', async () => {
    // A 2-second token; the page's clock stands still (a laptop asleep, a
    // throttled tab), so no timer refreshes it before it expires.
    const short = await startFirstParty({ TESSERA_ACCESS_TOKEN_TTL: '2s' })
    const context = await browser().newContext()
    try {
      const { page, errors } = await openPage(context)
      await page.clock.install()
      await page.clock.pauseAt(Date.now() + 1000)
      await page.goto(short.page())
      await appReady(page, errors)
      const session = await signUp(page, newEmail('expired'))
      const exp = claims(session.accessToken).exp as number
      while (Date.now() <= exp * 1000 + 100) await new Promise((done) => setTimeout(done, 50))

      let from = short.tessera.seen.length
      const me = await call<{ status: number; email: string }>(
        page,
        `client.fetch('/auth/me').then(async (r) => ({ status: r.status, email: (await r.json()).email }))`,
      )
      assert.equal(me.status, 200)
      const calls = () =>
        short.tessera.seen
          .slice(from)
          .filter((r) => r.url.startsWith('/auth/'))
          .map((r) => `${r.method} ${r.url} ${r.status} ${r.code}`)
      assert.deepEqual(calls(), [
        'GET /auth/me 401 token_expired',
        'POST /auth/refresh 200 null',
        'GET /auth/me 200 null',
      ])

      // Now the page's clock jumps past the new token's expiry: it refreshes first.
      await page.clock.setSystemTime(Date.now() + 3_600_000)
      from = short.tessera.seen.length
      assert.equal(await call<number>(page, `client.fetch('/auth/me').then((r) => r.status)`), 200)
      assert.deepEqual(calls(), ['POST /auth/refresh 200 null', 'GET /auth/me 200 null'])
      assert.deepEqual(errors, [])
    } finally {
      await context.close()
      await short.close()
    }
  })
})
