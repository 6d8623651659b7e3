// Runs the Express example against a Tessera server:
//   TESSERA_FEED_KEY=<the server's TESSERA_REVOCATION_FEED_KEY> \
//     ./dev exec node --conditions=source examples/express-api/server.ts
// Settings: see ../shared/config.ts and ../README.md.

import type { AddressInfo } from 'node:net'
import {
  logger,
  openRevocationFeed,
  readConfigOrExit,
  stopOnSignals,
  tesseraAuthOptions,
} from '../shared/config.ts'
import { createApp } from './app.ts'

const log = logger('express')

const config = readConfigOrExit(process.env, 4000, log)

const revocations = openRevocationFeed(config, log)
const { app, close } = createApp(tesseraAuthOptions(config, revocations))

const server = app.listen(config.port, config.host, (error?: Error) => {
  if (error) {
    log(`cannot listen: ${error.message}`)
    process.exit(1)
  }
  const { port } = server.address() as AddressInfo
  log(`listening on http://${config.host}:${port} (issuer ${config.issuer})`)
})

stopOnSignals(async () => {
  // close() stops accepting, lets requests in flight finish, and drops idle keep-alive sockets.
  await new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  )
  await close()
  await revocations?.close()
}, log)
