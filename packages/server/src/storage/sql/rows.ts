// Small helpers shared by the row mappers and queries.

import { toNumber } from './dialect.ts'
import type { DbInteger } from './schema.ts'

/**
 * Throws a RangeError unless `limit` is a non-negative safe integer: SQLite
 * reads a negative LIMIT as "no limit", which a caller never means.
 */
export function checkLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError('limit must be a non-negative integer')
  }
}

/** A nullable integer column as a number or null. */
export function toNullableNumber(value: DbInteger | null): number | null {
  return value === null ? null : toNumber(value)
}

/** A JSON text column holding an array of strings (roles, amr, passkey transports). */
export function parseStringArray(text: string): string[] {
  const value: unknown = JSON.parse(text)
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new TypeError('stored value is not a JSON array of strings')
  }
  return value
}

/** A JSON text column holding an object (audit details). */
export function parseObject(text: string): Record<string, unknown> {
  const value: unknown = JSON.parse(text)
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError('stored value is not a JSON object')
  }
  // Narrowed above to a plain JSON object, whose keys are all strings.
  return value as Record<string, unknown>
}
