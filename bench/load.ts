/**
 * npm run bench:load: signup, login, refresh and GET /auth/me against real
 * `tessera serve` processes, for the deployments docs/deployment.md describes:
 *
 *   sqlite   one instance on SQLite
 *   pg-1     one instance on PostgreSQL
 *   pg-3     three instances on one PostgreSQL schema, sharing Redis
 *
 * Each setup starts from nothing (a fresh data dir, a fresh PostgreSQL schema
 * dropped afterwards, one master key shared by its instances) and runs four
 * phases in order, each feeding the next: signups create the users, logins
 * create the sessions, each refresh virtual user walks one session's
 * refresh-token chain (refresh tokens are single-use, so every request sends
 * the successor the previous answer returned), and GET /auth/me cycles
 * through the newest access token of every session. Requests go round-robin
 * across the instances. Every phase is bounded in time and request count;
 * all traffic stays on 127.0.0.1.
 *
 * Signup and login are argon2id (OWASP parameters) and nothing else of note,
 * so their ceiling is the hashing limit: cores / single-hash time, measured
 * here first. Prints a table, and for a full run writes results/load.json and
 * the `load` section of RESULTS.md.
 */

import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { parseCommandLine, UsageError } from './lib/cli.ts'
import { cpuBetween, cpuMark, IDLE_CORES, settle } from './lib/cpu.ts'
import { type HashingLimit, measureHashing, OWASP_ARGON2 } from './lib/hashing.ts'
import {
  createRunSchema,
  type Instance,
  type RunSchema,
  startInstance,
} from './lib/load-cluster.ts'
import {
  closeTargets,
  failureLabel,
  loopbackTarget,
  type Recorder,
  runPhase,
  type StepResult,
  send,
  type Target,
  type VirtualUser,
} from './lib/load-http.ts'
import { machineInfo } from './lib/machine.ts'
import { cleanUpNow, interrupted } from './lib/processes.ts'
import {
  isLoopbackUrl,
  postgresVersion,
  redisVersion,
  tesseraRedisClients,
} from './lib/services.ts'
import {
  formatMs as ms,
  formatRate as rate,
  renderMarkdown,
  renderText,
  type Table,
  writeResultsSection,
} from './lib/table.ts'
import {
  clientIp,
  KEYCLOAK_PER_VCPU,
  LOAD_PASSWORD as PASSWORD,
  tokensOf,
  waitReady,
} from './lib/tessera.ts'

// ---------------------------------------------------------------- options

const SETUPS = ['sqlite', 'pg-1', 'pg-3'] as const
type SetupId = (typeof SETUPS)[number]
const OPERATIONS = ['signup', 'login', 'refresh', 'me', 'me-many'] as const
type Operation = (typeof OPERATIONS)[number]

const USAGE = `Usage: npm run bench:load -- [options]

  --quick              a smoke run (<= 30 s): phases of about a second; writes nothing
  --setup <id>         only these setups (repeat or comma-separate): ${SETUPS.join(', ')}
  --pg-url <url>       PostgreSQL to use (default postgres://postgres@127.0.0.1:5432/test);
                       a schema is created in it for the run and dropped after
  --redis-url <url>    Redis for pg-3 (default redis://127.0.0.1:6379)
  --render             measure nothing: rewrite the RESULTS.md section from results/load.json
  --write              write results/load.json and RESULTS.md even for a quick or partial run
  --no-write           do not write them, even for a full run
  -h, --help           this text`

interface PhasePlan {
  /** Concurrent virtual users, each with one request in flight. */
  readonly concurrency: number
  /** Untimed warm-up before the measured part (same users, same state). */
  readonly warmupMs: number
  readonly durationMs: number
  readonly maxRequests: number
}

interface Settings {
  readonly quick: boolean
  readonly setups: readonly SetupId[]
  readonly pgUrl: string
  readonly redisUrl: string
  readonly write: boolean
  /** Re-render RESULTS.md from results/load.json instead of measuring. */
  readonly render: boolean
  readonly phases: Readonly<Record<Operation, PhasePlan>>
  /** Timed argon2 hashes (and verifies) for the single-hash time. */
  readonly hashSamples: number
}

/** GET /auth/me over this many tokens: well inside the verified-token cache (1000). */
const HOT_TOKENS = 250
/** ...and over up to this many, far more than it holds. */
const MANY_TOKENS = 4_000

/** A full run waits up to this long, before the hashing and before each setup, for an idle machine. */
const SETTLE_MS = 20_000

function parseSettings(argv: string[]): Settings | undefined {
  const { values } = parseArgs({
    args: argv,
    allowNegative: true,
    options: {
      quick: { type: 'boolean', default: false },
      setup: { type: 'string', multiple: true },
      'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
      'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
      write: { type: 'boolean' },
      render: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return undefined
  let setups: SetupId[] = [...SETUPS]
  if (values.setup !== undefined) {
    setups = []
    for (const name of values.setup.flatMap((value) => value.split(',')).map((v) => v.trim())) {
      const setup = SETUPS.find((id) => id === name)
      if (setup === undefined) {
        throw new UsageError(`unknown --setup ${JSON.stringify(name)}: ${SETUPS.join(', ')}`)
      }
      if (!setups.includes(setup)) setups.push(setup)
    }
    setups.sort((a, b) => SETUPS.indexOf(a) - SETUPS.indexOf(b))
  }
  const quick = values.quick
  const plan = (
    concurrency: number,
    warmupMs: number,
    durationMs: number,
    maxRequests: number,
  ): PhasePlan => ({ concurrency, warmupMs, durationMs, maxRequests })
  const phases: Record<Operation, PhasePlan> = quick
    ? {
        signup: plan(8, 0, 1_500, 2_000),
        login: plan(8, 0, 1_500, 2_000),
        refresh: plan(32, 0, 1_200, 20_000),
        me: plan(64, 0, 1_000, 50_000),
        'me-many': plan(64, 0, 1_000, 50_000),
      }
    : {
        signup: plan(8, 1_000, 12_000, 20_000),
        login: plan(8, 1_000, 12_000, 20_000),
        refresh: plan(32, 2_000, 10_000, 200_000),
        me: plan(64, 2_000, 8_000, 500_000),
        'me-many': plan(64, 2_000, 8_000, 500_000),
      }
  return {
    quick,
    setups,
    pgUrl: values['pg-url'],
    redisUrl: values['redis-url'],
    // A quick or partial run must not replace the committed full results by accident.
    write: values.write ?? (!quick && setups.length === SETUPS.length),
    render: values.render,
    phases,
    hashSamples: quick ? 4 : 12,
  }
}

function progress(message: string): void {
  process.stderr.write(`${message}\n`)
}

// ---------------------------------------------------------------- one setup

interface PhaseResult {
  operation: Operation
  concurrency: number
  /** GET /auth/me: distinct access tokens cycled through. */
  tokens?: number
  requests: number
  ok: number
  failed: number
  /** Failure label ("503 unavailable", "timeout", ...) → count. */
  failures: Record<string, number>
  seconds: number
  rps: number
  p50Ms: number
  p99Ms: number
  /** CPU cores busy on average during the phase: the tessera processes, PostgreSQL, Redis, this script, the machine. */
  cpu: {
    tessera: number
    postgres: number
    redis: number
    generator: number
    machine: number
    /** The machine's busy CPU not accounted for by the above: other work on the machine (noise). */
    other: number
  }
}

interface SetupResult {
  id: SetupId
  label: string
  instances: number
  database: 'sqlite' | 'postgres'
  redis: boolean
  /** Why the setup did not run (e.g. PostgreSQL support missing), when it did not. */
  skipped?: string
  /** Redis connections the instances opened (tessera-named clients, after minus before start). */
  redisClients?: number
  phases: PhaseResult[]
  users: number
  sessions: number
  /** Per instance: peak memory, log lines by level, the first warn/error lines, exit code. */
  logs: {
    name: string
    peakRssMiB: number
    levels: Record<string, number>
    problems: string[]
    exitCode: number | null
  }[]
}

const SETUP_INFO: Readonly<
  Record<
    SetupId,
    { label: string; instances: number; database: 'sqlite' | 'postgres'; redis: boolean }
  >
> = {
  sqlite: { label: 'SQLite, 1 instance', instances: 1, database: 'sqlite', redis: false },
  'pg-1': { label: 'PostgreSQL, 1 instance', instances: 1, database: 'postgres', redis: false },
  'pg-3': {
    label: 'PostgreSQL + Redis, 3 instances',
    instances: 3,
    database: 'postgres',
    redis: true,
  },
}

/** A user made in the signup phase; `n` numbers the users of the run. */
interface LoadUser {
  readonly n: number
  readonly email: string
}

/** A session: the newest token pair of one refresh-token chain. */
interface LoadSession {
  readonly n: number
  refreshToken: string
  accessToken: string
}

function virtualUsers<S>(count: number, state: (index: number) => S): VirtualUser<S>[] {
  return Array.from({ length: count }, (_, index) => ({ index, state: state(index), done: false }))
}

async function runSetup(id: SetupId, settings: Settings): Promise<SetupResult> {
  const info = SETUP_INFO[id]
  const result: SetupResult = { id, ...info, phases: [], users: 0, sessions: 0, logs: [] }
  const runTag = randomBytes(2).toString('hex')
  const env: Record<string, string> = {
    // Production refusals on, as deployed; a loopback http issuer is allowed there.
    NODE_ENV: 'production',
    TESSERA_ISSUER: 'http://localhost:3999',
    TESSERA_MASTER_KEY: randomBytes(32).toString('base64url'),
    TESSERA_LOG_LEVEL: 'info',
    TESSERA_TRUST_PROXY: '1',
    // One virtual user refreshes its one session back to back, far more often
    // than the default 60 per session per minute a real client never reaches.
    TESSERA_REFRESH_RATE_LIMIT: '1000000',
  }
  let schema: RunSchema | undefined
  const instances: Instance[] = []
  let targets: Target[] = []
  try {
    if (info.database === 'postgres') {
      try {
        schema = await createRunSchema(settings.pgUrl)
      } catch (error) {
        result.skipped = `PostgreSQL unreachable at the --pg-url: ${(error as Error).message}`
        return result
      }
      env.TESSERA_DATABASE_URL = schema.url
    }
    if (info.redis) env.TESSERA_REDIS_URL = settings.redisUrl
    const redisBefore = info.redis ? await tesseraRedisClients(settings.redisUrl) : 0
    try {
      // The first instance migrates and creates the first signing key; the
      // others then start together, as a rolling deploy would bring them up.
      instances.push(await startInstance(`${id}#1`, env))
      const rest = await Promise.all(
        Array.from({ length: info.instances - 1 }, (_, i) => startInstance(`${id}#${i + 2}`, env)),
      )
      instances.push(...rest)
    } catch (error) {
      result.skipped = `tessera serve did not start: ${(error as Error).message}`
      return result
    }
    targets = instances.map((instance) => loopbackTarget(instance.url))
    await Promise.all(targets.map(waitReady))
    if (info.redis) {
      // Connections are opened lazily by some builds: give them a moment.
      await new Promise((resolve) => setTimeout(resolve, 300))
      result.redisClients = (await tesseraRedisClients(settings.redisUrl)) - redisBefore
    }
    progress(`  ${info.label}: ${instances.map((instance) => instance.url).join(', ')}`)

    const users: LoadUser[] = []
    const sessions: LoadSession[] = []

    const phase = async <S>(
      operation: Operation,
      makeUsers: () => VirtualUser<S>[],
      step: (user: VirtualUser<S>, target: Target) => Promise<StepResult>,
      tokens?: number,
    ): Promise<void> => {
      const plan = settings.phases[operation]
      const vus = makeUsers()
      if (vus.length === 0) return
      if (plan.warmupMs > 0) {
        await runPhase({
          targets,
          users: vus,
          signal: interrupted.signal,
          durationMs: plan.warmupMs,
          maxRequests: plan.maxRequests,
          step,
        })
      }
      const before = cpuMark(instances.map((instance) => instance.pid))
      const recorder: Recorder = await runPhase({
        targets,
        users: vus,
        signal: interrupted.signal,
        durationMs: plan.durationMs,
        maxRequests: plan.maxRequests,
        step,
      })
      const cpu = cpuBetween(before, cpuMark(instances.map((instance) => instance.pid)))
      const phaseResult: PhaseResult = {
        operation,
        concurrency: vus.length,
        ...(tokens === undefined ? {} : { tokens }),
        requests: recorder.ok + recorder.failed,
        ok: recorder.ok,
        failed: recorder.failed,
        failures: Object.fromEntries(recorder.failures),
        seconds: Math.round(recorder.elapsedMs) / 1000,
        rps: Math.round(recorder.rps * 10) / 10,
        p50Ms: Math.round(recorder.percentile(50) * 10) / 10,
        p99Ms: Math.round(recorder.percentile(99) * 10) / 10,
        cpu,
      }
      result.phases.push(phaseResult)
      const failures = recorder.failed > 0 ? `, ${recorder.failed} failed` : ''
      progress(
        `    ${operation.padEnd(8)} ${phaseResult.rps.toFixed(1).padStart(8)} req/s  p50 ${phaseResult.p50Ms} ms  p99 ${phaseResult.p99Ms} ms${failures}`,
      )
    }

    // Signup: every request a new user; the users feed the login phase.
    let nextUser = 0
    await phase(
      'signup',
      () => virtualUsers(settings.phases.signup.concurrency, () => undefined),
      async (_vu, target) => {
        const n = nextUser++
        const email = `load-${runTag}-${n}@example.com`
        const reply = await send(target, 'POST', '/auth/signup', {
          body: { email, password: PASSWORD },
          headers: { 'x-forwarded-for': clientIp(runTag, n) },
        })
        if (reply.status !== 201) return { ok: false, label: failureLabel(reply) }
        const tokens = tokensOf(reply.text)
        if (tokens === undefined) return { ok: false, label: '201 without tokens' }
        users.push({ n, email })
        return { ok: true }
      },
    )
    result.users = users.length
    if (users.length === 0) return result

    // Login: the users in turn (a user may log in more than once); every
    // login opens a session, whose chain the refresh phase walks.
    let nextLogin = 0
    await phase(
      'login',
      () => virtualUsers(settings.phases.login.concurrency, () => undefined),
      async (_vu, target) => {
        const user = users[nextLogin++ % users.length]!
        const reply = await send(target, 'POST', '/auth/login', {
          body: { email: user.email, password: PASSWORD },
          headers: { 'x-forwarded-for': clientIp(runTag, user.n) },
        })
        if (reply.status !== 200) return { ok: false, label: failureLabel(reply) }
        const tokens = tokensOf(reply.text)
        if (tokens === undefined) return { ok: false, label: '200 without tokens' }
        sessions.push({ n: user.n, ...tokens })
        return { ok: true }
      },
    )
    result.sessions = sessions.length
    if (sessions.length === 0) return result

    // Refresh: one chain per virtual user. A chain whose request failed may
    // have been rotated without us seeing the successor; it is dropped (never
    // replayed, which would be reuse) and the user takes a spare session.
    const refreshUsers = Math.min(settings.phases.refresh.concurrency, sessions.length)
    /** Access tokens the refreshes issued (each still valid: a refresh does not revoke the old one). */
    const issued: { n: number; token: string }[] = []
    const spares = sessions.slice(refreshUsers)
    await phase(
      'refresh',
      () => virtualUsers(refreshUsers, (index) => sessions[index]!),
      async (vu, target) => {
        const session = vu.state
        const reply = await send(target, 'POST', '/auth/refresh', {
          body: { refreshToken: session.refreshToken },
          headers: { 'x-forwarded-for': clientIp(runTag, session.n) },
        })
        const tokens = reply.status === 200 ? tokensOf(reply.text) : undefined
        if (tokens === undefined) {
          const spare = spares.shift()
          if (spare === undefined) vu.done = true
          else vu.state = spare
          return {
            ok: false,
            label: reply.status === 200 ? '200 without tokens' : failureLabel(reply),
          }
        }
        session.accessToken = tokens.accessToken
        session.refreshToken = tokens.refreshToken
        if (issued.length < MANY_TOKENS) issued.push({ n: session.n, token: tokens.accessToken })
        return { ok: true }
      },
    )

    // GET /auth/me, twice: over a few hundred tokens, which every instance's
    // verified-token cache (1000 tokens) holds after the first pass, and
    // over every token issued so far (thousands in a full run), cycled in
    // order, which that LRU cache cannot hold: each request verifies the
    // signature again, as it would with many users active at once.
    const meStep =
      (pool: readonly { n: number; token: string }[]) =>
      async (_vu: VirtualUser<undefined>, target: Target): Promise<StepResult> => {
        const { n, token } = pool[nextToken++ % pool.length]!
        const reply = await send(target, 'GET', '/auth/me', {
          headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': clientIp(runTag, n) },
          readBody: false,
        })
        return reply.status === 200 ? { ok: true } : { ok: false, label: failureLabel(reply) }
      }
    let nextToken = 0
    const hot = sessions
      .slice(0, HOT_TOKENS)
      .map(({ n, accessToken }) => ({ n, token: accessToken }))
    await phase(
      'me',
      () => virtualUsers(settings.phases.me.concurrency, () => undefined),
      meStep(hot),
      hot.length,
    )
    const many = [
      ...sessions.map(({ n, accessToken }) => ({ n, token: accessToken })),
      ...issued,
    ].slice(0, MANY_TOKENS)
    nextToken = 0
    await phase(
      'me-many',
      () => virtualUsers(settings.phases['me-many'].concurrency, () => undefined),
      meStep(many),
      many.length,
    )
    return result
  } finally {
    closeTargets(targets)
    for (const instance of instances) {
      const peakRssMiB = instance.peakRssMiB()
      const exitCode = await instance.stop()
      result.logs.push({
        name: instance.name,
        peakRssMiB,
        levels: Object.fromEntries(instance.levels),
        problems: instance.problems,
        exitCode,
      })
    }
    if (schema !== undefined) await schema.drop()
  }
}

// ---------------------------------------------------------------- report

function mainTable(results: readonly SetupResult[], hashing: HashingLimit): Table {
  const rows: string[][] = []
  for (const setup of results) {
    if (setup.skipped !== undefined) {
      rows.push([setup.label, '-', 'skipped', '', '', '', '', '', ''])
      continue
    }
    for (const phase of setup.phases) {
      const limit =
        phase.operation === 'login'
          ? hashing.loginsPerSecond
          : phase.operation === 'signup'
            ? hashing.signupsPerSecond
            : Number.NaN
      rows.push([
        setup.label,
        phase.tokens === undefined
          ? phase.operation
          : `GET /auth/me, ${phase.tokens.toLocaleString('en-US')} tokens`,
        rate(phase.rps),
        ms(phase.p50Ms),
        ms(phase.p99Ms),
        String(phase.failed),
        Number.isFinite(limit) ? `${Math.round((phase.rps / limit) * 100)}%` : '',
        phase.cpu.tessera.toFixed(2),
        [phase.cpu.postgres, phase.cpu.redis, phase.cpu.generator, phase.cpu.other]
          .map((value) => value.toFixed(2))
          .join(' / '),
      ])
    }
  }
  return {
    headers: [
      'Setup',
      'Operation',
      'req/s',
      'p50 ms',
      'p99 ms',
      'Failed',
      'of hashing limit',
      'tessera CPU',
      'pg / redis / load / other CPU',
    ],
    align: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows,
  }
}

function perVcpuTable(results: readonly SetupResult[], cores: number): Table {
  const rows: string[][] = []
  for (const operation of ['login', 'refresh'] as const) {
    for (const setup of results) {
      const phase = setup.phases.find((p) => p.operation === operation)
      if (phase === undefined) continue
      rows.push([
        operation === 'login' ? 'password login' : 'refresh',
        setup.label,
        rate(phase.rps / cores),
        phase.cpu.tessera > 0 ? rate(phase.rps / phase.cpu.tessera) : 'n/a',
        String(KEYCLOAK_PER_VCPU[operation]),
      ])
    }
  }
  return {
    headers: [
      'Operation',
      'Setup',
      'per machine vCPU',
      'per tessera CPU-second',
      'Keycloak per vCPU',
    ],
    align: ['left', 'left', 'right', 'right', 'right'],
    rows,
  }
}

function setupTable(results: readonly SetupResult[]): Table {
  return {
    headers: ['Setup', 'Instances', 'Users made', 'Sessions', 'Peak RSS per instance'],
    align: ['left', 'right', 'right', 'right', 'right'],
    rows: results
      .filter((setup) => setup.skipped === undefined)
      .map((setup) => [
        setup.label,
        String(setup.instances),
        String(setup.users),
        String(setup.sessions),
        setup.logs.map((log) => `${log.peakRssMiB} MiB`).join(', '),
      ]),
  }
}

function problemLines(results: readonly SetupResult[]): string[] {
  const lines: string[] = []
  for (const setup of results) {
    if (setup.skipped !== undefined) lines.push(`${setup.label}: skipped: ${setup.skipped}`)
    if (setup.redisClients !== undefined && setup.redisClients <= 0) {
      lines.push(
        `${setup.label}: the instances opened no Redis connection (TESSERA_REDIS_URL unused by this build?)`,
      )
    }
    for (const phase of setup.phases) {
      if (phase.failed === 0) continue
      const kinds = Object.entries(phase.failures)
        .map(([label, count]) => `${count} x ${label}`)
        .join(', ')
      lines.push(`${setup.label}, ${phase.operation}: ${phase.failed} failed (${kinds})`)
    }
    for (const log of setup.logs) {
      for (const problem of log.problems) lines.push(`${log.name} logged ${problem}`)
      if (log.exitCode !== 0 && log.exitCode !== null) {
        lines.push(`${log.name} exited with ${log.exitCode} on SIGTERM`)
      }
    }
  }
  return lines
}

interface Report {
  generatedAt: string
  machine: ReturnType<typeof machineInfo> & { loadAverageAtEnd: number[] }
  versions: { postgres: string; redis: string }
  settings: Omit<Settings, 'write' | 'render' | 'pgUrl' | 'redisUrl'>
  argon2: typeof OWASP_ARGON2
  hashing: HashingLimit
  keycloakPerVcpu: typeof KEYCLOAK_PER_VCPU
  results: SetupResult[]
}

function markdownSection(report: Report): string {
  const { machine, hashing, settings } = report
  const plan = settings.phases
  const problems = problemLines(report.results)
  return `## Scale-out load (\`npm run bench:load\`)

Generated by \`bench/load.ts\` on ${report.generatedAt}: ${machine.cpuModel}, ${machine.cores} cores, ${machine.totalMemoryGiB} GiB, Node ${machine.node}, PostgreSQL ${report.versions.postgres}, Redis ${report.versions.redis};
load average ${machine.loadAverageAtStart.join(' / ')} at the start, ${machine.loadAverageAtEnd.join(' / ')} at the end.

Everything shares this one machine: the \`tessera serve\` instances, PostgreSQL,
Redis and the load generator. Each setup starts empty (fresh data dir, fresh
PostgreSQL schema, one \`TESSERA_MASTER_KEY\` for its instances, \`NODE_ENV=production\`,
logs at info) and runs five phases in order, requests round-robin across the
instances, each virtual user one request at a time over keep-alive connections:
signup (${plan.signup.concurrency} users, ${plan.signup.durationMs / 1000} s), login of the users just made
(${plan.login.concurrency}, ${plan.login.durationMs / 1000} s), refresh (${plan.refresh.concurrency} users, each walking one session's
refresh-token chain, ${plan.refresh.durationMs / 1000} s), then GET /auth/me (${plan.me.concurrency} users, ${plan.me.durationMs / 1000} s each)
cycling through ${HOT_TOKENS} tokens, which every instance's verified-token cache (1000 tokens)
holds, and through every token issued so far (up to ${MANY_TOKENS.toLocaleString('en-US')}), which that LRU
cache cannot hold, so each request verifies the ES256 signature again. Each
phase after an untimed warm-up (${plan.signup.warmupMs / 1000} s for signup and login, ${plan.refresh.warmupMs / 1000} s for the others).
Rate limits at their defaults except refreshes per session (one virtual user
refreshes one session back to back); each user has an address of its own in
X-Forwarded-For (TESSERA_TRUST_PROXY=1). p50/p99 are over successful
requests. CPU columns are cores busy on average during the phase (1.00 =
one core): all tessera processes; then all postgres and redis-server
processes on the machine, the load generator, and everything else the
machine ran meanwhile (noise: a large "other" makes the row unreliable).

${renderMarkdown(mainTable(report.results, hashing))}

**Hashing limit.** One argon2id hash (m=${OWASP_ARGON2.memoryCost} KiB, t=${OWASP_ARGON2.timeCost}, p=${OWASP_ARGON2.parallelism})
takes ${ms(hashing.hashMs)} ms and one verify ${ms(hashing.verifyMs)} ms here (median of ${settings.hashSamples}, one at a
time, before any server started), so ${hashing.cores} cores can do at most ${rate(hashing.signupsPerSecond)} signups/s and
${rate(hashing.loginsPerSecond)} logins/s with nothing else to do; "of hashing limit" is the
measured rate against that ceiling (slightly above 100% happens: the ceiling
comes from one hash at a time, and its own measurement is noisy).

**Per vCPU, beside Keycloak's sizing guide** (Keycloak: 1 vCPU per 15
password logins/s and per 120 refreshes/s, measured on the Keycloak pods,
the database sized apart). "Per machine vCPU" divides by all ${machine.cores} cores, which
also ran PostgreSQL, Redis and the load generator; "per tessera CPU-second"
divides by the CPU the tessera processes used, which is what Keycloak's
figure counts.

${renderMarkdown(perVcpuTable(report.results, machine.cores))}

${renderMarkdown(setupTable(report.results))}

${problems.length === 0 ? 'No request failed and no instance logged a warning or an error.' : `Problems seen:\n\n${problems.map((line) => `- ${line}`).join('\n')}`}
`
}

function writeOutputs(report: Report): string[] {
  const benchDir = import.meta.dirname
  mkdirSync(join(benchDir, 'results'), { recursive: true })
  const jsonPath = join(benchDir, 'results', 'load.json')
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`)
  const mdPath = join(benchDir, 'RESULTS.md')
  writeResultsSection(mdPath, 'load', markdownSection(report))
  return [jsonPath, mdPath]
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const parsed = parseCommandLine(() => parseSettings(process.argv.slice(2)), USAGE)
  if ('exitCode' in parsed) return parsed.exitCode
  const { settings } = parsed
  if (settings.render) {
    const report = JSON.parse(
      readFileSync(join(import.meta.dirname, 'results', 'load.json'), 'utf8'),
    ) as Report
    for (const path of writeOutputs(report)) progress(`wrote ${path}`)
    return 0
  }
  for (const url of [settings.pgUrl, settings.redisUrl]) {
    if (!isLoopbackUrl(url)) {
      process.stderr.write(`refusing a non-loopback service address: ${new URL(url).hostname}\n`)
      return 2
    }
  }
  // Whatever happens (an uncaught error included), no instance outlives the run.
  process.on('exit', cleanUpNow)
  const started = performance.now()
  const machine = machineInfo()
  progress(
    `bench:load ${settings.quick ? '(quick) ' : ''}${settings.setups.join(', ')}; ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadAverageAtStart.join(' ')}`,
  )
  if (!settings.quick) await settle(SETTLE_MS)
  const hashing = await measureHashing(settings.hashSamples)
  progress(
    `  argon2id: hash ${ms(hashing.hashMs)} ms, verify ${ms(hashing.verifyMs)} ms -> at most ${rate(hashing.loginsPerSecond)} logins/s on ${hashing.cores} cores`,
  )
  const versions = {
    postgres: settings.setups.some((id) => SETUP_INFO[id].database === 'postgres')
      ? await postgresVersion(settings.pgUrl)
      : 'unused',
    redis: settings.setups.some((id) => SETUP_INFO[id].redis)
      ? await redisVersion(settings.redisUrl)
      : 'unused',
  }
  const results: SetupResult[] = []
  // Ctrl-C ends the current phase early and skips the rest, so the
  // instances are stopped and the PostgreSQL schema dropped all the same.
  process.once('SIGINT', () => {
    progress('interrupted: stopping the instances and dropping the schema')
    interrupted.abort()
  })
  for (const id of settings.setups) {
    if (interrupted.signal.aborted) break
    const busy = settings.quick ? 0 : await settle(SETTLE_MS)
    progress(
      `${SETUP_INFO[id].label}${busy >= IDLE_CORES ? ` (the machine is busy: ${busy} cores in use by other work)` : ''}`,
    )
    const result = await runSetup(id, settings)
    if (result.skipped !== undefined) progress(`  skipped: ${result.skipped}`)
    results.push(result)
  }

  const report: Report = {
    generatedAt: new Date().toISOString(),
    machine: {
      ...machine,
      loadAverageAtEnd: os.loadavg().map((load) => Math.round(load * 100) / 100),
    },
    versions,
    settings: {
      quick: settings.quick,
      setups: settings.setups,
      phases: settings.phases,
      hashSamples: settings.hashSamples,
    },
    argon2: OWASP_ARGON2,
    hashing,
    keycloakPerVcpu: KEYCLOAK_PER_VCPU,
    results,
  }
  process.stdout.write(`\n${renderText(mainTable(results, hashing))}\n\n`)
  process.stdout.write(
    `argon2id single hash ${ms(hashing.hashMs)} ms, verify ${ms(hashing.verifyMs)} ms: hashing limit ${rate(hashing.signupsPerSecond)} signups/s, ${rate(hashing.loginsPerSecond)} logins/s on ${hashing.cores} cores\n\n`,
  )
  process.stdout.write(`${renderText(perVcpuTable(results, machine.cores))}\n\n`)
  process.stdout.write(`${renderText(setupTable(results))}\n`)
  const problems = problemLines(results)
  if (problems.length > 0) {
    process.stdout.write(`\nProblems seen:\n${problems.map((line) => `  ${line}`).join('\n')}\n`)
  }
  if (interrupted.signal.aborted) {
    progress('interrupted: nothing written')
    return 130
  }
  if (settings.write) {
    for (const path of writeOutputs(report)) progress(`wrote ${path}`)
  }
  progress(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return 0
}

process.exitCode = await main()
