// Mail delivery end to end, minus the flows: a message queued in a real
// SQLite outbox is rendered, sent by nodemailer to a real SMTP server in
// process (smtp-server) and read back with mailparser. Outages are real too:
// a TCP proxy in front of the server refuses connections, then serves again.

import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, afterEach, describe, test } from 'node:test'
import { simpleParser } from 'mailparser'
import {
  type MailTemplateData,
  type MailTemplateName,
  openMailData,
  sealMailData,
} from '../src/mail/messages.ts'
import { createOutboxWorker, type OutboxWorkerOptions } from '../src/mail/outbox-worker.ts'
import { createMailRenderer } from '../src/mail/render.ts'
import {
  createMailTransport,
  createSmtpTransport,
  MailDeliveryError,
  type MailTransport,
} from '../src/mail/transport.ts'
import type { Store } from '../src/storage/ports.ts'
import { createSqlStore } from '../src/storage/sql/index.ts'
import { createSealer } from '../src/tokens/sealer.ts'
import { harness, testConfig } from './support/harness.ts'
import { runCli } from './support/server-process.ts'
import { startSmtpServer, type TestSmtpServer } from './support/smtp-server.ts'
import { startTcpProxy } from './support/tcp-proxy.ts'

const FROM = { name: 'Acme', address: 'no-reply@acme.example' }
const ISSUER = 'https://auth.acme.example'
const T0 = Date.parse('2026-06-01T12:00:00Z')

const closers: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

interface LogLine {
  level: 'info' | 'warn' | 'error'
  fields: Record<string, unknown>
  message: string
}

/** A real SQLite outbox, a sealer, a clock, a log and counters the tests read. */
async function bench(transport: MailTransport, options: Partial<OutboxWorkerOptions> = {}) {
  const store: Store = await createSqlStore('sqlite::memory:')
  await store.migrate()
  closers.push(() => store.close())
  const sealer = createSealer(randomBytes(32))
  const clock = { now: T0 }
  const logs: LogLine[] = []
  const log = Object.fromEntries(
    (['info', 'warn', 'error'] as const).map((level) => [
      level,
      (fields: Record<string, unknown>, message: string) => logs.push({ level, fields, message }),
    ]),
  ) as unknown as OutboxWorkerOptions['log']
  const counters: Record<string, number> = {}
  const worker = createOutboxWorker({
    outbox: store.outbox,
    transport,
    render: createMailRenderer({
      brand: { name: 'Acme', color: '#2f54c6', logoUrl: undefined },
      issuer: ISSUER,
    }),
    openData: (message) => openMailData(sealer, message),
    now: () => clock.now,
    log,
    metrics: {
      inc(name) {
        counters[name] = (counters[name] ?? 0) + 1
      },
    },
    maxAttempts: 8,
    intervalMs: 0,
    retry: { baseMs: 1000, maxMs: 4000 },
    ...options,
  })
  closers.push(() => worker.stop())
  async function enqueue<T extends MailTemplateName>(
    template: T,
    data: MailTemplateData[T],
    to = 'ada@example.com',
  ): Promise<string> {
    const row = { id: randomUUID(), to, template }
    await store.outbox.enqueue({
      ...row,
      userId: null,
      createdAt: clock.now,
      sealedData: sealMailData(sealer, row, data),
    })
    return row.id
  }
  async function row(id: string) {
    const [found] = (await store.outbox.listMessages({ limit: 1000 })).filter((m) => m.id === id)
    assert.ok(found, id)
    return found
  }
  return { store, sealer, clock, logs, counters, worker, enqueue, row }
}

async function smtpServer(
  options: Parameters<typeof startSmtpServer>[0] = {},
): Promise<TestSmtpServer> {
  const server = await startSmtpServer(options)
  closers.push(() => server.close())
  return server
}

function smtpTransport(url: string, requireTls = false): MailTransport {
  const transport = createSmtpTransport({ url, from: FROM, requireTls })
  closers.push(() => transport.close())
  return transport
}

const TOKEN = 'tok3n-Th4t-Must-N0t-Be-Logged-xxxxxxxxxxxxx'
const verifyData = (name: string | null = 'Ada') => ({
  link: `${ISSUER}/verify-email?token=${TOKEN}`,
  expiresIn: 86_400,
  name,
})

/** Nothing the worker logged holds the link token or the code. */
function assertNoSecretsLogged(logs: readonly LogLine[], ...secrets: string[]): void {
  const text = JSON.stringify(logs)
  for (const secret of secrets) assert.ok(!text.includes(secret), `the log holds ${secret}`)
}

describe('mail over SMTP', () => {
  test('a queued message is delivered once, with both parts and the right From, To and Subject', async () => {
    const smtp = await smtpServer()
    const { worker, enqueue, row, counters, logs, clock } = await bench(smtpTransport(smtp.url))
    const id = await enqueue('verify_email', verifyData())
    clock.now += 2000
    assert.deepEqual(await worker.runOnce(), { sent: 1, failed: 0, dead: 0 })
    assert.equal(smtp.received.length, 1)
    const [mail] = smtp.received
    assert.deepEqual(mail!.envelope, { from: 'no-reply@acme.example', to: ['ada@example.com'] })
    const { parsed } = mail!
    assert.deepEqual(parsed.from?.value, [{ name: 'Acme', address: 'no-reply@acme.example' }])
    assert.equal(parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : '', 'ada@example.com')
    assert.equal(parsed.subject, 'Confirm your email address for Acme')
    assert.equal(parsed.messageId, `<${id}@acme.example>`)
    assert.equal(parsed.headers.get('auto-submitted'), 'auto-generated')
    assert.ok(parsed.text?.includes(`${ISSUER}/verify-email?token=${TOKEN}`))
    assert.ok(
      typeof parsed.html === 'string' &&
        parsed.html.includes(`href="${ISSUER}/verify-email?token=${TOKEN}"`),
    )
    const sent = await row(id)
    assert.equal(sent.status, 'sent')
    assert.equal(sent.attempts, 1)
    assert.equal(sent.sentAt, clock.now)
    assert.deepEqual(counters, { mail_sent: 1 })
    const line = logs.find((l) => l.message === 'mail sent')
    assert.deepEqual(line?.fields, {
      mailId: id,
      template: 'verify_email',
      attempts: 1,
      queuedMs: 2000,
    })
    // Nothing left to do: a second pass sends nothing.
    assert.deepEqual(await worker.runOnce(), { sent: 0, failed: 0, dead: 0 })
    assert.equal(smtp.received.length, 1)
    assertNoSecretsLogged(logs, TOKEN)
  })

  test('the code mail, as received: its text has exactly one 6-digit number, the code; the link is there too', async () => {
    const smtp = await smtpServer()
    const { worker, enqueue, logs } = await bench(smtpTransport(smtp.url))
    await enqueue('sign_in_code', {
      code: '007341',
      link: `${ISSUER}/login/link?token=${TOKEN}`,
      expiresIn: 600,
      name: 'Ada 123456789',
    })
    await worker.runOnce()
    const [mail] = await smtp.waitFor(1)
    const text = mail!.parsed.text ?? ''
    assert.deepEqual(text.match(/(?<!\d)\d{6}(?!\d)/g), ['007341'])
    assert.ok(text.includes(`${ISSUER}/login/link?token=${TOKEN}`))
    assertNoSecretsLogged(logs, TOKEN, '007341')
  })

  test('the HTML part escapes the data: a <script> in a name arrives as text', async () => {
    const smtp = await smtpServer()
    const { worker, enqueue } = await bench(smtpTransport(smtp.url))
    await enqueue('verify_email', verifyData('<script>alert(1)</script>'))
    await worker.runOnce()
    const [mail] = await smtp.waitFor(1)
    const html = String(mail!.parsed.html)
    assert.ok(!html.includes('<script>'), html)
    assert.ok(html.includes('Hi &lt;script&gt;alert(1)&lt;/script&gt;,'))
    assert.ok(mail!.parsed.text?.includes('Hi <script>alert(1)</script>,'))
  })

  test('a server that is down, then back: retried with back-off and delivered, once', async () => {
    const smtp = await smtpServer()
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: smtp.port })
    closers.push(() => proxy.close())
    const { worker, enqueue, row, clock, counters, logs } = await bench(
      smtpTransport(`smtp://127.0.0.1:${proxy.port}`),
    )
    await proxy.down()
    const id = await enqueue('verify_email', verifyData())

    assert.deepEqual(await worker.runOnce(), { sent: 0, failed: 1, dead: 0 })
    let waiting = await row(id)
    assert.equal(waiting.status, 'pending')
    assert.equal(waiting.attempts, 1)
    assert.equal(waiting.nextAttemptAt, T0 + 1000, 'first retry after the base delay')
    assert.match(waiting.lastError ?? '', /ECONNREFUSED/)
    const warned = logs.find((l) => l.message === 'mail not sent; will retry')
    assert.equal(warned?.level, 'warn')
    assert.equal(warned?.fields.retryAt, new Date(T0 + 1000).toISOString())

    // Still down at the retry: the next wait doubles.
    clock.now = T0 + 1000
    assert.deepEqual(await worker.runOnce(), { sent: 0, failed: 1, dead: 0 })
    waiting = await row(id)
    assert.equal(waiting.nextAttemptAt, T0 + 1000 + 2000)

    await proxy.up()
    // Not due yet: nothing goes out before its time, even with the server back.
    clock.now = T0 + 2999
    assert.deepEqual(await worker.runOnce(), { sent: 0, failed: 0, dead: 0 })
    clock.now = T0 + 3000
    assert.deepEqual(await worker.runOnce(), { sent: 1, failed: 0, dead: 0 })
    const sent = await row(id)
    assert.equal(sent.status, 'sent')
    assert.equal(sent.attempts, 3)
    clock.now += 3_600_000
    await worker.runOnce()
    assert.equal(smtp.received.length, 1, 'delivered exactly once')
    assert.deepEqual(counters, { mail_failed: 2, mail_sent: 1 })
    assertNoSecretsLogged(logs, TOKEN)
  })

  test('a server that keeps refusing: retried up to the maximum, then dead, logged at warn and counted', async () => {
    const smtp = await smtpServer()
    smtp.refuseMessages({ code: 451, message: 'try again later' })
    const { worker, enqueue, row, clock, counters, logs } = await bench(smtpTransport(smtp.url), {
      maxAttempts: 4,
    })
    const id = await enqueue('verify_email', verifyData())
    const waits: number[] = []
    for (let attempt = 1; attempt <= 4; attempt++) {
      await worker.runOnce()
      const current = await row(id)
      assert.equal(current.attempts, attempt)
      if (current.status === 'dead') break
      waits.push(current.nextAttemptAt - clock.now)
      clock.now = current.nextAttemptAt
    }
    assert.deepEqual(waits, [1000, 2000, 4000], 'doubling, capped at the maximum')
    const dead = await row(id)
    assert.equal(dead.status, 'dead')
    assert.match(dead.lastError ?? '', /451 try again later/)
    assert.deepEqual(counters, { mail_failed: 4, mail_dead: 1 })
    const given = logs.filter((l) => l.message.startsWith('mail given up'))
    assert.equal(given.length, 1)
    assert.equal(given[0]!.level, 'warn')
    assert.equal(given[0]!.fields.attempts, 4)
    // Dead is final, whenever the server comes back.
    smtp.refuseMessages(undefined)
    clock.now += 86_400_000
    assert.deepEqual(await worker.runOnce(), { sent: 0, failed: 0, dead: 0 })
    assert.equal(smtp.received.length, 0)
    assertNoSecretsLogged(logs, TOKEN)
  })

  test('a recipient the server refuses for good (550) is dead at once; the other mail still goes', async () => {
    const smtp = await smtpServer({ rejectRecipients: ['gone@example.com'] })
    const { worker, enqueue, row } = await bench(smtpTransport(smtp.url))
    const gone = await enqueue('verify_email', verifyData(), 'gone@example.com')
    await enqueue('verify_email', verifyData(), 'ada@example.com')
    assert.deepEqual(await worker.runOnce(), { sent: 1, failed: 1, dead: 1 })
    const dead = await row(gone)
    assert.equal(dead.status, 'dead')
    assert.equal(dead.attempts, 1)
    assert.match(dead.lastError ?? '', /550/)
  })

  test('data that cannot be rendered (a flow bug, or a row moved to another recipient) is dead at once, without its values', async () => {
    const smtp = await smtpServer()
    const { worker, enqueue, row, store, sealer, logs } = await bench(smtpTransport(smtp.url))
    const missing = await enqueue('verify_email', { link: `${ISSUER}/x?token=${TOKEN}` } as never)
    // Sealed for one recipient, stored for another: the data does not open.
    const moved = randomUUID()
    await store.outbox.enqueue({
      id: moved,
      to: 'mallory@example.com',
      template: 'verify_email',
      userId: null,
      createdAt: T0,
      sealedData: sealMailData(
        sealer,
        { id: moved, to: 'ada@example.com', template: 'verify_email' },
        verifyData(),
      ),
    })
    assert.deepEqual(await worker.runOnce(), { sent: 0, failed: 2, dead: 2 })
    assert.equal(
      (await row(missing)).lastError,
      'cannot render: verify_email: the data has no "expiresIn"',
    )
    assert.equal((await row(moved)).lastError, 'cannot render: the sealed value cannot be opened')
    assert.equal(smtp.received.length, 0)
    assertNoSecretsLogged(logs, TOKEN)
  })

  test('two workers on one outbox (two instances): every message goes out exactly once', async () => {
    const smtp = await smtpServer()
    const first = await bench(smtpTransport(smtp.url), { batchSize: 3 })
    const second = createOutboxWorker({
      outbox: first.store.outbox,
      transport: smtpTransport(smtp.url),
      render: createMailRenderer({
        brand: { name: 'Acme', color: '#2f54c6', logoUrl: undefined },
        issuer: ISSUER,
      }),
      openData: (message) => openMailData(first.sealer, message),
      now: () => first.clock.now,
      log: { info() {}, warn() {}, error() {} },
      maxAttempts: 8,
      intervalMs: 0,
      batchSize: 3,
    })
    closers.push(() => second.stop())
    const ids = new Set<string>()
    for (let i = 0; i < 20; i++)
      ids.add(await first.enqueue('verify_email', verifyData(), `user${i}@example.com`))
    const [a, b] = await Promise.all([first.worker.runOnce(), second.runOnce()])
    assert.equal(a.sent + b.sent, 20)
    assert.equal(smtp.received.length, 20)
    const delivered = smtp.received.map((mail) => mail.parsed.messageId)
    assert.equal(new Set(delivered).size, 20, 'no message twice')
    assert.deepEqual(new Set(delivered), new Set([...ids].map((id) => `<${id}@acme.example>`)))
  })

  test('kick() sends a message just queued without waiting for a pass; stop() ends the worker', async () => {
    const smtp = await smtpServer()
    const { worker, enqueue } = await bench(smtpTransport(smtp.url), { intervalMs: 60_000 })
    worker.start()
    await enqueue('verify_email', verifyData())
    worker.kick()
    const [mail] = await smtp.waitFor(1)
    assert.equal(mail!.parsed.subject, 'Confirm your email address for Acme')
    await worker.stop()
    await enqueue('verify_email', verifyData())
    worker.kick()
    assert.deepEqual(await worker.runOnce(), { sent: 0, failed: 0, dead: 0 })
    assert.equal(smtp.received.length, 1)
  })

  test("smtps:// speaks TLS from the first byte and logs in with the URL's percent-encoded credentials", async () => {
    const pass = 'p@ss/w:rd+%20 ok'
    const smtp = await smtpServer({ secure: true, auth: { user: 'AKIA/user@acme', pass } })
    assert.match(
      smtp.url,
      /^smtps:\/\/AKIA%2Fuser%40acme:p%40ss%2Fw%3Ard%2B%2520%20ok@127\.0\.0\.1:/,
    )
    const transport = smtpTransport(smtp.url)
    assert.equal(
      transport.target.includes(encodeURIComponent(pass)),
      false,
      'the password is not shown',
    )
    assert.match(transport.target, /:redacted@/)
    await transport.send({
      id: randomUUID(),
      template: 'verify_email',
      to: 'ada@example.com',
      subject: 'over TLS',
      text: 'hello',
      html: '<p>hello</p>',
      createdAt: T0,
    })
    const [mail] = await smtp.waitFor(1)
    assert.equal(mail!.parsed.subject, 'over TLS')

    const wrong = smtpTransport(smtp.url.replace(encodeURIComponent(pass), 'wrong'))
    await assert.rejects(
      wrong.send({
        id: randomUUID(),
        template: 'x',
        to: 'a@example.com',
        subject: 's',
        text: 't',
        html: 'h',
        createdAt: T0,
      }),
      (error: unknown) =>
        error instanceof MailDeliveryError && !error.permanent && /535/.test(error.message),
    )
  })

  test('with STARTTLS required (production), a server without it gets nothing in clear', async () => {
    const smtp = await smtpServer()
    const transport = smtpTransport(smtp.url, true)
    await assert.rejects(
      transport.send({
        id: randomUUID(),
        template: 'x',
        to: 'a@example.com',
        subject: 's',
        text: 't',
        html: 'h',
        createdAt: T0,
      }),
      (error: unknown) => error instanceof MailDeliveryError && !error.permanent,
    )
    assert.equal(smtp.received.length, 0)
    // The URL may say otherwise (a relay on a private network).
    const relaxed = smtpTransport(`${smtp.url}?requireTLS=false`, true)
    await relaxed.send({
      id: randomUUID(),
      template: 'x',
      to: 'a@example.com',
      subject: 's',
      text: 't',
      html: 'h',
      createdAt: T0,
    })
    assert.equal(smtp.received.length, 1)
  })
})

describe('mail as .eml files (development, no TESSERA_SMTP_URL)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-mail-'))
  after(() => rmSync(dataDir, { recursive: true, force: true }))

  test('each message is a parseable .eml file, 0600 in a 0700 directory, and one log line gives its subject and link', async () => {
    const lines: { fields: Record<string, unknown>; message: string }[] = []
    const transport = createMailTransport(
      { smtpUrl: undefined, production: false, emailFrom: FROM, dataDir },
      { info: (fields, message) => lines.push({ fields, message }) },
    )
    assert.equal(transport?.kind, 'files')
    const { worker, enqueue, logs } = await bench(transport!)
    const id = await enqueue('sign_in_code', {
      code: '550123',
      link: `${ISSUER}/login/link?token=${TOKEN}`,
      expiresIn: 600,
    })
    assert.deepEqual(await worker.runOnce(), { sent: 1, failed: 0, dead: 0 })
    const dir = join(dataDir, 'mail')
    assert.equal(statSync(dir).mode & 0o777, 0o700)
    const files = readdirSync(dir)
    assert.deepEqual(files, [`20260601T120000Z-sign_in_code-${id}.eml`])
    const file = join(dir, files[0]!)
    assert.equal(statSync(file).mode & 0o777, 0o600)
    const parsed = await simpleParser(readFileSync(file))
    assert.equal(parsed.subject, 'Your Acme sign-in code')
    assert.deepEqual(parsed.from?.value, [{ name: 'Acme', address: 'no-reply@acme.example' }])
    assert.equal(parsed.to && !Array.isArray(parsed.to) ? parsed.to.text : '', 'ada@example.com')
    assert.deepEqual(parsed.text?.match(/(?<!\d)\d{6}(?!\d)/g), ['550123'])
    assert.ok(String(parsed.html).includes('550123'))
    // The developer's line: subject, code and link, and where the file is.
    assert.equal(lines.length, 1)
    assert.equal(
      lines[0]!.message,
      `mail to ada@example.com: "Your Acme sign-in code" code 550123 ${ISSUER}/login/link?token=${TOKEN}`,
    )
    assert.equal(lines[0]!.fields.file, file)
    // The worker's own lines stay clean, as with SMTP.
    assertNoSecretsLogged(logs, TOKEN, '550123')
  })

  test('production without an SMTP URL has no transport (mail stays queued); an SMTP URL always wins', () => {
    const production = { smtpUrl: undefined, production: true, emailFrom: FROM, dataDir }
    assert.equal(createMailTransport(production, { info() {} }), undefined)
    const smtp = createMailTransport(
      { ...production, smtpUrl: 'smtp://user:secret@smtp.example.com:587' },
      { info() {} },
    )
    assert.equal(smtp?.kind, 'smtp')
    assert.equal(smtp?.target, 'smtp://user:redacted@smtp.example.com:587')
    smtp?.close()
  })
})

describe('the server wires it', () => {
  test('createTessera sends what a flow queued once kick() is called, over TESSERA_SMTP_URL', async () => {
    const smtp = await smtpServer()
    const h = await harness({
      TESSERA_SMTP_URL: smtp.url,
      TESSERA_EMAIL_FROM: 'Acme Auth <auth@acme.example>',
    })
    assert.equal(h.tessera.mail.delivery, 'smtp')
    // The flows seal with the server's master key, bound to the row.
    const sealer = createSealer(h.tessera.config.masterKey!)
    const row = { id: randomUUID(), to: 'ada@example.com', template: 'reset_password' } as const
    await h.tessera.store.outbox.enqueue({
      ...row,
      userId: null,
      createdAt: h.clock.now,
      sealedData: sealMailData(sealer, row, {
        link: `${h.tessera.config.issuer}/reset-password?token=x`,
        expiresIn: 3600,
      }),
    })
    h.tessera.mail.kick()
    const [mail] = await smtp.waitFor(1)
    assert.equal(mail!.parsed.subject, 'Reset your Tessera password')
    assert.deepEqual(mail!.parsed.from?.value, [
      { name: 'Acme Auth', address: 'auth@acme.example' },
    ])
    // The pass that sent it marks it sent once the server has answered.
    await h.tessera.mail.runOnce()
    const [listed] = await h.tessera.store.outbox.listMessages({ limit: 10 })
    assert.equal(listed?.status, 'sent')
  })

  test('a bad template override stops the start with a one-line reason', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-templates-'))
    closers.push(() => rmSync(dir, { recursive: true, force: true }))
    const { writeFileSync } = await import('node:fs')
    writeFileSync(join(dir, 'verify_email.txt'), 'Hi {{nmae}}')
    const { createTessera } = await import('../src/tessera.ts')
    await assert.rejects(
      createTessera(testConfig({ TESSERA_EMAIL_TEMPLATES: dir }), { maintenanceInterval: 0 }),
      /verify_email\.txt uses \{\{nmae\}\}/,
    )
  })

  test('tessera mail list shows id, recipient, template, status, attempts, last error and times, never the data', async () => {
    const data = mkdtempSync(join(tmpdir(), 'tessera-mail-cli-'))
    closers.push(() => rmSync(data, { recursive: true, force: true }))
    const env = { TESSERA_MASTER_KEY: randomBytes(32).toString('base64url') }
    // Create the database as the server would, then queue straight into it.
    const migrate = await runCli(data, ['migrate'], env)
    assert.equal(migrate.code, 0, migrate.stderr)
    const store = await createSqlStore(`sqlite:${join(data, 'tessera.db')}`)
    const sealer = createSealer(Buffer.from(env.TESSERA_MASTER_KEY, 'base64url'))
    const ids: string[] = []
    for (const [i, to] of ['ada@example.com', 'bob@example.com'].entries()) {
      const row = { id: randomUUID(), to, template: 'verify_email' } as const
      await store.outbox.enqueue({
        ...row,
        userId: null,
        createdAt: T0 + i * 1000,
        sealedData: sealMailData(sealer, row, verifyData()),
      })
      ids.push(row.id)
    }
    const [claimed] = await store.outbox.claimDue(T0 + 5000, 1, 60_000)
    await store.outbox.markFailed(claimed!.id, '451 try again later', null)
    await store.close()

    const list = await runCli(data, ['mail', 'list'], env)
    assert.equal(list.code, 0, list.stderr)
    const lines = list.stdout.trimEnd().split('\n')
    assert.equal(lines.length, 3, list.stdout)
    assert.match(
      lines[0]!,
      /^2026-06-01T12:00:01\.000Z {2}pending {2}0 attempts {2}verify_email {2}bob@example\.com {2}[\w-]{36} {2}next attempt 2026-06-01T12:00:01\.000Z$/,
    )
    assert.match(
      lines[1]!,
      new RegExp(
        `^2026-06-01T12:00:00\\.000Z {2}dead {5}1 attempt {3}verify_email {2}ada@example\\.com {2}${ids[0]}$`,
      ),
    )
    assert.equal(lines[2], '    last error: 451 try again later')
    assert.ok(!list.stdout.includes(TOKEN) && !list.stdout.includes('v1.'), 'never the data')

    const dead = await runCli(data, ['mail', 'list', '--status', 'dead', '--json'], env)
    const views = JSON.parse(dead.stdout) as Record<string, unknown>[]
    assert.deepEqual(Object.keys(views[0]!).sort(), [
      'attempts',
      'createdAt',
      'id',
      'lastError',
      'nextAttemptAt',
      'sentAt',
      'status',
      'template',
      'to',
      'userId',
    ])
    assert.equal(views.length, 1)
    const bad = await runCli(data, ['mail', 'list', '--status', 'lost'], env)
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^error: --status is one of pending, sending, sent, dead\n$/)
  })
})
