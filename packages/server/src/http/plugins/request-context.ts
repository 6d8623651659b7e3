// Per-request identity: the request id (honoured from X-Request-Id when it
// is sane, so a proxy's id follows the request through the logs) and the
// ClientInfo the domain records on sessions and in the audit log.

import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyRequest } from 'fastify'
import type { ClientInfo } from '../../auth/types.ts'

const SANE_REQUEST_ID = /^[\w-]{1,128}$/
const MAX_USER_AGENT = 512

/**
 * Fastify's `genReqId`: the incoming `X-Request-Id` when it is 1..128 word
 * characters or dashes (anything else could forge log lines), else a UUID.
 */
export function generateRequestId(request: IncomingMessage): string {
  const incoming = request.headers['x-request-id']
  return typeof incoming === 'string' && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID()
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
