import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import type { Command } from 'commander'
import { parse as parseCsv } from 'csv-parse/sync'
import { type ImportRow, importUsers } from '../auth/import-users.ts'
import { checkPasswordPolicy, createPasswordHasher, normalizeEmail } from '../auth/passwords.ts'
import { CLI_ACTOR, CLI_CLIENT, withTessera } from './context.ts'
import { CliError } from './output.ts'

async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? ''
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

/** Reads an import file: a JSON array (or `{ "users": [...] }`) or CSV with a header row. */
export function readImportFile(path: string, format?: string): ImportRow[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    throw new CliError(`cannot read ${path}`)
  }
  const kind = format ?? (extname(path).toLowerCase() === '.csv' ? 'csv' : 'json')
  if (kind === 'csv') {
    let records: Record<string, string>[]
    try {
      records = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true, bom: true })
    } catch (error) {
      throw new CliError(
        `${path}: not valid CSV (${(error as { code?: string }).code ?? 'parse error'})`,
      )
    }
    return records.map((r) => ({
      email: r.email,
      name: r.name,
      passwordHash: r.password_hash ?? r.passwordHash,
      roles: r.roles,
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
  return list.map((r: unknown) => {
    const row = (r ?? {}) as Record<string, unknown>
    return {
      email: row.email,
      name: row.name,
      passwordHash: row.passwordHash ?? row.password_hash,
      roles: row.roles,
    }
  })
}

/** A progress bar on a terminal, a line per tenth otherwise. */
function progress(total: number): (done: number) => void {
  const tty = process.stderr.isTTY === true
  let lastTenth = -1
  return (done) => {
    if (tty) {
      const width = 30
      const filled = total === 0 ? width : Math.round((done / total) * width)
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}`,
      )
      if (done === total) process.stderr.write('\n')
    } else {
      const tenth = total === 0 ? 10 : Math.floor((done / total) * 10)
      if (tenth !== lastTenth) {
        lastTenth = tenth
        process.stderr.write(`imported ${done}/${total}\n`)
      }
    }
  }
}

export function register(program: Command): void {
  const users = program.command('users').description('user accounts: add, list, set roles, import')

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
        const generated = options.passwordStdin !== true
        const password = generated ? randomBytes(18).toString('base64url') : await readStdinLine()
        const verdict = checkPasswordPolicy(password, { email })
        if (!verdict.ok) throw new CliError(`password: ${verdict.reason}`)
        await withTessera(async (tessera) => {
          const created = await tessera.store.users.createUser({
            id: randomUUID(),
            email,
            name: options.name?.trim() || null,
            passwordHash: await createPasswordHasher().hash(password),
            roles,
            createdAt: Date.now(),
          })
          if (created === 'email_taken') throw new CliError(`${email} already exists`)
          process.stdout.write(
            `created ${created.email} (${created.id}) roles ${created.roles.join(',')}\n`,
          )
          if (generated)
            process.stdout.write(`password: ${password}\n(shown once; the user should change it)\n`)
        })
      },
    )

  users
    .command('list')
    .description('list users')
    .option('--limit <n>', 'how many', '100')
    .option('--email <email>', 'only this email')
    .option('--json', 'print JSON')
    .action(async (options: { limit: string; email?: string; json?: boolean }) => {
      const limit = Number(options.limit)
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
        throw new CliError('--limit is 1..10000')
      const email = options.email === undefined ? undefined : normalizeEmail(options.email)
      await withTessera(async (tessera) => {
        const list = await tessera.auth.adminListUsers({
          limit,
          ...(email === undefined ? {} : { email }),
        })
        if (options.json === true) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`)
        else {
          for (const u of list) {
            process.stdout.write(
              `${u.id}  ${u.email}  ${u.roles.join(',')}${u.disabled ? '  (disabled)' : ''}\n`,
            )
          }
        }
      })
    })

  users
    .command('set-roles <email> <roles>')
    .description("replace a user's roles (comma-separated); their older access tokens are revoked")
    .action(async (rawEmail: string, rolesText: string) => {
      const email = normalizeEmail(rawEmail)
      if (email === undefined) throw new CliError('not a valid email address')
      const roles = parseRoleList(rolesText)
      await withTessera(async (tessera) => {
        const user = await tessera.store.users.findUserByEmail(email)
        if (user === undefined) throw new CliError(`no user ${email}`)
        const updated = await tessera.auth.adminUpdateUser(
          CLI_ACTOR,
          user.id,
          { roles },
          CLI_CLIENT,
        )
        process.stdout.write(`${updated.email}: ${updated.roles.join(',')}\n`)
      })
    })

  users
    .command('import <file>')
    .description(
      'import users with bcrypt or argon2 hashes from JSON or CSV (email,name,password_hash,roles)',
    )
    .option('--format <format>', 'json or csv (default: by file extension)')
    .action(async (file: string, options: { format?: string }) => {
      const rows = readImportFile(file, options.format)
      await withTessera(async (tessera) => {
        const report = await importUsers(rows, {
          store: tessera.store,
          normalizeEmail,
          now: Date.now,
          onProgress: progress(rows.length),
        })
        process.stdout.write(`created ${report.created}, skipped ${report.skipped.length}\n`)
        for (const s of report.skipped)
          process.stdout.write(`  row ${s.row}: skipped, ${s.reason}\n`)
      })
    })
}
