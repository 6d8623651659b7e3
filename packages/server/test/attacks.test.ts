// Attacks on the running service that the hardening review (issue #12) found,
// each replayed against the real service (in process, in-memory SQLite, a
// clock the test moves). Every case failed before its fix.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { createRevocationFeed, decode } from '@tessera/jwt'
import { code, type Harness, harness, PASSWORD } from './support/harness.ts'

const ADMIN = 'admin@example.com'

/** Makes `email` an admin directly in the store (as `tessera users set-roles` does) and logs in. */
async function admin(h: Harness): Promise<Record<string, unknown>> {
  const signed = await h.signup(ADMIN)
  const userId = (signed.user as { id: string }).id
  await h.tessera.auth.adminUpdateUser(
    { userId, sessionId: null },
    userId,
    { roles: ['user', 'admin'] },
    { ip: null, userAgent: null },
  )
  h.clock.advance(1)
  const login = await h.call('POST', '/auth/login', { body: { email: ADMIN, password: PASSWORD } })
  assert.equal(login.status, 200)
  return login.body
}

const iat = (token: unknown): number => Number(decode(String(token)).payload.iat)

describe('a demotion sticks (item 1)', () => {
  it('a token issued earlier in the same second as a role change is refused', async () => {
    const h = await harness()
    const boss = await admin(h)
    const bossId = (boss.user as { id: string }).id
    const victim = await h.signup('victim@example.com')
    const victimId = (victim.user as { id: string }).id
    // Move to the start of a second, so every step below happens inside it.
    h.clock.now = Math.ceil(h.clock.now / 1000) * 1000 + 50
    const second = Math.floor(h.clock.now / 1000)

    // The demoted admin's trick: a fresh token from the demotion's own second.
    const fresh = await h.call('POST', '/auth/refresh', {
      body: { refreshToken: boss.refreshToken },
    })
    assert.equal(fresh.status, 200)
    assert.equal(iat(fresh.body.accessToken), second)
    h.clock.advance(0.4)
    const demote = await h.tessera.auth.adminUpdateUser(
      { userId: victimId, sessionId: null },
      bossId,
      { roles: ['user'] },
      { ip: null, userAgent: null },
    )
    assert.deepEqual(demote.roles, ['user'])
    h.clock.advance(0.1)

    const stolen = await h.call('PATCH', `/admin/users/${bossId}`, {
      token: fresh.body.accessToken as string,
      body: { roles: ['user', 'admin'] },
    })
    assert.equal(stolen.status, 401, 'the same-second admin token cannot re-promote')
    assert.equal(code(stolen.body), 'token_revoked')

    // Refreshing inside the cut-over second waits for the next one, so the new
    // token (with the new roles) is not born revoked.
    const after = await h.call('POST', '/auth/refresh', {
      body: { refreshToken: fresh.body.refreshToken },
    })
    assert.equal(after.status, 200)
    assert.equal(iat(after.body.accessToken), second + 1)
    assert.deepEqual(decode(after.body.accessToken as string).payload.roles, ['user'])
    const me = await h.call('GET', '/auth/me', { token: after.body.accessToken as string })
    assert.equal(me.status, 200)
    const again = await h.call('PATCH', `/admin/users/${bossId}`, {
      token: after.body.accessToken as string,
      body: { roles: ['user', 'admin'] },
    })
    assert.equal(code(again.body), 'forbidden')
  })

  it('a racing tab inside the grace window after a role change gets a live token with the new roles', async () => {
    const h = await harness()
    const boss = await admin(h)
    const bossId = (boss.user as { id: string }).id
    h.clock.now = Math.ceil(h.clock.now / 1000) * 1000 + 50
    const first = await h.call('POST', '/auth/refresh', {
      body: { refreshToken: boss.refreshToken },
    })
    h.clock.advance(0.2)
    await h.tessera.auth.adminUpdateUser(
      { userId: bossId, sessionId: null },
      bossId,
      { roles: ['user'] },
      { ip: null, userAgent: null },
    )
    const racing = await h.call('POST', '/auth/refresh', {
      body: { refreshToken: boss.refreshToken },
    })
    assert.equal(racing.status, 200)
    assert.equal(racing.body.refreshToken, first.body.refreshToken, 'the same successor')
    assert.deepEqual(decode(racing.body.accessToken as string).payload.roles, ['user'])
    const me = await h.call('GET', '/auth/me', { token: racing.body.accessToken as string })
    assert.equal(me.status, 200)
  })

  it('logout everywhere cuts off tokens of its own second; a login right after works', async () => {
    const h = await harness()
    const alice = await h.signup('alice@example.com')
    h.clock.now = Math.ceil(h.clock.now / 1000) * 1000 + 10
    const login = await h.call('POST', '/auth/login', {
      body: { email: 'alice@example.com', password: PASSWORD },
    })
    h.clock.advance(0.2)
    const all = await h.call('POST', '/auth/logout-all', { token: alice.accessToken as string })
    assert.equal(all.status, 204)
    const late = await h.call('GET', '/auth/me', { token: login.body.accessToken as string })
    assert.equal(code(late.body), 'token_revoked')
    // A login right after waits out the second and works.
    const next = await h.call('POST', '/auth/login', {
      body: { email: 'alice@example.com', password: PASSWORD },
    })
    assert.equal(next.status, 200)
    assert.equal(
      (await h.call('GET', '/auth/me', { token: next.body.accessToken as string })).status,
      200,
    )
  })

  it('a resource server fed by the revocation feed refuses the same-second token', async () => {
    const key = randomBytes(32).toString('base64url')
    const h = await harness({ TESSERA_REVOCATION_FEED_KEY: key })
    await h.tessera.app.listen({ host: '127.0.0.1', port: 0 })
    const port = (h.tessera.app.server.address() as AddressInfo).port
    const boss = await admin(h)
    const bossId = (boss.user as { id: string }).id
    h.clock.now = Math.ceil(h.clock.now / 1000) * 1000 + 50
    const fresh = await h.call('POST', '/auth/refresh', {
      body: { refreshToken: boss.refreshToken },
    })
    const claims = decode(fresh.body.accessToken as string).payload
    const feed = createRevocationFeed({
      url: `http://127.0.0.1:${port}/auth/revocations`,
      key,
      now: () => h.clock.now,
    })
    try {
      await feed.start()
      assert.equal(feed.isRevoked(claims), false)
      h.clock.advance(0.3)
      await h.tessera.auth.adminUpdateUser(
        { userId: bossId, sessionId: null },
        bossId,
        { roles: ['user'] },
        { ip: null, userAgent: null },
      )
      const deadline = Date.now() + 2000
      while (!feed.isRevoked(claims) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      assert.equal(feed.isRevoked(claims), true)
    } finally {
      await feed.close()
    }
  })
})

describe('nobody locks an owner out (item 2)', () => {
  it('failures from one address do not stop the right password from another', async () => {
    const h = await harness()
    await h.signup('owner@example.com')
    const attacker = '203.0.113.66'
    for (let i = 0; i < 12; i++) {
      const r = await h.call('POST', '/auth/login', {
        remoteAddress: attacker,
        body: { email: 'owner@example.com', password: `wrong guess ${i}` },
      })
      if (i < 5) assert.equal(code(r.body), 'invalid_credentials')
      // The attacker's own pair backs off (the clock stands still here).
      else assert.equal(code(r.body), 'rate_limited')
    }
    const owner = await h.call('POST', '/auth/login', {
      remoteAddress: '198.51.100.7',
      body: { email: 'owner@example.com', password: PASSWORD },
    })
    assert.equal(owner.status, 200, JSON.stringify(owner.body))
    // A password change is not throttled by the attacker's failures either.
    const change = await h.call('POST', '/auth/password', {
      remoteAddress: '198.51.100.7',
      token: owner.body.accessToken as string,
      body: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' },
    })
    assert.equal(change.status, 204, JSON.stringify(change.body))
  })

  it('failures spread over many addresses are audited once as a signal', async () => {
    const h = await harness({ TESSERA_LOGIN_RATE_LIMIT: 'fails=5,accountFails=8' })
    await h.signup('target@example.com')
    for (let i = 0; i < 10; i++) {
      await h.call('POST', '/auth/login', {
        remoteAddress: `203.0.113.${i + 1}`,
        body: { email: 'target@example.com', password: 'wrong guess' },
      })
    }
    const throttled = await h.tessera.store.audit.listAudit({
      limit: 10,
      event: 'login.account_throttled',
    })
    assert.equal(throttled.length, 1)
    // An address that failed now waits account-wide; the owner does not.
    const bot = await h.call('POST', '/auth/login', {
      remoteAddress: '203.0.113.1',
      body: { email: 'target@example.com', password: PASSWORD },
    })
    assert.equal(code(bot.body), 'rate_limited')
    const owner = await h.call('POST', '/auth/login', {
      remoteAddress: '198.51.100.7',
      body: { email: 'target@example.com', password: PASSWORD },
    })
    assert.equal(owner.status, 200)
  })
})

describe('the grace window serves only the client that rotated (item 5)', () => {
  const UA = { 'user-agent': 'tabs/1.0' }

  it('racing tabs and a lost-response retry from the same client get the same pair', async () => {
    const h = await harness()
    const s = await h.signup('tabs@example.com')
    const first = await h.call('POST', '/auth/refresh', {
      headers: UA,
      remoteAddress: '198.51.100.7',
      body: { refreshToken: s.refreshToken },
    })
    h.clock.advance(3)
    const retry = await h.call('POST', '/auth/refresh', {
      headers: UA,
      remoteAddress: '198.51.100.7',
      body: { refreshToken: s.refreshToken },
    })
    assert.equal(retry.status, 200)
    assert.equal(retry.body.refreshToken, first.body.refreshToken)
  })

  for (const [label, other] of [
    ['another address', { remoteAddress: '203.0.113.66', headers: UA }],
    ['another user agent', { remoteAddress: '198.51.100.7', headers: { 'user-agent': 'curl/8' } }],
  ] as const) {
    it(`a replay from ${label} inside the window gets no token and ends the session`, async () => {
      const h = await harness()
      const s = await h.signup(`replay-${label.length}@example.com`)
      const first = await h.call('POST', '/auth/refresh', {
        headers: UA,
        remoteAddress: '198.51.100.7',
        body: { refreshToken: s.refreshToken },
      })
      assert.equal(first.status, 200)
      h.clock.advance(1)
      const thief = await h.call('POST', '/auth/refresh', {
        ...other,
        body: { refreshToken: s.refreshToken },
      })
      assert.equal(thief.status, 401)
      assert.equal(code(thief.body), 'refresh_token_reused')
      assert.equal(thief.body.refreshToken, undefined)
      assert.equal(thief.body.accessToken, undefined)
      // We cannot tell which of the two is the thief: the family ends.
      const legit = await h.call('POST', '/auth/refresh', {
        headers: UA,
        remoteAddress: '198.51.100.7',
        body: { refreshToken: first.body.refreshToken },
      })
      assert.equal(code(legit.body), 'invalid_refresh_token')
      const audit = await h.tessera.store.audit.listAudit({
        limit: 5,
        event: 'refresh.reuse_detected',
      })
      assert.deepEqual(audit[0]?.details, { withinGrace: true })
    })
  }
})

describe('one mailbox, one account (item 11)', () => {
  it('compatibility forms and IDNA spellings of a domain reach the same account', async () => {
    const h = await harness()
    await h.signup('ada@bücher.example')
    for (const email of ['ada@xn--bcher-kva.example', 'ADA@BÜCHER.example']) {
      const again = await h.call('POST', '/auth/signup', { body: { email, password: PASSWORD } })
      assert.equal(code(again.body), 'email_taken', email)
      const login = await h.call('POST', '/auth/login', { body: { email, password: PASSWORD } })
      assert.equal(login.status, 200, email)
    }
    await h.signup('bob@example.com')
    const wide = await h.call('POST', '/auth/signup', {
      body: { email: 'bob@ｅｘａｍｐｌｅ.com', password: PASSWORD },
    })
    assert.equal(code(wide.body), 'email_taken')
    const local = await h.call('POST', '/auth/signup', {
      body: { email: 'ｂｏｂ@example.com', password: PASSWORD },
    })
    assert.equal(code(local.body), 'validation_failed')
    assert.equal(JSON.stringify(local.body).includes('ｂｏｂ'), false, 'the value is not echoed')
  })
})
