// Differential tests: what we sign, jose and fast-jwt verify; what they sign,
// we verify, with the same payload; and a mutated token is never accepted by
// us when jose refuses it. Bounded property runs: the whole file stays well
// under 30 s on a shared 2-core machine.

import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { createVerifier as createFastVerifier, createSigner } from 'fast-jwt'
import * as jose from 'jose'
import type { Algorithm } from '../src/algorithms.ts'
import { decode } from '../src/decode.ts'
import { JwtError } from '../src/errors.ts'
import { KeySet } from '../src/keys.ts'
import { sign } from '../src/sign.ts'
import { createVerifier } from '../src/verifier.ts'
import { verify } from '../src/verify.ts'
import {
  ALGORITHMS,
  b64,
  b64json,
  forge,
  keyPair,
  nowSeconds,
  toJoseKey,
  toPem,
} from './helpers.ts'

const RUNS = Number(process.env.DIFFERENTIAL_RUNS ?? 100)
/** Generous size limit for the round-trip properties: random claims can be large. */
const ROOMY = { maxTokenLength: 1 << 20 }

// Registered claims have types the verifiers check; the random claim sets
// stay clear of them and get a valid `exp` separately. `__proto__` is left out
// because fast-jwt's signer copies the payload with Object.assign, which
// would set the prototype instead of a claim.
const REGISTERED = new Set([
  'exp',
  'nbf',
  'iat',
  'iss',
  'sub',
  'aud',
  'jti',
  'nonce',
  'auth_time',
  'amr',
  '__proto__',
])

/** Strings with any code point, lone surrogates included (JSON.stringify escapes them). */
const anyUnit = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'binary', maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom('\ud800', '\udfff', '\u0000', '"', '\\', '\u2028') },
)

// Claim names avoid the characters JSON escapes (", \, controls, lone
// surrogates). Node 24.21's V8 sometimes returns a wrong property name when
// JSON.parse reads escaped names: two parses of one text, in one process,
// gave '"' and '\\' for the same key (reproduced with no JWT code at all:
// JSON.parse(JSON.stringify(o)) round trips under fast-check). It hit jose's
// result as often as ours, so it says nothing about the engines compared
// here. Claim values still cover all of Unicode.
function jsonEscapes(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i)
    if (unit === 0x22 || unit === 0x5c || unit < 0x20 || (unit >= 0xd800 && unit <= 0xdfff))
      return true
  }
  return false
}
const claimSet = fc.dictionary(
  fc
    .string({ unit: anyUnit, maxLength: 12 })
    .filter((name) => !REGISTERED.has(name) && !jsonEscapes(name)),
  fc.jsonValue({ maxDepth: 3, depthSize: 'small', stringUnit: anyUnit }),
  { maxKeys: 8 },
) as fc.Arbitrary<Record<string, unknown>>

/** The payload after a JSON round trip: `-0` becomes `0`, `undefined` members vanish. */
function asJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}

/** fast-jwt's key input for a Key: PEM text, or the secret bytes. */
function fastKey(key: ReturnType<typeof keyPair>['publicKey']): string | Buffer {
  return toPem(key)
}

describe('what we sign, jose and fast-jwt verify', () => {
  for (const alg of ALGORITHMS) {
    it(`${alg}`, async () => {
      const { privateKey, publicKey } = keyPair(alg)
      const joseKey = await toJoseKey(publicKey)
      const fastVerify = createFastVerifier({ key: fastKey(publicKey), algorithms: [alg] })
      await fc.assert(
        fc.asyncProperty(claimSet, async (claims) => {
          const token = sign(claims, privateKey, { expiresIn: 600 })
          const ours = verify(token, publicKey, ROOMY)
          const theirs = await jose.jwtVerify(token, joseKey, { algorithms: [alg] })
          assert.deepStrictEqual(theirs.payload, ours.payload)
          assert.deepStrictEqual(theirs.protectedHeader, ours.header)
          assert.deepStrictEqual(fastVerify(token), ours.payload)
          const { iat, exp } = ours.payload
          assert.equal(exp, (iat as number) + 600)
          assert.deepStrictEqual(ours.payload, { ...asJson(claims), iat, exp })
        }),
        { numRuns: RUNS },
      )
    })
  }
})

describe('what jose and fast-jwt sign, we verify', () => {
  for (const alg of ALGORITHMS) {
    it(`${alg}`, async () => {
      const { privateKey, publicKey } = keyPair(alg)
      const joseKey = await toJoseKey(privateKey)
      const fastSign = createSigner({
        key: fastKey(privateKey),
        algorithm: alg,
        expiresIn: 600_000,
      })
      const keys = new KeySet([publicKey])
      await fc.assert(
        fc.asyncProperty(claimSet, async (claims) => {
          const fromJose = await new jose.SignJWT(claims)
            .setProtectedHeader({ alg, typ: 'JWT' })
            .setIssuedAt()
            .setExpirationTime('10m')
            .sign(joseKey)
          const fromFast = fastSign(claims)
          for (const token of [fromJose, fromFast]) {
            const ours = verify(token, publicKey, ROOMY)
            assert.equal(ours.header.alg, alg)
            // A kid-less token finds the one key of its algorithm in a set.
            assert.deepStrictEqual(verify(token, keys, ROOMY).payload, ours.payload)
            assert.deepStrictEqual(ours.payload, jose.decodeJwt(token))
            const { iat, exp } = ours.payload
            assert.equal(exp, (iat as number) + 600)
            assert.deepStrictEqual(ours.payload, { ...asJson(claims), iat, exp })
          }
        }),
        { numRuns: Math.ceil(RUNS / 2) },
      )
    })
  }
})

// ---------------------------------------------------------------------------
// Mutations of a valid token, as data so fast-check can print and shrink them.

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const character = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...B64URL) },
  { weight: 2, arbitrary: fc.constantFrom('=', '+', '/', '.', ' ', '\n', '\t', '%', '\u0000') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
)
const segmentIndex = fc.integer({ min: 0, max: 2 })

/** Who re-signs a forged header: nobody, the original key, or the key of the header's own alg. */
type Resign = 'keep' | 'original' | 'header-alg'

type Mutation =
  | { kind: 'replace' | 'insert'; segment: number; at: number; char: string }
  | { kind: 'delete'; segment: number; at: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'duplicate'; segment: number; at: number }
  | { kind: 'drop'; segment: number }
  | { kind: 'pad'; segment: number; padding: string }
  | { kind: 'header'; header: Record<string, unknown>; resign: Resign }
  | { kind: 'rawHeader'; json: string; resign: Resign }
  | { kind: 'payload'; payload: unknown }
  | { kind: 'payloadBytes'; at: number; byte: number; insert: boolean }

const otherHeader = fc.record(
  {
    alg: fc.oneof(
      fc.constantFrom(...ALGORITHMS),
      fc.constantFrom('none', 'None', 'NONE', 'HS256 ', 'hs256', '', 'RSA-OAEP', 'ES256K'),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    typ: fc.oneof(
      fc.constantFrom('JWT', 'at+jwt', 'application/jwt'),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    kid: fc.oneof(
      fc.constantFrom('kid-HS256', '../../dev/null', "' OR 1=1 --", 'a\u0000b'),
      fc.jsonValue({ maxDepth: 1 }),
    ),
    crit: fc.oneof(
      fc.constantFrom(['urn:x'], ['alg'], ['b64'], [], 'urn:x', ['kid']),
      fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
    ),
    'urn:x': fc.jsonValue({ maxDepth: 1 }),
    b64: fc.constantFrom(false, true, 0, 'false', null),
    jwk: fc.constant({ kty: 'oct', k: b64('attacker secret attacker secret!!') }),
    jku: fc.constant('https://attacker.example/jwks.json'),
    x5c: fc.constant(['MIIBattacker']),
    zip: fc.constantFrom('DEF', 'x'),
  },
  { requiredKeys: [] },
)

const rawHeaders = fc.constantFrom(
  '{"alg":"HS256","alg":"none"}',
  '{"alg":"none","alg":"HS256"}',
  '[{"alg":"HS256"}]',
  '"HS256"',
  'null',
  '{"alg":"HS256"',
  '{"alg":"HS256"}\u0000',
  ' {"alg":"HS256"} ',
  '{"alg":"HS256","__proto__":{"alg":"none"}}',
  '{"__proto__":{"alg":"HS256"}}',
  '{"alg":"\\u0048S256"}',
)

const claimValue = fc.oneof(
  fc.constantFrom(nowSeconds() + 3600, nowSeconds() - 3600, 0, -1, 1e308, 1.5),
  fc.jsonValue({ maxDepth: 1 }),
)
const otherPayload = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      { exp: claimValue, nbf: claimValue, iat: claimValue, sub: claimValue, aud: claimValue },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
)

const resign = fc.constantFrom<Resign>('keep', 'original', 'header-alg')

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('replace' as const, 'insert' as const),
    segment: segmentIndex,
    at: fc.nat(),
    char: character,
  }),
  fc.record({ kind: fc.constant('delete' as const), segment: segmentIndex, at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), a: segmentIndex, b: segmentIndex }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    segment: segmentIndex,
    at: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({ kind: fc.constant('drop' as const), segment: segmentIndex }),
  fc.record({
    kind: fc.constant('pad' as const),
    segment: segmentIndex,
    padding: fc.constantFrom('=', '==', '===', '%3D'),
  }),
  fc.record({ kind: fc.constant('header' as const), header: otherHeader, resign }),
  fc.record({ kind: fc.constant('rawHeader' as const), json: rawHeaders, resign }),
  fc.record({ kind: fc.constant('payload' as const), payload: otherPayload }),
  fc.record({
    kind: fc.constant('payloadBytes' as const),
    at: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
    insert: fc.boolean(),
  }),
)

/**
 * Applies a mutation to `token` (signed by `alg`'s key). Returns undefined
 * when the mutation does not apply.
 */
function mutate(token: string, alg: Algorithm, m: Mutation): string | undefined {
  const parts = token.split('.')
  const signer = (header: Record<string, unknown> | undefined, r: Resign) => {
    if (r === 'original') return keyPair(alg).privateKey
    if (
      r === 'header-alg' &&
      typeof header?.alg === 'string' &&
      ALGORITHMS.includes(header.alg as Algorithm)
    ) {
      return keyPair(header.alg as Algorithm).privateKey
    }
    return null
  }
  const withSignature = (h: string, p: string, key: ReturnType<typeof signer>): string =>
    key === null ? `${h}.${p}.${parts[2]}` : forge(h, p, key)
  switch (m.kind) {
    case 'replace':
    case 'insert':
    case 'delete': {
      const segment = parts[m.segment]!
      const at = segment.length === 0 ? 0 : m.at % (segment.length + (m.kind === 'insert' ? 1 : 0))
      const tail = m.kind === 'insert' ? segment.slice(at) : segment.slice(at + 1)
      parts[m.segment] = segment.slice(0, at) + (m.kind === 'delete' ? '' : m.char) + tail
      return parts.join('.')
    }
    case 'swap':
      ;[parts[m.a], parts[m.b]] = [parts[m.b]!, parts[m.a]!]
      return parts.join('.')
    case 'duplicate':
      parts.splice(m.at, 0, parts[m.segment]!)
      return parts.join('.')
    case 'drop':
      parts.splice(m.segment, 1)
      return parts.join('.')
    case 'pad':
      parts[m.segment] += m.padding
      return parts.join('.')
    case 'header': {
      const header = { ...decode(token).header, ...m.header }
      return withSignature(b64json(header), parts[1]!, signer(header, m.resign))
    }
    case 'rawHeader': {
      let parsed: Record<string, unknown> | undefined
      try {
        parsed = JSON.parse(m.json) as Record<string, unknown>
      } catch {}
      return withSignature(b64(m.json), parts[1]!, signer(parsed, m.resign))
    }
    case 'payload':
      return forge(parts[0]!, b64json(m.payload), keyPair(alg).privateKey)
    case 'payloadBytes': {
      const bytes = [...Buffer.from(parts[1]!, 'base64url')]
      const at = m.at % (bytes.length + 1)
      bytes.splice(at, m.insert ? 0 : 1, m.byte)
      const body = Uint8Array.from(bytes)
      return forge(parts[0]!, b64(body), keyPair(alg).privateKey)
    }
  }
}

type Outcome = { ok: true; payload: unknown } | { ok: false; error: unknown }

function ourOutcome(run: () => { payload: unknown }): Outcome {
  try {
    return { ok: true, payload: run().payload }
  } catch (error) {
    assert.ok(error instanceof JwtError, `a non-JwtError escaped: ${String(error)}`)
    return { ok: false, error }
  }
}

describe('mutated tokens: rejected by us whenever jose rejects them', () => {
  for (const alg of ALGORITHMS) {
    it(`${alg}`, async () => {
      const { privateKey, publicKey } = keyPair(alg)
      const joseKey = await toJoseKey(publicKey)
      const token = sign({ sub: 'user-1', roles: ['admin'], name: 'Zoë' }, privateKey, {
        expiresIn: 3600,
        audience: 'api',
      })
      const cached = createVerifier({ key: publicKey })
      const inSet = new KeySet([publicKey])
      let joseRejected = 0
      await fc.assert(
        fc.asyncProperty(mutation, async (m) => {
          const mutated = mutate(token, alg, m)
          if (mutated === undefined) return
          const ours = ourOutcome(() => verify(mutated, publicKey))
          const viaVerifier = ourOutcome(() => cached(mutated))
          const viaSet = ourOutcome(() => verify(mutated, inSet))
          assert.equal(viaVerifier.ok, ours.ok)
          let theirs: Outcome
          try {
            theirs = {
              ok: true,
              payload: (await jose.jwtVerify(mutated, joseKey, { algorithms: [alg] })).payload,
            }
          } catch (error) {
            theirs = { ok: false, error }
          }
          if (!theirs.ok) {
            joseRejected++
            assert.equal(ours.ok, false, `jose rejects (${String(theirs.error)}) but we accept`)
            assert.equal(viaSet.ok, false)
          }
          if (ours.ok && theirs.ok) assert.deepStrictEqual(ours.payload, theirs.payload)
        }),
        { numRuns: RUNS * 2 },
      )
      // The property is vacuous if jose never rejected anything.
      assert.ok(joseRejected > RUNS / 2, `jose rejected only ${joseRejected} mutations`)
    })
  }
})

// ---------------------------------------------------------------------------
// Arbitrary input never escapes as anything but a JwtError.

const segment = fc.oneof(
  fc.string({ unit: fc.constantFrom(...B64URL), maxLength: 40 }),
  fc.jsonValue({ maxDepth: 2 }).map(b64json),
  otherHeader.map(b64json),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.base64String({ maxLength: 40 }),
)
const tokenish = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: fc.constantFrom(...B64URL, '.', '=', '+', '/'), maxLength: 200 }),
  fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('.')),
  fc
    .tuple(otherHeader, otherPayload, fc.constantFrom<Algorithm>(...ALGORITHMS))
    .map(([header, payload, alg]) => forge({ alg, ...header }, payload, keyPair(alg).privateKey)),
)

describe('any input: only JwtError comes out', () => {
  const keys = new KeySet(ALGORITHMS.map((alg) => keyPair(alg).publicKey))
  const verifiers = [
    (t: string) => verify(t, keyPair('HS256').publicKey),
    (t: string) => verify(t, keyPair('ES256').publicKey, { requiredClaims: [] }),
    (t: string) => verify(t, keys, { crit: ['urn:x'], requiredClaims: [] }),
    createVerifier({ key: keys }),
    createVerifier({
      key: keyPair('RS256').publicKey,
      issuer: 'iss',
      audience: 'api',
      typ: 'at+jwt',
      maxTokenAge: 60,
    }),
    (t: string) => decode(t),
  ]
  it('strings', () => {
    fc.assert(
      fc.property(tokenish, (input) => {
        for (const run of verifiers) ourOutcome(() => ({ payload: run(input) }))
      }),
      { numRuns: RUNS * 5 },
    )
  })
  it('non-strings are malformed', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        fc.pre(typeof input !== 'string')
        for (const run of verifiers) {
          const outcome = ourOutcome(() => ({ payload: run(input as string) }))
          assert.equal(outcome.ok, false)
          assert.equal((outcome as { error: JwtError }).error.code, 'malformed')
        }
      }),
      { numRuns: RUNS },
    )
  })
})
