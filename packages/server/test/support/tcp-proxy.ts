// A TCP proxy on 127.0.0.1 for outage tests: `down()` drops every connection
// and refuses new ones, like a database restart; `up()` serves again on the
// same port. The real server behind it is never touched.

import { once } from 'node:events'
import { createConnection, createServer, type Server, type Socket } from 'node:net'

export interface TcpProxy {
  readonly port: number
  down(): Promise<void>
  up(): Promise<void>
  close(): Promise<void>
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0

  async function listen(): Promise<void> {
    const s = createServer((client) => {
      const upstream = createConnection(target)
      sockets.add(client)
      sockets.add(upstream)
      const drop = () => {
        client.destroy()
        upstream.destroy()
        sockets.delete(client)
        sockets.delete(upstream)
      }
      client.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
      client.pipe(upstream)
      upstream.pipe(client)
    })
    s.listen(port, '127.0.0.1')
    await once(s, 'listening')
    const address = s.address()
    if (typeof address === 'object' && address !== null) port = address.port
    server = s
  }

  async function down(): Promise<void> {
    const s = server
    server = undefined
    for (const socket of sockets) socket.destroy()
    sockets.clear()
    if (s !== undefined) await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  await listen()
  return {
    get port() {
      return port
    },
    down,
    async up() {
      if (server === undefined) await listen()
    },
    close: down,
  }
}
