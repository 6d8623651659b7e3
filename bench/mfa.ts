/**
 * `npm run bench:mfa`: what the sign-in's second step costs (issue 16), over
 * real HTTP to `tessera serve` on 127.0.0.1. Sign-ins one at a time,
 * alternating:
 *
 * - A: an account with a password only: POST /auth/login answers the tokens;
 * - B: an account with an authenticator app: POST /auth/login answers the
 *   challenge, then POST /auth/mfa/verify with the app's code the tokens.
 *
 * Printed: p50, p90 and p99 of A, of B's two requests and of B's total, the
 * ratio B total / A, and one argon2id verify timed alone beside them: the
 * login is mostly password hashing, so the second step's own milliseconds
 * are the figure to read. On SQLite, and also on PostgreSQL with
 * --database-url. A full run writes bench/results/mfa.json and the `mfa`
 * section of bench/RESULTS.md. How it measures: bench/README.md.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, relative } from 'node:path'
import { isDeepStrictEqual, parseArgs } from 'node:util'
import { createPasswordHasher } from '../packages/server/src/auth/passwords.ts'
import { TOTP_PERIOD_SECONDS, totpCode } from '../packages/server/src/auth/totp.ts'
import { checkDatabaseUrl, parseCommandLine, positiveInteger } from './lib/cli.ts'
import { IDLE_CORES, settle } from './lib/cpu.ts'
import {
  createRunSchema,
  type Instance,
  type RunSchema,
  startInstance,
} from './lib/load-cluster.ts'
import { closeTargets, loopbackTarget, type Reply, send, type Target } from './lib/load-http.ts'
import { type MachineInfo, machineInfo, packageVersion } from './lib/machine.ts'
import { percentile } from './lib/percentile.ts'
import { installCleanup, interrupted } from './lib/processes.ts'
import { sleep } from './lib/scenario.ts'
import { postgresVersion } from './lib/services.ts'
import {
  formatMs,
  formatRatio,
  labelThenNumbers,
  renderMarkdown,
  renderText,
  type Table,
  writeResultsSection,
} from './lib/table.ts'
import { clientIp, LOAD_PASSWORD, tesseraEnv, tokensOf, waitReady } from './lib/tessera.ts'

// ---------------------------------------------------------------- options

const USAGE = `Usage: npm run bench:mfa -- [options]

  --quick                 a smoke run: 30 sign-ins of each kind, 40 accounts of each kind,
                          SQLite only (unless --database-url is given); writes nothing
  --database-url <url>    also measure on this PostgreSQL (env TESSERA_BENCH_DATABASE_URL);
                          a schema is made in it for the run and dropped after
  --samples <n>           timed sign-ins of each kind (default 300, quick 30)
  --users <n>             accounts of each kind (default 250, quick 40); a TOTP account signs
                          in at most once per 30-second step
  --write                 write results/mfa.json and RESULTS.md even for a quick run
  --no-write              do not write them, even for a full run
  -h, --help              this text`

interface Settings {
  readonly quick: boolean
  readonly samples: number
  /** Untimed sign-ins of each kind first. */
  readonly warmup: number
  readonly users: number
  readonly databaseUrl: string | undefined
  readonly write: boolean
}

function parseSettings(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    allowNegative: true,
    options: {
      quick: { type: 'boolean', default: false },
      'database-url': { type: 'string' },
      samples: { type: 'string' },
      users: { type: 'string' },
      write: { type: 'boolean' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return undefined
  const quick = values.quick
  // A quick run stays on SQLite unless asked for PostgreSQL on its command line.
  const databaseUrl =
    values['database-url'] ??
    (quick ? undefined : process.env.TESSERA_BENCH_DATABASE_URL || undefined)
  if (databaseUrl !== undefined) checkDatabaseUrl(databaseUrl)
  return {
    quick,
    samples: positiveInteger(values.samples, 'samples', quick ? 30 : 300, 10_000),
    warmup: quick ? 3 : 10,
    users: positiveInteger(values.users, 'users', quick ? 40 : 250, 5_000),
    databaseUrl,
    // A quick run must not replace the committed full results by accident.
    write: values.write ?? !quick,
  }
}

// ---------------------------------------------------------------- constants

/**
 * Pause after each answer before the next request, so that what the server
 * does after answering (a log line, a deferred write) does not overlap the
 * next request: each one meets an idle server.
 */
const SETTLE_AFTER_MS = 10
/** A full run waits up to this long, before each database, for an idle machine. */
const IDLE_WAIT_MS = 20_000
/** Accounts set up at a time while preparing. */
const SETUP_CONCURRENCY = 4
const PERIOD_MS = TOTP_PERIOD_SECONDS * 1000
/** An enrolment's code is never computed closer than this to the end of its step. */
const STEP_EDGE_MS = 2_000

// ---------------------------------------------------------------- the run's servers

/** A correctness gate did not hold: nothing is written, exit code 3. */
class GateError extends Error {}

type Database = 'sqlite' | 'postgres'

const DATABASE_LABEL: Record<Database, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' }

/** One `tessera serve` under test. */
interface Tessera {
  readonly label: string
  readonly instance: Instance
  readonly target: Target
  /** Tags addresses and client IPs, so two servers of one run never share either. */
  readonly tag: string
  close(): Promise<void>
}

async function startTessera(label: string, schema: RunSchema | undefined): Promise<Tessera> {
  const env = tesseraEnv({
    // Behind one proxy hop: the client IP is the X-Forwarded-For address, and
    // each account signs in from its own, as users do (the login back-off
    // counts per account and address).
    TESSERA_TRUST_PROXY: '1',
    ...(schema === undefined ? {} : { TESSERA_DATABASE_URL: schema.url }),
  })
  const instance = await startInstance(label, env)
  const target = loopbackTarget(instance.url)
  try {
    await waitReady(target)
  } catch (error) {
    closeTargets([target])
    await instance.stop()
    throw error
  }
  return {
    label,
    instance,
    target,
    tag: randomBytes(2).toString('hex'),
    async close() {
      closeTargets([target])
      await instance.stop()
    },
  }
}

/** An account of the run, signed up over HTTP. */
interface Account {
  readonly email: string
  /** Its own client address (X-Forwarded-For, one /64 each). */
  readonly ip: string
  /** `sub` of its tokens. */
  readonly userId: string
}

/** An account with a confirmed authenticator app. */
interface TotpAccount extends Account {
  readonly secret: string
  /** The last time step whose code the server accepted for it (the confirmation's, then each sign-in's). */
  lastStep: number
}

/** One request over a keep-alive connection, timed from before the write to the end of the answer. */
async function post(
  server: Tessera,
  path: string,
  body: Record<string, string>,
  ip: string,
  headers: Record<string, string> = {},
): Promise<{ reply: Reply; ms: number }> {
  const requestHeaders = { 'x-forwarded-for': ip, ...headers }
  const started = performance.now()
  const reply = await send(server.target, 'POST', path, { body, headers: requestHeaders })
  return { reply, ms: performance.now() - started }
}

function bodyOf(reply: Reply): Record<string, unknown> | undefined {
  try {
    const body: unknown = JSON.parse(reply.text)
    return typeof body === 'object' && body !== null && !Array.isArray(body)
      ? (body as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

function answered(reply: Reply): string {
  return `${reply.status} ${reply.text.slice(0, 300) || '(empty)'}`
}

/** The claims of a JWT, unverified (the server just issued it; only `sub` and `amr` are read). */
function claimsOf(token: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
}

const sameSet = (actual: unknown, expected: readonly string[]): boolean =>
  Array.isArray(actual) && isDeepStrictEqual([...actual].sort(), [...expected].sort())

/**
 * Throws a GateError unless `reply` is a token response for `account` whose
 * access token says it was proven by `amr` (RFC 8176): no figure ever times
 * an error or a challenge where tokens were due.
 */
function expectTokens(reply: Reply, account: Account, amr: readonly string[], where: string) {
  const body = bodyOf(reply)
  const tokens = tokensOf(reply.text)
  const user = body?.user as { id?: unknown; email?: unknown } | undefined
  if (
    reply.status !== 200 ||
    tokens === undefined ||
    body?.tokenType !== 'Bearer' ||
    'mfaRequired' in body ||
    user?.id !== account.userId ||
    user.email !== account.email
  ) {
    throw new GateError(`${where}: expected 200 and the tokens, got ${answered(reply)}`)
  }
  const claims = claimsOf(tokens.accessToken)
  if (claims?.sub !== account.userId || !sameSet(claims.amr, amr)) {
    throw new GateError(
      `${where}: expected an access token of ${account.userId} with amr ${JSON.stringify(amr)}, got sub ${JSON.stringify(claims?.sub)} amr ${JSON.stringify(claims?.amr)}`,
    )
  }
}

/** The `mfaToken` of a challenge answer (docs/mfa.md); a GateError for anything else. */
function expectChallenge(reply: Reply, where: string): string {
  const body = bodyOf(reply)
  if (
    reply.status !== 200 ||
    body === undefined ||
    !sameSet(Object.keys(body), ['mfaRequired', 'mfaToken', 'methods']) ||
    body.mfaRequired !== true ||
    typeof body.mfaToken !== 'string' ||
    !/^[A-Za-z0-9_-]{43}$/.test(body.mfaToken) ||
    !sameSet(body.methods, ['totp', 'recovery_code'])
  ) {
    throw new GateError(
      `${where}: expected 200 {mfaRequired: true, mfaToken, methods: [totp, recovery_code]}, got ${answered(reply)}`,
    )
  }
  return body.mfaToken
}

// ---------------------------------------------------------------- preparing the accounts

const stepAt = (ms: number): number => Math.floor(ms / PERIOD_MS)

/** Signs `email` up from `ip`; its account and first access token. */
async function signUp(
  server: Tessera,
  email: string,
  ip: string,
): Promise<{ account: Account; accessToken: string }> {
  const where = `${server.label}: preparing, POST /auth/signup ${email}`
  const { reply } = await post(server, '/auth/signup', { email, password: LOAD_PASSWORD }, ip)
  const tokens = reply.status === 201 ? tokensOf(reply.text) : undefined
  const userId = tokens === undefined ? undefined : claimsOf(tokens.accessToken)?.sub
  if (tokens === undefined || typeof userId !== 'string') {
    throw new GateError(`${where}: expected 201 and the tokens, got ${answered(reply)}`)
  }
  return { account: { email, ip, userId }, accessToken: tokens.accessToken }
}

/**
 * Sets up an authenticator app for a freshly signed-up account (its session
 * is recent, as the routes require): enroll, then confirm. The confirmation
 * sends the code of the previous time step, which the server accepts (one
 * step of drift either way) and records as used: the account can then sign
 * in during the current step, instead of the whole pool waiting up to 30 s
 * for the next one before the first timed sign-in.
 */
async function enrollTotp(
  server: Tessera,
  account: Account,
  accessToken: string,
): Promise<TotpAccount> {
  const where = `${server.label}: preparing ${account.email}`
  const authorization = `Bearer ${accessToken}`
  const enrolled = await post(server, '/auth/mfa/totp/enroll', {}, account.ip, { authorization })
  const enrolment = bodyOf(enrolled.reply)
  const secret = enrolment?.secret
  if (
    enrolled.reply.status !== 200 ||
    typeof secret !== 'string' ||
    !/^[A-Z2-7]+=*$/.test(secret) ||
    typeof enrolment?.otpauthUrl !== 'string' ||
    !enrolment.otpauthUrl.startsWith('otpauth://totp/') ||
    typeof enrolment.qrSvg !== 'string' ||
    !enrolment.qrSvg.includes('<svg')
  ) {
    throw new GateError(
      `${where}, POST /auth/mfa/totp/enroll: expected 200 {secret, otpauthUrl, qrSvg}, got ${answered(enrolled.reply)}`,
    )
  }
  // Near the end of a step the previous step's code could reach the server
  // two steps late, outside its window: wait for the next step then.
  const into = Date.now() % PERIOD_MS
  if (into > PERIOD_MS - STEP_EDGE_MS) await sleep(PERIOD_MS - into + 50)
  const at = Date.now() - PERIOD_MS
  const confirmed = await post(
    server,
    '/auth/mfa/totp/confirm',
    { code: totpCode(secret, at) },
    account.ip,
    { authorization },
  )
  const codes = bodyOf(confirmed.reply)?.recoveryCodes
  if (
    confirmed.reply.status !== 200 ||
    !Array.isArray(codes) ||
    codes.length !== 10 ||
    !codes.every((code) => typeof code === 'string')
  ) {
    throw new GateError(
      `${where}, POST /auth/mfa/totp/confirm: expected 200 and 10 recovery codes, got ${answered(confirmed.reply)}`,
    )
  }
  return { ...account, secret, lastStep: stepAt(at) }
}

/** Runs `task` for 0..count-1, SETUP_CONCURRENCY at a time, results in order. */
async function inParallel<T>(count: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++
      results[i] = await task(i)
    }
  }
  await Promise.all(Array.from({ length: SETUP_CONCURRENCY }, worker))
  return results
}

/**
 * The TOTP accounts, taken in turn, each at most once per time step: the
 * server accepts a code once per step and account (RFC 6238 §5.2, a replay is
 * refused), so an account whose step is spent is skipped, and when every
 * account's is, the run waits (untimed) for the next step instead of reusing
 * one.
 */
class TotpPool {
  readonly #accounts: readonly TotpAccount[]
  #next = 0
  /** Times the pool ran dry within a step, and the time spent waiting, ms. */
  waits = 0
  waitedMs = 0

  constructor(accounts: readonly TotpAccount[]) {
    this.#accounts = accounts
  }

  async take(signal: AbortSignal): Promise<TotpAccount> {
    for (;;) {
      const step = stepAt(Date.now())
      for (let k = 0; k < this.#accounts.length; k++) {
        const index = (this.#next + k) % this.#accounts.length
        const account = this.#accounts[index]!
        if (account.lastStep < step) {
          this.#next = index + 1
          return account
        }
      }
      const started = performance.now()
      await sleep((step + 1) * PERIOD_MS - Date.now() + 50, signal)
      if (signal.aborted) throw new Error('interrupted')
      this.waits++
      this.waitedMs += performance.now() - started
    }
  }
}

// ---------------------------------------------------------------- one database

interface Stats {
  p50Ms: number
  p90Ms: number
  p99Ms: number
  maxMs: number
}

const round3 = (value: number): number => Math.round(value * 1000) / 1000

function statsOf(values: readonly number[]): Stats {
  return {
    p50Ms: round3(percentile(values, 50)),
    p90Ms: round3(percentile(values, 90)),
    p99Ms: round3(percentile(values, 99)),
    maxMs: round3(Math.max(...values)),
  }
}

interface DatabaseResult {
  database: Database
  /** Busy cores over the second before the part started (other work on the machine). */
  busyCoresAtStart: number
  /** Signing up and enrolling the accounts, s. */
  prepareSeconds: number
  /** A: POST /auth/login of a password-only account, to the tokens. */
  passwordLogin: Stats
  /** B: POST /auth/login of an account with an app, to the challenge. */
  mfaLogin: Stats
  /** B: POST /auth/mfa/verify, to the tokens. */
  mfaVerify: Stats
  /** B: the two requests' times added, per sign-in. */
  mfaTotal: Stats
  /** B total / A, of the p50s and of the p99s. */
  ratioP50: number
  ratioP99: number
  /**
   * One argon2id verify of the password with the server's own hasher and
   * parameters, in the bench's process while the server waits, once per
   * pair of sign-ins: most of either login's time.
   */
  argon2Verify: Stats
  /** Times the TOTP pool ran dry within a step, and the untimed wait for the next, s. */
  poolWaits: number
  poolWaitSeconds: number
  /** Every timed answer, ms, in the order sent (A and B alternated). */
  passwordLoginMs: number[]
  mfaLoginMs: number[]
  mfaVerifyMs: number[]
  argon2VerifyMs: number[]
  /** Warn and error lines the server logged (message only). */
  serverProblems: string[]
}

function progress(message: string): void {
  process.stderr.write(`${message}\n`)
}

async function runDatabase(
  database: Database,
  settings: Settings,
  signal: AbortSignal,
): Promise<DatabaseResult> {
  const busyCoresAtStart = settings.quick ? 0 : await settle(IDLE_WAIT_MS)
  progress(
    `${DATABASE_LABEL[database]}${busyCoresAtStart >= IDLE_CORES ? ` (the machine is busy: ${busyCoresAtStart} cores in use by other work)` : ''}`,
  )
  let schema: RunSchema | undefined
  let server: Tessera | undefined
  try {
    if (database === 'postgres') schema = await createRunSchema(settings.databaseUrl!)
    server = await startTessera(database, schema)
    const tessera = server
    const { users } = settings
    const email = (kind: string, i: number): string =>
      `bench-mfa-${tessera.tag}-${kind}-${i}@example.com`

    const preparing = performance.now()
    // Accounts 0..users-1 sign in with a password only, the next ones with an app too.
    const passwordAccounts = await inParallel(users, async (i) => {
      if (signal.aborted) throw new Error('interrupted')
      const ip = clientIp(tessera.tag, i)
      return (await signUp(tessera, email('password', i), ip)).account
    })
    const totpAccounts = await inParallel(users, async (i) => {
      if (signal.aborted) throw new Error('interrupted')
      const ip = clientIp(tessera.tag, users + i)
      const { account, accessToken } = await signUp(tessera, email('totp', i), ip)
      return await enrollTotp(tessera, account, accessToken)
    })
    const prepareSeconds = Math.round((performance.now() - preparing) / 100) / 10
    progress(
      `  prepared ${users} password-only accounts and ${users} with an authenticator app in ${prepareSeconds} s`,
    )

    const pool = new TotpPool(totpAccounts)
    // The server's own hasher and parameters, in this process, while the server waits.
    const hasher = createPasswordHasher()
    const stored = await hasher.hash(LOAD_PASSWORD)
    const argon2VerifyMs: number[] = []
    const passwordLoginMs: number[] = []
    const mfaLoginMs: number[] = []
    const mfaVerifyMs: number[] = []
    const timing = performance.now()
    for (let i = 0; i < settings.warmup + settings.samples; i++) {
      const timed = i >= settings.warmup
      // A then B, then B then A: neither always follows the other.
      for (const kind of i % 2 === 0 ? (['A', 'B'] as const) : (['B', 'A'] as const)) {
        if (signal.aborted) throw new Error('interrupted')
        if (kind === 'A') {
          const account = passwordAccounts[i % users]!
          const where = `${tessera.label}: sign-in ${i + 1} (A), POST /auth/login ${account.email}`
          const login = await post(
            tessera,
            '/auth/login',
            { email: account.email, password: LOAD_PASSWORD },
            account.ip,
          )
          expectTokens(login.reply, account, ['pwd'], where)
          if (timed) passwordLoginMs.push(round3(login.ms))
        } else {
          const account = await pool.take(signal)
          const where = `${tessera.label}: sign-in ${i + 1} (B) of ${account.email}`
          const login = await post(
            tessera,
            '/auth/login',
            { email: account.email, password: LOAD_PASSWORD },
            account.ip,
          )
          const mfaToken = expectChallenge(login.reply, `${where}, POST /auth/login`)
          await sleep(SETTLE_AFTER_MS)
          const now = Date.now()
          const step = stepAt(now)
          // The pool gave an account whose step is unspent; only a clock set back breaks that.
          if (step <= account.lastStep) throw new Error('the clock went back: rerun')
          account.lastStep = step
          const verify = await post(
            tessera,
            '/auth/mfa/verify',
            { mfaToken, method: 'totp', code: totpCode(account.secret, now) },
            account.ip,
          )
          expectTokens(
            verify.reply,
            account,
            ['pwd', 'otp', 'mfa'],
            `${where}, POST /auth/mfa/verify`,
          )
          if (timed) {
            mfaLoginMs.push(round3(login.ms))
            mfaVerifyMs.push(round3(verify.ms))
          }
        }
        await sleep(SETTLE_AFTER_MS)
      }
      // One argon2id verify alone, in the same alternation, so the machine's
      // noise reaches it as it reaches the logins.
      const hashing = performance.now()
      const { ok } = await hasher.verify(stored, LOAD_PASSWORD)
      const hashMs = performance.now() - hashing
      if (!ok) throw new Error('argon2id refused the password it just hashed')
      if (timed) argon2VerifyMs.push(round3(hashMs))
      await sleep(SETTLE_AFTER_MS)
    }
    const mfaTotalMs = mfaLoginMs.map((ms, i) => ms + mfaVerifyMs[i]!)
    const passwordLogin = statsOf(passwordLoginMs)
    const mfaTotal = statsOf(mfaTotalMs)
    const result: DatabaseResult = {
      database,
      busyCoresAtStart,
      prepareSeconds,
      passwordLogin,
      mfaLogin: statsOf(mfaLoginMs),
      mfaVerify: statsOf(mfaVerifyMs),
      mfaTotal,
      ratioP50: mfaTotal.p50Ms / passwordLogin.p50Ms,
      ratioP99: mfaTotal.p99Ms / passwordLogin.p99Ms,
      argon2Verify: statsOf(argon2VerifyMs),
      poolWaits: pool.waits,
      poolWaitSeconds: Math.round(pool.waitedMs / 100) / 10,
      passwordLoginMs,
      mfaLoginMs,
      mfaVerifyMs,
      argon2VerifyMs,
      serverProblems: tessera.instance.problems.map((line) => `${tessera.label}: ${line}`),
    }
    progress(
      `  A ${formatMs(passwordLogin.p50Ms)} ms, B ${formatMs(mfaTotal.p50Ms)} ms (login ${formatMs(result.mfaLogin.p50Ms)} + verify ${formatMs(result.mfaVerify.p50Ms)}), p50; ${formatRatio(result.ratioP50)} (${Math.round((performance.now() - timing) / 100) / 10} s${pool.waits > 0 ? `, ${pool.waits} waits for a fresh step` : ''})`,
    )
    return result
  } finally {
    await server?.close()
    await schema?.drop()
  }
}

// ---------------------------------------------------------------- output

function latencyTable(results: readonly DatabaseResult[], samples: number): Table {
  const several = results.length > 1
  const row = (result: DatabaseResult, signIn: string, request: string, stats: Stats) => [
    ...(several ? [DATABASE_LABEL[result.database]] : []),
    signIn,
    request,
    String(samples),
    `${formatMs(stats.p50Ms)} ms`,
    `${formatMs(stats.p90Ms)} ms`,
    `${formatMs(stats.p99Ms)} ms`,
    `${formatMs(stats.maxMs)} ms`,
  ]
  return {
    headers: [
      ...(several ? ['Database'] : []),
      'Sign-in',
      'Request',
      'N',
      'p50',
      'p90',
      'p99',
      'max',
    ],
    align: [...(several ? ['left' as const] : []), 'left', ...labelThenNumbers(6)],
    rows: results.flatMap((result) => [
      row(result, 'A: password', 'POST /auth/login -> tokens', result.passwordLogin),
      row(result, 'B: password + app', 'POST /auth/login -> challenge', result.mfaLogin),
      row(result, 'B: password + app', 'POST /auth/mfa/verify -> tokens', result.mfaVerify),
      row(result, 'B: password + app', 'total (login + verify)', result.mfaTotal),
    ]),
  }
}

function costTable(results: readonly DatabaseResult[]): Table {
  return {
    headers: [
      'Database',
      'B/A p50',
      'B/A p99',
      'Verify p50',
      'Verify p99',
      'B - A p50',
      'argon2id verify p50',
      'argon2id / A p50',
    ],
    align: labelThenNumbers(8),
    rows: results.map((result) => [
      DATABASE_LABEL[result.database],
      formatRatio(result.ratioP50),
      formatRatio(result.ratioP99),
      `${formatMs(result.mfaVerify.p50Ms)} ms`,
      `${formatMs(result.mfaVerify.p99Ms)} ms`,
      `${formatMs(result.mfaTotal.p50Ms - result.passwordLogin.p50Ms)} ms`,
      `${formatMs(result.argon2Verify.p50Ms)} ms`,
      `${Math.round((result.argon2Verify.p50Ms / result.passwordLogin.p50Ms) * 100)}%`,
    ]),
  }
}

interface Report {
  benchmark: 'mfa'
  date: string
  durationSeconds: number
  machine: MachineInfo & { loadAverageAtEnd: number[] }
  packages: Record<string, string>
  versions: { postgres: string }
  config: Omit<Settings, 'write' | 'databaseUrl'> & {
    databases: Database[]
    settleAfterMs: number
  }
  results: DatabaseResult[]
  /** Database parts that failed to run (PostgreSQL down), with their error. */
  failed: { database: Database; error: string }[]
}

function markdownSection(report: Report): string {
  const { machine, config } = report
  const versions = Object.entries(report.packages)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ')
  const postgres =
    report.versions.postgres === 'unused' ? '' : `, PostgreSQL ${report.versions.postgres}`
  const failed =
    report.failed.length === 0
      ? ''
      : `\nNot measured: ${report.failed.map((f) => `${DATABASE_LABEL[f.database]} (${f.error})`).join('; ')}.\n`
  const waits = report.results
    .filter((r) => r.poolWaits > 0)
    .map((r) => `${DATABASE_LABEL[r.database]} ${r.poolWaits} (${r.poolWaitSeconds} s)`)
  const busy = report.results.filter((r) => r.busyCoresAtStart >= IDLE_CORES)
  const busyLine =
    busy.length === 0
      ? ''
      : `\nThe machine was not idle: other work held ${busy.map((r) => `${r.busyCoresAtStart} cores before ${DATABASE_LABEL[r.database]}`).join(' and ')} started (after waiting up to ${IDLE_WAIT_MS / 1000} s for it to stop), so the p90s and p99s carry its noise.`
  const problems = report.results.flatMap((r) => r.serverProblems)
  const logged =
    problems.length === 0
      ? 'The servers logged no warning or error.'
      : `The servers logged: ${problems.slice(0, 5).join('; ')}.`
  return `## The sign-in's second step (\`npm run bench:mfa\`)

Generated by \`bench/mfa.ts\` on ${report.date} in ${report.durationSeconds} s; how it measures: [bench/README.md](README.md#npm-run-benchmfa).
${machine.cpuModel}, ${machine.cores} cores, ${machine.platform} ${machine.arch}, Node ${machine.node}; load average
${machine.loadAverageAtStart.join(' / ')} at the start, ${machine.loadAverageAtEnd.join(' / ')} at the end.
${versions}${postgres}.${config.quick ? ' Quick run: indicative only.' : ''}${busyLine}
${failed}
${config.samples} sign-ins of each kind (after ${config.warmup} untimed), A and B alternating, one request at a
time over HTTP/1.1 keep-alive to \`tessera serve\` on 127.0.0.1, each account from its own address. A: an
account with a password only, \`POST /auth/login\` answers the tokens. B: an account with an authenticator app,
\`POST /auth/login\` answers the challenge, \`POST /auth/mfa/verify\` with the app's code the tokens; total is the
two requests' times added. Every answer is checked (status, shape, and the access token's \`amr\`: \`pwd\` for A,
\`pwd otp mfa\` for B).

${renderMarkdown(latencyTable(report.results, config.samples))}

Both logins verify the password with argon2id, which is most of their time: "argon2id verify" is one
verify alone with the server's own hasher and parameters, timed in the bench's process once per pair of
sign-ins while the server waits. B/A therefore mostly restates that the password is hashed in both; what
the second step costs is the verify request's own milliseconds ("B - A" is the difference of the p50s).

${renderMarkdown(costTable(report.results))}

${waits.length === 0 ? `The pool of ${config.users} accounts with an app never ran dry within a 30-second step.` : `The pool of ${config.users} accounts with an app ran dry within a step (untimed waits for the next): ${waits.join(', ')}.`}
${logged}
`
}

function writeOutputs(report: Report): string[] {
  const benchDir = import.meta.dirname
  const resultsDir = join(benchDir, 'results')
  mkdirSync(resultsDir, { recursive: true })
  const jsonPath = join(resultsDir, 'mfa.json')
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`)
  const mdPath = join(benchDir, 'RESULTS.md')
  writeResultsSection(mdPath, 'mfa', markdownSection(report))
  return [jsonPath, mdPath]
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const parsed = parseCommandLine(() => parseSettings(process.argv.slice(2)), USAGE)
  if ('exitCode' in parsed) return parsed.exitCode
  const { settings } = parsed
  // Whatever happens (an error, Ctrl-C: exit 130), no server outlives the run.
  installCleanup(progress)
  const started = performance.now()
  const machine = machineInfo()
  const databases: Database[] =
    settings.databaseUrl === undefined ? ['sqlite'] : ['sqlite', 'postgres']
  progress(
    `bench:mfa ${settings.quick ? '(quick) ' : ''}${databases.map((d) => DATABASE_LABEL[d]).join(', ')}: ${settings.samples} sign-ins of each kind, ${settings.users} accounts of each kind; ` +
      `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadAverageAtStart.join(' ')}`,
  )
  const versions = {
    postgres:
      settings.databaseUrl === undefined ? 'unused' : await postgresVersion(settings.databaseUrl),
  }
  const packages: Record<string, string> = {}
  for (const name of ['@tessera/server', 'argon2', 'otpauth']) packages[name] = packageVersion(name)

  const results: DatabaseResult[] = []
  const failed: Report['failed'] = []
  for (const database of databases) {
    try {
      results.push(await runDatabase(database, settings, interrupted.signal))
    } catch (error) {
      if (error instanceof GateError) {
        process.stderr.write(`\ncorrectness gate failed, nothing is written: ${error.message}\n`)
        return 3
      }
      const message = (error as Error).message
      progress(`  ${DATABASE_LABEL[database]} failed: ${message}`)
      failed.push({ database, error: message.slice(0, 300) })
    }
  }

  const { write, databaseUrl, ...shown } = settings
  const report: Report = {
    benchmark: 'mfa',
    date: new Date().toISOString(),
    durationSeconds: Math.round((performance.now() - started) / 100) / 10,
    machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    packages,
    versions,
    config: { ...shown, databases, settleAfterMs: SETTLE_AFTER_MS },
    results,
    failed,
  }

  if (results.length > 0) {
    process.stdout.write(
      `\nSign-in latency: ${settings.samples} sign-ins of each kind, alternating, one request at a time\n\n`,
    )
    process.stdout.write(`${renderText(latencyTable(results, settings.samples))}\n`)
    process.stdout.write(
      "\nThe second step's cost, and one argon2id verify alone (most of either login)\n\n",
    )
    process.stdout.write(`${renderText(costTable(results))}\n`)
  }
  const problems = results.flatMap((r) => r.serverProblems)
  if (problems.length > 0) {
    progress(`\nthe servers logged warnings or errors:\n  ${problems.join('\n  ')}`)
  }
  process.stdout.write(`\n(${report.durationSeconds} s)\n`)

  if (write && results.length > 0) {
    const written = writeOutputs(report)
    progress(`wrote ${written.map((path) => relative(process.cwd(), path)).join(', ')}`)
  } else {
    progress('results not written (quick or --no-write run; --write forces it)')
  }
  return failed.length > 0 ? 4 : 0
}

process.exitCode = await main()
