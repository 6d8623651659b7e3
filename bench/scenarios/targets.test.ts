import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { RunMeta, TargetCheck } from '../lib/scenario.ts'
import { verdict } from '../lib/scenario.ts'
import { type ColdStartData, renderColdStart } from './cold-start.ts'
import { type DpopData, type DpopRun, renderDpop } from './dpop.ts'
import { type FlowRun, type GrowthData, type GrowthLevel, renderGrowth } from './growth.ts'
import { type MeData, type MeGroup, renderMe, type ServerId } from './me.ts'
import { type MemoryData, renderMemory } from './memory.ts'
import { PG_PER_CPU_BEFORE, type RefreshRound, renderRefresh } from './refresh.ts'

const meta: RunMeta = {
  generatedAt: '2026-12-06T00:00:00.000Z',
  quick: false,
  rounds: 3,
  seconds: 3,
  warmupSeconds: 1,
  connections: 50,
  generator: { name: 'wrk', version: '4' },
  machine: {
    cpuModel: 'test',
    cores: 2,
    totalMemoryGiB: 8,
    platform: 'linux',
    node: 'v24',
    loadAverageAtStart: [0, 0, 0],
  } as unknown as RunMeta['machine'],
  loadAverageAtEnd: [0, 0, 0],
  versions: {},
}

function find(targets: readonly TargetCheck[], text: string): TargetCheck {
  const found = targets.filter((check) => check.label.includes(text))
  assert.equal(found.length, 1, `one target labelled with ${text}`)
  return found[0]!
}

function group(rps: Partial<Record<ServerId, number>>): MeGroup {
  return {
    alg: 'ES256',
    mode: 'reused',
    tokens: 1,
    servers: Object.entries(rps).map(([id, value]) => ({
      id: id as ServerId,
      rps: value,
      p50Ms: 1,
      p99Ms: 2,
      spread: 0,
      errors: 0,
      roundsRps: [value],
    })),
  }
}

describe('scenario 1 targets', () => {
  const data: MeData = {
    manyTokens: 4000,
    gateFailures: [],
    memory: [],
    groups: [
      group({
        tessera: 50_000,
        'bare-fastify': 80_000,
        'bare-fastify-production': 60_000,
        'fastify-jwt': 7_000,
        'seeds-express': 4_000,
        'tessera-fastify': 72_000,
        'tessera-express': 31_000,
        'bare-express': 34_000,
        'express-jwt': 9_000,
        'tessera-hono': 40_000,
        'bare-hono': 45_000,
      }),
    ],
  }
  const { targets, text } = renderMe(data, meta)

  it('compare tessera serve with the production reference, bare Fastify for information', () => {
    const reference = find(targets, 'tessera serve vs bare Fastify + request id')
    assert.equal(reference.goal, 0.85)
    // 50,000 / 60,000 = 0.83x
    assert.equal(verdict(reference), 'MISS')
    assert.equal(verdict(find(targets, 'tessera serve vs bare Fastify (no auth)')), 'INFO')
    assert.equal(find(targets, "seeds' Express").goal, 10)
  })

  it('hold each middleware to 0.9x of its bare framework, with the feed connected', () => {
    const fastify = find(targets, '@tessera/jwt on Fastify (revocation feed connected) vs bare')
    assert.equal(fastify.goal, 0.9)
    assert.equal(verdict(fastify), 'PASS')
    assert.equal(verdict(find(targets, 'on Express (revocation feed connected) vs bare')), 'PASS')
    assert.equal(verdict(find(targets, 'on Hono (revocation feed connected) vs bare')), 'MISS')
    assert.match(text, /bare Hono \(no auth\)/)
  })

  it('read N/A for a peer an older run did not have', () => {
    const old: MeData = {
      ...data,
      groups: [group({ tessera: 50_000, 'tessera-hono': 40_000, 'bare-fastify': 80_000 })],
    }
    assert.equal(verdict(find(renderMe(old, meta).targets, 'on Hono')), 'N/A')
  })
})

describe('scenario 3 targets', () => {
  const round = (rps: number, cpu: number): RefreshRound => ({
    rps,
    p50Ms: 10,
    p99Ms: 20,
    failed: 0,
    failures: {},
    cpu: { tessera: cpu, postgres: 0.5, redis: 0, generator: 0.1, machine: 1.5, other: 0 },
  })

  it('hold PostgreSQL to 1.5x its figure before the issue, printed beside SQLite', () => {
    const { targets } = renderRefresh(
      {
        concurrency: 32,
        cores: 2,
        keycloakPerVcpu: 120,
        setups: [
          { id: 'sqlite', rounds: [round(1700, 1)] },
          { id: 'pg-1', rounds: [round(1700, 1)] },
          { id: 'pg-3', skipped: 'Redis down', rounds: [] },
        ],
      },
      meta,
    )
    const pg = find(targets, 'PostgreSQL')
    assert.equal(pg.goal, 1.5 * PG_PER_CPU_BEFORE)
    assert.equal(verdict(pg), 'PASS')
    assert.match(pg.label, /SQLite's: 1,700/)
  })

  it('read N/A when PostgreSQL was skipped', () => {
    const { targets } = renderRefresh(
      {
        concurrency: 32,
        cores: 2,
        keycloakPerVcpu: 120,
        setups: [{ id: 'pg-1', skipped: 'down', rounds: [] }],
      },
      meta,
    )
    assert.equal(verdict(find(targets, 'PostgreSQL')), 'N/A')
  })
})

describe('scenario 4 targets', () => {
  const sample = (
    id: ServerId,
    startedMiB: number,
    loadedMiB: number,
    afterLoginsMiB?: number,
  ) => ({
    alg: 'ES256' as const,
    id,
    startedKiB: startedMiB * 1024,
    ...(afterLoginsMiB === undefined ? {} : { afterLoginsKiB: afterLoginsMiB * 1024, logins: 200 }),
    idleKiB: startedMiB * 1024,
    loadedKiB: loadedMiB * 1024,
    peakKiB: loadedMiB * 1024,
  })
  const data: MemoryData = {
    source: 'scenario 1',
    samples: [sample('tessera', 100, 260, 149), sample('bare-fastify', 88, 110)],
    cache: {
      count: 10_000,
      tessera: { bytesPerToken: 600, tokensPerKiB: 1.7 },
      fastJwt: { bytesPerToken: 622, tokensPerKiB: 1.65 },
    },
  }
  const { targets } = renderMemory(data, meta)

  it('pass at the goal itself ("at most") and miss above it', () => {
    assert.equal(verdict(find(targets, 'idle after start')), 'PASS')
    assert.equal(verdict(find(targets, 'after 200 logins')), 'PASS')
    assert.equal(verdict(find(targets, 'under scenario 1')), 'MISS')
    assert.equal(verdict(find(targets, 'bytes per token')), 'PASS')
    assert.match(find(targets, 'idle after start').label, /the peers 88\.0-88\.0 MiB/)
  })

  it('read N/A after logins when the run made fewer than 200', () => {
    const fewer = renderMemory(
      { ...data, samples: [{ ...data.samples[0]!, logins: 16 }] },
      meta,
    ).targets
    assert.equal(verdict(find(fewer, 'after 200 logins')), 'N/A')
  })
})

describe('scenario 5 targets', () => {
  const run = (ops: number, cpuSeconds: number, rps = 1000): FlowRun => ({
    ops,
    rps,
    p50Ms: 1,
    p99Ms: 2,
    cpuSeconds,
    failed: 0,
  })
  const level = (factor: number, slower: number): GrowthLevel => ({
    factor,
    counts: {
      users: 1000 * factor,
      sessions: 2000 * factor,
      revocations: 1000 * factor,
      clients: 100 * factor,
      outbox: 1000 * factor,
      totpUsers: 200 * factor,
    },
    seedSeconds: 1,
    meReused: { rps: 40_000, p50Ms: 1, p99Ms: 2, errors: 0, roundsRps: [40_000] },
    meMany: { rps: 7_000, p50Ms: 1, p99Ms: 2, errors: 0, roundsRps: [7_000] },
    refresh: [],
    emailSend: [run(100, 0.3 * slower)],
    mfaVerify: [run(50, 0.05)],
    oauthToken: [run(9000, 3, 3000 / slower)],
    introspection: [run(15000, 3, 5000)],
    idleKiB: 200 * 1024,
  })

  it('compare every flow at 100x with 1x, the bursts per CPU-second', () => {
    const data: GrowthData = {
      base: level(1, 1).counts,
      manyTokens: 4000,
      refreshConcurrency: 32,
      bursts: { email: 100, mfa: 50, concurrency: 8 },
      oauthConcurrency: 32,
      levels: [level(1, 1), level(10, 1), level(100, 1.25)],
    }
    const { targets, charts } = renderGrowth(data, meta)
    assert.equal(targets.length, 7)
    assert.ok(Math.abs(find(targets, 'email send').value - 0.8) < 1e-9)
    assert.equal(verdict(find(targets, 'email send')), 'MISS')
    assert.equal(verdict(find(targets, 'MFA verify')), 'PASS')
    assert.equal(verdict(find(targets, 'client_credentials')), 'MISS')
    assert.equal(verdict(find(targets, 'introspection')), 'PASS')
    assert.deepEqual(
      charts.map((chart) => chart.file),
      ['growth.svg', 'growth-flows.svg'],
    )
  })

  it('render an older run without the new flows, which read N/A', () => {
    const old = (factor: number): GrowthLevel => {
      const {
        emailSend: _e,
        mfaVerify: _m,
        oauthToken: _o,
        introspection: _i,
        ...rest
      } = level(factor, 1)
      return rest
    }
    const { targets, charts } = renderGrowth(
      {
        base: old(1).counts,
        manyTokens: 4000,
        refreshConcurrency: 32,
        levels: [old(1), old(10), old(100)],
      },
      meta,
    )
    assert.equal(verdict(find(targets, 'MFA verify')), 'N/A')
    assert.equal(charts.length, 1)
  })
})

describe('scenario 7 target', () => {
  const dpopRun = (rps: number): DpopRun => ({
    rps,
    p50Ms: 1,
    p99Ms: 2,
    ok: rps,
    elapsedMs: 1000,
    serverCpu: 0.9,
  })
  it("compares tessera serve's DPoP requests with the reference's", () => {
    const data: DpopData = {
      concurrency: 32,
      proofAlg: 'ES256',
      tokenAlg: 'ES256',
      proofsPerSecond: 7000,
      servers: [
        { id: 'tessera', rounds: [{ bearer: dpopRun(20_000), dpop: dpopRun(6_000) }] },
        { id: 'reference', rounds: [{ bearer: dpopRun(30_000), dpop: dpopRun(24_000) }] },
      ],
    }
    const target = find(renderDpop(data, meta).targets, 'vs the production reference')
    assert.equal(target.value, 0.25)
    assert.equal(verdict(target), 'MISS')
    const withoutReference = { ...data, servers: [data.servers[0]!] }
    assert.equal(
      verdict(find(renderDpop(withoutReference, meta).targets, 'vs the production reference')),
      'N/A',
    )
  })

  it("compares the proof's own CPU with one bare verify, less the longer request's", () => {
    // CPU per request: 0.9 cores over the rate. tessera: 45 µs bearer, 150 µs DPoP
    // (105 µs for the proof); the reference: 30 µs and 37.5 µs (7.5 µs for the bytes).
    const data: DpopData = {
      concurrency: 32,
      proofAlg: 'ES256',
      tokenAlg: 'ES256',
      proofsPerSecond: 7000,
      floorVerifyUs: 70,
      servers: [
        { id: 'tessera', rounds: [{ bearer: dpopRun(20_000), dpop: dpopRun(6_000) }] },
        { id: 'reference', rounds: [{ bearer: dpopRun(30_000), dpop: dpopRun(24_000) }] },
      ],
    }
    const target = find(renderDpop(data, meta).targets, 'bare node:crypto ES256 verify')
    assert.ok(Math.abs(target.value - (105 - 7.5) / 70) < 1e-9)
    assert.equal(target.goal, 1.5)
    assert.equal(verdict(target), 'PASS')
    const slow = find(
      renderDpop({ ...data, floorVerifyUs: 50 }, meta).targets,
      'bare node:crypto ES256 verify',
    )
    assert.equal(verdict(slow), 'MISS')
    const { floorVerifyUs: _, ...older } = data
    assert.equal(verdict(find(renderDpop(older, meta).targets, 'bare node:crypto')), 'N/A')
  })
})

describe('scenario 8', () => {
  it('reports the cold start for information', () => {
    const start = (readyMs: number) => ({ readyMs, listeningMs: readyMs - 20, rssKiB: 90_000 })
    const data: ColdStartData = {
      first: start(1500),
      restarts: [start(800), start(700), start(900)],
      bareFastify: [start(200), start(250), start(220)],
    }
    const { targets, text } = renderColdStart(data, meta)
    const check = find(targets, 'Cold start')
    assert.equal(verdict(check), 'INFO')
    assert.equal(check.value, 0.8)
    assert.match(check.info!, /bare Fastify 0\.22 s/)
    assert.match(text, /first start \(empty data dir\)/)
  })
})
