// Passkeys in headless Chromium with the DevTools protocol's virtual
// authenticator (CTAP2, internal, resident keys, user verification): the
// browser's own navigator.credentials makes and uses the credentials, from a
// page of the server, and the API under test gets exactly what a browser
// sends. Each "device" is a browser context with its own authenticator.
//
// The ceremonies go through the API from the page (fetch), not through the
// hosted pages' UI, which is tested on its own; the page is /inspect, a
// page of the server with its CSP and no sign-in script of its own.
//
// WebAuthn needs a domain as the RP id (an IP address will not do), so the
// servers here answer as http://localhost:<port> and, for the RP id cases,
// as *.tessera.localhost, which Chromium resolves to the loopback address
// too (and treats as a secure context).

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { decode } from '@tessera/jwt'
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core'
import { browserSuite, openPage, PASSWORD, type PagesServer, startPagesServer } from './harness.ts'

interface Answer {
  status: number
  body: Record<string, unknown>
}

/** A browser with a passkey authenticator built in (a laptop; `synced`: a phone whose passkeys are backed up). */
interface Device {
  context: BrowserContext
  page: Page
  cdp: CDPSession
  authenticatorId: string
  /** Console errors and uncaught exceptions of the page. */
  errors: string[]
}

async function openDevice(
  browser: Browser,
  origin: string,
  options: { synced?: boolean } = {},
): Promise<Device> {
  const context = await browser.newContext()
  const { page, errors } = await openPage(context)
  await page.goto(`${origin}/inspect`)
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable', { enableUI: false })
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
      ...(options.synced ? { defaultBackupEligibility: true, defaultBackupState: true } : {}),
    },
  })
  return { context, page, cdp, authenticatorId, errors }
}

/**
 * A call to the API from the page, as a page's script makes it: in browser
 * mode (the CSRF header), so a sign-in's refresh token comes as the cookie.
 */
async function call(
  page: Page,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { 'x-tessera-csrf': '1' }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  const init = {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  }
  return await page.evaluate<Answer>(`fetch(${JSON.stringify(path)}, ${JSON.stringify(init)})
    .then(async (r) => { const text = await r.text(); return { status: r.status, body: text ? JSON.parse(text) : {} } })`)
}

/** The browser's answer (`credential.toJSON()`), or the name of the DOMException it threw. */
type Ceremony = { response: Record<string, unknown> } | { error: string }

/** navigator.credentials.create with the server's options (the JSON form, parsed by the browser itself). */
async function create(page: Page, options: Record<string, unknown>): Promise<Ceremony> {
  const { challengeId: _, ...json } = options
  return await page.evaluate<Ceremony>(`(async () => {
    try {
      const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(${JSON.stringify(json)})
      return { response: (await navigator.credentials.create({ publicKey })).toJSON() }
    } catch (error) {
      return { error: error.name }
    }
  })()`)
}

/** navigator.credentials.get with the server's options. */
async function get(page: Page, options: Record<string, unknown>): Promise<Ceremony> {
  const { challengeId: _, ...json } = options
  return await page.evaluate<Ceremony>(`(async () => {
    try {
      const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(${JSON.stringify(json)})
      return { response: (await navigator.credentials.get({ publicKey })).toJSON() }
    } catch (error) {
      return { error: error.name }
    }
  })()`)
}

function responseOf(ceremony: Ceremony): Record<string, unknown> {
  if ('error' in ceremony) assert.fail(`the browser refused: ${ceremony.error}`)
  return ceremony.response
}

/** Adds a passkey made on `device` to the account of `token`; the verify answer. */
async function addPasskey(
  device: Device,
  token: string,
  name?: string,
  bend: (options: Record<string, unknown>) => void = () => {},
): Promise<Answer> {
  const options = await call(device.page, 'POST', '/auth/passkeys/register/options', { token })
  assert.equal(options.status, 200, JSON.stringify(options.body))
  bend(options.body)
  const made = responseOf(await create(device.page, options.body))
  return await call(device.page, 'POST', '/auth/passkeys/register/verify', {
    token,
    body: { response: made, challengeId: options.body.challengeId, ...(name ? { name } : {}) },
  })
}

/** A sign-in with no password: the browser offers the passkey it holds for this site. */
async function signInWithPasskey(
  device: Device,
  bend: (options: Record<string, unknown>) => void = () => {},
): Promise<Answer | { error: string }> {
  const options = await call(device.page, 'POST', '/auth/passkeys/login/options')
  assert.equal(options.status, 200, JSON.stringify(options.body))
  bend(options.body)
  const ceremony = await get(device.page, options.body)
  if ('error' in ceremony) return ceremony
  return await call(device.page, 'POST', '/auth/passkeys/login/verify', {
    body: { response: ceremony.response, challengeId: options.body.challengeId },
  })
}

/** The virtual authenticator's credentials, with their signature counters. */
async function credentialsOf(
  device: Device,
): Promise<{ credentialId: string; signCount: number; rpId: string }[]> {
  const { credentials } = await device.cdp.send('WebAuthn.getCredentials', {
    authenticatorId: device.authenticatorId,
  })
  // The protocol gives ids in base64; the API in base64url.
  return credentials.map((c) => ({
    credentialId: Buffer.from(c.credentialId, 'base64').toString('base64url'),
    signCount: c.signCount,
    rpId: c.rpId ?? '',
  }))
}

const amrOf = (token: unknown) => (decode(token as string).payload as { amr?: string[] }).amr
const subOf = (token: string) => (decode(token).payload as { sub: string }).sub
const issueOf = (answer: Answer) =>
  ((answer.body.error as { issues?: { path: string; message: string }[] }).issues ?? [])[0]

browserSuite('passkeys in Chromium with a virtual authenticator', (browser) => {
  let server: PagesServer
  let origin: string
  const devices: Device[] = []

  before(async () => {
    server = await startPagesServer((url) => ({
      TESSERA_ISSUER: url.replace('127.0.0.1', 'localhost'),
    }))
    origin = server.url.replace('127.0.0.1', 'localhost')
  })
  after(async () => {
    for (const device of devices) await device.context.close()
    await server.close()
  })

  async function device(options: { synced?: boolean } = {}, at = origin): Promise<Device> {
    const opened = await openDevice(browser(), at, options)
    devices.push(opened)
    return opened
  }

  /** The user's passkeys as the store keeps them (counters included). */
  async function stored(token: string) {
    return await server.tessera.store.factors.listPasskeys(subOf(token))
  }

  test('two passkeys from two devices, named; listed, renamed; counters and backup flags stored', async () => {
    const { accessToken } = await server.signUp('ada@example.com', 'Ada')
    const laptop = await device()
    const phone = await device({ synced: true })

    const first = await addPasskey(laptop, accessToken, 'Laptop')
    assert.equal(first.status, 201, JSON.stringify(first.body))
    assert.equal(first.body.name, 'Laptop')
    assert.equal(first.body.deviceType, 'singleDevice')
    assert.equal(first.body.backedUp, false)
    assert.equal((first.body.recoveryCodes as string[]).length, 10)
    const second = await addPasskey(phone, accessToken, 'Phone')
    assert.equal(second.status, 201, JSON.stringify(second.body))
    assert.equal(second.body.deviceType, 'multiDevice')
    assert.equal(second.body.backedUp, true)
    assert.equal(second.body.recoveryCodes, undefined)

    const rename = await call(phone.page, 'PATCH', `/auth/passkeys/${second.body.id}`, {
      token: accessToken,
      body: { name: 'Pixel' },
    })
    assert.equal(rename.status, 200, JSON.stringify(rename.body))
    const list = await call(laptop.page, 'GET', '/auth/passkeys', { token: accessToken })
    assert.deepEqual(
      (list.body.passkeys as Record<string, unknown>[]).map((p) => [
        p.id,
        p.name,
        p.deviceType,
        p.backedUp,
        p.lastUsedAt,
      ]),
      [
        [first.body.id, 'Laptop', 'singleDevice', false, null],
        [second.body.id, 'Pixel', 'multiDevice', true, null],
      ],
    )
    // What the server stored is what the authenticators hold: ids, counters, transports.
    const [onLaptop] = await credentialsOf(laptop)
    const [onPhone] = await credentialsOf(phone)
    const keys = await stored(accessToken)
    assert.deepEqual(
      keys.map((k) => [k.id, k.counter, k.transports]),
      [
        [onLaptop?.credentialId, onLaptop?.signCount, ['internal']],
        [onPhone?.credentialId, onPhone?.signCount, ['internal']],
      ],
    )
    assert.equal(onLaptop?.rpId, 'localhost')

    // The laptop has a passkey for this account: excludeCredentials makes it refuse another.
    const options = await call(laptop.page, 'POST', '/auth/passkeys/register/options', {
      token: accessToken,
    })
    assert.deepEqual(await create(laptop.page, options.body), { error: 'InvalidStateError' })

    assert.deepEqual([...laptop.errors, ...phone.errors], [])
  })

  test('signing in without a password: the browser finds the passkey; hwk or swk, user, mfa; the counter moves', async () => {
    const { accessToken } = await server.signUp('grace@example.com')
    const laptop = await device()
    const phone = await device({ synced: true })
    assert.equal((await addPasskey(laptop, accessToken)).status, 201)
    assert.equal((await addPasskey(phone, accessToken)).status, 201)

    const signedIn = (await signInWithPasskey(laptop)) as Answer
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body))
    assert.equal((signedIn.body.user as { email: string }).email, 'grace@example.com')
    assert.deepEqual(amrOf(signedIn.body.accessToken), ['hwk', 'user', 'mfa'])
    // A browser gets its refresh token as the cookie, as with a password.
    assert.equal(signedIn.body.refreshToken, undefined)
    assert.ok((await laptop.context.cookies()).some((c) => c.name === 'tessera_refresh'))
    const [onLaptop] = await credentialsOf(laptop)
    const key = (await stored(accessToken)).find((k) => k.id === onLaptop?.credentialId)
    assert.equal(key?.counter, onLaptop?.signCount)
    assert.ok((onLaptop?.signCount ?? 0) >= 2, 'registration and sign-in each counted')
    assert.notEqual(key?.lastUsedAt, null)

    const fromPhone = (await signInWithPasskey(phone)) as Answer
    assert.equal(fromPhone.status, 200, JSON.stringify(fromPhone.body))
    assert.deepEqual(amrOf(fromPhone.body.accessToken), ['swk', 'user', 'mfa'])

    // A browser with no passkey for this site has nothing to offer.
    const stranger = await device()
    assert.deepEqual(await signInWithPasskey(stranger), { error: 'NotAllowedError' })
    assert.deepEqual(laptop.errors, [])
  })

  test('password, then a passkey as the second step', async () => {
    const { accessToken } = await server.signUp('bob@example.com')
    const laptop = await device()
    const added = await addPasskey(laptop, accessToken, 'Work laptop')
    assert.equal(added.status, 201, JSON.stringify(added.body))

    const first = await call(laptop.page, 'POST', '/auth/login', {
      body: { email: 'bob@example.com', password: PASSWORD },
    })
    assert.equal(first.status, 200, JSON.stringify(first.body))
    assert.deepEqual(first.body.methods, ['passkey', 'recovery_code'])
    const mfaToken = first.body.mfaToken
    const options = await call(laptop.page, 'POST', '/auth/mfa/passkey/options', {
      body: { mfaToken },
    })
    assert.equal(options.status, 200, JSON.stringify(options.body))
    assert.deepEqual(
      (options.body.allowCredentials as { id: string }[]).map((c) => c.id),
      [added.body.id],
    )
    // Another browser holds no passkey of Bob's.
    const stranger = await device()
    assert.deepEqual(await get(stranger.page, options.body), { error: 'NotAllowedError' })

    const response = responseOf(await get(laptop.page, options.body))
    const done = await call(laptop.page, 'POST', '/auth/mfa/verify', {
      body: { mfaToken, method: 'passkey', response },
    })
    assert.equal(done.status, 200, JSON.stringify(done.body))
    assert.deepEqual(amrOf(done.body.accessToken), ['pwd', 'hwk', 'user', 'mfa'])
    assert.deepEqual(laptop.errors, [])
  })

  test('a removed passkey signs in no more; the last one takes the recovery codes along', async () => {
    const { accessToken } = await server.signUp('carol@example.com')
    const laptop = await device()
    const phone = await device({ synced: true })
    const kept = await addPasskey(laptop, accessToken, 'Laptop')
    const removed = await addPasskey(phone, accessToken, 'Phone')
    const gone = await call(phone.page, 'DELETE', `/auth/passkeys/${removed.body.id}`, {
      token: accessToken,
    })
    assert.equal(gone.status, 204)
    const list = await call(laptop.page, 'GET', '/auth/passkeys', { token: accessToken })
    assert.deepEqual(
      (list.body.passkeys as { name: string }[]).map((p) => p.name),
      ['Laptop'],
    )
    // The phone still holds the credential; the server no longer knows it.
    assert.equal((await credentialsOf(phone)).length, 1)
    const refused = (await signInWithPasskey(phone)) as Answer
    assert.equal(refused.status, 401)
    assert.equal((refused.body.error as { code: string }).code, 'invalid_credentials')
    assert.equal(((await signInWithPasskey(laptop)) as Answer).status, 200)

    await call(laptop.page, 'DELETE', `/auth/passkeys/${kept.body.id}`, { token: accessToken })
    const status = await call(laptop.page, 'GET', '/auth/mfa', { token: accessToken })
    assert.deepEqual(status.body, { totp: false, passkeys: 0, recoveryCodes: 0 })
    const notices = await server.tessera.store.outbox.listMessages({ limit: 100 })
    assert.equal(
      notices.filter((m) => m.template === 'factor_removed' && m.to === 'carol@example.com').length,
      2,
    )
  })

  test('another RP id: the browser does not offer the passkey, and a tampered answer is refused', async () => {
    // Two servers over one database: the operator moves TESSERA_WEBAUTHN_RP_ID
    // from app.tessera.localhost (the issuer's host) to tessera.localhost.
    const shared = mkdtempSync(join(tmpdir(), 'tessera-passkeys-'))
    const common = {
      TESSERA_DATABASE_URL: `sqlite:${join(shared, 'tessera.db')}`,
      TESSERA_MASTER_KEY: randomBytes(32).toString('base64url'),
    }
    const host = (url: string, name: string) => url.replace('127.0.0.1', name)
    try {
      const before = await startPagesServer((url) => ({
        ...common,
        TESSERA_ISSUER: host(url, 'app.tessera.localhost'),
      }))
      const beforeOrigin = host(before.url, 'app.tessera.localhost')
      const laptop = await device({}, beforeOrigin)
      const { accessToken } = await before.signUp('dan@example.com')
      const added = await addPasskey(laptop, accessToken, 'Laptop')
      assert.equal(added.status, 201, JSON.stringify(added.body))
      assert.equal((await credentialsOf(laptop))[0]?.rpId, 'app.tessera.localhost')
      assert.equal(((await signInWithPasskey(laptop)) as Answer).status, 200)
      await before.close()

      const now = await startPagesServer((url) => ({
        ...common,
        TESSERA_ISSUER: host(url, 'app.tessera.localhost'),
        TESSERA_WEBAUTHN_RP_ID: 'tessera.localhost',
      }))
      try {
        const nowOrigin = host(now.url, 'app.tessera.localhost')
        await laptop.page.goto(`${nowOrigin}/inspect`)
        // The browser offers only passkeys of the RP id the options name.
        assert.deepEqual(await signInWithPasskey(laptop), { error: 'NotAllowedError' })
        // A page that names the old RP id gets an answer; the server refuses it, and says why.
        const tampered = (await signInWithPasskey(laptop, (options) => {
          options.rpId = 'app.tessera.localhost'
        })) as Answer
        assert.equal(tampered.status, 400, JSON.stringify(tampered.body))
        assert.equal((tampered.body.error as { code: string }).code, 'validation_failed')
        assert.deepEqual(issueOf(tampered), {
          path: '/response',
          message:
            'was made for another relying party: passkeys here belong to tessera.localhost (TESSERA_WEBAUTHN_RP_ID)',
        })

        // Registering for another RP id: refused the same way, nothing stored.
        const { accessToken: evesToken } = await now.signUp('eve@example.com')
        const phone = await device({ synced: true }, nowOrigin)
        const wrongRp = await addPasskey(phone, evesToken, 'Phone', (options) => {
          ;(options.rp as { id: string }).id = 'app.tessera.localhost'
        })
        assert.equal(wrongRp.status, 400, JSON.stringify(wrongRp.body))
        assert.match(issueOf(wrongRp)?.message ?? '', /passkeys here belong to tessera\.localhost/)
        assert.equal((await now.tessera.store.factors.summary(subOf(evesToken))).passkeys, 0)
        const right = await addPasskey(phone, evesToken, 'Phone')
        assert.equal(right.status, 201, JSON.stringify(right.body))

        // A page on a host of the RP id but not among TESSERA_WEBAUTHN_ORIGINS
        // (the issuer's origin): the browser signs, the server names its origin.
        await phone.page.goto(`${host(now.url, 'other.tessera.localhost')}/inspect`)
        const elsewhere = (await signInWithPasskey(phone)) as Answer
        assert.equal(elsewhere.status, 400, JSON.stringify(elsewhere.body))
        assert.equal(
          issueOf(elsewhere)?.message,
          `was made on a page of another origin: passkeys here are used from ${nowOrigin} (TESSERA_WEBAUTHN_ORIGINS)`,
        )
        await phone.page.goto(`${nowOrigin}/inspect`)
        assert.equal(((await signInWithPasskey(phone)) as Answer).status, 200)
      } finally {
        await now.close()
      }
    } finally {
      rmSync(shared, { recursive: true, force: true })
    }
  })
})
