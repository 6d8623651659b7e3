// What every mailed-link flow shares (verification, reset, sign-in by mail,
// email change): queuing a link inside the flow's transaction, asking for one
// with an answer that is the same for every address, and using one.

import type { OneTimePurpose, OneTimeTokenRecord, UserRecord } from '../storage/ports.ts'
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

export const SIGN_IN: LinkKind = {
  purpose: 'sign_in',
  template: 'sign_in_code',
  path: '/login/link',
}
export const CHANGE_EMAIL: LinkKind = {
  purpose: 'change_email',
  template: 'change_email',
  path: '/confirm-email',
}

/**
 * The links and codes a password change or reset ends: each hands over the
 * account (a reset, a sign-in, a change of address). A verification link
 * only proves an address, and stays.
 */
export const PASSWORD_BOUND_LINKS: readonly OneTimePurpose[] = Object.freeze([
  'reset_password',
  'sign_in',
  'sign_in_code',
  'change_email',
])

export const invalidCode = () =>
  new AuthError('invalid_code', 'the link or code is not valid (it may have expired or been used)')

/** Stores a new link and returns its URL; call inside Store.atomically, with the enqueue. */
export async function newLink(
  ctx: FlowContext,
  user: Pick<UserRecord, 'id' | 'email'>,
  kind: LinkKind,
): Promise<string> {
  const token = await issueLink(ctx.store.oneTimeTokens, {
    userId: user.id,
    purpose: kind.purpose,
    email: user.email,
    now: ctx.now(),
  })
  return `${ctx.config.issuer}${kind.path}?token=${token}`
}

/** Stores a new link for `user` and queues its mail; call inside Store.atomically. */
export async function queueLink(
  ctx: FlowContext,
  user: Pick<UserRecord, 'id' | 'email' | 'name'>,
  kind: LinkKind,
): Promise<void> {
  await ctx.mail.queue({
    to: user.email,
    template: kind.template,
    userId: user.id,
    data: {
      link: await newLink(ctx, user, kind),
      expiresIn: ONE_TIME_TTL_MS[kind.purpose] / 1000,
      name: user.name,
    },
  })
}

/**
 * Answers for any address at once, after the send limit (counted for every
 * address, with an account or not): only after the answer is the account
 * looked up and, when `wanted(user)`, mailed a fresh link (by `queue`, when
 * the mail carries more than the link); audited as `event`.
 */
export async function mailLinkLater(
  ctx: FlowContext,
  typed: string,
  client: ClientInfo,
  kind: LinkKind & {
    event: string
    wanted(user: UserRecord): boolean
    queue?(user: UserRecord): Promise<void>
  },
): Promise<void> {
  const email = ctx.rules.normalizeEmail(typed)
  await ctx.rateLimits.checkMailSend(email ?? typed.trim().toLowerCase(), client.ip ?? 'unknown')
  if (email === undefined) return
  const queue = kind.queue ?? ((user: UserRecord) => queueLink(ctx, user, kind))
  ctx.background.run(`${kind.template} mail`, async () => {
    const user = await ctx.store.users.findUserByEmail(email)
    if (user === undefined || user.disabled || !kind.wanted(user)) return
    await ctx.store.atomically(() => queue(user))
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
  const { user, record } = await spendLink(ctx, token, purpose)
  if (user.email !== record.email) throw invalidCode()
  return user
}

/**
 * Spends a mailed link and returns it with its account, whatever address
 * the account has now (an email change's link is for the new one).
 */
export async function spendLink(
  ctx: FlowContext,
  token: string,
  purpose: OneTimePurpose,
): Promise<{ user: UserRecord; record: OneTimeTokenRecord }> {
  if (!isLinkToken(token)) throw invalidCode()
  const record = await ctx.store.oneTimeTokens.consumeToken(
    hashLinkToken(token),
    purpose,
    ctx.now(),
  )
  if (record === undefined) throw invalidCode()
  const user = await ctx.store.users.findUserById(record.userId)
  if (user === undefined || user.disabled) throw invalidCode()
  return { user, record }
}
