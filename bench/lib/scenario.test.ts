import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  attainment,
  formatGoal,
  formatMeasured,
  formatValue,
  median,
  passes,
  type TargetCheck,
  verdict,
} from './scenario.ts'

const check = (value: number, goal: number, better: 'higher' | 'lower'): TargetCheck => ({
  label: 'x',
  value,
  goal,
  better,
  unit: 'x',
})

describe('target checks', () => {
  it('pass at the goal when higher is better, and only below it when lower is', () => {
    assert.equal(verdict(check(0.85, 0.85, 'higher')), 'PASS')
    assert.equal(verdict(check(0.84, 0.85, 'higher')), 'MISS')
    assert.equal(verdict(check(19.9, 20, 'lower')), 'PASS')
    assert.equal(verdict(check(20, 20, 'lower')), 'MISS')
  })

  it('pass at the goal when lower is better and the goal is "at most"', () => {
    const size = { ...check(100, 100, 'lower'), unit: 'MiB' as const, orEqual: true }
    assert.equal(verdict(size), 'PASS')
    assert.equal(verdict({ ...size, value: 100.01 }), 'MISS')
    assert.equal(formatGoal(size), '<= 100.0 MiB')
    assert.equal(formatGoal(check(20, 20, 'lower')), '< 20.00x')
    assert.equal(formatMeasured({ ...size, value: 100.04 }), '100.04 MiB')
  })

  it('read INFO for a figure reported without a goal, never a miss', () => {
    const info = { ...check(0.8, Number.NaN, 'lower'), unit: 's' as const, info: 'no target' }
    assert.equal(verdict(info), 'INFO')
    assert.equal(passes(info), undefined)
    assert.ok(Number.isNaN(attainment(info)))
    assert.equal(formatGoal(info), 'reported')
    assert.equal(formatMeasured(info), '0.80 s')
  })

  it('read N/A when not measured', () => {
    assert.equal(passes(check(Number.NaN, 1, 'higher')), undefined)
    assert.equal(verdict({ ...check(2, 1, 'higher'), missing: 'skipped' }), 'N/A')
    assert.ok(Number.isNaN(attainment({ ...check(2, 1, 'higher'), missing: 'skipped' })))
  })

  it('measure attainment as 1 at the goal, above 1 when met, either way', () => {
    assert.equal(attainment(check(5, 2.5, 'higher')), 2)
    assert.equal(attainment(check(40, 20, 'lower')), 0.5)
    assert.equal(attainment(check(10, 20, 'lower')), 2)
  })
})

describe('helpers', () => {
  it('formats ratios, milliseconds and rates', () => {
    assert.equal(formatValue(2.456, 'x'), '2.46x')
    assert.equal(formatValue(7.25, 'ms'), '7.3 ms')
    assert.equal(formatValue(123.4, 'ms'), '123 ms')
    assert.equal(formatValue(1482.2, '/s'), '1,482/s')
    assert.equal(formatValue(Number.NaN, '/s'), 'n/a')
    assert.equal(formatValue(99.94, 'MiB'), '99.9 MiB')
    assert.equal(formatValue(1111.6, 'B'), '1,112 B')
    assert.equal(formatValue(0.8123, 's'), '0.81 s')
  })

  it('shows a miss that rounds to the goal with one more decimal', () => {
    assert.equal(formatMeasured(check(0.8986, 0.9, 'higher')), '0.899x')
    assert.equal(formatMeasured(check(0.9, 0.9, 'higher')), '0.90x')
    assert.equal(formatMeasured({ ...check(20.004, 20, 'lower'), unit: 'ms' }), '20.00 ms')
  })

  it('takes the median of the finite values', () => {
    assert.equal(median([3, 1, 2]), 2)
    assert.equal(median([4, 1, 3, 2]), 2.5)
    assert.equal(median([Number.NaN, 5]), 5)
    assert.ok(Number.isNaN(median([])))
  })
})
