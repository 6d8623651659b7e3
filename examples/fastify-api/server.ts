// Runs the Fastify example against a Tessera server:
//   TESSERA_FEED_KEY=<the server's TESSERA_REVOCATION_FEED_KEY> \
//     ./dev exec node --conditions=source examples/fastify-api/server.ts
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

const log = logger('fastify')

const config = readConfigOrExit(process.env, 4001, log)

const revocations = openRevocationFeed(config, log)
const app = createApp(tesseraAuthOptions(config, revocations))

try {
  await app.listen({ host: config.host, port: config.port })
} catch (error) {
  log(`cannot listen: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}
const { port } = app.server.address() as AddressInfo
log(`listening on http://${config.host}:${port} (issuer ${config.issuer})`)

stopOnSignals(async () => {
  // Stops accepting, waits for requests in flight, runs onClose hooks.
  await app.close()
  await revocations?.close()
}, log)
