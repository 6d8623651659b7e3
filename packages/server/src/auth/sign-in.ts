// The end of every sign-in (password, mailed code or link): an account with
// a second factor gets the MFA challenge instead of tokens; the others (and
// the challenge, once met) get a session whose tokens say how (`amr`) and
// when (`auth_time`) the user authenticated.

import { createHash, randomBytes } from 'node:crypto'
import type { UserRecord } from '../storage/ports.ts'
import type { FlowContext } from './context.ts'
import type { AuthResult, ClientInfo, MfaMethod, SignInResult } from './types.ts'

/** The MFA token lives 5 minutes and allows 5 wrong tries (PRODUCT.md). */
export const MFA_CHALLENGE_TTL_MS = 5 * 60_000
export const MFA_CHALLENGE_TRIES = 5
/** Setting up an app takes longer than typing a code: an enrolment token lives 15 minutes. */
export const MFA_ENROLLMENT_TTL_MS = 15 * 60_000

/** What the MFA challenge remembers of the first step. */
export interface FirstStep {
  /** Its RFC 8176 methods: `pwd` for a password, `otp` for a mailed code or link, `fed` for a provider. */
  amr: string[]
  /** The audit's name for it (`password`, `email_code`, `email_link`, `federation:<provider id>`). */
  method: string
  /** The social-login provider (its id), when the first step was one; read from `method` otherwise. */
  idp?: string
}

const FEDERATION_METHOD = 'federation:'

/**
 * The provider a first step signed in at: `idp`, or the id in a
 * `federation:<id>` method (what the federation flow passes, and what an MFA
 * challenge stored before `idp` existed holds); undefined for the others.
 */
export function identityProviderOf(first: FirstStep): string | undefined {
  if (first.idp !== undefined) return first.idp
  return first.method.startsWith(FEDERATION_METHOD)
    ? first.method.slice(FEDERATION_METHOD.length) || undefined
    : undefined
}

export function hashChallengeToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

/** The second factors `user` can finish a sign-in with, in the order the API lists them. */
export async function factorsOf(ctx: FlowContext, userId: string): Promise<MfaMethod[]> {
  const { totp, passkeys, recoveryCodes } = await ctx.store.factors.summary(userId)
  const methods: MfaMethod[] = []
  if (totp) methods.push('totp')
  if (passkeys > 0) methods.push('passkey')
  // Recovery codes stand in for a factor; alone they are none.
  if (methods.length > 0 && recoveryCodes > 0) methods.push('recovery_code')
  return methods
}

/** The second factors a sign-in can set up when TESSERA_MFA=required. */
export const ENROLLABLE: readonly MfaMethod[] = Object.freeze(['totp'])

/**
 * Finishes a sign-in whose first step `first` succeeded: the MFA challenge
 * when the account has a second factor; with TESSERA_MFA=required and none,
 * the enrolment answer; else a new session. Audits each.
 */
export async function finishSignIn(
  ctx: FlowContext,
  user: UserRecord,
  first: FirstStep,
  client: ClientInfo,
): Promise<SignInResult> {
  const methods = await factorsOf(ctx, user.id)
  if (methods.length > 0) {
    const mfaToken = await newChallenge(ctx, user, 'mfa', first, MFA_CHALLENGE_TTL_MS)
    await ctx.audit('login.mfa_challenged', client, { userId: user.id }, { method: first.method })
    return { mfaRequired: true, mfaToken, methods }
  }
  if (ctx.config.mfa === 'required') {
    const mfaToken = await newChallenge(ctx, user, 'mfa_enrollment', first, MFA_ENROLLMENT_TTL_MS)
    await ctx.audit(
      'login.mfa_enrollment_required',
      client,
      { userId: user.id },
      {
        method: first.method,
      },
    )
    return { mfaEnrollmentRequired: true, mfaToken, methods: [...ENROLLABLE] }
  }
  return await startSignedIn(
    ctx,
    user,
    first.amr,
    client,
    { method: first.method },
    identityProviderOf(first),
  )
}

/** Stores a challenge that remembers the first step (its provider too); returns its opaque token. */
async function newChallenge(
  ctx: FlowContext,
  user: UserRecord,
  kind: 'mfa' | 'mfa_enrollment',
  first: FirstStep,
  ttlMs: number,
): Promise<string> {
  const token = randomBytes(32).toString('base64url')
  const at = ctx.now()
  const idp = identityProviderOf(first)
  const remembered: FirstStep = { ...first, ...(idp === undefined ? {} : { idp }) }
  await ctx.store.challenges.createChallenge({
    hash: hashChallengeToken(token),
    kind,
    userId: user.id,
    data: JSON.stringify(remembered),
    createdAt: at,
    expiresAt: at + ttlMs,
    maxAttempts: MFA_CHALLENGE_TRIES,
  })
  return token
}

/**
 * A new session for a user who has proven who they are by `amr` (and, after
 * a social login, at provider `idp`: its tokens' `idp` claim); audited as
 * `login`. Only now is the login back-off of this account and address
 * cleared: a right password alone (with a second step to go) must not clear
 * it, or every new challenge would bring five fresh guesses.
 */
export async function startSignedIn(
  ctx: FlowContext,
  user: UserRecord,
  amr: readonly string[],
  client: ClientInfo,
  details: Record<string, unknown>,
  idp?: string,
): Promise<AuthResult> {
  await ctx.rateLimits.loginSucceeded(user.email, client.ip ?? 'unknown')
  ctx.metrics.inc('logins')
  const result = await ctx.tokens.startSession(user, client, amr, { idp })
  await ctx.audit('login', client, { userId: user.id, sessionId: result.sessionId }, details)
  return result
}
