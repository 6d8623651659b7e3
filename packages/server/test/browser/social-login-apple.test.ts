// Sign in with Apple in headless Chromium: its answer is a form post from
// the provider's page to Tessera's callback, a cross-site POST, which does
// not carry Tessera's SameSite=Lax flow cookie. Tessera (127.0.0.1) and the
// provider (oidc-provider standing in for Apple, as `localhost`: another
// site to the browser) are on two sites, so the browser applies the rule for
// real: the POST callback answers 303, and that GET navigation carries the
// cookie and signs the person in, with the name of Apple's `user` field.

import assert from 'node:assert/strict'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { after, before, test } from 'node:test'
import { startUpstreamOp, type UpstreamOp } from '../support/upstream-op.ts'
import {
  browserSuite,
  openPage,
  type PagesServer,
  startPagesServer,
  waitForAccount,
} from './harness.ts'

const CLIENT_ID = 'com.example.tessera.pages'
const TEAM_ID = 'TEAM123456'
const KEY_ID = 'KEY1234567'

browserSuite('hosted pages: Sign in with Apple across sites', (browser) => {
  const teamKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  let upstream: UpstreamOp
  let server: PagesServer
  before(async () => {
    upstream = await startUpstreamOp({
      clientId: CLIENT_ID,
      clientSecret: randomBytes(32).toString('base64url'),
      host: 'localhost',
      apple: { publicKey: teamKey.publicKey, teamId: TEAM_ID, keyId: KEY_ID },
    })
    server = await startPagesServer((url) => {
      upstream.redirectUris.push(`${url}/auth/providers/apple/callback`)
      return {
        TESSERA_PROVIDERS: 'apple',
        TESSERA_PROVIDER_APPLE_ISSUER: upstream.issuer,
        TESSERA_PROVIDER_APPLE_CLIENT_ID: CLIENT_ID,
        TESSERA_PROVIDER_APPLE_TEAM_ID: TEAM_ID,
        TESSERA_PROVIDER_APPLE_KEY_ID: KEY_ID,
        TESSERA_PROVIDER_APPLE_PRIVATE_KEY: String(
          teamKey.privateKey.export({ type: 'pkcs8', format: 'pem' }),
        ),
        TESSERA_LOGIN_RATE_LIMIT: 'ip=1000/15m',
      }
    })
  })
  after(async () => {
    await server?.close()
    await upstream?.close()
    assert.deepEqual(upstream?.serverErrors ?? [], [])
  })

  test('the form post comes back without the Lax cookie, the 303 GET with it: signed in, named from `user`', async () => {
    assert.notEqual(new URL(upstream.issuer).hostname, new URL(server.url).hostname)
    upstream.next = {
      sub: '001999.c0ffee.0042',
      email: 'q8r7s6t5u4@privaterelay.appleid.com',
      email_verified: 'true',
      is_private_email: 'true',
      appleUser: JSON.stringify({
        name: { firstName: 'Grace', lastName: 'Hopper' },
        email: 'q8r7s6t5u4@privaterelay.appleid.com',
      }),
    }
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    // What the browser sent to the callback, hop by hop.
    const sent: Promise<{ method: string; flowCookie: boolean }>[] = []
    page.on('request', (request) => {
      if (!request.url().startsWith(`${server.url}/auth/providers/apple/callback`)) return
      sent.push(
        request.allHeaders().then((headers) => ({
          method: request.method(),
          flowCookie: /(^|;\s*)tessera_federation=/.test(headers.cookie ?? ''),
        })),
      )
    })
    await page.goto(`${server.url}/login`)
    const button = page.getByRole('link', { name: 'Continue with Apple' })
    assert.ok((await button.getAttribute('href'))?.startsWith('/auth/providers/apple/start'))
    await button.click()
    await page.waitForURL(`${server.url}/account`)
    await waitForAccount(page)
    assert.equal(
      await page.locator('#profile-email').textContent(),
      'q8r7s6t5u4@privaterelay.appleid.com',
    )
    assert.equal(await page.locator('#profile-name').textContent(), 'Grace Hopper')
    assert.deepEqual(await Promise.all(sent), [
      { method: 'POST', flowCookie: false },
      { method: 'GET', flowCookie: true },
    ])
    assert.equal(upstream.apple?.seen.length, 1)
    assert.deepEqual(upstream.apple?.refused, [])
    await context.close()
    assert.deepEqual(errors, [])
  })
})
