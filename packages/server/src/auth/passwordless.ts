// Signing in by mail (PRODUCT.md, "Email"): one mail carries a 6-digit code
// and a sign-in link, both good for 10 minutes, once; a code dies after 5
// wrong tries. Asking answers the same, at once, for every address. Using
// either answers the login response (or the MFA challenge) and proves the
// address; the other one of the pair dies with it.

import { randomUUID } from 'node:crypto'
import type { UserRecord } from '../storage/ports.ts'
import type { FlowContext } from './context.ts'
import { invalidCode, mailLinkLater, newLink, SIGN_IN, useLink } from './mailed-links.ts'
import { hashCode, isCode, issueCode, ONE_TIME_TTL_MS } from './one-time.ts'
import { finishSignIn } from './sign-in.ts'
import type { ClientInfo, PasswordlessFlows, SignInResult } from './types.ts'

/** How the audit log and the metrics tell the two ways apart. */
type Method = 'email_code' | 'email_link'

export function createPasswordlessFlows(ctx: FlowContext): PasswordlessFlows {
  const { store, rules, rateLimits, metrics, audit, mail, profiles, now } = ctx

  /** The code and the link, in one mail; call inside Store.atomically. */
  async function queueSignIn(user: UserRecord): Promise<void> {
    const code = await issueCode(store.oneTimeTokens, {
      userId: user.id,
      email: user.email,
      now: now(),
    })
    await mail.queue({
      to: user.email,
      template: SIGN_IN.template,
      userId: user.id,
      data: {
        code,
        link: await newLink(ctx, user, SIGN_IN),
        expiresIn: ONE_TIME_TTL_MS.sign_in / 1000,
        name: user.name,
      },
    })
  }

  async function signIn(
    user: UserRecord,
    method: Method,
    client: ClientInfo,
  ): Promise<SignInResult> {
    const at = now()
    // Whichever of the pair was used, the other is spent with it.
    await store.oneTimeTokens.revokeTokens(user.id, at, ['sign_in', 'sign_in_code'])
    let current = user
    if (user.emailVerifiedAt === null) {
      // The mail reached its reader: the address is proven.
      current = (await profiles.updateUser(user.id, { emailVerifiedAt: at, updatedAt: at })) ?? user
    }
    // A mailed code or link is a one-time password (RFC 8176 `otp`).
    return await finishSignIn(ctx, current, { amr: ['otp'], method }, client)
  }

  /**
   * A code is worth a guess: it is throttled as a login of its address, and
   * every wrong one counts against the code's 5 tries. An unknown address
   * costs the same lookups as a known one and gets the same answer.
   */
  async function signInWithCode(
    input: { email: string; code: string },
    client: ClientInfo,
  ): Promise<SignInResult> {
    const ip = client.ip ?? 'unknown'
    const email = rules.normalizeEmail(input.email)
    const accountKey = email ?? input.email.trim().toLowerCase()
    await rateLimits.checkLogin(accountKey, ip)
    const user = email === undefined ? undefined : await store.users.findUserByEmail(email)
    const userId = user?.id ?? randomUUID()
    const record = isCode(input.code)
      ? await store.oneTimeTokens.consumeToken(hashCode(userId, input.code), 'sign_in_code', now())
      : undefined
    if (
      record === undefined ||
      user === undefined ||
      user.disabled ||
      user.email !== record.email
    ) {
      const left =
        record === undefined
          ? await store.oneTimeTokens.countFailedAttempt(userId, 'sign_in_code', now())
          : undefined
      await rateLimits.loginFailed(accountKey, ip)
      metrics.inc('logins_failed')
      await audit(
        'login.failed',
        client,
        { userId: user?.id ?? null },
        { method: 'email_code', ...(left === undefined ? {} : { codeTriesLeft: left }) },
      )
      throw invalidCode()
    }
    return await signIn(user, 'email_code', client)
  }

  return {
    async sendSignInCode(input, client) {
      await mailLinkLater(ctx, input.email, client, {
        ...SIGN_IN,
        event: 'login.code_sent',
        wanted: () => true,
        queue: queueSignIn,
      })
    },

    async signInByMail(input, client) {
      if ('token' in input) {
        const user = await useLink(ctx, input.token, 'sign_in')
        return await signIn(user, 'email_link', client)
      }
      return await signInWithCode(input, client)
    },
  }
}
