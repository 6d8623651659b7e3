/**
 * Scenario 3: refresh-token rotation. Three deployments run side by side and
 * are loaded in alternation: one `tessera serve` on SQLite, one on
 * PostgreSQL, and three on one PostgreSQL schema sharing Redis (requests
 * round-robin across them). Each virtual user walks one session's
 * refresh-token chain (a refresh token is single-use, so every request
 * sends the successor the previous answer returned). Reported: refreshes
 * per second, p50/p99, the CPU the tessera processes and PostgreSQL used,
 * and refreshes per tessera CPU-second against Keycloak's sizing figure.
 */

import { alternateEach } from '../lib/alternate.ts'
import { cpuBetween, cpuMark } from '../lib/cpu.ts'
import {
  createRunSchema,
  type Instance,
  type RunSchema,
  startInstance,
} from '../lib/load-cluster.ts'
import {
  closeTargets,
  failureLabel,
  loopbackTarget,
  runPhase,
  send,
  type Target,
  type VirtualUser,
} from '../lib/load-http.ts'
import {
  type BenchContext,
  chartLinks,
  median,
  type Rendered,
  type RunMeta,
  type Scenario,
  type TargetCheck,
  targetMarkdown,
  targetText,
} from '../lib/scenario.ts'
import { postgresVersion, redisVersion } from '../lib/services.ts'
import { barChart } from '../lib/svg.ts'
import {
  formatMs,
  formatRate,
  labelThenNumbers,
  renderMarkdown,
  renderText,
  type Table,
} from '../lib/table.ts'
import {
  KEYCLOAK_PER_VCPU,
  logIn,
  type Session,
  signUp,
  tesseraEnv,
  tokensOf,
  waitReady,
} from '../lib/tessera.ts'

export const REFRESH_SETUPS = ['sqlite', 'pg-1', 'pg-3'] as const
export type RefreshSetupId = (typeof REFRESH_SETUPS)[number]

const SETUP_INFO: Readonly<
  Record<RefreshSetupId, { label: string; instances: number; postgres: boolean; redis: boolean }>
> = {
  sqlite: { label: 'SQLite, 1 instance', instances: 1, postgres: false, redis: false },
  'pg-1': { label: 'PostgreSQL, 1 instance', instances: 1, postgres: true, redis: false },
  'pg-3': { label: 'PostgreSQL + Redis, 3 instances', instances: 3, postgres: true, redis: true },
}

/** Virtual users, each walking one session's chain. */
export const REFRESH_CONCURRENCY = 32

export interface RefreshRound {
  rps: number
  p50Ms: number
  p99Ms: number
  failed: number
  failures: Record<string, number>
  cpu: {
    tessera: number
    postgres: number
    redis: number
    generator: number
    machine: number
    other: number
  }
}

export interface RefreshSetupResult {
  id: RefreshSetupId
  skipped?: string
  rounds: RefreshRound[]
}

export interface RefreshData {
  concurrency: number
  cores: number
  keycloakPerVcpu: number
  setups: RefreshSetupResult[]
}

/** A deployment up and ready, with its sessions. */
export interface RefreshDeployment {
  id: string
  instances: Instance[]
  targets: Target[]
  users: VirtualUser<Session>[]
  close(): Promise<void>
}

/**
 * Starts `count` instances with `env` (the first migrates; the rest then
 * start together), signs an account up and logs it in `sessions` times.
 */
export async function startDeployment(
  id: string,
  count: number,
  env: Record<string, string>,
  sessions: number,
  options: { dataDir?: string; onClose?: () => Promise<void> } = {},
): Promise<RefreshDeployment> {
  const instances: Instance[] = []
  let targets: Target[] = []
  const close = async (): Promise<void> => {
    closeTargets(targets)
    await Promise.all(instances.map((instance) => instance.stop()))
    await options.onClose?.()
  }
  try {
    const dir = options.dataDir === undefined ? {} : { dataDir: options.dataDir }
    instances.push(await startInstance(`${id}#1`, env, dir))
    instances.push(
      ...(await Promise.all(
        Array.from({ length: count - 1 }, (_, i) => startInstance(`${id}#${i + 2}`, env, dir)),
      )),
    )
    targets = instances.map((instance) => loopbackTarget(instance.url))
    await Promise.all(targets.map(waitReady))
    const email = `refresh-${Math.random().toString(36).slice(2, 10)}@example.com`
    await signUp(targets[0]!, email)
    const chains = await logIn(targets[0]!, email, sessions, 8)
    const users = chains.map((state, index) => ({ index, state, done: false }))
    return { id, instances, targets, users, close }
  } catch (error) {
    await close()
    throw error
  }
}

/** One timed (or warm-up) refresh phase on a deployment. */
export async function refreshPhase(
  deployment: RefreshDeployment,
  seconds: number,
  signal: AbortSignal,
): Promise<RefreshRound> {
  const before = cpuMark(deployment.instances.map((instance) => instance.pid))
  const recorder = await runPhase({
    targets: deployment.targets,
    users: deployment.users,
    durationMs: seconds * 1000,
    maxRequests: 10_000_000,
    signal,
    step: async (user, target) => {
      const reply = await send(target, 'POST', '/auth/refresh', {
        body: { refreshToken: user.state.refreshToken },
      })
      const pair = reply.status === 200 ? tokensOf(reply.text) : undefined
      if (pair === undefined) {
        // A failed rotation may have used the token up: this chain ends.
        user.done = true
        return { ok: false, label: failureLabel(reply) }
      }
      user.state.accessToken = pair.accessToken
      user.state.refreshToken = pair.refreshToken
      return { ok: true }
    },
  })
  const cpu = cpuBetween(before, cpuMark(deployment.instances.map((instance) => instance.pid)))
  return {
    rps: Math.round(recorder.rps * 10) / 10,
    p50Ms: Math.round(recorder.percentile(50) * 100) / 100,
    p99Ms: Math.round(recorder.percentile(99) * 100) / 100,
    failed: recorder.failed,
    failures: Object.fromEntries(recorder.failures),
    cpu,
  }
}

async function runRefresh(context: BenchContext): Promise<RefreshData> {
  const data: RefreshData = {
    concurrency: REFRESH_CONCURRENCY,
    cores: context.machine.cores,
    keycloakPerVcpu: KEYCLOAK_PER_VCPU.refresh,
    setups: [],
  }
  const deployments: { id: RefreshSetupId; deployment: RefreshDeployment }[] = []
  try {
    for (const id of REFRESH_SETUPS) {
      const info = SETUP_INFO[id]
      let schema: RunSchema | undefined
      const env: Record<string, string> = tesseraEnv()
      try {
        if (info.postgres) {
          schema = await createRunSchema(context.pgUrl)
          env.TESSERA_DATABASE_URL = schema.url
        }
        if (info.redis) env.TESSERA_REDIS_URL = context.redisUrl
        const runSchema = schema
        const deployment = await startDeployment(id, info.instances, env, REFRESH_CONCURRENCY, {
          ...(runSchema === undefined ? {} : { onClose: () => runSchema.drop() }),
        })
        deployments.push({ id, deployment })
        context.progress(`  ${info.label}: ${deployment.instances.map((i) => i.url).join(', ')}`)
      } catch (error) {
        await schema?.drop().catch(() => undefined)
        // On CI the services are there: a setup that cannot start is a failure, never a skip.
        if (process.env.CI === 'true') throw error
        const reason = (error as Error).message
        context.progress(`  ${info.label}: skipped: ${reason}`)
        data.setups.push({ id, skipped: reason, rounds: [] })
      }
    }
    const samples = await alternateEach(deployments, {
      rounds: context.rounds,
      signal: context.signal,
      warmUp: (item) =>
        refreshPhase(item.deployment, Math.max(1, context.warmupSeconds), context.signal),
      measure: async (item) => {
        const round = await refreshPhase(item.deployment, context.seconds, context.signal)
        context.progress(
          `    ${item.id.padEnd(7)} ${formatRate(round.rps).padStart(7)} refreshes/s  p99 ${formatMs(round.p99Ms)} ms  tessera CPU ${round.cpu.tessera.toFixed(2)}${round.failed > 0 ? `  ${round.failed} failed` : ''}`,
        )
        return round
      },
    })
    deployments.forEach((item, index) => {
      data.setups.push({ id: item.id, rounds: samples[index]! })
    })
  } finally {
    for (const { deployment } of deployments) await deployment.close()
  }
  data.setups.sort((a, b) => REFRESH_SETUPS.indexOf(a.id) - REFRESH_SETUPS.indexOf(b.id))
  return data
}

export interface RefreshSummary {
  rps: number
  p50Ms: number
  p99Ms: number
  failed: number
  tesseraCpu: number
  postgresCpu: number
  /** Refreshes per second per CPU-second the tessera processes used. */
  perTesseraCpu: number
  /** Refreshes per second per core of the machine (which also ran the generator and PostgreSQL). */
  perMachineCore: number
}

export function summarizeRefresh(rounds: readonly RefreshRound[], cores: number): RefreshSummary {
  const rps = median(rounds.map((r) => r.rps))
  return {
    rps,
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    failed: rounds.reduce((sum, r) => sum + r.failed, 0),
    tesseraCpu: median(rounds.map((r) => r.cpu.tessera)),
    postgresCpu: median(rounds.map((r) => r.cpu.postgres)),
    perTesseraCpu: median(
      rounds.map((r) => (r.cpu.tessera > 0 ? r.rps / r.cpu.tessera : Number.NaN)),
    ),
    perMachineCore: rps / cores,
  }
}

/**
 * Refreshes per tessera CPU-second on PostgreSQL (one instance) before issue
 * 20: bench/RESULTS.md, the `bench` section's scenario 3 of the run of
 * 2026-11-22 (870 refreshes/s with 0.81 of a core of tessera serve). The
 * issue asks for at least 1.5x this.
 */
export const PG_PER_CPU_BEFORE = 1_070

/** How far above {@link PG_PER_CPU_BEFORE} the issue asks PostgreSQL's figure to go. */
export const PG_PER_CPU_FACTOR = 1.5

function measuredSetup(data: RefreshData, id: RefreshSetupId): RefreshSetupResult | undefined {
  const setup = data.setups.find((s) => s.id === id)
  return setup === undefined || setup.skipped !== undefined ? undefined : setup
}

export function refreshTargets(data: RefreshData): TargetCheck[] {
  const sqlite = measuredSetup(data, 'sqlite')
  const pg = measuredSetup(data, 'pg-1')
  const onSqlite = summarizeRefresh(sqlite?.rounds ?? [], data.cores)
  const onPg = summarizeRefresh(pg?.rounds ?? [], data.cores)
  const sqliteText = sqlite === undefined ? 'not measured' : formatRate(onSqlite.perTesseraCpu)
  return [
    {
      label: `Refresh on SQLite: refreshes/s per tessera CPU-second (10x Keycloak's ${data.keycloakPerVcpu} per vCPU)`,
      short: 'refresh on SQLite per CPU-second vs 10x Keycloak',
      value: onSqlite.perTesseraCpu,
      goal: 10 * data.keycloakPerVcpu,
      better: 'higher',
      unit: '/s',
      ...(sqlite === undefined ? { missing: 'SQLite setup not measured' } : {}),
    },
    {
      label: `Refresh on PostgreSQL: refreshes/s per tessera CPU-second (SQLite's: ${sqliteText}), ${PG_PER_CPU_FACTOR}x the ${formatRate(PG_PER_CPU_BEFORE)} before issue 20`,
      short: `refresh on PostgreSQL per CPU-second vs ${PG_PER_CPU_FACTOR}x before`,
      value: onPg.perTesseraCpu,
      goal: PG_PER_CPU_FACTOR * PG_PER_CPU_BEFORE,
      better: 'higher',
      unit: '/s',
      ...(pg === undefined ? { missing: 'PostgreSQL setup not measured' } : {}),
    },
  ]
}

function table(data: RefreshData): Table {
  return {
    headers: [
      'Setup',
      'refreshes/s',
      'p50 ms',
      'p99 ms',
      'failed',
      'tessera CPU',
      'postgres CPU',
      'per tessera CPU-s',
      'per machine core',
      'Keycloak per vCPU',
    ],
    align: labelThenNumbers(10),
    rows: data.setups.map((setup) => {
      const label = SETUP_INFO[setup.id].label
      if (setup.skipped !== undefined) return [label, 'skipped', '', '', '', '', '', '', '', '']
      const s = summarizeRefresh(setup.rounds, data.cores)
      return [
        label,
        formatRate(s.rps),
        formatMs(s.p50Ms),
        formatMs(s.p99Ms),
        String(s.failed),
        s.tesseraCpu.toFixed(2),
        s.postgresCpu.toFixed(2),
        formatRate(s.perTesseraCpu),
        formatRate(s.perMachineCore),
        String(data.keycloakPerVcpu),
      ]
    }),
  }
}

export function renderRefresh(data: RefreshData, meta: RunMeta): Rendered {
  const targets = refreshTargets(data)
  const measured = data.setups.filter((setup) => setup.skipped === undefined)
  const charts = [
    {
      file: 'refresh.svg',
      alt: 'Refreshes per second per tessera CPU-second, per setup, against 10x Keycloak',
      svg: barChart({
        title: 'Refresh rotation: refreshes/s per tessera CPU-second',
        subtitle: `higher is better; Keycloak's sizing guide: ${data.keycloakPerVcpu} per vCPU; PostgreSQL before issue 20: ${formatRate(PG_PER_CPU_BEFORE)}`,
        bars: measured.map((setup) => {
          const s = summarizeRefresh(setup.rounds, data.cores)
          return {
            label: SETUP_INFO[setup.id].label,
            value: s.perTesseraCpu,
            text: `${formatRate(s.perTesseraCpu)} (${formatRate(s.rps)}/s total, p99 ${formatMs(s.p99Ms)} ms)`,
            tone: 'tessera' as const,
          }
        }),
        marks: [
          { value: data.keycloakPerVcpu, label: 'Keycloak' },
          { value: 10 * data.keycloakPerVcpu, label: '10x Keycloak (SQLite)' },
          {
            value: PG_PER_CPU_FACTOR * PG_PER_CPU_BEFORE,
            label: `${PG_PER_CPU_FACTOR}x before (PostgreSQL)`,
          },
        ],
      }),
    },
  ]
  const skipped = data.setups.filter((setup) => setup.skipped !== undefined)
  const markdown = [
    `Three deployments side by side, each starting empty, loaded in alternation (${meta.rounds} rounds of ${meta.seconds} s, medians): ${data.concurrency} virtual users, each walking one session's refresh-token chain back to back; the three-instance setup gets its requests round-robin. "tessera CPU" and "postgres CPU" are cores busy on average (1.00 = one core); "per tessera CPU-s" divides the rate by the CPU the tessera processes used, which is what Keycloak's figure counts (its database is sized apart); "per machine core" divides by all ${data.cores} cores, which also ran PostgreSQL and the load generator. PostgreSQL's target is ${PG_PER_CPU_FACTOR}x its ${formatRate(PG_PER_CPU_BEFORE)} refreshes per tessera CPU-second before issue 20 (the run of 2026-11-22).`,
    '',
    renderMarkdown(table(data)),
    '',
    targetMarkdown(targets),
    '',
    chartLinks(charts),
    ...(skipped.length > 0
      ? ['', ...skipped.map((s) => `- ${SETUP_INFO[s.id].label} skipped: ${s.skipped}`)]
      : []),
  ].join('\n')
  const text = [renderText(table(data)), '', targetText(targets)].join('\n')
  return { markdown, text, charts, targets }
}

export const refreshScenario: Scenario<RefreshData> = {
  number: 3,
  id: 'refresh',
  title: 'Refresh rotation: SQLite, PostgreSQL, three instances',
  run: (context) => runRefresh(context),
  render: renderRefresh,
  versions: async (context) => ({
    postgres: await postgresVersion(context.pgUrl),
    redis: await redisVersion(context.redisUrl),
  }),
}
