import { randomUUID } from 'node:crypto'
import type { Store } from '../storage/ports.ts'

/** One row of an import file, as parsed from JSON or CSV: nothing trusted yet. */
export interface ImportRow {
  email?: unknown
  name?: unknown
  passwordHash?: unknown
  roles?: unknown
}

export interface ImportReport {
  created: number
  skipped: { row: number; reason: string }[]
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
 * cannot be imported are reported with the reason, never half-written; an
 * email that already exists is skipped, so re-running an import is safe.
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
  const report: ImportReport = { created: 0, skipped: [] }
  const seen = new Set<string>()
  let index = 0
  for (const row of rows) {
    index++
    const skip = (reason: string): void => {
      report.skipped.push({ row: index, reason })
    }
    const email = typeof row.email === 'string' ? deps.normalizeEmail(row.email) : undefined
    const hash = typeof row.passwordHash === 'string' ? row.passwordHash.trim() : ''
    const roles = parseRoles(row.roles, deps.defaultRoles ?? ['user'])
    const name =
      typeof row.name === 'string' && row.name.trim() !== '' ? row.name.trim().slice(0, 200) : null
    if (email === undefined) skip('invalid email')
    else if (seen.has(email)) skip('duplicate email in the file')
    else if (hash === '') skip('no password hash')
    else if (!BCRYPT.test(hash) && !ARGON2.test(hash))
      skip('unsupported password hash (bcrypt or argon2 only)')
    else if (roles === undefined) skip('invalid roles')
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
      if (created === 'email_taken') skip('already exists')
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
