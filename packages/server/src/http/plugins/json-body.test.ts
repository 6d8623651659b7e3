import assert from 'node:assert/strict'
import { test } from 'node:test'
import { findLoneSurrogate } from './json-body.ts'

test('finds a lone surrogate in a string, an array item or a key, as a JSON Pointer', () => {
  assert.equal(findLoneSurrogate({ name: 'fine', email: 'x\ud800' }), '/email')
  assert.equal(findLoneSurrogate({ roles: ['ok', '\udfff'] }), '/roles/1')
  assert.equal(findLoneSurrogate({ 'a/b~c': { inner: '\ud83d' } }), '/a~1b~0c/inner')
  assert.equal(findLoneSurrogate({ ['key\udc00']: 1 }), '/key\ufffd')
  assert.equal(findLoneSurrogate('\ud800'), '')
})

test('well-formed text, surrogate pairs and other values pass', () => {
  for (const value of [
    { name: '\u{1f600} \ud83d\ude00', n: 1, b: true, z: null },
    [],
    'plain',
    42,
  ]) {
    assert.equal(findLoneSurrogate(value), undefined)
  }
})

test('a body nested thousands of levels deep is walked without exhausting the stack', () => {
  const depth = 8000
  const deep = JSON.parse(`${'['.repeat(depth)}"\\ud800"${']'.repeat(depth)}`) as unknown
  const path = findLoneSurrogate(deep)
  assert.ok(path !== undefined && path.length <= 210, `a short path: ${path?.length}`)
})
