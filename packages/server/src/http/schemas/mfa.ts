// Schemas of the second-factor routes (/auth/mfa/*, /auth/reauthenticate).

import { Type } from '@sinclair/typebox'
import { Password } from './common.ts'

const SixDigits = Type.String({
  minLength: 6,
  maxLength: 6,
  pattern: '^[0-9]{6}$',
  description: 'The 6-digit code the authenticator app shows.',
  errorMessage: 'must be the 6 digits the app shows',
})

/** A TOTP code, or a recovery code (`xxxx-xxxx`; case, spaces and dashes do not matter). */
const FactorCode = Type.String({
  minLength: 6,
  maxLength: 32,
  pattern: '^[A-Za-z0-9 -]+$',
  description: 'A 6-digit TOTP code, or a recovery code.',
  errorMessage: 'must be a 6-digit code or a recovery code',
})

const CodeMethod = Type.Union([Type.Literal('totp'), Type.Literal('recovery_code')])

export const MfaStatus = Type.Object(
  {
    totp: Type.Boolean({ description: 'An authenticator app is set up.' }),
    passkeys: Type.Integer({ description: 'How many passkeys.' }),
    recoveryCodes: Type.Integer({ description: 'How many unused recovery codes.' }),
  },
  { additionalProperties: false },
)

export const TotpEnrollment = Type.Object(
  {
    secret: Type.String({ description: 'Base32, for typing into an app by hand.' }),
    otpauthUrl: Type.String({ description: 'The `otpauth://totp/…` URI the QR code holds.' }),
    qrSvg: Type.String({ description: 'The QR code as an SVG document.' }),
  },
  { additionalProperties: false },
)

export const CodeBody = Type.Object({ code: SixDigits }, { additionalProperties: false })

export const RecoveryCodes = Type.Object(
  {
    recoveryCodes: Type.Array(Type.String(), {
      description: 'Shown this once; each works once.',
    }),
  },
  { additionalProperties: false },
)

export const MfaVerifyBody = Type.Object(
  {
    mfaToken: Type.String({ minLength: 43, maxLength: 43, pattern: '^[A-Za-z0-9_-]{43}$' }),
    method: CodeMethod,
    code: FactorCode,
  },
  { additionalProperties: false },
)

/** `{password}`, or `{method, code}` with a second factor (the route says which part is missing). */
export const ReauthenticateBody = Type.Object(
  {
    password: Type.Optional(Password),
    method: Type.Optional(CodeMethod),
    code: Type.Optional(FactorCode),
  },
  { additionalProperties: false, minProperties: 1 },
)

export const AccessTokenResponse = Type.Object(
  {
    accessToken: Type.String(),
    tokenType: Type.Literal('Bearer'),
    expiresIn: Type.Integer({ description: 'Seconds until the access token expires.' }),
  },
  { additionalProperties: false },
)
