// Second factors against the real service (in process, in-memory SQLite, a
// clock the test moves): an authenticator app set up with codes computed
// from the secret it returns, the sign-in's second step, recovery codes,
// step-up and re-authentication, and the tokens' `amr` and `auth_time`.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decode } from '@tessera/jwt'
import { totpCode } from '../src/auth/totp.ts'
import { code, type Harness, harness, PASSWORD } from './support/harness.ts'
import { outbox } from './support/outbox.ts'

interface Enrolled {
  access: string
  refresh: string
  secret: string
  recoveryCodes: string[]
}

/** Ada signs up and sets up an authenticator app; the clock then moves past the code's step. */
async function enrolled(h: Harness, email = 'ada@example.com'): Promise<Enrolled> {
  const s = await h.signup(email)
  const access = s.accessToken as string
  const enroll = await h.call('POST', '/auth/mfa/totp/enroll', { token: access })
  assert.equal(enroll.status, 200, JSON.stringify(enroll.body))
  const secret = enroll.body.secret as string
  const confirm = await h.call('POST', '/auth/mfa/totp/confirm', {
    token: access,
    body: { code: totpCode(secret, h.clock.now) },
  })
  assert.equal(confirm.status, 200, JSON.stringify(confirm.body))
  h.clock.advance(30)
  return {
    access,
    refresh: s.refreshToken as string,
    secret,
    recoveryCodes: confirm.body.recoveryCodes as string[],
  }
}

async function login(h: Harness, email = 'ada@example.com', remoteAddress?: string) {
  return await h.call('POST', '/auth/login', {
    body: { email, password: PASSWORD },
    ...(remoteAddress === undefined ? {} : { remoteAddress }),
  })
}

async function verify(
  h: Harness,
  mfaToken: unknown,
  method: 'totp' | 'recovery_code',
  value: string,
  remoteAddress?: string,
) {
  return await h.call('POST', '/auth/mfa/verify', {
    body: { mfaToken, method, code: value },
    ...(remoteAddress === undefined ? {} : { remoteAddress }),
  })
}

const claimsOf = (token: unknown) => decode(token as string).payload

describe('authenticator app (TOTP)', () => {
  it('enrol with a QR code, confirm with a first code, get 10 recovery codes; the owner is mailed', async () => {
    const h = await harness()
    const s = await h.signup('ada@example.com')
    const enroll = await h.call('POST', '/auth/mfa/totp/enroll', {
      token: s.accessToken as string,
    })
    assert.equal(enroll.status, 200)
    const secret = enroll.body.secret as string
    assert.match(secret, /^[A-Z2-7]{32}$/)
    const uri = new URL(enroll.body.otpauthUrl as string)
    assert.equal(uri.protocol, 'otpauth:')
    assert.equal(uri.host, 'totp')
    assert.equal(uri.searchParams.get('secret'), secret)
    assert.equal(uri.searchParams.get('issuer'), h.tessera.config.brandName)
    assert.match(enroll.body.qrSvg as string, /^<svg[\s\S]*<\/svg>$/)

    // Until confirmed, sign-in is as before.
    assert.equal((await login(h)).body.mfaRequired, undefined)
    const wrong = await h.call('POST', '/auth/mfa/totp/confirm', {
      token: s.accessToken as string,
      body: { code: totpCode(secret, h.clock.now - 120_000) },
    })
    assert.equal(code(wrong.body), 'invalid_code')
    const confirm = await h.call('POST', '/auth/mfa/totp/confirm', {
      token: s.accessToken as string,
      body: { code: totpCode(secret, h.clock.now) },
    })
    assert.equal(confirm.status, 200, JSON.stringify(confirm.body))
    const codes = confirm.body.recoveryCodes as string[]
    assert.equal(codes.length, 10)
    assert.equal(new Set(codes).size, 10)
    for (const c of codes) assert.match(c, /^[a-z2-9]{4}-[a-z2-9]{4}$/)

    const status = await h.call('GET', '/auth/mfa', { token: s.accessToken as string })
    assert.deepEqual(status.body, { totp: true, passkeys: 0, recoveryCodes: 10 })
    const [notice] = await outbox(h, 'factor_added')
    assert.equal(notice?.to, 'ada@example.com')
    assert.equal(notice?.data.factor, 'authenticator_app')
    const again = await h.call('POST', '/auth/mfa/totp/enroll', {
      token: s.accessToken as string,
    })
    assert.equal(code(again.body), 'forbidden')
    // The secret is sealed at rest.
    const stored = await h.tessera.store.factors.findTotp(
      (claimsOf(s.accessToken) as { sub: string }).sub,
    )
    assert.ok(stored !== undefined && !stored.sealedSecret.includes(secret))
  })

  it('a sign-in answers the MFA challenge; a TOTP code finishes it, with amr and auth_time', async () => {
    const h = await harness()
    const e = await enrolled(h)
    const first = await login(h)
    assert.equal(first.status, 200)
    assert.deepEqual(Object.keys(first.body).sort(), ['methods', 'mfaRequired', 'mfaToken'])
    assert.deepEqual(first.body.methods, ['totp', 'recovery_code'])
    const signedInAt = Math.floor(h.clock.now / 1000)
    h.clock.advance(20)
    const done = await verify(h, first.body.mfaToken, 'totp', totpCode(e.secret, h.clock.now))
    assert.equal(done.status, 200, JSON.stringify(done.body))
    const claims = claimsOf(done.body.accessToken)
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa'])
    assert.equal(claims.auth_time, signedInAt + 20)
    // A refresh keeps how and when.
    h.clock.advance(60)
    const refreshed = await h.call('POST', '/auth/refresh', {
      body: { refreshToken: done.body.refreshToken },
    })
    assert.deepEqual(claimsOf(refreshed.body.accessToken).amr, ['pwd', 'otp', 'mfa'])
    assert.equal(claimsOf(refreshed.body.accessToken).auth_time, signedInAt + 20)
    // The challenge is single-use.
    const reused = await verify(h, first.body.mfaToken, 'totp', totpCode(e.secret, h.clock.now))
    assert.equal(code(reused.body), 'invalid_code')
    const events = await h.tessera.store.audit.listAudit({ limit: 50 })
    assert.deepEqual(events.find((x) => x.event === 'login')?.details, {
      method: 'password',
      mfa: 'totp',
    })
    assert.ok(events.some((x) => x.event === 'login.mfa_challenged'))
  })

  it('a code is accepted once: a replay in its window is refused, even for another sign-in', async () => {
    const h = await harness()
    const e = await enrolled(h)
    const codeNow = totpCode(e.secret, h.clock.now)
    const a = await login(h)
    assert.equal((await verify(h, a.body.mfaToken, 'totp', codeNow)).status, 200)
    const b = await login(h)
    const replay = await verify(h, b.body.mfaToken, 'totp', codeNow)
    assert.equal(code(replay.body), 'invalid_code')
    // The next step's code works.
    h.clock.advance(30)
    const next = await verify(h, b.body.mfaToken, 'totp', totpCode(e.secret, h.clock.now))
    assert.equal(next.status, 200)
  })

  it('one step of clock skew either way is accepted, two are not', async () => {
    const h = await harness()
    const e = await enrolled(h)
    for (const [offset, ok] of [
      [-60_000, false],
      [60_000, false],
      [-30_000, true],
    ] as const) {
      h.clock.advance(90)
      const challenge = await login(h)
      const r = await verify(
        h,
        challenge.body.mfaToken,
        'totp',
        totpCode(e.secret, h.clock.now + offset),
      )
      assert.equal(r.status, ok ? 200 : 400, `offset ${offset}`)
    }
    h.clock.advance(90)
    const ahead = await login(h)
    const r = await verify(h, ahead.body.mfaToken, 'totp', totpCode(e.secret, h.clock.now + 30_000))
    assert.equal(r.status, 200)
  })

  it('the challenge dies after 5 wrong codes and after 5 minutes; wrong codes back off like logins', async () => {
    const h = await harness()
    const e = await enrolled(h)
    const challenge = await login(h)
    const right = totpCode(e.secret, h.clock.now)
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0')
    for (let i = 0; i < 5; i++) {
      const r = await verify(h, challenge.body.mfaToken, 'totp', wrong, `192.0.2.${i + 1}`)
      assert.equal(code(r.body), 'invalid_code')
    }
    const dead = await verify(h, challenge.body.mfaToken, 'totp', right, '192.0.2.50')
    assert.equal(code(dead.body), 'invalid_code')
    const failed = await h.tessera.store.audit.listAudit({ limit: 10, event: 'mfa.failed' })
    assert.deepEqual(failed.map((x) => x.details.triesLeft).reverse(), [4, 3, 2, 1, 0])

    // From one address, wrong codes back off like wrong passwords: a right
    // password does not clear them (else each new challenge would bring five
    // fresh guesses), so the next sign-in from there waits.
    const second = await login(h, 'ada@example.com', '198.51.100.7')
    for (let i = 0; i < 5; i++) {
      const r = await verify(h, second.body.mfaToken, 'totp', wrong, '198.51.100.7')
      assert.equal(code(r.body), 'invalid_code')
    }
    const third = await login(h, 'ada@example.com', '198.51.100.7')
    assert.equal(third.status, 429, JSON.stringify(third.body))

    h.clock.advance(30)
    const late = await login(h, 'ada@example.com', '203.0.113.9')
    h.clock.advance(5 * 60)
    const expired = await verify(
      h,
      late.body.mfaToken,
      'totp',
      totpCode(e.secret, h.clock.now),
      '203.0.113.9',
    )
    assert.equal(code(expired.body), 'invalid_code')
  })

  it('a recovery code finishes a sign-in once; new codes replace the old', async () => {
    const h = await harness()
    const e = await enrolled(h)
    const challenge = await login(h)
    const [first, second] = e.recoveryCodes
    const ok = await verify(
      h,
      challenge.body.mfaToken,
      'recovery_code',
      ` ${first!.toUpperCase()} `,
    )
    assert.equal(ok.status, 200, JSON.stringify(ok.body))
    assert.deepEqual(claimsOf(ok.body.accessToken).amr, ['pwd', 'otp', 'mfa'])
    const again = await login(h)
    assert.equal(
      code((await verify(h, again.body.mfaToken, 'recovery_code', first!)).body),
      'invalid_code',
    )
    const status = await h.call('GET', '/auth/mfa', { token: ok.body.accessToken as string })
    assert.equal(status.body.recoveryCodes, 9)

    const renewed = await h.call('POST', '/auth/mfa/recovery-codes', {
      token: ok.body.accessToken as string,
    })
    assert.equal(renewed.status, 200)
    const fresh = renewed.body.recoveryCodes as string[]
    assert.equal(fresh.length, 10)
    const old = await verify(h, again.body.mfaToken, 'recovery_code', second!)
    assert.equal(code(old.body), 'invalid_code')
    const withNew = await verify(h, again.body.mfaToken, 'recovery_code', fresh[0]!)
    assert.equal(withNew.status, 200)
  })

  it('removing the app ends the second step and the recovery codes, and mails a notice', async () => {
    const h = await harness()
    const e = await enrolled(h)
    const removed = await h.call('DELETE', '/auth/mfa/totp', { token: e.access })
    assert.equal(removed.status, 204)
    const plain = await login(h)
    assert.equal(typeof plain.body.accessToken, 'string')
    assert.deepEqual(claimsOf(plain.body.accessToken).amr, ['pwd'])
    const status = await h.call('GET', '/auth/mfa', { token: e.access })
    assert.deepEqual(status.body, { totp: false, passkeys: 0, recoveryCodes: 0 })
    const [notice] = await outbox(h, 'factor_removed')
    assert.equal(notice?.data.factor, 'authenticator_app')
    assert.equal(
      code((await h.call('DELETE', '/auth/mfa/totp', { token: e.access })).body),
      'not_found',
    )
    const none = await h.call('POST', '/auth/mfa/recovery-codes', { token: e.access })
    assert.equal(code(none.body), 'forbidden')
  })

  it('a mailed sign-in code of an account with an app also answers the challenge', async () => {
    const h = await harness()
    const e = await enrolled(h)
    await h.call('POST', '/auth/otp/send', { body: { email: 'ada@example.com' } })
    const [mail] = await outbox(h, 'sign_in_code')
    const first = await h.call('POST', '/auth/otp/verify', {
      body: { email: 'ada@example.com', code: mail?.data.code },
    })
    assert.equal(first.body.mfaRequired, true, JSON.stringify(first.body))
    const done = await verify(h, first.body.mfaToken, 'totp', totpCode(e.secret, h.clock.now))
    assert.deepEqual(claimsOf(done.body.accessToken).amr, ['otp', 'mfa'])
  })
})

describe('step-up and re-authentication', () => {
  it('changes need a sign-in at most 10 minutes old; POST /auth/reauthenticate renews it', async () => {
    const h = await harness()
    const s = await h.signup('bea@example.com')
    const access = s.accessToken as string
    h.clock.advance(11 * 60)
    const tooOld = [
      await h.call('POST', '/auth/password', {
        token: access,
        body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
      }),
      await h.call('POST', '/auth/email/change', {
        token: access,
        body: { newEmail: 'bea.new@example.com', currentPassword: PASSWORD },
      }),
      await h.call('POST', '/auth/mfa/totp/enroll', { token: access }),
    ]
    for (const r of tooOld) {
      assert.equal(r.status, 403)
      assert.equal(code(r.body), 'reauthentication_required')
    }
    const wrong = await h.call('POST', '/auth/reauthenticate', {
      token: access,
      body: { password: 'not the password' },
    })
    assert.equal(code(wrong.body), 'invalid_credentials')
    const renewed = await h.call('POST', '/auth/reauthenticate', {
      token: access,
      body: { password: PASSWORD },
    })
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body))
    assert.deepEqual(Object.keys(renewed.body).sort(), ['accessToken', 'expiresIn', 'tokenType'])
    assert.equal(claimsOf(renewed.body.accessToken).auth_time, Math.floor(h.clock.now / 1000))
    // The old access token works too: the session decides, not the token.
    const changed = await h.call('POST', '/auth/password', {
      token: access,
      body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
    })
    assert.equal(changed.status, 204)
    const [event] = await h.tessera.store.audit.listAudit({
      limit: 1,
      event: 'session.reauthenticated',
    })
    assert.deepEqual(event?.details, { method: 'password' })
  })

  it('re-authenticating with the app keeps the session’s methods and adds its own', async () => {
    const h = await harness()
    const e = await enrolled(h)
    h.clock.advance(11 * 60)
    const enroll = await h.call('POST', '/auth/mfa/recovery-codes', { token: e.access })
    assert.equal(code(enroll.body), 'reauthentication_required')
    const renewed = await h.call('POST', '/auth/reauthenticate', {
      token: e.access,
      body: { method: 'totp', code: totpCode(e.secret, h.clock.now) },
    })
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body))
    assert.deepEqual(claimsOf(renewed.body.accessToken).amr, ['pwd', 'otp'])
    assert.equal(
      (await h.call('POST', '/auth/mfa/recovery-codes', { token: e.access })).status,
      200,
    )
  })

  it('asks for {password} or {method, code}, and says which part is missing', async () => {
    const h = await harness()
    const s = await h.signup('cy@example.com')
    for (const [body, path] of [
      [{ method: 'totp' }, '/code'],
      [{ code: '123456' }, '/method'],
      [{ password: PASSWORD, code: '123456' }, '/password'],
      [{ method: 'sms', code: '123456' }, '/method'],
    ] as const) {
      const r = await h.call('POST', '/auth/reauthenticate', {
        token: s.accessToken as string,
        body,
      })
      assert.equal(code(r.body), 'validation_failed', JSON.stringify(body))
      const issues = (r.body.error as { issues: { path: string }[] }).issues
      assert.ok(
        issues.some((issue) => issue.path === path),
        JSON.stringify(issues),
      )
    }
  })
})

describe('an admin resets the factors', () => {
  it('PATCH /admin/users/:id {resetMfa: true} removes them all, audits, and mails the user', async () => {
    const h = await harness()
    const e = await enrolled(h)
    await h.user('root@example.com', { roles: ['admin'] })
    const admin = await h.login('root@example.com')
    const ada = await h.tessera.store.users.findUserByEmail('ada@example.com')
    const reset = await h.call('PATCH', `/admin/users/${ada!.id}`, {
      token: admin.tokens.accessToken,
      body: { resetMfa: true },
    })
    assert.equal(reset.status, 200, JSON.stringify(reset.body))
    const plain = await login(h)
    assert.equal(typeof plain.body.accessToken, 'string', 'no second step any more')
    assert.deepEqual((await h.call('GET', '/auth/mfa', { token: e.access })).body, {
      totp: false,
      passkeys: 0,
      recoveryCodes: 0,
    })
    const [event] = await h.tessera.store.audit.listAudit({ limit: 1, event: 'admin.user_updated' })
    assert.deepEqual(event?.details, {
      actor: event?.details.actor,
      mfaReset: true,
      factorsRemoved: { totp: true, passkeys: 0, recoveryCodes: 10 },
    })
    const [notice] = await outbox(h, 'factor_removed')
    assert.equal(notice?.to, 'ada@example.com')
    assert.equal(notice?.data.factor, 'all_factors')
    const invalid = await h.call('PATCH', `/admin/users/${ada!.id}`, {
      token: admin.tokens.accessToken,
      body: { resetMfa: false },
    })
    assert.equal(code(invalid.body), 'validation_failed')
  })
})

describe('TESSERA_MFA=required', () => {
  it('a signup sets up an app before any token; its first code finishes the sign-in', async () => {
    const h = await harness({ TESSERA_MFA: 'required' })
    const signup = await h.call('POST', '/auth/signup', {
      body: { email: 'dee@example.com', password: PASSWORD },
    })
    assert.equal(signup.status, 201, JSON.stringify(signup.body))
    assert.deepEqual(Object.keys(signup.body).sort(), [
      'methods',
      'mfaEnrollmentRequired',
      'mfaToken',
    ])
    assert.deepEqual(signup.body.methods, ['totp'])
    const mfaToken = signup.body.mfaToken
    // The token opens nothing but enrolment.
    assert.equal(
      code((await h.call('GET', '/auth/me', { token: mfaToken as string })).body),
      'invalid_token',
    )
    const started = await h.call('POST', '/auth/mfa/enroll/totp', { body: { mfaToken } })
    assert.equal(started.status, 200, JSON.stringify(started.body))
    const secret = started.body.secret as string
    const wrong = await h.call('POST', '/auth/mfa/enroll/totp/confirm', {
      body: { mfaToken, code: totpCode(secret, h.clock.now - 120_000) },
    })
    assert.equal(code(wrong.body), 'invalid_code')
    const done = await h.call('POST', '/auth/mfa/enroll/totp/confirm', {
      body: { mfaToken, code: totpCode(secret, h.clock.now) },
    })
    assert.equal(done.status, 200, JSON.stringify(done.body))
    assert.equal((done.body.recoveryCodes as string[]).length, 10)
    assert.deepEqual(claimsOf(done.body.accessToken).amr, ['pwd', 'otp', 'mfa'])
    assert.equal(typeof done.body.refreshToken, 'string')
    // Spent: the token does not enrol twice.
    const again = await h.call('POST', '/auth/mfa/enroll/totp', { body: { mfaToken } })
    assert.equal(code(again.body), 'invalid_code')
    // The next sign-in asks for the app.
    h.clock.advance(30)
    const next = await login(h, 'dee@example.com')
    assert.equal(next.body.mfaRequired, true)
  })

  it('an existing account without a factor enrols at its next sign-in; wrong codes end the token', async () => {
    const h = await harness({ TESSERA_MFA: 'required' })
    await h.user('eve@example.com')
    const first = await login(h, 'eve@example.com')
    assert.equal(first.body.mfaEnrollmentRequired, true)
    const mfaToken = first.body.mfaToken
    const started = await h.call('POST', '/auth/mfa/enroll/totp', { body: { mfaToken } })
    const secret = started.body.secret as string
    const right = totpCode(secret, h.clock.now)
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0')
    for (let i = 0; i < 5; i++) {
      const r = await h.call('POST', '/auth/mfa/enroll/totp/confirm', {
        body: { mfaToken, code: wrong },
        remoteAddress: `192.0.2.${i + 1}`,
      })
      assert.equal(code(r.body), 'invalid_code')
    }
    const dead = await h.call('POST', '/auth/mfa/enroll/totp/confirm', {
      body: { mfaToken, code: right },
      remoteAddress: '192.0.2.99',
    })
    assert.equal(code(dead.body), 'invalid_code')
  })

  it('the last factor cannot be removed; an admin reset sends the user back through enrolment', async () => {
    const h = await harness({ TESSERA_MFA: 'required' })
    await h.user('fay@example.com')
    const first = await login(h, 'fay@example.com')
    const mfaToken = first.body.mfaToken
    const started = await h.call('POST', '/auth/mfa/enroll/totp', { body: { mfaToken } })
    const done = await h.call('POST', '/auth/mfa/enroll/totp/confirm', {
      body: { mfaToken, code: totpCode(started.body.secret as string, h.clock.now) },
    })
    const access = done.body.accessToken as string
    const refused = await h.call('DELETE', '/auth/mfa/totp', { token: access })
    assert.equal(code(refused.body), 'forbidden')
    assert.deepEqual((await h.call('GET', '/auth/mfa', { token: access })).body, {
      totp: true,
      passkeys: 0,
      recoveryCodes: 10,
    })
    await h.user('root@example.com', { roles: ['admin'] })
    const admin = await h.call('POST', '/auth/login', {
      body: { email: 'root@example.com', password: PASSWORD },
    })
    assert.equal(admin.body.mfaEnrollmentRequired, true, 'admins enrol too')
    const fay = await h.tessera.store.users.findUserByEmail('fay@example.com')
    await h.tessera.auth.adminUpdateUser(
      { userId: 'cli', sessionId: null },
      fay!.id,
      { resetMfa: true },
      { ip: null, userAgent: null },
    )
    h.clock.advance(30)
    const again = await login(h, 'fay@example.com')
    assert.equal(again.body.mfaEnrollmentRequired, true)
  })

  it('without TESSERA_MFA=required the enrolment routes do not exist', async () => {
    const h = await harness()
    const r = await h.call('POST', '/auth/mfa/enroll/totp', { body: { mfaToken: 'A'.repeat(43) } })
    assert.equal(r.status, 404)
  })
})
