// Forgotten passwords against the real service (in process, in-memory SQLite,
// a clock the test moves), with the mail read from the outbox as the worker
// reads it, and once through a real SMTP server: the link works once, within
// an hour, ends every session and older token, and a stranger learns nothing.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { code, harness, PASSWORD } from './support/harness.ts'
import { outbox as mails, tokenOf } from './support/outbox.ts'
import { startSmtpServer } from './support/smtp-server.ts'

const NEW_PASSWORD = 'a brand new passphrase'

describe('password reset', () => {
  it('the mailed link sets a new password once, ends every session and older token, and mails a notice', async () => {
    const h = await harness({ TESSERA_EMAIL_VERIFICATION: 'off' })
    const first = await h.signup('ada@example.com')
    const second = await h.call('POST', '/auth/login', {
      body: { email: 'ada@example.com', password: PASSWORD },
    })
    const asked = await h.call('POST', '/auth/password/forgot', {
      body: { email: 'ada@example.com' },
    })
    assert.equal(asked.status, 202)
    const [mail] = await mails(h, 'reset_password')
    assert.equal(mail?.to, 'ada@example.com')
    const link = new URL(String(mail?.data.link))
    assert.equal(`${link.origin}${link.pathname}`, `${h.tessera.config.issuer}/reset-password`)
    h.clock.advance(1)

    const reset = await h.call('POST', '/auth/password/reset', {
      body: { token: tokenOf(mail), newPassword: NEW_PASSWORD },
    })
    assert.equal(reset.status, 204, JSON.stringify(reset.body))
    for (const token of [first.accessToken, second.body.accessToken]) {
      assert.equal(
        code((await h.call('GET', '/auth/me', { token: token as string })).body),
        'token_revoked',
      )
    }
    const refresh = await h.call('POST', '/auth/refresh', {
      body: { refreshToken: first.refreshToken },
    })
    assert.equal(code(refresh.body), 'invalid_refresh_token')
    const old = await h.call('POST', '/auth/login', {
      body: { email: 'ada@example.com', password: PASSWORD },
    })
    assert.equal(code(old.body), 'invalid_credentials')
    const fresh = await h.call('POST', '/auth/login', {
      body: { email: 'ada@example.com', password: NEW_PASSWORD },
    })
    assert.equal(fresh.status, 200)
    assert.equal(
      (await h.call('GET', '/auth/me', { token: fresh.body.accessToken as string })).status,
      200,
    )
    const again = await h.call('POST', '/auth/password/reset', {
      body: { token: tokenOf(mail), newPassword: 'yet another passphrase' },
    })
    assert.equal(code(again.body), 'invalid_code')
    assert.equal((await mails(h, 'password_changed')).length, 1)
    const audit = await h.tessera.store.audit.listAudit({ limit: 5, event: 'password.reset' })
    assert.equal(audit.length, 1)
  })

  it('answers 202 for any address; only an account gets mail; limited per address', async () => {
    const h = await harness({ TESSERA_EMAIL_VERIFICATION: 'off' })
    await h.signup('bob@example.com')
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (await h.call('POST', '/auth/password/forgot', { body: { email: 'ghost@example.com' } }))
          .status,
      )
    }
    assert.deepEqual(statuses, [202, 202, 202, 202, 202, 429])
    await h.call('POST', '/auth/password/forgot', { body: { email: 'bob@example.com' } })
    assert.deepEqual(
      (await mails(h, 'reset_password')).map((m) => m.to),
      ['bob@example.com'],
    )
  })

  it('a link lives an hour; a newer one, or a password change, ends it; a weak password keeps it', async () => {
    const h = await harness({ TESSERA_EMAIL_VERIFICATION: 'off' })
    const s = await h.signup('carol@example.com')
    await h.call('POST', '/auth/password/forgot', { body: { email: 'carol@example.com' } })
    await h.tessera.auth.settled()
    h.clock.advance(1)
    await h.call('POST', '/auth/password/forgot', { body: { email: 'carol@example.com' } })
    const [older, newer] = await mails(h, 'reset_password')
    const superseded = await h.call('POST', '/auth/password/reset', {
      body: { token: tokenOf(older), newPassword: NEW_PASSWORD },
    })
    assert.equal(code(superseded.body), 'invalid_code')
    const weak = await h.call('POST', '/auth/password/reset', {
      body: { token: tokenOf(newer), newPassword: 'password' },
    })
    assert.equal(code(weak.body), 'validation_failed')
    // Still usable after a refused weak password; then a password change ends it.
    const change = await h.call('POST', '/auth/password', {
      token: s.accessToken as string,
      body: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
    })
    assert.equal(change.status, 204)
    const afterChange = await h.call('POST', '/auth/password/reset', {
      body: { token: tokenOf(newer), newPassword: 'yet another passphrase' },
    })
    assert.equal(code(afterChange.body), 'invalid_code')

    h.clock.advance(1)
    await h.call('POST', '/auth/password/forgot', { body: { email: 'carol@example.com' } })
    const latest = (await mails(h, 'reset_password')).at(-1)
    h.clock.advance(3600)
    assert.notEqual(tokenOf(latest), tokenOf(newer))
    const late = await h.call('POST', '/auth/password/reset', {
      body: { token: tokenOf(latest), newPassword: 'yet another passphrase' },
    })
    assert.equal(code(late.body), 'invalid_code')
  })

  it('the reset mail arrives through a real SMTP server with a link that works', async () => {
    const smtp = await startSmtpServer()
    try {
      const h = await harness({ TESSERA_SMTP_URL: smtp.url, TESSERA_EMAIL_VERIFICATION: 'off' })
      await h.signup('dora@example.com')
      await h.call('POST', '/auth/password/forgot', { body: { email: 'dora@example.com' } })
      await h.tessera.auth.settled()
      const [mail] = await smtp.waitFor(1)
      assert.deepEqual(mail!.envelope.to, ['dora@example.com'])
      const link = /https?:\/\/\S+\/reset-password\?token=[A-Za-z0-9_-]{43}/.exec(
        mail!.parsed.text ?? '',
      )?.[0]
      assert.ok(link, mail!.parsed.text)
      const reset = await h.call('POST', '/auth/password/reset', {
        body: { token: new URL(link).searchParams.get('token'), newPassword: NEW_PASSWORD },
      })
      assert.equal(reset.status, 204)
      const [, notice] = await smtp.waitFor(2)
      assert.deepEqual(notice!.envelope.to, ['dora@example.com'])
    } finally {
      await smtp.close()
    }
  })
})
