import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { type Algorithm, exportJwk, generateKeyPair, JwtError, sign, verify } from '@tessera/jwt'
import { createMemoryKeyStore } from '../../test/support/memory-key-store.ts'
import type { SigningKeyRecord } from '../storage/ports.ts'
import {
  createKeyRing,
  type KeyRing,
  type KeyRingOptions,
  KeyRotationRefusedError,
} from './key-ring.ts'
import { createSealer } from './sealer.ts'

const SECOND = 1000
const TTL = 900
const DELAY = 600
const INTERVAL = 30 * 86_400

function setup() {
  const clock = { t: Date.UTC(2025, 0, 1) }
  const sealer = createSealer(randomBytes(32))
  const store = createMemoryKeyStore()
  const logs: { level: 'info' | 'warn'; fields: Record<string, unknown>; message: string }[] = []
  const ring = (overrides: Partial<KeyRingOptions> = {}): KeyRing =>
    createKeyRing({
      store,
      sealer,
      alg: 'ES256',
      hsSecrets: [],
      rotationInterval: INTERVAL,
      accessTokenTtl: TTL,
      now: () => clock.t,
      log: {
        info: (fields, message) => logs.push({ level: 'info', fields, message }),
        warn: (fields, message) => logs.push({ level: 'warn', fields, message }),
      },
      ...overrides,
    })
  return { clock, sealer, store, ring, logs }
}

function kids(ring: KeyRing): string[] {
  return ring.jwks().keys.map((key) => key.kid as string)
}

function signAt(ring: KeyRing, t: number, ttl = TTL): string {
  return sign({ sub: 'u1', exp: Math.floor(t / 1000) + ttl }, ring.signingKey(), {
    currentDate: new Date(t),
  })
}

function verifiesAt(ring: KeyRing, token: string, t: number): boolean {
  try {
    verify(token, ring.verificationKeys, { currentDate: new Date(t) })
    return true
  } catch (error) {
    if (error instanceof JwtError) return false
    throw error
  }
}

test('two rings starting together on an empty store create exactly one key, which signs at once', async () => {
  const { store, ring, logs } = setup()
  const a = ring()
  const b = ring()
  await Promise.all([a.start(), b.start()])
  const rows = store.rows()
  assert.equal(rows.length, 1)
  assert.equal(a.signingKey().kid, rows[0]!.kid)
  assert.equal(b.signingKey().kid, rows[0]!.kid)
  assert.equal(a.signingKey().alg, 'ES256')
  assert.deepEqual(
    a.list().map((view) => view.state),
    ['current'],
  )
  assert.equal(rows[0]!.retiresAt, null)
  assert.equal(rows[0]!.activatesAt, rows[0]!.createdAt, 'the first key has no publication delay')
  assert.equal(logs.filter((log) => log.message.includes('first signing key')).length, 1)
  // A third start on a populated store adds nothing.
  await ring().start()
  assert.equal(store.rows().length, 1)
})

test('private keys are stored sealed under the master key, bound to their kid', async () => {
  const { store, ring, sealer } = setup()
  const a = ring()
  await a.start()
  const [row] = store.rows() as [SigningKeyRecord]
  const publicJwk = JSON.parse(row.publicJwk) as Record<string, unknown>
  assert.equal(publicJwk.kid, row.kid)
  assert.equal(publicJwk.d, undefined)
  assert.match(row.sealedPrivateJwk, /^v1\.[\w-]+\.[\w-]+\.[\w-]+$/)
  const privateJwk = JSON.parse(
    sealer.open(row.sealedPrivateJwk, `signing-key:${row.kid}`),
  ) as Record<string, unknown>
  assert.equal(typeof privateJwk.d, 'string')
  assert.equal(privateJwk.x, publicJwk.x)
  // The private member appears nowhere in the stored record in clear.
  const stored = JSON.stringify(row)
  assert.ok(!stored.includes(privateJwk.d as string))
  assert.ok(!stored.includes('"d"'))
  // Sealed for this kid only.
  assert.throws(() => sealer.open(row.sealedPrivateJwk, 'signing-key:another'))
})

test('the JWKS holds public keys with kid, alg and use, and is cached until the set changes', async () => {
  const { ring } = setup()
  const a = ring()
  await a.start()
  const first = a.jwks()
  assert.equal(first.keys.length, 1)
  const [jwk] = first.keys
  assert.equal(jwk!.kid, a.signingKey().kid)
  assert.equal(jwk!.alg, 'ES256')
  assert.equal(jwk!.use, 'sig')
  assert.equal(jwk!.d, undefined)
  assert.equal(a.jwks(), first, 'the same object while nothing changed')
  await a.maintain()
  assert.equal(a.jwks(), first, 'maintain without change keeps the cached object')
  await a.rotate()
  assert.notEqual(a.jwks(), first)
  assert.equal(a.jwks().keys.length, 2)
})

test('reload() picks up a rotation made elsewhere and writes nothing, even when a rotation is due', async () => {
  const { clock, store, ring } = setup()
  const server = ring()
  const cli = ring()
  await Promise.all([server.start(), cli.start()])
  const oldKid = server.signingKey().kid
  await cli.rotate({ immediate: true })
  const newKid = cli.signingKey().kid
  assert.equal(server.signingKey().kid, oldKid, 'nothing tells the server by itself')
  await server.reload()
  assert.equal(server.signingKey().kid, newKid, 'signs with the new key')
  assert.deepEqual(new Set(kids(server)), new Set([oldKid, newKid]))
  // maintain() would rotate a key past its interval and delete expired ones; reload() does neither.
  clock.t += INTERVAL * SECOND
  const rows = JSON.stringify(store.rows())
  const locks = store.lockCount()
  await server.reload()
  assert.equal(JSON.stringify(store.rows()), rows)
  assert.equal(store.lockCount(), locks)
})

test('rotation publishes the next key before it signs, then switches at activatesAt', async () => {
  const { clock, store, ring } = setup()
  const a = ring()
  const b = ring()
  await Promise.all([a.start(), b.start()])
  const oldKid = a.signingKey().kid
  const t0 = clock.t
  const views = await a.rotate()
  assert.deepEqual(
    views.map((view) => view.state),
    ['next', 'current'],
  )
  const newKid = views[0]!.kid
  assert.notEqual(newKid, oldKid)
  assert.equal(views[0]!.activatesAt, new Date(t0 + DELAY * SECOND).toISOString())
  assert.equal(views[1]!.retiresAt, views[0]!.activatesAt)
  assert.equal(views[1]!.expiresAt, new Date(t0 + (DELAY + TTL + 60) * SECOND).toISOString())

  assert.deepEqual(new Set(kids(a)), new Set([oldKid, newKid]), 'next is published')
  assert.ok(a.verificationKeys.has(newKid))
  assert.equal(a.signingKey().kid, oldKid, 'next does not sign yet')
  // Another instance learns about the next key in maintain(), before it signs.
  await b.maintain()
  assert.deepEqual(new Set(kids(b)), new Set([oldKid, newKid]))
  assert.equal(b.signingKey().kid, oldKid)

  clock.t = t0 + DELAY * SECOND - 1
  await Promise.all([a.maintain(), b.maintain()])
  assert.equal(a.signingKey().kid, oldKid)
  assert.equal(store.rows().length, 2, 'maintain did not rotate again')

  clock.t = t0 + DELAY * SECOND
  await Promise.all([a.maintain(), b.maintain()])
  assert.equal(a.signingKey().kid, newKid)
  assert.equal(b.signingKey().kid, newKid)
  assert.deepEqual(
    a.list().map((view) => [view.kid, view.state]),
    [
      [newKid, 'current'],
      [oldKid, 'retired'],
    ],
  )
  assert.equal(store.rows().length, 2)
})

test('the switch needs no maintain(): signingKey() follows the clock', async () => {
  const { clock, ring } = setup()
  const a = ring()
  await a.start()
  const [next] = await a.rotate()
  clock.t += DELAY * SECOND
  assert.equal(a.signingKey().kid, next!.kid)
})

test('a token signed before rotation verifies until the old key expires; then the key leaves the JWKS and the KeySet', async () => {
  const { clock, store, ring } = setup()
  const a = ring()
  await a.start()
  const oldKid = a.signingKey().kid
  const t0 = clock.t
  const early = signAt(a, t0)
  await a.rotate()
  // The last token the old key signs, just before the switch.
  clock.t = t0 + DELAY * SECOND - 1
  const late = signAt(a, clock.t)
  assert.equal(JSON.parse(Buffer.from(late.split('.')[0]!, 'base64url').toString()).kid, oldKid)

  clock.t = t0 + DELAY * SECOND
  await a.maintain()
  const fresh = signAt(a, clock.t)
  assert.notEqual(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid, oldKid)
  assert.ok(verifiesAt(a, early, t0 + (TTL - 1) * SECOND))
  assert.ok(
    verifiesAt(a, late, clock.t + (TTL - 2) * SECOND),
    'the old key outlives every token it signed',
  )
  assert.ok(verifiesAt(a, fresh, clock.t))

  const oldExpiresAt = t0 + (DELAY + TTL + 60) * SECOND
  clock.t = oldExpiresAt - 1
  await a.maintain()
  assert.ok(kids(a).includes(oldKid))
  assert.ok(a.verificationKeys.has(oldKid))

  clock.t = oldExpiresAt
  await a.maintain()
  assert.ok(!kids(a).includes(oldKid))
  assert.equal(a.jwks().keys.length, 1)
  assert.ok(!a.verificationKeys.has(oldKid))
  assert.equal(store.rows().length, 1, 'the expired key is deleted from the store')
  assert.throws(
    () => verify(late, a.verificationKeys, { currentDate: new Date(t0) }),
    (error: unknown) => error instanceof JwtError && error.code === 'key_not_found',
  )
  assert.ok(verifiesAt(a, fresh, t0 + DELAY * SECOND))
})

test('automatic rotation after the interval happens exactly once across two rings', async () => {
  const { clock, store, ring } = setup()
  const a = ring()
  const b = ring()
  await Promise.all([a.start(), b.start()])
  const t0 = clock.t
  const firstKid = a.signingKey().kid
  const lockTaken = store.lockCount()

  clock.t = t0 + (INTERVAL - DELAY) * SECOND - 1
  await Promise.all([a.maintain(), b.maintain()])
  assert.equal(store.rows().length, 1, 'not due yet')
  assert.equal(store.lockCount(), lockTaken, 'no lock taken while nothing is due')

  clock.t = t0 + (INTERVAL - DELAY) * SECOND
  await Promise.all([a.maintain(), b.maintain(), a.maintain(), b.maintain()])
  const rows = store.rows()
  assert.equal(rows.length, 2, 'exactly one rotation')
  for (const r of [a, b]) {
    assert.deepEqual(
      r.list().map((view) => view.state),
      ['next', 'current'],
    )
    assert.equal(r.signingKey().kid, firstKid)
  }
  const nextKid = a.list()[0]!.kid
  assert.equal(
    a.list()[0]!.activatesAt,
    new Date(t0 + INTERVAL * SECOND).toISOString(),
    'the new key signs one interval after the first',
  )

  clock.t = t0 + INTERVAL * SECOND
  await Promise.all([a.maintain(), b.maintain()])
  assert.equal(a.signingKey().kid, nextKid)
  assert.equal(b.signingKey().kid, nextKid)
  assert.equal(store.rows().length, 2)

  // Past the old key's expiry, only the new key remains; the next rotation is an interval later.
  clock.t = t0 + (INTERVAL + TTL + 60) * SECOND
  await Promise.all([a.maintain(), b.maintain()])
  assert.deepEqual(kids(a), [nextKid])
  assert.deepEqual(kids(b), [nextKid])
  clock.t = t0 + (2 * INTERVAL - DELAY) * SECOND
  await Promise.all([b.maintain(), a.maintain()])
  assert.equal(store.rows().length, 2)
  assert.equal(new Set(store.rows().map((row) => row.kid)).size, 2)
})

test('rotate({ immediate: true }) signs with the new key at once; the old one stays published for its tokens', async () => {
  const { clock, ring } = setup()
  const a = ring()
  await a.start()
  const oldKid = a.signingKey().kid
  const views = await a.rotate({ immediate: true })
  assert.deepEqual(
    views.map((view) => view.state),
    ['current', 'retired'],
  )
  assert.notEqual(a.signingKey().kid, oldKid)
  assert.equal(views[1]!.expiresAt, new Date(clock.t + (TTL + 60) * SECOND).toISOString())
  assert.ok(kids(a).includes(oldKid))
})

test('rotating again while a next key is waiting keeps one chain: every key but the newest gets a retirement', async () => {
  const { clock, store, ring } = setup()
  const a = ring()
  await a.start()
  const t0 = clock.t
  const [first] = await a.rotate()
  clock.t = t0 + 100 * SECOND
  const views = await a.rotate()
  assert.equal(views.length, 3)
  assert.deepEqual(
    views.map((view) => view.state),
    ['next', 'next', 'current'],
  )
  assert.equal(store.rows().filter((row) => row.retiresAt === null).length, 1)
  // The first next key signs between its activation and the second one's.
  clock.t = t0 + DELAY * SECOND
  assert.equal(a.signingKey().kid, first!.kid)
  clock.t = t0 + (100 + DELAY) * SECOND
  assert.equal(a.signingKey().kid, views[0]!.kid)
})

test('a ring refuses to start when a stored key does not open with its master key', async () => {
  const { store, ring, clock } = setup()
  await ring().start()
  const other = createKeyRing({
    store,
    sealer: createSealer(randomBytes(32)),
    alg: 'ES256',
    hsSecrets: [],
    rotationInterval: INTERVAL,
    accessTokenTtl: TTL,
    now: () => clock.t,
  })
  await assert.rejects(other.start(), /TESSERA_MASTER_KEY/)
  assert.equal(store.rows().length, 1, 'no key of its own was created')
})

test('a row written without the master key is neither published nor trusted', async () => {
  const { store, ring, logs, clock } = setup()
  const a = ring()
  await a.start()
  // An attacker with database write access inserts their own public key.
  const attacker = generateKeyPair('ES256')
  await store.insertKey({
    kid: attacker.privateKey.kid,
    alg: 'ES256',
    publicJwk: JSON.stringify(exportJwk(attacker.publicKey)),
    sealedPrivateJwk: 'v1.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA',
    createdAt: clock.t,
    activatesAt: clock.t - 1,
    retiresAt: null,
    expiresAt: null,
  })
  await a.maintain()
  await a.maintain()
  assert.ok(!kids(a).includes(attacker.privateKey.kid))
  assert.ok(!a.verificationKeys.has(attacker.privateKey.kid))
  const forged = sign({ sub: 'admin', exp: Math.floor(clock.t / 1000) + 60 }, attacker.privateKey, {
    currentDate: new Date(clock.t),
  })
  assert.equal(verifiesAt(a, forged, clock.t), false)
  const warnings = logs.filter(
    (log) => log.level === 'warn' && log.fields.kid === attacker.privateKey.kid,
  )
  assert.equal(warnings.length, 1, 'warned once, not every maintain')
  assert.ok(!JSON.stringify(logs).includes('"d"'))
})

test('when no key is current any more, maintain() generates one that signs at once (exactly one across rings)', async () => {
  const { clock, store, ring } = setup()
  const a = ring()
  const b = ring()
  await Promise.all([a.start(), b.start()])
  const [row] = store.rows() as [SigningKeyRecord]
  await store.retireKey(row.kid, clock.t, clock.t + (TTL + 60) * SECOND)
  clock.t += SECOND
  await Promise.all([a.maintain(), b.maintain()])
  assert.equal(store.rows().length, 2)
  assert.notEqual(a.signingKey().kid, row.kid)
  assert.equal(a.signingKey().kid, b.signingKey().kid)
})

test('a changed signing algorithm gets a new key at start; the old key stays published until its tokens expire', async () => {
  const { clock, store, ring } = setup()
  const a = ring()
  await a.start()
  const oldKid = a.signingKey().kid
  const ed = ring({ alg: 'EdDSA' })
  await ed.start()
  assert.equal(ed.signingKey().alg, 'EdDSA')
  assert.deepEqual(
    ed.list().map((view) => [view.alg, view.state]),
    [
      ['EdDSA', 'current'],
      ['ES256', 'retired'],
    ],
  )
  assert.ok(kids(ed).includes(oldKid))
  assert.equal(store.rows().length, 2)
  clock.t += (TTL + 60) * SECOND
  await ed.maintain()
  assert.deepEqual(kids(ed), [ed.signingKey().kid])
})

for (const alg of ['EdDSA', 'RS256', 'PS256', 'ES384'] as Algorithm[]) {
  test(`${alg}: generated keys round-trip through the store`, async () => {
    const { ring } = setup()
    const a = ring({ alg })
    await a.start()
    const b = ring({ alg })
    await b.start()
    assert.equal(a.signingKey().alg, alg)
    assert.equal(b.signingKey().kid, a.signingKey().kid)
    const token = signAt(b, Date.UTC(2025, 0, 1))
    assert.ok(verifiesAt(a, token, Date.UTC(2025, 0, 1)))
    assert.equal(a.jwks().keys[0]!.alg, alg)
  })
}

test('HS256: the configured secrets sign and verify; nothing is generated, stored or published', async () => {
  const { store, ring } = setup()
  const first = randomBytes(32)
  const second = randomBytes(32)
  const hs = ring({
    alg: 'HS256',
    hsSecrets: [
      { kid: 'k2', secret: first },
      { kid: 'k1', secret: second },
    ],
  })
  await hs.start()
  await hs.maintain()
  assert.equal(hs.signingKey().kid, 'k2')
  assert.equal(hs.signingKey().alg, 'HS256')
  assert.deepEqual(
    [...hs.verificationKeys].map((key) => key.kid),
    ['k2', 'k1'],
  )
  assert.deepEqual(hs.jwks(), { keys: [] })
  assert.deepEqual(
    hs.list().map((view) => [view.kid, view.state]),
    [
      ['k2', 'current'],
      ['k1', 'retired'],
    ],
  )
  // A refusal the HTTP layer and the CLI can tell from a failure.
  await assert.rejects(
    hs.rotate(),
    (error: unknown) =>
      error instanceof KeyRotationRefusedError &&
      error.alg === 'HS256' &&
      /TESSERA_HS_SECRETS: list the new secret first, keep the old one/.test(error.message),
  )
  assert.equal(store.rows().length, 0)
  assert.equal(store.lockCount(), 0)
  // A token signed with the older secret still verifies.
  const { importSecret } = await import('@tessera/jwt')
  const old = sign(
    { sub: 'u', exp: Math.floor(Date.UTC(2025, 0, 1) / 1000) + 60 },
    importSecret(second, 'HS256', { kid: 'k1' }),
    {
      currentDate: new Date(Date.UTC(2025, 0, 1)),
    },
  )
  assert.ok(verifiesAt(hs, old, Date.UTC(2025, 0, 1)))
})

test('HS*: no secret, a short secret or duplicate kids are refused at creation', () => {
  const { ring } = setup()
  assert.throws(() => ring({ alg: 'HS256', hsSecrets: [] }), TypeError)
  assert.throws(() => ring({ alg: 'HS256', hsSecrets: [{ kid: 'k', secret: randomBytes(16) }] }))
  assert.throws(() => ring({ alg: 'HS512', hsSecrets: [{ kid: 'k', secret: randomBytes(32) }] }))
  assert.throws(() =>
    ring({
      alg: 'HS256',
      hsSecrets: [
        { kid: 'k', secret: randomBytes(32) },
        { kid: 'k', secret: randomBytes(32) },
      ],
    }),
  )
})

test('misuse is refused at creation', () => {
  const { ring } = setup()
  assert.throws(() => ring({ alg: 'none' as Algorithm }), TypeError)
  assert.throws(() => ring({ accessTokenTtl: 0 }), TypeError)
  assert.throws(() => ring({ rotationInterval: Number.NaN }), TypeError)
  assert.throws(() => ring({ rotationInterval: 600, publishDelay: 600 }), TypeError)
  assert.throws(() => ring({ publishDelay: -1 }), TypeError)
})

test('with a rotation interval shorter than the default delay, next is published for half the interval', async () => {
  const { clock, ring } = setup()
  const a = ring({ rotationInterval: 300 })
  await a.start()
  const t0 = clock.t
  clock.t = t0 + 149 * SECOND
  await a.maintain()
  assert.equal(a.list().length, 1)
  clock.t = t0 + 150 * SECOND
  await a.maintain()
  const [next] = a.list()
  assert.equal(next!.state, 'next')
  assert.equal(next!.activatesAt, new Date(t0 + 300 * SECOND).toISOString())
})

test('signingKey() before start() throws', () => {
  const { ring } = setup()
  assert.throws(() => ring().signingKey(), /start/)
})

test('a key ring keeps a day-long history sane under many maintain() calls', async () => {
  const { clock, store, ring } = setup()
  const a = ring({ rotationInterval: 3600, publishDelay: 300 })
  await a.start()
  const signers = new Set<string>()
  for (let i = 0; i < 24 * 12; i++) {
    clock.t += 5 * 60 * SECOND
    await a.maintain()
    signers.add(a.signingKey().kid)
    const states = a.list().map((view) => view.state)
    assert.equal(states.filter((state) => state === 'current').length, 1)
    assert.ok(states.filter((state) => state === 'next').length <= 1)
    assert.ok(store.rows().length <= 4)
  }
  assert.ok(signers.size >= 23 && signers.size <= 25, `about one key an hour, got ${signers.size}`)
})
