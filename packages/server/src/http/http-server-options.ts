// Limits of the HTTP server itself. buildApp already applies them (through
// Fastify's options and its `http` option for node:http's createServer);
// they are exported for anything that creates its own server.

import type { ServerOptions } from 'node:http'
import type { Config } from '../config/types.ts'

/** Request bodies: 16 KiB is far above any valid request of this API. */
export const BODY_LIMIT = 16 * 1024

/**
 * Node's default is 16 KiB already; pinned here so a Node upgrade or a
 * `--max-http-header-size` flag cannot silently raise it.
 */
export const MAX_HEADER_SIZE = 16 * 1024

/** The server's timeouts, in milliseconds (node:http's unit). */
export interface ServerTimeouts {
  /** Headers and body of one request (node:http `requestTimeout`). */
  readonly requestMs: number
  /** The headers of one request, or the first request of a new connection (`headersTimeout`). */
  readonly headersMs: number
  /** An idle keep-alive connection between two requests (`keepAliveTimeout`). */
  readonly keepAliveMs: number
  /**
   * How often node:http looks for requests past their deadline
   * (`connectionsCheckingInterval`, 30 s by default, which would let a 10 s
   * headers timeout run to 40 s): a quarter of the shortest timeout, at most 1 s.
   */
  readonly checkIntervalMs: number
}

/**
 * The timeouts of `config` in milliseconds. Fastify's defaults turn off
 * node:http's request timeout (and with it the headers timeout), so a client
 * that sends headers and then never the body held its connection, and a file
 * descriptor, forever: a slowloris attack.
 *
 * @example
 * serverTimeouts({ requestTimeout: 30, headersTimeout: 10, keepAliveTimeout: 72 }).checkIntervalMs // 1000
 */
export function serverTimeouts(
  config: Pick<Config, 'requestTimeout' | 'headersTimeout' | 'keepAliveTimeout'>,
): ServerTimeouts {
  const requestMs = Math.round(config.requestTimeout * 1000)
  const headersMs = Math.min(Math.round(config.headersTimeout * 1000), requestMs)
  if (!(headersMs > 0) || !(config.keepAliveTimeout > 0)) {
    throw new TypeError('server timeouts must be positive numbers of seconds')
  }
  return Object.freeze({
    requestMs,
    headersMs,
    keepAliveMs: Math.round(config.keepAliveTimeout * 1000),
    checkIntervalMs: Math.max(10, Math.min(1000, Math.floor(headersMs / 4))),
  })
}

/**
 * Options for node:http `createServer`. Fastify sets `requestTimeout` and
 * `keepAliveTimeout` again from its own options after creating the server:
 * pass them there too (buildApp does).
 */
export function httpServerOptions(timeouts: ServerTimeouts): ServerOptions {
  return {
    maxHeaderSize: MAX_HEADER_SIZE,
    requestTimeout: timeouts.requestMs,
    headersTimeout: timeouts.headersMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionsCheckingInterval: timeouts.checkIntervalMs,
  }
}
