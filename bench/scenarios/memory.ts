/**
 * Scenario 4: memory. The resident memory of every server of scenario 1,
 * idle (started, a few requests; tessera serve also after 200 logins) and
 * under load (the highest reading right after a timed run, and the peak the
 * kernel recorded), taken from scenario 1 when it ran in the same run, else
 * from a short run of its own (ES256, one round). And what a verified token
 * costs in a verifier's cache, in tokens per KiB of heap, for @tessera/jwt
 * and fast-jwt (bench/lib/cache-probe.ts, its own process). The issue's
 * targets: tessera serve at most 100 MiB idle after start, 150 MiB idle
 * after 200 logins, 250 MiB under scenario 1's load; a cached token no
 * larger than fast-jwt's.
 */

import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { packageVersion } from '../lib/machine.ts'
import { ROOT } from '../lib/processes.ts'
import {
  type BenchContext,
  chartLinks,
  type Rendered,
  type RunMeta,
  type Scenario,
  type TargetCheck,
  targetMarkdown,
  targetText,
} from '../lib/scenario.ts'
import { barChart } from '../lib/svg.ts'
import { renderMarkdown, renderText, type Table } from '../lib/table.ts'
import {
  ME_SERVERS,
  MEMORY_LOGINS,
  type MeData,
  type MemorySample,
  meVersions,
  runMatrix,
} from './me.ts'

const run = promisify(execFile)

export interface CacheProbe {
  count: number
  tessera: { bytesPerToken: number; tokensPerKiB: number }
  fastJwt: { bytesPerToken: number; tokensPerKiB: number }
}

export interface MemoryData {
  /** Where the RSS figures come from. */
  source: 'scenario 1' | 'own run'
  samples: MemorySample[]
  cache: CacheProbe
}

async function probeCache(count: number): Promise<CacheProbe> {
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', '--conditions=source', join(ROOT, 'bench/lib/cache-probe.ts'), String(count)],
    { cwd: ROOT, timeout: 120_000 },
  )
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as CacheProbe
}

async function runMemory(
  context: BenchContext,
  earlier: ReadonlyMap<string, unknown>,
): Promise<MemoryData> {
  const fromMe = earlier.get('me') as MeData | undefined
  let samples: MemorySample[]
  let source: MemoryData['source']
  if (fromMe?.memory.some((sample) => sample.alg === 'ES256')) {
    samples = fromMe.memory
    source = 'scenario 1'
  } else {
    context.progress('  scenario 1 did not run: a short ES256 run of its own for the RSS figures')
    const data = await runMatrix(context, {
      algs: ['ES256'],
      modes: () => ['reused', 'many'],
      logins: () => MEMORY_LOGINS,
      rounds: 1,
      seconds: context.seconds,
      warmupSeconds: 0,
      manyTokens: context.quick ? 1_500 : 4_000,
    })
    samples = data.memory
    source = 'own run'
  }
  context.progress('  cache probe: heap per cached token')
  const cache = await probeCache(context.quick ? 2_000 : 10_000)
  return { source, samples, cache }
}

const mib = (kib: number): string => (Number.isFinite(kib) ? (kib / 1024).toFixed(1) : 'n/a')

function rssTable(data: MemoryData): Table {
  const algs = [...new Set(data.samples.map((sample) => sample.alg))]
  return {
    headers: [
      'Server',
      ...algs.flatMap((alg) => [
        `${alg}: at start MiB`,
        'after logins MiB',
        'idle MiB',
        'under load MiB',
        'peak MiB',
      ]),
    ],
    align: ['left', ...algs.flatMap(() => ['right', 'right', 'right', 'right', 'right'] as const)],
    rows: ME_SERVERS.filter((spec) => data.samples.some((s) => s.id === spec.id)).map((spec) => [
      spec.label,
      ...algs.flatMap((alg) => {
        const sample = data.samples.find((s) => s.alg === alg && s.id === spec.id)
        return sample === undefined
          ? ['-', '-', '-', '-', '-']
          : [
              mib(sample.startedKiB),
              sample.afterLoginsKiB === undefined
                ? ''
                : `${mib(sample.afterLoginsKiB)} (${sample.logins})`,
              mib(sample.idleKiB),
              mib(sample.loadedKiB),
              mib(sample.peakKiB),
            ]
      }),
    ]),
  }
}

/** The goals for tessera serve's resident memory, MiB. */
export const RSS_GOALS = { started: 100, afterLogins: 150, loaded: 250 } as const

/** The highest of `values` in MiB (NaN for none). */
function highestMiB(values: readonly (number | undefined)[]): number {
  const finite = values.filter((v): v is number => v !== undefined && Number.isFinite(v))
  return finite.length === 0 ? Number.NaN : Math.max(...finite) / 1024
}

export function memoryTargets(data: MemoryData): TargetCheck[] {
  const tessera = data.samples.filter((sample) => sample.id === 'tessera')
  const peers = data.samples.filter((sample) => sample.id !== 'tessera')
  const algsOf = (samples: readonly MemorySample[]): string =>
    [...new Set(samples.map((sample) => sample.alg))].join(', ') || 'not measured'
  const range = (pick: (sample: MemorySample) => number): string => {
    const values = peers.map(pick).filter(Number.isFinite)
    if (values.length === 0) return ''
    return `; the peers ${mib(Math.min(...values))}-${mib(Math.max(...values))} MiB`
  }
  const afterLogins = tessera.filter((sample) => (sample.logins ?? 0) >= MEMORY_LOGINS)
  const loaded = tessera.filter((sample) => Number.isFinite(sample.loadedKiB))
  const rss = (
    what: string,
    short: string,
    samples: readonly MemorySample[],
    value: number,
    goal: number,
    peerRange: string,
  ): TargetCheck => ({
    label: `Memory: tessera serve RSS ${what} (${algsOf(samples)}${peerRange})`,
    short: `RSS ${short}`,
    value,
    goal,
    better: 'lower',
    orEqual: true,
    unit: 'MiB',
    ...(samples.length === 0 || !Number.isFinite(value) ? { missing: 'not measured' } : {}),
  })
  const { tessera: own, fastJwt } = data.cache
  return [
    rss(
      'idle after start',
      'idle after start',
      tessera,
      highestMiB(tessera.map((s) => s.startedKiB)),
      RSS_GOALS.started,
      range((s) => s.startedKiB),
    ),
    rss(
      `idle after ${MEMORY_LOGINS} logins`,
      `idle after ${MEMORY_LOGINS} logins`,
      afterLogins,
      highestMiB(afterLogins.map((s) => s.afterLoginsKiB)),
      RSS_GOALS.afterLogins,
      '',
    ),
    rss(
      "under scenario 1's load",
      'under load',
      loaded,
      highestMiB(loaded.map((s) => s.loadedKiB)),
      RSS_GOALS.loaded,
      range((s) => s.loadedKiB),
    ),
    {
      label: `Memory: @tessera/jwt's verified-token cache, heap bytes per token vs fast-jwt's`,
      short: 'cache bytes per token vs fast-jwt',
      value: own.bytesPerToken,
      goal: fastJwt.bytesPerToken,
      better: 'lower',
      orEqual: true,
      unit: 'B',
    },
  ]
}

function cacheTable(data: MemoryData): Table {
  return {
    headers: [
      'Verifier cache',
      'heap bytes per cached token',
      'tokens per KiB',
      'MiB for 1000 tokens (the default size)',
    ],
    align: ['left', 'right', 'right', 'right'],
    rows: [
      ['@tessera/jwt createVerifier', data.cache.tessera],
      ['fast-jwt createVerifier', data.cache.fastJwt],
    ].map(([label, probe]) => {
      const p = probe as CacheProbe['tessera']
      return [
        label as string,
        String(p.bytesPerToken),
        p.tokensPerKiB.toFixed(2),
        ((p.bytesPerToken * 1000) / 2 ** 20).toFixed(2),
      ]
    }),
  }
}

export function renderMemory(data: MemoryData, _meta: RunMeta): Rendered {
  const targets = memoryTargets(data)
  const es256 = data.samples.filter((sample) => sample.alg === 'ES256')
  const bars = ME_SERVERS.flatMap((spec) => {
    const sample = es256.find((s) => s.id === spec.id)
    if (sample === undefined) return []
    return [
      ...(sample.afterLoginsKiB === undefined
        ? []
        : [
            {
              label: `${spec.label}: after ${sample.logins} logins`,
              value: sample.afterLoginsKiB / 1024,
              text: `${mib(sample.afterLoginsKiB)} MiB`,
              tone: 'light' as const,
            },
          ]),
      {
        label: `${spec.label}: idle`,
        value: sample.idleKiB / 1024,
        text: `${mib(sample.idleKiB)} MiB`,
        tone: 'light' as const,
      },
      {
        label: `${spec.label}: under load`,
        value: sample.loadedKiB / 1024,
        text: `${mib(sample.loadedKiB)} MiB`,
        tone: spec.tone,
      },
    ]
  })
  const charts = [
    {
      file: 'memory.svg',
      alt: 'Resident memory of each server, idle and under GET /auth/me load (ES256)',
      svg: barChart({
        title: 'Resident memory (RSS), idle and under GET /auth/me load, ES256',
        subtitle: "MiB, lower is better; the dashed lines are tessera serve's goals",
        bars,
        marks: [
          { value: RSS_GOALS.started, label: `${RSS_GOALS.started}: idle` },
          { value: RSS_GOALS.afterLogins, label: `${RSS_GOALS.afterLogins}: after logins` },
          { value: RSS_GOALS.loaded, label: `${RSS_GOALS.loaded}: under load` },
        ],
      }),
    },
  ]
  const markdown = [
    `Resident memory (VmRSS) of each server process from ${data.source === 'scenario 1' ? 'scenario 1 above' : 'a short ES256 run of scenario 1 made for this scenario'}: "at start" is once the process listens, before any request (\`tessera serve\`: once \`/ready\` answers 200 and after 1 s idle, before its first password hash); "after logins" (\`tessera serve\` only) after its signup and the logins in brackets (argon2id, 19 MiB per hash, 4 at a time), after 1 s idle; idle is after the correctness gate's few requests (for \`tessera serve\` also after minting the many tokens); under load is the highest reading right after a timed run (the many-token runs fill the verified-token caches); peak is the kernel's high-water mark (VmHWM). The targets take the highest reading over the algorithms measured.`,
    '',
    renderMarkdown(rssTable(data)),
    '',
    `What one verified token costs in a verifier's cache: JavaScript heap after a full GC, before and after ${data.cache.count.toLocaleString('en-US')} distinct ES256 access tokens (the server's claims) went through a verifier whose cache holds them all; each token string made fresh, as a request header is, so the cached copy counts.`,
    '',
    renderMarkdown(cacheTable(data)),
    '',
    targetMarkdown(targets),
    '',
    chartLinks(charts),
  ].join('\n')
  const text = [
    renderText(rssTable(data)),
    '',
    renderText(cacheTable(data)),
    '',
    targetText(targets),
  ].join('\n')
  return { markdown, text, charts, targets }
}

export const memoryScenario: Scenario<MemoryData> = {
  number: 4,
  id: 'memory',
  title: 'Memory: RSS idle, after logins and under load; bytes per cached token',
  run: runMemory,
  render: renderMemory,
  versions: async () => ({ ...meVersions(), 'fast-jwt': packageVersion('fast-jwt') }),
}
