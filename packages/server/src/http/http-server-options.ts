// Limits of the HTTP server itself. buildApp already applies them (through
// Fastify's `http` option for node:http's createServer); they are exported
// for the CLI's startup log and for anything that creates its own server.

/** Request bodies: 16 KiB is far above any valid request of this API. */
export const BODY_LIMIT = 16 * 1024

/**
 * Node's default is 16 KiB already; pinned here so a Node upgrade or a
 * `--max-http-header-size` flag cannot silently raise it.
 */
export const MAX_HEADER_SIZE = 16 * 1024

/** Options for node:http `createServer`. */
export const httpServerOptions = Object.freeze({ maxHeaderSize: MAX_HEADER_SIZE })
