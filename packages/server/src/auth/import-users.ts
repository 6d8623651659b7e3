import { randomUUID } from 'node:crypto'
import type { Store } from '../storage/ports.ts'

/** One row of an import file, as parsed from JSON or CSV: nothing trusted yet. */
export interface ImportRow {
  email?: unknown
  name?: unknown
  passwordHash?: unknown
  roles?: unknown
  /** Where the row is in its file (`line 4` of a CSV file), for the report; default `row <n>`. */
  location?: string
}

/** A row that was not imported, and why. */
export interface ImportIssue {
  /** 1-based position among the rows given (a CSV file's header is not a row). */
  row: number
  /** The row's `location`, or `row <n>`. */
  location: string
  reason: string
}

export interface ImportReport {
  /** Rows read. */
  total: number
  /** Users created. */
  created: number
  /** Rows whose email already exists: left alone, so an import can be re-run. */
  skipped: ImportIssue[]
  /** Rows that cannot be imported as they are (bad email, hash or roles; an email twice in the file). */
  failed: ImportIssue[]
}

// Hash formats we can verify at login. bcrypt: $2a/$2b/$2y$, cost 04-31, 53
// characters of salt and hash. argon2: the PHC string format.
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/
const ARGON2 = /^\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/
const ROLE = /^[A-Za-z0-9_.:-]{1,64}$/

function parseRoles(value: unknown, fallback: string[]): string[] | undefined {
  if (value === undefined || value === null || value === '') return fallback
  const list = typeof value === 'string' ? value.split(/[;|,]/) : value
  if (!Array.isArray(list)) return undefined
  const roles = list.map((r) => (typeof r === 'string' ? r.trim() : '')).filter((r) => r !== '')
  return roles.every((r) => ROLE.test(r)) ? [...new Set(roles)] : undefined
}

/**
 * Imports users with existing password hashes (bcrypt or argon2). Rows that
 * cannot be imported are reported as failed with the reason, never
 * half-written; a row whose email already exists is skipped, so re-running an
 * import is safe.
 * Imported bcrypt hashes are rehashed to argon2id at the user's next login.
 */
export async function importUsers(
  rows: Iterable<ImportRow>,
  deps: {
    store: Store
    normalizeEmail: (email: string) => string | undefined
    now: () => number
    defaultRoles?: string[]
    onProgress?: (done: number) => void
  },
): Promise<ImportReport> {
  const report: ImportReport = { total: 0, created: 0, skipped: [], failed: [] }
  const seen = new Set<string>()
  let index = 0
  for (const row of rows) {
    index++
    report.total = index
    const issue = (reason: string): ImportIssue => ({
      row: index,
      location: row.location ?? `row ${index}`,
      reason,
    })
    const fail = (reason: string): void => {
      report.failed.push(issue(reason))
    }
    const email = typeof row.email === 'string' ? deps.normalizeEmail(row.email) : undefined
    const hash = typeof row.passwordHash === 'string' ? row.passwordHash.trim() : ''
    const roles = parseRoles(row.roles, deps.defaultRoles ?? ['user'])
    const name =
      typeof row.name === 'string' && row.name.trim() !== '' ? row.name.trim().slice(0, 200) : null
    if (email === undefined) fail('invalid email')
    else if (seen.has(email)) fail('duplicate email in the file')
    else if (hash === '') fail('no password hash')
    else if (!BCRYPT.test(hash) && !ARGON2.test(hash))
      fail('unsupported password hash (bcrypt or argon2 only)')
    else if (roles === undefined) fail('invalid roles')
    else {
      seen.add(email)
      const created = await deps.store.users.createUser({
        id: randomUUID(),
        email,
        name,
        passwordHash: hash,
        roles,
        createdAt: deps.now(),
      })
      if (created === 'email_taken') report.skipped.push(issue('already exists'))
      else {
        report.created++
        await deps.store.audit.appendAudit({
          at: deps.now(),
          event: 'user.imported',
          userId: created.id,
          sessionId: null,
          ip: null,
          details: {},
        })
      }
    }
    deps.onProgress?.(index)
  }
  return report
}
