// @tessera/client for the hosted pages: the package's modules as the browser
// imports them, served by routes.ts at /pages/client/<module>.js. Listed
// when the first app registers its pages, each read once on its first
// request (not at start), from wherever Node resolves the
// package: its TypeScript sources when the repository runs itself
// (`--conditions=source`, or bin/tessera.js in a checkout), stripped of their
// types with Node's own stripper and pointed at each other's .js names; the
// compiled dist/ of a published install, served as it is. No bundler runs at
// build or start time, and the pages use the very code apps install.

import { readdirSync, readFileSync } from 'node:fs'
import { stripTypeScriptTypes } from 'node:module'
import { fileURLToPath } from 'node:url'

/** Where the pages import the client from: `${CLIENT_PATH}index.js`. */
export const CLIENT_PATH = '/pages/client/'

/**
 * Modules of the package the pages do without: the React bindings import
 * `react`, which no page has.
 */
const LEFT_OUT = new Set(['react'])

/** `from './x.ts'`, `import './x.ts'`, `import('./x.ts')`: the relative specifiers of a module. */
const RELATIVE_TS = /(\b(?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"\n]+?)\.ts\2/g

/**
 * A TypeScript module of the package as a browser runs it: the types
 * blanked out (positions kept, so a stack trace's line and column still
 * match the source) and relative `.ts` specifiers renamed `.js`, the names
 * they are served under. Erasable syntax only, as the repository requires.
 *
 * @example
 * browserModule("import { x } from './errors.ts'\nconst n: number = x")
 * // "import { x } from './errors.js'\nconst n         = x"
 */
export function browserModule(typescript: string): string {
  // Node warns once per process that the stripper is experimental; serving
  // the pages is not the experiment that warning is for.
  const emitWarning = process.emitWarning
  process.emitWarning = () => {}
  let code: string
  try {
    code = stripTypeScriptTypes(typescript)
  } finally {
    process.emitWarning = emitWarning
  }
  return code.replace(RELATIVE_TS, '$1$2$3.js$2')
}

/**
 * The modules of the package whose main entry is `entry` (the URL
 * `import.meta.resolve('@tessera/client')` gives), by the name they are served
 * under (`index.js`, `errors.js`, …), each with the function that reads it on
 * its first call and keeps it: from `src/index.ts`, every module of that
 * folder but the tests and the React bindings, as {@link browserModule} makes
 * them; from `dist/index.js`, the compiled `.js` files as they are. The
 * folder is listed now (an unbuilt package is an error here, at startup);
 * the files are read when first asked for.
 *
 * @example
 * listClientModules(new URL(import.meta.resolve('@tessera/client'))).get('index.js')?.()
 */
export function listClientModules(entry: URL): ReadonlyMap<string, () => string> {
  const source = entry.pathname.endsWith('.ts')
  const dir = new URL('./', entry)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (cause) {
    throw new Error(
      `@tessera/client: cannot read ${fileURLToPath(dir)} for the hosted pages; build the package (npm run build -w @tessera/client) or run the server with --conditions=source`,
      { cause },
    )
  }
  const extension = source ? '.ts' : '.js'
  const modules = new Map<string, () => string>()
  for (const name of names.sort()) {
    if (!name.endsWith(extension) || name.endsWith(`.d${extension}`)) continue
    const base = name.slice(0, -extension.length)
    if (base.endsWith('.test') || LEFT_OUT.has(base)) continue
    let code: string | undefined
    modules.set(`${base}.js`, () => {
      if (code === undefined) {
        const text = readFileSync(new URL(name, dir), 'utf8')
        code = source ? browserModule(text) : text
      }
      return code
    })
  }
  return modules
}

/**
 * {@link listClientModules} with every module read.
 *
 * @example
 * loadClientModules(new URL(import.meta.resolve('@tessera/client'))).get('index.js')
 */
export function loadClientModules(entry: URL): ReadonlyMap<string, string> {
  return new Map([...listClientModules(entry)].map(([name, read]) => [name, read()]))
}

let listed: ReadonlyMap<string, () => string> | undefined
let loaded: ReadonlyMap<string, string> | undefined

/**
 * The installed @tessera/client's modules for the pages, listed on the first
 * call and each read on its first use, kept for the life of the process
 * (every app of a test run shares them).
 *
 * @example
 * for (const [name, read] of clientModuleReaders()) serve(`${CLIENT_PATH}${name}`, read)
 */
export function clientModuleReaders(): ReadonlyMap<string, () => string> {
  listed ??= listClientModules(new URL(import.meta.resolve('@tessera/client')))
  return listed
}

/**
 * The installed @tessera/client's modules, all read (see {@link clientModuleReaders}).
 *
 * @example
 * for (const [name, code] of clientModules()) serve(`${CLIENT_PATH}${name}`, code)
 */
export function clientModules(): ReadonlyMap<string, string> {
  loaded ??= new Map([...clientModuleReaders()].map(([name, read]) => [name, read()]))
  return loaded
}
