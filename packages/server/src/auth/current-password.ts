// The signed-in user's current password, asked for again before a change
// that hands the account to whoever makes it (a new password, a new address).
// Throttled like a login, so a stolen access token does not make a
// password-guessing oracle.

import type { UserRecord } from '../storage/ports.ts'
import type { FlowContext } from './context.ts'
import { AuthError } from './errors.ts'
import type { AccessContext, ClientInfo } from './types.ts'

/**
 * Resolves when `password` is the user's; otherwise counts a failed login for
 * this account and address, audits `failEvent`, and throws invalid_credentials.
 */
export async function checkCurrentPassword(
  ctx: FlowContext,
  user: UserRecord,
  password: string,
  request: { access: AccessContext; client: ClientInfo; failEvent: string },
): Promise<void> {
  const ip = request.client.ip ?? 'unknown'
  await ctx.rateLimits.checkLogin(user.email, ip)
  const verdict = await ctx.passwords.verify(user.passwordHash, password)
  if (verdict.ok) return
  await ctx.rateLimits.loginFailed(user.email, ip)
  await ctx.audit(request.failEvent, request.client, {
    userId: user.id,
    sessionId: request.access.sessionId,
  })
  throw new AuthError('invalid_credentials', 'the current password is wrong')
}
