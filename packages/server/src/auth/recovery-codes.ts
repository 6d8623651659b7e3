// Recovery codes: ten one-time codes shown once when a second factor is set
// up, for the day the phone is lost. `xxxx-xxxx` from an alphabet without
// look-alikes (about 40 bits each, against 5 tries per sign-in step); stored as
// SHA-256 bound to the user, so a copy of the table opens nothing.

import { createHash, randomInt } from 'node:crypto'

const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'
export const RECOVERY_CODE_COUNT = 10

/** Ten new codes, as the user sees them. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    let code = ''
    for (let i = 0; i < 8; i++) code += ALPHABET[randomInt(ALPHABET.length)]
    return `${code.slice(0, 4)}-${code.slice(4)}`
  })
}

/**
 * The stored form of a code as typed: case, spaces and dashes do not
 * matter; anything else outside the alphabet makes it no code (undefined).
 */
export function hashRecoveryCode(userId: string, typed: string): string | undefined {
  const code = typed.toLowerCase().replace(/[\s-]/g, '')
  if (code.length !== 8 || [...code].some((c) => !ALPHABET.includes(c))) return undefined
  return createHash('sha256').update(`${userId}:${code}`).digest('base64url')
}
