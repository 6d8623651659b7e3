/** A span of time: a number of seconds, or a string such as `'15m'`, `'30d'`, `'10s'`, `'900'`. */
export type Duration = number | string

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86_400,
  w: 604_800,
}

const PATTERN = /^(\d+(?:\.\d+)?)\s*([smhdw]?)$/

/**
 * Seconds in `value`. Numbers are seconds; strings take one unit suffix
 * (`s`, `m`, `h`, `d`, `w`) or none (seconds).
 *
 * @example parseDuration('15m') // 900
 */
export function parseDuration(value: Duration, name = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value
  } else if (typeof value === 'string') {
    const match = PATTERN.exec(value.trim().toLowerCase())
    if (match !== null) return Number(match[1]) * UNIT_SECONDS[match[2] || 's']!
  }
  throw new TypeError(`${name} must be a number of seconds or a string like "15m", "30d", "10s"`)
}
