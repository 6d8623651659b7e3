/**
 * The keys the peers trust and the tokens the bench signs for them. A run
 * makes one key per algorithm (a P-256 pair for ES256, a 43-character secret
 * for HS256, whose UTF-8 bytes are the HMAC key for every library), writes
 * what the peers need into a key file (0600, in a temp dir), and signs the
 * peers' tokens with the claims of a token the Tessera server issued (same
 * `iss`, `aud`, `sub`, `sid`, `roles`, header `{alg, typ: "at+jwt", kid}`),
 * so every server verifies the same shape of token.
 */

import { randomBytes, randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  decode,
  exportJwk,
  generateKeyPair,
  importSecret,
  type Jwk,
  type Key,
  sign,
} from '@tessera/jwt'

export type BenchAlg = 'ES256' | 'HS256'

export const BENCH_ALGS: readonly BenchAlg[] = ['ES256', 'HS256']

/** What the peers read from the key file (`PEER_KEY_FILE`). */
export interface PeerKeyFile {
  alg: BenchAlg
  kid: string
  /** ES256: the public key as SPKI PEM and as a JWK. */
  publicPem?: string
  publicJwk?: Jwk
  /** HS256: the secret as text (its UTF-8 bytes are the key). */
  secret?: string
}

export interface BenchKey {
  readonly alg: BenchAlg
  readonly kid: string
  /** The private (ES256) or secret (HS256) key the bench signs with. */
  readonly signingKey: Key
  /** The key file for the peers. */
  readonly file: string
  /** HS256: the TESSERA_HS_SECRETS value holding the same secret. */
  readonly hsSecrets: string | undefined
}

/** Makes a key for `alg` and writes its key file into `dir`. */
export function createBenchKey(alg: BenchAlg, dir: string): BenchKey {
  const kid = `bench-${alg.toLowerCase()}`
  const file = join(dir, `peer-key-${alg.toLowerCase()}.json`)
  let content: PeerKeyFile
  let signingKey: Key
  let hsSecrets: string | undefined
  if (alg === 'HS256') {
    // Text, so libraries that take a string secret (jsonwebtoken, fast-jwt,
    // hono) and those that take bytes see the same 43-byte key.
    const secret = randomBytes(32).toString('base64url')
    signingKey = importSecret(secret, 'HS256', { kid })
    hsSecrets = `${kid}:${Buffer.from(secret, 'utf8').toString('base64url')}`
    content = { alg, kid, secret }
  } else {
    const pair = generateKeyPair('ES256', { kid })
    signingKey = pair.privateKey
    const publicPem = pair.publicKey.keyObject.export({ type: 'spki', format: 'pem' }).toString()
    content = { alg, kid, publicPem, publicJwk: exportJwk(pair.publicKey) }
  }
  writeFileSync(file, JSON.stringify(content), { mode: 0o600 })
  return { alg, kid, signingKey, file, hsSecrets }
}

/** The claims of a server-issued access token that the peers' tokens copy. */
export interface ClaimTemplate {
  iss: string
  aud: string
  sub: string
  sid: string
  roles: string[]
}

/** The template of `token` (an access token Tessera issued). */
export function claimTemplate(token: string): ClaimTemplate {
  const { payload } = decode(token)
  const { iss, aud, sub, sid, roles } = payload as Record<string, unknown>
  if (
    typeof iss !== 'string' ||
    typeof aud !== 'string' ||
    typeof sub !== 'string' ||
    typeof sid !== 'string' ||
    !Array.isArray(roles)
  ) {
    throw new Error('the server token lacks iss, aud, sub, sid or roles')
  }
  return { iss, aud, sub, sid, roles: roles.map(String) }
}

/** Changes to the claims of a gate token (a wrong audience, an expired one). */
export interface ClaimChanges {
  iss?: string
  aud?: string
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number
  /** Binds the token to a DPoP key (RFC 9449 §6: `cnf.jkt`, the key's RFC 7638 thumbprint). */
  cnf?: { jkt: string }
  /** Another session than the template's (one ended at the server: its revocation reaches the feed). */
  sid?: string
}

/** One token like the server's: fresh `jti`, `iat` now, `exp` in two hours unless changed. */
export function signLike(key: Key, template: ClaimTemplate, changes: ClaimChanges = {}): string {
  const iat = Math.floor(Date.now() / 1000)
  const expiresIn = changes.expiresIn ?? 7200
  const claims = {
    iss: changes.iss ?? template.iss,
    sub: template.sub,
    aud: changes.aud ?? template.aud,
    exp: iat + expiresIn,
    iat: expiresIn < 0 ? iat + expiresIn - 60 : iat,
    jti: randomUUID(),
    sid: changes.sid ?? template.sid,
    roles: template.roles,
    ...(changes.cnf === undefined ? {} : { cnf: changes.cnf }),
  }
  return sign(claims, key, { typ: 'at+jwt', timestamp: false })
}

/** `count` distinct tokens (distinct `jti`) like the server's. */
export function signMany(key: Key, template: ClaimTemplate, count: number): string[] {
  return Array.from({ length: count }, () => signLike(key, template))
}

/**
 * Tokens every verifying server must refuse: signed by another key with the
 * same kid, expired, for another audience, from another issuer.
 */
export function refusedTokens(key: BenchKey, template: ClaimTemplate): Record<string, string> {
  const foreign =
    key.alg === 'HS256'
      ? importSecret(randomBytes(32).toString('base64url'), 'HS256', { kid: key.kid })
      : generateKeyPair('ES256', { kid: key.kid }).privateKey
  return {
    'another key': signLike(foreign, template),
    expired: signLike(key.signingKey, template, { expiresIn: -3600 }),
    'wrong audience': signLike(key.signingKey, template, { aud: 'https://elsewhere.example' }),
    'wrong issuer': signLike(key.signingKey, template, { iss: 'https://elsewhere.example' }),
  }
}
