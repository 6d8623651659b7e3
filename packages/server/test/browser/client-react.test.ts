// The React example (examples/react-spa) as its users get it: built for
// production by Vite against a running Tessera, served as static files on
// another site, signed in through the hosted login in headless Chromium,
// rendering the signed-in user; its API call carries the DPoP-bound token,
// and its sign-out says why the session ended.

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { buildReactExample } from '../../../../examples/react-spa/build.ts'
import {
  registerPublicClient,
  type StaticSite,
  startStaticSite,
  walkHostedLogin,
} from './client-harness.ts'
import { browserSuite, openPage, PASSWORD, type PagesServer, startPagesServer } from './harness.ts'

browserSuite('@tessera/client: the React example, built', (browser) => {
  let server: PagesServer
  let site: StaticSite
  let outDir: string
  before(async () => {
    server = await startPagesServer()
    site = await startStaticSite()
    // The app is its own redirect URI and post-logout URI (examples/react-spa/src/main.tsx).
    const client = await registerPublicClient(server, `${site.origin}/`, {
      name: 'React example',
      postLogoutRedirectUris: [`${site.origin}/`],
    })
    outDir = mkdtempSync(join(tmpdir(), 'tessera-react-example-'))
    await buildReactExample({ issuer: server.url, clientId: client.id, outDir })
    site.serve(outDir)
  })
  after(async () => {
    await site?.close()
    await server?.close()
    if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true })
  })

  test('the built app signs in through the hosted login and renders the signed-in user', async () => {
    const email = 'react-user@example.com'
    await server.signUp(email)
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${site.origin}/`)
    await page.getByText('You are signed out.').waitFor()

    await page.locator('#sign-in').click()
    const pages = await walkHostedLogin(page, server.url, site.origin, {
      email,
      password: PASSWORD,
    })
    assert.deepEqual(pages, ['login', 'consent'])
    const shown = page.locator('#user-email')
    await shown.waitFor()
    assert.equal(await shown.textContent(), email)
    assert.equal(page.url(), `${site.origin}/`, 'the code is gone from the address bar')

    // The API button: Tessera's userinfo, with the DPoP-bound token and a proof.
    await page.locator('#call-api').click()
    const result = page.locator('#api-result')
    await page.locator('#api-result', { hasText: /^200 / }).waitFor()
    assert.match((await result.textContent()) ?? '', new RegExp(`"email": "${email}"`))

    // A reload keeps the user signed in (the stored, DPoP-bound refresh token).
    await page.reload()
    await shown.waitFor()
    assert.equal(await shown.textContent(), email)

    await page.locator('#sign-out').click()
    await page.locator('#end-reason').waitFor()
    assert.equal(await page.locator('#end-reason').textContent(), 'You signed out.')
    assert.equal(await page.locator('#status').textContent(), 'You are signed out.')
    assert.deepEqual(errors, [])
    await context.close()
  })
})
