// What the three example resource servers share: reading their settings from
// the environment, the revocation feed that mirrors the Tessera server's
// revocation list, and a graceful shutdown on SIGINT/SIGTERM. The route code
// is in each example's app.ts; this file is the plumbing around it.

import { createRevocationFeed, type RevocationFeed } from '@tessera/jwt'
import type { AuthenticateOptions } from '@tessera/jwt/express'

/** An example's settings, read once at start. */
export interface ExampleConfig {
  /** Where to listen (`HOST`, default 127.0.0.1). */
  readonly host: string
  /** `PORT`; 0 picks a free port (the tests use it). */
  readonly port: number
  /** Where the Tessera server answers, for its JWKS and revocation feed (`TESSERA_URL`). */
  readonly tesseraUrl: string
  /** `TESSERA_ISSUER`: the server's issuer, which its tokens carry as `iss`. */
  readonly issuer: string
  /** `TESSERA_AUDIENCE`: the `aud` to expect; the server's default is its issuer. */
  readonly audience: string
  /** `TESSERA_FEED_KEY` (or `TESSERA_REVOCATION_FEED_KEY`): opens the revocation feed. */
  readonly feedKey: string | undefined
  /** The variable `feedKey` came from, for log lines about it. */
  readonly feedKeyVariable: 'TESSERA_FEED_KEY' | 'TESSERA_REVOCATION_FEED_KEY'
  /** `TESSERA_WHEN_STALE`: `refuse` (default) answers 503 while the feed is behind. */
  readonly whenStale: 'serve' | 'refuse'
}

/** Thrown for a bad setting; the message names the variable, never its value. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

function readUrl(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name] ?? fallback
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must be an absolute http(s) URL`)
  }
  // The server drops a trailing slash from its issuer; do the same so they compare equal.
  return raw.replace(/\/+$/, '')
}

/**
 * Reads an example's settings from `env`. Defaults suit a Tessera server
 * started with `./dev start` on this machine.
 *
 * @example const config = readConfig(process.env, 4000)
 */
export function readConfig(env: NodeJS.ProcessEnv, defaultPort: number): ExampleConfig {
  const portText = env.PORT ?? String(defaultPort)
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65_535) {
    throw new ConfigError('PORT must be a port number (0 picks a free one)')
  }
  const issuer = readUrl(env, 'TESSERA_ISSUER', 'http://localhost:3000')
  const feedKeyVariable =
    env.TESSERA_FEED_KEY === undefined && env.TESSERA_REVOCATION_FEED_KEY !== undefined
      ? 'TESSERA_REVOCATION_FEED_KEY'
      : 'TESSERA_FEED_KEY'
  const feedKey = env[feedKeyVariable]
  if (feedKey !== undefined && feedKey !== '' && feedKey.length < 32) {
    // The server refuses shorter keys, so a short one here is a typo.
    throw new ConfigError(`${feedKeyVariable} must be the server key (32 characters or more)`)
  }
  const whenStale = env.TESSERA_WHEN_STALE ?? 'refuse'
  if (whenStale !== 'serve' && whenStale !== 'refuse') {
    throw new ConfigError('TESSERA_WHEN_STALE must be serve or refuse')
  }
  return Object.freeze({
    host: env.HOST ?? '127.0.0.1',
    port,
    tesseraUrl: readUrl(env, 'TESSERA_URL', 'http://127.0.0.1:3000'),
    issuer,
    audience: env.TESSERA_AUDIENCE ?? issuer,
    feedKey: feedKey === '' ? undefined : feedKey,
    feedKeyVariable,
    whenStale,
  })
}

/**
 * The revocation feed of the Tessera server, or undefined without a feed
 * key. It is started here; `started` resolves at its first catch-up.
 */
export function openRevocationFeed(
  config: ExampleConfig,
  log: (line: string) => void,
): RevocationFeed | undefined {
  if (config.feedKey === undefined) {
    log('no TESSERA_FEED_KEY: revoked tokens stay valid here until they expire')
    return undefined
  }
  const feed: RevocationFeed = createRevocationFeed({
    url: `${config.tesseraUrl}/auth/revocations`,
    key: config.feedKey,
    // The feed's messages hold no URL, key or token, so they can be logged as they are.
    onError: (error) =>
      log(`revocation feed: ${feed.unauthorized ? refusedKeyLine(config) : error.message}`),
  })
  feed.start().then(() => {
    if (feed.ready) log(`revocation feed ready (${feed.size} entries)`)
  })
  return feed
}

/**
 * What to log when the server refuses the feed key: the feed reports that
 * once (and retries every 30 s), so this is said once, naming the variable
 * to fix and what requests get meanwhile.
 */
function refusedKeyLine(config: ExampleConfig): string {
  const meanwhile =
    config.whenStale === 'refuse'
      ? 'requests with a token are answered 503 until it is fixed'
      : 'revoked tokens are accepted until it is fixed'
  return `the Tessera server refuses ${config.feedKeyVariable}: set it to the server's TESSERA_REVOCATION_FEED_KEY (${meanwhile}; retrying every 30 s)`
}

/**
 * `authenticate()` options that trust the Tessera server: its JWKS for the
 * keys, its revocation feed (when there is one) for logouts.
 */
export function tesseraAuthOptions(
  config: ExampleConfig,
  revocations: RevocationFeed | undefined,
): AuthenticateOptions {
  return {
    issuer: config.issuer,
    audience: config.audience,
    jwksUrl: `${config.tesseraUrl}/.well-known/jwks.json`,
    ...(revocations === undefined ? {} : { revocations, whenStale: config.whenStale }),
  }
}

/** How long in-flight requests get to finish on shutdown before the process gives up. */
const SHUTDOWN_GRACE_MS = 10_000

/**
 * Runs `stop` on the first SIGINT or SIGTERM, then lets the process end on
 * its own (nothing left running). A second signal, or `stop` taking longer
 * than 10 s, ends it at once with exit code 1.
 */
export function stopOnSignals(stop: () => Promise<void>, log: (line: string) => void): void {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.exit(1)
    }
    stopping = true
    log(`${signal}: shutting down`)
    setTimeout(() => {
      log('shutdown took too long; exiting')
      process.exit(1)
    }, SHUTDOWN_GRACE_MS).unref()
    stop().then(
      () => log('stopped'),
      (error: unknown) => {
        log(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`)
        process.exitCode = 1
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

/** Logs one line to stdout, prefixed with the example's name. */
export function logger(name: string): (line: string) => void {
  return (line) => process.stdout.write(`[${name}] ${line}\n`)
}

/** `readConfig`, or one line naming the bad variable and exit code 1. */
export function readConfigOrExit(
  env: NodeJS.ProcessEnv,
  defaultPort: number,
  log: (message: string) => void,
): ExampleConfig {
  try {
    return readConfig(env, defaultPort)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    log(error.message)
    process.exit(1)
  }
}
