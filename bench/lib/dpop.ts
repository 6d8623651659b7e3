/**
 * The DPoP rows of `npm run bench:jwt`: verifying the DPoP proof (RFC 9449
 * §4.3) of a protected resource request, as a resource server does for every
 * request: the signature by the header's `jwk`, `typ`, `htm`, `htu`, `iat`,
 * the `jti` recorded in a replay cache, `ath` (the SHA-256 of the access
 * token), and the key's thumbprint to compare with the token's `cnf.jkt`.
 * Tessera's `verifyDpopProof` against the same checks built as users write
 * them today from jose (`jwtVerify` with `EmbeddedJWK`, then
 * `calculateJwkThumbprint`), a `Map` for the `jti`s and node:crypto's
 * SHA-256 for `ath`, on the same proofs, in the same run. Target: >= 2x.
 *
 * Proofs come from a pool of clients (each with its own key) and every one is
 * new to the replay caches: each contender clears its cache when its pool
 * wraps around. A second Tessera row gives every proof a key of its own, more
 * keys than Tessera's header cache holds: its worst case, for information.
 */
import { createHash, randomUUID } from 'node:crypto'
import {
  accessTokenHash,
  createDpopReplayCache,
  exportJwk,
  generateKeyPair,
  type Key,
  verifyDpopProof,
} from '@tessera/jwt'
import { calculateJwkThumbprint, EmbeddedJWK, type JWK, jwtVerify } from 'jose'
import {
  type Contender,
  type Measurement,
  type MeasureOptions,
  measureScenario,
} from './measure.ts'
import { formatOps, formatRatio, type Table } from './table.ts'

/** The algorithms DPoP clients sign with most (oauth4webapi and dpop default to ES256). */
export const DPOP_BENCH_ALGS = ['ES256', 'EdDSA'] as const
export type DpopBenchAlg = (typeof DPOP_BENCH_ALGS)[number]

export const DPOP_OPERATION = 'verify DPoP proof'
export const DPOP_TESSERA = 'tessera'
export const DPOP_TESSERA_COLD = 'tessera (a new key per proof)'
export const DPOP_JOSE = 'jose + calculateJwkThumbprint'
/** Tessera / jose, the target. */
export const DPOP_TARGET = 2.0

const URL_ = 'https://api.example.com/orders'
const METHOD = 'GET'
const MAX_AGE = 60
const TOLERANCE = 5
/** Clients of the main rows: a busy resource server sees many keys. */
const CLIENTS = 64
/** Proofs per pool; the cold pool has as many keys, more than Tessera's 1024 cached headers. */
const POOL = 2048

export class DpopGateError extends Error {}

interface Workload {
  /** The access token every proof is sent with (its `ath`). */
  token: string
  nowMs: number
  /** Proofs by CLIENTS keys in turn, and the thumbprint each must give. */
  warm: { proofs: string[]; jkts: string[] }
  /** Proofs by a key each. */
  cold: { proofs: string[]; jkts: string[] }
  /** For the gate. */
  keys: Key[]
}

function publicJwk(key: Key): Record<string, unknown> {
  const { kid: _kid, alg: _alg, use: _use, ...members } = exportJwk(key.publicKey)
  return members
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A proof as a client signs it (oauth4webapi's shape: typ, alg, jwk; jti, htm, htu, iat, ath). */
function proofOf(
  key: Key,
  token: string,
  iat: number,
  claims: Record<string, unknown> = {},
  jwkOf: Key = key,
): string {
  const header = encode({ alg: key.alg, typ: 'dpop+jwt', jwk: publicJwk(jwkOf) })
  const payload = encode({
    iat,
    jti: randomUUID(),
    htm: METHOD,
    htu: URL_,
    ath: accessTokenHash(token),
    ...claims,
  })
  return `${header}.${payload}.${key.signData(`${header}.${payload}`)}`
}

function workload(alg: DpopBenchAlg, pool: number): Workload {
  const nowMs = Date.now()
  const iat = Math.floor(nowMs / 1000)
  const token = `${encode({ alg: 'ES256', typ: 'at+jwt' })}.${encode({ sub: 'u1' })}.${'A'.repeat(86)}`
  const keys = Array.from({ length: pool }, () => generateKeyPair(alg).privateKey)
  const warm = { proofs: [] as string[], jkts: [] as string[] }
  const cold = { proofs: [] as string[], jkts: [] as string[] }
  for (let i = 0; i < pool; i++) {
    const client = keys[i % CLIENTS]!
    warm.proofs.push(proofOf(client, token, iat))
    warm.jkts.push(client.kid)
    cold.proofs.push(proofOf(keys[i]!, token, iat))
    cold.jkts.push(keys[i]!.kid)
  }
  return { token, nowMs, warm, cold, keys }
}

/** A check that resolves to the proof key's thumbprint, or rejects. */
type ProofCheck = (proof: string) => Promise<string>

/** Tessera, as its README shows it, with its in-memory replay cache. */
function tesseraCheck(work: Workload): { check: ProofCheck; clear(): void } {
  const replayCache = createDpopReplayCache()
  const now = () => work.nowMs
  const { token } = work
  return {
    check: async (proof) =>
      (
        await verifyDpopProof(proof, {
          method: METHOD,
          url: URL_,
          accessToken: token,
          replayCache,
          now,
        })
      ).jkt,
    clear: () => replayCache.clear(),
  }
}

function withoutQuery(url: string): string {
  const end = url.search(/[?#]/)
  return end === -1 ? url : url.slice(0, end)
}

/**
 * The same checks as users write them with jose: jwtVerify with the
 * embedded key (which refuses private and symmetric keys), typ, the
 * algorithms, maxTokenAge for iat; then htm, htu, ath, the jti in a Map, and
 * the thumbprint for cnf.jkt.
 */
function joseCheck(work: Workload): { check: ProofCheck; clear(): void } {
  const seen = new Map<string, number>()
  const currentDate = new Date(work.nowMs)
  const options = {
    typ: 'dpop+jwt',
    algorithms: ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512', 'RS256', 'EdDSA', 'Ed25519'],
    maxTokenAge: MAX_AGE,
    clockTolerance: TOLERANCE,
    requiredClaims: ['iat', 'jti', 'htm', 'htu'],
    currentDate,
  }
  const { token } = work
  return {
    async check(proof) {
      const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, options)
      if (payload.htm !== METHOD) throw new Error('htm')
      if (typeof payload.htu !== 'string' || withoutQuery(payload.htu) !== URL_) {
        throw new Error('htu')
      }
      if (payload.iat! > work.nowMs / 1000 + TOLERANCE) throw new Error('iat in the future')
      if (payload.ath !== createHash('sha256').update(token).digest('base64url')) {
        throw new Error('ath')
      }
      const jkt = await calculateJwkThumbprint(protectedHeader.jwk as JWK)
      const key = `${jkt}:${payload.jti}`
      if (seen.has(key)) throw new Error('replayed')
      seen.set(key, (payload.iat! + MAX_AGE + TOLERANCE) * 1000)
      return jkt
    },
    clear: () => seen.clear(),
  }
}

async function refuses(check: ProofCheck, proof: string): Promise<boolean> {
  try {
    await check(proof)
    return false
  } catch {
    return true
  }
}

/** Each contender accepts a good proof with the right thumbprint and refuses the attacks. */
async function gate(
  alg: DpopBenchAlg,
  name: string,
  make: () => { check: ProofCheck },
  work: Workload,
) {
  const where = `${alg} ${name} ${DPOP_OPERATION}`
  const { check } = make()
  const [a, b] = work.keys as [Key, Key]
  const iat = Math.floor(work.nowMs / 1000)
  const good = proofOf(a, work.token, iat)
  let jkt: string
  try {
    jkt = await check(good)
  } catch (error) {
    throw new DpopGateError(`${where}: refused a valid proof (${String(error)})`)
  }
  if (jkt !== a.kid) throw new DpopGateError(`${where}: gave another thumbprint`)
  const attacks: Record<string, string> = {
    'replayed proof': good,
    'wrong htm': proofOf(a, work.token, iat, { htm: 'POST' }),
    'wrong htu': proofOf(a, work.token, iat, { htu: 'https://api.example.com/admin' }),
    'ath of another token': proofOf(a, `${work.token}x`, iat),
    'stale iat': proofOf(a, work.token, iat - 600),
    'future iat': proofOf(a, work.token, iat + 600),
    "another key's jwk": proofOf(a, work.token, iat, {}, b),
  }
  for (const [what, proof] of Object.entries(attacks)) {
    if (!(await refuses(check, proof))) throw new DpopGateError(`${where}: accepted a ${what}`)
  }
}

/** Hands out the pool's proofs in turn, clearing the contender's replay cache at each wrap. */
function contender(
  name: string,
  proofs: readonly string[],
  made: { check: ProofCheck; clear(): void },
): Contender {
  let index = -1
  const { check, clear } = made
  return {
    name,
    kind: 'async',
    run: () => {
      if (++index === proofs.length) {
        index = 0
        clear()
      }
      return check(proofs[index]!)
    },
  }
}

export interface DpopResult {
  alg: DpopBenchAlg
  operation: typeof DPOP_OPERATION
  measurements: Measurement[]
}

/** Gates, then measures, each algorithm's row. */
export async function benchDpop(
  algs: readonly DpopBenchAlg[],
  measure: MeasureOptions,
  progress: (message: string) => void,
): Promise<DpopResult[]> {
  const results: DpopResult[] = []
  for (const alg of algs) {
    const started = performance.now()
    const work = workload(alg, POOL)
    await gate(alg, DPOP_TESSERA, () => tesseraCheck(work), work)
    await gate(alg, DPOP_JOSE, () => joseCheck(work), work)
    // Every timed proof must verify: check the pools once, with the thumbprints.
    for (const [pool, make] of [
      [work.warm, tesseraCheck],
      [work.cold, tesseraCheck],
      [work.warm, joseCheck],
    ] as const) {
      const { check } = make(work)
      for (let i = 0; i < pool.proofs.length; i++) {
        if ((await check(pool.proofs[i]!)) !== pool.jkts[i]) {
          throw new DpopGateError(`${alg} ${DPOP_OPERATION}: a pool proof gave another thumbprint`)
        }
      }
    }
    const measurements = await measureScenario(
      [
        contender(DPOP_TESSERA, work.warm.proofs, tesseraCheck(work)),
        contender(DPOP_TESSERA_COLD, work.cold.proofs, tesseraCheck(work)),
        contender(DPOP_JOSE, work.warm.proofs, joseCheck(work)),
      ],
      measure,
    )
    results.push({ alg, operation: DPOP_OPERATION, measurements })
    const summary = measurements.map((m) => `${m.name} ${formatOps(m.opsPerSec)}`).join(', ')
    progress(`${alg} ${DPOP_OPERATION} (${Math.round(performance.now() - started)} ms): ${summary}`)
  }
  return results
}

export interface DpopRatio {
  alg: DpopBenchAlg
  operation: typeof DPOP_OPERATION
  subject: string
  against: string
  ratio: number
  target?: number
  pass?: boolean
}

function opsOf(result: DpopResult, name: string): number {
  return result.measurements.find((m) => m.name === name)?.opsPerSec ?? Number.NaN
}

export function dpopRatios(results: readonly DpopResult[]): DpopRatio[] {
  return results.flatMap((result) => {
    const jose = opsOf(result, DPOP_JOSE)
    const ratio = opsOf(result, DPOP_TESSERA) / jose
    return [
      {
        alg: result.alg,
        operation: result.operation,
        subject: DPOP_TESSERA,
        against: DPOP_JOSE,
        ratio,
        target: DPOP_TARGET,
        pass: ratio >= DPOP_TARGET,
      },
      {
        alg: result.alg,
        operation: result.operation,
        subject: DPOP_TESSERA_COLD,
        against: DPOP_JOSE,
        ratio: opsOf(result, DPOP_TESSERA_COLD) / jose,
      },
    ]
  })
}

export function dpopOpsTable(results: readonly DpopResult[]): Table {
  return {
    headers: ['Alg', 'Operation', 'Tessera', 'Tessera, a new key per proof', 'jose', 'Max spread'],
    align: ['left', 'left', 'right', 'right', 'right', 'right'],
    rows: results.map((result) => [
      result.alg,
      result.operation,
      formatOps(opsOf(result, DPOP_TESSERA)),
      formatOps(opsOf(result, DPOP_TESSERA_COLD)),
      formatOps(opsOf(result, DPOP_JOSE)),
      `${Math.round(Math.max(...result.measurements.map((m) => m.spread)) * 100)}%`,
    ]),
  }
}

export function dpopRatioTable(
  results: readonly DpopResult[],
  ratios: readonly DpopRatio[],
): Table {
  return {
    headers: ['Alg', 'Operation', 'vs jose', 'a new key per proof, vs jose', 'Target', 'Result'],
    align: ['left', 'left', 'right', 'right', 'left', 'left'],
    rows: results.map((result) => {
      const mine = ratios.filter((r) => r.alg === result.alg)
      const main = mine.find((r) => r.subject === DPOP_TESSERA)!
      const cold = mine.find((r) => r.subject === DPOP_TESSERA_COLD)!
      return [
        result.alg,
        result.operation,
        formatRatio(main.ratio),
        formatRatio(cold.ratio),
        `jose >= ${DPOP_TARGET.toFixed(1)}`,
        main.pass ? 'PASS' : 'MISS (jose)',
      ]
    }),
  }
}
