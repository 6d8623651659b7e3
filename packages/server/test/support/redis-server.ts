// A private redis-server on an ephemeral port, so a test can stop and start
// it without touching the machine's shared Redis.

import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createConnection, createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

export interface RedisProcess {
  readonly url: string
  stop(): Promise<void>
  start(): Promise<void>
}

async function freePort(): Promise<number> {
  const s = createServer()
  s.listen(0, '127.0.0.1')
  await once(s, 'listening')
  const address = s.address()
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return typeof address === 'object' && address !== null ? address.port : 0
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port }, () => c.write('PING\r\n'))
    c.once('data', (data) => {
      c.destroy()
      resolve(data.toString().startsWith('+PONG'))
    })
    c.once('error', () => resolve(false))
  })
}

export async function startRedisServer(): Promise<RedisProcess> {
  const port = await freePort()
  let child: ChildProcess | undefined

  async function start(): Promise<void> {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    // Ready when it answers a PING.
    for (let i = 0; i < 100; i++) {
      if (await ping(port)) return
      await sleep(50)
    }
    throw new Error('redis-server did not start')
  }

  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const c = child
      child = undefined
      if (c === undefined || c.exitCode !== null) return
      c.kill('SIGKILL')
      await once(c, 'exit')
    },
    start,
  }
}
