import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { type RevocableClaims, type Revocation, RevocationSet } from './revocation-set.ts'

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  const clock = { t: start, now: () => clock.t }
  return clock
}

/**
 * The rules as docs/http-api.md states them, computed from the whole history
 * at every question, with no state to keep in step: a token is revoked when
 * an unexpired entry names its `jti` or `sid`, or when its user has an
 * unexpired entry and its `iat` is missing or below the highest `before`
 * among the user's entries since the user last had no unexpired entry.
 */
class ModelList {
  readonly added: { entry: Revocation; at: number }[] = []

  add(entry: Revocation, now: number): boolean {
    if (entry.expiresAt <= now) return false
    this.added.push({ entry, at: now })
    return true
  }

  #of(kind: string, value: unknown) {
    return this.added.filter((h) => h.entry.kind === kind && h.entry.value === value)
  }

  #named(kind: 'jti' | 'sid', value: unknown, now: number): boolean {
    return typeof value === 'string' && this.#of(kind, value).some((h) => h.entry.expiresAt > now)
  }

  /** The user's cut-over: the highest `before` of the current run of entries, or 0. */
  revokedBefore(sub: string, now: number): number {
    const entries = this.#of('sub', sub)
    if (!entries.some((h) => h.entry.expiresAt > now)) return 0
    // The run starts at the last entry that found every earlier one expired.
    let start = 0
    for (let i = 1; i < entries.length; i++) {
      const at = entries[i]!.at
      if (entries.slice(0, i).every((h) => h.entry.expiresAt <= at)) start = i
    }
    return Math.max(
      ...entries.slice(start).map((h) => (h.entry.kind === 'sub' ? h.entry.before : 0)),
    )
  }

  isRevoked(claims: RevocableClaims, now: number): boolean {
    if (this.#named('jti', claims.jti, now) || this.#named('sid', claims.sid, now)) return true
    if (typeof claims.sub !== 'string') return false
    if (!this.#of('sub', claims.sub).some((h) => h.entry.expiresAt > now)) return false
    return typeof claims.iat !== 'number' || claims.iat < this.revokedBefore(claims.sub, now)
  }

  /** Distinct (kind, value) with an unexpired entry: what the set holds right after prune(). */
  live(now: number): number {
    const keys = new Set<string>()
    for (const { entry } of this.added) {
      if (entry.expiresAt > now) keys.add(`${entry.kind}:${entry.value}`)
    }
    return keys.size
  }
}

describe('RevocationSet: the rules, case by case', () => {
  const exp = 1_060_000
  const cases: {
    name: string
    entries: Revocation[]
    claims: RevocableClaims
    revoked: boolean
  }[] = [
    {
      name: 'jti named',
      entries: [{ kind: 'jti', value: 'j', expiresAt: exp }],
      claims: { jti: 'j' },
      revoked: true,
    },
    {
      name: 'sid named',
      entries: [{ kind: 'sid', value: 's', expiresAt: exp }],
      claims: { sid: 's', jti: 'x' },
      revoked: true,
    },
    {
      name: 'a jti entry does not name a sid',
      entries: [{ kind: 'jti', value: 'v', expiresAt: exp }],
      claims: { sid: 'v', sub: 'v' },
      revoked: false,
    },
    {
      name: 'a non-string jti is never a match',
      entries: [{ kind: 'jti', value: '1', expiresAt: exp }],
      claims: { jti: 1 },
      revoked: false,
    },
    {
      name: 'sub, iat before `before`',
      entries: [{ kind: 'sub', value: 'u', before: 100, expiresAt: exp }],
      claims: { sub: 'u', iat: 99 },
      revoked: true,
    },
    {
      name: 'sub, iat === before survives',
      entries: [{ kind: 'sub', value: 'u', before: 100, expiresAt: exp }],
      claims: { sub: 'u', iat: 100 },
      revoked: false,
    },
    {
      name: 'sub, iat after before survives',
      entries: [{ kind: 'sub', value: 'u', before: 100, expiresAt: exp }],
      claims: { sub: 'u', iat: 101 },
      revoked: false,
    },
    {
      name: 'sub, iat missing is revoked',
      entries: [{ kind: 'sub', value: 'u', before: 100, expiresAt: exp }],
      claims: { sub: 'u' },
      revoked: true,
    },
    {
      name: 'sub, iat not a number is revoked',
      entries: [{ kind: 'sub', value: 'u', before: 100, expiresAt: exp }],
      claims: { sub: 'u', iat: '200' },
      revoked: true,
    },
    {
      name: 'another sub',
      entries: [{ kind: 'sub', value: 'u', before: 100, expiresAt: exp }],
      claims: { sub: 'w', iat: 1 },
      revoked: false,
    },
    {
      name: 'merge keeps the highest before (newer first)',
      entries: [
        { kind: 'sub', value: 'u', before: 200, expiresAt: exp },
        { kind: 'sub', value: 'u', before: 100, expiresAt: exp + 1 },
      ],
      claims: { sub: 'u', iat: 150 },
      revoked: true,
    },
    {
      name: 'merge keeps the highest before (newer last)',
      entries: [
        { kind: 'sub', value: 'u', before: 100, expiresAt: exp },
        { kind: 'sub', value: 'u', before: 200, expiresAt: exp - 1 },
      ],
      claims: { sub: 'u', iat: 199 },
      revoked: true,
    },
    {
      name: 'an already expired entry is not held',
      entries: [{ kind: 'jti', value: 'j', expiresAt: 1_000_000 }],
      claims: { jti: 'j' },
      revoked: false,
    },
  ]
  for (const { name, entries, claims, revoked } of cases) {
    it(name, () => {
      const set = new RevocationSet({ now: manualClock().now })
      for (const entry of entries) set.add(entry)
      assert.equal(set.isRevoked(claims), revoked)
    })
  }

  it('counts an entry until its expiresAt, exclusive, and keeps the longest life per value', () => {
    const clock = manualClock()
    const set = new RevocationSet({ now: clock.now })
    assert.equal(set.add({ kind: 'sid', value: 's', expiresAt: clock.t + 10 }), true)
    assert.equal(
      set.add({ kind: 'sid', value: 's', expiresAt: clock.t + 5 }),
      true,
      'a shorter one changes nothing',
    )
    assert.equal(set.add({ kind: 'sid', value: 'gone', expiresAt: clock.t }), false)
    assert.equal(set.size, 1)
    clock.t += 9
    assert.equal(set.isRevoked({ sid: 's' }), true)
    clock.t += 1
    assert.equal(
      set.isRevoked({ sid: 's' }),
      false,
      'expired: no longer counts, even before prune()',
    )
    assert.equal(set.size, 1)
    assert.equal(set.prune(), 1)
    assert.equal(set.size, 0)
  })

  it('merges a user’s entries into the highest before and the latest expiry; revokedBefore reads it', () => {
    const clock = manualClock()
    const set = new RevocationSet({ now: clock.now })
    set.add({ kind: 'sub', value: 'u', before: 200, expiresAt: clock.t + 10 })
    set.add({ kind: 'sub', value: 'u', before: 100, expiresAt: clock.t + 100 })
    assert.equal(set.revokedBefore('u'), 200)
    assert.equal(set.revokedBefore('nobody'), 0)
    clock.t += 50
    assert.equal(
      set.isRevoked({ sub: 'u', iat: 150 }),
      true,
      'the higher before lives as long as the longest entry',
    )
    clock.t += 50
    assert.equal(set.revokedBefore('u'), 0)
    // After the record expired, a new entry starts afresh (pruned or not).
    set.add({ kind: 'sub', value: 'u', before: 120, expiresAt: clock.t + 10 })
    assert.equal(set.revokedBefore('u'), 120)
    assert.equal(set.size, 1)
  })

  it('clear() forgets everything', () => {
    const set = new RevocationSet()
    set.add({ kind: 'jti', value: 'j', expiresAt: Date.now() + 60_000 })
    set.add({ kind: 'sub', value: 'u', before: 1, expiresAt: Date.now() + 60_000 })
    set.clear()
    assert.equal(set.size, 0)
    assert.equal(set.isRevoked({ jti: 'j', sub: 'u' }), false)
  })

  it('throws a TypeError for bad options and for entries that are not ones', () => {
    for (const options of [null, 1, { now: 5 }]) {
      assert.throws(() => new RevocationSet(options as never), TypeError, JSON.stringify(options))
    }
    const set = new RevocationSet()
    const expiresAt = Date.now() + 60_000
    for (const entry of [
      null,
      'jti',
      { kind: 'exp', value: 'x', expiresAt },
      { kind: 'jti', value: '', expiresAt },
      { kind: 'jti', value: 7, expiresAt },
      { kind: 'jti', value: 'x', expiresAt: Number.NaN },
      { kind: 'jti', value: 'x', expiresAt: '1' },
      { kind: 'sub', value: 'u', expiresAt },
      { kind: 'sub', value: 'u', before: Number.POSITIVE_INFINITY, expiresAt },
    ]) {
      assert.throws(() => set.add(entry as never), TypeError, JSON.stringify(entry))
    }
    assert.equal(set.size, 0)
  })
})

describe('RevocationSet: the model', () => {
  it('answers as the rules computed from the whole history, under any sequence of operations', () => {
    const value = fc.constantFrom('a', 'b', 'c')
    const claim = fc.option(fc.oneof(value, fc.constant(1)), { nil: undefined })
    const entry: fc.Arbitrary<Revocation> = fc.oneof(
      fc
        .record({
          kind: fc.constantFrom('jti' as const, 'sid' as const),
          value,
          life: fc.integer({ min: -3, max: 12 }),
        })
        .map(({ kind, value, life }) => ({ kind, value, expiresAt: life })),
      fc
        .record({
          value,
          before: fc.integer({ min: 0, max: 6 }),
          life: fc.integer({ min: -3, max: 12 }),
        })
        .map(({ value, before, life }) => ({
          kind: 'sub' as const,
          value,
          before,
          expiresAt: life,
        })),
    )
    const op = fc.oneof(
      // `expiresAt` holds the life relative to the clock; made absolute when applied.
      { arbitrary: fc.record({ op: fc.constant('add' as const), entry }), weight: 4 },
      {
        arbitrary: fc.record({
          op: fc.constant('advance' as const),
          ms: fc.integer({ min: 0, max: 4 }),
        }),
        weight: 2,
      },
      { arbitrary: fc.record({ op: fc.constant('prune' as const) }), weight: 1 },
      { arbitrary: fc.record({ op: fc.constant('clear' as const) }), weight: 1 },
      {
        arbitrary: fc.record({ op: fc.constant('revokedBefore' as const), sub: value }),
        weight: 2,
      },
      {
        arbitrary: fc.record({
          op: fc.constant('check' as const),
          claims: fc.record(
            {
              jti: claim,
              sid: claim,
              sub: claim,
              iat: fc.oneof(fc.integer({ min: 0, max: 7 }), fc.constant('3')),
            },
            { requiredKeys: [] },
          ),
        }),
        weight: 6,
      },
    )
    fc.assert(
      fc.property(fc.array(op, { maxLength: 150, size: 'max' }), (ops) => {
        const clock = manualClock(100)
        const set = new RevocationSet({ now: clock.now })
        let model = new ModelList()
        for (const o of ops) {
          switch (o.op) {
            case 'add': {
              const absolute = { ...o.entry, expiresAt: clock.t + o.entry.expiresAt }
              assert.equal(set.add(absolute), model.add(absolute, clock.t))
              break
            }
            case 'advance':
              clock.t += o.ms
              break
            case 'prune':
              set.prune()
              assert.equal(set.size, model.live(clock.t), 'after prune(), only live records')
              break
            case 'clear':
              set.clear()
              model = new ModelList()
              break
            case 'revokedBefore':
              assert.equal(set.revokedBefore(o.sub), model.revokedBefore(o.sub, clock.t))
              break
            case 'check':
              assert.equal(
                set.isRevoked(o.claims),
                model.isRevoked(o.claims, clock.t),
                JSON.stringify(o.claims),
              )
          }
          assert.ok(set.size >= model.live(clock.t))
        }
      }),
      { numRuns: 500 },
    )
  })
})
