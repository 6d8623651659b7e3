// Passkeys against the real service (in process, in-memory SQLite, a clock
// the test moves), with a software authenticator (support/webauthn.ts) in
// place of the browser: the options, registration, the list, passwordless
// sign-in, the sign-in's second step, re-authentication, and what a browser
// would never send (another origin or RP id, a stale counter, a spent
// challenge). test/browser/passkeys.test.ts does the ceremonies in Chromium.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decode } from '@tessera/jwt'
import { totpCode } from '../src/auth/totp.ts'
import { type CallResult, code, type Harness, harness, PASSWORD } from './support/harness.ts'
import { outbox } from './support/outbox.ts'
import { type Bend, SoftAuthenticator } from './support/webauthn.ts'

/** The harness's issuer: the default RP id is its host, the default origin its origin. */
const ORIGIN = 'http://localhost:3000'

const claimsOf = (token: unknown) =>
  decode(token as string).payload as { sub: string; amr?: string[]; auth_time?: number }

const device = (
  options: { synced?: boolean; userVerified?: boolean; counterless?: boolean } = {},
) => new SoftAuthenticator({ origin: ORIGIN, ...options })

async function registerOptions(h: Harness, access: string): Promise<CallResult> {
  const options = await h.call('POST', '/auth/passkeys/register/options', { token: access })
  assert.equal(options.status, 200, JSON.stringify(options.body))
  return options
}

/** Registers a passkey of `authenticator` for the holder of `access`; the verify answer. */
async function register(
  h: Harness,
  access: string,
  authenticator: SoftAuthenticator,
  options: { name?: string; bend?: Bend } = {},
): Promise<CallResult> {
  const { body } = await registerOptions(h, access)
  return await h.call('POST', '/auth/passkeys/register/verify', {
    token: access,
    body: {
      response: authenticator.create(body, options.bend),
      challengeId: body.challengeId,
      ...(options.name === undefined ? {} : { name: options.name }),
    },
  })
}

async function loginOptions(h: Harness): Promise<Record<string, unknown>> {
  const options = await h.call('POST', '/auth/passkeys/login/options')
  assert.equal(options.status, 200, JSON.stringify(options.body))
  return options.body
}

/** A passwordless sign-in with `authenticator`. */
async function signIn(
  h: Harness,
  authenticator: SoftAuthenticator,
  bend: Bend = {},
): Promise<CallResult> {
  const options = await loginOptions(h)
  return await h.call('POST', '/auth/passkeys/login/verify', {
    body: { response: authenticator.get(options, bend), challengeId: options.challengeId },
  })
}

/** Ada signs up and adds a passkey; the clock then moves on a little. */
async function withPasskey(h: Harness, email = 'ada@example.com', synced = false) {
  const s = await h.signup(email)
  const access = s.accessToken as string
  const authenticator = device({ synced })
  const added = await register(h, access, authenticator, { name: 'Laptop' })
  assert.equal(added.status, 201, JSON.stringify(added.body))
  h.clock.advance(5)
  return {
    access,
    authenticator,
    passkeyId: added.body.id as string,
    userId: claimsOf(access).sub,
    recoveryCodes: added.body.recoveryCodes as string[],
  }
}

function firstIssue(body: Record<string, unknown>): { path: string; message: string } {
  const issues = (body.error as { issues?: { path: string; message: string }[] }).issues ?? []
  assert.ok(issues[0] !== undefined, JSON.stringify(body))
  return issues[0]
}

describe('passkeys: registration', () => {
  it('options ask for a discoverable credential, exclude the passkeys the account has, name the challenge', async () => {
    const h = await harness()
    const s = await h.signup('ada@example.com')
    const access = s.accessToken as string
    const userId = claimsOf(access).sub
    const { body } = await registerOptions(h, access)
    assert.equal(typeof body.challenge, 'string')
    assert.match(body.challengeId as string, /^[A-Za-z0-9_-]{43}$/)
    assert.deepEqual(body.rp, { name: 'Tessera', id: 'localhost' })
    assert.deepEqual(body.user, {
      id: Buffer.from(userId).toString('base64url'),
      name: 'ada@example.com',
      displayName: 'ada@example.com',
    })
    assert.deepEqual(body.authenticatorSelection, {
      residentKey: 'required',
      requireResidentKey: true,
      userVerification: 'preferred',
    })
    assert.equal(body.attestation, 'none')
    assert.equal(body.timeout, 300_000)
    // EdDSA, ES256, RS256: not the experimental ML-DSA-44.
    assert.deepEqual(
      (body.pubKeyCredParams as { alg: number }[]).map((p) => p.alg),
      [-8, -7, -257],
    )
    assert.deepEqual(body.excludeCredentials, [])

    const laptop = device()
    const added = await register(h, access, laptop, { name: '  Laptop  ' })
    assert.equal(added.status, 201, JSON.stringify(added.body))
    const { recoveryCodes, ...view } = added.body
    assert.deepEqual(view, {
      id: laptop.credentials[0]?.id,
      name: 'Laptop',
      createdAt: new Date(h.clock.now).toISOString(),
      lastUsedAt: null,
      deviceType: 'singleDevice',
      backedUp: false,
    })
    // The account's first factor brings recovery codes, shown this once.
    assert.equal((recoveryCodes as string[]).length, 10)
    const [notice] = await outbox(h, 'factor_added')
    assert.equal(notice?.to, 'ada@example.com')
    assert.equal(notice?.data.factor, 'passkey')
    const events = await h.tessera.store.audit.listAudit({ limit: 10, event: 'mfa.passkey_added' })
    assert.deepEqual(events[0]?.details, { passkeyId: view.id, deviceType: 'singleDevice' })

    const again = await registerOptions(h, access)
    assert.deepEqual(again.body.excludeCredentials, [
      { id: view.id, type: 'public-key', transports: ['internal'] },
    ])
    const phone = device({ synced: true })
    const second = await h.call('POST', '/auth/passkeys/register/verify', {
      token: access,
      body: { response: phone.create(again.body), challengeId: again.body.challengeId },
    })
    assert.equal(second.status, 201, JSON.stringify(second.body))
    // No name: a numbered one. Synced: multi-device, backed up. Codes exist already: none.
    assert.equal(second.body.name, 'Passkey 2')
    assert.equal(second.body.deviceType, 'multiDevice')
    assert.equal(second.body.backedUp, true)
    assert.equal(second.body.recoveryCodes, undefined)
    const status = await h.call('GET', '/auth/mfa', { token: access })
    assert.deepEqual(status.body, { totp: false, passkeys: 2, recoveryCodes: 10 })
    const stored = await h.tessera.store.factors.findPasskey(view.id as string)
    assert.equal(stored?.counter, 0)
    assert.deepEqual(stored?.transports, ['internal'])
  })

  it('a passkey registered already, here or on another account, is refused', async () => {
    const h = await harness()
    const ada = await withPasskey(h)
    const bob = await h.signup('bob@example.com')
    const twice = await register(h, bob.accessToken as string, ada.authenticator, {
      bend: { credentialId: ada.passkeyId },
    })
    assert.equal(twice.status, 403)
    assert.equal(code(twice.body), 'forbidden')
    assert.match((twice.body.error as { message: string }).message, /registered already/)
    assert.equal((await h.tessera.store.factors.findPasskey(ada.passkeyId))?.userId, ada.userId)
  })

  it('an answer from another origin or for another RP id: 400 naming what this server expects, echoing nothing', async () => {
    const h = await harness()
    const s = await h.signup('ada@example.com')
    const access = s.accessToken as string
    const phished = await register(h, access, device(), {
      bend: { origin: 'https://evil.example' },
    })
    assert.equal(phished.status, 400)
    assert.equal(code(phished.body), 'validation_failed')
    const issue = firstIssue(phished.body)
    assert.equal(issue.path, '/response')
    assert.match(
      issue.message,
      /another origin: passkeys here are used from http:\/\/localhost:3000/,
    )
    assert.ok(!JSON.stringify(phished.body).includes('evil'))

    const otherRp = await register(h, access, device(), { bend: { rpId: 'evil.example' } })
    assert.equal(code(otherRp.body), 'validation_failed')
    assert.match(firstIssue(otherRp.body).message, /passkeys here belong to localhost/)
    assert.ok(!JSON.stringify(otherRp.body).includes('evil'))

    const garbage = await register(h, access, device(), { bend: { challenge: 'not-it' } })
    assert.equal(code(garbage.body), 'validation_failed')
    assert.equal(
      firstIssue(garbage.body).message,
      'is not a passkey registration this server accepts',
    )
    assert.equal((await h.tessera.store.factors.summary(claimsOf(access).sub)).passkeys, 0)
  })

  it('a challenge is good once, for 5 minutes, in the session that asked for it', async () => {
    const h = await harness()
    const s = await h.signup('ada@example.com')
    const access = s.accessToken as string
    const authenticator = device()
    const { body } = await registerOptions(h, access)
    const response = authenticator.create(body)
    const verify = (token: string, challengeId = body.challengeId) =>
      h.call('POST', '/auth/passkeys/register/verify', {
        token,
        body: { response, challengeId },
      })
    // Another session of the same user cannot use it.
    const other = await h.login('ada@example.com')
    assert.equal(code((await verify(other.tokens.accessToken)).body), 'invalid_code')
    // That try spent it: one answer per challenge, right or wrong.
    assert.equal(code((await verify(access)).body), 'invalid_code')

    const late = await registerOptions(h, access)
    h.clock.advance(5 * 60)
    const expired = await h.call('POST', '/auth/passkeys/register/verify', {
      token: access,
      body: { response: authenticator.create(late.body), challengeId: late.body.challengeId },
    })
    assert.equal(code(expired.body), 'invalid_code')

    // A sign-in challenge is no registration challenge.
    const login = await loginOptions(h)
    const crossed = await h.call('POST', '/auth/passkeys/register/verify', {
      token: access,
      body: {
        response: authenticator.create({ ...login, rp: { id: 'localhost' }, user: { id: 'eA' } }),
        challengeId: login.challengeId,
      },
    })
    assert.equal(code(crossed.body), 'invalid_code')
    assert.equal((await h.tessera.store.factors.summary(claimsOf(access).sub)).passkeys, 0)
  })

  it('adding and removing need a recent sign-in; re-authenticating with a passkey renews it', async () => {
    const h = await harness()
    const ada = await withPasskey(h)
    h.clock.advance(11 * 60)
    const options = await h.call('POST', '/auth/passkeys/register/options', { token: ada.access })
    assert.equal(code(options.body), 'reauthentication_required')
    const removal = await h.call('DELETE', `/auth/passkeys/${ada.passkeyId}`, {
      token: ada.access,
    })
    assert.equal(code(removal.body), 'reauthentication_required')

    const reauth = await h.call('POST', '/auth/reauthenticate/passkey/options', {
      token: ada.access,
    })
    assert.equal(reauth.status, 200, JSON.stringify(reauth.body))
    assert.deepEqual(reauth.body.allowCredentials, [
      { id: ada.passkeyId, type: 'public-key', transports: ['internal'] },
    ])
    assert.equal(reauth.body.userVerification, 'preferred')
    const body = {
      method: 'passkey',
      response: ada.authenticator.get(reauth.body),
      challengeId: reauth.body.challengeId,
    }
    const renewed = await h.call('POST', '/auth/reauthenticate', { token: ada.access, body })
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body))
    const claims = claimsOf(renewed.body.accessToken)
    assert.equal(claims.auth_time, Math.floor(h.clock.now / 1000))
    assert.deepEqual(claims.amr, ['pwd', 'hwk', 'user'])
    // The challenge is spent.
    const replay = await h.call('POST', '/auth/reauthenticate', { token: ada.access, body })
    assert.equal(code(replay.body), 'invalid_code')

    const access = renewed.body.accessToken as string
    const removed = await h.call('DELETE', `/auth/passkeys/${ada.passkeyId}`, { token: access })
    assert.equal(removed.status, 204, JSON.stringify(removed.body))
    // The last factor gone, the recovery codes go too; the owner is told.
    assert.deepEqual((await h.call('GET', '/auth/mfa', { token: access })).body, {
      totp: false,
      passkeys: 0,
      recoveryCodes: 0,
    })
    const [notice] = await outbox(h, 'factor_removed')
    assert.equal(notice?.data.factor, 'passkey')
    const none = await h.call('POST', '/auth/reauthenticate/passkey/options', { token: access })
    assert.equal(code(none.body), 'not_found')
  })

  it('re-authentication refuses a passkey of another account and a challenge of another session', async () => {
    const h = await harness()
    const ada = await withPasskey(h)
    const bob = await withPasskey(h, 'bob@example.com')
    const options = await h.call('POST', '/auth/reauthenticate/passkey/options', {
      token: ada.access,
    })
    const wrongKey = await h.call('POST', '/auth/reauthenticate', {
      token: ada.access,
      body: {
        method: 'passkey',
        response: bob.authenticator.get(options.body, { credentialId: bob.passkeyId }),
        challengeId: options.body.challengeId,
      },
    })
    assert.equal(code(wrongKey.body), 'invalid_code')
    const bobs = await h.call('POST', '/auth/reauthenticate/passkey/options', {
      token: bob.access,
    })
    const crossed = await h.call('POST', '/auth/reauthenticate', {
      token: ada.access,
      body: {
        method: 'passkey',
        response: ada.authenticator.get(bobs.body, { credentialId: ada.passkeyId }),
        challengeId: bobs.body.challengeId,
      },
    })
    assert.equal(code(crossed.body), 'invalid_code')
    for (const [body, path] of [
      [{ method: 'passkey', challengeId: options.body.challengeId }, '/response'],
      [{ method: 'passkey', response: {} }, '/response/id'],
      [{ method: 'totp', code: '123456', challengeId: options.body.challengeId }, '/challengeId'],
      [{ password: PASSWORD, challengeId: options.body.challengeId }, '/challengeId'],
    ] as const) {
      const r = await h.call('POST', '/auth/reauthenticate', { token: ada.access, body })
      assert.equal(code(r.body), 'validation_failed', JSON.stringify(body))
      assert.equal(firstIssue(r.body).path, path, JSON.stringify(r.body))
    }
  })
})

describe('passkeys: the list', () => {
  it('lists, renames and removes only the caller’s own, never showing a key', async () => {
    const h = await harness()
    const ada = await withPasskey(h)
    const bob = await withPasskey(h, 'bob@example.com')
    const list = await h.call('GET', '/auth/passkeys', { token: ada.access })
    assert.equal(list.status, 200)
    const passkeys = list.body.passkeys as Record<string, unknown>[]
    assert.deepEqual(
      passkeys.map((p) => Object.keys(p).sort()),
      [['backedUp', 'createdAt', 'deviceType', 'id', 'lastUsedAt', 'name']],
    )
    assert.equal(passkeys[0]?.id, ada.passkeyId)

    const renamed = await h.call('PATCH', `/auth/passkeys/${ada.passkeyId}`, {
      token: ada.access,
      body: { name: ' Work laptop ' },
    })
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body))
    assert.equal(renamed.body.name, 'Work laptop')
    const blank = await h.call('PATCH', `/auth/passkeys/${ada.passkeyId}`, {
      token: ada.access,
      body: { name: '   ' },
    })
    assert.equal(code(blank.body), 'validation_failed')
    assert.equal(firstIssue(blank.body).path, '/name')

    for (const id of [bob.passkeyId, 'AAAA']) {
      const rename = await h.call('PATCH', `/auth/passkeys/${id}`, {
        token: ada.access,
        body: { name: 'Mine now' },
      })
      assert.equal(code(rename.body), 'not_found')
      const remove = await h.call('DELETE', `/auth/passkeys/${id}`, { token: ada.access })
      assert.equal(code(remove.body), 'not_found')
    }
    const bobs = await h.call('GET', '/auth/passkeys', { token: bob.access })
    assert.deepEqual(
      (bobs.body.passkeys as { id: string; name: string }[]).map((p) => [p.id, p.name]),
      [[bob.passkeyId, 'Laptop']],
    )
  })
})

describe('passkeys: signing in without a password', () => {
  it('discoverable options; a passkey that verified its user signs in with hwk or swk, user and mfa', async () => {
    const h = await harness()
    const ada = await withPasskey(h)
    const options = await loginOptions(h)
    assert.equal(options.rpId, 'localhost')
    assert.equal(options.allowCredentials, undefined)
    assert.equal(options.userVerification, 'required')
    assert.match(options.challengeId as string, /^[A-Za-z0-9_-]{43}$/)

    const done = await h.call('POST', '/auth/passkeys/login/verify', {
      body: { response: ada.authenticator.get(options), challengeId: options.challengeId },
    })
    assert.equal(done.status, 200, JSON.stringify(done.body))
    assert.equal((done.body.user as { email: string }).email, 'ada@example.com')
    assert.equal(typeof done.body.refreshToken, 'string')
    const claims = claimsOf(done.body.accessToken)
    assert.deepEqual(claims.amr, ['hwk', 'user', 'mfa'])
    assert.equal(claims.auth_time, Math.floor(h.clock.now / 1000))
    const stored = await h.tessera.store.factors.findPasskey(ada.passkeyId)
    assert.equal(stored?.counter, ada.authenticator.credentials[0]?.signCount)
    assert.equal(stored?.counter, 1)
    assert.equal(stored?.lastUsedAt, h.clock.now)
    const [login] = await h.tessera.store.audit.listAudit({ limit: 1, event: 'login' })
    assert.deepEqual(login?.details, { method: 'passkey', passkeyId: ada.passkeyId })

    // The challenge signed in once.
    const replay = await h.call('POST', '/auth/passkeys/login/verify', {
      body: { response: ada.authenticator.get(options), challengeId: options.challengeId },
    })
    assert.equal(code(replay.body), 'invalid_code')

    const synced = await withPasskey(h, 'bob@example.com', true)
    const bob = await signIn(h, synced.authenticator)
    assert.equal(bob.status, 200, JSON.stringify(bob.body))
    assert.deepEqual(claimsOf(bob.body.accessToken).amr, ['swk', 'user', 'mfa'])
  })

  it('sign-in options are limited per address (each stores a challenge), apart from logins', async () => {
    const h = await harness({ TESSERA_LOGIN_RATE_LIMIT: 'ip=3/15m' })
    const statuses = new Set<number>()
    // A login page asks once per view: far more than the login ceiling is fine.
    for (let i = 0; i < 20; i++) {
      statuses.add((await h.call('POST', '/auth/passkeys/login/options')).status)
    }
    assert.deepEqual([...statuses], [200])
    for (let i = 20; i < 600; i++) await h.call('POST', '/auth/passkeys/login/options')
    const over = await h.call('POST', '/auth/passkeys/login/options')
    assert.equal(over.status, 429)
    const other = await h.call('POST', '/auth/passkeys/login/options', {
      remoteAddress: '203.0.113.5',
    })
    assert.equal(other.status, 200)
  })

  it('an unknown, removed or unverified passkey, or a disabled account: one 401 invalid_credentials', async () => {
    const h = await harness()
    const ada = await withPasskey(h)
    const stranger = device()
    stranger.create({ rp: { id: 'localhost' }, user: { id: 'eA' }, challenge: 'x' })
    const unknown = await signIn(h, stranger)
    assert.equal(unknown.status, 401)
    assert.equal(code(unknown.body), 'invalid_credentials')
    assert.equal(unknown.headers['www-authenticate'], 'Bearer realm="tessera"')

    // A passkey that did not verify its user is no password replacement.
    const lax = device({ userVerified: false })
    assert.equal((await register(h, ada.access, lax)).status, 201)
    assert.equal(code((await signIn(h, lax)).body), 'invalid_credentials')

    // Someone else's user handle on Ada's key.
    const forged = await loginOptions(h)
    const response = ada.authenticator.get(forged) as { response: { userHandle: string } }
    response.response.userHandle = Buffer.from('someone-else').toString('base64url')
    const handled = await h.call('POST', '/auth/passkeys/login/verify', {
      body: { response, challengeId: forged.challengeId },
    })
    assert.equal(code(handled.body), 'invalid_credentials')

    await h.tessera.store.users.updateUser(ada.userId, { disabled: true, updatedAt: h.clock.now })
    assert.equal(code((await signIn(h, ada.authenticator)).body), 'invalid_credentials')
    await h.tessera.store.users.updateUser(ada.userId, { disabled: false, updatedAt: h.clock.now })
    assert.equal((await signIn(h, ada.authenticator)).status, 200)

    await h.tessera.store.factors.deletePasskey(ada.userId, ada.passkeyId)
    assert.equal(code((await signIn(h, ada.authenticator)).body), 'invalid_credentials')
    const failures = await h.tessera.store.audit.listAudit({ limit: 20, event: 'login.failed' })
    assert.ok(failures.length >= 5)
    assert.ok(failures.every((f) => f.details.method === 'passkey'))
  })

  it('a counter that does not grow is refused and audited; an authenticator that keeps none signs in', async () => {
    const h = await harness()
    const ada = await withPasskey(h)
    assert.equal((await signIn(h, ada.authenticator, { signCount: 7 })).status, 200)
    const cloned = await signIn(h, ada.authenticator, { signCount: 7 })
    assert.equal(code(cloned.body), 'invalid_credentials')
    const [event] = await h.tessera.store.audit.listAudit({
      limit: 1,
      event: 'mfa.passkey_counter_error',
    })
    assert.deepEqual(event?.details, { passkeyId: ada.passkeyId, stored: 7, received: 7 })
    assert.equal((await h.tessera.store.factors.findPasskey(ada.passkeyId))?.counter, 7)
    assert.equal((await signIn(h, ada.authenticator, { signCount: 8 })).status, 200)

    // Synced passkeys send 0 every time (WebAuthn §6.1.1 allows it): nothing to compare.
    const bob = await h.signup('bob@example.com')
    const counterless = device({ counterless: true, synced: true })
    assert.equal((await register(h, bob.accessToken as string, counterless)).status, 201)
    for (let i = 0; i < 2; i++) assert.equal((await signIn(h, counterless)).status, 200)
  })

  it('another origin or RP id: 400 naming what is expected; another challenge: refused', async () => {
    const h = await harness()
    const ada = await withPasskey(h)
    const phished = await signIn(h, ada.authenticator, { origin: 'https://evil.example' })
    assert.equal(code(phished.body), 'validation_failed')
    assert.match(
      firstIssue(phished.body).message,
      /passkeys here are used from http:\/\/localhost:3000/,
    )
    assert.ok(!JSON.stringify(phished.body).includes('evil'))
    const otherRp = await signIn(h, ada.authenticator, {
      rpId: 'evil.example',
      credentialId: ada.passkeyId,
    })
    assert.equal(code(otherRp.body), 'validation_failed')
    assert.match(firstIssue(otherRp.body).message, /passkeys here belong to localhost/)
    const otherChallenge = await signIn(h, ada.authenticator, { challenge: 'b3RoZXI' })
    assert.equal(code(otherChallenge.body), 'invalid_credentials')
    // A registration challenge signs no one in.
    const { body } = await registerOptions(h, ada.access)
    const crossed = await h.call('POST', '/auth/passkeys/login/verify', {
      body: {
        response: ada.authenticator.get({ rpId: 'localhost', challenge: body.challenge }),
        challengeId: body.challengeId,
      },
    })
    assert.equal(code(crossed.body), 'invalid_code')
  })

  it('an account that must verify its address first gets email_not_verified after the passkey', async () => {
    const h = await harness({ TESSERA_EMAIL_VERIFICATION: 'required' })
    const user = await h.user('ada@example.com')
    // Verified long enough to sign in and add a passkey, then unverified (an admin's PATCH).
    await h.tessera.store.users.updateUser(user.id, {
      emailVerifiedAt: h.clock.now,
      updatedAt: h.clock.now,
    })
    const signedIn = await h.login('ada@example.com')
    const authenticator = device()
    assert.equal((await register(h, signedIn.tokens.accessToken, authenticator)).status, 201)
    await h.tessera.store.users.updateUser(user.id, {
      emailVerifiedAt: null,
      updatedAt: h.clock.now,
    })
    const refused = await signIn(h, authenticator)
    assert.equal(refused.status, 403)
    assert.equal(code(refused.body), 'email_not_verified')
  })
})

describe('passkeys: the second step of a sign-in', () => {
  it('password, then a passkey: options bound to the MFA token, amr pwd + hwk + user + mfa', async () => {
    const h = await harness()
    const ada = await withPasskey(h)
    const first = await h.call('POST', '/auth/login', {
      body: { email: 'ada@example.com', password: PASSWORD },
    })
    assert.equal(first.status, 200)
    assert.deepEqual(first.body.methods, ['passkey', 'recovery_code'])
    const mfaToken = first.body.mfaToken as string
    const options = await h.call('POST', '/auth/mfa/passkey/options', { body: { mfaToken } })
    assert.equal(options.status, 200, JSON.stringify(options.body))
    assert.deepEqual(options.body.allowCredentials, [
      { id: ada.passkeyId, type: 'public-key', transports: ['internal'] },
    ])
    assert.equal(options.body.userVerification, 'preferred')
    assert.equal(options.body.challengeId, undefined)

    const done = await h.call('POST', '/auth/mfa/verify', {
      body: { mfaToken, method: 'passkey', response: ada.authenticator.get(options.body) },
    })
    assert.equal(done.status, 200, JSON.stringify(done.body))
    assert.deepEqual(claimsOf(done.body.accessToken).amr, ['pwd', 'hwk', 'user', 'mfa'])
    const [login] = await h.tessera.store.audit.listAudit({ limit: 1, event: 'login' })
    assert.deepEqual(login?.details, { method: 'password', mfa: 'passkey' })
    // The MFA token is spent, and so are its options.
    const again = await h.call('POST', '/auth/mfa/passkey/options', { body: { mfaToken } })
    assert.equal(code(again.body), 'invalid_code')
  })

  it('a wrong passkey counts as a wrong code; options of another sign-in do not serve', async () => {
    const h = await harness()
    const ada = await withPasskey(h)
    const bob = await withPasskey(h, 'bob@example.com')
    const login = async (email: string) =>
      (await h.call('POST', '/auth/login', { body: { email, password: PASSWORD } })).body
        .mfaToken as string
    const mfaToken = await login('ada@example.com')
    const options = await h.call('POST', '/auth/mfa/passkey/options', { body: { mfaToken } })
    const verify = (response: unknown) =>
      h.call('POST', '/auth/mfa/verify', { body: { mfaToken, method: 'passkey', response } })

    // Bob's key on Ada's challenge.
    const wrong = await verify(bob.authenticator.get(options.body, { credentialId: bob.passkeyId }))
    assert.equal(code(wrong.body), 'invalid_code')
    const [failed] = await h.tessera.store.audit.listAudit({ limit: 1, event: 'mfa.failed' })
    assert.deepEqual(failed?.details, { method: 'passkey', triesLeft: 4 })
    // Options fetched for Bob's sign-in, answered by Ada's key, on Ada's token.
    const bobsToken = await login('bob@example.com')
    const bobs = await h.call('POST', '/auth/mfa/passkey/options', {
      body: { mfaToken: bobsToken },
    })
    const crossed = await verify(ada.authenticator.get(bobs.body, { credentialId: ada.passkeyId }))
    assert.equal(code(crossed.body), 'invalid_code')
    // Ada's options were spent by the first answer.
    assert.equal(code((await verify(ada.authenticator.get(options.body))).body), 'invalid_code')
    const fresh = await h.call('POST', '/auth/mfa/passkey/options', { body: { mfaToken } })
    const done = await verify(ada.authenticator.get(fresh.body))
    assert.equal(done.status, 200, JSON.stringify(done.body))
  })

  it('with an app and a passkey the methods list both; the body must match the method', async () => {
    const h = await harness()
    const ada = await withPasskey(h)
    const enroll = await h.call('POST', '/auth/mfa/totp/enroll', { token: ada.access })
    const secret = enroll.body.secret as string
    const confirm = await h.call('POST', '/auth/mfa/totp/confirm', {
      token: ada.access,
      body: { code: totpCode(secret, h.clock.now) },
    })
    assert.equal(confirm.status, 200, JSON.stringify(confirm.body))
    const first = await h.call('POST', '/auth/login', {
      body: { email: 'ada@example.com', password: PASSWORD },
    })
    assert.deepEqual(first.body.methods, ['totp', 'passkey', 'recovery_code'])
    const mfaToken = first.body.mfaToken
    const response = ada.authenticator.get({ rpId: 'localhost', challenge: 'eA' })
    for (const [body, path] of [
      [{ mfaToken, method: 'passkey' }, '/response'],
      [{ mfaToken, method: 'passkey', response, code: '123456' }, '/code'],
      [{ mfaToken, method: 'totp', response }, '/response'],
      [{ mfaToken, method: 'totp' }, '/code'],
      [{ mfaToken, method: 'passkey', response: { ...response, type: 'other' } }, '/response/type'],
    ] as const) {
      const r = await h.call('POST', '/auth/mfa/verify', { body })
      assert.equal(code(r.body), 'validation_failed', JSON.stringify(body))
      assert.equal(firstIssue(r.body).path, path, JSON.stringify(r.body))
    }
    // None of those counted as a try: five wrong answers are still allowed.
    const options = await h.call('POST', '/auth/mfa/passkey/options', { body: { mfaToken } })
    const done = await h.call('POST', '/auth/mfa/verify', {
      body: { mfaToken, method: 'passkey', response: ada.authenticator.get(options.body) },
    })
    assert.equal(done.status, 200, JSON.stringify(done.body))
  })

  it('options need a live MFA token of an account with a passkey', async () => {
    const h = await harness()
    await withPasskey(h)
    const unknown = await h.call('POST', '/auth/mfa/passkey/options', {
      body: { mfaToken: 'A'.repeat(43) },
    })
    assert.equal(code(unknown.body), 'invalid_code')
    const first = await h.call('POST', '/auth/login', {
      body: { email: 'ada@example.com', password: PASSWORD },
    })
    h.clock.advance(5 * 60)
    const expired = await h.call('POST', '/auth/mfa/passkey/options', {
      body: { mfaToken: first.body.mfaToken },
    })
    assert.equal(code(expired.body), 'invalid_code')
    const bad = await h.call('POST', '/auth/mfa/passkey/options', { body: { mfaToken: 'short' } })
    assert.equal(code(bad.body), 'validation_failed')
  })
})
