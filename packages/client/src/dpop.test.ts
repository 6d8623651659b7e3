import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { verifyDpopProof } from '@tessera/jwt'
import { b64url, createProof, dpopKey, generateKeyPair, randomB64url, sha256 } from './dpop.ts'
import type { KeyValueStore } from './types.ts'

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0, 500)

function decode(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString())
}

/** A store that clones what it keeps, as IndexedDB does. */
function cloningStore(): KeyValueStore & { size: () => number } {
  const values = new Map<string, unknown>()
  return {
    get: async <T>(key: string) => structuredClone(values.get(key)) as T | undefined,
    set: async (key, value) => void values.set(key, structuredClone(value)),
    delete: async (key) => void values.delete(key),
    size: () => values.size,
  }
}

describe('encodings', () => {
  it('encodes base64url without padding', () => {
    assert.equal(b64url(new Uint8Array([0xfb, 0xff])), '-_8')
    assert.equal(b64url(new Uint8Array([])), '')
    assert.equal(b64url(new TextEncoder().encode('any carnal pleas')), 'YW55IGNhcm5hbCBwbGVhcw')
    assert.match(randomB64url(16), /^[A-Za-z0-9_-]{22}$/)
    assert.notEqual(randomB64url(16), randomB64url(16))
  })

  it('makes the S256 challenge of RFC 7636 appendix B', async () => {
    assert.equal(
      await sha256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'),
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    )
  })
})

describe('createProof()', () => {
  it('makes a proof @tessera/jwt accepts, with ath and the nonce', async () => {
    const keys = await generateKeyPair()
    const proof = await createProof(
      keys,
      {
        htm: 'GET',
        htu: 'https://api.example.com/orders?page=2#top',
        accessToken: 'at-1',
        nonce: 'n-1',
      },
      NOW,
    )
    const verified = await verifyDpopProof(proof, {
      method: 'GET',
      url: 'https://api.example.com/orders?page=2',
      accessToken: 'at-1',
      nonce: 'n-1',
      now: () => NOW,
    })
    const [header, payload] = proof.split('.')
    assert.deepEqual(Object.keys(decode(header!)), ['typ', 'alg', 'jwk'])
    assert.equal(decode(header!)['typ'], 'dpop+jwt')
    assert.equal(decode(header!)['alg'], 'ES256')
    assert.deepEqual(Object.keys(verified.jwk).sort(), ['crv', 'kty', 'x', 'y'])
    assert.equal(verified.jwk.crv, 'P-256')
    const claims = decode(payload!)
    assert.equal(claims['htu'], 'https://api.example.com/orders')
    assert.equal(claims['iat'], Math.floor(NOW / 1000))
    assert.equal(claims['ath'], await sha256('at-1'))
    assert.match(String(claims['jti']), /^[A-Za-z0-9_-]{22}$/)
  })

  it('leaves ath and nonce out when there is neither', async () => {
    const keys = await generateKeyPair()
    const proof = await createProof(
      keys,
      { htm: 'POST', htu: 'https://auth.example.com/oauth/token' },
      NOW,
    )
    const claims = decode(proof.split('.')[1]!)
    assert.deepEqual(Object.keys(claims).sort(), ['htm', 'htu', 'iat', 'jti'])
    await verifyDpopProof(proof, {
      method: 'POST',
      url: 'https://auth.example.com/oauth/token',
      now: () => NOW,
    })
  })

  it('signs with a private key that cannot be exported', async () => {
    const keys = await generateKeyPair()
    assert.equal(keys.privateKey.extractable, false)
    await assert.rejects(crypto.subtle.exportKey('jwk', keys.privateKey))
  })
})

describe('dpopKey()', () => {
  const url = 'https://auth.example.com/auth/refresh'
  const jkt = async (proof: string) =>
    (await verifyDpopProof(proof, { method: 'POST', url, now: () => NOW })).jkt

  it('makes the key on first use, keeps it in the store (cloned, still not extractable) and reuses it', async () => {
    const store = cloningStore()
    const key = dpopKey(store, 'k', () => NOW)
    assert.equal(store.size(), 0)
    const first = await jkt(await key.proof({ htm: 'POST', htu: url }))
    assert.equal(store.size(), 1)
    const kept = await store.get<CryptoKeyPair>('k')
    assert.equal(kept?.privateKey.extractable, false)
    // Another tab, or the same after a reload: the same key from the store.
    const again = dpopKey(store, 'k', () => NOW)
    assert.equal(await jkt(await again.proof({ htm: 'POST', htu: url })), first)
  })

  it('makes a new key after remove()', async () => {
    const store = cloningStore()
    const key = dpopKey(store, 'k', () => NOW)
    const first = await jkt(await key.proof({ htm: 'POST', htu: url }))
    await key.remove()
    assert.equal(store.size(), 0)
    assert.notEqual(await jkt(await key.proof({ htm: 'POST', htu: url })), first)
  })
})
