/**
 * The argon2id hashing limit: how many signups and logins per second the
 * machine could do if it did nothing but hash, from the server's own hasher
 * (same module, same OWASP parameters) timed one call at a time.
 */

import os from 'node:os'
import { createPasswordHasher, OWASP_ARGON2 } from '../../packages/server/src/auth/passwords.ts'
import { median } from './measure.ts'

export { OWASP_ARGON2 }

export interface HashingLimit {
  /** Median wall time of one argon2id hash (signup), ms, one at a time before any server started. */
  hashMs: number
  /** Median wall time of one verify (login), ms. */
  verifyMs: number
  cores: number
  /** cores / hash time: signups per second if the machine did nothing but hash. */
  signupsPerSecond: number
  /** cores / verify time: logins per second if the machine did nothing but verify. */
  loginsPerSecond: number
}

/**
 * Times the server's own hasher, one call at a time, `samples` hashes and as
 * many verifies after one untimed pair; run it before any server starts.
 */
export async function measureHashing(samples: number): Promise<HashingLimit> {
  const hasher = createPasswordHasher()
  const password = 'a load test passphrase'
  const stored = await hasher.hash(password)
  await hasher.verify(stored, password)
  const hashes: number[] = []
  const verifies: number[] = []
  for (let i = 0; i < samples; i++) {
    let start = performance.now()
    await hasher.hash(password)
    hashes.push(performance.now() - start)
    start = performance.now()
    const { ok } = await hasher.verify(stored, password)
    verifies.push(performance.now() - start)
    if (!ok) throw new Error('argon2 verify refused the password it just hashed')
  }
  const cores = os.availableParallelism()
  const hashMs = median(hashes)
  const verifyMs = median(verifies)
  return {
    hashMs,
    verifyMs,
    cores,
    signupsPerSecond: cores / (hashMs / 1000),
    loginsPerSecond: cores / (verifyMs / 1000),
  }
}

/** One argon2id hash of `password` with the server's parameters (for seeded users). */
export function hashPassword(password: string): Promise<string> {
  return createPasswordHasher().hash(password)
}

/**
 * What the machine really hashes per second with every core busy: `cores`
 * verify loops at once on this process's threadpool, for `ms`. Below
 * cores / single-verify time when the cores share caches and memory
 * bandwidth (argon2id's 19 MiB per hash does not fit in a core's cache).
 */
export async function measureParallelVerifies(cores: number, ms: number): Promise<number> {
  const hasher = createPasswordHasher()
  const password = 'a load test passphrase'
  const stored = await hasher.hash(password)
  let done = 0
  const start = performance.now()
  const deadline = start + ms
  let last = start
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const { ok } = await hasher.verify(stored, password)
      if (!ok) throw new Error('argon2 verify refused the password it just hashed')
      done++
      last = performance.now()
    }
  }
  await Promise.all(Array.from({ length: cores }, loop))
  return done / ((last - start) / 1000)
}
