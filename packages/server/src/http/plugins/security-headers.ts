// Headers every response carries, errors and 404s included.

import type { FastifyReply } from 'fastify'

const HEADERS: Readonly<Record<string, string>> = {
  // Browsers must not guess a type for our JSON (MIME sniffing).
  'x-content-type-options': 'nosniff',
  // Tokens never travel in URLs, but no URL of ours needs to leak either.
  'referrer-policy': 'no-referrer',
  // Clickjacking: nothing here is meant to be framed (plus CSP frame-ancestors).
  'x-frame-options': 'DENY',
  // A JSON API runs no scripts and loads nothing.
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
}

/**
 * Sets the security headers, and `Cache-Control: no-store` unless a route
 * sets its own later (tokens and personal data must never sit in a cache).
 */
export function applySecurityHeaders(reply: FastifyReply): void {
  reply.headers(HEADERS)
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
}
