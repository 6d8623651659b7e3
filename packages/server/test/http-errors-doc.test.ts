// docs/errors.md documents every wire code of the registry, with its status,
// when it happens and what the client should do, and documents nothing else.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { test } from 'node:test'
import { errorCodeList, errorCodes, isErrorCode } from '../src/http/error-codes.ts'

const DOC = resolve(import.meta.dirname, '../../../docs/errors.md')

interface Section {
  code: string
  body: string
}

/** The `## \`code\`` sections of the page, in order. */
function sections(markdown: string): Section[] {
  const found: Section[] = []
  const headings = [...markdown.matchAll(/^##\s+(.*)$/gm)]
  headings.forEach((heading, index) => {
    const title = heading[1]?.trim() ?? ''
    const code = /^`([a-z_]+)`$/.exec(title)?.[1]
    assert.ok(code !== undefined, `every section is one code in backticks, not "${title}"`)
    const start = (heading.index ?? 0) + heading[0].length
    const end = headings[index + 1]?.index ?? markdown.length
    found.push({ code, body: markdown.slice(start, end) })
  })
  return found
}

test('docs/errors.md documents exactly the codes of the registry', () => {
  const documented = sections(readFileSync(DOC, 'utf8')).map((section) => section.code)
  assert.equal(new Set(documented).size, documented.length, 'no code is documented twice')
  assert.deepEqual(documented.toSorted(), [...errorCodeList].toSorted())
})

test('each code has its registry status, when it happens and what to do', () => {
  for (const { code, body } of sections(readFileSync(DOC, 'utf8'))) {
    assert.ok(isErrorCode(code), code)
    const status = /\*\*Status:\*\*\s*(\d{3})/.exec(body)?.[1]
    assert.equal(Number(status), errorCodes[code].status, `status of ${code}`)
    assert.match(body, /\*\*When:\*\*\s+\S/, `${code} says when`)
    assert.match(body, /\*\*What to do:\*\*\s+\S/, `${code} says what to do`)
  }
})

/** snake_case names the page may mention that are not codes. */
const OTHER_NAMES = new Set(['tessera_refresh', 'duplicate_cookie', 'verification_sent'])

test('no undocumented code hides in the prose', () => {
  const markdown = readFileSync(DOC, 'utf8')
  // Any other backticked snake_case word would look like a code to a reader.
  const mentioned = [...markdown.matchAll(/`([a-z]+(?:_[a-z]+)+)`/g)].map((match) => match[1] ?? '')
  assert.ok(mentioned.length > errorCodeList.length)
  for (const word of mentioned) {
    assert.ok(isErrorCode(word) || OTHER_NAMES.has(word), `"${word}" is not a registry code`)
  }
})
