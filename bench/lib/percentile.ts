/** Percentiles of timed samples, as the bench scripts report them. */

/**
 * The nearest-rank percentile (`p` from 0 to 100) of `values`: a value that
 * was measured, never an interpolation; NaN for none.
 *
 * @example
 * percentile([5, 1, 4, 2, 3], 50) // 3
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!
}
