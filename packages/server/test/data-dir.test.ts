// The data dir of `tessera serve` on SQLite holds every email, password hash
// and client IP: outside a systemd unit with UMask=0077 it was created 0755
// with a 0644 database. It is now private in every mode, and production
// refuses to start on one that group or others can enter.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { makeDataDir, startServer } from './support/server-process.ts'

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8)

describe('the data dir of tessera serve', { skip: process.platform === 'win32' }, () => {
  const root = makeDataDir()
  after(() => root.remove())

  it('is created 0700 with the database, its WAL and the master key 0600, whatever the umask', async () => {
    const dataDir = join(root.dir, 'fresh', 'data')
    // The child inherits the most permissive umask: every bit comes from Tessera.
    const umask = process.umask(0)
    let server: Awaited<ReturnType<typeof startServer>>
    try {
      server = await startServer(dataDir)
    } finally {
      process.umask(umask)
    }
    try {
      const signup = await fetch(`${server.url}/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'a@example.com', password: 'correct horse battery staple' }),
      })
      assert.equal(signup.status, 201)
      assert.equal(modeOf(dataDir), '700')
      for (const file of ['tessera.db', 'tessera.db-wal', 'tessera.db-shm', 'master.key']) {
        assert.equal(modeOf(join(dataDir, file)), '600', file)
      }
    } finally {
      await server.stop()
    }
  })

  describe('open to group or others', () => {
    const dataDir = join(root.dir, 'open')
    mkdirSync(dataDir)
    chmodSync(dataDir, 0o755)
    const production = {
      NODE_ENV: 'production',
      TESSERA_MASTER_KEY: randomBytes(32).toString('base64url'),
    }

    it('production refuses to start, in one line that gives the chmod to run', async () => {
      const refused = await startServer(dataDir, production).then(
        async (server) => {
          await server.stop()
          return undefined
        },
        (error: Error) => error,
      )
      assert.ok(refused !== undefined, 'production started on an open data dir')
      assert.match(refused.message, /^server exited with 2:/)
      const lines = refused.message.split('\n').slice(1).filter(Boolean)
      assert.deepEqual(lines, [
        `error: refusing to start: the data directory ${dataDir} is open to group or others (mode 0755) and holds the database: run chmod 700 ${dataDir}`,
      ])
    })

    it('outside production it is a warning; after the chmod, production starts', async () => {
      const dev = await startServer(dataDir, { TESSERA_MASTER_KEY: production.TESSERA_MASTER_KEY })
      await dev.stop()
      assert.ok(
        dev.logs.some((line) => line.includes(`run chmod 700 ${dataDir}`)),
        dev.logs.join('\n'),
      )
      chmodSync(dataDir, 0o700)
      const server = await startServer(dataDir, production)
      await server.stop()
      assert.ok(!server.logs.some((line) => line.includes('chmod')), server.logs.join('\n'))
    })
  })
})
