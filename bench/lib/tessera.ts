/**
 * Talking to a `tessera serve` under test: the environment a bench instance
 * runs with, readiness, signup and login, and minting many distinct access
 * tokens by walking refresh-token chains (the server signs every token it
 * is later asked to verify).
 */

import { randomBytes } from 'node:crypto'
import {
  closeTargets,
  failureLabel,
  loopbackTarget,
  runPhase,
  send,
  type Target,
  type VirtualUser,
} from './load-http.ts'

/** Keycloak's sizing guide (high availability, "Concepts for sizing CPU and memory resources"). */
export const KEYCLOAK_PER_VCPU = { login: 15, refresh: 120 } as const

/** The password of every account a bench creates. */
export const LOAD_PASSWORD = 'a load test passphrase'

/** The issuer every bench instance (and peer) uses: loopback http is allowed in production. */
export const BENCH_ISSUER = 'http://localhost:3999'

/**
 * The environment of a bench `tessera serve`: production refusals on, as
 * deployed (a fresh master key), logs at info (successes are logged at
 * debug), access tokens valid for two hours so none expires during a run,
 * and the per-IP and per-session limits raised: one generator on one
 * address sends what thousands of clients would.
 */
export function tesseraEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    TESSERA_ISSUER: BENCH_ISSUER,
    TESSERA_MASTER_KEY: randomBytes(32).toString('base64url'),
    TESSERA_LOG_LEVEL: 'info',
    TESSERA_ACCESS_TOKEN_TTL: '2h',
    TESSERA_REFRESH_RATE_LIMIT: '1000000',
    TESSERA_LOGIN_RATE_LIMIT: 'ip=100000000/15m',
    TESSERA_SIGNUP_RATE_LIMIT: '100000000',
    ...extra,
  }
}

/** The access and refresh token of a token response, or undefined. */
export function tokensOf(text: string): { accessToken: string; refreshToken: string } | undefined {
  try {
    const body = JSON.parse(text) as { accessToken?: unknown; refreshToken?: unknown }
    if (typeof body.accessToken === 'string' && typeof body.refreshToken === 'string') {
      return { accessToken: body.accessToken, refreshToken: body.refreshToken }
    }
  } catch {
    // Counted by the caller as a malformed answer.
  }
  return undefined
}

/**
 * The client address of user `n`, sent as X-Forwarded-For (instances that
 * trust one proxy hop, as behind nginx): one IPv6 /64 per user, inside the
 * documentation prefix 2001:db8::/32 (RFC 3849), so the per-IP limits count
 * per user as they would in production. The run's random tag keeps runs
 * apart in a shared Redis, whose counters outlive a run.
 */
export function clientIp(runTag: string, n: number): string {
  return `2001:db8:${runTag}:${(n % 65_536).toString(16)}::1`
}

/** Resolves once GET /ready answers 200 (15 s at most). */
export async function waitReady(target: Target): Promise<void> {
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

/** A session: the newest token pair of one refresh-token chain. */
export interface Session {
  accessToken: string
  refreshToken: string
}

/** Signs up `email` and returns its first session. */
export async function signUp(target: Target, email: string): Promise<Session> {
  const reply = await send(target, 'POST', '/auth/signup', {
    body: { email, password: LOAD_PASSWORD },
  })
  const tokens = reply.status === 201 ? tokensOf(reply.text) : undefined
  if (tokens === undefined) throw new Error(`signup failed: ${failureLabel(reply)}`)
  return tokens
}

/** Logs `email` in `count` times, `concurrency` at a time: one session each. */
export async function logIn(
  target: Target,
  email: string,
  count: number,
  concurrency = 4,
): Promise<Session[]> {
  const sessions: Session[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++
      const reply = await send(target, 'POST', '/auth/login', {
        body: { email, password: LOAD_PASSWORD },
      })
      const tokens = reply.status === 200 ? tokensOf(reply.text) : undefined
      if (tokens === undefined) throw new Error(`login failed: ${failureLabel(reply)}`)
      sessions.push(tokens)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return sessions
}

/**
 * `count` distinct access tokens signed by the server: each session's
 * refresh-token chain is walked (a refresh issues a new access token and
 * does not revoke the previous one), the sessions in parallel. The
 * sessions' refresh tokens move forward as a side effect.
 */
export async function mintAccessTokens(
  url: string,
  sessions: Session[],
  count: number,
  signal?: AbortSignal,
): Promise<string[]> {
  const target = loopbackTarget(url)
  const tokens: string[] = []
  const users: VirtualUser<Session>[] = sessions.map((state, index) => ({
    index,
    state,
    done: false,
  }))
  const recorder = await runPhase({
    targets: [target],
    users,
    durationMs: 300_000,
    maxRequests: count,
    ...(signal === undefined ? {} : { signal }),
    step: async (user) => {
      const reply = await send(target, 'POST', '/auth/refresh', {
        body: { refreshToken: user.state.refreshToken },
      })
      const pair = reply.status === 200 ? tokensOf(reply.text) : undefined
      if (pair === undefined) {
        // A failed rotation may have consumed the token: drop the chain.
        user.done = true
        return { ok: false, label: failureLabel(reply) }
      }
      user.state.accessToken = pair.accessToken
      user.state.refreshToken = pair.refreshToken
      tokens.push(pair.accessToken)
      return { ok: true }
    },
  })
  closeTargets([target])
  if (tokens.length < count) {
    const failures = [...recorder.failures].map(([label, n]) => `${n} x ${label}`).join(', ')
    throw new Error(`minted ${tokens.length} of ${count} access tokens (${failures})`)
  }
  return tokens
}
