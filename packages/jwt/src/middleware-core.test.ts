import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, it } from 'node:test'
import { baseOptions, clock, ISSUER, issue, trustedKeys } from '../test/middleware-suite.ts'
import { accessTokenHash, type DpopReplayCache } from './dpop.ts'
import { type AuthErrorCode, authErrorCodes } from './error-codes.ts'
import { JwtError } from './errors.ts'
import { exportJwk, generateKeyPair, generateSecret, type Key } from './keys.ts'
import {
  type AuthenticateOptions,
  type Authenticator,
  AuthFailure,
  type AuthInfo,
  challengeValue,
  createAuthAgeGuard,
  createAuthenticator,
  createAuthMethodGuard,
  createRoleGuard,
  createScopeGuard,
  extractBearerToken,
  type VerifierAuthenticateOptions,
} from './middleware-core.ts'
import type { RevocableClaims, RevocationFeed } from './revocation-feed.ts'
import { createVerifier } from './verifier.ts'

/** A feed the test controls, recording how the authenticator uses it. */
function fakeFeed(revoked: (claims: RevocableClaims) => boolean = () => false) {
  const calls = { start: 0, close: 0 }
  const feed: RevocationFeed & { staleNow: boolean; unauthorized: boolean } = {
    staleNow: false,
    unauthorized: false,
    start: async () => {
      calls.start++
    },
    ready: true,
    isRevoked: revoked,
    get stale() {
      return this.staleNow
    },
    cursor: 0,
    size: 0,
    close: async () => {
      calls.close++
    },
  }
  return { feed, calls }
}

describe('createAuthenticator: options', () => {
  it('throws a TypeError at creation for every misuse', () => {
    const { feed } = fakeFeed()
    const bad: unknown[] = [
      undefined,
      'options',
      {},
      { issuer: '', keys: trustedKeys },
      { issuer: ISSUER }, // neither jwksUrl nor keys
      { issuer: ISSUER, keys: trustedKeys, jwksUrl: 'https://auth/jwks' }, // both
      { issuer: ISSUER, keys: 'secret' },
      { issuer: ISSUER, jwksUrl: 'ftp://auth/jwks' },
      { issuer: ISSUER, jwksUrl: 42 },
      { issuer: ISSUER, keys: trustedKeys, audience: [] },
      { issuer: ISSUER, keys: trustedKeys, audience: [''] },
      { issuer: ISSUER, keys: trustedKeys, algorithms: ['none'] },
      { issuer: ISSUER, keys: trustedKeys, algorithms: 'ES256' },
      { issuer: ISSUER, keys: trustedKeys, typ: '' },
      { issuer: ISSUER, keys: trustedKeys, typ: true },
      { issuer: ISSUER, keys: trustedKeys, clockTolerance: 'a while' },
      { issuer: ISSUER, keys: trustedKeys, cookie: 'bad name' },
      { issuer: ISSUER, keys: trustedKeys, cookie: '' },
      { issuer: ISSUER, keys: trustedKeys, whenStale: 'refuse' }, // no feed to be stale
      { issuer: ISSUER, keys: trustedKeys, whenStale: 'wait', revocations: feed },
      { issuer: ISSUER, keys: trustedKeys, revocations: 'http://auth/feed' },
      { issuer: ISSUER, keys: trustedKeys, revocations: { url: 'nope' } },
      { issuer: ISSUER, keys: trustedKeys, cache: -1 },
      { issuer: ISSUER, keys: trustedKeys, now: 'now' },
      { issuer: ISSUER, keys: trustedKeys, maxAuthAge: 'soon' },
      { issuer: ISSUER, keys: trustedKeys, maxAuthAge: -1 },
      { issuer: ISSUER, keys: trustedKeys, maxAuthAge: 1.5 }, // max_age is whole seconds
      { issuer: ISSUER, keys: trustedKeys, maxAuthAge: null },
      { issuer: ISSUER, keys: trustedKeys, maxAge: 300 }, // misspelt
      { issuer: ISSUER, keys: trustedKeys, revocation: feed }, // misspelt: refused, not ignored
      { issuer: ISSUER, jwksUri: 'https://auth/jwks' },
    ]
    for (const options of bad) {
      assert.throws(
        () => createAuthenticator(options as AuthenticateOptions),
        TypeError,
        String(JSON.stringify(options)),
      )
    }
  })

  it('answers at once (no promise) for local keys, and the same frozen AuthInfo for a cached token', () => {
    const authenticator = createAuthenticator(baseOptions())
    const token = issue()
    const first = authenticator.check(`Bearer ${token}`, undefined)
    assert.ok(!(first instanceof Promise) && !(first instanceof AuthFailure))
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.scopes))
    assert.equal(authenticator.check(`bearer   ${token}  `, undefined), first)
    const uncached = createAuthenticator(baseOptions({ cache: false }))
    const a = uncached.check(`Bearer ${token}`, undefined) as AuthInfo
    assert.deepEqual(uncached.check(`Bearer ${token}`, undefined), a)
  })

  it('accepts an HS256 key and narrows algorithms', () => {
    const secret = generateSecret('HS256')
    const token = issue({}, { key: secret })
    const hs = createAuthenticator(baseOptions({ keys: secret }))
    assert.equal((hs.check(`Bearer ${token}`, undefined) as AuthInfo).userId, 'user-1')
    const onlyEs = createAuthenticator(baseOptions({ keys: secret, algorithms: ['ES256'] }))
    assert.equal((onlyEs.check(`Bearer ${token}`, undefined) as AuthFailure).code, 'invalid_token')
  })

  it('starts a feed it is given, consults it per request, and leaves closing it to its owner', async () => {
    const { feed, calls } = fakeFeed((claims) => claims.sid === 'gone')
    const authenticator = createAuthenticator(
      baseOptions({ revocations: feed, whenStale: 'refuse' }),
    )
    assert.equal(calls.start, 1)
    assert.equal(authenticator.revocations, feed)
    const token = issue({ sid: 'gone' })
    assert.equal(
      (authenticator.check(`Bearer ${token}`, undefined) as AuthFailure).code,
      'token_revoked',
    )
    assert.ok(!(authenticator.check(`Bearer ${issue()}`, undefined) instanceof AuthFailure))
    feed.staleNow = true
    const stale = authenticator.check(`Bearer ${issue()}`, undefined) as AuthFailure
    assert.equal(stale.status, 503)
    assert.equal(stale.message, 'the revocation list is not up to date; try again shortly')
    assert.equal(stale.headers['retry-after'], '5')
    // A refused feed key is no passing outage: the answer says what is wrong.
    feed.unauthorized = true
    const refused = authenticator.check(`Bearer ${issue()}`, undefined) as AuthFailure
    assert.equal(refused.status, 503)
    assert.equal(refused.code, 'unavailable')
    assert.match(
      refused.message,
      /the revocation feed refuses this service \(misconfigured key or token\)/,
    )
    assert.equal(refused.headers['retry-after'], '30')
    await authenticator.close()
    assert.equal(calls.close, 0, 'not ours to close')
  })

  it('owns and closes a feed made from options', async () => {
    const authenticator = createAuthenticator(
      baseOptions({
        revocations: { url: 'http://127.0.0.1:9/auth/revocations', onError: () => {} },
      }),
    )
    const feed = authenticator.revocations!
    assert.equal(feed.stale, true)
    await authenticator.close()
    assert.equal(feed.ready, false)
    assert.equal(await feed.start(), undefined, 'closed: start() resolves at once')
  })
})

describe('createAuthenticator({ verify }): a verifier of your own', () => {
  const verify = createVerifier({
    key: trustedKeys,
    issuer: ISSUER,
    audience: 'orders-api',
    typ: 'at+jwt',
    clock: clock.now,
  })

  it('parses headers and maps failures exactly as with a key source', () => {
    const own = createAuthenticator({ verify })
    const keyed = createAuthenticator(baseOptions())
    const expiredAt = Math.floor(clock.t / 1000) - 1
    const headers = [
      undefined,
      '',
      'Basic dXNlcjpwYXNz',
      'Bearer',
      `Bearer ${issue()} x`,
      `bearer  ${issue()}`,
      `Bearer ${issue({ exp: expiredAt, iat: expiredAt - 60 })}`,
      `Bearer ${issue({ roles: 'admin' })}`,
      'Bearer not.a.jwt',
    ]
    for (const header of headers) {
      const a = own.check(header, undefined)
      const b = keyed.check(header, undefined)
      assert.ok(!(a instanceof Promise) && !(b instanceof Promise), 'a sync verifier: no promise')
      if (a instanceof AuthFailure || b instanceof AuthFailure) {
        const [x, y] = [a as AuthFailure, b as AuthFailure]
        assert.deepEqual([x.status, x.code, x.headers], [y.status, y.code, y.headers], header)
      } else {
        assert.equal(a.userId, b.userId)
      }
    }
  })

  it('checkToken checks a token already taken from the request, and keeps the JwtError as cause', () => {
    const own = createAuthenticator({ verify })
    const token = issue()
    const info = own.checkToken(token)
    assert.ok(!(info instanceof AuthFailure) && !(info instanceof Promise))
    assert.equal(own.checkToken(token), info, 'a cached token gives the same frozen AuthInfo')
    const [header, payload] = token.split('.')
    const forged = own.checkToken(`${header}.${payload}.${'A'.repeat(86)}`) as AuthFailure
    assert.equal(forged.code, 'invalid_token')
    assert.ok(forged.cause instanceof JwtError)
    assert.equal(forged.cause.code, 'invalid_signature')
    assert.equal(forged.message, forged.cause.message)
    assert.ok(!forged.body.includes('cause'), 'the cause is for the log, not the body')
  })

  it('refuses options the verifier is already bound to, and a verify that is not a function', () => {
    const bad: unknown[] = [
      { verify, issuer: ISSUER },
      { verify, keys: trustedKeys },
      { verify, revocations: fakeFeed().feed },
      { verify: 'verify' },
      { verify, cookie: 'bad name' },
      { verify, maxAuthAge: 300 }, // the verifier's clock is its own: use requireRecentAuth()
    ]
    for (const options of bad) {
      assert.throws(
        () => createAuthenticator(options as VerifierAuthenticateOptions),
        TypeError,
        String(Object.keys(options as object)),
      )
    }
    const withCookie = createAuthenticator({ verify, cookie: 'at' })
    assert.ok(!(withCookie.check(undefined, `at=${issue()}`) instanceof AuthFailure))
  })
})

describe('extractBearerToken', () => {
  it('no Bearer credentials is missing_token (RFC 6750 §3.1); Bearer without one token is invalid_token', () => {
    const table: [string | undefined, string][] = [
      [undefined, 'missing_token'],
      ['', 'missing_token'],
      ['Basic dXNlcjpwYXNz', 'missing_token'],
      ['Token abc', 'missing_token'],
      ['Bearer\tabc', 'missing_token'],
      ['xBearer abc', 'missing_token'],
      ['Bearerabc', 'missing_token'],
      ['Bearer', 'invalid_token'],
      ['Bearer ', 'invalid_token'],
      ['Bearer   ', 'invalid_token'],
      ['Bearer a b', 'invalid_token'],
    ]
    for (const [header, code] of table) {
      const failure = extractBearerToken(header)
      assert.ok(failure instanceof AuthFailure, JSON.stringify(header))
      assert.equal(failure.code, code, JSON.stringify(header))
    }
    assert.equal(extractBearerToken('Bearer abc.DEF-_~+/='), 'abc.DEF-_~+/=')
    assert.equal(extractBearerToken('bEaReR   tok  '), 'tok')
  })
})

describe('the catalogue (error-codes.ts)', () => {
  it('gives every failure its status, and every 401 its challenge', () => {
    for (const code of Object.keys(authErrorCodes) as AuthErrorCode[]) {
      const entry: { status: number; challenge?: string } = authErrorCodes[code]
      const failure = new AuthFailure(code, 'a "quoted" message')
      assert.equal(failure.status, entry.status, code)
      assert.equal(entry.challenge !== undefined, entry.status === 401, code)
      const challenge = failure.headers['www-authenticate']
      if (entry.challenge === 'bare') assert.equal(challenge, 'Bearer realm="api"')
      else if (entry.challenge !== undefined) {
        // RFC 9449 §7.1: the DPoP errors belong to the DPoP scheme.
        const scheme =
          code === 'invalid_dpop_proof' || code === 'use_dpop_nonce' ? 'DPoP' : 'Bearer'
        assert.equal(
          challenge,
          `${scheme} error="${entry.challenge}", error_description="a 'quoted' message"`,
        )
      } else assert.equal(challenge, undefined, code)
    }
    assert.equal(
      new AuthFailure('unavailable', 'x', { headers: { 'retry-after': '5' } }).headers[
        'retry-after'
      ],
      '5',
    )
  })
})

describe('failures', () => {
  it('carry the status, the code and a JSON body of the wire shape', () => {
    const authenticator = createAuthenticator(baseOptions())
    const missing = authenticator.check(undefined, undefined) as AuthFailure
    assert.equal(missing.status, 401)
    assert.deepEqual(JSON.parse(missing.body), {
      error: { code: 'missing_token', message: missing.message },
    })
    assert.equal(missing.headers['content-type'], 'application/json; charset=utf-8')
    assert.ok(Object.isFrozen(missing) && Object.isFrozen(missing.headers))
    clock.t += 10_000_000
    try {
      const token = issue({ exp: Math.floor(clock.t / 1000) - 1 })
      const expired = authenticator.check(`Bearer ${token}`, undefined) as AuthFailure
      assert.equal(expired.code, 'token_expired')
    } finally {
      clock.t -= 10_000_000
    }
  })

  it('challengeValue keeps only the characters RFC 6750 §3 allows', () => {
    assert.equal(challengeValue('unexpected "typ"'), "unexpected 'typ'")
    assert.equal(challengeValue('a\\b\r\n\u00e9\u0000c'), 'a b    c')
    for (let code = 0; code < 0x250; code++) {
      const out = challengeValue(`x${String.fromCharCode(code)}`)
      assert.match(out, /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/)
    }
  })

  it('never let a non-JwtError pass as a token failure', () => {
    const authenticator = createAuthenticator(
      baseOptions({
        revocations: fakeFeed(() => {
          throw new RangeError('bug')
        }).feed,
      }),
    )
    assert.throws(() => authenticator.check(`Bearer ${issue()}`, undefined), RangeError)
  })
})

describe('guards', () => {
  const info = (roles: string[], scopes: string[]): AuthInfo => ({
    token: 't',
    claims: {} as AuthInfo['claims'],
    userId: 'u',
    sessionId: undefined,
    roles,
    scopes,
    jkt: undefined,
  })

  it('requireRoles needs any one role; requireAllRoles every role; requireScopes every scope', () => {
    const roles = createRoleGuard(['admin', 'owner'])
    assert.equal(roles(info(['owner'], [])), undefined)
    assert.equal(roles(info(['member'], ['admin']))?.status, 403)
    const allRoles = createRoleGuard(['admin', 'owner'], 'all')
    assert.equal(allRoles(info(['owner', 'member', 'admin'], [])), undefined)
    assert.equal(allRoles(info(['owner'], []))?.code, 'forbidden')
    assert.equal(allRoles(info([], ['admin', 'owner']))?.status, 403)
    assert.throws(() => allRoles(undefined), /requireAllRoles\(\) must run after authenticate/)
    const scopes = createScopeGuard(['a', 'b'])
    assert.equal(scopes(info([], ['b', 'a', 'c'])), undefined)
    const refused = scopes(info(['a', 'b'], ['a']))
    assert.equal(refused?.code, 'forbidden')
    assert.match(
      refused?.headers['www-authenticate'] ?? '',
      /error="insufficient_scope".*scope="a b"$/,
    )
    assert.throws(() => roles(undefined), /after authenticate/)
  })

  it('validate their arguments at creation', () => {
    for (const bad of [[], [''], ['two words'], [7]]) {
      assert.throws(() => createRoleGuard(bad as string[]), TypeError)
      assert.throws(() => createRoleGuard(bad as string[], 'all'), /requireAllRoles/)
      assert.throws(() => createScopeGuard(bad as string[]), TypeError)
    }
    assert.throws(() => createScopeGuard(['a"b']), TypeError)
    for (const bad of [[], [''], ['two words'], [7], ['a"b'], ['a\\b']]) {
      assert.throws(() => createAuthMethodGuard(bad as string[]), /requireAuthMethods/)
      assert.throws(() => createAuthMethodGuard(bad as string[], 'any'), /requireAnyAuthMethod/)
    }
    for (const bad of [undefined, 'soon', -5, 0.5, Number.POSITIVE_INFINITY, '10 minutes']) {
      assert.throws(() => createAuthAgeGuard(bad as string), /requireRecentAuth/)
    }
  })

  const signedIn = (claims: Record<string, unknown>): AuthInfo => ({
    ...info([], []),
    claims: claims as unknown as AuthInfo['claims'],
  })

  it('requireAuthMethods needs every method in amr; requireAnyAuthMethod one of them', () => {
    const all = createAuthMethodGuard(['otp', 'mfa'])
    assert.equal(all(signedIn({ amr: ['pwd', 'otp', 'mfa'] })), undefined)
    for (const amr of [['otp'], [], undefined, 'otp mfa']) {
      const refused = all(signedIn({ amr }))
      assert.equal(refused?.status, 401, JSON.stringify(amr))
      assert.equal(refused?.code, 'mfa_required')
      assert.equal(
        refused?.headers['www-authenticate'],
        'Bearer error="insufficient_user_authentication", error_description="this needs a sign-in with otp and mfa"',
      )
    }
    const any = createAuthMethodGuard(['hwk', 'swk'], 'any')
    assert.equal(any(signedIn({ amr: ['swk'] })), undefined)
    assert.equal(any(signedIn({ amr: ['pwd'] }))?.message, 'this needs a sign-in with hwk or swk')
    assert.equal(any(signedIn({}))?.code, 'mfa_required')
    assert.throws(() => all(undefined), /requireAuthMethods\(\) must run after authenticate/)
    assert.throws(() => any(undefined), /requireAnyAuthMethod\(\) must run after authenticate/)
  })

  it('requireRecentAuth measures auth_time on the clock of the authenticator that made the AuthInfo', () => {
    const recent = createAuthAgeGuard('5m')
    const seconds = Math.floor(clock.t / 1000)
    const made = createAuthenticator(baseOptions({ clockTolerance: 10 }))
    const at = (authTime: number) => made.checkToken(issue({ auth_time: authTime })) as AuthInfo
    assert.equal(recent(at(seconds - 310)), undefined, 'within maxAuthAge + clockTolerance')
    const old = recent(at(seconds - 311))
    assert.equal(old?.status, 403)
    assert.equal(old?.code, 'reauthentication_required')
    assert.match(old?.headers['www-authenticate'] ?? '', /, max_age="300"$/)
    // An AuthInfo made by hand has no authenticator: the system clock, no tolerance.
    const now = Math.floor(Date.now() / 1000)
    assert.equal(recent(signedIn({ auth_time: now - 5 })), undefined)
    assert.equal(recent(signedIn({ auth_time: now - 400 }))?.code, 'reauthentication_required')
    assert.equal(recent(signedIn({ auth_time: String(now) }))?.code, 'reauthentication_required')
    assert.throws(() => recent(undefined), /requireRecentAuth\(\) must run after authenticate/)
  })

  it('maxAuthAge re-checks a cached token on every request, keeping its one AuthInfo', () => {
    const authenticator = createAuthenticator(baseOptions({ maxAuthAge: 60 }))
    const token = issue({ auth_time: Math.floor(clock.t / 1000) })
    const first = authenticator.checkToken(token)
    assert.ok(!(first instanceof AuthFailure) && !(first instanceof Promise))
    assert.equal(authenticator.checkToken(token), first)
    // The authenticator's clock rides along under a symbol: not a key, not in JSON.
    assert.deepEqual(Object.keys(first), [
      'token',
      'claims',
      'userId',
      'sessionId',
      'roles',
      'scopes',
      'jkt',
    ])
    clock.t += 61_000
    try {
      assert.equal(
        (authenticator.checkToken(token) as AuthFailure).code,
        'reauthentication_required',
      )
    } finally {
      clock.t -= 61_000
    }
  })
})

describe('DPoP in the core', () => {
  const client = generateKeyPair('ES256')
  const URL_ = 'https://api.example.test/orders?page=1'

  /** A proof by `key` for GET `htu` with `token`. */
  function proofOf(key: Key, token: string, htu = 'https://api.example.test/orders'): string {
    const { kid: _kid, alg: _alg, use: _use, ...jwk } = exportJwk(key.publicKey)
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const payload = {
      jti: randomUUID(),
      htm: 'GET',
      htu,
      iat: Math.floor(clock.t / 1000),
      ath: accessTokenHash(token),
    }
    const input = `${encode({ typ: 'dpop+jwt', alg: key.alg, jwk })}.${encode(payload)}`
    return `${input}.${key.signData(input)}`
  }
  const bound = () => issue({ cnf: { jkt: client.privateKey.kid } })

  it('throws a TypeError at creation for every DPoP misuse', () => {
    const bad: Partial<AuthenticateOptions>[] = [
      { dpop: 'sometimes' as 'allowed' },
      { dpop: 'required', cookie: 'at' },
      { dpopAlgorithms: ['HS256' as 'ES256'] },
      { dpopAlgorithms: [] },
      { dpopMaxAge: 'a minute' },
      { dpopReplayCache: {} as DpopReplayCache },
      { dpopNonce: 'n-1' as unknown as () => string },
      { publicUrl: 'api.example.test' },
      { publicUrl: 'ftp://api.example.test' },
      { publicUrl: 'https://api.example.test/?a=1' },
      { publicUrl: 'https://api.example.test', forwardedHeader: 'x-forwarded' },
      { forwardedHeader: 'x-real-ip' as 'forwarded' },
    ]
    for (const extra of bad) {
      assert.throws(() => createAuthenticator(baseOptions(extra)), TypeError, JSON.stringify(extra))
    }
  })

  it('checkToken(token, { proof, method, url }): the path of a server that extracts the token itself', () => {
    const verify = createVerifier({
      key: trustedKeys,
      issuer: ISSUER,
      audience: 'orders-api',
      clock: clock.now,
    })
    const own = createAuthenticator({ verify, now: clock.now })
    const token = bound()
    const info = own.checkToken(token, {
      proof: proofOf(client.privateKey, token),
      method: 'GET',
      url: URL_,
    })
    assert.ok(!(info instanceof AuthFailure) && !(info instanceof Promise))
    assert.equal(info.jkt, client.privateKey.kid)
    const asBearer = own.checkToken(token) as AuthFailure
    assert.equal(asBearer.code, 'invalid_token')
    const wrongUrl = own.checkToken(token, {
      proof: proofOf(client.privateKey, token),
      method: 'GET',
      url: 'https://api.example.test/other',
    }) as AuthFailure
    assert.equal(wrongUrl.code, 'invalid_dpop_proof')
    assert.equal(wrongUrl.cause?.claim, 'htu')
    // createAuthenticator({ verify }) takes the DPoP options too.
    const strict = createAuthenticator({ verify, dpop: 'required', now: clock.now })
    assert.equal((strict.checkToken(issue()) as AuthFailure).code, 'invalid_token')
  })

  it('reads a Node IncomingMessage-like request by default, and refuses DPoP when it is not given', () => {
    const authenticator: Authenticator = createAuthenticator(baseOptions())
    const token = bound()
    const request = {
      method: 'GET',
      url: '/orders?page=1',
      headers: { host: 'api.example.test', dpop: proofOf(client.privateKey, token) },
      socket: { encrypted: true },
    }
    const info = authenticator.check(`DPoP ${token}`, undefined, request)
    assert.ok(!(info instanceof AuthFailure) && !(info instanceof Promise), JSON.stringify(info))
    const absolute = { ...request, url: URL_, headers: { dpop: proofOf(client.privateKey, token) } }
    assert.ok(!(authenticator.check(`DPoP ${token}`, undefined, absolute) instanceof AuthFailure))
    const plainHttp = {
      ...request,
      socket: {},
      headers: { ...request.headers, dpop: proofOf(client.privateKey, token) },
    }
    assert.equal(
      (authenticator.check(`DPoP ${token}`, undefined, plainHttp) as AuthFailure).code,
      'invalid_dpop_proof',
    )
    // A target that is not a path cannot extend the public origin.
    const behind = createAuthenticator(baseOptions({ publicUrl: 'https://api.example.test' }))
    const extended = {
      ...request,
      url: '.evil.example/orders',
      headers: {
        dpop: proofOf(client.privateKey, token, 'https://api.example.test.evil.example/orders'),
      },
    }
    assert.equal(
      (behind.check(`DPoP ${token}`, undefined, extended) as AuthFailure).code,
      'invalid_dpop_proof',
    )
    const none = authenticator.check(`DPoP ${token}`, undefined) as AuthFailure
    assert.equal(none.code, 'invalid_dpop_proof')
    assert.match(none.message, /not passed/)
  })

  it('an async replay cache makes the check a promise; its failure is not a token failure', async () => {
    const seen = new Set<string>()
    const replayCache: DpopReplayCache = {
      checkAndAdd: async (key) => !seen.has(key) && seen.add(key) !== undefined,
    }
    const authenticator = createAuthenticator(
      baseOptions({ dpopReplayCache: replayCache, publicUrl: 'https://api.example.test' }),
    )
    const token = bound()
    const request = {
      method: 'GET',
      url: '/orders',
      headers: { dpop: proofOf(client.privateKey, token) },
    }
    const pending = authenticator.check(`DPoP ${token}`, undefined, request)
    assert.ok(pending instanceof Promise)
    assert.equal(((await pending) as AuthInfo).jkt, client.privateKey.kid)
    assert.equal(seen.size, 1)
    const replayed = (await authenticator.check(`DPoP ${token}`, undefined, request)) as AuthFailure
    assert.equal(replayed.code, 'invalid_dpop_proof')
    assert.equal(replayed.cause?.claim, 'jti')
    // Bearer requests never touch it.
    assert.ok(!(authenticator.check(`Bearer ${issue()}`, undefined) instanceof Promise))

    const down = new Error('redis is down')
    const failing = createAuthenticator(
      baseOptions({
        dpopReplayCache: { checkAndAdd: () => Promise.reject(down) },
        publicUrl: 'https://api.example.test',
      }),
    )
    const fresh = { ...request, headers: { dpop: proofOf(client.privateKey, token) } }
    await assert.rejects(
      async () => failing.check(`DPoP ${token}`, undefined, fresh),
      (error) => error === down,
    )
  })
})
