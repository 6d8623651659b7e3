// HS* secrets are configuration (TESSERA_HS_SECRETS), not keys the server
// generates: asking it to rotate them is refused with what to do instead, as
// 403 `forbidden` over HTTP and one line with exit code 2 from the CLI, never
// a 500 `internal_error` or an "internal:" line with exit code 70.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, describe, it } from 'node:test'
import pino from 'pino'
import { CLI_ACTOR, CLI_CLIENT } from '../src/cli/context.ts'
import { createTessera } from '../src/tessera.ts'
import { testConfig } from './support/harness.ts'
import { makeDataDir, runCli } from './support/server-process.ts'

const PASSWORD = 'correct horse battery staple'
const HS_ENV = {
  TESSERA_SIGNING_ALG: 'HS256',
  TESSERA_HS_SECRETS: `k2:${randomBytes(32).toString('base64url')},k1:${randomBytes(32).toString('base64url')}`,
  TESSERA_MASTER_KEY: randomBytes(32).toString('base64url'),
}
const WHAT_TO_DO =
  /HS256 secrets are not rotated by Tessera but through TESSERA_HS_SECRETS: list the new secret first, keep the old one until the tokens it signed have expired/

describe('rotating HS* keys', () => {
  it('POST /admin/keys/rotate answers 403 forbidden saying how HS secrets rotate', async () => {
    const config = testConfig({
      ...HS_ENV,
      TESSERA_DATABASE_URL: 'sqlite::memory:',
      TESSERA_LOG_LEVEL: 'silent',
    })
    const tessera = await createTessera(config, {
      logger: pino({ level: 'silent' }),
      maintenanceInterval: 0,
      argon2: { memoryCost: 1024, timeCost: 1, parallelism: 1 },
    })
    try {
      const { app, auth } = tessera
      const signup = await app.inject({
        method: 'POST',
        url: '/auth/signup',
        payload: { email: 'root@example.com', password: PASSWORD },
      })
      const userId = (JSON.parse(signup.body) as { user: { id: string } }).user.id
      await auth.adminUpdateUser(CLI_ACTOR, userId, { roles: ['user', 'admin'] }, CLI_CLIENT)
      const login = await app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: 'root@example.com', password: PASSWORD },
      })
      const token = (JSON.parse(login.body) as { accessToken: string }).accessToken

      const rotate = await app.inject({
        method: 'POST',
        url: '/admin/keys/rotate',
        headers: { authorization: `Bearer ${token}` },
      })
      assert.equal(rotate.statusCode, 403, rotate.body)
      const { error } = JSON.parse(rotate.body) as { error: { code: string; message: string } }
      assert.equal(error.code, 'forbidden')
      assert.match(error.message, WHAT_TO_DO)
      assert.ok(!rotate.body.includes(HS_ENV.TESSERA_HS_SECRETS.split(',')[0]!.slice(3)))

      const keys = await app.inject({
        method: 'GET',
        url: '/admin/keys',
        headers: { authorization: `Bearer ${token}` },
      })
      assert.deepEqual(
        (JSON.parse(keys.body) as { keys: { kid: string }[] }).keys.map((k) => k.kid),
        ['k2', 'k1'],
        'nothing changed',
      )
    } finally {
      await tessera.close()
    }
  })

  describe('tessera keys rotate', () => {
    const data = makeDataDir()
    after(() => data.remove())

    for (const args of [
      ['keys', 'rotate'],
      ['keys', 'rotate', '--now'],
    ]) {
      it(`${args.join(' ')} prints one plain line and exits 2`, async () => {
        const result = await runCli(data.dir, args, HS_ENV)
        assert.equal(result.code, 2, result.stderr)
        assert.equal(result.stdout, '')
        const lines = result.stderr.trim().split('\n')
        assert.equal(lines.length, 1, result.stderr)
        assert.match(lines[0]!, /^error: /)
        assert.doesNotMatch(lines[0]!, /internal|at .*\.ts/)
        assert.match(lines[0]!, WHAT_TO_DO)
      })
    }
  })
})
