// Rewrites stored emails into the canonical form normalizeEmail() gives
// today, for rows written by an older Tessera (issue #12 item 11: before it,
// the domain was only lower-cased, so `ada@xn--bcher-kva.example` and
// `ada@bücher.example` could be two accounts, and a row typed in punycode
// is no longer found by a login that types it).

import type { Store, UserRecord } from '../storage/ports.ts'

/** What happens to one stored address. */
export type EmailFix =
  /** Rewritten to `to` (with `apply`), or would be. */
  | { kind: 'rewrite'; userId: string; from: string; to: string }
  /** Its canonical form belongs to another row: left alone, for an administrator to settle. */
  | { kind: 'collision'; userId: string; from: string; to: string; otherUserId: string }
  /** No longer a valid address (a local part NFKC would change): left alone; its owner cannot sign in with it. */
  | { kind: 'refused'; userId: string; from: string }

export interface EmailFixReport {
  /** Rows read. */
  total: number
  /** Rows already canonical. */
  unchanged: number
  fixes: EmailFix[]
}

const PAGE = 500

/**
 * Reads every user and reports the rows whose email is not canonical; with
 * `apply`, rewrites those that can be (no other row holds the canonical
 * form), each through the store's unique index, and audits each rewrite.
 * Safe to run again: a second run finds nothing to rewrite.
 */
export async function normalizeStoredEmails(deps: {
  store: Store
  normalizeEmail: (email: string) => string | undefined
  now: () => number
  apply: boolean
}): Promise<EmailFixReport> {
  const { store, normalizeEmail, now } = deps
  const users: UserRecord[] = []
  for (let after: string | undefined; ; ) {
    const page = await store.users.listUsers({ limit: PAGE, ...(after ? { after } : {}) })
    users.push(...page)
    if (page.length < PAGE) break
    after = page[page.length - 1]!.id
  }
  const byEmail = new Map(users.map((user) => [user.email, user.id]))
  /** Canonical form → the first row that claims it here (two old spellings of one address). */
  const claimed = new Map<string, string>()
  const report: EmailFixReport = { total: users.length, unchanged: 0, fixes: [] }
  for (const user of users) {
    const to = normalizeEmail(user.email)
    if (to === undefined) {
      report.fixes.push({ kind: 'refused', userId: user.id, from: user.email })
      continue
    }
    if (to === user.email) {
      report.unchanged++
      continue
    }
    const other = byEmail.get(to) ?? claimed.get(to)
    if (other !== undefined && other !== user.id) {
      report.fixes.push({
        kind: 'collision',
        userId: user.id,
        from: user.email,
        to,
        otherUserId: other,
      })
      continue
    }
    claimed.set(to, user.id)
    report.fixes.push({ kind: 'rewrite', userId: user.id, from: user.email, to })
  }
  if (deps.apply) {
    for (const fix of report.fixes) {
      if (fix.kind !== 'rewrite') continue
      const changed = await store.users.changeEmail(fix.userId, fix.to, now())
      if (changed === 'email_taken') {
        // Written by someone else since the read: report it rather than guess.
        Object.assign(fix, { kind: 'collision', otherUserId: '(created meanwhile)' })
        continue
      }
      await store.audit.appendAudit({
        at: now(),
        event: 'admin.email_normalized',
        userId: fix.userId,
        sessionId: null,
        ip: null,
        details: {},
      })
    }
  }
  return report
}
