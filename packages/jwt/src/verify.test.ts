import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decode } from './decode.ts'
import { generateKeyPair, generateSecret, KeySet } from './keys.ts'
import { sign } from './sign.ts'
import { verify, verifyJws } from './verify.ts'

const now = new Date('2026-01-01T00:00:00Z')
const nowSec = now.getTime() / 1000
const { privateKey, publicKey } = generateKeyPair('ES256', { kid: 'k1' })

test('sign sets iat, exp, nbf, iss, sub, aud, jti from options, and the header from the key', () => {
  const token = sign({ role: 'a' }, privateKey, {
    expiresIn: '15m',
    notBefore: 10,
    issuer: 'https://auth.example',
    subject: 'u1',
    audience: ['api', 'web'],
    jwtId: true,
    typ: 'at+jwt',
    currentDate: now,
  })
  const { header, payload } = decode(token)
  assert.deepEqual(header, { alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
  assert.equal(payload.iat, nowSec)
  assert.equal(payload.exp, nowSec + 900)
  assert.equal(payload.nbf, nowSec + 10)
  assert.equal(payload.iss, 'https://auth.example')
  assert.deepEqual(payload.aud, ['api', 'web'])
  assert.match(String(payload.jti), /^[0-9a-f-]{36}$/)
  assert.equal(payload.role, 'a')
})

test('sign refuses conflicting claims, reserved header parameters, public keys and non-objects', () => {
  assert.throws(() => sign({ exp: 1 }, privateKey, { expiresIn: 60 }), TypeError)
  assert.throws(() => sign({}, privateKey, { header: { alg: 'none' } }), TypeError)
  assert.throws(() => sign({}, publicKey), { code: 'key_invalid' })
  assert.throws(() => sign([] as never, privateKey), TypeError)
  assert.throws(() => sign({}, privateKey, { expiresIn: 'soon' }), TypeError)
  const token = sign({}, privateKey, { header: { cty: 'x' }, timestamp: false })
  assert.equal(decode(token).header.cty, 'x')
  assert.equal(decode(token).payload.iat, undefined)
})

test('verify checks signature, then claims, with the options given', () => {
  const token = sign({}, privateKey, {
    expiresIn: 60,
    issuer: 'iss',
    audience: 'api',
    subject: 's',
    typ: 'at+jwt',
    currentDate: now,
  })
  const ok = verify(token, publicKey, {
    currentDate: now,
    issuer: ['other', 'iss'],
    audience: ['x', 'api'],
    subject: 's',
    typ: 'application/AT+JWT',
  })
  assert.equal(ok.payload.iss, 'iss')
  assert.equal(ok.header.kid, 'k1')
  const at = (seconds: number) => new Date(now.getTime() + seconds * 1000)
  assert.throws(() => verify(token, publicKey, { currentDate: at(60) }), { code: 'expired' })
  assert.equal(
    verify(token, publicKey, { currentDate: at(60), clockTolerance: '1s' }).payload.sub,
    's',
  )
  assert.throws(() => verify(token, publicKey, { currentDate: now, issuer: 'no' }), {
    code: 'claim_invalid',
    claim: 'iss',
  })
  assert.throws(() => verify(token, publicKey, { currentDate: now, audience: 'no' }), {
    code: 'claim_invalid',
    claim: 'aud',
  })
  assert.throws(() => verify(token, publicKey, { currentDate: now, typ: 'JWT' }), {
    code: 'claim_invalid',
    claim: 'typ',
  })
  assert.throws(() => verify(token, publicKey, { currentDate: now, algorithms: ['EdDSA'] }), {
    code: 'alg_not_allowed',
  })
  assert.throws(() => verify(token, publicKey, { currentDate: now, requiredClaims: ['jti'] }), {
    code: 'claim_invalid',
    claim: 'jti',
  })
  assert.throws(() => verify(token, publicKey, { currentDate: at(-3600), maxTokenAge: '1m' }), {
    code: 'claim_invalid',
    claim: 'iat',
  })
  assert.throws(() => verify(token, publicKey, { currentDate: at(59), maxTokenAge: 30 }), {
    code: 'expired',
    claim: 'iat',
  })
})

test('nbf in the future is not_yet_valid; a token without exp needs requiredClaims: []', () => {
  const later = sign({}, privateKey, { notBefore: 30, expiresIn: 60, currentDate: now })
  assert.throws(() => verify(later, publicKey, { currentDate: now }), { code: 'not_yet_valid' })
  assert.ok(verify(later, publicKey, { currentDate: now, clockTolerance: 30 }))
  const forever = sign({ sub: 'x' }, privateKey)
  assert.throws(() => verify(forever, publicKey), { code: 'claim_invalid', claim: 'exp' })
  assert.equal(verify(forever, publicKey, { requiredClaims: [] }).payload.sub, 'x')
})

test('auth_time and amr (RFC 9068 §2.2.1) are typed when present; auth_time not in the future', () => {
  const token = (claims: Record<string, unknown>) =>
    sign(claims, privateKey, { expiresIn: 60, currentDate: now })
  const good = verify(token({ auth_time: nowSec - 600, amr: ['pwd', 'otp', 'mfa'] }), publicKey, {
    currentDate: now,
  })
  assert.deepEqual(good.payload.amr, ['pwd', 'otp', 'mfa'])
  assert.ok(verify(token({ auth_time: nowSec, amr: [] }), publicKey, { currentDate: now }))
  const refused: [Record<string, unknown>, string][] = [
    [{ auth_time: String(nowSec) }, 'auth_time'],
    [{ auth_time: null }, 'auth_time'],
    [{ auth_time: nowSec + 1 }, 'auth_time'],
    [{ amr: 'mfa' }, 'amr'],
    [{ amr: ['pwd', 7] }, 'amr'],
    [{ amr: null }, 'amr'],
  ]
  for (const [claims, claim] of refused) {
    assert.throws(() => verify(token(claims), publicKey, { currentDate: now }), {
      code: 'claim_invalid',
      claim,
    })
  }
  const skewed = token({ auth_time: nowSec + 30 })
  assert.ok(verify(skewed, publicKey, { currentDate: now, clockTolerance: 30 }))
})

test('the key picks the algorithm: the same key material under another alg is refused', () => {
  const secret = generateSecret('HS256')
  const token = sign({}, secret, { expiresIn: 60 })
  assert.throws(() => verify(token, publicKey), { code: 'alg_not_allowed' })
  const set = new KeySet([publicKey, generateKeyPair('EdDSA', { kid: 'ed' }).publicKey])
  assert.ok(verify(sign({}, privateKey, { expiresIn: 60 }), set))
  const stranger = generateKeyPair('ES256', { kid: 'k9' }).privateKey
  assert.throws(() => verify(sign({}, stranger, { expiresIn: 60 }), set), { code: 'key_not_found' })
  const impostor = generateKeyPair('ES256', { kid: 'k1' }).privateKey
  assert.throws(() => verify(sign({}, impostor, { expiresIn: 60 }), set), {
    code: 'invalid_signature',
  })
})

test('options are validated up front with a TypeError', () => {
  const token = sign({}, privateKey, { expiresIn: 60 })
  assert.throws(() => verify(token, publicKey, { algorithms: ['none' as never] }), TypeError)
  assert.throws(() => verify(token, publicKey, { audience: [] }), TypeError)
  assert.throws(() => verify(token, publicKey, { clockTolerance: 'later' }), TypeError)
  assert.throws(() => verify(token, publicKey, { currentDate: new Date('x') }), TypeError)
  assert.throws(() => verify(token, {} as never), TypeError)
})

test('verifyJws returns the payload bytes without claim checks', () => {
  const token = sign({ a: 1 }, privateKey, { timestamp: false })
  const { header, payload } = verifyJws(token, publicKey)
  assert.equal(header.alg, 'ES256')
  assert.deepEqual(JSON.parse(payload.toString()), { a: 1 })
})

test('verifyJws accepts an empty payload (RFC 7515 §2: any octet sequence); verify, a JWT, does not', () => {
  const input = `${Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'k1' })).toString('base64url')}.`
  const token = `${input}.${privateKey.signData(input)}`
  const { header, payload } = verifyJws(token, publicKey)
  assert.equal(header.alg, 'ES256')
  assert.equal(payload.length, 0)
  assert.throws(() => verify(token, publicKey), { code: 'malformed' })
  // The signature still covers the empty payload: another payload does not verify.
  const [h, , signature] = token.split('.')
  assert.throws(() => verifyJws(`${h}.e30.${signature}`, publicKey), { code: 'invalid_signature' })
})

test('verifyJws checks detached content (RFC 7515 Appendix F) against the signature', () => {
  const content = '{"amount":100,"to":"acct-1"}'
  const attached = sign(JSON.parse(content), privateKey, { timestamp: false })
  const [h, , signature] = attached.split('.')
  const detached = `${h}..${signature}`
  const { payload } = verifyJws(detached, publicKey, { detachedPayload: content })
  assert.equal(payload.toString(), content)
  assert.deepEqual(
    verifyJws(detached, publicKey, { detachedPayload: Buffer.from(content) }).payload,
    payload,
  )
  assert.throws(() => verifyJws(detached, publicKey, { detachedPayload: `${content} ` }), {
    code: 'invalid_signature',
  })
  // Detached content only where the payload segment is empty.
  assert.throws(() => verifyJws(attached, publicKey, { detachedPayload: content }), {
    code: 'malformed',
  })
  assert.throws(() => verifyJws(detached, publicKey), { code: 'invalid_signature' })
  assert.throws(() => verifyJws(detached, publicKey, { detachedPayload: 42 as never }), TypeError)
})

test('decode reads without verifying and still rejects malformed input', () => {
  const token = sign({ a: 1 }, privateKey)
  assert.equal(decode(token).payload.a, 1)
  assert.throws(() => decode('a.b'), { code: 'malformed' })
  assert.throws(() => decode(`${token}=`), { code: 'malformed' })
  assert.throws(() => decode('W10.W10.'), { code: 'malformed' })
})
