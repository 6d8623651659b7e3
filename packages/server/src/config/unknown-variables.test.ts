import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, test } from 'node:test'
import { CONFIG_SCHEMA } from './schema.ts'
import {
  editDistance,
  OTHER_PREFIXES,
  OTHER_VARIABLES,
  unknownVariableWarnings,
} from './unknown-variables.ts'

describe('unknownVariableWarnings', () => {
  test('a misspelt variable is named with the closest known one', () => {
    assert.deepEqual(unknownVariableWarnings({ TESSERA_PROT: '4000' }), [
      'TESSERA_PROT is not a Tessera variable and is ignored; did you mean TESSERA_PORT?',
    ])
    assert.deepEqual(unknownVariableWarnings({ TESSERA_MASTERKEY: 'x', TESSERA_ISUER: 'x' }), [
      'TESSERA_ISUER is not a Tessera variable and is ignored; did you mean TESSERA_ISSUER?',
      'TESSERA_MASTERKEY is not a Tessera variable and is ignored; did you mean TESSERA_MASTER_KEY?',
    ])
  })

  test('the wrong case is caught too (environment names are case-sensitive)', () => {
    assert.deepEqual(unknownVariableWarnings({ tessera_port: '4000' }), [
      'tessera_port is not a Tessera variable and is ignored; did you mean TESSERA_PORT?',
    ])
  })

  test('a name close to nothing points at the list instead of guessing', () => {
    assert.deepEqual(unknownVariableWarnings({ TESSERA_SOMETHING_ELSE: '1' }), [
      'TESSERA_SOMETHING_ELSE is not a Tessera variable and is ignored; docs/configuration.md lists every variable',
    ])
  })

  test('known variables, the tooling’s own and other programs’ are not warned about', () => {
    const env: Record<string, string> = { PATH: '/bin', NODE_ENV: 'test', TESSERACT: '1' }
    for (const entry of CONFIG_SCHEMA) env[entry.name] = 'x'
    for (const name of OTHER_VARIABLES) env[name] = 'x'
    env['TESSERA_TEST_DATABASE_URL'] = 'postgres://localhost/test'
    env['TESSERA_TEST_ANYTHING_NEW'] = '1'
    assert.deepEqual(unknownVariableWarnings(env), [])
  })

  test('editDistance counts a swap of neighbours as one edit', () => {
    assert.equal(editDistance('PROT', 'PORT'), 1)
    assert.equal(editDistance('PORT', 'PORT'), 0)
    assert.equal(editDistance('', 'ABC'), 3)
    assert.equal(editDistance('KITTEN', 'SITTING'), 3)
  })
})

/** The typos that tests and docs show on purpose. */
const DELIBERATE_TYPOS = new Set([
  'TESSERA_PROT',
  'TESSERA_MASTERKEY',
  'TESSERA_ISUER',
  'TESSERA_SOMETHING_ELSE',
])

// The project's own TESSERA_* names must never be reported as typos: every
// one that the code, the scripts and the example environments mention is in
// the schema, in OTHER_VARIABLES or under OTHER_PREFIXES (or is a constant's
// name). Prose is not scanned: a doc may name a planned variable.
test('every TESSERA_* name the repository uses is known', () => {
  const root = join(import.meta.dirname, '../../../..')
  const skip = new Set(['node_modules', 'dist', '.git', 'data', 'results', 'screenshots'])
  const files: string[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (skip.has(entry.name)) continue
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (/\.(ts|js|sh|service|example|yml|yaml)$|^dev$|^run$/.test(entry.name)) {
        files.push(path)
      }
    }
  }
  walk(root)
  const used = new Map<string, string>()
  const constants = new Set<string>()
  for (const file of files) {
    if (file.endsWith('package-lock.json')) continue
    const text = readFileSync(file, 'utf8')
    for (const match of text.matchAll(/\b(?:const|let|var)\s+(TESSERA_[A-Z0-9_]+)\b/g)) {
      constants.add(match[1]!)
    }
    for (const match of text.matchAll(/\bTESSERA_[A-Z0-9_]+\b/g)) {
      if (!used.has(match[0])) used.set(match[0], relative(root, file))
    }
  }
  const known = new Set([...CONFIG_SCHEMA.map((entry) => entry.name), ...OTHER_VARIABLES])
  const unknown = [...used]
    .filter(([name]) => !known.has(name) && !constants.has(name) && !DELIBERATE_TYPOS.has(name))
    .filter(([name]) => !OTHER_PREFIXES.some((prefix) => name.startsWith(prefix)))
    // The family TESSERA_PROVIDERS brings in (config/providers.ts, its tests and docs).
    .filter(([name]) => !name.startsWith('TESSERA_PROVIDER_'))
    .map(([name, file]) => `${name} (${file})`)
  assert.deepEqual(unknown, [], 'add them to OTHER_VARIABLES or the schema')
  assert.ok(used.has('TESSERA_PORT'), 'the walk found the sources')
})
