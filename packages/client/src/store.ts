// Where the engine keeps what must outlive a page: the DPoP key pair, OAuth
// mode's refresh token, the refresh generation shared by the tabs. IndexedDB
// holds CryptoKey objects as they are (never exported), which localStorage
// cannot; every tab of the origin sees the same database.

import type { KeyValueStore } from './types.ts'

/**
 * A store in a Map: for tests, and for browsers without IndexedDB (this tab only).
 *
 * @example
 * createClient({ issuer, storage: memoryStore() })
 */
export function memoryStore(): KeyValueStore {
  const values = new Map<string, unknown>()
  return {
    get: async <T>(key: string) => values.get(key) as T | undefined,
    set: async (key, value) => void values.set(key, value),
    delete: async (key) => void values.delete(key),
  }
}

/**
 * A store in IndexedDB: database `name`, object store `kv`. When the database
 * cannot be opened (some private modes), it falls back to memory.
 *
 * @example
 * createClient({ issuer, storage: indexedDbStore('my-app') })
 */
export function indexedDbStore(name = 'tessera'): KeyValueStore {
  const fallback = memoryStore()
  let opened: Promise<IDBDatabase | undefined> | undefined
  const run = async <T>(
    mode: IDBTransactionMode,
    action: (store: IDBObjectStore) => IDBRequest,
    orElse: () => Promise<unknown>,
  ): Promise<T> => {
    opened ??= new Promise((resolve) => {
      try {
        const open = indexedDB.open(name, 1)
        open.onupgradeneeded = () => open.result.createObjectStore('kv')
        open.onsuccess = () => resolve(open.result)
        open.onerror = () => resolve(undefined)
      } catch {
        resolve(undefined) // no IndexedDB at all, or a SecurityError (opaque origin)
      }
    })
    const db = await opened
    if (db === undefined) return (await orElse()) as T
    return new Promise((resolve, reject) => {
      const request = action(db.transaction('kv', mode).objectStore('kv'))
      request.onsuccess = () => resolve(request.result as T)
      request.onerror = () => reject(request.error)
    })
  }
  return {
    get: (key) =>
      run(
        'readonly',
        (s) => s.get(key),
        () => fallback.get(key),
      ),
    set: (key, value) =>
      run(
        'readwrite',
        (s) => s.put(value, key),
        () => fallback.set(key, value),
      ),
    delete: (key) =>
      run(
        'readwrite',
        (s) => s.delete(key),
        () => fallback.delete(key),
      ),
  }
}

/** IndexedDB when the browser has it, else memory. */
export function defaultStore(): KeyValueStore {
  return typeof indexedDB === 'undefined' ? memoryStore() : indexedDbStore()
}
