/**
 * The load generator of bench/load.ts: a bounded pool of virtual users, each
 * sending one request at a time over keep-alive connections,
 * round-robin across the instances, and a recorder of latencies and failures
 * per operation. Loopback only: a target must be a 127.0.0.0/8 or [::1] URL.
 */

import { connect as netConnect, type Socket } from 'node:net'

/** One `tessera serve` instance as the generator sees it. */
export interface Target {
  readonly url: string
  readonly host: string
  readonly port: number
  /** Idle keep-alive connections to it. */
  readonly idle: Connection[]
}

/** What one request came back with. */
export interface Reply {
  readonly status: number
  /** The body when asked for (or on an error status); '' otherwise. */
  readonly text: string
  /** The Location header of a 3xx answer (an OAuth authorization response). */
  readonly location?: string
}

/** A request that got no HTTP answer: refused, reset, or over the time limit. */
export class NoReply extends Error {
  readonly kind: 'timeout' | 'network'
  constructor(kind: 'timeout' | 'network', message: string) {
    super(message)
    this.kind = kind
  }
}

/** Per request: a request with no answer after this long is counted as a timeout. */
export const REQUEST_TIMEOUT_MS = 10_000

/** Makes a target for a loopback base URL; refuses any other address. */
export function loopbackTarget(url: string): Target {
  const parsed = new URL(url)
  const host = parsed.hostname.replace(/^\[|\]$/g, '')
  // Load goes to this machine only (the workplace forbids any other target).
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host !== '::1') {
    throw new TypeError(`refusing to load a non-loopback address: ${host}`)
  }
  return { url, host, port: Number(parsed.port), idle: [] }
}

const HEADER_END = Buffer.from('\r\n\r\n')

/**
 * One keep-alive HTTP/1.1 connection with one request in flight, on a bare
 * socket. The generator shares the two cores with the servers it measures,
 * and node:http's client costs several times what the request costs the
 * server's own parser; this reads only what the bench needs (the status,
 * Content-Length or chunked framing, Connection: close), as autocannon does.
 */
class Connection {
  readonly #target: Target
  #socket: Socket | undefined
  #buffer: Buffer = Buffer.alloc(0)
  #pending:
    | { resolve: (reply: Reply) => void; reject: (error: NoReply) => void; keepBody: boolean }
    | undefined
  #timer: NodeJS.Timeout | undefined
  /** The server said Connection: close, or the socket failed: not reusable. */
  closed = false

  constructor(target: Target) {
    this.#target = target
  }

  #open(): Socket {
    const socket = netConnect({ host: this.#target.host, port: this.#target.port })
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk])
      this.#parse()
    })
    const fail = (message: string): void => {
      // A socket already let go of (Connection: close) has nothing pending.
      if (this.#socket !== socket) return
      this.closed = true
      this.#socket = undefined
      this.#finish(new NoReply('network', message))
    }
    socket.once('error', (error) => fail(error.message))
    socket.once('close', () => fail('connection closed before the answer'))
    return socket
  }

  request(bytes: string, keepBody: boolean): Promise<Reply> {
    this.#socket ??= this.#open()
    this.#buffer = Buffer.alloc(0)
    return new Promise<Reply>((resolve, reject) => {
      this.#pending = { resolve, reject, keepBody }
      this.#timer = setTimeout(() => {
        this.closed = true
        this.#socket?.destroy()
        this.#finish(new NoReply('timeout', `no answer within ${REQUEST_TIMEOUT_MS} ms`))
      }, REQUEST_TIMEOUT_MS)
      this.#socket!.write(bytes)
    })
  }

  #finish(outcome: Reply | NoReply): void {
    const pending = this.#pending
    if (pending === undefined) return
    this.#pending = undefined
    clearTimeout(this.#timer)
    if (outcome instanceof NoReply) pending.reject(outcome)
    else pending.resolve(outcome)
  }

  #parse(): void {
    const pending = this.#pending
    if (pending === undefined) return
    const buffer = this.#buffer
    const headerEnd = buffer.indexOf(HEADER_END)
    if (headerEnd < 0) return
    const head = buffer.toString('latin1', 0, headerEnd)
    const status = Number(head.slice(9, 12))
    const bodyStart = headerEnd + 4
    let body: Buffer | undefined
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
    if (length !== null) {
      const end = bodyStart + Number(length[1])
      if (buffer.length < end) return
      body = buffer.subarray(bodyStart, end)
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      body = dechunk(buffer.subarray(bodyStart))
      if (body === undefined) return
    } else {
      body = Buffer.alloc(0)
    }
    if (/\r\nconnection:\s*close/i.test(head)) {
      this.closed = true
      this.#socket?.end()
      this.#socket = undefined
    }
    this.#buffer = Buffer.alloc(0)
    const keep = pending.keepBody || status < 200 || status >= 300
    const location =
      status >= 300 && status < 400 ? /\r\nlocation:[ \t]*([^\r]*)/i.exec(head)?.[1] : undefined
    this.#finish({ status, text: keep ? body.toString() : '', location })
  }

  destroy(): void {
    this.closed = true
    this.#socket?.destroy()
    this.#socket = undefined
  }
}

/** A complete chunked body, decoded; undefined while it is still arriving. */
function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at)
    if (lineEnd < 0) return undefined
    const size = Number.parseInt(data.toString('latin1', at, lineEnd), 16)
    if (!Number.isFinite(size)) return Buffer.alloc(0)
    const start = lineEnd + 2
    if (size === 0) return data.indexOf(HEADER_END, lineEnd) >= 0 ? Buffer.concat(parts) : undefined
    if (data.length < start + size + 2) return undefined
    parts.push(data.subarray(start, start + size))
    at = start + size + 2
  }
}

/**
 * Sends one request on an idle keep-alive connection to `target` (a new one
 * when none is idle). `readBody` false drops a 2xx body unread; an error body
 * is always kept so its code can be counted.
 */
export async function send(
  target: Target,
  method: 'GET' | 'POST',
  path: string,
  options: {
    body?: unknown
    /** An application/x-www-form-urlencoded body, already encoded (OAuth endpoints). */
    form?: string
    headers?: Record<string, string>
    readBody?: boolean
  } = {},
): Promise<Reply> {
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${target.host}:${target.port}\r\n`
  for (const [name, value] of Object.entries(options.headers ?? {})) head += `${name}: ${value}\r\n`
  let bytes: string
  if (options.form !== undefined) {
    bytes = `${head}content-type: application/x-www-form-urlencoded\r\ncontent-length: ${Buffer.byteLength(options.form)}\r\n\r\n${options.form}`
  } else if (options.body === undefined) {
    bytes = `${head}\r\n`
  } else {
    const payload = JSON.stringify(options.body)
    bytes = `${head}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`
  }
  const connection = target.idle.pop() ?? new Connection(target)
  try {
    return await connection.request(bytes, options.readBody !== false)
  } finally {
    if (!connection.closed) target.idle.push(connection)
  }
}

/** The `error.code` of an error envelope, or the status alone. */
export function failureLabel(reply: Reply): string {
  try {
    const parsed = JSON.parse(reply.text) as { error?: { code?: unknown } }
    if (typeof parsed.error?.code === 'string') return `${reply.status} ${parsed.error.code}`
  } catch {
    // Not JSON (a proxy page, a cut body): the status says enough.
  }
  return String(reply.status)
}

/** Latencies and failures of one operation over one phase. */
export class Recorder {
  readonly latencies: number[] = []
  readonly failures = new Map<string, number>()
  ok = 0
  /** Wall time of the phase, ms: from the first request to the last answer. */
  elapsedMs = 0

  success(ms: number): void {
    this.ok++
    this.latencies.push(ms)
  }

  failure(label: string): void {
    this.failures.set(label, (this.failures.get(label) ?? 0) + 1)
  }

  get failed(): number {
    let total = 0
    for (const count of this.failures.values()) total += count
    return total
  }

  /** Successful requests per second. */
  get rps(): number {
    return this.elapsedMs > 0 ? this.ok / (this.elapsedMs / 1000) : 0
  }

  /** The `p`-th percentile (0..100) of successful latencies, ms; nearest rank. */
  percentile(p: number): number {
    if (this.latencies.length === 0) return Number.NaN
    const sorted = Float64Array.from(this.latencies).sort()
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
    return sorted[rank]!
  }
}

/** What a step reports: success, or a failure label (`"503 unavailable"`, `"timeout"`). */
export type StepResult = { ok: true } | { ok: false; label: string }

/** One virtual user: its own state, and whether it has given up (a broken refresh chain). */
export interface VirtualUser<S> {
  readonly index: number
  state: S
  done: boolean
}

export interface PhaseOptions<S> {
  readonly targets: readonly Target[]
  readonly users: readonly VirtualUser<S>[]
  /** The phase stops sending after this many ms (in-flight requests still finish). */
  readonly durationMs: number
  /** ...or after this many requests, whichever comes first. */
  readonly maxRequests: number
  /** Stops the phase early (Ctrl-C), so the caller can still clean up. */
  readonly signal?: AbortSignal
  /** One request by `user` to `target`. A thrown NoReply is counted as its kind. */
  readonly step: (user: VirtualUser<S>, target: Target) => Promise<StepResult>
}

/**
 * Runs every virtual user concurrently, each sending one request at a time,
 * the targets taken in turn by a shared counter (round-robin across the
 * instances). Bounded in time and in count; resolves once every user stopped.
 */
export async function runPhase<S>(options: PhaseOptions<S>): Promise<Recorder> {
  const { targets, users, step } = options
  if (targets.length === 0) throw new TypeError('no target to load')
  const recorder = new Recorder()
  const start = performance.now()
  const deadline = start + options.durationMs
  let issued = 0
  let turn = 0
  let lastAnswer = start
  async function loop(user: VirtualUser<S>): Promise<void> {
    while (
      !user.done &&
      options.signal?.aborted !== true &&
      issued < options.maxRequests &&
      performance.now() < deadline
    ) {
      issued++
      const target = targets[turn++ % targets.length]!
      const sent = performance.now()
      try {
        const result = await step(user, target)
        const answered = performance.now()
        lastAnswer = Math.max(lastAnswer, answered)
        if (result.ok) recorder.success(answered - sent)
        else recorder.failure(result.label)
      } catch (error) {
        lastAnswer = Math.max(lastAnswer, performance.now())
        if (error instanceof NoReply) recorder.failure(error.kind)
        else throw error
      }
    }
  }
  await Promise.all(users.map(loop))
  recorder.elapsedMs = lastAnswer - start
  return recorder
}

/** Closes the keep-alive connections of every target. */
export function closeTargets(targets: readonly Target[]): void {
  for (const target of targets) {
    for (const connection of target.idle.splice(0)) connection.destroy()
  }
}
