import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { percentile } from './percentile.ts'

describe('percentile (nearest rank)', () => {
  it('is a measured value, counted from the smallest', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i)
    assert.equal(percentile(values, 50), 50)
    assert.equal(percentile(values, 90), 90)
    assert.equal(percentile(values, 99), 99)
    assert.equal(percentile(values, 100), 100)
    assert.equal(percentile(values, 0), 1)
  })

  it('takes the next rank up between two, and is NaN for no values', () => {
    assert.equal(percentile([4, 1, 3, 2], 50), 2)
    assert.equal(percentile([4, 1, 3, 2], 99), 4)
    assert.equal(percentile([7], 1), 7)
    assert.ok(Number.isNaN(percentile([], 50)))
  })
})
