/**
 * Scenario 2: login flood isolation. Password logins are argon2id, which
 * the server runs on the libuv threadpool; a flood of them must not stall
 * the event loop that answers everything else. One `tessera serve` (SQLite,
 * ES256) gets GET /auth/me at a fixed rate, open loop (latency counted from
 * when each request was due), first alone (the baseline) and then while
 * enough concurrent logins keep the hasher saturated. Reported: GET
 * /auth/me p50/p99 in both windows, and the logins per second against the
 * hashing limit (cores / single-verify time, measured in this run, before
 * the server starts).
 */

import { cpuBetween, cpuMark } from '../lib/cpu.ts'
import {
  type HashingLimit,
  measureHashing,
  measureParallelVerifies,
  OWASP_ARGON2,
} from '../lib/hashing.ts'
import { closeTargets, failureLabel, loopbackTarget, NoReply, send } from '../lib/load-http.ts'
import { packageVersion } from '../lib/machine.ts'
import { medianPaced, type PacedResult, pacedLoad } from '../lib/paced.ts'
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
import { startReadyTessera } from '../lib/servers.ts'
import { barChart } from '../lib/svg.ts'
import {
  formatMs,
  formatRate,
  labelThenNumbers,
  renderMarkdown,
  renderText,
  type Table,
} from '../lib/table.ts'
import { LOAD_PASSWORD, signUp } from '../lib/tessera.ts'

/** GET /auth/me requests per second during both windows. */
const ME_RATE = 1_000
/** Concurrent login loops per core: enough to keep every hashing thread busy. */
const LOGINS_PER_CORE = 4
/** Distinct accounts the logins cycle through. */
const ACCOUNTS = 8

interface FloodRound {
  baseline: PacedResult
  flood: PacedResult
  /** Successful logins per second during the flood window. */
  loginsPerSecond: number
  loginP50Ms: number
  loginP99Ms: number
  loginFailures: Record<string, number>
  /** Cores busy on average during the flood window. */
  cpu: { tessera: number; generator: number; machine: number; other: number }
}

export interface FloodData {
  meRate: number
  loginConcurrency: number
  hashing: HashingLimit
  /**
   * Verifies per second measured with one loop per core at once in the
   * bench process (what the machine hashes in parallel, with no server).
   * Absent in results written before it was measured.
   */
  parallelVerifiesPerSecond?: number
  argon2: typeof OWASP_ARGON2
  hashSamples: number
  rounds: FloodRound[]
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = Float64Array.from(values).sort()
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

async function runFlood(context: BenchContext): Promise<FloodData> {
  const hashSamples = context.quick ? 4 : 12
  const hashing = await measureHashing(hashSamples)
  context.progress(
    `  argon2id: verify ${formatMs(hashing.verifyMs)} ms -> hashing limit ${formatRate(hashing.loginsPerSecond)} logins/s on ${hashing.cores} cores`,
  )
  const parallelVerifiesPerSecond =
    Math.round((await measureParallelVerifies(hashing.cores, context.quick ? 1_000 : 3_000)) * 10) /
    10
  context.progress(
    `  argon2id: ${hashing.cores} verifies at once -> ${formatRate(parallelVerifiesPerSecond)} verifies/s`,
  )
  checkSignal(context.signal)
  const tessera = await startReadyTessera({ id: 'tessera', alg: 'ES256', sessions: 0 })
  const meTarget = loopbackTarget(tessera.instance.url)
  const loginTarget = loopbackTarget(tessera.instance.url)
  const loginConcurrency = LOGINS_PER_CORE * hashing.cores
  const rounds: FloodRound[] = []
  try {
    const emails = [tessera.email]
    for (let i = 1; i < ACCOUNTS; i++) {
      const email = `flood-${i}-${tessera.email}`
      await signUp(tessera.target, email)
      emails.push(email)
    }
    const meHeaders = { authorization: `Bearer ${tessera.first.accessToken}` }
    const paced = (durationMs: number): Promise<PacedResult> =>
      pacedLoad({
        target: meTarget,
        method: 'GET',
        path: '/auth/me',
        headers: meHeaders,
        rate: ME_RATE,
        durationMs,
        maxInFlight: 512,
        signal: context.signal,
      })
    // Warm-up: the route and the login path, untimed.
    await paced(1_000)
    const windowMs = context.seconds * 1000 * 2
    for (let round = 0; round < context.rounds; round++) {
      checkSignal(context.signal)
      context.progress(`  round ${round + 1}/${context.rounds}: baseline`)
      const baseline = await paced(context.seconds * 1000)
      // The flood: closed-loop logins, the hasher full before the window opens.
      let stop = false
      let counting = false
      const loginTimes: number[] = []
      const failures = new Map<string, number>()
      let next = 0
      const loop = async (): Promise<void> => {
        while (!stop && !context.signal.aborted) {
          const email = emails[next++ % emails.length]!
          const sent = performance.now()
          try {
            const reply = await send(loginTarget, 'POST', '/auth/login', {
              body: { email, password: LOAD_PASSWORD },
              readBody: false,
            })
            if (!counting) continue
            if (reply.status === 200) loginTimes.push(performance.now() - sent)
            else failures.set(failureLabel(reply), (failures.get(failureLabel(reply)) ?? 0) + 1)
          } catch (error) {
            if (!(error instanceof NoReply)) throw error
            if (counting) failures.set(error.kind, (failures.get(error.kind) ?? 0) + 1)
          }
        }
      }
      const loops = Array.from({ length: loginConcurrency }, loop)
      let flood: PacedResult
      let opened: number
      let closed: number
      let cpu: ReturnType<typeof cpuBetween>
      let ended: PromiseSettledResult<void>[] = []
      try {
        await sleep(1_000, context.signal)
        context.progress(
          `  round ${round + 1}/${context.rounds}: flood (${loginConcurrency} login loops)`,
        )
        counting = true
        const before = cpuMark([tessera.instance.pid])
        opened = performance.now()
        flood = await paced(windowMs)
        closed = performance.now()
        cpu = cpuBetween(before, cpuMark([tessera.instance.pid]))
      } finally {
        // Whatever happened, the loops stop before the server does, and a
        // loop's own failure is reported below rather than left unhandled.
        counting = false
        stop = true
        ended = await Promise.allSettled(loops)
      }
      const loopFailure = ended.find((result) => result.status === 'rejected')
      if (loopFailure !== undefined) throw loopFailure.reason
      rounds.push({
        baseline,
        flood,
        loginsPerSecond: Math.round((loginTimes.length / ((closed - opened) / 1000)) * 10) / 10,
        loginP50Ms: Math.round(percentile(loginTimes, 50) * 10) / 10,
        loginP99Ms: Math.round(percentile(loginTimes, 99) * 10) / 10,
        loginFailures: Object.fromEntries(failures),
        cpu: {
          tessera: cpu.tessera,
          generator: cpu.generator,
          machine: cpu.machine,
          other: cpu.other,
        },
      })
      const last = rounds.at(-1)!
      context.progress(
        `    /auth/me p99 ${formatMs(baseline.p99Ms)} ms alone, ${formatMs(flood.p99Ms)} ms under the flood; ${formatRate(last.loginsPerSecond)} logins/s`,
      )
      await sleep(500, context.signal)
    }
  } finally {
    closeTargets([meTarget, loginTarget, tessera.target])
    await tessera.server.stop()
  }
  return {
    meRate: ME_RATE,
    loginConcurrency,
    hashing,
    parallelVerifiesPerSecond,
    argon2: OWASP_ARGON2,
    hashSamples,
    rounds,
  }
}

function summary(data: FloodData) {
  return {
    baseline: medianPaced(data.rounds.map((r) => r.baseline)),
    flood: medianPaced(data.rounds.map((r) => r.flood)),
    loginsPerSecond: median(data.rounds.map((r) => r.loginsPerSecond)),
    loginP50Ms: median(data.rounds.map((r) => r.loginP50Ms)),
    loginP99Ms: median(data.rounds.map((r) => r.loginP99Ms)),
    tesseraCpu: median(data.rounds.map((r) => r.cpu.tessera)),
    otherCpu: median(data.rounds.map((r) => r.cpu.other)),
  }
}

export function floodTargets(data: FloodData): TargetCheck[] {
  const s = summary(data)
  return [
    {
      label: 'Login flood: GET /auth/me p99 while logins saturate argon2',
      short: 'login flood: GET /auth/me p99',
      value: s.flood.p99Ms,
      goal: 20,
      better: 'lower',
      unit: 'ms',
    },
    {
      label: `Login flood: logins/s vs the hashing limit (${formatRate(data.hashing.loginsPerSecond)}/s)`,
      short: 'login flood: logins/s vs hashing limit',
      value: s.loginsPerSecond / data.hashing.loginsPerSecond,
      goal: 0.9,
      better: 'higher',
      unit: 'x',
    },
  ]
}

function table(data: FloodData): Table {
  const s = summary(data)
  const failed = (p: ReturnType<typeof medianPaced>): string =>
    p.failed + p.skipped === 0 ? '0' : `${p.failed} failed, ${p.skipped} not sent`
  return {
    headers: [
      'Window',
      'GET /auth/me p50 ms',
      'p99 ms',
      'max ms',
      'failed',
      'logins/s',
      'of hashing limit',
      'login p50 / p99 ms',
      'tessera CPU',
      'other CPU',
    ],
    align: labelThenNumbers(10),
    rows: [
      [
        'GET /auth/me alone',
        formatMs(s.baseline.p50Ms),
        formatMs(s.baseline.p99Ms),
        formatMs(s.baseline.maxMs),
        failed(s.baseline),
        '-',
        '-',
        '-',
        '-',
        '-',
      ],
      [
        `with ${data.loginConcurrency} concurrent logins`,
        formatMs(s.flood.p50Ms),
        formatMs(s.flood.p99Ms),
        formatMs(s.flood.maxMs),
        failed(s.flood),
        formatRate(s.loginsPerSecond),
        `${Math.round((s.loginsPerSecond / data.hashing.loginsPerSecond) * 100)}%`,
        `${formatMs(s.loginP50Ms)} / ${formatMs(s.loginP99Ms)}`,
        s.tesseraCpu.toFixed(2),
        s.otherCpu.toFixed(2),
      ],
    ],
  }
}

export function renderFlood(data: FloodData, meta: RunMeta): Rendered {
  const s = summary(data)
  const targets = floodTargets(data)
  const charts = [
    {
      file: 'login-flood.svg',
      alt: 'GET /auth/me latency alone and under a login flood',
      svg: barChart({
        title: 'GET /auth/me latency during a login flood',
        subtitle: `${data.meRate} req/s open loop; ms, lower is better; target p99 < 20 ms under the flood`,
        bars: [
          {
            label: 'alone: p50',
            value: s.baseline.p50Ms,
            text: `${formatMs(s.baseline.p50Ms)} ms`,
            tone: 'neutral',
          },
          {
            label: 'alone: p99',
            value: s.baseline.p99Ms,
            text: `${formatMs(s.baseline.p99Ms)} ms`,
            tone: 'neutral',
          },
          {
            label: 'login flood: p50',
            value: s.flood.p50Ms,
            text: `${formatMs(s.flood.p50Ms)} ms`,
            tone: 'tessera',
          },
          {
            label: 'login flood: p99',
            value: s.flood.p99Ms,
            text: `${formatMs(s.flood.p99Ms)} ms`,
            tone: s.flood.p99Ms < 20 ? 'pass' : 'miss',
          },
        ],
        marks: [{ value: 20, label: 'p99 target 20 ms' }],
      }),
    },
  ]
  const markdown = [
    `One \`tessera serve\` (SQLite, ES256). GET /auth/me at ${data.meRate} requests/s, open loop (latency from when each request was due), for ${meta.seconds} s alone, then for ${meta.seconds * 2} s while ${data.loginConcurrency} connections log in back to back (${ACCOUNTS} accounts, correct passwords), which keeps every argon2 thread busy; ${meta.rounds} rounds, medians. "tessera CPU" is the cores the server used during the flood window (1.00 = one core), "other CPU" what the rest of the machine used besides the server and this script (noise: a large value makes the row unreliable). **Hashing limit**: one argon2id verify (m=${data.argon2.memoryCost} KiB, t=${data.argon2.timeCost}, p=${data.argon2.parallelism}) takes ${formatMs(data.hashing.verifyMs)} ms here (median of ${data.hashSamples}, one at a time, in this run), so ${data.hashing.cores} cores can do at most ${formatRate(data.hashing.loginsPerSecond)} logins/s with nothing else to do.${
      data.parallelVerifiesPerSecond === undefined
        ? ''
        : ` Measured with ${data.hashing.cores} verifies at once (one per core, in the bench process, no server), the machine does ${formatRate(data.parallelVerifiesPerSecond)} verifies/s: ${Math.round((data.parallelVerifiesPerSecond / data.hashing.loginsPerSecond) * 100)}% of that limit (${data.parallelVerifiesPerSecond < 0.97 * data.hashing.loginsPerSecond ? 'below it: the cores share caches and memory bandwidth' : 'hashing scales across the cores'}); the logins reach ${Math.round((summary(data).loginsPerSecond / data.parallelVerifiesPerSecond) * 100)}% of this parallel figure.`
    }`,
    '',
    renderMarkdown(table(data)),
    '',
    targetMarkdown(targets),
    '',
    chartLinks(charts),
  ].join('\n')
  const parallel =
    data.parallelVerifiesPerSecond === undefined
      ? []
      : [
          `  hashing limit ${formatRate(data.hashing.loginsPerSecond)}/s (cores / single verify); ${data.hashing.cores} verifies at once: ${formatRate(data.parallelVerifiesPerSecond)}/s; logins reach ${Math.round((summary(data).loginsPerSecond / data.parallelVerifiesPerSecond) * 100)}% of the latter`,
        ]
  const text = [renderText(table(data)), ...parallel, '', targetText(targets)].join('\n')
  return { markdown, text, charts, targets }
}

export const floodScenario: Scenario<FloodData> = {
  number: 2,
  id: 'login-flood',
  title: 'Login flood isolation',
  run: (context) => runFlood(context),
  render: renderFlood,
  versions: async () => ({ argon2: packageVersion('argon2'), fastify: packageVersion('fastify') }),
}
