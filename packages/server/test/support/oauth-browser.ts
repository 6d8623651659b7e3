// The user agent of the OAuth suites: headless Chromium (playwright-core, as
// in test/browser/harness.ts) walking the authorization request through
// Tessera's hosted pages: the continue page, /login, the consent page, and
// finally the client's redirect URI. Nothing here is used by the server.

import { existsSync } from 'node:fs'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'

/** Debian's `chromium`; TESSERA_TEST_CHROMIUM names another Chromium or Chrome binary. */
export const CHROMIUM_PATH = process.env.TESSERA_TEST_CHROMIUM || '/usr/bin/chromium'

/** Why the browser half cannot run here, or undefined when it can. */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : `${CHROMIUM_PATH} is missing: apt-get install chromium, or set TESSERA_TEST_CHROMIUM`
}

/** The flags of test/browser/harness.ts: no GPU, no QUIC, no background traffic. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
    timeout: 30_000,
  })
}

/** How the user answers what the hosted pages ask. */
export interface UserAnswers {
  /** Signs in with these when /login shows; without them /login is a failure. */
  readonly login?: { readonly email: string; readonly password: string }
  /** The consent page's button; without it the consent page is a failure. */
  readonly consent?: 'allow' | 'deny'
}

/** What the user agent went through on the way to the client. */
export interface AuthorizeTrip {
  /** The URL the client's redirect URI received. */
  readonly callback: URL
  /** The hosted pages it passed, in order: `login`, `consent`. */
  readonly pages: Array<'login' | 'consent'>
}

/** One user agent: its own cookies, one tab. */
export interface UserAgent {
  readonly context: BrowserContext
  readonly page: Page
  /** Console errors and uncaught exceptions of the hosted pages. */
  readonly errors: string[]
  /**
   * Opens `url` (an authorization request at `issuer`) and answers the
   * hosted pages with `answers` until the browser reaches `clientOrigin`.
   */
  authorize(url: URL, clientOrigin: string, answers?: UserAnswers): Promise<AuthorizeTrip>
  /** Opens `url` and resolves with the first URL on `clientOrigin` the browser reaches. */
  follow(url: URL, clientOrigin: string): Promise<URL>
  close(): Promise<void>
}

export async function openUserAgent(browser: Browser, issuer: string): Promise<UserAgent> {
  const context = await browser.newContext()
  // Every hosted page answers in milliseconds: fail fast rather than after 30 s.
  context.setDefaultTimeout(10_000)
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() !== 'error') return
    // Chromium logs the API's 4xx answers; they are not page errors.
    if (message.text().startsWith('Failed to load resource: the server responded')) return
    errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(String(error)))

  const onClient = (clientOrigin: string) => (url: URL) => url.origin === clientOrigin

  /**
   * Where the tab is: on the client, or on which hosted page (its
   * `data-page`). The consent page may be served at /oauth/authorize itself
   * or at its continuation, so the page says what it is, not its URL.
   */
  async function whereIs(clientOrigin: string): Promise<string> {
    const origin = new URL(page.url()).origin
    if (origin === clientOrigin) return 'client'
    // Only the issuer's own pages count as hosted pages.
    if (origin !== issuer) return `elsewhere: ${origin}`
    // An expression, not a function: this package is typed without the DOM. Between two
    // documents there is no page to ask, which counts as none.
    const kind: unknown = await page.evaluate('document.body?.dataset.page ?? ""').catch(() => '')
    return String(kind)
  }

  /** Polls until the tab is somewhere other than `leaving` and among `targets`. */
  async function reach(clientOrigin: string, targets: string[], leaving?: string): Promise<string> {
    const deadline = Date.now() + 10_000
    for (;;) {
      const where = await whereIs(clientOrigin)
      if (where !== leaving && targets.includes(where)) return where
      if (Date.now() > deadline) {
        throw new Error(`the browser stayed at ${page.url()} (page "${where}")`)
      }
      await new Promise((done) => setTimeout(done, 30))
    }
  }

  return {
    context,
    page,
    errors,
    async authorize(url, clientOrigin, answers = {}) {
      const pages: AuthorizeTrip['pages'] = []
      const stops = ['client', 'login', 'oauth-consent']
      await page.goto(url.href)
      let where = await reach(clientOrigin, stops)
      for (let step = 0; step < 6; step++) {
        if (where === 'client') return { callback: new URL(page.url()), pages }
        if (where === 'login') {
          if (answers.login === undefined) throw new Error(`asked to sign in: ${page.url()}`)
          pages.push('login')
          await page.getByLabel('Email').fill(answers.login.email)
          await page.getByLabel('Password').fill(answers.login.password)
          await page.getByRole('button', { name: 'Log in' }).click()
        } else {
          if (answers.consent === undefined) throw new Error(`asked to consent: ${page.url()}`)
          pages.push('consent')
          const button = answers.consent === 'allow' ? 'Allow' : 'Deny'
          await page.getByRole('button', { name: button }).click()
        }
        where = await reach(clientOrigin, stops, where)
      }
      throw new Error(`no answer reached ${clientOrigin}; the browser is at ${page.url()}`)
    },
    async follow(url, clientOrigin) {
      await page.goto(url.href)
      await page.waitForURL(onClient(clientOrigin))
      return new URL(page.url())
    },
    close: () => context.close(),
  }
}
