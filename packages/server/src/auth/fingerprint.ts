// Who a refresh came from, as far as the server can tell without a key of
// the client's: the address and the User-Agent, hashed. A racing refresh
// inside the grace window gets the successor back only from the same
// fingerprint (/auth/refresh, and /oauth/token for public clients).

import { createHash, timingSafeEqual } from 'node:crypto'
import type { ClientInfo } from './types.ts'

export function clientFingerprint(client: ClientInfo): string {
  return createHash('sha256')
    .update(`${client.ip ?? ''}\n${client.userAgent ?? ''}`)
    .digest('base64url')
}

/** Equal texts, compared in constant time. */
export function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a)
  const right = Buffer.from(b)
  return left.length === right.length && timingSafeEqual(left, right)
}
