// The one place that turns a failure into a response. Route handlers throw
// (an AuthError, or Fastify throws for them); this maps each failure to a
// registry code and the envelope `{ "error": { "code", "message", ... } }`.
// Anything unknown is a bug: logged with the request id, answered with a
// generic 500 that says nothing about the cause.

import type { Socket } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { AuthError, type ErrorCode } from '../../auth/errors.ts'
import { StoreUnavailableError } from '../../storage/ports.ts'
import { errorCodes, INTERNAL_ERROR, isErrorCode, type WireCode } from '../error-codes.ts'
import { applySecurityHeaders } from './security-headers.ts'

/** A failure as it goes on the wire. */
export interface WireError {
  readonly status: number
  readonly code: WireCode
  readonly message: string
  readonly details?: Record<string, unknown> | undefined
  /** Seconds, rounded up; sent as `Retry-After`. */
  readonly retryAfter?: number | undefined
}

/** The realm of every WWW-Authenticate challenge (RFC 6750 §3). */
export const REALM = 'tessera'

function wire(code: ErrorCode, message: string, details?: Record<string, unknown>): WireError {
  return { status: errorCodes[code].status, code, message, details }
}

interface Issue {
  path: string
  message: string
}

function validationIssues(errors: readonly unknown[]): Issue[] {
  return errors.map((error) => {
    const { instancePath, message } = error as { instancePath?: unknown; message?: unknown }
    return {
      path: typeof instancePath === 'string' ? instancePath : '',
      message: typeof message === 'string' ? message : 'Invalid value',
    }
  })
}

/** Fastify's own client errors, by code. */
const FASTIFY_CODES: Readonly<Record<string, readonly [ErrorCode, string]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['payload_too_large', 'the request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [
    'unsupported_media_type',
    'request bodies must be application/json',
  ],
  FST_ERR_CTP_INVALID_JSON_BODY: ['validation_failed', 'the request body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['validation_failed', 'the request body is empty'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [
    'validation_failed',
    'the Content-Length does not match the body',
  ],
  FST_ERR_BAD_URL: ['validation_failed', 'the URL is malformed'],
  FST_ERR_MAX_PARAM_LENGTH: ['validation_failed', 'a path parameter is too long'],
}

/**
 * Maps a thrown value to its wire form, or `undefined` when it is not a
 * client error (a bug or an outage: the caller answers 500 and logs it).
 */
export function toWireError(error: unknown): WireError | undefined {
  if (error instanceof AuthError) {
    return {
      status: errorCodes[error.code].status,
      code: error.code,
      message: error.message,
      details: error.details,
      retryAfter: error.retryAfter,
    }
  }
  // An outage, not a bug: the client may retry (the instance recovers by itself).
  if (error instanceof StoreUnavailableError) {
    return { ...wire('unavailable', 'the service is temporarily unavailable'), retryAfter: 1 }
  }
  if (typeof error !== 'object' || error === null) return undefined
  const { validation, code, statusCode } = error as {
    validation?: unknown
    code?: unknown
    statusCode?: unknown
  }
  if (Array.isArray(validation)) {
    return wire('validation_failed', 'the request is invalid', {
      issues: validationIssues(validation),
    })
  }
  const known = typeof code === 'string' ? FASTIFY_CODES[code] : undefined
  if (known !== undefined) return wire(known[0], known[1])
  // Other client errors from Fastify or a plugin (a body parser's
  // SyntaxError carries statusCode 400): the closest registry code.
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    if (statusCode === 404) return wire('not_found', 'no such resource')
    if (statusCode === 413) return wire('payload_too_large', 'the request is too large')
    if (statusCode === 415) return wire('unsupported_media_type', 'unsupported content type')
    return wire('validation_failed', 'the request is invalid')
  }
  return undefined
}

/** RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E. */
function quotable(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, ' ').slice(0, 200)
}

/**
 * The challenge of a 401 (RFC 9110 §15.5.2 requires one), as the catalogue
 * says for its code. RFC 6750 §3.1: when the request carried no credentials
 * (`missing_token`; a failed password login, which presents no token) the
 * challenge has no error code; otherwise `error="invalid_token"` and a
 * description.
 */
/** The proof algorithms a DPoP challenge offers (every asymmetric JWS algorithm). */
const DPOP_ALGS = 'ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519'

export function wwwAuthenticate(code: WireCode, message: string): string {
  const challenge = isErrorCode(code) ? errorCodes[code].challenge : 'invalid_token'
  if (challenge === 'bare') return `Bearer realm="${REALM}"`
  // RFC 9449 §7.1: a refused DPoP proof is answered in the DPoP scheme.
  if (challenge === 'invalid_dpop_proof' || challenge === 'use_dpop_nonce') {
    return `DPoP algs="${DPOP_ALGS}", error="${challenge}", error_description="${quotable(message)}"`
  }
  // RFC 9470: a token that is fine but proves too little asks for more authentication.
  const error = challenge === 'insufficient_user_authentication' ? challenge : 'invalid_token'
  return `Bearer realm="${REALM}", error="${error}", error_description="${quotable(message)}"`
}

/** The envelope for one wire error; details never override code or message. */
export function errorBody(error: WireError): { error: Record<string, unknown> } {
  const body: Record<string, unknown> = { code: error.code, message: error.message }
  for (const [key, value] of Object.entries(error.details ?? {})) {
    if (!Object.hasOwn(body, key)) body[key] = value
  }
  if (error.retryAfter !== undefined) body['retryAfter'] = error.retryAfter
  return { error: body }
}

const stringify = (payload: unknown): string => JSON.stringify(payload)

/** A stable code of the refusal's cause (`invalid_signature`), when it has a short one. */
function causeCode(error: unknown): string | undefined {
  const cause = error instanceof Error ? error.cause : undefined
  const code =
    typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined
  return typeof code === 'string' && /^[\w.-]{1,40}$/.test(code) ? code : undefined
}

/**
 * Answers `error` on `reply`: every error reply of the server goes through
 * here (route errors, 404, framework errors).
 */
export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): void {
  let failure = toWireError(error)
  if (failure === undefined) {
    // Never the request body: it may hold a password or a token.
    request.log.error({ err: error }, 'unexpected error')
    failure = {
      status: 500,
      code: INTERNAL_ERROR,
      message: 'an unexpected error occurred',
      details: { requestId: request.id },
    }
  } else if (failure.code === 'unavailable') {
    // An outage is logged once by the storage layer; one line per refused request would flood.
    request.log.debug({ code: failure.code }, 'request refused')
  } else {
    // A refusal is one short line: anyone can send a forged token per request,
    // and a stack for each (about 1.2 KB) turned the log into an amplifier.
    // The cause's own code (a JwtError's `invalid_signature`) says why; its
    // stack says nothing about the client's mistake.
    const reason = causeCode(error)
    request.log.info(
      reason === undefined ? { code: failure.code } : { code: failure.code, reason },
      'request refused',
    )
  }
  if (failure.retryAfter !== undefined) {
    failure = { ...failure, retryAfter: Math.max(1, Math.ceil(failure.retryAfter)) }
  }
  request.errorCode = failure.code
  if (reply.sent) return

  reply.header('x-request-id', request.id)
  reply.removeHeader('cache-control')
  reply.header('cache-control', 'no-store')
  applySecurityHeaders(reply)
  if (failure.status === 401) {
    reply.header('www-authenticate', wwwAuthenticate(failure.code, failure.message))
  }
  if (failure.retryAfter !== undefined) reply.header('retry-after', String(failure.retryAfter))
  // JSON.stringify rather than the route's response schema: the envelope
  // must serialize whatever details the domain attached.
  reply
    .code(failure.status)
    .type('application/json; charset=utf-8')
    .serializer(stringify)
    .send(errorBody(failure))
}

/**
 * Node's `clientError` (malformed HTTP, headers over `maxHeaderSize`, a
 * request or its headers not in within their timeout) happens outside
 * Fastify's request cycle: answer with the same envelope on the raw socket,
 * then close it. A timeout is 400 `validation_failed` (the registry has no
 * 408).
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const failure =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? wire('payload_too_large', 'the request headers are too large')
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? wire('validation_failed', 'the request took too long to arrive')
        : wire('validation_failed', 'the request is not valid HTTP')
  const body = JSON.stringify(errorBody(failure))
  // As node:http's own handler does: no answer once a response on this socket
  // has begun (a request refused before its body arrived, whose body then
  // stalls), or these bytes would follow that response as garbage.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && inFlight?.headersSent !== true) {
    socket.write(
      `HTTP/1.1 ${failure.status} ${failure.status === 413 ? 'Content Too Large' : 'Bad Request'}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n' +
        body,
    )
  }
  socket.destroy()
}
