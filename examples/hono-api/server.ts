// Runs the Hono example (on Node.js through @hono/node-server) against a
// Tessera server:
//   TESSERA_FEED_KEY=<the server's TESSERA_REVOCATION_FEED_KEY> \
//     ./dev exec node --conditions=source examples/hono-api/server.ts
// Settings: see ../shared/config.ts and ../README.md.

import type { Server } from 'node:http'
import { serve } from '@hono/node-server'
import {
  logger,
  openRevocationFeed,
  readConfigOrExit,
  stopOnSignals,
  tesseraAuthOptions,
} from '../shared/config.ts'
import { createApp } from './app.ts'

const log = logger('hono')

const config = readConfigOrExit(process.env, 4002, log)

const revocations = openRevocationFeed(config, log)
const { app, close } = createApp(tesseraAuthOptions(config, revocations))

// serve() makes a node:http server by default.
const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) => {
  log(`listening on http://${config.host}:${info.port} (issuer ${config.issuer})`)
}) as Server
server.once('error', (error) => {
  log(`cannot listen: ${error.message}`)
  process.exit(1)
})

stopOnSignals(async () => {
  await new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  )
  await close()
  await revocations?.close()
}, log)
