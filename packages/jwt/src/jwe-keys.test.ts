import assert from 'node:assert/strict'
import { createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { decrypt, encrypt } from './jwe.ts'
import {
  EncryptionKey,
  EncryptionKeySet,
  exportEncryptionJwk,
  generateEncryptionKeyPair,
  generateEncryptionSecret,
  importEncryptionJwk,
  importEncryptionKeyObject,
  importEncryptionSecret,
} from './jwe-keys.ts'
import { generateKeyPair, importJwk, KeySet } from './keys.ts'

for (const [alg, crv] of [
  ['ECDH-ES', 'P-256'],
  ['ECDH-ES+A128KW', 'P-384'],
  ['ECDH-ES+A256KW', 'X25519'],
  ['RSA-OAEP-256', undefined],
] as const) {
  test(`${alg}${crv === undefined ? '' : ` ${crv}`}: JWK export and import round-trip, keeping kid, alg and use`, () => {
    const { privateKey, publicKey } = generateEncryptionKeyPair(
      alg,
      crv === undefined ? {} : { crv },
    )
    assert.equal(privateKey.alg, alg)
    assert.equal(privateKey.curve, alg === 'RSA-OAEP-256' ? undefined : crv)
    assert.equal(publicKey.type, 'public')
    assert.equal(publicKey.kid, privateKey.kid, 'the kid is the thumbprint of the public key')
    const full = exportEncryptionJwk(privateKey, { includePrivate: true })
    assert.equal(full.use, 'enc')
    assert.equal(full.alg, alg)
    const again = importEncryptionJwk(full)
    assert.equal(again.kid, privateKey.kid)
    assert.equal(again.type, 'private')
    const pub = exportEncryptionJwk(privateKey)
    assert.equal(pub.d, undefined, 'no private member in a public export')
    const jwe = encrypt('round trip', importEncryptionJwk(pub), { enc: 'A128GCM' })
    assert.equal(decrypt(jwe, again).plaintext.toString(), 'round trip')
  })
}

test('dir keys are bound to one enc, sized for it; an oct JWK with an enc as alg is a dir key', () => {
  const key = generateEncryptionSecret('dir', { enc: 'A256CBC-HS512' })
  assert.equal(key.secret!.length, 64)
  assert.equal(key.enc, 'A256CBC-HS512')
  const jwk = exportEncryptionJwk(key, { includePrivate: true })
  assert.equal(jwk.alg, 'A256CBC-HS512', 'as RFC 7520 §5.6 writes a dir key')
  const back = importEncryptionJwk(jwk)
  assert.equal(back.alg, 'dir')
  assert.equal(back.enc, 'A256CBC-HS512')
  assert.throws(() => generateEncryptionSecret('dir'), TypeError)
  assert.throws(() => importEncryptionSecret(randomBytes(16), 'dir'), { code: 'key_invalid' })
  assert.throws(() => importEncryptionSecret(randomBytes(16), 'dir', { enc: 'A256GCM' }), {
    code: 'key_invalid',
  })
  assert.throws(() => importEncryptionJwk({ ...jwk, alg: 'dir' }), { code: 'key_invalid' })
  assert.equal(
    importEncryptionJwk({ ...jwk, alg: 'dir' }, { enc: 'A256CBC-HS512' }).enc,
    'A256CBC-HS512',
  )
  assert.throws(() => importEncryptionJwk(jwk, { enc: 'A128GCM' }), { code: 'key_invalid' })
  assert.throws(() => importEncryptionJwk(jwk, { alg: 'A256KW' }), { code: 'key_invalid' })
})

test('AES key wrap keys are exactly 16 or 32 bytes', () => {
  assert.equal(generateEncryptionSecret('A128KW').secret!.length, 16)
  assert.equal(generateEncryptionSecret('A256KW').secret!.length, 32)
  assert.throws(() => importEncryptionSecret(randomBytes(32), 'A128KW'), { code: 'key_invalid' })
  assert.throws(() => importEncryptionSecret(randomBytes(24), 'A256KW'), { code: 'key_invalid' })
  assert.throws(() => importEncryptionSecret('secret' as never, 'A128KW'), { code: 'key_invalid' })
})

test('keys that do not fit their algorithm are refused', () => {
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey
  assert.throws(() => importEncryptionKeyObject(rsa1024, 'RSA-OAEP-256'), { code: 'key_invalid' })
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
  assert.throws(() => importEncryptionKeyObject(ec, 'RSA-OAEP-256'), { code: 'key_invalid' })
  assert.throws(() => importEncryptionKeyObject(ec, 'A128KW'), { code: 'key_invalid' })
  const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey
  assert.throws(() => importEncryptionKeyObject(p521, 'ECDH-ES'), { code: 'key_invalid' })
  const ed = generateKeyPairSync('ed25519').privateKey
  assert.throws(() => importEncryptionKeyObject(ed, 'ECDH-ES'), { code: 'key_invalid' })
  assert.throws(() => importEncryptionKeyObject(createSecretKey(randomBytes(16)), 'ECDH-ES'), {
    code: 'key_invalid',
  })
  assert.throws(() => importEncryptionKeyObject(ec, 'ES256' as never), { code: 'key_invalid' })
  assert.throws(() => importEncryptionKeyObject(ec, 'ECDH-ES', { enc: 'A192GCM' as never }), {
    code: 'key_invalid',
  })
  assert.throws(() => new EncryptionKey(Symbol('x'), ec, 'ECDH-ES', {}), TypeError)
})

test('a JWK for signatures is not an encryption key, and the other way round', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' })
  assert.throws(() => importEncryptionJwk({ ...ec, kty: 'EC', use: 'sig', alg: 'ECDH-ES' }), {
    code: 'key_invalid',
  })
  assert.throws(() => importEncryptionJwk({ ...ec, kty: 'EC', alg: 'ES256' }), {
    code: 'key_invalid',
  })
  assert.throws(
    () => importEncryptionJwk({ ...ec, kty: 'EC', alg: 'ECDH-ES', key_ops: ['verify'] }),
    { code: 'key_invalid' },
  )
  assert.equal(
    importEncryptionJwk({ ...ec, kty: 'EC', alg: 'ECDH-ES', key_ops: ['deriveBits'] }).alg,
    'ECDH-ES',
  )
  // An EC key fits three ECDH-ES variants: it needs an alg.
  assert.throws(() => importEncryptionJwk({ ...ec, kty: 'EC' }), { code: 'key_invalid' })
  // The JWS side still refuses encryption keys.
  assert.throws(() => importJwk({ ...ec, kty: 'EC', use: 'enc' }), { code: 'key_invalid' })
  assert.throws(() => importEncryptionJwk([] as never), { code: 'key_invalid' })
  assert.throws(() => importEncryptionJwk({ kty: 'oct', k: 'a+b/', alg: 'A128KW' }), {
    code: 'key_invalid',
  })
  assert.throws(
    () => importEncryptionJwk({ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', alg: 'ECDH-ES' }),
    {
      code: 'key_invalid',
    },
  )
})

test('secret keys are exported only on request; a KeySet refuses encryption keys', () => {
  const secret = generateEncryptionSecret('A128KW')
  assert.throws(() => exportEncryptionJwk(secret), { code: 'key_invalid' })
  assert.throws(() => exportEncryptionJwk(generateKeyPair('ES256').privateKey as never), TypeError)
  assert.throws(() => new KeySet([secret as never]), TypeError)
  assert.throws(
    () => new EncryptionKeySet([generateKeyPair('ES256').privateKey as never]),
    TypeError,
  )
})

test('EncryptionKeySet: select by kid, alg and enc; fromJwks skips what it cannot use; toJwks publishes public keys', () => {
  const ecdh = generateEncryptionKeyPair('ECDH-ES+A256KW', { kid: 'e1' })
  const rsa = generateEncryptionKeyPair('RSA-OAEP-256', { kid: 'r1' })
  const dir = generateEncryptionSecret('dir', { enc: 'A128GCM', kid: 'd1' })
  const set = new EncryptionKeySet([ecdh.privateKey, rsa.privateKey, dir])
  assert.equal(set.size, 3)
  assert.equal(set.select('ECDH-ES+A256KW', 'A256GCM', 'e1'), ecdh.privateKey)
  assert.equal(set.select('ECDH-ES+A256KW', 'A256GCM', undefined), ecdh.privateKey)
  assert.throws(() => set.select('RSA-OAEP-256', 'A256GCM', 'e1'), { code: 'alg_not_allowed' })
  assert.throws(() => set.select('dir', 'A256GCM', 'd1'), { code: 'alg_not_allowed' })
  assert.throws(() => set.select('dir', 'A256GCM', undefined), { code: 'key_not_found' })
  assert.throws(() => set.select('A128KW', 'A128GCM', 'nope'), { code: 'key_not_found' })
  assert.throws(() => set.add(generateEncryptionSecret('A128KW', { kid: 'd1' })), {
    code: 'key_invalid',
  })

  const published = set.toJwks()
  assert.deepEqual(
    published.keys.map((k) => [k.kid, k.use, k.d]),
    [
      ['e1', 'enc', undefined],
      ['r1', 'enc', undefined],
    ],
  )
  const signing = {
    ...(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      format: 'jwk',
    }) as object),
    kty: 'EC',
    use: 'sig',
    alg: 'ES256',
    kid: 's1',
  }
  const noAlg = { ...exportEncryptionJwk(ecdh.privateKey), alg: undefined, kid: 'n1' }
  const mixed = { keys: [signing, ...published.keys, noAlg] }
  const lenient = EncryptionKeySet.fromJwks(mixed)
  assert.deepEqual(
    [...lenient].map((k) => k.kid),
    ['e1', 'r1'],
  )
  assert.throws(() => EncryptionKeySet.fromJwks(mixed, { strict: true }), { code: 'key_invalid' })
  // A client's JWKS without alg: the registered algorithm applies.
  const registered = EncryptionKeySet.fromJwks({ keys: [noAlg] }, { alg: 'ECDH-ES' })
  assert.equal(registered.get('n1')?.alg, 'ECDH-ES')
  assert.throws(() => EncryptionKeySet.fromJwks({} as never), { code: 'key_invalid' })
  assert.ok(set.delete('d1'))
  assert.equal(set.has('d1'), false)
})
