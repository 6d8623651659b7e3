import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { type Algorithm, decode, importSecret, JwtError, type JwtPayload, sign } from '@tessera/jwt'
import * as jose from 'jose'
import { createMemoryKeyStore } from '../../test/support/memory-key-store.ts'
import { createAccessTokenIssuer, createAccessTokenVerifier } from './access-tokens.ts'
import { createKeyRing, type KeyRing } from './key-ring.ts'
import { createSealer } from './sealer.ts'

const ISSUER = 'https://auth.example.com'
const AUDIENCE = 'https://api.example.com'
const TTL = 900
const START = Date.UTC(2025, 5, 1, 12, 0, 0, 250)

async function startRing(
  alg: Algorithm,
  clock: { t: number },
  hsSecret?: Buffer,
): Promise<KeyRing> {
  const ring = createKeyRing({
    store: createMemoryKeyStore(),
    sealer: createSealer(randomBytes(32)),
    alg,
    hsSecrets: hsSecret === undefined ? [] : [{ kid: 'hs-1', secret: hsSecret }],
    rotationInterval: 30 * 86_400,
    accessTokenTtl: TTL,
    now: () => clock.t,
  })
  await ring.start()
  return ring
}

function issuerFor(ring: KeyRing, clock: { t: number }, includeEmail = false) {
  return createAccessTokenIssuer({
    ring,
    issuer: ISSUER,
    audience: AUDIENCE,
    ttl: TTL,
    includeEmail,
    now: () => clock.t,
  })
}

for (const alg of ['ES256', 'EdDSA', 'RS256', 'PS256'] as Algorithm[]) {
  test(`${alg}: access tokens verify with jose against the ring's JWKS, as RFC 9068 tokens`, async () => {
    const clock = { t: START }
    const ring = await startRing(alg, clock)
    const issued = issuerFor(ring, clock).issue({
      userId: 'user-1',
      sessionId: 'session-1',
      roles: ['user', 'admin'],
      scope: 'read write',
    })
    const { payload, protectedHeader } = await jose.jwtVerify(
      issued.token,
      jose.createLocalJWKSet(ring.jwks() as unknown as jose.JSONWebKeySet),
      {
        issuer: ISSUER,
        audience: AUDIENCE,
        typ: 'at+jwt',
        algorithms: [alg],
        currentDate: new Date(clock.t),
        requiredClaims: ['exp', 'iat', 'sub', 'jti', 'sid'],
      },
    )
    assert.deepEqual(protectedHeader, { alg, typ: 'at+jwt', kid: ring.signingKey().kid })
    const iat = Math.floor(START / 1000)
    assert.deepEqual(payload, {
      iss: ISSUER,
      sub: 'user-1',
      aud: AUDIENCE,
      exp: iat + TTL,
      iat,
      jti: issued.jti,
      client_id: 'tessera',
      sid: 'session-1',
      roles: ['user', 'admin'],
      scope: 'read write',
    })
    assert.equal(issued.iat, iat)
    assert.equal(issued.exp, iat + TTL)
    assert.equal(issued.expiresIn, TTL)
    assert.match(
      issued.jti,
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    )
    // jose refuses it once expired: the times come from the injected clock.
    await assert.rejects(
      jose.jwtVerify(
        issued.token,
        jose.createLocalJWKSet(ring.jwks() as unknown as jose.JSONWebKeySet),
        {
          currentDate: new Date(START + (TTL + 1) * 1000),
        },
      ),
      (error: unknown) => error instanceof jose.errors.JWTExpired,
    )
  })
}

test('HS256: access tokens verify with jose and the configured secret', async () => {
  const clock = { t: START }
  const secret = randomBytes(32)
  const ring = await startRing('HS256', clock, secret)
  const issued = issuerFor(ring, clock).issue({ userId: 'u', sessionId: 's', roles: [] })
  const { payload, protectedHeader } = await jose.jwtVerify(issued.token, secret, {
    issuer: ISSUER,
    audience: AUDIENCE,
    typ: 'at+jwt',
    algorithms: ['HS256'],
    currentDate: new Date(clock.t),
  })
  assert.deepEqual(protectedHeader, { alg: 'HS256', typ: 'at+jwt', kid: 'hs-1' })
  assert.equal(payload.sub, 'u')
  assert.deepEqual(payload.roles, [])
  assert.equal(payload.scope, undefined)
  await assert.rejects(
    jose.jwtVerify(issued.token, randomBytes(32), { currentDate: new Date(clock.t) }),
    (error: unknown) => error instanceof jose.errors.JWSSignatureVerificationFailed,
  )
})

test('email is included only when configured and given', async () => {
  const clock = { t: START }
  const ring = await startRing('ES256', clock)
  const input = { userId: 'u', sessionId: 's', roles: ['user'], email: 'ada@example.com' }
  assert.equal(
    decode(issuerFor(ring, clock, true).issue(input).token).payload.email,
    'ada@example.com',
  )
  assert.equal(decode(issuerFor(ring, clock, false).issue(input).token).payload.email, undefined)
  const { email: _email, ...withoutEmail } = input
  assert.equal(
    decode(issuerFor(ring, clock, true).issue(withoutEmail).token).payload.email,
    undefined,
  )
})

test('every token gets its own jti, and the roles array is copied', async () => {
  const clock = { t: START }
  const ring = await startRing('ES256', clock)
  const issuer = issuerFor(ring, clock)
  const roles = ['user']
  const a = issuer.issue({ userId: 'u', sessionId: 's', roles })
  roles.push('admin')
  const b = issuer.issue({ userId: 'u', sessionId: 's', roles: ['user'] })
  assert.notEqual(a.jti, b.jti)
  assert.notEqual(a.token, b.token)
  assert.deepEqual(decode(a.token).payload.roles, ['user'])
})

test("the verifier accepts the ring's tokens and follows the injected clock", async () => {
  const clock = { t: START }
  const ring = await startRing('ES256', clock)
  const issued = issuerFor(ring, clock).issue({ userId: 'u', sessionId: 's', roles: ['user'] })
  const verifyAccess = createAccessTokenVerifier({
    ring,
    issuer: ISSUER,
    audience: AUDIENCE,
    now: () => clock.t,
  })
  const { header, payload } = verifyAccess(issued.token)
  assert.equal(header.typ, 'at+jwt')
  assert.equal(payload.sid, 's')
  assert.equal(payload.jti, issued.jti)
  assert.ok(verifyAccess.cache !== undefined, 'the verified-token cache is on')
  // Cached, but expiry still applies on the injected clock.
  clock.t = START + TTL * 1000
  assert.throws(
    () => verifyAccess(issued.token),
    (error: unknown) => error instanceof JwtError && error.code === 'expired',
  )
  // Moving the clock back makes it valid again: the verifier reads the clock on every call.
  clock.t = START
  assert.equal(verifyAccess(issued.token).payload.sub, 'u')
})

test('the verifier refuses other typ, issuer, audience, algorithm, missing claims and revoked tokens', async () => {
  const clock = { t: START }
  const ring = await startRing('ES256', clock)
  const revoked = new Set<string>()
  const verifyAccess = createAccessTokenVerifier({
    ring,
    issuer: ISSUER,
    audience: AUDIENCE,
    now: () => clock.t,
    isRevoked: (payload: JwtPayload) => revoked.has(payload.sid as string),
  })
  const iat = Math.floor(START / 1000)
  const base = {
    iss: ISSUER,
    sub: 'u',
    aud: AUDIENCE,
    exp: iat + 60,
    iat,
    jti: 'j',
    sid: 's',
    roles: [],
  }
  const at = (claims: Record<string, unknown>, typ = 'at+jwt'): string =>
    sign(claims, ring.signingKey(), { typ, timestamp: false })
  const code = (token: string): string => {
    try {
      verifyAccess(token)
      return 'ok'
    } catch (error) {
      assert.ok(error instanceof JwtError)
      return error.code
    }
  }
  assert.equal(code(at(base)), 'ok')
  assert.equal(code(at(base, 'JWT')), 'claim_invalid')
  assert.equal(code(at({ ...base, iss: 'https://evil.example.com' })), 'claim_invalid')
  assert.equal(code(at({ ...base, aud: 'other' })), 'claim_invalid')
  for (const claim of ['exp', 'iat', 'sub', 'jti', 'sid']) {
    const rest: Record<string, unknown> = { ...base }
    delete rest[claim]
    assert.equal(code(at(rest)), 'claim_invalid', claim)
  }
  // RFC 8725 §3.1: the kid of the ring's key with an HMAC signature is refused.
  const confused = importSecret(randomBytes(32), 'HS256', { kid: ring.signingKey().kid })
  assert.equal(code(sign(base, confused, { typ: 'at+jwt', timestamp: false })), 'alg_not_allowed')
  const good = at({ ...base, sid: 'to-revoke' })
  assert.equal(code(good), 'ok')
  revoked.add('to-revoke')
  assert.equal(code(good), 'revoked', 'revocation applies to cached tokens')
})

test('the verifier follows rotation: a token of a key that left the ring stops verifying, even from the cache', async () => {
  const clock = { t: START }
  const ring = await startRing('ES256', clock)
  const verifyAccess = createAccessTokenVerifier({
    ring,
    issuer: ISSUER,
    audience: AUDIENCE,
    now: () => clock.t,
  })
  const issuer = issuerFor(ring, clock)
  const old = issuer.issue({ userId: 'u', sessionId: 's', roles: [] })
  verifyAccess(old.token)
  await ring.rotate({ immediate: true })
  const fresh = issuer.issue({ userId: 'u', sessionId: 's', roles: [] })
  assert.notEqual(decode(fresh.token).header.kid, decode(old.token).header.kid)
  assert.equal(verifyAccess(old.token).payload.jti, old.jti, 'the retired key still verifies')
  assert.equal(verifyAccess(fresh.token).payload.jti, fresh.jti)
  clock.t = START + (TTL + 60) * 1000
  await ring.maintain()
  clock.t = START
  assert.throws(
    () => verifyAccess(old.token),
    (error: unknown) => error instanceof JwtError && error.code === 'key_not_found',
  )
})

test('misuse of the issuer is refused at creation', async () => {
  const clock = { t: START }
  const ring = await startRing('ES256', clock)
  const base = {
    ring,
    issuer: ISSUER,
    audience: AUDIENCE,
    ttl: TTL,
    includeEmail: false,
    now: () => clock.t,
  }
  assert.throws(() => createAccessTokenIssuer({ ...base, ttl: 0 }), TypeError)
  assert.throws(() => createAccessTokenIssuer({ ...base, ttl: 1.5 }), TypeError)
  assert.throws(() => createAccessTokenIssuer({ ...base, issuer: '' }), TypeError)
  assert.throws(() => createAccessTokenVerifier({ ring, issuer: ISSUER, audience: '' }), TypeError)
})
