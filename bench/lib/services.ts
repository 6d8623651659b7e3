/**
 * The services a run may use besides its own processes (PostgreSQL, Redis):
 * loopback checks, versions, and the few Redis commands the report needs,
 * over a bare RESP exchange.
 */

import { connect } from 'node:net'

/** Whether a service URL points at this machine (the bench never loads another host). */
export function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '')
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '::1' || host === 'localhost'
}

/** The server's `SHOW server_version`, or 'unknown'. */
export async function postgresVersion(url: string): Promise<string> {
  try {
    const { default: pg } = await import('pg')
    const base = new URL(url)
    base.searchParams.delete('schema')
    base.searchParams.delete('pool')
    const client = new pg.Client({ connectionString: base.href })
    await client.connect()
    try {
      const { rows } = await client.query<{ server_version: string }>('SHOW server_version')
      return rows[0]?.server_version.split(' ')[0] ?? 'unknown'
    } finally {
      await client.end()
    }
  } catch {
    return 'unknown'
  }
}

/**
 * One Redis command over a bare RESP exchange (loopback only), its reply as
 * text (a bulk string's content, or the status line); undefined on failure.
 */
export function redisCommand(url: string, args: readonly string[]): Promise<string | undefined> {
  const parsed = new URL(url)
  const request = `*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`
  return new Promise((resolve) => {
    const socket = connect({ host: parsed.hostname, port: Number(parsed.port || 6379) })
    let data = Buffer.alloc(0)
    const done = (reply: string | undefined): void => {
      socket.destroy()
      resolve(reply)
    }
    socket.setTimeout(2_000, () => done(undefined))
    socket.once('error', () => done(undefined))
    socket.once('connect', () => socket.write(request))
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk])
      const lineEnd = data.indexOf('\r\n')
      if (lineEnd < 0) return
      const head = data.toString('utf8', 0, lineEnd)
      if (head[0] !== '$') return done(head[0] === '+' ? head.slice(1) : undefined)
      const length = Number(head.slice(1))
      if (length < 0) return done(undefined)
      if (data.length >= lineEnd + 2 + length) {
        done(data.toString('utf8', lineEnd + 2, lineEnd + 2 + length))
      }
    })
  })
}

/** Redis's `redis_version`, or 'unknown' (also when it does not answer). */
export async function redisVersion(url: string): Promise<string> {
  const info = await redisCommand(url, ['INFO', 'server'])
  return /redis_version:([^\r\n]+)/.exec(info ?? '')?.[1] ?? 'unknown'
}

/** Connections to Redis named by Tessera (ioredis sets `tessera…` as the client name). */
export async function tesseraRedisClients(url: string): Promise<number> {
  const list = await redisCommand(url, ['CLIENT', 'LIST'])
  return (list ?? '').split('\n').filter((line) => / name=tessera/.test(line)).length
}
