// @tessera/client served to the hosted pages: the package's source made
// browser JavaScript (types stripped, specifiers renamed .js), a published
// dist/ served as it is, and the routes that serve the modules, whose module
// graph is loaded into Node here to prove it is JavaScript and complete.

import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { harness } from '../../../test/support/harness.ts'
import {
  browserModule,
  CLIENT_PATH,
  clientModules,
  listClientModules,
  loadClientModules,
} from './client-script.ts'

const scratch = mkdtempSync(join(tmpdir(), 'tessera-client-script-'))
after(() => rmSync(scratch, { recursive: true, force: true }))

/** A folder holding `files`, as a file: URL of `entry` in it. */
function folder(name: string, files: Record<string, string>, entry: string): URL {
  const dir = join(scratch, name)
  mkdirSync(dir, { recursive: true })
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text)
  return pathToFileURL(join(dir, entry))
}

/** The relative specifiers a module imports or re-exports. */
function specifiersOf(code: string): string[] {
  return [...code.matchAll(/\b(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!)
}

describe('browserModule', () => {
  test('strips the types, keeps every position, renames relative .ts specifiers .js', () => {
    const source = [
      "import { type Session, TesseraError } from './errors.ts'",
      "import type { User } from './types.ts'",
      "export type { User } from './types.ts'",
      "export * from './tabs.ts'",
      'const lazy = () => import("../up.ts")',
      'export function name(user: User, fallback?: string): string {',
      '  return (user.name as string | undefined) ?? fallback ?? TesseraError.name',
      '}',
      'const files = { note: "./not-a-specifier.ts" } satisfies Record<string, string>',
    ].join('\n')
    const code = browserModule(source)
    assert.equal(code.length, source.length, 'same length: positions kept')
    assert.equal(code.split('\n').length, source.split('\n').length)
    assert.deepEqual(specifiersOf(code), ['./errors.js', './tabs.js', '../up.js'])
    assert.match(code, /^export function name\(user {6}, fallback {9}\) {9}\{$/m)
    // A string that is not an import keeps its .ts.
    assert.match(code, /"\.\/not-a-specifier\.ts"/)
    assert.doesNotMatch(code, /satisfies|type Session|: string/)
  })

  test('refuses syntax that is not erasable rather than serving it', () => {
    assert.throws(() => browserModule('enum Mode { Cookie }'), {
      code: 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX',
    })
  })

  test('prints no ExperimentalWarning', async () => {
    const warnings: string[] = []
    const listen = (warning: Error) => warnings.push(warning.message)
    process.on('warning', listen)
    browserModule('const a: number = 1')
    await new Promise((resolve) => setImmediate(resolve))
    process.off('warning', listen)
    assert.deepEqual(warnings, [])
  })
})

describe('loadClientModules', () => {
  test('from src/: every module but the tests and the React bindings, as browser JavaScript', () => {
    const entry = folder(
      'source/src',
      {
        'index.ts': "export { a } from './a.ts'\nexport type { T } from './types.ts'",
        'a.ts': 'export const a: number = 1',
        'types.ts': 'export interface T { readonly a: number }',
        'a.test.ts': "import { a } from './a.ts'",
        'react.ts': "import { createElement } from 'react'",
        'notes.md': '# not a module',
      },
      'index.ts',
    )
    const modules = loadClientModules(entry)
    assert.deepEqual([...modules.keys()], ['a.js', 'index.js', 'types.js'])
    assert.equal(modules.get('a.js'), 'export const a         = 1')
    assert.match(modules.get('index.js')!, /^export \{ a \} from '\.\/a\.js'\n\s*$/)
    assert.equal(modules.get('types.js')!.trim(), '')
  })

  test('from dist/: the compiled .js files as they are, without declarations, tests or React', () => {
    const files = {
      'index.js': "export { a } from './a.js';\n",
      'a.js': 'export const a = 1;\n',
      'index.d.ts': 'export declare const a: number;\n',
      'react.js': "import { createElement } from 'react';\n",
      'react.d.ts': '',
      'a.test.js': '',
    }
    const modules = loadClientModules(folder('published/dist', files, 'index.js'))
    assert.deepEqual(Object.fromEntries(modules), {
      'a.js': files['a.js'],
      'index.js': files['index.js'],
    })
  })

  test('listClientModules lists the folder at once and reads each module on its first use', () => {
    const entry = folder('lazy/dist', { 'index.js': 'export {}\n', 'a.js': 'one\n' }, 'index.js')
    const modules = listClientModules(entry)
    assert.deepEqual([...modules.keys()], ['a.js', 'index.js'])
    // Not read yet: what the file holds at the first use is what is served, then kept.
    writeFileSync(new URL('a.js', entry), 'two\n')
    assert.equal(modules.get('a.js')!(), 'two\n')
    writeFileSync(new URL('a.js', entry), 'three\n')
    assert.equal(modules.get('a.js')!(), 'two\n')
  })

  test('a package without its folder: an error that says what to do', () => {
    assert.throws(
      () => listClientModules(pathToFileURL(join(scratch, 'unbuilt/dist/index.js'))),
      /cannot read .*unbuilt.dist.* build the package \(npm run build -w @tessera\/client\) or run the server with --conditions=source/,
    )
  })
})

describe('GET /pages/client/<module>.js', () => {
  test('the repository runs the source: the served modules are the package’s, one module graph', async () => {
    const modules = clientModules()
    assert.ok(modules.has('index.js'), 'index.js, the entry the pages import')
    assert.ok(modules.has('errors.js'))
    assert.ok(!modules.has('react.js'), 'not the React bindings')
    assert.ok(![...modules.keys()].some((name) => name.includes('.test')), 'no test module')
    assert.equal(clientModules(), modules, 'read once per process')
  })

  test('JavaScript with the assets’ headers, revalidated by ETag; every import is another served module', async () => {
    const { app } = await harness()
    const names = [...clientModules().keys()]
    for (const name of names) {
      const response = await app.inject({ method: 'GET', url: `${CLIENT_PATH}${name}` })
      assert.equal(response.statusCode, 200, name)
      assert.equal(response.headers['content-type'], 'text/javascript; charset=utf-8', name)
      assert.equal(response.headers['cache-control'], 'no-cache', name)
      assert.equal(response.headers['x-content-type-options'], 'nosniff', name)
      const etag = String(response.headers.etag)
      assert.match(etag, /^"[\w-]{27}"$/, name)
      for (const specifier of specifiersOf(response.body)) {
        assert.match(specifier, /^\.\/[\w-]+\.js$/, `${name} imports ${specifier}`)
        assert.ok(names.includes(specifier.slice(2)), `${name} imports ${specifier}: served`)
      }
      const again = await app.inject({
        method: 'GET',
        url: `${CLIENT_PATH}${name}`,
        headers: { 'if-none-match': etag },
      })
      assert.equal(again.statusCode, 304, name)
      assert.equal(again.body, '')
    }
  })

  test('no TypeScript is left: the served graph runs in Node, and index.js exports createClient', async () => {
    const { app } = await harness()
    const dir = join(scratch, 'served')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}')
    for (const name of clientModules().keys()) {
      const response = await app.inject({ method: 'GET', url: `${CLIENT_PATH}${name}` })
      writeFileSync(join(dir, name), response.body)
    }
    // A leftover annotation (`: string`) or `.ts` import would fail here.
    for (const name of clientModules().keys()) {
      await import(pathToFileURL(join(dir, name)).href)
    }
    const client = (await import(pathToFileURL(join(dir, 'index.js')).href)) as Record<
      string,
      unknown
    >
    assert.equal(typeof client['createClient'], 'function')
    assert.equal(typeof client['TesseraError'], 'function')
  })

  test('an unknown module, the React bindings and the sources are the API’s 404', async () => {
    const { app } = await harness()
    for (const url of [
      `${CLIENT_PATH}react.js`,
      `${CLIENT_PATH}nope.js`,
      `${CLIENT_PATH}index.ts`,
      `${CLIENT_PATH}errors.test.js`,
      CLIENT_PATH,
    ]) {
      const response = await app.inject({ method: 'GET', url })
      assert.equal(response.statusCode, 404, url)
      assert.equal(response.json().error.code, 'not_found', url)
    }
  })

  test('TESSERA_PAGES=false: no module is served', async () => {
    const { app } = await harness({ TESSERA_PAGES: 'false' })
    const response = await app.inject({ method: 'GET', url: `${CLIENT_PATH}index.js` })
    assert.equal(response.statusCode, 404)
  })

  test('the pages’ CSP lets them import the modules (script-src self)', async () => {
    const { app } = await harness()
    const page = await app.inject({ method: 'GET', url: '/login' })
    assert.match(
      String(page.headers['content-security-policy']),
      /(?:^|; )script-src 'self'(?:;|$)/,
    )
  })
})
