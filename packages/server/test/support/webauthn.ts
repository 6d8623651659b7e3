// A software authenticator for the HTTP tests: what a browser and a passkey
// would send, made in Node (WebAuthn Level 3 §6: authenticator data,
// attestation 'none', ES256 signatures over authenticatorData ‖
// SHA-256(clientDataJSON)). The browser suite (test/browser/passkeys.test.ts)
// does the same with Chromium's own virtual authenticator; this one lets a
// test bend what no browser would (another origin or RP id, a counter that
// goes back).

import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto'

type Cbor = number | string | Uint8Array | Cbor[] | Map<Cbor, Cbor> | { [key: string]: Cbor }

/** RFC 8949 §3: the head of a data item of major type `major` with argument `value`. */
function head(major: number, value: number): Buffer {
  const type = major << 5
  if (value < 24) return Buffer.from([type | value])
  if (value < 0x100) return Buffer.from([type | 24, value])
  if (value < 0x10000) return Buffer.from([type | 25, value >> 8, value & 0xff])
  const four = Buffer.alloc(5)
  four[0] = type | 26
  four.writeUInt32BE(value, 1)
  return four
}

/** Enough CBOR for attestation objects and COSE keys: integers, strings, bytes, arrays, maps. */
export function encodeCbor(value: Cbor): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value)
  if (typeof value === 'string') {
    const bytes = Buffer.from(value)
    return Buffer.concat([head(3, bytes.length), bytes])
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value])
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(encodeCbor)])
  const entries: [Cbor, Cbor][] = value instanceof Map ? [...value] : Object.entries(value)
  return Buffer.concat([
    head(5, entries.length),
    ...entries.flatMap(([k, v]) => [encodeCbor(k), encodeCbor(v)]),
  ])
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest()

/** A credential the authenticator holds. */
export interface SoftCredential {
  id: string
  rpId: string
  userHandle: string
  privateKey: KeyObject
  signCount: number
}

export interface SoftAuthenticatorOptions {
  /** The page's origin, as the browser would put it in clientDataJSON. */
  origin: string
  /** Backup eligible and backed up: a synced passkey (`multiDevice`). */
  synced?: boolean
  /** Whether it verifies the user (UV flag); default true. */
  userVerified?: boolean
  /** Authenticators that keep no counter always send 0. */
  counterless?: boolean
}

/** What a test may bend in one ceremony. */
export interface Bend {
  origin?: string
  rpId?: string
  /** The signature counter to send (and keep). */
  signCount?: number
  /** get: use this credential, whatever the options allow; create: make this one again. */
  credentialId?: string
  /** Sign another challenge than the options'. */
  challenge?: string
}

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = []
  readonly #options: SoftAuthenticatorOptions

  constructor(options: SoftAuthenticatorOptions) {
    this.#options = options
  }

  #flags(attested: boolean): number {
    const { synced = false, userVerified = true } = this.#options
    return (
      0x01 | // UP
      (userVerified ? 0x04 : 0) |
      (synced ? 0x08 | 0x10 : 0) | // BE, BS
      (attested ? 0x40 : 0) // AT
    )
  }

  #clientData(type: string, challenge: string, bend: Bend): string {
    return b64url(
      Buffer.from(
        JSON.stringify({
          type,
          challenge: bend.challenge ?? challenge,
          origin: bend.origin ?? this.#options.origin,
          crossOrigin: false,
        }),
      ),
    )
  }

  /** navigator.credentials.create + toJSON(), for SimpleWebAuthn's creation options. */
  create(options: Record<string, unknown>, bend: Bend = {}): Record<string, unknown> {
    const rp = options.rp as { id: string }
    const user = options.user as { id: string }
    const rpId = bend.rpId ?? rp.id
    const again = this.credentials.find((c) => c.id === bend.credentialId)
    const privateKey =
      again?.privateKey ?? generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    const jwk = privateKey.export({ format: 'jwk' })
    const id = again === undefined ? randomBytes(16) : Buffer.from(again.id, 'base64url')
    const credential: SoftCredential = again ?? {
      id: b64url(id),
      rpId,
      userHandle: user.id,
      privateKey,
      signCount: bend.signCount ?? 0,
    }
    if (again === undefined) this.credentials.push(credential)
    // RFC 9053 §7.1.1 (EC2 key): kty 2, alg -7 (ES256), crv 1 (P-256), x, y.
    const coseKey = new Map<Cbor, Cbor>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ])
    const length = Buffer.alloc(2)
    length.writeUInt16BE(id.length)
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([this.#flags(true)]),
      this.#counter(credential.signCount),
      Buffer.alloc(16), // AAGUID: none
      length,
      id,
      encodeCbor(coseKey),
    ])
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON: this.#clientData('webauthn.create', options.challenge as string, bend),
        attestationObject: b64url(encodeCbor({ fmt: 'none', attStmt: {}, authData })),
        transports: ['internal'],
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    }
  }

  /** navigator.credentials.get + toJSON(), for SimpleWebAuthn's request options. */
  get(options: Record<string, unknown>, bend: Bend = {}): Record<string, unknown> {
    const rpId = bend.rpId ?? (options.rpId as string)
    const allowed = ((options.allowCredentials as { id: string }[] | undefined) ?? []).map(
      (c) => c.id,
    )
    const credential = this.credentials.find((c) =>
      bend.credentialId === undefined
        ? c.rpId === rpId && (allowed.length === 0 || allowed.includes(c.id))
        : c.id === bend.credentialId,
    )
    if (credential === undefined) throw new Error('NotAllowedError: no credential for this RP')
    if (bend.signCount !== undefined) credential.signCount = bend.signCount
    else if (!this.#options.counterless) credential.signCount += 1
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([this.#flags(false)]),
      this.#counter(credential.signCount),
    ])
    const clientDataJSON = this.#clientData('webauthn.get', options.challenge as string, bend)
    const signature = sign(
      'sha256',
      Buffer.concat([authData, sha256(Buffer.from(clientDataJSON, 'base64url'))]),
      credential.privateKey,
    )
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON,
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    }
  }

  #counter(value: number): Buffer {
    if (this.#options.counterless) return Buffer.alloc(4)
    const bytes = Buffer.alloc(4)
    bytes.writeUInt32BE(value)
    return bytes
  }
}
