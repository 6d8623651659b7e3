/**
 * Scenario 5: cost growth. Three `tessera serve` (SQLite, ES256) run side by
 * side on databases seeded beforehand with 1x, 10x and 100x the users (some
 * with an authenticator app), sessions, revocation-list entries, OAuth
 * clients and outbox rows, and are loaded in alternation with every flow
 * whose cost could follow the data:
 *
 *   GET /auth/me        scenario 1's, one token reused and many distinct tokens
 *   refresh rotation    scenario 3's
 *   email send          POST /auth/password/forgot for a seeded account: 202, then
 *                       the lookup, the reset link and the outbox row, and the
 *                       outbox worker's claim and delivery (to an SMTP sink here)
 *   MFA verify          POST /auth/mfa/verify with an app's code, after an untimed login
 *   OAuth token         POST /oauth/token, client_credentials, a seeded client
 *   introspection       POST /oauth/introspect of that client's token
 *
 * The verified-token cache and the in-memory revocation list are O(1) per
 * request, and the database lookups are indexed: throughput should not move
 * as the data grows. The email sends and MFA verifies are bounded (a mail
 * address may be sent 5 mails an hour, an app code is good once per 30-second
 * step), so they are timed as bursts of a fixed count and compared per
 * CPU-second of the server (its threads' run time from the scheduler, in
 * nanoseconds); the others as closed-loop runs of the run's duration.
 */

import { randomBytes } from 'node:crypto'
import { TOTP_PERIOD_SECONDS, totpCode } from '../../packages/server/src/auth/totp.ts'
import { alternate, alternateEach, type TargetSummary } from '../lib/alternate.ts'
import { hashPassword } from '../lib/hashing.ts'
import { processCpuSecondsPrecise } from '../lib/load-cluster.ts'
import { tokenSet } from '../lib/load-generator.ts'
import {
  closeTargets,
  failureLabel,
  loopbackTarget,
  NoReply,
  type Reply,
  runPhase,
  send,
  type Target,
  type VirtualUser,
} from '../lib/load-http.ts'
import { packageVersion } from '../lib/machine.ts'
import { removeTempDir, tempDir } from '../lib/processes.ts'
import {
  type BenchContext,
  chartLinks,
  checkSignal,
  median,
  type Rendered,
  type RunMeta,
  type Scenario,
  sleep,
  type TargetCheck,
  targetMarkdown,
  targetText,
} from '../lib/scenario.ts'
import {
  SEEDED_CLIENT_SCOPE,
  type SeedCounts,
  type Seeded,
  seedDatabase,
  type TotpUser,
} from '../lib/seed.ts'
import { type ReadyTessera, startReadyTessera } from '../lib/servers.ts'
import { type SmtpSink, startSmtpSink } from '../lib/smtp-sink.ts'
import { lineChart } from '../lib/svg.ts'
import {
  formatMs,
  formatOps,
  formatRate,
  formatRatio,
  labelThenNumbers,
  renderMarkdown,
  renderText,
  type Table,
} from '../lib/table.ts'
import { clientIp, LOAD_PASSWORD, mintAccessTokens, tokensOf } from '../lib/tessera.ts'
import { meVersions } from './me.ts'
import {
  REFRESH_CONCURRENCY,
  type RefreshDeployment,
  type RefreshRound,
  refreshPhase,
  summarizeRefresh,
} from './refresh.ts'

/** The data sizes, times the base counts; a smoke run skips 10x (the targets compare 100x with 1x). */
const FACTORS = [1, 10, 100] as const
const QUICK_FACTORS = [1, 100] as const

/** Requests in flight at once in the email and MFA bursts. */
const BURST_CONCURRENCY = 8

/** Virtual users of the OAuth runs (as scenario 6). */
const OAUTH_CONCURRENCY = 32

/** How long the mails of a burst may take to reach the sink. */
const MAIL_TIMEOUT_MS = 30_000

interface Measured {
  rps: number
  p50Ms: number
  p99Ms: number
  errors: number
  roundsRps: number[]
}

/** One timed run of a flow on one server: a closed-loop run, or a burst of a fixed count. */
export interface FlowRun {
  /** Operations that succeeded. */
  ops: number
  /** Operations per second of wall time (a burst: from its first request to its last answer). */
  rps: number
  p50Ms: number
  p99Ms: number
  /** CPU seconds the server used for them (email: until the last mail was delivered). */
  cpuSeconds: number
  failed: number
}

export interface GrowthLevel {
  factor: number
  counts: SeedCounts
  seedSeconds: number
  meReused: Measured
  meMany: Measured
  refresh: RefreshRound[]
  /** POST /auth/password/forgot bursts, each mail delivered. */
  emailSend?: FlowRun[]
  /** POST /auth/mfa/verify bursts (the logins before them untimed). */
  mfaVerify?: FlowRun[]
  /** POST /oauth/token, client_credentials. */
  oauthToken?: FlowRun[]
  /** POST /oauth/introspect. */
  introspection?: FlowRun[]
  /** RSS after start (the revocation list loaded), KiB. */
  idleKiB: number
}

export interface GrowthData {
  base: SeedCounts
  manyTokens: number
  refreshConcurrency: number
  /** Requests per burst of the email sends and MFA verifies, and their concurrency. */
  bursts?: { email: number; mfa: number; concurrency: number }
  oauthConcurrency?: number
  levels: GrowthLevel[]
}

function measured(summary: TargetSummary): Measured {
  return {
    rps: Math.round(summary.rps),
    p50Ms: Math.round(summary.p50Ms * 100) / 100,
    p99Ms: Math.round(summary.p99Ms * 100) / 100,
    errors: summary.errors,
    roundsRps: summary.rounds.map((r) => Math.round(r.rps)),
  }
}

/** Thrown when an answer is not what it must be: the run stops with exit code 3. */
class GateError extends Error {
  constructor(failures: readonly string[]) {
    super(`correctness gate failed:\n${failures.map((line) => `    ${line}`).join('\n')}`)
    this.name = 'GateError'
  }
}

/** One level's server with what the flows need. */
interface Level {
  factor: number
  counts: SeedCounts
  seedSeconds: number
  dir: string
  masterKey: string
  seeded?: Seeded
  ready?: ReadyTessera
  target?: Target
  idleKiB: number
  /** The next unused address for an email send. */
  nextEmail: number
  /** Each app user's last step used (a code is good once per step). */
  lastStep: Map<string, number>
  /** The client_credentials token the introspection runs ask about. */
  clientToken: string
  basic: string
}

function basicAuth(id: string, secret: string): string {
  const encode = (value: string): string => encodeURIComponent(value).replaceAll('%20', '+')
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`
}

const TOKEN_FORM = new URLSearchParams({
  grant_type: 'client_credentials',
  scope: SEEDED_CLIENT_SCOPE,
}).toString()

function json(reply: Reply): Record<string, unknown> {
  try {
    const parsed = JSON.parse(reply.text) as unknown
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}

function round2(value: number): number {
  return Math.round(value * 100) / 100
}

/** A tally of a run: CPU from the server's threads, latencies, failures. */
async function timed(
  level: Level,
  users: number,
  maxRequests: number,
  durationMs: number,
  signal: AbortSignal,
  step: (n: number) => Promise<{ ok: true } | { ok: false; label: string }>,
  after?: () => Promise<void>,
): Promise<{ run: FlowRun; failures: Map<string, number> }> {
  const pid = level.ready!.server.pid
  const vus: VirtualUser<null>[] = Array.from({ length: users }, (_, index) => ({
    index,
    state: null,
    done: false,
  }))
  let n = 0
  const cpuBefore = processCpuSecondsPrecise(pid)
  const recorder = await runPhase({
    targets: [level.target!],
    users: vus,
    durationMs,
    maxRequests,
    signal,
    step: () => step(n++),
  })
  await after?.()
  const cpuSeconds = processCpuSecondsPrecise(pid) - cpuBefore
  return {
    run: {
      ops: recorder.ok,
      rps: Math.round(recorder.rps * 10) / 10,
      p50Ms: round2(recorder.percentile(50)),
      p99Ms: round2(recorder.percentile(99)),
      cpuSeconds: Math.round(cpuSeconds * 1e6) / 1e6,
      failed: recorder.failed,
    },
    failures: recorder.failures,
  }
}

function failureText(level: Level, what: string, failures: Map<string, number>): string[] {
  return [...failures].map(([label, count]) => `${level.factor}x: ${what}: ${count} x ${label}`)
}

// ---------------------------------------------------------------- flows

/** client_credentials at the token endpoint, closed loop. */
async function oauthTokenRun(level: Level, seconds: number, signal: AbortSignal) {
  const headers = { authorization: level.basic }
  return timed(level, OAUTH_CONCURRENCY, 100_000_000, seconds * 1000, signal, async () => {
    const reply = await send(level.target!, 'POST', '/oauth/token', { form: TOKEN_FORM, headers })
    return reply.status === 200 && reply.text.includes('"access_token":"')
      ? { ok: true }
      : { ok: false, label: `token ${failureLabel(reply)}` }
  })
}

/** Introspection of the client's token, closed loop. */
async function introspectionRun(level: Level, seconds: number, signal: AbortSignal) {
  const headers = { authorization: level.basic }
  const form = new URLSearchParams({
    token: level.clientToken,
    token_type_hint: 'access_token',
  }).toString()
  return timed(level, OAUTH_CONCURRENCY, 100_000_000, seconds * 1000, signal, async () => {
    const reply = await send(level.target!, 'POST', '/oauth/introspect', { form, headers })
    return reply.status === 200 && reply.text.includes('"active":true')
      ? { ok: true }
      : { ok: false, label: `introspect ${failureLabel(reply)}` }
  })
}

/** The next `count` unused seeded addresses of a level. */
function takeEmails(level: Level, count: number): string[] {
  const emails = level.seeded!.emails
  if (level.nextEmail + count > emails.length) {
    throw new Error(
      `${level.factor}x: out of seeded addresses for the email sends (${emails.length})`,
    )
  }
  level.nextEmail += count
  return emails.slice(level.nextEmail - count, level.nextEmail)
}

/**
 * A burst of `count` password-reset requests, each for its own seeded
 * account from its own client address (a mail address may be sent 5 mails
 * an hour, a client address ask for 30), `BURST_CONCURRENCY` at a time;
 * each must answer 202, and each account's mail must then reach the sink.
 * The CPU counts until the last mail arrived: the answer, the lookup, the
 * link and outbox row, the worker's claim, rendering and delivery.
 */
async function emailBurst(
  level: Level,
  count: number,
  smtp: SmtpSink,
  tag: string,
  ips: { n: number },
  signal: AbortSignal,
) {
  const emails = takeEmails(level, count)
  const before = emails.map((email) => smtp.count(email))
  const mailed: string[] = []
  const result = await timed(
    level,
    BURST_CONCURRENCY,
    count,
    MAIL_TIMEOUT_MS,
    signal,
    async (n) => {
      const reply = await send(level.target!, 'POST', '/auth/password/forgot', {
        body: { email: emails[n]! },
        headers: { 'x-forwarded-for': clientIp(tag, ips.n++) },
      })
      return reply.status === 202 ? { ok: true } : { ok: false, label: failureLabel(reply) }
    },
    async () => {
      const arrivals = await Promise.allSettled(
        emails.map((email, i) => smtp.waitFor(email, before[i]! + 1, MAIL_TIMEOUT_MS)),
      )
      arrivals.forEach((arrival, i) => {
        if (arrival.status === 'rejected') mailed.push(emails[i]!)
      })
      // The worker marks each message sent once the relay accepted it.
      await sleep(50)
    },
  )
  if (mailed.length > 0) result.failures.set('no mail at the sink', mailed.length)
  result.run.failed += mailed.length
  return result
}

/** App users whose code for `step` has not been used yet, in turn. */
function pickAppUsers(level: Level, count: number): { user: TotpUser; at: number }[] {
  const picked: { user: TotpUser; at: number }[] = []
  const step = Math.floor(Date.now() / 1000 / TOTP_PERIOD_SECONDS)
  // The server accepts the codes of the steps either side of now, each once
  // per account: this step's first, then the next one's.
  for (const use of [step, step + 1]) {
    for (const user of level.seeded!.totp) {
      if (picked.length === count) return picked
      if ((level.lastStep.get(user.email) ?? -1) >= use) continue
      level.lastStep.set(user.email, use)
      picked.push({ user, at: use * TOTP_PERIOD_SECONDS * 1000 })
    }
  }
  if (picked.length < count) {
    throw new Error(
      `${level.factor}x: ${picked.length} of ${count} app users have an unused code this step (${level.seeded!.totp.length} seeded)`,
    )
  }
  return picked
}

/** Logs app users in (untimed): the `mfaToken` of each challenge, with the code to answer it. */
async function mfaChallenges(
  level: Level,
  count: number,
): Promise<{ mfaTokens: string[]; codes: string[]; failures: string[] }> {
  const users = pickAppUsers(level, count)
  const mfaTokens: string[] = []
  const codes: string[] = []
  const failures: string[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < users.length) {
      const { user, at } = users[next++]!
      const reply = await send(level.target!, 'POST', '/auth/login', {
        body: { email: user.email, password: LOAD_PASSWORD },
      })
      const body = json(reply)
      if (reply.status !== 200 || body.mfaRequired !== true || typeof body.mfaToken !== 'string') {
        failures.push(
          `${level.factor}x: the login of an app user answers 200 {mfaRequired, mfaToken}: got ${failureLabel(reply)}`,
        )
        continue
      }
      mfaTokens.push(body.mfaToken)
      codes.push(totpCode(user.secret, at))
    }
  }
  await Promise.all(Array.from({ length: 4 }, worker))
  return { mfaTokens, codes, failures }
}

/** A burst of MFA verifies: each answers 200 with the tokens. */
async function mfaBurst(level: Level, count: number, signal: AbortSignal) {
  const challenges = await mfaChallenges(level, count)
  if (challenges.failures.length > 0) throw new GateError(challenges.failures)
  return timed(level, BURST_CONCURRENCY, count, MAIL_TIMEOUT_MS, signal, async (n) => {
    const reply = await send(level.target!, 'POST', '/auth/mfa/verify', {
      body: { mfaToken: challenges.mfaTokens[n]!, method: 'totp', code: challenges.codes[n]! },
    })
    return reply.status === 200 && tokensOf(reply.text) !== undefined
      ? { ok: true }
      : { ok: false, label: failureLabel(reply) }
  })
}

/**
 * The correctness gate of a level, before any timing: the seeded client
 * gets a client_credentials token, which introspects as active with its
 * client id; a seeded account asking for a reset link gets 202 and the
 * mail; an app user's login is a challenge and the app's code answers it
 * with the tokens.
 */
async function gateLevel(level: Level, smtp: SmtpSink, tag: string, ips: { n: number }) {
  const failures: string[] = []
  const where = `${level.factor}x`
  const token = await send(level.target!, 'POST', '/oauth/token', {
    form: TOKEN_FORM,
    headers: { authorization: level.basic },
  })
  const tokenBody = json(token)
  if (
    token.status !== 200 ||
    typeof tokenBody.access_token !== 'string' ||
    !/^bearer$/i.test(String(tokenBody.token_type)) ||
    tokenBody.refresh_token !== undefined
  ) {
    failures.push(
      `${where}: client_credentials answers 200 with a Bearer access token and no refresh token: got ${failureLabel(token)}`,
    )
  } else {
    level.clientToken = tokenBody.access_token
    const introspected = await send(level.target!, 'POST', '/oauth/introspect', {
      form: new URLSearchParams({ token: level.clientToken }).toString(),
      headers: { authorization: level.basic },
    })
    const body = json(introspected)
    if (
      introspected.status !== 200 ||
      body.active !== true ||
      body.client_id !== level.seeded!.client.id
    ) {
      failures.push(
        `${where}: introspection answers {active: true, client_id}: got ${introspected.status} ${introspected.text.slice(0, 200)}`,
      )
    }
    const unknown = await send(level.target!, 'POST', '/oauth/introspect', {
      form: new URLSearchParams({ token: `${level.clientToken.slice(0, -4)}AAAA` }).toString(),
      headers: { authorization: level.basic },
    })
    if (unknown.status !== 200 || json(unknown).active !== false) {
      failures.push(
        `${where}: a token with a changed signature introspects as {active: false}: got ${unknown.status} ${unknown.text.slice(0, 200)}`,
      )
    }
  }
  const [email] = takeEmails(level, 1)
  const before = smtp.count(email!)
  const forgot = await send(level.target!, 'POST', '/auth/password/forgot', {
    body: { email },
    headers: { 'x-forwarded-for': clientIp(tag, ips.n++) },
  })
  if (forgot.status !== 202) {
    failures.push(`${where}: POST /auth/password/forgot answers 202: got ${failureLabel(forgot)}`)
  } else {
    try {
      await smtp.waitFor(email!, before + 1, MAIL_TIMEOUT_MS)
    } catch {
      failures.push(
        `${where}: the reset mail of a seeded account reaches the SMTP server within ${MAIL_TIMEOUT_MS / 1000} s`,
      )
    }
  }
  const challenge = await mfaChallenges(level, 1)
  failures.push(...challenge.failures)
  if (challenge.mfaTokens.length === 1) {
    const verified = await send(level.target!, 'POST', '/auth/mfa/verify', {
      body: { mfaToken: challenge.mfaTokens[0], method: 'totp', code: challenge.codes[0] },
    })
    const body = json(verified)
    if (verified.status !== 200 || tokensOf(verified.text) === undefined) {
      failures.push(
        `${where}: POST /auth/mfa/verify with the app's code answers 200 with the tokens: got ${failureLabel(verified)}`,
      )
    } else if ((body.user as { email?: unknown } | undefined)?.email === undefined) {
      failures.push(`${where}: the MFA verify answer names the user`)
    }
  }
  return failures
}

// ---------------------------------------------------------------- run

async function runGrowth(context: BenchContext): Promise<GrowthData> {
  const base: SeedCounts = context.quick
    ? { users: 100, sessions: 200, revocations: 100, clients: 10, outbox: 100, totpUsers: 20 }
    : {
        users: 1_000,
        sessions: 2_000,
        revocations: 1_000,
        clients: 100,
        outbox: 1_000,
        totpUsers: 200,
      }
  const manyTokens = context.quick ? 1_500 : 4_000
  const bursts = {
    email: context.quick ? 30 : 100,
    mfa: context.quick ? 15 : 50,
    concurrency: BURST_CONCURRENCY,
  }
  // Every burst, its warm-up and the gate use accounts of their own.
  const burstsPerLevel = context.rounds + (context.warmupSeconds > 0 ? 1 : 0)
  const keep = Math.max(bursts.email, bursts.mfa) * burstsPerLevel + 1
  if (keep > base.users - base.totpUsers) {
    throw new Error(
      `the email sends need ${keep} seeded accounts of the ${base.users - base.totpUsers} without an app at 1x: fewer --rounds`,
    )
  }
  const passwordHash = await hashPassword(LOAD_PASSWORD)
  const smtp = await startSmtpSink()
  const tag = randomBytes(2).toString('hex')
  const ips = { n: 0 }
  const levels: Level[] = []
  try {
    for (const factor of context.quick ? QUICK_FACTORS : FACTORS) {
      checkSignal(context.signal)
      const counts: SeedCounts = {
        users: base.users * factor,
        sessions: base.sessions * factor,
        revocations: base.revocations * factor,
        clients: base.clients * factor,
        outbox: base.outbox * factor,
        totpUsers: base.totpUsers * factor,
      }
      const dir = tempDir(`growth-${factor}x`)
      const level: Level = {
        factor,
        counts,
        seedSeconds: 0,
        dir,
        masterKey: randomBytes(32).toString('base64url'),
        idleKiB: Number.NaN,
        nextEmail: 0,
        lastStep: new Map(),
        clientToken: '',
        basic: '',
      }
      levels.push(level)
      level.seeded = await seedDatabase(
        `sqlite:${dir}/tessera.db`,
        counts,
        passwordHash,
        level.masterKey,
        keep,
      )
      level.seedSeconds = Math.round(level.seeded.ms / 100) / 10
      level.basic = basicAuth(level.seeded.client.id, level.seeded.client.secret)
      const n = (value: number): string => value.toLocaleString('en-US')
      context.progress(
        `  ${factor}x: seeded ${n(counts.users)} users (${n(counts.totpUsers)} with an app), ${n(counts.sessions)} sessions, ${n(counts.revocations)} revocations, ${n(counts.clients)} clients, ${n(counts.outbox)} sent mails in ${(level.seeded.ms / 1000).toFixed(1)} s`,
      )
    }
    for (const level of levels) {
      checkSignal(context.signal)
      level.ready = await startReadyTessera({
        id: `tessera-${level.factor}x`,
        alg: 'ES256',
        sessions: REFRESH_CONCURRENCY,
        dataDir: level.dir,
        env: {
          // The key the seeding sealed the app secrets and the mail with.
          TESSERA_MASTER_KEY: level.masterKey,
          TESSERA_SMTP_URL: smtp.url,
          // Behind one proxy hop: each email send comes from its own address.
          TESSERA_TRUST_PROXY: '1',
        },
      })
      level.idleKiB = level.ready.server.rssKiB()
      level.target = loopbackTarget(level.ready.instance.url)
    }
    context.progress('  gate')
    const gateFailures: string[] = []
    for (const level of levels) gateFailures.push(...(await gateLevel(level, smtp, tag, ips)))
    if (gateFailures.length > 0) throw new GateError(gateFailures)

    const ready = levels.map((level) => level.ready!)
    context.progress(`  minting ${manyTokens} tokens on each`)
    const many = await Promise.all(
      ready.map((r) => mintAccessTokens(r.instance.url, r.sessions, manyTokens, context.signal)),
    )
    for (const r of ready) closeTargets([r.target])
    const alternateMe = async (mode: 'reused' | 'many'): Promise<TargetSummary[]> => {
      context.progress(
        `  GET /auth/me, ${mode === 'reused' ? 'one token reused' : `${manyTokens} tokens`}`,
      )
      return alternate(
        levels.map((level, index) => ({
          id: `${level.factor}x`,
          url: `${ready[index]!.instance.url}/auth/me`,
          tokens: tokenSet(
            `${level.dir}/tokens-${mode}.txt`,
            mode === 'reused' ? [ready[index]!.first.accessToken] : many[index]!,
          ),
        })),
        {
          generator: context.generator,
          connections: context.connections,
          rounds: context.rounds,
          seconds: context.seconds,
          warmupSeconds: context.warmupSeconds,
          signal: context.signal,
          onRun: (target, result) =>
            context.progress(
              `    ${target.id.padEnd(5)} ${formatOps(result.rps).padStart(8)} req/s  p99 ${formatMs(result.p99Ms)} ms`,
            ),
        },
      )
    }
    const reused = await alternateMe('reused')
    const manyResults = await alternateMe('many')
    context.progress('  refresh rotation')
    const deployments: RefreshDeployment[] = ready.map((r) => ({
      id: r.server.id,
      instances: [r.instance],
      targets: [loopbackTarget(r.instance.url)],
      // The chains the minting walked: their refresh tokens are the newest.
      users: r.sessions.map((state, index) => ({ index, state, done: false })),
      close: async () => undefined,
    }))
    let refresh: RefreshRound[][]
    try {
      refresh = await alternateEach(deployments, {
        rounds: context.rounds,
        signal: context.signal,
        warmUp: (d) => refreshPhase(d, Math.max(1, context.warmupSeconds), context.signal),
        measure: async (d) => {
          const round = await refreshPhase(d, context.seconds, context.signal)
          context.progress(
            `    ${d.id.padEnd(13)} ${formatRate(round.rps).padStart(7)} refreshes/s  p99 ${formatMs(round.p99Ms)} ms`,
          )
          return round
        },
      })
    } finally {
      for (const d of deployments) closeTargets(d.targets)
    }

    // The flows of this wave, each alternating over the levels.
    const failures: string[] = []
    const flow = async (
      name: string,
      what: string,
      run: (
        level: Level,
        warmUp: boolean,
      ) => Promise<{ run: FlowRun; failures: Map<string, number> }>,
    ): Promise<FlowRun[][]> => {
      context.progress(`  ${name}`)
      // Under TESSERA_BENCH_CPU_PROF, the flow's window on the profiles' clock
      // (CLOCK_MONOTONIC µs), for bench/lib/flamegraph.ts --from/--to.
      const fromUs = process.hrtime.bigint() / 1000n
      try {
        return await alternateEach(levels, {
          rounds: context.rounds,
          signal: context.signal,
          ...(context.warmupSeconds > 0
            ? {
                warmUp: async (level: Level) => {
                  const warm = await run(level, true)
                  failures.push(...failureText(level, `${what} (warm-up)`, warm.failures))
                },
              }
            : {}),
          measure: async (level) => {
            const result = await run(level, false)
            failures.push(...failureText(level, what, result.failures))
            const perCpu = result.run.cpuSeconds > 0 ? result.run.ops / result.run.cpuSeconds : 0
            context.progress(
              `    ${`${level.factor}x`.padEnd(5)} ${formatRate(result.run.rps).padStart(8)}/s  p99 ${formatMs(result.run.p99Ms)} ms  ${formatRate(perCpu)} per CPU-s${result.run.failed > 0 ? `  ${result.run.failed} failed` : ''}`,
            )
            return result.run
          },
        })
      } finally {
        if (process.env.TESSERA_BENCH_CPU_PROF) {
          context.progress(
            `    profile window: ${fromUs}..${process.hrtime.bigint() / 1000n} µs (CLOCK_MONOTONIC)`,
          )
        }
      }
    }
    const seconds = (warmUp: boolean): number =>
      warmUp ? Math.max(1, context.warmupSeconds) : context.seconds
    const oauthToken = await flow('OAuth client_credentials token', 'POST /oauth/token', (l, w) =>
      oauthTokenRun(l, seconds(w), context.signal),
    )
    const introspection = await flow('OAuth introspection', 'POST /oauth/introspect', (l, w) =>
      introspectionRun(l, seconds(w), context.signal),
    )
    const emailSend = await flow(
      `email send: bursts of ${bursts.email} POST /auth/password/forgot, each mail delivered`,
      'POST /auth/password/forgot',
      (l) => emailBurst(l, bursts.email, smtp, tag, ips, context.signal),
    )
    const mfaVerify = await flow(
      `MFA verify: bursts of ${bursts.mfa} POST /auth/mfa/verify (logins untimed)`,
      'POST /auth/mfa/verify',
      (l) => mfaBurst(l, bursts.mfa, context.signal),
    )
    if (failures.length > 0) throw new GateError(failures)
    return {
      base,
      manyTokens,
      refreshConcurrency: REFRESH_CONCURRENCY,
      bursts,
      oauthConcurrency: OAUTH_CONCURRENCY,
      levels: levels.map((level, index) => ({
        factor: level.factor,
        counts: level.counts,
        seedSeconds: level.seedSeconds,
        meReused: measured(reused[index]!),
        meMany: measured(manyResults[index]!),
        refresh: refresh[index]!,
        emailSend: emailSend[index]!,
        mfaVerify: mfaVerify[index]!,
        oauthToken: oauthToken[index]!,
        introspection: introspection[index]!,
        idleKiB: level.idleKiB,
      })),
    }
  } catch (error) {
    if (error instanceof NoReply) throw new Error(`a request got no answer: ${error.message}`)
    throw error
  } finally {
    for (const level of levels) {
      if (level.target !== undefined) closeTargets([level.target])
      await level.ready?.server.stop()
      removeTempDir(level.dir)
    }
    await smtp.close()
  }
}

// ---------------------------------------------------------------- report

type Series =
  | 'meReused'
  | 'meMany'
  | 'refresh'
  | 'emailSend'
  | 'mfaVerify'
  | 'oauthToken'
  | 'introspection'

/** The flows measured before this wave, and this wave's. */
const FIRST_SERIES = ['meReused', 'meMany', 'refresh'] as const
const WAVE_SERIES = ['emailSend', 'mfaVerify', 'oauthToken', 'introspection'] as const

/** The bursts, compared per server CPU-second; the rest per second. */
const PER_CPU: ReadonlySet<Series> = new Set(['emailSend', 'mfaVerify'])

const SERIES_NAMES: Readonly<Record<Series, string>> = {
  meReused: 'GET /auth/me, token reused',
  meMany: 'GET /auth/me, many tokens',
  refresh: 'refresh rotation',
  emailSend: 'email send (password reset), per CPU-s',
  mfaVerify: 'MFA verify (TOTP), per CPU-s',
  oauthToken: 'OAuth client_credentials token',
  introspection: 'OAuth introspection',
}

/** Operations per server CPU-second of a flow's runs: the median of the runs'. */
function perCpu(runs: readonly FlowRun[] | undefined): number {
  if (runs === undefined) return Number.NaN
  return median(runs.map((r) => (r.cpuSeconds > 0 ? r.ops / r.cpuSeconds : Number.NaN)))
}

function flowRps(runs: readonly FlowRun[] | undefined): number {
  return runs === undefined ? Number.NaN : median(runs.map((r) => r.rps))
}

function seriesValue(level: GrowthLevel, series: Series, cores: number): number {
  switch (series) {
    case 'refresh':
      return summarizeRefresh(level.refresh, cores).rps
    case 'meReused':
    case 'meMany':
      return level[series].rps
    default:
      return PER_CPU.has(series) ? perCpu(level[series]) : flowRps(level[series])
  }
}

function measuredSeries(data: GrowthData): Series[] {
  return [
    ...FIRST_SERIES,
    ...WAVE_SERIES.filter((series) => data.levels.some((level) => level[series] !== undefined)),
  ]
}

export function growthTargets(data: GrowthData, cores: number): TargetCheck[] {
  const first = data.levels.find((level) => level.factor === 1)
  const last = data.levels.find((level) => level.factor === 100)
  return [...FIRST_SERIES, ...WAVE_SERIES].map((series) => {
    const value =
      first && last
        ? seriesValue(last, series, cores) / seriesValue(first, series, cores)
        : Number.NaN
    return {
      label: `Growth: ${SERIES_NAMES[series]} at 100x the data vs 1x`,
      short: `growth: ${SERIES_NAMES[series]}, 100x vs 1x`,
      value,
      goal: 0.9,
      better: 'higher' as const,
      unit: 'x' as const,
      ...(Number.isFinite(value) ? {} : { missing: 'not measured' }),
    }
  })
}

function dataTable(data: GrowthData): Table {
  const n = (value: number | undefined): string =>
    value === undefined ? '-' : value.toLocaleString('en-US')
  return {
    headers: [
      'Data',
      'users',
      'with an app',
      'sessions',
      'revocations',
      'clients',
      'outbox rows',
      'seeded in s',
      'RSS idle MiB',
    ],
    align: labelThenNumbers(9),
    rows: data.levels.map((level) => [
      `${level.factor}x`,
      n(level.counts.users),
      n(level.counts.totpUsers),
      n(level.counts.sessions),
      n(level.counts.revocations),
      n(level.counts.clients),
      n(level.counts.outbox),
      level.seedSeconds.toFixed(1),
      (level.idleKiB / 1024).toFixed(1),
    ]),
  }
}

function flowTable(data: GrowthData, cores: number): Table {
  const first = data.levels[0]
  const series = measuredSeries(data)
  const rows: string[][] = []
  for (const s of series) {
    for (const level of data.levels) {
      let rps: number
      let p99: number
      let cpu: number
      if (s === 'refresh') {
        const summary = summarizeRefresh(level.refresh, cores)
        rps = summary.rps
        p99 = summary.p99Ms
        cpu = summary.perTesseraCpu
      } else if (s === 'meReused' || s === 'meMany') {
        rps = level[s].rps
        p99 = level[s].p99Ms
        cpu = Number.NaN
      } else {
        const runs = level[s]
        rps = flowRps(runs)
        p99 = runs === undefined ? Number.NaN : median(runs.map((r) => r.p99Ms))
        cpu = perCpu(runs)
      }
      const ratio =
        first === undefined
          ? Number.NaN
          : seriesValue(level, s, cores) / seriesValue(first, s, cores)
      rows.push([
        SERIES_NAMES[s].replace(', per CPU-s', ''),
        `${level.factor}x`,
        formatRate(rps),
        formatMs(p99),
        Number.isFinite(cpu) ? formatRate(cpu) : '',
        Number.isFinite(ratio) ? formatRatio(ratio) : '-',
      ])
    }
  }
  return {
    headers: ['Flow', 'Data', 'per second', 'p99 ms', 'per server CPU-s', 'vs 1x'],
    align: ['left', 'left', 'right', 'right', 'right', 'right'],
    rows,
  }
}

function growthChart(
  data: GrowthData,
  cores: number,
  series: readonly Series[],
  file: string,
  title: string,
) {
  const first = data.levels[0]
  return {
    file,
    alt: `${title}: at 10x and 100x the data, relative to 1x`,
    svg: lineChart({
      title,
      subtitle: `relative to 1x (${data.base.users.toLocaleString('en-US')} users, ${data.base.sessions.toLocaleString('en-US')} sessions, ${data.base.revocations.toLocaleString('en-US')} revocations${data.base.clients === undefined ? '' : `, ${data.base.clients.toLocaleString('en-US')} clients, ${data.base.outbox.toLocaleString('en-US')} outbox rows`}); flat is the goal`,
      categories: data.levels.map((level) => `${level.factor}x`),
      series: series.map((s) => ({
        name: SERIES_NAMES[s],
        values: data.levels.map((level) =>
          first === undefined
            ? Number.NaN
            : seriesValue(level, s, cores) / seriesValue(first, s, cores),
        ),
      })),
      yLabel: 'throughput relative to 1x',
      marks: [{ value: 0.9, label: 'flat: >= 0.9x' }],
      format: (value) => `${value.toFixed(2)}x`,
    }),
  }
}

export function renderGrowth(data: GrowthData, meta: RunMeta): Rendered {
  const cores = meta.machine.cores
  const targets = growthTargets(data, cores)
  const wave = measuredSeries(data).filter((s) => !(FIRST_SERIES as readonly string[]).includes(s))
  const charts = [
    growthChart(
      data,
      cores,
      FIRST_SERIES,
      'growth.svg',
      'Throughput as users, sessions and revocations grow',
    ),
    ...(wave.length > 0
      ? [
          growthChart(
            data,
            cores,
            wave,
            'growth-flows.svg',
            'Email send, MFA verify and OAuth as the data grows',
          ),
        ]
      : []),
  ]
  const bursts = data.bursts
  const markdown = [
    `Three \`tessera serve\` (SQLite, ES256, \`TESSERA_SMTP_URL\` an SMTP server in the bench's process, \`TESSERA_TRUST_PROXY=1\`) side by side, on databases seeded through the server's own storage code and helpers before start: users with an argon2id hash (the first ones with a confirmed authenticator app, the secret sealed under the master key), sessions with a live refresh token, revocation entries (80% token, 10% session, 10% user, unexpired, all loaded into the in-memory list at start), OAuth clients (half services with \`client_credentials\`, half apps with a redirect URI) and sent mail in the outbox (within the retention window). Loaded in alternation, ${meta.rounds} rounds, medians:`,
    '',
    `- GET /auth/me as in scenario 1 (${meta.connections} connections, ${meta.seconds} s; one token, then ${data.manyTokens.toLocaleString('en-US')} tokens) and refresh as in scenario 3 (${data.refreshConcurrency} chains, ${meta.seconds} s): requests per second.`,
    ...(data.oauthConcurrency === undefined
      ? []
      : [
          `- OAuth: \`client_credentials\` tokens of a seeded service client (Basic auth, \`scope=${SEEDED_CLIENT_SCOPE}\`), and introspection of one of its tokens (the caller's and the token's client looked up among the seeded ones), ${data.oauthConcurrency} clients in a closed loop, ${meta.seconds} s: requests per second.`,
        ]),
    ...(bursts === undefined
      ? []
      : [
          `- Email send: bursts of ${bursts.email} \`POST /auth/password/forgot\` (${bursts.concurrency} at a time), each for a seeded account of its own from a client address of its own (the send limits are 5 mails per address and 30 per client address an hour), each answered 202; the burst ends when every reset mail has reached the SMTP server. Compared per server CPU-second (the server's threads' run time, from the scheduler), from the first request to the last mail: the answer, the lookup, the link and the outbox row, then the outbox worker's claim (among the seeded rows), rendering and delivery.`,
          `- MFA verify: bursts of ${bursts.mfa} \`POST /auth/mfa/verify\` (${bursts.concurrency} at a time) with an app's code, each for a challenge a seeded app user's login opened just before (untimed: argon2id); an app code is good once per 30-second step and account, so each account is used at most once per step. Compared per server CPU-second.`,
        ]),
    '',
    renderMarkdown(dataTable(data)),
    '',
    renderMarkdown(flowTable(data, cores)),
    '',
    targetMarkdown(targets),
    '',
    chartLinks(charts),
  ].join('\n')
  const text = [
    renderText(dataTable(data)),
    '',
    renderText(flowTable(data, cores)),
    '',
    targetText(targets),
  ].join('\n')
  return { markdown, text, charts, targets }
}

export const growthScenario: Scenario<GrowthData> = {
  number: 5,
  id: 'growth',
  title: 'Cost growth: 10x and 100x the users, sessions, revocations, clients and outbox rows',
  run: (context) => runGrowth(context),
  render: renderGrowth,
  versions: async () => ({
    '@tessera/jwt': meVersions()['@tessera/jwt']!,
    fastify: meVersions().fastify!,
    'smtp-server': packageVersion('smtp-server'),
  }),
}
