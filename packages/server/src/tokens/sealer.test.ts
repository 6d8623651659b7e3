import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { createSealer } from './sealer.ts'

const masterKey = randomBytes(32)

test('seal then open gives the plaintext back, under the same key and context', () => {
  const sealer = createSealer(masterKey)
  for (const plaintext of ['', 'a', '{"kty":"EC","d":"secret"}', 'ünïcødé ✓', 'x'.repeat(10_000)]) {
    const sealed = sealer.seal(plaintext, 'signing-key:k1')
    assert.equal(sealer.open(sealed, 'signing-key:k1'), plaintext)
    // A second sealer over the same master key (another instance) opens it too.
    assert.equal(createSealer(Buffer.from(masterKey)).open(sealed, 'signing-key:k1'), plaintext)
  }
})

test('the sealed form is v1.<iv>.<ciphertext>.<tag> in base64url, with a fresh IV each time', () => {
  const sealer = createSealer(masterKey)
  const a = sealer.seal('same text', 'ctx')
  const b = sealer.seal('same text', 'ctx')
  assert.notEqual(a, b)
  for (const sealed of [a, b]) {
    const parts = sealed.split('.')
    assert.equal(parts.length, 4)
    assert.equal(parts[0], 'v1')
    for (const part of parts.slice(1)) assert.match(part, /^[A-Za-z0-9_-]+$/)
    assert.equal(Buffer.from(parts[1]!, 'base64url').length, 12, '96-bit IV')
    assert.equal(Buffer.from(parts[3]!, 'base64url').length, 16, '128-bit tag')
    assert.ok(!sealed.includes('same text'))
  }
  assert.notEqual(a.split('.')[1], b.split('.')[1])
})

test('open refuses a wrong context, a wrong key and any tampering, with one uninformative message', () => {
  const sealer = createSealer(masterKey)
  const plaintext = '{"d":"top-secret-private-member"}'
  const sealed = sealer.seal(plaintext, 'refresh-pair:abc')
  const [version, iv, ciphertext, tag] = sealed.split('.') as [string, string, string, string]
  const flip = (text: string): string => {
    const bytes = Buffer.from(text, 'base64url')
    bytes[0]! ^= 1
    return bytes.toString('base64url')
  }
  const attempts: [string, () => string][] = [
    ['wrong context', () => sealer.open(sealed, 'refresh-pair:abd')],
    ['wrong key', () => createSealer(randomBytes(32)).open(sealed, 'refresh-pair:abc')],
    [
      'tampered iv',
      () => sealer.open([version, flip(iv), ciphertext, tag].join('.'), 'refresh-pair:abc'),
    ],
    [
      'tampered ciphertext',
      () => sealer.open([version, iv, flip(ciphertext), tag].join('.'), 'refresh-pair:abc'),
    ],
    [
      'tampered tag',
      () => sealer.open([version, iv, ciphertext, flip(tag)].join('.'), 'refresh-pair:abc'),
    ],
    [
      'truncated tag',
      () => sealer.open([version, iv, ciphertext, tag.slice(0, -2)].join('.'), 'refresh-pair:abc'),
    ],
    ['other version', () => sealer.open(['v2', iv, ciphertext, tag].join('.'), 'refresh-pair:abc')],
    ['extra part', () => sealer.open(`${sealed}.x`, 'refresh-pair:abc')],
    [
      'non-canonical base64url',
      () => sealer.open([version, `${iv}=`, ciphertext, tag].join('.'), 'refresh-pair:abc'),
    ],
    ['garbage', () => sealer.open('not sealed at all', 'refresh-pair:abc')],
    ['empty', () => sealer.open('', 'refresh-pair:abc')],
  ]
  for (const [name, attempt] of attempts) {
    assert.throws(
      attempt,
      (error: unknown) => {
        assert.ok(error instanceof Error, name)
        assert.equal(error.message, 'the sealed value cannot be opened', name)
        assert.ok(!error.message.includes('secret'), name)
        return true
      },
      name,
    )
  }
  // The untouched value still opens: the failures above are not a broken sealer.
  assert.equal(sealer.open(sealed, 'refresh-pair:abc'), plaintext)
})

test('a master key that is not exactly 32 bytes is refused', () => {
  for (const bad of [
    Buffer.alloc(0),
    randomBytes(16),
    randomBytes(31),
    randomBytes(33),
    randomBytes(64),
  ]) {
    assert.throws(() => createSealer(bad), TypeError)
  }
  assert.throws(() => createSealer('a'.repeat(32) as unknown as Buffer), TypeError)
})

test('the AES key is derived from the master key, not the master key itself', async () => {
  const { createDecipheriv } = await import('node:crypto')
  const sealer = createSealer(masterKey)
  const [, iv, ciphertext, tag] = sealer.seal('hello', 'ctx').split('.') as [
    string,
    string,
    string,
    string,
  ]
  const decipher = createDecipheriv('aes-256-gcm', masterKey, Buffer.from(iv, 'base64url'))
  decipher.setAAD(Buffer.from('ctx'))
  decipher.setAuthTag(Buffer.from(tag, 'base64url'))
  decipher.update(Buffer.from(ciphertext, 'base64url'))
  assert.throws(() => decipher.final())
})

test('an empty context is refused when sealing and opening', () => {
  const sealer = createSealer(masterKey)
  assert.throws(() => sealer.seal('x', ''), TypeError)
  assert.throws(() => sealer.open(sealer.seal('x', 'c'), ''), TypeError)
})
