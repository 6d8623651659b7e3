// Answers that send the same frozen object to many requests (GET /auth/me's
// profile view, shared by every request of a user while the profile cache
// holds it) are serialized once: the route's own response serializer runs on
// the first send and its text is kept with the object. On GET /auth/me the
// serializer was the largest cost of the route's own code, about as much as
// verifying the token from the cache (bench/profiles/README.md).

import type { FastifyReply } from 'fastify'

const JSON_UTF8 = 'application/json; charset=utf-8'

/** Whether `value` and every object inside it are frozen: its JSON cannot change. */
function isDeeplyFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true
  if (!Object.isFrozen(value)) return false
  for (const member of Object.values(value)) {
    if (!isDeeplyFrozen(member)) return false
  }
  return true
}

/**
 * A function for one route that sends a value as the route's JSON answer,
 * serialized as `reply.send(value)` would have (the response schema of the
 * reply's status). A deeply frozen value's text is kept, in a WeakMap, for as
 * long as the value lives; any other value is serialized every time. One per
 * route and status (the text is the route's schema's); not for routes with
 * preSerialization hooks, which a text payload skips.
 *
 * @example
 * const sendMe = createJsonTextSender()
 * app.get('/auth/me', opts, (request, reply) =>
 *   auth.me(accessOf(request)).then((view) => sendMe(reply, view)))
 */
export function createJsonTextSender(): (reply: FastifyReply, value: object) => void {
  const texts = new WeakMap<object, string>()
  return (reply, value) => {
    let text = texts.get(value)
    if (text === undefined) {
      // fast-json-stringify, compiled from the route's response schema: a string.
      text = reply.serialize(value) as string
      if (isDeeplyFrozen(value)) texts.set(value, text)
    }
    reply.type(JSON_UTF8).send(text)
  }
}
