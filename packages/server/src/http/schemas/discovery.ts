// Schemas of /.well-known/* and the operational routes.

import { Type } from '@sinclair/typebox'

const OptionalString = Type.Optional(Type.String())

/**
 * A public JWK (RFC 7517 §4, RFC 7518 §6). Only public members are listed:
 * the serializer drops anything else, so a private member (`d`, `p`, `q`,
 * `dp`, `dq`, `qi`, `k`) can never leave through this route by mistake.
 */
export const PublicJwk = Type.Object(
  {
    kty: Type.String(),
    kid: OptionalString,
    use: OptionalString,
    alg: OptionalString,
    key_ops: Type.Optional(Type.Array(Type.String())),
    crv: OptionalString,
    x: OptionalString,
    y: OptionalString,
    n: OptionalString,
    e: OptionalString,
  },
  { additionalProperties: false },
)

export const Jwks = Type.Object({ keys: Type.Array(PublicJwk) }, { additionalProperties: false })

const Strings = Type.Array(Type.String())
const OptionalStrings = Type.Optional(Strings)

/**
 * RFC 8414 and OpenID Connect Discovery 1.0 metadata, limited to what
 * Tessera honestly supports, plus its own endpoints under `tessera`.
 */
export const Discovery = Type.Object(
  {
    issuer: Type.String(),
    authorization_endpoint: OptionalString,
    token_endpoint: Type.String(),
    userinfo_endpoint: Type.String(),
    jwks_uri: Type.String(),
    end_session_endpoint: OptionalString,
    revocation_endpoint: Type.String(),
    introspection_endpoint: Type.String(),
    scopes_supported: Strings,
    response_types_supported: Strings,
    response_modes_supported: OptionalStrings,
    grant_types_supported: Strings,
    subject_types_supported: Strings,
    id_token_signing_alg_values_supported: Strings,
    token_endpoint_auth_methods_supported: Strings,
    token_endpoint_auth_signing_alg_values_supported: Strings,
    revocation_endpoint_auth_methods_supported: Strings,
    revocation_endpoint_auth_signing_alg_values_supported: Strings,
    introspection_endpoint_auth_methods_supported: Strings,
    introspection_endpoint_auth_signing_alg_values_supported: Strings,
    code_challenge_methods_supported: Strings,
    dpop_signing_alg_values_supported: Strings,
    claims_supported: Strings,
    prompt_values_supported: OptionalStrings,
    authorization_response_iss_parameter_supported: Type.Boolean(),
    claims_parameter_supported: Type.Boolean(),
    request_parameter_supported: Type.Boolean(),
    request_uri_parameter_supported: Type.Boolean(),
    tessera: Type.Object(
      {
        access_token_signing_alg_values_supported: Strings,
        signup_endpoint: Type.String(),
        login_endpoint: Type.String(),
        refresh_endpoint: Type.String(),
        logout_endpoint: Type.String(),
        logout_all_endpoint: Type.String(),
        me_endpoint: Type.String(),
        sessions_endpoint: Type.String(),
        password_endpoint: Type.String(),
        openapi_endpoint: Type.String(),
        refresh_cookie_name: Type.String(),
        csrf_header_name: Type.String(),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
)

export const Status = Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false })

/** The generated document; only its top-level members are pinned. */
export const OpenApiDocument = Type.Object(
  { openapi: Type.String(), info: Type.Object({}, { additionalProperties: true }) },
  { additionalProperties: true },
)

export const MetricsText = Type.String({ description: 'Prometheus text exposition format.' })
