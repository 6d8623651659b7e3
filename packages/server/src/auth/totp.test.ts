// TOTP against RFC 6238's own test vectors (Appendix B, SHA-1; the 6-digit
// code is the 8-digit value's last six digits, as HOTP truncates modulo
// 10^digits), read as data; and the ±1 step window the server accepts.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { newTotpSecret, totpCode, totpStep, totpUri } from './totp.ts'

interface Vectors {
  secretAscii: string
  secretBase32: string
  period: number
  vectors: { time: number; step: number; totp8: string }[]
}

const data = JSON.parse(
  readFileSync(join(import.meta.dirname, '../../test/vectors/rfc6238.json'), 'utf8'),
) as Vectors

test('the base32 secret of the vectors is the RFC’s ASCII seed', () => {
  const decoded = Buffer.from(data.secretAscii, 'ascii')
  assert.equal(decoded.length, 20)
  // RFC 4648 base32 of the seed, computed here rather than trusted.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const byte of decoded) bits += byte.toString(2).padStart(8, '0')
  let base32 = ''
  for (let i = 0; i < bits.length; i += 5)
    base32 += alphabet[Number.parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)]
  assert.equal(base32, data.secretBase32)
})

test('RFC 6238 Appendix B (SHA-1): each code, and the step it matches', () => {
  for (const { time, step, totp8 } of data.vectors) {
    const code = totp8.slice(-6)
    assert.equal(totpCode(data.secretBase32, time * 1000), code, `T=${time}`)
    assert.equal(Math.floor(time / data.period), step, `T=${time}`)
    assert.equal(totpStep(data.secretBase32, code, time * 1000), step, `T=${time}`)
  }
})

test('a code is good one step either side of its own, not two', () => {
  const { time, step, totp8 } = data.vectors[3]!
  const code = totp8.slice(-6)
  for (const offset of [-1, 0, 1]) {
    assert.equal(totpStep(data.secretBase32, code, (time + offset * 30) * 1000), step)
  }
  for (const offset of [-2, 2]) {
    assert.equal(totpStep(data.secretBase32, code, (time + offset * 30) * 1000), undefined)
  }
  assert.equal(totpStep(data.secretBase32, '12345', time * 1000), undefined)
  assert.equal(totpStep(data.secretBase32, '12345a', time * 1000), undefined)
})

test('new secrets are 160 bits of base32; the URI names issuer and account', () => {
  const secret = newTotpSecret()
  assert.match(secret, /^[A-Z2-7]{32}$/)
  assert.notEqual(newTotpSecret(), secret)
  const uri = new URL(totpUri(secret, 'Acme & Co', 'ada@example.com'))
  assert.equal(uri.searchParams.get('issuer'), 'Acme & Co')
  assert.equal(uri.searchParams.get('algorithm'), 'SHA1')
  assert.equal(uri.searchParams.get('digits'), '6')
  assert.equal(uri.searchParams.get('period'), '30')
  assert.match(decodeURIComponent(uri.pathname), /Acme & Co:ada@example\.com$/)
})
