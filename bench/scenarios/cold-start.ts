/**
 * Scenario 8: cold start. How long `tessera serve` takes from the spawn of
 * its process to the first 200 of GET /ready, as a deployment restarts it
 * (an existing data dir: migrations applied, signing key stored) and, once,
 * on an empty data dir (migrations, the first signing key); beside a bare
 * Fastify peer from its spawn to the first 200 of its GET /auth/me. The
 * starts alternate, one at a time; medians. Reported for information: the
 * issue asks for the figure (about 0.8 s before it), with no target.
 */

import { type Instance, startInstance } from '../lib/load-cluster.ts'
import { closeTargets, loopbackTarget, NoReply, send, type Target } from '../lib/load-http.ts'
import { packageVersion } from '../lib/machine.ts'
import { ensureBuilt, removeTempDir, tempDir } from '../lib/processes.ts'
import {
  type BenchContext,
  chartLinks,
  checkSignal,
  median,
  type Rendered,
  type RunMeta,
  type Scenario,
  sleep,
  type TargetCheck,
  targetMarkdown,
  targetText,
} from '../lib/scenario.ts'
import { startPeer } from '../lib/servers.ts'
import { barChart } from '../lib/svg.ts'
import { labelThenNumbers, renderMarkdown, renderText, type Table } from '../lib/table.ts'
import { tesseraEnv } from '../lib/tessera.ts'

/** One start of a server. */
export interface StartSample {
  /** From the spawn to the first 200 of the readiness check, ms. */
  readyMs: number
  /** From the spawn to the line it prints once listening, ms. */
  listeningMs: number
  /** Resident memory at that first 200, KiB. */
  rssKiB: number
}

export interface ColdStartData {
  /** tessera serve on an empty data dir (migrations, first signing key). */
  first: StartSample
  /** tessera serve on that data dir again, as a restart. */
  restarts: StartSample[]
  /** The bare Fastify peer (bench/peers/bare-fastify.ts). */
  bareFastify: StartSample[]
}

/** How often the readiness check is tried once the server listens, ms. */
const POLL_MS = 5

/** Polls GET `path` until it answers 200; the time of that answer (performance.now()). */
async function firstOk(target: Target, path: string): Promise<number> {
  const deadline = performance.now() + 30_000
  for (;;) {
    try {
      const reply = await send(target, 'GET', path, { readBody: false })
      if (reply.status === 200) return performance.now()
    } catch (error) {
      if (!(error instanceof NoReply)) throw error
    }
    if (performance.now() > deadline) throw new Error(`${target.url}${path} never answered 200`)
    await sleep(POLL_MS)
  }
}

async function startTessera(env: Record<string, string>, dataDir: string): Promise<StartSample> {
  const spawned = performance.now()
  let instance: Instance | undefined
  const target: { value?: Target } = {}
  try {
    instance = await startInstance('tessera', env, { dataDir })
    const listening = performance.now()
    target.value = loopbackTarget(instance.url)
    const ready = await firstOk(target.value, '/ready')
    return {
      readyMs: round1(ready - spawned),
      listeningMs: round1(listening - spawned),
      rssKiB: instance.rssKiB(),
    }
  } finally {
    if (target.value !== undefined) closeTargets([target.value])
    await instance?.stop()
  }
}

async function startBareFastify(): Promise<StartSample> {
  const spawned = performance.now()
  const peer = await startPeer('bare-fastify', 'bare-fastify.ts', { ME_BODY: '{}' })
  const listening = performance.now()
  const target = loopbackTarget(peer.url)
  try {
    const ready = await firstOk(target, '/auth/me')
    return {
      readyMs: round1(ready - spawned),
      listeningMs: round1(listening - spawned),
      rssKiB: peer.rssKiB(),
    }
  } finally {
    closeTargets([target])
    await peer.stop()
  }
}

async function runColdStart(context: BenchContext): Promise<ColdStartData> {
  const starts = context.quick ? 3 : 5
  // Built before the clock starts (the first server start would build).
  ensureBuilt()
  // One master key for every start: it opens the signing key the first start stored.
  const env = tesseraEnv()
  // startInstance leaves a data dir it was given in place: this one is ours.
  const dataDir = tempDir('cold-start')
  try {
    context.progress('  tessera serve on an empty data dir')
    const first = await startTessera(env, dataDir)
    context.progress(`    first start: ${(first.readyMs / 1000).toFixed(2)} s to /ready`)
    const restarts: StartSample[] = []
    const bareFastify: StartSample[] = []
    context.progress(`  ${starts} restarts of each, alternating`)
    for (let round = 0; round < starts; round++) {
      checkSignal(context.signal)
      const order =
        round % 2 === 0 ? (['tessera', 'fastify'] as const) : (['fastify', 'tessera'] as const)
      for (const which of order) {
        if (which === 'tessera') restarts.push(await startTessera(env, dataDir))
        else bareFastify.push(await startBareFastify())
      }
      context.progress(
        `    tessera serve ${(restarts.at(-1)!.readyMs / 1000).toFixed(2)} s, bare Fastify ${(bareFastify.at(-1)!.readyMs / 1000).toFixed(2)} s`,
      )
    }
    return { first, restarts, bareFastify }
  } finally {
    removeTempDir(dataDir)
  }
}

function round1(value: number): number {
  return Math.round(value * 10) / 10
}

// ---------------------------------------------------------------- report

export function coldStartTargets(data: ColdStartData): TargetCheck[] {
  const tessera = median(data.restarts.map((s) => s.readyMs)) / 1000
  const fastify = median(data.bareFastify.map((s) => s.readyMs)) / 1000
  return [
    {
      label: `Cold start: tessera serve, spawn to the first /ready 200 (a restart, median of ${data.restarts.length})`,
      short: 'cold start: tessera serve to /ready',
      value: tessera,
      goal: Number.NaN,
      better: 'lower',
      unit: 's',
      info: `no target; about 0.8 s before issue 20; bare Fastify ${Number.isFinite(fastify) ? fastify.toFixed(2) : 'n/a'} s, tessera serve's first start ${(data.first.readyMs / 1000).toFixed(2)} s`,
      ...(Number.isFinite(tessera) ? {} : { missing: 'not measured' }),
    },
  ]
}

function table(data: ColdStartData): Table {
  const seconds = (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : 'n/a')
  const row = (label: string, samples: readonly StartSample[]): string[] => [
    label,
    String(samples.length),
    seconds(median(samples.map((s) => s.readyMs))),
    seconds(Math.min(...samples.map((s) => s.readyMs))),
    seconds(Math.max(...samples.map((s) => s.readyMs))),
    seconds(median(samples.map((s) => s.listeningMs))),
    (median(samples.map((s) => s.rssKiB)) / 1024).toFixed(1),
  ]
  return {
    headers: [
      'Server',
      'starts',
      'to ready s (median)',
      'min',
      'max',
      'to listening s',
      'RSS at ready MiB',
    ],
    align: labelThenNumbers(7),
    rows: [
      row('tessera serve, restart (existing data dir)', data.restarts),
      row('tessera serve, first start (empty data dir)', [data.first]),
      row('bare Fastify (no auth)', data.bareFastify),
    ],
  }
}

export function renderColdStart(data: ColdStartData, _meta: RunMeta): Rendered {
  const targets = coldStartTargets(data)
  const restart = median(data.restarts.map((s) => s.readyMs)) / 1000
  const fastify = median(data.bareFastify.map((s) => s.readyMs)) / 1000
  const first = data.first.readyMs / 1000
  const charts = [
    {
      file: 'cold-start.svg',
      alt: 'Cold start: from the spawn of the process to its first answer 200, seconds',
      svg: barChart({
        title: 'Cold start: spawn to the first 200 (tessera serve: GET /ready)',
        subtitle: 'seconds, median of the starts; lower is better',
        bars: [
          {
            label: 'tessera serve, restart',
            value: restart,
            text: `${restart.toFixed(2)} s`,
            tone: 'tessera',
          },
          {
            label: 'tessera serve, first start',
            value: first,
            text: `${first.toFixed(2)} s`,
            tone: 'light',
          },
          {
            label: 'bare Fastify (no auth)',
            value: fastify,
            text: `${fastify.toFixed(2)} s`,
            tone: 'floor',
          },
        ],
      }),
    },
  ]
  const markdown = [
    `From the spawn of the process (\`node packages/server/dist/cli/main.js serve\`, production settings, SQLite) to the first 200 of GET /ready, tried every ${POLL_MS} ms once the server prints its address; the bare Fastify peer to the first 200 of its GET /auth/me. A restart finds its data dir as the first start left it (migrations applied, a signing key stored), as a deployment restarts; the first start migrates an empty database and generates the first signing key. One start at a time, tessera serve and bare Fastify alternating; medians. "to listening" is when the process printed its address; the RSS is read at the first 200.`,
    '',
    renderMarkdown(table(data)),
    '',
    targetMarkdown(targets),
    '',
    chartLinks(charts),
  ].join('\n')
  const text = [renderText(table(data)), '', targetText(targets)].join('\n')
  return { markdown, text, charts, targets }
}

export const coldStartScenario: Scenario<ColdStartData> = {
  number: 8,
  id: 'cold-start',
  title: 'Cold start: tessera serve to /ready',
  run: (context) => runColdStart(context),
  render: renderColdStart,
  loadGenerator: 'none (one GET at a time until the first 200)',
  versions: async () => ({
    '@tessera/server': packageVersion('@tessera/server'),
    fastify: packageVersion('fastify'),
  }),
}
