/**
 * A small measuring harness: contenders of one scenario are timed in
 * alternating rounds, so that a burst of noise from the machine (other
 * processes, GC, frequency scaling) hits them all alike instead of whichever
 * ran during it; the median round is what is reported.
 */

/** One library (or the bare limit) doing one operation. */
export interface Contender {
  readonly name: string
  /** `sync` functions are called in a tight loop; `async` ones are awaited one by one. */
  readonly kind: 'sync' | 'async'
  /** One operation. What it returns is kept, so the engine cannot drop the work. */
  readonly run: () => unknown
}

export interface Measurement {
  readonly name: string
  /** Median of the rounds, operations per second. */
  readonly opsPerSec: number
  /** Every round, in the order they ran. */
  readonly rounds: readonly number[]
  /** (max - min) / median over the rounds: how far to trust the median. */
  readonly spread: number
}

export interface MeasureOptions {
  readonly rounds: number
  /** Time budget per contender per round, in ms. */
  readonly roundMs: number
  /** Untimed warm-up per contender before the rounds, in ms (lets the JIT settle). */
  readonly warmupMs: number
}

/** Results are written here so that no call can be optimized away. */
let sink: unknown

/** Keeps the last result alive; call once at the end so the sink is observable. */
export function drainSink(): unknown {
  const last = sink
  sink = undefined
  return last
}

/** Runs `fn` for about `ms` milliseconds, in batches sized to ~1 ms, and returns ops/s. */
function runSync(fn: () => unknown, ms: number): number {
  let batch = 8
  let ops = 0
  const start = performance.now()
  const deadline = start + ms
  let now = start
  while (true) {
    const batchStart = now
    for (let i = 0; i < batch; i++) sink = fn()
    ops += batch
    now = performance.now()
    if (now >= deadline) break
    // Reading the clock costs too: grow batches until one takes about a millisecond.
    if (now - batchStart < 1 && batch < 1 << 20) batch *= 2
  }
  return ops / ((now - start) / 1000)
}

/** Same as {@link runSync}, awaiting each call in turn, which is how callers use an async API. */
async function runAsync(fn: () => unknown, ms: number): Promise<number> {
  let batch = 8
  let ops = 0
  const start = performance.now()
  const deadline = start + ms
  let now = start
  while (true) {
    const batchStart = now
    for (let i = 0; i < batch; i++) sink = await fn()
    ops += batch
    now = performance.now()
    if (now >= deadline) break
    if (now - batchStart < 1 && batch < 1 << 20) batch *= 2
  }
  return ops / ((now - start) / 1000)
}

function runOnce(contender: Contender, ms: number): number | Promise<number> {
  return contender.kind === 'sync' ? runSync(contender.run, ms) : runAsync(contender.run, ms)
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * Warms every contender up, then runs `rounds` rounds; each round times every
 * contender once, starting from a different one each round so none always
 * goes first (or last, right after a GC-heavy neighbour).
 */
export async function measureScenario(
  contenders: readonly Contender[],
  options: MeasureOptions,
): Promise<Measurement[]> {
  for (const contender of contenders) await runOnce(contender, options.warmupMs)
  const samples = contenders.map(() => [] as number[])
  for (let round = 0; round < options.rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const index = (round + k) % contenders.length
      samples[index]!.push(await runOnce(contenders[index]!, options.roundMs))
    }
  }
  return contenders.map((contender, index) => {
    const rounds = samples[index]!
    const mid = median(rounds)
    return {
      name: contender.name,
      opsPerSec: mid,
      rounds,
      spread: (Math.max(...rounds) - Math.min(...rounds)) / mid,
    }
  })
}

/** Returns a function that hands out the items of `pool` in turn, forever. */
export function cycle<T>(pool: readonly T[]): () => T {
  if (pool.length === 0) throw new TypeError('cannot cycle an empty pool')
  let index = -1
  const last = pool.length - 1
  return () => {
    index = index === last ? 0 : index + 1
    return pool[index]!
  }
}
