// Security headers of the hosted pages. The API's hook already set its own
// (a JSON-only CSP among them) in onRequest; a page replaces them with these.

import type { Config } from '../../config/types.ts'

/** One year; only sent in production, where the issuer is https. */
const HSTS = 'max-age=31536000'

/** What a page needs beyond the common policy. */
export interface PageCspOptions {
  /**
   * `data:` images: /account shows the server's QR code of a new
   * authenticator app as `<img src="data:image/svg+xml;base64,…">` rather
   * than parsing markup into the page. A data: image cannot run script
   * (SVG in an <img> is a static image) nor reach another server, so this
   * opens no way out; the other pages do without it.
   */
  readonly dataImages?: boolean
}

/**
 * The pages' Content-Security-Policy. Scripts and styles come only from this
 * server's own files (no inline code at all, so an injected `<script>` or
 * `onerror=` cannot run), scripts may only talk to this origin, nothing may
 * frame the pages (clickjacking), forms only post here, and no `<base>` can
 * re-point relative URLs. `require-trusted-types-for 'script'` makes the
 * DOM sinks that parse HTML (`innerHTML` and co.) throw: the script builds
 * the DOM with `textContent` only.
 *
 * @example
 * pageCsp(config) // "default-src 'none'; script-src 'self'; ..."
 */
export function pageCsp(
  config: Pick<Config, 'brandLogoUrl'>,
  options: PageCspOptions = {},
): string {
  const logo = config.brandLogoUrl === undefined ? '' : ` ${logoSource(config.brandLogoUrl)}`
  const data = options.dataImages === true ? ' data:' : ''
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self'${data}${logo}`,
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    // No Trusted Types policy may be created either: the script needs none.
    "trusted-types 'none'",
  ].join('; ')
}

/**
 * The logo's URL as a CSP source expression: that one image (its origin and
 * path; CSP ignores the query), not everything its host serves. `;` and `,`
 * would end the directive or the policy, so they are percent-encoded, which
 * CSP decodes before it compares paths (CSP 3, "path-part match").
 *
 * @example
 * logoSource('https://cdn.example.com/acme/logo.svg?v=2') // 'https://cdn.example.com/acme/logo.svg'
 */
export function logoSource(logoUrl: string): string {
  const url = new URL(logoUrl)
  return `${url.origin}${url.pathname.replaceAll(';', '%3B').replaceAll(',', '%2C')}`
}

/** The headers of every page, computed once per app (and per set of `options`). */
export function pageHeaders(
  config: Pick<Config, 'brandLogoUrl' | 'production'>,
  options: PageCspOptions = {},
): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {
    'content-security-policy': pageCsp(config, options),
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    // A window this page opens, or that opened it, gets no handle on it.
    'cross-origin-opener-policy': 'same-origin',
    'cache-control': 'no-store',
  }
  // RFC 6797: browsers then refuse plain http for this host (and its cookies).
  if (config.production) headers['strict-transport-security'] = HSTS
  return Object.freeze(headers)
}
