// /inspect decodes a token and verifies it against the server's JWKS in the
// browser (WebCrypto). Every request the page makes is recorded: none may
// carry the token, or any of its three parts, in its URL, headers or body.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Request } from 'playwright-core'
import { browserSuite, openPage, type PagesServer, startPagesServer } from './harness.ts'

/** Everything a request sends: its URL, every header and the body. */
async function wireText(request: Request): Promise<string> {
  const headers = await request.allHeaders()
  return [request.url(), JSON.stringify(headers), request.postData() ?? ''].join('\n')
}

browserSuite('hosted pages: the token inspector', (browser) => {
  let server: PagesServer
  let token: string
  before(async () => {
    server = await startPagesServer()
    ;({ accessToken: token } = await server.signUp('inspect@example.com', 'Inspector'))
  })
  after(() => server.close())

  test('decodes and verifies an access token without a request carrying it', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    const requests: Request[] = []
    context.on('request', (request) => requests.push(request))

    await page.goto(`${server.url}/inspect`)
    await page.getByLabel('Token').fill(token)
    const status = page.locator('#inspect-status')
    await status.getByText('Valid: signed by this server and not expired.').waitFor()

    const checks = await page.locator('#inspect-checks li').allTextContents()
    assert.match(checks[0] ?? '', /^Signature verified with this server's key .+ \(ES256\)\.$/)
    assert.ok(checks.some((check) => check.startsWith('Expires in ')))
    assert.ok(checks.includes(`Issued by this server (${server.url}).`))
    const header = JSON.parse((await page.locator('#inspect-header').textContent()) ?? '')
    assert.equal(header.typ, 'at+jwt')
    const payload = JSON.parse((await page.locator('#inspect-payload').textContent()) ?? '')
    assert.equal(payload.iss, server.url)

    // A forged payload with the original signature: decoded, but not verified.
    const [head, , signature] = token.split('.')
    const forged = `${head}.${Buffer.from(JSON.stringify({ ...payload, roles: ['admin'] })).toString('base64url')}.${signature}`
    await page.getByLabel('Token').fill(forged)
    await status.getByText('Not verified: see the checks below.').waitFor()
    assert.match(
      (await page.locator('#inspect-checks li').first().textContent()) ?? '',
      /does not match key/,
    )

    const paths = requests.map((request) => new URL(request.url()).pathname)
    assert.deepEqual([...new Set(paths)].sort(), [
      '/.well-known/jwks.json',
      '/inspect',
      '/pages/app.css',
      '/pages/app.js',
      '/pages/favicon.svg',
    ])
    const secrets = [token, forged, ...token.split('.'), ...forged.split('.')]
    for (const request of requests) {
      const sent = await wireText(request)
      for (const secret of secrets) {
        assert.ok(!sent.includes(secret), `${request.method()} ${request.url()} carries the token`)
      }
    }
    assert.deepEqual(errors, [])
    await context.close()
  })

  test('malformed input gets a message, not a crash', async () => {
    const context = await browser().newContext()
    const { page, errors } = await openPage(context)
    await page.goto(`${server.url}/inspect`)
    const input = page.getByLabel('Token')
    const status = page.locator('#inspect-status')
    for (const [value, message] of [
      ['not a token', /three parts/],
      ['a.b.c.d.e', /encrypted token/],
      ['!!.e30.', /header is not base64url-encoded JSON/],
    ] as const) {
      await input.fill(value)
      await status.filter({ hasText: message }).waitFor()
    }
    // These decode, and are called what they are.
    for (const [value, check] of [
      ['eyJhbGciOiJub25lIn0.e30.', 'Unsigned token (alg "none")'],
      ['e30.e30.', 'names no algorithm'],
      ['eyJhbGciOiJIUzI1NiJ9.e30.AA', 'HS256 is signed with a shared secret'],
    ] as const) {
      await input.fill(value)
      await page.locator('#inspect-checks li', { hasText: check }).waitFor()
      await status.filter({ hasText: 'Not verified' }).waitFor()
    }
    assert.equal(await input.getAttribute('aria-describedby'), 'inspect-token-hint inspect-status')
    assert.deepEqual(errors, [])
    await context.close()
  })
})
