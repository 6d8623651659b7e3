import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { barChart, escapeXml, lineChart, niceStep, spreadLabels } from './svg.ts'

/**
 * Checks that `svg` is well-formed enough for a browser: one root <svg> with
 * the SVG namespace, every element closed in order, attribute values quoted,
 * no raw `<` or `&` in text. Returns the element names in document order.
 */
function parseElements(svg: string): string[] {
  const names: string[] = []
  const open: string[] = []
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y
  let at = 0
  while (at < svg.length) {
    const next = svg.indexOf('<', at)
    const text = svg.slice(at, next === -1 ? svg.length : next)
    assert.doesNotMatch(text, /&(?!amp;|lt;|gt;|quot;|apos;)/, `unescaped & in ${text}`)
    if (next === -1) break
    tag.lastIndex = next
    const match = tag.exec(svg)
    assert.ok(match, `malformed tag at ${svg.slice(next, next + 60)}`)
    const [, closing, name, , selfClosing] = match
    if (closing) assert.equal(open.pop(), name, `</${name}> closes the wrong element`)
    else {
      names.push(name!)
      if (!selfClosing) open.push(name!)
    }
    at = tag.lastIndex
  }
  assert.deepEqual(open, [], 'unclosed elements')
  assert.equal(names[0], 'svg')
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  assert.ok(svg.trimEnd().endsWith('</svg>'))
  assert.doesNotMatch(svg, /NaN|undefined|Infinity/)
  return names
}

describe('barChart', () => {
  const svg = barChart({
    title: 'GET /auth/me <ES256> & friends',
    subtitle: 'req/s, median of 5 rounds',
    bars: [
      { label: 'tessera serve', value: 52_000, tone: 'tessera' },
      { label: 'Fastify + @fastify/jwt', value: 17_500 },
      { label: "seeds' Express", value: 6_100, text: '6,100 req/s' },
      { label: 'not measured', value: Number.NaN, text: 'n/a' },
    ],
    marks: [{ value: 40_000, label: 'target' }],
  })

  it('is well-formed', () => {
    parseElements(svg)
  })

  it('draws one bar per value, with its label and text', () => {
    assert.equal(svg.match(/<rect class="bar"/g)?.length, 4)
    assert.ok(svg.includes('>tessera serve</text>'))
    assert.ok(svg.includes('>seeds&apos; Express</text>'))
    assert.ok(svg.includes('>6,100 req/s</text>'))
    assert.ok(svg.includes('>52,000</text>'))
    assert.ok(svg.includes('GET /auth/me &lt;ES256&gt; &amp; friends'))
    assert.equal(svg.match(/<line class="mark"/g)?.length, 1)
  })

  it('scales bars to the largest value', () => {
    const widths = [...svg.matchAll(/<rect class="bar" [^>]*width="([\d.]+)"/g)].map((m) =>
      Number(m[1]),
    )
    assert.ok(widths[0]! > widths[1]! && widths[1]! > widths[2]!)
    assert.ok(Math.abs(widths[0]! / widths[1]! - 52_000 / 17_500) < 0.01)
    assert.equal(widths[3], 0)
  })
})

describe('lineChart', () => {
  const svg = lineChart({
    title: 'Throughput as the data grows',
    categories: ['1x', '10x', '100x'],
    series: [
      { name: 'GET /auth/me', values: [1, 0.98, 0.97] },
      { name: 'refresh', values: [1, 0.95, Number.NaN] },
    ],
    yLabel: 'relative to 1x',
    marks: [{ value: 0.9, label: 'flat >= 0.9' }],
    format: (value) => `${value.toFixed(2)}x`,
  })

  it('is well-formed', () => {
    parseElements(svg)
  })

  it('draws a line per series through its finite points, with a legend', () => {
    const lines = [...svg.matchAll(/<polyline class="series"[^>]* points="([^"]*)"/g)]
    assert.equal(lines.length, 2)
    assert.equal(lines[0]![1]!.split(' ').length, 3)
    assert.equal(lines[1]![1]!.split(' ').length, 2)
    assert.ok(svg.includes('>GET /auth/me</text>'))
    assert.ok(svg.includes('>refresh</text>'))
    assert.ok(svg.includes('>0.97x</text>'))
    assert.ok(svg.includes('>100x</text>'))
    assert.ok(svg.includes('>flat &gt;= 0.9</text>'))
  })

  it('keeps the labels of coinciding points apart', () => {
    const labels = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)"[^>]*>1\.00x<\/text>/g)]
    assert.equal(labels.length, 2)
    assert.equal(labels[0]![1], labels[1]![1])
    assert.ok(Math.abs(Number(labels[0]![2]) - Number(labels[1]![2])) >= 12)
  })
})

describe('helpers', () => {
  it('escapes the five XML specials', () => {
    assert.equal(
      escapeXml(`<a href="x">'&'</a>`),
      '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;',
    )
  })

  it('moves coinciding labels apart and leaves distant ones alone', () => {
    assert.deepEqual(spreadLabels([100, 100, 100], 12), [100, 112, 124])
    assert.deepEqual(spreadLabels([50, 104, 100], 12), [50, 112, 100])
    assert.deepEqual(spreadLabels([10, 80], 12), [10, 80])
  })

  it('picks 1-2-5 steps', () => {
    assert.equal(niceStep(50_000), 10_000)
    assert.equal(niceStep(52_000), 20_000)
    assert.equal(niceStep(9), 2)
    assert.equal(niceStep(3.1), 1)
    assert.equal(niceStep(0), 1)
  })
})
