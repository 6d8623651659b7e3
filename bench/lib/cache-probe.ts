/**
 * What one verified token costs in a verifier's cache, in its own process
 * (run with --expose-gc): the JavaScript heap after a full GC, before and
 * after `count` distinct ES256 access tokens went through a verifier whose
 * cache holds them all. Each token string is made fresh from a buffer just
 * before it is verified, as a request header would be, so the cache's copy
 * of the key counts. Prints one JSON line: bytes per token and tokens per
 * KiB for @tessera/jwt and for fast-jwt.
 *
 * Usage: node --expose-gc --conditions=source bench/lib/cache-probe.ts <count>
 */

import { randomUUID } from 'node:crypto'
import { createVerifier, exportJwk, generateKeyPair, importJwk, sign } from '@tessera/jwt'
import { createVerifier as createFastVerifier } from 'fast-jwt'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with --expose-gc')

const count = Number(process.argv[2] ?? 10_000)
const issuer = 'http://localhost:3999'
const audience = 'http://localhost:3999'
const pair = generateKeyPair('ES256', { kid: 'probe' })
const publicKey = importJwk(exportJwk(pair.publicKey), { alg: 'ES256' })
const publicPem = pair.publicKey.keyObject.export({ type: 'spki', format: 'pem' }).toString()
const now = Math.floor(Date.now() / 1000)
const sub = randomUUID()
const sid = randomUUID()

// The tokens, kept as bytes so that no JavaScript string of them lives
// before the verifier gets its own.
const offsets: number[] = [0]
const chunks: Buffer[] = []
for (let i = 0; i < count; i++) {
  const token = sign(
    {
      iss: issuer,
      sub,
      aud: audience,
      exp: now + 3600,
      iat: now,
      jti: randomUUID(),
      sid,
      roles: ['user'],
    },
    pair.privateKey,
    { typ: 'at+jwt', timestamp: false },
  )
  const bytes = Buffer.from(token, 'latin1')
  chunks.push(bytes)
  offsets.push(offsets.at(-1)! + bytes.length)
}
const all = Buffer.concat(chunks)
chunks.length = 0
const tokenAt = (i: number): string => all.toString('latin1', offsets[i], offsets[i + 1])

function heapAfterGc(): number {
  gc!()
  gc!()
  return process.memoryUsage().heapUsed
}

function probe(verify: (token: string) => unknown): {
  bytesPerToken: number
  tokensPerKiB: number
} {
  verify(tokenAt(0))
  const before = heapAfterGc()
  for (let i = 1; i < count; i++) verify(tokenAt(i))
  const after = heapAfterGc()
  const bytesPerToken = (after - before) / (count - 1)
  return {
    bytesPerToken: Math.round(bytesPerToken),
    tokensPerKiB: Math.round((1024 / bytesPerToken) * 100) / 100,
  }
}

const tessera = createVerifier({
  key: publicKey,
  issuer,
  audience,
  typ: 'at+jwt',
  algorithms: ['ES256'],
  cache: count,
})
const tesseraResult = probe((token) => tessera(token))
if (tessera.cache === undefined) throw new Error('the Tessera verifier has no cache')

const fast = createFastVerifier({
  key: publicPem,
  algorithms: ['ES256'],
  allowedIss: issuer,
  allowedAud: audience,
  cache: count,
})
const fastResult = probe((token) => fast(token))

// Both verifiers (and the byte buffer) must still be alive here, or the GC
// could have taken what was being measured.
if (typeof tessera !== 'function' || typeof fast !== 'function' || all.length === 0) process.exit(1)
process.stdout.write(`${JSON.stringify({ count, tessera: tesseraResult, fastJwt: fastResult })}\n`)
