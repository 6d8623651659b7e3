// Rate limits for login, signup and refresh, on rate-limiter-flexible.
//
// Login follows the OWASP Authentication Cheat Sheet ("Protect against
// automated attacks") rather than a hard lockout, which would let anyone who
// knows an address lock its owner out:
// - every attempt from one client IP counts against a generous ceiling
//   (shared NAT is common), whatever the account;
// - consecutive failures are counted per account+IP; after `freeFailures` of
//   them each new failure blocks that pair for 2^(failures - freeFailures)
//   seconds (1 s, 2 s, 4 s, …), capped at `maxBackoffSeconds`;
// - failures are also counted per account, from every address, as a signal
//   with a much higher threshold (`accountFreeFailures`): past it the
//   account-wide back-off slows every client that has failed on the account
//   itself (a botnet spreading guesses over many addresses gets one guess per
//   address), never a client with no failures of its own, so the owner's
//   correct password from their own device still gets in;
// - a success resets the account's counter and that pair's, so an attacker's
//   own back-off keeps growing while the user gets back in.
//
// The limiters come from an injectable factory: RateLimiterMemory in one
// process, a Redis-backed limiter when instances share limits. Keys never hold
// an email address (SHA-256 of it), so a shared store holds none.
// rate-limiter-flexible reads Date.now() itself; tests move time with
// node:test's mock timers.

import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { isIP } from 'node:net'
import type * as Flexible from 'rate-limiter-flexible'
import type { RateLimiterAbstract } from 'rate-limiter-flexible'
import type { LoginRateLimit } from '../config/types.ts'
import type { LimiterOptions, RateLimiterFactory } from '../storage/ports.ts'
import { AuthError } from './errors.ts'
import { normalizeEmail } from './passwords.ts'
import type { RateLimits } from './ports.ts'

export type { LimiterOptions, RateLimiterFactory } from '../storage/ports.ts'

// The two classes alone: the package's index loads every backend it has
// (cluster, Mongo, DynamoDB, ...), ~35 modules a server never uses. The
// files are the ones the index exports, so a Redis limiter's RateLimiterRes
// is this class too.
const require = createRequire(import.meta.url)
const RateLimiterMemory =
  require('rate-limiter-flexible/lib/RateLimiterMemory.js') as typeof Flexible.RateLimiterMemory
const RateLimiterRes =
  require('rate-limiter-flexible/lib/RateLimiterRes.js') as typeof Flexible.RateLimiterRes

/** The budgets, as Config carries them. */
export interface RateLimitConfig {
  loginRateLimit: Readonly<LoginRateLimit>
  /** Signups per IP per hour. */
  signupRateLimit: number
  /** Refreshes per session per minute. */
  refreshRateLimit: number
}

/** Consecutive failures are forgotten this long after the first of a streak (at least). */
const FAILURE_MEMORY_SECONDS = 86_400
const SIGNUP_WINDOW_SECONDS = 3600
const REFRESH_WINDOW_SECONDS = 60
/** Mails one address may be sent per hour (verification, reset, sign-in code), and one IP may ask for. */
const MAILS_PER_ADDRESS = 5
const MAILS_PER_IP = 30
const MAIL_WINDOW_SECONDS = 3600
/** Passkey sign-in options per IP per 15 minutes: a page view each (autofill), far above any person's. */
const PASSKEY_OPTIONS_PER_IP = 600
const PASSKEY_OPTIONS_WINDOW_SECONDS = 900

/**
 * The back-off after the `failures`-th consecutive failure: none before
 * `freeFailures`, then 1 s, 2 s, 4 s, … capped at `maxBackoffSeconds`.
 */
export function backoffSeconds(failures: number, limit: Readonly<LoginRateLimit>): number {
  if (failures < limit.freeFailures) return 0
  // 2^53 already exceeds any cap; keep the exponent finite.
  return Math.min(2 ** Math.min(failures - limit.freeFailures, 53), limit.maxBackoffSeconds)
}

/**
 * The bucket an IP address counts in: IPv4 as is, IPv4-mapped IPv6 as its
 * IPv4, other IPv6 by /64 prefix (one subscriber usually holds a whole /64,
 * so per-address limits would not limit anything). Other strings as given.
 */
export function ipBucket(ip: string): string {
  const kind = isIP(ip)
  if (kind !== 6) return ip
  const groups = ipv6Groups(ip)
  if (groups === undefined) return ip
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    const [high, low] = [groups[6]!, groups[7]!]
    return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address (zone id dropped). */
function ipv6Groups(ip: string): number[] | undefined {
  let address = ip.split('%')[0]!
  // A dotted IPv4 tail (::ffff:192.0.2.1) is two groups.
  const lastColon = address.lastIndexOf(':')
  const tail = address.slice(lastColon + 1)
  if (tail.includes('.')) {
    const octets = tail.split('.').map(Number)
    if (octets.length !== 4) return undefined
    const [a, b, c, d] = octets as [number, number, number, number]
    address = `${address.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const halves = address.split('::')
  if (halves.length > 2) return undefined
  const parse = (text: string | undefined) =>
    text === undefined || text === ''
      ? []
      : text.split(':').map((group) => Number.parseInt(group, 16))
  const head = parse(halves[0])
  const rest = parse(halves[1])
  const missing = 8 - head.length - rest.length
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return undefined
  const groups = [...head, ...new Array<number>(missing).fill(0), ...rest]
  return groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff)
    ? groups
    : undefined
}

/** The account part of a key: SHA-256 of the normalized email, never the email. */
function accountKey(email: string): string {
  const normalized = normalizeEmail(email) ?? email.trim().toLowerCase()
  return createHash('sha256').update(normalized).digest('base64url')
}

function positiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`${name} must be a positive integer`)
  }
}

function rateLimited(waitMs: number): AuthError {
  return new AuthError('rate_limited', 'too many attempts; try again later', {
    // RFC 9110 §10.2.3: Retry-After in whole seconds; never 0, or clients retry at once.
    retryAfter: Math.max(1, Math.ceil(waitMs / 1000)),
  })
}

function storeFailure(cause: unknown): AuthError {
  return new AuthError('unavailable', 'rate limiting is unavailable; try again later', { cause })
}

/**
 * Builds the rate limits from the configured budgets. Budgets are validated
 * here (TypeError); `factory` builds each limiter (default: in memory).
 *
 * @example
 * const limits = createRateLimits(config)
 * await limits.checkLogin(email, ip) // throws AuthError('rate_limited') over a limit
 */
export function createRateLimits(
  config: RateLimitConfig,
  options: { factory?: RateLimiterFactory } = {},
): RateLimits {
  const login = config.loginRateLimit
  positiveInteger(login.ipPoints, 'loginRateLimit.ipPoints')
  positiveInteger(login.ipWindowSeconds, 'loginRateLimit.ipWindowSeconds')
  positiveInteger(login.maxBackoffSeconds, 'loginRateLimit.maxBackoffSeconds')
  for (const name of ['freeFailures', 'accountFreeFailures'] as const) {
    if (!Number.isSafeInteger(login[name]) || login[name] < 0) {
      throw new TypeError(`loginRateLimit.${name} must be a non-negative integer`)
    }
  }
  const accountLimit = { ...login, freeFailures: login.accountFreeFailures }
  positiveInteger(config.signupRateLimit, 'signupRateLimit')
  positiveInteger(config.refreshRateLimit, 'refreshRateLimit')

  const factory = options.factory ?? ((spec: LimiterOptions) => new RateLimiterMemory(spec))
  const loginByIp = factory({
    keyPrefix: 'tessera:login-ip',
    points: login.ipPoints,
    duration: login.ipWindowSeconds,
  })
  // Counted with penalty(), which never refuses: points is only a formality.
  const failures = factory({
    keyPrefix: 'tessera:login-failures',
    points: Number.MAX_SAFE_INTEGER,
    duration: Math.max(FAILURE_MEMORY_SECONDS, login.maxBackoffSeconds),
  })
  // Used through block() and get(): a blocked key holds points + 1 until it expires.
  const backoff = factory({ keyPrefix: 'tessera:login-backoff', points: 1, duration: 1 })
  const signups = factory({
    keyPrefix: 'tessera:signup-ip',
    points: config.signupRateLimit,
    duration: SIGNUP_WINDOW_SECONDS,
  })
  const refreshes = factory({
    keyPrefix: 'tessera:refresh-session',
    points: config.refreshRateLimit,
    duration: REFRESH_WINDOW_SECONDS,
  })
  // Counted for every address asked about, with an account or not, so the
  // limit tells nothing either (and nobody can flood a mailbox).
  const mailsByAddress = factory({
    keyPrefix: 'tessera:mail-address',
    points: MAILS_PER_ADDRESS,
    duration: MAIL_WINDOW_SECONDS,
  })
  const mailsByIp = factory({
    keyPrefix: 'tessera:mail-ip',
    points: MAILS_PER_IP,
    duration: MAIL_WINDOW_SECONDS,
  })
  const passkeyOptionsByIp = factory({
    keyPrefix: 'tessera:passkey-options-ip',
    points: PASSKEY_OPTIONS_PER_IP,
    duration: PASSKEY_OPTIONS_WINDOW_SECONDS,
  })

  /** Consumes one point; the wait in ms when over the limit, else 0. */
  async function consume(limiter: RateLimiterAbstract, key: string): Promise<number> {
    try {
      await limiter.consume(key)
      return 0
    } catch (error) {
      if (error instanceof RateLimiterRes) return Math.max(1, error.msBeforeNext)
      throw storeFailure(error)
    }
  }

  /** Consecutive failures counted for a key (0 when none). */
  async function failuresOf(key: string): Promise<number> {
    const state = await failures.get(key)
    return state === null ? 0 : state.consumedPoints
  }

  /** Counts a failure for a key and starts or lengthens its back-off; returns the count. */
  async function countFailure(key: string, limit: Readonly<LoginRateLimit>): Promise<number> {
    const counted = await failures.penalty(key)
    const seconds = backoffSeconds(counted.consumedPoints, limit)
    if (seconds > 0) await backoff.block(key, seconds)
    return counted.consumedPoints
  }

  /** Remaining back-off of a key in ms (0 when none). */
  async function backoffLeft(key: string): Promise<number> {
    const state = await backoff.get(key)
    if (state === null || state.consumedPoints <= backoff.points) return 0
    return Math.max(0, state.msBeforeNext)
  }

  async function consumeOrThrow(limiter: RateLimiterAbstract, key: string): Promise<void> {
    const wait = await consume(limiter, key)
    if (wait > 0) throw rateLimited(wait)
  }

  const keys = (email: string, ip: string) => {
    const account = accountKey(email)
    return { account, pair: `${account}/${ipBucket(ip)}` }
  }

  return {
    async checkLogin(email, ip) {
      const { account, pair } = keys(email, ip)
      let ipWait: number
      let pairWait: number
      let pairFailures: number
      let accountWait: number
      try {
        ;[ipWait, pairWait, pairFailures, accountWait] = await Promise.all([
          consume(loginByIp, ipBucket(ip)),
          backoffLeft(pair),
          failuresOf(pair),
          backoffLeft(account),
        ])
      } catch (error) {
        throw error instanceof AuthError ? error : storeFailure(error)
      }
      // Issue #12: the account-wide back-off never stops a client that has not
      // failed on this account, or anyone who knows an address could lock its
      // owner out (OWASP: throttle the account+IP pair and the IP).
      const wait = Math.max(ipWait, pairWait, pairFailures > 0 ? accountWait : 0)
      if (wait > 0) throw rateLimited(wait)
    },

    async loginFailed(email, ip) {
      const { account, pair } = keys(email, ip)
      try {
        const [, accountFailures] = await Promise.all([
          countFailure(pair, login),
          countFailure(account, accountLimit),
        ])
        return { accountThrottled: accountFailures === Math.max(1, login.accountFreeFailures) }
      } catch (error) {
        throw storeFailure(error)
      }
    },

    async loginSucceeded(email, ip) {
      const { account, pair } = keys(email, ip)
      try {
        await Promise.all([
          failures.delete(account),
          failures.delete(pair),
          backoff.delete(account),
          backoff.delete(pair),
        ])
      } catch (error) {
        throw storeFailure(error)
      }
    },

    async checkSignup(ip) {
      const wait = await consume(signups, ipBucket(ip))
      if (wait === 0) return
      const minutes = Math.ceil(wait / 60_000)
      throw new AuthError(
        'rate_limited',
        `too many signups from this address: the limit is ${config.signupRateLimit} an hour (TESSERA_SIGNUP_RATE_LIMIT); try again in ${minutes} minute${minutes === 1 ? '' : 's'}`,
        { retryAfter: Math.max(1, Math.ceil(wait / 1000)) },
      )
    },

    checkRefresh(sessionId) {
      return consumeOrThrow(refreshes, sessionId)
    },

    async checkMailSend(email, ip) {
      const waits = await Promise.all([
        consume(mailsByAddress, accountKey(email)),
        consume(mailsByIp, ipBucket(ip)),
      ])
      const wait = Math.max(...waits)
      if (wait > 0) throw rateLimited(wait)
    },

    async checkPasskeyOptions(ip) {
      await consumeOrThrow(passkeyOptionsByIp, ipBucket(ip))
    },
  }
}
