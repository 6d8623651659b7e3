// Second factors (PRODUCT.md, "Second factors"): an authenticator app (TOTP)
// with recovery codes, the sign-in's second step, and re-authentication for
// step-up. Every change to a factor needs a recent authentication (step-up.ts)
// and mails the owner a notice; every code is accepted once, on every
// instance (the store decides: FactorStore.useTotpStep, useRecoveryCode).
// A passkey's answer, in the second step or a re-authentication, is checked
// by passkeys.ts.

import type { UserRecord } from '../storage/ports.ts'
import type { FlowContext } from './context.ts'
import { checkCurrentPassword } from './current-password.ts'
import { AuthError } from './errors.ts'
import { factorRemoved, issueRecoveryCodes, queueFactorNotice } from './factor-changes.ts'
import { provePasskeyForMfa, provePasskeyForReauth } from './passkeys.ts'
import { hashRecoveryCode } from './recovery-codes.ts'
import { type FirstStep, hashChallengeToken, identityProviderOf, startSignedIn } from './sign-in.ts'
import { requireRecentAuth } from './step-up.ts'
import { newTotpSecret, qrSvg, totpSealContext, totpStep, totpUri } from './totp.ts'
import type { MfaFlows, MfaMethod } from './types.ts'

/** A factor proved by a code: a TOTP code or a recovery code (passkeys: passkeys.ts). */
type CodeMethod = Exclude<MfaMethod, 'passkey'>

const invalidSecondStep = () =>
  new AuthError('invalid_code', 'the sign-in step has expired or was used: sign in again')

export function createMfaFlows(ctx: FlowContext): MfaFlows {
  const { config, store, sealer, rateLimits, metrics, audit, mail, profiles, now } = ctx

  /** The RFC 8176 methods `code` proves for `user` by `method`, or undefined when it proves nothing. */
  async function proveWithCode(
    user: UserRecord,
    method: CodeMethod,
    code: string,
  ): Promise<string[] | undefined> {
    if (method === 'recovery_code') {
      const hash = hashRecoveryCode(user.id, code)
      if (hash === undefined || !(await store.factors.useRecoveryCode(user.id, hash, now()))) {
        return undefined
      }
      const left = await store.factors.countRecoveryCodes(user.id)
      await audit('mfa.recovery_code_used', null, { userId: user.id }, { left })
      return ['otp']
    }
    const totp = await store.factors.findTotp(user.id)
    if (totp === undefined || totp.confirmedAt === null) return undefined
    const step = totpStep(sealer.open(totp.sealedSecret, totpSealContext(user.id)), code, now())
    // A code is good for its step once: a replay (here or on another instance) is refused.
    if (step === undefined || !(await store.factors.useTotpStep(user.id, step))) return undefined
    return ['otp']
  }

  return {
    async mfaStatus(access) {
      const user = await profiles.requireUser(access, 'cached')
      return await store.factors.summary(user.id)
    },

    async enrollTotp(access, client) {
      const user = await profiles.requireUser(access)
      await requireRecentAuth(ctx, access)
      const secret = newTotpSecret()
      const started = await store.factors.startTotp({
        userId: user.id,
        sealedSecret: sealer.seal(secret, totpSealContext(user.id)),
        createdAt: now(),
      })
      if (started === 'exists') {
        throw new AuthError('forbidden', 'an authenticator app is set up already: remove it first')
      }
      await audit('mfa.totp_started', client, { userId: user.id, sessionId: access.sessionId })
      const otpauthUrl = totpUri(secret, config.brandName, user.email)
      return { secret, otpauthUrl, qrSvg: qrSvg(otpauthUrl) }
    },

    async confirmTotp(access, input, client) {
      const user = await profiles.requireUser(access)
      await requireRecentAuth(ctx, access)
      const totp = await store.factors.findTotp(user.id)
      if (totp === undefined || totp.confirmedAt !== null) {
        throw new AuthError(
          'not_found',
          'no authenticator app is being set up: start with POST /auth/mfa/totp/enroll',
        )
      }
      const ip = client.ip ?? 'unknown'
      await rateLimits.checkLogin(user.email, ip)
      const step = totpStep(
        sealer.open(totp.sealedSecret, totpSealContext(user.id)),
        input.code,
        now(),
      )
      if (step === undefined) {
        await rateLimits.loginFailed(user.email, ip)
        throw new AuthError('invalid_code', 'the code is not valid: check the time on the phone')
      }
      const codes = await store.atomically(async () => {
        if (!(await store.factors.confirmTotp(user.id, now(), step))) return undefined
        await queueFactorNotice(ctx, user, 'factor_added', 'authenticator_app')
        return await issueRecoveryCodes(ctx, user.id)
      })
      // Confirmed meanwhile by a racing request: that one showed the codes.
      if (codes === undefined)
        throw new AuthError('not_found', 'the authenticator app is set up already')
      mail.wake()
      await audit('mfa.totp_enabled', client, { userId: user.id, sessionId: access.sessionId })
      return { recoveryCodes: codes }
    },

    async removeTotp(access, client) {
      const user = await profiles.requireUser(access)
      await requireRecentAuth(ctx, access)
      const removed = await store.atomically(async () => {
        if (!(await store.factors.deleteTotp(user.id))) return false
        await factorRemoved(ctx, user, 'authenticator_app')
        return true
      })
      if (!removed) throw new AuthError('not_found', 'no authenticator app is set up')
      mail.wake()
      await audit('mfa.totp_removed', client, { userId: user.id, sessionId: access.sessionId })
    },

    async regenerateRecoveryCodes(access, client) {
      const user = await profiles.requireUser(access)
      await requireRecentAuth(ctx, access)
      const { totp, passkeys } = await store.factors.summary(user.id)
      if (!totp && passkeys === 0) {
        throw new AuthError('forbidden', 'set up an authenticator app or a passkey first')
      }
      const codes = await store.atomically(() => issueRecoveryCodes(ctx, user.id))
      await audit('mfa.recovery_codes_replaced', client, {
        userId: user.id,
        sessionId: access.sessionId,
      })
      return { recoveryCodes: codes }
    },

    async verifyMfa(input, client) {
      const hash = hashChallengeToken(input.mfaToken)
      const challenge = await store.challenges.findChallenge(hash, 'mfa', now())
      if (challenge?.userId == null) throw invalidSecondStep()
      const user = await store.users.findUserById(challenge.userId)
      if (user === undefined || user.disabled) throw invalidSecondStep()
      // Throttled like the password: per account and address, never a lockout of the owner.
      const ip = client.ip ?? 'unknown'
      await rateLimits.checkLogin(user.email, ip)
      const proved =
        input.method === 'passkey'
          ? await provePasskeyForMfa(ctx, user, hash, input.response, client)
          : await proveWithCode(user, input.method, input.code)
      if (proved === undefined) {
        const left = await store.challenges.countChallengeFailure(hash, now())
        await rateLimits.loginFailed(user.email, ip)
        metrics.inc('logins_failed')
        await audit(
          'mfa.failed',
          client,
          { userId: user.id },
          { method: input.method, triesLeft: left ?? 0 },
        )
        throw new AuthError(
          'invalid_code',
          input.method === 'passkey' ? 'the passkey was not accepted' : 'the code is not valid',
        )
      }
      // Of two racing right answers, one signs in.
      const spent = await store.challenges.consumeChallenge(hash, 'mfa', now())
      if (spent === undefined) throw invalidSecondStep()
      const first = JSON.parse(spent.data) as FirstStep
      return await startSignedIn(
        ctx,
        user,
        [...new Set([...first.amr, ...proved, 'mfa'])],
        client,
        {
          method: first.method,
          mfa: input.method,
        },
        identityProviderOf(first),
      )
    },

    async reauthenticate(access, input, client) {
      const user = await profiles.requireUser(access)
      let proved: string[]
      let method: string
      if ('password' in input) {
        await checkCurrentPassword(ctx, user, input.password, {
          access,
          client,
          failEvent: 'session.reauthentication_failed',
        })
        proved = ['pwd']
        method = 'password'
      } else {
        const ip = client.ip ?? 'unknown'
        await rateLimits.checkLogin(user.email, ip)
        const result =
          input.method === 'passkey'
            ? await provePasskeyForReauth(ctx, access, input, client)
            : await proveWithCode(user, input.method, input.code)
        if (result === undefined) {
          await rateLimits.loginFailed(user.email, ip)
          await audit('session.reauthentication_failed', client, {
            userId: user.id,
            sessionId: access.sessionId,
          })
          throw new AuthError(
            'invalid_code',
            input.method === 'passkey' ? 'the passkey was not accepted' : 'the code is not valid',
          )
        }
        proved = result
        method = input.method
      }
      const current = await store.sessions.findSession(access.sessionId)
      // What the session proved before still stands; the new proof renews when.
      const amr = [...new Set([...(current?.amr ?? []), ...proved])]
      const session = await store.sessions.reauthenticate(access.sessionId, now(), amr)
      if (session === undefined) throw new AuthError('invalid_token', 'the session has ended')
      await audit(
        'session.reauthenticated',
        client,
        { userId: user.id, sessionId: session.id },
        { method },
      )
      // A session bound to a DPoP key, or a bound access token (proved with
      // its key to reach this route), gets its new access token bound alike.
      const cnf = (access.claims as { cnf?: { jkt?: unknown } }).cnf
      const jkt =
        session.dpopJkt ?? (typeof cnf?.jkt === 'string' ? cnf.jkt : undefined) ?? client.dpopJkt
      const tokens = ctx.tokens.issueTokens(user, session, '', 0, jkt === undefined ? {} : { jkt })
      return {
        accessToken: tokens.accessToken,
        tokenType: tokens.tokenType,
        expiresIn: tokens.expiresIn,
      }
    },
  }
}
