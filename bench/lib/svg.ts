/**
 * Two small SVG charts for RESULTS.md, with no dependency: horizontal bars
 * (throughput per server, ratios against targets) and lines over a few
 * categories (cost growth). Text is measured roughly (a fixed width per
 * character of a 12 px sans-serif), which is enough for labels of a few
 * dozen characters.
 */

/** How a bar is coloured. */
export type Tone = 'tessera' | 'peer' | 'floor' | 'pass' | 'miss' | 'neutral' | 'light'

const TONES: Readonly<Record<Tone, string>> = {
  tessera: '#2b6cb0',
  peer: '#a0aec0',
  floor: '#718096',
  pass: '#2f855a',
  miss: '#c53030',
  neutral: '#4a5568',
  light: '#cbd5e0',
}

const SERIES_COLORS = ['#2b6cb0', '#dd6b20', '#2f855a', '#805ad5', '#c53030']

export interface Bar {
  readonly label: string
  readonly value: number
  /** Shown after the bar; the value with separators when absent. */
  readonly text?: string
  readonly tone?: Tone
}

/** A vertical reference line across the bars (a target, 1.0x). */
export interface Mark {
  readonly value: number
  readonly label: string
}

export interface BarChartOptions {
  readonly title: string
  readonly subtitle?: string
  readonly bars: readonly Bar[]
  readonly marks?: readonly Mark[]
  /** Total width in px (default 760). */
  readonly width?: number
}

export interface Series {
  readonly name: string
  /** One value per category; NaN leaves a gap. */
  readonly values: readonly number[]
}

export interface LineChartOptions {
  readonly title: string
  readonly subtitle?: string
  /** The x positions, evenly spaced ("1x", "10x", "100x"). */
  readonly categories: readonly string[]
  readonly series: readonly Series[]
  /** The y axis label. */
  readonly yLabel: string
  /** Horizontal reference lines. */
  readonly marks?: readonly Mark[]
  /** Formats the value labels of the points (default: separators). */
  readonly format?: (value: number) => string
  readonly width?: number
}

const CHAR_WIDTH = 6.8
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'

/** Escapes text for an SVG text node or attribute value. */
export function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;')
}

function textWidth(text: string): number {
  return text.length * CHAR_WIDTH
}

function round(value: number): string {
  return String(Math.round(value * 10) / 10)
}

function defaultFormat(value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  return Math.abs(value) >= 100
    ? Math.round(value).toLocaleString('en-US')
    : String(Math.round(value * 100) / 100)
}

/** A "nice" axis step (1, 2 or 5 times a power of ten) giving about `ticks` ticks up to `max`. */
export function niceStep(max: number, ticks = 5): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1
  const raw = max / ticks
  const power = 10 ** Math.floor(Math.log10(raw))
  const scaled = raw / power
  const nice = scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 5 ? 5 : 10
  return nice * power
}

function header(width: number, height: number, title: string, subtitle?: string): string[] {
  const lines = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(title)}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" ${FONT} font-size="15" font-weight="600" fill="#1a202c">${escapeXml(title)}</text>`,
  ]
  if (subtitle !== undefined) {
    lines.push(
      `<text x="16" y="42" ${FONT} font-size="11" fill="#4a5568">${escapeXml(subtitle)}</text>`,
    )
  }
  return lines
}

/** Horizontal bars, one per row, largest scale from the bars and marks. */
export function barChart(options: BarChartOptions): string {
  const width = options.width ?? 760
  const bars = options.bars
  const marks = options.marks ?? []
  const top = options.subtitle === undefined ? 40 : 56
  const rowHeight = 24
  const labelWidth = Math.max(80, ...bars.map((bar) => textWidth(bar.label))) + 24
  const texts = bars.map((bar) => bar.text ?? defaultFormat(bar.value))
  const valueWidth = Math.max(40, ...texts.map(textWidth)) + 12
  const plotWidth = Math.max(120, width - labelWidth - valueWidth - 16)
  const finite = [...bars.map((bar) => bar.value), ...marks.map((mark) => mark.value)].filter(
    (value) => Number.isFinite(value) && value > 0,
  )
  const max = Math.max(...finite, 1e-9)
  const step = niceStep(max)
  const axisMax = Math.ceil(max / step) * step
  const x = (value: number): number => labelWidth + (Math.max(0, value) / axisMax) * plotWidth
  const plotHeight = bars.length * rowHeight
  const height = top + plotHeight + 40 + (marks.length > 0 ? 14 : 0)
  const out = header(width, height, options.title, options.subtitle)
  // Grid and axis ticks.
  for (let tick = 0; tick <= axisMax + step / 2; tick += step) {
    const tx = round(x(tick))
    out.push(
      `<line x1="${tx}" y1="${top}" x2="${tx}" y2="${top + plotHeight}" stroke="#e2e8f0" stroke-width="1"/>`,
      `<text x="${tx}" y="${top + plotHeight + 14}" ${FONT} font-size="10" fill="#718096" text-anchor="middle">${escapeXml(defaultFormat(tick))}</text>`,
    )
  }
  // Reference lines under the bars and their labels, so no value is struck through.
  marks.forEach((mark) => {
    const mx = round(x(mark.value))
    out.push(
      `<line class="mark" x1="${mx}" y1="${top - 4}" x2="${mx}" y2="${top + plotHeight}" stroke="#1a202c" stroke-width="1" stroke-dasharray="4 3"/>`,
    )
  })
  bars.forEach((bar, index) => {
    const y = top + index * rowHeight
    const barWidth = Number.isFinite(bar.value) ? x(bar.value) - labelWidth : 0
    const color = TONES[bar.tone ?? 'peer']
    out.push(
      `<text x="${labelWidth - 8}" y="${y + 16}" ${FONT} font-size="12" fill="#1a202c" text-anchor="end">${escapeXml(bar.label)}</text>`,
      `<rect class="bar" x="${labelWidth}" y="${y + 4}" width="${round(barWidth)}" height="${rowHeight - 8}" fill="${color}"/>`,
      `<text x="${round(labelWidth + barWidth + 6)}" y="${y + 16}" ${FONT} font-size="11" fill="#2d3748" stroke="#ffffff" stroke-width="3" paint-order="stroke">${escapeXml(texts[index]!)}</text>`,
    )
  })
  marks.forEach((mark, index) => {
    out.push(
      `<text x="${round(x(mark.value))}" y="${top + plotHeight + 28 + index * 12}" ${FONT} font-size="10" fill="#1a202c" text-anchor="middle">${escapeXml(mark.label)}</text>`,
    )
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

/**
 * Moves label positions (y of each, top to bottom order not assumed) apart
 * so that no two are closer than `gap`, keeping them near where they were.
 */
export function spreadLabels(ys: readonly number[], gap: number): number[] {
  const order = ys.map((y, index) => ({ y, index })).sort((a, b) => a.y - b.y)
  for (let k = 1; k < order.length; k++) {
    if (order[k]!.y - order[k - 1]!.y < gap) order[k]!.y = order[k - 1]!.y + gap
  }
  const out: number[] = []
  for (const { y, index } of order) out[index] = y
  return out
}

/** Lines over evenly spaced categories, one per series, with a legend under the plot. */
export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 760
  const format = options.format ?? defaultFormat
  const top = options.subtitle === undefined ? 48 : 64
  const left = 72
  const right = 48
  const plotWidth = width - left - right
  const plotHeight = 220
  // The legend: as many entries per row as fit.
  const entryWidths = options.series.map((series) => 34 + textWidth(series.name) + 18)
  const legendRows: number[][] = [[]]
  let rowWidth = 0
  entryWidths.forEach((entryWidth, index) => {
    if (rowWidth + entryWidth > width - 32 && legendRows.at(-1)!.length > 0) {
      legendRows.push([])
      rowWidth = 0
    }
    legendRows.at(-1)!.push(index)
    rowWidth += entryWidth
  })
  const legendTop = top + plotHeight + 40
  const height = legendTop + legendRows.length * 18 + 8
  const values = [
    ...options.series.flatMap((series) => series.values),
    ...(options.marks ?? []).map((mark) => mark.value),
  ].filter((value) => Number.isFinite(value))
  const max = Math.max(...values, 1e-9)
  const step = niceStep(max)
  const axisMax = Math.ceil((max * 1.15) / step) * step
  const count = options.categories.length
  const x = (index: number): number =>
    left + (count <= 1 ? plotWidth / 2 : (index / (count - 1)) * plotWidth)
  const y = (value: number): number => top + plotHeight - (value / axisMax) * plotHeight
  const out = header(width, height, options.title, options.subtitle)
  for (let tick = 0; tick <= axisMax + step / 2; tick += step) {
    const ty = round(y(tick))
    out.push(
      `<line x1="${left}" y1="${ty}" x2="${left + plotWidth}" y2="${ty}" stroke="#e2e8f0" stroke-width="1"/>`,
      `<text x="${left - 8}" y="${round(y(tick) + 4)}" ${FONT} font-size="10" fill="#718096" text-anchor="end">${escapeXml(defaultFormat(tick))}</text>`,
    )
  }
  out.push(
    `<text x="16" y="${round(top + plotHeight / 2)}" ${FONT} font-size="11" fill="#4a5568" transform="rotate(-90 16 ${round(top + plotHeight / 2)})" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  )
  options.categories.forEach((category, index) => {
    out.push(
      `<text x="${round(x(index))}" y="${top + plotHeight + 18}" ${FONT} font-size="11" fill="#2d3748" text-anchor="middle">${escapeXml(category)}</text>`,
    )
  })
  for (const mark of options.marks ?? []) {
    const my = round(y(mark.value))
    out.push(
      `<line class="mark" x1="${left}" y1="${my}" x2="${left + plotWidth}" y2="${my}" stroke="#1a202c" stroke-width="1" stroke-dasharray="4 3"/>`,
      // Between the first two categories, away from the point labels.
      `<text x="${round(count > 1 ? (x(0) + x(1)) / 2 : left + 6)}" y="${round(y(mark.value) + 13)}" ${FONT} font-size="10" fill="#1a202c" text-anchor="middle">${escapeXml(mark.label)}</text>`,
    )
  }
  options.series.forEach((series, seriesIndex) => {
    const color = SERIES_COLORS[seriesIndex % SERIES_COLORS.length]!
    const points = series.values
      .map((value, index) => ({ value, index }))
      .filter((point) => Number.isFinite(point.value))
    out.push(
      `<polyline class="series" fill="none" stroke="${color}" stroke-width="2" points="${points
        .map((point) => `${round(x(point.index))},${round(y(point.value))}`)
        .join(' ')}"/>`,
    )
    for (const point of points) {
      out.push(
        `<circle cx="${round(x(point.index))}" cy="${round(y(point.value))}" r="3.5" fill="${color}"/>`,
      )
    }
  })
  // Value labels, per category, moved apart where points (nearly) coincide;
  // the first category's at the right of the point, the last's at the left.
  options.categories.forEach((_, index) => {
    const at = options.series
      .map((series, seriesIndex) => ({ value: series.values[index] ?? Number.NaN, seriesIndex }))
      .filter((point) => Number.isFinite(point.value))
    const ys = spreadLabels(
      at.map((point) => y(point.value) - 8),
      12,
    )
    const anchor = index === 0 ? 'start' : index === count - 1 && count > 1 ? 'end' : 'middle'
    const dx = anchor === 'start' ? 6 : anchor === 'end' ? -6 : 0
    at.forEach((point, k) => {
      const color = SERIES_COLORS[point.seriesIndex % SERIES_COLORS.length]!
      out.push(
        `<text x="${round(x(index) + dx)}" y="${round(ys[k]!)}" ${FONT} font-size="10" fill="${color}" text-anchor="${anchor}" stroke="#ffffff" stroke-width="3" paint-order="stroke">${escapeXml(format(point.value))}</text>`,
      )
    })
  })
  legendRows.forEach((row, rowIndex) => {
    let lx = 16
    const ly = legendTop + rowIndex * 18
    for (const seriesIndex of row) {
      const color = SERIES_COLORS[seriesIndex % SERIES_COLORS.length]!
      out.push(
        `<line x1="${lx}" y1="${ly}" x2="${lx + 20}" y2="${ly}" stroke="${color}" stroke-width="2"/>`,
        `<text x="${lx + 26}" y="${ly + 4}" ${FONT} font-size="11" fill="#2d3748">${escapeXml(options.series[seriesIndex]!.name)}</text>`,
      )
      lx += entryWidths[seriesIndex]!
    }
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
