// What a `tessera` command reads and writes besides its arguments: the
// environment, the working directory, stdin, stdout and stderr. The real
// binary runs with processIo(); run.ts runs a command in this process with
// buffers instead (tests), so no command touches process.env, process.cwd()
// or process.stdout itself. Only config/ reads the environment, from `env`.

import { resolve } from 'node:path'

/** Where a command writes: process.stdout or stderr, or a buffer. */
export interface Sink {
  write(text: string): unknown
  /** A terminal: progress bars, help wrapped to its width, colors when it has them. */
  readonly isTTY?: boolean | undefined
  readonly columns?: number | undefined
  hasColors?(): boolean
}

export interface CliIo {
  /** The environment, as config/ reads it (process.env for the real binary). */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Where `./.env` and relative paths are looked up. */
  readonly cwd: string
  readonly stdout: Sink
  readonly stderr: Sink
  /** All of stdin as UTF-8, read when a command asks for it. */
  readStdin(): Promise<string>
  /** An exit code a command sets without failing (`bench` passes its child's on). */
  exitCode: number | undefined
}

/** The real process: its environment, working directory and standard streams. */
export function processIo(): CliIo {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    async readStdin() {
      const chunks: Buffer[] = []
      for await (const chunk of process.stdin) {
        chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
      }
      return Buffer.concat(chunks).toString('utf8')
    },
    exitCode: undefined,
  }
}

/** A path the user typed, from the command's working directory. */
export function inCwd(io: Pick<CliIo, 'cwd'>, path: string): string {
  return resolve(io.cwd, path)
}

/**
 * Whether NO_COLOR, FORCE_COLOR or CLICOLOR_FORCE decide colors, read from
 * `env` (commander's own check reads process.env); undefined when none does.
 */
export function colorsForced(env: CliIo['env']): boolean | undefined {
  if (env.NO_COLOR || env.FORCE_COLOR === '0' || env.FORCE_COLOR === 'false') return false
  if (env.FORCE_COLOR || env.CLICOLOR_FORCE !== undefined) return true
  return undefined
}

/** Whether `sink` shows colors: the variables first, then a terminal that has them. */
export function hasColors(io: Pick<CliIo, 'env'>, sink: Sink): boolean {
  return colorsForced(io.env) ?? (sink.isTTY === true && sink.hasColors?.() === true)
}
