// Step-up (PRODUCT.md, "Second factors"): changing the password, the email
// or a second factor needs an authentication at most TESSERA_REAUTH_WINDOW
// old. The session's record decides (not the access token's `auth_time`),
// so a re-authentication counts at once, on every instance.

import type { SessionRecord } from '../storage/ports.ts'
import type { FlowContext } from './context.ts'
import { AuthError } from './errors.ts'
import type { AccessContext } from './types.ts'

/** The caller's session, when its last authentication is recent enough; else reauthentication_required. */
export async function requireRecentAuth(
  ctx: FlowContext,
  access: AccessContext,
): Promise<SessionRecord> {
  const session = await ctx.store.sessions.findSession(access.sessionId)
  if (session === undefined || session.revokedAt !== null) {
    throw new AuthError('invalid_token', 'the session has ended')
  }
  const window = ctx.config.reauthWindow
  if (ctx.now() - session.authTime > window * 1000) {
    throw new AuthError(
      'reauthentication_required',
      `confirm it is you (POST /auth/reauthenticate): the last sign-in of this session is more than ${Math.round(window / 60)} minutes old`,
    )
  }
  return session
}
