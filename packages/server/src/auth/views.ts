import type { AuditEvent, SessionRecord, UserRecord } from '../storage/ports.ts'
import type { AdminUser, AuditView, PublicUser, SessionView } from './types.ts'

/** The fields of a user the API shows; never the password hash. */
type ShownUser = Pick<
  UserRecord,
  'id' | 'email' | 'name' | 'roles' | 'createdAt' | 'updatedAt' | 'disabled' | 'emailVerifiedAt'
>

export const iso = (ms: number): string => new Date(ms).toISOString()

/** The user as `GET /auth/me` shows them. */
export function publicUser(user: ShownUser): PublicUser {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    roles: [...user.roles],
    emailVerified: user.emailVerifiedAt !== null,
    createdAt: iso(user.createdAt),
  }
}

/** The user as the admin routes show them. */
export function adminUser(user: ShownUser): AdminUser {
  return { ...publicUser(user), disabled: user.disabled, updatedAt: iso(user.updatedAt) }
}

/** A session as `GET /auth/sessions` shows it; `current` for the caller's own. */
export function sessionView(session: SessionRecord, currentId: string): SessionView {
  return {
    id: session.id,
    createdAt: iso(session.createdAt),
    lastUsedAt: iso(session.lastUsedAt),
    expiresAt: iso(session.expiresAt),
    userAgent: session.userAgent,
    ip: session.ip,
    current: session.id === currentId,
  }
}

/** An audit entry as `GET /admin/audit` shows it. */
export function auditView(entry: AuditEvent & { id: number }): AuditView {
  return {
    id: entry.id,
    at: iso(entry.at),
    event: entry.event,
    userId: entry.userId,
    sessionId: entry.sessionId,
    ip: entry.ip,
    details: entry.details,
  }
}
