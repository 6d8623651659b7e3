// Test double: an in-memory KeyStore that honours the port's contract,
// including a rotation lock that serializes callers across "instances"
// sharing it. Every method yields to the event loop first, like real I/O, so
// concurrent callers interleave the way they would against a database.
// Not for production use: nothing is persisted.

import type { KeyStore, SigningKeyRecord } from '../../src/storage/ports.ts'

export interface MemoryKeyStore extends KeyStore {
  /** The stored rows as they are (copies), for assertions. */
  readonly rows: () => SigningKeyRecord[]
  /** How many times the rotation lock was taken. */
  readonly lockCount: () => number
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * An in-memory {@link KeyStore} for tests.
 *
 * @example
 * const store = createMemoryKeyStore()
 * const ring = createKeyRing({ store, sealer, alg: 'ES256', hsSecrets: [], rotationInterval: 86400, accessTokenTtl: 900, now })
 */
export function createMemoryKeyStore(): MemoryKeyStore {
  const keys = new Map<string, SigningKeyRecord>()
  let lock: Promise<void> = Promise.resolve()
  let locks = 0

  return {
    async listKeys() {
      await tick()
      return [...keys.values()].map((key) => ({ ...key }))
    },
    async insertKey(key) {
      await tick()
      if (keys.has(key.kid)) throw new Error('duplicate kid')
      keys.set(key.kid, { ...key })
    },
    async retireKey(kid, retiresAt, expiresAt) {
      await tick()
      const key = keys.get(kid)
      if (key !== undefined) keys.set(kid, { ...key, retiresAt, expiresAt })
    },
    async deleteExpiredKeys(now) {
      await tick()
      let deleted = 0
      for (const [kid, key] of keys) {
        if (key.expiresAt !== null && key.expiresAt <= now) {
          keys.delete(kid)
          deleted++
        }
      }
      return deleted
    },
    withRotationLock<T>(fn: () => Promise<T>): Promise<T> {
      const run = lock.then(async () => {
        locks++
        await tick()
        return fn()
      })
      lock = run.then(
        () => undefined,
        () => undefined,
      )
      return run
    },
    rows: () => [...keys.values()].map((key) => ({ ...key })),
    lockCount: () => locks,
  }
}
