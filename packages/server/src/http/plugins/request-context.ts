// Per-request identity: the request id (taken from X-Request-Id when a
// trusted proxy sends a sane one, so the proxy's id follows the request
// through the logs) and the ClientInfo the domain records on sessions and in
// the audit log.

import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyRequest } from 'fastify'
import type { ClientInfo } from '../../auth/types.ts'

const SANE_REQUEST_ID = /^[\w-]{1,128}$/
const MAX_USER_AGENT = 512

/** A fresh request id for every request, whatever it carries. */
function freshRequestId(): string {
  return randomUUID()
}

/** The incoming `X-Request-Id` when it is 1..128 word characters or dashes, else a UUID. */
function forwardedRequestId(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id']
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID()
}

/**
 * Fastify's `genReqId`. The incoming `X-Request-Id` is kept only behind a
 * trusted proxy (`TESSERA_TRUST_PROXY` of 1 or more), and only when sane
 * (anything else could forge log lines); otherwise every request gets a UUID.
 * Without a proxy the header comes from the client itself, which could give
 * many requests one id, or another client's, and blur the log and the
 * `requestId` of a 500.
 *
 * @example
 * Fastify({ genReqId: createRequestIdGenerator(config.trustProxy) })
 */
export function createRequestIdGenerator(trustProxy: number): (request: IncomingMessage) => string {
  return trustProxy > 0 ? forwardedRequestId : freshRequestId
}

/**
 * Who is calling: `request.ip` (which honours X-Forwarded-For only for the
 * configured number of proxy hops) and the User-Agent, cut to 512 characters.
 */
export function clientInfo(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers['user-agent']
  return {
    ip: request.ip || null,
    userAgent:
      userAgent === undefined || userAgent === '' ? null : userAgent.slice(0, MAX_USER_AGENT),
  }
}
