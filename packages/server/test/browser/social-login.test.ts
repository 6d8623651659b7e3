// Social login in headless Chromium (issue 21, "Hosted pages"): Tessera with
// one provider, oidc-provider on 127.0.0.1 (test/support/upstream-op.ts,
// whose interactions sign in the account a test names). A user clicks
// "Continue with corp" on /login, passes through the upstream and lands on
// /account signed in; a second visit signs in the same account again (and
// follows the page's redirect_to); an account with an authenticator app
// finishes on /login's second step, the MFA token read from the fragment and
// dropped from the URL; refusals come back to /login with their words. The
// pages run under their CSP without a console error.

import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import type { Page } from 'playwright-core'
import { TOTP_PERIOD_SECONDS, totpCode } from '../../src/auth/totp.ts'
import { addClientRecord } from '../support/oauth-client.ts'
import { startUpstreamOp, type UpstreamOp } from '../support/upstream-op.ts'
import {
  browserSuite,
  openPage,
  type PagesServer,
  startOtherOrigin,
  startPagesServer,
  until,
  waitForAccount,
} from './harness.ts'

const CLIENT_ID = 'tessera-pages'
const CLIENT_SECRET = randomBytes(32).toString('base64url')
const STEP_MS = TOTP_PERIOD_SECONDS * 1000

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms))

/** The last time step used per secret: the server takes each step once. */
const usedSteps = new Map<string, number>()

/** A code of `secret` for a time step not used yet (waiting for the clock when needed). */
async function nextCode(secret: string): Promise<string> {
  const last = usedSteps.get(secret) ?? Number.NEGATIVE_INFINITY
  const step = Math.max(Math.floor(Date.now() / STEP_MS), last + 1)
  while (step > Math.floor(Date.now() / STEP_MS) + 1) await sleep(500)
  usedSteps.set(secret, step)
  return totpCode(secret, step * STEP_MS)
}

browserSuite('hosted pages: social login', (browser) => {
  let upstream: UpstreamOp
  let server: PagesServer
  before(async () => {
    upstream = await startUpstreamOp({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
    server = await startPagesServer((url) => {
      // The provider reads its client's redirect URIs on its first request.
      upstream.redirectUris.push(`${url}/auth/providers/corp/callback`)
      return {
        TESSERA_PROVIDERS: 'corp',
        TESSERA_PROVIDER_CORP_PRESET: 'oidc',
        TESSERA_PROVIDER_CORP_ISSUER: upstream.issuer,
        TESSERA_PROVIDER_CORP_CLIENT_ID: CLIENT_ID,
        TESSERA_PROVIDER_CORP_CLIENT_SECRET: CLIENT_SECRET,
        TESSERA_LOGIN_RATE_LIMIT: 'ip=1000/15m',
      }
    })
  })
  after(async () => {
    await server?.close()
    await upstream?.close()
    assert.deepEqual(upstream?.serverErrors ?? [], [])
  })

  /** /login (with `query`), then "Continue with corp": the browser goes through the upstream and back. */
  async function continueWithCorp(page: Page, query = ''): Promise<void> {
    await page.goto(`${server.url}/login${query}`)
    const button = page.getByRole('link', { name: 'Continue with corp' })
    const href = await button.getAttribute('href')
    assert.ok(href?.startsWith('/auth/providers/corp/start'), String(href))
    await button.click()
  }

  async function identitiesOf(email: string) {
    const { store } = server.tessera
    const user = (await store.users.findUserByEmail(email)) ?? assert.fail(`no user ${email}`)
    return await store.identities.listIdentities(user.id)
  }

  test('sign up by provider from /login, land on /account; a second visit signs in the same account and follows redirect_to', async () => {
    upstream.next = { sub: 'ada-1', email: 'ada@corp.example', email_verified: true, name: 'Ada' }
    const first = await browser().newContext()
    const { page, errors } = await openPage(first)
    const logins = upstream.logins
    await continueWithCorp(page)
    await until(() => upstream.logins === logins + 1, 'the sign-in at the upstream')
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)
    assert.equal(await page.locator('#profile-email').textContent(), 'ada@corp.example')
    assert.equal(await page.locator('#profile-name').textContent(), 'Ada')
    // "Connected accounts" lists the identity (GET /auth/identities).
    const connected = page.locator('#identities-list li')
    assert.equal(await connected.count(), 1)
    assert.equal(await connected.getAttribute('data-provider'), 'corp')
    assert.match(String(await connected.textContent()), /^corpada@corp\.exampleConnected /)
    assert.ok(await page.locator('#identities-none').isHidden())
    await first.close()
    const users = await server.tessera.store.users.countUsers()

    // Another browser: the upstream signs Ada in again, Tessera knows the identity.
    const second = await browser().newContext()
    const again = await openPage(second)
    await continueWithCorp(again.page, '?redirect_to=%2Finspect')
    await again.page.waitForURL(`${server.url}/inspect`)
    assert.equal(await server.tessera.store.users.countUsers(), users, 'no new account')
    assert.deepEqual(
      (await identitiesOf('ada@corp.example')).map((identity) => identity.subject),
      ['ada-1'],
    )
    await again.page.goto(`${server.url}/account`)
    await waitForAccount(again.page)
    assert.equal(await again.page.locator('#profile-email').textContent(), 'ada@corp.example')
    await second.close()
    assert.deepEqual([...errors, ...again.errors], [])
  })

  test('/signup offers the provider too', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/signup`)
    await page.getByRole('link', { name: 'Continue with corp' }).waitFor()
    await context.close()
    assert.deepEqual(errors, [])
  })

  test('an account with an authenticator app finishes on the second step; the MFA token leaves the URL', async () => {
    const email = 'grace@corp.example'
    const { accessToken } = await server.signUp(email)
    const call = async (path: string, body: object) => {
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      assert.equal(response.status, 200, await response.clone().text())
      return response.json()
    }
    const { secret } = (await call('/auth/mfa/totp/enroll', {})) as { secret: string }
    await call('/auth/mfa/totp/confirm', { code: await nextCode(secret) })
    // Linking needs the address verified on both sides.
    const user = (await server.tessera.store.users.findUserByEmail(email)) ?? assert.fail()
    await server.tessera.store.users.updateUser(user.id, {
      emailVerifiedAt: Date.now(),
      updatedAt: Date.now(),
    })

    upstream.next = { sub: 'grace-1', email, email_verified: true }
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await continueWithCorp(page, '?redirect_to=%2Fapp%2Fhome')
    const code = page.getByLabel('Authentication code')
    await code.waitFor()
    const url = new URL(page.url())
    assert.equal(url.pathname, '/login')
    assert.equal(url.searchParams.get('reason'), 'mfa_required')
    assert.equal(url.hash, '', 'the MFA token is gone from the address bar')
    assert.equal(await page.locator('#login-reason').count(), 0)
    assert.ok(await page.locator('#first-step').isHidden())
    await code.fill(await nextCode(secret))
    await page.getByRole('button', { name: 'Continue' }).first().click()
    await page.waitForURL(`${server.url}/app/home`)
    assert.deepEqual(
      (await identitiesOf(email)).map((identity) => identity.subject),
      ['grace-1'],
    )
    // Signed in: /account shows the account.
    await page.goto(`${server.url}/account`)
    await waitForAccount(page)
    assert.equal(await page.locator('#profile-email').textContent(), email)
    await context.close()
    assert.deepEqual(errors, [])
  })

  test('an OAuth authorization that sends the user to /login continues after a social login', async () => {
    const app = await startOtherOrigin({})
    const callback = `http://localhost:${app.port}/callback`
    const client = await addClientRecord(server, {
      id: randomBytes(16).toString('base64url'),
      name: 'Photo Printer',
      secretHash: null,
      redirectUris: [callback],
      grantTypes: ['authorization_code', 'refresh_token'],
      tokenEndpointAuthMethod: 'none',
      scopes: ['openid', 'profile', 'email'],
    })
    const verifier = randomBytes(32).toString('base64url')
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: client.id,
      redirect_uri: callback,
      scope: 'openid email',
      state: 'st-1',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    })
    upstream.next = { sub: 'oauth-1', email: 'oauth@corp.example', email_verified: true }
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    try {
      await page.goto(`${server.url}/oauth/authorize?${query}`)
      await page.waitForURL((url) => url.pathname === '/login')
      await page.getByRole('link', { name: 'Continue with corp' }).click()
      await page.waitForURL((url) => url.href.startsWith(callback))
      const back = new URL(page.url()).searchParams
      assert.equal(back.get('state'), 'st-1')
      assert.ok(back.get('code'))
    } finally {
      await context.close()
      await app.close()
    }
    assert.deepEqual(errors, [])
  })

  test('refusals come back to /login with their words: an unverified account, a denial at the provider', async () => {
    const email = 'linus@corp.example'
    await server.signUp(email)
    upstream.next = { sub: 'linus-1', email, email_verified: true }
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await continueWithCorp(page)
    await page.waitForURL(/\/login\?reason=account_email_unverified&provider=corp$/)
    const notice = page.locator('#login-reason')
    assert.match(
      String(await notice.textContent()),
      /^An account with the email address corp shared exists here, but its address is not verified yet, so corp cannot be linked to it\./,
    )
    assert.deepEqual(await identitiesOf(email), [])
    // The buttons are still there to try again.
    await page.getByRole('link', { name: 'Continue with corp' }).waitFor()

    await context.close()

    // Another browser (the upstream remembers who signed in on this one).
    upstream.next = 'deny'
    const other = await browser().newContext()
    const denied = await openPage(other)
    await continueWithCorp(denied.page)
    await denied.page.waitForURL(/\/login\?reason=access_denied&provider=corp$/)
    assert.match(
      String(await denied.page.locator('#login-reason').textContent()),
      /^Signing in with corp was cancelled or refused there\./,
    )
    await other.close()
    upstream.next = { sub: 'nobody' }
    assert.deepEqual([...errors, ...denied.errors], [])
  })
})
