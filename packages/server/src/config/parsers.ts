// Small parsers for environment values. Each throws `ExpectedValue` with the
// text after "expected" (the loader adds the variable's name and, unless the
// variable is secret, the value it got), so every message reads the same way:
// `TESSERA_PORT: expected an integer from 0 to 65535, got "abc"`.

import { isIP } from 'node:net'
import { parseDuration } from '@tessera/jwt'

/** A value of the wrong shape; `message` says what was expected. */
export class ExpectedValue extends Error {
  constructor(expected: string) {
    super(expected)
    this.name = 'ExpectedValue'
  }
}

/** A well-formed value refused by a rule (cross-field, production); `message` is the whole reason. */
export class RefusedValue extends Error {
  constructor(reason: string) {
    super(reason)
    this.name = 'RefusedValue'
  }
}

export function parseInteger(raw: string, min: number, max: number): number {
  const range =
    max === Number.MAX_SAFE_INTEGER
      ? `an integer of at least ${min}`
      : `an integer from ${min} to ${max}`
  if (!/^\d+$/.test(raw)) throw new ExpectedValue(range)
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new ExpectedValue(range)
  return value
}

const TRUE = new Set(['true', '1', 'yes', 'on'])
const FALSE = new Set(['false', '0', 'no', 'off'])

export function parseBoolean(raw: string): boolean {
  const value = raw.toLowerCase()
  if (TRUE.has(value)) return true
  if (FALSE.has(value)) return false
  throw new ExpectedValue('true or false (also 1/0, yes/no, on/off)')
}

/** Whole seconds from `15m`, `30d`, `10s` or plain seconds, at least `min`. */
export function parseSeconds(raw: string, min: number): number {
  const expected = `a duration of at least ${formatSeconds(min)} in whole seconds, such as 15m, 30d, 10s or 900`
  let seconds: number
  try {
    seconds = parseDuration(raw)
  } catch {
    throw new ExpectedValue(expected)
  }
  if (!Number.isSafeInteger(seconds) || seconds < min) throw new ExpectedValue(expected)
  return seconds
}

/** The shortest exact form of a number of seconds: `15m`, `30d`, `10s`, `90s`. */
export function formatSeconds(seconds: number): string {
  if (seconds > 0 && seconds % 86_400 === 0) return `${seconds / 86_400}d`
  if (seconds > 0 && seconds % 3600 === 0) return `${seconds / 3600}h`
  if (seconds > 0 && seconds % 60 === 0) return `${seconds / 60}m`
  return `${seconds}s`
}

export function parseOneOf<T extends string>(raw: string, choices: readonly T[]): T {
  const found = choices.find((choice) => choice === raw)
  if (found === undefined) throw new ExpectedValue(`one of ${choices.join(', ')}`)
  return found
}

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

export function parseHost(raw: string): string {
  if (isIP(raw) !== 0 || HOST_NAME.test(raw)) return raw
  throw new ExpectedValue('an IP address or a host name (e.g. 127.0.0.1, 0.0.0.0, ::, localhost)')
}

/**
 * The issuer: an absolute http(s) URL without credentials, query or fragment,
 * returned without a trailing slash (RFC 8414 §2: the issuer is compared as a
 * string, so one spelling must be chosen).
 */
export function parseIssuer(raw: string): string {
  const expected =
    'an absolute http:// or https:// URL without query, fragment or credentials (e.g. https://auth.example.com)'
  const url = parseHttpUrl(raw, expected)
  if (raw.includes('?') || raw.includes('#')) throw new ExpectedValue(expected)
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

/** One exact origin, `scheme://host[:port]`, as browsers send it in `Origin`. */
export function parseOrigin(raw: string): string {
  const expected =
    'a comma-separated list of origins like https://app.example.com (scheme://host[:port], no path)'
  const url = parseHttpUrl(raw, expected)
  if (raw.includes('?') || raw.includes('#') || url.pathname !== '/')
    throw new ExpectedValue(expected)
  return url.origin
}

function parseHttpUrl(raw: string, expected: string): URL {
  const url = URL.parse(raw)
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ExpectedValue(expected)
  }
  if (url.username !== '' || url.password !== '' || url.hostname === '') {
    throw new ExpectedValue(expected)
  }
  return url
}

/** True for `http://localhost`, `http://127.0.0.1` and `http://[::1]` (any port). */
export function isLoopbackHttp(urlText: string): boolean {
  const url = URL.parse(urlText)
  if (url === null || url.protocol !== 'http:') return false
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]'
}

/** Strict base64url (RFC 4648 §5, no padding), decoded; undefined when not canonical. */
export function decodeBase64url(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined
  const bytes = Buffer.from(text, 'base64url')
  // Refuse non-canonical spellings (stray bits in the last character).
  return bytes.toString('base64url') === text ? bytes : undefined
}

/**
 * A URL with its password (and any query value that looks like one) replaced,
 * so it can be shown; undefined when it does not parse (then nothing of it is
 * shown, as it may hold a password in a shape we cannot find).
 */
export function redactUrlPassword(text: string): string | undefined {
  const url = URL.parse(text)
  if (url === null) return undefined
  let changed = false
  if (url.password !== '') {
    url.password = 'redacted'
    changed = true
  }
  for (const name of [...url.searchParams.keys()]) {
    if (/pass|pwd|secret|token|key/i.test(name)) {
      url.searchParams.set(name, 'redacted')
      changed = true
    }
  }
  return changed ? url.href : text
}
