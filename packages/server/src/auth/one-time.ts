// One-time links and codes (PRODUCT.md, "Email"): 256-bit link tokens and
// 6-digit codes, stored as SHA-256 hashes only, bound to one purpose and one
// user, single use (the store's consumeToken decides races), short-lived.
// A new token of a purpose ends the user's older ones (the store does that).

import { createHash, randomBytes, randomInt } from 'node:crypto'
import type { OneTimePurpose, OneTimeTokenStore } from '../storage/ports.ts'

/** How long each kind lives (PRODUCT.md): verify 24 h, reset 1 h, sign-in 10 min. */
export const ONE_TIME_TTL_MS: Readonly<Record<OneTimePurpose, number>> = {
  verify_email: 24 * 3600_000,
  reset_password: 3600_000,
  sign_in: 10 * 60_000,
  sign_in_code: 10 * 60_000,
  change_email: 24 * 3600_000,
}

/** Wrong tries a code survives (a link has no tries: it is either right or unknown). */
export const CODE_ATTEMPTS = 5

/** The stored form of a link token: its SHA-256, base64url. */
export function hashLinkToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url')
}

/** The stored form of a code: bound to its user, since six digits alone collide. */
export function hashCode(userId: string, code: string): string {
  return createHash('sha256').update(`${userId}:${code}`).digest('base64url')
}

/** A link token's shape: 43 base64url characters (32 random bytes). */
export function isLinkToken(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value)
}

/**
 * Stores a new link for `userId` and returns the token to mail (the store
 * keeps only its hash). Call it inside Store.atomically with the enqueue.
 */
export async function issueLink(
  tokens: OneTimeTokenStore,
  input: { userId: string; purpose: OneTimePurpose; email: string; now: number },
): Promise<string> {
  let token: string
  // Never six digits in a row: in a code mail, the code is the only 6-digit
  // number (PRODUCT.md), so a reader (or a phone) picks the right one.
  do token = randomBytes(32).toString('base64url')
  while (/\d{6}/.test(token))
  await tokens.createToken(
    {
      hash: hashLinkToken(token),
      userId: input.userId,
      purpose: input.purpose,
      email: input.email,
      createdAt: input.now,
      expiresAt: input.now + ONE_TIME_TTL_MS[input.purpose],
      maxAttempts: 1,
    },
    input.now,
  )
  return token
}

/**
 * Stores a new sign-in code for `userId` (CODE_ATTEMPTS wrong tries) and
 * returns it; call it inside Store.atomically with the enqueue.
 */
export async function issueCode(
  tokens: OneTimeTokenStore,
  input: { userId: string; email: string; now: number },
): Promise<string> {
  const code = newCode()
  await tokens.createToken(
    {
      hash: hashCode(input.userId, code),
      userId: input.userId,
      purpose: 'sign_in_code',
      email: input.email,
      createdAt: input.now,
      expiresAt: input.now + ONE_TIME_TTL_MS.sign_in_code,
      maxAttempts: CODE_ATTEMPTS,
    },
    input.now,
  )
  return code
}

/** A code's shape: exactly six ASCII digits. */
export function isCode(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9]{6}$/.test(value)
}

/** A uniformly random 6-digit code (leading zeros kept). */
function newCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0')
}
