// @tessera/client in OAuth mode, where it runs: a single-page app on
// another site (http://localhost:<port>, Tessera on http://127.0.0.1:<port>)
// in headless Chromium. signInWithRedirect through the hosted login and
// consent, handleRedirectCallback, a session bound with DPoP to a key that
// IndexedDB keeps non-extractable; a reload restored through the bound
// refresh token; userinfo; client.fetch with a proof to a resource server
// that requires DPoP; the refresh token stolen from IndexedDB refused
// without the key; and signOut revoking the grant.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { KeySet } from '@tessera/jwt'
import { generateKeyPair, generateProof } from 'dpop'
import type { BrowserContext, Page, Route } from 'playwright-core'
import type { OAuthClientRecord } from '../../src/storage/ports.ts'
import {
  appReady,
  call,
  claims,
  describedKeys,
  events,
  nextEvent,
  openApp,
  pageStorage,
  queuedOnTheLock,
  type Recorder,
  registerPublicClient,
  type Spa,
  settle,
  startResourceServer,
  startSpa,
  strings,
  thumbprint,
  walkHostedLogin,
  withHelpers,
} from './client-harness.ts'
import { browserSuite, PASSWORD, type PagesServer, startPagesServer, until } from './harness.ts'

interface Session {
  readonly accessToken: string
  readonly tokenType: string
  readonly expiresAt: number
  readonly user: { readonly id: string; readonly email: string; readonly name?: string | null }
}

interface PublicJwk {
  readonly kty: string
  readonly crv: string
  readonly x: string
  readonly y: string
}

const quote = JSON.stringify

browserSuite('@tessera/client: OAuth mode in a single-page app on another site', (browser) => {
  let server: PagesServer
  let spa: Spa
  let resource: Recorder
  let client: OAuthClientRecord
  before(async () => {
    server = await startPagesServer({ TESSERA_LOGIN_RATE_LIMIT: 'ip=1000/15m' })
    spa = await startSpa(server)
    client = await registerPublicClient(server, spa.redirectUri, {
      postLogoutRedirectUris: [`${spa.origin}/signed-out`],
    })
    resource = await startResourceServer({
      issuer: server.url,
      keys: KeySet.fromJwks(server.tessera.keyRing.jwks()),
      appOrigin: spa.origin,
    })
    spa.options = {
      clientId: client.id,
      apis: [server.url, resource.url],
      postLogoutRedirectUri: `${spa.origin}/signed-out`,
    }
  })
  after(async () => {
    await resource?.close()
    await spa?.close()
    await server?.close()
  })

  let accounts = 0
  /** A new account, signed up over the API; its address. */
  async function newUser(what: string): Promise<string> {
    accounts += 1
    const email = `${what}-${accounts}@example.com`
    await server.signUp(email)
    return email
  }

  interface SignedIn {
    readonly page: Page
    readonly errors: string[]
    readonly session: Session
    /** The hosted pages the user went through. */
    readonly pages: string[]
    /** The token endpoint's answer to the code, as the page received it. */
    readonly tokens: { refresh_token?: string; access_token: string; token_type: string }
    /** The DPoP header of that request. */
    readonly proof: string | undefined
  }

  /** Opens the app, signs in through the hosted pages, completes the callback. */
  async function signIn(context: BrowserContext, email: string): Promise<SignedIn> {
    const { page, errors } = await openApp(context, `${spa.origin}/`)
    const exchange = page.waitForResponse(
      (response) =>
        response.url() === `${server.url}/oauth/token` && response.request().method() === 'POST',
    )
    await page.evaluate('void client.signInWithRedirect()')
    const pages = await walkHostedLogin(page, server.url, spa.origin, { email, password: PASSWORD })
    await appReady(page, errors)
    const { session } = await call<{ session: Session }>(
      page,
      `client.handleRedirectCallback().then((result) => { history.replaceState(null, '', '/'); return result })`,
    )
    const response = await exchange
    assert.equal(response.status(), 200)
    return {
      page,
      errors,
      session,
      pages,
      tokens: (await response.json()) as SignedIn['tokens'],
      proof: (await response.request().allHeaders())['dpop'],
    }
  }

  /** The public JWK of the key pair the SDK keeps in IndexedDB. */
  function storedPublicJwk(page: Page): Promise<PublicJwk> {
    return withHelpers<PublicJwk>(page, 'return await publicJwk(await keyPair())')
  }

  /** Posts a refresh grant from Node, with `proof` as the DPoP header when given. */
  async function refreshFromNode(refreshToken: string, proof?: string) {
    const response = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(proof === undefined ? {} : { dpop: proof }),
      },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: client.id,
      }),
    })
    return { status: response.status, body: (await response.json()) as { error?: string } }
  }

  test('signInWithRedirect, the hosted login and consent, handleRedirectCallback: a DPoP session whose key IndexedDB keeps non-extractable', async () => {
    const context = await browser().newContext()
    const email = await newUser('redirect')
    const { page, errors, session, pages, tokens, proof } = await signIn(context, email)

    assert.deepEqual(pages, ['login', 'consent'], 'a third-party app asks for consent')
    assert.equal(page.url(), `${spa.origin}/`)
    assert.equal(session.tokenType, 'DPoP')
    assert.equal(session.user.email, email)
    assert.equal(tokens.token_type, 'DPoP')
    assert.ok(proof, 'the code was exchanged with a DPoP proof')
    assert.equal(typeof tokens.refresh_token, 'string', 'offline_access: a refresh token')

    const at = claims(session.accessToken)
    assert.equal(at.sub, session.user.id)
    assert.equal(at.client_id, client.id)
    const jkt = thumbprint(await storedPublicJwk(page))
    assert.deepEqual(at.cnf, { jkt }, 'the access token is bound to the stored key')

    const storage = await pageStorage(page)
    const keys = describedKeys(storage.indexedDB)
    const priv = keys.find((key) => key.type === 'private')
    assert.ok(priv, `a private key in IndexedDB: ${quote(storage.indexedDB)}`)
    assert.equal(priv.extractable, false)
    assert.equal(priv.algorithm, 'ECDSA')
    assert.equal(priv.namedCurve, 'P-256')
    assert.deepEqual(priv.usages, ['sign'])
    const exported = await withHelpers<string>(
      page,
      `const pair = await keyPair()
       try { await crypto.subtle.exportKey('jwk', pair.privateKey); return 'exported' } catch (error) { return error.name }`,
    )
    assert.equal(exported, 'InvalidAccessError', 'script cannot export the private key')

    // The refresh token lives in IndexedDB (for a reload), the access token in memory only.
    const idb = strings(storage.indexedDB)
    assert.ok(idb.includes(tokens.refresh_token ?? ''), 'the refresh token is in IndexedDB')
    const web = strings([storage.localStorage, storage.sessionStorage, storage.cookie])
    for (const secret of [tokens.refresh_token ?? '', session.accessToken]) {
      assert.ok(!web.some((value) => value.includes(secret)), 'a token in Web Storage')
    }
    assert.ok(!idb.some((value) => value.includes(session.accessToken)), 'the access token stored')
    assert.ok(
      (await events(page)).some((e) => e.event === 'SIGNED_IN'),
      'SIGNED_IN was emitted',
    )
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('a callback this tab did not start, or one replayed, is refused without a token request', async () => {
    const context = await browser().newContext()
    const email = await newUser('forged')
    const { page, errors } = await signIn(context, email)
    const signedIn = await call<Session>(page, 'client.getSession()')

    // An attacker's link to the redirect URI with a code and state of theirs.
    const from = server.seen.length
    await page.goto(
      `${spa.redirectUri}?code=attackers-code&state=forged&iss=${encodeURIComponent(server.url)}`,
    )
    await appReady(page, errors)
    const forged = await settle(page, 'client.handleRedirectCallback()')
    assert.ok(!forged.ok)
    assert.equal(forged.error.code, 'invalid_callback')

    // The real callback, once used, cannot be used again: its state is spent.
    const { page: tab } = await openApp(context, `${spa.origin}/`)
    await tab.evaluate('void client.signInWithRedirect()')
    await walkHostedLogin(tab, server.url, spa.origin, { email, password: PASSWORD })
    await appReady(tab)
    const callback = tab.url()
    await call(tab, 'client.handleRedirectCallback()')
    await tab.goto(callback)
    await appReady(tab)
    const replayed = await settle(tab, 'client.handleRedirectCallback()')
    assert.ok(!replayed.ok)
    assert.equal(replayed.error.code, 'invalid_callback')
    assert.deepEqual(
      server.requests('POST', '/oauth/token', from).length,
      1,
      'the one real exchange only',
    )
    // The session of the first sign-in is still there (restored after the navigation).
    assert.equal((await call<Session>(page, 'client.getSession()')).user.id, signedIn.user.id)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('a reload restores the session through the DPoP-bound refresh token; getUser() reads userinfo', async () => {
    const context = await browser().newContext()
    const email = await newUser('reload')
    const { page, errors, session } = await signIn(context, email)
    const jkt = (claims(session.accessToken).cnf as { jkt: string }).jkt

    const from = server.seen.length
    await page.reload()
    await appReady(page, errors)
    const restored = await call<Session>(page, 'client.getSession()')
    assert.equal(restored.tokenType, 'DPoP')
    assert.equal(restored.user.email, email)
    assert.notEqual(restored.accessToken, session.accessToken)
    assert.deepEqual(claims(restored.accessToken).cnf, { jkt }, 'the same key after the reload')
    assert.deepEqual(
      server.seen
        .slice(from)
        // The preflights of the CORS requests (a DPoP header) are not calls.
        .filter((r) => r.url.startsWith('/oauth/') && r.method !== 'OPTIONS')
        .map((r) => `${r.method} ${r.url} ${r.status}`),
      ['POST /oauth/token 200'],
      'one refresh grant',
    )
    assert.ok(
      (await events(page)).some(
        (e) => e.event === 'INITIAL_SESSION' && e.accessToken === restored.accessToken,
      ),
    )

    const user = await call<{ id: string; email: string }>(page, 'client.getUser()')
    assert.equal(user.id, session.user.id)
    assert.equal(user.email, email)
    assert.deepEqual(
      server.seen
        .slice(from)
        .filter((r) => r.url.startsWith('/oauth/userinfo') && r.method !== 'OPTIONS')
        .map((r) => `${r.method} ${r.status}`),
      ['GET 200'],
    )
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('client.fetch sends the token with a fresh DPoP proof: a resource server requiring DPoP, and userinfo', async () => {
    const context = await browser().newContext()
    const email = await newUser('resource')
    const { page, errors, session } = await signIn(context, email)
    const jkt = (claims(session.accessToken).cnf as { jkt: string }).jkt

    const from = resource.wire.length
    const me = await call<{ status: number; body: { sub: string; jkt: string } }>(
      page,
      `client.fetch(${quote(`${resource.url}/me`)}).then(async (r) => ({ status: r.status, body: await r.json() }))`,
    )
    assert.deepEqual(me, { status: 200, body: { sub: session.user.id, jkt } })
    const sent = resource.wire.slice(from).find((r) => r.method === 'GET' && r.url === '/me')
    assert.ok(sent?.dpop)
    assert.equal(sent.authorization, `DPoP ${session.accessToken}`)
    const proof = claims(sent.dpop)
    assert.equal(proof.htm, 'GET')
    assert.equal(proof.htu, `${resource.url}/me`)
    assert.equal(typeof proof.ath, 'string')

    // A proof is for one request: the same one replayed from Node is refused, as is the token without one.
    const replay = await fetch(`${resource.url}/me`, {
      headers: { authorization: sent.authorization ?? '', dpop: sent.dpop },
    })
    assert.equal(replay.status, 401)
    const bearer = await fetch(`${resource.url}/me`, {
      headers: { authorization: `Bearer ${session.accessToken}` },
    })
    assert.equal(bearer.status, 401)

    const userinfo = await call<{ status: number; body: { sub: string; email: string } }>(
      page,
      `client.fetch(${quote(`${server.url}/oauth/userinfo`)}).then(async (r) => ({ status: r.status, body: await r.json() }))`,
    )
    assert.equal(userinfo.status, 200)
    assert.equal(userinfo.body.sub, session.user.id)
    assert.equal(userinfo.body.email, email)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('the refresh token stolen from IndexedDB is refused without the key, and not used up', async () => {
    const context = await browser().newContext()
    const email = await newUser('stolen')
    const { page, errors, tokens } = await signIn(context, email)
    // What a script on the page reads from IndexedDB: the refresh token the code brought.
    const stored = strings((await pageStorage(page)).indexedDB)
    const refreshToken = stored.find((value) => value === tokens.refresh_token)
    assert.ok(refreshToken, 'the refresh token is in IndexedDB')

    const bare = await refreshFromNode(refreshToken)
    assert.deepEqual([bare.status, bare.body.error], [400, 'invalid_dpop_proof'])
    const otherKey = await generateKeyPair('ES256')
    const wrongProof = await generateProof(otherKey, `${server.url}/oauth/token`, 'POST')
    const wrong = await refreshFromNode(refreshToken, wrongProof)
    assert.deepEqual([wrong.status, wrong.body.error], [400, 'invalid_dpop_proof'])

    // The app, with its key, still refreshes with the very same token.
    const from = server.seen.length
    const refreshed = await call<Session>(page, 'client.refreshSession()')
    assert.equal(refreshed.tokenType, 'DPoP')
    assert.equal(refreshed.user.email, email)
    assert.deepEqual(
      server.requests('POST', '/oauth/token', from).map((r) => r.status),
      [200],
    )
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('three tabs of the app refreshing at once: one refresh grant on the wire, one token for all, the stored token still live', async () => {
    const context = await browser().newContext()
    const email = await newUser('tabs')
    const { page, errors } = await signIn(context, email)
    const tabs = [page]
    for (let i = 0; i < 2; i++) {
      const opened = await openApp(context, `${spa.origin}/`)
      assert.ok(await call(opened.page, 'client.getSession()'))
      tabs.push(opened.page)
    }

    // The refresh grants wait in the browser until all three tabs asked.
    const held: Route[] = []
    let holding = true
    await context.route(`${server.url}/oauth/token`, async (route) => {
      if (holding && route.request().method() === 'POST') held.push(route)
      else await route.continue()
    })
    const from = server.seen.length
    await Promise.all(
      tabs.map((tab) =>
        tab.evaluate(
          `window.pending = client.refreshSession().then((s) => s?.accessToken ?? null, (e) => 'threw ' + e.code); 0`,
        ),
      ),
    )
    await queuedOnTheLock(page, 3, () => held.length)
    holding = false
    await Promise.all(held.map((route) => route.continue()))
    const tokens = await Promise.all(
      tabs.map((tab) => tab.evaluate<string | null>('window.pending')),
    )
    await context.unroute(`${server.url}/oauth/token`)
    assert.ok(tokens[0] && !tokens[0].startsWith('threw'), String(tokens[0]))
    assert.deepEqual(tokens, Array(3).fill(tokens[0]), 'the three tabs hold one access token')
    assert.deepEqual(
      server.requests('POST', '/oauth/token', from).map((r) => r.status),
      [200],
      'one refresh grant for three tabs',
    )

    // The token the tab stored is the live successor: a reload refreshes with it.
    const before = server.seen.length
    await tabs[1]?.reload()
    await appReady(tabs[1] as Page)
    assert.equal((await call<Session>(tabs[1] as Page, 'client.getSession()')).user.email, email)
    assert.deepEqual(
      server.requests('POST', '/oauth/token', before).map((r) => `${r.status} ${r.code}`),
      ['200 null'],
    )
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('signOut() revokes the grant at Tessera, forgets the key and the token, and reaches the app’s other tabs', async () => {
    const context = await browser().newContext()
    const email = await newUser('sign-out')
    const { page, errors } = await signIn(context, email)
    // Every refresh token the token endpoint hands this browser, the last one live.
    const issued: string[] = []
    context.on('response', async (response) => {
      if (response.url() !== `${server.url}/oauth/token` || response.status() !== 200) return
      const body = (await response.json().catch(() => ({}))) as { refresh_token?: string }
      if (body.refresh_token !== undefined) issued.push(body.refresh_token)
    })
    const { page: other } = await openApp(context, `${spa.origin}/`)
    const otherSession = await call<Session>(other, 'client.getSession()')
    assert.equal(otherSession.user.email, email, 'the second tab restores the session')
    const session = await call<Session>(page, 'client.getSession()')
    assert.equal(session.accessToken, otherSession.accessToken, 'the first tab has it too')
    await until(() => issued.length === 1, 'the rotated refresh token')
    const refreshToken = issued[0] ?? ''
    assert.ok(
      strings((await pageStorage(page)).indexedDB).includes(refreshToken),
      'the rotated token is in IndexedDB',
    )

    // What a script on the page could take before the sign-out: the stored
    // refresh token, and proofs signed with the key for later.
    const taken = await withHelpers<{ tokenProof: string; userinfoProof: string }>(
      page,
      `const pair = await keyPair()
       return {
         tokenProof: await proof(pair, 'POST', ${quote(`${server.url}/oauth/token`)}),
         userinfoProof: await proof(pair, 'GET', ${quote(`${server.url}/oauth/userinfo`)}, ${quote(session.accessToken)}),
       }`,
    )

    const from = server.seen.length
    await call(page, 'client.signOut()')
    assert.deepEqual(
      server.seen
        .slice(from)
        .filter((r) => r.url.startsWith('/oauth/'))
        .map((r) => `${r.method} ${r.url} ${r.status}`),
      ['POST /oauth/revoke 200'],
    )
    for (const tab of [page, other]) {
      await nextEvent(
        tab,
        (e) => e.event === 'SIGNED_OUT' && e.reason === 'signed_out',
        'SIGNED_OUT signed_out',
      )
      assert.equal(await call(tab, 'client.getSession()'), null)
    }
    const storage = await pageStorage(page)
    assert.deepEqual(describedKeys(storage.indexedDB), [], 'the key is deleted')
    assert.ok(!strings(storage.indexedDB).includes(refreshToken), 'the token is deleted')

    // The grant is over at Tessera: even with a proof of the right key.
    const refresh = await refreshFromNode(refreshToken, taken.tokenProof)
    assert.deepEqual([refresh.status, refresh.body.error], [400, 'invalid_grant'])
    const userinfo = await fetch(`${server.url}/oauth/userinfo`, {
      headers: { authorization: `DPoP ${session.accessToken}`, dpop: taken.userinfoProof },
    })
    assert.equal(userinfo.status, 401)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('signOut({ scope: "global" }) ends the Tessera session too: /oauth/logout, back at the post-logout URI, the next sign-in asks for the password', async () => {
    const context = await browser().newContext()
    const email = await newUser('global')
    const { page, session } = await signIn(context, email)
    const tesseraCookie = async () =>
      (await context.cookies(server.url)).find((c) => c.name === 'tessera_refresh')
    assert.ok(await tesseraCookie(), 'signed in at Tessera too')

    await page.evaluate(`void client.signOut({ scope: 'global' })`)
    await page.waitForURL((url) => url.href.startsWith(`${spa.origin}/signed-out`))
    assert.equal(await tesseraCookie(), undefined, 'Tessera’s own session ended')
    const logout = server.seen.filter((r) => r.url.startsWith('/oauth/logout'))
    assert.ok(logout.length > 0, 'the browser went through /oauth/logout')
    const hint = new URL(logout[0]?.url ?? '', server.url).searchParams
    assert.equal(hint.get('client_id'), client.id)
    assert.equal(hint.get('post_logout_redirect_uri'), `${spa.origin}/signed-out`)
    assert.equal(claims(hint.get('id_token_hint') ?? '').sub, session.user.id)

    await appReady(page)
    assert.equal(await call(page, 'client.getSession()'), null)
    await page.evaluate('void client.signInWithRedirect()')
    const pages = await walkHostedLogin(page, server.url, spa.origin, {
      email,
      password: PASSWORD,
    })
    assert.deepEqual(pages, ['login'], 'the password again; the consent is remembered')
    await context.close()
  })
})
