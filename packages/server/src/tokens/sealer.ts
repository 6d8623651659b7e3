// Sealing: authenticated encryption of small secrets (signing keys, refresh
// successor pairs) under the deployment's master key, so a database dump alone
// reveals none of them.

import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

/** Encrypts and decrypts strings bound to a context (the row and purpose they belong to). */
export interface Sealer {
  /** Encrypts `plaintext`; the result opens only with the same master key and `context`. */
  seal(plaintext: string, context: string): string
  /** Decrypts a sealed value; throws one uninformative Error for any failure. */
  open(sealed: string, context: string): string
}

const MASTER_KEY_BYTES = 32
const VERSION = 'v1'
// NIST SP 800-38D §8.2.2: a random IV must be 96 bits; with random IVs one key
// may seal at most 2^32 values, far beyond what a deployment seals per master key.
const IV_BYTES = 12
const TAG_BYTES = 16
// The raw master key feeds only this derivation (RFC 5869), so it is never used
// directly as a cipher key and a future purpose can derive its own key.
const HKDF_INFO = 'tessera/seal/v1'
const BASE64URL = /^[A-Za-z0-9_-]*$/

/**
 * Builds a sealer over a 32-byte master key: AES-256-GCM with a fresh random IV
 * per value and the context string as additional authenticated data, so a
 * sealed value moved to another row or purpose fails to open.
 *
 * Output: `v1.<iv>.<ciphertext>.<tag>`, each part base64url.
 *
 * @example
 * const sealer = createSealer(masterKey)
 * const sealed = sealer.seal(JSON.stringify(privateJwk), `signing-key:${kid}`)
 * sealer.open(sealed, `signing-key:${kid}`) // the JSON again
 */
export function createSealer(masterKey: Buffer): Sealer {
  if (!Buffer.isBuffer(masterKey) || masterKey.length !== MASTER_KEY_BYTES) {
    throw new TypeError(`the master key must be exactly ${MASTER_KEY_BYTES} bytes`)
  }
  const key = Buffer.from(
    hkdfSync('sha256', masterKey, Buffer.alloc(0), HKDF_INFO, MASTER_KEY_BYTES),
  )

  function checkContext(context: unknown): asserts context is string {
    if (typeof context !== 'string' || context.length === 0) {
      throw new TypeError('the sealing context must be a non-empty string')
    }
  }

  return {
    seal(plaintext: string, context: string): string {
      if (typeof plaintext !== 'string') throw new TypeError('only strings are sealed')
      checkContext(context)
      const iv = randomBytes(IV_BYTES)
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
      cipher.setAAD(Buffer.from(context, 'utf8'))
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
      const tag = cipher.getAuthTag()
      return `${VERSION}.${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${tag.toString('base64url')}`
    },

    open(sealed: string, context: string): string {
      checkContext(context)
      // One message for every failure: which check failed tells an attacker nothing useful.
      const fail = (): Error => new Error('the sealed value cannot be opened')
      if (typeof sealed !== 'string') throw fail()
      const parts = sealed.split('.')
      if (parts.length !== 4 || parts[0] !== VERSION) throw fail()
      const [, ivText, ciphertextText, tagText] = parts as [string, string, string, string]
      const iv = decodeCanonical(ivText)
      const ciphertext = decodeCanonical(ciphertextText)
      const tag = decodeCanonical(tagText)
      if (
        iv === undefined ||
        ciphertext === undefined ||
        tag === undefined ||
        iv.length !== IV_BYTES ||
        tag.length !== TAG_BYTES
      ) {
        throw fail()
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES })
        decipher.setAAD(Buffer.from(context, 'utf8'))
        decipher.setAuthTag(tag)
        const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()])
        // fatal: a value that authenticates is ours, but never hand back mangled text.
        return new TextDecoder('utf-8', { fatal: true }).decode(plaintext)
      } catch {
        throw fail()
      }
    },
  }
}

/** Decodes base64url only in its canonical spelling (no padding, no stray bits). */
function decodeCanonical(text: string): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? bytes : undefined
}
