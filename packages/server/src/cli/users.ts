import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { extname } from 'node:path'
import type { Command } from 'commander'
import { type ImportReport, type ImportRow, importUsers } from '../auth/import-users.ts'
import { type EmailFixReport, normalizeStoredEmails } from '../auth/normalize-emails.ts'
import { checkPasswordPolicy, createPasswordHasher, normalizeEmail } from '../auth/passwords.ts'
import { CLI_ACTOR, CLI_CLIENT, withTessera } from './context.ts'
import { type CliIo, inCwd, type Sink } from './io.ts'
import { CliError } from './output.ts'

async function readStdinLine(io: CliIo): Promise<string> {
  return (await io.readStdin()).split(/\r?\n/)[0] ?? ''
}

function parseRoleList(value: string): string[] {
  const roles = value
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '')
  if (roles.some((r) => !/^[A-Za-z0-9_.:-]{1,64}$/.test(r))) {
    throw new CliError('roles are 1-64 letters, digits or _ . : - , separated by commas')
  }
  return roles
}

/** Line breaks inside a CSV record's fields (quoted values spanning lines). */
function lineBreaksIn(record: Record<string, string>): number {
  let count = 0
  for (const value of Object.values(record)) count += value.match(/\r\n|\r|\n/g)?.length ?? 0
  return count
}

/**
 * Reads an import file: a JSON array (or `{ "users": [...] }`) or CSV with a
 * header row. Each row's `location` is where it is in the file, as the
 * report names it: `line 4` for CSV (the file's own line number, header
 * included), `entry 3` for JSON (its position in the array, from 1). A
 * relative `path` is read from `cwd`.
 */
export function readImportFile(path: string, format?: string, cwd = '.'): ImportRow[] {
  let text: string
  try {
    text = readFileSync(inCwd({ cwd }, path), 'utf8')
  } catch {
    throw new CliError(`cannot read ${path}`)
  }
  const kind = format ?? (extname(path).toLowerCase() === '.csv' ? 'csv' : 'json')
  if (kind === 'csv') {
    let records: { record: Record<string, string>; info: { lines: number } }[]
    try {
      // Loaded by `users import` alone, not by every command (serve included).
      const { parse: parseCsv } = createRequire(import.meta.url)(
        'csv-parse/sync',
      ) as typeof import('csv-parse/sync')
      records = parseCsv(text, {
        columns: true,
        skip_empty_lines: true,
        trim: true,
        bom: true,
        info: true,
      })
    } catch (error) {
      throw new CliError(
        `${path}: not valid CSV (${(error as { code?: string }).code ?? 'parse error'})`,
      )
    }
    return records.map(({ record: r, info }) => ({
      email: r.email,
      name: r.name,
      passwordHash: r.password_hash ?? r.passwordHash,
      roles: r.roles,
      // info.lines is the line the record ends on; a quoted value may span lines.
      location: `line ${info.lines - lineBreaksIn(r)}`,
    }))
  }
  if (kind !== 'json') throw new CliError('--format is json or csv')
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch {
    // The parser's message quotes the input, which holds password hashes: say less.
    throw new CliError(`${path}: not valid JSON`)
  }
  const list = Array.isArray(data) ? data : (data as { users?: unknown } | null)?.users
  if (!Array.isArray(list))
    throw new CliError(`${path}: expected a JSON array of users or { "users": [...] }`)
  return list.map((r: unknown, index) => {
    const row = (r ?? {}) as Record<string, unknown>
    return {
      email: row.email,
      name: row.name,
      passwordHash: row.passwordHash ?? row.password_hash,
      roles: row.roles,
      location: `entry ${index + 1}`,
    }
  })
}

/** A progress bar on a terminal, a line per tenth otherwise, on `output` (stderr). */
function progress(output: Sink, total: number): (done: number) => void {
  const tty = output.isTTY === true
  let lastTenth = -1
  return (done) => {
    if (tty) {
      const width = 30
      const filled = total === 0 ? width : Math.round((done / total) * width)
      output.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}`)
      if (done === total) output.write('\n')
    } else {
      const tenth = total === 0 ? 10 : Math.floor((done / total) * 10)
      if (tenth !== lastTenth) {
        lastTenth = tenth
        output.write(`read ${done}/${total} rows\n`)
      }
    }
  }
}

/**
 * The report of `users import`: the counts, then each row not imported with
 * where it is in the file (see readImportFile) and why, in file order.
 */
export function importSummary(file: string, report: ImportReport): string {
  const { total, created, skipped, failed } = report
  const lines = [
    `${file}: ${total} ${total === 1 ? 'row' : 'rows'}; created ${created}, skipped ${skipped.length} (email already exists), failed ${failed.length}`,
  ]
  const issues = [
    ...failed.map((issue) => ({ ...issue, verdict: 'failed' })),
    ...skipped.map((issue) => ({ ...issue, verdict: 'skipped' })),
  ].sort((a, b) => a.row - b.row)
  if (issues.length > 0) {
    lines.push(
      issues[0]!.location.startsWith('line ')
        ? '(line numbers are those of the file, its header line included)'
        : issues[0]!.location.startsWith('entry ')
          ? '(entry n is the n-th user of the JSON array, counting from 1)'
          : '(row n is the n-th row, counting from 1)',
    )
  }
  for (const issue of issues) lines.push(`  ${issue.location}: ${issue.verdict}, ${issue.reason}`)
  return lines.join('\n')
}

export function register(program: Command, io: CliIo): void {
  const users = program
    .command('users')
    .description(
      'user accounts: add, list, set roles, verify an address, reset second factors, import, normalize emails',
    )

  users
    .command('add <email>')
    .description('create a user (the password is read from stdin, or generated and printed once)')
    .option('--name <name>', 'display name')
    .option('--roles <roles>', 'comma-separated roles', 'user')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .action(
      async (
        rawEmail: string,
        options: { name?: string; roles: string; passwordStdin?: boolean },
      ) => {
        const email = normalizeEmail(rawEmail)
        if (email === undefined) throw new CliError('not a valid email address')
        const roles = parseRoleList(options.roles)
        if (roles.length === 0) throw new CliError('--roles needs at least one role, e.g. user')
        const generated = options.passwordStdin !== true
        const password = generated ? randomBytes(18).toString('base64url') : await readStdinLine(io)
        const verdict = checkPasswordPolicy(password, { email })
        if (!verdict.ok) throw new CliError(`password: ${verdict.reason}`)
        await withTessera(io, async (tessera) => {
          const created = await tessera.store.users.createUser({
            id: randomUUID(),
            email,
            name: options.name?.trim() || null,
            passwordHash: await createPasswordHasher().hash(password),
            roles,
            createdAt: Date.now(),
          })
          if (created === 'email_taken') throw new CliError(`${email} already exists`)
          io.stdout.write(
            `created ${created.email} (${created.id}) roles ${created.roles.join(',')}\n`,
          )
          if (generated)
            io.stdout.write(`password: ${password}\n(shown once; the user should change it)\n`)
        })
      },
    )

  users
    .command('list')
    .description('list users in creation order, oldest first')
    .option('--limit <n>', 'how many (the oldest first)', '100')
    .option('--email <email>', 'only this email')
    .option('--json', 'print JSON')
    .action(async (options: { limit: string; email?: string; json?: boolean }) => {
      const limit = Number(options.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
        throw new CliError('--limit is 1..10000')
      const email = options.email === undefined ? undefined : normalizeEmail(options.email)
      await withTessera(io, async (tessera) => {
        const list = await tessera.auth.adminListUsers({
          limit,
          ...(email === undefined ? {} : { email }),
        })
        if (options.json === true) io.stdout.write(`${JSON.stringify(list, null, 2)}\n`)
        else {
          for (const u of list) {
            const roles = u.roles.length === 0 ? '(no roles)' : u.roles.join(',')
            io.stdout.write(
              `${u.createdAt}  ${u.id}  ${u.email}  ${roles}${u.disabled ? '  (disabled)' : ''}\n`,
            )
          }
        }
        if (list.length === limit && email === undefined) {
          io.stderr.write(`the oldest ${limit} users shown; raise --limit to see more\n`)
        }
      })
    })

  users
    .command('set-roles <email> [roles]')
    .description(
      "replace a user's roles (comma-separated, e.g. user,admin); their older access tokens are revoked",
    )
    .option('--none', 'remove every role instead (the account stays, with no role)')
    .action(
      async (rawEmail: string, rolesText: string | undefined, options: { none?: boolean }) => {
        const email = normalizeEmail(rawEmail)
        if (email === undefined) throw new CliError('not a valid email address')
        if (options.none === true && rolesText !== undefined) {
          throw new CliError('pass the roles or --none, not both')
        }
        const roles = options.none === true ? [] : parseRoleList(rolesText ?? '')
        // An empty list is more often a quoting slip than a wish: say how to mean it.
        if (options.none !== true && roles.length === 0) {
          throw new CliError(
            `no roles given: name at least one (e.g. user,admin), or pass --none to leave ${email} with no role`,
          )
        }
        await withTessera(io, async (tessera) => {
          const user = await tessera.store.users.findUserByEmail(email)
          if (user === undefined) throw new CliError(`no user ${email}`)
          const updated = await tessera.auth.adminUpdateUser(
            CLI_ACTOR,
            user.id,
            { roles },
            CLI_CLIENT,
          )
          io.stdout.write(
            `${updated.email}: ${updated.roles.length === 0 ? '(no roles)' : updated.roles.join(',')}\n`,
          )
        })
      },
    )

  users
    .command('verify-email <email>')
    .description(
      "mark a user's address verified, as if they had used the mailed link (--undo: not verified)",
    )
    .option('--undo', 'mark it not verified instead')
    .action(async (rawEmail: string, options: { undo?: boolean }) => {
      const email = normalizeEmail(rawEmail)
      if (email === undefined) throw new CliError('not a valid email address')
      await withTessera(io, async (tessera) => {
        const user = await tessera.store.users.findUserByEmail(email)
        if (user === undefined) throw new CliError(`no user ${email}`)
        const updated = await tessera.auth.adminUpdateUser(
          CLI_ACTOR,
          user.id,
          { emailVerified: options.undo !== true },
          CLI_CLIENT,
        )
        io.stdout.write(
          `${updated.email}: ${updated.emailVerified ? 'verified' : 'not verified'}\n`,
        )
      })
    })

  users
    .command('reset-mfa <email>')
    .description(
      "remove a user's second factors (authenticator app, passkeys, recovery codes), e.g. after a lost phone; they are mailed a notice",
    )
    .action(async (rawEmail: string) => {
      const email = normalizeEmail(rawEmail)
      if (email === undefined) throw new CliError('not a valid email address')
      await withTessera(io, async (tessera) => {
        const user = await tessera.store.users.findUserByEmail(email)
        if (user === undefined) throw new CliError(`no user ${email}`)
        const before = await tessera.store.factors.summary(user.id)
        await tessera.auth.adminUpdateUser(CLI_ACTOR, user.id, { resetMfa: true }, CLI_CLIENT)
        const had = [
          ...(before.totp ? ['an authenticator app'] : []),
          ...(before.passkeys > 0 ? [`${before.passkeys} passkey(s)`] : []),
          ...(before.recoveryCodes > 0 ? [`${before.recoveryCodes} recovery code(s)`] : []),
        ]
        io.stdout.write(
          had.length === 0
            ? `${email}: had no second factor\n`
            : `${email}: removed ${had.join(', ')}; the next sign-in needs the password only\n`,
        )
      })
    })

  users
    .command('import <file>')
    .description(
      'import users with bcrypt or argon2 hashes from JSON or CSV (email,name,password_hash,roles)',
    )
    .option('--format <format>', 'json or csv (default: by file extension)')
    .action(async (file: string, options: { format?: string }) => {
      const rows = readImportFile(file, options.format, io.cwd)
      await withTessera(io, async (tessera) => {
        const report = await importUsers(rows, {
          store: tessera.store,
          normalizeEmail,
          now: Date.now,
          onProgress: progress(io.stderr, rows.length),
        })
        io.stdout.write(`${importSummary(file, report)}\n`)
      })
    })

  users
    .command('normalize-emails')
    .description(
      'rewrite stored emails into the canonical form (IDNA domains), after upgrading; a dry run unless --apply',
    )
    .option('--apply', 'write the rewrites (default: only report them)')
    .action(async (options: { apply?: boolean }) => {
      await withTessera(io, async (tessera) => {
        const report = await normalizeStoredEmails({
          store: tessera.store,
          normalizeEmail,
          now: Date.now,
          apply: options.apply === true,
        })
        io.stdout.write(emailFixSummary(report, options.apply === true))
      })
    })
}

/** The normalize-emails report: one line per row that needs a look, then the counts. */
export function emailFixSummary(report: EmailFixReport, applied: boolean): string {
  const lines: string[] = []
  const count = { rewrite: 0, collision: 0, refused: 0 }
  for (const fix of report.fixes) {
    count[fix.kind]++
    if (fix.kind === 'rewrite') {
      lines.push(
        `${applied ? 'rewrote' : 'would rewrite'} ${fix.from} -> ${fix.to} (${fix.userId})`,
      )
    } else if (fix.kind === 'collision') {
      lines.push(
        `left ${fix.from} (${fix.userId}): ${fix.to} is user ${fix.otherUserId}; merge or disable one`,
      )
    } else {
      lines.push(
        `left ${fix.from} (${fix.userId}): no longer a valid address (its owner cannot sign in with it)`,
      )
    }
  }
  lines.push(
    `${report.total} users: ${report.unchanged} already canonical, ${count.rewrite} ${applied ? 'rewritten' : 'to rewrite (run again with --apply)'}, ${count.collision} collisions, ${count.refused} refused`,
  )
  return `${lines.join('\n')}\n`
}
