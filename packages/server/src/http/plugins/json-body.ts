// The one request body parser: JSON in UTF-8 (RFC 8259 §8.1: JSON exchanged
// between systems "MUST be encoded using UTF-8"). Fastify's default parser
// does the parsing (secure-json-parse refuses `__proto__` and
// `constructor.prototype` keys: prototype poisoning); around it, what would
// otherwise be turned silently into U+FFFD on the way to the store is refused:
// a declared charset other than UTF-8 (415), bytes that are not UTF-8, and a
// lone surrogate written as a JSON escape (`"\ud800"`), which JSON.parse
// keeps as it is (400 `validation_failed`).

import { isUtf8 } from 'node:buffer'
import type { FastifyRequest } from 'fastify'
import { AuthError } from '../../auth/errors.ts'

/** A Fastify content-type parser body function, as `getDefaultJsonParser` returns it. */
type ParseBody<B> = (
  request: FastifyRequest,
  body: B,
  done: (error: Error | null, value?: unknown) => void,
) => void

/** WHATWG Encoding labels of UTF-8 a client may put in `charset`. */
const UTF8_LABELS = new Set(['utf-8', 'utf8'])

/** JSON escapes of a UTF-16 surrogate (\uD800-\uDFFF): without one, JSON.parse yields no lone surrogate. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/

/** Issue paths echo client-chosen keys; keep them as short as the validator's. */
const MAX_PATH = 200

/**
 * The `charset` parameters of a Content-Type (RFC 9110 §8.3.1: parameter
 * names are case-insensitive, values may be quoted), lower-cased.
 */
function charsets(contentType: string | undefined): string[] {
  if (contentType === undefined) return []
  const found: string[] = []
  for (const parameter of contentType.split(';').slice(1)) {
    const equals = parameter.indexOf('=')
    if (equals < 0 || parameter.slice(0, equals).trim().toLowerCase() !== 'charset') continue
    found.push(
      parameter
        .slice(equals + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .toLowerCase(),
    )
  }
  return found
}

/** RFC 6901 reference token. */
function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1')
}

/**
 * The JSON Pointer of a string (or key) in `root` that is not well-formed
 * UTF-16, i.e. holds a lone surrogate; undefined when there is none. The walk
 * is iterative: a 16 KiB body can nest 8000 levels deep.
 *
 * @example
 * findLoneSurrogate({ roles: ['ok', '\ud800'] }) // '/roles/1'
 */
export function findLoneSurrogate(root: unknown): string | undefined {
  const pending: [unknown, string][] = [[root, '']]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, path] = next
    if (typeof value === 'string') {
      if (!value.isWellFormed()) return path
      continue
    }
    if (typeof value !== 'object' || value === null) continue
    for (const [key, member] of Object.entries(value)) {
      const at = path.length > MAX_PATH ? path : `${path}/${pointerToken(key)}`
      if (!key.isWellFormed()) return at.toWellFormed()
      pending.push([member, at])
    }
  }
  return undefined
}

/**
 * Wraps Fastify's default JSON parser (registered with `parseAs: 'buffer'`)
 * with the charset, UTF-8 and lone-surrogate checks.
 *
 * @example
 * app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit },
 *   createJsonBodyParser(app.getDefaultJsonParser('error', 'error')))
 */
export function createJsonBodyParser(parseJson: ParseBody<string>): ParseBody<Buffer> {
  return (request, body, done) => {
    for (const charset of charsets(request.headers['content-type'])) {
      if (!UTF8_LABELS.has(charset)) {
        done(
          new AuthError(
            'unsupported_media_type',
            'request bodies must be application/json in UTF-8 (no other charset)',
          ),
        )
        return
      }
    }
    if (!isUtf8(body)) {
      done(new AuthError('validation_failed', 'the request body is not valid UTF-8'))
      return
    }
    const text = body.toString('utf8')
    parseJson(request, text, (error, value) => {
      if (error !== null || !SURROGATE_ESCAPE.test(text)) {
        done(error, value)
        return
      }
      const path = findLoneSurrogate(value)
      if (path === undefined) {
        done(null, value)
        return
      }
      done(
        new AuthError('validation_failed', 'the request is invalid', {
          details: {
            issues: [{ path, message: 'has a lone surrogate: not valid Unicode text' }],
          },
        }),
      )
    })
  }
}
