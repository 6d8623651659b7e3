// Email verification against the real service (in process, in-memory SQLite,
// a clock the test moves): the link mailed on signup and on request, one use
// per link, the claim and the view, the three modes, and what an anonymous
// caller learns (nothing). The mail is read from the outbox, as the worker
// reads it; docs/email.md's delivery is tested against a real SMTP server in
// the mail suites.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { decode } from '@tessera/jwt'
import { code, harness, PASSWORD } from './support/harness.ts'
import { outbox, tokenOf } from './support/outbox.ts'
import { startSmtpServer } from './support/smtp-server.ts'

describe('email verification, optional (the default)', () => {
  it('signup mails a link; the link verifies once; tokens and the view say so', async () => {
    const h = await harness()
    const s = await h.signup('ada@example.com')
    assert.equal((s.user as { emailVerified: boolean }).emailVerified, false)
    assert.equal(decode(s.accessToken as string).payload.email_verified, false)
    const mails = await outbox(h)
    assert.deepEqual(
      mails.map((m) => [m.to, m.template]),
      [['ada@example.com', 'verify_email']],
    )
    const link = new URL(String(mails[0]!.data.link))
    assert.equal(`${link.origin}${link.pathname}`, `${h.tessera.config.issuer}/verify-email`)

    const verified = await h.call('POST', '/auth/email/verify', {
      body: { token: tokenOf(mails[0]) },
    })
    assert.equal(verified.status, 200, JSON.stringify(verified.body))
    assert.equal((verified.body.user as { emailVerified: boolean }).emailVerified, true)
    const again = await h.call('POST', '/auth/email/verify', { body: { token: tokenOf(mails[0]) } })
    assert.equal(again.status, 400)
    assert.equal(code(again.body), 'invalid_code')

    const login = await h.call('POST', '/auth/login', {
      body: { email: 'ada@example.com', password: PASSWORD },
    })
    assert.equal(decode(login.body.accessToken as string).payload.email_verified, true)
    const me = await h.call('GET', '/auth/me', { token: login.body.accessToken as string })
    assert.equal(me.body.emailVerified, true)
    const audit = await h.tessera.store.audit.listAudit({ limit: 5, event: 'email.verified' })
    assert.equal(audit.length, 1)
  })

  it('a resend answers 202 for any address; a new link ends the older one', async () => {
    const h = await harness()
    await h.signup('bob@example.com')
    h.clock.advance(1)
    for (const email of ['bob@example.com', 'nobody@example.com', 'not an address']) {
      const r = await h.call('POST', '/auth/email/verify/send', { body: { email } })
      assert.equal(r.status, email === 'not an address' ? 400 : 202, email)
    }
    const mails = await outbox(h)
    assert.deepEqual(
      mails.map((m) => m.to),
      ['bob@example.com', 'bob@example.com'],
      'the unknown address got nothing',
    )
    const first = await h.call('POST', '/auth/email/verify', { body: { token: tokenOf(mails[0]) } })
    assert.equal(code(first.body), 'invalid_code', 'the older link died with the new one')
    const second = await h.call('POST', '/auth/email/verify', {
      body: { token: tokenOf(mails[1]) },
    })
    assert.equal(second.status, 200)
    // Verified: a resend mails nothing more.
    await h.call('POST', '/auth/email/verify/send', { body: { email: 'bob@example.com' } })
    assert.equal((await outbox(h)).length, 2)
  })

  it('a link lives 24 hours; an unknown token is invalid_code, a malformed one never reaches the service', async () => {
    const h = await harness()
    await h.signup('late@example.com')
    const [mail] = await outbox(h)
    h.clock.advance(24 * 3600)
    const late = await h.call('POST', '/auth/email/verify', { body: { token: tokenOf(mail) } })
    assert.equal(code(late.body), 'invalid_code')
    const unknown = await h.call('POST', '/auth/email/verify', { body: { token: 'A'.repeat(43) } })
    assert.equal(code(unknown.body), 'invalid_code')
    // Not the shape of a link's token: refused before the service is asked.
    for (const token of ['x', '<script>alert(1)</script>', 'B'.repeat(256)]) {
      const r = await h.call('POST', '/auth/email/verify', { body: { token } })
      assert.equal(code(r.body), 'validation_failed', token)
      if (token.length > 1) assert.equal(JSON.stringify(r.body).includes(token), false)
    }
  })

  it('of two concurrent uses of one link exactly one verifies', async () => {
    const h = await harness()
    await h.signup('race@example.com')
    const token = tokenOf((await outbox(h))[0])
    const results = await Promise.all(
      [1, 2, 3].map(() => h.call('POST', '/auth/email/verify', { body: { token } })),
    )
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 400, 400])
  })

  it('sends are limited per address, whether it has an account or not', async () => {
    const h = await harness()
    await h.signup('limit@example.com')
    for (const email of ['limit@example.com', 'ghost@example.com']) {
      const statuses: number[] = []
      for (let i = 0; i < 6; i++) {
        statuses.push((await h.call('POST', '/auth/email/verify/send', { body: { email } })).status)
      }
      assert.deepEqual(statuses, [202, 202, 202, 202, 202, 429], email)
    }
  })
})

describe('email verification, required', () => {
  it('signup answers 202 for a new and an existing address alike; the owner is told', async () => {
    const h = await harness({ TESSERA_EMAIL_VERIFICATION: 'required' })
    const fresh = await h.call('POST', '/auth/signup', {
      body: { email: 'new@example.com', password: PASSWORD },
    })
    // The account is written after the answer.
    await h.tessera.auth.settled()
    h.clock.advance(1)
    const taken = await h.call('POST', '/auth/signup', {
      body: { email: 'new@example.com', password: 'another long passphrase' },
    })
    assert.equal(fresh.status, 202)
    assert.deepEqual(taken.body, fresh.body)
    assert.equal(taken.status, 202)
    assert.deepEqual(fresh.body, { status: 'verification_sent' })
    assert.deepEqual(
      (await outbox(h)).map((m) => [m.to, m.template]),
      [
        ['new@example.com', 'verify_email'],
        ['new@example.com', 'account_exists'],
      ],
    )
  })

  it('login and refresh of an unverified account are email_not_verified, after the password', async () => {
    const h = await harness({ TESSERA_EMAIL_VERIFICATION: 'required' })
    await h.call('POST', '/auth/signup', { body: { email: 'u@example.com', password: PASSWORD } })
    await h.tessera.auth.settled()
    const wrong = await h.call('POST', '/auth/login', {
      body: { email: 'u@example.com', password: 'not the password at all' },
    })
    assert.equal(code(wrong.body), 'invalid_credentials', 'a wrong password says nothing more')
    const early = await h.call('POST', '/auth/login', {
      body: { email: 'u@example.com', password: PASSWORD },
    })
    assert.equal(early.status, 403)
    assert.equal(code(early.body), 'email_not_verified')

    const [mail] = await outbox(h)
    assert.equal(
      (await h.call('POST', '/auth/email/verify', { body: { token: tokenOf(mail) } })).status,
      200,
    )
    const login = await h.call('POST', '/auth/login', {
      body: { email: 'u@example.com', password: PASSWORD },
    })
    assert.equal(login.status, 200)
    assert.equal(decode(login.body.accessToken as string).payload.email_verified, true)
  })

  it('an admin marks an address verified (PATCH /admin/users/:id), audited; the user signs in', async () => {
    const h = await harness({ TESSERA_EMAIL_VERIFICATION: 'required' })
    await h.user('root@example.com', { roles: ['admin'] })
    const user = await h.user('kim@example.com')
    const root = await h.tessera.store.users.findUserByEmail('root@example.com')
    await h.tessera.store.users.updateUser(root!.id, {
      emailVerifiedAt: h.clock.now,
      updatedAt: h.clock.now,
    })
    const admin = await h.login('root@example.com')
    const patched = await h.call('PATCH', `/admin/users/${user.id}`, {
      token: admin.tokens.accessToken,
      body: { emailVerified: true },
    })
    assert.equal(patched.status, 200, JSON.stringify(patched.body))
    assert.equal(patched.body.emailVerified, true)
    const login = await h.call('POST', '/auth/login', {
      body: { email: 'kim@example.com', password: PASSWORD },
    })
    assert.equal(login.status, 200)
    const [event] = await h.tessera.store.audit.listAudit({ limit: 1, event: 'admin.user_updated' })
    assert.equal(event?.details.emailVerified, true)
    const undone = await h.call('PATCH', `/admin/users/${user.id}`, {
      token: admin.tokens.accessToken,
      body: { emailVerified: false },
    })
    assert.equal(undone.body.emailVerified, false)
    const refused = await h.call('POST', '/auth/login', {
      body: { email: 'kim@example.com', password: PASSWORD },
    })
    assert.equal(code(refused.body), 'email_not_verified')
  })
})

describe('email verification, off', () => {
  it('no mail, no claim, no routes', async () => {
    const h = await harness({ TESSERA_EMAIL_VERIFICATION: 'off' })
    const s = await h.signup('off@example.com')
    assert.equal('email_verified' in decode(s.accessToken as string).payload, false)
    assert.deepEqual(await outbox(h), [])
    const r = await h.call('POST', '/auth/email/verify/send', {
      body: { email: 'off@example.com' },
    })
    assert.equal(code(r.body), 'not_found')
  })
})

describe('email verification through a real SMTP server', () => {
  it('the signup mail arrives with a link that verifies; a resend arrives too', async () => {
    const smtp = await startSmtpServer()
    try {
      const h = await harness({ TESSERA_SMTP_URL: smtp.url })
      await h.signup('carol@example.com')
      const [mail] = await smtp.waitFor(1)
      assert.deepEqual(mail!.envelope.to, ['carol@example.com'])
      const text = mail!.parsed.text ?? ''
      const link = /https?:\/\/\S+\/verify-email\?token=[A-Za-z0-9_-]{43}/.exec(text)?.[0]
      assert.ok(link, text)
      assert.match(String(mail!.parsed.html), /verify-email\?token=/)
      const token = new URL(link).searchParams.get('token')!
      const verified = await h.call('POST', '/auth/email/verify', { body: { token } })
      assert.equal((verified.body.user as { emailVerified: boolean }).emailVerified, true)

      await h.call('POST', '/auth/email/verify/send', { body: { email: 'dave@example.com' } })
      await h.signup('erin@example.com')
      await h.call('POST', '/auth/email/verify/send', { body: { email: 'erin@example.com' } })
      await h.tessera.auth.settled()
      const all = await smtp.waitFor(3)
      assert.deepEqual(
        all.map((m) => m.envelope.to[0]),
        ['carol@example.com', 'erin@example.com', 'erin@example.com'],
        'the unknown address got nothing',
      )
    } finally {
      await smtp.close()
    }
  })
})
