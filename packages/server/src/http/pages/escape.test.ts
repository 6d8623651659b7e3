import assert from 'node:assert/strict'
import { test } from 'node:test'
import { escapeHtml, html, SafeHtml } from './escape.ts'

test('escapeHtml: the five characters that can end a text node or a quoted attribute', () => {
  const table: [string, string][] = [
    ['plain text', 'plain text'],
    ['', ''],
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['<img src=x onerror="alert(1)">', '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'],
    ["' onmouseover='alert(1)", '&#39; onmouseover=&#39;alert(1)'],
    ['a & b', 'a &amp; b'],
    ['&lt; already escaped', '&amp;lt; already escaped'],
    ['"><svg onload=alert(1)>', '&quot;&gt;&lt;svg onload=alert(1)&gt;'],
    ['Ünïcödé ✓ 日本', 'Ünïcödé ✓ 日本'],
  ]
  for (const [input, expected] of table) assert.equal(escapeHtml(input), expected, input)
})

test('html: every interpolation is escaped, in text and in attributes', () => {
  const name = '<script>alert(1)</script>'
  const attribute = '" autofocus onfocus="alert(1)'
  const out = html`<p title="${attribute}">${name}</p>`.toString()
  assert.equal(
    out,
    '<p title="&quot; autofocus onfocus=&quot;alert(1)">&lt;script&gt;alert(1)&lt;/script&gt;</p>',
  )
  assert.ok(!out.includes('<script>'))
})

test('html: nested templates are not escaped twice; arrays join; nullish and false render nothing', () => {
  const items = ['<a>', 'b&c'].map((item) => html`<li>${item}</li>`)
  assert.equal(html`<ul>${items}</ul>`.toString(), '<ul><li>&lt;a&gt;</li><li>b&amp;c</li></ul>')
  assert.equal(html`[${null}${undefined}${false}]`.toString(), '[]')
  assert.equal(html`${0} ${1.5} ${true}`.toString(), '0 1.5 true')
  assert.ok(html`x` instanceof SafeHtml)
})

test('html: a string that looks like markup is still text (only html`` is trusted)', () => {
  const markup = '<b>bold</b>'
  assert.equal(html`${markup}`.toString(), '&lt;b&gt;bold&lt;/b&gt;')
  assert.equal(html`${new SafeHtml(markup)}`.toString(), markup)
})
