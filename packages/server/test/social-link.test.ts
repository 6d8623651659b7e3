// Social login (issue 21), the signed-in side: connecting a provider from a
// session (POST /auth/providers/:id/link, then the provider, then the
// callback), disconnecting one (DELETE /auth/identities/:provider), and the
// provider's tokens kept on request (POST /auth/identities/:provider/token),
// refreshed at the provider. The upstreams are panva's oidc-provider on
// 127.0.0.1 (test/support/upstream-op.ts), one of them issuing refresh
// tokens; Tessera's routes run through app.inject, the provider's pages
// through fetch with a cookie jar.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { Writable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import { cookieValue, type Outcome, throughProvider } from './support/federation.ts'
import { code, type Harness, harness, PASSWORD } from './support/harness.ts'
import { closeServer, listen, startUpstreamOp, type UpstreamOp } from './support/upstream-op.ts'

const ISSUER = 'http://localhost:3000'
const CLIENT_ID = 'tessera-rp'
const CLIENT_SECRET = randomBytes(32).toString('base64url')
const REAUTH_WINDOW = 10 * 60

// --- the browser --------------------------------------------------------------------------

/** Through the provider's pages (its own redirects) back to Tessera's callback, with the flow cookie. */
async function viaProvider(
  h: Harness,
  location: string,
  flow: string,
  beforeCallback?: () => Promise<void>,
): Promise<Outcome> {
  const url = await throughProvider(location, ISSUER)
  await beforeCallback?.()
  const callback = await h.app.inject({
    method: 'GET',
    url: `${url.pathname}${url.search}`,
    headers: { cookie: `tessera_federation=${flow}` },
  })
  return {
    status: callback.statusCode,
    location: String(callback.headers.location),
    headers: callback.headers,
  }
}

/** A social sign-in at provider `id` (the /start route): the outcome of its callback. */
async function signInVia(h: Harness, id: string): Promise<Outcome> {
  const start = await h.app.inject({ method: 'GET', url: `/auth/providers/${id}/start` })
  assert.equal(start.statusCode, 302, start.body)
  const flow = cookieValue(start.headers, 'tessera_federation')
  assert.ok(flow, 'the start sets the flow cookie')
  return await viaProvider(h, String(start.headers.location), flow)
}

/** The access token of the session a social sign-in's callback started (its refresh cookie). */
async function accessOf(h: Harness, outcome: Outcome): Promise<string> {
  assert.equal(outcome.status, 302)
  const refresh = cookieValue(outcome.headers, 'tessera_refresh')
  assert.ok(refresh, `the callback sets the refresh cookie (went to ${outcome.location})`)
  const response = await h.call('POST', '/auth/refresh', {
    headers: { cookie: `tessera_refresh=${refresh}`, 'x-tessera-csrf': '1' },
  })
  assert.equal(response.status, 200, JSON.stringify(response.body))
  return String(response.body.accessToken)
}

/** Connects provider `id` from the session of `token`: the link start, the provider, the callback. */
async function linkVia(
  h: Harness,
  id: string,
  token: string,
  beforeCallback?: () => Promise<void>,
): Promise<Outcome> {
  const start = await h.app.inject({
    method: 'POST',
    url: `/auth/providers/${id}/link`,
    headers: { authorization: `Bearer ${token}` },
  })
  assert.equal(start.statusCode, 200, start.body)
  assert.equal(start.headers['cache-control'], 'no-store')
  const { url } = start.json() as { url: string }
  const flow = cookieValue(start.headers, 'tessera_federation')
  assert.ok(flow, 'the link start sets the flow cookie')
  return await viaProvider(h, url, flow, beforeCallback)
}

/** Where a callback sent the browser: its path and query. */
function landing(outcome: Outcome): { path: string; query: URLSearchParams } {
  assert.equal(outcome.status, 302)
  const url = new URL(outcome.location, ISSUER)
  return { path: url.pathname, query: url.searchParams }
}

async function auditEvents(h: Harness, event: string) {
  return await h.tessera.store.audit.listAudit({ limit: 100, event })
}

function userIdOf(token: string): string {
  return String(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sub)
}

// --- the tests ----------------------------------------------------------------------------

describe('connecting and disconnecting providers', () => {
  let upstream: UpstreamOp
  /** Issues refresh tokens; kept by Tessera (KEEP_TOKENS). */
  let keeper: UpstreamOp

  before(async () => {
    upstream = await startUpstreamOp({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUris: [
        `${ISSUER}/auth/providers/corp/callback`,
        `${ISSUER}/auth/providers/other/callback`,
      ],
    })
    keeper = await startUpstreamOp({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUris: [
        `${ISSUER}/auth/providers/keep/callback`,
        `${ISSUER}/auth/providers/nokeep/callback`,
      ],
      refreshTokens: true,
    })
  })
  after(async () => {
    await upstream.close()
    await keeper.close()
  })

  function provider(id: string, op: UpstreamOp, extra: Record<string, string> = {}) {
    const prefix = `TESSERA_PROVIDER_${id.toUpperCase()}`
    return {
      [`${prefix}_PRESET`]: 'oidc',
      [`${prefix}_ISSUER`]: op.issuer,
      [`${prefix}_CLIENT_ID`]: CLIENT_ID,
      [`${prefix}_CLIENT_SECRET`]: CLIENT_SECRET,
      ...extra,
    }
  }

  function env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      TESSERA_ISSUER: ISSUER,
      // Tessera's access tokens outlive the provider's (an hour), which the tests wait out.
      TESSERA_ACCESS_TOKEN_TTL: '7200',
      TESSERA_PROVIDERS: 'corp,other,keep,nokeep',
      ...provider('corp', upstream),
      ...provider('other', upstream),
      ...provider('keep', keeper, { TESSERA_PROVIDER_KEEP_KEEP_TOKENS: 'true' }),
      // The same OP, tokens not kept.
      ...provider('nokeep', keeper),
      ...extra,
    }
  }

  describe('POST /auth/providers/:id/link', () => {
    test('links whoever signs in at the provider to the signed-in account, any address; audited', async () => {
      const h = await harness(env())
      const signed = await h.signup('lena@example.com')
      const token = String(signed.accessToken)
      const userId = userIdOf(token)
      // Another address, not verified there: the user proved both sides.
      upstream.next = { sub: 'lena-corp', email: 'Lena.Work@Corp.example', email_verified: false }
      const outcome = await linkVia(h, 'corp', token)
      const { path, query } = landing(outcome)
      assert.equal(path, '/account')
      assert.equal(query.get('linked'), 'corp')
      assert.equal(cookieValue(outcome.headers, 'tessera_refresh'), undefined, 'no new session')
      const identity = await h.tessera.store.identities.findIdentity('corp', 'lena-corp')
      assert.equal(identity?.userId, userId)
      assert.equal(identity?.email, 'lena.work@corp.example')
      assert.equal(identity?.emailVerified, false)
      const linked = await auditEvents(h, 'identity.linked')
      assert.deepEqual(
        linked.map((e) => [e.userId, e.details.provider, e.details.by]),
        [[userId, 'corp', 'session']],
      )
      const listed = await h.call('GET', '/auth/identities', { token })
      assert.deepEqual(
        (listed.body.identities as { provider: string }[]).map((i) => i.provider),
        ['corp'],
      )
      // From now on the identity signs in to this account.
      upstream.next = { sub: 'lena-corp', email: 'lena.work@corp.example' }
      assert.equal(userIdOf(await accessOf(h, await signInVia(h, 'corp'))), userId)
      // Linking it again is fine: the same account, nothing new.
      assert.equal(landing(await linkVia(h, 'corp', token)).query.get('linked'), 'corp')
      assert.equal((await auditEvents(h, 'identity.linked')).length, 1)
      assert.equal((await h.tessera.store.identities.listIdentities(userId)).length, 1)
    })

    test('needs a recent sign-in, a token and a known provider', async () => {
      const h = await harness(env())
      const token = String((await h.signup('mia@example.com')).accessToken)
      h.clock.advance(REAUTH_WINDOW + 60)
      const old = await h.call('POST', '/auth/providers/corp/link', { token })
      assert.equal(old.status, 403)
      assert.equal(code(old.body), 'reauthentication_required')
      assert.equal(cookieValue(old.headers, 'tessera_federation'), undefined)
      const renewed = await h.call('POST', '/auth/reauthenticate', {
        token,
        body: { password: PASSWORD },
      })
      assert.equal(renewed.status, 200)
      const started = await h.call('POST', '/auth/providers/corp/link', { token })
      assert.equal(started.status, 200)
      assert.ok(String(started.body.url).startsWith(`${upstream.issuer}/`))
      const unknown = await h.call('POST', '/auth/providers/nope/link', { token })
      assert.equal(unknown.status, 404)
      assert.equal(code(unknown.body), 'not_found')
      const anonymous = await h.call('POST', '/auth/providers/corp/link')
      assert.equal(anonymous.status, 401)
    })

    test('an identity linked to another account is refused (identity_in_use), and audited', async () => {
      const h = await harness(env())
      upstream.next = { sub: 'shared-1', email: 'nora@corp.example', email_verified: true }
      const nora = userIdOf(await accessOf(h, await signInVia(h, 'corp')))
      const token = String((await h.signup('otto@example.com')).accessToken)
      const otto = userIdOf(token)
      upstream.next = { sub: 'shared-1', email: 'nora@corp.example', email_verified: true }
      const { path, query } = landing(await linkVia(h, 'corp', token))
      assert.equal(path, '/account')
      assert.equal(query.get('reason'), 'identity_in_use')
      assert.equal(query.get('provider'), 'corp')
      assert.equal(
        (await h.tessera.store.identities.findIdentity('corp', 'shared-1'))?.userId,
        nora,
      )
      assert.deepEqual(await h.tessera.store.identities.listIdentities(otto), [])
      const refused = await auditEvents(h, 'identity.link_refused')
      assert.deepEqual(
        refused.map((e) => [e.userId, e.details.reason, e.details.by]),
        [[otto, 'identity_in_use', 'session']],
      )
    })

    test('a second identity at a provider is refused; a session that ended meanwhile links nothing', async () => {
      const h = await harness(env())
      const token = String((await h.signup('pia@example.com')).accessToken)
      const pia = userIdOf(token)
      upstream.next = { sub: 'pia-1' }
      assert.equal(landing(await linkVia(h, 'corp', token)).query.get('linked'), 'corp')
      upstream.next = { sub: 'pia-2' }
      const second = landing(await linkVia(h, 'corp', token))
      assert.equal(second.query.get('reason'), 'provider_already_linked')
      assert.equal(await h.tessera.store.identities.findIdentity('corp', 'pia-2'), undefined)

      upstream.next = { sub: 'pia-3' }
      const ended = await linkVia(h, 'other', token, async () => {
        const out = await h.call('POST', '/auth/logout', { token })
        assert.equal(out.status, 204, JSON.stringify(out.body))
      })
      assert.equal(landing(ended).query.get('reason'), 'session_ended')
      assert.equal(await h.tessera.store.identities.findIdentity('other', 'pia-3'), undefined)
      assert.equal((await h.tessera.store.identities.listIdentities(pia)).length, 1)
    })

    test('the provider’s refusal comes back to /account, not /login', async () => {
      const h = await harness(env())
      const token = String((await h.signup('quin@example.com')).accessToken)
      upstream.next = 'deny'
      try {
        const { path, query } = landing(await linkVia(h, 'corp', token))
        assert.equal(path, '/account')
        assert.equal(query.get('reason'), 'access_denied')
      } finally {
        upstream.next = { sub: 'nobody' }
      }
      assert.deepEqual(await h.tessera.store.identities.listIdentities(userIdOf(token)), [])
    })
  })

  describe('DELETE /auth/identities/:provider', () => {
    test('unlinks the caller’s identity; audited; then not_found', async () => {
      const h = await harness(env())
      const token = String((await h.signup('rita@example.com')).accessToken)
      const rita = userIdOf(token)
      upstream.next = { sub: 'rita-1' }
      await linkVia(h, 'corp', token)
      const removed = await h.call('DELETE', '/auth/identities/corp', { token })
      assert.equal(removed.status, 204, JSON.stringify(removed.body))
      assert.equal(await h.tessera.store.identities.findIdentity('corp', 'rita-1'), undefined)
      const events = await auditEvents(h, 'identity.unlinked')
      assert.deepEqual(
        events.map((e) => [e.userId, e.details.provider]),
        [[rita, 'corp']],
      )
      const again = await h.call('DELETE', '/auth/identities/corp', { token })
      assert.equal(again.status, 404)
      assert.equal(code(again.body), 'not_found')
      assert.equal((await h.call('DELETE', '/auth/identities/nope', { token })).status, 404)
      assert.equal((await h.call('DELETE', '/auth/identities/corp')).status, 401)
    })

    test('another user’s identity is not_found, and stays', async () => {
      const h = await harness(env())
      upstream.next = { sub: 'sam-1', email: 'sam@corp.example', email_verified: true }
      await accessOf(h, await signInVia(h, 'corp'))
      const token = String((await h.signup('tia@example.com')).accessToken)
      const response = await h.call('DELETE', '/auth/identities/corp', { token })
      assert.equal(response.status, 404)
      assert.ok(await h.tessera.store.identities.findIdentity('corp', 'sam-1'))
    })

    test('needs a recent sign-in', async () => {
      const h = await harness(env())
      const token = String((await h.signup('uma@example.com')).accessToken)
      upstream.next = { sub: 'uma-1' }
      await linkVia(h, 'corp', token)
      h.clock.advance(REAUTH_WINDOW + 60)
      const old = await h.call('DELETE', '/auth/identities/corp', { token })
      assert.equal(old.status, 403)
      assert.equal(code(old.body), 'reauthentication_required')
      assert.ok(await h.tessera.store.identities.findIdentity('corp', 'uma-1'))
    })

    test('the last way in is refused (last_sign_in_method); another identity or a passkey is a way in', async () => {
      const h = await harness(env())
      // A social sign-up: no password.
      upstream.next = { sub: 'vic-1', email: 'vic@corp.example', email_verified: true }
      const token = await accessOf(h, await signInVia(h, 'corp'))
      const vic = userIdOf(token)
      const last = await h.call('DELETE', '/auth/identities/corp', { token })
      assert.equal(last.status, 409)
      assert.equal(code(last.body), 'last_sign_in_method')
      assert.ok(await h.tessera.store.identities.findIdentity('corp', 'vic-1'))
      assert.deepEqual(await auditEvents(h, 'identity.unlinked'), [])

      upstream.next = { sub: 'vic-2' }
      assert.equal(landing(await linkVia(h, 'other', token)).query.get('linked'), 'other')
      assert.equal((await h.call('DELETE', '/auth/identities/corp', { token })).status, 204)
      const alone = await h.call('DELETE', '/auth/identities/other', { token })
      assert.equal(alone.status, 409)
      assert.equal(code(alone.body), 'last_sign_in_method')

      await h.tessera.store.factors.addPasskey({
        id: 'vic-passkey',
        userId: vic,
        name: 'Laptop',
        publicKey: 'AAAA',
        counter: 0,
        transports: [],
        deviceType: 'multiDevice',
        backedUp: true,
        createdAt: h.clock.now,
        lastUsedAt: null,
      })
      assert.equal((await h.call('DELETE', '/auth/identities/other', { token })).status, 204)
      assert.deepEqual(await h.tessera.store.identities.listIdentities(vic), [])
    })
  })

  describe('POST /auth/identities/:provider/token', () => {
    /** The upstream's userinfo for `accessToken`: whose it is, or the status. */
    async function userinfo(op: UpstreamOp, accessToken: string): Promise<string | number> {
      const response = await fetch(`${op.issuer}/me`, {
        headers: { authorization: `Bearer ${accessToken}` },
      })
      if (!response.ok) {
        await response.body?.cancel()
        return response.status
      }
      return String(((await response.json()) as { sub: string }).sub)
    }

    test('kept at sign-in, sealed; handed out; refreshed when about to expire or asked; revoked there: gone', async () => {
      const lines: string[] = []
      const logger = pino(
        { level: 'trace' },
        new Writable({
          write(chunk, _encoding, done) {
            lines.push(String(chunk))
            done()
          },
        }),
      )
      const h = await harness(env(), { logger })
      keeper.next = { sub: 'will-1', email: 'will@keep.example', email_verified: true }
      const token = await accessOf(h, await signInVia(h, 'keep'))
      const sealed = await h.tessera.store.identities.readIdentityTokens('keep', 'will-1')
      assert.ok(sealed, 'the tokens are kept')

      const first = await h.call('POST', '/auth/identities/keep/token', { token })
      assert.equal(first.status, 200, JSON.stringify(first.body))
      assert.equal(first.headers['cache-control'], 'no-store')
      assert.deepEqual(Object.keys(first.body).sort(), [
        'accessToken',
        'expiresAt',
        'scope',
        'tokenType',
      ])
      assert.equal(first.body.tokenType, 'Bearer')
      assert.match(String(first.body.scope), /openid/)
      const expiresAt = Date.parse(String(first.body.expiresAt))
      assert.ok(expiresAt > h.clock.now, 'on the server’s clock, in the future')
      const accessToken = String(first.body.accessToken)
      assert.equal(await userinfo(keeper, accessToken), 'will-1', 'the provider takes it')
      assert.ok(!sealed.includes(accessToken), 'kept sealed, not in the clear')

      // Not about to expire: the same token.
      const same = await h.call('POST', '/auth/identities/keep/token', { token, body: {} })
      assert.equal(same.body.accessToken, accessToken)

      // Within a minute of its expiry: refreshed first.
      h.clock.now = expiresAt - 30_000
      const refreshed = await h.call('POST', '/auth/identities/keep/token', { token })
      assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body))
      const second = String(refreshed.body.accessToken)
      assert.notEqual(second, accessToken)
      assert.ok(Date.parse(String(refreshed.body.expiresAt)) > h.clock.now + 60_000)
      assert.equal(await userinfo(keeper, second), 'will-1')
      assert.notEqual(await h.tessera.store.identities.readIdentityTokens('keep', 'will-1'), sealed)

      // Asked for.
      const asked = await h.call('POST', '/auth/identities/keep/token', {
        token,
        body: { refresh: true },
      })
      assert.equal(asked.status, 200, JSON.stringify(asked.body))
      const third = String(asked.body.accessToken)
      assert.notEqual(third, second)

      // The user removes the app at the provider: its grant goes, refresh token included.
      const revoked = await fetch(`${keeper.issuer}/token/revocation`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token: third,
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
        }),
      })
      assert.equal(revoked.status, 200)
      const refused = await h.call('POST', '/auth/identities/keep/token', {
        token,
        body: { refresh: true },
      })
      assert.equal(refused.status, 409, JSON.stringify(refused.body))
      assert.equal(code(refused.body), 'provider_token_revoked')
      assert.equal(await h.tessera.store.identities.readIdentityTokens('keep', 'will-1'), null)
      const gone = await h.call('POST', '/auth/identities/keep/token', { token })
      assert.equal(gone.status, 404)
      assert.equal(code(gone.body), 'not_found')
      assert.deepEqual(
        (await auditEvents(h, 'identity.tokens_dropped')).map((e) => e.details),
        [{ provider: 'keep', reason: 'refresh_refused' }],
      )

      // No token in the audit log or the server's log.
      const audit = JSON.stringify(await h.tessera.store.audit.listAudit({ limit: 500 }))
      const log = lines.join('')
      assert.ok(log.length > 0, 'the log was captured')
      for (const secret of [accessToken, second, third]) {
        assert.ok(!audit.includes(secret), 'no token in the audit log')
        assert.ok(!log.includes(secret), 'no token in the log')
      }
      // Signing in again keeps new ones.
      keeper.next = { sub: 'will-1', email: 'will@keep.example', email_verified: true }
      await accessOf(h, await signInVia(h, 'keep'))
      const back = await h.call('POST', '/auth/identities/keep/token', { token })
      assert.equal(back.status, 200)
    })

    test('a link through a provider that keeps tokens keeps them too', async () => {
      const h = await harness(env())
      const token = String((await h.signup('xena@example.com')).accessToken)
      keeper.next = { sub: 'xena-1' }
      assert.equal(landing(await linkVia(h, 'keep', token)).query.get('linked'), 'keep')
      const kept = await h.call('POST', '/auth/identities/keep/token', { token })
      assert.equal(kept.status, 200, JSON.stringify(kept.body))
      assert.equal(await userinfo(keeper, String(kept.body.accessToken)), 'xena-1')
    })

    test('a provider that does not keep tokens: none stored, what was kept is cleared, 404', async () => {
      const h = await harness(env())
      keeper.next = { sub: 'yann-1', email: 'yann@keep.example', email_verified: true }
      const token = await accessOf(h, await signInVia(h, 'nokeep'))
      const yann = userIdOf(token)
      assert.equal(await h.tessera.store.identities.readIdentityTokens('nokeep', 'yann-1'), null)
      const none = await h.call('POST', '/auth/identities/nokeep/token', { token })
      assert.equal(none.status, 404)
      assert.equal(code(none.body), 'not_found')
      // Kept while the operator had it on: the next sign-in clears them, and so does the route.
      await h.tessera.store.identities.setIdentityTokens('nokeep', 'yann-1', yann, 'sealed-before')
      assert.equal((await h.call('POST', '/auth/identities/nokeep/token', { token })).status, 404)
      assert.equal(await h.tessera.store.identities.readIdentityTokens('nokeep', 'yann-1'), null)
      await h.tessera.store.identities.setIdentityTokens('nokeep', 'yann-1', yann, 'sealed-before')
      keeper.next = { sub: 'yann-1', email: 'yann@keep.example', email_verified: true }
      await accessOf(h, await signInVia(h, 'nokeep'))
      assert.equal(await h.tessera.store.identities.readIdentityTokens('nokeep', 'yann-1'), null)
      // No identity at all there.
      assert.equal((await h.call('POST', '/auth/identities/corp/token', { token })).status, 404)
      assert.equal((await h.call('POST', '/auth/identities/keep/token')).status, 401)
    })

    test('a provider that is down: 503 provider_unavailable, the tokens stay', async () => {
      const spare = createServer()
      const closedPort = await listen(spare)
      await closeServer(spare)
      const flaky = await startUpstreamOp({
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        redirectUris: [`${ISSUER}/auth/providers/flaky/callback`],
        refreshTokens: true,
      })
      let closed = false
      try {
        const h = await harness(
          env({
            TESSERA_PROVIDERS: 'corp,flaky,down',
            ...provider('flaky', flaky, { TESSERA_PROVIDER_FLAKY_KEEP_TOKENS: 'true' }),
            TESSERA_PROVIDER_DOWN_PRESET: 'oidc',
            TESSERA_PROVIDER_DOWN_ISSUER: closedPort,
            TESSERA_PROVIDER_DOWN_CLIENT_ID: CLIENT_ID,
          }),
        )
        flaky.next = { sub: 'zoe-1', email: 'zoe@flaky.example', email_verified: true }
        const token = await accessOf(h, await signInVia(h, 'flaky'))
        const kept = await h.tessera.store.identities.readIdentityTokens('flaky', 'zoe-1')
        assert.ok(kept)
        await flaky.close()
        closed = true
        const down = await h.call('POST', '/auth/identities/flaky/token', {
          token,
          body: { refresh: true },
        })
        assert.equal(down.status, 503, JSON.stringify(down.body))
        assert.equal(code(down.body), 'provider_unavailable')
        assert.equal(await h.tessera.store.identities.readIdentityTokens('flaky', 'zoe-1'), kept)
        // A link start answers the same when the provider's discovery cannot be done.
        const start = await h.call('POST', '/auth/providers/down/link', { token })
        assert.equal(start.status, 503, JSON.stringify(start.body))
        assert.equal(code(start.body), 'provider_unavailable')
        assert.equal(cookieValue(start.headers, 'tessera_federation'), undefined)
      } finally {
        if (!closed) await flaky.close()
      }
    })

    test('bad input: a body with other members, a bad provider id', async () => {
      const h = await harness(env())
      const token = String((await h.signup('ada@example.com')).accessToken)
      const extra = await h.call('POST', '/auth/identities/keep/token', {
        token,
        body: { refresh: true, scope: 'more' },
      })
      assert.equal(extra.status, 400)
      assert.equal(code(extra.body), 'validation_failed')
      const wrongType = await h.call('POST', '/auth/identities/keep/token', {
        token,
        body: { refresh: 'yes' },
      })
      assert.equal(code(wrongType.body), 'validation_failed')
      const badId = await h.call('POST', '/auth/identities/Not%20An%20Id/token', { token })
      assert.equal(code(badId.body), 'validation_failed')
    })
  })
})
