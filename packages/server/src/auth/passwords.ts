// Password hashing, the password policy and email normalization.
//
// Hashing: argon2id with OWASP's minimum parameters (Password Storage Cheat
// Sheet: m=19 MiB, t=2, p=1). The `argon2` binding runs every hash on the
// libuv threadpool, so a login flood queues on the pool instead of blocking
// the event loop (passwords.test.ts checks that the loop keeps ticking).
// bcrypt hashes of imported users verify and ask to be rehashed.
//
// Policy: NIST SP 800-63B §5.1.1.2: 8 to 1024 characters, no composition
// rules, refuse breached/common values and context-specific words.

import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { domainToASCII, domainToUnicode } from 'node:url'
import { hash as argon2Hash, argon2id, verify as argon2Verify, needsRehash } from 'argon2'
import type { PasswordHasher } from './ports.ts'

/** Argon2 cost parameters (memory in KiB). */
export interface Argon2Parameters {
  memoryCost: number
  timeCost: number
  parallelism: number
}

/** OWASP Password Storage Cheat Sheet, argon2id minimum: 19 MiB, 2 iterations, 1 lane. */
export const OWASP_ARGON2: Readonly<Argon2Parameters> = Object.freeze({
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
})

const FAILED = Object.freeze({ ok: false, needsRehash: false })

// bcrypt: $2a$/$2b$/$2y$, a two-digit cost, 22 salt + 31 hash characters.
const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/
// Argon2 PHC strings: $argon2id$v=19$m=…,t=…,p=…$salt$hash (v= optional in old ones).
const ARGON2 = /^\$argon2(?:id|i|d)\$(?:v=\d+\$)?([^$]+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/

// Bounds on the cost of a stored argon2 hash we agree to compute. Stored hashes
// are ours or imported, but an imported m=4 GiB hash would still take down the
// process; these are far above any sane deployment (libsodium's "sensitive"
// profile is 1 GiB).
const MAX_ARGON2 = { m: 1_048_576, t: 64, p: 64 } as const

function validateParameters(parameters: Argon2Parameters): Readonly<Argon2Parameters> {
  const { memoryCost, timeCost, parallelism } = parameters
  const integer = (value: number, min: number, max: number) =>
    Number.isSafeInteger(value) && value >= min && value <= max
  if (
    !integer(parallelism, 1, MAX_ARGON2.p) ||
    !integer(timeCost, 1, MAX_ARGON2.t) ||
    // Argon2 needs at least 8 KiB per lane (RFC 9106 §3.1).
    !integer(memoryCost, 8 * parallelism, MAX_ARGON2.m)
  ) {
    throw new TypeError(
      'argon2 parameters: memoryCost (KiB) >= 8 * parallelism, timeCost >= 1, parallelism >= 1, all integers within bounds',
    )
  }
  return Object.freeze({ memoryCost, timeCost, parallelism })
}

/** The m/t/p of an argon2 PHC string, when within MAX_ARGON2. */
function argon2CostWithinBounds(hash: string): boolean {
  const params = ARGON2.exec(hash)?.[1]
  if (params === undefined) return false
  const values = new Map<string, number>()
  for (const pair of params.split(',')) {
    const [name, value] = pair.split('=')
    if (name !== undefined && value !== undefined && /^\d+$/.test(value))
      values.set(name, Number(value))
  }
  const m = values.get('m')
  const t = values.get('t')
  const p = values.get('p')
  return (
    m !== undefined &&
    t !== undefined &&
    p !== undefined &&
    m <= MAX_ARGON2.m &&
    t <= MAX_ARGON2.t &&
    p <= MAX_ARGON2.p
  )
}

/**
 * The spellings of a password to try, best first. NIST SP 800-63B §5.1.1.2
 * asks for Unicode normalization (NFKC) before hashing, so "é" typed as one
 * code point or as e + accent is the same password. Hashes made elsewhere
 * (imports) may hold the raw form, so that is tried second when it differs.
 */
function spellings(password: string): string[] {
  const normalized = password.normalize('NFKC')
  return normalized === password ? [password] : [normalized, password]
}

/**
 * Creates the password hasher. Parameters are validated once here (TypeError
 * on nonsense); tests pass low costs to stay fast.
 *
 * @example
 * const passwords = createPasswordHasher()
 * const stored = await passwords.hash('correct horse battery staple')
 * const { ok, needsRehash } = await passwords.verify(stored, attempt)
 */
export function createPasswordHasher(options: { argon2?: Argon2Parameters } = {}): PasswordHasher {
  const parameters = validateParameters(options.argon2 ?? OWASP_ARGON2)
  const hashOptions = { type: argon2id, ...parameters } as const
  let dummy: Promise<string> | undefined

  async function matches(hash: string, candidate: string): Promise<boolean> {
    try {
      // Imported hashes only: the native module loads on the first one.
      if (BCRYPT.test(hash)) return await (await import('@node-rs/bcrypt')).verify(candidate, hash)
      if (argon2CostWithinBounds(hash)) return await argon2Verify(hash, candidate)
    } catch {
      // A corrupt hash (bad base64, impossible parameters) is a failed check, never a 500.
    }
    return false
  }

  function outdated(hash: string): boolean {
    if (!hash.startsWith('$argon2id$')) return true
    try {
      return needsRehash(hash, parameters)
    } catch {
      return true
    }
  }

  async function dummyHash(): Promise<string> {
    // Computed once, lazily, with the same parameters as real hashes so it costs the same.
    dummy ??= argon2Hash(randomBytes(32).toString('base64url'), hashOptions).catch((error) => {
      dummy = undefined
      throw error
    })
    return dummy
  }

  return {
    hash(password) {
      return argon2Hash(password.normalize('NFKC'), hashOptions)
    },
    async verify(hash, password) {
      if (typeof hash !== 'string' || typeof password !== 'string') return FAILED
      const candidates = spellings(password)
      for (const [index, candidate] of candidates.entries()) {
        if (await matches(hash, candidate)) {
          // A match on the raw spelling is rehashed so the stored form becomes the normalized one.
          return { ok: true, needsRehash: index > 0 || outdated(hash) }
        }
      }
      return FAILED
    },
    async verifyDummy(password) {
      const hash = await dummyHash()
      // Same number of attempts as a failed verify of this password.
      for (const candidate of spellings(typeof password === 'string' ? password : '')) {
        await matches(hash, candidate)
      }
    },
  }
}

// ---------------------------------------------------------------------------
// Policy

export const MIN_PASSWORD_LENGTH = 8
export const MAX_PASSWORD_LENGTH = 1024

/**
 * The entries of common-passwords.txt (data, not code: one password per line
 * after a header of `#` lines that names its source and licence). The build
 * copies the file beside passwords.js, so the URL holds in dist/ too.
 */
export function readCommonPasswords(): string[] {
  const lines = readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8').split('\n')
  let start = 0
  while (start < lines.length && lines[start]!.startsWith('#')) start++
  return lines.slice(start).filter((line) => line !== '')
}

let commonPasswords: Set<string> | undefined

/** The common-password list as a Set, read and built on first use. */
function commonPasswordSet(): Set<string> {
  commonPasswords ??= new Set(readCommonPasswords())
  return commonPasswords
}

/** Default-ignorable code points (zero-width space and joiners, bidi marks, soft hyphen…). */
const INVISIBLE = /\p{Default_Ignorable_Code_Point}/gu

export type PasswordVerdict = { ok: true } | { ok: false; reason: string }

/**
 * NIST SP 800-63B §5.1.1.2 checks for a new password. Lengths count Unicode
 * code points after NFKC normalization; there are no composition rules
 * (NIST: they do not help). `reason` is shown to the user as is and never
 * contains the password.
 *
 * @example
 * checkPasswordPolicy('password1') // { ok: false, reason: 'This password is too common…' }
 */
export function checkPasswordPolicy(
  password: string,
  context: { email?: string; name?: string } = {},
): PasswordVerdict {
  if (typeof password !== 'string') return { ok: false, reason: 'A password is required.' }
  const normalized = password.normalize('NFKC')
  const characters = [...normalized]
  if (characters.length < MIN_PASSWORD_LENGTH) {
    return { ok: false, reason: `Use at least ${MIN_PASSWORD_LENGTH} characters.` }
  }
  if (characters.length > MAX_PASSWORD_LENGTH) {
    return { ok: false, reason: `Use at most ${MAX_PASSWORD_LENGTH} characters.` }
  }
  if (characters.every((character) => character === characters[0])) {
    return { ok: false, reason: 'Do not use a single repeated character.' }
  }
  // Compared without invisible characters or surrounding spaces (issue #12:
  // "password " and a zero-width variant passed), though stored as typed.
  const lower = normalized.replaceAll(INVISIBLE, '').trim().toLowerCase()
  if (commonPasswordSet().has(lower)) {
    return {
      ok: false,
      reason: 'This password is too common and would be guessed quickly; choose another.',
    }
  }
  if (context.email !== undefined) {
    const email = normalizeEmail(context.email) ?? context.email.trim().toLowerCase()
    const local = email.slice(0, Math.max(0, email.lastIndexOf('@')))
    if (lower === email.normalize('NFKC') || (local !== '' && lower === local.normalize('NFKC'))) {
      return { ok: false, reason: 'Do not use your email address as your password.' }
    }
  }
  if (context.name !== undefined) {
    const name = context.name.normalize('NFKC').trim().toLowerCase()
    if (name !== '' && (lower === name || lower === name.replaceAll(/\s+/g, ''))) {
      return { ok: false, reason: 'Do not use your name as your password.' }
    }
  }
  return { ok: true }
}

// ---------------------------------------------------------------------------
// Email

// Whitespace, controls, and invisible format characters (zero-width space,
// bidi marks): none belongs in an address, and the last would let two
// accounts look identical.
const FORBIDDEN_IN_EMAIL = /[\p{White_Space}\p{Cc}\p{Cf}]/u

/**
 * The canonical form of an email address, used as the account key: trimmed,
 * NFC, lower-cased, and the domain in one spelling. Undefined when it is not
 * a plausible address (one `@`, non-empty local part of at most 64 bytes and
 * domain without empty labels, no spaces, controls or invisible characters,
 * at most 254 bytes: RFC 5321 §4.5.3.1). Lower-casing the local part is what
 * users expect, although RFC 5321 lets a server tell cases apart.
 *
 * One mailbox, one account (issue #12): the domain goes through IDNA
 * (UTS #46 mapping, as `node:url`'s WHATWG host parser does), so
 * `ＥＸＡＭＰＬＥ.com`, `bücher.example` and `xn--bcher-kva.example` are each
 * one domain, kept in its Unicode form. A local part that NFKC would change
 * (fullwidth letters, ligatures, superscripts) is refused rather than folded:
 * the mail server may treat it as another mailbox, and a reset mailed to the
 * folded address would reach someone else.
 *
 * @example normalizeEmail('  Ada@Example.COM ') // 'ada@example.com'
 */
export function normalizeEmail(email: string): string | undefined {
  if (typeof email !== 'string') return undefined
  const trimmed = email.trim().normalize('NFC').toLowerCase()
  if (Buffer.byteLength(trimmed) > 254 || FORBIDDEN_IN_EMAIL.test(trimmed)) return undefined
  const parts = trimmed.split('@')
  if (parts.length !== 2) return undefined
  const [local, typedDomain] = parts as [string, string]
  if (local === '' || Buffer.byteLength(local) > 64 || typedDomain === '') return undefined
  if (local.normalize('NFKC') !== local) return undefined
  const domain = canonicalDomain(typedDomain)
  if (domain === undefined) return undefined
  const normalized = `${local}@${domain}`
  if (Buffer.byteLength(normalized) > 254) return undefined
  if (domain.split('.').some((label) => label === '')) return undefined
  // RFC 5321 §4.1.2: an unquoted local part is a dot-atom; quoted local parts
  // are legal but unused in practice and a favourite of injection payloads.
  // RFC 6531 allows UTF-8 beyond ASCII on both sides.
  if (
    !LOCAL_PART.test(local) ||
    local.startsWith('.') ||
    local.endsWith('.') ||
    local.includes('..')
  ) {
    return undefined
  }
  if (!DOMAIN.test(domain)) return undefined
  return normalized
}

/**
 * The domain in one spelling: UTS #46 mapped and checked by IDNA (ASCII
 * form), then shown in Unicode. Undefined when IDNA refuses it, or when its
 * ASCII form has an empty label or goes past 253 bytes.
 */
function canonicalDomain(domain: string): string | undefined {
  // domainToASCII keeps an empty label, so `a..b` stays visible to the caller's check.
  const ascii = domainToASCII(domain)
  if (ascii === '' || ascii.length > 253) return undefined
  // Labels of letters, digits and hyphens only (the mapping has folded the rest).
  if (!/^[a-z0-9.-]+$/.test(ascii)) return undefined
  const unicode = domainToUnicode(ascii)
  // An A-label that does not decode stays `xn--…`: not a name anyone registered.
  if (unicode.split('.').some((label) => label.startsWith('xn--'))) return undefined
  return unicode
}

const LOCAL_PART = /^[\p{L}\p{N}\p{M}!#$%&'*+/=?^_`{|}~.-]+$/u
const DOMAIN = /^[\p{L}\p{N}\p{M}.-]+$/u
