// Changing the address, against the real service (in process, in-memory
// SQLite, a clock the test moves), the mail read from the outbox as the
// worker reads it: asked for with the current password, done by the link
// mailed to the new address; the old address is told and its links die;
// sessions stay; whether the new address has an account is never said.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { code, type Harness, harness, PASSWORD } from './support/harness.ts'
import { outbox, tokenOf } from './support/outbox.ts'

const NEW = 'ada.new@example.com'

/** Ada, signed in; her access and refresh tokens. */
async function signedIn(h: Harness): Promise<{ access: string; refresh: string }> {
  const s = await h.signup('ada@example.com')
  return { access: s.accessToken as string, refresh: s.refreshToken as string }
}

/** Asks to change Ada's address, and waits for the mail the answer left to queue. */
async function askToChange(h: Harness, access: string, newEmail = NEW, password = PASSWORD) {
  const answer = await h.call('POST', '/auth/email/change', {
    token: access,
    body: { newEmail, currentPassword: password },
  })
  await h.tessera.auth.settled()
  return answer
}

describe('email change', () => {
  it('the link mailed to the new address changes it; the old one is told; sessions stay', async () => {
    const h = await harness()
    const { access, refresh } = await signedIn(h)
    h.clock.advance(1)
    const asked = await askToChange(h, access, 'Ada.New@Example.com')
    assert.equal(asked.status, 202, JSON.stringify(asked.body))
    const [mail] = await outbox(h, 'change_email')
    assert.equal(mail?.to, NEW)
    const link = new URL(String(mail?.data.link))
    assert.equal(`${link.origin}${link.pathname}`, `${h.tessera.config.issuer}/confirm-email`)
    // Nothing changes until the link is used.
    const before = await h.call('GET', '/auth/me', { token: access })
    assert.equal((before.body as { email: string }).email, 'ada@example.com')
    h.clock.advance(1)

    const confirmed = await h.call('POST', '/auth/email/change/confirm', {
      body: { token: tokenOf(mail) },
    })
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body))
    const user = confirmed.body.user as { email: string; emailVerified: boolean }
    assert.equal(user.email, NEW)
    assert.equal(user.emailVerified, true)

    // The same session carries on, and sees the new address at once.
    const me = await h.call('GET', '/auth/me', { token: access })
    assert.equal(me.status, 200)
    assert.equal((me.body as { email: string }).email, NEW)
    const refreshed = await h.call('POST', '/auth/refresh', { body: { refreshToken: refresh } })
    assert.equal(refreshed.status, 200)

    const [notice] = await outbox(h, 'email_changed')
    assert.equal(notice?.to, 'ada@example.com')
    assert.equal(notice?.data.newEmail, NEW)

    const oldLogin = await h.call('POST', '/auth/login', {
      body: { email: 'ada@example.com', password: PASSWORD },
    })
    assert.equal(code(oldLogin.body), 'invalid_credentials')
    const newLogin = await h.call('POST', '/auth/login', {
      body: { email: NEW, password: PASSWORD },
    })
    assert.equal(newLogin.status, 200)

    const again = await h.call('POST', '/auth/email/change/confirm', {
      body: { token: tokenOf(mail) },
    })
    assert.equal(code(again.body), 'invalid_code')
    const events = (await h.tessera.store.audit.listAudit({ limit: 50 })).map((e) => e.event)
    assert.ok(events.includes('email.change_requested'))
    assert.ok(events.includes('email.changed'))
  })

  it('links mailed to the old address die with the change', async () => {
    const h = await harness()
    const { access } = await signedIn(h)
    await h.call('POST', '/auth/password/forgot', { body: { email: 'ada@example.com' } })
    await h.call('POST', '/auth/otp/send', { body: { email: 'ada@example.com' } })
    await askToChange(h, access)
    const [reset] = await outbox(h, 'reset_password')
    const [signIn] = await outbox(h, 'sign_in_code')
    const [verify] = await outbox(h, 'verify_email')
    const [change] = await outbox(h, 'change_email')
    const confirmed = await h.call('POST', '/auth/email/change/confirm', {
      body: { token: tokenOf(change) },
    })
    assert.equal(confirmed.status, 200)
    const uses: [string, unknown][] = [
      ['/auth/password/reset', { token: tokenOf(reset), newPassword: 'a brand new passphrase' }],
      ['/auth/otp/verify', { token: tokenOf(signIn) }],
      ['/auth/otp/verify', { email: NEW, code: signIn?.data.code }],
      ['/auth/email/verify', { token: tokenOf(verify) }],
    ]
    for (const [path, body] of uses) {
      const r = await h.call('POST', path, { body })
      assert.equal(code(r.body), 'invalid_code', path)
    }
  })

  it('a wrong password: invalid_credentials, and no mail', async () => {
    const h = await harness()
    const { access } = await signedIn(h)
    const asked = await askToChange(h, access, NEW, 'not the password at all')
    assert.equal(asked.status, 401)
    assert.equal(code(asked.body), 'invalid_credentials')
    assert.deepEqual(await outbox(h, 'change_email'), [])
    const failed = await h.tessera.store.audit.listAudit({
      limit: 5,
      event: 'email.change_failed',
    })
    assert.equal(failed.length, 1)
  })

  it('an address with an account: the same 202, and no mail to it', async () => {
    const h = await harness()
    const { access } = await signedIn(h)
    await h.user('taken@example.com')
    const asked = await askToChange(h, access, 'taken@example.com')
    assert.equal(asked.status, 202)
    assert.deepEqual(await outbox(h, 'change_email'), [])
  })

  it('taken between the request and the link: invalid_code, and the address stays', async () => {
    const h = await harness()
    const { access } = await signedIn(h)
    await askToChange(h, access)
    const [mail] = await outbox(h, 'change_email')
    await h.user(NEW)
    const confirmed = await h.call('POST', '/auth/email/change/confirm', {
      body: { token: tokenOf(mail) },
    })
    assert.equal(code(confirmed.body), 'invalid_code')
    const me = await h.call('GET', '/auth/me', { token: access })
    assert.equal((me.body as { email: string }).email, 'ada@example.com')
    assert.deepEqual(await outbox(h, 'email_changed'), [])
  })

  it('the same address, a bad one, or no access token is refused before any mail', async () => {
    const h = await harness()
    const { access } = await signedIn(h)
    for (const newEmail of ['ada@example.com', 'ADA@example.com']) {
      const r = await askToChange(h, access, newEmail)
      assert.equal(code(r.body), 'validation_failed', newEmail)
    }
    const anonymous = await h.call('POST', '/auth/email/change', {
      body: { newEmail: NEW, currentPassword: PASSWORD },
    })
    assert.equal(anonymous.status, 401)
    assert.deepEqual(await outbox(h, 'change_email'), [])
  })

  it('a newer request, a password change, or 24 hours end a pending link', async () => {
    const h = await harness()
    const { access } = await signedIn(h)
    await askToChange(h, access)
    h.clock.advance(1)
    await askToChange(h, access, 'ada.other@example.com')
    const [first, second] = await outbox(h, 'change_email')
    assert.equal(second?.to, 'ada.other@example.com')
    const superseded = await h.call('POST', '/auth/email/change/confirm', {
      body: { token: tokenOf(first) },
    })
    assert.equal(code(superseded.body), 'invalid_code')

    const changed = await h.call('POST', '/auth/password', {
      token: access,
      body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
    })
    assert.equal(changed.status, 204)
    const afterPassword = await h.call('POST', '/auth/email/change/confirm', {
      body: { token: tokenOf(second) },
    })
    assert.equal(code(afterPassword.body), 'invalid_code')

    h.clock.advance(1)
    await askToChange(h, access, NEW, 'a brand new passphrase')
    const latest = (await outbox(h, 'change_email')).at(-1)
    h.clock.advance(24 * 3600)
    const late = await h.call('POST', '/auth/email/change/confirm', {
      body: { token: tokenOf(latest) },
    })
    assert.equal(code(late.body), 'invalid_code')
  })

  it('mails to new addresses are limited per address', async () => {
    const h = await harness()
    const { access } = await signedIn(h)
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await askToChange(h, access)).status)
    assert.deepEqual(statuses, [202, 202, 202, 202, 202, 429])
  })
})
