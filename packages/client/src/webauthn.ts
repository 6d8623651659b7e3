// Passkey ceremonies in the browser (docs/mfa.md, "Passkeys"). Tessera's
// options answers are SimpleWebAuthn's PublicKeyCredential*OptionsJSON
// (binary members as base64url) and its verify routes take what
// `credential.toJSON()` gives (WebAuthn Level 3 §5.1): the browser's own
// parse*FromJSON / toJSON where it has them, the same encoding here where it
// has not (browsers before WebAuthn Level 3's JSON methods).

import { TesseraError } from './errors.ts'

/** Creation options as Tessera answers them (POST /auth/passkeys/register/options). */
export type CreationOptionsJson = PublicKeyCredentialCreationOptionsJSON & {
  readonly challengeId?: string
}

/** Request options as Tessera answers them (the sign-in, second-step and step-up options routes). */
export type RequestOptionsJson = PublicKeyCredentialRequestOptionsJSON & {
  readonly challengeId?: string
}

/** WebAuthn Level 3 `RegistrationResponseJSON`, what POST /auth/passkeys/register/verify takes. */
export interface RegistrationResponseJson {
  readonly id: string
  readonly rawId: string
  readonly type: string
  readonly response: {
    readonly clientDataJSON: string
    readonly attestationObject: string
    readonly authenticatorData?: string
    readonly transports?: readonly string[]
    readonly publicKeyAlgorithm?: number
    readonly publicKey?: string
  }
  readonly authenticatorAttachment?: string
  readonly clientExtensionResults: Record<string, unknown>
}

/** WebAuthn Level 3 `AuthenticationResponseJSON`, what the sign-in, MFA and step-up routes take. */
export interface AuthenticationResponseJson {
  readonly id: string
  readonly rawId: string
  readonly type: string
  readonly response: {
    readonly clientDataJSON: string
    readonly authenticatorData: string
    readonly signature: string
    readonly userHandle?: string
  }
  readonly authenticatorAttachment?: string
  readonly clientExtensionResults: Record<string, unknown>
}

/** How a `get` ceremony runs: `conditional` offers the passkeys in the username field's autofill. */
export interface CeremonyOptions {
  readonly mediation?: 'conditional'
  readonly signal?: AbortSignal
}

/** Bytes as unpadded base64url (RFC 4648 §5). */
export function base64urlEncode(bytes: ArrayBuffer | ArrayBufferView): string {
  const view = ArrayBuffer.isView(bytes)
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : new Uint8Array(bytes)
  let binary = ''
  for (const byte of view) binary += String.fromCharCode(byte)
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')
}

/** base64url (padding tolerated) as bytes; a TypeError for anything else. */
export function base64urlDecode(text: string): Uint8Array<ArrayBuffer> {
  const bare = text.replace(/={1,2}$/, '')
  if (!/^[A-Za-z0-9_-]*$/.test(bare) || bare.length % 4 === 1) {
    throw new TypeError('not base64url')
  }
  const binary = atob(bare.replaceAll('-', '+').replaceAll('_', '/'))
  return Uint8Array.from(binary, (char) => char.charCodeAt(0))
}

const withBinaryId = (descriptor: PublicKeyCredentialDescriptorJSON) => ({
  ...descriptor,
  id: base64urlDecode(descriptor.id),
})

/** What `PublicKeyCredential.parseCreationOptionsFromJSON` does, for browsers without it. */
export function creationOptionsFromJson(
  json: PublicKeyCredentialCreationOptionsJSON,
): PublicKeyCredentialCreationOptions {
  return {
    ...json,
    challenge: base64urlDecode(json.challenge),
    user: { ...json.user, id: base64urlDecode(json.user.id) },
    excludeCredentials: (json.excludeCredentials ?? []).map(withBinaryId),
  } as PublicKeyCredentialCreationOptions
}

/** What `PublicKeyCredential.parseRequestOptionsFromJSON` does, for browsers without it. */
export function requestOptionsFromJson(
  json: PublicKeyCredentialRequestOptionsJSON,
): PublicKeyCredentialRequestOptions {
  const options = { ...json, challenge: base64urlDecode(json.challenge) }
  if (json.allowCredentials !== undefined) {
    return { ...options, allowCredentials: json.allowCredentials.map(withBinaryId) } as never
  }
  return options as PublicKeyCredentialRequestOptions
}

/** Calls an optional getter of a response, which some password managers' stand-ins throw from. */
function optional<T>(read: (() => T) | undefined): T | undefined {
  try {
    return read?.() ?? undefined
  } catch {
    return undefined
  }
}

/**
 * A credential as the JSON the verify routes take: the browser's `toJSON()`
 * when it works, else the same members encoded here. Password managers that
 * stand in for the browser's WebAuthn sometimes lack `toJSON` or break it,
 * hence the check of its result.
 */
export function credentialToJson(
  credential: PublicKeyCredential,
): RegistrationResponseJson | AuthenticationResponseJson {
  const native = optional(
    typeof credential.toJSON === 'function' ? () => credential.toJSON() : undefined,
  ) as { id?: unknown; response?: { clientDataJSON?: unknown } } | undefined
  if (typeof native?.id === 'string' && typeof native.response?.clientDataJSON === 'string') {
    return native as RegistrationResponseJson | AuthenticationResponseJson
  }
  const response = credential.response as Partial<
    AuthenticatorAttestationResponse & AuthenticatorAssertionResponse
  >
  const encoded: Record<string, unknown> = {
    clientDataJSON: base64urlEncode(response.clientDataJSON as ArrayBuffer),
  }
  if (response.attestationObject !== undefined) {
    encoded['attestationObject'] = base64urlEncode(response.attestationObject)
    encoded['transports'] = optional(response.getTransports?.bind(response)) ?? []
    const data = optional(response.getAuthenticatorData?.bind(response))
    if (data !== undefined) encoded['authenticatorData'] = base64urlEncode(data)
    const publicKey = optional(response.getPublicKey?.bind(response))
    if (publicKey) encoded['publicKey'] = base64urlEncode(publicKey)
    const algorithm = optional(response.getPublicKeyAlgorithm?.bind(response))
    if (algorithm !== undefined) encoded['publicKeyAlgorithm'] = algorithm
  } else {
    encoded['authenticatorData'] = base64urlEncode(response.authenticatorData as ArrayBuffer)
    encoded['signature'] = base64urlEncode(response.signature as ArrayBuffer)
    if (response.userHandle) encoded['userHandle'] = base64urlEncode(response.userHandle)
  }
  return {
    id: credential.id,
    rawId: base64urlEncode(credential.rawId),
    type: credential.type,
    response: encoded,
    ...(typeof credential.authenticatorAttachment === 'string'
      ? { authenticatorAttachment: credential.authenticatorAttachment }
      : {}),
    clientExtensionResults: optional(credential.getClientExtensionResults?.bind(credential)) ?? {},
  } as unknown as RegistrationResponseJson | AuthenticationResponseJson
}

const unsupported = (message: string, reason?: string, cause?: unknown) =>
  new TesseraError({ code: 'unsupported', message, reason, cause })

/**
 * Throws `unsupported` when this browser has no WebAuthn, or, for
 * `mediation: 'conditional'`, cannot offer passkeys as autofill.
 */
export async function assertPasskeys(mediation?: 'conditional'): Promise<void> {
  const api = globalThis.PublicKeyCredential
  if (typeof api !== 'function' || typeof globalThis.navigator?.credentials?.get !== 'function') {
    throw unsupported('This browser cannot use passkeys.')
  }
  if (mediation === 'conditional') {
    const available = await api.isConditionalMediationAvailable?.().catch(() => false)
    if (available !== true) throw unsupported('This browser cannot offer passkeys as autofill.')
  }
}

/** Why the browser refused, as a TesseraError: the user's doing, or the browser's. */
function ceremonyError(error: unknown, signal: AbortSignal | undefined): TesseraError {
  const name = signal?.aborted ? 'AbortError' : String((error as Error | null)?.name ?? 'Error')
  if (name === 'NotAllowedError' || name === 'AbortError' || name === 'InvalidStateError') {
    return new TesseraError({
      code: 'passkey_cancelled',
      message:
        name === 'InvalidStateError'
          ? 'This device already holds a passkey for this account.'
          : 'No passkey was used: the dialog was closed, timed out or was aborted.',
      reason: name,
      cause: error,
    })
  }
  return unsupported(`The browser refused the passkey ceremony (${name}).`, name, error)
}

async function ceremony(
  kind: 'create' | 'get',
  json: CreationOptionsJson | RequestOptionsJson,
  extra: CeremonyOptions,
): Promise<RegistrationResponseJson | AuthenticationResponseJson> {
  await assertPasskeys(extra.mediation)
  const api = globalThis.PublicKeyCredential
  const { challengeId: _, ...options } = json
  let credential: Credential | null
  try {
    if (kind === 'create') {
      const creation = options as PublicKeyCredentialCreationOptionsJSON
      const publicKey =
        typeof api.parseCreationOptionsFromJSON === 'function'
          ? api.parseCreationOptionsFromJSON(creation)
          : creationOptionsFromJson(creation)
      credential = await navigator.credentials.create({ ...extra, publicKey })
    } else {
      const request = options as PublicKeyCredentialRequestOptionsJSON
      const publicKey =
        typeof api.parseRequestOptionsFromJSON === 'function'
          ? api.parseRequestOptionsFromJSON(request)
          : requestOptionsFromJson(request)
      credential = await navigator.credentials.get({ ...extra, publicKey })
    }
  } catch (error) {
    throw ceremonyError(error, extra.signal)
  }
  if (credential === null) throw ceremonyError({ name: 'NotAllowedError' }, undefined)
  return credentialToJson(credential as PublicKeyCredential)
}

/**
 * Makes a passkey with the server's creation options (navigator.credentials.create).
 * Rejects `passkey_cancelled` when the user closes the dialog, `unsupported` without WebAuthn.
 */
export function createPasskey(
  options: CreationOptionsJson,
  signal?: AbortSignal,
): Promise<RegistrationResponseJson> {
  return ceremony('create', options, signal ? { signal } : {}) as Promise<RegistrationResponseJson>
}

/**
 * Signs the server's challenge with a passkey (navigator.credentials.get);
 * `mediation: 'conditional'` waits for the user to pick one in the autofill.
 */
export function getPasskey(
  options: RequestOptionsJson,
  extra: CeremonyOptions = {},
): Promise<AuthenticationResponseJson> {
  return ceremony('get', options, extra) as Promise<AuthenticationResponseJson>
}
