// The floor for the Express peers: an Express 5 route returning the same JSON
// as GET /auth/me, with no authentication at all.
import type { AddressInfo } from 'node:net'
import express from 'express'
import { announce } from './common.ts'

const body = JSON.parse(process.env.ME_BODY ?? '{}') as Record<string, unknown>
const app = express()
app.get('/auth/me', (_req, res) => {
  res.json(body)
})
const server = app.listen(0, '127.0.0.1', () => announce((server.address() as AddressInfo).port))
