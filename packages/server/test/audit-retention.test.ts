// The audit log records client IPs and grew forever: the maintenance pass now
// deletes entries older than TESSERA_AUDIT_RETENTION (90 days by default), a
// batch at a time. The store's half is in the storage contract suite.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { afterEach, describe, it } from 'node:test'
import pino from 'pino'
import type { AuditEvent } from '../src/storage/ports.ts'
import { createTessera, type Tessera } from '../src/tessera.ts'
import { testConfig } from './support/harness.ts'

const DAY = 86_400_000
const T0 = Date.parse('2026-06-01T12:00:00Z')

const open: Tessera[] = []
afterEach(async () => {
  for (const tessera of open.splice(0)) await tessera.close()
})

async function start(env: Record<string, string>, clock: { now: number }): Promise<Tessera> {
  const config = testConfig({
    TESSERA_DATABASE_URL: 'sqlite::memory:',
    TESSERA_MASTER_KEY: randomBytes(32).toString('base64url'),
    TESSERA_LOG_LEVEL: 'silent',
    ...env,
  })
  const tessera = await createTessera(config, {
    now: () => clock.now,
    logger: pino({ level: 'silent' }),
    maintenanceInterval: 0,
    changePollMs: 0,
  })
  open.push(tessera)
  return tessera
}

function entry(at: number, event: string): AuditEvent {
  return { at, event, userId: null, sessionId: null, ip: '198.51.100.7', details: {} }
}

describe('audit retention', () => {
  it('the maintenance pass deletes entries older than 90 days by default, and only those', async () => {
    const clock = { now: T0 }
    const tessera = await start({}, clock)
    const { audit } = tessera.store
    await audit.appendAudit(entry(T0 - 91 * DAY, 'old'))
    await audit.appendAudit(entry(T0 - 90 * DAY, 'at the limit'))
    await audit.appendAudit(entry(T0 - 89 * DAY, 'recent'))
    await tessera.maintain()
    assert.deepEqual(
      (await audit.listAudit({ limit: 10 })).map((e) => e.event),
      ['recent', 'at the limit'],
    )
    clock.now += DAY
    await tessera.maintain()
    assert.deepEqual(
      (await audit.listAudit({ limit: 10 })).map((e) => e.event),
      ['recent'],
    )
  })

  it('a backlog larger than one batch goes in one pass; 0 keeps everything', async () => {
    const clock = { now: T0 }
    const tessera = await start({ TESSERA_AUDIT_RETENTION: '7d' }, clock)
    const { audit } = tessera.store
    for (let i = 0; i < 2_500; i++) await audit.appendAudit(entry(T0 - 30 * DAY + i, 'old'))
    await audit.appendAudit(entry(T0 - DAY, 'recent'))
    await tessera.maintain()
    assert.deepEqual(
      (await audit.listAudit({ limit: 10 })).map((e) => e.event),
      ['recent'],
    )

    const keeper = await start({ TESSERA_AUDIT_RETENTION: '0' }, clock)
    await keeper.store.audit.appendAudit(entry(T0 - 3_650 * DAY, 'ten years ago'))
    await keeper.maintain()
    assert.equal((await keeper.store.audit.listAudit({ limit: 10 })).length, 1)
  })
})

describe('one-time token retention', () => {
  it('the maintenance pass deletes links and codes once they are dead, and only those', async () => {
    const clock = { now: T0 }
    const tessera = await start({}, clock)
    const { users, oneTimeTokens } = tessera.store
    const user = await users.createUser({
      id: 'u-1',
      email: 'ada@example.com',
      name: null,
      passwordHash: 'x',
      roles: [],
      createdAt: T0 - DAY,
    })
    assert.notEqual(user, 'email_taken')
    const token = (hash: string, purpose: 'verify_email' | 'sign_in', expiresAt: number) => ({
      hash,
      userId: 'u-1',
      purpose,
      email: 'ada@example.com',
      createdAt: T0 - DAY,
      expiresAt,
      maxAttempts: 5,
    })
    await oneTimeTokens.createToken(token('expired', 'verify_email', T0), T0 - DAY)
    await oneTimeTokens.createToken(token('live', 'sign_in', T0 + 1), T0 - DAY)
    await tessera.maintain()
    // Only the dead one went: deleting again finds nothing, and the live one still works.
    assert.equal(await oneTimeTokens.deleteExpiredTokens(T0), 0)
    assert.equal((await oneTimeTokens.consumeToken('live', 'sign_in', T0))?.hash, 'live')
  })
})
