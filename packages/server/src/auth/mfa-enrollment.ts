// Enrolment at sign-in (TESSERA_MFA=required): an account without a second
// factor gets no tokens from its first step, only an enrolment token; with it
// the user sets up an authenticator app, and the first code that confirms the
// app also finishes the sign-in. Nothing is usable before a factor exists.

import type { FlowContext } from './context.ts'
import { AuthError } from './errors.ts'
import { issueRecoveryCodes, queueFactorNotice } from './factor-changes.ts'
import { type FirstStep, hashChallengeToken, identityProviderOf, startSignedIn } from './sign-in.ts'
import { newTotpSecret, qrSvg, totpSealContext, totpStep, totpUri } from './totp.ts'
import type { MfaEnrollmentFlows } from './types.ts'

const expired = () =>
  new AuthError('invalid_code', 'the sign-in has expired or was used: sign in again')

export function createMfaEnrollmentFlows(ctx: FlowContext): MfaEnrollmentFlows {
  const { config, store, sealer, rateLimits, metrics, audit, mail, now } = ctx

  /** The live enrolment of this token, and its account. */
  async function enrolment(mfaToken: string) {
    const hash = hashChallengeToken(mfaToken)
    const challenge = await store.challenges.findChallenge(hash, 'mfa_enrollment', now())
    if (challenge?.userId == null) throw expired()
    const user = await store.users.findUserById(challenge.userId)
    if (user === undefined || user.disabled) throw expired()
    return { hash, user }
  }

  return {
    async startTotpEnrollment(input, client) {
      const { user } = await enrolment(input.mfaToken)
      const secret = newTotpSecret()
      const started = await store.factors.startTotp({
        userId: user.id,
        sealedSecret: sealer.seal(secret, totpSealContext(user.id)),
        createdAt: now(),
      })
      // Set up meanwhile (another tab): that sign-in asks for it now.
      if (started === 'exists') throw expired()
      await audit('mfa.totp_started', client, { userId: user.id })
      const otpauthUrl = totpUri(secret, config.brandName, user.email)
      return { secret, otpauthUrl, qrSvg: qrSvg(otpauthUrl) }
    },

    async finishTotpEnrollment(input, client) {
      const { hash, user } = await enrolment(input.mfaToken)
      const ip = client.ip ?? 'unknown'
      await rateLimits.checkLogin(user.email, ip)
      const totp = await store.factors.findTotp(user.id)
      const step =
        totp === undefined || totp.confirmedAt !== null
          ? undefined
          : totpStep(sealer.open(totp.sealedSecret, totpSealContext(user.id)), input.code, now())
      if (step === undefined) {
        await store.challenges.countChallengeFailure(hash, now())
        await rateLimits.loginFailed(user.email, ip)
        metrics.inc('logins_failed')
        await audit('mfa.failed', client, { userId: user.id }, { method: 'totp', enrolling: true })
        throw new AuthError('invalid_code', 'the code is not valid: check the time on the phone')
      }
      const spent = await store.challenges.consumeChallenge(hash, 'mfa_enrollment', now())
      if (spent === undefined) throw expired()
      const recoveryCodes = await store.atomically(async () => {
        if (!(await store.factors.confirmTotp(user.id, now(), step))) return undefined
        await queueFactorNotice(ctx, user, 'factor_added', 'authenticator_app')
        return await issueRecoveryCodes(ctx, user.id)
      })
      if (recoveryCodes === undefined) throw expired()
      mail.wake()
      await audit('mfa.totp_enabled', client, { userId: user.id })
      const first = JSON.parse(spent.data) as FirstStep
      const result = await startSignedIn(
        ctx,
        user,
        [...new Set([...first.amr, 'otp', 'mfa'])],
        client,
        { method: first.method, mfa: 'totp', enrolled: true },
        identityProviderOf(first),
      )
      return { ...result, recoveryCodes }
    },
  }
}
