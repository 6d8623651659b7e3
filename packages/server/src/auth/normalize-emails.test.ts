import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { test } from 'node:test'
import { createSqlStore } from '../storage/sql/index.ts'
import { normalizeStoredEmails } from './normalize-emails.ts'
import { normalizeEmail } from './passwords.ts'

test('rows an older Tessera wrote are rewritten, collisions and refused addresses reported (issue #12 item 11)', async () => {
  const store = await createSqlStore('sqlite::memory:')
  try {
    await store.migrate()
    // What the old normalizer (NFC + lower case) let through, written as it was.
    const ids: Record<string, string> = {}
    for (const email of [
      'ada@xn--bcher-kva.example',
      'bob@example.com',
      'bob@ｅｘａｍｐｌｅ.com',
      'ｃａｒｏｌ@example.com',
      'dan@example.com',
    ]) {
      const id = randomUUID()
      ids[email] = id
      const created = await store.users.createUser({
        id,
        email,
        name: null,
        passwordHash: 'x',
        roles: ['user'],
        createdAt: Object.keys(ids).length,
      })
      assert.notEqual(created, 'email_taken')
    }
    const deps = { store, normalizeEmail, now: () => 1000 }
    const dry = await normalizeStoredEmails({ ...deps, apply: false })
    assert.equal(dry.total, 5)
    assert.equal(dry.unchanged, 2)
    assert.deepEqual(dry.fixes, [
      {
        kind: 'rewrite',
        userId: ids['ada@xn--bcher-kva.example'],
        from: 'ada@xn--bcher-kva.example',
        to: 'ada@bücher.example',
      },
      {
        kind: 'collision',
        userId: ids['bob@ｅｘａｍｐｌｅ.com'],
        from: 'bob@ｅｘａｍｐｌｅ.com',
        to: 'bob@example.com',
        otherUserId: ids['bob@example.com'],
      },
      { kind: 'refused', userId: ids['ｃａｒｏｌ@example.com'], from: 'ｃａｒｏｌ@example.com' },
    ])
    assert.equal(
      (await store.users.findUserById(ids['ada@xn--bcher-kva.example']!))?.email,
      'ada@xn--bcher-kva.example',
      'a dry run writes nothing',
    )

    const applied = await normalizeStoredEmails({ ...deps, apply: true })
    assert.deepEqual(applied.fixes, dry.fixes)
    assert.equal(
      (await store.users.findUserByEmail('ada@bücher.example'))?.id,
      ids['ada@xn--bcher-kva.example'],
    )
    const audit = await store.audit.listAudit({ limit: 10, event: 'admin.email_normalized' })
    assert.deepEqual(
      audit.map((entry) => entry.userId),
      [ids['ada@xn--bcher-kva.example']],
    )
    // Run again: nothing left to rewrite.
    const again = await normalizeStoredEmails({ ...deps, apply: true })
    assert.deepEqual(
      again.fixes.map((fix) => fix.kind),
      ['collision', 'refused'],
    )
  } finally {
    await store.close()
  }
})
