// The brand colour reaches the pages through the served stylesheet (a CSS
// custom property), never through a style attribute: the CSP allows styles
// from this server's files only.

/** WCAG 2.x relative luminance of a `#rrggbb` colour. */
export function relativeLuminance(hex: string): number {
  const channel = (offset: number): number => {
    const value = Number.parseInt(hex.slice(offset, offset + 2), 16) / 255
    return value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4
  }
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
}

/** WCAG 2.x contrast ratio of two `#rrggbb` colours (1 to 21). */
export function contrastRatio(a: string, b: string): number {
  const [light, dark] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x)
  return (light! + 0.05) / (dark! + 0.05)
}

/** Black or white, whichever is easier to read on `background`. */
export function textColorOn(background: string): '#000000' | '#ffffff' {
  return contrastRatio(background, '#000000') >= contrastRatio(background, '#ffffff')
    ? '#000000'
    : '#ffffff'
}

function mixWithBlack(hex: string, amount: number): string {
  const parts = [1, 3, 5].map((offset) =>
    Math.round(Number.parseInt(hex.slice(offset, offset + 2), 16) * (1 - amount))
      .toString(16)
      .padStart(2, '0'),
  )
  return `#${parts.join('')}`
}

/**
 * `color` darkened just enough to read as text on white (WCAG AA, 4.5:1):
 * links and outlines use it, so a pale brand colour stays legible.
 */
export function readableOnWhite(color: string): string {
  let shade = color
  for (let amount = 0.05; contrastRatio(shade, '#ffffff') < 4.5 && amount <= 1; amount += 0.05) {
    shade = mixWithBlack(color, amount)
  }
  return shade
}

/**
 * The custom properties that carry the brand into app.css. `brandColor` is a
 * validated `#rrggbb` (config), so nothing else can reach the stylesheet.
 *
 * @example
 * brandCss('#2f54c6') // ':root {\n  --brand: #2f54c6;\n  --brand-text: #ffffff;\n  --brand-ink: #2f54c6;\n}\n'
 */
export function brandCss(brandColor: string): string {
  if (!/^#[0-9a-f]{6}$/i.test(brandColor)) throw new TypeError('brandColor must be #rrggbb')
  const color = brandColor.toLowerCase()
  return [
    ':root {',
    `  --brand: ${color};`,
    `  --brand-text: ${textColorOn(color)};`,
    `  --brand-ink: ${readableOnWhite(color)};`,
    '}',
    '',
  ].join('\n')
}

/** The favicon: a rounded square in the brand colour with a "T" (an SVG file, not a data: URL). */
export function brandIcon(brandColor: string): string {
  if (!/^#[0-9a-f]{6}$/i.test(brandColor)) throw new TypeError('brandColor must be #rrggbb')
  const color = brandColor.toLowerCase()
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="${color}"/><path d="M9 10h14M16 10v13" stroke="${textColorOn(color)}" stroke-width="4" stroke-linecap="round" fill="none"/></svg>\n`
}
