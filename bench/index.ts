/**
 * npm run bench (also `tessera bench`): Tessera end to end against what
 * users would pick instead, in one run on one machine.
 *
 *   1  GET /auth/me: tessera serve and @tessera/jwt middlewares vs the peers
 *   2  login flood isolation: GET /auth/me latency while logins saturate argon2
 *   3  refresh rotation: SQLite, PostgreSQL with one and three instances
 *   4  memory: RSS idle, after 200 logins and under scenario 1; bytes per cached token
 *   5  cost growth: GET /auth/me, refresh, an email send, MFA verify, OAuth token and
 *      introspection as users, sessions, clients, outbox rows and revocations grow
 *   6  OAuth: client_credentials, introspection and code + PKCE against oidc-provider
 *   7  DPoP: GET /auth/me with a bound token and a proof per request, against bearer
 *      and the production reference
 *   8  cold start: tessera serve from spawn to /ready, beside bare Fastify
 *
 * Every server is its own process on 127.0.0.1, stopped on exit, error or
 * Ctrl-C. Prints a report per scenario and the targets with PASS/MISS; a
 * full run writes results/bench.json, charts/*.svg and the `bench` section
 * of RESULTS.md. How it measures and how to read it: bench/README.md.
 */

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { parseCommandLine, UsageError } from './lib/cli.ts'
import { settle } from './lib/cpu.ts'
import { pickGenerator } from './lib/load-generator.ts'
import { machineInfo } from './lib/machine.ts'
import { installCleanup, interrupted } from './lib/processes.ts'
import {
  attainment,
  type BenchContext,
  type Chart,
  formatGoal,
  formatMeasured,
  Interrupted,
  type Rendered,
  type RunMeta,
  type Scenario,
  type TargetCheck,
  targetText,
  verdict,
} from './lib/scenario.ts'
import { isLoopbackUrl } from './lib/services.ts'
import { barChart } from './lib/svg.ts'
import { renderMarkdown, type Table, writeResultsSection } from './lib/table.ts'
import { coldStartScenario } from './scenarios/cold-start.ts'
import { dpopScenario } from './scenarios/dpop.ts'
import { growthScenario } from './scenarios/growth.ts'
import { floodScenario } from './scenarios/login-flood.ts'
import { meScenario } from './scenarios/me.ts'
import { memoryScenario } from './scenarios/memory.ts'
import { oauthScenario } from './scenarios/oauth.ts'
import { refreshScenario } from './scenarios/refresh.ts'

// biome-ignore lint/suspicious/noExplicitAny: scenarios differ in their data type
const SCENARIOS: readonly Scenario<any>[] = [
  meScenario,
  floodScenario,
  refreshScenario,
  memoryScenario,
  growthScenario,
  oauthScenario,
  dpopScenario,
  coldStartScenario,
]

const BENCH_DIR = import.meta.dirname
const RESULTS_JSON = join(BENCH_DIR, 'results', 'bench.json')
const RESULTS_MD = join(BENCH_DIR, 'RESULTS.md')
const CHARTS_DIR = join(BENCH_DIR, 'charts')

const USAGE = `Usage: npm run bench -- [options]     (or: tessera bench [options])

  --quick              a smoke run (about 2.5 minutes): 1 round of 1 s, fewer tokens and rows;
                       writes nothing unless --write
  --scenario <list>    only these scenarios, e.g. --scenario 1,3 (default: all)
${SCENARIOS.map((s) => `                         ${s.number}  ${s.title}`).join('\n')}
  --rounds <n>         alternating rounds per comparison (default 3; quick 1)
  --duration <s>       seconds per timed load run (default 3; quick 1)
  --warmup <s>         untimed warm-up per server, seconds (default 1; quick 0)
  --connections <n>    load-generator connections for GET /auth/me (default 50)
  --generator <name>   wrk or autocannon (default: wrk when installed)
  --pg-url <url>       PostgreSQL for scenario 3 (default postgres://postgres@127.0.0.1:5432/test);
                       a schema is made for the run and dropped after it
  --redis-url <url>    Redis for scenario 3's three instances (default redis://127.0.0.1:6379)
  --render             measure nothing: rewrite RESULTS.md and charts/ from results/bench.json
  --write / --no-write write (or not) results/bench.json, charts/ and RESULTS.md
                       (default: write for a full run, also with --scenario)
  --strict             exit 1 when a target is missed
  -h, --help           this text`

interface Settings {
  readonly quick: boolean
  readonly scenarios: readonly number[]
  readonly rounds: number
  readonly seconds: number
  readonly warmupSeconds: number
  readonly connections: number
  readonly generator: 'wrk' | 'autocannon' | undefined
  readonly pgUrl: string
  readonly redisUrl: string
  readonly render: boolean
  readonly write: boolean
  readonly strict: boolean
}

function positiveInteger(name: string, raw: string | undefined, fallback: number, min = 1): number {
  if (raw === undefined) return fallback
  const value = Number(raw.replace(/s$/, ''))
  if (!Number.isInteger(value) || value < min || value > 600) {
    throw new UsageError(
      `--${name} takes a whole number from ${min} to 600, not ${JSON.stringify(raw)}`,
    )
  }
  return value
}

function parseSettings(argv: readonly string[]): Settings | undefined {
  const { values } = parseArgs({
    args: [...argv],
    allowNegative: true,
    options: {
      quick: { type: 'boolean', default: false },
      scenario: { type: 'string', multiple: true },
      only: { type: 'string', multiple: true },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      generator: { type: 'string' },
      'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
      'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
      render: { type: 'boolean', default: false },
      write: { type: 'boolean' },
      strict: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return undefined
  const quick = values.quick
  let scenarios = SCENARIOS.map((s) => s.number)
  const picked = [...(values.scenario ?? []), ...(values.only ?? [])]
  if (picked.length > 0) {
    scenarios = []
    for (const item of picked.flatMap((value) => value.split(',')).map((v) => v.trim())) {
      const number = Number(item)
      if (!SCENARIOS.some((s) => s.number === number)) {
        throw new UsageError(`unknown --scenario ${JSON.stringify(item)}: 1 to ${SCENARIOS.length}`)
      }
      if (!scenarios.includes(number)) scenarios.push(number)
    }
    scenarios.sort((a, b) => a - b)
  }
  const generator = values.generator
  if (generator !== undefined && generator !== 'wrk' && generator !== 'autocannon') {
    throw new UsageError('--generator is wrk or autocannon')
  }
  for (const url of [values['pg-url'], values['redis-url']]) {
    if (!isLoopbackUrl(url)) {
      throw new UsageError(`refusing a non-loopback service address: ${new URL(url).hostname}`)
    }
  }
  return {
    quick,
    scenarios,
    rounds: positiveInteger('rounds', values.rounds, quick ? 1 : 3),
    seconds: positiveInteger('duration', values.duration, quick ? 1 : 3),
    warmupSeconds: positiveInteger('warmup', values.warmup, quick ? 0 : 1, 0),
    connections: positiveInteger('connections', values.connections, 50),
    generator,
    pgUrl: values['pg-url'],
    redisUrl: values['redis-url'],
    render: values.render,
    // A quick run must not replace the committed full results by accident.
    write: values.write ?? !quick,
    strict: values.strict,
  }
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`)
}

// ---------------------------------------------------------------- results file

/** One scenario's data with when and where it was measured. */
interface StoredScenario {
  meta: RunMeta
  data: unknown
}

interface ResultsFile {
  /** The last time the file was written. */
  updatedAt: string
  /** By scenario id; a partial run replaces only its own. */
  scenarios: Record<string, StoredScenario>
}

function readResults(): ResultsFile {
  try {
    // JSON has no NaN or Infinity (a missing or unbounded measurement): they
    // were written as null, and come back as NaN, never as a 0 that passes.
    return JSON.parse(readFileSync(RESULTS_JSON, 'utf8'), (_key, value: unknown) =>
      value === null ? Number.NaN : value,
    ) as ResultsFile
  } catch {
    return { updatedAt: '', scenarios: {} }
  }
}

// ---------------------------------------------------------------- report

function provenance(meta: RunMeta, scenario: Scenario): string {
  const { machine } = meta
  const versions = Object.entries(meta.versions)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ')
  return [
    `Measured ${meta.generatedAt}${meta.quick ? ' (a --quick run: indicative only)' : ''} on ${machine.cpuModel}, ${machine.cores} cores, ${machine.totalMemoryGiB} GiB, ${machine.platform}, Node ${machine.node};`,
    `load average ${machine.loadAverageAtStart.join(' / ')} at the start of the run, ${meta.loadAverageAtEnd.join(' / ')} at the end of the scenario.`,
    `Load generator ${scenario.loadGenerator ?? `${meta.generator.name} ${meta.generator.version}`}; ${versions}.`,
  ].join('\n')
}

interface RenderedScenario {
  scenario: Scenario
  meta: RunMeta
  rendered: Rendered
}

function summaryTable(items: readonly RenderedScenario[]): Table {
  const rows: string[][] = []
  for (const { scenario, rendered } of items) {
    for (const check of rendered.targets) {
      rows.push([
        String(scenario.number),
        check.label,
        formatMeasured(check),
        formatGoal(check),
        verdict(check),
      ])
    }
  }
  return {
    headers: ['#', 'Target', 'Measured', 'Goal', 'Result'],
    align: ['right', 'left', 'right', 'right', 'left'],
    rows,
  }
}

function targetsChart(items: readonly RenderedScenario[]): Chart {
  const checks: { scenario: number; check: TargetCheck }[] = items.flatMap(
    ({ scenario, rendered }) =>
      rendered.targets
        .filter((check) => check.info === undefined)
        .map((check) => ({ scenario: scenario.number, check })),
  )
  return {
    file: 'targets.svg',
    alt: 'Every target: measured against goal (1.0 = the goal; longer is better)',
    svg: barChart({
      title: 'Targets: measured / goal (1.0 = goal met; longer is better)',
      subtitle: 'ratios and rates: measured / goal; latencies: goal / measured',
      bars: checks.map(({ scenario, check }) => {
        const value = attainment(check)
        return {
          label: `${scenario}. ${shorten(check.short ?? check.label)}`,
          value,
          text: `${formatMeasured(check)} (${verdict(check)})`,
          // The verdict decides the colour: a latency exactly at its goal is a MISS.
          tone: Number.isFinite(value) ? (verdict(check) === 'PASS' ? 'pass' : 'miss') : 'neutral',
        }
      }),
      marks: [{ value: 1, label: 'goal' }],
      width: 900,
    }),
  }
}

function shorten(label: string): string {
  return label.length > 70 ? `${label.slice(0, 67)}...` : label
}

function sectionMarkdown(items: readonly RenderedScenario[], chart: Chart): string {
  const parts = [
    '## End to end against the peers (`npm run bench`)',
    '',
    'Generated by `bench/index.ts`; how each scenario measures and how to read it: [bench/README.md](README.md#npm-run-bench).',
    '',
    renderMarkdown(summaryTable(items)),
    '',
    `![${chart.alt}](charts/${chart.file})`,
  ]
  for (const { scenario, meta, rendered } of items) {
    parts.push(
      '',
      `### ${scenario.number}. ${scenario.title}`,
      '',
      provenance(meta, scenario),
      '',
      rendered.markdown,
    )
  }
  return `${parts.join('\n')}\n`
}

function writeOutputs(results: ResultsFile): string[] {
  const items = renderStored(results)
  const chart = targetsChart(items)
  mkdirSync(join(BENCH_DIR, 'results'), { recursive: true })
  mkdirSync(CHARTS_DIR, { recursive: true })
  writeFileSync(RESULTS_JSON, `${JSON.stringify(results, null, 2)}\n`)
  const written = [RESULTS_JSON]
  for (const c of [chart, ...items.flatMap((item) => item.rendered.charts)]) {
    const path = join(CHARTS_DIR, c.file)
    writeFileSync(path, c.svg)
    written.push(path)
  }
  writeResultsSection(RESULTS_MD, 'bench', sectionMarkdown(items, chart))
  written.push(RESULTS_MD)
  return written
}

function renderStored(results: ResultsFile): RenderedScenario[] {
  const items: RenderedScenario[] = []
  for (const scenario of SCENARIOS) {
    const stored = results.scenarios[scenario.id]
    if (stored === undefined) continue
    items.push({ scenario, meta: stored.meta, rendered: scenario.render(stored.data, stored.meta) })
  }
  return items
}

// ---------------------------------------------------------------- main

/** Runs the bench with `argv` (options only); resolves to the exit code. */
export async function runBench(argv: readonly string[]): Promise<number> {
  const parsed = parseCommandLine(() => parseSettings(argv), USAGE)
  if ('exitCode' in parsed) return parsed.exitCode
  const { settings } = parsed
  if (settings.render) {
    for (const path of writeOutputs(readResults())) progress(`wrote ${path}`)
    return 0
  }
  installCleanup(progress)
  const started = performance.now()
  const machine = machineInfo()
  const generator = pickGenerator(settings.generator)
  const context: BenchContext = {
    quick: settings.quick,
    rounds: settings.rounds,
    seconds: settings.seconds,
    warmupSeconds: settings.warmupSeconds,
    connections: settings.connections,
    generator,
    pgUrl: settings.pgUrl,
    redisUrl: settings.redisUrl,
    signal: interrupted.signal,
    machine,
    progress,
  }
  progress(
    `bench${settings.quick ? ' (quick)' : ''}: scenarios ${settings.scenarios.join(', ')}; ${settings.rounds} rounds of ${settings.seconds} s; ${generator.name} ${generator.version}, ${settings.connections} connections; ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadAverageAtStart.join(' ')}`,
  )
  const earlier = new Map<string, unknown>()
  const done: RenderedScenario[] = []
  const stored: Record<string, StoredScenario> = {}
  const failed: string[] = []
  for (const number of settings.scenarios) {
    const scenario = SCENARIOS.find((s) => s.number === number)!
    try {
      if (!settings.quick) {
        const busy = await settle(10_000)
        if (busy >= 0.3) progress(`  (the machine is busy: ${busy} cores in use by other work)`)
      }
      progress(`\n${scenario.number}. ${scenario.title}`)
      const scenarioStart = performance.now()
      const data = await scenario.run(context, earlier)
      earlier.set(scenario.id, data)
      const meta: RunMeta = {
        generatedAt: new Date().toISOString(),
        quick: settings.quick,
        rounds: settings.rounds,
        seconds: settings.seconds,
        warmupSeconds: settings.warmupSeconds,
        connections: settings.connections,
        generator: { name: generator.name, version: generator.version },
        machine,
        loadAverageAtEnd: os.loadavg().map((load) => Math.round(load * 100) / 100),
        versions: await scenario.versions(context),
      }
      stored[scenario.id] = { meta, data }
      const rendered = scenario.render(data, meta)
      done.push({ scenario, meta, rendered })
      process.stdout.write(`\n${scenario.number}. ${scenario.title}\n${rendered.text}\n`)
      progress(`  (${((performance.now() - scenarioStart) / 1000).toFixed(0)} s)`)
    } catch (error) {
      if (error instanceof Interrupted || interrupted.signal.aborted) {
        progress('interrupted: nothing written')
        return 130
      }
      if (/correctness gate/.test((error as Error).message)) {
        progress(`error: ${(error as Error).message}; nothing written`)
        return 3
      }
      // One broken scenario (a service down, a server that would not
      // start) does not cost the others: reported, and the run goes on.
      const message = (error as Error).stack ?? String(error)
      progress(`scenario ${scenario.number} failed: ${message}`)
      failed.push(`${scenario.number}. ${scenario.title}: ${(error as Error).message}`)
    }
  }
  let exitCode = 0
  const targets = done.flatMap((item) => item.rendered.targets)
  process.stdout.write(`\nTargets:\n${targetText(targets)}\n`)
  if (settings.write && done.length > 0) {
    const results = readResults()
    results.updatedAt = new Date().toISOString()
    Object.assign(results.scenarios, stored)
    for (const path of writeOutputs(results)) progress(`wrote ${path}`)
  } else {
    progress(
      done.length === 0
        ? 'nothing written'
        : `nothing written (${settings.quick ? 'a quick run' : '--no-write'}; --write to write anyway)`,
    )
  }
  if (settings.strict && targets.some((check) => verdict(check) === 'MISS')) exitCode = 1
  if (failed.length > 0) {
    process.stdout.write(
      `\nScenarios that failed:\n${failed.map((line) => `  ${line}`).join('\n')}\n`,
    )
    exitCode = 4
  }
  progress(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`)
  return exitCode
}

if (import.meta.main) process.exitCode = await runBench(process.argv.slice(2))
