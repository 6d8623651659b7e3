/**
 * A static SVG flame graph of a V8 CPU profile (the `.cpuprofile` JSON that
 * `node --cpu-prof` writes), with no dependency: samples merged by call stack
 * (the same function, script and position under the same parent is one
 * frame), a frame's width its samples with its callees', the root at the
 * bottom, labels clipped to their frame, a title, and colours by package
 * (Node's internals, Fastify, Tessera, @tessera/jwt, the rest). Each frame has
 * a tooltip (`<title>`) with its full name, location and share.
 *
 * node bench/lib/flamegraph.ts server.cpuprofile out.svg --title "GET /auth/me"
 *   [--from 2000] [--to 12000]   only the samples taken in that window, ms after the profile started
 *   [--top 25]                   also print the functions with the most self time
 */

import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

/** A V8 CPU profile (`Profiler.Profile` of the DevTools protocol). */
export interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  /** µs, on the profiler's clock. */
  readonly startTime: number
  readonly endTime: number
  /** The node id of each sample, in time order. */
  readonly samples?: readonly number[]
  /** µs between each sample and the one before (the first: since startTime). */
  readonly timeDeltas?: readonly number[]
}

export interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly hitCount?: number
  readonly children?: readonly number[]
}

export interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
  readonly columnNumber: number
  readonly scriptId?: string | number
}

/** Where a frame's code comes from, which decides its colour. */
export type FrameKind = 'node' | 'fastify' | 'tessera' | 'jwt' | 'other'

/** One frame of the merged tree: `total` samples in it and its callees, `self` in it alone. */
export interface Frame {
  readonly name: string
  readonly url: string
  readonly line: number
  readonly kind: FrameKind
  total: number
  self: number
  readonly children: Frame[]
}

export interface FlameOptions {
  readonly title: string
  readonly subtitle?: string
  /** Only samples taken at or after this many ms from the profile's start. */
  readonly fromMs?: number
  /** ...and before this many ms. */
  readonly toMs?: number
  /** Total width in px (default 1200). */
  readonly width?: number
}

const KINDS: Readonly<Record<FrameKind, { label: string; hue: number; sat: number }>> = {
  node: { label: 'Node.js internals, V8', hue: 30, sat: 10 },
  fastify: { label: 'Fastify and its plugins', hue: 28, sat: 85 },
  tessera: { label: 'Tessera (server)', hue: 212, sat: 65 },
  jwt: { label: '@tessera/jwt', hue: 145, sat: 55 },
  other: { label: 'other packages', hue: 275, sat: 40 },
}

/** Fastify and the packages it is made of (router, serializer, plugin loader). */
const FASTIFY_PACKAGES =
  /\/node_modules\/(?:fastify|@fastify\/[^/]+|find-my-way|fast-json-stringify|avvio|light-my-request|fast-querystring|fast-decode-uri-component|toad-cache|abstract-logging|process-warning|json-schema-ref-resolver|rfdc|fast-uri)\//

/** The package a frame's script belongs to. */
export function frameKind(frame: Pick<CallFrame, 'url' | 'functionName'>): FrameKind {
  const { url } = frame
  if (url === '' || url.startsWith('node:')) return 'node'
  if (FASTIFY_PACKAGES.test(url)) return 'fastify'
  // A dependency installed under a workspace is that dependency's, not Tessera's.
  const vendored = url.lastIndexOf('/node_modules/')
  if (vendored >= 0 && !url.startsWith('@tessera/', vendored + 14)) return 'other'
  if (/\/packages\/jwt\/|\/node_modules\/@tessera\/jwt\//.test(url)) return 'jwt'
  if (/\/packages\/(?:server|client)\/|\/node_modules\/@tessera\/(?:server|client)\//.test(url)) {
    return 'tessera'
  }
  return 'other'
}

/** Samples per node id, counted in the time window (all of them without one). */
function samplesPerNode(profile: CpuProfile, options: FlameOptions): Map<number, number> {
  const counts = new Map<number, number>()
  const { samples, timeDeltas } = profile
  const windowed = options.fromMs !== undefined || options.toMs !== undefined
  if (samples === undefined || samples.length === 0) {
    if (windowed) throw new TypeError('a time window needs a profile with samples and timeDeltas')
    for (const node of profile.nodes) counts.set(node.id, node.hitCount ?? 0)
    return counts
  }
  const from = (options.fromMs ?? Number.NEGATIVE_INFINITY) * 1000
  const to = (options.toMs ?? Number.POSITIVE_INFINITY) * 1000
  let at = 0
  for (let i = 0; i < samples.length; i++) {
    at += timeDeltas?.[i] ?? 0
    if (at < from || at >= to) continue
    const id = samples[i]!
    counts.set(id, (counts.get(id) ?? 0) + 1)
  }
  return counts
}

/** V8's pseudo-frames that are no CPU work of the process: the event loop waiting. */
const IDLE = '(idle)'

/**
 * Merges the profile's nodes into one tree of frames keyed by call stack,
 * counting samples (in the window). `(idle)` is left out: it is time the
 * thread waited, not CPU. Children are sorted by name, as flame graphs are
 * (the x axis is not time).
 */
export function mergeProfile(profile: CpuProfile, options: FlameOptions = { title: '' }): Frame {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const counts = samplesPerNode(profile, options)
  const childIds = new Set(profile.nodes.flatMap((node) => node.children ?? []))
  const roots = profile.nodes.filter((node) => !childIds.has(node.id))
  const root: Frame = {
    name: 'all',
    url: '',
    line: 0,
    kind: 'node',
    total: 0,
    self: 0,
    children: [],
  }
  const index = new Map<Frame, Map<string, Frame>>()
  const childOf = (parent: Frame, frame: CallFrame): Frame => {
    let children = index.get(parent)
    if (children === undefined) {
      children = new Map()
      index.set(parent, children)
    }
    const key = `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}\u0000${frame.columnNumber}`
    let child = children.get(key)
    if (child === undefined) {
      child = {
        name: frame.functionName === '' ? '(anonymous)' : frame.functionName,
        url: frame.url,
        line: frame.lineNumber + 1,
        kind: frameKind(frame),
        total: 0,
        self: 0,
        children: [],
      }
      children.set(key, child)
      parent.children.push(child)
    }
    return child
  }
  // V8's own root node, "(root)", is skipped: "all" stands for it.
  const walk = (node: ProfileNode, parent: Frame): void => {
    if (node.callFrame.functionName === IDLE) return
    const isRoot = node.callFrame.functionName === '(root)' && parent === root
    const frame = isRoot ? root : childOf(parent, node.callFrame)
    frame.self += counts.get(node.id) ?? 0
    for (const id of node.children ?? []) {
      const child = byId.get(id)
      if (child !== undefined) walk(child, frame)
    }
  }
  for (const node of roots) walk(node, root)
  const total = (frame: Frame): number => {
    frame.total = frame.self
    for (const child of frame.children) frame.total += total(child)
    frame.children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    return frame.total
  }
  total(root)
  prune(root)
  return root
}

/** Drops frames with no sample in the window. */
function prune(frame: Frame): void {
  for (let i = frame.children.length - 1; i >= 0; i--) {
    const child = frame.children[i]!
    if (child.total === 0) frame.children.splice(i, 1)
    else prune(child)
  }
}

/** Self samples per package, and the functions with the most self time. */
export function summarize(
  root: Frame,
  top = 20,
): {
  byKind: Record<FrameKind, number>
  functions: { name: string; kind: FrameKind; self: number }[]
} {
  const byKind: Record<FrameKind, number> = { node: 0, fastify: 0, tessera: 0, jwt: 0, other: 0 }
  const functions = new Map<string, { name: string; kind: FrameKind; self: number }>()
  const visit = (frame: Frame): void => {
    byKind[frame.kind] += frame.self
    if (frame.self > 0) {
      const label = frameLabel(frame)
      const entry = functions.get(label) ?? { name: label, kind: frame.kind, self: 0 }
      entry.self += frame.self
      functions.set(label, entry)
    }
    for (const child of frame.children) visit(child)
  }
  visit(root)
  return {
    byKind,
    functions: [...functions.values()].sort((a, b) => b.self - a.self).slice(0, top),
  }
}

/** `name file:line`, the file without its directories (node: modules keep their scheme). */
export function frameLabel(frame: Pick<Frame, 'name' | 'url' | 'line'>): string {
  if (frame.url === '') return frame.name
  const file = frame.url.startsWith('node:')
    ? frame.url
    : frame.url.slice(frame.url.lastIndexOf('/') + 1)
  return `${frame.name} ${file}:${frame.line}`
}

/** Escapes text for an SVG text node or attribute value. */
function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;')
}

/** A stable shade of the package's hue per function name, so neighbours stand apart. */
function colour(frame: Frame): string {
  const { hue, sat } = KINDS[frame.kind]
  let hash = 0
  for (let i = 0; i < frame.name.length; i++) hash = (hash * 31 + frame.name.charCodeAt(i)) >>> 0
  const light = 62 + (hash % 17)
  return `hsl(${hue + (hash % 11) - 5},${sat}%,${light}%)`
}

const FONT_SIZE = 11
const CHAR_WIDTH = 6.6
const ROW = 17
const FONT = 'font-family="Verdana, DejaVu Sans, sans-serif"'

/** `text` in lines of at most `chars` characters, broken after "; ", ", " or a space. */
export function wrapText(text: string, chars: number): string[] {
  const lines: string[] = []
  let rest = text
  while (rest.length > chars) {
    const head = rest.slice(0, chars + 1)
    let cut = Math.max(head.lastIndexOf('; '), head.lastIndexOf(', '))
    if (cut > 0) cut += 1
    else cut = head.lastIndexOf(' ') > 0 ? head.lastIndexOf(' ') : chars
    lines.push(rest.slice(0, cut).trimEnd())
    rest = rest.slice(cut).trimStart()
  }
  lines.push(rest)
  return lines
}

/** `text` cut to `width` px, with ".." when cut; '' when not even 3 characters fit. */
export function clipLabel(text: string, width: number): string {
  const fits = Math.floor((width - 6) / CHAR_WIDTH)
  if (fits < 3) return ''
  return text.length <= fits ? text : `${text.slice(0, fits - 2)}..`
}

function round(value: number): string {
  return String(Math.round(value * 10) / 10)
}

/**
 * Renders a profile as an SVG flame graph.
 *
 * @example
 * const svg = flameGraph(JSON.parse(readFileSync('a.cpuprofile', 'utf8')), { title: 'GET /auth/me' })
 */
export function flameGraph(profile: CpuProfile, options: FlameOptions): string {
  const root = mergeProfile(profile, options)
  const width = options.width ?? 1200
  const pad = 10
  const inner = width - 2 * pad
  let depth = 0
  const measure = (frame: Frame, level: number): void => {
    depth = Math.max(depth, level)
    for (const child of frame.children) measure(child, level + 1)
  }
  measure(root, 0)
  const legendHeight = 24
  const scale = root.total > 0 ? inner / root.total : 0
  const { byKind } = summarize(root)
  const interval =
    profile.samples && profile.samples.length > 0
      ? (profile.endTime - profile.startTime) / profile.samples.length / 1000
      : Number.NaN
  const window =
    options.fromMs !== undefined || options.toMs !== undefined
      ? `, ${options.fromMs ?? 0}-${options.toMs ?? 'end'} ms of the profile`
      : ''
  const sampleText = Number.isFinite(interval)
    ? `${root.total.toLocaleString('en-US')} samples of ~${round(interval)} ms (idle left out)${window}`
    : `${root.total.toLocaleString('en-US')} samples`
  const subtitle =
    options.subtitle === undefined ? sampleText : `${options.subtitle}; ${sampleText}`
  const subtitleLines = wrapText(subtitle, Math.floor(inner / CHAR_WIDTH))
  const top = 62 + subtitleLines.length * 16
  const height = top + (depth + 1) * ROW + legendHeight + pad
  const base = top + depth * ROW
  const parts: string[] = []
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="${FONT_SIZE}">`,
    `<title>${escapeXml(options.title)}</title>`,
  )
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#fdfdfb"/>`)
  parts.push(
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`,
  )
  subtitleLines.forEach((line, index) => {
    parts.push(
      `<text x="${width / 2}" y="${44 + index * 16}" text-anchor="middle" fill="#4a5568">${escapeXml(line)}</text>`,
    )
  })
  parts.push(
    `<text x="${width / 2}" y="${top - 14}" text-anchor="middle" fill="#718096">Width: samples in a frame and its callees; the x axis is not time. Hover a frame for its name and share.</text>`,
  )
  const draw = (frame: Frame, x: number, level: number, label: string): void => {
    const w = frame.total * scale
    if (w < 0.3) return
    const y = base - level * ROW
    const share = root.total > 0 ? (frame.total / root.total) * 100 : 0
    const selfShare = root.total > 0 ? (frame.self / root.total) * 100 : 0
    const tip = `${label} (${KINDS[frame.kind].label}): ${frame.total} samples, ${share.toFixed(2)}%; self ${selfShare.toFixed(2)}%`
    const text = clipLabel(label, w)
    parts.push(
      `<g><title>${escapeXml(tip)}</title><rect x="${round(pad + x)}" y="${y}" width="${round(Math.max(w - 0.5, 0.3))}" height="${ROW - 1}" rx="1.5" fill="${frame === root ? '#e2e8f0' : colour(frame)}"/>${
        text === ''
          ? ''
          : `<text x="${round(pad + x + 3)}" y="${y + ROW - 5}">${escapeXml(text)}</text>`
      }</g>`,
    )
    let at = x
    for (const child of frame.children) {
      draw(child, at, level + 1, frameLabel(child))
      at += child.total * scale
    }
  }
  draw(root, 0, 0, `all (${options.title})`)
  // The legend: one swatch per package, with its share of the self samples.
  let x = pad
  const legendY = base + ROW + 8
  for (const kind of Object.keys(KINDS) as FrameKind[]) {
    const { label, hue, sat } = KINDS[kind]
    const share = root.total > 0 ? (byKind[kind] / root.total) * 100 : 0
    const text = `${label}: ${share.toFixed(1)}% self`
    parts.push(
      `<rect x="${x}" y="${legendY}" width="12" height="12" fill="hsl(${hue},${sat}%,68%)"/><text x="${x + 16}" y="${legendY + 10}">${escapeXml(text)}</text>`,
    )
    x += 16 + text.length * CHAR_WIDTH + 18
  }
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}

function main(argv: string[]): void {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      title: { type: 'string' },
      subtitle: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      width: { type: 'string' },
      top: { type: 'string' },
    },
  })
  const [input, output] = positionals
  if (input === undefined || output === undefined) {
    process.stderr.write(
      'usage: node bench/lib/flamegraph.ts <in.cpuprofile> <out.svg> [--title T] [--subtitle S] [--from ms] [--to ms] [--width px] [--top N]\n',
    )
    process.exit(2)
  }
  const profile = JSON.parse(readFileSync(input, 'utf8')) as CpuProfile
  const options: FlameOptions = {
    title: values.title ?? input,
    ...(values.subtitle === undefined ? {} : { subtitle: values.subtitle }),
    ...(values.from === undefined ? {} : { fromMs: Number(values.from) }),
    ...(values.to === undefined ? {} : { toMs: Number(values.to) }),
    ...(values.width === undefined ? {} : { width: Number(values.width) }),
  }
  writeFileSync(output, flameGraph(profile, options))
  if (values.top !== undefined) {
    const root = mergeProfile(profile, options)
    const { byKind, functions } = summarize(root, Number(values.top))
    const pct = (n: number): string => `${((n / root.total) * 100).toFixed(1)}%`.padStart(6)
    process.stdout.write(`${root.total} samples\n`)
    for (const kind of Object.keys(byKind) as FrameKind[]) {
      process.stdout.write(`${pct(byKind[kind])}  ${KINDS[kind].label}\n`)
    }
    process.stdout.write('self time:\n')
    for (const fn of functions)
      process.stdout.write(`${pct(fn.self)}  ${fn.kind.padEnd(8)} ${fn.name}\n`)
  }
}

if (import.meta.main) main(process.argv.slice(2))
