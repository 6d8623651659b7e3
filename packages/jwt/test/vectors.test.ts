// Published JWS test vectors (RFC 7515 Appendix A, RFC 7520 §4, RFC 8037
// Appendix A, RFC 7638 §3.1), stored as data in ./vectors/*.json and replayed
// here: one test per vector. Each vector is also checked against jose, so a
// value copied wrong fails in both implementations, not only ours.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import * as jose from 'jose'
import {
  ALGORITHMS,
  type Algorithm,
  importJwk,
  type Jwk,
  JwtError,
  type JwtErrorCode,
  thumbprintOf,
  verify,
  verifyJws,
} from '../src/index.ts'

interface JwsVector {
  id: string
  title: string
  alg: Algorithm
  jwk: Jwk
  jws: string
  /** The protected header as the RFC shows it. */
  header: Record<string, unknown>
  /** The payload as UTF-8 text. */
  payload: string
  isJwt: boolean
  /** For JWT vectors: a time before `exp`, at which the claims hold. */
  currentDate: string | undefined
  claims: Record<string, unknown> | undefined
}

interface ThumbprintVector {
  id: string
  title: string
  alg: Algorithm
  jwk: Jwk
  thumbprint: string
}

interface VectorFile {
  name: string
  vectors: JwsVector[]
  skipped: { id: string; reason: string }[]
  thumbprints: ThumbprintVector[]
}

const FILES = ['rfc7515.json', 'rfc7520.json', 'rfc8037.json'] as const

// Algorithms whose signature is a function of key and input alone: replaying
// the signing must give back the published bytes. ES* and PS* are randomized.
const DETERMINISTIC = /^(HS|RS)\d{3}$|^EdDSA$/

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const

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

function record(entry: Record<string, unknown>, name: string, where: string) {
  const value = entry[name]
  if (!isRecord(value)) throw new Error(`${where}: "${name}" must be an object`)
  return value
}

function algorithm(entry: Record<string, unknown>, where: string): Algorithm {
  const alg = field(entry, 'alg', where)
  const known = ALGORITHMS.find((a) => a === alg)
  if (known === undefined) throw new Error(`${where}: unknown alg ${alg}`)
  return known
}

function jwkOf(entry: Record<string, unknown>, where: string): Jwk {
  const jwk = record(entry, 'jwk', where)
  field(jwk, 'kty', `${where}.jwk`)
  return jwk as Jwk
}

function loadFile(name: string): VectorFile {
  const data: unknown = JSON.parse(
    readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8'),
  )
  if (!isRecord(data) || !Array.isArray(data.vectors)) throw new Error(`${name}: no "vectors"`)
  const file: VectorFile = { name, vectors: [], skipped: [], thumbprints: [] }
  for (const entry of data.vectors as unknown[]) {
    if (!isRecord(entry)) throw new Error(`${name}: a vector is not an object`)
    const id = field(entry, 'id', name)
    if (entry.skip !== undefined) {
      file.skipped.push({ id, reason: field(entry, 'skip', id) })
      continue
    }
    if (typeof entry.isJwt !== 'boolean') throw new Error(`${id}: "isJwt" must be a boolean`)
    file.vectors.push({
      id,
      title: field(entry, 'title', id),
      alg: algorithm(entry, id),
      jwk: jwkOf(entry, id),
      jws: field(entry, 'jws', id),
      header: record(entry, 'header', id),
      payload: field(entry, 'payload', id),
      isJwt: entry.isJwt,
      currentDate: entry.isJwt ? field(entry, 'currentDate', id) : undefined,
      claims: entry.isJwt ? record(entry, 'claims', id) : undefined,
    })
  }
  for (const entry of Array.isArray(data.thumbprints) ? (data.thumbprints as unknown[]) : []) {
    if (!isRecord(entry)) throw new Error(`${name}: a thumbprint vector is not an object`)
    const id = field(entry, 'id', name)
    file.thumbprints.push({
      id,
      title: field(entry, 'title', id),
      alg: algorithm(entry, id),
      jwk: jwkOf(entry, id),
      thumbprint: field(entry, 'thumbprint', id),
    })
  }
  return file
}

// --- helpers

/** The public half of a JWK as published: private members dropped, `oct` kept whole. */
function publicJwk(jwk: Jwk): Jwk {
  if (jwk.kty === 'oct') return jwk
  const copy: Jwk = { ...jwk }
  for (const member of PRIVATE_MEMBERS) delete copy[member]
  return copy
}

function withoutKid(jwk: Jwk): Jwk {
  const { kid: _kid, ...rest } = jwk
  return rest
}

function segments(jws: string): { signingInput: string; signature: string } {
  const last = jws.lastIndexOf('.')
  return { signingInput: jws.slice(0, last), signature: jws.slice(last + 1) }
}

/**
 * Changes one character in the middle of the signature. Not the last
 * character, so the result stays canonical base64url and only the
 * signature check can refuse it.
 */
function flipSignatureCharacter(jws: string): string {
  const { signingInput, signature } = segments(jws)
  const at = Math.floor(signature.length / 2)
  const replacement = signature[at] === 'A' ? 'B' : 'A'
  return `${signingInput}.${signature.slice(0, at)}${replacement}${signature.slice(at + 1)}`
}

function assertCode(run: () => unknown, code: JwtErrorCode): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof JwtError, `expected a JwtError, got ${String(error)}`)
    assert.equal(error.code, code)
    return true
  })
}

async function joseKey(jwk: Jwk, alg: Algorithm) {
  return jose.importJWK(publicJwk(jwk), alg)
}

// --- the replay

const files = FILES.map(loadFile)

for (const file of files) {
  describe(file.name, () => {
    for (const vector of file.vectors) {
      test(`${vector.id} ${vector.title} (${vector.alg})`, async () => {
        const { signingInput, signature } = segments(vector.jws)
        const expectedPayload = Buffer.from(vector.payload, 'utf8')
        const privateKey = importJwk(vector.jwk, { alg: vector.alg })
        const publicKey =
          vector.jwk.kty === 'oct'
            ? privateKey
            : importJwk(publicJwk(vector.jwk), { alg: vector.alg })
        assert.equal(publicKey.type, vector.jwk.kty === 'oct' ? 'secret' : 'public')

        // 1-2. The published JWS verifies, with the public half alone.
        const verified = verifyJws(vector.jws, publicKey)
        assert.deepEqual(verified.header, vector.header)
        assert.ok(verified.payload.equals(expectedPayload), 'payload bytes differ')

        // jose reads the same vector the same way.
        const otherKey = await joseKey(vector.jwk, vector.alg)
        const joseResult = await jose.compactVerify(vector.jws, otherKey)
        assert.ok(Buffer.from(joseResult.payload).equals(expectedPayload))

        if (vector.isJwt) {
          const claims = vector.claims!
          const exp = claims.exp
          assert.equal(typeof exp, 'number')
          const at = new Date(vector.currentDate!)
          assert.ok(at.getTime() < (exp as number) * 1000, 'currentDate must precede exp')
          const { payload } = verify(vector.jws, publicKey, { currentDate: at })
          assert.deepEqual(payload, claims)
          assert.deepEqual(payload, JSON.parse(vector.payload))
          const joseJwt = await jose.jwtVerify(vector.jws, otherKey, { currentDate: at })
          assert.deepEqual(joseJwt.payload, claims)
          // RFC 7519 §4.1.4: at or after `exp` the token is refused, and today it is long gone.
          const atExp = new Date((exp as number) * 1000)
          assertCode(() => verify(vector.jws, publicKey, { currentDate: atExp }), 'expired')
          assertCode(() => verify(vector.jws, publicKey), 'expired')
        } else {
          // Not a JWT: the JWT path must refuse what only the JWS path accepts.
          assertCode(() => verify(vector.jws, publicKey), 'malformed')
        }

        // 3. One changed signature character is refused, here and by jose.
        const tampered = flipSignatureCharacter(vector.jws)
        assert.notEqual(tampered, vector.jws)
        assertCode(() => verifyJws(tampered, publicKey), 'invalid_signature')
        await assert.rejects(jose.compactVerify(tampered, otherKey))

        // 4. Signing the same input again.
        const fresh = privateKey.signData(signingInput)
        if (DETERMINISTIC.test(vector.alg)) {
          assert.equal(fresh, signature)
        } else {
          // Randomized (ECDSA nonce, PSS salt): a new signature that still verifies.
          assert.notEqual(fresh, signature)
          const resigned = `${signingInput}.${fresh}`
          assert.ok(verifyJws(resigned, publicKey).payload.equals(expectedPayload))
          await jose.compactVerify(resigned, otherKey)
        }

        // 5. Without a kid the key id is its RFC 7638 thumbprint, as jose computes it.
        const thumbprint = await jose.calculateJwkThumbprint(publicJwk(vector.jwk))
        assert.equal(importJwk(withoutKid(vector.jwk), { alg: vector.alg }).kid, thumbprint)
        assert.equal(thumbprintOf(privateKey.keyObject), thumbprint)
        assert.equal(privateKey.kid, vector.jwk.kid ?? thumbprint)
      })
    }

    for (const vector of file.thumbprints) {
      test(`${vector.id} ${vector.title}`, async () => {
        const key = importJwk(withoutKid(vector.jwk), { alg: vector.alg })
        assert.equal(key.kid, vector.thumbprint)
        assert.equal(thumbprintOf(key.keyObject), vector.thumbprint)
        assert.equal(await jose.calculateJwkThumbprint(vector.jwk), vector.thumbprint)
        // A published kid is kept as it is, never replaced by the thumbprint.
        if (vector.jwk.kid !== undefined) {
          assert.equal(importJwk(vector.jwk, { alg: vector.alg }).kid, vector.jwk.kid)
        }
      })
    }
  })
}

test('every vector entry is replayed or carries the reason it is not', () => {
  const replayed = files.flatMap((file) => [...file.vectors, ...file.thumbprints].map((v) => v.id))
  const skipped = files.flatMap((file) => file.skipped)
  const ids = [...replayed, ...skipped.map((s) => s.id)]
  assert.equal(new Set(ids).size, ids.length, 'vector ids must be unique')
  assert.deepEqual(replayed.sort(), [
    'RFC7515-A.1',
    'RFC7515-A.2',
    'RFC7515-A.3',
    'RFC7515-A.4',
    'RFC7520-4.1',
    'RFC7520-4.2',
    'RFC7520-4.3',
    'RFC7520-4.4',
    'RFC7638-3.1',
    'RFC8037-A.3',
    'RFC8037-A.4',
  ])
  for (const { id, reason } of skipped)
    assert.ok(reason.length > 20, `${id}: say why it is skipped`)
})
