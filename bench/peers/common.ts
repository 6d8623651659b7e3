// What the peer servers share: their settings, read from the environment the
// bench gives them (the algorithm and key file, issuer, audience, and the
// profile part of the GET /auth/me answer), the answer built from the verified
// claims, and the line the bench waits for. Each peer is its own process.

import { readFileSync } from 'node:fs'
import type { PeerKeyFile } from '../lib/bench-keys.ts'

/** The fields of the GET /auth/me answer that an access token does not carry. */
export interface Profile {
  email: string
  name: string | null
  emailVerified: boolean
  createdAt: string
}

export interface PeerSettings extends PeerKeyFile {
  issuer: string
  audience: string
  profile: Profile
  /** PEER_PUBLIC_URL, when set: the URL clients call, which DPoP proofs name in `htu`. */
  publicUrl?: string
}

/** The environment variable `name`; throws when it is unset or empty. */
export function required(name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is not set`)
  return value
}

/**
 * PEER_KEY_FILE, PEER_ISSUER, PEER_AUDIENCE, PEER_PROFILE (JSON) and the
 * optional PEER_PUBLIC_URL, read once at start.
 */
export function peerSettings(): PeerSettings {
  const key = JSON.parse(readFileSync(required('PEER_KEY_FILE'), 'utf8')) as PeerKeyFile
  if (key.alg !== 'ES256' && key.alg !== 'HS256') throw new Error('unsupported peer algorithm')
  return {
    ...key,
    issuer: required('PEER_ISSUER'),
    audience: required('PEER_AUDIENCE'),
    profile: JSON.parse(required('PEER_PROFILE')) as Profile,
    ...(process.env.PEER_PUBLIC_URL ? { publicUrl: process.env.PEER_PUBLIC_URL } : {}),
  }
}

/**
 * The GET /auth/me answer, the same JSON (same keys, same order) Tessera's
 * route sends: `id` and `roles` from the verified claims, the rest from the
 * profile.
 */
export function meBody(
  profile: Profile,
  claims: { sub?: unknown; roles?: unknown },
): {
  id: unknown
  email: string
  name: string | null
  roles: unknown
  emailVerified: boolean
  createdAt: string
} {
  return {
    id: claims.sub,
    email: profile.email,
    name: profile.name,
    roles: claims.roles,
    emailVerified: profile.emailVerified,
    createdAt: profile.createdAt,
  }
}

/** Prints the line the bench waits for. */
export function announce(port: number): void {
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`)
}
