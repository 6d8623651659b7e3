import assert from 'node:assert/strict'
import { test } from 'node:test'
import { concatKdf, decrypt, encrypt } from './jwe.ts'
import { generateEncryptionKeyPair, generateEncryptionSecret } from './jwe-keys.ts'

function headerOf(jwe: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwe.split('.')[0]!, 'base64url').toString('utf8'))
}

const { privateKey, publicKey } = generateEncryptionKeyPair('ECDH-ES+A128KW', { kid: 'rcpt' })

test('encrypt: the header carries alg from the key, enc, kid, typ and cty', () => {
  const jwe = encrypt({ a: 1 }, publicKey, { enc: 'A256GCM', typ: 'JWT', cty: 'json' })
  const header = headerOf(jwe)
  assert.equal(header.alg, 'ECDH-ES+A128KW')
  assert.equal(header.enc, 'A256GCM')
  assert.equal(header.kid, 'rcpt')
  assert.equal(header.typ, 'JWT')
  assert.equal(header.cty, 'json')
  assert.deepEqual(Object.keys(header.epk as object).sort(), ['crv', 'kty', 'x', 'y'])
  assert.deepEqual(JSON.parse(decrypt(jwe, privateKey).plaintext.toString()), { a: 1 })
  // A fresh ephemeral key and IV every time.
  const again = encrypt({ a: 1 }, publicKey, { enc: 'A256GCM', typ: 'JWT', cty: 'json' })
  assert.notDeepEqual(headerOf(again).epk, header.epk)
  assert.notEqual(again.split('.')[2], jwe.split('.')[2])
})

test('encrypt: kid false leaves it out, a string replaces it, extra header members pass', () => {
  const key = generateEncryptionSecret('A256KW', { kid: 'wrap' })
  assert.equal(headerOf(encrypt('x', key, { enc: 'A128GCM', kid: false })).kid, undefined)
  assert.equal(headerOf(encrypt('x', key, { enc: 'A128GCM', kid: 'other' })).kid, 'other')
  const jwe = encrypt('x', key, { enc: 'A128GCM', header: { 'urn:example': [1] } })
  assert.deepEqual(headerOf(jwe)['urn:example'], [1])
  assert.equal(decrypt(jwe, key).plaintext.toString(), 'x')
  // Cached headers do not leak between option sets, however their strings look.
  assert.equal(headerOf(encrypt('x', key, { enc: 'A128GCM' })).kid, 'wrap')
  assert.equal(headerOf(encrypt('x', key, { enc: 'A256GCM' })).enc, 'A256GCM')
  const spaced = headerOf(encrypt('x', key, { enc: 'A128GCM', kid: 'k undefined' }))
  const typed = headerOf(
    encrypt('x', key, { enc: 'A128GCM', kid: 'k', typ: 'undefined', cty: 'undefined undefined' }),
  )
  assert.deepEqual([spaced.kid, spaced.typ, spaced.cty], ['k undefined', undefined, undefined])
  assert.deepEqual([typed.kid, typed.typ, typed.cty], ['k', 'undefined', 'undefined undefined'])
})

test('encrypt: misuse is a TypeError or key_invalid at once', () => {
  assert.throws(() => encrypt('x', publicKey), TypeError, 'enc is required')
  assert.throws(() => encrypt('x', publicKey, { enc: 'A192GCM' as never }), TypeError)
  assert.throws(() => encrypt('x', publicKey, { enc: 'A128GCM', alg: 'ECDH-ES' }), {
    code: 'key_invalid',
  })
  const dir = generateEncryptionSecret('dir', { enc: 'A128GCM' })
  assert.ok(encrypt('x', dir), 'a dir key brings its enc')
  assert.throws(() => encrypt('x', dir, { enc: 'A256GCM' }), { code: 'key_invalid' })
  for (const name of ['alg', 'enc', 'epk', 'zip', 'crit', 'kid']) {
    assert.throws(() => encrypt('x', dir, { header: { [name]: 'x' } }), TypeError)
  }
  assert.throws(() => encrypt(42 as never, dir), TypeError)
  assert.throws(() => encrypt(null as never, dir), TypeError)
  assert.throws(() => encrypt('x', {} as never, { enc: 'A128GCM' }), TypeError)
  assert.throws(() => encrypt('x', dir, { kid: '' }), TypeError)
  assert.throws(() => decrypt('x', {} as never), TypeError)
})

test('ECDH-ES: apu and apv go into the header and the key derivation', () => {
  const jwe = encrypt('x', publicKey, {
    enc: 'A128GCM',
    apu: Buffer.from('Alice'),
    apv: Buffer.from('Bob'),
  })
  const header = headerOf(jwe)
  assert.equal(header.apu, 'QWxpY2U')
  assert.equal(header.apv, 'Qm9i')
  assert.equal(decrypt(jwe, privateKey).plaintext.toString(), 'x')
})

test('concatKdf matches RFC 7518 Appendix C', () => {
  // RFC 7518 Appendix C: ECDH-ES with A128GCM, apu "Alice", apv "Bob".
  const z = Buffer.from([
    158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163,
    218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196,
  ])
  const key = concatKdf(z, 16, 'A128GCM', Buffer.from('Alice'), Buffer.from('Bob'))
  assert.equal(key.toString('base64url'), 'VqqN6vgjbSBcIijNcacQGg')
})

test('empty plaintexts encrypt and decrypt with every enc', () => {
  for (const enc of ['A128GCM', 'A256GCM', 'A128CBC-HS256', 'A256CBC-HS512'] as const) {
    const key = generateEncryptionSecret('dir', { enc })
    const jwe = encrypt('', key)
    assert.equal(decrypt(jwe, key).plaintext.length, 0)
  }
})

test('the decrypted header is frozen', () => {
  const key = generateEncryptionSecret('A128KW')
  const { header } = decrypt(encrypt('x', key, { enc: 'A128GCM' }), key)
  assert.ok(Object.isFrozen(header))
})
