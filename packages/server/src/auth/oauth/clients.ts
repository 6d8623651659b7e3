// The OAuth client registry: registering a client from its RFC 7591
// metadata (checked here, once), listing, removing it with every session it
// was granted; and the pure helpers the OAuth endpoints run on each request
// (the secret check, redirect URI matching, the RFC 7591 view).

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import {
  CONTENT_ENCRYPTIONS,
  type ContentEncryption,
  importEncryptionJwk,
  importJwk,
  isJwtError,
  type Jwk,
  type KeyManagementAlgorithm,
  KeySet,
} from '@tessera/jwt'
import type {
  OAuthClientRecord,
  OAuthGrantType,
  TokenEndpointAuthMethod,
} from '../../storage/ports.ts'
import { FIRST_PARTY_CLIENT_ID } from '../../tokens/access-tokens.ts'
import type { FlowContext } from '../context.ts'
import { AuthError } from '../errors.ts'
import type { ClientMetadata, ClientRegistration, OAuthClientFlows } from '../types.ts'
import { OFFLINE_ACCESS, REVOCATIONS_SCOPE, USER_SCOPES } from './scopes.ts'

const GRANT_TYPES: readonly OAuthGrantType[] = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
]
const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
]

/** Any `tessera:` scope but these is refused: the prefix is the server's. */
const TESSERA_SCOPES: ReadonlySet<string> = new Set([REVOCATIONS_SCOPE])
/** RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/
const MAX_SCOPES = 50

const MAX_NAME = 100
const MAX_URIS = 20
const MAX_URI = 2000
const MAX_KEYS = 10
/** A day: access tokens are self-contained JWTs; past a day, the revocation feed carries too much. */
export const MAX_ACCESS_TOKEN_LIFETIME = 86_400
/** A year. */
export const MAX_REFRESH_TOKEN_LIFETIME = 365 * 86_400

/** Control characters (C0, DEL, C1): a name ends up on the consent page, in admin UIs and logs. */
const CONTROL = /\p{Cc}/u
/** RFC 3986 §3.1 scheme. */
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/
/**
 * A loopback redirect URI that may take any port at request time (RFC 8252
 * §7.3): an IP literal, never `localhost` (§8.3: a name may resolve
 * elsewhere). Groups: host, port, the rest (path and query).
 */
const LOOPBACK_IP = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?([/?].*)?$/s
/** What http may be used with (RFC 8252 §7.3, and `localhost` as §8.3 tolerates). */
const HTTP_LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost)(:\d{1,5})?([/?]|$)/
/**
 * JWE key management a client may register for its ID tokens and userinfo
 * (OpenID Connect Registration §2): the asymmetric ones @tessera/jwt
 * implements. `dir`, `A128KW` and `A256KW` need a secret shared with the
 * client, which a client has no way to register here (its `jwks` holds
 * public keys only), so they are refused with that reason.
 */
const CLIENT_KEY_MANAGEMENT: readonly KeyManagementAlgorithm[] = [
  'ECDH-ES',
  'ECDH-ES+A128KW',
  'ECDH-ES+A256KW',
  'RSA-OAEP-256',
]
/** OpenID Connect Registration §2: "If ..._alg is specified, the default for this value is A128CBC-HS256." */
const DEFAULT_CONTENT_ENCRYPTION: ContentEncryption = 'A128CBC-HS256'
/** The two things a client's responses may be encrypted for, by their metadata prefix. */
const ENCRYPTED_RESPONSES = ['id_token', 'userinfo'] as const
/** JWK members that hold private or secret key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

/**
 * SHA-256 (base64url) of a client secret: what the store keeps. A secret is
 * 256 random bits, so a fast hash is enough (no dictionary to search).
 *
 * @example
 * const record = { ...client, secretHash: hashClientSecret(secret) }
 */
export function hashClientSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url')
}

/**
 * Whether `presented` is the client's secret, compared in constant time
 * (on the hashes, so the length of the stored secret leaks nothing). False
 * for a client without a secret.
 *
 * @example
 * if (!clientSecretMatches(client, secretFromBasicHeader)) throw invalidClient
 */
export function clientSecretMatches(
  record: Pick<OAuthClientRecord, 'secretHash'>,
  presented: string,
): boolean {
  if (record.secretHash === null) return false
  const expected = Buffer.from(record.secretHash)
  const given = Buffer.from(hashClientSecret(presented))
  return expected.length === given.length && timingSafeEqual(expected, given)
}

/**
 * Whether `presented` is one of the registered redirect URIs: an exact
 * string match (RFC 9700 §4.1.3: no pattern, no prefix, no normalization),
 * except that a registered loopback IP URI (`http://127.0.0.1/...`,
 * `http://[::1]/...`) matches the same URI on any port (RFC 8252 §7.3: a
 * native app gets its port from the OS at run time). `localhost` is not
 * given the port exception.
 *
 * @example
 * redirectUriMatches(['http://127.0.0.1/cb'], 'http://127.0.0.1:51004/cb') // true
 * redirectUriMatches(['https://app.example.com/cb'], 'https://app.example.com/cb/') // false
 */
export function redirectUriMatches(registered: readonly string[], presented: string): boolean {
  if (registered.includes(presented)) return true
  const asked = LOOPBACK_IP.exec(presented)
  if (asked === null || !validPort(asked[2])) return false
  return registered.some((uri) => {
    const own = LOOPBACK_IP.exec(uri)
    return own !== null && own[1] === asked[1] && (own[3] ?? '') === (asked[3] ?? '')
  })
}

function validPort(port: string | undefined): boolean {
  if (port === undefined) return true
  const value = Number(port)
  return value >= 1 && value <= 65_535 && String(value) === port
}

/**
 * The client as RFC 7591 §3.2.1 shows it: its metadata with `client_id` and
 * `client_id_issued_at`, never the secret or its hash.
 */
export function registrationView(record: OAuthClientRecord): ClientRegistration {
  return {
    client_id: record.id,
    client_name: record.name,
    client_id_issued_at: Math.floor(record.createdAt / 1000),
    redirect_uris: [...record.redirectUris],
    post_logout_redirect_uris: [...record.postLogoutRedirectUris],
    grant_types: [...record.grantTypes],
    response_types: record.grantTypes.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: record.tokenEndpointAuthMethod,
    scope: record.scopes.join(' '),
    ...(record.jwks === null
      ? {}
      : { jwks: JSON.parse(record.jwks) as { keys: Record<string, unknown>[] } }),
    first_party: record.firstParty,
    dpop_bound_access_tokens: record.dpopBoundAccessTokens,
    ...(record.idTokenEncryption === null
      ? {}
      : {
          id_token_encrypted_response_alg: record.idTokenEncryption.alg,
          id_token_encrypted_response_enc: record.idTokenEncryption.enc,
        }),
    ...(record.userinfoEncryption === null
      ? {}
      : {
          userinfo_encrypted_response_alg: record.userinfoEncryption.alg,
          userinfo_encrypted_response_enc: record.userinfoEncryption.enc,
        }),
    ...(record.accessTokenTtl === null ? {} : { access_token_lifetime: record.accessTokenTtl }),
    ...(record.refreshTokenTtl === null ? {} : { refresh_token_lifetime: record.refreshTokenTtl }),
  }
}

interface Issue {
  path: string
  message: string
}

/**
 * Members the server understands well enough to know it cannot honour
 * them: registering anyway would leave a client expecting what never comes
 * (an encrypted ID token, keys fetched from a URL), so each is refused with
 * what to do instead.
 */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  userinfo_signed_response_alg: 'userinfo is answered as plain JSON, not as a signed JWT',
  jwks_uri: 'keys are not fetched from a URL: register them inline as jwks',
  software_statement: 'software statements are not supported: send the metadata itself',
}

const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every((item) => typeof item === 'string')

/** The issue with one redirect URI, or undefined when it may be registered. */
function redirectUriIssue(uri: string): string | undefined {
  if (uri.length === 0 || uri.length > MAX_URI) return `must be 1-${MAX_URI} characters`
  if (CONTROL.test(uri) || /\s/.test(uri)) return 'must not contain spaces or control characters'
  // RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component."
  if (uri.includes('#')) return 'must not have a fragment (#)'
  const scheme = SCHEME.exec(uri)?.[1]
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return 'must be an absolute URI'
  }
  if (scheme === undefined) return 'must be an absolute URI'
  if (url.username !== '' || url.password !== '') return 'must not hold credentials (user:pass@)'
  const lower = scheme.toLowerCase()
  if (lower === 'https') return url.hostname === '' ? 'must name a host' : undefined
  if (lower === 'http') {
    return HTTP_LOOPBACK.test(uri)
      ? undefined
      : 'http is only for a loopback redirect (http://127.0.0.1, http://[::1] or http://localhost, RFC 8252 §7.3); use https'
  }
  // RFC 8252 §7.1: a native app's private-use scheme is a reverse domain
  // name; the dot also keeps javascript:, data: and file: out.
  if (!scheme.includes('.')) {
    return 'must be https, loopback http, or a private-use scheme with a dot (com.example.app:/callback, RFC 8252 §7.1)'
  }
  return undefined
}

/** Why a key management `alg` is not one a client may register, in words that say what to use. */
function encryptionAlgIssue(alg: unknown): string | undefined {
  if (typeof alg === 'string' && (CLIENT_KEY_MANAGEMENT as readonly string[]).includes(alg)) {
    return undefined
  }
  const allowed = `use one of ${CLIENT_KEY_MANAGEMENT.join(', ')}`
  if (typeof alg !== 'string') return `must be one of ${CLIENT_KEY_MANAGEMENT.join(', ')}`
  if (alg === 'dir' || alg === 'A128KW' || alg === 'A256KW') {
    return `${alg} needs a secret key shared with the client, and a client registers public keys only: ${allowed}`
  }
  // As @tessera/jwt's refusedAlgorithmReason words them.
  if (alg === 'RSA1_5') {
    // RFC 8725 §3.2; Bleichenbacher (CRYPTO '98).
    return `RSA1_5 is refused: RSA PKCS #1 v1.5 key encryption is open to padding-oracle attacks (RFC 8725 §3.2); ${allowed}`
  }
  if (alg.startsWith('PBES2-')) {
    return `PBES2 is refused: password-based key encryption takes its work factor from the token, and passwords make weak keys; ${allowed}`
  }
  return `is not supported: ${allowed}`
}

/**
 * The `<prefix>_encrypted_response_alg` / `_enc` pair (OpenID Connect
 * Registration §2): null when neither is given; `enc` defaults to
 * A128CBC-HS256, and alone means nothing (it is refused, not ignored: the
 * client would expect encryption that never comes).
 */
function checkEncryption(
  metadata: ClientMetadata,
  prefix: (typeof ENCRYPTED_RESPONSES)[number],
  issues: Issue[],
): { alg: string; enc: string } | null {
  const algMember = `${prefix}_encrypted_response_alg`
  const encMember = `${prefix}_encrypted_response_enc`
  const alg = metadata[algMember]
  const enc = metadata[encMember]
  if (alg === undefined) {
    if (enc !== undefined) {
      issues.push({ path: `/${encMember}`, message: `needs ${algMember} (OIDC Registration §2)` })
    }
    return null
  }
  const before = issues.length
  const algProblem = encryptionAlgIssue(alg)
  if (algProblem !== undefined) issues.push({ path: `/${algMember}`, message: algProblem })
  if (enc !== undefined && !(CONTENT_ENCRYPTIONS as readonly unknown[]).includes(enc)) {
    issues.push({
      path: `/${encMember}`,
      message: `must be one of ${CONTENT_ENCRYPTIONS.join(', ')} (default ${DEFAULT_CONTENT_ENCRYPTION})`,
    })
  }
  if (issues.length > before) return null
  return { alg: alg as string, enc: (enc as string | undefined) ?? DEFAULT_CONTENT_ENCRYPTION }
}

/**
 * Checks the metadata and builds the record (without id, secret and
 * creation time); throws validation_failed listing every issue found.
 */
function checkMetadata(
  metadata: ClientMetadata,
  signingAlg: string | undefined,
): Omit<OAuthClientRecord, 'id' | 'secretHash' | 'createdAt'> {
  const issues: Issue[] = []
  const fail = (): never => {
    throw new AuthError('validation_failed', 'the client metadata is not valid', {
      details: { issues },
    })
  }
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    issues.push({ path: '', message: 'client metadata is a JSON object' })
    fail()
  }
  const has = (name: string) => Object.hasOwn(metadata, name) && metadata[name] !== undefined

  for (const [name, message] of Object.entries(UNSUPPORTED)) {
    if (has(name)) issues.push({ path: `/${name}`, message })
  }
  if (has('subject_type') && metadata['subject_type'] !== 'public') {
    issues.push({ path: '/subject_type', message: 'only public subject identifiers are issued' })
  }
  if (
    has('id_token_signed_response_alg') &&
    metadata['id_token_signed_response_alg'] !== signingAlg
  ) {
    issues.push({
      path: '/id_token_signed_response_alg',
      message: `ID tokens are signed with the server's key (${signingAlg ?? 'none yet'}); omit this or name that algorithm`,
    })
  }

  // client_name
  let name = ''
  if (typeof metadata.client_name !== 'string') {
    issues.push({ path: '/client_name', message: 'is required (the name the consent page shows)' })
  } else {
    name = metadata.client_name.trim()
    if (name.length === 0 || name.length > MAX_NAME) {
      issues.push({ path: '/client_name', message: `must be 1-${MAX_NAME} characters` })
    } else if (CONTROL.test(name)) {
      issues.push({ path: '/client_name', message: 'must not contain control characters' })
    }
  }

  // grant_types
  let grantTypes: OAuthGrantType[] = ['authorization_code', 'refresh_token']
  if (has('grant_types')) {
    const given = metadata.grant_types
    if (!isStringArray(given) || given.length === 0) {
      issues.push({ path: '/grant_types', message: 'must be a non-empty array of grant types' })
    } else {
      const before = issues.length
      given.forEach((grant, index) => {
        if (!(GRANT_TYPES as readonly string[]).includes(grant)) {
          issues.push({
            path: `/grant_types/${index}`,
            message: `must be one of ${GRANT_TYPES.join(', ')}`,
          })
        }
      })
      // With a bad one, the rest is checked against the defaults.
      if (issues.length === before)
        grantTypes = GRANT_TYPES.filter((grant) => given.includes(grant))
    }
  }
  const code = grantTypes.includes('authorization_code')
  const refresh = grantTypes.includes('refresh_token')
  const service = grantTypes.includes('client_credentials')
  if (refresh && !code) {
    // RFC 6749 §4.4.3: client_credentials issues no refresh token; only a code does here.
    issues.push({
      path: '/grant_types',
      message: 'refresh_token needs authorization_code (refresh tokens come only from a code)',
    })
  }

  // token_endpoint_auth_method
  let authMethod: TokenEndpointAuthMethod = 'client_secret_basic'
  if (has('token_endpoint_auth_method')) {
    const given = metadata.token_endpoint_auth_method
    if (!(AUTH_METHODS as readonly unknown[]).includes(given)) {
      issues.push({
        path: '/token_endpoint_auth_method',
        message: `must be one of ${AUTH_METHODS.join(', ')}${given === 'client_secret_jwt' ? ' (client_secret_jwt is not supported: use private_key_jwt)' : ''}`,
      })
    } else {
      authMethod = given as TokenEndpointAuthMethod
    }
  }
  if (authMethod === 'none' && service) {
    // RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential clients."
    issues.push({
      path: '/grant_types',
      message:
        'client_credentials needs a confidential client (not token_endpoint_auth_method none)',
    })
  }

  // response_types (RFC 7591 §2.1: consistent with grant_types)
  const responseTypes = code ? ['code'] : []
  if (has('response_types')) {
    const given = metadata.response_types
    if (
      !isStringArray(given) ||
      given.length !== responseTypes.length ||
      given.some((type, index) => type !== responseTypes[index])
    ) {
      issues.push({
        path: '/response_types',
        message: code
          ? 'must be ["code"]: the code flow is the only one (no implicit or hybrid flow)'
          : 'must be empty without the authorization_code grant',
      })
    }
  }

  // redirect_uris, post_logout_redirect_uris
  const uriList = (member: 'redirect_uris' | 'post_logout_redirect_uris'): string[] => {
    if (!has(member)) return []
    const given = metadata[member]
    if (!isStringArray(given)) {
      issues.push({ path: `/${member}`, message: 'must be an array of URIs' })
      return []
    }
    if (given.length > MAX_URIS) {
      issues.push({ path: `/${member}`, message: `must hold at most ${MAX_URIS} URIs` })
      return []
    }
    if (given.length > 0 && !code) {
      issues.push({ path: `/${member}`, message: 'is only for the authorization_code grant' })
      return []
    }
    given.forEach((uri, index) => {
      const problem = redirectUriIssue(uri)
      if (problem !== undefined) issues.push({ path: `/${member}/${index}`, message: problem })
    })
    return [...new Set(given)]
  }
  const redirectUris = uriList('redirect_uris')
  const postLogoutRedirectUris = uriList('post_logout_redirect_uris')
  if (code && redirectUris.length === 0 && !issues.some((i) => i.path === '/redirect_uris')) {
    issues.push({
      path: '/redirect_uris',
      message: 'at least one is required for the authorization_code grant',
    })
  }

  // scope
  let scopes: string[] = code ? ['openid', 'profile', 'email'] : []
  if (refresh) scopes.push(OFFLINE_ACCESS)
  if (has('scope')) {
    if (typeof metadata.scope !== 'string') {
      issues.push({ path: '/scope', message: 'must be a string of space-separated scopes' })
    } else {
      scopes = [...new Set(metadata.scope.split(' ').filter((token) => token !== ''))]
      const problems: string[] = []
      if (scopes.length > MAX_SCOPES) problems.push(`at most ${MAX_SCOPES} scopes`)
      for (const scope of scopes) {
        if (!SCOPE_TOKEN.test(scope)) {
          problems.push(
            `${JSON.stringify(scope.slice(0, 100))} is not a scope token (RFC 6749 §3.3)`,
          )
        } else if (USER_SCOPES.has(scope) && !code) {
          problems.push(`${scope} needs the authorization_code grant (it speaks of a user)`)
        } else if (scope === OFFLINE_ACCESS && !refresh) {
          problems.push(`${OFFLINE_ACCESS} needs the refresh_token grant`)
        } else if (scope === REVOCATIONS_SCOPE && !service) {
          problems.push(`${REVOCATIONS_SCOPE} needs the client_credentials grant`)
        } else if (scope.startsWith('tessera:') && !TESSERA_SCOPES.has(scope)) {
          problems.push(`${scope}: the tessera: prefix is reserved for the server's own scopes`)
        }
      }
      for (const message of problems) issues.push({ path: '/scope', message })
    }
  }

  // dpop_bound_access_tokens (RFC 9449 §5.2)
  let dpopBoundAccessTokens = false
  if (has('dpop_bound_access_tokens')) {
    if (typeof metadata['dpop_bound_access_tokens'] !== 'boolean') {
      issues.push({ path: '/dpop_bound_access_tokens', message: 'must be true or false' })
    } else {
      dpopBoundAccessTokens = metadata['dpop_bound_access_tokens']
    }
  }

  // Encrypted ID tokens and userinfo (OpenID Connect Core §10.2, Registration §2)
  const idTokenEncryption = checkEncryption(metadata, 'id_token', issues)
  const userinfoEncryption = checkEncryption(metadata, 'userinfo', issues)
  const encryptionAlgs = [
    ...new Set(
      [idTokenEncryption, userinfoEncryption].flatMap((choice) =>
        choice === null ? [] : [choice.alg as KeyManagementAlgorithm],
      ),
    ),
  ]
  // A refused alg still asked for keys: do not also call its jwks unwanted.
  const asksEncryption = ENCRYPTED_RESPONSES.some((prefix) =>
    has(`${prefix}_encrypted_response_alg`),
  )

  // jwks: public keys for private_key_jwt (RFC 7523) and to encrypt to (OIDC Core §10.2)
  let jwks: string | null = null
  const signing = authMethod === 'private_key_jwt'
  if (has('jwks')) {
    if (!signing && !asksEncryption) {
      issues.push({
        path: '/jwks',
        message:
          'is only for token_endpoint_auth_method private_key_jwt, or with id_token_encrypted_response_alg or userinfo_encrypted_response_alg',
      })
    } else {
      const checked = checkJwks(metadata.jwks, issues, {
        signing,
        encryption: encryptionAlgs,
        encryptionAsked: asksEncryption,
      })
      if (checked !== undefined) jwks = JSON.stringify(checked)
    }
  } else {
    if (signing) {
      issues.push({ path: '/jwks', message: 'is required for private_key_jwt: the public keys' })
    }
    for (const alg of encryptionAlgs) {
      issues.push({
        path: '/jwks',
        message: `is required for ${alg} encryption: the public key to encrypt to`,
      })
    }
  }

  // Tessera's extensions
  let firstParty = false
  if (has('first_party')) {
    if (typeof metadata.first_party !== 'boolean') {
      issues.push({ path: '/first_party', message: 'must be true or false' })
    } else {
      firstParty = metadata.first_party
    }
  }
  const lifetime = (member: string, max: number): number | null => {
    if (!has(member)) return null
    const value = metadata[member]
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
      issues.push({ path: `/${member}`, message: `must be a whole number of seconds, 1-${max}` })
      return null
    }
    return value
  }
  const accessTokenTtl = lifetime('access_token_lifetime', MAX_ACCESS_TOKEN_LIFETIME)
  const refreshTokenTtl = lifetime('refresh_token_lifetime', MAX_REFRESH_TOKEN_LIFETIME)
  if (refreshTokenTtl !== null && !refresh) {
    issues.push({ path: '/refresh_token_lifetime', message: 'needs the refresh_token grant' })
  }

  if (issues.length > 0) fail()
  return {
    name,
    redirectUris,
    postLogoutRedirectUris,
    grantTypes,
    tokenEndpointAuthMethod: authMethod,
    scopes,
    jwks,
    firstParty,
    accessTokenTtl,
    refreshTokenTtl,
    dpopBoundAccessTokens,
    idTokenEncryption,
    userinfoEncryption,
  }
}

/**
 * The client's JWK Set, when every key is a public key that serves what was
 * registered: a signing key @tessera/jwt imports as it is (so
 * KeySet.fromJwks at the token endpoint skips none of them) for
 * private_key_jwt, an encryption key for a registered encryption `alg`. A
 * key says what it is for with `use` (RFC 7517 §4.2): `sig` keys are only
 * checked as signing keys, `enc` keys only as encryption keys (the two
 * importers refuse the other `use`); a key without `use` must fit one of the
 * purposes registered. No private members; signing keys have distinct
 * `kid`s; RSA signing keys need `alg`, as they fit several. Each registered
 * purpose needs at least one key: private_key_jwt a signing key, each
 * encryption `alg` a key for it.
 */
function checkJwks(
  value: unknown,
  issues: Issue[],
  purposes: {
    signing: boolean
    encryption: readonly KeyManagementAlgorithm[]
    /** An encryption alg was given, even a refused one (whose issue is reported already). */
    encryptionAsked: boolean
  },
): { keys: Jwk[] } | undefined {
  const keys = (value as { keys?: unknown } | null)?.keys
  if (value === null || typeof value !== 'object' || !Array.isArray(keys)) {
    issues.push({ path: '/jwks', message: 'must be a JWK Set: { "keys": [...] }' })
    return undefined
  }
  if (keys.length === 0 || keys.length > MAX_KEYS) {
    issues.push({ path: '/jwks/keys', message: `must hold 1-${MAX_KEYS} public keys` })
    return undefined
  }
  const before = issues.length
  const set = new KeySet()
  const encryptable = new Set<KeyManagementAlgorithm>()
  // JwtError messages never quote key material (@tessera/jwt's contract).
  const reason = (error: unknown, fallback: string) =>
    isJwtError(error) ? error.message : fallback
  keys.forEach((jwk: unknown, index) => {
    const path = `/jwks/keys/${index}`
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) {
      issues.push({ path, message: 'must be a JWK (a JSON object)' })
      return
    }
    const members = jwk as Jwk
    const secret = PRIVATE_JWK_MEMBERS.filter((member) => Object.hasOwn(members, member))
    if (secret.length > 0) {
      // Do not store what the client should never have sent; say so plainly.
      issues.push({
        path,
        message: `holds private key material (${secret.join(', ')}): register the public key only`,
      })
      return
    }
    const use = members.use
    if (use !== undefined && use !== 'sig' && use !== 'enc') {
      issues.push({ path, message: '"use" must be sig or enc (RFC 7517 §4.2)' })
      return
    }
    if (use === 'sig' && !purposes.signing) {
      issues.push({ path, message: 'is a signing key (use: sig): only private_key_jwt uses one' })
      return
    }
    if (use === 'enc' && purposes.encryption.length === 0) {
      if (purposes.encryptionAsked) return
      issues.push({
        path,
        message:
          'is an encryption key (use: enc): only an id_token or userinfo encrypted_response_alg uses one',
      })
      return
    }
    const problems: string[] = []
    let fits = false
    if (purposes.signing && use !== 'enc') {
      try {
        const key = importJwk(members)
        if (key.type !== 'public') throw new Error('not a public key')
        set.add(key)
        fits = true
      } catch (error) {
        problems.push(reason(error, 'is not a usable public signing key'))
      }
    }
    if (use !== 'sig') {
      for (const alg of purposes.encryption) {
        try {
          const key = importEncryptionJwk(members, { alg })
          if (key.type !== 'public') throw new Error('not a public key')
          encryptable.add(alg)
          fits = true
        } catch (error) {
          problems.push(`${alg}: ${reason(error, 'is not a usable public encryption key')}`)
        }
      }
    }
    // Nothing to check it against: the refused alg's issue says why.
    if (!fits && problems.length > 0) issues.push({ path, message: problems.join('; ') })
  })
  if (issues.length > before) return undefined
  if (purposes.signing && set.size === 0) {
    issues.push({ path: '/jwks', message: 'holds no public signing key for private_key_jwt' })
  }
  for (const alg of purposes.encryption) {
    if (!encryptable.has(alg)) {
      issues.push({ path: '/jwks', message: `holds no public key to encrypt to with ${alg}` })
    }
  }
  return issues.length === before ? { keys: keys as Jwk[] } : undefined
}

/**
 * Builds the registry's flows.
 *
 * @example
 * const { registration, clientSecret } = await flows.registerClient(actor, {
 *   client_name: 'Dashboard',
 *   redirect_uris: ['https://dash.example.com/callback'],
 * }, client)
 */
export function createOAuthClientFlows(ctx: FlowContext): OAuthClientFlows {
  const { store, audit, revoke, keyRing, now } = ctx

  return {
    async registerClient(actor, metadata, client) {
      const signingAlg = keyRing.list().find((key) => key.state === 'current')?.alg
      const checked = checkMetadata(metadata, signingAlg)
      const secret =
        checked.tokenEndpointAuthMethod === 'client_secret_basic' ||
        checked.tokenEndpointAuthMethod === 'client_secret_post'
          ? randomBytes(32).toString('base64url')
          : undefined
      const record: OAuthClientRecord = {
        ...checked,
        // 128 random bits: the id is public, but not guessable either. Never
        // taken from the input (RFC 7591 §3.2.1: the server issues it), so
        // never `tessera`.
        id: randomBytes(16).toString('base64url'),
        secretHash: secret === undefined ? null : hashClientSecret(secret),
        createdAt: now(),
      }
      await store.oauth.createClient(record)
      await audit(
        'client.registered',
        client,
        { userId: actor.userId, sessionId: actor.sessionId },
        {
          clientId: record.id,
          clientName: record.name,
          grantTypes: record.grantTypes,
          tokenEndpointAuthMethod: record.tokenEndpointAuthMethod,
          scope: record.scopes.join(' '),
          firstParty: record.firstParty,
          dpopBoundAccessTokens: record.dpopBoundAccessTokens,
          idTokenEncryption: record.idTokenEncryption,
          userinfoEncryption: record.userinfoEncryption,
        },
      )
      return {
        registration: registrationView(record),
        ...(secret === undefined ? {} : { clientSecret: secret }),
      }
    },

    async listClients() {
      return (await store.oauth.listClients()).map(registrationView)
    },

    async findClient(id) {
      const record = id === FIRST_PARTY_CLIENT_ID ? undefined : await store.oauth.findClient(id)
      if (record === undefined) throw new AuthError('not_found', 'no such client')
      return registrationView(record)
    },

    async removeClient(actor, id, client) {
      // Never revoke by the built-in id: that would end every first-party session.
      if (id === FIRST_PARTY_CLIENT_ID) throw new AuthError('not_found', 'no such client')
      const at = now()
      const ended = await store.atomically(async () => {
        if (!(await store.oauth.deleteClient(id))) return undefined
        return store.sessions.revokeClientSessions(id, at, 'client_removed')
      })
      if (ended === undefined) throw new AuthError('not_found', 'no such client')
      // Their access tokens die too, here and through the feed everywhere.
      await revoke.sessions(ended)
      await audit(
        'client.removed',
        client,
        { userId: actor.userId, sessionId: actor.sessionId },
        { clientId: id, sessionsRevoked: ended.length },
      )
      return { sessionsRevoked: ended.length }
    },
  }
}
