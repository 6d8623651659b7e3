// Shared plumbing of the `tessera` commands: exit codes, the one-line error
// report, and reading the files and JSON a command is given. A command throws;
// main() prints one line and picks the exit code. A stack trace never reaches
// the terminal, and neither does the content of a key or secret file.

import { readFileSync } from 'node:fs'
import { isJwtError, type JwtErrorCode } from '@tessera/jwt'
import { CommanderError } from 'commander'
import { AuthError } from '../auth/errors.ts'
import { fileErrorReason } from '../config/env-file.ts'
import { MailTemplateError } from '../mail/render.ts'
import { MasterKeyError } from '../tokens/master-key.ts'
import { type CliIo, inCwd } from './io.ts'

/**
 * Exit codes. Only `invalid` says anything about a token: scripts can treat 1
 * as "rejected" and 2 as "could not check" (bad input, unreadable key file,
 * unreachable JWKS).
 */
export const EXIT = Object.freeze({
  ok: 0,
  /** A well-formed token that failed verification. */
  invalid: 1,
  /** Bad input or usage: unknown option, unreadable file, bad JSON, malformed token. */
  usage: 2,
  /** A bug in tessera (sysexits EX_SOFTWARE). */
  internal: 70,
})

/** A failure the user can fix: printed as `error: <message>`, exit 2 by default. */
export class CliError extends Error {
  readonly exitCode: number

  constructor(message: string, exitCode: number = EXIT.usage) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

// Codes that describe the input or the environment rather than a verdict on
// a well-formed token: the token could not be checked at all.
const NOT_A_VERDICT: ReadonlySet<JwtErrorCode> = new Set<JwtErrorCode>([
  'malformed',
  'key_invalid',
  'jwks_unavailable',
])

/** Exit code for a JwtError code. */
export function exitCodeOf(code: JwtErrorCode): number {
  return NOT_A_VERDICT.has(code) ? EXIT.usage : EXIT.invalid
}

/** Collapses a multi-line message into one line. */
export function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, ' ')
}

/**
 * Prints the one error line for `error` to the command's stderr and returns the exit code.
 * JwtError messages are safe by contract (no token, key or secret in them);
 * anything unexpected prints its message only, never its stack.
 */
export function reportError(io: CliIo, error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message (see configureOutput in main.ts);
    // help and version are exit 0, every parse error is a usage error.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage
  }
  if (isJwtError(error)) {
    printError(io, `${error.code}: ${error.message}`)
    return exitCodeOf(error.code)
  }
  if (error instanceof CliError) {
    printError(io, error.message)
    return error.exitCode
  }
  // A refusal of the domain (not_found, forbidden, validation_failed...): its message is public.
  if (error instanceof AuthError) {
    printError(io, error.message)
    return EXIT.usage
  }
  // A lost or unreadable key file, or a bad mail template, is the operator's to fix, not a bug.
  if (error instanceof MasterKeyError || error instanceof MailTemplateError) {
    printError(io, error.message)
    return EXIT.usage
  }
  const message = error instanceof Error ? error.message : String(error)
  printError(io, `internal: ${message}`)
  return EXIT.internal
}

export function printError(io: CliIo, message: string): void {
  io.stderr.write(`error: ${oneLine(message)}\n`)
}

export function printLine(io: CliIo, line = ''): void {
  io.stdout.write(`${line}\n`)
}

export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

/**
 * Reads a UTF-8 file (a relative path from the command's working directory);
 * the error names the path as given and the reason, never the content.
 */
export function readTextFile(io: CliIo, path: string, what = 'file'): string {
  try {
    return readFileSync(inCwd(io, path), 'utf8')
  } catch (error) {
    throw new CliError(`cannot read ${what} ${path}: ${fileErrorReason(error)}`)
  }
}

/**
 * Parses JSON without echoing it: V8's SyntaxError quotes the input, and the
 * input may be a private key.
 */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new CliError(`${what} is not valid JSON`)
  }
}

/** Parses JSON that must be an object (claims, a JWK, a JWKS). */
export function parseJsonObject(text: string, what: string): Record<string, unknown> {
  const value = parseJson(text, what)
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new CliError(`${what} must be a JSON object`)
  }
  return value as Record<string, unknown>
}
