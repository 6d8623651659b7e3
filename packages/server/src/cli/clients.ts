// `tessera clients`: the OAuth client registry from the command line, the
// same flows as /admin/clients (auth/oauth/clients.ts checks the metadata).

import { readFileSync } from 'node:fs'
import { parseDuration } from '@tessera/jwt'
import type { Command } from 'commander'
import { AuthError } from '../auth/errors.ts'
import type { ClientMetadata, ClientRegistration } from '../auth/types.ts'
import { CLI_ACTOR, CLI_CLIENT, withTessera } from './context.ts'
import { type CliIo, inCwd } from './io.ts'
import { CliError } from './output.ts'

/** A repeatable option; commas separate values too (`--grant a,b`). */
function collect(value: string, previous: string[]): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  ]
}

/** A repeatable URI option: URIs may hold commas, so one per flag. */
function collectUri(value: string, previous: string[]): string[] {
  return [...previous, value]
}

function seconds(option: string, value: string): number {
  let parsed: number
  try {
    parsed = parseDuration(value)
  } catch {
    throw new CliError(`${option}: a duration such as 15m, 1h, 30d or 900 (seconds)`)
  }
  if (!Number.isSafeInteger(parsed)) throw new CliError(`${option}: whole seconds only`)
  return parsed
}

function readJwks(path: string, cwd: string): { keys: unknown[] } {
  let text: string
  try {
    text = readFileSync(inCwd({ cwd }, path), 'utf8')
  } catch {
    throw new CliError(`cannot read ${path}`)
  }
  try {
    const data = JSON.parse(text) as unknown
    // A single JWK is taken as a set of one.
    if (data !== null && typeof data === 'object' && 'kty' in data) return { keys: [data] }
    return data as { keys: unknown[] }
  } catch {
    // The parser's message may quote the file, which could hold a private key: say less.
    throw new CliError(`${path}: not valid JSON`)
  }
}

/**
 * `--id-token-encryption RSA-OAEP-256` or `ECDH-ES/A256GCM`: the alg and,
 * after a slash, the enc (default A128CBC-HS256, chosen by the registry).
 * The names have no slash (RFC 7518 §4.1, §5.1), so it separates them.
 */
function encryption(
  option: string,
  value: string,
  member: 'id_token' | 'userinfo',
): Record<string, string> {
  const [alg, enc, ...rest] = value.split('/').map((part) => part.trim())
  if (alg === undefined || alg === '' || enc === '' || rest.length > 0) {
    throw new CliError(`${option}: <alg> or <alg>/<enc>, e.g. ECDH-ES or RSA-OAEP-256/A256GCM`)
  }
  return {
    [`${member}_encrypted_response_alg`]: alg,
    ...(enc === undefined ? {} : { [`${member}_encrypted_response_enc`]: enc }),
  }
}

interface AddOptions {
  name: string
  redirectUri: string[]
  postLogoutRedirectUri: string[]
  grant: string[]
  authMethod?: string
  scope?: string
  jwks?: string
  firstParty?: boolean
  dpopBound?: boolean
  idTokenEncryption?: string
  userinfoEncryption?: string
  accessTokenLifetime?: string
  refreshTokenLifetime?: string
  json?: boolean
}

/**
 * The RFC 7591 metadata the options describe; unset ones take the registry's
 * defaults. A relative `--jwks` file is read from `cwd`.
 */
export function metadataFrom(options: AddOptions, cwd = '.'): ClientMetadata {
  return {
    client_name: options.name,
    ...(options.redirectUri.length === 0 ? {} : { redirect_uris: options.redirectUri }),
    ...(options.postLogoutRedirectUri.length === 0
      ? {}
      : { post_logout_redirect_uris: options.postLogoutRedirectUri }),
    ...(options.grant.length === 0 ? {} : { grant_types: options.grant }),
    ...(options.authMethod === undefined ? {} : { token_endpoint_auth_method: options.authMethod }),
    ...(options.scope === undefined ? {} : { scope: options.scope }),
    ...(options.jwks === undefined ? {} : { jwks: readJwks(options.jwks, cwd) }),
    ...(options.firstParty === true ? { first_party: true } : {}),
    ...(options.dpopBound === true ? { dpop_bound_access_tokens: true } : {}),
    ...(options.idTokenEncryption === undefined
      ? {}
      : encryption('--id-token-encryption', options.idTokenEncryption, 'id_token')),
    ...(options.userinfoEncryption === undefined
      ? {}
      : encryption('--userinfo-encryption', options.userinfoEncryption, 'userinfo')),
    ...(options.accessTokenLifetime === undefined
      ? {}
      : {
          access_token_lifetime: seconds('--access-token-lifetime', options.accessTokenLifetime),
        }),
    ...(options.refreshTokenLifetime === undefined
      ? {}
      : {
          refresh_token_lifetime: seconds('--refresh-token-lifetime', options.refreshTokenLifetime),
        }),
  }
}

/**
 * A refused registration as one line that names each field, e.g.
 * `redirect_uris/0: must not have a fragment (#)`; other errors as they are.
 */
export function refusal(error: unknown): unknown {
  const issues = error instanceof AuthError ? error.details?.['issues'] : undefined
  if (!Array.isArray(issues) || issues.length === 0) return error
  return new CliError(
    (issues as { path: string; message: string }[])
      .map(({ path, message }) => `${path.slice(1) || 'metadata'}: ${message}`)
      .join('; '),
  )
}

/** A registration for people: one `name: value` line per setting. */
export function describeClient(client: ClientRegistration): string {
  const lines: [string, string][] = [
    ['client_id', client.client_id],
    ['name', client.client_name],
    ['grants', client.grant_types.join(', ')],
    ['auth method', client.token_endpoint_auth_method],
    ['scope', client.scope === '' ? '(none)' : client.scope],
    ...client.redirect_uris.map((uri): [string, string] => ['redirect uri', uri]),
    ...client.post_logout_redirect_uris.map((uri): [string, string] => ['post-logout uri', uri]),
    ['first party', client.first_party ? 'yes (no consent page)' : 'no'],
    ['dpop', client.dpop_bound_access_tokens ? 'required (RFC 9449 §5.2)' : 'optional'],
  ]
  if (client.id_token_encrypted_response_alg !== undefined) {
    lines.push([
      'id token jwe',
      `${client.id_token_encrypted_response_alg} / ${client.id_token_encrypted_response_enc}`,
    ])
  }
  if (client.userinfo_encrypted_response_alg !== undefined) {
    lines.push([
      'userinfo jwe',
      `${client.userinfo_encrypted_response_alg} / ${client.userinfo_encrypted_response_enc}`,
    ])
  }
  if (client.jwks !== undefined) lines.push(['keys', `${client.jwks.keys.length} public key(s)`])
  if (client.access_token_lifetime !== undefined) {
    lines.push(['access token', `${client.access_token_lifetime} s`])
  }
  if (client.refresh_token_lifetime !== undefined) {
    lines.push(['session', `${client.refresh_token_lifetime} s`])
  }
  return `${lines.map(([label, value]) => `  ${`${label}:`.padEnd(17)}${value}`).join('\n')}\n`
}

/** The `clients list` table: one row per client, columns aligned. */
export function clientTable(clients: readonly ClientRegistration[]): string {
  if (clients.length === 0) return 'no OAuth clients registered\n'
  const rows = [
    ['CLIENT_ID', 'NAME', 'AUTH METHOD', 'GRANTS', 'FIRST PARTY', 'REGISTERED'],
    ...clients.map((c) => [
      c.client_id,
      c.client_name,
      c.token_endpoint_auth_method,
      c.grant_types.join(','),
      c.first_party ? 'yes' : 'no',
      new Date(c.client_id_issued_at * 1000).toISOString(),
    ]),
  ]
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
        .join('  '),
    )
    .map((line) => `${line}\n`)
    .join('')
}

export function register(program: Command, io: CliIo): void {
  const clients = program
    .command('clients')
    .description('OAuth clients: register, list, remove (the same as /admin/clients)')

  clients
    .command('add')
    .description(
      'register an OAuth client; its secret (client_secret_basic and client_secret_post) is printed once',
    )
    .requiredOption('--name <name>', 'the name the consent page shows (client_name)')
    .option(
      '--redirect-uri <uri>',
      'a redirect URI (repeat for several); required with the authorization_code grant',
      collectUri,
      [],
    )
    .option(
      '--post-logout-redirect-uri <uri>',
      'where /oauth/logout may send the user back (repeat for several)',
      collectUri,
      [],
    )
    .option(
      '--grant <grant>',
      'authorization_code, refresh_token, client_credentials (repeat or comma-separate; default authorization_code,refresh_token)',
      collect,
      [],
    )
    .option(
      '--auth-method <method>',
      'client_secret_basic (default), client_secret_post, private_key_jwt (with --jwks) or none (a public client: SPA, native app)',
    )
    .option(
      '--scope <scopes>',
      'space-separated scopes it may ask for (default: openid profile email, + offline_access with refresh_token)',
    )
    .option(
      '--jwks <file>',
      'a JSON file with its public keys (a JWK Set or one JWK): use sig keys for private_key_jwt, use enc keys for --id-token-encryption and --userinfo-encryption',
    )
    .option('--first-party', 'one of your own apps: skip the consent page')
    .option(
      '--dpop-bound',
      'require DPoP-bound access tokens: its token requests must carry a DPoP proof (RFC 9449 §5.2 dpop_bound_access_tokens)',
    )
    .option(
      '--id-token-encryption <alg[/enc]>',
      'encrypt its ID tokens to a key of --jwks: alg ECDH-ES, ECDH-ES+A128KW, ECDH-ES+A256KW or RSA-OAEP-256; enc A128CBC-HS256 (default), A256CBC-HS512, A128GCM or A256GCM; e.g. ECDH-ES/A256GCM',
    )
    .option(
      '--userinfo-encryption <alg[/enc]>',
      'encrypt its userinfo answers the same way (same alg and enc choices)',
    )
    .option('--access-token-lifetime <duration>', "e.g. 5m (default: the server's)")
    .option('--refresh-token-lifetime <duration>', "e.g. 7d (default: the server's)")
    .option('--json', 'print the RFC 7591 registration as JSON (the secret included)')
    .action(async (options: AddOptions) => {
      const metadata = metadataFrom(options, io.cwd)
      await withTessera(io, async (tessera) => {
        const { registration, clientSecret } = await tessera.auth
          .registerClient(CLI_ACTOR, metadata, CLI_CLIENT)
          .catch((error: unknown) => {
            throw refusal(error)
          })
        const warning =
          'the client secret is shown this once: store it now (Tessera keeps only its hash)\n'
        if (options.json === true) {
          const answer =
            clientSecret === undefined
              ? registration
              : { ...registration, client_secret: clientSecret, client_secret_expires_at: 0 }
          io.stdout.write(`${JSON.stringify(answer, null, 2)}\n`)
          if (clientSecret !== undefined) io.stderr.write(warning)
          return
        }
        io.stdout.write(`registered ${registration.client_name}\n`)
        io.stdout.write(describeClient(registration))
        if (clientSecret !== undefined) {
          io.stdout.write(
            `  ${'client_secret:'.padEnd(17)}${clientSecret}\n(${warning.trimEnd()})\n`,
          )
        }
      })
    })

  clients
    .command('list')
    .description('list registered OAuth clients, oldest first')
    .option('--json', 'print JSON (RFC 7591 registrations, no secrets)')
    .action(async (options: { json?: boolean }) => {
      await withTessera(io, async (tessera) => {
        const list = await tessera.auth.listClients()
        io.stdout.write(
          options.json === true ? `${JSON.stringify(list, null, 2)}\n` : clientTable(list),
        )
      })
    })

  clients
    .command('show <client_id>')
    .description('show one OAuth client (never its secret)')
    .option('--json', 'print the RFC 7591 registration as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      await withTessera(io, async (tessera) => {
        const client = await tessera.auth.findClient(id)
        io.stdout.write(
          options.json === true ? `${JSON.stringify(client, null, 2)}\n` : describeClient(client),
        )
      })
    })

  clients
    .command('remove <client_id>')
    .description(
      'remove an OAuth client with its codes and consents; every session granted to it ends',
    )
    .action(async (id: string) => {
      await withTessera(io, async (tessera) => {
        const { sessionsRevoked } = await tessera.auth.removeClient(CLI_ACTOR, id, CLI_CLIENT)
        io.stdout.write(
          `removed ${id}; ${sessionsRevoked} ${sessionsRevoked === 1 ? 'session' : 'sessions'} ended\n`,
        )
      })
    })
}
