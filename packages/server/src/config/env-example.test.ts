import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { renderEnvExample } from './docs.ts'
import { CONFIG_SCHEMA, describeDefault } from './schema.ts'

const text = readFileSync(new URL('../../../../.env.example', import.meta.url), 'utf8')

test('.env.example lists exactly the schema variables, in order', () => {
  const listed = [...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1])
  assert.deepEqual(
    listed,
    CONFIG_SCHEMA.map((entry) => entry.name),
  )
})

test('.env.example gives each variable its doc line and default', () => {
  for (const entry of CONFIG_SCHEMA) {
    const block =
      text
        .slice(0, text.indexOf(`#${entry.name}=`))
        .split('\n\n')
        .at(-1) ?? ''
    assert.ok(block.includes(`# ${entry.doc}`), `${entry.name}: doc line`)
    assert.ok(block.includes(`# Default: ${describeDefault(entry)}.`), `${entry.name}: default`)
  }
})

test('.env.example is what the schema renders (regenerate with the command in its header)', () => {
  assert.equal(text, renderEnvExample())
})
