// What every mailed-link flow shares (verification, reset; next: sign-in
// links, email change): queuing a link inside the flow's transaction, asking
// for one with an answer that is the same for every address, and using one.

import type { OneTimePurpose, UserRecord } from '../storage/ports.ts'
import type { FlowContext } from './context.ts'
import { AuthError } from './errors.ts'
import { hashLinkToken, isLinkToken, issueLink, ONE_TIME_TTL_MS } from './one-time.ts'
import type { ClientInfo } from './types.ts'

/** Which link: its purpose, the template that mails it, the page it opens. */
export interface LinkKind {
  purpose: OneTimePurpose
  template: string
  /** The hosted page the link opens (`/verify-email`), with `?token=`. */
  path: string
}

export const VERIFY_EMAIL: LinkKind = {
  purpose: 'verify_email',
  template: 'verify_email',
  path: '/verify-email',
}
export const RESET_PASSWORD: LinkKind = {
  purpose: 'reset_password',
  template: 'reset_password',
  path: '/reset-password',
}

export const invalidCode = () =>
  new AuthError('invalid_code', 'the link or code is not valid (it may have expired or been used)')

/** Stores a new link for `user` and queues its mail; call inside Store.atomically. */
export async function queueLink(
  ctx: FlowContext,
  user: Pick<UserRecord, 'id' | 'email' | 'name'>,
  kind: LinkKind,
): Promise<void> {
  const token = await issueLink(ctx.store.oneTimeTokens, {
    userId: user.id,
    purpose: kind.purpose,
    email: user.email,
    now: ctx.now(),
  })
  await ctx.mail.queue({
    to: user.email,
    template: kind.template,
    userId: user.id,
    data: {
      link: `${ctx.config.issuer}${kind.path}?token=${token}`,
      expiresIn: ONE_TIME_TTL_MS[kind.purpose] / 1000,
      name: user.name,
    },
  })
}

/**
 * Answers for any address at once, after the send limit (counted for every
 * address, with an account or not): only after the answer is the account
 * looked up and, when `wanted(user)`, mailed a fresh link; audited as `event`.
 */
export async function mailLinkLater(
  ctx: FlowContext,
  typed: string,
  client: ClientInfo,
  kind: LinkKind & { event: string; wanted(user: UserRecord): boolean },
): Promise<void> {
  const email = ctx.rules.normalizeEmail(typed)
  await ctx.rateLimits.checkMailSend(email ?? typed.trim().toLowerCase(), client.ip ?? 'unknown')
  if (email === undefined) return
  ctx.background.run(`${kind.template} mail`, async () => {
    const user = await ctx.store.users.findUserByEmail(email)
    if (user === undefined || user.disabled || !kind.wanted(user)) return
    await ctx.store.atomically(() => queueLink(ctx, user, kind))
    ctx.mail.wake()
    await ctx.audit(kind.event, client, { userId: user.id })
  })
}

/**
 * Spends a mailed link and returns its account: invalid_code when the link is
 * unknown, used, expired, for another purpose, or for an address the account
 * no longer has (it proves nothing about the new one).
 */
export async function useLink(
  ctx: FlowContext,
  token: string,
  purpose: OneTimePurpose,
): Promise<UserRecord> {
  if (!isLinkToken(token)) throw invalidCode()
  const record = await ctx.store.oneTimeTokens.consumeToken(
    hashLinkToken(token),
    purpose,
    ctx.now(),
  )
  if (record === undefined) throw invalidCode()
  const user = await ctx.store.users.findUserById(record.userId)
  if (user === undefined || user.disabled || user.email !== record.email) throw invalidCode()
  return user
}
