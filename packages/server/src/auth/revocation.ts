import { type RevocableClaims, RevocationSet } from '@tessera/jwt'
import type { RevocationEntry, RevocationStore, StoredRevocation } from '../storage/ports.ts'

/**
 * The revocation list held in memory, so every protected request checks it
 * with three Map lookups and no I/O: @tessera/jwt's RevocationSet, the one
 * the resource servers' feed client holds, with the same rules. Around it,
 * this keeps the store, the cursor and the listeners. The store is the source
 * of truth: the list loads from it at start, writes go to it first, and
 * `sync()` catches up on entries other instances wrote.
 */
export interface RevocationList {
  /** Loads every unexpired entry from the store. */
  load(): Promise<void>
  /** Stores entries, then enforces them here. */
  add(entries: RevocationEntry[]): Promise<StoredRevocation[]>
  /** Enforces entries already stored (by another instance, or a feed). */
  apply(entries: readonly StoredRevocation[]): void
  /** Reads entries newer than the last one seen. */
  sync(): Promise<number>
  isRevoked(claims: RevocableClaims): boolean
  /**
   * The first second (epoch seconds) whose tokens of `sub` survive its newest
   * `{sub, before}` entry: tokens must not be issued for `sub` before it, or
   * they are born revoked. 0 when the user has no such entry.
   */
  issuableFrom(sub: string): number
  /**
   * Calls `listener` with every batch of entries newly enforced here, from any
   * source (this instance, the fan-out, a sync), for the revocation feed.
   * Returns the unsubscribe function.
   */
  subscribe(listener: (entries: readonly StoredRevocation[]) => void): () => void
  /** Forgets expired entries; returns how many. */
  prune(): number
  /** Every entry up to this id is applied (the feed cursor). */
  readonly cursor: number
  readonly size: number
}

const SYNC_PAGE = 1000

export function createRevocationList(options: {
  store: RevocationStore
  now: () => number
  /** Told of entries this instance added, after they are stored (fan-out to other instances). */
  onAdded?: (entries: readonly StoredRevocation[]) => void
}): RevocationList {
  const { store, now, onAdded } = options
  const revoked = new RevocationSet({ now })
  let cursor = 0
  const listeners = new Set<(entries: readonly StoredRevocation[]) => void>()
  /** Ids already announced to listeners, so a sync after a push does not repeat them. */
  const announced = new Set<number>()

  function announce(entries: readonly StoredRevocation[]): void {
    if (listeners.size === 0) return
    const fresh = entries.filter((e) => e.id > 0 && e.expiresAt > now() && !announced.has(e.id))
    if (fresh.length === 0) return
    for (const e of fresh) announced.add(e.id)
    for (const listener of listeners) listener(fresh)
  }

  /**
   * Enforces an entry. The cursor means "every id up to here is applied": a
   * read of the store in id order may move it anywhere forward, but an entry
   * pushed to us (our own add, a fan-out message) only when it is the next
   * id; otherwise an entry we never saw could fall behind the cursor for good.
   */
  function applyOne(entry: StoredRevocation, fromStoreScan: boolean): void {
    if (fromStoreScan ? entry.id > cursor : entry.id === cursor + 1) cursor = entry.id
    revoked.add(entry)
  }

  async function sync(): Promise<number> {
    let applied = 0
    for (;;) {
      const page = await store.listRevocations(cursor, now(), SYNC_PAGE)
      for (const entry of page) applyOne(entry, true)
      announce(page)
      applied += page.length
      if (page.length < SYNC_PAGE) return applied
    }
  }

  return {
    async load() {
      cursor = 0
      revoked.clear()
      await sync()
    },
    async add(entries) {
      const stored = await store.addRevocations(entries, now())
      for (const entry of stored) applyOne(entry, false)
      announce(stored)
      onAdded?.(stored)
      return stored
    },
    apply(entries) {
      for (const entry of entries) applyOne(entry, false)
      announce(entries)
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    sync,
    isRevoked(claims) {
      // Tokens issued in the second of `before` or later survive. `before` is
      // the second after the cut-over (auth/revoke.ts), and the issuer waits
      // for it, so no token from the cut-over second itself survives.
      return revoked.isRevoked(claims)
    },
    issuableFrom(sub) {
      return revoked.revokedBefore(sub)
    },
    prune() {
      const removed = revoked.prune()
      // Ids at or below the cursor can only come back through a scan, which starts above it.
      for (const id of announced) if (id <= cursor) announced.delete(id)
      return removed
    },
    get cursor() {
      return cursor
    },
    get size() {
      return revoked.size
    },
  }
}
