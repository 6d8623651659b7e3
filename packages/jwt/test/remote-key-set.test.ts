import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, it, type TestContext } from 'node:test'
import {
  createRemoteKeySet,
  createVerifier,
  exportJwk,
  generateKeyPair,
  generateSecret,
  importKeyObject,
  type Jwk,
  JwtError,
  type JwtErrorCode,
  Key,
  type RemoteKeySetOptions,
  sign,
  verify,
} from '../src/index.ts'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** A JWKS server on 127.0.0.1 that the test drives, closed when the test ends. */
interface JwksServer {
  readonly url: string
  /** Requests received so far. */
  readonly requests: number
  /**
   * Fetches the client started so far: counted when `fetch` is called, so a
   * background refresh shows at once, before its request reaches the server.
   */
  readonly fetches: number
  /** The global fetch, counting calls. */
  readonly fetch: typeof fetch
  /** Bytes of body the server managed to write, for the size-limit tests. */
  readonly bytesWritten: number
  handler: Handler
  /** Serves these keys (their public halves), with extra response headers. */
  serve(keys: readonly Key[], headers?: Record<string, string>): void
  /** Resolves once the server has seen a response of its closed (client gone or done). */
  responseClosed(): Promise<void>
  /** A timer that is cleared when the server closes, so no handle outlives the test. */
  later(ms: number, run: () => void): void
  addBytes(n: number): void
}

async function startServer(t: TestContext): Promise<JwksServer> {
  let requests = 0
  let fetches = 0
  let bytesWritten = 0
  let closedWaiters: (() => void)[] = []
  const timers = new Set<NodeJS.Timeout>()
  const jwks: JwksServer = {
    url: '',
    get requests() {
      return requests
    },
    get fetches() {
      return fetches
    },
    fetch: (input, init) => {
      fetches++
      return globalThis.fetch(input, init)
    },
    get bytesWritten() {
      return bytesWritten
    },
    handler: (_req, res) => {
      res.statusCode = 404
      res.end()
    },
    serve(keys, headers = {}) {
      const body = JSON.stringify({ keys: keys.map((key) => exportJwk(key.publicKey)) })
      this.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', ...headers })
        res.end(body)
      }
    },
    responseClosed() {
      return new Promise((resolve) => closedWaiters.push(resolve))
    },
    later(ms, run) {
      const timer = setTimeout(() => {
        timers.delete(timer)
        run()
      }, ms)
      timers.add(timer)
    },
    addBytes(n) {
      bytesWritten += n
    },
  }
  const server = createServer((req, res) => {
    requests++
    res.on('close', () => {
      const waiters = closedWaiters
      closedWaiters = []
      for (const wake of waiters) wake()
    })
    jwks.handler(req, res)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  Object.assign(jwks, { url: `http://127.0.0.1:${port}/.well-known/jwks.json` })
  t.after(async () => {
    for (const timer of timers) clearTimeout(timer)
    server.closeAllConnections()
    server.close()
    await once(server, 'close')
  })
  return jwks
}

/** A fake clock in epoch ms, for cache expiry and cooldown without sleeping. */
function fakeClock(): { now: () => number; advance: (seconds: number) => void } {
  let time = 1_700_000_000_000
  return {
    now: () => time,
    advance: (seconds) => {
      time += seconds * 1000
    },
  }
}

async function rejectsWith(promise: unknown, code: JwtErrorCode): Promise<JwtError> {
  assert.ok(promise instanceof Promise, 'expected a promise')
  try {
    await promise
  } catch (error) {
    assert.ok(error instanceof JwtError, `expected a JwtError, got ${String(error)}`)
    assert.equal(error.code, code)
    return error
  }
  assert.fail(`expected a rejection with ${code}`)
}

/** Polls until `condition` holds; the background refresh has no promise to await. */
async function until(condition: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) assert.fail('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

const ISSUER = 'https://auth.example.test'
const VERIFY = { issuer: ISSUER, audience: 'api' }

function tokenFor(privateKey: Key, subject = 'u1'): string {
  return sign({ sub: subject }, privateKey, { issuer: ISSUER, audience: 'api', expiresIn: '1h' })
}

function pair(kid: string): { privateKey: Key; publicKey: Key } {
  return generateKeyPair('EdDSA', { kid })
}

function remote(server: JwksServer, options: RemoteKeySetOptions = {}) {
  return createRemoteKeySet(server.url, { fetch: server.fetch, ...options })
}

describe('createRemoteKeySet: verification', () => {
  it('verifies a token signed by a published key, through verify and createVerifier', async (t) => {
    const server = await startServer(t)
    const k1 = pair('k1')
    const k2 = generateKeyPair('ES256', { kid: 'k2' })
    server.serve([k1.privateKey, k2.privateKey])
    const jwks = remote(server)
    assert.equal(jwks.keySet(), undefined)
    assert.equal(jwks.fetchedAt, undefined)

    const result = await verify(tokenFor(k1.privateKey, 'alice'), jwks, VERIFY)
    assert.equal(result.payload.sub, 'alice')
    assert.equal(result.header.kid, 'k1')

    const verifyAccess = createVerifier({ key: jwks, ...VERIFY })
    const other = await verifyAccess(tokenFor(k2.privateKey, 'bob'))
    assert.equal(other.payload.sub, 'bob')
    assert.equal(server.fetches, 1)
    assert.equal(jwks.keySet()?.size, 2)
    assert.equal(typeof jwks.fetchedAt, 'number')

    // A token signed by a key the server does not publish fails on its signature.
    const impostor = pair('k1')
    await rejectsWith(verify(tokenFor(impostor.privateKey), jwks, VERIFY), 'invalid_signature')
    await rejectsWith(verifyAccess(tokenFor(impostor.privateKey)), 'invalid_signature')
  })

  it('returns a cached key synchronously, without a promise', async (t) => {
    const server = await startServer(t)
    const k1 = pair('k1')
    server.serve([k1.privateKey])
    const jwks = remote(server)
    const first = jwks.resolveKey('EdDSA', 'k1')
    assert.ok(first instanceof Promise)
    const key = await first
    const again = jwks.resolveKey('EdDSA', 'k1')
    assert.ok(again instanceof Key)
    assert.equal(again, key)
    assert.equal(again.kid, 'k1')
    // Without a kid, the one key of the alg is picked, also synchronously.
    assert.equal(jwks.resolveKey('EdDSA', undefined), key)
  })

  it('refuses a token whose alg is not the key’s', async (t) => {
    const server = await startServer(t)
    const k1 = pair('k1')
    server.serve([k1.privateKey])
    const jwks = remote(server)
    await jwks.reload()
    await rejectsWith(jwks.resolveKey('ES256', 'k1'), 'alg_not_allowed')
    await rejectsWith(jwks.resolveKey('RS256', 'k1'), 'alg_not_allowed')
    assert.equal(server.fetches, 1)
  })

  it('skips unsupported and symmetric keys of the JWKS', async (t) => {
    const server = await startServer(t)
    const k1 = pair('k1')
    const secret = generateSecret('HS256', { kid: 'hs' })
    const body = JSON.stringify({
      keys: [
        exportJwk(k1.publicKey),
        exportJwk(secret, { includePrivate: true }),
        { kty: 'RSA', kid: 'enc', use: 'enc', n: 'AQAB', e: 'AQAB' },
        { kty: 'unknown', kid: 'x' },
        null,
      ] satisfies unknown[] as Jwk[],
    })
    server.handler = (_req, res) => res.end(body)
    const jwks = remote(server)
    await jwks.reload()
    assert.deepEqual(
      [...(jwks.keySet() ?? [])].map((key) => key.kid),
      ['k1'],
    )
    // An HS token signed with the published secret must not verify.
    const forged = sign({ sub: 'x' }, secret, { issuer: ISSUER, audience: 'api', expiresIn: '1h' })
    await rejectsWith(verify(forged, jwks, VERIFY), 'key_not_found')
  })
})

describe('createRemoteKeySet: concurrency', () => {
  it('shares one fetch among 50 concurrent first uses', async (t) => {
    const server = await startServer(t)
    const k1 = pair('k1')
    const body = JSON.stringify({ keys: [exportJwk(k1.publicKey)] })
    // A slow answer keeps the fetch in flight while all 50 arrive.
    server.handler = (_req, res) => server.later(50, () => res.end(body))
    const jwks = remote(server)
    const verifyAccess = createVerifier({ key: jwks, ...VERIFY, cache: false })
    const tokens = Array.from({ length: 50 }, (_, i) => tokenFor(k1.privateKey, `user-${i}`))
    const results = await Promise.all(
      tokens.map((token, i) => (i % 2 === 0 ? verify(token, jwks, VERIFY) : verifyAccess(token))),
    )
    assert.deepEqual(
      results.map((r) => r.payload.sub),
      tokens.map((_, i) => `user-${i}`),
    )
    assert.equal(server.fetches, 1)
    assert.equal(server.requests, 1)
  })

  it('shares one fetch between reload() and a concurrent use', async (t) => {
    const server = await startServer(t)
    const k1 = pair('k1')
    server.serve([k1.privateKey])
    const jwks = remote(server)
    const [, key] = await Promise.all([jwks.reload(), jwks.resolveKey('EdDSA', 'k1')])
    assert.equal(key.kid, 'k1')
    assert.equal(server.fetches, 1)
  })
})

describe('createRemoteKeySet: rotation and unknown kids', () => {
  it('refetches once for a new kid, and drops a key the JWKS no longer has', async (t) => {
    const server = await startServer(t)
    const clock = fakeClock()
    const k1 = pair('k1')
    const k2 = pair('k2')
    server.serve([k1.privateKey])
    const jwks = remote(server, { now: clock.now, cooldown: 30 })
    assert.equal((await verify(tokenFor(k1.privateKey), jwks, VERIFY)).header.kid, 'k1')
    assert.equal(server.fetches, 1)

    // The issuer publishes k2 and signs with it; k1 is retired.
    server.serve([k2.privateKey])
    clock.advance(31)
    const rotated = await verify(tokenFor(k2.privateKey, 'new'), jwks, VERIFY)
    assert.equal(rotated.payload.sub, 'new')
    assert.equal(server.fetches, 2)
    // Further k2 tokens use the cache.
    await verify(tokenFor(k2.privateKey), jwks, VERIFY)
    assert.equal(server.fetches, 2)

    // k1 left the JWKS: new k1 tokens no longer verify, and within the cooldown
    // they do not even cause a fetch.
    await rejectsWith(verify(tokenFor(k1.privateKey), jwks, VERIFY), 'key_not_found')
    assert.equal(server.fetches, 2)
    clock.advance(31)
    await rejectsWith(verify(tokenFor(k1.privateKey), jwks, VERIFY), 'key_not_found')
    assert.equal(server.fetches, 3)
  })

  it('evicts cached tokens of a key the refetched JWKS dropped, and keeps the others', async (t) => {
    const server = await startServer(t)
    const k1 = pair('k1')
    const k2 = pair('k2')
    server.serve([k1.privateKey, k2.privateKey])
    const jwks = remote(server)
    const verifyToken = createVerifier({ key: jwks, ...VERIFY })
    const old = tokenFor(k1.privateKey)
    const kept = tokenFor(k2.privateKey)
    await verifyToken(old)
    await verifyToken(kept)
    assert.equal(verifyToken.cache?.size, 2)

    server.serve([k2.privateKey])
    await jwks.reload()
    await rejectsWith(verifyToken(old), 'key_not_found')
    assert.equal(
      (await verifyToken(kept)).header.kid,
      'k2',
      'same key material in a new set stays cached',
    )
    assert.equal(verifyToken.cache?.size, 1)
  })

  it('does not let 100 random kids cause more than one fetch per cooldown', async (t) => {
    const server = await startServer(t)
    const clock = fakeClock()
    const k1 = pair('k1')
    server.serve([k1.privateKey])
    const jwks = remote(server, { now: clock.now })
    await verify(tokenFor(k1.privateKey), jwks, VERIFY)
    assert.equal(server.fetches, 1)
    clock.advance(60)

    const forge = (): string =>
      tokenFor(importKeyObject(k1.privateKey.keyObject, 'EdDSA', { kid: randomUUID() }))
    // 100 in parallel: one refetch, shared, and every one fails.
    const parallel = Array.from({ length: 100 }, () => verify(forge(), jwks, VERIFY))
    for (const attempt of parallel) await rejectsWith(attempt, 'key_not_found')
    assert.equal(server.fetches, 2)
    // 100 more one after another within the cooldown: no fetch at all.
    for (let i = 0; i < 100; i++) await rejectsWith(verify(forge(), jwks, VERIFY), 'key_not_found')
    assert.equal(server.fetches, 2)
    assert.equal(server.requests, 2)
    // The known key kept working throughout, from the cache.
    assert.ok(jwks.resolveKey('EdDSA', 'k1') instanceof Key)
    // After the cooldown, one more refetch is allowed.
    clock.advance(30)
    await rejectsWith(verify(forge(), jwks, VERIFY), 'key_not_found')
    assert.equal(server.fetches, 3)
  })

  it('refetches when no key fits the alg of a kid-less token', async (t) => {
    const server = await startServer(t)
    const clock = fakeClock()
    const es = generateKeyPair('ES256', { kid: 'es' })
    const ed = pair('ed')
    server.serve([es.privateKey])
    const jwks = remote(server, { now: clock.now })
    await jwks.reload()
    server.serve([es.privateKey, ed.privateKey])
    clock.advance(30)
    const key = await jwks.resolveKey('EdDSA', undefined)
    assert.equal(key.kid, 'ed')
    assert.equal(server.fetches, 2)
  })
})

describe('createRemoteKeySet: freshness', () => {
  it('honours Cache-Control max-age, and refreshes a stale set in the background', async (t) => {
    const server = await startServer(t)
    const clock = fakeClock()
    const k1 = pair('k1')
    const k2 = pair('k2')
    server.serve([k1.privateKey], { 'cache-control': 'public, max-age=120' })
    const jwks = remote(server, { now: clock.now })
    await jwks.reload()
    const firstFetch = jwks.fetchedAt

    clock.advance(119)
    assert.ok(jwks.resolveKey('EdDSA', 'k1') instanceof Key)
    assert.equal(server.fetches, 1)

    server.serve([k1.privateKey, k2.privateKey], { 'cache-control': 'max-age=120' })
    clock.advance(2)
    // Stale: the cached key is still served at once while the refresh runs.
    assert.ok(jwks.resolveKey('EdDSA', 'k1') instanceof Key)
    assert.equal(server.fetches, 2)
    // Uses while the refresh is in flight do not start another.
    assert.ok(jwks.resolveKey('EdDSA', 'k1') instanceof Key)
    assert.equal(server.fetches, 2)
    await until(() => jwks.fetchedAt !== firstFetch)
    assert.ok(jwks.resolveKey('EdDSA', 'k2') instanceof Key)
    assert.equal(server.fetches, 2)
  })

  it('uses cacheMaxAge (10 minutes by default) when the response has no max-age', async (t) => {
    const server = await startServer(t)
    const clock = fakeClock()
    const k1 = pair('k1')
    server.serve([k1.privateKey])
    const jwks = remote(server, { now: clock.now })
    await jwks.reload()
    clock.advance(599)
    jwks.resolveKey('EdDSA', 'k1')
    assert.equal(server.fetches, 1)
    clock.advance(1)
    jwks.resolveKey('EdDSA', 'k1')
    assert.equal(server.fetches, 2)
    await until(() => jwks.fetchedAt === clock.now())

    const custom = remote(server, { now: clock.now, cacheMaxAge: '2m' })
    await custom.reload()
    assert.equal(server.fetches, 3)
    clock.advance(119)
    custom.resolveKey('EdDSA', 'k1')
    assert.equal(server.fetches, 3)
    clock.advance(1)
    custom.resolveKey('EdDSA', 'k1')
    assert.equal(server.fetches, 4)
    await until(() => custom.fetchedAt === clock.now())
  })

  it('clamps max-age to [30 s, 24 h] by default, and to the configured bounds', async (t) => {
    const server = await startServer(t)
    const clock = fakeClock()
    const k1 = pair('k1')

    /** The seconds after a fetch at which a use first triggers a refresh. */
    async function staleAfter(
      cacheControl: string,
      options: RemoteKeySetOptions,
      probes: readonly number[],
    ): Promise<number | undefined> {
      server.serve([k1.privateKey], { 'cache-control': cacheControl })
      const jwks = remote(server, { now: clock.now, ...options })
      await jwks.reload()
      const start = clock.now()
      const before = server.fetches
      for (const at of probes) {
        clock.advance((start + at * 1000 - clock.now()) / 1000)
        jwks.resolveKey('EdDSA', 'k1')
        if (server.fetches > before) {
          await until(() => jwks.fetchedAt === clock.now())
          return at
        }
      }
      return undefined
    }

    assert.equal(await staleAfter('max-age=5', {}, [5, 29, 30]), 30)
    assert.equal(await staleAfter('no-cache', {}, [1, 29, 30]), 30)
    assert.equal(await staleAfter('max-age=999999', {}, [3600, 86_399, 86_400]), 86_400)
    assert.equal(await staleAfter('max-age=300', {}, [299, 300]), 300)
    // Age (time spent in a shared cache) counts against max-age.
    assert.equal(await staleAfter('max-age=300', {}, [199, 200]), undefined)
    server.serve([k1.privateKey], { 'cache-control': 'max-age=300', age: '100' })
    const aged = remote(server, { now: clock.now })
    await aged.reload()
    const before = server.fetches
    clock.advance(199)
    aged.resolveKey('EdDSA', 'k1')
    assert.equal(server.fetches, before)
    clock.advance(1)
    aged.resolveKey('EdDSA', 'k1')
    assert.equal(server.fetches, before + 1)
    await until(() => aged.fetchedAt === clock.now())

    const bounds = { minCacheAge: '2m', maxCacheAge: '1h', cooldown: 0 }
    assert.equal(await staleAfter('max-age=10', bounds, [60, 119, 120]), 120)
    assert.equal(await staleAfter('max-age=86400', bounds, [3599, 3600]), 3600)
  })
})

describe('createRemoteKeySet: failures without a cached set', () => {
  it('times out a server that does not answer, within about the timeout', async (t) => {
    const server = await startServer(t)
    server.handler = () => {} // never answers
    const jwks = remote(server, { timeout: 0.2 })
    const started = Date.now()
    await rejectsWith(jwks.resolveKey('EdDSA', 'k1'), 'jwks_unavailable')
    const elapsed = Date.now() - started
    assert.ok(elapsed >= 150, `gave up too early: ${elapsed} ms`)
    assert.ok(elapsed < 1500, `took ${elapsed} ms`)
  })

  it('times out a body that stalls halfway', async (t) => {
    const server = await startServer(t)
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"keys":[')
    }
    const jwks = remote(server, { timeout: 0.2 })
    const started = Date.now()
    await rejectsWith(jwks.resolveKey('EdDSA', 'k1'), 'jwks_unavailable')
    assert.ok(Date.now() - started < 1500)
  })

  it('times out a fetch implementation that ignores its abort signal', async () => {
    const jwks = createRemoteKeySet('https://jwks.example.test/keys', {
      timeout: 0.1,
      fetch: () => new Promise<Response>(() => {}),
    })
    const started = Date.now()
    await rejectsWith(jwks.resolveKey('EdDSA', 'k1'), 'jwks_unavailable')
    assert.ok(Date.now() - started < 1500)
  })

  for (const [name, status, body] of [
    ['HTTP 500', 500, '{"keys":[]}'],
    ['HTTP 404', 404, 'not found'],
    ['HTTP 204', 204, ''],
    ['invalid JSON', 200, '{"keys": ['],
    ['JSON without keys', 200, '{"kty":"EC"}'],
    ['keys that is not an array', 200, '{"keys":{}}'],
    ['a JSON array', 200, '[]'],
    ['JSON null', 200, 'null'],
    ['an empty body', 200, ''],
  ] as const) {
    it(`fails with jwks_unavailable on ${name}`, async (t) => {
      const server = await startServer(t)
      server.handler = (_req, res) => {
        res.statusCode = status
        res.end(body)
      }
      const jwks = remote(server)
      await rejectsWith(jwks.resolveKey('EdDSA', 'k1'), 'jwks_unavailable')
      await rejectsWith(jwks.reload(), 'jwks_unavailable')
      assert.equal(jwks.keySet(), undefined)
    })
  }

  it('does not follow redirects', async (t) => {
    const target = await startServer(t)
    target.serve([pair('k1').privateKey])
    const server = await startServer(t)
    server.handler = (_req, res) => {
      res.writeHead(302, { location: target.url })
      res.end()
    }
    const jwks = remote(server)
    await rejectsWith(jwks.resolveKey('EdDSA', 'k1'), 'jwks_unavailable')
    assert.equal(target.requests, 0)
  })

  it('refuses a 2 MiB body announced by Content-Length without reading it', async (t) => {
    const server = await startServer(t)
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-length': String(2 * 1024 * 1024) })
      // One chunk, then nothing: a client that read on would wait for the timeout.
      res.write(Buffer.alloc(64 * 1024, 0x20))
    }
    const jwks = remote(server, { timeout: 10 })
    const started = Date.now()
    await rejectsWith(jwks.resolveKey('EdDSA', 'k1'), 'jwks_unavailable')
    assert.ok(Date.now() - started < 2000)
  })

  it('stops reading a 2 MiB chunked body at maxResponseBytes', async (t) => {
    const server = await startServer(t)
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"keys":[],"padding":"')
      // The first MiB now, the second never: a client that read to the end would
      // wait for the 10 s timeout; one that stops at 512 KiB is done at once.
      for (let i = 0; i < 64; i++) res.write(Buffer.alloc(16 * 1024, 0x20))
    }
    const jwks = remote(server, { timeout: 10 })
    const started = Date.now()
    await rejectsWith(jwks.resolveKey('EdDSA', 'k1'), 'jwks_unavailable')
    assert.ok(Date.now() - started < 3000)
  })

  it('stops reading a never-ending chunked body and hangs up', async (t) => {
    const server = await startServer(t)
    const chunk = Buffer.alloc(16 * 1024, 0x20)
    server.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"keys":[],"padding":"')
      const pump = (): void => {
        while (!res.destroyed) {
          server.addBytes(chunk.length)
          if (!res.write(chunk)) {
            res.once('drain', pump)
            return
          }
        }
      }
      pump()
    }
    const jwks = remote(server, { timeout: 10 })
    const closed = server.responseClosed()
    const started = Date.now()
    await rejectsWith(jwks.resolveKey('EdDSA', 'k1'), 'jwks_unavailable')
    // The size limit, not the timeout, ended it; and the client hung up.
    assert.ok(Date.now() - started < 3000)
    await closed
    const pumped = server.bytesWritten
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(server.bytesWritten, pumped, 'the server kept sending')
  })

  it('honours a smaller maxResponseBytes', async (t) => {
    const server = await startServer(t)
    const k1 = pair('k1')
    server.serve([k1.privateKey])
    const tight = remote(server, { maxResponseBytes: 64 })
    await rejectsWith(tight.resolveKey('EdDSA', 'k1'), 'jwks_unavailable')
    const roomy = remote(server, { maxResponseBytes: 4096 })
    assert.equal((await roomy.resolveKey('EdDSA', 'k1')).kid, 'k1')
  })

  it('fails with jwks_unavailable when nothing listens on the port', async (t) => {
    const server = await startServer(t)
    const url = server.url
    const down = createServer()
    down.listen(0, '127.0.0.1')
    await once(down, 'listening')
    const { port } = down.address() as AddressInfo
    down.close()
    await once(down, 'close')
    const jwks = createRemoteKeySet(`http://127.0.0.1:${port}/jwks.json`)
    await rejectsWith(jwks.resolveKey('EdDSA', 'k1'), 'jwks_unavailable')
    await rejectsWith(verify(tokenFor(pair('k1').privateKey), jwks, VERIFY), 'jwks_unavailable')
    assert.ok(url.length > 0)
  })

  it('says why in the message: refused, 404, a redirect, not JSON; never the URL', async (t) => {
    const down = createServer()
    down.listen(0, '127.0.0.1')
    await once(down, 'listening')
    const { port } = down.address() as AddressInfo
    down.close()
    await once(down, 'close')
    const refused = createRemoteKeySet(`http://127.0.0.1:${port}/jwks.json?api_key=s3cret`)
    const messages = [
      (await rejectsWith(refused.resolveKey('EdDSA', 'k1'), 'jwks_unavailable')).message,
    ]

    const server = await startServer(t)
    const answers: [number, Record<string, string>, string][] = [
      [404, {}, 'nope'],
      [302, { location: 'https://elsewhere.example/jwks' }, ''],
      [200, { 'content-type': 'text/html; charset=utf-8' }, '<html>login</html>'],
    ]
    for (const [status, headers, body] of answers) {
      server.handler = (_req, res) => {
        res.writeHead(status, headers)
        res.end(body)
      }
      messages.push((await rejectsWith(remote(server).reload(), 'jwks_unavailable')).message)
    }
    assert.deepEqual(messages, [
      'the JWKS could not be fetched: connection refused: nothing listens there (ECONNREFUSED)',
      'the JWKS answered HTTP 404 Not Found: check the JWKS URL',
      'the JWKS answered HTTP 302, a redirect: it is not followed, use the final URL',
      'the JWKS response is not JSON (text/html)',
    ])
    for (const message of messages) assert.doesNotMatch(message, /127\.0\.0\.1|s3cret|elsewhere/)
  })

  it('during the cooldown after a failure, repeats why it failed and when it tries again', async (t) => {
    const server = await startServer(t)
    const clock = fakeClock()
    const jwks = remote(server, { now: clock.now })
    await rejectsWith(jwks.resolveKey('EdDSA', 'k1'), 'jwks_unavailable')
    clock.advance(10)
    const again = await rejectsWith(jwks.resolveKey('EdDSA', 'k1'), 'jwks_unavailable')
    assert.equal(
      again.message,
      'the JWKS answered HTTP 404 Not Found: check the JWKS URL; next try in 20 s',
    )
    assert.equal(server.fetches, 1)
  })

  it('retries a failed first fetch only after the cooldown', async (t) => {
    const server = await startServer(t)
    const clock = fakeClock()
    const k1 = pair('k1')
    server.handler = (_req, res) => {
      res.statusCode = 503
      res.end()
    }
    const jwks = remote(server, { now: clock.now })
    const token = tokenFor(k1.privateKey)
    await rejectsWith(verify(token, jwks, VERIFY), 'jwks_unavailable')
    assert.equal(server.fetches, 1)
    server.serve([k1.privateKey])
    await rejectsWith(verify(token, jwks, VERIFY), 'jwks_unavailable')
    assert.equal(server.fetches, 1)
    clock.advance(30)
    assert.equal((await verify(token, jwks, VERIFY)).payload.sub, 'u1')
    assert.equal(server.fetches, 2)
  })
})

describe('createRemoteKeySet: failures with a cached set', () => {
  for (const failure of [
    'HTTP 500',
    'a timeout',
    'invalid JSON',
    'a dropped connection',
  ] as const) {
    it(`keeps verifying with the cached keys after ${failure}`, async (t) => {
      const server = await startServer(t)
      const clock = fakeClock()
      const k1 = pair('k1')
      server.serve([k1.privateKey])
      const jwks = remote(server, { now: clock.now, timeout: 0.2 })
      const verifyAccess = createVerifier({ key: jwks, ...VERIFY, cache: false })
      await verifyAccess(tokenFor(k1.privateKey))
      const cached = jwks.keySet()
      const fetchedAt = jwks.fetchedAt

      server.handler = (_req, res) => {
        if (failure === 'a timeout') return // never answers
        if (failure === 'a dropped connection') {
          res.socket?.destroy()
          return
        }
        res.statusCode = failure === 'HTTP 500' ? 500 : 200
        res.end('{"keys":')
      }
      clock.advance(3600)
      // Stale: served from the cache while the refresh fails in the background.
      assert.equal((await verifyAccess(tokenFor(k1.privateKey, 'a'))).payload.sub, 'a')
      assert.equal(server.fetches, 2)
      await rejectsWith(jwks.reload(), 'jwks_unavailable')
      assert.equal(jwks.keySet(), cached)
      assert.equal(jwks.fetchedAt, fetchedAt)
      assert.equal((await verify(tokenFor(k1.privateKey, 'b'), jwks, VERIFY)).payload.sub, 'b')
      // An unknown kid while the server fails is still key_not_found, not an outage.
      clock.advance(60)
      const stranger = tokenFor(pair('k9').privateKey)
      await rejectsWith(verify(stranger, jwks, VERIFY), 'key_not_found')
      assert.equal(jwks.keySet(), cached)
      assert.equal((await verifyAccess(tokenFor(k1.privateKey, 'c'))).payload.sub, 'c')
    })
  }

  it('recovers once the server is back', async (t) => {
    const server = await startServer(t)
    const clock = fakeClock()
    const k1 = pair('k1')
    const k2 = pair('k2')
    server.serve([k1.privateKey])
    const jwks = remote(server, { now: clock.now })
    await jwks.reload()
    server.handler = (_req, res) => {
      res.statusCode = 500
      res.end()
    }
    clock.advance(600)
    jwks.resolveKey('EdDSA', 'k1')
    await rejectsWith(jwks.reload(), 'jwks_unavailable')
    server.serve([k2.privateKey])
    await jwks.reload()
    assert.ok(jwks.resolveKey('EdDSA', 'k2') instanceof Key)
  })
})

describe('createRemoteKeySet: creation', () => {
  it('accepts only http: and https: URLs', () => {
    for (const url of [
      'ftp://example.test/jwks.json',
      'file:///etc/passwd',
      'data:application/json,{"keys":[]}',
      'not a url',
      'https://user:pass@example.test/jwks.json',
    ]) {
      assert.throws(() => createRemoteKeySet(url), TypeError, url)
    }
    assert.throws(() => createRemoteKeySet(42 as unknown as string), TypeError)
    assert.equal(createRemoteKeySet('https://example.test/jwks').url, 'https://example.test/jwks')
    assert.equal(createRemoteKeySet(new URL('http://127.0.0.1:1/k')).url, 'http://127.0.0.1:1/k')
  })

  it('validates options at creation', () => {
    const url = 'https://example.test/jwks'
    const bad: unknown[] = [
      null,
      { timeout: 0 },
      { timeout: -1 },
      { timeout: 'soon' },
      { cooldown: Number.NaN },
      { cacheMaxAge: '10 minutes' },
      { minCacheAge: '2h', maxCacheAge: '1h' },
      { maxResponseBytes: 0 },
      { maxResponseBytes: 1.5 },
      { maxResponseBytes: '1mb' },
      { now: 123 },
      { fetch: 'fetch' },
      { headers: { 'x-api-key': 1 } },
      { headers: 'x' },
    ]
    for (const options of bad) {
      assert.throws(
        () => createRemoteKeySet(url, options as RemoteKeySetOptions),
        TypeError,
        JSON.stringify(options),
      )
    }
    assert.doesNotThrow(() =>
      createRemoteKeySet(url, {
        timeout: '2s',
        cooldown: 0,
        cacheMaxAge: 300,
        minCacheAge: '1m',
        maxCacheAge: '1d',
        maxResponseBytes: 1024,
        headers: { 'user-agent': 'tessera-test' },
        now: Date.now,
        fetch: globalThis.fetch,
      }),
    )
  })

  it('does not fetch until first use, and sends the configured headers', async (t) => {
    const server = await startServer(t)
    const k1 = pair('k1')
    const seen: (string | undefined)[] = []
    server.serve([k1.privateKey])
    const serve = server.handler
    server.handler = (req, res) => {
      seen.push(req.headers['user-agent'], req.headers.accept)
      serve(req, res)
    }
    const jwks = remote(server, { headers: { 'User-Agent': 'tessera-test' } })
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal(server.fetches, 0)
    await jwks.resolveKey('EdDSA', 'k1')
    assert.equal(seen[0], 'tessera-test')
    assert.match(seen[1] ?? '', /application\/(jwk-set\+)?json/)
  })
})
