// `tessera clients` against a data directory, as an operator runs it: the
// secret printed once (JSON or text) and stored hashed, the table, one-line
// refusals, and removal ending the client's sessions. The commands run in
// this process (support/cli.ts), with the environment a child would get.

import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  exportEncryptionJwk,
  exportJwk,
  generateEncryptionKeyPair,
  generateKeyPair,
} from '@tessera/jwt'
import pino from 'pino'
import { hashClientSecret } from '../src/auth/oauth/clients.ts'
import { loadConfig } from '../src/config/load.ts'
import { createTessera, type Tessera } from '../src/tessera.ts'
import { runCliInProcess as runCli } from './support/cli.ts'
import { makeDataDir, TEST_ENV } from './support/server-process.ts'

describe('tessera clients', () => {
  const data = makeDataDir()
  const env = { TESSERA_MASTER_KEY: 'q2b1lXh5Yb7qz1wDZ9m0iV7cO6r0nQ0s2nH8pWmW9aA' }
  const cli = (args: string[]) => runCli(data.dir, ['clients', ...args], env)

  /** The deployment in this process, as `tessera serve` would open it, for what the CLI does not show. */
  async function withDeployment<T>(fn: (tessera: Tessera) => Promise<T>): Promise<T> {
    const config = loadConfig({ ...TEST_ENV, TESSERA_DATA_DIR: data.dir, ...env })
    const tessera = await createTessera(config, {
      logger: pino({ level: 'silent' }),
      maintenanceInterval: 0,
      changePollMs: 0,
      mailIntervalMs: 0,
    })
    try {
      return await fn(tessera)
    } finally {
      await tessera.close()
    }
  }

  before(async () => {
    const migrated = await runCli(data.dir, ['migrate'], env)
    assert.equal(migrated.code, 0, migrated.stderr)
  })
  after(() => data.remove())

  it('add --json prints the RFC 7591 registration with the secret once, and warns on stderr; only its hash is stored', async () => {
    const added = await cli([
      'add',
      '--name',
      'Dashboard',
      '--redirect-uri',
      'https://dash.example.com/callback',
      '--redirect-uri',
      'http://127.0.0.1/callback',
      '--json',
    ])
    assert.equal(added.code, 0, added.stderr)
    const registration = JSON.parse(added.stdout) as Record<string, unknown>
    assert.match(String(registration.client_secret), /^[A-Za-z0-9_-]{43}$/)
    assert.equal(registration.client_secret_expires_at, 0)
    assert.deepEqual(registration.redirect_uris, [
      'https://dash.example.com/callback',
      'http://127.0.0.1/callback',
    ])
    assert.deepEqual(registration.grant_types, ['authorization_code', 'refresh_token'])
    assert.equal(registration.token_endpoint_auth_method, 'client_secret_basic')
    assert.match(added.stderr, /shown this once: store it now/)
    const stored = await withDeployment((t) =>
      t.store.oauth.findClient(String(registration.client_id)),
    )
    assert.equal(stored?.secretHash, hashClientSecret(String(registration.client_secret)))

    const shown = await cli(['show', String(registration.client_id), '--json'])
    assert.equal(shown.code, 0, shown.stderr)
    assert.equal(JSON.parse(shown.stdout).client_id, registration.client_id)
    assert.ok(!shown.stdout.includes(String(registration.client_secret)))
  })

  it('add without --json describes the client and prints the secret with the warning; public and key clients get none', async () => {
    const added = await cli([
      'add',
      '--name',
      'Gateway',
      '--grant',
      'client_credentials',
      '--scope',
      'tessera:revocations orders:read',
      '--access-token-lifetime',
      '5m',
    ])
    assert.equal(added.code, 0, added.stderr)
    assert.match(added.stdout, /^registered Gateway\n/)
    assert.match(added.stdout, /^ {2}grants: +client_credentials$/m)
    assert.match(added.stdout, /^ {2}scope: +tessera:revocations orders:read$/m)
    assert.match(added.stdout, /^ {2}access token: +300 s$/m)
    assert.match(added.stdout, /^ {2}client_secret: +[A-Za-z0-9_-]{43}$/m)
    assert.match(added.stdout, /shown this once: store it now/)

    const spa = await cli([
      'add',
      '--name',
      'SPA',
      '--redirect-uri',
      'https://spa.example.com/',
      '--auth-method',
      'none',
      '--first-party',
      '--json',
    ])
    assert.equal(spa.code, 0, spa.stderr)
    const registration = JSON.parse(spa.stdout) as Record<string, unknown>
    assert.equal(registration.client_secret, undefined)
    assert.equal(registration.first_party, true)
    assert.equal(spa.stderr, '')

    const jwksFile = join(data.dir, 'client-key.json')
    const jwk = exportJwk(generateKeyPair('ES256', { kid: 'k1' }).publicKey)
    writeFileSync(jwksFile, JSON.stringify(jwk))
    const keyed = await cli([
      'add',
      '--name',
      'Backend',
      '--redirect-uri',
      'https://backend.example.com/cb',
      '--auth-method',
      'private_key_jwt',
      '--jwks',
      jwksFile,
      '--json',
    ])
    assert.equal(keyed.code, 0, keyed.stderr)
    assert.deepEqual(JSON.parse(keyed.stdout).jwks, { keys: [jwk] })
  })

  it('bad metadata is one error line naming the field, exit 2; nothing is stored', async () => {
    const before = (await cli(['list', '--json'])).stdout
    const cases: [string[], RegExp][] = [
      [
        [
          'add',
          '--name',
          'Web',
          '--redirect-uri',
          'http://app.example.com/cb',
          '--scope',
          'tessera:x',
        ],
        /^error: redirect_uris\/0: http is only for a loopback redirect .*; scope: tessera:x: /,
      ],
      [
        ['add', '--name', 'Svc', '--grant', 'client_credentials', '--auth-method', 'none'],
        /^error: grant_types: client_credentials needs a confidential client/,
      ],
      [
        ['add', '--name', 'Web', '--access-token-lifetime', 'soon'],
        /^error: --access-token-lifetime: a duration such as 15m/,
      ],
      [['add', '--name', 'Web', '--jwks', join(data.dir, 'missing.json')], /^error: cannot read /],
      [
        [
          'add',
          '--name',
          'Web',
          '--redirect-uri',
          'https://a.example/cb',
          '--id-token-encryption',
          'dir',
        ],
        /^error: id_token_encrypted_response_alg: dir needs a secret key shared with the client/,
      ],
      [
        [
          'add',
          '--name',
          'Web',
          '--redirect-uri',
          'https://a.example/cb',
          '--id-token-encryption',
          'ECDH-ES',
        ],
        /^error: jwks: is required for ECDH-ES encryption/,
      ],
      [
        ['add', '--name', 'Web', '--userinfo-encryption', 'ECDH-ES/'],
        /^error: --userinfo-encryption: <alg> or <alg>\/<enc>/,
      ],
    ]
    for (const [args, message] of cases) {
      const refused = await cli(args)
      assert.equal(refused.code, 2, `${args.join(' ')}: ${refused.stdout}`)
      assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr)
      assert.match(refused.stderr, message)
    }
    assert.equal((await cli(['list', '--json'])).stdout, before)
  })

  it('list prints a table (or JSON without secrets); remove ends every session granted to the client', async () => {
    const table = await cli(['list'])
    assert.equal(table.code, 0, table.stderr)
    const lines = table.stdout.trimEnd().split('\n')
    assert.match(lines[0]!, /^CLIENT_ID +NAME +AUTH METHOD +GRANTS +FIRST PARTY +REGISTERED$/)
    assert.deepEqual(
      lines.slice(1).map((line) => line.split(/ {2,}/)[1]),
      ['Dashboard', 'Gateway', 'SPA', 'Backend'],
    )
    const listed = JSON.parse((await cli(['list', '--json'])).stdout) as Record<string, unknown>[]
    assert.equal(listed.length, 4)
    assert.ok(listed.every((client) => client.client_secret === undefined))

    const dashboard = String(listed[0]!.client_id)
    const sessions = await withDeployment(async (t) => {
      const user = await t.store.users.createUser({
        id: randomUUID(),
        email: 'someone@example.com',
        name: null,
        passwordHash: '$argon2id$never-used',
        roles: ['user'],
        createdAt: Date.now(),
      })
      assert.notEqual(user, 'email_taken')
      const ids: string[] = []
      for (const clientId of [dashboard, dashboard, 'tessera']) {
        const id = randomUUID()
        ids.push(id)
        await t.store.sessions.createSession(
          {
            id,
            userId: typeof user === 'string' ? '' : user.id,
            createdAt: Date.now(),
            expiresAt: Date.now() + 3_600_000,
            userAgent: null,
            ip: null,
            authTime: Date.now(),
            amr: ['pwd'],
            clientId,
          },
          {
            tokenHash: randomBytes(32).toString('base64url'),
            sessionId: id,
            createdAt: Date.now(),
            expiresAt: Date.now() + 3_600_000,
          },
        )
      }
      return ids
    })

    const removed = await cli(['remove', dashboard])
    assert.equal(removed.code, 0, removed.stderr)
    assert.equal(removed.stdout, `removed ${dashboard}; 2 sessions ended\n`)
    const states = await withDeployment((t) =>
      Promise.all(
        sessions.map(async (id) => (await t.store.sessions.findSession(id))?.revokedReason),
      ),
    )
    assert.deepEqual(states, ['client_removed', 'client_removed', null])

    const again = await cli(['remove', dashboard])
    assert.equal(again.code, 2)
    assert.equal(again.stderr, 'error: no such client\n')
    assert.equal((await cli(['remove', 'tessera'])).code, 2)
    assert.doesNotMatch((await cli(['list'])).stdout, /Dashboard/)
  })

  it('add --dpop-bound, --id-token-encryption alg/enc and --userinfo-encryption alg: registered, described', async () => {
    const jwksFile = join(data.dir, 'client-enc-keys.json')
    const ec = exportEncryptionJwk(generateEncryptionKeyPair('ECDH-ES', { kid: 'e1' }).publicKey)
    const rsa = exportEncryptionJwk(
      generateEncryptionKeyPair('RSA-OAEP-256', { kid: 'r1' }).publicKey,
    )
    writeFileSync(jwksFile, JSON.stringify({ keys: [ec, rsa] }))
    const args = [
      'add',
      '--name',
      'Encrypted',
      '--redirect-uri',
      'https://enc.example.com/cb',
      '--auth-method',
      'none',
      '--jwks',
      jwksFile,
      '--dpop-bound',
      '--id-token-encryption',
      'ECDH-ES/A256GCM',
      '--userinfo-encryption',
      'RSA-OAEP-256',
    ]
    const added = await cli([...args, '--json'])
    assert.equal(added.code, 0, added.stderr)
    const registration = JSON.parse(added.stdout) as Record<string, unknown>
    assert.equal(registration.dpop_bound_access_tokens, true)
    assert.equal(registration.id_token_encrypted_response_alg, 'ECDH-ES')
    assert.equal(registration.id_token_encrypted_response_enc, 'A256GCM')
    assert.equal(registration.userinfo_encrypted_response_alg, 'RSA-OAEP-256')
    assert.equal(registration.userinfo_encrypted_response_enc, 'A128CBC-HS256', 'the default enc')

    const shown = await cli(['show', String(registration.client_id)])
    assert.equal(shown.code, 0, shown.stderr)
    assert.match(shown.stdout, /dpop: +required/)
    assert.match(shown.stdout, /id token jwe: +ECDH-ES \/ A256GCM/)
    assert.match(shown.stdout, /userinfo jwe: +RSA-OAEP-256 \/ A128CBC-HS256/)
    const plain = await cli([
      'show',
      String(JSON.parse((await cli(['list', '--json'])).stdout)[0].client_id),
    ])
    assert.equal(plain.code, 0, plain.stderr)
    assert.match(plain.stdout, /dpop: +optional/)
    assert.doesNotMatch(plain.stdout, /jwe/)
  })
})
