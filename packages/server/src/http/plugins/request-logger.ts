// Fastify gives every request a child logger (`request.log`) bound to its
// request id. Building a pino child serializes its bindings through the
// redaction, which on the token-check path cost more than the check, while
// most requests never log a line. This factory hands out a stand-in that
// builds the real child on the first enabled log call only.

import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'
import type { Bindings, ChildLoggerOptions, Level } from 'pino'

type LogMethod = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'

interface PinoLike extends FastifyBaseLogger {
  isLevelEnabled?(level: Level): boolean
}

/** `request.log`: a pino child of the app logger, built when first written to. */
class LazyChildLogger implements FastifyBaseLogger {
  readonly #parent: PinoLike
  readonly #bindings: Bindings
  readonly #options: ChildLoggerOptions
  #child: FastifyBaseLogger | undefined

  constructor(parent: PinoLike, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent
    this.#bindings = bindings
    this.#options = options
  }

  get level(): string {
    return this.#child?.level ?? this.#options.level ?? this.#parent.level
  }

  set level(level: string) {
    this.#real().level = level
  }

  #real(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options)
    return this.#child
  }

  #write(method: LogMethod, args: unknown[]): void {
    if (this.#child === undefined) {
      // A level set on the route (child option) is decided by the real child.
      const decided = this.#options.level === undefined && this.#parent.isLevelEnabled
      if (decided && !this.#parent.isLevelEnabled?.(method)) return
    }
    ;(this.#real()[method] as (...a: unknown[]) => void)(...args)
  }

  fatal(...args: unknown[]): void {
    this.#write('fatal', args)
  }
  error(...args: unknown[]): void {
    this.#write('error', args)
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args)
  }
  info(...args: unknown[]): void {
    this.#write('info', args)
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args)
  }
  trace(...args: unknown[]): void {
    this.#write('trace', args)
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options)
  }
}

/** Fastify's `childLoggerFactory`: request loggers built on first use. */
export const lazyChildLoggerFactory: NonNullable<FastifyServerOptions['childLoggerFactory']> = (
  logger,
  bindings,
  options,
) => new LazyChildLogger(logger as PinoLike, bindings, options) as unknown as FastifyBaseLogger
