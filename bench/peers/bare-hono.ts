// The floor for the Hono peers: a Hono route on @hono/node-server returning
// the same JSON as GET /auth/me, with no authentication at all.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { announce } from './common.ts'

const body = JSON.parse(process.env.ME_BODY ?? '{}') as Record<string, unknown>
const app = new Hono()
app.get('/auth/me', (c) => c.json(body))
serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => announce(info.port))
