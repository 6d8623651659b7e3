// The attack suite: RFC 8725 (JWT Best Current Practices) and the pitfalls the
// JWT tutorials keep rediscovering. Every case asserts the exact JwtError code.

import assert from 'node:assert/strict'
import {
  createHmac,
  sign as cryptoSign,
  verify as cryptoVerify,
  generateKeyPairSync,
  randomBytes,
} from 'node:crypto'
import { describe, it } from 'node:test'
import type { Algorithm } from '../src/algorithms.ts'
import type { JwtError } from '../src/errors.ts'
import {
  exportJwk,
  generateKeyPair,
  generateSecret,
  importJwk,
  importKeyObject,
  importPem,
  importSecret,
  type Jwk,
  type Key,
  KeySet,
} from '../src/keys.ts'
import { sign } from '../src/sign.ts'
import { createVerifier } from '../src/verifier.ts'
import { verify } from '../src/verify.ts'
import { b64, b64json, expectJwtError, forge, keyPair, nowSeconds, toPem } from './helpers.ts'

const HS = keyPair('HS256')
const RS = keyPair('RS256')
const PS = keyPair('PS256')
const ES = keyPair('ES256')
const ED = keyPair('EdDSA')

/** A payload that passes the default claim checks (exp is required). */
function validClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { sub: 'user-1', exp: nowSeconds() + 600, ...extra }
}

/** Positive control: the token verifies under `key`, so a rejection elsewhere is meaningful. */
function assertVerifies(token: string, key: Key | KeySet, options = {}): void {
  assert.equal(typeof verify(token, key, options).payload, 'object')
}

/** Every way a caller can verify with a local key: verify, createVerifier, and both with a KeySet. */
function expectRejectedEverywhere(
  token: string,
  key: Key,
  code: JwtError['code'] | JwtError['code'][],
): void {
  expectJwtError(() => verify(token, key), code)
  expectJwtError(() => createVerifier({ key })(token), code)
  expectJwtError(() => verify(token, new KeySet([key])), code)
  expectJwtError(() => createVerifier({ key: new KeySet([key]) })(token), code)
}

/** Bumps the last character of a segment by one alphabet step: the decoded bytes stay the same. */
function setTrailingBits(segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(segment.at(-1)!)
  return segment.slice(0, -1) + alphabet[last + 1]
}

/** A header segment whose base64url length is `rem` modulo 4. */
function headerWithLengthMod4(alg: Algorithm, rem: 2 | 3): string {
  for (let pad = 0; pad < 8; pad++) {
    const segment = b64json({ alg, typ: 'JWT', p: 'x'.repeat(pad) })
    if (segment.length % 4 === rem) return segment
  }
  throw new Error('unreachable: padding cycles through every length modulo 4')
}

/** A segment encoding a header that contains `char` ('-' or '_') in its base64url form. */
function headerContaining(alg: Algorithm, char: '-' | '_'): string {
  for (let i = 0; i < 64; i++) {
    const segment = b64json({ alg, typ: 'JWT', p: `${'a'.repeat(i % 3)}???>>>~~~${i}` })
    if (segment.includes(char)) return segment
  }
  throw new Error(`no header encoding contains ${char}`)
}

describe('alg "none"', () => {
  const payload = b64json(validClaims({ sub: 'admin' }))
  for (const spelling of ['none', 'None', 'NONE', 'nOnE']) {
    const header = b64json({ alg: spelling, typ: 'JWT' })
    it(`"${spelling}" with an empty signature is alg_not_allowed`, () => {
      for (const pair of [HS, RS, ES, ED]) {
        expectRejectedEverywhere(`${header}.${payload}.`, pair.publicKey, 'alg_not_allowed')
      }
    })
    it(`"${spelling}" with a signature segment is alg_not_allowed`, () => {
      // A real HMAC over the input, and junk: neither makes `none` acceptable.
      const input = `${header}.${payload}`
      const hmac = createHmac('sha256', HS.publicKey.keyObject).update(input).digest('base64url')
      expectRejectedEverywhere(`${input}.${hmac}`, HS.publicKey, 'alg_not_allowed')
      expectRejectedEverywhere(`${input}.${b64('signature')}`, RS.publicKey, 'alg_not_allowed')
    })
    it(`"${spelling}" without a signature segment is malformed`, () => {
      expectRejectedEverywhere(`${header}.${payload}`, HS.publicKey, 'malformed')
    })
  }

  it('a missing, empty, null or padded alg is alg_not_allowed', () => {
    for (const alg of [undefined, '', null, 'HS256 ', ' HS256', 'hs256', 'HS1', '__proto__', 42]) {
      const token = forge({ alg, typ: 'JWT' }, validClaims(), HS.privateKey)
      expectRejectedEverywhere(token, HS.publicKey, 'alg_not_allowed')
    }
  })

  it('"none" cannot even be put in an algorithms allowlist', () => {
    const token = sign(validClaims(), HS.privateKey)
    assert.throws(
      () => verify(token, HS.publicKey, { algorithms: ['none' as Algorithm] }),
      TypeError,
    )
    assert.throws(
      () => createVerifier({ key: HS.publicKey, algorithms: ['none' as Algorithm] }),
      TypeError,
    )
  })
})

describe('RS/HS key confusion (RFC 8725 §2.1)', () => {
  for (const [name, pair] of [
    ['RS256', RS],
    ['ES256', ES],
  ] as const) {
    const publicKey = pair.publicKey
    const pemText = toPem(publicKey) as string
    const materials: [string, string | Buffer][] = [
      ['SPKI PEM text', pemText],
      ['PEM text without the final newline', pemText.trimEnd()],
      ['JWK JSON text', JSON.stringify(exportJwk(publicKey))],
      ['raw DER bytes', publicKey.keyObject.export({ type: 'spki', format: 'der' })],
    ]
    if (name === 'RS256') {
      materials.push([
        'PKCS#1 PEM text',
        publicKey.keyObject.export({ type: 'pkcs1', format: 'pem' }).toString(),
      ])
    }
    for (const [label, material] of materials) {
      it(`HS256 keyed with the ${name} public key as ${label} is alg_not_allowed`, () => {
        const input = `${b64json({ alg: 'HS256', typ: 'JWT', kid: publicKey.kid })}.${b64json(validClaims({ sub: 'admin' }))}`
        const token = `${input}.${createHmac('sha256', material).update(input).digest('base64url')}`
        expectRejectedEverywhere(token, publicKey, 'alg_not_allowed')
        // Even a caller who lists HS256 among the algorithms cannot turn the public key into a secret.
        expectJwtError(
          () => verify(token, publicKey, { algorithms: ['HS256', name] }),
          'alg_not_allowed',
        )
      })
    }
    it(`an HS256 token without kid finds no key in a set holding only the ${name} key`, () => {
      const input = `${b64json({ alg: 'HS256', typ: 'JWT' })}.${b64json(validClaims())}`
      const token = `${input}.${createHmac('sha256', pemText).update(input).digest('base64url')}`
      expectJwtError(() => verify(token, new KeySet([publicKey])), 'key_not_found')
    })
    it(`importSecret refuses the ${name} PEM with key_invalid`, () => {
      expectJwtError(() => importSecret(pemText), 'key_invalid')
      expectJwtError(() => importSecret(`\n  ${pemText}`, 'HS512'), 'key_invalid')
      expectJwtError(
        () => importSecret(publicKey.keyObject.export({ type: 'spki', format: 'pem' }).toString()),
        'key_invalid',
      )
    })
  }

  it('an asymmetric key object cannot be bound to an HMAC algorithm', () => {
    expectJwtError(() => importKeyObject(RS.publicKey.keyObject, 'HS256'), 'key_invalid')
    expectJwtError(() => importKeyObject(ES.publicKey.keyObject, 'HS256'), 'key_invalid')
    expectJwtError(
      () => importJwk({ ...exportJwk(RS.publicKey), alg: 'HS256' } as Jwk),
      'key_invalid',
    )
  })
})

describe('embedded key headers are never used to pick a key (RFC 8725 §3.10)', () => {
  const attacker = generateKeyPair('ES256', { kid: 'attacker' })
  const attackerRsa = generateKeyPair('RS256', { kid: 'attacker-rsa' })
  const attackerDer = attacker.publicKey.keyObject.export({ type: 'spki', format: 'der' })
  const embedded: [string, Record<string, unknown>][] = [
    ['jwk', { jwk: exportJwk(attacker.publicKey) }],
    ['jku', { jku: 'https://attacker.example/.well-known/jwks.json' }],
    ['x5u', { x5u: 'https://attacker.example/cert.pem' }],
    ['x5c', { x5c: [attackerDer.toString('base64')] }],
    [
      'jwk + jku + x5u + x5c',
      {
        jwk: exportJwk(attacker.publicKey),
        jku: 'https://attacker.example/jwks.json',
        x5u: 'https://attacker.example/cert.pem',
        x5c: [attackerDer.toString('base64')],
      },
    ],
  ]
  for (const [label, parameters] of embedded) {
    it(`an attacker-signed ES256 token carrying ${label} is invalid_signature`, () => {
      // The attacker claims the victim's kid, so only the signature stands in the way.
      const token = forge(
        { alg: 'ES256', typ: 'JWT', kid: ES.publicKey.kid, ...parameters },
        validClaims({ sub: 'admin' }),
        attacker.privateKey,
      )
      assertVerifies(token, attacker.publicKey)
      expectRejectedEverywhere(token, ES.publicKey, 'invalid_signature')
    })
    it(`an attacker-signed ES256 token carrying ${label} and the attacker's kid is key_not_found`, () => {
      const token = forge(
        { alg: 'ES256', typ: 'JWT', kid: attacker.publicKey.kid, ...parameters },
        validClaims({ sub: 'admin' }),
        attacker.privateKey,
      )
      const keys = new KeySet([ES.publicKey, RS.publicKey])
      expectJwtError(() => verify(token, keys), 'key_not_found')
      expectJwtError(() => createVerifier({ key: keys })(token), 'key_not_found')
    })
  }
  it('an RS256 token carrying the attacker RSA jwk is invalid_signature', () => {
    const token = forge(
      { alg: 'RS256', kid: RS.publicKey.kid, jwk: exportJwk(attackerRsa.publicKey) },
      validClaims(),
      attackerRsa.privateKey,
    )
    expectRejectedEverywhere(token, RS.publicKey, 'invalid_signature')
  })
  it('an HS256 token carrying an attacker oct jwk is invalid_signature', () => {
    const attackerSecret = generateSecret('HS256')
    const token = forge(
      {
        alg: 'HS256',
        kid: HS.publicKey.kid,
        jwk: exportJwk(attackerSecret, { includePrivate: true }),
      },
      validClaims(),
      attackerSecret,
    )
    expectRejectedEverywhere(token, HS.publicKey, 'invalid_signature')
  })
})

describe('hostile kid values', () => {
  const keys = new KeySet([HS.publicKey, ES.publicKey, RS.publicKey])
  const verifyWithSet = createVerifier({ key: keys })
  const hostile = [
    '../../dev/null',
    '../../../../../../etc/passwd',
    "' OR 1=1 --",
    '"; DROP TABLE keys; --',
    'kid\u0000',
    `${HS.publicKey.kid}\u0000`,
    '\u0000',
    '',
    '__proto__',
    'constructor',
    'hasOwnProperty',
    'x'.repeat(8000),
    '%00',
    '$(touch /tmp/pwned)',
  ]
  for (const kid of hostile) {
    it(`kid ${JSON.stringify(kid.slice(0, 30))} (${kid.length} chars) is key_not_found`, () => {
      const token = forge({ alg: 'HS256', typ: 'JWT', kid }, validClaims(), HS.privateKey)
      assert.ok(token.length < 16 * 1024)
      expectJwtError(() => verify(token, keys), 'key_not_found')
      expectJwtError(() => verifyWithSet(token), 'key_not_found')
    })
  }
  it('a kid too long for the size limit is malformed', () => {
    const token = forge({ alg: 'HS256', kid: 'x'.repeat(20_000) }, validClaims(), HS.privateKey)
    expectJwtError(() => verify(token, keys), 'malformed')
  })
  for (const kid of [
    0,
    42,
    -1,
    1.5,
    true,
    false,
    null,
    {},
    { $ne: null },
    [],
    [HS.publicKey.kid],
  ]) {
    it(`a non-string kid ${JSON.stringify(kid)} is malformed`, () => {
      const token = forge({ alg: 'HS256', typ: 'JWT', kid }, validClaims(), HS.privateKey)
      expectJwtError(() => verify(token, keys), 'malformed')
      expectJwtError(() => verifyWithSet(token), 'malformed')
      expectJwtError(() => verify(token, HS.publicKey), 'malformed')
    })
  }
  it('the genuine kid still verifies (control)', () => {
    const token = forge(
      { alg: 'HS256', typ: 'JWT', kid: HS.publicKey.kid },
      validClaims(),
      HS.privateKey,
    )
    assertVerifies(token, keys)
  })
})

describe('ECDSA signature forgeries', () => {
  // Curve orders n of P-256, P-384 and P-521 (SEC 2 / FIPS 186-4).
  const ORDER: Record<'ES256' | 'ES384' | 'ES512', bigint> = {
    ES256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
    ES384:
      0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
    ES512:
      0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  }
  const SIZE = { ES256: 32, ES384: 48, ES512: 66 } as const
  const HASH = { ES256: 'sha256', ES384: 'sha384', ES512: 'sha512' } as const
  const toBytes = (n: bigint, size: number): Buffer =>
    Buffer.from(n.toString(16).padStart(size * 2, '0'), 'hex')

  for (const alg of ['ES256', 'ES384', 'ES512'] as const) {
    const { privateKey, publicKey } = keyPair(alg)
    const size = SIZE[alg]
    const n = ORDER[alg]
    const input = `${b64json({ alg, typ: 'JWT' })}.${b64json(validClaims({ sub: 'admin' }))}`
    const genuine = Buffer.from(privateKey.signData(input), 'base64url')
    const r = genuine.subarray(0, size)
    const s = genuine.subarray(size)
    const withSignature = (signature: Buffer): string =>
      `${input}.${signature.toString('base64url')}`

    it(`${alg}: the curve order constant is right (control)`, () => {
      // (r, n - s) is the other valid signature for the same r: only true if n is the order.
      const highS = Buffer.concat([r, toBytes(n - BigInt(`0x${s.toString('hex')}`), size)])
      const options = { key: publicKey.keyObject, dsaEncoding: 'ieee-p1363' as const }
      assert.equal(cryptoVerify(HASH[alg], Buffer.from(input), options, highS), true)
      assertVerifies(withSignature(genuine), publicKey)
    })
    it(`${alg}: r = s = 0 ("psychic signature", CVE-2022-21449) is invalid_signature`, () => {
      expectRejectedEverywhere(
        withSignature(Buffer.alloc(size * 2)),
        publicKey,
        'invalid_signature',
      )
    })
    it(`${alg}: r or s equal to the curve order n is invalid_signature`, () => {
      const nBytes = toBytes(n, size)
      for (const forged of [
        Buffer.concat([nBytes, s]),
        Buffer.concat([r, nBytes]),
        Buffer.concat([nBytes, nBytes]),
        Buffer.concat([Buffer.alloc(size), s]),
        Buffer.concat([r, Buffer.alloc(size)]),
      ]) {
        expectRejectedEverywhere(withSignature(forged), publicKey, 'invalid_signature')
      }
    })
    it(`${alg}: a DER-encoded signature instead of R || S is invalid_signature`, () => {
      const der = cryptoSign(HASH[alg], Buffer.from(input), {
        key: privateKey.keyObject,
        dsaEncoding: 'der',
      })
      assert.equal(cryptoVerify(HASH[alg], Buffer.from(input), publicKey.keyObject, der), true)
      expectRejectedEverywhere(withSignature(der), publicKey, 'invalid_signature')
    })
    it(`${alg}: a signature one byte short or long is invalid_signature`, () => {
      expectRejectedEverywhere(withSignature(genuine.subarray(1)), publicKey, 'invalid_signature')
      expectRejectedEverywhere(
        withSignature(Buffer.concat([Buffer.alloc(1), genuine])),
        publicKey,
        'invalid_signature',
      )
    })
  }
})

describe('stripped signatures', () => {
  for (const alg of ['HS256', 'RS256', 'PS256', 'ES256', 'EdDSA'] as const) {
    const { privateKey, publicKey } = keyPair(alg)
    const token = sign(validClaims(), privateKey, { timestamp: false })
    const [h, p] = token.split('.') as [string, string, string]
    it(`${alg}: "header.payload." is invalid_signature`, () => {
      assertVerifies(token, publicKey)
      expectRejectedEverywhere(`${h}.${p}.`, publicKey, 'invalid_signature')
    })
    it(`${alg}: "header.payload" is malformed`, () => {
      expectRejectedEverywhere(`${h}.${p}`, publicKey, 'malformed')
    })
  }
})

describe('non-canonical base64url', () => {
  for (const alg of ['HS256', 'ES256', 'RS256', 'EdDSA'] as const) {
    const { privateKey, publicKey } = keyPair(alg)
    const header = b64json({ alg, typ: 'JWT' })
    const payload = b64json(validClaims())

    it(`${alg}: "=" padding on a re-signed header or payload is malformed`, () => {
      expectRejectedEverywhere(forge(`${header}=`, payload, privateKey), publicKey, 'malformed')
      expectRejectedEverywhere(forge(`${header}==`, payload, privateKey), publicKey, 'malformed')
      expectRejectedEverywhere(forge(header, `${payload}=`, privateKey), publicKey, 'malformed')
      expectRejectedEverywhere(
        forge(
          Buffer.from(JSON.stringify({ alg })).toString('base64'),
          Buffer.from(JSON.stringify(validClaims({ pad: 'y' }))).toString('base64'),
          privateKey,
        ),
        publicKey,
        'malformed',
      )
    })
    it(`${alg}: "=" padding on the signature is invalid_signature`, () => {
      const token = forge(header, payload, privateKey)
      assertVerifies(token, publicKey)
      expectRejectedEverywhere(`${token}=`, publicKey, 'invalid_signature')
      expectRejectedEverywhere(`${token}==`, publicKey, 'invalid_signature')
    })
    it(`${alg}: '+' and '/' in a re-signed header are malformed`, () => {
      const dash = headerContaining(alg, '-')
      const underscore = headerContaining(alg, '_')
      assertVerifies(forge(dash, payload, privateKey), publicKey)
      assertVerifies(forge(underscore, payload, privateKey), publicKey)
      // Same bytes under Node's lenient decoder, different spelling.
      const plus = dash.replaceAll('-', '+')
      assert.deepEqual(Buffer.from(plus, 'base64url'), Buffer.from(dash, 'base64url'))
      expectRejectedEverywhere(forge(plus, payload, privateKey), publicKey, 'malformed')
      expectRejectedEverywhere(
        forge(underscore.replaceAll('_', '/'), payload, privateKey),
        publicKey,
        'malformed',
      )
    })
    it(`${alg}: '+' and '/' in the signature are invalid_signature`, () => {
      // Find a payload whose signature uses '-' or '_', then respell it in standard base64.
      for (let i = 0; i < 200; i++) {
        const token = forge(header, b64json(validClaims({ i })), privateKey)
        const signature = token.slice(token.lastIndexOf('.') + 1)
        if (!/[-_]/.test(signature)) continue
        const input = token.slice(0, token.lastIndexOf('.'))
        const standard = signature.replaceAll('-', '+').replaceAll('_', '/')
        expectRejectedEverywhere(`${input}.${standard}`, publicKey, 'invalid_signature')
        return
      }
      assert.fail('no signature with - or _ in 200 tries')
    })
    it(`${alg}: whitespace anywhere is rejected`, () => {
      const mid = Math.floor(header.length / 2)
      for (const ws of [' ', '\n', '\t', '\r\n']) {
        const spacedHeader = header.slice(0, mid) + ws + header.slice(mid)
        const spacedPayload = payload.slice(0, 10) + ws + payload.slice(10)
        expectRejectedEverywhere(forge(spacedHeader, payload, privateKey), publicKey, 'malformed')
        expectRejectedEverywhere(forge(header, spacedPayload, privateKey), publicKey, 'malformed')
        expectRejectedEverywhere(forge(ws + header, payload, privateKey), publicKey, 'malformed')
        const token = forge(header, payload, privateKey)
        expectRejectedEverywhere(token + ws, publicKey, 'invalid_signature')
        const dot = token.lastIndexOf('.')
        expectRejectedEverywhere(
          `${token.slice(0, dot + 5)}${ws}${token.slice(dot + 5)}`,
          publicKey,
          'invalid_signature',
        )
      }
    })
    for (const rem of [2, 3] as const) {
      it(`${alg}: stray trailing bits in a ${rem}-mod-4 header or payload are malformed`, () => {
        const canonical = headerWithLengthMod4(alg, rem)
        assertVerifies(forge(canonical, payload, privateKey), publicKey)
        const stray = setTrailingBits(canonical)
        assert.deepEqual(Buffer.from(stray, 'base64url'), Buffer.from(canonical, 'base64url'))
        expectRejectedEverywhere(forge(stray, payload, privateKey), publicKey, 'malformed')
        for (let pad = 0; pad < 8; pad++) {
          const body = b64json(validClaims({ p: 'x'.repeat(pad) }))
          if (body.length % 4 !== rem) continue
          assertVerifies(forge(header, body, privateKey), publicKey)
          const strayBody = setTrailingBits(body)
          assert.deepEqual(Buffer.from(strayBody, 'base64url'), Buffer.from(body, 'base64url'))
          expectRejectedEverywhere(forge(header, strayBody, privateKey), publicKey, 'malformed')
          return
        }
        assert.fail('no payload length hit the remainder')
      })
    }
    it(`${alg}: stray trailing bits in the signature are invalid_signature`, () => {
      const token = forge(header, payload, privateKey)
      const signature = token.slice(token.lastIndexOf('.') + 1)
      assert.notEqual(signature.length % 4, 0, 'the signature must end in a partial group')
      const stray = setTrailingBits(signature)
      assert.deepEqual(Buffer.from(stray, 'base64url'), Buffer.from(signature, 'base64url'))
      expectRejectedEverywhere(
        `${token.slice(0, token.lastIndexOf('.'))}.${stray}`,
        publicKey,
        'invalid_signature',
      )
    })
  }
})

describe('segment count', () => {
  const token = sign(validClaims(), HS.privateKey)
  const jweHeader = b64json({ alg: 'RSA-OAEP-256', enc: 'A256GCM' })
  const cases: [string, string][] = [
    ['four parts', `${token}.${b64('extra')}`],
    ['four parts, empty last', `${token}.`],
    ['five parts', `${token}.${b64('a')}.${b64('b')}`],
    [
      'a JWE-looking five-part token',
      `${jweHeader}.${b64('cek')}.${b64('iv')}.${b64('ct')}.${b64('tag')}`,
    ],
    ['a five-part token with an HS256 header', `${b64json({ alg: 'HS256' })}....`],
    ['the empty string', ''],
    ['a single dot', '.'],
    ['two dots', '..'],
    ['three dots', '...'],
    ['one segment', token.split('.')[0]!],
  ]
  for (const [label, candidate] of cases) {
    it(`${label} is malformed`, () => {
      expectRejectedEverywhere(candidate, HS.publicKey, 'malformed')
    })
  }
  it('a non-string token is malformed', () => {
    for (const value of [undefined, null, 42, {}, [token], Buffer.from(token)]) {
      expectJwtError(() => verify(value as unknown as string, HS.publicKey), 'malformed')
    }
  })
})

describe('size limits and hostile JSON', () => {
  it('a validly signed token over 16 KiB is malformed, and accepted under a larger maxTokenLength', () => {
    const token = sign(validClaims({ blob: 'x'.repeat(13_000) }), HS.privateKey)
    assert.ok(token.length > 16 * 1024)
    expectRejectedEverywhere(token, HS.publicKey, 'malformed')
    assertVerifies(token, HS.publicKey, { maxTokenLength: 32 * 1024 })
  })
  it('maxTokenLength is honoured to the character', () => {
    const token = sign(validClaims(), ES.privateKey)
    assertVerifies(token, ES.publicKey, { maxTokenLength: token.length })
    expectJwtError(
      () => verify(token, ES.publicKey, { maxTokenLength: token.length - 1 }),
      'malformed',
    )
    expectJwtError(
      () => createVerifier({ key: ES.publicKey, maxTokenLength: 100 })(token),
      'malformed',
    )
  })
  it('an oversized garbage token is rejected before any decoding', () => {
    const huge = `${'A'.repeat(1 << 20)}.${'B'.repeat(1 << 20)}.${'C'.repeat(64)}`
    const started = performance.now()
    expectRejectedEverywhere(huge, HS.publicKey, 'malformed')
    assert.ok(performance.now() - started < 1000)
  })
  it('5000 nested arrays inside the payload verify quickly within 16 KiB', () => {
    const nested = `${'['.repeat(5000)}${']'.repeat(5000)}`
    const body = b64(`{"exp":${nowSeconds() + 600},"deep":${nested}}`)
    const token = forge({ alg: 'HS256' }, body, HS.privateKey)
    assert.ok(token.length <= 16 * 1024)
    const started = performance.now()
    const { payload } = verify(token, HS.publicKey)
    assert.ok(Array.isArray(payload.deep))
    // The verifier with its cache deep-freezes the result: it must survive the depth too.
    assert.ok(Array.isArray(createVerifier({ key: HS.publicKey })(token).payload.deep))
    assert.ok(performance.now() - started < 2000)
  })
  it('10000 nested arrays (under a raised maxTokenLength) verify without a crash', () => {
    const nested = `${'['.repeat(10_000)}${']'.repeat(10_000)}`
    const body = b64(`{"exp":${nowSeconds() + 600},"deep":${nested}}`)
    const token = forge({ alg: 'HS256' }, body, HS.privateKey)
    expectJwtError(() => verify(token, HS.publicKey), 'malformed')
    assert.ok(
      Array.isArray(verify(token, HS.publicKey, { maxTokenLength: 64 * 1024 }).payload.deep),
    )
  })
  it('5000 nested arrays inside the header do not crash', () => {
    const nested = `${'['.repeat(5000)}${']'.repeat(5000)}`
    const header = b64(`{"alg":"HS256","deep":${nested}}`)
    assertVerifies(forge(header, validClaims(), HS.privateKey), HS.publicKey)
  })
  it('a payload that is nothing but nested arrays is malformed', () => {
    const body = b64(`${'['.repeat(5000)}${']'.repeat(5000)}`)
    expectRejectedEverywhere(
      forge({ alg: 'HS256' }, body, HS.privateKey),
      HS.publicKey,
      'malformed',
    )
  })
  for (const json of [
    '[]',
    '[{"alg":"HS256"}]',
    '"HS256"',
    '42',
    'null',
    'true',
    '{',
    '',
    'not json',
    '{"alg":"HS256"} x',
  ]) {
    it(`a header of ${JSON.stringify(json)} is malformed`, () => {
      expectRejectedEverywhere(
        forge(b64(json), validClaims(), HS.privateKey),
        HS.publicKey,
        'malformed',
      )
    })
    it(`a validly signed payload of ${JSON.stringify(json)} is malformed`, () => {
      const token = forge({ alg: 'HS256' }, b64(json) || 'e30', HS.privateKey)
      expectRejectedEverywhere(
        json === '' ? `${token.split('.')[0]}..${token.split('.')[2]}` : token,
        HS.publicKey,
        'malformed',
      )
    })
  }
  it('a payload that is not UTF-8 is malformed', () => {
    const token = forge({ alg: 'HS256' }, b64(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), HS.privateKey)
    expectRejectedEverywhere(token, HS.publicKey, 'malformed')
  })
})

describe('crit and b64 (RFC 7515 §4.1.11, RFC 7797)', () => {
  const claims = validClaims()
  it('an unknown critical extension is rejected', () => {
    const token = forge(
      { alg: 'HS256', crit: ['urn:x:ext'], 'urn:x:ext': 1 },
      claims,
      HS.privateKey,
    )
    const error = expectJwtError(() => verify(token, HS.publicKey), 'malformed')
    assert.equal(error.claim, 'crit')
    expectRejectedEverywhere(token, HS.publicKey, 'malformed')
    expectJwtError(() => verify(token, HS.publicKey, { crit: ['urn:x:other'] }), 'malformed')
  })
  it('crit naming a registered header is rejected', () => {
    for (const name of ['alg', 'kid', 'typ', 'crit', 'jwk', 'x5c']) {
      const token = forge(
        { alg: 'HS256', kid: 'k', typ: 'JWT', crit: [name] },
        claims,
        HS.privateKey,
      )
      expectJwtError(() => verify(token, HS.publicKey, { crit: [name] }), 'malformed')
    }
  })
  it('crit that is empty, not an array, duplicated, or names an absent parameter is rejected', () => {
    for (const header of [
      { alg: 'HS256', crit: [] },
      { alg: 'HS256', crit: 'ext', ext: 1 },
      { alg: 'HS256', crit: ['ext', 'ext'], ext: 1 },
      { alg: 'HS256', crit: ['ext'] },
      { alg: 'HS256', crit: [1] },
      { alg: 'HS256', crit: null },
    ]) {
      const token = forge(header, claims, HS.privateKey)
      expectJwtError(() => verify(token, HS.publicKey, { crit: ['ext'] }), 'malformed')
    }
  })
  it('a critical extension the caller handles is accepted', () => {
    const token = forge(
      { alg: 'HS256', crit: ['urn:x:ext'], 'urn:x:ext': 1 },
      claims,
      HS.privateKey,
    )
    const { header } = verify(token, HS.publicKey, { crit: ['urn:x:ext'] })
    assert.deepEqual(header.crit, ['urn:x:ext'])
    assert.equal(header['urn:x:ext'], 1)
    assert.equal(
      typeof createVerifier({ key: HS.publicKey, crit: ['urn:x:ext'] })(token).payload,
      'object',
    )
  })
  it('b64: false is rejected, even when declared critical and allowed', () => {
    const unencoded = forge({ alg: 'HS256', b64: false, crit: ['b64'] }, claims, HS.privateKey)
    expectRejectedEverywhere(unencoded, HS.publicKey, 'malformed')
    expectJwtError(() => verify(unencoded, HS.publicKey, { crit: ['b64'] }), 'malformed')
    // The RFC 7797 shape: the payload travels raw in the signing input.
    const raw = `${b64json({ alg: 'HS256', b64: false, crit: ['b64'] })}.${JSON.stringify(claims)}`
    const token = `${raw}.${HS.privateKey.signData(raw)}`
    expectJwtError(() => verify(token, HS.publicKey, { crit: ['b64'] }), 'malformed')
    for (const b64Value of [false, 0, 'false', null]) {
      expectJwtError(
        () => verify(forge({ alg: 'HS256', b64: b64Value }, claims, HS.privateKey), HS.publicKey),
        'malformed',
      )
    }
  })
})

describe('claims', () => {
  const NOW = 1_700_000_000
  const currentDate = new Date(NOW * 1000)
  const key = HS.publicKey
  const at = (claims: Record<string, unknown>, header: Record<string, unknown> = {}): string =>
    forge({ alg: 'HS256', typ: 'JWT', ...header }, claims, HS.privateKey)
  const rawAt = (json: string): string => forge({ alg: 'HS256' }, b64(json), HS.privateKey)
  const expectClaim = (
    token: string,
    options: Parameters<typeof verify>[2],
    claim: string,
    code: JwtError['code'] = 'claim_invalid',
  ): void => {
    const error = expectJwtError(() => verify(token, key, { currentDate, ...options }), code)
    assert.equal(error.claim, claim)
    expectJwtError(() => createVerifier({ key, currentDate, ...options })(token), code)
  }

  for (const claim of ['exp', 'nbf', 'iat']) {
    for (const value of [
      String(NOW + 100),
      `${NOW + 100}`.padStart(12, ' '),
      null,
      true,
      [NOW + 100],
      {},
      { $gt: 0 },
      '',
    ]) {
      it(`${claim} of ${JSON.stringify(value)} is claim_invalid`, () => {
        expectClaim(at({ exp: NOW + 600, [claim]: value }), {}, claim)
      })
    }
    for (const literal of ['1e400', '-1e400', '1e309']) {
      it(`${claim} of ${literal} (parses to ±Infinity) is claim_invalid`, () => {
        const others = claim === 'exp' ? '' : `,"exp":${NOW + 600}`
        expectClaim(rawAt(`{"${claim}":${literal}${others}}`), {}, claim)
      })
    }
  }
  it('exp at or before now is expired; one second later is fine', () => {
    expectClaim(at({ exp: NOW }), {}, 'exp', 'expired')
    expectClaim(at({ exp: NOW - 1 }), {}, 'exp', 'expired')
    assertVerifies(at({ exp: NOW + 1 }), key, { currentDate })
  })
  it('nbf after now is not_yet_valid; nbf equal to now is fine', () => {
    expectClaim(at({ exp: NOW + 600, nbf: NOW + 1 }), {}, 'nbf', 'not_yet_valid')
    assertVerifies(at({ exp: NOW + 600, nbf: NOW }), key, { currentDate })
  })
  it('clockTolerance is honoured at its boundaries', () => {
    const expired = at({ exp: NOW - 10 })
    expectClaim(expired, { clockTolerance: 10 }, 'exp', 'expired')
    expectClaim(expired, { clockTolerance: '9s' }, 'exp', 'expired')
    assertVerifies(expired, key, { currentDate, clockTolerance: 11 })
    assertVerifies(expired, key, { currentDate, clockTolerance: '1m' })
    const early = at({ exp: NOW + 600, nbf: NOW + 10 })
    expectClaim(early, { clockTolerance: 9 }, 'nbf', 'not_yet_valid')
    assertVerifies(early, key, { currentDate, clockTolerance: 10 })
  })
  it('a wrong or missing iss is claim_invalid naming iss', () => {
    const token = at({ exp: NOW + 600, iss: 'https://evil.example' })
    expectClaim(token, { issuer: 'https://auth.example' }, 'iss')
    expectClaim(at({ exp: NOW + 600 }), { issuer: 'https://auth.example' }, 'iss')
    expectClaim(
      at({ exp: NOW + 600, iss: 'https://auth.example/' }),
      { issuer: 'https://auth.example' },
      'iss',
    )
    assertVerifies(token, key, {
      currentDate,
      issuer: ['https://auth.example', 'https://evil.example'],
    })
  })
  it('a wrong or missing aud is claim_invalid naming aud', () => {
    expectClaim(at({ exp: NOW + 600, aud: 'other' }), { audience: 'api' }, 'aud')
    expectClaim(at({ exp: NOW + 600, aud: ['other', 'web'] }), { audience: 'api' }, 'aud')
    expectClaim(at({ exp: NOW + 600 }), { audience: 'api' }, 'aud')
    expectClaim(at({ exp: NOW + 600, aud: 'API' }), { audience: 'api' }, 'aud')
    expectClaim(at({ exp: NOW + 600, aud: [1, 'api'] }), { audience: 'api' }, 'aud')
    assertVerifies(at({ exp: NOW + 600, aud: ['web', 'api'] }), key, {
      currentDate,
      audience: 'api',
    })
    assertVerifies(at({ exp: NOW + 600, aud: 'api' }), key, { currentDate, audience: ['x', 'api'] })
  })
  it('a wrong sub is claim_invalid naming sub', () => {
    expectClaim(at({ exp: NOW + 600, sub: 'user-2' }), { subject: 'user-1' }, 'sub')
    expectClaim(at({ exp: NOW + 600 }), { subject: 'user-1' }, 'sub')
    expectClaim(at({ exp: NOW + 600, sub: 1 }), {}, 'sub')
  })
  it('a wrong or missing typ is claim_invalid naming typ', () => {
    expectClaim(at({ exp: NOW + 600 }, { typ: 'JWT' }), { typ: 'at+jwt' }, 'typ')
    expectClaim(at({ exp: NOW + 600 }, { typ: undefined }), { typ: 'at+jwt' }, 'typ')
    expectClaim(at({ exp: NOW + 600 }, { typ: 'at+jwt+x' }), { typ: 'at+jwt' }, 'typ')
    // RFC 8725 §3.11: case-insensitive, `application/` optional.
    assertVerifies(at({ exp: NOW + 600 }, { typ: 'application/AT+JWT' }), key, {
      currentDate,
      typ: 'at+jwt',
    })
  })
  it('a token without exp is refused by default and accepted with requiredClaims: []', () => {
    const token = at({ sub: 'user-1' })
    expectClaim(token, {}, 'exp')
    assertVerifies(token, key, { currentDate, requiredClaims: [] })
    expectClaim(at({ exp: NOW + 600 }), { requiredClaims: ['exp', 'jti'] }, 'jti')
  })
  it('maxTokenAge bounds the age of iat', () => {
    const token = at({ exp: NOW + 600, iat: NOW - 100 })
    assertVerifies(token, key, { currentDate, maxTokenAge: 100 })
    assertVerifies(token, key, { currentDate, maxTokenAge: '2m' })
    expectClaim(token, { maxTokenAge: 99 }, 'iat', 'expired')
    expectClaim(token, { maxTokenAge: '1m' }, 'iat', 'expired')
    assertVerifies(token, key, { currentDate, maxTokenAge: 99, clockTolerance: 1 })
    expectClaim(at({ exp: NOW + 600 }), { maxTokenAge: 60 }, 'iat')
    expectClaim(at({ exp: NOW + 600, iat: NOW + 5 }), { maxTokenAge: 60 }, 'iat')
  })
})

describe('weak and mismatched keys are refused at import', () => {
  for (const [alg, bytes] of [
    ['HS256', 32],
    ['HS384', 48],
    ['HS512', 64],
  ] as const) {
    it(`${alg} secrets shorter than ${bytes} bytes are key_invalid`, () => {
      expectJwtError(() => importSecret(randomBytes(bytes - 1), alg), 'key_invalid')
      expectJwtError(() => importSecret('s'.repeat(bytes - 1), alg), 'key_invalid')
      expectJwtError(() => importSecret(new Uint8Array(0), alg), 'key_invalid')
      expectJwtError(
        () => importJwk({ kty: 'oct', k: b64(randomBytes(bytes - 1)), alg }),
        'key_invalid',
      )
      // The boundary itself is accepted (control).
      assert.equal(importSecret(randomBytes(bytes), alg).alg, alg)
      assert.equal(importSecret('s'.repeat(bytes), alg).alg, alg)
    })
  }

  it('RSA keys of 1024 bits are key_invalid everywhere', () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
    for (const alg of ['RS256', 'PS256', 'RS512'] as const) {
      expectJwtError(() => importKeyObject(weak.publicKey, alg), 'key_invalid')
      expectJwtError(() => importKeyObject(weak.privateKey, alg), 'key_invalid')
      expectJwtError(
        () => importPem(weak.publicKey.export({ type: 'spki', format: 'pem' }).toString(), alg),
        'key_invalid',
      )
      expectJwtError(
        () => importPem(weak.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), alg),
        'key_invalid',
      )
      expectJwtError(
        () => importJwk({ ...(weak.publicKey.export({ format: 'jwk' }) as Jwk), alg }),
        'key_invalid',
      )
    }
    expectJwtError(() => generateKeyPair('RS256', { modulusLength: 1024 }), 'key_invalid')
    const jwks = {
      keys: [{ ...(weak.publicKey.export({ format: 'jwk' }) as Jwk), alg: 'RS256', kid: 'weak' }],
    }
    expectJwtError(() => KeySet.fromJwks(jwks, { strict: true }), 'key_invalid')
    assert.equal(KeySet.fromJwks(jwks).size, 0)
  })

  it('an EC key on the wrong curve for the algorithm is key_invalid', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const k256 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
    expectJwtError(() => importKeyObject(p384.publicKey, 'ES256'), 'key_invalid')
    expectJwtError(() => importKeyObject(p384.privateKey, 'ES512'), 'key_invalid')
    expectJwtError(() => importKeyObject(p256.publicKey, 'ES384'), 'key_invalid')
    expectJwtError(
      () => importJwk({ ...(p256.publicKey.export({ format: 'jwk' }) as Jwk), alg: 'ES384' }),
      'key_invalid',
    )
    expectJwtError(
      () => importPem(p384.publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'ES256'),
      'key_invalid',
    )
    // secp256k1 (ES256K) is not P-256, whatever alg is claimed.
    expectJwtError(() => importKeyObject(k256.publicKey), 'key_invalid')
    expectJwtError(() => importKeyObject(k256.publicKey, 'ES256'), 'key_invalid')
    expectJwtError(
      () => importJwk(k256.publicKey.export({ format: 'jwk' }) as Jwk, { alg: 'ES256' }),
      'key_invalid',
    )
    // Control: the right curve imports, with the algorithm implied.
    assert.equal(importKeyObject(p384.publicKey).alg, 'ES384')
  })

  it('a key of the wrong type for the algorithm is key_invalid', () => {
    const ed25519 = generateKeyPairSync('ed25519')
    const ed448 = generateKeyPairSync('ed448')
    expectJwtError(() => importKeyObject(ed25519.publicKey, 'ES256'), 'key_invalid')
    expectJwtError(() => importKeyObject(ed25519.publicKey, 'RS256'), 'key_invalid')
    expectJwtError(() => importKeyObject(ed448.publicKey), 'key_invalid')
    expectJwtError(() => importKeyObject(ed448.publicKey, 'EdDSA'), 'key_invalid')
    expectJwtError(() => importKeyObject(ES.publicKey.keyObject, 'RS256'), 'key_invalid')
    expectJwtError(() => importKeyObject(RS.publicKey.keyObject, 'EdDSA'), 'key_invalid')
    expectJwtError(() => importKeyObject(RS.publicKey.keyObject, 'ES256'), 'key_invalid')
    expectJwtError(() => importKeyObject(RS.publicKey.keyObject), 'key_invalid')
    expectJwtError(
      () => importJwk({ kty: 'oct', k: b64(randomBytes(32)), alg: 'RS256' }),
      'key_invalid',
    )
    expectJwtError(() => importJwk({ kty: 'oct', k: b64(randomBytes(32)) }), 'key_invalid')
  })

  it('a JWK meant for encryption is key_invalid', () => {
    const jwk = exportJwk(ES.publicKey)
    expectJwtError(() => importJwk({ ...jwk, use: 'enc' }), 'key_invalid')
    expectJwtError(() => importJwk({ ...jwk, use: 'SIG' }), 'key_invalid')
    expectJwtError(() => importJwk({ ...jwk, use: undefined, key_ops: ['encrypt'] }), 'key_invalid')
    expectJwtError(
      () => importJwk({ ...jwk, use: undefined, key_ops: ['wrapKey', 'unwrapKey'] }),
      'key_invalid',
    )
    const jwks = { keys: [{ ...jwk, use: 'enc' }] }
    expectJwtError(() => KeySet.fromJwks(jwks, { strict: true }), 'key_invalid')
    // Control: the same key for signatures imports.
    assert.equal(importJwk(jwk).alg, 'ES256')
  })

  it('a public key cannot sign', () => {
    expectJwtError(() => sign(validClaims(), ES.publicKey), 'key_invalid')
    expectJwtError(() => sign(validClaims(), RS.publicKey), 'key_invalid')
  })
})

describe('algorithm binding (RFC 8725 §3.1)', () => {
  const rsaToken = (alg: 'RS256' | 'PS256' | 'RS384' | 'PS512'): string =>
    sign(validClaims(), keyPair(alg).privateKey)

  it('an RS256 key refuses a PS256 token signed with the same RSA key', () => {
    assert.deepEqual(
      RS.publicKey.keyObject.export({ format: 'jwk' }),
      PS.publicKey.keyObject.export({ format: 'jwk' }),
    )
    const token = rsaToken('PS256')
    assertVerifies(token, PS.publicKey)
    expectJwtError(() => verify(token, RS.publicKey), 'alg_not_allowed')
    expectJwtError(() => createVerifier({ key: RS.publicKey })(token), 'alg_not_allowed')
    // In a set, the token's kid (the PS256 key's) names no key at all.
    expectJwtError(() => verify(token, new KeySet([RS.publicKey])), 'key_not_found')
    expectJwtError(
      () => verify(token, RS.publicKey, { algorithms: ['RS256', 'PS256'] }),
      'alg_not_allowed',
    )
  })
  it('a PS256 key refuses RS256, RS384 and PS512 tokens from the same RSA key', () => {
    for (const alg of ['RS256', 'RS384', 'PS512'] as const) {
      const token = rsaToken(alg)
      expectJwtError(() => verify(token, PS.publicKey), 'alg_not_allowed')
      expectJwtError(() => createVerifier({ key: PS.publicKey })(token), 'alg_not_allowed')
    }
  })
  it('a KeySet refuses a token whose kid names a key of another algorithm', () => {
    const keys = new KeySet([RS.publicKey])
    const token = forge({ alg: 'PS256', kid: RS.publicKey.kid }, validClaims(), PS.privateKey)
    expectJwtError(() => verify(token, keys), 'alg_not_allowed')
    expectJwtError(() => createVerifier({ key: keys })(token), 'alg_not_allowed')
  })
  it('the algorithms option narrows further', () => {
    const token = sign(validClaims(), ES.privateKey)
    assertVerifies(token, ES.publicKey, { algorithms: ['ES256'] })
    expectJwtError(() => verify(token, ES.publicKey, { algorithms: ['ES384'] }), 'alg_not_allowed')
    expectJwtError(
      () => createVerifier({ key: ES.publicKey, algorithms: ['EdDSA', 'RS256'] })(token),
      'alg_not_allowed',
    )
    const keys = new KeySet([RS.publicKey, PS.publicKey])
    const verifyRs = createVerifier({ key: keys, algorithms: ['RS256'] })
    assert.equal(typeof verifyRs(rsaToken('RS256')).payload, 'object')
    expectJwtError(() => verifyRs(rsaToken('PS256')), 'alg_not_allowed')
    expectJwtError(
      () => verify(rsaToken('PS256'), keys, { algorithms: ['RS256'] }),
      'alg_not_allowed',
    )
    assertVerifies(rsaToken('PS256'), keys)
  })
  it('a misconfigured algorithms list is a TypeError at creation, not a silent accept-all', () => {
    for (const algorithms of [[], ['RS256', 'HS1'], 'RS256,PS256', [null]]) {
      assert.throws(
        () =>
          createVerifier({ key: RS.publicKey, algorithms: algorithms as unknown as Algorithm[] }),
        TypeError,
      )
    }
  })
  it('every error above is a JwtError carrying one of the documented codes', () => {
    const error = expectJwtError(() => verify(rsaToken('PS256'), RS.publicKey), 'alg_not_allowed')
    assert.ok(error instanceof Error)
    assert.equal(error.name, 'JwtError')
    // Messages are safe to log: they never echo the token.
    assert.ok(!error.message.includes(rsaToken('PS256').slice(0, 20)))
  })
})

describe('regressions found by the differential suite', () => {
  const secret = importSecret(Buffer.alloc(32, 7), 'HS256')
  const header = b64json({ alg: 'HS256', typ: 'JWT' })
  const exp = nowSeconds() + 600

  it('invalid UTF-8 in a signed payload or header is malformed, as jose says', () => {
    const payload = Buffer.concat([
      Buffer.from(`{"exp":${exp},"a":"`),
      Buffer.from([0xff, 0xc3]),
      Buffer.from('"}'),
    ]).toString('base64url')
    expectJwtError(() => verify(forge(header, payload, secret), secret), 'malformed')
    const badHeader = Buffer.concat([
      Buffer.from('{"alg":"HS256","x":"'),
      Buffer.from([0xc0, 0x80]),
      Buffer.from('"}'),
    ]).toString('base64url')
    expectJwtError(() => verify(forge(badHeader, { exp }, secret), secret), 'malformed')
  })

  it('nesting beyond the call stack in a cached, frozen result is not a RangeError', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
    const payload = Buffer.from(`{"exp":${exp},"d":${deep}}`).toString('base64url')
    const verifyToken = createVerifier({ key: secret, maxTokenLength: 1e7 })
    const result = verifyToken(forge(header, payload, secret))
    assert.ok(Object.isFrozen(result.payload.d))
  })

  it('key text in any form is refused as an HMAC secret', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string
    const jwkText = JSON.stringify(publicKey.export({ format: 'jwk' }))
    assert.throws(() => importSecret(Buffer.from(pem)), { code: 'key_invalid' })
    assert.throws(() => importSecret(jwkText), { code: 'key_invalid' })
    assert.throws(() => importSecret(`  ${jwkText}`), { code: 'key_invalid' })
    assert.throws(
      () => importJwk({ kty: 'oct', k: Buffer.from(pem).toString('base64url'), alg: 'HS256' }),
      { code: 'key_invalid' },
    )
  })
})
