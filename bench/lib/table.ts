/** Plain tables for the console and for markdown, from the same rows. */

export type Align = 'left' | 'right'

export interface Table {
  readonly headers: readonly string[]
  readonly rows: readonly (readonly string[])[]
  /** Per column; left when absent. */
  readonly align?: readonly Align[]
}

function widths(table: Table): number[] {
  return table.headers.map((header, column) =>
    Math.max(header.length, ...table.rows.map((row) => (row[column] ?? '').length)),
  )
}

function pad(text: string, width: number, align: Align): string {
  return align === 'right' ? text.padStart(width) : text.padEnd(width)
}

/** A fixed-width table for a terminal. */
export function renderText(table: Table): string {
  const w = widths(table)
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => pad(cell, w[column]!, table.align?.[column] ?? 'left'))
      .join('  ')
      .trimEnd()
  const rule = w.map((width) => '-'.repeat(width)).join('  ')
  return [line(table.headers), rule, ...table.rows.map(line)].join('\n')
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|')
}

/** A GitHub-flavoured markdown table, padded so the source reads well too. */
export function renderMarkdown(table: Table): string {
  const w = widths(table).map((width) => Math.max(width, 3))
  const line = (cells: readonly string[]): string =>
    `| ${cells
      .map((cell, column) => pad(escapeCell(cell), w[column]!, table.align?.[column] ?? 'left'))
      .join(' | ')} |`
  const rule = `| ${w
    .map((width, column) =>
      (table.align?.[column] ?? 'left') === 'right'
        ? `${'-'.repeat(width - 1)}:`
        : '-'.repeat(width),
    )
    .join(' | ')} |`
  return [line(table.headers), rule, ...table.rows.map(line)].join('\n')
}

/**
 * Replaces the text between `<!-- name:start -->` and `<!-- name:end -->` in
 * `document` (markers kept), or appends a marked section when there is none.
 * Other sections are left byte for byte as they were.
 */
export function replaceSection(document: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`
  const end = `<!-- ${name}:end -->`
  const section = `${start}\n${body.trim()}\n${end}`
  const from = document.indexOf(start)
  const to = document.indexOf(end)
  if (from !== -1 && to > from) {
    return document.slice(0, from) + section + document.slice(to + end.length)
  }
  if (from !== -1 || to !== -1) {
    throw new Error(`the ${name} section markers are broken; fix them by hand`)
  }
  const base = document.length === 0 || document.endsWith('\n') ? document : `${document}\n`
  return `${base}${base.length === 0 ? '' : '\n'}${section}\n`
}

/** `1234567.8` → `1,234,568` */
export function formatOps(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a'
}

/** `1.2345` → `1.23x` */
export function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a'
}

/** Milliseconds: one decimal under 10, whole above; `n/a` when not finite. */
export function formatMs(value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  return value < 10 ? value.toFixed(1) : String(Math.round(value))
}

/** A rate: one decimal under 100, whole with separators above; `n/a` when not finite. */
export function formatRate(value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  return value < 100
    ? value.toFixed(1)
    : Math.round(value).toLocaleString('en-US', { maximumFractionDigits: 0 })
}
