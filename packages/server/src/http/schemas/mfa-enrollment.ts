// Schemas of enrolment at sign-in (TESSERA_MFA=required).

import { Type } from '@sinclair/typebox'
import { TokenResponse } from './auth.ts'

const MfaToken = Type.String({
  minLength: 43,
  maxLength: 43,
  pattern: '^[A-Za-z0-9_-]{43}$',
  description: 'The `mfaToken` of the sign-in answer `{mfaEnrollmentRequired: true, …}`.',
  errorMessage: 'must be the mfaToken of the sign-in answer',
})

export const EnrollmentBody = Type.Object({ mfaToken: MfaToken }, { additionalProperties: false })

export const EnrollmentCodeBody = Type.Object(
  {
    mfaToken: MfaToken,
    code: Type.String({
      minLength: 6,
      maxLength: 6,
      pattern: '^[0-9]{6}$',
      description: 'The first code the authenticator app shows.',
      errorMessage: 'must be the 6 digits the app shows',
    }),
  },
  { additionalProperties: false },
)

/** The login response, with the recovery codes of the new factor (shown this once). */
export const EnrolledResponse = Type.Object(
  {
    ...TokenResponse.properties,
    recoveryCodes: Type.Array(Type.String(), { description: 'Shown this once; each works once.' }),
  },
  { additionalProperties: false },
)
