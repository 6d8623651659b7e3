/**
 * Scenario 5: cost growth. Three `tessera serve` (SQLite, ES256) run side by
 * side on databases seeded beforehand with 1x, 10x and 100x the users,
 * sessions and revocation-list entries, and are loaded in alternation with
 * scenario 1's GET /auth/me (one token reused; many distinct tokens) and
 * scenario 3's refresh rotation. The verified-token cache and the in-memory
 * revocation list are O(1) per request, and the database lookups are
 * indexed: throughput should not move as the data grows.
 */

import { alternate, alternateEach, type TargetSummary } from '../lib/alternate.ts'
import { hashPassword } from '../lib/hashing.ts'
import { tokenSet } from '../lib/load-generator.ts'
import { closeTargets, loopbackTarget } from '../lib/load-http.ts'
import { removeTempDir, tempDir } from '../lib/processes.ts'
import {
  type BenchContext,
  chartLinks,
  checkSignal,
  type Rendered,
  type RunMeta,
  type Scenario,
  type TargetCheck,
  targetMarkdown,
  targetText,
} from '../lib/scenario.ts'
import { type SeedCounts, seedDatabase } from '../lib/seed.ts'
import { type ReadyTessera, startReadyTessera } from '../lib/servers.ts'
import { lineChart } from '../lib/svg.ts'
import {
  formatMs,
  formatOps,
  formatRate,
  formatRatio,
  labelThenNumbers,
  renderMarkdown,
  renderText,
  type Table,
} from '../lib/table.ts'
import { LOAD_PASSWORD, mintAccessTokens } from '../lib/tessera.ts'
import { meVersions } from './me.ts'
import {
  REFRESH_CONCURRENCY,
  type RefreshDeployment,
  type RefreshRound,
  refreshPhase,
  summarizeRefresh,
} from './refresh.ts'

const FACTORS = [1, 10, 100] as const

interface Measured {
  rps: number
  p50Ms: number
  p99Ms: number
  errors: number
  roundsRps: number[]
}

export interface GrowthLevel {
  factor: number
  counts: SeedCounts
  seedSeconds: number
  meReused: Measured
  meMany: Measured
  refresh: RefreshRound[]
  /** RSS after start (the revocation list loaded), KiB. */
  idleKiB: number
}

export interface GrowthData {
  base: SeedCounts
  manyTokens: number
  refreshConcurrency: number
  levels: GrowthLevel[]
}

function measured(summary: TargetSummary): Measured {
  return {
    rps: Math.round(summary.rps),
    p50Ms: Math.round(summary.p50Ms * 100) / 100,
    p99Ms: Math.round(summary.p99Ms * 100) / 100,
    errors: summary.errors,
    roundsRps: summary.rounds.map((r) => Math.round(r.rps)),
  }
}

async function runGrowth(context: BenchContext): Promise<GrowthData> {
  const base: SeedCounts = context.quick
    ? { users: 100, sessions: 200, revocations: 100 }
    : { users: 1_000, sessions: 2_000, revocations: 1_000 }
  const manyTokens = context.quick ? 1_500 : 4_000
  const passwordHash = await hashPassword(`${LOAD_PASSWORD} (seeded)`)
  const servers: {
    factor: number
    counts: SeedCounts
    seedSeconds: number
    dir: string
    ready?: ReadyTessera
    idleKiB: number
  }[] = []
  try {
    for (const factor of FACTORS) {
      checkSignal(context.signal)
      const counts = {
        users: base.users * factor,
        sessions: base.sessions * factor,
        revocations: base.revocations * factor,
      }
      const dir = tempDir(`growth-${factor}x`)
      servers.push({ factor, counts, seedSeconds: 0, dir, idleKiB: Number.NaN })
      const ms = await seedDatabase(`sqlite:${dir}/tessera.db`, counts, passwordHash)
      servers.at(-1)!.seedSeconds = Math.round(ms / 100) / 10
      context.progress(
        `  ${factor}x: seeded ${counts.users.toLocaleString('en-US')} users, ${counts.sessions.toLocaleString('en-US')} sessions, ${counts.revocations.toLocaleString('en-US')} revocations in ${(ms / 1000).toFixed(1)} s`,
      )
    }
    for (const server of servers) {
      checkSignal(context.signal)
      server.ready = await startReadyTessera({
        id: `tessera-${server.factor}x`,
        alg: 'ES256',
        sessions: REFRESH_CONCURRENCY,
        dataDir: server.dir,
      })
      server.idleKiB = server.ready.server.rssKiB()
    }
    const ready = servers.map((server) => server.ready!)
    context.progress(`  minting ${manyTokens} tokens on each`)
    const many = await Promise.all(
      ready.map((r) => mintAccessTokens(r.instance.url, r.sessions, manyTokens, context.signal)),
    )
    for (const r of ready) closeTargets([r.target])
    const alternateMe = async (mode: 'reused' | 'many'): Promise<TargetSummary[]> => {
      context.progress(
        `  GET /auth/me, ${mode === 'reused' ? 'one token reused' : `${manyTokens} tokens`}`,
      )
      return alternate(
        servers.map((server, index) => ({
          id: `${server.factor}x`,
          url: `${ready[index]!.instance.url}/auth/me`,
          tokens: tokenSet(
            `${server.dir}/tokens-${mode}.txt`,
            mode === 'reused' ? [ready[index]!.first.accessToken] : many[index]!,
          ),
        })),
        {
          generator: context.generator,
          connections: context.connections,
          rounds: context.rounds,
          seconds: context.seconds,
          warmupSeconds: context.warmupSeconds,
          signal: context.signal,
          onRun: (target, result) =>
            context.progress(
              `    ${target.id.padEnd(5)} ${formatOps(result.rps).padStart(8)} req/s  p99 ${formatMs(result.p99Ms)} ms`,
            ),
        },
      )
    }
    const reused = await alternateMe('reused')
    const manyResults = await alternateMe('many')
    context.progress('  refresh rotation')
    const deployments: RefreshDeployment[] = ready.map((r) => ({
      id: r.server.id,
      instances: [r.instance],
      targets: [loopbackTarget(r.instance.url)],
      // The chains the minting walked: their refresh tokens are the newest.
      users: r.sessions.map((state, index) => ({ index, state, done: false })),
      close: async () => undefined,
    }))
    let refresh: RefreshRound[][]
    try {
      refresh = await alternateEach(deployments, {
        rounds: context.rounds,
        signal: context.signal,
        warmUp: (d) => refreshPhase(d, Math.max(1, context.warmupSeconds), context.signal),
        measure: async (d) => {
          const round = await refreshPhase(d, context.seconds, context.signal)
          context.progress(
            `    ${d.id.padEnd(13)} ${formatRate(round.rps).padStart(7)} refreshes/s  p99 ${formatMs(round.p99Ms)} ms`,
          )
          return round
        },
      })
    } finally {
      for (const d of deployments) closeTargets(d.targets)
    }
    return {
      base,
      manyTokens,
      refreshConcurrency: REFRESH_CONCURRENCY,
      levels: servers.map((server, index) => ({
        factor: server.factor,
        counts: server.counts,
        seedSeconds: server.seedSeconds,
        meReused: measured(reused[index]!),
        meMany: measured(manyResults[index]!),
        refresh: refresh[index]!,
        idleKiB: server.idleKiB,
      })),
    }
  } finally {
    for (const server of servers) {
      await server.ready?.server.stop()
      removeTempDir(server.dir)
    }
  }
}

type Series = 'meReused' | 'meMany' | 'refresh'

function seriesValue(level: GrowthLevel, series: Series, cores: number): number {
  return series === 'refresh' ? summarizeRefresh(level.refresh, cores).rps : level[series].rps
}

const SERIES_NAMES: Readonly<Record<Series, string>> = {
  meReused: 'GET /auth/me, token reused',
  meMany: 'GET /auth/me, many tokens',
  refresh: 'refresh rotation',
}

export function growthTargets(data: GrowthData, cores: number): TargetCheck[] {
  const first = data.levels.find((level) => level.factor === 1)
  const last = data.levels.find((level) => level.factor === 100)
  return (['meReused', 'meMany', 'refresh'] as const).map((series) => ({
    label: `Growth: ${SERIES_NAMES[series]} at 100x the data vs 1x`,
    short: `growth: ${SERIES_NAMES[series]}, 100x vs 1x`,
    value:
      first && last
        ? seriesValue(last, series, cores) / seriesValue(first, series, cores)
        : Number.NaN,
    goal: 0.9,
    better: 'higher' as const,
    unit: 'x' as const,
    ...(first && last ? {} : { missing: 'not measured' }),
  }))
}

function table(data: GrowthData, cores: number): Table {
  const first = data.levels[0]
  return {
    headers: [
      'Data',
      'users',
      'sessions',
      'revocations',
      'me reused req/s',
      'me many req/s',
      'refreshes/s',
      'refresh p99 ms',
      'vs 1x (me reused / many / refresh)',
      'RSS idle MiB',
    ],
    align: labelThenNumbers(10),
    rows: data.levels.map((level) => {
      const refresh = summarizeRefresh(level.refresh, cores)
      const ratio = (series: Series): string =>
        first === undefined
          ? '-'
          : formatRatio(seriesValue(level, series, cores) / seriesValue(first, series, cores))
      return [
        `${level.factor}x`,
        level.counts.users.toLocaleString('en-US'),
        level.counts.sessions.toLocaleString('en-US'),
        level.counts.revocations.toLocaleString('en-US'),
        formatOps(level.meReused.rps),
        formatOps(level.meMany.rps),
        formatRate(refresh.rps),
        formatMs(refresh.p99Ms),
        `${ratio('meReused')} / ${ratio('meMany')} / ${ratio('refresh')}`,
        (level.idleKiB / 1024).toFixed(1),
      ]
    }),
  }
}

export function renderGrowth(data: GrowthData, meta: RunMeta): Rendered {
  const cores = meta.machine.cores
  const targets = growthTargets(data, cores)
  const first = data.levels[0]
  const charts = [
    {
      file: 'growth.svg',
      alt: 'Throughput at 10x and 100x the data, relative to 1x',
      svg: lineChart({
        title: 'Throughput as users, sessions and revocations grow',
        subtitle: `relative to 1x (${data.base.users.toLocaleString('en-US')} users, ${data.base.sessions.toLocaleString('en-US')} sessions, ${data.base.revocations.toLocaleString('en-US')} revocations); flat is the goal`,
        categories: data.levels.map((level) => `${level.factor}x`),
        series: (['meReused', 'meMany', 'refresh'] as const).map((series) => ({
          name: SERIES_NAMES[series],
          values: data.levels.map((level) =>
            first === undefined
              ? Number.NaN
              : seriesValue(level, series, cores) / seriesValue(first, series, cores),
          ),
        })),
        yLabel: 'throughput relative to 1x',
        marks: [{ value: 0.9, label: 'flat: >= 0.9x' }],
        format: (value) => `${value.toFixed(2)}x`,
      }),
    },
  ]
  const markdown = [
    `Three \`tessera serve\` (SQLite, ES256) side by side, on databases seeded through the server's own storage code before start (users with an argon2id hash, sessions with a live refresh token, revocation entries: 80% token, 10% session, 10% user, unexpired, all loaded into the in-memory list at start). Loaded in alternation, ${meta.rounds} rounds of ${meta.seconds} s, medians: GET /auth/me as in scenario 1 (${meta.connections} connections; one token, then ${data.manyTokens.toLocaleString('en-US')} tokens), then refresh as in scenario 3 (${data.refreshConcurrency} chains).`,
    '',
    renderMarkdown(table(data, cores)),
    '',
    targetMarkdown(targets),
    '',
    chartLinks(charts),
  ].join('\n')
  const text = [renderText(table(data, cores)), '', targetText(targets)].join('\n')
  return { markdown, text, charts, targets }
}

export const growthScenario: Scenario<GrowthData> = {
  number: 5,
  id: 'growth',
  title: 'Cost growth: 10x and 100x the users, sessions and revocations',
  run: (context) => runGrowth(context),
  render: renderGrowth,
  versions: async () => ({
    '@tessera/jwt': meVersions()['@tessera/jwt']!,
    fastify: meVersions().fastify!,
  }),
}
