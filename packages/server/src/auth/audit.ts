// The audit log as the flows write it: one call per event, the client's
// address and the ids it concerns, never a token, password or code.

import type { AuditStore } from '../storage/ports.ts'
import type { ClientInfo } from './types.ts'

export type Audit = (
  event: string,
  client: ClientInfo | null,
  ids: { userId?: string | null; sessionId?: string | null },
  details?: Record<string, unknown>,
) => Promise<void>

export function createAudit(store: AuditStore, now: () => number): Audit {
  return async (event, client, ids, details = {}) => {
    await store.appendAudit({
      at: now(),
      event,
      userId: ids.userId ?? null,
      sessionId: ids.sessionId ?? null,
      ip: client?.ip ?? null,
      details,
    })
  }
}
