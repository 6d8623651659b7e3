/**
 * What the scenarios of `npm run bench` share: the run's settings handed to
 * each, the split between measuring (`run`, which returns plain JSON data)
 * and reporting (`render`, a pure function of that data), the target checks,
 * and the formatting of both.
 *
 * Rendering from data alone is what lets a partial run (`--scenario 3`)
 * replace one scenario in results/bench.json and re-render the whole
 * RESULTS.md section, and `--render` redo the report without measuring.
 */

import type { LoadGenerator } from './load-generator.ts'
import type { MachineInfo } from './machine.ts'

/** The settings of one `npm run bench` run. */
export interface BenchContext {
  readonly quick: boolean
  /** Alternating rounds per comparison. */
  readonly rounds: number
  /** Seconds per timed load run. */
  readonly seconds: number
  /** Untimed warm-up per server before the rounds, seconds. */
  readonly warmupSeconds: number
  /** Open connections of the load generator (scenario 1 and 5's GET /auth/me). */
  readonly connections: number
  readonly generator: LoadGenerator
  readonly pgUrl: string
  readonly redisUrl: string
  /** Aborted on Ctrl-C. */
  readonly signal: AbortSignal
  readonly machine: MachineInfo
  progress(line: string): void
}

/** When, where and how a scenario's data was measured (kept with the data). */
export interface RunMeta {
  readonly generatedAt: string
  readonly quick: boolean
  readonly rounds: number
  readonly seconds: number
  readonly warmupSeconds: number
  readonly connections: number
  readonly generator: { readonly name: string; readonly version: string }
  readonly machine: MachineInfo
  /** 1/5/15-minute load averages when the scenario ended. */
  readonly loadAverageAtEnd: readonly number[]
  /** Versions of what the scenario loaded (libraries, PostgreSQL, Redis). */
  readonly versions: Readonly<Record<string, string>>
}

/**
 * One target of the issue, checked against a run. `value` and `goal` are in
 * the same unit; `better` says which way is good.
 */
export interface TargetCheck {
  /** What is compared, e.g. "tessera serve vs Fastify + @fastify/jwt (ES256, token reused)". */
  readonly label: string
  /** A shorter label for the targets chart. */
  readonly short?: string
  readonly value: number
  readonly goal: number
  readonly better: 'higher' | 'lower'
  /**
   * With `better: 'lower'`, the goal itself passes ("<= 100 MiB"); without,
   * only a value under it does ("< 20 ms").
   */
  readonly orEqual?: boolean
  /**
   * How to print value and goal: a ratio ("2.61x"), milliseconds, a rate,
   * mebibytes, bytes or seconds.
   */
  readonly unit: Unit
  /** Why it could not be checked (a setup skipped); the check then reads N/A. */
  readonly missing?: string
  /**
   * Reported for information, with no goal (`goal` is NaN): reads INFO,
   * never counts as a miss, and stays out of the targets chart. The text
   * says what it is reported beside (a figure the issue quotes, a peer).
   */
  readonly info?: string
}

export type Unit = 'x' | 'ms' | '/s' | 'MiB' | 'B' | 's'

export function passes(check: TargetCheck): boolean | undefined {
  if (check.info !== undefined) return undefined
  if (check.missing !== undefined || !Number.isFinite(check.value)) return undefined
  if (check.better === 'higher') return check.value >= check.goal
  return check.orEqual === true ? check.value <= check.goal : check.value < check.goal
}

/**
 * How far a check is from its goal as one number, 1 at the goal and above
 * 1 when met, whichever way is good (for the attainment chart).
 */
export function attainment(check: TargetCheck): number {
  if (passes(check) === undefined) return Number.NaN
  return check.better === 'higher' ? check.value / check.goal : check.goal / check.value
}

export function formatValue(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return 'n/a'
  if (unit === 'x') return `${value.toFixed(2)}x`
  if (unit === 'ms') return `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`
  if (unit === 'MiB') return `${value.toFixed(1)} MiB`
  if (unit === 'B') return `${Math.round(value).toLocaleString('en-US')} B`
  if (unit === 's') return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} s`
  return `${value < 100 ? value.toFixed(1) : Math.round(value).toLocaleString('en-US')}/s`
}

/** The goal as printed: ">= 0.85x", "< 20 ms", "<= 100.0 MiB"; "reported" for an INFO row. */
export function formatGoal(check: TargetCheck): string {
  if (check.info !== undefined) return 'reported'
  const sign = check.better === 'higher' ? '>=' : check.orEqual === true ? '<=' : '<'
  return `${sign} ${formatValue(check.goal, check.unit)}`
}

/**
 * The measured value as printed beside its target: with one more decimal
 * when the usual rounding would make a miss read as the goal itself
 * (0.898x is not 0.90x).
 */
export function formatMeasured(check: TargetCheck): string {
  if (check.missing !== undefined) return check.missing
  const text = formatValue(check.value, check.unit)
  if (passes(check) === false && text === formatValue(check.goal, check.unit)) {
    if (check.unit === 'x') return `${check.value.toFixed(3)}x`
    if (check.unit === 'ms') return `${check.value.toFixed(2)} ms`
    if (check.unit === 'MiB') return `${check.value.toFixed(2)} MiB`
    if (check.unit === 's') return `${check.value.toFixed(3)} s`
    if (check.unit === 'B') return `${check.value.toFixed(1)} B`
    return `${check.value.toFixed(1)}/s`
  }
  return text
}

export function verdict(check: TargetCheck): 'PASS' | 'MISS' | 'N/A' | 'INFO' {
  if (check.info !== undefined) return 'INFO'
  const pass = passes(check)
  return pass === undefined ? 'N/A' : pass ? 'PASS' : 'MISS'
}

function describe(check: TargetCheck): string {
  const measured = formatMeasured(check)
  if (check.info !== undefined) return `${check.label}: ${measured} (${check.info})`
  return `${check.label}: ${measured} (target ${formatGoal(check)})`
}

/** The markdown lines of target checks. */
export function targetMarkdown(targets: readonly TargetCheck[]): string {
  return targets.map((check) => `- **${verdict(check)}** ${describe(check)}`).join('\n')
}

/** The console lines of target checks. */
export function targetText(targets: readonly TargetCheck[]): string {
  return targets.map((check) => `  ${verdict(check).padEnd(4)}  ${describe(check)}`).join('\n')
}

export interface Chart {
  /** File name under bench/charts/. */
  readonly file: string
  readonly svg: string
  /** Alt text in RESULTS.md. */
  readonly alt: string
}

/** What `render` makes of a scenario's data. */
export interface Rendered {
  /** The scenario's part of the RESULTS.md section, without its heading; charts as charts/<file>. */
  readonly markdown: string
  /** The console report. */
  readonly text: string
  readonly charts: readonly Chart[]
  readonly targets: readonly TargetCheck[]
}

export interface Scenario<D = unknown> {
  /** 1..8, as in `--scenario`. */
  readonly number: number
  /** The key in results/bench.json. */
  readonly id: string
  readonly title: string
  /**
   * Measures; `earlier` holds the data of scenarios already run in this
   * run, by id (scenario 4 reuses scenario 1's memory samples).
   */
  run(context: BenchContext, earlier: ReadonlyMap<string, unknown>): Promise<D>
  /** Reports, from the data alone (it may come from results/bench.json). */
  render(data: D, meta: RunMeta): Rendered
  /** Versions of what it loads, recorded with its data. */
  versions(context: BenchContext): Promise<Record<string, string>>
  /**
   * What loads its servers, when not the run's generator (wrk or
   * autocannon): named in its provenance line instead.
   */
  readonly loadGenerator?: string
}

/** Markdown image links for charts. */
export function chartLinks(charts: readonly Chart[]): string {
  return charts.map((chart) => `![${chart.alt}](charts/${chart.file})`).join('\n\n')
}

/** The median of `values` (NaN for none). */
export function median(values: readonly number[]): number {
  const finite = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b)
  if (finite.length === 0) return Number.NaN
  const middle = finite.length >> 1
  return finite.length % 2 === 1 ? finite[middle]! : (finite[middle - 1]! + finite[middle]!) / 2
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** Thrown when Ctrl-C stopped a scenario. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted')
    this.name = 'Interrupted'
  }
}

export function checkSignal(signal: AbortSignal): void {
  if (signal.aborted) throw new Interrupted()
}
