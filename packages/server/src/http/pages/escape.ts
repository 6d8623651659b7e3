// HTML escaping for the hosted pages. Every value interpolated into a
// template goes through `escapeHtml` unless it is already `SafeHtml` (made
// only by this module's `html` tag), so forgetting to escape is not possible
// in a template (OWASP XSS Prevention Cheat Sheet, rule #1 and #2: encode for
// the HTML body and for quoted attribute values; every attribute here is
// double-quoted).

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/**
 * Escapes text for an HTML text node or a quoted attribute value.
 *
 * @example
 * escapeHtml('<img src=x onerror="alert(1)">') // '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char)
}

/** Markup built by `html`: interpolating it does not escape it again. */
export class SafeHtml {
  readonly #markup: string

  constructor(markup: string) {
    this.#markup = markup
  }

  toString(): string {
    return this.#markup
  }
}

/** What a template may interpolate: text is escaped, arrays are joined, nullish and false render nothing. */
export type HtmlValue =
  | SafeHtml
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly HtmlValue[]

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.toString()
  if (Array.isArray(value)) return value.map(render).join('')
  if (value === null || value === undefined || value === false) return ''
  return escapeHtml(String(value))
}

/**
 * Tagged template: the literal parts are trusted markup, every
 * interpolation is escaped (unless it is itself `html`).
 *
 * @example
 * html`<p class="${cls}">${userName}</p>` // SafeHtml, userName escaped
 */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let markup = strings[0] ?? ''
  for (const [index, value] of values.entries()) {
    markup += render(value) + (strings[index + 1] ?? '')
  }
  return new SafeHtml(markup)
}
