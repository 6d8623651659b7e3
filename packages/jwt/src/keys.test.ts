import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { test } from 'node:test'
import { ALGORITHMS, type Algorithm } from './algorithms.ts'
import {
  exportJwk,
  generateKeyPair,
  generateSecret,
  importJwk,
  importKeyObject,
  importPem,
  importSecret,
  type Key,
  KeySet,
} from './keys.ts'

function keyFor(alg: Algorithm): Key {
  return alg.startsWith('HS')
    ? generateSecret(alg as 'HS256')
    : generateKeyPair(alg as 'ES256').privateKey
}

for (const alg of ALGORITHMS) {
  test(`${alg}: JWK export and import round-trip, private and public, keeping kid and alg`, () => {
    const key = keyFor(alg)
    const full = exportJwk(key, { includePrivate: true })
    assert.equal(full.alg, alg)
    assert.equal(full.use, 'sig')
    const again = importJwk(full)
    assert.equal(again.kid, key.kid)
    assert.equal(again.alg, alg)
    assert.equal(again.type, key.type)
    const input = 'eyJhbGciOiJ4In0.eyJ9'
    assert.ok(key.verifySignature(input, again.signData(input)))
    if (key.type !== 'secret') {
      const pub = exportJwk(key)
      assert.equal(pub.d, undefined, 'no private member in a public export')
      const imported = importJwk(pub)
      assert.equal(imported.type, 'public')
      assert.equal(imported.kid, key.kid)
      assert.ok(imported.verifySignature(input, key.signData(input)))
    }
  })
}

test('kid defaults to the RFC 7638 thumbprint, the same for private and public halves', () => {
  const { privateKey, publicKey } = generateKeyPair('ES256')
  assert.match(privateKey.kid, /^[A-Za-z0-9_-]{43}$/)
  assert.equal(publicKey.kid, privateKey.kid)
  const jwk = exportJwk(publicKey)
  delete jwk.kid
  assert.equal(importJwk(jwk).kid, privateKey.kid)
  assert.equal(generateKeyPair('ES256', { kid: 'k1' }).publicKey.kid, 'k1')
})

test('the algorithm comes from the curve for EC and Ed25519, and must be given for RSA and secrets', () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  assert.equal(importKeyObject(privateKey).alg, 'ES384')
  assert.throws(() => importKeyObject(privateKey, 'ES256'), { code: 'key_invalid' })
  const rsa = generateKeyPair('RS256')
  const jwk = exportJwk(rsa.publicKey)
  delete jwk.alg
  assert.throws(() => importJwk(jwk), { code: 'key_invalid' })
  assert.equal(importJwk(jwk, { alg: 'PS256' }).alg, 'PS256')
  assert.throws(() => importJwk({ ...jwk, alg: 'RS256' }, { alg: 'PS256' }), {
    code: 'key_invalid',
  })
})

test('PEM import: SPKI, PKCS#8, SEC1, PKCS#1, and a PEM is never an HMAC secret', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const spki = ec.publicKey.export({ type: 'spki', format: 'pem' }) as string
  const sec1 = ec.privateKey.export({ type: 'sec1', format: 'pem' }) as string
  assert.equal(importPem(spki).type, 'public')
  assert.equal(importPem(sec1).type, 'private')
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const pkcs1 = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string
  const pkcs8 = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  assert.equal(importPem(pkcs1, 'RS256').alg, 'RS256')
  assert.equal(importPem(pkcs8, 'PS512').type, 'private')
  assert.throws(() => importSecret(spki), { code: 'key_invalid' })
  assert.throws(() => importPem('not a pem'), { code: 'key_invalid' })
  assert.throws(() => importPem('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'), {
    code: 'key_invalid',
  })
})

test('secrets shorter than the hash output are refused', () => {
  assert.throws(() => importSecret('x'.repeat(31), 'HS256'), { code: 'key_invalid' })
  assert.equal(importSecret('x'.repeat(32), 'HS256').alg, 'HS256')
  assert.throws(() => importSecret(new Uint8Array(47), 'HS384'), { code: 'key_invalid' })
  assert.throws(() => importSecret(new Uint8Array(63), 'HS512'), { code: 'key_invalid' })
  assert.throws(() => importJwk({ kty: 'oct', k: 'c2hvcnQ', alg: 'HS256' }), {
    code: 'key_invalid',
  })
})

test('exportJwk of a secret needs includePrivate; the Key constructor is not public', () => {
  const secret = generateSecret('HS512')
  assert.throws(() => exportJwk(secret), { code: 'key_invalid' })
  assert.equal(exportJwk(secret, { includePrivate: true }).k?.length, 86)
  const KeyClass = secret.constructor as new (...args: unknown[]) => Key
  assert.throws(() => new KeyClass(Symbol('x'), secret.keyObject, 'HS512', 'k'), TypeError)
})

test('JWK members that are not for signing are refused', () => {
  const jwk = exportJwk(generateKeyPair('ES256').publicKey)
  assert.throws(() => importJwk({ ...jwk, use: 'enc' }), { code: 'key_invalid' })
  assert.throws(() => importJwk({ ...jwk, key_ops: ['encrypt'] }), { code: 'key_invalid' })
  assert.equal(importJwk({ ...jwk, key_ops: ['verify'] }).alg, 'ES256')
  assert.throws(() => importJwk({ ...jwk, kty: 'XYZ' }), { code: 'key_invalid' })
  assert.throws(() => importJwk({ ...jwk, x: 'AAAA' }), { code: 'key_invalid' })
  assert.throws(() => importJwk(null as never), { code: 'key_invalid' })
})

test('KeySet: lookup by kid with the key bound alg; without kid only an unambiguous key', () => {
  const a = generateKeyPair('ES256', { kid: 'a' }).publicKey
  const b = generateKeyPair('EdDSA', { kid: 'b' }).publicKey
  const set = new KeySet([a, b])
  assert.equal(set.select('ES256', 'a'), a)
  assert.throws(() => set.select('ES256', 'b'), { code: 'alg_not_allowed' })
  assert.throws(() => set.select('ES256', 'zzz'), { code: 'key_not_found' })
  assert.equal(set.select('EdDSA', undefined), b)
  set.add(generateKeyPair('ES256', { kid: 'c' }).publicKey)
  assert.throws(() => set.select('ES256', undefined), { code: 'key_not_found' })
  assert.throws(() => set.add(a), { code: 'key_invalid' })
  assert.equal(set.size, 3)
  assert.ok(set.delete('c'))
  assert.equal(set.has('c'), false)
})

test('KeySet.toJwks publishes public keys only and fromJwks skips what it cannot use', () => {
  const pair = generateKeyPair('ES256', { kid: 'ec' })
  const set = new KeySet([pair.privateKey, generateSecret('HS256', { kid: 'hs' })])
  const jwks = set.toJwks()
  assert.deepEqual(
    jwks.keys.map((k) => k.kid),
    ['ec'],
  )
  assert.equal(jwks.keys[0]?.d, undefined)
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
    format: 'jwk',
  })
  const parsed = KeySet.fromJwks({
    keys: [
      ...jwks.keys,
      { ...weak, kty: 'RSA', alg: 'RS256', kid: 'weak' },
      { kty: 'EC', use: 'enc' },
    ],
  })
  assert.deepEqual(
    [...parsed].map((k) => k.kid),
    ['ec'],
  )
  assert.throws(() => KeySet.fromJwks({ keys: [{ kty: 'EC', use: 'enc' }] }, { strict: true }), {
    code: 'key_invalid',
  })
  assert.throws(() => KeySet.fromJwks({} as never), { code: 'key_invalid' })
})
