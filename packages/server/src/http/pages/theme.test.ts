import assert from 'node:assert/strict'
import { test } from 'node:test'
import { brandCss, brandIcon, contrastRatio, readableOnWhite, textColorOn } from './theme.ts'

test('contrastRatio: WCAG 2.x reference values', () => {
  assert.equal(contrastRatio('#000000', '#ffffff'), 21)
  assert.equal(contrastRatio('#ffffff', '#ffffff'), 1)
  assert.equal(contrastRatio('#767676', '#ffffff').toFixed(2), '4.54')
})

test('text on the brand colour is black or white, whichever reads better', () => {
  assert.equal(textColorOn('#2f54c6'), '#ffffff')
  assert.equal(textColorOn('#ffcc00'), '#000000')
  assert.equal(textColorOn('#ffff00'), '#000000')
  assert.equal(textColorOn('#000000'), '#ffffff')
})

test('readableOnWhite darkens a pale brand colour to at least 4.5:1 and leaves a dark one alone', () => {
  assert.equal(readableOnWhite('#2f54c6'), '#2f54c6')
  for (const pale of ['#ffcc00', '#ffff00', '#ffffff', '#7fdbff', '#00ff00']) {
    const shade = readableOnWhite(pale)
    assert.ok(contrastRatio(shade, '#ffffff') >= 4.5, `${pale} -> ${shade}`)
    assert.match(shade, /^#[0-9a-f]{6}$/)
  }
})

test('brandCss and brandIcon take a #rrggbb colour only (nothing else reaches CSS or SVG)', () => {
  assert.equal(
    brandCss('#2F54C6'),
    ':root {\n  --brand: #2f54c6;\n  --brand-text: #ffffff;\n  --brand-ink: #2f54c6;\n}\n',
  )
  assert.match(brandIcon('#ffcc00'), /fill="#ffcc00"/)
  for (const bad of ['red', '#fff', '#2f54c6; } body { display: none', 'url(x)']) {
    assert.throws(() => brandCss(bad), TypeError, bad)
    assert.throws(() => brandIcon(bad), TypeError, bad)
  }
})
