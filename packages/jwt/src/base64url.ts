// Canonical base64url (RFC 7515 §2, RFC 4648 §5): the URL-safe alphabet, no
// padding, and no stray bits in the last character. Node's decoder is lenient
// (it skips unknown characters and ignores trailing bits), so a token could
// otherwise be rewritten into many byte-different spellings that verify alike.

const ALPHABET = /^[A-Za-z0-9_-]*$/
const B64URL_VALUE = new Int8Array(128).fill(-1)
for (let i = 0; i < 64; i++) {
  B64URL_VALUE['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i
}

/** True when `segment` is the one canonical base64url spelling of some bytes. */
export function isCanonicalBase64url(segment: string): boolean {
  const rem = segment.length & 3
  if (rem === 1 || !ALPHABET.test(segment)) return false
  if (rem === 0) return true
  // 2 chars carry 1 byte (4 spare bits), 3 chars carry 2 bytes (2 spare bits).
  const last = B64URL_VALUE[segment.charCodeAt(segment.length - 1)]!
  return (last & (rem === 2 ? 0x0f : 0x03)) === 0
}

const EMPTY = Buffer.alloc(0)

/**
 * Decodes `segment` if it is canonical base64url, in one pass over it: the
 * JWE hot path's check for long segments, where the alphabet regex of
 * {@link isCanonicalBase64url} costs as much as the decoding. Node's decoder
 * skips characters outside the base64 alphabets (so fewer bytes come out
 * than the length promises) and reads `+` and `/` as base64 (so those are
 * looked for); the spare bits are checked as above.
 */
export function decodeCanonicalBase64url(segment: string): Buffer | undefined {
  // Shared and unwritable: node allocates a new ArrayBuffer for every empty
  // Buffer, 5% of a dir decryption (whose encrypted key is empty).
  if (segment.length === 0) return EMPTY
  const rem = segment.length & 3
  if (rem === 1) return undefined
  const bytes = Buffer.from(segment, 'base64url')
  // floor(3n / 4) bytes only if every character was read as a base64 digit.
  if (bytes.length !== (segment.length * 3) >>> 2) return undefined
  if (segment.includes('+') || segment.includes('/')) return undefined
  if (rem !== 0) {
    const last = B64URL_VALUE[segment.charCodeAt(segment.length - 1)]!
    if ((last & (rem === 2 ? 0x0f : 0x03)) !== 0) return undefined
  }
  return bytes
}

/** Decodes a segment already known to be canonical. */
export function decodeBase64url(segment: string): Buffer {
  return Buffer.from(segment, 'base64url')
}

export function encodeBase64url(data: Buffer | Uint8Array | string): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)).toString(
    'base64url',
  )
}

/** Number of base64url characters (unpadded) that encode `bytes` bytes. */
export function base64urlLength(bytes: number): number {
  return Math.ceil((bytes * 4) / 3)
}
