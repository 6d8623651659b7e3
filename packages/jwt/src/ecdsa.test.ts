import assert from 'node:assert/strict'
import { generateKeyPairSync, sign, verify } from 'node:crypto'
import { test } from 'node:test'
import fc from 'fast-check'
import { derToRaw, rawToDer } from './ecdsa.ts'

const curves = [
  ['P-256', 32, 'sha256'],
  ['P-384', 48, 'sha384'],
  ['P-521', 66, 'sha512'],
] as const

for (const [curve, size, hash] of curves) {
  test(`${curve}: DER from OpenSSL converts to the same R || S node:crypto produces, and back`, () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve })
    for (let i = 0; i < 64; i++) {
      const data = Buffer.from(`message ${i}`)
      const der = sign(hash, data, privateKey)
      const raw = derToRaw(der, size)
      assert.equal(raw.length, 2 * size)
      assert.ok(verify(hash, data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw))
      assert.deepEqual(rawToDer(raw, size), der)
    }
  })

  test(`${curve}: any R || S survives rawToDer then derToRaw`, () => {
    const bytes = fc.uint8Array({ minLength: size, maxLength: size })
    // Leading zeros and high bits are the interesting cases.
    const part = fc.oneof(
      bytes,
      bytes.map((b) => b.fill(0, 0, Math.min(size, 3))),
      bytes.map((b) => b.fill(0)),
      bytes.map((b) => {
        b[0] = 0x80
        return b
      }),
    )
    fc.assert(
      fc.property(part, part, (r, s) => {
        const raw = Buffer.concat([r, s])
        assert.deepEqual(derToRaw(rawToDer(raw, size), size), raw)
      }),
      { numRuns: 300 },
    )
  })
}

test('derToRaw rejects malformed DER', () => {
  assert.throws(() => derToRaw(Buffer.from([0x31, 0]), 32))
  assert.throws(() => derToRaw(Buffer.from([0x30, 5, 2, 1, 1, 2, 1]), 32))
  assert.throws(() => derToRaw(Buffer.from([0x30, 6, 2, 1, 1, 3, 1, 1]), 32))
  assert.throws(() =>
    derToRaw(
      Buffer.concat([Buffer.from([0x30, 38, 2, 34]), Buffer.alloc(34, 1), Buffer.from([2, 0])]),
      32,
    ),
  )
})
