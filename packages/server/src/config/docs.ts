// .env.example and docs/configuration.md are generated from the schema, so the
// documentation cannot drift from what loadConfig reads. Tests compare the
// committed files with these renderings; after changing the schema run:
//   node --conditions=source packages/server/src/config/docs.ts

import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describeConfig, loadConfig } from './load.ts'
import { CONFIG_SCHEMA, type ConfigVariable, describeDefault } from './schema.ts'

const REGENERATE = 'node --conditions=source packages/server/src/config/docs.ts'

/** Rules loadConfig enforces whatever NODE_ENV says. */
export const ALWAYS_RULES: readonly string[] = [
  '`TESSERA_ACCESS_TOKEN_TTL` ≤ `TESSERA_REFRESH_IDLE_TTL` ≤ `TESSERA_REFRESH_TOKEN_TTL`.',
  '`TESSERA_HEADERS_TIMEOUT` ≤ `TESSERA_REQUEST_TIMEOUT`.',
  '`TESSERA_REFRESH_REUSE_GRACE` is under 5 minutes (it is a replay window) and may be 0; `TESSERA_KEY_ROTATION_INTERVAL` is at least 1 minute; `TESSERA_AUDIT_RETENTION` is at least 1 day, or 0 (kept forever); every other duration at least 1 second.',
  '`TESSERA_SIGNING_ALG=HS256|HS384|HS512` requires `TESSERA_HS_SECRETS`, each secret at least the hash size (32, 48 or 64 bytes, RFC 7518 §3.2) with unique, non-empty kids; `TESSERA_HS_SECRETS` with any other algorithm is refused.',
  '`TESSERA_MASTER_KEY`, when set, is exactly 32 bytes; `TESSERA_REVOCATION_FEED_KEY`, when set, at least 32 characters.',
  '`TESSERA_ISSUER` is an absolute http(s) URL without query, fragment or credentials; a trailing slash is dropped.',
  '`TESSERA_DATABASE_URL` starts with `sqlite:`, `postgres://` or `postgresql://`.',
]

/** What NODE_ENV=production refuses on top. */
export const PRODUCTION_RULES: readonly string[] = [
  '`TESSERA_MASTER_KEY` unset: every instance must share one key, and no development key is generated.',
  '`TESSERA_COOKIE_SECURE=false`: the refresh cookie must be `Secure`.',
  '`TESSERA_ALLOWED_ORIGINS=*`: list the exact origins of your front ends.',
  '`TESSERA_ISSUER` on plain `http://` other than `localhost`/`127.0.0.1`/`[::1]`: browsers only keep `Secure` cookies from https.',
  '`TESSERA_BRAND_LOGO_URL` on plain `http://`: pages served over https would not load it (mixed content).',
  'An HS* secret shorter than its hash (refused in every mode).',
  '`TESSERA_EMAIL_VERIFICATION` `optional` or `required` without `TESSERA_SMTP_URL`: the mail would never be sent (it defaults to `off` in production without a mail server).',
  'A data dir holding the SQLite database that group or others can enter: `tessera serve` refuses to start and prints the `chmod 700` to run (a warning outside production; Tessera creates it 0700 itself).',
]

function commentLines(text: string): string {
  return `# ${text}`
}

/** The text of .env.example: every variable, in schema order, commented out at its default. */
export function renderEnvExample(): string {
  const lines = [
    '# Tessera configuration: every environment variable it reads, in the order',
    '# they are checked at start. All are optional; each commented-out line shows',
    '# the default, or is empty when the default is derived (see "Default:").',
    '# An empty value counts as unset. Durations: 15m, 30d, 10s, or seconds.',
    '# Booleans: true/false (also 1/0, yes/no, on/off).',
    '# `tessera config check` prints the effective values.',
    `# Generated from packages/server/src/config/schema.ts by: ${REGENERATE}`,
  ]
  for (const entry of CONFIG_SCHEMA) {
    lines.push('', commentLines(entry.doc))
    const defaultText = describeDefault(entry)
    const form = entry.unit === '' ? '' : ` Form: ${entry.unit}.`
    lines.push(`# Default: ${defaultText}.${form}${entry.secret ? ' Secret.' : ''}`)
    lines.push(`#${entry.name}=${literalDefault(entry) ?? ''}`)
  }
  return `${lines.join('\n')}\n`
}

/** The default in the variable's own syntax, when it is a constant. */
function literalDefault(entry: ConfigVariable): string | undefined {
  if (entry.envExample !== undefined) return entry.envExample
  if (entry.defaultText !== undefined || typeof entry.default === 'function') return undefined
  return entry.format(entry.default)
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|')
}

/** The text of docs/configuration.md. */
export function renderConfigurationDoc(): string {
  const table = CONFIG_SCHEMA.map((entry) => {
    const defaultCell =
      entry.defaultText === undefined ? `\`${describeDefault(entry)}\`` : entry.defaultText
    const unit = entry.unit === '' ? '' : `\`${entry.unit}\``
    const secret = entry.secret ? ' **Secret.**' : ''
    return `| \`${entry.name}\` | ${cell(defaultCell)} | ${cell(unit)} | ${cell(entry.doc)}${secret} |`
  })
  // A real rendering of `tessera config check` for an empty environment.
  const sample = describeConfig(loadConfig({}, { cwd: '/srv/tessera' }))
  return `# Configuration

<!-- Generated from packages/server/src/config/schema.ts by: ${REGENERATE} -->

Tessera reads its configuration from environment variables only, once, at
start (\`loadConfig\` in \`packages/server/src/config/\`; nothing else reads
\`process.env\`). Every value is validated: the first bad one stops the server
with one line that names the variable and says what was expected, for example

\`\`\`
TESSERA_PORT: expected an integer from 0 to 65535, got "abc"
\`\`\`

A secret's value never appears in such a line. An empty value counts as
unset. \`.env.example\` at the repository root lists the same variables with
their defaults.

## Where values come from

From the first that sets a variable:

1. A flag of \`tessera serve\`: \`--port\` sets \`TESSERA_PORT\`, \`--host\`
   \`TESSERA_HOST\`, \`--data-dir\` \`TESSERA_DATA_DIR\`.
2. The environment.
3. A \`.env\` file in the working directory, when there is one (the
   repository root for \`./dev\`); \`tessera serve --env-file <path>\` and
   \`tessera config check --env-file <path>\` read that file instead, which
   must then exist. The syntax is Node.js's (\`KEY=value\`, \`#\` comments,
   quotes); \`tessera serve\` logs the path it read. Copy \`.env.example\` to
   \`.env\` to start one.
4. The default.

A \`TESSERA_*\` variable that Tessera does not read is most likely a typo, and
would otherwise leave the default in place without a word: \`tessera serve\`
logs a warning for each one and \`tessera config check\` prints it on stderr,
with the closest known name (\`TESSERA_PROT is not a Tessera variable and is
ignored; did you mean TESSERA_PORT?\`). The variables of the test suites
(\`TESSERA_TEST_*\`) and of the example resource servers are not warned about.
\`NODE_ENV\` accepts \`development\`, \`production\` and \`test\` only:
\`NODE_ENV=prod\` is an error rather than a development server with the
production refusals off.

## Variables

Durations are seconds in the running configuration.

| Variable | Default | Unit or form | Description |
| --- | --- | --- | --- |
${table.join('\n')}

## Value formats

- **Durations** take \`10s\`, \`15m\`, \`12h\`, \`30d\`, \`1w\`, or a plain number of
  seconds (\`900\`); they must come to whole seconds.
- **Booleans** take \`true\`/\`false\`, \`1\`/\`0\`, \`yes\`/\`no\` or \`on\`/\`off\`.
- **\`TESSERA_HS_SECRETS\`** is \`kid:secret,kid:secret\`, each secret base64url
  without padding (\`tessera secret --alg HS256 --kid k1\` prints one pair). The
  first pair signs; every pair verifies, so a new secret can be put first
  while tokens signed with the old one are still alive.
- **\`TESSERA_LOGIN_RATE_LIMIT\`** is \`ip=<attempts>/<duration>,fails=<count>,maxBackoff=<duration>\`;
  any part may be left out and keeps its default (\`ip=100/15m,fails=5,maxBackoff=15m\`).
  As OWASP's authentication cheat sheet describes: \`ip\` caps every login attempt from one client
  IP per window (keep it generous: many users can share one NAT address; IPv6
  clients count per /64). \`fails\` consecutive failures per account, and per
  account and IP, are free; after that each failure blocks further attempts
  for 1 s, then 2 s, 4 s, … up to \`maxBackoff\`. A successful login resets the
  account's counter and that IP's. Over a limit the answer is 429
  \`rate_limited\` with \`Retry-After\`.
- **\`TESSERA_ALLOWED_ORIGINS\`** is a comma-separated list of exact origins
  (\`https://app.example.com\`, \`http://localhost:5173\`), compared with the
  browser's \`Origin\` header; \`*\` (alone) allows any origin outside production.

## Social login providers

\`TESSERA_PROVIDERS\` lists the upstream identity providers by id
(\`google,corp\`: lower-case letters, digits and \`_\`). Each listed id reads
the variables below, \`<ID>\` being the id in upper case; they are read only
for listed ids (a \`TESSERA_PROVIDER_*\` variable of an unlisted id gets the
typo warning), and every error names the variable at fault (never echoing a
secret or a key):

| Variable | Required | Description |
| --- | --- | --- |
| \`TESSERA_PROVIDER_<ID>_PRESET\` | unless the id is a preset's name | \`google\`, \`microsoft\`, \`apple\`, \`github\`, \`gitlab\` or \`oidc\` (any OpenID provider). |
| \`TESSERA_PROVIDER_<ID>_ISSUER\` | for \`oidc\` | The OpenID issuer (its \`/.well-known/openid-configuration\` is read). \`microsoft\`: \`https://login.microsoftonline.com/<tenant>/v2.0\` (default tenant \`common\`; the multi-tenant \`{tenantid}\` issuer is checked against each token's \`tid\`); \`gitlab\`: a self-managed instance (default \`https://gitlab.com\`); refused for \`google\` and \`github\`, and for \`apple\` (\`https://appleid.apple.com\`) except an http loopback issuer outside production (a local provider standing in for Apple in tests). https, or http on localhost outside production. |
| \`TESSERA_PROVIDER_<ID>_CLIENT_ID\` | yes | The client id registered at the provider (Apple: the Services ID). |
| \`TESSERA_PROVIDER_<ID>_CLIENT_SECRET\` | except for \`oidc\` (a public client then, PKCE only) and \`apple\` (refused: Tessera signs Apple's secret) | The client secret the provider issued. **Secret.** |
| \`TESSERA_PROVIDER_<ID>_SCOPES\` | no | Space- or comma-separated; default the preset's (\`openid email profile\`; Apple \`openid email name\`; GitHub \`read:user user:email\`). OpenID presets must include \`openid\`. |
| \`TESSERA_PROVIDER_<ID>_NAME\` | no | The name on the login pages' button; default the preset's (\`Google\`, \`Apple\`…), or the id for \`oidc\`. At most 64 characters, one line, no control characters. |
| \`TESSERA_PROVIDER_<ID>_KEEP_TOKENS\` | no | \`true\`: keep the provider's access and refresh tokens, sealed with the master key, for \`POST /auth/identities/<id>/token\`. Default \`false\` (nothing kept). |
| \`TESSERA_PROVIDER_<ID>_TEAM_ID\` | for \`apple\` | The Apple developer team id (10 characters): the client secret's \`iss\`. Refused for other presets. |
| \`TESSERA_PROVIDER_<ID>_KEY_ID\` | for \`apple\` | The Sign in with Apple key's id (10 characters): the client secret's \`kid\`. |
| \`TESSERA_PROVIDER_<ID>_PRIVATE_KEY_FILE\` | for \`apple\`, or \`_PRIVATE_KEY\` | Path of the key's \`.p8\` file (relative to the working directory), a P-256 private key, checked at start. **Secret.** |
| \`TESSERA_PROVIDER_<ID>_PRIVATE_KEY\` | for \`apple\`, or \`_PRIVATE_KEY_FILE\` | The \`.p8\` file's PEM text itself; its line breaks may be written \`\\n\` (one line of a .env file). **Secret.** |

The redirect URI to register at the provider is
\`<TESSERA_ISSUER>/auth/providers/<id>/callback\`.

## Rules checked at start

${ALWAYS_RULES.map((rule) => `- ${rule}`).join('\n')}

## Production

\`NODE_ENV=production\` refuses:

${PRODUCTION_RULES.map((rule) => `- ${rule}`).join('\n')}

The refresh cookie's \`Secure\` attribute defaults to \`true\`, except outside
production with an \`http://localhost\` or \`http://127.0.0.1\` issuer, where
browsers would otherwise need https for local development.

## Checking a configuration

\`tessera config check\` loads the configuration as \`tessera serve\` would and
prints every variable with its effective value and where it came from
(\`env\` or \`default\`). Secrets show as \`<set, redacted>\` or \`<not set>\`, and
URL passwords are masked. With an empty environment in \`/srv/tessera\`:

\`\`\`
${sample}
\`\`\`
`
}

if (import.meta.main) {
  const root = fileURLToPath(new URL('../../../../', import.meta.url))
  writeFileSync(`${root}.env.example`, renderEnvExample())
  writeFileSync(`${root}docs/configuration.md`, renderConfigurationDoc())
}
