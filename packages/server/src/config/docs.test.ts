import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { PRODUCTION_RULES, renderConfigurationDoc } from './docs.ts'
import { CONFIG_SCHEMA } from './schema.ts'

const text = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8')

test('docs/configuration.md has a table row for every variable', () => {
  const rows = [...text.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((match) => match[1])
  assert.deepEqual(
    rows,
    CONFIG_SCHEMA.map((entry) => entry.name),
  )
  for (const entry of CONFIG_SCHEMA) {
    const row = text.split('\n').find((line) => line.startsWith(`| \`${entry.name}\` |`)) ?? ''
    assert.ok(row.includes(entry.doc.replaceAll('|', '\\|')), `${entry.name}: doc line`)
  }
})

test('docs/configuration.md states the production rules', () => {
  for (const rule of PRODUCTION_RULES) assert.ok(text.includes(rule), rule)
})

test('docs/configuration.md is what the schema renders (regenerate with the command in its header)', () => {
  assert.equal(text, renderConfigurationDoc())
})
