// The real `tessera serve` as an authorization server for the OAuth suites:
// the issuer is the address it listens on (the clients compare it with
// `iss`), an account to sign in with, and the client set registered
// through the admin API (RFC 7591 names) by an administrator the CLI created.
// Nothing here is used by the server.

import { createServer } from 'node:net'
import {
  type ClientMetadata,
  type ClientRole,
  type RegisteredClient,
  readJson,
} from './oauth-wire.ts'
import { makeDataDir, runCli, type ServerProcess, startServer } from './server-process.ts'

export const USER_PASSWORD = 'correct horse battery staple'

export interface TesseraAccount {
  readonly id: string
  readonly email: string
  readonly name: string
}

export interface TesseraServer {
  readonly issuer: string
  readonly process: ServerProcess
  readonly dataDir: string
  /** The OpenID Connect discovery document. */
  readonly metadata: Record<string, unknown>
  readonly clients: Record<ClientRole, RegisteredClient>
  /** The account the flows sign in with (password {@link USER_PASSWORD}). */
  readonly user: TesseraAccount
  /** An access token with the admin role: POST /admin/clients, GET /admin/users. */
  readonly adminToken: string
  /** Signs up another account over HTTP. */
  signUp(email: string, name: string): Promise<TesseraAccount>
  /** Registers one more client through POST /admin/clients. */
  register(role: ClientRole, metadata: ClientMetadata): Promise<RegisteredClient>
  close(): Promise<void>
}

/** A port free a moment ago; the start is retried if another process took it since. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((done, fail) => {
    server.once('error', fail)
    server.listen(0, '127.0.0.1', done)
  })
  const address = server.address()
  await new Promise<void>((done) => server.close(() => done()))
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

/**
 * Starts `tessera serve` on an SQLite file with the issuer set to its own
 * address, signs up the account and registers `clients`. `env` adds
 * settings (TESSERA_REFRESH_REUSE_GRACE, say).
 */
export async function startTesseraOAuth(
  clients: Record<ClientRole, ClientMetadata>,
  env: Record<string, string> = {},
): Promise<TesseraServer> {
  const data = makeDataDir()
  let server: ServerProcess | undefined
  let issuer = ''
  for (let attempt = 1; server === undefined; attempt++) {
    const port = await freePort()
    issuer = `http://127.0.0.1:${port}`
    try {
      server = await startServer(data.dir, {
        TESSERA_PORT: String(port),
        TESSERA_ISSUER: issuer,
        // Every signup and login of a suite comes from 127.0.0.1.
        TESSERA_SIGNUP_RATE_LIMIT: '1000',
        ...env,
      })
    } catch (error) {
      if (attempt < 5 && /EADDRINUSE/.test(String(error))) continue
      data.remove()
      throw error
    }
  }
  const running = server
  try {
    const adminToken = await createAdmin(running, data.dir)
    const signUp = async (email: string, name: string): Promise<TesseraAccount> => {
      const response = await fetch(`${issuer}/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: USER_PASSWORD, name }),
      })
      const body = await readJson(response)
      if (response.status !== 201) {
        throw new Error(`signup answered ${response.status}: ${JSON.stringify(body)}`)
      }
      return { id: String((body.user as { id: unknown }).id), email, name }
    }
    const register = async (
      role: ClientRole,
      metadata: ClientMetadata,
    ): Promise<RegisteredClient> => {
      const response = await fetch(`${issuer}/admin/clients`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
        body: JSON.stringify(metadata),
      })
      const body = await readJson(response)
      if (response.status !== 201 || typeof body.client_id !== 'string') {
        throw new Error(`POST /admin/clients answered ${response.status}: ${JSON.stringify(body)}`)
      }
      return {
        role,
        id: body.client_id,
        secret: typeof body.client_secret === 'string' ? body.client_secret : undefined,
        metadata,
      }
    }
    const user = await signUp('oauth-user@example.com', 'Olivia Auth')
    const registered = {} as Record<ClientRole, RegisteredClient>
    for (const [role, metadata] of Object.entries(clients) as [ClientRole, ClientMetadata][]) {
      registered[role] = await register(role, metadata)
    }
    const discovery = await fetch(`${issuer}/.well-known/openid-configuration`)
    const metadata = await readJson(discovery)
    return {
      issuer,
      process: running,
      dataDir: data.dir,
      metadata,
      clients: registered,
      user,
      adminToken,
      signUp,
      register,
      async close() {
        await running.stop()
        data.remove()
      },
    }
  } catch (error) {
    await running.stop()
    data.remove()
    throw error
  }
}

/** `tessera users add --roles admin` prints a generated password once; log in with it. */
async function createAdmin(server: ServerProcess, dataDir: string): Promise<string> {
  const email = 'oauth-admin@example.com'
  const added = await runCli(dataDir, ['users', 'add', email, '--roles', 'admin,user'], {
    TESSERA_ISSUER: server.url,
  })
  const password = /^password: (\S+)$/m.exec(added.stdout)?.[1]
  if (added.code !== 0 || password === undefined) {
    throw new Error(`tessera users add failed (${added.code}): ${added.stderr}`)
  }
  const response = await fetch(`${server.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  })
  const body = await readJson(response)
  if (response.status !== 200 || typeof body.accessToken !== 'string') {
    throw new Error(`admin login answered ${response.status}: ${JSON.stringify(body)}`)
  }
  return body.accessToken
}
