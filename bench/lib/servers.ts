/**
 * The servers a scenario loads, whatever they are: a `tessera serve`
 * instance or a peer from bench/peers/, each its own process on 127.0.0.1,
 * seen through one small interface (URL, pid, memory, stop), plus a
 * `tessera serve` made ready for GET /auth/me (an account, sessions, the
 * expected answer), and the correctness gate run before any timing.
 */

import { isDeepStrictEqual } from 'node:util'
import type { BenchAlg } from './bench-keys.ts'
import { type Instance, startInstance } from './load-cluster.ts'
import { closeTargets, loopbackTarget, type Target } from './load-http.ts'
import { ROOT, readRssKiB, startServer } from './processes.ts'
import { sleep } from './scenario.ts'
import { logIn, type Session, signUp, tesseraEnv, waitReady } from './tessera.ts'

/** One running server under test. */
export interface RunningServer {
  readonly id: string
  readonly url: string
  readonly pid: number
  /** Resident memory now, KiB. */
  rssKiB(): number
  /** Peak resident memory so far (VmHWM), KiB. */
  peakKiB(): number
  stop(): Promise<void>
}

/** A `tessera serve` as a {@link RunningServer}. */
export function fromInstance(id: string, instance: Instance): RunningServer {
  return {
    id,
    url: instance.url,
    pid: instance.pid,
    rssKiB: () => instance.rssKiB(),
    peakKiB: () => readRssKiB(instance.pid, 'VmHWM'),
    stop: async () => {
      await instance.stop()
    },
  }
}

/** Starts bench/peers/<script> with `env` (see peers/common.ts). */
export async function startPeer(
  id: string,
  script: string,
  env: Record<string, string>,
): Promise<RunningServer> {
  const server = await startServer(id, `${ROOT}/bench/peers/${script}`, env)
  return {
    id,
    url: server.url,
    pid: server.pid,
    rssKiB: () => server.rssKiB(),
    peakKiB: () => readRssKiB(server.pid, 'VmHWM'),
    stop: () => server.stop(),
  }
}

/** A `tessera serve` with an account, ready for GET /auth/me and refreshes. */
export interface ReadyTessera {
  readonly instance: Instance
  readonly server: RunningServer
  readonly target: Target
  readonly email: string
  /** The signup's session: its access token is the "reused" token. */
  readonly first: Session
  /** More sessions of the same account (refresh chains). */
  readonly sessions: Session[]
  /** The GET /auth/me answer for the account, parsed. */
  readonly me: Record<string, unknown>
  /** Resident memory once ready (and idle for `settleMs`), before the first signup (no password hashed yet), KiB. */
  readonly startedKiB: number
  /** Resident memory after the signup and the logins (and `settleMs` idle), KiB. */
  readonly afterLoginsKiB: number
}

/**
 * Starts `tessera serve` on SQLite (or `env`'s database) and makes it ready:
 * one account, `sessions` more logins, and its GET /auth/me answer. With
 * `settleMs`, the memory readings are taken after that long idle (the
 * allocator returns what it frees in its own time): once ready, and after
 * the logins.
 */
export async function startReadyTessera(options: {
  id: string
  alg: BenchAlg
  hsSecrets?: string
  sessions: number
  env?: Record<string, string>
  dataDir?: string
  settleMs?: number
}): Promise<ReadyTessera> {
  const env = tesseraEnv({
    TESSERA_SIGNING_ALG: options.alg,
    ...(options.hsSecrets === undefined ? {} : { TESSERA_HS_SECRETS: options.hsSecrets }),
    ...options.env,
  })
  const instance = await startInstance(
    options.id,
    env,
    options.dataDir === undefined ? {} : { dataDir: options.dataDir },
  )
  const target = loopbackTarget(instance.url)
  try {
    await waitReady(target)
    const settle = async (): Promise<void> => {
      if (options.settleMs !== undefined) await sleep(options.settleMs)
    }
    await settle()
    const startedKiB = instance.rssKiB()
    const email = `bench-${Math.random().toString(36).slice(2, 10)}@example.com`
    const first = await signUp(target, email)
    const sessions = options.sessions > 0 ? await logIn(target, email, options.sessions) : []
    await settle()
    const afterLoginsKiB = instance.rssKiB()
    const reply = await fetch(`${instance.url}/auth/me`, {
      headers: { authorization: `Bearer ${first.accessToken}` },
    })
    if (reply.status !== 200) throw new Error(`GET /auth/me answered ${reply.status}`)
    const me = (await reply.json()) as Record<string, unknown>
    return {
      instance,
      server: fromInstance(options.id, instance),
      target,
      email,
      first,
      sessions,
      me,
      startedKiB,
      afterLoginsKiB,
    }
  } catch (error) {
    closeTargets([target])
    await instance.stop()
    throw error
  }
}

/** One check of the correctness gate that did not hold. */
export interface GateFailure {
  readonly server: string
  readonly check: string
  readonly got: string
}

/**
 * The correctness gate: every accepted token must get 200 and exactly the
 * expected JSON, every refused token 401. Returns what failed (nothing when
 * all held).
 */
export async function gate(
  server: RunningServer,
  expected: Record<string, unknown>,
  accepted: Readonly<Record<string, string>>,
  refused: Readonly<Record<string, string>>,
): Promise<GateFailure[]> {
  const failures: GateFailure[] = []
  const get = async (token: string): Promise<{ status: number; body: unknown }> => {
    const reply = await fetch(`${server.url}/auth/me`, {
      headers: { authorization: `Bearer ${token}` },
    })
    const text = await reply.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // Kept as text for the report.
    }
    return { status: reply.status, body }
  }
  for (const [name, token] of Object.entries(accepted)) {
    const { status, body } = await get(token)
    if (status !== 200 || !isDeepStrictEqual(body, expected)) {
      failures.push({
        server: server.id,
        check: `${name} accepted with the expected JSON`,
        got: `${status} ${JSON.stringify(body).slice(0, 200)}`,
      })
    }
  }
  for (const [name, token] of Object.entries(refused)) {
    const { status } = await get(token)
    if (status !== 401) {
      failures.push({ server: server.id, check: `${name} refused with 401`, got: String(status) })
    }
  }
  return failures
}
