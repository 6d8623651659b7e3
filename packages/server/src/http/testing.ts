// An in-memory AuthService for testing the HTTP layer in isolation: wiring,
// status codes, headers, cookies, CSRF, schemas and error mapping. It follows
// the documented behaviour of the interface in auth/types.ts (rotation with a
// grace window and reuse detection, revocation of sessions and of older
// access tokens, not_found for foreign sessions, invalid_credentials for an
// unknown email and a wrong password alike, a login back-off) but none of its
// security: tokens are random strings looked up in maps and passwords are
// compared as SHA-256 digests. Never wire it into a server.

import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { AuthError } from '../auth/errors.ts'
import type {
  AccessContext,
  AccessTokenClaims,
  AuditView,
  AuthResult,
  AuthService,
  ClientInfo,
  KeyView,
  PublicUser,
  SessionView,
} from '../auth/types.ts'
import { adminUser, iso, publicUser } from '../auth/views.ts'
import type { Config } from '../config/types.ts'
import type { RevocationEntry, StoredRevocation } from '../storage/ports.ts'
import { type BuildAppDeps, buildApp } from './app.ts'

/**
 * A complete Config for HTTP tests (issuer http://localhost:3000, silent
 * logs, Secure cookies), with `overrides` applied; frozen like loadConfig's.
 */
export function createTestConfig(overrides: Partial<Config> = {}): Config {
  return Object.freeze({
    production: false,
    host: '127.0.0.1',
    port: 3000,
    issuer: 'http://localhost:3000',
    audience: 'http://localhost:3000',
    dataDir: './data',
    databaseUrl: 'sqlite::memory:',
    redisUrl: undefined,
    masterKey: undefined,
    signingAlg: 'ES256',
    hsSecrets: [],
    accessTokenTtl: 900,
    refreshTokenTtl: 30 * 86_400,
    refreshIdleTtl: 7 * 86_400,
    refreshReuseGrace: 10,
    keyRotationInterval: 30 * 86_400,
    auditRetention: 90 * 86_400,
    allowedOrigins: ['http://localhost:3000'],
    loginRateLimit: {
      ipPoints: 100,
      ipWindowSeconds: 60,
      freeFailures: 5,
      accountFreeFailures: 50,
      maxBackoffSeconds: 900,
    },
    signupRateLimit: 20,
    refreshRateLimit: 30,
    logLevel: 'silent',
    cookieSecure: true,
    accessTokenEmail: false,
    signupEnabled: true,
    trustProxy: 0,
    requestTimeout: 30,
    headersTimeout: 10,
    keepAliveTimeout: 72,
    revocationFeedKey: undefined,
    pagesEnabled: true,
    brandName: 'Tessera',
    brandColor: '#2f54c6',
    brandLogoUrl: undefined,
    ...overrides,
  })
}

/** Knobs of the double; every duration is in seconds. */
export interface AuthServiceDoubleOptions {
  /** Epoch ms; defaults to a fixed clock that `advance()` moves. */
  now?: () => number
  issuer?: string
  accessTokenTtl?: number
  refreshTokenTtl?: number
  refreshReuseGrace?: number
  /** Consecutive failed logins per email before `rate_limited`. */
  loginFreeFailures?: number
}

/** A user to seed the double with. */
export interface SeedUser {
  email: string
  password: string
  name?: string | null
  roles?: string[]
  disabled?: boolean
}

/** The AuthService plus what tests need to drive and inspect it. */
export interface AuthServiceDouble extends AuthService {
  /** Increases on every change of state; unchanged means "nothing happened". */
  revision(): number
  /** Names of the AuthService methods called, in order. */
  readonly calls: string[]
  /** The ClientInfo of the last call that took one. */
  lastClient(): ClientInfo | null
  /** Moves the default clock forward (no effect with an injected `now`). */
  advance(seconds: number): void
  /** Adds a user directly (no policy checks) and returns it. */
  seedUser(user: SeedUser): PublicUser
  /** Logs a seeded user in without going through `login` (no call recorded). */
  issueTokens(email: string): AuthResult
  /** The JWKS `jwks()` returns; tests may replace it. */
  jwksKeys: Record<string, unknown>[]
  /** When set, every method throws it (for unexpected-failure tests). */
  failWith: Error | undefined
  /**
   * Stores revocation entries (ids continue from the last one) and hands
   * them to the `watchRevocations` listeners, as the real list does for
   * its own additions. Returns them as stored.
   */
  addRevocations(entries: RevocationEntry[]): StoredRevocation[]
  /**
   * Hands entries to the listeners without storing them: what another
   * instance's fan-out looks like (any ids, repeats included).
   */
  announceRevocations(entries: readonly StoredRevocation[]): void
  /** How many `watchRevocations` listeners are subscribed now. */
  revocationWatchers(): number
  /**
   * When set, `revocationsSince` awaits it before reading, with the
   * arguments it was called with: lets a test act in the middle of a read.
   */
  beforeRevocationsSince: ((since: number, limit: number) => Promise<void>) | undefined
}

interface UserRow {
  id: string
  email: string
  name: string | null
  passwordDigest: string
  roles: string[]
  createdAt: number
  updatedAt: number
  disabled: boolean
}

interface SessionRow {
  id: string
  userId: string
  createdAt: number
  lastUsedAt: number
  expiresAt: number
  userAgent: string | null
  ip: string | null
  revokedAt: number | null
}

interface RefreshRow {
  sessionId: string
  expiresAt: number
  usedAt: number | null
  successor: AuthResult | null
}

interface AccessRow {
  sessionId: string
  userId: string
  issuedAtMs: number
  claims: AccessTokenClaims
}

const COMMON_PASSWORDS = new Set(['password', 'password1', '12345678', '123456789', 'qwertyui'])
const EMAIL_SHAPE = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u

function digest(password: string): string {
  return createHash('sha256').update(password).digest('base64url')
}

function randomToken(): string {
  return randomBytes(32).toString('base64url')
}

function invalid(path: string, message: string): AuthError {
  return new AuthError('validation_failed', 'the request is invalid', {
    details: { issues: [{ path, message }] },
  })
}

function checkPasswordPolicy(password: string, path: string): void {
  // NIST SP 800-63B §5.1.1.2: at least 8 characters, counted as code points.
  const length = [...password].length
  if (length < 8) throw invalid(path, 'must be at least 8 characters long')
  if (length > 1024) throw invalid(path, 'must be at most 1024 characters long')
  if (COMMON_PASSWORDS.has(password.toLowerCase())) {
    throw invalid(path, 'this password is too common')
  }
}

function normalizeEmail(email: string): string {
  const normalized = email.trim().toLowerCase()
  if (!EMAIL_SHAPE.test(normalized) || normalized.length > 254) {
    throw invalid('/email', 'must be an email address')
  }
  return normalized
}

function defaultJwks(): Record<string, unknown>[] {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>
  return [{ ...jwk, kid: 'double-key-1', alg: 'ES256', use: 'sig' }]
}

/**
 * Creates the in-memory double.
 *
 * @example
 * const auth = createAuthServiceDouble()
 * auth.seedUser({ email: 'a@example.com', password: 'correct horse', roles: ['admin'] })
 * const app = await buildApp({ config, auth, readiness: async () => {} })
 */
export function createAuthServiceDouble(options: AuthServiceDoubleOptions = {}): AuthServiceDouble {
  let clock = Date.UTC(2025, 0, 1)
  const now = options.now ?? (() => clock)
  const issuer = options.issuer ?? 'http://localhost:3000'
  const accessTtl = options.accessTokenTtl ?? 900
  const refreshTtl = options.refreshTokenTtl ?? 30 * 86_400
  const grace = options.refreshReuseGrace ?? 10
  const freeFailures = options.loginFreeFailures ?? 5

  const users = new Map<string, UserRow>()
  const sessions = new Map<string, SessionRow>()
  const refreshTokens = new Map<string, RefreshRow>()
  const accessTokens = new Map<string, AccessRow>()
  const revokedBefore = new Map<string, number>()
  const failures = new Map<string, number>()
  const audit: AuditView[] = []
  const revocationLog: StoredRevocation[] = []
  const revocationListeners = new Set<(entries: readonly StoredRevocation[]) => void>()
  const keys: KeyView[] = [
    {
      kid: 'double-key-1',
      alg: 'ES256',
      state: 'current',
      createdAt: iso(now()),
      activatesAt: iso(now()),
      retiresAt: null,
      expiresAt: null,
    },
  ]
  let revision = 0
  let lastClient: ClientInfo | null = null
  const calls: string[] = []

  function touch(): void {
    revision += 1
  }

  function enter(method: string, client?: ClientInfo): void {
    calls.push(method)
    if (client !== undefined) lastClient = client
    if (double.failWith !== undefined) throw double.failWith
  }

  function record(
    event: string,
    userId: string | null,
    sessionId: string | null,
    ip: string | null,
  ) {
    audit.push({ id: audit.length + 1, at: iso(now()), event, userId, sessionId, ip, details: {} })
  }

  function findByEmail(email: string): UserRow | undefined {
    for (const user of users.values()) if (user.email === email) return user
    return undefined
  }

  function sessionAlive(session: SessionRow | undefined): session is SessionRow {
    return session !== undefined && session.revokedAt === null && session.expiresAt > now()
  }

  function revokeSession(session: SessionRow): void {
    if (session.revokedAt === null) {
      session.revokedAt = now()
      touch()
    }
  }

  function issueFor(user: UserRow, session: SessionRow): AuthResult {
    const issuedAtMs = now()
    const iat = Math.floor(issuedAtMs / 1000)
    const accessToken = `${randomToken()}.${randomToken()}`
    const claims: AccessTokenClaims = {
      iss: issuer,
      sub: user.id,
      aud: issuer,
      iat,
      exp: iat + accessTtl,
      jti: randomUUID(),
      sid: session.id,
      roles: [...user.roles],
    }
    accessTokens.set(accessToken, { sessionId: session.id, userId: user.id, issuedAtMs, claims })
    const refreshToken = randomToken()
    const refreshExpiresAt = Math.min(session.expiresAt, issuedAtMs + refreshTtl * 1000)
    refreshTokens.set(refreshToken, {
      sessionId: session.id,
      expiresAt: refreshExpiresAt,
      usedAt: null,
      successor: null,
    })
    touch()
    return {
      user: publicUser(user),
      sessionId: session.id,
      tokens: {
        accessToken,
        tokenType: 'Bearer',
        expiresIn: accessTtl,
        refreshToken,
        refreshExpiresIn: Math.floor((refreshExpiresAt - issuedAtMs) / 1000),
      },
    }
  }

  function openSession(user: UserRow, client: ClientInfo): AuthResult {
    const session: SessionRow = {
      id: randomUUID(),
      userId: user.id,
      createdAt: now(),
      lastUsedAt: now(),
      expiresAt: now() + refreshTtl * 1000,
      userAgent: client.userAgent,
      ip: client.ip,
      revokedAt: null,
    }
    sessions.set(session.id, session)
    return issueFor(user, session)
  }

  function userOf(access: AccessContext): UserRow {
    const user = users.get(access.userId)
    if (user === undefined || user.disabled) {
      throw new AuthError('token_revoked', 'the access token has been revoked')
    }
    return user
  }

  function insertUser(seed: SeedUser, email: string): UserRow {
    const user: UserRow = {
      id: randomUUID(),
      email,
      name: seed.name ?? null,
      passwordDigest: digest(seed.password),
      roles: [...(seed.roles ?? [])],
      createdAt: now(),
      updatedAt: now(),
      disabled: seed.disabled ?? false,
    }
    users.set(user.id, user)
    touch()
    return user
  }

  const double: AuthServiceDouble = {
    calls,
    jwksKeys: defaultJwks(),
    failWith: undefined,

    revision: () => revision,
    lastClient: () => lastClient,
    advance(seconds) {
      clock += seconds * 1000
    },
    seedUser(seed) {
      return publicUser(insertUser(seed, seed.email.trim().toLowerCase()))
    },
    issueTokens(email) {
      const user = findByEmail(email.trim().toLowerCase())
      if (user === undefined) throw new Error(`no seeded user ${email}`)
      return openSession(user, { ip: null, userAgent: null })
    },

    async signup(input, client) {
      enter('signup', client)
      const email = normalizeEmail(input.email)
      checkPasswordPolicy(input.password, '/password')
      if (findByEmail(email) !== undefined) {
        throw new AuthError('email_taken', 'an account with this email already exists')
      }
      const user = insertUser({ ...input, name: input.name ?? null }, email)
      record('signup', user.id, null, client.ip)
      return openSession(user, client)
    },

    async login(input, client) {
      enter('login', client)
      const email = input.email.trim().toLowerCase()
      const failed = failures.get(email) ?? 0
      if (failed >= freeFailures) {
        throw new AuthError('rate_limited', 'too many failed attempts; try again later', {
          retryAfter: Math.min(2 ** (failed - freeFailures + 1), 900),
        })
      }
      const user = findByEmail(email)
      if (user === undefined || user.disabled || user.passwordDigest !== digest(input.password)) {
        failures.set(email, failed + 1)
        touch()
        throw new AuthError('invalid_credentials', 'email or password is incorrect')
      }
      if (failures.delete(email)) touch()
      record('login', user.id, null, client.ip)
      return openSession(user, client)
    },

    async refresh(refreshToken, client) {
      enter('refresh', client)
      const row = refreshTokens.get(refreshToken)
      const session = row === undefined ? undefined : sessions.get(row.sessionId)
      if (row === undefined || row.expiresAt <= now() || !sessionAlive(session)) {
        throw new AuthError('invalid_refresh_token', 'the refresh token is invalid or expired')
      }
      if (row.usedAt !== null) {
        if (now() - row.usedAt <= grace * 1000 && row.successor !== null) return row.successor
        revokeSession(session)
        record('refresh_token_reused', session.userId, session.id, client.ip)
        throw new AuthError('refresh_token_reused', 'the refresh token was already used')
      }
      const user = users.get(session.userId)
      if (user === undefined || user.disabled) {
        throw new AuthError('invalid_refresh_token', 'the refresh token is invalid or expired')
      }
      row.usedAt = now()
      session.lastUsedAt = now()
      row.successor = issueFor(user, session)
      return row.successor
    },

    async logout(by, client) {
      enter('logout', client)
      if (by.access !== undefined) {
        const session = sessions.get(by.access.sessionId)
        if (session !== undefined) revokeSession(session)
        return
      }
      if (by.refreshToken === undefined) {
        throw new AuthError('missing_token', 'an access or refresh token is required')
      }
      // Like RFC 7009 §2.2: an unknown or expired token is not an error.
      const row = refreshTokens.get(by.refreshToken)
      const session = row === undefined ? undefined : sessions.get(row.sessionId)
      if (session !== undefined) revokeSession(session)
    },

    async logoutAll(access, client) {
      enter('logoutAll', client)
      for (const session of sessions.values()) {
        if (session.userId === access.userId) revokeSession(session)
      }
      revokedBefore.set(access.userId, now() + 1)
      touch()
    },

    async me(access) {
      enter('me')
      return publicUser(userOf(access))
    },

    async listSessions(access) {
      enter('listSessions')
      const views: SessionView[] = []
      for (const session of sessions.values()) {
        if (session.userId !== access.userId || !sessionAlive(session)) continue
        views.push({
          id: session.id,
          createdAt: iso(session.createdAt),
          lastUsedAt: iso(session.lastUsedAt),
          expiresAt: iso(session.expiresAt),
          userAgent: session.userAgent,
          ip: session.ip,
          current: session.id === access.sessionId,
        })
      }
      return views
    },

    async revokeSession(access, sessionId, client) {
      enter('revokeSession', client)
      const session = sessions.get(sessionId)
      if (!sessionAlive(session) || session.userId !== access.userId) {
        throw new AuthError('not_found', 'no such session')
      }
      revokeSession(session)
    },

    async changePassword(access, input, client) {
      enter('changePassword', client)
      const user = userOf(access)
      if (user.passwordDigest !== digest(input.currentPassword)) {
        throw new AuthError('invalid_credentials', 'the current password is incorrect')
      }
      checkPasswordPolicy(input.newPassword, '/newPassword')
      user.passwordDigest = digest(input.newPassword)
      user.updatedAt = now()
      for (const session of sessions.values()) {
        if (session.userId === user.id && session.id !== access.sessionId) revokeSession(session)
      }
      touch()
    },

    authenticate(token) {
      enter('authenticate')
      const row = accessTokens.get(token)
      if (row === undefined) throw new AuthError('invalid_token', 'the access token is invalid')
      if (row.claims.exp * 1000 <= now()) {
        throw new AuthError('token_expired', 'the access token has expired')
      }
      const session = sessions.get(row.sessionId)
      const before = revokedBefore.get(row.userId)
      if (session?.revokedAt != null || (before !== undefined && row.issuedAtMs < before)) {
        throw new AuthError('token_revoked', 'the access token has been revoked')
      }
      return {
        token,
        claims: row.claims,
        userId: row.userId,
        sessionId: row.sessionId,
        roles: row.claims.roles,
      }
    },

    async adminListUsers(query) {
      enter('adminListUsers')
      const email = query.email?.trim().toLowerCase()
      return [...users.values()]
        .filter((user) => email === undefined || user.email === email)
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .filter((user) => query.after === undefined || user.id > query.after)
        .slice(0, query.limit)
        .map(adminUser)
    },

    async adminUpdateUser(actor, userId, patch, client) {
      enter('adminUpdateUser', client)
      const user = users.get(userId)
      if (user === undefined) throw new AuthError('not_found', 'no such user')
      if (patch.roles !== undefined) {
        user.roles = [...patch.roles]
        revokedBefore.set(user.id, now() + 1)
      }
      if (patch.disabled !== undefined) {
        user.disabled = patch.disabled
        if (patch.disabled) {
          for (const session of sessions.values()) {
            if (session.userId === user.id) revokeSession(session)
          }
        }
      }
      if (patch.name !== undefined) user.name = patch.name
      user.updatedAt = now()
      record('admin_update_user', user.id, actor.sessionId, client.ip)
      touch()
      return adminUser(user)
    },

    async adminRotateKeys(actor, client) {
      enter('adminRotateKeys', client)
      keys.push({
        kid: `double-key-${keys.length + 1}`,
        alg: 'ES256',
        state: 'next',
        createdAt: iso(now()),
        activatesAt: iso(now() + 3_600_000),
        retiresAt: null,
        expiresAt: null,
      })
      record('keys_rotated', actor.userId, actor.sessionId, client.ip)
      touch()
      return keys.map((key) => ({ ...key }))
    },

    adminListKeys() {
      enter('adminListKeys')
      return keys.map((key) => ({ ...key }))
    },

    async adminAudit(query) {
      enter('adminAudit')
      return audit
        .filter((entry) => query.before === undefined || entry.id < query.before)
        .filter((entry) => query.userId === undefined || entry.userId === query.userId)
        .filter((entry) => query.event === undefined || entry.event === query.event)
        .sort((a, b) => b.id - a.id)
        .slice(0, query.limit)
    },

    jwks() {
      enter('jwks')
      return { keys: double.jwksKeys }
    },

    beforeRevocationsSince: undefined,
    addRevocations(entries) {
      const stored = entries.map(
        (entry, index): StoredRevocation => ({
          ...entry,
          id: (revocationLog.at(-1)?.id ?? 0) + index + 1,
          createdAt: now(),
        }),
      )
      revocationLog.push(...stored)
      touch()
      double.announceRevocations(stored)
      return stored
    },
    announceRevocations(entries) {
      for (const listener of [...revocationListeners]) listener(entries)
    },
    revocationWatchers: () => revocationListeners.size,

    async revocationsSince(since, limit) {
      enter('revocationsSince')
      await double.beforeRevocationsSince?.(since, limit)
      // Like the store: unexpired entries after the cursor, in id order.
      return revocationLog
        .filter((entry) => entry.id > since && entry.expiresAt > now())
        .slice(0, limit)
        .map((entry) => ({ ...entry }))
    },
    watchRevocations(listener) {
      enter('watchRevocations')
      // A new function per call, so one listener subscribed twice is two.
      const subscribed = (entries: readonly StoredRevocation[]) => listener(entries)
      revocationListeners.add(subscribed)
      return () => {
        revocationListeners.delete(subscribed)
      }
    },
  }
  return double
}

/** An app over a fresh double, for HTTP tests. */
export interface TestApp {
  readonly app: FastifyInstance
  readonly auth: AuthServiceDouble
  readonly config: Config
}

/**
 * Builds the app over a new double and a test config (metrics off unless
 * asked for, readiness always fine unless given).
 *
 * @example
 * const { app, auth } = await createTestApp({ config: { signupEnabled: false } })
 */
export async function createTestApp(
  options: {
    config?: Partial<Config>
    double?: AuthServiceDoubleOptions
    readiness?: () => Promise<void>
    metrics?: BuildAppDeps['metrics']
    logger?: BuildAppDeps['logger']
    revocationFeed?: BuildAppDeps['revocationFeed']
  } = {},
): Promise<TestApp> {
  const config = createTestConfig(options.config)
  const auth = createAuthServiceDouble({ issuer: config.issuer, ...options.double })
  const app = await buildApp({
    config,
    auth,
    readiness: options.readiness ?? (async () => {}),
    metrics: options.metrics ?? false,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.revocationFeed === undefined ? {} : { revocationFeed: options.revocationFeed }),
  })
  return { app, auth, config }
}

/** One dispatched Server-Sent Event, as a feed test sees it. */
export interface SseEvent {
  /** The block's own `id:` field (undefined without one). */
  id: string | undefined
  /** `message` when the block has no `event:` field. */
  event: string
  data: string
}

/** An HTTP response read as it arrives: for tests of the revocation feed. */
export interface EventStreamReader {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  /** Everything received so far, as text. */
  text(): string
  /** The events of the complete blocks received so far (comments and `retry` dispatch nothing). */
  events(): SseEvent[]
  /** Resolves once `predicate(text())` holds; rejects after `timeoutMs` (default 2 s). */
  waitFor(predicate: (text: string) => boolean, timeoutMs?: number): Promise<void>
  /** Settles when the response is over: true when the server ended it, false when it broke off. */
  readonly ended: Promise<boolean>
  /** Stops reading without disconnecting (the server's writes then pile up). */
  pause(): void
  /** Disconnects. */
  close(): void
}

/** Parses complete SSE blocks (WHATWG HTML §9.2.6), LF line ends only. */
export function parseEventStream(text: string): SseEvent[] {
  const complete = text.slice(0, text.lastIndexOf('\n\n') + 2)
  const events: SseEvent[] = []
  for (const block of complete.split('\n\n')) {
    let id: string | undefined
    let event = 'message'
    const data: string[] = []
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon === -1 ? line : line.slice(0, colon)
      let value = colon === -1 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'id') id = value
      else if (field === 'event') event = value
      else if (field === 'data') data.push(value)
    }
    if (data.length > 0) events.push({ id, event, data: data.join('\n') })
  }
  return events
}

/**
 * Opens a GET to `url` and resolves with a reader once the status and
 * headers are in; the body keeps arriving into `text()`.
 *
 * @example
 * const feed = await openEventStream(`${base}/auth/revocations`, { 'x-tessera-feed-key': key })
 * await feed.waitFor((text) => text.includes('event: ready'))
 */
export function openEventStream(
  url: string,
  headers: Record<string, string> = {},
): Promise<EventStreamReader> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { method: 'GET', headers }, (response) => {
      let text = ''
      const waiters = new Set<() => void>()
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        text += chunk
        for (const check of [...waiters]) check()
      })
      const ended = new Promise<boolean>((settle) => {
        response.once('end', () => settle(true))
        response.once('aborted', () => settle(false))
        response.once('error', () => settle(false))
        response.once('close', () => settle(response.complete))
      })
      resolve({
        status: response.statusCode ?? 0,
        headers: response.headers,
        text: () => text,
        events: () => parseEventStream(text),
        waitFor(predicate, timeoutMs = 2000) {
          return new Promise<void>((done, fail) => {
            const timer = setTimeout(() => {
              waiters.delete(check)
              fail(new Error(`timed out waiting on the stream; received: ${JSON.stringify(text)}`))
            }, timeoutMs)
            function check(): void {
              if (!predicate(text)) return
              clearTimeout(timer)
              waiters.delete(check)
              done()
            }
            waiters.add(check)
            check()
          })
        },
        ended,
        pause: () => response.pause(),
        close: () => outgoing.destroy(),
      })
    })
    outgoing.on('error', reject)
    outgoing.end()
  })
}
