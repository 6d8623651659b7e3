// DPoP proofs (RFC 9449) as verifyDpopProof meets them: the RFC's own
// examples (stored as data in vectors/rfc9449.json), proofs made by the
// clients people use (panva's `dpop`, `oauth4webapi`'s DPoP()), and the
// attacks §4.3 and §11 exist to stop, each refused with its code and claim.

import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import * as dpop from 'dpop'
import * as jose from 'jose'
import * as oauth from 'oauth4webapi'
import {
  accessTokenHash,
  createDpopReplayCache,
  type DpopProofOptions,
  type DpopReplayCache,
  jwkThumbprint,
  verifyDpopProof,
} from '../src/dpop.ts'
import { JwtError, type JwtErrorCode } from '../src/errors.ts'
import { exportJwk, generateKeyPair, generateSecret, type Jwk, type Key } from '../src/keys.ts'

interface ProofVector {
  id: string
  title: string
  proof: string
  method: string
  url: string
  accessToken?: string
  claims: Record<string, unknown>
}

const VECTORS = JSON.parse(
  readFileSync(new URL('./vectors/rfc9449.json', import.meta.url), 'utf8'),
) as {
  proofs: ProofVector[]
  key: { id: string; jwk: Jwk; jkt: string }
  accessTokenHash: { id: string; accessToken: string; ath: string }
}

const URL_ = 'https://api.example.test/orders'
const NOW = Date.parse('2026-06-01T12:00:00Z')
const now = (): number => NOW
const nowSec = NOW / 1000

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** The public members of a key, as a client puts them in the `jwk` header. */
function publicJwk(key: Key): Jwk {
  const { kid: _kid, alg: _alg, use: _use, ...members } = exportJwk(key.publicKey)
  return members as Jwk
}

/**
 * A proof signed by `key`, built by hand so that any header or claim can be
 * made wrong: `claims` and `header` override (undefined removes).
 */
function handmade(
  key: Key,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): string {
  const h: Record<string, unknown> = {
    typ: 'dpop+jwt',
    alg: key.alg,
    jwk: key.type === 'secret' ? undefined : publicJwk(key),
    ...header,
  }
  const c: Record<string, unknown> = {
    jti: randomUUID(),
    htm: 'GET',
    htu: URL_,
    iat: nowSec,
    ...claims,
  }
  for (const record of [h, c]) {
    for (const [name, value] of Object.entries(record)) if (value === undefined) delete record[name]
  }
  const input = `${b64(h)}.${b64(c)}`
  return `${input}.${key.signData(input)}`
}

const es256 = generateKeyPair('ES256')
const other = generateKeyPair('ES256')

function options(extra: Partial<DpopProofOptions> = {}): DpopProofOptions {
  return { method: 'GET', url: URL_, now, replayCache: createDpopReplayCache(), ...extra }
}

async function refused(
  work: Promise<unknown>,
  claim: string | undefined,
  code: JwtErrorCode = 'invalid_dpop_proof',
): Promise<JwtError> {
  try {
    await work
  } catch (error) {
    assert.ok(error instanceof JwtError, `a JwtError, not ${String(error)}`)
    assert.equal(error.code, code, error.message)
    if (claim !== undefined) assert.equal(error.claim, claim, error.message)
    return error
  }
  assert.fail('the proof was accepted')
}

describe('RFC 9449 examples (vectors/rfc9449.json)', () => {
  for (const vector of VECTORS.proofs) {
    it(`${vector.id}: ${vector.title}`, async () => {
      const iat = vector.claims.iat as number
      const verified = await verifyDpopProof(vector.proof, {
        method: vector.method,
        url: vector.url,
        ...(vector.accessToken === undefined ? {} : { accessToken: vector.accessToken }),
        now: () => iat * 1000,
        replayCache: createDpopReplayCache(),
      })
      assert.equal(verified.jkt, VECTORS.key.jkt)
      assert.deepEqual({ ...verified.payload }, vector.claims)
      assert.deepEqual({ ...verified.jwk }, VECTORS.key.jwk)
      assert.equal(verified.header.typ, 'dpop+jwt')
      // The RFC's examples are long expired: the window applies to them too.
      await refused(
        verifyDpopProof(vector.proof, {
          method: vector.method,
          url: vector.url,
          ...(vector.accessToken === undefined ? {} : { accessToken: vector.accessToken }),
          replayCache: createDpopReplayCache(),
        }),
        'iat',
      )
    })
  }

  it(`${VECTORS.key.id}: the thumbprint, ours and jose's`, async () => {
    assert.equal(jwkThumbprint(VECTORS.key.jwk), VECTORS.key.jkt)
    assert.equal(await jose.calculateJwkThumbprint(VECTORS.key.jwk), VECTORS.key.jkt)
  })

  it(`${VECTORS.accessTokenHash.id}: ath`, () => {
    assert.equal(accessTokenHash(VECTORS.accessTokenHash.accessToken), VECTORS.accessTokenHash.ath)
  })
})

describe('proofs from real clients', () => {
  const ALGS = ['ES256', 'PS256', 'RS256', 'Ed25519'] as const

  for (const alg of ALGS) {
    it(`dpop (panva) generateProof, ${alg}, with ath and a nonce`, async () => {
      const pair = await dpop.generateKeyPair(alg)
      const accessToken = 'an.access.token'
      const proof = await dpop.generateProof(pair, `${URL_}?page=2`, 'POST', 'n-1', accessToken)
      const verified = await verifyDpopProof(proof, {
        method: 'POST',
        url: `${URL_}?page=3#x`,
        accessToken,
        nonce: 'n-1',
        replayCache: createDpopReplayCache(),
      })
      assert.equal(verified.jkt, await dpop.calculateThumbprint(pair.publicKey))
      assert.equal(verified.header.alg, alg)
    })

    it(`oauth4webapi DPoP() on protectedResourceRequest, ${alg}`, async () => {
      const pair = await oauth.generateKeyPair(alg === 'Ed25519' ? 'EdDSA' : alg)
      const handle = oauth.DPoP({}, pair)
      const sent: string[] = []
      const accessToken = 'another.access.token'
      await oauth.protectedResourceRequest(
        accessToken,
        'DELETE',
        new URL(`${URL_}/42?force=1`),
        new Headers(),
        null,
        {
          DPoP: handle,
          [oauth.customFetch]: async (_url: string, init: RequestInit) => {
            sent.push(new Headers(init.headers).get('dpop')!)
            return new Response('{}', { status: 200 })
          },
        },
      )
      assert.equal(sent.length, 1)
      const verified = await verifyDpopProof(sent[0]!, {
        method: 'DELETE',
        url: `${URL_}/42`,
        accessToken,
        replayCache: createDpopReplayCache(),
      })
      assert.equal(verified.jkt, await handle.calculateThumbprint())
    })
  }

  it('the same thumbprint for any spelling of a key: a short or zero-padded coordinate is not canonical', async () => {
    let key: Key | undefined
    // A P-256 key whose x starts with a zero byte, which node:crypto also imports without it.
    while (key === undefined) {
      const candidate = generateKeyPair('ES256').privateKey
      if (Buffer.from(publicJwk(candidate).x!, 'base64url')[0] === 0) key = candidate
    }
    const found: Key = key
    const x = Buffer.from(publicJwk(found).x!, 'base64url')
    for (const spelling of [x.subarray(1), Buffer.concat([Buffer.alloc(1), x])]) {
      const jwk: Jwk = { ...publicJwk(found), x: spelling.toString('base64url') }
      const verified = await verifyDpopProof(handmade(found, {}, { jwk }), options())
      assert.equal(verified.jkt, found.kid)
      assert.equal(jwkThumbprint(jwk), found.kid)
    }
  })

  it('proofs signed by Tessera keys of every asymmetric algorithm', async () => {
    for (const alg of ['ES256', 'ES384', 'ES512', 'PS384', 'RS512', 'EdDSA'] as const) {
      const { privateKey } = generateKeyPair(alg)
      const verified = await verifyDpopProof(handmade(privateKey), options())
      assert.equal(verified.jkt, privateKey.kid, alg)
      assert.equal(verified.jkt, await jose.calculateJwkThumbprint(publicJwk(privateKey)), alg)
    }
  })
})

describe('verifyDpopProof refuses', () => {
  it('a replayed jti, and only a proof accepted spends it', async () => {
    const replayCache = createDpopReplayCache()
    const jti = randomUUID()
    await refused(
      verifyDpopProof(handmade(es256.privateKey, { jti, htm: 'POST' }), options({ replayCache })),
      'htm',
    )
    const proof = handmade(es256.privateKey, { jti })
    await verifyDpopProof(proof, options({ replayCache }))
    await refused(verifyDpopProof(proof, options({ replayCache })), 'jti')
    // A fresh proof (new signature) reusing the jti is the same replay.
    await refused(
      verifyDpopProof(handmade(es256.privateKey, { jti }), options({ replayCache })),
      'jti',
    )
    // Another key's jtis are its own.
    await verifyDpopProof(handmade(other.privateKey, { jti }), options({ replayCache }))
  })

  it('the default replay cache, shared by the process, remembers too', async () => {
    const proof = handmade(es256.privateKey)
    await verifyDpopProof(proof, { method: 'GET', url: URL_, now })
    await refused(verifyDpopProof(proof, { method: 'GET', url: URL_, now }), 'jti')
  })

  it('a wrong htm or htu', async () => {
    const key = es256.privateKey
    await refused(verifyDpopProof(handmade(key, { htm: 'get' }), options()), 'htm')
    await refused(verifyDpopProof(handmade(key, { htm: 'POST' }), options()), 'htm')
    await refused(verifyDpopProof(handmade(key, { htm: undefined }), options()), 'htm')
    for (const htu of [
      'https://api.example.test/orders/1',
      'https://api.example.test/Orders',
      'http://api.example.test/orders',
      'https://evil.example.test/orders',
      'https://api.example.test:8443/orders',
      'https://user@api.example.test/orders',
      '/orders',
      'not a url',
      42,
      undefined,
    ]) {
      await refused(verifyDpopProof(handmade(key, { htu }), options()), 'htu')
    }
  })

  it('accepts htu spelled differently for the same URL (RFC 3986 §6.2.2, §6.2.3)', async () => {
    const key = es256.privateKey
    for (const htu of [
      'HTTPS://API.Example.Test/orders',
      'https://api.example.test:443/orders',
      'https://api.example.test/%6Frders',
      'https://api.example.test/x/../orders',
      'https://api.example.test/./orders?any=query#and-fragment',
    ]) {
      await verifyDpopProof(handmade(key, { htu }), options())
    }
    await verifyDpopProof(
      handmade(key, { htu: 'https://api.example.test/a%2fb/%7e' }),
      options({ url: 'https://api.example.test/a%2Fb/~' }),
    )
  })

  it('a stale or future iat, within the tolerance and maxAge', async () => {
    const key = es256.privateKey
    await verifyDpopProof(handmade(key, { iat: nowSec - 65 }), options())
    await refused(verifyDpopProof(handmade(key, { iat: nowSec - 66 }), options()), 'iat')
    await verifyDpopProof(handmade(key, { iat: nowSec + 5 }), options())
    await refused(verifyDpopProof(handmade(key, { iat: nowSec + 6 }), options()), 'iat')
    await refused(
      verifyDpopProof(
        handmade(key, { iat: nowSec - 20 }),
        options({ maxAge: '10s', clockTolerance: 0 }),
      ),
      'iat',
    )
    for (const iat of [String(nowSec), undefined, null]) {
      await refused(verifyDpopProof(handmade(key, { iat }), options()), 'iat')
    }
  })

  it('a missing, empty or oversized jti', async () => {
    for (const jti of [undefined, '', 'x'.repeat(257), 7]) {
      await refused(verifyDpopProof(handmade(es256.privateKey, { jti }), options()), 'jti')
    }
  })

  it('an ath of another token, or none when a token is sent', async () => {
    const key = es256.privateKey
    const ath = accessTokenHash('token-a')
    await verifyDpopProof(handmade(key, { ath }), options({ accessToken: 'token-a' }))
    await refused(
      verifyDpopProof(handmade(key, { ath }), options({ accessToken: 'token-b' })),
      'ath',
    )
    await refused(verifyDpopProof(handmade(key), options({ accessToken: 'token-a' })), 'ath')
  })

  it('a proof whose signature is not by its jwk', async () => {
    const input = handmade(es256.privateKey).split('.')
    // B's public key in the header, A's signature.
    const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: publicJwk(other.privateKey) })
    await refused(verifyDpopProof(`${header}.${input[1]}.${input[2]}`, options()), 'signature')
    // A payload changed under a valid signature.
    const claims = JSON.parse(Buffer.from(input[1]!, 'base64url').toString())
    const changed = b64({ ...claims, htm: 'DELETE' })
    await refused(
      verifyDpopProof(`${input[0]}.${changed}.${input[2]}`, options({ method: 'DELETE' })),
      'signature',
    )
  })

  it("a symmetric key or algorithm, alg none, and an alg that is not the key's", async () => {
    const secret = generateSecret('HS256')
    const k = secret.keyObject.export().toString('base64url')
    await refused(
      verifyDpopProof(handmade(secret, {}, { jwk: { kty: 'oct', k } }), options()),
      'alg',
    )
    // An HMAC proof over an EC jwk: still HS256, still refused.
    await refused(
      verifyDpopProof(handmade(secret, {}, { jwk: publicJwk(es256.privateKey) }), options()),
      'alg',
    )
    // An EC signature announced with an oct jwk.
    await refused(
      verifyDpopProof(handmade(es256.privateKey, {}, { jwk: { kty: 'oct', k } }), options()),
      'jwk',
    )
    const none = `${b64({ typ: 'dpop+jwt', alg: 'none', jwk: publicJwk(es256.privateKey) })}.${b64({ jti: 'j', htm: 'GET', htu: URL_, iat: nowSec })}.`
    await refused(verifyDpopProof(none, options()), 'alg')
    await refused(
      verifyDpopProof(handmade(es256.privateKey, {}, { alg: 'ES384' }), options()),
      'jwk',
    )
    await refused(
      verifyDpopProof(handmade(es256.privateKey), options({ algorithms: ['EdDSA', 'PS256'] })),
      'alg',
    )
  })

  it('a private key in the jwk header, or no jwk', async () => {
    const {
      kid: _k,
      alg: _a,
      use: _u,
      ...privateJwk
    } = exportJwk(es256.privateKey, {
      includePrivate: true,
    })
    await refused(
      verifyDpopProof(handmade(es256.privateKey, {}, { jwk: privateJwk }), options()),
      'jwk',
    )
    for (const member of ['p', 'q', 'dp', 'dq', 'qi', 'oth']) {
      const jwk = { ...publicJwk(es256.privateKey), [member]: 'AQAB' }
      await refused(verifyDpopProof(handmade(es256.privateKey, {}, { jwk }), options()), 'jwk')
    }
    for (const jwk of [undefined, 'jwk', [publicJwk(es256.privateKey)], { kty: 'EC' }]) {
      await refused(verifyDpopProof(handmade(es256.privateKey, {}, { jwk }), options()), 'jwk')
    }
  })

  it('a wrong typ, a crit extension, and malformed proofs', async () => {
    for (const typ of ['JWT', 'at+jwt', undefined, 1]) {
      await refused(verifyDpopProof(handmade(es256.privateKey, {}, { typ }), options()), 'typ')
    }
    await verifyDpopProof(
      handmade(es256.privateKey, {}, { typ: 'application/DPoP+JWT' }),
      options(),
    )
    await refused(
      verifyDpopProof(handmade(es256.privateKey, {}, { crit: ['exp'], exp: 1 }), options()),
      'crit',
    )
    for (const proof of ['', 'a.b', 'a.b.c.d', 'x'.repeat(9000), `${b64({})}.e30.sig`]) {
      await refused(verifyDpopProof(proof, options()), undefined)
    }
    const [header, , signature] = handmade(es256.privateKey).split('.')
    await refused(verifyDpopProof(`${header}.bm90IGpzb24.${signature}`, options()), undefined)
  })

  it('a missing or stale nonce with use_dpop_nonce; the right one passes', async () => {
    const key = es256.privateKey
    await refused(
      verifyDpopProof(handmade(key), options({ nonce: 'n-2' })),
      'nonce',
      'use_dpop_nonce',
    )
    await refused(
      verifyDpopProof(handmade(key, { nonce: 'n-1' }), options({ nonce: 'n-2' })),
      'nonce',
      'use_dpop_nonce',
    )
    await verifyDpopProof(handmade(key, { nonce: 'n-2' }), options({ nonce: 'n-2' }))
    const accepts = (nonce: string) => nonce === 'n-1' || nonce === 'n-2'
    await verifyDpopProof(handmade(key, { nonce: 'n-1' }), options({ nonce: accepts }))
    await refused(
      verifyDpopProof(handmade(key, { nonce: 'n-0' }), options({ nonce: accepts })),
      'nonce',
      'use_dpop_nonce',
    )
  })

  it('misuse with a TypeError', async () => {
    const proof = handmade(es256.privateKey)
    for (const bad of [
      { url: URL_ },
      { method: 'GET' },
      { method: 'GET', url: URL_, algorithms: ['HS256'] },
      { method: 'GET', url: URL_, algorithms: [] },
      { method: 'GET', url: URL_, maxAge: 'soon' },
      { method: 'GET', url: URL_, replayCache: {} },
    ]) {
      await assert.rejects(verifyDpopProof(proof, bad as DpopProofOptions), TypeError)
    }
  })
})

describe('replay caches', () => {
  it('an async cache (Redis-like): exactly one of concurrent proofs with one jti is accepted', async () => {
    const seen = new Map<string, number>()
    const calls: [string, number, number][] = []
    const cache: DpopReplayCache = {
      async checkAndAdd(key, expiresAt, at) {
        calls.push([key, expiresAt, at])
        await new Promise((resolve) => setTimeout(resolve, 1))
        if (seen.has(key)) return false
        seen.set(key, expiresAt)
        return true
      },
    }
    const jti = randomUUID()
    const proofs = [1, 2, 3].map(() => handmade(es256.privateKey, { jti }))
    const outcomes = await Promise.allSettled(
      proofs.map((proof) => verifyDpopProof(proof, options({ replayCache: cache }))),
    )
    assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1)
    assert.equal(calls[0]![0], `${es256.privateKey.kid}:${jti}`)
    assert.equal(calls[0]![1], (nowSec + 65) * 1000, 'remembered until iat + maxAge + tolerance')
    assert.equal(calls[0]![2], NOW)
  })

  it("a failing cache's error passes through: not a refusal of the proof", async () => {
    const down = new Error('redis is down')
    const cache: DpopReplayCache = { checkAndAdd: () => Promise.reject(down) }
    await assert.rejects(
      verifyDpopProof(handmade(es256.privateKey), options({ replayCache: cache })),
      (error) => error === down,
    )
  })

  it('the in-memory cache forgets expired entries and stays bounded', () => {
    const cache = createDpopReplayCache({ maxEntries: 3 })
    assert.equal(cache.checkAndAdd('a', 100, 0), true)
    assert.equal(cache.checkAndAdd('a', 100, 50), false)
    assert.equal(cache.checkAndAdd('a', 200, 100), true, 'expired: new again')
    assert.equal(cache.checkAndAdd('b', 200, 100), true)
    assert.equal(cache.checkAndAdd('c', 200, 100), true)
    assert.equal(cache.checkAndAdd('d', 200, 100), true, 'full: the oldest goes')
    assert.equal(cache.size, 3)
    assert.equal(cache.checkAndAdd('a', 200, 100), true, 'a was the oldest')
    assert.equal(cache.checkAndAdd('e', 900, 300), true, 'expired entries are swept')
    assert.equal(cache.size, 1)
    cache.clear()
    assert.equal(cache.size, 0)
    assert.throws(() => createDpopReplayCache({ maxEntries: 0 }), TypeError)
  })
})
