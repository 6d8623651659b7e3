// The users as the flows read and write them. Profiles read on every
// GET /auth/me are kept a few seconds so the hot path skips the database;
// writes through this instance drop the entry at once; another instance's
// edit shows after at most PROFILE_TTL_MS (role changes and disabling also
// revoke the user's tokens, everywhere within a second). Anything that
// decides on a password or issues roles reads fresh.

import { TokenCache } from '@tessera/jwt'
import type { UserPatch, UserRecord, UserStore } from '../storage/ports.ts'
import { AuthError } from './errors.ts'
import type { AccessContext, PublicUser } from './types.ts'
import { publicUser } from './views.ts'

/** Profiles kept for GET /auth/me: how many, and how long. */
const PROFILE_CACHE_SIZE = 10_000
const PROFILE_TTL_MS = 5_000

export interface Profiles {
  /** The caller's user; invalid_token when the account is gone or disabled. */
  requireUser(access: AccessContext, read?: 'cached' | 'fresh'): Promise<UserRecord>
  /** The user and their `GET /auth/me` view, built once per cache entry. */
  requireProfile(
    access: AccessContext,
    read: 'cached' | 'fresh',
  ): Promise<{ user: UserRecord; view: PublicUser }>
  /** Every write to a user goes through here, so the cache never outlives it on this instance. */
  updateUser(id: string, patch: UserPatch): Promise<UserRecord | undefined>
  /** UserStore.changeEmail, through the cache. */
  changeEmail(
    id: string,
    email: string,
    at: number,
  ): Promise<UserRecord | 'email_taken' | undefined>
}

export function createProfiles(users: UserStore, now: () => number): Profiles {
  const cache = new TokenCache<{ user: UserRecord; view: PublicUser; until: number }>(
    PROFILE_CACHE_SIZE,
  )

  async function requireProfile(
    access: AccessContext,
    read: 'cached' | 'fresh',
  ): Promise<{ user: UserRecord; view: PublicUser }> {
    const hit = read === 'cached' ? cache.get(access.userId) : undefined
    let profile = hit !== undefined && hit.until > now() ? hit : undefined
    if (profile === undefined) {
      const user = await users.findUserById(access.userId)
      if (user !== undefined) {
        // Shared by every GET /auth/me until the entry goes: frozen, roles too.
        const view = publicUser(user)
        Object.freeze(view.roles)
        profile = { user, view: Object.freeze(view), until: now() + PROFILE_TTL_MS }
        cache.set(user.id, profile)
      }
    }
    // A deleted or disabled account's tokens are revoked on the way; this closes the gap.
    if (profile === undefined || profile.user.disabled)
      throw new AuthError('invalid_token', 'the account is not active')
    return profile
  }

  return {
    requireProfile,
    async requireUser(access, read = 'fresh') {
      return (await requireProfile(access, read)).user
    },
    async updateUser(id, patch) {
      cache.delete(id)
      const updated = await users.updateUser(id, patch)
      cache.delete(id)
      return updated
    },
    async changeEmail(id, email, at) {
      cache.delete(id)
      const changed = await users.changeEmail(id, email, at)
      cache.delete(id)
      return changed
    },
  }
}
