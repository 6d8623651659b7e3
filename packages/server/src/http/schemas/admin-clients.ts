// Schemas of /admin/clients: RFC 7591 client metadata in, the RFC 7591
// registration out.
//
// The body is strict like every other (an unknown member is
// validation_failed) although RFC 7591 §2 has a registration endpoint ignore
// metadata it does not understand: this is an administrator's API, not open
// registration, and a silently dropped misspelling (`scopes` for `scope`)
// would register a client with more than was meant. Every member RFC 7591
// and OpenID Connect Dynamic Client Registration define is accepted, so a
// client library's metadata goes through as it is; the domain
// (auth/oauth/clients.ts) ignores those it has no use for and refuses, with
// the reason, those it cannot honour.

import { type TSchema, Type } from '@sinclair/typebox'
import { Text } from './common.ts'

const MAX_URI = 2000

/** Printable text with no control characters: URIs, names, algorithm names. */
const Str = (maxLength: number, description?: string) =>
  Type.String({
    minLength: 1,
    maxLength,
    pattern: '^[^\\x00-\\x1f\\x7f]*$',
    errorMessage: 'must not contain control characters',
    ...(description === undefined ? {} : { description }),
  })

const Uri = Str(MAX_URI)
const UriList = Type.Array(Uri, { maxItems: 20 })
const Word = Str(100)

/** Members defined by RFC 7591 and OIDC Registration that Tessera has no use for: accepted, ignored. */
const IGNORED: Record<string, TSchema> = {
  client_uri: Uri,
  logo_uri: Uri,
  tos_uri: Uri,
  policy_uri: Uri,
  contacts: Type.Array(Str(254), { maxItems: 20 }),
  software_id: Str(200),
  software_version: Str(200),
  application_type: Type.Union([Type.Literal('web'), Type.Literal('native')]),
  sector_identifier_uri: Uri,
  default_max_age: Type.Integer({ minimum: 0, maximum: 31_536_000 }),
  require_auth_time: Type.Boolean(),
  default_acr_values: Type.Array(Word, { maxItems: 20 }),
  initiate_login_uri: Uri,
  request_uris: UriList,
  request_object_signing_alg: Word,
  request_object_encryption_alg: Word,
  request_object_encryption_enc: Word,
  token_endpoint_auth_signing_alg: Word,
  frontchannel_logout_uri: Uri,
  frontchannel_logout_session_required: Type.Boolean(),
  backchannel_logout_uri: Uri,
  backchannel_logout_session_required: Type.Boolean(),
}

/** Members the domain refuses with a reason (jwks_uri, a signed userinfo, ...): typed here only. */
const REFUSED: Record<string, TSchema> = {
  jwks_uri: Uri,
  software_statement: Str(8000),
  subject_type: Word,
  id_token_signed_response_alg: Word,
  userinfo_signed_response_alg: Word,
}

/** OpenID Connect Registration §2 encryption members; the domain checks the values. */
const encryptionAlg = (what: string) =>
  Type.Optional(
    Str(
      64,
      `Encrypt ${what} (JWE) to a key of jwks: ECDH-ES, ECDH-ES+A128KW, ECDH-ES+A256KW or RSA-OAEP-256.`,
    ),
  )
const encryptionEnc = (alg: string) =>
  Type.Optional(
    Str(64, `A128CBC-HS256 (default), A256CBC-HS512, A128GCM or A256GCM; needs ${alg}.`),
  )

const optional = (members: Record<string, TSchema>) =>
  Object.fromEntries(Object.entries(members).map(([name, schema]) => [name, Type.Optional(schema)]))

/** A JWK as sent: its members are checked by @tessera/jwt's importJwk in the domain. */
const JwkInput = Type.Record(Type.String(), Type.Unknown(), {
  description: 'A public JWK (RFC 7517).',
})

export const ClientMetadataBody = Type.Object(
  {
    client_name: Text(100, 'Shown on the consent page; 1-100 characters.'),
    redirect_uris: Type.Optional(
      Type.Array(Uri, {
        maxItems: 20,
        description:
          'Required with authorization_code. Exact match; https, loopback http (an IP literal matches any port, RFC 8252 §7.3) or a private-use scheme with a dot.',
      }),
    ),
    post_logout_redirect_uris: Type.Optional(UriList),
    grant_types: Type.Optional(
      Type.Array(Word, {
        minItems: 1,
        maxItems: 3,
        description:
          'authorization_code, refresh_token, client_credentials. Default: authorization_code, refresh_token.',
      }),
    ),
    response_types: Type.Optional(
      Type.Array(Word, { maxItems: 3, description: '["code"] with authorization_code.' }),
    ),
    token_endpoint_auth_method: Type.Optional(
      Type.String({
        maxLength: 64,
        description:
          'client_secret_basic (default), client_secret_post, private_key_jwt (with jwks) or none (public client).',
      }),
    ),
    scope: Type.Optional(
      Type.String({
        maxLength: 2000,
        description:
          'Space-separated scopes the client may ask for. Default: openid profile email (+ offline_access with refresh_token); none for a client_credentials-only client.',
      }),
    ),
    jwks: Type.Optional(
      Type.Object(
        { keys: Type.Array(JwkInput, { maxItems: 10 }) },
        {
          description:
            'Public keys: use sig for private_key_jwt (RFC 7523), use enc to encrypt ID tokens and userinfo to.',
        },
      ),
    ),
    first_party: Type.Optional(
      Type.Boolean({
        description: "Skip the consent page (the operator's own apps). Default false.",
      }),
    ),
    dpop_bound_access_tokens: Type.Optional(
      Type.Boolean({
        description: 'RFC 9449 §5.2: its token requests must carry a DPoP proof. Default false.',
      }),
    ),
    id_token_encrypted_response_alg: encryptionAlg('its ID tokens'),
    id_token_encrypted_response_enc: encryptionEnc('id_token_encrypted_response_alg'),
    userinfo_encrypted_response_alg: encryptionAlg('its userinfo answers'),
    userinfo_encrypted_response_enc: encryptionEnc('userinfo_encrypted_response_alg'),
    access_token_lifetime: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 86_400, description: "Seconds; default: the server's." }),
    ),
    refresh_token_lifetime: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 31_536_000,
        description: "Seconds a session lasts; default: the server's.",
      }),
    ),
    ...optional(IGNORED),
    ...optional(REFUSED),
  },
  { additionalProperties: false },
)

export const ClientRegistration = Type.Object(
  {
    client_id: Type.String(),
    client_name: Type.String(),
    client_id_issued_at: Type.Integer({ description: 'Epoch seconds.' }),
    redirect_uris: Type.Array(Type.String()),
    post_logout_redirect_uris: Type.Array(Type.String()),
    grant_types: Type.Array(Type.String()),
    response_types: Type.Array(Type.String()),
    token_endpoint_auth_method: Type.String(),
    scope: Type.String(),
    jwks: Type.Optional(
      Type.Object(
        { keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) },
        { additionalProperties: false },
      ),
    ),
    first_party: Type.Boolean(),
    dpop_bound_access_tokens: Type.Boolean(),
    id_token_encrypted_response_alg: Type.Optional(Type.String()),
    id_token_encrypted_response_enc: Type.Optional(Type.String()),
    userinfo_encrypted_response_alg: Type.Optional(Type.String()),
    userinfo_encrypted_response_enc: Type.Optional(Type.String()),
    access_token_lifetime: Type.Optional(Type.Integer()),
    refresh_token_lifetime: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
)

/** RFC 7591 §3.2.1: the registration, with the secret this once. */
export const RegisteredClient = Type.Object(
  {
    ...ClientRegistration.properties,
    client_secret: Type.Optional(
      Type.String({
        description:
          'Shown once: Tessera keeps only its hash. For client_secret_basic and client_secret_post.',
      }),
    ),
    client_secret_expires_at: Type.Optional(
      Type.Integer({ description: '0: the secret does not expire (RFC 7591 §3.2.1).' }),
    ),
  },
  { additionalProperties: false },
)

export const ClientList = Type.Object(
  { clients: Type.Array(ClientRegistration) },
  { additionalProperties: false },
)
