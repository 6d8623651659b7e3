// Schemas of the /auth routes.

import { Type } from '@sinclair/typebox'
import { Email, Password, PublicUser, RefreshToken, Text } from './common.ts'

export const SignupBody = Type.Object(
  {
    email: Email,
    password: Password,
    name: Type.Optional(Text(200, 'Display name.')),
  },
  { additionalProperties: false },
)

export const LoginBody = Type.Object(
  { email: Email, password: Password },
  { additionalProperties: false },
)

/** Optional: a browser sends no body and is authenticated by its cookie. */
export const RefreshBody = Type.Object(
  { refreshToken: Type.Optional(RefreshToken) },
  { additionalProperties: false },
)

export const LogoutBody = RefreshBody

export const PasswordBody = Type.Object(
  { currentPassword: Password, newPassword: Password },
  { additionalProperties: false },
)

/**
 * Signup, login and refresh. `refreshToken` is present for native clients
 * only; browser clients (header `X-Tessera-CSRF: 1`) get it as the
 * `tessera_refresh` cookie instead.
 */
export const TokenResponse = Type.Object(
  {
    user: PublicUser,
    accessToken: Type.String(),
    tokenType: Type.Union([Type.Literal('Bearer'), Type.Literal('DPoP')], {
      description:
        'DPoP when the request carried a DPoP proof: the access token is bound to its key (RFC 9449).',
    }),
    expiresIn: Type.Integer({ description: 'Seconds until the access token expires.' }),
    refreshToken: Type.Optional(Type.String({ description: 'Native clients only.' })),
  },
  { additionalProperties: false },
)

/** A sign-in of an account with a second factor: no tokens until POST /auth/mfa/verify. */
export const MfaChallengeResponse = Type.Object(
  {
    mfaRequired: Type.Literal(true),
    mfaToken: Type.String({
      description: 'Opaque; for POST /auth/mfa/verify, once, within 5 minutes.',
    }),
    methods: Type.Array(
      Type.Union([Type.Literal('totp'), Type.Literal('passkey'), Type.Literal('recovery_code')]),
    ),
  },
  { additionalProperties: false },
)

/** TESSERA_MFA=required and no factor yet: set one up with the token (POST /auth/mfa/enroll/totp). */
export const MfaEnrollmentResponse = Type.Object(
  {
    mfaEnrollmentRequired: Type.Literal(true),
    mfaToken: Type.String({
      description: 'Opaque; for POST /auth/mfa/enroll/*, within 15 minutes.',
    }),
    methods: Type.Array(
      Type.Union([Type.Literal('totp'), Type.Literal('passkey'), Type.Literal('recovery_code')]),
      { description: 'What can be set up.' },
    ),
  },
  { additionalProperties: false },
)

/** What a sign-in answers: the tokens, the MFA challenge, or the enrolment a factor needs first. */
export const SignInResponse = Type.Union([
  TokenResponse,
  MfaChallengeResponse,
  MfaEnrollmentResponse,
])

export const SessionView = Type.Object(
  {
    id: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Type.String({ format: 'date-time' }),
    expiresAt: Type.String({ format: 'date-time' }),
    userAgent: Type.Union([Type.String(), Type.Null()]),
    ip: Type.Union([Type.String(), Type.Null()]),
    current: Type.Boolean({ description: 'The session of the token making the request.' }),
  },
  { additionalProperties: false },
)

export const SessionList = Type.Object(
  { sessions: Type.Array(SessionView) },
  { additionalProperties: false },
)

/** A request accepted for processing: a mail may be on its way (202). */
export const Accepted = Type.Object(
  { status: Type.Literal('verification_sent') },
  { additionalProperties: false },
)

export const EmailBody = Type.Object({ email: Email }, { additionalProperties: false })

/** A mailed link's token: 43 base64url characters (32 random bytes). */
const LinkToken = Type.String({
  minLength: 43,
  maxLength: 43,
  pattern: '^[A-Za-z0-9_-]{43}$',
  description: 'The `token` query parameter of the mailed link.',
})

export const TokenBody = Type.Object({ token: LinkToken }, { additionalProperties: false })

/**
 * A mailed sign-in code with its address, or the token of the mail's link:
 * `{email, code}` or `{token}` (the route says which is missing).
 */
export const SignInByMailBody = Type.Object(
  {
    email: Type.Optional(Email),
    code: Type.Optional(
      Type.String({
        minLength: 6,
        maxLength: 6,
        pattern: '^[0-9]{6}$',
        description: 'The 6-digit code of the mail, with `email`.',
        errorMessage: 'must be the 6 digits of the mailed code',
      }),
    ),
    token: Type.Optional(LinkToken),
  },
  { additionalProperties: false, minProperties: 1 },
)

export const EmailChangeBody = Type.Object(
  { newEmail: Email, currentPassword: Password },
  { additionalProperties: false },
)

export const UserResponse = Type.Object({ user: PublicUser }, { additionalProperties: false })

export const ResetBody = Type.Object(
  {
    token: LinkToken,
    newPassword: Password,
  },
  { additionalProperties: false },
)
