// The `revocation` event of Tessera's feed (GET /auth/revocations) as code:
// the server writes each entry with formatRevocationEvent, the feed client
// reads it with parseRevocationEvent, so the two ends cannot drift apart.
// docs/http-api.md, "Revocation feed", shows the bytes.

import type { Revocation } from './revocation-set.ts'

/** One entry of the feed, as the server sends it in a `revocation` event. */
export type RevocationEntry = Revocation & { id: number }

/**
 * One entry as the server's SSE message: `id: <id>`, `event: revocation` and
 * `data: <entry JSON>`, each line ending in LF, then the blank line. The JSON
 * is `{id, kind, value, before, expiresAt}` in that order, `before` only for
 * `sub`, and nothing else (a stored entry's other fields stay home).
 *
 * @example
 * formatRevocationEvent({ id: 41, kind: 'sid', value: 's-1', expiresAt: 1780316160000 })
 * // 'id: 41\nevent: revocation\ndata: {"id":41,"kind":"sid","value":"s-1","expiresAt":1780316160000}\n\n'
 */
export function formatRevocationEvent(entry: RevocationEntry): string {
  const data =
    entry.kind === 'sub'
      ? {
          id: entry.id,
          kind: entry.kind,
          value: entry.value,
          before: entry.before,
          expiresAt: entry.expiresAt,
        }
      : { id: entry.id, kind: entry.kind, value: entry.value, expiresAt: entry.expiresAt }
  // JSON.stringify escapes line breaks, so `data` stays one line as SSE requires.
  return `id: ${entry.id}\nevent: revocation\ndata: ${JSON.stringify(data)}\n\n`
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

/**
 * The entry in a `revocation` event's data, or undefined when the data is
 * not one: not JSON, an unknown `kind`, an empty `value`, a missing or
 * non-finite `expiresAt`, or a `sub` entry without a finite `before`.
 *
 * Anything that can still be enforced is taken: unknown members are
 * ignored, and a missing `id` reads as 0 (the event's `id:` field still
 * moves the cursor). Refusing such an entry would leave its tokens valid.
 *
 * @example
 * parseRevocationEvent('{"id":41,"kind":"sid","value":"s-1","expiresAt":1780316160000}')
 * // { id: 41, kind: 'sid', value: 's-1', expiresAt: 1780316160000 }
 * parseRevocationEvent('{"kind":"sid"}') // undefined
 */
export function parseRevocationEvent(data: string): RevocationEntry | undefined {
  let value: unknown
  try {
    value = JSON.parse(data)
  } catch {
    return undefined
  }
  if (value === null || typeof value !== 'object') return undefined
  const entry = value as Record<string, unknown>
  if (typeof entry.value !== 'string' || entry.value === '' || !isFiniteNumber(entry.expiresAt)) {
    return undefined
  }
  const id = isFiniteNumber(entry.id) ? entry.id : 0
  if (entry.kind === 'jti' || entry.kind === 'sid') {
    return { id, kind: entry.kind, value: entry.value, expiresAt: entry.expiresAt }
  }
  if (entry.kind === 'sub' && isFiniteNumber(entry.before)) {
    const { value: sub, before, expiresAt } = entry
    return { id, kind: 'sub', value: sub, before, expiresAt }
  }
  return undefined
}
