// Accounts: signup, login (enumeration-safe, throttled per OWASP), the
// password change, and the caller's profile.

import { randomUUID } from 'node:crypto'
import type { FlowContext } from './context.ts'
import { checkCurrentPassword } from './current-password.ts'
import { AuthError, invalidField } from './errors.ts'
import { PASSWORD_BOUND_LINKS, queueLink, VERIFY_EMAIL } from './mailed-links.ts'
import { finishSignIn } from './sign-in.ts'
import { requireRecentAuth } from './step-up.ts'
import type { AccountFlows } from './types.ts'

/** Default roles of a new account. */
const DEFAULT_ROLES = ['user']

export function createAccountFlows(ctx: FlowContext): AccountFlows {
  const { config, store, passwords, rules, rateLimits, metrics, audit, revoke, tokens, profiles } =
    ctx
  const { mail, background } = ctx
  const { now } = ctx

  function checkPassword(
    password: string,
    context: { email?: string; name?: string },
    path: string,
  ): void {
    const verdict = rules.checkPasswordPolicy(password, context)
    if (!verdict.ok) throw invalidField(path, verdict.reason)
  }

  return {
    async signup(input, client) {
      if (!config.signupEnabled) throw new AuthError('forbidden', 'signup is closed')
      await rateLimits.checkSignup(client.ip ?? 'unknown')
      const email = rules.normalizeEmail(input.email)
      if (email === undefined) throw invalidField('/email', 'not a valid email address')
      const name = input.name === undefined ? null : input.name.trim() || null
      checkPassword(input.password, { email, ...(name === null ? {} : { name }) }, '/password')
      // Hashed before anything is looked up: a new and an existing address cost the same.
      const passwordHash = await passwords.hash(input.password)
      const verify = config.emailVerification !== 'off'
      const mailed = verify ? { mailed: 'verify_email' } : {}
      const create = () =>
        store.atomically(async () => {
          const user = await store.users.createUser({
            id: randomUUID(),
            email,
            name,
            passwordHash,
            roles: DEFAULT_ROLES,
            createdAt: now(),
          })
          if (user === 'email_taken') {
            // Verification required: the answer is the same, and the owner hears of it.
            if (config.emailVerification === 'required') {
              const owner = await store.users.findUserByEmail(email)
              await mail.queue({
                to: email,
                template: 'account_exists',
                userId: owner?.id ?? null,
                data: { name: owner?.name ?? null, link: `${config.issuer}/login` },
              })
              await audit(
                'signup.existing_address',
                client,
                { userId: owner?.id ?? null },
                { mailed: 'account_exists' },
              )
            }
            return user
          }
          if (verify) await queueLink(ctx, { id: user.id, email, name }, VERIFY_EMAIL)
          await audit('user.signup', client, { userId: user.id }, mailed)
          return user
        })
      if (config.emailVerification === 'required') {
        // The answer is the same for a new and an existing address, and so is
        // its time: the writes, which differ, happen after it (measured on
        // PostgreSQL: a new account's took 8 ms more).
        background.run('signup', async () => {
          if ((await create()) !== 'email_taken') metrics.inc('signups')
          mail.wake()
        })
        return { verificationSent: true as const }
      }
      const created = await create()
      mail.wake()
      if (created === 'email_taken')
        throw new AuthError('email_taken', 'an account with this email exists')
      metrics.inc('signups')
      // A second factor required: the new account sets one up before any token.
      if (config.mfa === 'required') {
        return await finishSignIn(ctx, created, { amr: ['pwd'], method: 'password' }, client)
      }
      const result = await tokens.startSession(created, client, ['pwd'])
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
          ctx.log?.warn({ userId: user.id }, 'many failed logins for one account: throttled')
        }
        throw new AuthError('invalid_credentials', 'the email or password is wrong')
      }
      // Only after the password: an unverified account is not told apart from a wrong password first.
      if (config.emailVerification === 'required' && user.emailVerifiedAt === null) {
        throw new AuthError(
          'email_not_verified',
          'verify your email address first: open the link we mailed you, or ask for a new one',
        )
      }
      let current = user
      if (verdict.needsRehash) {
        // Imported bcrypt (or outdated argon2) hashes become current argon2id now that we have the password.
        const rehashed = await profiles.updateUser(user.id, {
          passwordHash: await passwords.hash(input.password),
          updatedAt: now(),
        })
        if (rehashed !== undefined) current = rehashed
        await audit('user.password_rehashed', client, { userId: user.id })
      }
      return await finishSignIn(ctx, current, { amr: ['pwd'], method: 'password' }, client)
    },

    async changePassword(access, input, client) {
      const user = await profiles.requireUser(access)
      await requireRecentAuth(ctx, access)
      await checkCurrentPassword(ctx, user, input.currentPassword, {
        access,
        client,
        failEvent: 'password.change_failed',
      })
      checkPassword(
        input.newPassword,
        { email: user.email, ...(user.name === null ? {} : { name: user.name }) },
        '/newPassword',
      )
      const at = now()
      await profiles.updateUser(user.id, {
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
      await revoke.sessions(others)
      // A link mailed before the change must not undo it.
      await store.oneTimeTokens.revokeTokens(user.id, at, PASSWORD_BOUND_LINKS)
      await audit(
        'password.changed',
        client,
        { userId: user.id, sessionId: access.sessionId },
        { sessionsRevoked: others.length },
      )
    },

    async me(access) {
      return (await profiles.requireProfile(access, 'cached')).view
    },
  }
}
