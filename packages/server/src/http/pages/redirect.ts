// `redirect_to` on /login and /signup: where to send the user after signing
// in. An open redirect would let a phishing link borrow this server's name
// (OWASP Unvalidated Redirects and Forwards Cheat Sheet), so only a path on
// this server or a URL on an allowed origin is kept. The page script applies
// the same rules again before it navigates (assets/app.js `safeRedirect`);
// both are tested against one table.

/** Longest redirect_to kept; URLs beyond that are not worth the risk. */
export const MAX_REDIRECT_LENGTH = 2048

/**
 * The target to navigate to, or undefined when `raw` must be ignored.
 * Kept: a path (`/account?tab=1`, not `//host` or `/\host`) or an absolute
 * http(s) URL without credentials whose origin is `ownOrigin` or one of
 * `allowedOrigins` (a `*` entry allows nothing here). Refused: other
 * origins, `javascript:` and every other scheme, control characters,
 * whitespace and backslashes (browsers fold `\` into `/`).
 *
 * @example
 * safeRedirect('/account', 'https://auth.example.com', []) // '/account'
 * safeRedirect('//evil.example', 'https://auth.example.com', []) // undefined
 */
export function safeRedirect(
  raw: string,
  ownOrigin: string,
  allowedOrigins: readonly string[],
): string | undefined {
  if (raw === '' || raw.length > MAX_REDIRECT_LENGTH) return undefined
  // URL parsers drop tabs and newlines, trim spaces and controls, and read
  // `\` as `/` (`/\evil` is `//evil`): refuse them all rather than guess.
  if (/[\p{Cc}\s\\]/u.test(raw)) return undefined
  if (raw.startsWith('/')) {
    if (raw.startsWith('//')) return undefined
    const url = URL.parse(raw, ownOrigin)
    if (url === null || url.origin !== ownOrigin) return undefined
    // Dot segments can fold a path into `//host` (`/.//evil`, `/%2e%2e//evil`):
    // check what the parser made of it, not only what came in.
    if (url.pathname.startsWith('//')) return undefined
    return `${url.pathname}${url.search}${url.hash}`
  }
  const url = URL.parse(raw)
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) return undefined
  if (url.username !== '' || url.password !== '') return undefined
  if (url.origin !== ownOrigin && !allowedOrigins.includes(url.origin)) return undefined
  return url.href
}
