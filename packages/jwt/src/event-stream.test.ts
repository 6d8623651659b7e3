import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EventStreamParser, type ServerSentEvent } from './event-stream.ts'

function parse(chunks: string[]): {
  events: ServerSentEvent[]
  retries: number[]
  comments: string[]
} {
  const events: ServerSentEvent[] = []
  const retries: number[] = []
  const comments: string[] = []
  const parser = new EventStreamParser({
    onEvent: (event) => events.push(event),
    onRetry: (ms) => retries.push(ms),
    onComment: (text) => comments.push(text),
  })
  for (const chunk of chunks) parser.push(chunk)
  return { events, retries, comments }
}

describe('EventStreamParser', () => {
  const stream =
    '\uFEFFretry: 2000\n\n: heartbeat\nid: 7\nevent: revocation\ndata: {"a":1}\n\nevent: ready\ndata: line one\ndata: line two\n\n'

  it('reads fields, comments, retry, multi-line data and a leading BOM', () => {
    const { events, retries, comments } = parse([stream])
    assert.deepEqual(retries, [2000])
    assert.deepEqual(comments, ['heartbeat'])
    assert.deepEqual(events, [
      { type: 'revocation', data: '{"a":1}', lastEventId: '7' },
      // The last event ID persists across events (WHATWG HTML §9.2.6).
      { type: 'ready', data: 'line one\nline two', lastEventId: '7' },
    ])
  })

  it('gives the same events for LF, CRLF and CR line endings, split at every possible point', () => {
    const expected = parse([stream]).events
    for (const eol of ['\r\n', '\r']) {
      const text = stream.replace(/\n/g, eol)
      assert.deepEqual(parse([text]).events, expected, `whole, ${JSON.stringify(eol)}`)
      for (let cut = 1; cut < text.length; cut++) {
        const split = parse([text.slice(0, cut), text.slice(cut)]).events
        assert.deepEqual(split, expected, `cut at ${cut}, ${JSON.stringify(eol)}`)
      }
    }
    // One character per chunk: a CR and its LF always arrive apart.
    assert.deepEqual(parse([...stream.replace(/\n/g, '\r\n')]).events, expected)
  })

  it('treats a CR at the end of a chunk as a line end without waiting for the next chunk', () => {
    const events: ServerSentEvent[] = []
    const parser = new EventStreamParser({ onEvent: (event) => events.push(event) })
    parser.push('data: x\r\r')
    assert.equal(events.length, 1, 'dispatched on the second CR')
    parser.push('\ndata: y\n\n')
    assert.deepEqual(
      events.map((e) => e.data),
      ['x', 'y'],
      'the LF after the CR is not a blank line',
    )
  })

  it('follows the standard on edge cases: no space, no colon, unknown fields, NUL ids, bad retry', () => {
    const { events, retries } = parse([
      'data:nospace\n\ndata\n\nfoo: bar\nid: a\0b\nretry: 12x\ndata:  two spaces\n\n',
      'event: x\n\n', // no data: nothing dispatched
      'id: 9\ndata: unfinished', // the stream ends mid-event: discarded
    ])
    assert.deepEqual(retries, [])
    assert.deepEqual(events, [
      { type: 'message', data: 'nospace', lastEventId: '' },
      { type: 'message', data: '', lastEventId: '' },
      { type: 'message', data: ' two spaces', lastEventId: '' },
    ])
  })

  it('refuses a line or an event over 1 MiB instead of buffering it', () => {
    const line = new EventStreamParser({ onEvent: () => {} })
    assert.throws(() => {
      for (let i = 0; i < 20; i++) line.push('x'.repeat(64 * 1024))
    }, /too long/)
    const event = new EventStreamParser({ onEvent: () => {} })
    const data = `data: ${'y'.repeat(1000)}\n`
    assert.throws(() => {
      for (let i = 0; i < 2000; i++) event.push(data)
    }, /too large/)
  })
})
