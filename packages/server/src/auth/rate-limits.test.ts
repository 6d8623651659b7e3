import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, mock, test } from 'node:test'
import { RateLimiterMemory } from 'rate-limiter-flexible'
import type { LoginRateLimit } from '../config/types.ts'
import { AuthError } from './errors.ts'
import {
  backoffSeconds,
  createRateLimits,
  ipBucket,
  type LimiterOptions,
  type RateLimitConfig,
} from './rate-limits.ts'

// rate-limiter-flexible reads Date.now() and sets timers: mock both and move time.
beforeEach(() => mock.timers.enable({ apis: ['Date', 'setTimeout'], now: 1_000_000 }))
afterEach(() => mock.timers.reset())
const advance = (seconds: number) => mock.timers.tick(seconds * 1000)

const LOGIN: LoginRateLimit = {
  ipPoints: 100,
  ipWindowSeconds: 900,
  freeFailures: 3,
  accountFreeFailures: 10,
  maxBackoffSeconds: 8,
}
const config = (
  login: Partial<LoginRateLimit> = {},
  rest: Partial<RateLimitConfig> = {},
): RateLimitConfig => ({
  loginRateLimit: { ...LOGIN, ...login },
  signupRateLimit: 20,
  refreshRateLimit: 60,
  ...rest,
})

const EMAIL = 'victim@example.com'
const ATTACKER = '203.0.113.66'
const USER = '198.51.100.7'

/** Awaits `run`, expects rate_limited, returns retryAfter. */
async function limited(run: () => Promise<void>): Promise<number> {
  try {
    await run()
  } catch (error) {
    assert.ok(error instanceof AuthError, String(error))
    assert.equal(error.code, 'rate_limited')
    assert.ok(
      Number.isInteger(error.retryAfter) && error.retryAfter! >= 1,
      `retryAfter ${error.retryAfter}`,
    )
    assert.ok(!error.message.includes(EMAIL))
    return error.retryAfter!
  }
  assert.fail('expected rate_limited')
}

describe('login back-off', () => {
  test('free failures, then 1 s, 2 s, 4 s, … capped at maxBackoff', async () => {
    const limits = createRateLimits(config())
    const waits: number[] = []
    for (let attempt = 1; attempt <= 7; attempt++) {
      await limits.checkLogin(EMAIL, ATTACKER)
      await limits.loginFailed(EMAIL, ATTACKER)
      if (attempt < 3) {
        await limits.checkLogin(EMAIL, ATTACKER)
        waits.push(0)
        continue
      }
      const wait = await limited(() => limits.checkLogin(EMAIL, ATTACKER))
      waits.push(wait)
      // Still blocked just before the back-off ends, free just after.
      advance(wait - 0.5)
      await limited(() => limits.checkLogin(EMAIL, ATTACKER))
      advance(0.5)
    }
    assert.deepEqual(waits, [0, 0, 1, 2, 4, 8, 8])
  })

  test('backoffSeconds follows 2^(failures - freeFailures) and the cap', () => {
    const limit = { ...LOGIN, freeFailures: 5, maxBackoffSeconds: 900 }
    assert.deepEqual(
      [4, 5, 6, 7, 8, 14, 15, 1000].map((failures) => backoffSeconds(failures, limit)),
      [0, 1, 2, 4, 8, 512, 900, 900],
    )
    assert.equal(backoffSeconds(1, { ...limit, freeFailures: 0 }), 2)
  })

  test('Retry-After counts down with time', async () => {
    const limits = createRateLimits(config({ freeFailures: 0, maxBackoffSeconds: 900 }))
    for (let i = 0; i < 5; i++) await limits.loginFailed(EMAIL, ATTACKER)
    assert.equal(await limited(() => limits.checkLogin(EMAIL, ATTACKER)), 32)
    advance(10.2)
    assert.equal(await limited(() => limits.checkLogin(EMAIL, ATTACKER)), 22)
    advance(21.7)
    assert.equal(await limited(() => limits.checkLogin(EMAIL, ATTACKER)), 1)
    advance(0.1)
    await limits.checkLogin(EMAIL, ATTACKER)
  })

  test('a success resets the consecutive failures', async () => {
    const limits = createRateLimits(config())
    for (let i = 0; i < 2; i++) await limits.loginFailed(EMAIL, USER)
    await limits.loginSucceeded(EMAIL, USER)
    // Two more failures are free again (without the reset the second would block).
    for (let i = 0; i < 2; i++) await limits.loginFailed(EMAIL, USER)
    await limits.checkLogin(EMAIL, USER)
    await limits.loginFailed(EMAIL, USER)
    assert.equal(await limited(() => limits.checkLogin(EMAIL, USER)), 1)
  })

  test('failures from another IP never stop the owner (issue #12: no lockout by strangers)', async () => {
    const limits = createRateLimits(config({ maxBackoffSeconds: 900 }))
    // One failure every 15 minutes used to keep the account closed for good;
    // a burst is worse. Neither touches a client with no failures of its own.
    for (let i = 0; i < 9; i++) await limits.loginFailed(EMAIL, ATTACKER)
    await limited(() => limits.checkLogin(EMAIL, ATTACKER))
    await limits.checkLogin(EMAIL, USER)
    for (let i = 0; i < 8; i++) {
      advance(900)
      await limits.loginFailed(EMAIL, ATTACKER)
      await limits.checkLogin(EMAIL, USER)
    }
    await limits.loginSucceeded(EMAIL, USER)
    // The attacker's own account+IP streak keeps growing after the owner's success.
    await limits.loginFailed(EMAIL, ATTACKER)
    await limited(() => limits.checkLogin(EMAIL, ATTACKER))
  })

  test('the account-wide count slows every client that failed on it, past a much higher threshold', async () => {
    const limits = createRateLimits(config({ maxBackoffSeconds: 900 }))
    // A botnet: ten addresses, one guess each, under every per-pair threshold.
    const bots = Array.from({ length: 10 }, (_, i) => `203.0.113.${i + 1}`)
    const throttled: boolean[] = []
    for (const bot of bots) {
      await limits.checkLogin(EMAIL, bot)
      throttled.push((await limits.loginFailed(EMAIL, bot)).accountThrottled)
    }
    // The tenth failure (accountFreeFailures) starts the account-wide back-off, once.
    assert.deepEqual(
      throttled,
      bots.map((_, i) => i === 9),
    )
    // Every address that failed now waits; one that never failed (the owner's) does not.
    for (const bot of bots) await limited(() => limits.checkLogin(EMAIL, bot))
    await limits.checkLogin(EMAIL, USER)
    // A new bot gets its one guess, then waits account-wide.
    await limits.checkLogin(EMAIL, '203.0.113.99')
    await limits.loginFailed(EMAIL, '203.0.113.99')
    await limited(() => limits.checkLogin(EMAIL, '203.0.113.99'))
    // The owner's success ends the account-wide back-off.
    await limits.loginSucceeded(EMAIL, USER)
    await limits.checkLogin(EMAIL, bots[0]!)
  })

  test('failures on one account do not touch another', async () => {
    const limits = createRateLimits(config())
    for (let i = 0; i < 6; i++) await limits.loginFailed(EMAIL, ATTACKER)
    await limits.checkLogin('someone.else@example.com', ATTACKER)
    await limited(() => limits.checkLogin(EMAIL, ATTACKER))
  })

  test('the account key is the normalized email', async () => {
    const limits = createRateLimits(config())
    for (let i = 0; i < 3; i++) await limits.loginFailed('  Victim@EXAMPLE.com', ATTACKER)
    await limited(() => limits.checkLogin(EMAIL, ATTACKER))
  })

  test('failure counters are forgotten after a day', async () => {
    const limits = createRateLimits(config())
    for (let i = 0; i < 2; i++) await limits.loginFailed(EMAIL, USER)
    advance(86_400)
    await limits.loginFailed(EMAIL, USER)
    await limits.checkLogin(EMAIL, USER)
  })
})

describe('login IP ceiling', () => {
  test('counts every attempt from an IP, whatever the account, and resets with its window', async () => {
    const limits = createRateLimits(config({ ipPoints: 3, ipWindowSeconds: 60 }))
    await limits.checkLogin('a@example.com', ATTACKER)
    await limits.checkLogin('b@example.com', ATTACKER)
    advance(15)
    await limits.checkLogin('c@example.com', ATTACKER)
    assert.equal(await limited(() => limits.checkLogin('d@example.com', ATTACKER)), 45)
    // Other IPs and the accounts themselves are unaffected.
    await limits.checkLogin('d@example.com', USER)
    advance(45)
    await limits.checkLogin('d@example.com', ATTACKER)
  })

  test('successes count too, and do not refund the ceiling', async () => {
    const limits = createRateLimits(config({ ipPoints: 2, ipWindowSeconds: 60 }))
    for (let i = 0; i < 2; i++) {
      await limits.checkLogin(EMAIL, USER)
      await limits.loginSucceeded(EMAIL, USER)
    }
    await limited(() => limits.checkLogin(EMAIL, USER))
  })

  test('the longer of the IP window and the account back-off is reported', async () => {
    const limits = createRateLimits(
      config({ ipPoints: 1, ipWindowSeconds: 60, freeFailures: 0, maxBackoffSeconds: 900 }),
    )
    await limits.checkLogin(EMAIL, ATTACKER)
    for (let i = 0; i < 8; i++) await limits.loginFailed(EMAIL, ATTACKER)
    assert.equal(await limited(() => limits.checkLogin(EMAIL, ATTACKER)), 256)
  })

  test('IPv6 clients count per /64; IPv4-mapped addresses as IPv4', async () => {
    assert.equal(ipBucket('2001:db8:1:2::1'), '2001:db8:1:2::/64')
    assert.equal(ipBucket('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64')
    assert.equal(ipBucket('2001:db8::1'), '2001:db8:0:0::/64')
    assert.equal(ipBucket('::1'), '0:0:0:0::/64')
    assert.equal(ipBucket('fe80::1%eth0'), 'fe80:0:0:0::/64')
    assert.equal(ipBucket('::ffff:192.0.2.1'), '192.0.2.1')
    assert.equal(ipBucket('::ffff:c000:0201'), '192.0.2.1')
    assert.equal(ipBucket('192.0.2.1'), '192.0.2.1')
    assert.equal(ipBucket('unknown'), 'unknown')

    const limits = createRateLimits(config({ ipPoints: 2 }))
    await limits.checkLogin('a@example.com', '2001:db8:1:2::1')
    await limits.checkLogin('b@example.com', '2001:db8:1:2:aaaa::9')
    await limited(() => limits.checkLogin('c@example.com', '2001:db8:1:2:bbbb::7'))
    await limits.checkLogin('c@example.com', '2001:db8:1:3::1')
  })
})

describe('signup and refresh', () => {
  test('signups per IP per hour', async () => {
    const limits = createRateLimits(config({}, { signupRateLimit: 2 }))
    await limits.checkSignup(USER)
    advance(600)
    await limits.checkSignup(USER)
    assert.equal(await limited(() => limits.checkSignup(USER)), 3000)
    // Not the login message: it names the limit, its variable and the wait (issue #13).
    await assert.rejects(limits.checkSignup(USER), {
      message:
        'too many signups from this address: the limit is 2 an hour (TESSERA_SIGNUP_RATE_LIMIT); try again in 50 minutes',
    })
    await limits.checkSignup(ATTACKER)
    advance(3000)
    await limits.checkSignup(USER)
  })

  test('refreshes per session per minute', async () => {
    const limits = createRateLimits(config({}, { refreshRateLimit: 3 }))
    for (let i = 0; i < 3; i++) await limits.checkRefresh('session-1')
    assert.equal(await limited(() => limits.checkRefresh('session-1')), 60)
    await limits.checkRefresh('session-2')
    advance(59.5)
    assert.equal(await limited(() => limits.checkRefresh('session-1')), 1)
    advance(0.5)
    await limits.checkRefresh('session-1')
  })
})

describe('factory', () => {
  test('builds every limiter through the factory, with email-free keys', async () => {
    const built: LimiterOptions[] = []
    const limiters: RateLimiterMemory[] = []
    const limits = createRateLimits(config(), {
      factory: (options) => {
        built.push(options)
        const limiter = new RateLimiterMemory(options)
        limiters.push(limiter)
        return limiter
      },
    })
    assert.deepEqual(
      built.map((options) => options.keyPrefix),
      [
        'tessera:login-ip',
        'tessera:login-failures',
        'tessera:login-backoff',
        'tessera:signup-ip',
        'tessera:refresh-session',
        'tessera:mail-address',
        'tessera:mail-ip',
        'tessera:passkey-options-ip',
      ],
    )
    assert.deepEqual(built[0], { keyPrefix: 'tessera:login-ip', points: 100, duration: 900 })
    await limits.checkLogin(EMAIL, ATTACKER)
    for (let i = 0; i < 10; i++) await limits.loginFailed(EMAIL, ATTACKER)
    const keys = limiters.flatMap((limiter) =>
      limiter.dump().storage.map((entry) => String(entry.key)),
    )
    assert.ok(keys.length >= 5, keys.join(' '))
    for (const key of keys) assert.ok(!key.toLowerCase().includes('victim'), key)
  })

  test('a failing store becomes AuthError unavailable', async () => {
    const broken = (options: LimiterOptions) => {
      const limiter = new RateLimiterMemory(options)
      const fail = () => Promise.reject(new Error('store down'))
      limiter.consume = fail
      limiter.get = fail
      limiter.penalty = fail
      limiter.delete = fail
      return limiter
    }
    const limits = createRateLimits(config(), { factory: broken })
    for (const run of [
      () => limits.checkLogin(EMAIL, USER),
      () => limits.loginFailed(EMAIL, USER),
      () => limits.loginSucceeded(EMAIL, USER),
      () => limits.checkSignup(USER),
      () => limits.checkRefresh('s'),
    ]) {
      await assert.rejects(
        run,
        (error: unknown) => error instanceof AuthError && error.code === 'unavailable',
      )
    }
  })

  test('invalid budgets are refused at creation', () => {
    assert.throws(() => createRateLimits(config({ ipPoints: 0 })), TypeError)
    assert.throws(() => createRateLimits(config({ freeFailures: -1 })), TypeError)
    assert.throws(() => createRateLimits(config({}, { refreshRateLimit: 1.5 })), TypeError)
  })
})
