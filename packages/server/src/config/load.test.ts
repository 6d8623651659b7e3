import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { describe, test } from 'node:test'
import { CONFIG_SCHEMA, ConfigError, describeConfig, loadConfig } from './index.ts'

const CWD = '/srv/tessera'
const load = (env: Record<string, string | undefined>) => loadConfig(env, { cwd: CWD })
const key32 = () => randomBytes(32).toString('base64url')
const PROD = { NODE_ENV: 'production', TESSERA_ISSUER: 'https://auth.example.com' }

/** Loads `env`, expects a ConfigError for `variable`, returns its message. */
function failure(env: Record<string, string | undefined>, variable: string): string {
  try {
    load(env)
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`)
    assert.equal(error.variable, variable, error.message)
    assert.ok(error.message.startsWith(`${variable}`), error.message)
    assert.ok(!/[\r\n]/.test(error.message), 'one line')
    return error.message
  }
  assert.fail(`expected ${variable} to be refused`)
}

describe('loadConfig defaults', () => {
  test('an empty environment gives the documented defaults', () => {
    const config = load({})
    assert.deepEqual(
      { ...config },
      {
        production: false,
        host: '127.0.0.1',
        port: 3000,
        issuer: 'http://localhost:3000',
        audience: 'http://localhost:3000',
        oauthResources: [],
        dataDir: '/srv/tessera/data',
        databaseUrl: 'sqlite:/srv/tessera/data/tessera.db',
        redisUrl: undefined,
        masterKey: undefined,
        signingAlg: 'ES256',
        hsSecrets: [],
        accessTokenTtl: 900,
        refreshTokenTtl: 30 * 86_400,
        refreshIdleTtl: 7 * 86_400,
        refreshReuseGrace: 10,
        keyRotationInterval: 30 * 86_400,
        auditRetention: 90 * 86_400,
        allowedOrigins: ['http://localhost:3000'],
        loginRateLimit: {
          ipPoints: 100,
          ipWindowSeconds: 900,
          freeFailures: 5,
          accountFreeFailures: 50,
          maxBackoffSeconds: 900,
        },
        signupRateLimit: 1000,
        refreshRateLimit: 60,
        logLevel: 'info',
        cookieSecure: false,
        accessTokenEmail: false,
        signupEnabled: true,
        emailVerification: 'optional',
        mfa: 'optional',
        reauthWindow: 600,
        webauthnRpId: 'localhost',
        webauthnOrigins: ['http://localhost:3000'],
        providers: [],
        trustProxy: 0,
        requestTimeout: 30,
        headersTimeout: 10,
        keepAliveTimeout: 72,
        revocationFeedKey: undefined,
        pagesEnabled: true,
        dpopNonces: false,
        brandName: 'Tessera',
        brandColor: '#2f54c6',
        brandLogoUrl: undefined,
        smtpUrl: undefined,
        emailFrom: { name: 'Tessera', address: 'no-reply@localhost' },
        emailTemplatesDir: undefined,
        emailMaxAttempts: 8,
        emailRetention: 7 * 86_400,
      },
    )
  })

  test('every Config field comes from exactly one variable', () => {
    const keys = CONFIG_SCHEMA.map((entry) => entry.key)
    assert.equal(new Set(keys).size, keys.length)
    assert.deepEqual(new Set(keys), new Set(Object.keys(load({}))))
  })

  test('an empty or blank value counts as unset', () => {
    const config = load({ TESSERA_PORT: '', TESSERA_HOST: '  ', TESSERA_MASTER_KEY: '' })
    assert.equal(config.port, 3000)
    assert.equal(config.host, '127.0.0.1')
    assert.equal(config.masterKey, undefined)
  })

  test('derived defaults follow the values they derive from', () => {
    const config = load({ TESSERA_PORT: '8080', TESSERA_DATA_DIR: 'var/db' })
    assert.equal(config.issuer, 'http://localhost:8080')
    assert.equal(config.audience, 'http://localhost:8080')
    assert.deepEqual(config.allowedOrigins, ['http://localhost:8080'])
    assert.equal(config.dataDir, '/srv/tessera/var/db')
    assert.equal(config.databaseUrl, 'sqlite:/srv/tessera/var/db/tessera.db')

    const custom = load({ TESSERA_ISSUER: 'https://auth.example.com/tenant/' })
    assert.equal(custom.issuer, 'https://auth.example.com/tenant')
    assert.equal(custom.audience, 'https://auth.example.com/tenant')
    assert.deepEqual(custom.allowedOrigins, ['https://auth.example.com'])
    assert.equal(custom.cookieSecure, true)
  })

  test('the result is deeply frozen', () => {
    const config = load({
      TESSERA_SIGNING_ALG: 'HS256',
      TESSERA_HS_SECRETS: `k1:${key32()},k2:${key32()}`,
      TESSERA_ALLOWED_ORIGINS: 'https://a.example,https://b.example',
    })
    assert.ok(Object.isFrozen(config))
    assert.ok(Object.isFrozen(config.loginRateLimit))
    assert.ok(Object.isFrozen(config.allowedOrigins))
    assert.ok(Object.isFrozen(config.hsSecrets))
    for (const entry of config.hsSecrets) assert.ok(Object.isFrozen(entry))
    assert.throws(() => {
      ;(config as { port: number }).port = 1
    }, TypeError)
    assert.throws(() => {
      ;(config.allowedOrigins as string[]).push('https://evil.example')
    }, TypeError)
    assert.throws(() => {
      ;(config.loginRateLimit as { freeFailures: number }).freeFailures = 1000
    }, TypeError)
  })
})

describe('loadConfig values', () => {
  test('integers, booleans, enums and hosts', () => {
    const config = load({
      TESSERA_HOST: '::',
      TESSERA_PORT: '0',
      TESSERA_SIGNUP_RATE_LIMIT: '5',
      TESSERA_REFRESH_RATE_LIMIT: '7',
      TESSERA_TRUST_PROXY: '2',
      TESSERA_ACCESS_TOKEN_EMAIL: 'yes',
      TESSERA_SIGNUP: 'OFF',
      TESSERA_LOG_LEVEL: 'debug',
      TESSERA_SIGNING_ALG: 'EdDSA',
      TESSERA_REDIS_URL: 'rediss://:pw@cache:6380/0',
    })
    assert.equal(config.host, '::')
    assert.equal(config.port, 0)
    assert.equal(config.signupRateLimit, 5)
    assert.equal(config.refreshRateLimit, 7)
    assert.equal(config.trustProxy, 2)
    assert.equal(config.accessTokenEmail, true)
    assert.equal(config.signupEnabled, false)
    assert.equal(config.logLevel, 'debug')
    assert.equal(config.signingAlg, 'EdDSA')
    assert.equal(config.redisUrl, 'rediss://:pw@cache:6380/0')
  })

  test('durations take units or seconds', () => {
    const config = load({
      TESSERA_ACCESS_TOKEN_TTL: '300',
      TESSERA_REFRESH_TOKEN_TTL: '2w',
      TESSERA_REFRESH_IDLE_TTL: '36h',
      TESSERA_REFRESH_REUSE_GRACE: '0',
      TESSERA_KEY_ROTATION_INTERVAL: '90d',
      TESSERA_AUDIT_RETENTION: '52w',
    })
    assert.equal(config.accessTokenTtl, 300)
    assert.equal(config.refreshTokenTtl, 14 * 86_400)
    assert.equal(config.refreshIdleTtl, 36 * 3600)
    assert.equal(config.refreshReuseGrace, 0)
    assert.equal(config.keyRotationInterval, 90 * 86_400)
    assert.equal(config.auditRetention, 364 * 86_400)
    assert.equal(
      load({ TESSERA_AUDIT_RETENTION: '0' }).auditRetention,
      0,
      '0 keeps the log forever',
    )
  })

  test('the login rate limit format, in part or whole', () => {
    assert.deepEqual(load({ TESSERA_LOGIN_RATE_LIMIT: 'fails=3' }).loginRateLimit, {
      ipPoints: 100,
      ipWindowSeconds: 900,
      freeFailures: 3,
      accountFreeFailures: 50,
      maxBackoffSeconds: 900,
    })
    assert.deepEqual(
      load({ TESSERA_LOGIN_RATE_LIMIT: ' ip=1000/1h , fails=10, accountFails=200, maxBackoff=30m' })
        .loginRateLimit,
      {
        ipPoints: 1000,
        ipWindowSeconds: 3600,
        freeFailures: 10,
        accountFreeFailures: 200,
        maxBackoffSeconds: 1800,
      },
    )
    assert.equal(load({ ...PROD, TESSERA_MASTER_KEY: key32() }).signupRateLimit, 20)
  })

  test('HS secrets, master key and feed key', () => {
    const a = randomBytes(48)
    const b = randomBytes(64)
    const master = randomBytes(32)
    const config = load({
      TESSERA_SIGNING_ALG: 'HS384',
      TESSERA_HS_SECRETS: `new:${a.toString('base64url')}, old:${b.toString('base64url')}`,
      TESSERA_MASTER_KEY: master.toString('base64url'),
      TESSERA_REVOCATION_FEED_KEY: 'x'.repeat(32),
    })
    assert.deepEqual(
      config.hsSecrets.map(({ kid, secret }) => [kid, secret.toString('hex')]),
      [
        ['new', a.toString('hex')],
        ['old', b.toString('hex')],
      ],
    )
    assert.ok(config.masterKey?.equals(master))
    assert.equal(config.revocationFeedKey, 'x'.repeat(32))
  })

  test('origins are normalized and deduplicated; "*" allowed outside production', () => {
    assert.deepEqual(
      load({
        TESSERA_ALLOWED_ORIGINS:
          'https://App.Example.com/, http://localhost:5173,https://app.example.com',
      }).allowedOrigins,
      ['https://app.example.com', 'http://localhost:5173'],
    )
    assert.deepEqual(load({ TESSERA_ALLOWED_ORIGINS: '*' }).allowedOrigins, ['*'])
  })

  test('database URLs: relative SQLite paths resolve, PostgreSQL kept as given', () => {
    assert.equal(
      load({ TESSERA_DATABASE_URL: 'sqlite:db/t.db' }).databaseUrl,
      'sqlite:/srv/tessera/db/t.db',
    )
    assert.equal(load({ TESSERA_DATABASE_URL: 'sqlite::memory:' }).databaseUrl, 'sqlite::memory:')
    const pg = 'postgresql://tessera:pw@db:5432/tessera'
    assert.equal(load({ TESSERA_DATABASE_URL: pg }).databaseUrl, pg)
  })

  test('cookie Secure: false only outside production on a loopback http issuer', () => {
    const secure = (env: Record<string, string>) => load(env).cookieSecure
    assert.equal(secure({}), false)
    assert.equal(secure({ TESSERA_ISSUER: 'http://127.0.0.1:3000' }), false)
    assert.equal(secure({ TESSERA_ISSUER: 'http://auth.internal:3000' }), true)
    assert.equal(secure({ TESSERA_ISSUER: 'https://localhost:3000' }), true)
    assert.equal(
      secure({
        NODE_ENV: 'production',
        TESSERA_MASTER_KEY: key32(),
        TESSERA_ISSUER: 'http://localhost:3000',
      }),
      true,
    )
    assert.equal(
      secure({ TESSERA_ISSUER: 'https://auth.example.com', TESSERA_COOKIE_SECURE: 'false' }),
      false,
    )
    assert.equal(secure({ TESSERA_COOKIE_SECURE: 'true' }), true)
  })
})

describe('loadConfig errors', () => {
  // [variable, bad value, a fragment of the expectation]
  const malformed: [string, string, string][] = [
    ['TESSERA_HOST', 'not a host!', 'IP address or a host name'],
    ['TESSERA_PORT', 'abc', 'an integer from 0 to 65535'],
    // Plain seconds: 90 would empty the audit log within two minutes.
    ['TESSERA_AUDIT_RETENTION', '90', 'a duration of at least 1d'],
    ['TESSERA_AUDIT_RETENTION', '12h', 'or 0 to keep entries forever'],
    ['TESSERA_PORT', '65536', 'an integer from 0 to 65535'],
    ['TESSERA_PORT', '-1', 'an integer from 0 to 65535'],
    ['TESSERA_ISSUER', 'auth.example.com', 'absolute http'],
    ['TESSERA_ISSUER', 'ftp://auth.example.com', 'absolute http'],
    ['TESSERA_ISSUER', 'https://auth.example.com/?tenant=1', 'without query'],
    ['TESSERA_ISSUER', 'https://auth.example.com/#x', 'fragment'],
    ['TESSERA_ISSUER', 'https://user:pw@auth.example.com', 'credentials'],
    ['TESSERA_AUDIENCE', 'a b', 'one audience'],
    ['TESSERA_DATABASE_URL', 'mysql://db/tessera', 'postgres://'],
    ['TESSERA_DATABASE_URL', 'sqlite:', 'with a path'],
    ['TESSERA_REDIS_URL', 'http://cache:6379', 'redis://'],
    ['TESSERA_SIGNING_ALG', 'none', 'one of HS256'],
    ['TESSERA_SIGNING_ALG', 'es256', 'one of HS256'],
    ['TESSERA_ACCESS_TOKEN_TTL', '15 minutes', 'a duration'],
    ['TESSERA_ACCESS_TOKEN_TTL', '0', 'at least 1s'],
    ['TESSERA_ACCESS_TOKEN_TTL', '1.5', 'whole seconds'],
    ['TESSERA_REFRESH_TOKEN_TTL', '30y', 'a duration'],
    ['TESSERA_REFRESH_REUSE_GRACE', '5m', 'under 5m'],
    ['TESSERA_KEY_ROTATION_INTERVAL', '10s', 'at least 1m'],
    ['TESSERA_ALLOWED_ORIGINS', 'https://app.example.com/path', 'no path'],
    ['TESSERA_ALLOWED_ORIGINS', 'app.example.com', 'scheme://host'],
    ['TESSERA_ALLOWED_ORIGINS', '*,https://a.example', '"*" alone'],
    ['TESSERA_LOGIN_RATE_LIMIT', 'ip=100', 'ip=<attempts>/<duration>'],
    ['TESSERA_LOGIN_RATE_LIMIT', 'tries=5', 'ip=<attempts>/<duration>'],
    ['TESSERA_LOGIN_RATE_LIMIT', 'fails=5,fails=6', 'ip=<attempts>/<duration>'],
    ['TESSERA_LOGIN_RATE_LIMIT', 'maxBackoff=soon', 'maxBackoff: a duration'],
    ['TESSERA_LOGIN_RATE_LIMIT', 'ip=0/15m', 'ip: an integer of at least 1'],
    ['TESSERA_SIGNUP_RATE_LIMIT', '0', 'an integer of at least 1'],
    ['TESSERA_REFRESH_RATE_LIMIT', 'many', 'an integer of at least 1'],
    ['TESSERA_LOG_LEVEL', 'verbose', 'one of fatal, error, warn, info, debug, trace, silent'],
    ['TESSERA_COOKIE_SECURE', 'maybe', 'true or false'],
    ['TESSERA_ACCESS_TOKEN_EMAIL', '2', 'true or false'],
    ['TESSERA_SIGNUP', 'closed', 'true or false'],
    ['TESSERA_TRUST_PROXY', '1.5', 'an integer from 0 to 100'],
    ['TESSERA_PAGES', 'sometimes', 'true or false'],
    ['TESSERA_BRAND_NAME', 'x'.repeat(61), 'up to 60 characters'],
    ['TESSERA_BRAND_NAME', 'Acme\nInc', 'without control characters'],
    ['TESSERA_BRAND_COLOR', 'red', '#rrggbb'],
    ['TESSERA_BRAND_COLOR', '#fff', '#rrggbb'],
    ['TESSERA_BRAND_COLOR', '#2f54c6;}body{display:none', '#rrggbb'],
    ['TESSERA_BRAND_LOGO_URL', 'javascript:alert(1)', 'http(s) URL'],
    ['TESSERA_BRAND_LOGO_URL', '/logo.svg', 'http(s) URL'],
    ['TESSERA_BRAND_LOGO_URL', 'https://user:pw@cdn.example/logo.svg', 'without credentials'],
    ['TESSERA_SMTP_URL', 'https://mail.example.com', 'an smtp:// (STARTTLS) or smtps:// (TLS) URL'],
    ['TESSERA_SMTP_URL', 'mail.example.com:587', 'smtp://'],
    ['TESSERA_EMAIL_FROM', 'Acme', 'an address or Name <address>'],
    ['TESSERA_EMAIL_FROM', 'a@acme.example, b@evil.example', 'an address'],
    ['TESSERA_EMAIL_FROM', 'Acme <a@acme.example>\r\nBcc: b@evil.example', 'an address'],
    ['TESSERA_EMAIL_MAX_ATTEMPTS', '0', 'an integer from 1 to 100'],
    ['TESSERA_EMAIL_RETENTION', '10m', 'at least 1h'],
  ]
  for (const [variable, value, expected] of malformed) {
    test(`${variable}=${JSON.stringify(value)} is refused with one line naming it`, () => {
      const message = failure({ [variable]: value }, variable)
      assert.ok(message.startsWith(`${variable}: expected `), message)
      assert.ok(message.includes(expected), message)
      assert.ok(message.endsWith(`got ${JSON.stringify(value)}`), message)
    })
  }

  test('the message for the example in the brief', () => {
    assert.equal(
      failure({ TESSERA_PORT: 'abc' }, 'TESSERA_PORT'),
      'TESSERA_PORT: expected an integer from 0 to 65535, got "abc"',
    )
  })

  test('a secret value is never echoed', () => {
    const cases: [string, Record<string, string>][] = [
      ['TESSERA_MASTER_KEY', { TESSERA_MASTER_KEY: 'c2VjcmV0LW1hc3Rlci1rZXktdmFsdWU' }],
      ['TESSERA_MASTER_KEY', { TESSERA_MASTER_KEY: `${key32()}==` }],
      [
        'TESSERA_HS_SECRETS',
        { TESSERA_SIGNING_ALG: 'HS256', TESSERA_HS_SECRETS: 'k1:c2hvcnRzZWNyZXQ' },
      ],
      // Secret and kid swapped: the "kid" is the secret, so kids are never quoted either.
      ['TESSERA_HS_SECRETS', { TESSERA_SIGNING_ALG: 'HS256', TESSERA_HS_SECRETS: `${key32()}:k1` }],
      [
        'TESSERA_HS_SECRETS',
        { TESSERA_SIGNING_ALG: 'HS256', TESSERA_HS_SECRETS: `${key32()}:AAAA,${key32()}:AAAA` },
      ],
      [
        'TESSERA_HS_SECRETS',
        { TESSERA_SIGNING_ALG: 'HS256', TESSERA_HS_SECRETS: 'no-kid-here-just-a-secret-value' },
      ],
      ['TESSERA_REVOCATION_FEED_KEY', { TESSERA_REVOCATION_FEED_KEY: 'short-feed-key-value' }],
      ['TESSERA_REVOCATION_FEED_KEY', { TESSERA_REVOCATION_FEED_KEY: `${'k'.repeat(40)} spaced` }],
    ]
    for (const [variable, env] of cases) {
      const message = failure(env, variable)
      const secret = env[variable]!
      assert.ok(!message.includes(secret), message)
      // Not even a part of it (a kid is not secret; the secret part is).
      for (const part of secret.split(/[:,\s]/).filter((p) => p.length >= 8)) {
        assert.ok(!message.includes(part), message)
      }
      assert.ok(!message.includes('got'), message)
    }
  })

  test('a URL password is masked in errors', () => {
    const message = failure(
      { TESSERA_DATABASE_URL: 'mysql://app:hunter2-pass@db/x' },
      'TESSERA_DATABASE_URL',
    )
    assert.ok(!message.includes('hunter2-pass'), message)
    assert.ok(message.includes('redacted'), message)
    const unparsable = failure(
      { TESSERA_REDIS_URL: 'redis//u:hunter2-pass@cache' },
      'TESSERA_REDIS_URL',
    )
    assert.ok(!unparsable.includes('hunter2-pass'), unparsable)
  })

  test('mail: the SMTP URL is shown with its password masked; From derives from the brand and the issuer', () => {
    const message = failure(
      { TESSERA_SMTP_URL: 'smtp//user:hunter2-pass@smtp.example.com' },
      'TESSERA_SMTP_URL',
    )
    assert.ok(!message.includes('hunter2-pass'), message)
    const config = load({
      TESSERA_SMTP_URL: 'smtps://apikey:hunter2-pass@smtp.example.com:465',
      TESSERA_ISSUER: 'https://auth.acme.example',
      TESSERA_BRAND_NAME: 'Acme',
      TESSERA_EMAIL_TEMPLATES: 'mail-templates',
    })
    assert.equal(config.smtpUrl, 'smtps://apikey:hunter2-pass@smtp.example.com:465')
    assert.deepEqual(config.emailFrom, { name: 'Acme', address: 'no-reply@auth.acme.example' })
    assert.equal(config.emailTemplatesDir, '/srv/tessera/mail-templates')
    const described = describeConfig(config)
    assert.ok(!described.includes('hunter2-pass'), described)
    assert.match(
      described,
      /TESSERA_SMTP_URL\s+smtps:\/\/apikey:redacted@smtp\.example\.com:465\s+\(env\)/,
    )
    assert.match(
      described,
      /TESSERA_EMAIL_FROM\s+Acme <no-reply@auth\.acme\.example>\s+\(default\)/,
    )
    // An IP issuer is no mail domain.
    assert.equal(
      load({ TESSERA_ISSUER: 'http://127.0.0.1:3000' }).emailFrom.address,
      'no-reply@localhost',
    )
    for (const [raw, name, address] of [
      ['auth@acme.example', '', 'auth@acme.example'],
      ['Acme Auth <auth@acme.example>', 'Acme Auth', 'auth@acme.example'],
      ['"Acme, Inc." <auth@acme.example>', 'Acme, Inc.', 'auth@acme.example'],
    ] as const) {
      assert.deepEqual(load({ TESSERA_EMAIL_FROM: raw }).emailFrom, { name, address }, raw)
    }
  })

  test('the first bad variable in schema order is the one reported', () => {
    failure(
      { TESSERA_LOG_LEVEL: 'loud', TESSERA_PORT: 'x', TESSERA_SIGNUP: 'maybe' },
      'TESSERA_PORT',
    )
  })

  test('HS algorithms need secrets of the hash size, with unique kids', () => {
    assert.match(
      failure({ TESSERA_SIGNING_ALG: 'HS256' }, 'TESSERA_HS_SECRETS'),
      /required when TESSERA_SIGNING_ALG is HS256/,
    )
    assert.match(
      failure(
        {
          TESSERA_SIGNING_ALG: 'HS512',
          TESSERA_HS_SECRETS: `k1:${randomBytes(48).toString('base64url')}`,
        },
        'TESSERA_HS_SECRETS',
      ),
      /at least 64 bytes for HS512 \(pair 1 has 48/,
    )
    assert.match(
      failure(
        { TESSERA_SIGNING_ALG: 'HS256', TESSERA_HS_SECRETS: `k1:${key32()},k1:${key32()}` },
        'TESSERA_HS_SECRETS',
      ),
      /unique kids/,
    )
    failure(
      { TESSERA_SIGNING_ALG: 'HS256', TESSERA_HS_SECRETS: `:${key32()}` },
      'TESSERA_HS_SECRETS',
    )
    failure(
      { TESSERA_SIGNING_ALG: 'HS256', TESSERA_HS_SECRETS: `k1:${key32()},` },
      'TESSERA_HS_SECRETS',
    )
  })

  test('HS secrets with a non-HS algorithm are refused as such, whatever their form, never echoed', () => {
    const cases = [
      `k1:${key32()}`,
      // Short, or malformed: the algorithm is the problem, not the secret's size or syntax.
      `k1:${randomBytes(16).toString('base64url')}`,
      'no-kid-here-just-a-secret-value',
    ]
    for (const alg of ['ES256', 'EdDSA', 'RS256']) {
      for (const secrets of cases) {
        const message = failure(
          { TESSERA_SIGNING_ALG: alg, TESSERA_HS_SECRETS: secrets },
          'TESSERA_HS_SECRETS',
        )
        assert.equal(
          message,
          `TESSERA_HS_SECRETS: HS secrets are refused with TESSERA_SIGNING_ALG=${alg}, whose keys the server generates and rotates: unset TESSERA_HS_SECRETS, or choose HS256, HS384 or HS512`,
        )
      }
    }
  })

  test('master key must be exactly 32 bytes of canonical base64url', () => {
    failure({ TESSERA_MASTER_KEY: randomBytes(31).toString('base64url') }, 'TESSERA_MASTER_KEY')
    failure({ TESSERA_MASTER_KEY: randomBytes(33).toString('base64url') }, 'TESSERA_MASTER_KEY')
    failure({ TESSERA_MASTER_KEY: randomBytes(32).toString('base64') }, 'TESSERA_MASTER_KEY')
  })

  test('token lifetimes must nest: access <= idle <= refresh', () => {
    assert.match(
      failure({ TESSERA_ACCESS_TOKEN_TTL: '30d' }, 'TESSERA_REFRESH_IDLE_TTL'),
      /^TESSERA_REFRESH_IDLE_TTL \(default 7d\): must be at least TESSERA_ACCESS_TOKEN_TTL \(7d < 30d\)$/,
    )
    assert.match(
      failure({ TESSERA_REFRESH_IDLE_TTL: '60d' }, 'TESSERA_REFRESH_IDLE_TTL'),
      /must be at most TESSERA_REFRESH_TOKEN_TTL \(60d > 30d\)/,
    )
    assert.match(
      failure({ TESSERA_REFRESH_TOKEN_TTL: '1d' }, 'TESSERA_REFRESH_IDLE_TTL'),
      /must be at most TESSERA_REFRESH_TOKEN_TTL/,
    )
    const equal = load({
      TESSERA_ACCESS_TOKEN_TTL: '1h',
      TESSERA_REFRESH_IDLE_TTL: '1h',
      TESSERA_REFRESH_TOKEN_TTL: '1h',
    })
    assert.equal(equal.refreshIdleTtl, 3600)
  })

  test('timeouts: headers at most the request timeout, derived from it when shorter', () => {
    const config = load({ TESSERA_REQUEST_TIMEOUT: '1m', TESSERA_KEEP_ALIVE_TIMEOUT: '2m' })
    assert.equal(config.requestTimeout, 60)
    assert.equal(config.headersTimeout, 10)
    assert.equal(config.keepAliveTimeout, 120)
    assert.equal(load({ TESSERA_REQUEST_TIMEOUT: '5s' }).headersTimeout, 5)
    assert.match(
      failure(
        { TESSERA_REQUEST_TIMEOUT: '5s', TESSERA_HEADERS_TIMEOUT: '6s' },
        'TESSERA_HEADERS_TIMEOUT',
      ),
      /must be at most TESSERA_REQUEST_TIMEOUT \(6s > 5s\)/,
    )
    failure({ TESSERA_REQUEST_TIMEOUT: '0' }, 'TESSERA_REQUEST_TIMEOUT')
  })

  test('the reuse grace must be under five minutes', () => {
    assert.equal(load({ TESSERA_REFRESH_REUSE_GRACE: '299' }).refreshReuseGrace, 299)
    failure({ TESSERA_REFRESH_REUSE_GRACE: '300' }, 'TESSERA_REFRESH_REUSE_GRACE')
  })

  test('branding: the colour in lower case, the logo URL normalised', () => {
    const config = load({
      TESSERA_BRAND_NAME: 'Acme <Auth>',
      TESSERA_BRAND_COLOR: '#FFCC00',
      TESSERA_BRAND_LOGO_URL: 'HTTPS://cdn.example.com/logo.svg',
      TESSERA_PAGES: 'false',
    })
    assert.equal(config.brandName, 'Acme <Auth>')
    assert.equal(config.brandColor, '#ffcc00')
    assert.equal(config.brandLogoUrl, 'https://cdn.example.com/logo.svg')
    assert.equal(config.pagesEnabled, false)
  })

  test('feed key: at least 32 visible characters', () => {
    assert.equal(
      load({ TESSERA_REVOCATION_FEED_KEY: 'k'.repeat(32) }).revocationFeedKey,
      'k'.repeat(32),
    )
    failure({ TESSERA_REVOCATION_FEED_KEY: 'k'.repeat(31) }, 'TESSERA_REVOCATION_FEED_KEY')
  })

  test('passkeys: the RP id is a domain every origin is on, derived from the issuer by default', () => {
    const derived = load({ TESSERA_ISSUER: 'https://auth.example.com/tenant' })
    assert.equal(derived.webauthnRpId, 'auth.example.com')
    assert.deepEqual(derived.webauthnOrigins, ['https://auth.example.com'])
    const shared = load({
      TESSERA_ISSUER: 'https://auth.example.com',
      TESSERA_WEBAUTHN_RP_ID: 'Example.COM',
      TESSERA_WEBAUTHN_ORIGINS:
        'https://auth.example.com, https://app.example.com/,https://example.com',
    })
    assert.equal(shared.webauthnRpId, 'example.com')
    assert.deepEqual(shared.webauthnOrigins, [
      'https://auth.example.com',
      'https://app.example.com',
      'https://example.com',
    ])
    for (const bad of ['https://example.com', 'example.com:443', '127.0.0.1', '::1', 'a..b']) {
      assert.match(
        failure({ TESSERA_WEBAUTHN_RP_ID: bad }, 'TESSERA_WEBAUTHN_RP_ID'),
        /expected a domain name without scheme or port/,
      )
    }
    // The default origin (the issuer's) is not on the RP id: said at start, naming both variables.
    assert.equal(
      failure({ TESSERA_WEBAUTHN_RP_ID: 'example.com' }, 'TESSERA_WEBAUTHN_ORIGINS'),
      "TESSERA_WEBAUTHN_ORIGINS (default http://localhost:3000): http://localhost:3000 is not on the passkeys' RP id example.com (TESSERA_WEBAUTHN_RP_ID): browsers offer a passkey of example.com only on example.com and its subdomains",
    )
    // A suffix of the name is not enough: notexample.com is not on example.com.
    assert.match(
      failure(
        {
          TESSERA_ISSUER: 'https://auth.example.com',
          TESSERA_WEBAUTHN_RP_ID: 'example.com',
          TESSERA_WEBAUTHN_ORIGINS: 'https://auth.example.com,https://notexample.com',
        },
        'TESSERA_WEBAUTHN_ORIGINS',
      ),
      /^TESSERA_WEBAUTHN_ORIGINS: https:\/\/notexample\.com is not on the passkeys' RP id example\.com/,
    )
    // A top-level name is a public suffix: browsers refuse it as the RP id of a subdomain.
    assert.match(
      failure(
        { TESSERA_ISSUER: 'http://app.localhost:3000', TESSERA_WEBAUTHN_RP_ID: 'localhost' },
        'TESSERA_WEBAUTHN_ORIGINS',
      ),
      /http:\/\/app\.localhost:3000 cannot use the RP id localhost \(TESSERA_WEBAUTHN_RP_ID\): browsers let no subdomain claim a top-level name/,
    )
    assert.match(
      failure({ TESSERA_WEBAUTHN_ORIGINS: 'https://x.test/path' }, 'TESSERA_WEBAUTHN_ORIGINS'),
      /expected a comma-separated list of origins/,
    )
  })
})

describe('production refusals', () => {
  test('a complete production configuration loads', () => {
    const config = load({ ...PROD, TESSERA_MASTER_KEY: key32() })
    assert.equal(config.production, true)
    assert.equal(config.cookieSecure, true)
    assert.deepEqual(config.allowedOrigins, ['https://auth.example.com'])
  })

  test('NODE_ENV development or test is not production; any other value is refused, not taken for development', () => {
    assert.equal(load({ NODE_ENV: 'development' }).production, false)
    assert.equal(load({ NODE_ENV: 'test' }).production, false)
    for (const typo of ['prod', 'Production', 'PRODUCTION', 'staging']) {
      assert.equal(
        failure({ ...PROD, NODE_ENV: typo }, 'NODE_ENV'),
        `NODE_ENV: expected one of development, production, test, got "${typo}"`,
      )
    }
  })

  test('no master key', () => {
    assert.match(failure(PROD, 'TESSERA_MASTER_KEY'), /required when NODE_ENV=production/)
  })

  test('insecure cookies', () => {
    assert.match(
      failure(
        { ...PROD, TESSERA_MASTER_KEY: key32(), TESSERA_COOKIE_SECURE: 'false' },
        'TESSERA_COOKIE_SECURE',
      ),
      /cannot be false when NODE_ENV=production/,
    )
  })

  test('wildcard origins', () => {
    assert.match(
      failure(
        { ...PROD, TESSERA_MASTER_KEY: key32(), TESSERA_ALLOWED_ORIGINS: '*' },
        'TESSERA_ALLOWED_ORIGINS',
      ),
      /"\*" is refused when NODE_ENV=production/,
    )
  })

  test('an http issuer other than loopback', () => {
    assert.match(
      failure(
        { NODE_ENV: 'production', TESSERA_ISSUER: 'http://auth.example.com' },
        'TESSERA_ISSUER',
      ),
      /must be an https:\/\/ URL when NODE_ENV=production/,
    )
    const local = load({ NODE_ENV: 'production', TESSERA_MASTER_KEY: key32() })
    assert.equal(local.issuer, 'http://localhost:3000')
  })

  test('a passkey origin on plain http other than loopback', () => {
    assert.match(
      failure(
        {
          ...PROD,
          TESSERA_MASTER_KEY: key32(),
          TESSERA_WEBAUTHN_RP_ID: 'example.com',
          TESSERA_WEBAUTHN_ORIGINS: 'https://auth.example.com,http://app.example.com',
        },
        'TESSERA_WEBAUTHN_ORIGINS',
      ),
      /http:\/\/app\.example\.com must be https:\/\/ when NODE_ENV=production/,
    )
  })

  test('a logo on plain http', () => {
    assert.match(
      failure(
        {
          ...PROD,
          TESSERA_MASTER_KEY: key32(),
          TESSERA_BRAND_LOGO_URL: 'http://cdn.example.com/logo.svg',
        },
        'TESSERA_BRAND_LOGO_URL',
      ),
      /must be an https:\/\/ URL when NODE_ENV=production/,
    )
  })

  test('an HS secret under its hash size, in production as everywhere', () => {
    failure(
      {
        ...PROD,
        TESSERA_MASTER_KEY: key32(),
        TESSERA_SIGNING_ALG: 'HS256',
        TESSERA_HS_SECRETS: `k1:${randomBytes(31).toString('base64url')}`,
      },
      'TESSERA_HS_SECRETS',
    )
  })
})

describe('describeConfig', () => {
  test('every variable with its value and source; secrets redacted', () => {
    const master = key32()
    const hs = key32()
    const feed = 'f'.repeat(40)
    const text = describeConfig(
      load({
        TESSERA_PORT: '4000',
        TESSERA_MASTER_KEY: master,
        TESSERA_SIGNING_ALG: 'HS256',
        TESSERA_HS_SECRETS: `k1:${hs}`,
        TESSERA_REVOCATION_FEED_KEY: feed,
        TESSERA_DATABASE_URL: 'postgres://app:db-password-1@db/tessera?sslpassword=ssl-pass-2',
      }),
    )
    const lines = text.split('\n')
    assert.equal(lines.length, CONFIG_SCHEMA.length)
    const line = (name: string) => lines.find((l) => l.startsWith(`${name} `)) ?? assert.fail(name)
    CONFIG_SCHEMA.forEach((entry, i) => {
      assert.ok(lines[i]!.startsWith(`${entry.name} `))
    })
    assert.match(line('TESSERA_PORT'), /\s4000\s+\(env\)$/)
    assert.match(line('TESSERA_ISSUER'), /\shttp:\/\/localhost:4000\s+\(default\)$/)
    assert.match(line('TESSERA_MASTER_KEY'), /<set, redacted>\s+\(env\)$/)
    assert.match(line('TESSERA_HS_SECRETS'), /<set, redacted>\s+\(env\)$/)
    assert.match(line('TESSERA_REVOCATION_FEED_KEY'), /<set, redacted>\s+\(env\)$/)
    assert.match(line('TESSERA_REDIS_URL'), /<not set>\s+\(default\)$/)
    assert.match(line('TESSERA_ACCESS_TOKEN_TTL'), /\s15m\s+\(default\)$/)
    assert.match(
      line('TESSERA_LOGIN_RATE_LIMIT'),
      /ip=100\/15m,fails=5,accountFails=50,maxBackoff=15m/,
    )
    assert.match(line('TESSERA_DATABASE_URL'), /postgres:\/\/app:redacted@db\/tessera/)
    for (const secret of [master, hs, feed, 'db-password-1', 'ssl-pass-2']) {
      assert.ok(!text.includes(secret), `leaked ${secret}`)
    }
  })

  test('an unset master key shows as not set', () => {
    assert.match(describeConfig(load({})), /TESSERA_MASTER_KEY\s+<not set>\s+\(default\)/)
  })
})
