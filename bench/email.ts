/**
 * `npm run bench:email`: the email flows of `tessera serve`, over real HTTP on
 * 127.0.0.1. Two figures (issue 15):
 *
 * 1. Enumeration timing: for each route that asks for a mail, how long the
 *    answer takes for an address with an account and for one without,
 *    alternating, and the ratio of the two (near 1.0x: the answer does not
 *    tell them apart).
 * 2. Mail queued to delivered: from sending POST /auth/password/forgot for an
 *    account to the message arriving at an SMTP server in this process.
 *
 * On SQLite, and also on PostgreSQL with --database-url. Prints the tables;
 * a full run writes bench/results/email.json and the `bench:email` section of
 * bench/RESULTS.md. How it measures: bench/README.md.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, relative } from 'node:path'
import { isDeepStrictEqual, parseArgs } from 'node:util'
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
import { type SmtpSink, startSmtpSink } from './lib/smtp-sink.ts'
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

const USAGE = `Usage: npm run bench:email -- [options]

  --quick                 a smoke run: 10 tries per address kind and 10 mails, SQLite only
                          (unless --database-url is given); writes nothing
  --database-url <url>    also measure on this PostgreSQL (env TESSERA_BENCH_DATABASE_URL);
                          a schema is made in it for the run and dropped after
  --tries <n>             timed tries per route and address kind (default 50, quick 10)
  --mails <n>             timed mails queued to delivered (default 50, quick 10)
  --write                 write results/email.json and RESULTS.md even for a quick run
  --no-write              do not write them, even for a full run
  -h, --help              this text`

interface Settings {
  readonly quick: boolean
  readonly tries: number
  /** Untimed tries of each kind per route first (and untimed mails). */
  readonly warmup: number
  readonly mails: number
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
      tries: { type: 'string' },
      mails: { type: 'string' },
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
    tries: positiveInteger(values.tries, 'tries', quick ? 10 : 50, 1000),
    warmup: quick ? 1 : 5,
    mails: positiveInteger(values.mails, 'mails', quick ? 10 : 50, 1000),
    databaseUrl,
    // A quick run must not replace the committed full results by accident.
    write: values.write ?? !quick,
  }
}

// ---------------------------------------------------------------- constants

/**
 * Pause after each answer (and after its mail, when one is due) before the
 * next request: the work a route does after answering (the lookup, the
 * outbox row, the SMTP exchange, marking the row sent) ends before the next
 * request starts, so every request meets an idle server.
 */
const SETTLE_AFTER_MS = 25
/** A mail that should come and has not after this long fails the run. */
const MAIL_TIMEOUT_MS = 10_000
/** After a route, how long to watch for mail that must not come. */
const QUIET_CHECK_MS = 500
/** A full run waits up to this long, before each database, for an idle machine. */
const IDLE_WAIT_MS = 20_000
/** Accounts signed up at a time while preparing. */
const SIGNUP_CONCURRENCY = 4

// ---------------------------------------------------------------- the run's servers

/** A correctness gate did not hold: nothing is written, exit code 3. */
class GateError extends Error {}

type Database = 'sqlite' | 'postgres'
type Verification = 'optional' | 'required'

/** One `tessera serve` under test. */
interface Tessera {
  readonly label: string
  readonly instance: Instance
  readonly target: Target
  /** Tags addresses and client IPs, so two servers of one run never share either. */
  readonly tag: string
  /** A client address of its own for each request (X-Forwarded-For, one /64 each). */
  nextIp(): string
  close(): Promise<void>
}

async function startTessera(
  label: string,
  verification: Verification,
  smtp: SmtpSink,
  schema: RunSchema | undefined,
): Promise<Tessera> {
  const env = tesseraEnv({
    TESSERA_SMTP_URL: smtp.url,
    TESSERA_EMAIL_VERIFICATION: verification,
    // Behind one proxy hop: the client IP is the X-Forwarded-For address, so
    // each request counts against a limit of its own (30 mails per IP per hour).
    TESSERA_TRUST_PROXY: '1',
    ...(schema === undefined ? {} : { TESSERA_DATABASE_URL: schema.url }),
  })
  const instance = await startInstance(label, env)
  const target = loopbackTarget(instance.url)
  const tag = randomBytes(2).toString('hex')
  let n = 0
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
    tag,
    nextIp: () => clientIp(tag, n++),
    async close() {
      closeTargets([target])
      await instance.stop()
    },
  }
}

/** One request over a keep-alive connection, timed from before the write to the end of the answer. */
async function post(
  server: Tessera,
  path: string,
  body: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ reply: Reply; ms: number }> {
  const requestHeaders = { 'x-forwarded-for': server.nextIp(), ...headers }
  const started = performance.now()
  const reply = await send(server.target, 'POST', path, { body, headers: requestHeaders })
  return { reply, ms: performance.now() - started }
}

/** The answer a request must get: a status and, parsed, a body (undefined: empty). */
interface Expected {
  status: number
  body: unknown
}

const ACCEPTED: Expected = { status: 202, body: null }
const VERIFICATION_SENT: Expected = { status: 202, body: { status: 'verification_sent' } }

function parsedBody(text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Throws a GateError unless `reply` is the expected answer, so no figure ever times an error path. */
function checkAnswer(reply: Reply, expected: Expected, where: string): void {
  const body = parsedBody(reply.text)
  if (reply.status !== expected.status || !isDeepStrictEqual(body, expected.body)) {
    throw new GateError(
      `${where}: expected ${expected.status} ${JSON.stringify(expected.body) ?? '(empty)'}, got ${reply.status} ${reply.text.slice(0, 300) || '(empty)'}`,
    )
  }
}

/** Waits for the `nth` mail to `address`; a GateError when it does not come. */
async function expectMail(smtp: SmtpSink, address: string, nth: number, where: string) {
  try {
    return await smtp.waitFor(address, nth, MAIL_TIMEOUT_MS)
  } catch {
    throw new GateError(`${where}: no mail reached ${address} within ${MAIL_TIMEOUT_MS / 1000} s`)
  }
}

/**
 * Signs up `emails` (SIGNUP_CONCURRENCY at a time) and waits for the
 * verification mail each is sent, so no setup mail is still on its way when
 * the timing starts.
 */
async function signUpAll(
  server: Tessera,
  smtp: SmtpSink,
  emails: readonly string[],
  verification: Verification,
): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < emails.length) {
      const email = emails[next++]!
      const { reply } = await post(server, '/auth/signup', { email, password: LOAD_PASSWORD })
      const where = `${server.label}: preparing, POST /auth/signup ${email}`
      if (verification === 'required') checkAnswer(reply, VERIFICATION_SENT, where)
      else if (reply.status !== 201 || tokensOf(reply.text) === undefined) {
        throw new GateError(`${where}: expected 201 and tokens, got ${reply.status} ${reply.text}`)
      }
    }
  }
  await Promise.all(Array.from({ length: SIGNUP_CONCURRENCY }, worker))
  for (const email of emails) await expectMail(smtp, email, 1, `${server.label}: preparing`)
}

async function logInFor(server: Tessera, email: string): Promise<string> {
  const { reply } = await post(server, '/auth/login', { email, password: LOAD_PASSWORD })
  const tokens = reply.status === 200 ? tokensOf(reply.text) : undefined
  if (tokens === undefined) {
    throw new GateError(`${server.label}: POST /auth/login answered ${reply.status} ${reply.text}`)
  }
  return tokens.accessToken
}

// ---------------------------------------------------------------- enumeration timing

type Kind = 'known' | 'unknown'

/** One try: what to send, what must come back, and what the mailbox must show. */
interface Attempt {
  readonly path: string
  readonly body: Record<string, string>
  readonly headers?: Record<string, string>
  readonly expected: Expected
  /** The address whose mailbox shows what the server did after answering. */
  readonly watch: string
  /** Whether a mail to `watch` must follow; when false, none may. */
  readonly mailed: boolean
}

/** A route timed for a known and an unknown address. */
interface Route {
  readonly id: string
  readonly label: string
  readonly known: string
  readonly unknown: string
  readonly server: Tessera
  /** Runs just before the route is timed. */
  prepare?(): Promise<void>
  /** Try `i` (0-based, warm-up included) of `kind`. */
  attempt(kind: Kind, i: number): Attempt
}

interface Stats {
  medianMs: number
  p90Ms: number
  maxMs: number
}

function statsOf(values: readonly number[]): Stats {
  const round = (value: number): number => Math.round(value * 1000) / 1000
  return {
    medianMs: round(percentile(values, 50)),
    p90Ms: round(percentile(values, 90)),
    maxMs: round(Math.max(...values)),
  }
}

interface RouteResult {
  id: string
  label: string
  known: string
  unknown: string
  knownStats: Stats
  unknownStats: Stats
  /** known / unknown, of the medians and of the p90s. */
  ratioMedian: number
  ratioP90: number
  /** Every timed answer, ms, in the order sent (known and unknown alternated). */
  knownMs: number[]
  unknownMs: number[]
}

/**
 * Times `route`: `warmup` untimed tries of each kind, then `tries` timed,
 * known and unknown alternating. Each answer is checked; each known address
 * that should be mailed must be, and no address that should not be may be.
 */
async function timeRoute(
  route: Route,
  smtp: SmtpSink,
  settings: Settings,
  signal: AbortSignal,
): Promise<RouteResult> {
  const samples: Record<Kind, number[]> = { known: [], unknown: [] }
  const quiet: { address: string; count: number; where: string }[] = []
  for (let i = 0; i < settings.warmup + settings.tries; i++) {
    for (const kind of ['known', 'unknown'] as const) {
      if (signal.aborted) throw new Error('interrupted')
      const attempt = route.attempt(kind, i)
      const where = `${route.server.label}: POST ${attempt.path} (${kind} address, try ${i + 1})`
      const before = smtp.count(attempt.watch)
      const { reply, ms } = await post(route.server, attempt.path, attempt.body, attempt.headers)
      checkAnswer(reply, attempt.expected, where)
      if (attempt.mailed) await expectMail(smtp, attempt.watch, before + 1, where)
      else quiet.push({ address: attempt.watch, count: before, where })
      if (i >= settings.warmup) samples[kind].push(Math.round(ms * 1000) / 1000)
      await sleep(SETTLE_AFTER_MS)
    }
  }
  await sleep(QUIET_CHECK_MS)
  for (const { address, count, where } of quiet) {
    if (smtp.count(address) !== count) {
      throw new GateError(`${where}: ${address} was mailed, and should not have been`)
    }
  }
  const knownStats = statsOf(samples.known)
  const unknownStats = statsOf(samples.unknown)
  return {
    id: route.id,
    label: route.label,
    known: route.known,
    unknown: route.unknown,
    knownStats,
    unknownStats,
    ratioMedian: knownStats.medianMs / unknownStats.medianMs,
    ratioP90: knownStats.p90Ms / unknownStats.p90Ms,
    knownMs: samples.known,
    unknownMs: samples.unknown,
  }
}

// ---------------------------------------------------------------- queued to delivered

interface DeliveryResult {
  mails: number
  /** From sending POST /auth/password/forgot to the message's arrival at the SMTP server, ms. */
  delivered: Stats
  /**
   * From sending it to the SMTP server accepting the connection that brought
   * the message, ms: Tessera's part, without the SMTP exchange (and the sink's
   * fixed 100 ms before its greeting).
   */
  connected: Stats
  /** The 202 answer alone, ms. */
  answered: Stats
  deliveredMs: number[]
  connectedMs: number[]
  answeredMs: number[]
}

/** Times `warmup + mails` reset mails, one at a time, each to an account of its own. */
async function timeDelivery(
  server: Tessera,
  smtp: SmtpSink,
  accounts: readonly string[],
  settings: Settings,
  signal: AbortSignal,
): Promise<DeliveryResult> {
  const deliveredMs: number[] = []
  const connectedMs: number[] = []
  const answeredMs: number[] = []
  for (let i = 0; i < accounts.length; i++) {
    if (signal.aborted) throw new Error('interrupted')
    const email = accounts[i]!
    const where = `${server.label}: POST /auth/password/forgot (mail ${i + 1})`
    const before = smtp.count(email)
    const started = performance.now()
    const { reply, ms } = await post(server, '/auth/password/forgot', { email })
    checkAnswer(reply, ACCEPTED, where)
    const arrived = await expectMail(smtp, email, before + 1, where)
    if (i >= settings.warmup) {
      deliveredMs.push(Math.round((arrived.at - started) * 1000) / 1000)
      connectedMs.push(Math.round((arrived.connectedAt - started) * 1000) / 1000)
      answeredMs.push(Math.round(ms * 1000) / 1000)
    }
    await sleep(SETTLE_AFTER_MS)
  }
  return {
    mails: deliveredMs.length,
    delivered: statsOf(deliveredMs),
    connected: statsOf(connectedMs),
    answered: statsOf(answeredMs),
    deliveredMs,
    connectedMs,
    answeredMs,
  }
}

// ---------------------------------------------------------------- one database

interface DatabaseResult {
  database: Database
  /** Busy cores over the second before the part started (other work on the machine). */
  busyCoresAtStart: number
  routes: RouteResult[]
  delivery: DeliveryResult
  /** Warn and error lines the servers logged (message only). */
  serverProblems: string[]
}

const DATABASE_LABEL: Record<Database, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' }

function progress(message: string): void {
  process.stderr.write(`${message}\n`)
}

async function runDatabase(
  database: Database,
  smtp: SmtpSink,
  settings: Settings,
  signal: AbortSignal,
): Promise<DatabaseResult> {
  const busyCoresAtStart = settings.quick ? 0 : await settle(IDLE_WAIT_MS)
  progress(
    `${DATABASE_LABEL[database]}${busyCoresAtStart >= IDLE_CORES ? ` (the machine is busy: ${busyCoresAtStart} cores in use by other work)` : ''}`,
  )
  const schemas: RunSchema[] = []
  const servers: Tessera[] = []
  try {
    const schema = async (): Promise<RunSchema | undefined> => {
      if (database === 'sqlite') return undefined
      const made = await createRunSchema(settings.databaseUrl!)
      schemas.push(made)
      return made
    }
    // Signup is timed on a server that requires verification (the only mode
    // where it answers the same for a new and an existing address); the
    // other routes on one with the default, optional.
    const required = await startTessera(
      `${database} (verification required)`,
      'required',
      smtp,
      await schema(),
    )
    servers.push(required)
    const optional = await startTessera(
      `${database} (verification optional)`,
      'optional',
      smtp,
      await schema(),
    )
    servers.push(optional)

    const per = settings.warmup + settings.tries
    const address = (server: Tessera, what: string, i: number): string =>
      `bench-${server.tag}-${what}-${i}@example.com`
    const list = (server: Tessera, what: string, count: number): string[] =>
      Array.from({ length: count }, (_, i) => address(server, what, i))
    // One account per try: the send limit is 5 mails per address per hour.
    const existing = list(required, 'existing', per)
    const forgotKnown = list(optional, 'forgot', per)
    const verifyKnown = list(optional, 'unverified', per)
    const otpKnown = list(optional, 'otp', per)
    const taken = list(optional, 'taken', per)
    const deliveryAccounts = list(optional, 'delivery', settings.warmup + settings.mails)
    const changer = address(optional, 'changer', 0)
    const preparing = performance.now()
    await signUpAll(required, smtp, existing, 'required')
    await signUpAll(
      optional,
      smtp,
      [changer, ...forgotKnown, ...verifyKnown, ...otpKnown, ...taken, ...deliveryAccounts],
      'optional',
    )
    progress(
      `  prepared ${existing.length + 1 + forgotKnown.length * 4 + deliveryAccounts.length} accounts in ${Math.round((performance.now() - preparing) / 100) / 10} s`,
    )

    const mailLink = (path: string, known: string[], what: string) => (kind: Kind, i: number) => {
      const email = kind === 'known' ? known[i]! : address(optional, `${what}-unknown`, i)
      return {
        path,
        body: { email },
        expected: ACCEPTED,
        watch: email,
        mailed: kind === 'known',
      }
    }
    let authorization = ''
    const routes: Route[] = [
      {
        id: 'signup',
        label: 'POST /auth/signup (verification required)',
        known: 'an account',
        unknown: 'a new address',
        server: required,
        attempt: (kind, i) => {
          const email = kind === 'known' ? existing[i]! : address(required, 'new', i)
          return {
            path: '/auth/signup',
            body: { email, password: LOAD_PASSWORD },
            expected: VERIFICATION_SENT,
            watch: email,
            // A new address gets its verification link, an existing one a notice.
            mailed: true,
          }
        },
      },
      {
        id: 'password-forgot',
        label: 'POST /auth/password/forgot',
        known: 'an account',
        unknown: 'no account',
        server: optional,
        attempt: mailLink('/auth/password/forgot', forgotKnown, 'forgot'),
      },
      {
        id: 'email-verify-send',
        label: 'POST /auth/email/verify/send',
        known: 'an unverified account',
        unknown: 'no account',
        server: optional,
        attempt: mailLink('/auth/email/verify/send', verifyKnown, 'unverified'),
      },
      {
        id: 'otp-send',
        label: 'POST /auth/otp/send',
        known: 'an account',
        unknown: 'no account',
        server: optional,
        attempt: mailLink('/auth/otp/send', otpKnown, 'otp'),
      },
      {
        id: 'email-change',
        label: 'POST /auth/email/change',
        known: 'new address taken',
        unknown: 'new address free',
        server: optional,
        async prepare() {
          // A fresh login, so the session is a minute old at most when timed.
          authorization = `Bearer ${await logInFor(optional, changer)}`
        },
        attempt: (kind, i) => {
          const newEmail = kind === 'known' ? taken[i]! : address(optional, 'free', i)
          return {
            path: '/auth/email/change',
            body: { newEmail, currentPassword: LOAD_PASSWORD },
            headers: { authorization },
            expected: ACCEPTED,
            watch: newEmail,
            // Only a free address is mailed a link; the owner of a taken one learns nothing.
            mailed: kind === 'unknown',
          }
        },
      },
    ]
    const results: RouteResult[] = []
    for (const route of routes) {
      await route.prepare?.()
      const started = performance.now()
      const result = await timeRoute(route, smtp, settings, signal)
      results.push(result)
      progress(
        `  ${route.label}: known ${formatMs(result.knownStats.medianMs)} ms, unknown ${formatMs(result.unknownStats.medianMs)} ms (median), ${formatRatio(result.ratioMedian)} (${Math.round((performance.now() - started) / 100) / 10} s)`,
      )
    }

    const delivery = await timeDelivery(optional, smtp, deliveryAccounts, settings, signal)
    progress(
      `  reset mail queued -> delivered: median ${formatMs(delivery.delivered.medianMs)} ms, p90 ${formatMs(delivery.delivered.p90Ms)} ms, max ${formatMs(delivery.delivered.maxMs)} ms`,
    )
    return {
      database,
      busyCoresAtStart,
      routes: results,
      delivery,
      serverProblems: servers.flatMap((server) =>
        server.instance.problems.map((line) => `${server.label}: ${line}`),
      ),
    }
  } finally {
    for (const server of servers) await server.close()
    for (const made of schemas) await made.drop()
  }
}

// ---------------------------------------------------------------- output

function enumerationTable(results: readonly DatabaseResult[]): Table {
  const several = results.length > 1
  const headers = [
    ...(several ? ['Database'] : []),
    'Route',
    'Known',
    'Unknown',
    'Known median',
    'Known p90',
    'Unknown median',
    'Unknown p90',
    'Known/unknown median',
    'Known/unknown p90',
  ]
  return {
    headers,
    align: [
      ...(several ? ['left' as const] : []),
      'left',
      'left',
      'left',
      ...labelThenNumbers(7).slice(1),
    ],
    rows: results.flatMap((result) =>
      result.routes.map((route) => [
        ...(several ? [DATABASE_LABEL[result.database]] : []),
        route.label,
        route.known,
        route.unknown,
        `${formatMs(route.knownStats.medianMs)} ms`,
        `${formatMs(route.knownStats.p90Ms)} ms`,
        `${formatMs(route.unknownStats.medianMs)} ms`,
        `${formatMs(route.unknownStats.p90Ms)} ms`,
        formatRatio(route.ratioMedian),
        formatRatio(route.ratioP90),
      ]),
    ),
  }
}

function deliveryTable(results: readonly DatabaseResult[]): Table {
  return {
    headers: [
      'Database',
      'Mails',
      'Delivered median',
      'p90',
      'max',
      'SMTP connection median',
      'p90',
      'Answer (202) median',
    ],
    align: labelThenNumbers(8),
    rows: results.map(({ database, delivery }) => [
      DATABASE_LABEL[database],
      String(delivery.mails),
      `${formatMs(delivery.delivered.medianMs)} ms`,
      `${formatMs(delivery.delivered.p90Ms)} ms`,
      `${formatMs(delivery.delivered.maxMs)} ms`,
      `${formatMs(delivery.connected.medianMs)} ms`,
      `${formatMs(delivery.connected.p90Ms)} ms`,
      `${formatMs(delivery.answered.medianMs)} ms`,
    ]),
  }
}

interface Report {
  benchmark: 'email'
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
  const problems = report.results.flatMap((r) => r.serverProblems)
  const logged =
    problems.length === 0
      ? 'The servers logged no warning or error.'
      : `The servers logged: ${problems.slice(0, 5).join('; ')}.`
  return `## Email flows (\`npm run bench:email\`)

Generated by \`bench/email.ts\` on ${report.date} in ${report.durationSeconds} s; how it measures: [bench/README.md](README.md#npm-run-benchemail).
${machine.cpuModel}, ${machine.cores} cores, ${machine.platform} ${machine.arch}, Node ${machine.node}; load average
${machine.loadAverageAtStart.join(' / ')} at the start, ${machine.loadAverageAtEnd.join(' / ')} at the end.
${versions}${postgres}.${config.quick ? ' Quick run: indicative only.' : ''}
${failed}
Enumeration timing: ${config.tries} tries per address kind and route (after ${config.warmup} untimed), known and
unknown alternating, one at a time, over HTTP/1.1 keep-alive to \`tessera serve\` on 127.0.0.1. Each answer is
checked (202 and its body), every known address that should be mailed was, no other was. A ratio near 1.00x
means the answer's timing does not tell an address with an account from one without.

${renderMarkdown(enumerationTable(report.results))}

Mail queued to delivered: from sending \`POST /auth/password/forgot\` for an account to the reset mail's
arrival at an SMTP server in the bench's process (smtp-server), ${config.mails} mails one at a time, each on a
new SMTP connection (Tessera's default transport does not pool). "SMTP connection" is from the same start to
the sink accepting the TCP connection that brought the mail: Tessera's part. The rest is the SMTP exchange,
about 100 ms of which is smtp-server's own fixed wait before its greeting.

${renderMarkdown(deliveryTable(report.results))}

${logged}
`
}

function writeOutputs(report: Report): string[] {
  const benchDir = import.meta.dirname
  const resultsDir = join(benchDir, 'results')
  mkdirSync(resultsDir, { recursive: true })
  const jsonPath = join(resultsDir, 'email.json')
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`)
  const mdPath = join(benchDir, 'RESULTS.md')
  writeResultsSection(mdPath, 'email', markdownSection(report))
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
    `bench:email ${settings.quick ? '(quick) ' : ''}${databases.map((d) => DATABASE_LABEL[d]).join(', ')}: ${settings.tries} tries per address kind, ${settings.mails} mails; ` +
      `${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadAverageAtStart.join(' ')}`,
  )
  const versions = {
    postgres:
      settings.databaseUrl === undefined ? 'unused' : await postgresVersion(settings.databaseUrl),
  }
  const packages: Record<string, string> = {}
  for (const name of ['@tessera/server', 'smtp-server']) packages[name] = packageVersion(name)

  const smtp = await startSmtpSink()
  const results: DatabaseResult[] = []
  const failed: Report['failed'] = []
  try {
    for (const database of databases) {
      try {
        results.push(await runDatabase(database, smtp, settings, interrupted.signal))
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
  } finally {
    await smtp.close()
  }

  const { write, databaseUrl, ...shown } = settings
  const report: Report = {
    benchmark: 'email',
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
      `\nEnumeration timing: time to the answer, ${settings.tries} tries per address kind, alternating\n\n`,
    )
    process.stdout.write(`${renderText(enumerationTable(results))}\n`)
    process.stdout.write(
      `\nMail queued -> delivered: POST /auth/password/forgot sent -> the mail at the SMTP server, ${settings.mails} mails\n\n`,
    )
    process.stdout.write(`${renderText(deliveryTable(results))}\n`)
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
