// The revocation list held in memory: the one place its merge and matching
// rules are written. The feed client (revocation-feed.ts) fills one from the
// server's feed; the Tessera server fills one from its store. The rules are
// the contract of docs/http-api.md, "Revocation feed".

/** The claims a revocation check reads: any verified payload will do. */
export interface RevocableClaims {
  jti?: unknown
  sid?: unknown
  sub?: unknown
  iat?: unknown
}

/** One rule of the revocation list, without the id the server numbers it with. */
export type Revocation =
  | { kind: 'jti' | 'sid'; value: string; expiresAt: number }
  /** Every token of user `value` whose `iat` is before `before` (epoch seconds). */
  | { kind: 'sub'; value: string; before: number; expiresAt: number }

export interface RevocationSetOptions {
  /** The clock, in epoch milliseconds (what `expiresAt` is in). Default `Date.now`. */
  now?: () => number
}

/** What a user's `sub` entries merge into; mutated in place, so a merge allocates nothing. */
interface SubCutoff {
  /** Tokens of the user with `iat` below this (epoch seconds) are revoked. */
  before: number
  /** Epoch milliseconds. */
  expiresAt: number
}

/**
 * The revocation list in memory: three Maps, so a check is at most three
 * lookups and allocates nothing.
 *
 * - `jti` and `sid` entries: the latest `expiresAt` of the entries naming a
 *   value wins.
 * - `sub` entries merge per user into the highest `before` and the latest
 *   `expiresAt` of the entries that overlap in time, so one record per user
 *   is enough; an entry arriving after the user's record has expired starts
 *   a new one. (Entries arrive with rising `before` in practice: the merge
 *   keeps the newest cut-over alive as long as the longest-lived entry.)
 * - A token is revoked when an unexpired record matches it: its `jti`, its
 *   `sid`, or its `sub` with an `iat` that is missing, not a number, or below
 *   `before`. A token issued in the second of `before` or later survives (a
 *   login right after "log out everywhere").
 * - A record counts until its `expiresAt` (exclusive); `prune()` only frees
 *   the memory, so when it runs never changes an answer.
 *
 * An entry that is not one (unknown kind, empty value, a non-finite number)
 * throws a `TypeError`.
 *
 * @example
 * const revoked = new RevocationSet()
 * revoked.add({ kind: 'sub', value: 'user-1', before: 1780315201, expiresAt: Date.now() + 960_000 })
 * revoked.isRevoked({ sub: 'user-1', iat: 1780315200 }) // true
 * revoked.isRevoked({ sub: 'user-1', iat: 1780315201 }) // false: issued in the second of `before`
 */
export class RevocationSet {
  readonly #now: () => number
  readonly #jtis = new Map<string, number>()
  readonly #sids = new Map<string, number>()
  readonly #subs = new Map<string, SubCutoff>()

  constructor(options: RevocationSetOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('revocation set options must be an object')
    }
    const { now = Date.now } = options
    if (typeof now !== 'function') throw new TypeError('now must be a function')
    this.#now = now
  }

  /** Records held (expired ones count until `prune()`). */
  get size(): number {
    return this.#jtis.size + this.#sids.size + this.#subs.size
  }

  /**
   * Enforces an entry, merged with what is held for the same value. Applying
   * an entry twice changes nothing. False when it has already expired (then
   * nothing is held for it).
   */
  add(entry: Revocation): boolean {
    checkRevocation(entry)
    const now = this.#now()
    if (entry.expiresAt <= now) return false
    if (entry.kind === 'sub') {
      const current = this.#subs.get(entry.value)
      if (current === undefined || current.expiresAt <= now) {
        this.#subs.set(entry.value, { before: entry.before, expiresAt: entry.expiresAt })
      } else {
        current.before = Math.max(current.before, entry.before)
        current.expiresAt = Math.max(current.expiresAt, entry.expiresAt)
      }
    } else {
      const map = entry.kind === 'jti' ? this.#jtis : this.#sids
      map.set(entry.value, Math.max(entry.expiresAt, map.get(entry.value) ?? 0))
    }
    return true
  }

  /** True when an unexpired record names the token's `jti`, its `sid`, or its `sub` with an `iat` before `before`. */
  isRevoked(claims: RevocableClaims): boolean {
    // Up to three Map lookups; the clock is read only on a hit.
    const { jti, sid, sub } = claims
    if (typeof jti === 'string') {
      const expiresAt = this.#jtis.get(jti)
      if (expiresAt !== undefined && expiresAt > this.#now()) return true
    }
    if (typeof sid === 'string') {
      const expiresAt = this.#sids.get(sid)
      if (expiresAt !== undefined && expiresAt > this.#now()) return true
    }
    if (typeof sub === 'string') {
      const cutoff = this.#subs.get(sub)
      if (cutoff !== undefined && cutoff.expiresAt > this.#now()) {
        // Without a numeric `iat` a token cannot prove it is newer than the cut-over.
        const { iat } = claims
        if (typeof iat !== 'number' || iat < cutoff.before) return true
      }
    }
    return false
  }

  /**
   * The `before` (epoch seconds) of the user's unexpired `sub` record: their
   * tokens with an `iat` below it are revoked, so an issuer must not stamp a
   * new one earlier. 0 when there is none.
   */
  revokedBefore(sub: string): number {
    const cutoff = this.#subs.get(sub)
    return cutoff === undefined || cutoff.expiresAt <= this.#now() ? 0 : cutoff.before
  }

  /** Forgets expired records, so memory follows the list; returns how many. */
  prune(): number {
    const now = this.#now()
    let removed = 0
    for (const map of [this.#jtis, this.#sids]) {
      for (const [value, expiresAt] of map) {
        if (expiresAt <= now) {
          map.delete(value)
          removed++
        }
      }
    }
    for (const [sub, cutoff] of this.#subs) {
      if (cutoff.expiresAt <= now) {
        this.#subs.delete(sub)
        removed++
      }
    }
    return removed
  }

  /** Forgets every record. */
  clear(): void {
    this.#jtis.clear()
    this.#sids.clear()
    this.#subs.clear()
  }
}

function checkRevocation(entry: Revocation): void {
  if (entry === null || typeof entry !== 'object') {
    throw new TypeError('a revocation entry must be an object')
  }
  const { kind, value, expiresAt } = entry
  if (kind !== 'jti' && kind !== 'sid' && kind !== 'sub') {
    throw new TypeError('a revocation entry kind must be "jti", "sid" or "sub"')
  }
  if (typeof value !== 'string' || value === '') {
    throw new TypeError('a revocation entry value must be a non-empty string')
  }
  if (!Number.isFinite(expiresAt) || (kind === 'sub' && !Number.isFinite(entry.before))) {
    throw new TypeError(
      'a revocation entry expiresAt (and a sub entry before) must be finite numbers',
    )
  }
}
