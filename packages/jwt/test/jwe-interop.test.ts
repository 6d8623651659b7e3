// JWE interoperability with jose, both ways, for every alg × enc pair (and
// every curve of ECDH-ES); JWK interop of encryption keys both ways; nested
// JWTs both ways; and differential properties on random payloads: what we
// encrypt jose decrypts to the same bytes, what jose encrypts we decrypt to
// the same bytes, and a mutated JWE we accept is one jose accepts with the
// same plaintext. Bounded runs: the file stays well under 30 s on a shared
// 2-core machine.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import * as jose from 'jose'
import { JwtError } from '../src/errors.ts'
import { decrypt, encrypt } from '../src/jwe.ts'
import { decryptJwt, encryptJwt } from '../src/jwe-jwt.ts'
import { EncryptionKeySet, exportEncryptionJwk, importEncryptionJwk } from '../src/jwe-keys.ts'
import { exportJwk, generateKeyPair, type Jwk } from '../src/keys.ts'
import { ECDH_CURVES, isEcdh, JWE_CASES, joseAlg, recipientKeys, toJoseKey } from './jwe-helpers.ts'

const RUNS = Number(process.env.DIFFERENTIAL_RUNS ?? 100)
/** Random payloads are up to 2 KiB: base64url of that, plus headers, stays under this. */
const ROOMY = { maxTokenLength: 1 << 16 }

describe('what we encrypt, jose decrypts; what jose encrypts, we decrypt', () => {
  for (const c of JWE_CASES) {
    it(c.name, async () => {
      const { privateKey, publicKey } = recipientKeys(c)
      const plaintext = Buffer.from(`to ${c.name}: “ünïcödé” ${'x'.repeat(37)}`)

      const ours = encrypt(plaintext, publicKey, {
        enc: c.enc,
        typ: 'example+jwe',
        cty: 'text/plain',
      })
      const joseDecryptKey = await toJoseKey(privateKey)
      const opened = await jose.compactDecrypt(ours, joseDecryptKey, {
        keyManagementAlgorithms: [c.alg],
        contentEncryptionAlgorithms: [c.enc],
      })
      assert.ok(Buffer.from(opened.plaintext).equals(plaintext))
      assert.equal(opened.protectedHeader.alg, c.alg)
      assert.equal(opened.protectedHeader.enc, c.enc)
      assert.equal(opened.protectedHeader.kid, publicKey.kid)
      assert.equal(opened.protectedHeader.typ, 'example+jwe')
      assert.deepEqual(opened.protectedHeader, decrypt(ours, privateKey).header)

      const joseEncryptKey = await toJoseKey(publicKey)
      const header: jose.CompactJWEHeaderParameters = { alg: c.alg, enc: c.enc, kid: publicKey.kid }
      const theirs = await new jose.CompactEncrypt(plaintext)
        .setProtectedHeader(header)
        .encrypt(joseEncryptKey)
      const { header: read, plaintext: back } = decrypt(theirs, privateKey, {
        algorithms: [c.alg],
        encryptions: [c.enc],
      })
      assert.ok(back.equals(plaintext))
      assert.equal(read.alg, c.alg)
      if (isEcdh(c.alg)) assert.equal(read.epk?.crv, c.crv)
      // A kid-less JWE finds the one key of its alg (and enc) in a set.
      const kidless = await new jose.CompactEncrypt(plaintext)
        .setProtectedHeader({ alg: c.alg, enc: c.enc })
        .encrypt(joseEncryptKey)
      assert.ok(decrypt(kidless, new EncryptionKeySet([privateKey])).plaintext.equals(plaintext))
    })
  }
})

describe('encryption keys as JWKs, both ways', () => {
  for (const alg of ['ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A256KW', 'RSA-OAEP-256'] as const) {
    const curves = isEcdh(alg) ? ECDH_CURVES : [undefined]
    for (const crv of curves) {
      it(`${alg}${crv === undefined ? '' : ` ${crv}`}: a jose key pair works here, ours works in jose`, async () => {
        const pair = await jose.generateKeyPair(alg, {
          extractable: true,
          ...(crv === undefined ? {} : { crv }),
        })
        const privateJwk = { ...(await jose.exportJWK(pair.privateKey)), alg, use: 'enc' } as Jwk
        const publicJwk = { ...(await jose.exportJWK(pair.publicKey)), alg, use: 'enc' } as Jwk
        const privateKey = importEncryptionJwk(privateJwk)
        const publicKey = importEncryptionJwk(publicJwk)
        assert.equal(publicKey.type, 'public')
        assert.equal(publicKey.kid, await jose.calculateJwkThumbprint(publicJwk))
        const jwe = encrypt('both ways', publicKey, { enc: 'A256GCM' })
        const opened = await jose.compactDecrypt(jwe, pair.privateKey)
        assert.equal(new TextDecoder().decode(opened.plaintext), 'both ways')
        // Our export, imported by jose.
        const exported = exportEncryptionJwk(privateKey, { includePrivate: true })
        assert.equal(exported.use, 'enc')
        assert.equal(exported.alg, alg)
        const joseKey = await jose.importJWK(exported as jose.JWK, alg)
        const back = await new jose.CompactEncrypt(new TextEncoder().encode('and back'))
          .setProtectedHeader({ alg, enc: 'A128CBC-HS256' })
          .encrypt(await jose.importJWK(exportEncryptionJwk(publicKey) as jose.JWK, alg))
        assert.equal(decrypt(back, privateKey).plaintext.toString(), 'and back')
        assert.ok(joseKey)
      })
    }
  }
})

describe('nested JWTs, both ways', () => {
  const signing = generateKeyPair('ES256', { kid: 'issuer-key' })
  const now = Math.floor(Date.now() / 1000)

  for (const c of JWE_CASES.filter((x) => x.enc === 'A256GCM' || x.alg === 'dir')) {
    it(c.name, async () => {
      const { privateKey, publicKey } = recipientKeys(c)
      // Ours → jose: decrypt, then verify the inner JWS.
      const ours = encryptJwt({ sub: 'u1', nonce: 'n-0S6' }, signing.privateKey, publicKey, {
        issuer: 'https://auth.example.com',
        audience: 'client-1',
        expiresIn: '5m',
        enc: c.enc,
      })
      const outer = await jose.compactDecrypt(ours, await toJoseKey(privateKey))
      assert.equal(outer.protectedHeader.cty, 'JWT')
      const inner = await jose.jwtVerify(
        new TextDecoder().decode(outer.plaintext),
        await jose.importJWK(exportJwk(signing.publicKey) as jose.JWK, 'ES256'),
        { issuer: 'https://auth.example.com', audience: 'client-1' },
      )
      assert.equal(inner.payload.sub, 'u1')

      // jose → ours: SignJWT, then CompactEncrypt with cty JWT.
      const jws = await new jose.SignJWT({ sub: 'u2' })
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'issuer-key' })
        .setIssuer('https://auth.example.com')
        .setAudience('client-1')
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(
          await jose.importJWK(
            exportJwk(signing.privateKey, { includePrivate: true }) as jose.JWK,
            'ES256',
          ),
        )
      const theirs = await new jose.CompactEncrypt(new TextEncoder().encode(jws))
        .setProtectedHeader({ alg: c.alg, enc: c.enc, cty: 'JWT' })
        .encrypt(await toJoseKey(publicKey))
      const verified = decryptJwt(theirs, privateKey, signing.publicKey, {
        issuer: 'https://auth.example.com',
        audience: 'client-1',
        keyManagementAlgorithms: [c.alg],
        encryptions: [c.enc],
      })
      assert.equal(verified.payload.sub, 'u2')
      assert.equal(verified.header.alg, 'ES256')
    })
  }
})

// ---------------------------------------------------------------------------
// Differential properties on random payloads.

const payload = fc.uint8Array({ maxLength: 2048 })
const anyCase = fc.constantFrom(...JWE_CASES)

describe('random payloads', () => {
  it('what we encrypt, jose decrypts to the same bytes', async () => {
    await fc.assert(
      fc.asyncProperty(anyCase, payload, async (c, bytes) => {
        const { privateKey, publicKey } = recipientKeys(c)
        const jwe = encrypt(bytes, publicKey, { enc: c.enc })
        const opened = await jose.compactDecrypt(jwe, await toJoseKey(privateKey))
        assert.ok(Buffer.from(opened.plaintext).equals(Buffer.from(bytes)))
        assert.ok(decrypt(jwe, privateKey, ROOMY).plaintext.equals(Buffer.from(bytes)))
      }),
      { numRuns: RUNS },
    )
  })

  it('what jose encrypts, we decrypt to the same bytes', async () => {
    await fc.assert(
      fc.asyncProperty(anyCase, payload, async (c, bytes) => {
        const { privateKey, publicKey } = recipientKeys(c)
        const jwe = await new jose.CompactEncrypt(bytes)
          .setProtectedHeader({ alg: c.alg, enc: c.enc })
          .encrypt(await toJoseKey(publicKey))
        assert.ok(decrypt(jwe, privateKey, ROOMY).plaintext.equals(Buffer.from(bytes)))
      }),
      { numRuns: RUNS },
    )
  })

  it('JSON and string plaintexts arrive as their UTF-8 bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        anyCase,
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.object({ maxDepth: 2 })),
        async (c, value) => {
          const { privateKey, publicKey } = recipientKeys(c)
          const jwe = encrypt(value, publicKey, { enc: c.enc })
          const expected = typeof value === 'string' ? value : JSON.stringify(value)
          assert.equal(decrypt(jwe, privateKey, ROOMY).plaintext.toString('utf8'), expected)
          const opened = await jose.compactDecrypt(jwe, await toJoseKey(privateKey))
          assert.equal(new TextDecoder().decode(opened.plaintext), expected)
        },
      ),
      { numRuns: Math.ceil(RUNS / 2) },
    )
  })

  const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const mutation = fc.record({
    segment: fc.integer({ min: 0, max: 4 }),
    at: fc.nat(),
    kind: fc.constantFrom('replace', 'insert', 'delete'),
    char: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...B64URL) },
      { weight: 1, arbitrary: fc.constantFrom('=', '+', '/', '.', ' ') },
    ),
  })

  it('a mutated JWE is refused, or is one jose accepts with the same plaintext', async () => {
    let refused = 0
    await fc.assert(
      fc.asyncProperty(anyCase, payload, mutation, async (c, bytes, m) => {
        const { privateKey, publicKey } = recipientKeys(c)
        const jwe = encrypt(bytes, publicKey, { enc: c.enc })
        const parts = jwe.split('.')
        const segment = parts[m.segment]!
        const at = segment.length === 0 ? 0 : m.at % segment.length
        parts[m.segment] =
          m.kind === 'replace'
            ? `${segment.slice(0, at)}${m.char}${segment.slice(at + 1)}`
            : m.kind === 'insert'
              ? `${segment.slice(0, at)}${m.char}${segment.slice(at)}`
              : `${segment.slice(0, at)}${segment.slice(at + 1)}`
        const mutated = parts.join('.')
        let ours: Buffer | undefined
        try {
          ours = decrypt(mutated, privateKey, ROOMY).plaintext
        } catch (error) {
          assert.ok(error instanceof JwtError, `not a JwtError: ${String(error)}`)
          refused++
          return
        }
        // Accepted: the mutation changed nothing that matters, so jose agrees.
        const opened = await jose.compactDecrypt(mutated, await toJoseKey(privateKey))
        assert.ok(Buffer.from(opened.plaintext).equals(ours))
        assert.ok(ours.equals(Buffer.from(bytes)))
      }),
      { numRuns: RUNS },
    )
    // A replaced character may equal the old one: most, not all, mutations change something.
    if (RUNS >= 20)
      assert.ok(refused > RUNS / 2, `most mutations must be refused (${refused} of ${RUNS})`)
  })
})

it('jose keys: the dir key is imported for its enc', () => {
  assert.equal(
    joseAlg(recipientKeys({ alg: 'dir', enc: 'A128GCM', crv: undefined }).privateKey),
    'A128GCM',
  )
})
