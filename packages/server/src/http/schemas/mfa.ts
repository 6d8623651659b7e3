// Schemas of the second-factor routes (/auth/mfa/*, /auth/reauthenticate).

import { Type } from '@sinclair/typebox'
import { Password } from './common.ts'
import { AuthenticationResponse } from './passkeys.ts'

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

/** How the second factor is proved: a code (`totp`, `recovery_code`) or a passkey's `response`. */
const FactorMethod = Type.Union([
  Type.Literal('totp'),
  Type.Literal('recovery_code'),
  Type.Literal('passkey'),
])

const ChallengeId = Type.String({
  minLength: 43,
  maxLength: 43,
  pattern: '^[A-Za-z0-9_-]{43}$',
  errorMessage: 'must be the challengeId of the options',
  description: 'With a passkey: the `challengeId` of POST /auth/reauthenticate/passkey/options.',
})

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

/** `{mfaToken, method, code}`, or `{mfaToken, method: "passkey", response}` (the route says which part is missing). */
export const MfaVerifyBody = Type.Object(
  {
    mfaToken: Type.String({ minLength: 43, maxLength: 43, pattern: '^[A-Za-z0-9_-]{43}$' }),
    method: FactorMethod,
    code: Type.Optional(FactorCode),
    response: Type.Optional(AuthenticationResponse),
  },
  { additionalProperties: false },
)

/**
 * `{password}`, `{method, code}` with a code, or `{method: "passkey",
 * response, challengeId}` (the route says which part is missing).
 */
export const ReauthenticateBody = Type.Object(
  {
    password: Type.Optional(Password),
    method: Type.Optional(FactorMethod),
    code: Type.Optional(FactorCode),
    response: Type.Optional(AuthenticationResponse),
    challengeId: Type.Optional(ChallengeId),
  },
  { additionalProperties: false, minProperties: 1 },
)

export const AccessTokenResponse = Type.Object(
  {
    accessToken: Type.String(),
    tokenType: Type.Union([Type.Literal('Bearer'), Type.Literal('DPoP')], {
      description:
        'DPoP when the request carried a DPoP proof: the access token is bound to its key (RFC 9449).',
    }),
    expiresIn: Type.Integer({ description: 'Seconds until the access token expires.' }),
  },
  { additionalProperties: false },
)
