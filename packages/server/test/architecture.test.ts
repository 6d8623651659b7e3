// The dependency rules of docs/architecture.md, checked on every import of
// both packages (type-only ones too, and dynamic `import()`): imports point
// inwards, each folder sees only what its layer may, and no two files import
// each other, directly or around a loop. A new edge that breaks a rule fails
// here with the file and the import that broke it.

import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, test } from 'node:test'
import ts from 'typescript'

const ROOT = resolve(import.meta.dirname, '../../..')
const SERVER = join(ROOT, 'packages/server/src')
const JWT = join(ROOT, 'packages/jwt/src')

/** Every source file (not tests) below `dir`, as absolute paths. */
function sources(dir: string): string[] {
  const found: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    if (/\.(ts|js)$/.test(entry.name) && !/\.test\.ts$|\.d\.ts$/.test(entry.name)) found.push(path)
  }
  return found.sort()
}

interface Edge {
  from: string
  /** The specifier as written. */
  specifier: string
  /** The file it resolves to, for a relative import. */
  to: string | undefined
}

/** Every import, export-from and dynamic import of a file (type-only ones included). */
function importsOf(file: string): Edge[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  return info.importedFiles.map(({ fileName }) => ({
    from: file,
    specifier: fileName,
    to: fileName.startsWith('.') ? resolve(dirname(file), fileName) : undefined,
  }))
}

const serverFiles = sources(SERVER)
const jwtFiles = sources(JWT)
const edges = [...serverFiles, ...jwtFiles].flatMap(importsOf)

/** The layer of a server file: its folder under src/ (storage/ by backend), or the file itself at the top. */
function layer(file: string): string {
  const path = relative(SERVER, file)
  if (path === 'storage/ports.ts') return 'storage/ports'
  const [first, second] = path.split('/')
  if (first === 'storage') {
    return second !== undefined && !second.includes('.') ? `${first}/${second}` : first
  }
  return path.includes('/') ? first! : path.replace(/\.ts$/, '')
}

/**
 * Which server layers each layer may import (itself always). `tessera` is the
 * composition root (src/tessera.ts, with cli/ on top): it alone wires
 * concrete stores and the HTTP app together.
 */
const ALLOWED: Record<string, readonly string[]> = {
  config: [],
  'storage/ports': ['config'],
  storage: ['storage/ports'],
  'storage/sql': ['storage/ports', 'storage', 'config', 'runtime'],
  'storage/redis': ['storage/ports', 'storage', 'config'],
  runtime: ['storage/ports', 'config'],
  tokens: ['storage/ports', 'config', 'runtime'],
  auth: ['storage/ports', 'tokens', 'config'],
  // Mail delivery: the outbox worker, transports, templates; no HTTP, no concrete store.
  mail: ['storage/ports', 'config', 'runtime'],
  // The port types (StoredRevocation) and StoreUnavailableError (a 503), never a backend.
  http: ['auth', 'storage/ports', 'config'],
  index: [],
  tessera: [
    'config',
    'storage/ports',
    'storage',
    'storage/sql',
    'storage/redis',
    'runtime',
    'tokens',
    'auth',
    'http',
    'mail',
  ],
  cli: ['*'],
}

/** Packages only some layers may import. */
const FRAMEWORK = /^(fastify|@fastify\/|fastify-plugin)/

describe('architecture: imports point inwards', () => {
  test('every server file belongs to a known layer', () => {
    const unknown = [...new Set(serverFiles.map(layer))].filter((l) => !(l in ALLOWED))
    assert.deepEqual(unknown, [], 'add the new folder to ALLOWED and to docs/architecture.md')
  })

  test('each server layer imports only the layers below it', () => {
    const broken: string[] = []
    for (const edge of edges) {
      if (edge.to === undefined || !edge.from.startsWith(SERVER)) continue
      const from = layer(edge.from)
      if (!edge.to.startsWith(SERVER)) {
        // Outside src/: never (the jwt package is imported by name).
        broken.push(`${relative(ROOT, edge.from)} imports ${edge.specifier}`)
        continue
      }
      const to = layer(edge.to)
      const allowed = ALLOWED[from] ?? []
      if (from !== to && !allowed.includes('*') && !allowed.includes(to)) {
        broken.push(`${relative(ROOT, edge.from)} (${from}) imports ${edge.specifier} (${to})`)
      }
    }
    assert.deepEqual(broken, [])
  })

  test('only http/ (and the composition root) import Fastify', () => {
    const broken = edges
      .filter((e) => e.from.startsWith(SERVER) && FRAMEWORK.test(e.specifier))
      .filter((e) => !['http', 'tessera'].includes(layer(e.from)))
      .map((e) => `${relative(ROOT, e.from)} imports ${e.specifier}`)
    assert.deepEqual(broken, [])
  })

  test('@tessera/jwt imports nothing but node: built-ins (frameworks: types, in their adapter only)', () => {
    const adapters: Record<string, RegExp> = {
      'express.ts': /^express$/,
      'fastify.ts': /^fastify$/,
      'hono.ts': /^hono(\/.*)?$/,
    }
    const broken: string[] = []
    for (const edge of edges) {
      if (!edge.from.startsWith(JWT)) continue
      if (edge.to !== undefined) {
        if (!edge.to.startsWith(JWT))
          broken.push(`${relative(ROOT, edge.from)} imports ${edge.specifier}`)
        continue
      }
      if (edge.specifier.startsWith('node:')) continue
      const adapter = adapters[relative(JWT, edge.from)]
      if (adapter?.test(edge.specifier)) continue
      broken.push(`${relative(ROOT, edge.from)} imports ${edge.specifier}`)
    }
    assert.deepEqual(broken, [])
  })

  test('no import cycles, type-only imports included', () => {
    const graph = new Map<string, string[]>()
    for (const edge of edges) {
      if (edge.to === undefined) continue
      graph.set(edge.from, [...(graph.get(edge.from) ?? []), edge.to])
    }
    // Tarjan's strongly connected components: any with two or more files is a cycle.
    let index = 0
    const indexes = new Map<string, number>()
    const low = new Map<string, number>()
    const stack: string[] = []
    const onStack = new Set<string>()
    const cycles: string[][] = []
    const visit = (file: string): void => {
      indexes.set(file, index)
      low.set(file, index)
      index++
      stack.push(file)
      onStack.add(file)
      for (const next of graph.get(file) ?? []) {
        if (!indexes.has(next)) {
          visit(next)
          low.set(file, Math.min(low.get(file)!, low.get(next)!))
        } else if (onStack.has(next)) {
          low.set(file, Math.min(low.get(file)!, indexes.get(next)!))
        }
      }
      if (low.get(file) === indexes.get(file)) {
        const component: string[] = []
        let member: string
        do {
          member = stack.pop()!
          onStack.delete(member)
          component.push(relative(ROOT, member))
        } while (member !== file)
        if (component.length > 1) cycles.push(component.sort())
      }
    }
    for (const file of [...serverFiles, ...jwtFiles]) if (!indexes.has(file)) visit(file)
    assert.deepEqual(cycles, [])
  })

  test('the checker sees the imports it must: a type-only import counts', () => {
    // A self-check, so a change to the parsing cannot make every rule pass vacuously.
    const keyRing = join(SERVER, 'tokens/key-ring.ts')
    assert.ok(edges.some((e) => e.from === keyRing && e.specifier === '@tessera/jwt'))
    assert.ok(edges.length > 300, `${edges.length} imports read`)
    const typeOnly = ts.preProcessFile(
      "import type { A } from './a.ts'\nconst b = import('./b.ts')",
      true,
      true,
    )
    assert.deepEqual(
      typeOnly.importedFiles.map((f) => f.fileName),
      ['./a.ts', './b.ts'],
    )
  })
})
