// Refresh tokens are opaque random strings, never JWTs, so one can never be
// taken for an access token. Only their SHA-256 is stored: a database leak
// yields no usable token (OWASP Session Management: store session ids hashed).

import { createHash, randomBytes } from 'node:crypto'

const TOKEN_BYTES = 32
/** 32 bytes in base64url without padding. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/

/**
 * A new refresh token (256 random bits, base64url, 43 characters) and the hash
 * to store for it.
 *
 * @example
 * const { token, hash } = createRefreshToken() // give `token` to the client, store `hash`
 */
export function createRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(TOKEN_BYTES).toString('base64url')
  return { token, hash: hashRefreshToken(token) }
}

/**
 * SHA-256 of a refresh token, base64url: the store's lookup key. A plain hash
 * is enough (no salt, no slow hash): the input already has 256 bits of entropy.
 */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url')
}

/**
 * Whether `token` has the exact shape of a refresh token this server issues,
 * so garbage is refused before any store lookup.
 */
export function isWellFormedRefreshToken(token: unknown): token is string {
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return false
  // 43 characters carry 258 bits: the last one must leave the 2 spare bits zero.
  return Buffer.from(token, 'base64url').toString('base64url') === token
}
