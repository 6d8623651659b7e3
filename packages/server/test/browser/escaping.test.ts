// Markup where text belongs: a user's name, a device's user agent, the brand
// name and redirect_to all reach the pages as text, and the CSP stops a
// script the pages did not ship even if one were injected.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  browserSuite,
  openPage,
  type PagesServer,
  signUpWithForm,
  startPagesServer,
} from './harness.ts'

// page.evaluate() runs functions in the page; the repository's TypeScript
// has no DOM types, so the page globals used below are declared here.
declare const document: {
  body: { insertAdjacentHTML(where: string, markup: string): void; append(node: object): void }
  createElement(tag: 'script'): { textContent: string; src: string }
}

/** Set by any of the payloads below, should one ever run. */
const XSS_FLAG = 'window.__xss'

const NAME = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
const USER_AGENT = 'Evil/1.0 <img src=x onerror="window.__xss = 3"><b>bold</b>'
const BRAND = 'Acme <i>Auth</i> & "Co"'

browserSuite('hosted pages: rendered values are text', (browser) => {
  let server: PagesServer
  before(async () => {
    server = await startPagesServer({ TESSERA_BRAND_NAME: BRAND })
  })
  after(() => server.close())

  test('a <script> in the user’s name and an <img> in the user agent are shown as text', async () => {
    const context = await browser().newContext({ userAgent: USER_AGENT })
    const { page, errors } = await openPage(context)
    const dialogs: string[] = []
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message())
      void dialog.dismiss()
    })
    await signUpWithForm(page, server, { email: 'xss@example.com', name: NAME })

    const name = page.locator('#profile-name')
    assert.equal(await name.textContent(), NAME)
    assert.equal(await name.locator('*').count(), 0, 'no element was created from the name')
    const agent = page.locator('.session-agent')
    assert.equal(await agent.textContent(), USER_AGENT)
    assert.equal(await agent.locator('*').count(), 0)
    assert.equal(await page.locator('.session-device strong').textContent(), 'Other client')
    await page.reload()
    await page.locator('#account').waitFor()
    assert.equal(await page.evaluate(XSS_FLAG), undefined)
    assert.deepEqual(dialogs, [])
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('the brand name from the configuration is escaped in the title and the header', async () => {
    const context = await browser().newContext()
    const { page } = await openPage(context)
    await page.goto(`${server.url}/login`)
    assert.equal(await page.title(), `Log in · ${BRAND}`)
    assert.equal(await page.locator('.brand-name').textContent(), BRAND)
    assert.equal(await page.locator('.brand-name i').count(), 0)
    await context.close()
  })

  test('a redirect_to full of markup is refused, shown nowhere, and runs nothing', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    const evil = '"><script>window.__xss = 4</script>'
    await page.goto(`${server.url}/login?redirect_to=${encodeURIComponent(evil)}`)
    assert.ok(await page.locator('#redirect-refused').isVisible())
    assert.equal(await page.locator('body').getAttribute('data-redirect-to'), '')
    assert.equal(await page.locator('script').count(), 1, 'only the page’s own script element')
    assert.equal(await page.evaluate(XSS_FLAG), undefined)
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('the CSP stops markup and scripts the page did not ship', async () => {
    const context = await browser().newContext()
    const { page } = await openPage(context)
    await page.goto(`${server.url}/login`)
    // require-trusted-types-for 'script': every sink that turns a string into
    // markup or code throws, so even a bug in app.js could not inject any.
    const attempts = await page.evaluate(() => {
      const attempt = (name: string, run: () => void) => {
        try {
          run()
          return `${name}: accepted`
        } catch (error) {
          return `${name}: ${(error as Error).name}`
        }
      }
      return [
        attempt('innerHTML', () => {
          document.body.insertAdjacentHTML('beforeend', '<img src=x onerror="window.__xss = 5">')
        }),
        attempt('script text', () => {
          const script = document.createElement('script')
          script.textContent = 'window.__xss = 6'
          document.body.append(script)
        }),
        attempt('script src', () => {
          const script = document.createElement('script')
          script.src = 'data:text/javascript,window.__xss=7'
          document.body.append(script)
        }),
      ]
    })
    assert.deepEqual(attempts, [
      'innerHTML: TypeError',
      'script text: TypeError',
      'script src: TypeError',
    ])
    assert.equal(await page.evaluate(XSS_FLAG), undefined)
    await context.close()
  })
})
