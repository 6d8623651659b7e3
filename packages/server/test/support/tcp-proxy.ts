// A TCP proxy on 127.0.0.1 for outage tests: `down()` drops every connection
// and refuses new ones, like a server restart; `freeze()` keeps connections
// open but holds the bytes (a server that stopped answering) until `thaw()`;
// `up()` serves again on the same port. The real server behind it is never touched.

import { once } from 'node:events'
import { createConnection, createServer, type Server, type Socket } from 'node:net'

export interface TcpProxy {
  readonly port: number
  down(): Promise<void>
  up(): Promise<void>
  freeze(): void
  thaw(): void
  close(): Promise<void>
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  const held: (() => void)[] = []
  let frozen = false
  let server: Server | undefined
  let port = 0

  function forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (frozen) held.push(() => to.write(chunk))
      else to.write(chunk)
    })
  }

  async function listen(): Promise<void> {
    const s = createServer((client) => {
      const upstream = createConnection(target)
      sockets.add(client).add(upstream)
      const drop = () => {
        client.destroy()
        upstream.destroy()
        sockets.delete(client)
        sockets.delete(upstream)
      }
      for (const socket of [client, upstream]) socket.on('error', drop).on('close', drop)
      forward(client, upstream)
      forward(upstream, client)
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
    held.length = 0
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
    freeze() {
      frozen = true
    },
    thaw() {
      frozen = false
      for (const release of held.splice(0)) release()
    },
    close: down,
  }
}
