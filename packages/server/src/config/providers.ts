// TESSERA_PROVIDERS and the family of variables it brings in: for each
// listed id, TESSERA_PROVIDER_<ID>_PRESET, _ISSUER, _CLIENT_ID,
// _CLIENT_SECRET, _SCOPES, _NAME and _KEEP_TOKENS, and for Sign in with Apple
// _TEAM_ID, _KEY_ID and _PRIVATE_KEY or _PRIVATE_KEY_FILE (GoTrue's external
// providers are configured the same way). The names depend on the list, so they are read here rather than
// declared one by one in the schema; every message still names the variable
// at fault, and a secret's value is never echoed.

import { createPrivateKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { ExpectedValue, isLoopbackHttp, parseBoolean, RefusedValue } from './parsers.ts'
import type { AppleClientSecretConfig, ProviderConfig, ProviderPreset } from './types.ts'

export const PROVIDER_PRESETS: readonly ProviderPreset[] = Object.freeze([
  'google',
  'microsoft',
  'apple',
  'github',
  'gitlab',
  'oidc',
])

/** The per-provider variables, after `TESSERA_PROVIDER_<ID>_`. */
export const PROVIDER_FIELDS = Object.freeze([
  'PRESET',
  'ISSUER',
  'CLIENT_ID',
  'CLIENT_SECRET',
  'SCOPES',
  'NAME',
  'KEEP_TOKENS',
  'TEAM_ID',
  'KEY_ID',
  'PRIVATE_KEY',
  'PRIVATE_KEY_FILE',
] as const)

/** The fields only the apple preset reads. */
const APPLE_FIELDS = Object.freeze([
  'TEAM_ID',
  'KEY_ID',
  'PRIVATE_KEY',
  'PRIVATE_KEY_FILE',
] as const)

/** A provider id: lower case letters, digits and `_`, starting with a letter (it is part of variable names and of URLs). */
const ID = /^[a-z][a-z0-9_]{0,31}$/
const MICROSOFT_DEFAULT_ISSUER = 'https://login.microsoftonline.com/common/v2.0'
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/
/** A display name's length, in characters: a button's label. */
const NAME_MAX = 64
/** Control characters, line and paragraph separators and bidirectional overrides (a label that reorders its neighbours). */
const NAME_FORBIDDEN = /[\p{Cc}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u
/** Apple's team and key ids: 10 upper-case letters and digits. */
const APPLE_ID = /^[A-Z0-9]{10}$/
/** A PEM file is a few hundred bytes; anything much larger is not the key. */
const KEY_FILE_MAX = 16 * 1024

/** A refusal that names its own variable (one of the family), not TESSERA_PROVIDERS. */
export class ProviderVariableError extends RefusedValue {
  readonly variable: string

  constructor(variable: string, reason: string) {
    super(reason)
    this.name = 'ProviderVariableError'
    this.variable = variable
  }
}

/** `TESSERA_PROVIDER_<ID>_<FIELD>`. */
export function providerVariable(id: string, field: (typeof PROVIDER_FIELDS)[number]): string {
  return `TESSERA_PROVIDER_${id.toUpperCase()}_${field}`
}

/**
 * Parses TESSERA_PROVIDERS (`google,corp`) and each listed provider's
 * variables from `env`.
 *
 * @throws ProviderVariableError naming the variable at fault, e.g.
 * `TESSERA_PROVIDER_CORP_ISSUER: required for the oidc preset`.
 */
export function parseProviders(
  raw: string,
  env: Readonly<Record<string, string | undefined>>,
  production: boolean,
  /** Where a relative _PRIVATE_KEY_FILE is found (the configuration's cwd). */
  cwd: string = process.cwd(),
): ProviderConfig[] {
  const ids = raw
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '')
  const seen = new Set<string>()
  const providers: ProviderConfig[] = []
  for (const id of ids) {
    if (!ID.test(id)) {
      throw new ProviderVariableError(
        'TESSERA_PROVIDERS',
        `expected provider ids of lower-case letters, digits and _ (starting with a letter, at most 32), got ${JSON.stringify(id.slice(0, 40))}`,
      )
    }
    if (seen.has(id)) {
      throw new ProviderVariableError('TESSERA_PROVIDERS', `lists the provider ${id} twice`)
    }
    seen.add(id)
    providers.push(parseProvider(id, env, production, cwd))
  }
  return providers
}

function read(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = Object.hasOwn(env, name) ? env[name]?.trim() : undefined
  return value === undefined || value === '' ? undefined : value
}

function parseProvider(
  id: string,
  env: Readonly<Record<string, string | undefined>>,
  production: boolean,
  cwd: string,
): ProviderConfig {
  const name = (field: (typeof PROVIDER_FIELDS)[number]) => providerVariable(id, field)
  const presetRaw = read(env, name('PRESET'))?.toLowerCase() ?? (isPreset(id) ? id : undefined)
  if (presetRaw === undefined) {
    throw new ProviderVariableError(
      name('PRESET'),
      `required for provider ${id} (one of ${PROVIDER_PRESETS.join(', ')})`,
    )
  }
  if (!isPreset(presetRaw)) {
    throw new ProviderVariableError(
      name('PRESET'),
      `expected one of ${PROVIDER_PRESETS.join(', ')}, got ${JSON.stringify(presetRaw.slice(0, 40))}`,
    )
  }
  const preset = presetRaw

  const issuer = parseProviderIssuer(id, preset, read(env, name('ISSUER')), production)
  const clientId = read(env, name('CLIENT_ID'))
  if (clientId === undefined) {
    throw new ProviderVariableError(
      name('CLIENT_ID'),
      preset === 'apple'
        ? `required for provider ${id}: the Services ID registered at Apple (e.g. com.example.signin)`
        : `required for provider ${id}: the client id registered at the provider`,
    )
  }
  const clientSecret = read(env, name('CLIENT_SECRET'))
  if (preset === 'apple') {
    if (clientSecret !== undefined) {
      throw new ProviderVariableError(
        name('CLIENT_SECRET'),
        `not used by the apple preset: Tessera signs Apple's client secret itself with the key of ${name('PRIVATE_KEY_FILE')} (or ${name('PRIVATE_KEY')}); unset it`,
      )
    }
  } else {
    if (clientSecret === undefined && preset !== 'oidc') {
      throw new ProviderVariableError(
        name('CLIENT_SECRET'),
        `required for provider ${id} (preset ${preset}): the client secret the provider issued`,
      )
    }
    for (const field of APPLE_FIELDS) {
      if (read(env, name(field)) !== undefined) {
        throw new ProviderVariableError(
          name(field),
          `only used by the apple preset (provider ${id} is ${preset}); unset it`,
        )
      }
    }
  }
  const scopes = parseScopes(id, preset, read(env, name('SCOPES')))
  const displayName = parseName(id, read(env, name('NAME')))
  const keepTokensRaw = read(env, name('KEEP_TOKENS'))
  let keepTokens = false
  if (keepTokensRaw !== undefined) {
    try {
      keepTokens = parseBoolean(keepTokensRaw)
    } catch (error) {
      if (!(error instanceof ExpectedValue)) throw error
      throw new ProviderVariableError(
        name('KEEP_TOKENS'),
        `expected ${error.message}, got ${JSON.stringify(keepTokensRaw.slice(0, 40))}`,
      )
    }
  }
  const apple = preset === 'apple' ? parseApple(id, env, cwd) : undefined
  return {
    id,
    preset,
    issuer,
    clientId,
    clientSecret: preset === 'apple' ? undefined : clientSecret,
    scopes,
    name: displayName,
    keepTokens,
    apple,
  }
}

function parseName(id: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined
  const variable = providerVariable(id, 'NAME')
  const name = raw.normalize('NFC')
  if ([...name].length > NAME_MAX) {
    throw new ProviderVariableError(variable, `at most ${NAME_MAX} characters (a button's label)`)
  }
  if (NAME_FORBIDDEN.test(name)) {
    throw new ProviderVariableError(
      variable,
      'expected a single line of text, without control characters or bidirectional overrides',
    )
  }
  return name
}

/**
 * Sign in with Apple's client secret is a JWT signed with the team's key
 * (ES256): the team id, the key id, and the key itself (the `.p8` file Apple
 * hands out once, a PKCS #8 PEM), inline or by file. The key is checked here,
 * so that a wrong one stops the server at start rather than every sign-in;
 * no message shows any of it.
 */
function parseApple(
  id: string,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): AppleClientSecretConfig {
  const name = (field: (typeof APPLE_FIELDS)[number]) => providerVariable(id, field)
  const teamId = read(env, name('TEAM_ID'))
  if (teamId === undefined || !APPLE_ID.test(teamId)) {
    throw new ProviderVariableError(
      name('TEAM_ID'),
      teamId === undefined
        ? `required for provider ${id} (preset apple): the Apple developer team id (10 letters and digits, top right of developer.apple.com/account)`
        : `expected the 10-character Apple team id (upper-case letters and digits), got ${JSON.stringify(teamId.slice(0, 40))}`,
    )
  }
  const keyId = read(env, name('KEY_ID'))
  if (keyId === undefined || !APPLE_ID.test(keyId)) {
    throw new ProviderVariableError(
      name('KEY_ID'),
      keyId === undefined
        ? `required for provider ${id} (preset apple): the id of the Sign in with Apple key (10 letters and digits)`
        : `expected the 10-character key id (upper-case letters and digits), got ${JSON.stringify(keyId.slice(0, 40))}`,
    )
  }
  const inline = read(env, name('PRIVATE_KEY'))
  const file = read(env, name('PRIVATE_KEY_FILE'))
  if (inline !== undefined && file !== undefined) {
    throw new ProviderVariableError(
      name('PRIVATE_KEY'),
      `set either it or ${name('PRIVATE_KEY_FILE')}, not both`,
    )
  }
  let pem: string
  let variable: string
  if (file !== undefined) {
    variable = name('PRIVATE_KEY_FILE')
    const path = resolve(cwd, file)
    let bytes: Buffer
    try {
      bytes = readFileSync(path)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      throw new ProviderVariableError(
        variable,
        `cannot read ${path}${code === undefined ? '' : ` (${code})`}`,
      )
    }
    if (bytes.length > KEY_FILE_MAX) {
      throw new ProviderVariableError(variable, `${path} is not a .p8 key file (it is too large)`)
    }
    pem = bytes.toString('utf8')
  } else if (inline !== undefined) {
    variable = name('PRIVATE_KEY')
    // One line in a .env file or a container's settings: `\n` stands for a line break.
    pem = inline.replaceAll('\\n', '\n')
  } else {
    throw new ProviderVariableError(
      name('PRIVATE_KEY_FILE'),
      `required for provider ${id} (preset apple): the path of the Sign in with Apple key (.p8), or its PEM text in ${name('PRIVATE_KEY')}`,
    )
  }
  pem = pem.replaceAll('\r\n', '\n').trim()
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem, format: 'pem' })
  } catch {
    throw new ProviderVariableError(
      variable,
      'expected the PEM text of the Sign in with Apple key (the .p8 file: -----BEGIN PRIVATE KEY----- ...); it could not be read as a private key',
    )
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ProviderVariableError(
      variable,
      'expected a P-256 (ES256) private key, as Apple issues for Sign in with Apple; this is another kind of key',
    )
  }
  // PKCS #8 whatever the spelling given (a SEC 1 `EC PRIVATE KEY` works too).
  const privateKey = String(key.export({ type: 'pkcs8', format: 'pem' }))
  return { teamId, keyId, privateKey }
}

function isPreset(value: string): value is ProviderPreset {
  return (PROVIDER_PRESETS as readonly string[]).includes(value)
}

function parseProviderIssuer(
  id: string,
  preset: ProviderPreset,
  raw: string | undefined,
  production: boolean,
): string | undefined {
  const variable = providerVariable(id, 'ISSUER')
  if (raw === undefined) {
    if (preset === 'oidc') {
      throw new ProviderVariableError(
        variable,
        `required for provider ${id} (preset oidc): the issuer URL whose /.well-known/openid-configuration describes it`,
      )
    }
    return preset === 'microsoft' ? MICROSOFT_DEFAULT_ISSUER : undefined
  }
  if (preset === 'google' || preset === 'github') {
    throw new ProviderVariableError(
      variable,
      `not used by the ${preset} preset (its endpoints are fixed); unset it, or use the oidc preset`,
    )
  }
  // Apple has one issuer; a loopback one outside production is how the
  // tests stand a local OpenID provider in for it.
  if (preset === 'apple' && (production || !isLoopbackHttp(raw))) {
    throw new ProviderVariableError(
      variable,
      'not used by the apple preset (its issuer is https://appleid.apple.com); unset it (an http://localhost issuer is accepted outside production, for tests)',
    )
  }
  const url = URL.parse(raw)
  if (
    url === null ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new ProviderVariableError(
      variable,
      `expected an absolute http(s) URL without query, fragment or credentials, got ${JSON.stringify(raw.slice(0, 120))}`,
    )
  }
  // OpenID Connect Discovery §4.3 compares the issuer exactly, trailing slash included
  // (Authentik's issuers end in one, Google's does not): keep it as given.
  const issuer = raw
  if (url.protocol === 'http:' && (production || !isLoopbackHttp(issuer))) {
    throw new ProviderVariableError(
      variable,
      `${issuer} must be https:// (plain http is accepted only for localhost or 127.0.0.1 outside production)`,
    )
  }
  if (preset === 'microsoft' && url.hostname !== 'login.microsoftonline.com') {
    throw new ProviderVariableError(
      variable,
      'for the microsoft preset, expected https://login.microsoftonline.com/<tenant>/v2.0 (tenant: an id, a domain, common, organizations or consumers)',
    )
  }
  return issuer
}

function parseScopes(
  id: string,
  preset: ProviderPreset,
  raw: string | undefined,
): string[] | undefined {
  if (raw === undefined) return undefined
  const variable = providerVariable(id, 'SCOPES')
  const scopes = [...new Set(raw.split(/[\s,]+/).filter((scope) => scope !== ''))]
  for (const scope of scopes) {
    // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    if (!SCOPE.test(scope)) {
      throw new ProviderVariableError(
        variable,
        `expected scopes separated by spaces or commas, got ${JSON.stringify(scope.slice(0, 40))}`,
      )
    }
  }
  if (preset !== 'github' && !scopes.includes('openid')) {
    throw new ProviderVariableError(
      variable,
      `must include openid: provider ${id} (preset ${preset}) signs in with OpenID Connect`,
    )
  }
  return scopes
}
