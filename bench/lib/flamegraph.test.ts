import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  type CpuProfile,
  clipLabel,
  flameGraph,
  frameKind,
  frameLabel,
  mergeProfile,
  summarize,
  wrapText,
} from './flamegraph.ts'

const FASTIFY = 'file:///app/node_modules/fastify/lib/route.js'
const SERVER = 'file:///app/packages/server/dist/http/plugins/authentication.js'
const JWT = 'file:///app/node_modules/@tessera/jwt/dist/verifier.js'

function frame(functionName: string, url = '', lineNumber = 0) {
  return { functionName, url, lineNumber, columnNumber: 0, scriptId: '1' }
}

/**
 * (root) → main → routeHandler → authenticate → verify, plus a second
 * routeHandler node under main with the same frame (V8 splits a function's
 * node when, e.g., it was reoptimized): they must merge. Samples are taken
 * 1 ms apart; the idle ones are not CPU.
 */
const PROFILE: CpuProfile = {
  startTime: 0,
  endTime: 10_000,
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 7, 8] },
    { id: 2, callFrame: frame('main', 'node:internal/main'), children: [3, 6] },
    { id: 3, callFrame: frame('routeHandler', FASTIFY, 464), children: [4] },
    { id: 4, callFrame: frame('authenticate', SERVER, 35), children: [5] },
    { id: 5, callFrame: frame('verify', JWT, 10) },
    { id: 6, callFrame: frame('routeHandler', FASTIFY, 464) },
    { id: 7, callFrame: frame('(idle)') },
    { id: 8, callFrame: frame('(garbage collector)') },
  ],
  // main 1, routeHandler 2 (+1 in the other node), authenticate 1, verify 3, idle 1, GC 1
  samples: [2, 3, 3, 6, 4, 5, 5, 5, 7, 8],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
}

describe('frameKind', () => {
  it('sorts frames by package', () => {
    assert.equal(frameKind({ url: '', functionName: '(garbage collector)' }), 'node')
    assert.equal(frameKind({ url: 'node:_http_server', functionName: 'x' }), 'node')
    assert.equal(frameKind({ url: FASTIFY, functionName: 'x' }), 'fastify')
    assert.equal(
      frameKind({ url: 'file:///a/node_modules/find-my-way/index.js', functionName: 'find' }),
      'fastify',
    )
    assert.equal(frameKind({ url: SERVER, functionName: 'x' }), 'tessera')
    assert.equal(frameKind({ url: JWT, functionName: 'x' }), 'jwt')
    assert.equal(
      frameKind({ url: 'file:///app/packages/jwt/dist/verify.js', functionName: 'x' }),
      'jwt',
    )
    assert.equal(
      frameKind({ url: 'file:///app/node_modules/pino/lib/proto.js', functionName: 'x' }),
      'other',
    )
    // A dependency installed under a workspace is not the workspace's code.
    assert.equal(
      frameKind({
        url: 'file:///app/packages/server/node_modules/kysely/dist/index.js',
        functionName: 'x',
      }),
      'other',
    )
  })
})

describe('mergeProfile', () => {
  it('merges nodes of the same stack, counts self and total, leaves idle out', () => {
    const root = mergeProfile(PROFILE)
    assert.equal(root.total, 9)
    assert.deepEqual(
      root.children.map((child) => [child.name, child.total]),
      [
        ['(garbage collector)', 1],
        ['main', 8],
      ],
    )
    const main = root.children[1]!
    assert.equal(main.self, 1)
    assert.equal(main.children.length, 1)
    const handler = main.children[0]!
    assert.deepEqual([handler.name, handler.self, handler.total], ['routeHandler', 3, 7])
    const authenticate = handler.children[0]!
    assert.deepEqual([authenticate.self, authenticate.total, authenticate.kind], [1, 4, 'tessera'])
    assert.deepEqual(
      [authenticate.children[0]!.name, authenticate.children[0]!.self],
      ['verify', 3],
    )
  })

  it('counts only the samples of a time window', () => {
    // Samples at 1..10 ms: [3 ms, 6 ms) holds samples 3, 4 and 5 (nodes 3, 6, 4).
    const root = mergeProfile(PROFILE, { title: '', fromMs: 3, toMs: 6 })
    assert.equal(root.total, 3)
    const handler = root.children[0]!.children[0]!
    assert.deepEqual([handler.self, handler.total], [2, 3])
    assert.equal(handler.children[0]!.children.length, 0, 'verify had no sample in the window')
  })

  it('falls back on hitCount without samples, and refuses a window then', () => {
    const nodes = PROFILE.nodes.map((node) => ({ ...node, hitCount: node.id === 5 ? 4 : 0 }))
    const root = mergeProfile({ nodes, startTime: 0, endTime: 1 })
    assert.equal(root.total, 4)
    assert.throws(() => mergeProfile({ nodes, startTime: 0, endTime: 1 }, { title: '', fromMs: 1 }))
  })
})

describe('summarize', () => {
  it('adds self samples by package and ranks functions', () => {
    const { byKind, functions } = summarize(mergeProfile(PROFILE))
    assert.deepEqual(byKind, { node: 2, fastify: 3, tessera: 1, jwt: 3, other: 0 })
    assert.deepEqual(
      functions.slice(0, 2).map((fn) => [fn.name, fn.self]),
      [
        ['routeHandler route.js:465', 3],
        ['verify verifier.js:11', 3],
      ],
    )
  })
})

describe('labels', () => {
  it('names a frame by function, file and line', () => {
    assert.equal(
      frameLabel({ name: 'find', url: 'file:///a/b/index.js', line: 7 }),
      'find index.js:7',
    )
    assert.equal(frameLabel({ name: 'x', url: 'node:events', line: 3 }), 'x node:events:3')
    assert.equal(frameLabel({ name: '(program)', url: '', line: 0 }), '(program)')
  })

  it('wraps a long subtitle after a separator', () => {
    assert.deepEqual(wrapText('short', 20), ['short'])
    assert.deepEqual(wrapText('one, two; three four five', 12), ['one, two;', 'three four', 'five'])
  })

  it('clips a label to its frame', () => {
    assert.equal(clipLabel('authenticate', 200), 'authenticate')
    const clipped = clipLabel('authenticate authentication.js:36', 80)
    assert.ok(clipped.endsWith('..') && clipped.length < 20, clipped)
    assert.equal(clipLabel('authenticate', 15), '')
  })
})

describe('flameGraph', () => {
  const svg = flameGraph(PROFILE, { title: 'GET /auth/me <bearer> & co', subtitle: 'a test' })

  it('is one well-formed SVG document', () => {
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
    assert.ok(svg.trimEnd().endsWith('</svg>'))
    assert.equal(svg.match(/<g>/g)?.length, svg.match(/<\/g>/g)?.length)
    assert.doesNotMatch(svg, /NaN|undefined|Infinity/)
    // The title is escaped.
    assert.match(svg, /GET \/auth\/me &lt;bearer&gt; &amp; co/)
    assert.doesNotMatch(svg, /<bearer>/)
  })

  it('draws one rectangle per frame, as wide as its samples', () => {
    // all, GC, main, routeHandler, authenticate, verify.
    assert.equal(svg.match(/<g><title>/g)?.length, 6)
    const width = (name: string): number => {
      const match = new RegExp(`<title>${name}[^<]*</title><rect [^>]*width="([\\d.]+)"`).exec(svg)
      assert.ok(match, name)
      return Number(match[1])
    }
    const all = width('all')
    // main holds 8 of the 9 samples, verify 3 (0.5 px is left between neighbours).
    assert.ok(Math.abs(width('main node:internal/main:1') + 0.5 - (all + 0.5) * (8 / 9)) < 0.2)
    assert.ok(Math.abs(width('verify verifier.js:11') + 0.5 - (all + 0.5) * (3 / 9)) < 0.2)
  })

  it('colours by package and says so in a legend', () => {
    assert.match(svg, /<title>authenticate [^<]*\(Tessera \(server\)\)/)
    assert.match(svg, /<title>verify [^<]*\(@tessera\/jwt\)/)
    assert.match(svg, /<title>routeHandler [^<]*\(Fastify and its plugins\)/)
    assert.match(svg, /@tessera\/jwt: 33\.3% self/)
    assert.match(svg, /9 samples of ~1 ms \(idle left out\)/)
  })
})
