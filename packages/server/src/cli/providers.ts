// `tessera providers`: the social-login providers (issue 21) from the command
// line. Providers are configuration, TESSERA_PROVIDERS and the
// TESSERA_PROVIDER_<ID>_* variables (config/providers.ts), so `add` and
// `remove` edit the `.env` file `tessera serve` reads (the working
// directory's, or --env-file): every other line and comment stays as it was,
// the result is checked with the same parser as the server's before it is
// written, and a secret is only ever read from a file or stdin (a flag's value
// lands in the shell's history and in `ps`), never printed.
//
// The environment wins over the file (config/env-file.ts): when it sets
// TESSERA_PROVIDERS itself, a file edit would be ignored, and the commands
// say so instead of writing it.

import { randomBytes } from 'node:crypto'
import { chmodSync, lstatSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import type { Command } from 'commander'
import { callbackUri } from '../auth/federation/flows.ts'
import { resolveProvider } from '../auth/federation/presets.ts'
import { fileErrorReason } from '../config/env-file.ts'
import { ConfigError, loadConfig } from '../config/index.ts'
import {
  PROVIDER_FIELDS,
  ProviderVariableError,
  parseProviders,
  providerVariable,
} from '../config/providers.ts'
import type { ProviderConfig } from '../config/types.ts'
import { PRIVATE_FILE_MODE } from '../runtime/private-files.ts'
import { type CliIo, inCwd } from './io.ts'
import { CliError, printJson, printLine, readTextFile } from './output.ts'
import { loadCliConfig } from './serve.ts'

const LIST = 'TESSERA_PROVIDERS'
type Field = (typeof PROVIDER_FIELDS)[number]

/** Whether config/providers.ts reads `field` (helpers add fields; a flag exists only for those read). */
function hasField(field: string): field is Field {
  return (PROVIDER_FIELDS as readonly string[]).includes(field)
}

/** The flag that sets each field, for messages that name what the operator typed. */
const FLAG_OF: Readonly<Record<string, string>> = {
  PRESET: '--preset',
  ISSUER: '--issuer',
  CLIENT_ID: '--client-id',
  CLIENT_SECRET: '--client-secret-file or --client-secret-stdin',
  SCOPES: '--scopes',
  NAME: '--name',
  KEEP_TOKENS: '--keep-tokens',
  TEAM_ID: '--team-id',
  KEY_ID: '--key-id',
  PRIVATE_KEY: '--private-key-file',
  PRIVATE_KEY_FILE: '--private-key-file',
}

// --- the .env file, line by line -------------------------------------------------------

/** `KEY=` at the start of a line, as Node's parser reads it (`export ` allowed). */
const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=(.*)$/

/** One assignment of a .env file: its variable and the lines it spans (a quoted value may span several). */
interface Entry {
  name: string
  first: number
  last: number
}

/** The assignments of `lines`, in order; comments, blank lines and anything else are not entries. */
function entriesOf(lines: readonly string[]): Entry[] {
  const entries: Entry[] = []
  for (let index = 0; index < lines.length; index++) {
    const match = ASSIGNMENT.exec(lines[index]!)
    if (match === null) continue
    const value = match[2]!.trimStart()
    const quote = value[0]
    let last = index
    // A quoted value whose closing quote is not on this line goes on until it (util.parseEnv).
    if ((quote === '"' || quote === "'" || quote === '`') && !value.slice(1).includes(quote)) {
      while (last + 1 < lines.length && !lines[last + 1]!.includes(quote)) last++
      if (last + 1 < lines.length) last++
    }
    entries.push({ name: match[1]!, first: index, last })
    index = last
  }
  return entries
}

/**
 * `value` as the right-hand side of a .env line that util.parseEnv reads
 * back exactly: bare when it holds nothing the parser treats specially,
 * else in single quotes (taken literally), backticks, or double quotes (which
 * turn `\n` into a newline, so only without one). Undefined: it cannot be
 * written (it holds every kind of quote).
 */
export function envValue(value: string): string | undefined {
  if (/^[A-Za-z0-9_./:@%+,=~-]*$/.test(value)) return value
  if (!value.includes("'")) return `'${value}'`
  if (!value.includes('`')) return `\`${value}\``
  if (!value.includes('"') && !value.includes('\\n')) return `"${value}"`
  return undefined
}

/** The changes one command makes: variables to set (in this order) and variables to drop. */
export interface EnvChanges {
  set: ReadonlyArray<readonly [name: string, value: string]>
  unset: readonly string[]
  /** A comment line written above the new variables, unless the file has that line already. */
  comment?: string
  /** A comment line to drop (with the blank line before it): the one `comment` wrote. */
  dropComment?: string
}

/**
 * `text` (a .env file's content) with `changes` made: a variable already
 * assigned is rewritten where it stands (its other assignments dropped: the
 * last one would win), a new one is appended, a dropped one loses every
 * line it spans, and a line that only held `changes.comment` goes with the
 * last of its variables. Every other line (comments, blank lines, other
 * variables) is kept byte for byte.
 *
 * @throws CliError when a value cannot be written so that Node's parser reads it back.
 */
export function editEnvText(text: string, changes: EnvChanges): string {
  const newline = text.includes('\r\n') ? '\r\n' : '\n'
  const lines = text === '' ? [] : text.split(/\r?\n/)
  // A file that ends with a newline splits into a last empty "line": not a line of its own.
  const trailing = lines.length > 0 && lines.at(-1) === ''
  if (trailing) lines.pop()
  const encoded = new Map<string, string>()
  for (const [name, value] of changes.set) {
    const right = envValue(value)
    if (right === undefined) {
      throw new CliError(
        `${name}: this value holds ', " and \` at once: a .env file cannot hold it`,
      )
    }
    encoded.set(name, `${name}=${right}`)
  }
  const dropped = new Set(changes.unset)
  const replacement = new Map<number, string | null>()
  const placed = new Set<string>()
  for (const entry of entriesOf(lines)) {
    const line = encoded.get(entry.name)
    if (line === undefined && !dropped.has(entry.name)) continue
    const keep = line !== undefined && !placed.has(entry.name)
    replacement.set(entry.first, keep ? line : null)
    for (let index = entry.first + 1; index <= entry.last; index++) replacement.set(index, null)
    if (keep) placed.add(entry.name)
  }
  let out: string[] = []
  for (const [index, line] of lines.entries()) {
    const replaced = replacement.get(index)
    if (replaced === undefined) out.push(line)
    else if (replaced !== null) out.push(replaced)
  }
  // The comment of a provider whose variables are gone goes too, with a blank line before it.
  if (changes.dropComment !== undefined) {
    const at = out.indexOf(changes.dropComment)
    if (at >= 0) {
      const blankBefore = at > 0 && out[at - 1]!.trim() === ''
      out = [...out.slice(0, blankBefore ? at - 1 : at), ...out.slice(at + 1)]
    }
  }
  const appended = [...encoded].filter(([name]) => !placed.has(name)).map(([, line]) => line)
  if (appended.length > 0) {
    const comment =
      changes.comment !== undefined && !out.includes(changes.comment) ? [changes.comment] : []
    if (comment.length > 0 && out.length > 0 && out.at(-1)!.trim() !== '') out.push('')
    out.push(...comment, ...appended)
  }
  return out.length === 0 ? '' : `${out.join(newline)}${newline}`
}

/**
 * Refuses an edit that Node's parser would not read as meant: the variables
 * set read back as given, the dropped ones are gone, every other one is as
 * before (a line this module misread must not change another variable).
 */
function checkEdit(before: string, after: string, changes: EnvChanges): void {
  const old = parseEnv(before)
  const now = parseEnv(after)
  const touched = new Set([...changes.set.map(([name]) => name), ...changes.unset])
  for (const [name, value] of changes.set) {
    if (now[name] !== value)
      throw new CliError(`${name}: the value cannot be written to a .env file`)
  }
  for (const name of changes.unset) {
    if (name in now && !changes.set.some(([set]) => set === name)) {
      throw new CliError(`${name}: cannot be removed from the .env file (edit it by hand)`)
    }
  }
  for (const name of new Set([...Object.keys(old), ...Object.keys(now)])) {
    if (!touched.has(name) && old[name] !== now[name]) {
      throw new CliError(`the .env file's ${name} would change: edit the file by hand`)
    }
  }
}

// --- where the providers come from ------------------------------------------------------

interface EnvFile {
  /** Absolute path. */
  path: string
  /** Its content; '' when it does not exist yet. */
  text: string
  exists: boolean
}

function readEnvFile(io: CliIo, envFile: string | undefined, mustExist: boolean): EnvFile {
  const path = inCwd(io, envFile ?? '.env')
  try {
    return { path, text: readFileSync(path, 'utf8'), exists: true }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !mustExist) {
      return { path, text: '', exists: false }
    }
    throw new CliError(`cannot read the env file ${path}: ${fileErrorReason(error)}`)
  }
}

/** What `serve` would see: the file's variables under the environment's (config/env-file.ts). */
function merged(io: CliIo, fileText: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...parseEnv(fileText) }
  for (const [name, value] of Object.entries(io.env)) if (value !== undefined) env[name] = value
  return env
}

function isProduction(env: Readonly<Record<string, string | undefined>>): boolean {
  return env['NODE_ENV']?.trim() === 'production'
}

/** The ids TESSERA_PROVIDERS lists, as config/providers.ts splits them. */
function listedIds(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '')
}

/** Refuses an edit the environment would override: it wins over the file. */
function refuseEnvironmentOverride(io: CliIo, names: readonly string[], file: EnvFile): void {
  const set = names.filter((name) => io.env[name] !== undefined)
  if (set.length === 0) return
  throw new CliError(
    `the environment sets ${set.join(', ')}, which wins over ${file.path}: a change to the file would be ignored. Change the environment (your service manager, container or shell) instead, or unset ${set.length === 1 ? 'it' : 'them'} and run this again`,
  )
}

/** A refusal of config/providers.ts, naming the flag the operator typed as well as the variable. */
function providerRefusal(error: unknown, id: string): CliError {
  if (!(error instanceof ProviderVariableError)) throw error
  const prefix = `TESSERA_PROVIDER_${id.toUpperCase()}_`
  const field = error.variable.startsWith(prefix) ? error.variable.slice(prefix.length) : undefined
  const flag = field === undefined ? undefined : FLAG_OF[field]
  const message = `${error.variable}: ${error.message}`
  return new CliError(flag === undefined ? message : `${flag} (${message})`)
}

/** The redirect URI of provider `id`, with the issuer the server will have (or the variable's text). */
function redirectUriOf(env: Readonly<Record<string, string | undefined>>, cwd: string, id: string) {
  try {
    return { uri: callbackUri(loadConfig(env, { cwd }).issuer, id), problem: undefined }
  } catch (error) {
    const issuer = env['TESSERA_ISSUER']?.trim() || 'http://localhost:3000'
    const problem = error instanceof ConfigError ? error.message : String(error)
    return { uri: callbackUri(issuer.replace(/\/+$/, ''), id), problem }
  }
}

// --- list ------------------------------------------------------------------------------

/** One provider as `providers list` shows it: never a secret. */
export interface ProviderListing {
  id: string
  preset: string
  name: string
  issuer: string
  clientId: string
  /** Whether a client secret (or, for apple, the key that signs one) is set: yes or no, never its value. */
  clientSecret: boolean
  scopes: readonly string[]
  redirectUri: string
  /** `environment`, the .env file's path, or both. */
  configuredIn: string
}

/** Where the variables were read: the environment's names, and the file's path and names. */
interface Sources {
  env: CliIo['env']
  file: { path: string; names: ReadonlySet<string> } | undefined
}

function listing(provider: ProviderConfig, issuer: string, sources: Sources): ProviderListing {
  const resolved = resolveProvider(provider)
  const { env, file } = sources
  const variables = [LIST, ...PROVIDER_FIELDS.map((field) => providerVariable(provider.id, field))]
  const fromEnv = variables.some((name) => env[name] !== undefined)
  const inFile =
    file !== undefined && variables.some((name) => env[name] === undefined && file.names.has(name))
  const places = [...(fromEnv ? ['environment'] : []), ...(inFile ? [file.path] : [])]
  return {
    id: provider.id,
    preset: provider.preset,
    name: resolved.name,
    issuer: resolved.issuer,
    clientId: provider.clientId,
    clientSecret: provider.clientSecret !== undefined || provider.apple !== undefined,
    scopes: [...resolved.scopes],
    redirectUri: callbackUri(issuer, provider.id),
    configuredIn: places.join(' and ') || 'environment',
  }
}

function providerTable(providers: readonly ProviderListing[]): string {
  if (providers.length === 0) {
    return 'no identity providers configured (add one with `tessera providers add`)\n'
  }
  return providers
    .map((p) =>
      [
        `${p.id}`,
        ...(
          [
            ['preset', p.preset],
            ['name', p.name],
            ['issuer', p.issuer],
            ['client id', p.clientId],
            [
              'client secret',
              p.preset === 'apple'
                ? 'a JWT signed with the Apple key'
                : p.clientSecret
                  ? 'set'
                  : 'none (a public client, PKCE only)',
            ],
            ['scopes', p.scopes.join(' ')],
            ['redirect uri', p.redirectUri],
            ['configured in', p.configuredIn],
          ] as const
        ).map(([label, value]) => `  ${`${label}:`.padEnd(15)}${value}`),
      ].join('\n'),
    )
    .map((block) => `${block}\n`)
    .join('\n')
}

// --- add and remove --------------------------------------------------------------------

interface AddOptions {
  preset?: string
  issuer?: string
  clientId: string
  scopes?: string
  name?: string
  keepTokens?: boolean
  clientSecretFile?: string
  clientSecretStdin?: boolean
  teamId?: string
  keyId?: string
  privateKeyFile?: string
  force?: boolean
  envFile?: string
}

/** The first line of a secret file or of stdin, without its line end: what a `printf`/`echo` wrote. */
function secretText(text: string, from: string): string {
  const secret = text.replace(/\r?\n$/, '')
  if (secret.trim() === '') throw new CliError(`${from} is empty`)
  if (/[\r\n]/.test(secret)) throw new CliError(`${from} holds more than one line`)
  return secret
}

async function clientSecretOf(io: CliIo, options: AddOptions): Promise<string | undefined> {
  if (options.clientSecretFile !== undefined && options.clientSecretStdin === true) {
    throw new CliError('give the client secret once: --client-secret-file or --client-secret-stdin')
  }
  if (options.clientSecretFile !== undefined) {
    return secretText(
      readTextFile(io, options.clientSecretFile, 'client secret file'),
      `the client secret file ${options.clientSecretFile}`,
    )
  }
  if (options.clientSecretStdin === true) return secretText(await io.readStdin(), 'stdin')
  return undefined
}

/** The fields `add` sets, in PROVIDER_FIELDS order; each only when config/providers.ts reads it. */
async function fieldsOf(io: CliIo, options: AddOptions): Promise<[Field, string][]> {
  const values: Record<string, string | undefined> = {
    PRESET: options.preset?.trim().toLowerCase(),
    ISSUER: options.issuer,
    CLIENT_ID: options.clientId,
    CLIENT_SECRET: await clientSecretOf(io, options),
    SCOPES: options.scopes,
    NAME: options.name,
    KEEP_TOKENS: options.keepTokens === true ? 'true' : undefined,
    TEAM_ID: options.teamId,
    KEY_ID: options.keyId,
    // The key stays in its own file (its permissions are the operator's): its absolute path is written.
    PRIVATE_KEY_FILE:
      options.privateKeyFile === undefined ? undefined : inCwd(io, options.privateKeyFile),
  }
  return PROVIDER_FIELDS.flatMap((field): [Field, string][] => {
    const value = values[field]
    return value === undefined ? [] : [[field, value]]
  })
}

/** Writes `text` to `file.path` by a rename (never half a file); a new file is mode 0600, an old one keeps its mode. */
function writeEnvFile(file: EnvFile, text: string): void {
  if (!file.exists) {
    writeFileSync(file.path, text, { mode: PRIVATE_FILE_MODE, flag: 'wx' })
    chmodSync(file.path, PRIVATE_FILE_MODE)
    return
  }
  const stat = lstatSync(file.path)
  // A symbolic link (a file managed elsewhere) is written through, in place.
  if (stat.isSymbolicLink()) {
    writeFileSync(file.path, text)
    return
  }
  const temporary = `${file.path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    writeFileSync(temporary, text, { mode: stat.mode & 0o777, flag: 'wx' })
    chmodSync(temporary, stat.mode & 0o777)
    renameSync(temporary, file.path)
  } catch (error) {
    rmSync(temporary, { force: true })
    throw new CliError(`cannot write ${file.path}: ${fileErrorReason(error)}`)
  }
}

/** A provider id as config/providers.ts takes it: it becomes part of variable names and URLs. */
function checkedId(raw: string): string {
  const id = raw.trim().toLowerCase()
  if (!/^[a-z][a-z0-9_]{0,31}$/.test(id)) {
    throw new CliError(
      `${JSON.stringify(raw.slice(0, 40))} is not a provider id: lower-case letters, digits and _, starting with a letter, at most 32`,
    )
  }
  return id
}

const providerComment = (id: string) => `# Social login: provider ${id} (tessera providers add)`

function addedText(file: EnvFile, id: string, fields: readonly [Field, string][], force: boolean) {
  const current = parseEnv(file.text)
  const ids = listedIds(current[LIST])
  const known = ids.includes(id)
  if (known && !force) {
    throw new CliError(
      `provider ${id} is already configured in ${file.path}: remove it first, or add --force to replace it`,
    )
  }
  // The list first, where it stands (or at the end, before the provider's block).
  const listChange: EnvChanges = { set: [[LIST, [...ids, id].join(',')]], unset: [] }
  const listed = known ? file.text : editEnvText(file.text, listChange)
  const set = fields.map(([field, value]): [string, string] => [providerVariable(id, field), value])
  const written = new Set(set.map(([name]) => name))
  // --force replaces the provider: its variables not given again are dropped.
  const unset = PROVIDER_FIELDS.map((field) => providerVariable(id, field)).filter(
    (name) => !written.has(name),
  )
  const changes: EnvChanges = { set, unset, comment: providerComment(id) }
  const text = editEnvText(listed, changes)
  checkEdit(file.text, text, {
    set: [...(known ? [] : listChange.set), ...set],
    unset,
  })
  return { text, replaced: known }
}

export function register(program: Command, io: CliIo): void {
  const providers = program
    .command('providers')
    .description(
      'social-login identity providers: list, add, remove (TESSERA_PROVIDERS in the .env file)',
    )
    .addHelpText(
      'after',
      `
Providers are configuration: TESSERA_PROVIDERS and TESSERA_PROVIDER_<ID>_*
variables. add and remove edit ./.env (or --env-file) and keep every other
line; a running \`tessera serve\` reads them when it restarts.
  docs/social-login.md   the presets, the redirect URI to register, the quirks`,
    )

  providers
    .command('list')
    .description(
      'the configured providers and the redirect URI to register at each (never a secret)',
    )
    .option('--env-file <path>', 'read variables from this file instead of ./.env')
    .option('--json', 'print JSON')
    .action((options: { envFile?: string; json?: boolean }) => {
      const { config, envFile } = loadCliConfig(io, { envFile: options.envFile })
      const sources: Sources = {
        env: io.env,
        file:
          envFile === undefined
            ? undefined
            : {
                path: envFile,
                names: new Set(Object.keys(parseEnv(readEnvFile(io, envFile, true).text))),
              },
      }
      const list = config.providers.map((p) => listing(p, config.issuer, sources))
      if (options.json === true) printJson(io, { providers: list })
      else io.stdout.write(providerTable(list))
    })

  const add = providers
    .command('add <id>')
    .description(
      'configure a provider in the .env file: checked as `tessera serve` will check it, then written',
    )
    .option(
      '--preset <preset>',
      'google, microsoft, apple, github, gitlab or oidc (default: the id, when it is a preset)',
    )
    .requiredOption('--client-id <id>', 'the client id the provider issued for this server')
    .option(
      '--issuer <url>',
      'the OpenID issuer: required for oidc; a tenant for microsoft; a self-managed gitlab',
    )
    .option(
      '--scopes <scopes>',
      "space- or comma-separated; default the preset's (openid required)",
    )
    .option(
      '--client-secret-file <path>',
      'read the client secret from this file (first line); never give it as a flag value',
    )
    .option('--client-secret-stdin', 'read the client secret from stdin')
  if (hasField('NAME')) add.option('--name <name>', 'the name login pages show on its button')
  if (hasField('KEEP_TOKENS')) {
    add.option('--keep-tokens', "keep the provider's tokens for the user (sealed), with a refresh")
  }
  if (hasField('TEAM_ID')) add.option('--team-id <id>', 'apple: your Apple Developer team id')
  if (hasField('KEY_ID')) add.option('--key-id <id>', 'apple: the id of the Sign in with Apple key')
  if (hasField('PRIVATE_KEY_FILE')) {
    add.option(
      '--private-key-file <path>',
      'apple: the .p8 key file (its absolute path is written, the key stays in it)',
    )
  }
  add
    .option('--force', 'replace the provider when it is already configured')
    .option('--env-file <path>', 'edit this file instead of ./.env')
    .action(async (rawId: string, options: AddOptions) => {
      const id = checkedId(rawId)
      const file = readEnvFile(io, options.envFile, false)
      const fields = await fieldsOf(io, options)
      refuseEnvironmentOverride(
        io,
        [LIST, ...fields.map(([field]) => providerVariable(id, field))],
        file,
      )
      const { text, replaced } = addedText(file, id, fields, options.force === true)
      // Checked as `serve` will read it, before anything is written.
      const env = merged(io, text)
      let parsed: ProviderConfig[]
      try {
        parsed = parseProviders(env[LIST] ?? '', env, isProduction(env), io.cwd)
      } catch (error) {
        throw providerRefusal(error, id)
      }
      writeEnvFile(file, text)
      const provider = parsed.find((p) => p.id === id)!
      const { uri, problem } = redirectUriOf(env, io.cwd, id)
      printLine(
        io,
        `${replaced ? 'replaced' : 'added'} provider ${id} (preset ${provider.preset}) in ${file.path}`,
      )
      printLine(io, `  register this redirect URI at the provider: ${uri}`)
      printLine(io, '  restart `tessera serve` to offer it')
      if (problem !== undefined) {
        io.stderr.write(`warning: the configuration does not load yet: ${problem}\n`)
      }
    })

  providers
    .command('remove <id>')
    .description(
      'drop a provider from the .env file; its users keep their linked identities, used again if it is added back',
    )
    .option('--env-file <path>', 'edit this file instead of ./.env')
    .action((rawId: string, options: { envFile?: string }) => {
      const id = checkedId(rawId)
      const file = readEnvFile(io, options.envFile, options.envFile !== undefined)
      refuseEnvironmentOverride(io, [LIST], file)
      const ids = listedIds(parseEnv(file.text)[LIST])
      if (!ids.includes(id)) {
        throw new CliError(`no provider ${id} in ${file.path}`)
      }
      const rest = ids.filter((other) => other !== id)
      const changes: EnvChanges = {
        set: rest.length === 0 ? [] : [[LIST, rest.join(',')]],
        unset: [
          ...(rest.length === 0 ? [LIST] : []),
          ...PROVIDER_FIELDS.map((field) => providerVariable(id, field)),
        ],
        dropComment: providerComment(id),
      }
      const text = editEnvText(file.text, changes)
      checkEdit(file.text, text, changes)
      writeEnvFile(file, text)
      printLine(io, `removed provider ${id} from ${file.path}`)
      printLine(
        io,
        "  its users' linked identities stay in the database: they sign in with it again if it is added back",
      )
      printLine(io, '  restart `tessera serve` to stop offering it')
    })
}
