import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { decodeCanonicalBase64url, isCanonicalBase64url } from './base64url.ts'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const character = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom(...ALPHABET) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '+',
      '/',
      '=',
      ' ',
      '\n',
      '.',
      '!',
      'é',
      '\u0100',
      '\u0000',
      '\ud800',
    ),
  },
)

test('decodeCanonicalBase64url accepts exactly what isCanonicalBase64url does, and decodes it', () => {
  fc.assert(
    fc.property(fc.string({ unit: character, maxLength: 40 }), (segment) => {
      const decoded = decodeCanonicalBase64url(segment)
      assert.equal(decoded !== undefined, isCanonicalBase64url(segment), JSON.stringify(segment))
      if (decoded !== undefined) assert.deepEqual(decoded, Buffer.from(segment, 'base64url'))
    }),
    { numRuns: 2000 },
  )
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      const segment = Buffer.from(bytes).toString('base64url')
      assert.deepEqual(decodeCanonicalBase64url(segment), Buffer.from(bytes))
    }),
  )
})

test('decodeCanonicalBase64url refuses padding, the base64 alphabet, stray bits and skipped characters', () => {
  for (const segment of [
    'AA==',
    'AA=',
    'AA+A',
    'AA/A',
    'AB',
    'AAB',
    'AA A',
    'AA\nA',
    'A',
    'AAAAA',
    'AAé',
  ]) {
    assert.equal(decodeCanonicalBase64url(segment), undefined, JSON.stringify(segment))
  }
  assert.equal(decodeCanonicalBase64url('')?.length, 0)
  assert.equal(decodeCanonicalBase64url('AA')?.length, 1)
  assert.equal(decodeCanonicalBase64url('AAE')?.length, 2)
})
