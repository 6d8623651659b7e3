// What the browser suites share: headless Chromium (Debian's `chromium`,
// driven by playwright-core), a real Tessera listening on 127.0.0.1 with an
// SQLite file, a second local server playing another origin, and the
// screenshots. Nothing here is used by the server.
//
// Without Chromium the suites are skipped with a message; with CI=true they
// fail instead, like the PostgreSQL and Redis suites.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'
import { loadConfig } from '../../src/config/index.ts'
import type { WireCode } from '../../src/http/error-codes.ts'
import { createTessera, type Tessera } from '../../src/tessera.ts'

/** Debian's `chromium`; TESSERA_TEST_CHROMIUM names another Chromium or Chrome binary. */
export const CHROMIUM_PATH = process.env.TESSERA_TEST_CHROMIUM || '/usr/bin/chromium'
const ON_CI = process.env.CI === 'true'
const FAST_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 }
export const PASSWORD = 'correct horse battery staple'

/**
 * The flags of every run: no GPU, no QUIC, and none of the background
 * traffic (updates, sync, field trials) a test must not wait on or see.
 * playwright-core's launch() gives each browser a fresh temporary profile
 * (--user-data-dir) and removes it on close; each test opens its own context
 * on top, so no cookie outlives a test.
 */
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

/**
 * Declares a browser suite: `body` registers its tests, with `browser()` to
 * reach the Chromium that `before` launched. Without Chromium the suite is
 * skipped with what enables it (one failing test with CI=true).
 */
export function browserSuite(
  name: string,
  body: (browser: () => Browser) => void,
  options: { args?: readonly string[] } = {},
): void {
  if (!existsSync(CHROMIUM_PATH)) {
    const reason = `${CHROMIUM_PATH} is missing: apt-get install chromium, or set TESSERA_TEST_CHROMIUM to a Chromium or Chrome binary`
    if (ON_CI) {
      test(`${name}: Chromium is available (required with CI=true)`, () => {
        assert.fail(`${reason}: the browser suites must run on CI`)
      })
    } else {
      describe(name, { skip: reason }, () => {})
    }
    return
  }
  describe(name, () => {
    let launched: Browser | undefined
    before(async () => {
      launched = await chromium.launch({
        executablePath: CHROMIUM_PATH,
        args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
        headless: true,
        timeout: 30_000,
      })
    })
    after(async () => {
      await launched?.close()
    })
    body(() => launched ?? assert.fail('Chromium was not launched'))
  })
}

/** One request as the server saw it (recorded by an onResponse hook). */
export interface SeenRequest {
  readonly method: string
  readonly url: string
  readonly status: number
  /** The wire code of a refusal, null for a success. */
  readonly code: WireCode | null
  readonly origin: string | undefined
  /** Whether the request carried the refresh cookie. */
  readonly cookie: boolean
}

export interface PagesServer {
  /** `http://127.0.0.1:<port>`: the issuer, the only allowed origin. */
  readonly url: string
  readonly port: number
  readonly tessera: Tessera
  /** Every request so far, in order. */
  readonly seen: SeenRequest[]
  /** Every access token the server has handed out, in order. */
  readonly issued: string[]
  /** Requests to `method url` since `from` (an index into `seen`). */
  requests(method: string, url: string, from?: number): SeenRequest[]
  /** Signs up over the JSON API as a native client: the tokens are in the body. */
  signUp(email: string, name?: string): Promise<{ accessToken: string; refreshToken: string }>
  close(): Promise<void>
}

/** A port free a moment ago; the caller retries if it was taken since. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done, fail) => {
    server.once('error', fail)
    server.listen(0, '127.0.0.1', done)
  })
  const address = server.address()
  await new Promise<void>((done) => server.close(() => done()))
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

/**
 * Starts Tessera on 127.0.0.1 with an SQLite file in a temporary directory;
 * `env` may depend on the server's URL. The issuer names the port, so a
 * free one is picked first. The refresh
 * cookie is `Secure`, as in production: Chromium keeps Secure cookies from
 * http://127.0.0.1 and http://localhost, which it treats as potentially
 * trustworthy origins (W3C Secure Contexts §3.2).
 */
export async function startPagesServer(
  env: Record<string, string> | ((url: string) => Record<string, string>) = {},
): Promise<PagesServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-browser-'))
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const config = loadConfig({
      // The default issuer is http://localhost:<TESSERA_PORT>; an empty value means the default.
      TESSERA_PORT: String(port),
      TESSERA_ISSUER: url,
      TESSERA_DATA_DIR: dataDir,
      TESSERA_DATABASE_URL: `sqlite:${join(dataDir, 'tessera.db')}`,
      TESSERA_MASTER_KEY: randomBytes(32).toString('base64url'),
      TESSERA_COOKIE_SECURE: 'true',
      TESSERA_LOG_LEVEL: 'silent',
      // Every signup of a suite comes from 127.0.0.1.
      TESSERA_SIGNUP_RATE_LIMIT: '1000',
      ...(typeof env === 'function' ? env(url) : env),
    })
    const tessera = await createTessera(config, {
      logger: pino({ level: 'silent' }),
      maintenanceInterval: 0,
      argon2: FAST_ARGON2,
    })
    const seen: SeenRequest[] = []
    const issued: string[] = []
    tessera.app.addHook('onSend', async (_request, _reply, payload) => {
      if (typeof payload === 'string' && payload.includes('"accessToken"')) {
        issued.push((JSON.parse(payload) as { accessToken: string }).accessToken)
      }
      return payload
    })
    tessera.app.addHook('onResponse', (request, reply, done) => {
      seen.push({
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        code: request.errorCode,
        origin: request.headers.origin,
        cookie: /(^|[;\s])(__Host-)?tessera_refresh=/.test(request.headers.cookie ?? ''),
      })
      done()
    })
    try {
      await tessera.app.listen({ host: '127.0.0.1', port })
    } catch (error) {
      await tessera.close()
      if ((error as { code?: unknown }).code === 'EADDRINUSE' && attempt < 5) continue
      rmSync(dataDir, { recursive: true, force: true })
      throw error
    }
    return {
      url,
      port,
      tessera,
      seen,
      issued,
      requests: (method, path, from = 0) =>
        seen.slice(from).filter((request) => request.method === method && request.url === path),
      async signUp(email, name) {
        const response = await fetch(`${url}/auth/signup`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password: PASSWORD, ...(name ? { name } : {}) }),
        })
        assert.equal(response.status, 201, await response.clone().text())
        return (await response.json()) as { accessToken: string; refreshToken: string }
      },
      async close() {
        await tessera.close()
        rmSync(dataDir, { recursive: true, force: true })
      },
    }
  }
}

/** A plain HTTP server on 127.0.0.1 serving fixed HTML pages: another origin. */
export interface OtherOrigin {
  readonly port: number
  close(): Promise<void>
}

export async function startOtherOrigin(pages: Record<string, string>): Promise<OtherOrigin> {
  const server = createHttpServer((request, response) => {
    const page = pages[request.url ?? '']
    response.writeHead(page === undefined ? 404 : 200, { 'content-type': 'text/html' })
    response.end(page ?? 'not found')
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return {
    port: address.port,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections()
        server.close(() => done())
      }),
  }
}

/**
 * A page whose console errors and uncaught exceptions are collected: the
 * pages must run under their own CSP without a single violation report.
 * Chromium's "Failed to load resource" lines for the API's 4xx answers are
 * expected and left out.
 */
export async function openPage(context: BrowserContext): Promise<{ page: Page; errors: string[] }> {
  // Everything here answers in milliseconds: fail fast rather than after 30 s.
  context.setDefaultTimeout(10_000)
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (message) => {
    if (message.type() !== 'error') return
    if (message.text().startsWith('Failed to load resource: the server responded')) return
    errors.push(message.text())
  })
  page.on('pageerror', (error) => errors.push(String(error)))
  return { page, errors }
}

/** Resolves once `condition()` holds (checked every 20 ms); fails after `timeout` ms. */
export async function until(condition: () => boolean, what: string, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 20))
  }
}

/** Resolves once /account shows the signed-in user. */
export async function waitForAccount(page: Page): Promise<void> {
  await page.locator('#account').waitFor({ state: 'visible' })
}

/** Signs up through the /signup form and waits for /account. */
export async function signUpWithForm(
  page: Page,
  server: PagesServer,
  user: { email: string; name?: string },
): Promise<void> {
  await page.goto(`${server.url}/signup`)
  if (user.name !== undefined) await page.getByLabel('Name').fill(user.name)
  await page.getByLabel('Email').fill(user.email)
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
  await page.getByRole('button', { name: 'Create account' }).click()
  await page.waitForURL(`${server.url}/account`)
  await waitForAccount(page)
}

/** Logs in through the /login form and waits for /account. */
export async function logInWithForm(page: Page, server: PagesServer, email: string): Promise<void> {
  await page.goto(`${server.url}/login`)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.waitForURL(`${server.url}/account`)
  await waitForAccount(page)
}

const repoRoot = resolve(import.meta.dirname, '../../../..')

/**
 * Where the run saves its screenshots: docs/screenshots with
 * TESSERA_UPDATE_SCREENSHOTS=1 (the committed ones), else a directory under
 * the system's temp directory that the run prints.
 */
export const SCREENSHOT_DIR =
  process.env.TESSERA_UPDATE_SCREENSHOTS === '1'
    ? join(repoRoot, 'docs/screenshots')
    : join(tmpdir(), 'tessera-screenshots')

/** Saves a PNG of `page` as `<name>.png`; returns its path. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const path = join(SCREENSHOT_DIR, `${name}.png`)
  await page.screenshot({ path, fullPage: true, animations: 'disabled' })
  return path
}
