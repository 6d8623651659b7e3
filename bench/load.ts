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
import { connect } from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createPasswordHasher, OWASP_ARGON2 } from '../packages/server/src/auth/passwords.ts'
import {
  commandCpuSeconds,
  cpuSecondsBetween,
  createRunSchema,
  type Instance,
  machineCpuSeconds,
  processCpuSeconds,
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
import { median } from './lib/measure.ts'
import { renderMarkdown, renderText, replaceSection, type Table } from './lib/table.ts'

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

class UsageError extends Error {}

/** Aborted by Ctrl-C. */
const interrupted = new AbortController()

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

// ---------------------------------------------------------------- hashing limit

interface HashingLimit {
  /** Median wall time of one argon2id hash (signup), ms, one at a time before any server started. */
  hashMs: number
  /** Median wall time of one verify (login), ms. */
  verifyMs: number
  cores: number
  /** cores / hash time: signups per second if the machine did nothing but hash. */
  signupsPerSecond: number
  /** cores / verify time: logins per second if the machine did nothing but verify. */
  loginsPerSecond: number
}

/**
 * Times the server's own hasher (same module, same OWASP parameters), one
 * call at a time, before any server is started.
 */
async function measureHashing(samples: number): Promise<HashingLimit> {
  const hasher = createPasswordHasher()
  const password = 'a load test passphrase'
  const stored = await hasher.hash(password)
  await hasher.verify(stored, password)
  const hashes: number[] = []
  const verifies: number[] = []
  for (let i = 0; i < samples; i++) {
    let start = performance.now()
    await hasher.hash(password)
    hashes.push(performance.now() - start)
    start = performance.now()
    const { ok } = await hasher.verify(stored, password)
    verifies.push(performance.now() - start)
    if (!ok) throw new Error('argon2 verify refused the password it just hashed')
  }
  const cores = os.availableParallelism()
  const hashMs = median(hashes)
  const verifyMs = median(verifies)
  return {
    hashMs,
    verifyMs,
    cores,
    signupsPerSecond: cores / (hashMs / 1000),
    loginsPerSecond: cores / (verifyMs / 1000),
  }
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

interface TokenResponse {
  accessToken?: unknown
  refreshToken?: unknown
}

function tokensOf(text: string): { accessToken: string; refreshToken: string } | undefined {
  try {
    const body = JSON.parse(text) as TokenResponse
    if (typeof body.accessToken === 'string' && typeof body.refreshToken === 'string') {
      return { accessToken: body.accessToken, refreshToken: body.refreshToken }
    }
  } catch {
    // Counted by the caller as a malformed answer.
  }
  return undefined
}

const PASSWORD = 'a load test passphrase'

/**
 * The client address of user `n`, sent as X-Forwarded-For (the instances
 * trust one proxy hop, as behind nginx): one IPv6 /64 per user, inside the
 * documentation prefix 2001:db8::/32 (RFC 3849), so the per-IP limits count
 * per user as they would in production. The run's random tag keeps runs
 * apart in a shared Redis, whose counters outlive a run.
 */
function clientIp(runTag: string, n: number): string {
  return `2001:db8:${runTag}:${(n % 65_536).toString(16)}::1`
}

interface CpuMark {
  at: number
  tessera: number
  postgres: Map<number, number>
  redis: Map<number, number>
  generator: number
  machineBusy: number
}

function cpuMark(instances: readonly Instance[]): CpuMark {
  const self = process.cpuUsage()
  return {
    at: performance.now(),
    tessera: instances.reduce((sum, instance) => sum + processCpuSeconds(instance.pid), 0),
    postgres: commandCpuSeconds('postgres'),
    redis: commandCpuSeconds('redis-server'),
    generator: (self.user + self.system) / 1e6,
    machineBusy: machineCpuSeconds().busy,
  }
}

function cpuBetween(before: CpuMark, after: CpuMark): PhaseResult['cpu'] {
  const seconds = (after.at - before.at) / 1000
  const per = (value: number): number => Math.round((value / seconds) * 100) / 100
  const tessera = after.tessera - before.tessera
  const postgres = cpuSecondsBetween(before.postgres, after.postgres)
  const redis = cpuSecondsBetween(before.redis, after.redis)
  const generator = after.generator - before.generator
  const machine = after.machineBusy - before.machineBusy
  return {
    tessera: per(tessera),
    postgres: per(postgres),
    redis: per(redis),
    generator: per(generator),
    machine: per(machine),
    other: per(Math.max(0, machine - tessera - postgres - redis - generator)),
  }
}

/**
 * Waits (up to `maxMs`) until the machine is nearly idle over a 1 s window,
 * so a setup does not start while other work holds the cores; returns the
 * busy cores of the last window.
 */
async function settle(maxMs: number): Promise<number> {
  const deadline = performance.now() + maxMs
  for (;;) {
    const before = machineCpuSeconds()
    const start = performance.now()
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const busy = (machineCpuSeconds().busy - before.busy) / ((performance.now() - start) / 1000)
    if (busy < IDLE_CORES || performance.now() >= deadline) return Math.round(busy * 100) / 100
  }
}

/** Busy cores below which the machine counts as idle. */
const IDLE_CORES = 0.3

async function waitReady(target: Target): Promise<void> {
  const deadline = performance.now() + 15_000
  for (;;) {
    try {
      const reply = await send(target, 'GET', '/ready')
      if (reply.status === 200) return
    } catch {
      // Not answering yet.
    }
    if (performance.now() > deadline) throw new Error(`${target.url} never became ready`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
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
      const before = cpuMark(instances)
      const recorder: Recorder = await runPhase({
        targets,
        users: vus,
        signal: interrupted.signal,
        durationMs: plan.durationMs,
        maxRequests: plan.maxRequests,
        step,
      })
      const cpu = cpuBetween(before, cpuMark(instances))
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

/** Keycloak's sizing guide (high availability, "Concepts for sizing CPU and memory resources"). */
const KEYCLOAK_PER_VCPU = { login: 15, refresh: 120 } as const

function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  return value < 10 ? value.toFixed(1) : String(Math.round(value))
}

function rate(value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  return value < 100
    ? value.toFixed(1)
    : Math.round(value).toLocaleString('en-US', { maximumFractionDigits: 0 })
}

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

/** The server's `SHOW server_version`, or 'unknown'. */
async function postgresVersion(url: string): Promise<string> {
  try {
    const { default: pg } = await import('pg')
    const base = new URL(url)
    base.searchParams.delete('schema')
    base.searchParams.delete('pool')
    const client = new pg.Client({ connectionString: base.href })
    await client.connect()
    try {
      const { rows } = await client.query<{ server_version: string }>('SHOW server_version')
      return rows[0]?.server_version.split(' ')[0] ?? 'unknown'
    } finally {
      await client.end()
    }
  } catch {
    return 'unknown'
  }
}

/**
 * One Redis command over a bare RESP exchange (loopback only), its reply as
 * text (a bulk string's content, or the status line); undefined on failure.
 */
function redisCommand(url: string, args: readonly string[]): Promise<string | undefined> {
  const parsed = new URL(url)
  const request = `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`
  return new Promise((resolve) => {
    const socket = connect({ host: parsed.hostname, port: Number(parsed.port || 6379) })
    let data = Buffer.alloc(0)
    const done = (reply: string | undefined): void => {
      socket.destroy()
      resolve(reply)
    }
    socket.setTimeout(2_000, () => done(undefined))
    socket.once('error', () => done(undefined))
    socket.once('connect', () => socket.write(request))
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk])
      const lineEnd = data.indexOf('\r\n')
      if (lineEnd < 0) return
      const head = data.toString('utf8', 0, lineEnd)
      if (head[0] !== '$') return done(head[0] === '+' ? head.slice(1) : undefined)
      const length = Number(head.slice(1))
      if (length < 0) return done(undefined)
      if (data.length >= lineEnd + 2 + length) {
        done(data.toString('utf8', lineEnd + 2, lineEnd + 2 + length))
      }
    })
  })
}

async function redisVersion(url: string): Promise<string> {
  const info = await redisCommand(url, ['INFO', 'server'])
  return /redis_version:([^\r\n]+)/.exec(info ?? '')?.[1] ?? 'unknown'
}

/** Connections to Redis named by Tessera (ioredis sets `tessera…` as the client name). */
async function tesseraRedisClients(url: string): Promise<number> {
  const list = await redisCommand(url, ['CLIENT', 'LIST'])
  return (list ?? '').split('\n').filter((line) => / name=tessera/.test(line)).length
}

function writeOutputs(report: Report): string[] {
  const benchDir = import.meta.dirname
  mkdirSync(join(benchDir, 'results'), { recursive: true })
  const jsonPath = join(benchDir, 'results', 'load.json')
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`)
  const mdPath = join(benchDir, 'RESULTS.md')
  let document: string
  try {
    document = readFileSync(mdPath, 'utf8')
  } catch {
    document =
      '# Benchmark results\n\nGenerated by the scripts in `bench/`; each one rewrites only its own section.\n'
  }
  writeFileSync(mdPath, replaceSection(document, 'load', markdownSection(report)))
  return [jsonPath, mdPath]
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  let settings: Settings | undefined
  try {
    settings = parseSettings(process.argv.slice(2))
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (
      error instanceof UsageError ||
      (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))
    ) {
      process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`)
      return 2
    }
    throw error
  }
  if (settings === undefined) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (settings.render) {
    const report = JSON.parse(
      readFileSync(join(import.meta.dirname, 'results', 'load.json'), 'utf8'),
    ) as Report
    for (const path of writeOutputs(report)) progress(`wrote ${path}`)
    return 0
  }
  for (const url of [settings.pgUrl, settings.redisUrl]) {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '')
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host !== '::1' && host !== 'localhost') {
      process.stderr.write(`refusing a non-loopback service address: ${host}\n`)
      return 2
    }
  }
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
