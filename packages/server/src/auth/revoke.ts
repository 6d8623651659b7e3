// Revoking what a flow ends: sessions by `sid`, every older token of a user
// by `{sub, before}`, and the wait that keeps new tokens out of a cut-over
// second (docs/architecture.md, "The cut-over second of {sub, before}").

import type { RevocationEntry } from '../storage/ports.ts'
import type { RevocationList } from './revocation.ts'

export interface Revoker {
  /** Every access token of these sessions dies, here and (through the list's fan-out) everywhere. */
  sessions(sessionIds: readonly string[]): Promise<void>
  /**
   * Every access token of the user issued up to now dies, including those of
   * this very second: `iat` has one-second resolution, so `before` is the next
   * second, and awaitCutover() keeps new tokens out of this one (issue #12: a
   * demoted admin refreshing every second kept a token with his old roles).
   * Resolves once that second is over, so whatever the caller does next (a
   * login right after `tessera users set-roles`, on any instance, even one
   * that has not heard of the entry yet) gets a token that survives it.
   */
  userTokens(userId: string): Promise<void>
  /**
   * Waits out the second of a `{sub, before}` cut-over for this user, if one
   * is running: a token issued in it would be born revoked. At most one
   * second, and only right after a role change, logout everywhere or a
   * disabled account.
   */
  awaitCutover(userId: string): Promise<void>
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export function createRevoker(options: {
  revocations: RevocationList
  now: () => number
  /** Seconds an access token lives: revocation entries outlive it. */
  accessTokenTtl: number
  sleep?: (ms: number) => Promise<void>
}): Revoker {
  const { revocations, now } = options
  const sleep = options.sleep ?? realSleep
  /** Revocation entries outlive every access token they could match, plus clock skew. */
  const entryTtlMs = options.accessTokenTtl * 1000 + 60_000

  return {
    async sessions(sessionIds) {
      if (sessionIds.length === 0) return
      const expiresAt = now() + entryTtlMs
      await revocations.add(sessionIds.map((value) => ({ kind: 'sid', value, expiresAt })))
    },
    async userTokens(userId) {
      const entry: RevocationEntry = {
        kind: 'sub',
        value: userId,
        before: Math.floor(now() / 1000) + 1,
        expiresAt: now() + entryTtlMs,
      }
      await revocations.add([entry])
      const wait = entry.before * 1000 - now()
      if (wait > 0) await sleep(wait)
    },
    async awaitCutover(userId) {
      const wait = revocations.issuableFrom(userId) * 1000 - now()
      if (wait > 0) await sleep(wait)
    },
  }
}
