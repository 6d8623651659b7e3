// Schemas of the passkey routes (/auth/passkeys/*, /auth/mfa/passkey/options,
// /auth/reauthenticate/passkey/options) and of the WebAuthn answers that
// /auth/mfa/verify and /auth/reauthenticate take too.
//
// A browser's answer (`PublicKeyCredential.toJSON()`, WebAuthn Level 3
// §5.1) is checked for shape and size only: every binary field is capped
// base64url, the objects inside may carry members a newer browser adds
// (WebAuthn grows them; refusing them would lock out those users), and
// @simplewebauthn/server checks the content.

import { type Static, Type } from '@sinclair/typebox'

/** Unpadded base64url as browsers send it (padding tolerated), at most `maxLength` characters. */
const Base64Url = (maxLength: number, description?: string) =>
  Type.String({
    minLength: 1,
    maxLength,
    pattern: '^[A-Za-z0-9_-]+={0,2}$',
    errorMessage: 'must be base64url',
    ...(description === undefined ? {} : { description }),
  })

/** A credential id: at most 1023 bytes (WebAuthn §4, "Credential ID"), 1364 characters of base64url. */
export const CredentialId = Base64Url(1364, 'The WebAuthn credential id (base64url).')

/** The opaque id of a ceremony's stored challenge: 256 random bits. */
const ChallengeId = Type.String({
  minLength: 43,
  maxLength: 43,
  pattern: '^[A-Za-z0-9_-]{43}$',
  errorMessage: 'must be the challengeId of the options',
  description: 'The `challengeId` of the options answer.',
})

/** Signatures and keys of post-quantum algorithms (ML-DSA) run to a few KiB: 4096 characters. */
const Blob = (description: string) => Base64Url(4096, description)

const Transports = Type.Array(
  Type.String({
    minLength: 1,
    maxLength: 32,
    pattern: '^[a-z-]+$',
    errorMessage: 'must be a transport name',
  }),
  { maxItems: 16 },
)

const ExtensionResults = Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), {
  maxProperties: 16,
  description: 'The client extension results.',
})

const Attachment = Type.String({ maxLength: 32, description: '`platform` or `cross-platform`.' })

/** `RegistrationResponseJSON`: the answer of navigator.credentials.create. */
export const RegistrationResponse = Type.Object(
  {
    id: CredentialId,
    rawId: CredentialId,
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: Blob('The client data, base64url.'),
        // Attestation statements with certificates take room; 'none' (what we ask) is small.
        attestationObject: Base64Url(12_000, 'The attestation object, base64url.'),
        authenticatorData: Type.Optional(Blob('The authenticator data, base64url.')),
        transports: Type.Optional(Transports),
        publicKeyAlgorithm: Type.Optional(Type.Integer()),
        publicKey: Type.Optional(Blob('The public key (SPKI), base64url.')),
      },
      { additionalProperties: true },
    ),
    authenticatorAttachment: Type.Optional(Attachment),
    clientExtensionResults: Type.Optional(ExtensionResults),
  },
  {
    additionalProperties: true,
    description: 'What `credential.toJSON()` gives after navigator.credentials.create.',
  },
)

/** `AuthenticationResponseJSON`: the answer of navigator.credentials.get. */
export const AuthenticationResponse = Type.Object(
  {
    id: CredentialId,
    rawId: CredentialId,
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: Blob('The client data, base64url.'),
        authenticatorData: Blob('The authenticator data, base64url.'),
        signature: Blob('The signature, base64url.'),
        userHandle: Type.Optional(Base64Url(128, 'The user handle (discoverable credentials).')),
      },
      { additionalProperties: true },
    ),
    authenticatorAttachment: Type.Optional(Attachment),
    clientExtensionResults: Type.Optional(ExtensionResults),
  },
  {
    additionalProperties: true,
    description: 'What `credential.toJSON()` gives after navigator.credentials.get.',
  },
)

export type RegistrationResponseBody = Static<typeof RegistrationResponse>
export type AuthenticationResponseBody = Static<typeof AuthenticationResponse>

/** The user's label for a passkey. */
const PasskeyName = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[^\\x00-\\x1f\\x7f]*$',
  errorMessage: 'must not contain control characters',
  description: 'A label for the passkey ("Work laptop").',
})

export const RegisterVerifyBody = Type.Object(
  {
    response: RegistrationResponse,
    challengeId: ChallengeId,
    name: Type.Optional(PasskeyName),
  },
  { additionalProperties: false },
)

export const LoginVerifyBody = Type.Object(
  { response: AuthenticationResponse, challengeId: ChallengeId },
  { additionalProperties: false },
)

export const RenameBody = Type.Object({ name: PasskeyName }, { additionalProperties: false })

export const PasskeyParams = Type.Object({ id: CredentialId }, { additionalProperties: false })

export const MfaTokenBody = Type.Object(
  {
    mfaToken: Type.String({
      minLength: 43,
      maxLength: 43,
      pattern: '^[A-Za-z0-9_-]{43}$',
      errorMessage: 'must be the mfaToken of the sign-in answer',
    }),
  },
  { additionalProperties: false },
)

const DateTime = Type.String({ format: 'date-time' })

export const PasskeyView = Type.Object(
  {
    id: Type.String({ description: 'The credential id (base64url).' }),
    name: Type.String(),
    createdAt: DateTime,
    lastUsedAt: Type.Union([DateTime, Type.Null()]),
    deviceType: Type.Union([Type.Literal('singleDevice'), Type.Literal('multiDevice')], {
      description:
        '`multiDevice`: synced by a passkey manager; `singleDevice`: bound to one authenticator.',
    }),
    backedUp: Type.Boolean({ description: 'Backed up (synced) now.' }),
  },
  { additionalProperties: false },
)

export const RegisteredPasskey = Type.Object(
  {
    ...PasskeyView.properties,
    recoveryCodes: Type.Optional(
      Type.Array(Type.String(), {
        description: "With the account's first factor: 10 recovery codes, shown this once.",
      }),
    ),
  },
  { additionalProperties: false },
)

export const PasskeyList = Type.Object(
  { passkeys: Type.Array(PasskeyView) },
  { additionalProperties: false },
)

// The options answers list every member SimpleWebAuthn emits: the
// serializer drops anything a schema does not name.

const Descriptor = Type.Object(
  {
    id: Type.String(),
    type: Type.String({ description: '`public-key`.' }),
    transports: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
)

const Extensions = Type.Object(
  { credProps: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
)

const Hints = Type.Array(Type.String())

const CHALLENGE_ID = Type.String({ description: 'Send it back with the answer.' })

export const CreationOptions = Type.Object(
  {
    challenge: Type.String(),
    rp: Type.Object(
      { name: Type.String(), id: Type.Optional(Type.String()) },
      { additionalProperties: false },
    ),
    user: Type.Object(
      { id: Type.String(), name: Type.String(), displayName: Type.String() },
      { additionalProperties: false },
    ),
    pubKeyCredParams: Type.Array(
      Type.Object(
        { alg: Type.Integer(), type: Type.String({ description: '`public-key`.' }) },
        { additionalProperties: false },
      ),
    ),
    timeout: Type.Optional(Type.Integer()),
    attestation: Type.Optional(Type.String()),
    excludeCredentials: Type.Optional(Type.Array(Descriptor)),
    authenticatorSelection: Type.Optional(
      Type.Object(
        {
          authenticatorAttachment: Type.Optional(Type.String()),
          residentKey: Type.Optional(Type.String()),
          requireResidentKey: Type.Optional(Type.Boolean()),
          userVerification: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    extensions: Type.Optional(Extensions),
    hints: Type.Optional(Hints),
    challengeId: CHALLENGE_ID,
  },
  {
    additionalProperties: false,
    description: "SimpleWebAuthn's PublicKeyCredentialCreationOptionsJSON, plus `challengeId`.",
  },
)

const requestMembers = {
  challenge: Type.String(),
  rpId: Type.Optional(Type.String()),
  allowCredentials: Type.Optional(Type.Array(Descriptor)),
  timeout: Type.Optional(Type.Integer()),
  userVerification: Type.Optional(Type.String()),
  extensions: Type.Optional(Extensions),
  hints: Type.Optional(Hints),
}

export const RequestOptions = Type.Object(requestMembers, {
  additionalProperties: false,
  description: "SimpleWebAuthn's PublicKeyCredentialRequestOptionsJSON.",
})

export const RequestOptionsWithId = Type.Object(
  { ...requestMembers, challengeId: CHALLENGE_ID },
  {
    additionalProperties: false,
    description: "SimpleWebAuthn's PublicKeyCredentialRequestOptionsJSON, plus `challengeId`.",
  },
)
