// The presets of social login as data: for each kind of provider, what
// Tessera needs to know beyond the operator's client id and secret: how it
// is found (OpenID discovery from an issuer, or fixed OAuth 2.0 endpoints),
// the scopes to ask for, and where the person's id and verified address come
// from. The quirks are written down where they are handled.

import type { AppleClientSecretConfig, ProviderConfig, ProviderPreset } from '../../config/types.ts'

/** An OpenID Connect provider: discovery, an ID token checked for iss, aud, nonce and signature. */
export interface OidcPreset {
  readonly kind: 'oidc'
  /** The name a login page shows. */
  readonly name: string
  /** The issuer when the operator gives none (undefined: one is required). */
  readonly issuer: string | undefined
  readonly scopes: readonly string[]
  /**
   * A provider's own claim that vouches for the address when it sends no
   * `email_verified` (Entra ID's `xms_edov`); undefined: none.
   */
  readonly verifiedEmailClaim?: string
  /**
   * How the provider sends its answer back: `form_post` (OAuth 2.0 Form Post
   * Response Mode) for Apple, which requires it when name or email is asked;
   * undefined: the query of a redirect.
   */
  readonly responseMode?: 'form_post'
  /**
   * Apple: the client secret is a short-lived JWT signed with the team's key
   * (ES256), and the person's name comes only once, unsigned, in the
   * answer's `user` field.
   */
  readonly apple?: true
}

/**
 * A plain OAuth 2.0 provider (GitHub): fixed endpoints, no ID token; the
 * person is whoever the user API says the access token belongs to.
 */
export interface OAuth2Preset {
  readonly kind: 'oauth2'
  readonly name: string
  /** What `iss` the authorization response may carry (RFC 9207), and the name of the server. */
  readonly issuer: string
  readonly authorizationEndpoint: string
  readonly tokenEndpoint: string
  /** The signed-in person: `{ id, login, name, email }`. */
  readonly userEndpoint: string
  /** Their addresses: `[{ email, primary, verified }]`; only the verified primary one is used. */
  readonly emailsEndpoint: string
  readonly scopes: readonly string[]
}

export type Preset = OidcPreset | OAuth2Preset

const OIDC_SCOPES = Object.freeze(['openid', 'email', 'profile'])

/** The presets Tessera knows, by the name TESSERA_PROVIDER_<ID>_PRESET takes. */
export const PRESETS: Readonly<Record<ProviderPreset, Preset>> = Object.freeze({
  google: Object.freeze({
    kind: 'oidc',
    name: 'Google',
    issuer: 'https://accounts.google.com',
    scopes: OIDC_SCOPES,
  }),
  // Entra ID. A multi-tenant app (`common`, `organizations`, `consumers`)
  // discovers the issuer `https://login.microsoftonline.com/{tenantid}/v2.0`,
  // which is no URL: openid-client accepts that document for
  // login.microsoftonline.com and checks each ID token's `iss` against the
  // template filled with the token's own `tid`. A tenant's own issuer is
  // compared as it is. Entra's `email` claim is whatever a tenant admin
  // set (the nOAuth attack) and it sends no `email_verified`; the optional
  // claim `xms_edov` ("email domain owner verified", added in the app
  // registration's token configuration) says the tenant owns the address's
  // domain. Without it the address is not vouched for: it neither links
  // nor signs up (flows.ts).
  microsoft: Object.freeze({
    kind: 'oidc',
    name: 'Microsoft',
    issuer: 'https://login.microsoftonline.com/common/v2.0',
    scopes: OIDC_SCOPES,
    verifiedEmailClaim: 'xms_edov',
  }),
  // Sign in with Apple. Its discovery document is real OpenID Connect, but:
  // it asks for `name` and `email` only with response_mode=form_post (the
  // answer is a cross-site POST to the callback: routes/providers.ts turns it
  // into a GET that carries the flow cookie); the client secret is an ES256
  // JWT Tessera signs (upstream.ts); it has no userinfo endpoint (the ID
  // token holds the address); `email_verified` and `is_private_email` may be
  // the strings "true" and "false"; a relay address (@privaterelay.appleid.com)
  // is a real, verified address that forwards to the person; and the name
  // arrives once, on the first authorization, unsigned, in the `user` form
  // field: taken as a name, never as an address.
  apple: Object.freeze({
    kind: 'oidc',
    name: 'Apple',
    issuer: 'https://appleid.apple.com',
    scopes: Object.freeze(['openid', 'email', 'name']),
    responseMode: 'form_post',
    apple: true,
  }),
  gitlab: Object.freeze({
    kind: 'oidc',
    name: 'GitLab',
    issuer: 'https://gitlab.com',
    scopes: OIDC_SCOPES,
  }),
  oidc: Object.freeze({
    kind: 'oidc',
    name: 'OpenID Connect',
    issuer: undefined,
    scopes: OIDC_SCOPES,
  }),
  // GitHub has no OpenID Connect for users: the code buys an access token,
  // /user says who it is, and /user/emails which addresses GitHub verified
  // (`email` on /user is the public profile address, unverified and often null).
  github: Object.freeze({
    kind: 'oauth2',
    name: 'GitHub',
    issuer: 'https://github.com/login/oauth',
    authorizationEndpoint: 'https://github.com/login/oauth/authorize',
    tokenEndpoint: 'https://github.com/login/oauth/access_token',
    userEndpoint: 'https://api.github.com/user',
    emailsEndpoint: 'https://api.github.com/user/emails',
    scopes: Object.freeze(['read:user', 'user:email']),
  }),
})

/** A configured provider with its preset resolved: what the flows work with. */
export interface ResolvedProvider {
  readonly id: string
  readonly name: string
  readonly preset: Preset
  /** The OpenID issuer (oidc kind) or the OAuth 2.0 server's name. */
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: string | undefined
  readonly scopes: readonly string[]
  /** Keep the provider's tokens (sealed) for the user after sign-in. */
  readonly keepTokens: boolean
  /** The apple preset's key, to sign its client secret; undefined for the others. */
  readonly apple: AppleClientSecretConfig | undefined
}

/** The provider of `config` with its preset's defaults filled in. */
export function resolveProvider(config: ProviderConfig): ResolvedProvider {
  const preset = PRESETS[config.preset]
  if (config.preset === 'apple' && config.apple === undefined) {
    throw new TypeError(`provider ${config.id} (apple) needs its team id, key id and key`)
  }
  const issuer = config.issuer ?? preset.issuer
  if (issuer === undefined) throw new TypeError(`provider ${config.id} needs an issuer`)
  return Object.freeze({
    id: config.id,
    // Two providers of one preset (two GitLab instances) are told apart by
    // their id, or by the name the operator gives them.
    name: config.name ?? (config.preset === 'oidc' ? config.id : preset.name),
    preset,
    issuer,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    scopes: config.scopes ?? preset.scopes,
    keepTokens: config.keepTokens,
    apple: config.preset === 'apple' ? config.apple : undefined,
  })
}
