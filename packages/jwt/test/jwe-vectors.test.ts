// Published JWE test vectors (RFC 7520 §5, and the JOSE cookbook's X25519
// ECDH-ES example), stored as data in ./vectors/*-jwe.json and replayed here:
// one test per vector. Each replayable vector is decrypted here and by jose,
// and its encryption is replayed byte for byte from the RFC's generated CEK,
// IV and ephemeral key. Vectors of algorithms Tessera refuses are refused
// with the code the file names; JSON-serialization-only ones say why they
// are not replayed.

import assert from 'node:assert/strict'
import { createPrivateKey, createPublicKey, diffieHellman, type JsonWebKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import * as jose from 'jose'
import { JwtError, type JwtErrorCode } from '../src/errors.ts'
import { concatKdf, decrypt, encryptContent, wrapKey } from '../src/jwe.ts'
import {
  type ContentEncryption,
  contentEncryptionSpec,
  type KeyManagementAlgorithm,
  keyManagementSpec,
} from '../src/jwe-algorithms.ts'
import { importEncryptionJwk } from '../src/jwe-keys.ts'
import type { Jwk } from '../src/keys.ts'

interface ReplayVector {
  id: string
  title: string
  alg: KeyManagementAlgorithm
  enc: ContentEncryption
  jwe: string
  plaintext: string
  jwk: Jwk
  header: Record<string, unknown>
  /** Generated values of the RFC, when it publishes them. */
  cek: string | undefined
  iv: string | undefined
  epk: Jwk | undefined
  encryptedKey: string | undefined
}

interface RefusedVector {
  id: string
  title: string
  alg: string
  jwe: string
  code: JwtErrorCode
  reason: string
}

interface VectorFile {
  name: string
  replay: ReplayVector[]
  refused: RefusedVector[]
  skipped: { id: string; reason: string }[]
}

const FILES = ['rfc7520-jwe.json', 'cookbook-x25519-jwe.json'] as const

// --- loading: the data is checked as it is read, so a malformed entry fails loudly

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function field(entry: Record<string, unknown>, name: string, where: string): string {
  const value = entry[name]
  if (typeof value !== 'string' || value.length === 0) {
    throw new Error(`${where}: "${name}" must be a non-empty string`)
  }
  return value
}

function optional(entry: Record<string, unknown>, name: string, where: string): string | undefined {
  return entry[name] === undefined ? undefined : field(entry, name, where)
}

function record(entry: Record<string, unknown>, name: string, where: string) {
  const value = entry[name]
  if (!isRecord(value)) throw new Error(`${where}: "${name}" must be an object`)
  return value
}

function loadFile(name: string): VectorFile {
  const data: unknown = JSON.parse(
    readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8'),
  )
  if (!isRecord(data) || !Array.isArray(data.vectors)) throw new Error(`${name}: no "vectors"`)
  field(data, 'source', name)
  field(data, 'data', name)
  const file: VectorFile = { name, replay: [], refused: [], skipped: [] }
  for (const entry of data.vectors as unknown[]) {
    if (!isRecord(entry)) throw new Error(`${name}: a vector is not an object`)
    const id = field(entry, 'id', name)
    if (entry.skip !== undefined) {
      file.skipped.push({ id, reason: field(entry, 'skip', id) })
      continue
    }
    if (entry.refused !== undefined) {
      const refused = record(entry, 'refused', id)
      file.refused.push({
        id,
        title: field(entry, 'title', id),
        alg: field(entry, 'alg', id),
        jwe: field(entry, 'jwe', id),
        code: field(refused, 'code', id) as JwtErrorCode,
        reason: field(refused, 'reason', id),
      })
      continue
    }
    const alg = field(entry, 'alg', id)
    const enc = field(entry, 'enc', id)
    if (keyManagementSpec(alg) === undefined) throw new Error(`${id}: unknown alg ${alg}`)
    if (contentEncryptionSpec(enc) === undefined) throw new Error(`${id}: unknown enc ${enc}`)
    const epk = entry.epk === undefined ? undefined : (record(entry, 'epk', id) as Jwk)
    file.replay.push({
      id,
      title: field(entry, 'title', id),
      alg: alg as KeyManagementAlgorithm,
      enc: enc as ContentEncryption,
      jwe: field(entry, 'jwe', id),
      plaintext: field(entry, 'plaintext', id),
      jwk: record(entry, 'jwk', id) as Jwk,
      header: record(entry, 'header', id),
      cek: optional(entry, 'cek', id),
      iv: optional(entry, 'iv', id),
      epk,
      encryptedKey: optional(entry, 'encryptedKey', id),
    })
  }
  return file
}

// --- helpers

function segments(jwe: string) {
  const [header, encryptedKey, iv, ciphertext, tag] = jwe.split('.') as [
    string,
    string,
    string,
    string,
    string,
  ]
  return { header, encryptedKey, iv, ciphertext, tag }
}

function bytes(b64: string): Buffer {
  return Buffer.from(b64, 'base64url')
}

function assertCode(run: () => unknown, code: JwtErrorCode): JwtError {
  let thrown: unknown
  try {
    run()
  } catch (error) {
    thrown = error
  }
  assert.ok(thrown instanceof JwtError, `expected a JwtError, got ${String(thrown)}`)
  assert.equal(thrown.code, code, thrown.message)
  return thrown
}

/** The JWK without the members node:crypto does not read. */
function keyMaterial(jwk: Jwk): JsonWebKey {
  const { kid: _kid, use: _use, alg: _alg, ...rest } = jwk
  return rest as JsonWebKey
}

/**
 * The content encryption key the RFC used: its published CEK, or for dir
 * the key itself, or for ECDH-ES the key agreement replayed with the RFC's
 * ephemeral private key.
 */
function replayedCek(vector: ReplayVector): Buffer {
  if (vector.alg === 'dir') return bytes(vector.jwk.k!)
  assert.ok(vector.cek !== undefined, `${vector.id}: the vector has no CEK`)
  return bytes(vector.cek)
}

// --- the replay

const files = FILES.map(loadFile)

for (const file of files) {
  describe(file.name, () => {
    for (const vector of file.replay) {
      test(`${vector.id} ${vector.title} (${vector.alg}, ${vector.enc})`, async () => {
        const key = importEncryptionJwk(vector.jwk, { alg: vector.alg })
        assert.equal(key.alg, vector.alg)
        const expected = Buffer.from(vector.plaintext, 'utf8')

        // 1. The published JWE decrypts to the published plaintext, header included.
        const { header, plaintext } = decrypt(vector.jwe, key)
        assert.deepEqual(header, vector.header)
        assert.ok(plaintext.equals(expected), 'plaintext differs')

        // jose reads the same vector the same way.
        const joseKey = await jose.importJWK(
          keyMaterial(vector.jwk) as jose.JWK,
          vector.alg === 'dir' ? vector.enc : vector.alg,
        )
        const joseResult = await jose.compactDecrypt(vector.jwe, joseKey)
        assert.ok(Buffer.from(joseResult.plaintext).equals(expected))

        // 2. One changed ciphertext character: decryption_failed, here and in jose.
        const parts = segments(vector.jwe)
        const at = Math.floor(parts.ciphertext.length / 2)
        const flipped = parts.ciphertext[at] === 'A' ? 'B' : 'A'
        const tampered = [
          parts.header,
          parts.encryptedKey,
          parts.iv,
          `${parts.ciphertext.slice(0, at)}${flipped}${parts.ciphertext.slice(at + 1)}`,
          parts.tag,
        ].join('.')
        assertCode(() => decrypt(tampered, key), 'decryption_failed')
        await assert.rejects(jose.compactDecrypt(tampered, joseKey))

        // 3. The encryption replayed from the RFC's generated values gives its bytes back.
        if (vector.iv === undefined) return
        const km = keyManagementSpec(vector.alg)!
        const ce = contentEncryptionSpec(vector.enc)!
        let cek: Buffer
        if (km.family === 'ecdh-es' || km.family === 'ecdh-es-kw') {
          assert.ok(vector.epk !== undefined, `${vector.id}: the vector has no ephemeral key`)
          // The published epk's public half is what the header carries.
          const { d: _d, ...epkPublic } = vector.epk
          assert.deepEqual(
            { ...(header.epk as Jwk) },
            epkPublic,
            'the header carries the ephemeral public key',
          )
          const z = diffieHellman({
            privateKey: createPrivateKey({ key: keyMaterial(vector.epk), format: 'jwk' }),
            publicKey: createPublicKey({
              key: keyMaterial({ ...vector.jwk, d: undefined }),
              format: 'jwk',
            }),
          })
          if (km.family === 'ecdh-es') {
            cek = concatKdf(z, ce.cekBytes, ce.enc, undefined, undefined)
            assert.equal(cek.toString('base64url'), vector.cek, 'Concat KDF gives the RFC CEK')
          } else {
            cek = replayedCek(vector)
            const kek = concatKdf(z, km.kekBytes, km.alg, undefined, undefined)
            assert.equal(
              wrapKey(km.wrapCipher!, kek, cek).toString('base64url'),
              vector.encryptedKey,
            )
          }
        } else {
          cek = replayedCek(vector)
          if (km.family === 'aes-kw') {
            const wrapped = wrapKey(km.wrapCipher!, bytes(vector.jwk.k!), cek)
            assert.equal(wrapped.toString('base64url'), parts.encryptedKey)
          }
        }
        assert.equal(parts.iv, vector.iv)
        const replayed = encryptContent(
          ce,
          cek,
          bytes(vector.iv),
          Buffer.from(parts.header, 'latin1'),
          expected,
        )
        assert.equal(replayed.ciphertext.toString('base64url'), parts.ciphertext)
        assert.equal(replayed.tag.toString('base64url'), parts.tag)
      })
    }

    for (const vector of file.refused) {
      test(`${vector.id} ${vector.title}: refused (${vector.reason})`, () => {
        // Refused on the header alone: no key of any kind is consulted.
        const anyKey = importEncryptionJwk(
          { kty: 'oct', k: 'GZy6sIZ6wl9NJOKB-jnmVQ' },
          { alg: 'A128KW' },
        )
        const error = assertCode(() => decrypt(vector.jwe, anyKey), vector.code)
        assert.ok(error.message.length > 10)
      })
    }
  })
}

test('RSA1_5 and PBES2 vectors say why they are refused', () => {
  const rfc = files[0]!
  const byId = new Map(rfc.refused.map((v) => [v.id, v]))
  const key = importEncryptionJwk({ kty: 'oct', k: 'GZy6sIZ6wl9NJOKB-jnmVQ' }, { alg: 'A128KW' })
  assert.match(
    assertCode(() => decrypt(byId.get('RFC7520-5.1')!.jwe, key), 'alg_not_allowed').message,
    /RSA1_5.*padding-oracle/,
  )
  assert.match(
    assertCode(() => decrypt(byId.get('RFC7520-5.3')!.jwe, key), 'alg_not_allowed').message,
    /PBES2.*p2c/,
  )
  assert.match(
    assertCode(() => decrypt(byId.get('RFC7520-5.9')!.jwe, key), 'alg_not_allowed').message,
    /zip/,
  )
})

test('every vector entry is replayed, refused, or carries the reason it is not', () => {
  const replayed = files.flatMap((file) => file.replay.map((v) => v.id))
  const refused = files.flatMap((file) => file.refused.map((v) => v.id))
  const skipped = files.flatMap((file) => file.skipped)
  const ids = [...replayed, ...refused, ...skipped.map((s) => s.id)]
  assert.equal(new Set(ids).size, ids.length, 'vector ids must be unique')
  assert.deepEqual(replayed.sort(), [
    'COOKBOOK-X25519-ECDH-ES',
    'RFC7520-5.4',
    'RFC7520-5.5',
    'RFC7520-5.6',
    'RFC7520-5.8',
  ])
  assert.deepEqual(refused.sort(), [
    'RFC7520-5.1',
    'RFC7520-5.2',
    'RFC7520-5.3',
    'RFC7520-5.7',
    'RFC7520-5.9',
  ])
  assert.deepEqual(skipped.map((s) => s.id).sort(), [
    'RFC7520-5.10',
    'RFC7520-5.11',
    'RFC7520-5.12',
    'RFC7520-5.13',
  ])
  for (const { id, reason } of skipped)
    assert.ok(reason.length > 20, `${id}: say why it is skipped`)
})
