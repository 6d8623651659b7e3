import type { UserRecord } from '../storage/ports.ts'
import type { AdminUser, PublicUser } from './types.ts'

/** The fields of a user the API shows; never the password hash. */
type ShownUser = Pick<
  UserRecord,
  'id' | 'email' | 'name' | 'roles' | 'createdAt' | 'updatedAt' | 'disabled'
>

export const iso = (ms: number): string => new Date(ms).toISOString()

/** The user as `GET /auth/me` shows them. */
export function publicUser(user: ShownUser): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    roles: [...user.roles],
    createdAt: iso(user.createdAt),
  }
}

/** The user as the admin routes show them. */
export function adminUser(user: ShownUser): AdminUser {
  return { ...publicUser(user), disabled: user.disabled, updatedAt: iso(user.updatedAt) }
}
