import { createHash, randomUUID, timingSafeEqual } from 'node:crypto'
import { decode, type Jwks, JwtError, TokenCache, type VerifiedJwt } from '@tessera/jwt'
import type { Config } from '../config/types.ts'
import type {
  RevocationEntry,
  SessionRecord,
  Store,
  UserPatch,
  UserRecord,
} from '../storage/ports.ts'
import { AuthError } from './errors.ts'
import type { RevocationList } from './revocation.ts'
import type {
  AccessContext,
  AccessTokenClaims,
  AuditView,
  AuthResult,
  AuthService,
  ClientInfo,
  IssuedTokens,
  KeyView,
  PublicUser,
  SessionView,
} from './types.ts'
import { adminUser, iso, publicUser } from './views.ts'

// What the service needs from its collaborators, stated here so the domain
// depends on behaviour, not on modules (the composition root wires them).

export interface PasswordHasher {
  hash(password: string): Promise<string>
  verify(hash: string, password: string): Promise<{ ok: boolean; needsRehash: boolean }>
  /** Costs what a real verify costs: unknown emails must not answer faster. */
  verifyDummy(password: string): Promise<void>
}

export interface PasswordRules {
  checkPasswordPolicy(
    password: string,
    context?: { email?: string; name?: string },
  ): { ok: true } | { ok: false; reason: string }
  normalizeEmail(email: string): string | undefined
}

export interface RateLimits {
  checkLogin(email: string, ip: string): Promise<void>
  loginFailed(email: string, ip: string): Promise<{ accountThrottled: boolean }>
  loginSucceeded(email: string, ip: string): Promise<void>
  checkSignup(ip: string): Promise<void>
  checkRefresh(sessionId: string): Promise<void>
}

export interface KeyRingPort {
  jwks(): Jwks
  rotate(options?: { immediate?: boolean }): Promise<KeyView[]>
  list(): KeyView[]
}

export interface AccessTokenIssuerPort {
  issue(input: {
    userId: string
    sessionId: string
    roles: string[]
    email?: string
    scope?: string
  }): { token: string; jti: string; expiresIn: number; exp: number; iat: number }
}

export interface RefreshTokens {
  createRefreshToken(): { token: string; hash: string }
  hashRefreshToken(token: string): string
  isWellFormedRefreshToken(token: unknown): token is string
}

export interface SealerPort {
  seal(plaintext: string, context: string): string
  open(sealed: string, context: string): string
}

/** Counters the HTTP layer exports as metrics. */
export interface AuthMetrics {
  inc(name: 'signups' | 'logins' | 'logins_failed' | 'refreshes' | 'refresh_reuse_detected'): void
}

export interface AuthServiceDeps {
  config: Pick<
    Config,
    | 'accessTokenTtl'
    | 'refreshTokenTtl'
    | 'refreshIdleTtl'
    | 'refreshReuseGrace'
    | 'signupEnabled'
    | 'accessTokenEmail'
  >
  store: Store
  keyRing: KeyRingPort
  issuer: AccessTokenIssuerPort
  /** Verifies access tokens: signature, iss, aud, typ, exp, and the revocation list. */
  verifyAccessToken: (token: string) => VerifiedJwt
  revocations: RevocationList
  passwords: PasswordHasher
  rules: PasswordRules
  refreshTokens: RefreshTokens
  rateLimits: RateLimits
  sealer: SealerPort
  now: () => number
  /**
   * Waits `ms` of the clock `now` reads (real timers by default; tests that
   * move `now` by hand pass one that moves it).
   */
  sleep?: (ms: number) => Promise<void>
  metrics?: AuthMetrics
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void }
}

/** Profiles kept for GET /auth/me: how many, and how long. */
const USER_CACHE_SIZE = 10_000
const USER_CACHE_TTL_MS = 5_000

/** Default roles of a new account. */
const DEFAULT_ROLES = ['user']

function invalid(path: string, message: string): AuthError {
  return new AuthError('validation_failed', 'the request is not valid', {
    details: { issues: [{ path, message }] },
  })
}

/** The sealed successor pair, as racing refreshes receive it. */
interface SealedPair {
  tokens: IssuedTokens
  userId: string
  /** clientFingerprint() of the request that rotated: only that client gets the pair again. */
  client?: string
}

/**
 * Who a refresh came from, as far as the server can tell without a key of the
 * client's (DPoP will give one): the address and the User-Agent, hashed.
 */
function clientFingerprint(client: ClientInfo): string {
  return createHash('sha256')
    .update(`${client.ip ?? ''}\n${client.userAgent ?? ''}`)
    .digest('base64url')
}

function sameFingerprint(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Builds the auth service: every flow of PRODUCT.md's HTTP API as plain
 * functions over the storage ports.
 */
export function createAuthService(deps: AuthServiceDeps): AuthService {
  const {
    config,
    store,
    keyRing,
    issuer,
    revocations,
    passwords,
    rules,
    refreshTokens,
    sealer,
    now,
  } = deps
  const sleep = deps.sleep ?? realSleep
  const rateLimits = deps.rateLimits
  // Looked up at use: the composition root attaches the HTTP layer's counters after building.
  const metrics = { inc: (name: Parameters<AuthMetrics['inc']>[0]) => deps.metrics?.inc(name) }
  const accessTtlMs = config.accessTokenTtl * 1000
  /** Revocation entries outlive every access token they could match, plus clock skew. */
  const revocationTtlMs = accessTtlMs + 60_000

  async function audit(
    event: string,
    client: ClientInfo | null,
    ids: { userId?: string | null; sessionId?: string | null },
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await store.audit.appendAudit({
      at: now(),
      event,
      userId: ids.userId ?? null,
      sessionId: ids.sessionId ?? null,
      ip: client?.ip ?? null,
      details,
    })
  }

  function issueTokens(
    user: UserRecord,
    sessionId: string,
    refreshToken: string,
    refreshExpiresAt: number,
  ): IssuedTokens {
    const access = issuer.issue({
      userId: user.id,
      sessionId,
      roles: user.roles,
      ...(config.accessTokenEmail ? { email: user.email } : {}),
    })
    return {
      accessToken: access.token,
      tokenType: 'Bearer',
      expiresIn: access.expiresIn,
      refreshToken,
      refreshExpiresIn: Math.max(0, Math.floor((refreshExpiresAt - now()) / 1000)),
    }
  }

  /** A refresh token expires at the idle timeout, never after its session. */
  function refreshExpiry(sessionExpiresAt: number, at: number): number {
    return Math.min(sessionExpiresAt, at + config.refreshIdleTtl * 1000)
  }

  /**
   * Waits out the second of a `{sub, before}` cut-over for this user, if one is
   * running: a token issued in it would be born revoked (issue #12: `before`
   * is the second after the change, so no token from that second survives).
   * At most one second, and only right after a role change, logout
   * everywhere or a disabled account.
   */
  async function awaitCutover(userId: string): Promise<void> {
    const wait = revocations.issuableFrom(userId) * 1000 - now()
    if (wait > 0) await sleep(wait)
  }

  async function startSession(user: UserRecord, client: ClientInfo): Promise<AuthResult> {
    await awaitCutover(user.id)
    const at = now()
    const sessionId = randomUUID()
    const sessionExpiresAt = at + config.refreshTokenTtl * 1000
    const refresh = refreshTokens.createRefreshToken()
    const refreshExpiresAt = refreshExpiry(sessionExpiresAt, at)
    await store.sessions.createSession(
      {
        id: sessionId,
        userId: user.id,
        createdAt: at,
        expiresAt: sessionExpiresAt,
        userAgent: client.userAgent,
        ip: client.ip,
      },
      { tokenHash: refresh.hash, sessionId, createdAt: at, expiresAt: refreshExpiresAt },
    )
    return {
      user: publicUser(user),
      sessionId,
      tokens: issueTokens(user, sessionId, refresh.token, refreshExpiresAt),
    }
  }

  async function revokeSessions(sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return
    const expiresAt = now() + revocationTtlMs
    await revocations.add(sessionIds.map((value) => ({ kind: 'sid', value, expiresAt })))
  }

  /**
   * Every access token of the user issued up to now dies, including those of
   * this very second: `iat` has one-second resolution, so `before` is the next
   * second, and awaitCutover() keeps new tokens out of this one (issue #12: a
   * demoted admin refreshing every second kept a token with his old roles).
   */
  async function revokeUserTokens(userId: string): Promise<void> {
    const entry: RevocationEntry = {
      kind: 'sub',
      value: userId,
      before: Math.floor(now() / 1000) + 1,
      expiresAt: now() + revocationTtlMs,
    }
    await revocations.add([entry])
  }

  /**
   * Profiles read on every GET /auth/me, kept a few seconds so the hot path
   * skips the database. Writes through this instance drop the entry at once;
   * another instance's edit shows after at most USER_CACHE_TTL_MS (role
   * changes and disabling also revoke the user's tokens, everywhere within a
   * second). Anything that decides on a password or issues roles reads fresh.
   */
  const userCache = new TokenCache<{ user: UserRecord; view: PublicUser; until: number }>(
    USER_CACHE_SIZE,
  )

  async function requireUser(
    access: AccessContext,
    read: 'cached' | 'fresh' = 'fresh',
  ): Promise<UserRecord> {
    return (await requireProfile(access, read)).user
  }

  /** The user and their `GET /auth/me` view, built once per cache entry. */
  async function requireProfile(
    access: AccessContext,
    read: 'cached' | 'fresh',
  ): Promise<{ user: UserRecord; view: PublicUser }> {
    const hit = read === 'cached' ? userCache.get(access.userId) : undefined
    let profile = hit !== undefined && hit.until > now() ? hit : undefined
    if (profile === undefined) {
      const user = await store.users.findUserById(access.userId)
      if (user !== undefined) {
        // Shared by every GET /auth/me until the entry goes: frozen, roles too.
        const view = publicUser(user)
        Object.freeze(view.roles)
        profile = { user, view: Object.freeze(view), until: now() + USER_CACHE_TTL_MS }
        userCache.set(user.id, profile)
      }
    }
    // A deleted or disabled account's tokens are revoked on the way; this closes the gap.
    if (profile === undefined || profile.user.disabled)
      throw new AuthError('invalid_token', 'the account is not active')
    return profile
  }

  /** Every write to a user goes through here, so the profile cache never outlives it on this instance. */
  async function updateUser(id: string, patch: UserPatch): Promise<UserRecord | undefined> {
    userCache.delete(id)
    const updated = await store.users.updateUser(id, patch)
    userCache.delete(id)
    return updated
  }

  /**
   * RFC 9700 §4.14.2: a used refresh token presented again means one of the
   * two parties holds a stolen copy: end the whole family.
   */
  async function refreshReused(
    session: SessionRecord,
    client: ClientInfo,
    details: { withinGrace: boolean },
  ): Promise<never> {
    await store.sessions.revokeSession(session.id, now(), 'refresh_token_reused')
    await revokeSessions([session.id])
    metrics.inc('refresh_reuse_detected')
    await audit(
      'refresh.reuse_detected',
      client,
      { userId: session.userId, sessionId: session.id },
      details,
    )
    deps.log?.warn({ sessionId: session.id, ...details }, 'refresh token reuse: session revoked')
    throw new AuthError(
      'refresh_token_reused',
      'the refresh token was already used; the session is revoked',
    )
  }

  function checkPassword(
    password: string,
    context: { email?: string; name?: string },
    path: string,
  ): void {
    const verdict = rules.checkPasswordPolicy(password, context)
    if (!verdict.ok) throw invalid(path, verdict.reason)
  }

  function sessionView(session: SessionRecord, currentId: string): SessionView {
    return {
      id: session.id,
      createdAt: iso(session.createdAt),
      lastUsedAt: iso(session.lastUsedAt),
      expiresAt: iso(session.expiresAt),
      userAgent: session.userAgent,
      ip: session.ip,
      current: session.id === currentId,
    }
  }

  return {
    async signup(input, client) {
      if (!config.signupEnabled) throw new AuthError('forbidden', 'signup is closed')
      await rateLimits.checkSignup(client.ip ?? 'unknown')
      const email = rules.normalizeEmail(input.email)
      if (email === undefined) throw invalid('/email', 'not a valid email address')
      const name = input.name === undefined ? null : input.name.trim() || null
      checkPassword(input.password, { email, ...(name === null ? {} : { name }) }, '/password')
      const at = now()
      const created = await store.users.createUser({
        id: randomUUID(),
        email,
        name,
        passwordHash: await passwords.hash(input.password),
        roles: DEFAULT_ROLES,
        createdAt: at,
      })
      if (created === 'email_taken')
        throw new AuthError('email_taken', 'an account with this email exists')
      await audit('user.signup', client, { userId: created.id })
      metrics.inc('signups')
      const result = await startSession(created, client)
      await audit('session.created', client, { userId: created.id, sessionId: result.sessionId })
      return result
    },

    async login(input, client) {
      const ip = client.ip ?? 'unknown'
      const email = rules.normalizeEmail(input.email)
      // Throttle by what was typed when it is not an address, so garbage is limited too.
      const accountKey = email ?? input.email.trim().toLowerCase()
      await rateLimits.checkLogin(accountKey, ip)
      const user = email === undefined ? undefined : await store.users.findUserByEmail(email)
      let verdict = { ok: false, needsRehash: false }
      // OWASP: the same work, and the same answer, for an unknown email and a wrong password.
      if (user === undefined) await passwords.verifyDummy(input.password)
      else verdict = await passwords.verify(user.passwordHash, input.password)
      if (user === undefined || !verdict.ok || user.disabled) {
        const { accountThrottled } = await rateLimits.loginFailed(accountKey, ip)
        metrics.inc('logins_failed')
        await audit('login.failed', client, { userId: user?.id ?? null })
        if (accountThrottled && user !== undefined) {
          // The signal: many failures from many addresses. Clients that failed
          // now back off account-wide; the owner's own device is not stopped.
          await audit('login.account_throttled', client, { userId: user.id })
          deps.log?.warn({ userId: user.id }, 'many failed logins for one account: throttled')
        }
        throw new AuthError('invalid_credentials', 'the email or password is wrong')
      }
      await rateLimits.loginSucceeded(accountKey, ip)
      let current = user
      if (verdict.needsRehash) {
        // Imported bcrypt (or outdated argon2) hashes become current argon2id now that we have the password.
        const rehashed = await updateUser(user.id, {
          passwordHash: await passwords.hash(input.password),
          updatedAt: now(),
        })
        if (rehashed !== undefined) current = rehashed
        await audit('user.password_rehashed', client, { userId: user.id })
      }
      metrics.inc('logins')
      const result = await startSession(current, client)
      await audit('login', client, { userId: user.id, sessionId: result.sessionId })
      return result
    },

    async refresh(refreshToken, client) {
      if (!refreshTokens.isWellFormedRefreshToken(refreshToken)) {
        throw new AuthError('invalid_refresh_token', 'the refresh token is not valid')
      }
      const tokenHash = refreshTokens.hashRefreshToken(refreshToken)
      const record = await store.sessions.findRefreshToken(tokenHash)
      if (record === undefined)
        throw new AuthError('invalid_refresh_token', 'the refresh token is not valid')
      await rateLimits.checkRefresh(record.sessionId)
      const session = await store.sessions.findSession(record.sessionId)
      const user =
        session === undefined ? undefined : await store.users.findUserById(session.userId)
      if (session === undefined || user === undefined || user.disabled) {
        throw new AuthError('invalid_refresh_token', 'the refresh token is not valid')
      }

      await awaitCutover(user.id)
      // The successor pair is made before the race is decided, so the winner can
      // seal it into the row and racing tabs inside the grace window get it back.
      const at = now()
      const successor = refreshTokens.createRefreshToken()
      const successorExpiresAt = refreshExpiry(session.expiresAt, at)
      const tokens = issueTokens(user, session.id, successor.token, successorExpiresAt)
      const fingerprint = clientFingerprint(client)
      const pair: SealedPair = { tokens, userId: user.id, client: fingerprint }
      const outcome = await store.sessions.rotateRefreshToken({
        tokenHash,
        now: at,
        graceMs: config.refreshReuseGrace * 1000,
        successor: {
          tokenHash: successor.hash,
          createdAt: at,
          expiresAt: successorExpiresAt,
          sealedPair: sealer.seal(JSON.stringify(pair), `refresh-pair:${tokenHash}`),
        },
      })
      switch (outcome.status) {
        case 'rotated':
          metrics.inc('refreshes')
          return { user: publicUser(user), sessionId: session.id, tokens }
        case 'within_grace': {
          const earlier = JSON.parse(
            sealer.open(outcome.sealedPair, `refresh-pair:${tokenHash}`),
          ) as SealedPair
          // Issue #12: the grace window is for racing tabs and a retry after a
          // lost response, both from the client that rotated. From anyone else
          // the live successor would be handed to a thief, and we cannot tell
          // which of the two is one: it is reuse, as after the window.
          if (earlier.client === undefined || sameFingerprint(earlier.client, fingerprint)) {
            metrics.inc('refreshes')
            let earlierTokens = earlier.tokens
            // A cut-over since the pair was sealed (a role change) killed its
            // access token: the same refresh token, a fresh access token.
            if (revocations.isRevoked(decode(earlierTokens.accessToken).payload)) {
              const fresh = issueTokens(user, outcome.session.id, '', 0)
              earlierTokens = {
                ...earlierTokens,
                accessToken: fresh.accessToken,
                expiresIn: fresh.expiresIn,
              }
            }
            return { user: publicUser(user), sessionId: outcome.session.id, tokens: earlierTokens }
          }
          return await refreshReused(outcome.session, client, { withinGrace: true })
        }
        case 'reused':
          return await refreshReused(outcome.session, client, { withinGrace: false })
        default:
          throw new AuthError('invalid_refresh_token', 'the refresh token is not valid')
      }
    },

    async logout(by, client) {
      let sessionId = by.access?.sessionId
      if (sessionId === undefined && by.refreshToken !== undefined) {
        if (!refreshTokens.isWellFormedRefreshToken(by.refreshToken)) {
          throw new AuthError('invalid_refresh_token', 'the refresh token is not valid')
        }
        const record = await store.sessions.findRefreshToken(
          refreshTokens.hashRefreshToken(by.refreshToken),
        )
        // Logging out a session that is already gone is done: idempotent.
        if (record === undefined) return
        sessionId = record.sessionId
      }
      if (sessionId === undefined)
        throw new AuthError('missing_token', 'an access or refresh token is required')
      const session = await store.sessions.findSession(sessionId)
      if (session === undefined) return
      if (await store.sessions.revokeSession(sessionId, now(), 'logout')) {
        await revokeSessions([sessionId])
        await audit('logout', client, { userId: session.userId, sessionId })
      }
    },

    async logoutAll(access, client) {
      const ids = await store.sessions.revokeUserSessions(access.userId, now(), 'logout_all')
      await revokeSessions([...new Set([...ids, access.sessionId])])
      await revokeUserTokens(access.userId)
      await audit(
        'logout_all',
        client,
        { userId: access.userId, sessionId: access.sessionId },
        { sessions: ids.length },
      )
    },

    async me(access) {
      return (await requireProfile(access, 'cached')).view
    },

    async listSessions(access) {
      await requireUser(access, 'cached')
      const sessions = await store.sessions.listSessions(access.userId, now())
      return sessions.map((s) => sessionView(s, access.sessionId))
    },

    async revokeSession(access, sessionId, client) {
      const session = await store.sessions.findSession(sessionId)
      // Another user's session is "not found", not "forbidden": ids do not leak.
      if (session === undefined || session.userId !== access.userId || session.revokedAt !== null) {
        throw new AuthError('not_found', 'no such session')
      }
      await store.sessions.revokeSession(sessionId, now(), 'revoked_by_user')
      await revokeSessions([sessionId])
      await audit('session.revoked', client, { userId: access.userId, sessionId })
    },

    async changePassword(access, input, client) {
      const user = await requireUser(access)
      const ip = client.ip ?? 'unknown'
      await rateLimits.checkLogin(user.email, ip)
      const verdict = await passwords.verify(user.passwordHash, input.currentPassword)
      if (!verdict.ok) {
        await rateLimits.loginFailed(user.email, ip)
        await audit('password.change_failed', client, {
          userId: user.id,
          sessionId: access.sessionId,
        })
        throw new AuthError('invalid_credentials', 'the current password is wrong')
      }
      checkPassword(
        input.newPassword,
        { email: user.email, ...(user.name === null ? {} : { name: user.name }) },
        '/newPassword',
      )
      const at = now()
      await updateUser(user.id, {
        passwordHash: await passwords.hash(input.newPassword),
        passwordChangedAt: at,
        updatedAt: at,
      })
      // Every other session ends; this one (and its tokens) carries on.
      const others = await store.sessions.revokeUserSessions(
        user.id,
        at,
        'password_changed',
        access.sessionId,
      )
      await revokeSessions(others)
      await audit(
        'password.changed',
        client,
        { userId: user.id, sessionId: access.sessionId },
        { sessionsRevoked: others.length },
      )
    },

    authenticate(token) {
      let verified: VerifiedJwt
      try {
        verified = deps.verifyAccessToken(token)
      } catch (error) {
        if (error instanceof JwtError) {
          if (error.code === 'expired')
            throw new AuthError('token_expired', 'the access token has expired')
          if (error.code === 'revoked')
            throw new AuthError('token_revoked', 'the access token has been revoked')
          throw new AuthError('invalid_token', 'the access token is not valid', { cause: error })
        }
        throw error
      }
      const claims = verified.payload as AccessTokenClaims
      if (
        !Array.isArray(claims.roles) ||
        typeof claims.sid !== 'string' ||
        typeof claims.sub !== 'string'
      ) {
        throw new AuthError('invalid_token', 'the access token is not valid')
      }
      return { token, claims, userId: claims.sub, sessionId: claims.sid, roles: claims.roles }
    },

    async adminListUsers(query) {
      const users = await store.users.listUsers(query)
      return users.map(adminUser)
    },

    async adminUpdateUser(actor, userId, patch, client) {
      const before = await store.users.findUserById(userId)
      if (before === undefined) throw new AuthError('not_found', 'no such user')
      if (patch.roles !== undefined) {
        const roles = [...new Set(patch.roles.map((r) => r.trim()))]
        if (roles.some((r) => !/^[A-Za-z0-9_.:-]{1,64}$/.test(r))) {
          throw invalid('/roles', 'roles are 1-64 letters, digits or _ . : -')
        }
        patch = { ...patch, roles }
      }
      const updated = await updateUser(userId, {
        ...(patch.roles === undefined ? {} : { roles: patch.roles }),
        ...(patch.disabled === undefined ? {} : { disabled: patch.disabled }),
        ...(patch.name === undefined ? {} : { name: patch.name }),
        updatedAt: now(),
      })
      if (updated === undefined) throw new AuthError('not_found', 'no such user')
      const rolesChanged =
        patch.roles !== undefined &&
        JSON.stringify([...before.roles].sort()) !== JSON.stringify([...updated.roles].sort())
      if (patch.disabled === true && !before.disabled) {
        await revokeSessions(
          await store.sessions.revokeUserSessions(userId, now(), 'account_disabled'),
        )
      }
      // Tokens carry roles: old tokens must not keep roles the user lost (or gain nothing by waiting).
      if (rolesChanged || (patch.disabled === true && !before.disabled))
        await revokeUserTokens(userId)
      await audit(
        'admin.user_updated',
        client,
        { userId, sessionId: actor.sessionId },
        {
          actor: actor.userId,
          ...(rolesChanged ? { roles: updated.roles } : {}),
          ...(patch.disabled === undefined ? {} : { disabled: patch.disabled }),
        },
      )
      return adminUser(updated)
    },

    async adminRotateKeys(actor, client, options = {}) {
      const keys = await keyRing.rotate(options)
      await audit('admin.keys_rotated', client, {
        userId: actor.userId,
        sessionId: actor.sessionId,
      })
      return keys
    },

    adminListKeys() {
      return keyRing.list()
    },

    async adminAudit(query) {
      const events = await store.audit.listAudit(query)
      return events.map(
        (e): AuditView => ({
          id: e.id,
          at: iso(e.at),
          event: e.event,
          userId: e.userId,
          sessionId: e.sessionId,
          ip: e.ip,
          details: e.details,
        }),
      )
    },

    jwks() {
      return keyRing.jwks() as unknown as { keys: Record<string, unknown>[] }
    },

    async revocationsSince(since, limit) {
      return store.revocations.listRevocations(since, now(), limit)
    },

    watchRevocations(listener) {
      return revocations.subscribe(listener)
    },
  }
}
