// Tessera federating Tessera (issue 21): a second Tessera is the upstream
// OpenID provider of the first, through its OAuth endpoints, in headless
// Chromium. The upstream ("hub", on http://localhost) has a confidential
// client registered as `tessera clients add` registers one, its redirect
// URI the downstream's callback, and a user whose address is verified; the
// downstream (on http://127.0.0.1: another site, so the two servers' cookies
// never meet) lists it in TESSERA_PROVIDERS with the oidc preset. A user
// clicks "Continue with hub" on the downstream's /login, signs in on the
// upstream's own /login page, allows on its consent page, and lands on the
// downstream's /account signed in: a new account with the verified address,
// tokens of amr fed and idp hub. A second sign-in (the consent remembered)
// reuses the identity.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Page } from 'playwright-core'
import { CLI_ACTOR, CLI_CLIENT } from '../src/cli/context.ts'
import {
  browserSuite,
  openPage,
  PASSWORD,
  type PagesServer,
  startPagesServer,
  until,
  waitForAccount,
} from './browser/harness.ts'

const ID = 'hub'
const CONSENT = 'body[data-page="oauth-consent"]'

type Claims = Record<string, unknown>
const claimsOf = (token: string): Claims =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Claims

browserSuite('Tessera federating Tessera', (browser) => {
  let upstream: PagesServer
  let downstream: PagesServer
  let upstreamUrl: string
  const email = 'ada@hub.example'

  before(async () => {
    upstream = await startPagesServer((url) => {
      // The same server, named http://localhost:<port>: another host than the downstream's.
      upstreamUrl = url.replace('127.0.0.1', 'localhost')
      return { TESSERA_ISSUER: upstreamUrl }
    })
    // As `tessera clients add --name "Downstream" --redirect-uri … --auth-method client_secret_post`
    // does. A loopback IP redirect URI takes any port (RFC 8252 §7.3): the downstream's is not known yet.
    const { registration, clientSecret } = await upstream.tessera.auth.registerClient(
      CLI_ACTOR,
      {
        client_name: 'Downstream',
        redirect_uris: [`http://127.0.0.1/auth/providers/${ID}/callback`],
        // openid-client (the downstream's) authenticates with client_secret_post.
        token_endpoint_auth_method: 'client_secret_post',
      },
      CLI_CLIENT,
    )
    assert.ok(clientSecret)
    const { user } = await upstream.signUp(email, 'Ada Lovelace').then(async (tokens) => {
      const found = await upstream.tessera.store.users.findUserByEmail(email)
      return { user: found ?? assert.fail('no user'), tokens }
    })
    await upstream.tessera.store.users.updateUser(user.id, {
      emailVerifiedAt: Date.now(),
      updatedAt: Date.now(),
    })
    downstream = await startPagesServer({
      TESSERA_PROVIDERS: ID,
      TESSERA_PROVIDER_HUB_PRESET: 'oidc',
      TESSERA_PROVIDER_HUB_ISSUER: upstreamUrl,
      TESSERA_PROVIDER_HUB_CLIENT_ID: registration.client_id,
      TESSERA_PROVIDER_HUB_CLIENT_SECRET: clientSecret,
    })
  })
  after(async () => {
    await downstream?.close()
    await upstream?.close()
  })

  /** The downstream's /login → "Continue with hub" → the upstream. */
  async function continueWithHub(page: Page): Promise<void> {
    await page.goto(`${downstream.url}/login`)
    const button = page.getByRole('link', { name: `Continue with ${ID}` })
    assert.ok((await button.getAttribute('href'))?.startsWith(`/auth/providers/${ID}/start`))
    await button.click()
  }

  /** The access tokens the downstream handed out since `from`, decoded. */
  const issuedSince = (from: number) => downstream.issued.slice(from).map(claimsOf)

  test('sign in at the upstream Tessera’s own pages, land signed in on the downstream; then again, the same account', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    const issued = downstream.issued.length
    await continueWithHub(page)

    // The upstream's own /login page, on its own host.
    await page.waitForURL((url) => url.origin === upstreamUrl && url.pathname === '/login')
    assert.match(
      new URL(page.url()).searchParams.get('redirect_to') ?? '',
      /^\/oauth\/authorize\/continue\?id=/,
    )
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()

    // Its consent page names the downstream and what it asks for.
    await page.locator(CONSENT).waitFor()
    assert.equal(await page.locator('h1').textContent(), 'Downstream wants to access your account')
    assert.equal(await page.locator('#consent-email').textContent(), email)
    await page.getByRole('button', { name: 'Allow' }).click()

    // Back on the downstream, signed in.
    await page.waitForURL(`${downstream.url}/account`)
    await waitForAccount(page)
    assert.equal(await page.locator('#profile-email').textContent(), email)
    assert.equal(await page.locator('#profile-name').textContent(), 'Ada Lovelace')
    const { store } = downstream.tessera
    const user = (await store.users.findUserByEmail(email)) ?? assert.fail('no account downstream')
    assert.notEqual(user.emailVerifiedAt, null, 'the upstream vouched for the address')
    const identities = await store.identities.listIdentities(user.id)
    const upstreamUser = await upstream.tessera.store.users.findUserByEmail(email)
    assert.deepEqual(
      identities.map((identity) => [identity.provider, identity.subject]),
      [[ID, upstreamUser?.id]],
      'the identity is the upstream user’s sub',
    )
    await until(() => downstream.issued.length > issued, 'an access token of the downstream')
    const [claims] = issuedSince(issued)
    assert.deepEqual(claims?.amr, ['fed'])
    assert.equal(claims?.idp, ID)
    assert.equal(claims?.sub, user.id)
    await context.close()

    // Another browser: the upstream asks for the password again, not for consent (remembered).
    const users = await store.users.countUsers()
    const second = await browser().newContext()
    const again = await openPage(second)
    const before = downstream.issued.length
    await continueWithHub(again.page)
    await again.page.waitForURL((url) => url.origin === upstreamUrl && url.pathname === '/login')
    await again.page.getByLabel('Email').fill(email)
    await again.page.getByLabel('Password').fill(PASSWORD)
    await again.page.getByRole('button', { name: 'Log in' }).click()
    await again.page.waitForURL(`${downstream.url}/account`)
    await waitForAccount(again.page)
    assert.equal(await store.users.countUsers(), users, 'no new account')
    assert.equal((await store.identities.listIdentities(user.id)).length, 1)
    await until(() => downstream.issued.length > before, 'an access token of the second sign-in')
    const [next] = issuedSince(before)
    assert.equal(next?.sub, user.id)
    assert.equal(next?.idp, ID)
    await second.close()
    assert.deepEqual([...errors, ...again.errors], [])
  })
})
