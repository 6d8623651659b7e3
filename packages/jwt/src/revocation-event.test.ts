import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { EventStreamParser, type ServerSentEvent } from './event-stream.ts'
import {
  formatRevocationEvent,
  parseRevocationEvent,
  type RevocationEntry,
} from './revocation-event.ts'

function readStream(text: string): ServerSentEvent[] {
  const events: ServerSentEvent[] = []
  new EventStreamParser({ onEvent: (event) => events.push(event) }).push(text)
  return events
}

describe('formatRevocationEvent', () => {
  it('writes the bytes docs/http-api.md shows, members in order, before only for sub', () => {
    assert.equal(
      formatRevocationEvent({
        id: 41,
        kind: 'sid',
        value: '0f5d8a52-3c1e-4f5e-9a0b-2d6c1e7f8a90',
        expiresAt: 1780316160000,
      }),
      'id: 41\nevent: revocation\ndata: {"id":41,"kind":"sid","value":"0f5d8a52-3c1e-4f5e-9a0b-2d6c1e7f8a90","expiresAt":1780316160000}\n\n',
    )
    // Members given in another order, and a stored entry's extra fields, change nothing.
    const stored = {
      createdAt: 1780315200000,
      expiresAt: 1780316160000,
      before: 1780315201,
      value: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
      kind: 'sub' as const,
      id: 42,
    }
    assert.equal(
      formatRevocationEvent(stored),
      'id: 42\nevent: revocation\ndata: {"id":42,"kind":"sub","value":"7c9e6679-7425-40de-944b-e07fc1f90ae7","before":1780315201,"expiresAt":1780316160000}\n\n',
    )
  })

  it('keeps a value with line breaks on one data line', () => {
    const text = formatRevocationEvent({ id: 1, kind: 'jti', value: 'a\nb\r\nc', expiresAt: 5 })
    assert.equal(text.split('\n').length, 5, 'three lines and the blank one')
  })
})

describe('parseRevocationEvent', () => {
  it('reads back every entry formatRevocationEvent writes, through an SSE parser', () => {
    const entry: fc.Arbitrary<RevocationEntry> = fc.oneof(
      fc.record({
        id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        kind: fc.constantFrom('jti' as const, 'sid' as const),
        value: fc.string({ minLength: 1, unit: 'binary' }),
        expiresAt: fc.integer({ min: 0, max: 8.64e15 }),
      }),
      fc.record({
        id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        kind: fc.constant('sub' as const),
        value: fc.string({ minLength: 1, unit: 'binary' }),
        before: fc.integer({ min: 0, max: 8.64e12 }),
        expiresAt: fc.integer({ min: 0, max: 8.64e15 }),
      }),
    )
    fc.assert(
      fc.property(entry, (original) => {
        const events = readStream(formatRevocationEvent(original))
        assert.equal(events.length, 1)
        const [event] = events
        assert.equal(event!.type, 'revocation')
        assert.equal(event!.lastEventId, String(original.id))
        assert.deepEqual(parseRevocationEvent(event!.data), { ...original })
      }),
      { numRuns: 500 },
    )
  })

  it('takes what can be enforced: any member order, unknown members, a missing id', () => {
    assert.deepEqual(
      parseRevocationEvent('{"expiresAt":9,"value":"s","kind":"sid","id":3,"extra":[1]}'),
      { id: 3, kind: 'sid', value: 's', expiresAt: 9 },
    )
    assert.deepEqual(parseRevocationEvent('{"kind":"jti","value":"j","expiresAt":9}'), {
      id: 0,
      kind: 'jti',
      value: 'j',
      expiresAt: 9,
    })
    assert.deepEqual(
      parseRevocationEvent('{"id":"7","kind":"jti","value":"j","before":4,"expiresAt":9}'),
      { id: 0, kind: 'jti', value: 'j', expiresAt: 9 },
      'a non-numeric id reads as 0; before is only for sub',
    )
  })

  it('refuses data that is not an entry', () => {
    for (const data of [
      '',
      'not json',
      'null',
      '42',
      '"sid"',
      '[]',
      '{"kind":"sid"}',
      '{"id":1,"kind":"sid","value":"","expiresAt":9}',
      '{"id":1,"kind":"sid","value":7,"expiresAt":9}',
      '{"id":1,"kind":"sid","value":"s"}',
      '{"id":1,"kind":"sid","value":"s","expiresAt":"9"}',
      '{"id":1,"kind":"sid","value":"s","expiresAt":1e999}',
      '{"id":1,"kind":"exp","value":"s","expiresAt":9}',
      '{"id":1,"kind":"SID","value":"s","expiresAt":9}',
      '{"id":1,"kind":"sub","value":"u","expiresAt":9}',
      '{"id":1,"kind":"sub","value":"u","before":"1","expiresAt":9}',
      '{"id":1,"kind":"sub","value":"u","before":null,"expiresAt":9}',
    ]) {
      assert.equal(parseRevocationEvent(data), undefined, data)
    }
  })
})
