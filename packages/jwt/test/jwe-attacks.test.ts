// Every JWE refusal, as an attacker would try it: truncated tags, IVs of the
// wrong length, ephemeral keys off the curve (built by hand), RSA1_5 and
// PBES2 headers, `zip`, `crit`, non-canonical base64url, oversized input,
// algorithm confusion; and tampering with each part (ciphertext, AAD, IV,
// tag, encrypted key), which must all give the same `decryption_failed`
// with the same message, whatever step failed.

import assert from 'node:assert/strict'
import {
  constants,
  createCipheriv,
  createECDH,
  createHmac,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
} from 'node:crypto'
import { describe, it } from 'node:test'
import { JwtError, type JwtErrorCode } from '../src/errors.ts'
import { decrypt, encrypt, encryptContent, wrapKey } from '../src/jwe.ts'
import { contentEncryptionSpec } from '../src/jwe-algorithms.ts'
import { decryptJwt, encryptJwt } from '../src/jwe-jwt.ts'
import {
  type EncryptionKey,
  EncryptionKeySet,
  generateEncryptionKeyPair,
  generateEncryptionSecret,
  importEncryptionKeyObject,
  importEncryptionSecret,
} from '../src/jwe-keys.ts'
import { generateKeyPair, importSecret } from '../src/keys.ts'
import { sign } from '../src/sign.ts'
import { b64, b64json } from './helpers.ts'
import { JWE_CASES, recipientKeys } from './jwe-helpers.ts'

function expectCode(run: () => unknown, code: JwtErrorCode, message?: RegExp): JwtError {
  let thrown: unknown
  try {
    run()
  } catch (error) {
    thrown = error
  }
  assert.ok(thrown instanceof JwtError, `expected a JwtError (${code}), got ${String(thrown)}`)
  assert.equal(thrown.code, code, `expected ${code}, got ${thrown.code}: ${thrown.message}`)
  if (message !== undefined) assert.match(thrown.message, message)
  return thrown
}

interface Parts {
  header: string
  encryptedKey: string
  iv: string
  ciphertext: string
  tag: string
}

function split(jwe: string): Parts {
  const [header, encryptedKey, iv, ciphertext, tag] = jwe.split('.') as [
    string,
    string,
    string,
    string,
    string,
  ]
  return { header, encryptedKey, iv, ciphertext, tag }
}

function join(p: Parts): string {
  return [p.header, p.encryptedKey, p.iv, p.ciphertext, p.tag].join('.')
}

function headerOf(jwe: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(split(jwe).header, 'base64url').toString('utf8'))
}

/** Flips one bit of a segment's bytes; the result is canonical base64url of the same length. */
function flipByte(segment: string, index = 0): string {
  const bytes = Buffer.from(segment, 'base64url')
  bytes[index % bytes.length]! ^= 0x01
  return bytes.toString('base64url')
}

/**
 * A JWE for a `dir` key with any header and IV, its tag valid: what anyone
 * holding the key (a legitimate sender gone rogue, a leaked key) can make.
 * Shows that a refusal comes from the check named, not from a bad tag.
 */
function forgeDir(
  key: EncryptionKey,
  header: Record<string, unknown>,
  options: { iv?: Buffer; plaintext?: string } = {},
): string {
  const ce = contentEncryptionSpec(header.enc ?? key.enc)!
  const encoded = b64json(header)
  const iv = options.iv ?? randomBytes(ce.ivBytes)
  const { ciphertext, tag } = encryptContent(
    ce,
    key.secret!,
    iv,
    Buffer.from(encoded, 'latin1'),
    Buffer.from(options.plaintext ?? 'forged'),
  )
  return [encoded, '', b64(iv), b64(ciphertext), b64(tag)].join('.')
}

const gcmKey = generateEncryptionSecret('dir', { enc: 'A128GCM', kid: 'g' })
const cbcKey = generateEncryptionSecret('dir', { enc: 'A128CBC-HS256', kid: 'c' })
const cbc512Key = generateEncryptionSecret('dir', { enc: 'A256CBC-HS512', kid: 'c5' })

describe('authentication tags and IVs', () => {
  it('a truncated GCM tag is malformed, even one node would take (it accepts 4..16 bytes)', () => {
    const jwe = encrypt('pay 100', gcmKey)
    const p = split(jwe)
    const tag = Buffer.from(p.tag, 'base64url')
    for (const length of [15, 12, 8, 4, 1]) {
      const truncated = join({ ...p, tag: b64(tag.subarray(0, length)) })
      expectCode(() => decrypt(truncated, gcmKey), 'malformed', /truncated/)
    }
    expectCode(() => decrypt(join({ ...p, tag: '' }), gcmKey), 'malformed', /truncated/)
    expectCode(
      () => decrypt(join({ ...p, tag: b64(Buffer.concat([tag, Buffer.from([0])])) }), gcmKey),
      'malformed',
      /16 bytes/,
    )
  })

  it('a truncated CBC-HMAC tag is malformed (HS256: 16 bytes, HS512: 32)', () => {
    for (const [key, full] of [
      [cbcKey, 16],
      [cbc512Key, 32],
    ] as const) {
      const p = split(encrypt('pay 100', key))
      const tag = Buffer.from(p.tag, 'base64url')
      assert.equal(tag.length, full)
      for (const length of [full - 1, full / 2, 1]) {
        expectCode(
          () => decrypt(join({ ...p, tag: b64(tag.subarray(0, length)) }), key),
          'malformed',
          /truncated/,
        )
      }
    }
  })

  it('a GCM IV other than 96 bits is malformed, though its tag is valid', () => {
    for (const length of [16, 8, 1, 32]) {
      const forged = forgeDir(gcmKey, { alg: 'dir', enc: 'A128GCM' }, { iv: randomBytes(length) })
      expectCode(
        () => decrypt(forged, gcmKey),
        'malformed',
        /initialization vector must be 12 bytes/,
      )
    }
    const p = split(encrypt('x', gcmKey))
    expectCode(() => decrypt(join({ ...p, iv: '' }), gcmKey), 'malformed')
  })

  it('a CBC IV other than 128 bits is malformed', () => {
    const p = split(encrypt('x', cbcKey))
    for (const length of [12, 8, 15, 17]) {
      expectCode(
        () => decrypt(join({ ...p, iv: b64(randomBytes(length)) }), cbcKey),
        'malformed',
        /16 bytes/,
      )
    }
  })
})

describe('ephemeral keys (epk)', () => {
  const p256 = generateEncryptionKeyPair('ECDH-ES', { crv: 'P-256', kid: 'e' })
  const x25519 = generateEncryptionKeyPair('ECDH-ES', { crv: 'X25519', kid: 'x' })

  /** A valid ECDH-ES JWE with its header's epk replaced: only the header is looked at. */
  function withEpk(key: EncryptionKey, epk: unknown): string {
    const jwe = encrypt('secret', key, { enc: 'A128GCM' })
    const header = { ...headerOf(jwe), epk }
    return join({ ...split(jwe), header: b64json(header) })
  }

  it('a point off P-256, built by hand, is refused before any key agreement', () => {
    const ecdh = createECDH('prime256v1')
    ecdh.generateKeys()
    const point = ecdh.getPublicKey()
    const x = point.subarray(1, 33)
    const y = Buffer.from(point.subarray(33))
    y[31]! ^= 0x01 // (x, y + 1) is not on the curve
    const offCurve = { kty: 'EC', crv: 'P-256', x: b64(x), y: b64(y) }
    expectCode(
      () => decrypt(withEpk(p256.publicKey, offCurve), p256.privateKey),
      'malformed',
      /not a point on P-256/,
    )
    // (0, 0) and a point whose coordinates exceed the field prime.
    const zero = { kty: 'EC', crv: 'P-256', x: b64(Buffer.alloc(32)), y: b64(Buffer.alloc(32)) }
    expectCode(() => decrypt(withEpk(p256.publicKey, zero), p256.privateKey), 'malformed', /epk/)
    const big = { kty: 'EC', crv: 'P-256', x: b64(Buffer.alloc(32, 0xff)), y: b64(y) }
    expectCode(() => decrypt(withEpk(p256.publicKey, big), p256.privateKey), 'malformed', /epk/)
  })

  it('an invalid-curve point (on another curve with the same field) is refused', () => {
    // A point of y² = x³ - 3x + b' with b' ≠ b: on a weak curve an attacker
    // picks for its small subgroup. Here: x = 1, y² = 1 - 3 + b' for b' = 6, y = 2.
    const onWeakCurve = {
      kty: 'EC',
      crv: 'P-256',
      x: b64(Buffer.concat([Buffer.alloc(31), Buffer.from([1])])),
      y: b64(Buffer.concat([Buffer.alloc(31), Buffer.from([2])])),
    }
    expectCode(
      () => decrypt(withEpk(p256.publicKey, onWeakCurve), p256.privateKey),
      'malformed',
      /not a point/,
    )
  })

  it('an epk on another curve than the key is refused', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({
      format: 'jwk',
    })
    expectCode(
      () =>
        decrypt(
          withEpk(p256.publicKey, { kty: 'EC', crv: 'P-384', x: p384.x, y: p384.y }),
          p256.privateKey,
        ),
      'malformed',
      /curve of the key/,
    )
    const okp = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' })
    expectCode(
      () =>
        decrypt(withEpk(p256.publicKey, { kty: 'OKP', crv: 'X25519', x: okp.x }), p256.privateKey),
      'malformed',
      /curve of the key/,
    )
  })

  it('X25519 low-order points (all-zero shared secret) are refused', () => {
    // RFC 7748 §6.1: these give an all-zero shared secret, which OpenSSL refuses.
    const lowOrder = [
      Buffer.alloc(32),
      Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]),
      Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex'),
    ]
    for (const point of lowOrder) {
      expectCode(
        () =>
          decrypt(
            withEpk(x25519.publicKey, { kty: 'OKP', crv: 'X25519', x: b64(point) }),
            x25519.privateKey,
          ),
        'malformed',
        /low-order/,
      )
    }
  })

  it('a missing, private, misshapen or unsupported epk is malformed', () => {
    const jwk = p256.publicKey.keyObject.export({ format: 'jwk' })
    const good = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y }
    const cases: unknown[] = [
      undefined,
      null,
      'epk',
      [good],
      { ...good, d: b64(randomBytes(32)) },
      { ...good, x: b64(Buffer.from(jwk.x!, 'base64url').subarray(1)) }, // 31 bytes
      { ...good, y: `${jwk.y}=` },
      { ...good, kty: 'OKP' },
      { ...good, crv: 'P-521' },
      { ...good, crv: 'secp256k1' },
      { kty: 'OKP', crv: 'X448', x: b64(randomBytes(56)) },
      { kty: 'RSA', n: 'AQAB', e: 'AQAB' },
    ]
    for (const epk of cases) {
      const jwe = encrypt('secret', p256.publicKey, { enc: 'A128GCM' })
      const { epk: _epk, ...header } = headerOf(jwe)
      const forged = join({
        ...split(jwe),
        header: b64json(epk === undefined ? header : { ...header, epk }),
      })
      expectCode(() => decrypt(forged, p256.privateKey), 'malformed', /epk/)
    }
  })

  it('apu and apv must be canonical base64url', () => {
    for (const value of ['a+b', 'ab=', 'AB', 42]) {
      const jwe = encrypt('secret', p256.publicKey, { enc: 'A128GCM' })
      const forged = join({ ...split(jwe), header: b64json({ ...headerOf(jwe), apu: value }) })
      expectCode(() => decrypt(forged, p256.privateKey), 'malformed', /apu/)
    }
  })
})

describe('refused algorithms and parameters', () => {
  const someKey = generateEncryptionSecret('A128KW', { kid: 'k' })
  const filler = [
    b64(randomBytes(24)),
    b64(randomBytes(12)),
    b64(randomBytes(32)),
    b64(randomBytes(16)),
  ]

  function withHeader(header: unknown): string {
    return [typeof header === 'string' ? header : b64json(header), ...filler].join('.')
  }

  it('RSA1_5 is refused and the message says why', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
    // A real RSA1_5 JWE, encrypted with PKCS #1 v1.5 padding.
    const cek = randomBytes(32)
    const encryptedKey = publicEncrypt(
      { key: rsa.publicKey, padding: constants.RSA_PKCS1_PADDING },
      cek,
    )
    const jwe = [
      b64json({ alg: 'RSA1_5', enc: 'A128CBC-HS256' }),
      b64(encryptedKey),
      ...filler.slice(1),
    ].join('.')
    const rsaKey = importEncryptionKeyObject(rsa.privateKey, 'RSA-OAEP-256')
    expectCode(() => decrypt(jwe, rsaKey), 'alg_not_allowed', /RSA1_5 is refused.*padding-oracle/)
    // Not even as an allowed algorithm, nor as a key.
    assert.throws(() => decrypt(jwe, rsaKey, { algorithms: ['RSA1_5' as never] }), TypeError)
    assert.throws(() => importEncryptionKeyObject(rsa.privateKey, 'RSA1_5' as never), {
      code: 'key_invalid',
    })
  })

  it('PBES2 is refused at once, whatever p2c asks for', () => {
    for (const alg of ['PBES2-HS256+A128KW', 'PBES2-HS384+A192KW', 'PBES2-HS512+A256KW']) {
      const jwe = withHeader({ alg, enc: 'A128GCM', p2s: b64(randomBytes(16)), p2c: 2 ** 31 - 1 })
      const started = performance.now()
      expectCode(() => decrypt(jwe, someKey), 'alg_not_allowed', /PBES2 is refused.*p2c/)
      // 2^31 PBKDF2 iterations would take minutes: a second is proof enough, even on a busy machine.
      assert.ok(performance.now() - started < 1000, 'no key derivation ran')
    }
  })

  it('zip is refused (RFC 8725 §3.6), even for a sender holding the key', () => {
    const forged = forgeDir(gcmKey, { alg: 'dir', enc: 'A128GCM', zip: 'DEF' })
    expectCode(() => decrypt(forged, gcmKey), 'alg_not_allowed', /"zip" is refused/)
    expectCode(
      () => decrypt(withHeader({ alg: 'A128KW', enc: 'A128GCM', zip: 'none' }), someKey),
      'alg_not_allowed',
    )
  })

  it('unsupported, JWS and absent algorithms are refused before any key is used', () => {
    for (const alg of [
      'none',
      'HS256',
      'RS256',
      'RSA-OAEP',
      'A192KW',
      'A128GCMKW',
      'ECDH-ES+A192KW',
      'dir ',
      'DIR',
    ]) {
      expectCode(() => decrypt(withHeader({ alg, enc: 'A128GCM' }), someKey), 'alg_not_allowed')
    }
    for (const enc of ['A192GCM', 'A192CBC-HS384', 'a128gcm', 'none', 42]) {
      expectCode(
        () => decrypt(withHeader({ alg: 'A128KW', enc }), someKey),
        'alg_not_allowed',
        /enc/,
      )
    }
    expectCode(() => decrypt(withHeader({ alg: 'A128KW' }), someKey), 'malformed', /enc/)
    expectCode(() => decrypt(withHeader({ enc: 'A128GCM' }), someKey), 'malformed', /alg/)
  })

  it('crit: unknown extensions are refused; listed ones, registered names or absent ones are malformed', () => {
    const critical = forgeDir(gcmKey, { alg: 'dir', enc: 'A128GCM', crit: ['urn:x'], 'urn:x': 1 })
    expectCode(() => decrypt(critical, gcmKey), 'malformed', /extension/)
    assert.equal(decrypt(critical, gcmKey, { crit: ['urn:x'] }).plaintext.toString(), 'forged')
    for (const crit of [
      [],
      'urn:x',
      ['alg'],
      ['epk'],
      ['enc'],
      ['zip'],
      ['urn:y'],
      ['urn:x', 'urn:x'],
      [1],
    ]) {
      const jwe = forgeDir(gcmKey, { alg: 'dir', enc: 'A128GCM', crit, 'urn:x': 1 })
      expectCode(() => decrypt(jwe, gcmKey, { crit: ['urn:x', 'urn:y'] }), 'malformed', /crit/)
    }
  })

  it('kid, typ and cty must be strings; typ is checked when asked', () => {
    for (const name of ['kid', 'typ', 'cty']) {
      const jwe = forgeDir(gcmKey, { alg: 'dir', enc: 'A128GCM', [name]: 1 })
      expectCode(() => decrypt(jwe, gcmKey), 'malformed', new RegExp(name))
    }
    const typed = forgeDir(gcmKey, { alg: 'dir', enc: 'A128GCM', typ: 'application/secevent+jwe' })
    assert.ok(decrypt(typed, gcmKey, { typ: 'secevent+jwe' }))
    expectCode(() => decrypt(typed, gcmKey, { typ: 'JWT' }), 'claim_invalid')
  })

  it('a header that is not a JSON object in UTF-8 is malformed', () => {
    for (const header of [
      b64('[]'),
      b64('null'),
      b64('{"alg":"dir",'),
      b64(Buffer.from([0x7b, 0xff, 0x7d])),
      '',
    ]) {
      expectCode(() => decrypt(withHeader(header), someKey), 'malformed')
    }
  })
})

describe('strict compact serialization', () => {
  const key = recipientKeys({ alg: 'A128KW', enc: 'A128GCM', crv: undefined }).privateKey

  it('anything but five segments is malformed', () => {
    const jwe = encrypt('x', key, { enc: 'A128GCM' })
    const p = split(jwe)
    for (const bad of [
      `${jwe}.`,
      [p.header, p.encryptedKey, p.iv, p.ciphertext].join('.'),
      sign({}, importSecret(randomBytes(32), 'HS256'), { expiresIn: 60 }),
      '',
      '....',
    ]) {
      expectCode(() => decrypt(bad, key), 'malformed')
    }
    expectCode(() => decrypt(42 as never, key), 'malformed')
  })

  it('non-canonical base64url in any segment is malformed', () => {
    const jwe = encrypt('some plaintext', key, { enc: 'A128GCM' })
    const p = split(jwe)
    /** Stray bits in the last character: decodes to the same bytes in lenient decoders. */
    const strayBits = (segment: string): string => {
      const last = segment[segment.length - 1]!
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      return segment.slice(0, -1) + alphabet[alphabet.indexOf(last) + 1]!
    }
    const variants: [keyof Parts, string][] = [
      ['header', `${p.header}=`],
      ['header', `+${p.header.slice(1)}`],
      ['encryptedKey', `${p.encryptedKey}==`],
      ['encryptedKey', `${p.encryptedKey.slice(0, 4)} ${p.encryptedKey.slice(4)}`],
      ['iv', `${p.iv}=`],
      ['iv', `${p.iv.slice(0, 5)}/${p.iv.slice(6)}`],
      ['ciphertext', `${p.ciphertext}=`],
      ['ciphertext', `${p.ciphertext.slice(0, 3)}+${p.ciphertext.slice(4)}`],
      ['tag', `${p.tag}==`],
      ['tag', `${p.tag.slice(0, 2)}.${p.tag.slice(2)}`],
    ]
    // Stray bits in a last character that carries spare bits (a length not a
    // multiple of 3): the 16-byte tag, and the ciphertext when its length allows.
    assert.equal(Buffer.from(p.tag, 'base64url').length % 3, 1)
    variants.push(['tag', strayBits(p.tag)])
    if (Buffer.from(p.ciphertext, 'base64url').length % 3 !== 0) {
      variants.push(['ciphertext', strayBits(p.ciphertext)])
    }
    for (const [segment, value] of variants) {
      assert.notEqual(value, p[segment])
      expectCode(() => decrypt(join({ ...p, [segment]: value }), key), 'malformed')
    }
  })

  it('oversized input is refused before it is parsed', () => {
    const big = encrypt(randomBytes(20_000), key, { enc: 'A128GCM' })
    expectCode(() => decrypt(big, key), 'malformed', /too long/)
    assert.equal(decrypt(big, key, { maxTokenLength: 64 * 1024 }).plaintext.length, 20_000)
    const small = encrypt('x', key, { enc: 'A128GCM' })
    expectCode(
      () => decrypt(small, key, { maxTokenLength: small.length - 1 }),
      'malformed',
      /too long/,
    )
    expectCode(() => decrypt(`${'a'.repeat(1 << 20)}....`, key), 'malformed', /too long/)
  })

  it('the encrypted key is empty exactly for dir and ECDH-ES', () => {
    const dirJwe = split(encrypt('x', gcmKey))
    expectCode(
      () => decrypt(join({ ...dirJwe, encryptedKey: b64(randomBytes(24)) }), gcmKey),
      'malformed',
      /must be empty/,
    )
    const ecdh = recipientKeys({ alg: 'ECDH-ES', enc: 'A128GCM', crv: 'P-256' })
    const ecdhJwe = split(encrypt('x', ecdh.publicKey, { enc: 'A128GCM' }))
    expectCode(
      () => decrypt(join({ ...ecdhJwe, encryptedKey: b64(randomBytes(24)) }), ecdh.privateKey),
      'malformed',
      /must be empty/,
    )
    const kw = split(encrypt('x', key, { enc: 'A128GCM' }))
    expectCode(() => decrypt(join({ ...kw, encryptedKey: '' }), key), 'malformed', /missing/)
  })
})

describe('keys bound to their algorithm', () => {
  it('a JWE is decrypted only with a key of its alg (and, for dir, its enc)', () => {
    const a128 = generateEncryptionSecret('A128KW', { kid: 'same' })
    const a256 = generateEncryptionSecret('A256KW', { kid: 'same' })
    const jwe = encrypt('x', a256, { enc: 'A128GCM' })
    expectCode(() => decrypt(jwe, a128), 'alg_not_allowed')
    expectCode(() => decrypt(jwe, new EncryptionKeySet([a128])), 'alg_not_allowed')
    const dir256 = generateEncryptionSecret('dir', { enc: 'A256GCM', kid: 'd' })
    const gcm256 = forgeDir(dir256, { alg: 'dir', enc: 'A256GCM', kid: 'g' })
    expectCode(() => decrypt(gcm256, gcmKey), 'alg_not_allowed', /enc/)
    // A dir key of the right size for another enc: A128CBC-HS256 and A256GCM are both 32 bytes.
    const asCbc = importEncryptionSecret(dir256.secret!, 'dir', { enc: 'A128CBC-HS256', kid: 'g' })
    expectCode(() => decrypt(gcm256, asCbc), 'alg_not_allowed', /enc/)
    expectCode(() => decrypt(gcm256, new EncryptionKeySet([asCbc])), 'alg_not_allowed', /enc/)
  })

  it('allowlists narrow what the key accepts', () => {
    const jwe = encrypt('x', gcmKey)
    expectCode(() => decrypt(jwe, gcmKey, { algorithms: ['A128KW'] }), 'alg_not_allowed')
    expectCode(() => decrypt(jwe, gcmKey, { encryptions: ['A256GCM'] }), 'alg_not_allowed')
    assert.equal(
      decrypt(jwe, gcmKey, { algorithms: ['dir'], encryptions: ['A128GCM'] }).plaintext.toString(),
      'x',
    )
    assert.throws(() => decrypt(jwe, gcmKey, { encryptions: [] }), TypeError)
    assert.throws(() => decrypt(jwe, gcmKey, { encryptions: ['A192GCM' as never] }), TypeError)
    assert.throws(() => decrypt(jwe, gcmKey, { maxTokenLength: 0 }), TypeError)
  })

  it('a public key cannot decrypt; an unknown kid finds no key', () => {
    const { privateKey, publicKey } = recipientKeys({
      alg: 'ECDH-ES',
      enc: 'A128GCM',
      crv: 'P-256',
    })
    const jwe = encrypt('x', publicKey, { enc: 'A128GCM' })
    expectCode(() => decrypt(jwe, publicKey), 'key_invalid')
    const other = generateEncryptionKeyPair('ECDH-ES', { kid: 'other' }).privateKey
    expectCode(() => decrypt(jwe, new EncryptionKeySet([other])), 'key_not_found')
    assert.equal(decrypt(jwe, new EncryptionKeySet([other, privateKey])).plaintext.toString(), 'x')
  })
})

describe('tampering: one decryption_failed, one message, whatever failed', () => {
  const messages = new Set<string>()

  function refused(run: () => unknown): void {
    const error = expectCode(run, 'decryption_failed')
    assert.equal(error.cause, undefined, 'no cause says which step failed')
    messages.add(error.message)
  }

  for (const c of JWE_CASES) {
    it(c.name, () => {
      const { privateKey, publicKey } = recipientKeys(c)
      const jwe = encrypt('transfer 100 to alice', publicKey, { enc: c.enc })
      const p = split(jwe)
      refused(() => decrypt(join({ ...p, ciphertext: flipByte(p.ciphertext, 3) }), privateKey))
      refused(() => decrypt(join({ ...p, tag: flipByte(p.tag, 5) }), privateKey))
      refused(() => decrypt(join({ ...p, iv: flipByte(p.iv, 2) }), privateKey))
      // The AAD: any change to the protected header, here one more member.
      const aad = b64json({ ...headerOf(jwe), x: 1 })
      refused(() => decrypt(join({ ...p, header: aad }), privateKey))
      // Empty ciphertext.
      refused(() => decrypt(join({ ...p, ciphertext: '' }), privateKey))
      if (p.encryptedKey !== '') {
        refused(() =>
          decrypt(join({ ...p, encryptedKey: flipByte(p.encryptedKey, 7) }), privateKey),
        )
        // A shorter or longer encrypted key: length errors are not told apart (RFC 7516 §11.5).
        const wrapped = Buffer.from(p.encryptedKey, 'base64url')
        refused(() => decrypt(join({ ...p, encryptedKey: b64(wrapped.subarray(8)) }), privateKey))
        refused(() =>
          decrypt(
            join({ ...p, encryptedKey: b64(Buffer.concat([wrapped, wrapped.subarray(0, 8)])) }),
            privateKey,
          ),
        )
      }
      // Another key under the same kid (and, for dir, the same enc).
      const impostor = (() => {
        if (c.alg === 'dir')
          return generateEncryptionSecret('dir', { enc: c.enc, kid: privateKey.kid })
        if (c.alg === 'A128KW' || c.alg === 'A256KW')
          return generateEncryptionSecret(c.alg, { kid: privateKey.kid })
        if (c.alg === 'RSA-OAEP-256') return undefined // a second RSA key costs a second; the flipped encrypted key covers it
        return generateEncryptionKeyPair(c.alg, { crv: c.crv!, kid: privateKey.kid }).privateKey
      })()
      if (impostor !== undefined) refused(() => decrypt(jwe, impostor))
    })
  }

  it('a CBC padding error behind a valid HMAC is the same failure', () => {
    // Only a key holder can make one: AES-CBC without padding over 16 bytes
    // whose last byte is not valid PKCS #7 padding, then a valid HMAC.
    const header = b64json({ alg: 'dir', enc: 'A128CBC-HS256' })
    const cek = cbcKey.secret!
    const iv = randomBytes(16)
    const cipher = createCipheriv('aes-128-cbc', cek.subarray(16), iv).setAutoPadding(false)
    const ciphertext = Buffer.concat([cipher.update(Buffer.alloc(16, 0x00)), cipher.final()])
    const aad = Buffer.from(header, 'latin1')
    const al = Buffer.alloc(8)
    al.writeUInt32BE(aad.length * 8, 4)
    const tag = createHmac('sha256', cek.subarray(0, 16))
      .update(aad)
      .update(iv)
      .update(ciphertext)
      .update(al)
      .digest()
      .subarray(0, 16)
    refused(() => decrypt([header, '', b64(iv), b64(ciphertext), b64(tag)].join('.'), cbcKey))
  })

  it('a key that unwraps to the wrong length is the same failure (AES-KW, RSA-OAEP)', () => {
    const kw = generateEncryptionSecret('A128KW', { kid: 'kw' })
    const header = b64json({ alg: 'A128KW', enc: 'A128GCM', kid: 'kw' })
    const shortCek = randomBytes(24) // wraps fine, but A128GCM needs 16 bytes
    const iv = randomBytes(12)
    const { ciphertext, tag } = encryptContent(
      contentEncryptionSpec('A128GCM')!,
      shortCek.subarray(0, 16),
      iv,
      Buffer.from(header, 'latin1'),
      Buffer.from('x'),
    )
    const wrapped = wrapKey('id-aes128-wrap', kw.secret!, shortCek)
    refused(() => decrypt([header, b64(wrapped), b64(iv), b64(ciphertext), b64(tag)].join('.'), kw))

    const rsa = recipientKeys({ alg: 'RSA-OAEP-256', enc: 'A128GCM', crv: undefined })
    const rsaHeader = b64json({ alg: 'RSA-OAEP-256', enc: 'A128GCM' })
    const oaep = publicEncrypt(
      {
        key: rsa.publicKey.keyObject,
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: 'sha256',
      },
      shortCek,
    )
    const sealed = encryptContent(
      contentEncryptionSpec('A128GCM')!,
      shortCek.subarray(0, 16),
      iv,
      Buffer.from(rsaHeader, 'latin1'),
      Buffer.from('x'),
    )
    refused(() =>
      decrypt(
        [rsaHeader, b64(oaep), b64(iv), b64(sealed.ciphertext), b64(sealed.tag)].join('.'),
        rsa.privateKey,
      ),
    )
  })

  it('every failure above had the very same message', () => {
    assert.deepEqual([...messages], ['the JWE could not be decrypted'])
  })
})

describe('nested JWTs: the inner JWS is verified as verify does', () => {
  const issuer = generateKeyPair('ES256', { kid: 'iss' })
  const recipient = generateEncryptionKeyPair('ECDH-ES+A256KW', { kid: 'rcpt' })
  const base = { issuer: 'https://auth.example.com', audience: 'client-1' }

  it('round trip, with typ and claims checked', () => {
    const jwe = encryptJwt({ sub: 'u1' }, issuer.privateKey, recipient.publicKey, {
      ...base,
      expiresIn: '5m',
      enc: 'A256GCM',
      typ: 'at+jwt',
    })
    const header = headerOf(jwe)
    assert.deepEqual(
      { alg: header.alg, enc: header.enc, cty: header.cty, kid: header.kid },
      { alg: 'ECDH-ES+A256KW', enc: 'A256GCM', cty: 'JWT', kid: 'rcpt' },
    )
    const { payload, header: inner } = decryptJwt(jwe, recipient.privateKey, issuer.publicKey, {
      ...base,
      typ: 'at+jwt',
    })
    assert.equal(payload.sub, 'u1')
    assert.equal(inner.typ, 'at+jwt')
    expectCode(
      () => decryptJwt(jwe, recipient.privateKey, issuer.publicKey, { ...base, typ: 'JWT' }),
      'claim_invalid',
    )
    expectCode(
      () => decryptJwt(jwe, recipient.privateKey, issuer.publicKey, { ...base, audience: 'other' }),
      'claim_invalid',
    )
    expectCode(
      () =>
        decryptJwt(jwe, recipient.privateKey, issuer.publicKey, { ...base, algorithms: ['EdDSA'] }),
      'alg_not_allowed',
    )
    expectCode(
      () =>
        decryptJwt(jwe, recipient.privateKey, issuer.publicKey, {
          ...base,
          keyManagementAlgorithms: ['ECDH-ES'],
        }),
      'alg_not_allowed',
    )
    expectCode(
      () =>
        decryptJwt(jwe, recipient.privateKey, issuer.publicKey, {
          ...base,
          encryptions: ['A128GCM'],
        }),
      'alg_not_allowed',
    )
    expectCode(
      () =>
        decryptJwt(jwe, recipient.privateKey, issuer.publicKey, { ...base, maxTokenLength: 100 }),
      'malformed',
    )
  })

  it('an expired inner token, or one signed by another key, is refused', () => {
    const expired = encryptJwt({ sub: 'u1' }, issuer.privateKey, recipient.publicKey, {
      ...base,
      expiresIn: 60,
      currentDate: new Date(Date.now() - 3_600_000),
      enc: 'A256GCM',
    })
    expectCode(() => decryptJwt(expired, recipient.privateKey, issuer.publicKey, base), 'expired')
    const stranger = generateKeyPair('ES256', { kid: 'iss' })
    const forged = encryptJwt({ sub: 'admin' }, stranger.privateKey, recipient.publicKey, {
      ...base,
      expiresIn: 60,
      enc: 'A256GCM',
    })
    expectCode(
      () => decryptJwt(forged, recipient.privateKey, issuer.publicKey, base),
      'invalid_signature',
    )
  })

  it('an encrypted but unsigned JWT (no cty JWT, or alg none inside) is refused', () => {
    const now = Math.floor(Date.now() / 1000)
    const claims = { sub: 'admin', iss: base.issuer, aud: base.audience, exp: now + 60 }
    // Anyone with the recipient's public key can make these.
    const bare = encrypt(claims, recipient.publicKey, { enc: 'A256GCM', typ: 'JWT' })
    expectCode(
      () => decryptJwt(bare, recipient.privateKey, issuer.publicKey, base),
      'malformed',
      /cty/,
    )
    const none = `${b64json({ alg: 'none' })}.${b64json(claims)}.`
    const wrapped = encrypt(none, recipient.publicKey, { enc: 'A256GCM', cty: 'JWT' })
    expectCode(
      () => decryptJwt(wrapped, recipient.privateKey, issuer.publicKey, base),
      'alg_not_allowed',
    )
    const text = encrypt('not a token', recipient.publicKey, { enc: 'A256GCM', cty: 'jwt' })
    expectCode(() => decryptJwt(text, recipient.privateKey, issuer.publicKey, base), 'malformed')
  })

  it('keys cannot change places: a signing key does not decrypt, an encryption key does not sign', () => {
    const jwe = encryptJwt({ sub: 'u1' }, issuer.privateKey, recipient.publicKey, {
      ...base,
      expiresIn: 60,
      enc: 'A256GCM',
    })
    assert.throws(
      () => decryptJwt(jwe, issuer.privateKey as never, recipient.publicKey as never, base),
      TypeError,
    )
    assert.throws(
      () =>
        encryptJwt({}, recipient.privateKey as never, issuer.publicKey as never, {
          enc: 'A256GCM',
        }),
      TypeError,
    )
  })
})
