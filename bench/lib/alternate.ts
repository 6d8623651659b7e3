/**
 * Closed-loop HTTP load on several servers in alternation: an untimed
 * warm-up each, then rounds in which every server is loaded once, starting
 * from a different one each round, so a burst of noise on the machine hits
 * them all alike. Medians over the rounds are what the reports show.
 */

import type { LoadGenerator, LoadResult, TokenSet } from './load-generator.ts'
import { checkSignal, median } from './scenario.ts'

/** One server to load. */
export interface LoadTarget {
  readonly id: string
  /** The full URL requested, e.g. http://127.0.0.1:4000/auth/me. */
  readonly url: string
  readonly tokens: TokenSet
}

/** Every round of one server, and their medians. */
export interface TargetSummary {
  readonly id: string
  /** Successful requests per second, median over the rounds. */
  readonly rps: number
  readonly p50Ms: number
  readonly p99Ms: number
  /** (max - min) / median of the rounds' req/s: how far to trust the median. */
  readonly spread: number
  /** Non-2xx answers and socket errors over all rounds (warm-up excluded). */
  readonly errors: number
  readonly rounds: readonly LoadResult[]
}

export interface AlternateOptions {
  readonly generator: LoadGenerator
  readonly connections: number
  readonly rounds: number
  readonly seconds: number
  /** Untimed warm-up per server before the rounds (JIT, caches, connections). */
  readonly warmupSeconds: number
  readonly signal?: AbortSignal
  /** Called after each timed run (progress lines, memory samples). */
  readonly onRun?: (target: LoadTarget, result: LoadResult, round: number) => void
}

export function summarize(id: string, rounds: readonly LoadResult[]): TargetSummary {
  const rps = rounds.map((r) => r.rps)
  const mid = median(rps)
  return {
    id,
    rps: mid,
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    spread: rounds.length > 1 && mid > 0 ? (Math.max(...rps) - Math.min(...rps)) / mid : 0,
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    rounds,
  }
}

/**
 * Runs `measure` on every item `rounds` times in alternation, after one
 * `warmUp` each (when given); returns the samples in the items' order.
 */
export async function alternateEach<I, T>(
  items: readonly I[],
  options: {
    readonly rounds: number
    readonly signal?: AbortSignal
    readonly warmUp?: (item: I) => Promise<unknown>
    readonly measure: (item: I, round: number) => Promise<T>
  },
): Promise<T[][]> {
  if (options.warmUp !== undefined) {
    for (const item of items) {
      if (options.signal !== undefined) checkSignal(options.signal)
      await options.warmUp(item)
    }
  }
  const samples = items.map(() => [] as T[])
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < items.length; k++) {
      if (options.signal !== undefined) checkSignal(options.signal)
      const index = (round + k) % items.length
      samples[index]!.push(await options.measure(items[index]!, round))
    }
  }
  return samples
}

/** Loads every target `rounds` times in alternation; summaries in the targets' order. */
export async function alternate(
  targets: readonly LoadTarget[],
  options: AlternateOptions,
): Promise<TargetSummary[]> {
  const run = (target: LoadTarget, seconds: number): Promise<LoadResult> =>
    options.generator.run({
      url: target.url,
      tokens: target.tokens,
      connections: options.connections,
      seconds,
    })
  const samples = await alternateEach(targets, {
    rounds: options.rounds,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.warmupSeconds > 0
      ? { warmUp: (target: LoadTarget) => run(target, options.warmupSeconds) }
      : {}),
    measure: async (target, round) => {
      const result = await run(target, options.seconds)
      options.onRun?.(target, result, round)
      return result
    },
  })
  return targets.map((target, index) => summarize(target.id, samples[index]!))
}
