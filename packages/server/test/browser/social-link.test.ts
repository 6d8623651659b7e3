// Connecting and disconnecting providers from /account in headless Chromium
// (issue 21): Tessera with one provider, oidc-provider on 127.0.0.1
// (test/support/upstream-op.ts). A user who signed up with a password
// presses "Connect corp" (from the keyboard), passes through the upstream
// and comes back to /account, which says the provider is connected and
// lists it; "Disconnect" takes it away again. An account made by the
// provider alone cannot disconnect it: the page says why in a sentence.
// What the callback sends back in the URL is shown only through the page's
// own words. The pages run under their CSP without a console error.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import { startUpstreamOp, type UpstreamOp } from '../support/upstream-op.ts'
import {
  browserSuite,
  openPage,
  type PagesServer,
  signUpWithForm,
  startPagesServer,
  until,
  waitForAccount,
} from './harness.ts'

const CLIENT_ID = 'tessera-pages'
const CLIENT_SECRET = randomBytes(32).toString('base64url')

browserSuite('hosted pages: connecting providers from /account', (browser) => {
  let upstream: UpstreamOp
  let server: PagesServer
  before(async () => {
    upstream = await startUpstreamOp({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET })
    server = await startPagesServer((url) => {
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

  async function identitiesOf(email: string) {
    const { store } = server.tessera
    const user = (await store.users.findUserByEmail(email)) ?? assert.fail(`no user ${email}`)
    return await store.identities.listIdentities(user.id)
  }

  test('a signed-in user connects corp from /account, sees it listed, and disconnects it', async () => {
    const email = 'bea@example.com'
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await signUpWithForm(page, server, { email })
    assert.equal(await page.locator('#identities-list li').count(), 0)
    assert.ok(await page.locator('#identities-none').isVisible())
    const connect = page.getByRole('button', { name: 'Connect corp', exact: true })
    await connect.waitFor()

    // Another address at the provider: a link from the session needs none in common.
    upstream.next = { sub: 'bea-corp', email: 'b.work@corp.example', email_verified: false }
    const logins = upstream.logins
    await connect.focus()
    await page.keyboard.press('Enter')
    await until(() => upstream.logins === logins + 1, 'the sign-in at the upstream')
    await page.waitForURL((url) => url.pathname === '/account')
    await waitForAccount(page)
    const notice = page.locator('#identities-notice')
    await notice.waitFor({ state: 'visible' })
    assert.equal(
      await notice.textContent(),
      'corp is connected: you can sign in with it from now on.',
    )
    assert.equal(new URL(page.url()).search, '', 'the outcome leaves the address bar')
    const item = page.locator('#identities-list li')
    assert.equal(await item.count(), 1)
    assert.equal(await item.getAttribute('data-provider'), 'corp')
    assert.match(String(await item.textContent()), /b\.work@corp\.example/)
    assert.equal(await page.getByRole('button', { name: 'Connect corp', exact: true }).count(), 0)
    assert.ok(await page.locator('#identities-connect').isHidden())
    assert.deepEqual(
      (await identitiesOf(email)).map((identity) => identity.subject),
      ['bea-corp'],
    )

    const disconnect = page.getByRole('button', { name: 'Disconnect corp' })
    await disconnect.focus()
    await page.keyboard.press('Enter')
    const status = page.locator('#identities-status')
    await page.locator('#identities-status:not(:empty)').waitFor()
    assert.equal(await status.textContent(), 'corp is disconnected.')
    assert.equal(await page.locator('#identities-list li').count(), 0)
    await page.getByRole('button', { name: 'Connect corp', exact: true }).waitFor()
    assert.deepEqual(await identitiesOf(email), [])
    await context.close()
    assert.deepEqual(errors, [])
  })

  test('the only way in cannot be disconnected: the refusal in a sentence; the URL’s words are never shown', async () => {
    upstream.next = { sub: 'cato-1', email: 'cato@corp.example', email_verified: true }
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/login`)
    await page.getByRole('link', { name: 'Continue with corp' }).click()
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)
    await page.getByRole('button', { name: 'Disconnect corp' }).click()
    await page.locator('#identities-status:not(:empty)').waitFor()
    assert.match(
      String(await page.locator('#identities-status').textContent()),
      /^corp can’t be disconnected: it is the only way to sign in to this account\. Set a password/,
    )
    assert.equal(await page.locator('#identities-list li').count(), 1)
    assert.equal((await identitiesOf('cato@corp.example')).length, 1)
    assert.ok(await page.getByRole('button', { name: 'Disconnect corp' }).isEnabled())

    // A refusal the callback sends back, worded by the page with the configured name.
    await page.goto(`${server.url}/account?reason=identity_in_use&provider=corp`)
    await waitForAccount(page)
    const notice = page.locator('#identities-notice')
    await notice.waitFor({ state: 'visible' })
    assert.match(
      String(await notice.textContent()),
      /^That corp account is already connected to another account here/,
    )
    // Words of the URL are never shown: an unknown reason and provider get neutral ones.
    const hostile = encodeURIComponent('<img src=x id=planted>')
    await page.goto(`${server.url}/account?reason=${hostile}&provider=${hostile}`)
    await waitForAccount(page)
    await notice.waitFor({ state: 'visible' })
    assert.equal(
      await notice.textContent(),
      'Connecting your identity provider did not work. Try again.',
    )
    assert.equal(await page.locator('#planted').count(), 0)
    await context.close()
    assert.deepEqual(errors, [])
  })
})
