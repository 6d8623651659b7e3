/**
 * A bounded map with least-recently-used eviction, approximated by two
 * generations: a hit in the current generation costs one Map lookup and no
 * write; a hit in the previous one moves the entry forward; when the current
 * generation fills, the previous one is dropped whole. Entries that are never
 * read again leave within two generations, so memory stays within `maxSize`.
 */
export class TokenCache<V> {
  #current = new Map<string, V>()
  #previous = new Map<string, V>()
  readonly #generationSize: number

  constructor(maxSize: number) {
    if (!Number.isInteger(maxSize) || maxSize < 2) {
      throw new TypeError('cache size must be an integer of at least 2')
    }
    this.#generationSize = Math.ceil(maxSize / 2)
  }

  get(key: string): V | undefined {
    const value = this.#current.get(key)
    if (value !== undefined) return value
    const old = this.#previous.get(key)
    if (old !== undefined) {
      this.#previous.delete(key)
      this.#insert(key, old)
    }
    return old
  }

  set(key: string, value: V): void {
    if (this.#current.has(key)) this.#current.set(key, value)
    else {
      this.#previous.delete(key)
      this.#insert(key, value)
    }
  }

  delete(key: string): boolean {
    const a = this.#current.delete(key)
    const b = this.#previous.delete(key)
    return a || b
  }

  /** Drops every entry for which `predicate` is true (e.g. a revoked session's tokens). */
  deleteWhere(predicate: (value: V, key: string) => boolean): number {
    let removed = 0
    for (const map of [this.#current, this.#previous]) {
      for (const [key, value] of map) {
        if (predicate(value, key)) {
          map.delete(key)
          removed++
        }
      }
    }
    return removed
  }

  clear(): void {
    this.#current.clear()
    this.#previous.clear()
  }

  get size(): number {
    return this.#current.size + this.#previous.size
  }

  #insert(key: string, value: V): void {
    if (this.#current.size >= this.#generationSize) {
      this.#previous = this.#current
      this.#current = new Map()
    }
    this.#current.set(key, value)
  }
}
