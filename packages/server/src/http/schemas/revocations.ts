// Schemas of GET /auth/revocations. The cursor comes from the query or from
// the SSE reconnection header; the answer is a stream, which no JSON schema
// describes: OpenAPI gets a text/event-stream response with a description.

import { Type } from '@sinclair/typebox'
import { ErrorBody } from './common.ts'

/** An entry id to resume after; ids are positive, so 0 means "from the start". */
const Cursor = (description: string) =>
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description })

export const RevocationsQuery = Type.Object(
  {
    since: Type.Optional(
      Cursor('Send the entries with an id greater than this (default 0: every unexpired entry).'),
    ),
  },
  { additionalProperties: false },
)

/** Other headers are allowed (a header schema lists only what it checks). */
export const RevocationsHeaders = Type.Object({
  'last-event-id': Type.Optional(
    Cursor('The id of the last entry received (SSE reconnection); wins over `since`.'),
  ),
})

const STREAM_DESCRIPTION = [
  'Server-Sent Events, never ending: `retry: 2000`, then every unexpired entry after the cursor as',
  '`id: <id>` / `event: revocation` / `data: {"id","kind","value","before"?,"expiresAt"}`, then one',
  '`event: ready` with `data: {"cursor"}`, then new entries as they come, and a `: heartbeat`',
  'comment every 15 s. See docs/http-api.md, "Revocation feed".',
].join(' ')

/**
 * The responses for OpenAPI: the stream (by media type, as an OpenAPI 3
 * response object) and the error envelope, which is JSON as everywhere.
 */
export const RevocationsResponses = {
  200: {
    description: STREAM_DESCRIPTION,
    content: { 'text/event-stream': { schema: Type.String() } },
  },
  '4xx': ErrorBody,
  '5xx': ErrorBody,
}
