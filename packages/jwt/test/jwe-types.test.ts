// Compile-time checks of the JWE types (`npx tsc -p tsconfig.json`): each
// `@ts-expect-error` line proves a wrong usage does not compile, the rest
// that the right ones do. The checks sit in a function that never runs.

import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  createRemoteKeySet,
  type DecryptedJwe,
  decrypt,
  decryptJwt,
  EncryptionKeySet,
  encrypt,
  encryptJwt,
  generateEncryptionKeyPair,
  generateEncryptionSecret,
  generateKeyPair,
  type JweHeader,
  KeySet,
  type VerifiedJwt,
} from '../src/index.ts'

export function jweTypes(): void {
  const signing = generateKeyPair('ES256')
  const recipient = generateEncryptionKeyPair('ECDH-ES+A256KW', { crv: 'X25519' })
  const dir = generateEncryptionSecret('dir', { enc: 'A256GCM' })

  const jwe: string = encrypt({ a: 1 }, recipient.publicKey, { enc: 'A256GCM', kid: false })
  const opened: DecryptedJwe = decrypt(jwe, new EncryptionKeySet([recipient.privateKey]), {
    algorithms: ['ECDH-ES+A256KW'],
    encryptions: ['A256GCM'],
  })
  const header: JweHeader = opened.header
  const buffer: Buffer = opened.plaintext
  void [header, buffer, encrypt(new Uint8Array(4), dir), encrypt('text', dir)]

  // @ts-expect-error a signing key does not encrypt
  encrypt('x', signing.publicKey, { enc: 'A256GCM' })
  // @ts-expect-error a signing key set does not decrypt
  decrypt(jwe, new KeySet([signing.publicKey]))
  // @ts-expect-error enc is one of the four
  encrypt('x', recipient.publicKey, { enc: 'A192GCM' })
  // @ts-expect-error algorithms are key management algorithms, not JWS ones
  decrypt(jwe, recipient.privateKey, { algorithms: ['ES256'] })
  // @ts-expect-error generateEncryptionKeyPair takes an asymmetric algorithm
  generateEncryptionKeyPair('A128KW')
  // @ts-expect-error generateEncryptionSecret takes a symmetric one
  generateEncryptionSecret('RSA-OAEP-256')

  const token = encryptJwt({ sub: 'u1' }, signing.privateKey, recipient.publicKey, {
    expiresIn: '5m',
    enc: 'A256GCM',
    typ: 'at+jwt',
  })
  const local: VerifiedJwt = decryptJwt(token, recipient.privateKey, signing.publicKey, {
    algorithms: ['ES256'],
    keyManagementAlgorithms: ['ECDH-ES+A256KW'],
    encryptions: ['A256GCM'],
  })
  const remote: Promise<VerifiedJwt> = decryptJwt(
    token,
    recipient.privateKey,
    createRemoteKeySet('https://auth.example.com/jwks'),
  )
  void [local, remote]
  // @ts-expect-error the keys cannot change places
  encryptJwt({}, recipient.privateKey, signing.publicKey, { enc: 'A256GCM' })
  // @ts-expect-error nor here
  decryptJwt(token, signing.privateKey, recipient.publicKey)
}

test('the JWE type checks compile (tsc runs them; nothing to run here)', () => {
  assert.equal(typeof jweTypes, 'function')
})
