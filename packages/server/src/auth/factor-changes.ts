// What every change of a second factor shares (the authenticator app,
// passkeys, an admin's reset, enrolment at sign-in): new recovery codes,
// and the notice that tells the owner. Both run inside the change's
// Store.atomically.

import type { UserRecord } from '../storage/ports.ts'
import type { FlowContext } from './context.ts'
import { AuthError } from './errors.ts'
import { hashRecoveryCode, newRecoveryCodes } from './recovery-codes.ts'

/** Which factor a notice names (mail/templates.ts FACTOR_WORDS). */
export type FactorName = 'authenticator_app' | 'passkey' | 'all_factors'

/** Queues the `factor_added` or `factor_removed` notice to the owner. */
export async function queueFactorNotice(
  ctx: FlowContext,
  user: Pick<UserRecord, 'id' | 'email' | 'name'>,
  change: 'factor_added' | 'factor_removed',
  factor: FactorName,
): Promise<void> {
  await ctx.mail.queue({
    to: user.email,
    template: change,
    userId: user.id,
    data: { factor, name: user.name, link: `${ctx.config.issuer}/account` },
  })
}

/** Ten new recovery codes for `user`, replacing the old; returns them to show once. */
export async function issueRecoveryCodes(ctx: FlowContext, userId: string): Promise<string[]> {
  const codes = newRecoveryCodes()
  const hashes = codes.map((code) => hashRecoveryCode(userId, code) ?? '')
  await ctx.store.factors.replaceRecoveryCodes(userId, hashes, ctx.now())
  return codes
}

/**
 * After a factor was deleted (inside the same Store.atomically): with none
 * left, the recovery codes go too (they stand in for a factor), and with
 * TESSERA_MFA=required the removal is refused (the throw rolls it back).
 * Then the owner's notice.
 */
export async function factorRemoved(
  ctx: FlowContext,
  user: Pick<UserRecord, 'id' | 'email' | 'name'>,
  factor: FactorName,
): Promise<void> {
  const { totp, passkeys } = await ctx.store.factors.summary(user.id)
  if (!totp && passkeys === 0) {
    if (ctx.config.mfa === 'required') {
      throw new AuthError(
        'forbidden',
        'this server requires a second factor: add another one before removing this one',
      )
    }
    await ctx.store.factors.deleteRecoveryCodes(user.id)
  }
  await queueFactorNotice(ctx, user, 'factor_removed', factor)
}
