// Enrolment at sign-in (TESSERA_MFA=required): with the enrolment token of a
// sign-in's answer, set up an authenticator app; its first code finishes the
// sign-in.

import type { AuthService, MfaEnrollmentFlows } from '../../auth/types.ts'
import { clientWithProof } from '../plugins/dpop.ts'
import { clientInfo } from '../plugins/request-context.ts'
import { NoQuery, withErrors } from '../schemas/common.ts'
import { TotpEnrollment } from '../schemas/mfa.ts'
import { EnrolledResponse, EnrollmentBody, EnrollmentCodeBody } from '../schemas/mfa-enrollment.ts'
import type { RouteDeps, TypedApp } from './deps.ts'
import { tokenResponse } from './token-response.ts'

const TAGS = ['mfa']

export function registerMfaEnrollmentRoutes(
  app: TypedApp,
  deps: Omit<RouteDeps<MfaEnrollmentFlows & Pick<AuthService, 'dpop'>>, 'authenticate'>,
): void {
  const { auth, config } = deps

  app.post(
    '/auth/mfa/enroll/totp',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Set up an authenticator app to finish a sign-in (TESSERA_MFA=required)',
        description:
          'With the `mfaToken` of a sign-in answered `{mfaEnrollmentRequired: true}`: the secret, as a URI and a QR code.',
        body: EnrollmentBody,
        response: withErrors({ 200: TotpEnrollment }),
      },
    },
    async (request) => auth.startTotpEnrollment(request.body, clientInfo(request)),
  )

  app.post(
    '/auth/mfa/enroll/totp/confirm',
    {
      schema: {
        tags: TAGS,
        querystring: NoQuery,
        summary: 'Confirm the app with its first code, and finish the sign-in',
        description:
          'Answers as POST /auth/login does, plus 10 recovery codes, shown this once. 5 wrong codes end the enrolment token.',
        body: EnrollmentCodeBody,
        response: withErrors({ 200: EnrolledResponse }),
      },
    },
    async (request, reply) => {
      const { recoveryCodes, ...result } = await auth.finishTotpEnrollment(
        request.body,
        await clientWithProof(request, reply, deps),
      )
      return { ...tokenResponse(config, request, reply, result), recoveryCodes }
    },
  )
}
