import { hash } from 'node:crypto'

/**
 * How much of a key the index hashes. A token arriving in a request is a new
 * string whose hash V8 has not computed yet; hashing all ~400 characters of
 * an ES256 access token cost more than the rest of a cache hit. The tail is
 * the signature, unique per token, and a hit still compares the whole key.
 */
const INDEXED_TAIL = 64

function indexKey(key: string): string {
  return key.length > INDEXED_TAIL ? key.slice(-INDEXED_TAIL) : key
}

/**
 * A token's SHA-256 (of its UTF-8 bytes), as a 32-character string: what a
 * digest cache keeps of it. Any other string has another digest (SHA-256 is
 * collision resistant, UTF-8 one-to-one). A string with a lone surrogate has
 * no faithful UTF-8 form and is never a token: it is its own key, and cannot
 * look like a digest (whose characters are all below U+0100).
 */
export function tokenDigest(token: string): string {
  return token.isWellFormed() ? hash('sha256', token, 'binary') : token
}

export interface TokenCacheOptions {
  /**
   * Keep each key's SHA-256 ({@link tokenDigest}) instead of the key: 32
   * bytes where an access token has ~400 characters, for one hash per call
   * (~1 µs). The methods still take the keys themselves; `deleteWhere`
   * sees the digests.
   */
  digest?: boolean
}

/**
 * A bounded least-recently-used map from token strings to values. Slots live
 * in flat arrays linked through typed arrays, so a hit is one Map lookup, one
 * string comparison and a few integer writes, and nothing is allocated once
 * the cache is full. Two keys with the same last 64 characters share a slot
 * (the later one replaces the earlier): a miss, never a wrong hit. With
 * `digest`, keys are kept as their SHA-256 (see {@link TokenCacheOptions}).
 */
export class TokenCache<V> {
  readonly #capacity: number
  readonly #digest: boolean
  /**
   * The last key digested and its digest: a token sent again and again (one
   * client's, or the set after a miss's get) is compared, not hashed again.
   */
  #digestedKey: string | undefined
  #digested = ''
  readonly #index = new Map<string, number>()
  readonly #keys: (string | undefined)[]
  readonly #values: (V | undefined)[]
  readonly #prev: Uint32Array
  readonly #next: Uint32Array
  /** Slots freed by delete, reused before new ones. */
  #free: number[] = []
  /** Slots handed out so far (the high-water mark). */
  #allocated = 0
  /** Most and least recently used slots. */
  #head = 0
  #tail = 0

  constructor(capacity: number, options: TokenCacheOptions = {}) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 2 ** 31) {
      throw new TypeError('cache size must be a positive integer')
    }
    this.#capacity = capacity
    this.#digest = options.digest === true
    this.#keys = []
    this.#values = []
    this.#prev = new Uint32Array(capacity)
    this.#next = new Uint32Array(capacity)
  }

  get(token: string): V | undefined {
    const key = this.#digest ? this.#digestOf(token) : token
    const slot = this.#index.get(indexKey(key))
    if (slot === undefined || this.#keys[slot] !== key) return undefined
    if (slot !== this.#head) {
      this.#unlink(slot)
      this.#linkFront(slot)
    }
    return this.#values[slot]
  }

  set(token: string, value: V): void {
    const key = this.#digest ? this.#digestOf(token) : token
    const indexed = indexKey(key)
    let slot = this.#index.get(indexed)
    if (slot !== undefined) {
      this.#keys[slot] = key
      this.#values[slot] = value
      if (slot !== this.#head) {
        this.#unlink(slot)
        this.#linkFront(slot)
      }
      return
    }
    slot = this.#free.pop()
    if (slot === undefined) {
      if (this.#allocated < this.#capacity) slot = this.#allocated++
      else {
        // Full: the least recently used entry gives up its slot.
        slot = this.#tail
        this.#unlink(slot)
        this.#index.delete(indexKey(this.#keys[slot]!))
      }
    }
    this.#keys[slot] = key
    this.#values[slot] = value
    this.#index.set(indexed, slot)
    this.#linkFront(slot)
  }

  delete(token: string): boolean {
    const key = this.#digest ? this.#digestOf(token) : token
    const indexed = indexKey(key)
    const slot = this.#index.get(indexed)
    if (slot === undefined || this.#keys[slot] !== key) return false
    this.#release(indexed, slot)
    return true
  }

  /**
   * Drops every entry for which `predicate` is true (e.g. a revoked
   * session's tokens). It sees the keys as kept: the digests, with `digest`.
   */
  deleteWhere(predicate: (value: V, key: string) => boolean): number {
    let removed = 0
    for (const [indexed, slot] of this.#index) {
      if (predicate(this.#values[slot]!, this.#keys[slot]!)) {
        this.#release(indexed, slot)
        removed++
      }
    }
    return removed
  }

  clear(): void {
    this.#index.clear()
    this.#keys.length = 0
    this.#values.length = 0
    this.#free = []
    this.#allocated = 0
  }

  get size(): number {
    return this.#index.size
  }

  get capacity(): number {
    return this.#capacity
  }

  #digestOf(token: string): string {
    if (token !== this.#digestedKey) {
      this.#digested = tokenDigest(token)
      this.#digestedKey = token
    }
    return this.#digested
  }

  #release(indexed: string, slot: number): void {
    this.#unlink(slot)
    this.#index.delete(indexed)
    this.#keys[slot] = undefined
    this.#values[slot] = undefined
    this.#free.push(slot)
  }

  /** Takes a linked slot out of the recency list; the index is left to the caller. */
  #unlink(slot: number): void {
    const prev = this.#prev[slot]!
    const next = this.#next[slot]!
    if (slot === this.#head) this.#head = next
    else this.#next[prev] = next
    if (slot === this.#tail) this.#tail = prev
    else this.#prev[next] = prev
  }

  /** Links a slot as most recently used. Called after the index already counts it. */
  #linkFront(slot: number): void {
    // The index holds every linked slot plus, during set/get, this one.
    if (this.#index.size === 1) {
      this.#head = slot
      this.#tail = slot
      return
    }
    this.#next[slot] = this.#head
    this.#prev[this.#head] = slot
    this.#head = slot
  }
}
