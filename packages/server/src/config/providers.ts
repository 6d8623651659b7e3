// TESSERA_PROVIDERS and the family of variables it brings in: for each
// listed id, TESSERA_PROVIDER_<ID>_PRESET, _ISSUER, _CLIENT_ID,
// _CLIENT_SECRET and _SCOPES (GoTrue's external providers are configured the
// same way). The names depend on the list, so they are read here rather than
// declared one by one in the schema; every message still names the variable
// at fault, and a secret's value is never echoed.

import { isLoopbackHttp, RefusedValue } from './parsers.ts'
import type { ProviderConfig, ProviderPreset } from './types.ts'

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
] as const)

/** A provider id: lower case letters, digits and `_`, starting with a letter (it is part of variable names and of URLs). */
const ID = /^[a-z][a-z0-9_]{0,31}$/
const MICROSOFT_DEFAULT_ISSUER = 'https://login.microsoftonline.com/common/v2.0'
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/

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
    providers.push(parseProvider(id, env, production))
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
  if (preset === 'apple') {
    // Sign in with Apple posts its answer (response_mode=form_post) and takes
    // a client secret that is a JWT signed with the team's key: not built yet.
    throw new ProviderVariableError(
      name('PRESET'),
      'the apple preset is not yet supported (it needs a form_post callback and a client secret signed as a JWT)',
    )
  }

  const issuer = parseProviderIssuer(id, preset, read(env, name('ISSUER')), production)
  const clientId = read(env, name('CLIENT_ID'))
  if (clientId === undefined) {
    throw new ProviderVariableError(
      name('CLIENT_ID'),
      `required for provider ${id}: the client id registered at the provider`,
    )
  }
  const clientSecret = read(env, name('CLIENT_SECRET'))
  if (clientSecret === undefined && preset !== 'oidc') {
    throw new ProviderVariableError(
      name('CLIENT_SECRET'),
      `required for provider ${id} (preset ${preset}): the client secret the provider issued`,
    )
  }
  const scopes = parseScopes(id, preset, read(env, name('SCOPES')))
  return { id, preset, issuer, clientId, clientSecret, scopes }
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
