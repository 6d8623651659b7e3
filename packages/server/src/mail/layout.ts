// The built-in mails' two parts from one list of blocks, so the text and the
// HTML part always say the same thing. The HTML is what mail clients render
// reliably: one column, inline styles (most clients drop <style> and every
// external stylesheet), no script, no form. Every value is escaped here;
// the blocks hold plain text.

/** One piece of a mail's body. */
export type MailBlock =
  | { readonly kind: 'text'; readonly text: string }
  /** A 6-digit code, set apart and large. */
  | { readonly kind: 'code'; readonly code: string }
  /** A button in the HTML part; the bare link on its own line in the text part. */
  | { readonly kind: 'action'; readonly label: string; readonly link: string }
  /** Small print: "if this was not you". */
  | { readonly kind: 'note'; readonly text: string }

export interface Brand {
  readonly name: string
  /** `#rrggbb` (validated by the config). */
  readonly color: string
  readonly logoUrl: string | undefined
}

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/**
 * Escapes text for an HTML text node or a double-quoted attribute (the same
 * rule as http/pages/escape.ts, which mail/ may not import: OWASP XSS
 * Prevention rules #1 and #2).
 *
 * @example
 * escapeHtml('<script>') // '&lt;script&gt;'
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char)
}

/** The text part: blocks as paragraphs, the code indented, links bare (clients make them clickable). */
export function renderText(blocks: readonly MailBlock[], brand: Brand): string {
  const paragraphs = blocks.map((block) => {
    switch (block.kind) {
      case 'code':
        return `    ${block.code}`
      case 'action':
        return block.link
      default:
        return block.text
    }
  })
  return `${[...paragraphs, `-- ${brand.name}`].join('\n\n')}\n`
}

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"

/** The HTML part: a small branded card. `recipient` is named in the footer. */
export function renderHtml(
  subject: string,
  blocks: readonly MailBlock[],
  brand: Brand,
  recipient: string,
): string {
  const ink = readableOnWhite(brand.color)
  const header =
    brand.logoUrl === undefined
      ? `<span style="font-size:20px;font-weight:700;color:${ink}">${escapeHtml(brand.name)}</span>`
      : `<img src="${escapeHtml(brand.logoUrl)}" alt="${escapeHtml(brand.name)}" height="32" style="height:32px;border:0;display:block">`
  const body = blocks
    .map((block) => {
      switch (block.kind) {
        case 'text':
          return `<p style="margin:0 0 16px">${escapeHtml(block.text)}</p>`
        case 'code':
          return `<p style="margin:0 0 16px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:32px;font-weight:700;letter-spacing:6px">${escapeHtml(block.code)}</p>`
        case 'action': {
          const href = escapeHtml(block.link)
          return [
            `<p style="margin:0 0 16px"><a href="${href}" style="display:inline-block;padding:12px 20px;border-radius:6px;background:${brand.color};color:${textColorOn(brand.color)};font-weight:600;text-decoration:none">${escapeHtml(block.label)}</a></p>`,
            `<p style="margin:0 0 16px;font-size:13px;color:#57606a">Or paste this link into your browser:<br><a href="${href}" style="color:${ink};word-break:break-all">${href}</a></p>`,
          ].join('\n')
        }
        default:
          return `<p style="margin:0 0 16px;font-size:13px;color:#57606a">${escapeHtml(block.text)}</p>`
      }
    })
    .join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(subject)}</title>
</head>
<body style="margin:0;padding:0;background:#f3f4f6">
<div style="max-width:480px;margin:0 auto;padding:32px 16px;font-family:${FONT};font-size:16px;line-height:1.5;color:#1f2328">
<div style="margin:0 0 16px">${header}</div>
<div style="background:#ffffff;border-radius:8px;padding:24px">
${body}
</div>
<p style="margin:16px 0 0;font-size:12px;color:#6e7781">Sent by ${escapeHtml(brand.name)} to ${escapeHtml(recipient)}.</p>
</div>
</body>
</html>
`
}

// The colour rules of the hosted pages (http/pages/theme.ts), which mail/ may
// not import: button text black or white, whichever contrasts more (WCAG 2.x),
// and links darkened until they read on white (4.5:1).

function luminance(hex: string): number {
  const channel = (offset: number): number => {
    const value = Number.parseInt(hex.slice(offset, offset + 2), 16) / 255
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4
  }
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
}

function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x)
  return (light! + 0.05) / (dark! + 0.05)
}

export function textColorOn(background: string): '#000000' | '#ffffff' {
  return contrast(background, '#000000') >= contrast(background, '#ffffff') ? '#000000' : '#ffffff'
}

export function readableOnWhite(color: string): string {
  let shade = color
  for (let amount = 0.05; contrast(shade, '#ffffff') < 4.5 && amount <= 1; amount += 0.05) {
    const parts = [1, 3, 5].map((offset) =>
      Math.round(Number.parseInt(color.slice(offset, offset + 2), 16) * (1 - amount))
        .toString(16)
        .padStart(2, '0'),
    )
    shade = `#${parts.join('')}`
  }
  return shade
}
