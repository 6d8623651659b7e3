/**
 * Scenario 1: GET /auth/me on `tessera serve` and on resource servers
 * protected by @tessera/jwt middleware, against what a developer would pick
 * instead: bare Fastify, Express and Hono routes (no authentication: the
 * floor), the production reference (bare Fastify with a request id,
 * security headers and a logger), Fastify + @fastify/jwt, Express +
 * express-jwt, Hono + hono/jwt and the seeds' Express + jsonwebtoken server.
 * ES256 and HS256; one token reused (the verified-token caches hit) and many
 * distinct tokens (no cache can hold them). Every server is its own process,
 * loaded by the same generator with the same connections, in alternation.
 * The @tessera/jwt peers follow tessera serve's revocation feed, and the gate
 * checks that a session ended at tessera serve is refused by each of them,
 * before and after the timed runs.
 */

import { randomBytes } from 'node:crypto'
import { decode, type Key } from '@tessera/jwt'
import { alternate, type LoadTarget, type TargetSummary } from '../lib/alternate.ts'
import {
  BENCH_ALGS,
  type BenchAlg,
  type ClaimTemplate,
  claimTemplate,
  createBenchKey,
  refusedTokens,
  signLike,
  signMany,
} from '../lib/bench-keys.ts'
import { tokenSet } from '../lib/load-generator.ts'
import { closeTargets, failureLabel, loopbackTarget, send } from '../lib/load-http.ts'
import { packageVersion } from '../lib/machine.ts'
import { removeTempDir, tempDir } from '../lib/processes.ts'
import {
  type BenchContext,
  type Chart,
  chartLinks,
  checkSignal,
  type Rendered,
  type RunMeta,
  type Scenario,
  sleep,
  type TargetCheck,
  targetMarkdown,
  targetText,
} from '../lib/scenario.ts'
import {
  type GateFailure,
  gate,
  type ReadyTessera,
  type RunningServer,
  startPeer,
  startReadyTessera,
} from '../lib/servers.ts'
import { barChart, type Tone } from '../lib/svg.ts'
import {
  formatMs,
  formatOps,
  formatRatio,
  labelThenNumbers,
  renderMarkdown,
  renderText,
  type Table,
} from '../lib/table.ts'
import { logIn, mintAccessTokens } from '../lib/tessera.ts'

/** The servers of scenario 1, in report order. */
export const ME_SERVERS = [
  { id: 'tessera', label: 'tessera serve', tone: 'tessera' },
  {
    id: 'tessera-fastify',
    label: '@tessera/jwt on Fastify',
    script: 'tessera-fastify.ts',
    tone: 'tessera',
  },
  {
    id: 'tessera-express',
    label: '@tessera/jwt on Express',
    script: 'tessera-express.ts',
    tone: 'tessera',
  },
  { id: 'tessera-hono', label: '@tessera/jwt on Hono', script: 'tessera-hono.ts', tone: 'tessera' },
  {
    id: 'bare-fastify',
    label: 'bare Fastify (no auth)',
    script: 'bare-fastify.ts',
    tone: 'floor',
    bare: true,
  },
  {
    id: 'bare-fastify-production',
    label: 'bare Fastify + request id, security headers, logger (no auth)',
    script: 'bare-fastify-production.ts',
    tone: 'floor',
    bare: true,
  },
  {
    id: 'bare-express',
    label: 'bare Express (no auth)',
    script: 'bare-express.ts',
    tone: 'floor',
    bare: true,
  },
  {
    id: 'bare-hono',
    label: 'bare Hono (no auth)',
    script: 'bare-hono.ts',
    tone: 'floor',
    bare: true,
  },
  { id: 'fastify-jwt', label: 'Fastify + @fastify/jwt', script: 'fastify-jwt.ts', tone: 'peer' },
  { id: 'express-jwt', label: 'Express + express-jwt', script: 'express-jwt.ts', tone: 'peer' },
  { id: 'hono-jwt', label: 'Hono + hono/jwt', script: 'hono-jwt.ts', tone: 'peer' },
  {
    id: 'seeds-express',
    label: "seeds' Express + jsonwebtoken",
    script: 'seeds-express.ts',
    tone: 'peer',
  },
] as const satisfies readonly {
  id: string
  label: string
  script?: string
  tone: Tone
  bare?: boolean
}[]

export type ServerId = (typeof ME_SERVERS)[number]['id']
export type TokenMode = 'reused' | 'many'

const LABELS: Readonly<Record<string, string>> = Object.fromEntries(
  ME_SERVERS.map((server) => [server.id, server.label]),
)

/** The medians of one server in one group (rounds kept for the record). */
export interface ServerResult {
  id: ServerId
  rps: number
  p50Ms: number
  p99Ms: number
  spread: number
  errors: number
  roundsRps: number[]
}

export interface MeGroup {
  alg: BenchAlg
  mode: TokenMode
  /** Distinct tokens cycled through. */
  tokens: number
  servers: ServerResult[]
}

export interface MemorySample {
  alg: BenchAlg
  id: ServerId
  /** Once listening, before any request (tessera serve: ready and 1 s idle, before its first password hash). */
  startedKiB: number
  /** tessera serve only: after its signup and `logins` logins, and 1 s idle. */
  afterLoginsKiB?: number
  /** tessera serve only: the logins before `afterLoginsKiB` (argon2id verifies, 4 at a time). */
  logins?: number
  /** After start and the gate's few requests (tessera serve: also a signup, the logins and the minting). */
  idleKiB: number
  /** The highest VmRSS read right after a timed run. */
  loadedKiB: number
  /** VmHWM when the server stopped. */
  peakKiB: number
}

export interface MeData {
  manyTokens: number
  groups: MeGroup[]
  memory: MemorySample[]
  /** Checks of the correctness gate that failed (the run stops when one does). */
  gateFailures: GateFailure[]
}

/** The libraries scenario 1 loads, with their versions. */
export function meVersions(): Record<string, string> {
  const names = [
    'fastify',
    'express',
    'hono',
    '@hono/node-server',
    '@fastify/jwt',
    'express-jwt',
    'jsonwebtoken',
    '@tessera/jwt',
  ]
  return Object.fromEntries(names.map((name) => [name, packageVersion(name)]))
}

export interface MatrixOptions {
  readonly algs: readonly BenchAlg[]
  /** The token modes loaded, per algorithm. */
  readonly modes: (alg: BenchAlg) => readonly TokenMode[]
  /** Logins into tessera serve once it is ready (its memory is read after them). */
  readonly logins: (alg: BenchAlg) => number
  readonly rounds: number
  readonly seconds: number
  readonly warmupSeconds: number
  readonly manyTokens: number
}

/**
 * Starts every server for each algorithm, gates them, loads them in
 * alternation for each token mode, and stops them. Used by scenario 1, and
 * by scenario 4 on its own for the memory figures.
 */
export async function runMatrix(context: BenchContext, options: MatrixOptions): Promise<MeData> {
  const data: MeData = { manyTokens: options.manyTokens, groups: [], memory: [], gateFailures: [] }
  for (const alg of options.algs) {
    checkSignal(context.signal)
    const modes = options.modes(alg)
    const logins = options.logins(alg)
    const dir = tempDir(`me-${alg.toLowerCase()}`)
    const key = createBenchKey(alg, dir)
    const servers: RunningServer[] = []
    try {
      context.progress(
        `  ${alg}: starting tessera serve (a signup and ${logins} logins) and ${ME_SERVERS.length - 1} peers`,
      )
      const feedKey = randomBytes(32).toString('base64url')
      const tessera = await startReadyTessera({
        id: 'tessera',
        alg,
        ...(key.hsSecrets === undefined ? {} : { hsSecrets: key.hsSecrets }),
        sessions: logins,
        settleMs: SETTLE_MS,
        env: { TESSERA_REVOCATION_FEED_KEY: feedKey },
      })
      servers.push(tessera.server)
      const template = claimTemplate(tessera.first.accessToken)
      const profile = {
        email: tessera.me.email,
        name: tessera.me.name,
        emailVerified: tessera.me.emailVerified,
        createdAt: tessera.me.createdAt,
      }
      const env = {
        PEER_KEY_FILE: key.file,
        PEER_ISSUER: template.iss,
        PEER_AUDIENCE: template.aud,
        PEER_PROFILE: JSON.stringify(profile),
        ME_BODY: JSON.stringify(tessera.me),
        // Read by the @tessera/jwt peers only (peers/feed.ts).
        PEER_REVOCATION_URL: `${tessera.server.url}/auth/revocations`,
        PEER_REVOCATION_KEY: feedKey,
      }
      const peers = await Promise.all(
        ME_SERVERS.filter((spec) => spec.id !== 'tessera').map((spec) =>
          startPeer(spec.id, (spec as { script: string }).script, env),
        ),
      )
      servers.push(...peers)
      const startedKiB = new Map<string, number>([['tessera', tessera.startedKiB]])
      for (const peer of peers) startedKiB.set(peer.id, peer.rssKiB())

      // Tokens: the server's own for tessera serve (it signs with its key;
      // the many are minted by walking refresh chains), the bench's for the
      // peers, with the same claims.
      const needMany = modes.includes('many')
      context.progress(
        needMany ? `  ${alg}: minting ${options.manyTokens} tokens` : `  ${alg}: gate`,
      )
      const tesseraMany = needMany
        ? await mintAccessTokens(
            tessera.instance.url,
            tessera.sessions.slice(0, MINTING_CHAINS),
            options.manyTokens,
            context.signal,
          )
        : []
      closeTargets([tessera.target])
      const peerReused = signLike(key.signingKey, template)
      const peerMany = needMany ? signMany(key.signingKey, template, options.manyTokens) : []

      // The gate: same JSON for the same token, refusals where it verifies.
      const tamper = (token: string): string => {
        const [h, p, s] = token.split('.')
        const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as Record<
          string,
          unknown
        >
        claims.roles = ['admin']
        return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`
      }
      const refusedByPeers = refusedTokens(key, template)
      const failures: GateFailure[] = []
      for (const server of servers) {
        const spec = ME_SERVERS.find((s) => s.id === server.id)!
        const own = server.id === 'tessera'
        const reused = own ? tessera.first.accessToken : peerReused
        const accepted: Record<string, string> = { 'the reused token': reused }
        const many = own ? tesseraMany : peerMany
        if (many.length > 0) accepted['a token of the many'] = many[many.length - 1]!
        // With HS256 tessera serve holds the peers' secret (same kid), so it
        // faces every refusal they do; with ES256 it has its own key.
        const refused: Record<string, string> =
          'bare' in spec
            ? {}
            : own && alg === 'ES256'
              ? {
                  'a token with a changed payload': tamper(reused),
                  'a token signed by another key': refusedByPeers['another key']!,
                }
              : { ...refusedByPeers, 'a token with a changed payload': tamper(reused) }
        failures.push(...(await gate(server, tessera.me, accepted, refused)))
      }
      const followers = servers.filter((server) => FEED_FOLLOWERS.has(server.id as ServerId))
      failures.push(
        ...(await feedGate(tessera, key.signingKey, template, followers, 'before the runs')),
      )
      reportGate(context, data, failures, alg)

      await sleep(500, context.signal)
      const memory = new Map<string, MemorySample>()
      for (const server of servers) {
        const own = server.id === 'tessera'
        memory.set(server.id, {
          alg,
          id: server.id as ServerId,
          startedKiB: startedKiB.get(server.id) ?? Number.NaN,
          ...(own ? { afterLoginsKiB: tessera.afterLoginsKiB, logins } : {}),
          idleKiB: server.rssKiB(),
          // Stays NaN (not measured) when the algorithm is not loaded.
          loadedKiB: Number.NaN,
          peakKiB: Number.NaN,
        })
      }

      for (const mode of modes) {
        checkSignal(context.signal)
        const targets: LoadTarget[] = servers.map((server) => {
          const own = server.id === 'tessera'
          const tokens =
            mode === 'reused'
              ? [own ? tessera.first.accessToken : peerReused]
              : own
                ? tesseraMany
                : peerMany
          return {
            id: server.id,
            url: `${server.url}/auth/me`,
            tokens: tokenSet(`${dir}/tokens-${server.id}-${mode}.txt`, tokens),
          }
        })
        context.progress(
          `  ${alg}, ${mode === 'reused' ? 'one token reused' : `${options.manyTokens} tokens`}: ${servers.length} servers x ${options.rounds} rounds of ${options.seconds} s`,
        )
        const byId = new Map(servers.map((server) => [server.id, server]))
        const summaries: TargetSummary[] = await alternate(targets, {
          generator: context.generator,
          connections: context.connections,
          rounds: options.rounds,
          seconds: options.seconds,
          warmupSeconds: options.warmupSeconds,
          signal: context.signal,
          onRun: (target, result) => {
            const sample = memory.get(target.id)!
            const now = byId.get(target.id)!.rssKiB()
            sample.loadedKiB = Number.isFinite(sample.loadedKiB)
              ? Math.max(sample.loadedKiB, now)
              : now
            context.progress(
              `    ${target.id.padEnd(16)} ${formatOps(result.rps).padStart(8)} req/s  p99 ${formatMs(result.p99Ms)} ms${result.errors > 0 ? `  ${result.errors} errors` : ''}`,
            )
          },
        })
        data.groups.push({
          alg,
          mode,
          tokens: mode === 'reused' ? 1 : options.manyTokens,
          servers: summaries.map((summary) => ({
            id: summary.id as ServerId,
            rps: Math.round(summary.rps),
            p50Ms: round2(summary.p50Ms),
            p99Ms: round2(summary.p99Ms),
            spread: round2(summary.spread),
            errors: summary.errors,
            roundsRps: summary.rounds.map((r) => Math.round(r.rps)),
          })),
        })
      }
      // The feed stayed connected through the load: a session ended now is
      // refused too.
      reportGate(
        context,
        data,
        await feedGate(tessera, key.signingKey, template, followers, 'after the runs'),
        alg,
      )
      for (const server of servers) {
        const sample = memory.get(server.id)!
        sample.peakKiB = server.peakKiB()
        data.memory.push(sample)
      }
    } finally {
      await Promise.all(servers.map((server) => server.stop()))
      // The HS256 secret, the key file and the token files go with the servers.
      removeTempDir(dir)
    }
  }
  return data
}

/** Idle time before tessera serve's memory readings: the allocator returns freed memory in its own time. */
const SETTLE_MS = 1_000

/** Refresh chains walked at once to mint the many tokens (of the logins' sessions). */
const MINTING_CHAINS = 16

/** The servers that follow tessera serve's revocation feed. */
const FEED_FOLLOWERS: ReadonlySet<ServerId> = new Set([
  'tessera-fastify',
  'tessera-express',
  'tessera-hono',
])

/** How long a revocation may take to reach the feed's followers. */
const FEED_DELAY_MS = 5_000

function reportGate(
  context: BenchContext,
  data: MeData,
  failures: readonly GateFailure[],
  alg: BenchAlg,
): void {
  data.gateFailures.push(...failures)
  if (failures.length === 0) return
  for (const failure of failures) {
    context.progress(`  gate: ${failure.server}: ${failure.check}: got ${failure.got}`)
  }
  throw new Error(`the correctness gate failed for ${alg} (${failures.length} checks)`)
}

/**
 * The revocation feed at work: a new session of the account is opened at
 * tessera serve (a login) and ended (POST /auth/logout); a token the bench
 * signs for that session (its `sid`) must be accepted by every follower
 * before, and refused with 401 within 5 s after: the revocation reached them
 * through the feed. The reused token must still be accepted afterwards.
 */
async function feedGate(
  tessera: ReadyTessera,
  signingKey: Key,
  template: ClaimTemplate,
  followers: readonly RunningServer[],
  when: string,
): Promise<GateFailure[]> {
  if (followers.length === 0) return []
  const failures: GateFailure[] = []
  const target = loopbackTarget(tessera.server.url)
  try {
    const [session] = await logIn(target, tessera.email, 1)
    const sid = (decode(session!.accessToken).payload as { sid?: unknown }).sid
    if (typeof sid !== 'string') throw new Error('the login token has no sid')
    const token = signLike(signingKey, template, { sid })
    const status = async (server: RunningServer): Promise<number> =>
      (
        await fetch(`${server.url}/auth/me`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).status
    for (const server of followers) {
      const before = await status(server)
      if (before !== 200) {
        failures.push({
          server: server.id,
          check: `${when}: a token of a live session accepted`,
          got: String(before),
        })
      }
    }
    const logout = await send(target, 'POST', '/auth/logout', {
      body: { refreshToken: session!.refreshToken },
    })
    if (logout.status !== 204) {
      failures.push({
        server: 'tessera',
        check: `${when}: POST /auth/logout answered 204`,
        got: failureLabel(logout),
      })
      return failures
    }
    const deadline = performance.now() + FEED_DELAY_MS
    for (const server of followers) {
      let last = 0
      for (;;) {
        last = await status(server)
        if (last === 401 || performance.now() > deadline) break
        await sleep(20)
      }
      if (last !== 401) {
        failures.push({
          server: server.id,
          check: `${when}: a token of a session ended at tessera serve refused with 401 within ${FEED_DELAY_MS / 1000} s (the revocation feed)`,
          got: String(last),
        })
      }
    }
  } finally {
    closeTargets([target])
  }
  return failures
}

function round2(value: number): number {
  return Math.round(value * 100) / 100
}

// ---------------------------------------------------------------- report

function rpsOf(group: MeGroup | undefined, id: ServerId): number {
  return group?.servers.find((server) => server.id === id)?.rps ?? Number.NaN
}

/** Short names for the targets chart. */
const SHORT: Readonly<Partial<Record<ServerId, string>>> = {
  tessera: 'tessera serve',
  'tessera-fastify': '@tessera/jwt Fastify',
  'tessera-express': '@tessera/jwt Express',
  'tessera-hono': '@tessera/jwt Hono',
  'bare-fastify': 'bare Fastify',
  'bare-fastify-production': 'the production reference',
  'bare-express': 'bare Express',
  'bare-hono': 'bare Hono',
  'fastify-jwt': '@fastify/jwt',
  'express-jwt': 'express-jwt',
  'seeds-express': "seeds' Express",
}

/** The reference every server is compared with first: what any production answer carries anyway. */
export const REFERENCE: ServerId = 'bare-fastify-production'

/**
 * The ratio targets of the issue, on ES256 with the token reused (a goal of
 * NaN: reported for information). The middlewares' are measured with
 * tessera serve's revocation feed connected.
 */
const RATIO_TARGETS: readonly {
  subject: ServerId
  peer: ServerId
  goal: number
  info?: string
}[] = [
  { subject: 'tessera', peer: REFERENCE, goal: 0.85 },
  {
    subject: 'tessera',
    peer: 'bare-fastify',
    goal: Number.NaN,
    info: 'for information: the target is against the production reference',
  },
  { subject: 'tessera', peer: 'fastify-jwt', goal: 2.5 },
  { subject: 'tessera', peer: 'seeds-express', goal: 10 },
  { subject: 'tessera-fastify', peer: 'bare-fastify', goal: 0.9 },
  { subject: 'tessera-fastify', peer: 'fastify-jwt', goal: 2.5 },
  { subject: 'tessera-express', peer: 'bare-express', goal: 0.9 },
  { subject: 'tessera-express', peer: 'express-jwt', goal: 2.5 },
  { subject: 'tessera-hono', peer: 'bare-hono', goal: 0.9 },
]

export function meTargets(data: MeData): TargetCheck[] {
  const group = data.groups.find((g) => g.alg === 'ES256' && g.mode === 'reused')
  return RATIO_TARGETS.map(({ subject, peer, goal, info }) => {
    const value = rpsOf(group, subject) / rpsOf(group, peer)
    const feed = FEED_FOLLOWERS.has(subject) ? ' (revocation feed connected)' : ''
    return {
      label: `GET /auth/me ES256, token reused: ${LABELS[subject]}${feed} vs ${LABELS[peer]}`,
      short: `/auth/me ES256: ${SHORT[subject]} vs ${SHORT[peer]}`,
      value,
      goal,
      better: 'higher' as const,
      unit: 'x' as const,
      ...(info === undefined ? {} : { info }),
      ...(group === undefined || !Number.isFinite(value)
        ? { missing: group === undefined ? 'not measured' : `${LABELS[peer]} not measured` }
        : {}),
    }
  })
}

/** The peer each server is compared with in the "vs its JWT peer" column. */
const FRAMEWORK_PEER: Readonly<Partial<Record<ServerId, ServerId>>> = {
  tessera: 'fastify-jwt',
  'tessera-fastify': 'fastify-jwt',
  'tessera-express': 'express-jwt',
  'tessera-hono': 'hono-jwt',
}

/** The bare route of each server's framework, for the "vs its bare framework" column. */
const FRAMEWORK_BARE: Readonly<Partial<Record<ServerId, ServerId>>> = {
  tessera: 'bare-fastify',
  'tessera-fastify': 'bare-fastify',
  'tessera-express': 'bare-express',
  'tessera-hono': 'bare-hono',
  'bare-fastify-production': 'bare-fastify',
  'fastify-jwt': 'bare-fastify',
  'express-jwt': 'bare-express',
  'hono-jwt': 'bare-hono',
  'seeds-express': 'bare-express',
}

function algTable(data: MeData, alg: BenchAlg): Table {
  const reused = data.groups.find((g) => g.alg === alg && g.mode === 'reused')
  const many = data.groups.find((g) => g.alg === alg && g.mode === 'many')
  const cells = (group: MeGroup | undefined, id: ServerId): string[] => {
    const result = group?.servers.find((server) => server.id === id)
    if (group === undefined || result === undefined) return ['-', '-', '-', '-', '-']
    const peer = FRAMEWORK_PEER[id]
    const bare = FRAMEWORK_BARE[id]
    const ratio = (other: ServerId | undefined): string => {
      const value = other === undefined ? Number.NaN : result.rps / rpsOf(group, other)
      return Number.isFinite(value) ? formatRatio(value) : ''
    }
    return [
      formatOps(result.rps),
      formatMs(result.p99Ms),
      id === REFERENCE ? '1.00x' : ratio(REFERENCE),
      ratio(bare),
      ratio(peer),
    ]
  }
  return {
    headers: [
      'Server',
      'reused: req/s',
      'p99 ms',
      'vs reference',
      'vs its bare framework',
      'vs its JWT peer',
      `${data.manyTokens.toLocaleString('en-US')} tokens: req/s`,
      'p99 ms',
      'vs reference',
      'vs its bare framework',
      'vs its JWT peer',
      'max spread',
    ],
    align: labelThenNumbers(12),
    rows: ME_SERVERS.filter((spec) =>
      data.groups.some((group) => group.servers.some((server) => server.id === spec.id)),
    ).map((spec) => {
      const spreads = [reused, many]
        .map((group) => group?.servers.find((server) => server.id === spec.id)?.spread)
        .filter((value): value is number => value !== undefined)
      return [
        spec.label,
        ...cells(reused, spec.id),
        ...cells(many, spec.id),
        spreads.length === 0 ? '-' : `${Math.round(Math.max(...spreads) * 100)}%`,
      ]
    }),
  }
}

function groupChart(group: MeGroup): Chart {
  const reference = rpsOf(group, REFERENCE)
  const what =
    group.mode === 'reused'
      ? 'one token reused'
      : `${group.tokens.toLocaleString('en-US')} distinct tokens`
  return {
    file: `me-${group.alg.toLowerCase()}-${group.mode}.svg`,
    alt: `GET /auth/me, ${group.alg}, ${what}: requests per second per server`,
    svg: barChart({
      title: `GET /auth/me, ${group.alg}, ${what}`,
      subtitle:
        'requests/s, median of the rounds (ratio to the production reference); higher is better',
      bars: ME_SERVERS.filter((spec) => Number.isFinite(rpsOf(group, spec.id))).map((spec) => {
        const rps = rpsOf(group, spec.id)
        return {
          label: spec.label,
          value: rps,
          text: `${formatOps(rps)} (${formatRatio(rps / reference)})`,
          tone: spec.tone,
        }
      }),
    }),
  }
}

export function renderMe(data: MeData, meta: RunMeta): Rendered {
  const algs = BENCH_ALGS.filter((alg) => data.groups.some((g) => g.alg === alg))
  const targets = meTargets(data)
  const charts = data.groups.map((group) => groupChart(group))
  const errors = data.groups.flatMap((group) =>
    group.servers
      .filter((server) => server.errors > 0)
      .map(
        (server) =>
          `${group.alg}, ${group.mode}: ${LABELS[server.id]}: ${server.errors} failed requests`,
      ),
  )
  const markdown = [
    `${meta.generator.name} with ${meta.connections} connections, ${meta.rounds} alternating rounds of ${meta.seconds} s per server after ${meta.warmupSeconds} s of warm-up; medians. "reused" sends one token over and over (the verified-token caches hit); "${data.manyTokens.toLocaleString('en-US')} tokens" cycles through that many distinct tokens, more than any cache here holds (1000), so each request verifies a signature. "vs reference" compares with the production reference (bare Fastify with a UUID request id, five security headers and a pino logger at info: what any production answer carries, with no authentication); "vs its bare framework" with the bare route of the same framework (bare Fastify for tessera serve, which runs on Fastify); "vs its JWT peer" with the JWT plugin of the same framework. The @tessera/jwt peers follow tessera serve's revocation feed (\`GET /auth/revocations\`, \`whenStale: 'refuse'\`, as the examples set them up): the gate ends a session at tessera serve before and after the timed runs and checks that each of them refuses a token of it within 5 s. tessera serve's memory readings (scenario 4) come after a signup and ${loginsText(data)} logins.`,
    '',
    ...algs.flatMap((alg) => [`**${alg}**`, '', renderMarkdown(algTable(data, alg)), '']),
    targetMarkdown(targets),
    '',
    chartLinks(charts.filter((chart) => chart.file.startsWith('me-es256'))),
    '',
    `HS256 charts: ${
      charts
        .filter((chart) => chart.file.startsWith('me-hs256'))
        .map((chart) => `[${chart.file}](charts/${chart.file})`)
        .join(', ') || 'not measured'
    }.`,
    ...(errors.length > 0
      ? ['', 'Failed requests during the load:', '', ...errors.map((line) => `- ${line}`)]
      : []),
  ].join('\n')
  const text = [
    ...algs.flatMap((alg) => [`${alg}:`, renderText(algTable(data, alg)), '']),
    targetText(targets),
  ].join('\n')
  return { markdown, text, charts, targets }
}

function loginsText(data: MeData): string {
  const counts = [
    ...new Set(data.memory.filter((m) => m.logins !== undefined).map((m) => m.logins!)),
  ]
  return counts.length === 0 ? 'its' : counts.join(' or ')
}

/** Logins into tessera serve before its "after logins" memory reading (the issue's 200). */
export const MEMORY_LOGINS = 200

export const meScenario: Scenario<MeData> = {
  number: 1,
  id: 'me',
  title: 'GET /auth/me against the peers',
  run: (context) =>
    runMatrix(context, {
      algs: BENCH_ALGS,
      // A smoke run gates HS256 without loading it, and logs in fewer
      // times there: the targets are ES256's.
      modes: (alg) => (context.quick && alg === 'HS256' ? [] : ['reused', 'many']),
      logins: (alg) => (context.quick && alg === 'HS256' ? 16 : MEMORY_LOGINS),
      rounds: context.rounds,
      seconds: context.seconds,
      warmupSeconds: context.warmupSeconds,
      manyTokens: context.quick ? 1_500 : 4_000,
    }),
  render: renderMe,
  versions: async () => meVersions(),
}
