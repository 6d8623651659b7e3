// The storage contract: what every backend of storage/ports.ts must do, run
// against each of them (SQLite and PostgreSQL) by a `*.test.ts` file
// that supplies a store factory. Nothing here may depend on the backend: no
// SQL, no file paths, no driver errors; only the ports.
//
// Times are fixed epoch milliseconds around 2027 (past 2^31 seconds' worth of
// milliseconds, so a backend truncating to 32 bits fails), moved by hand.

import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it as nodeIt } from 'node:test'
import type {
  AuditEvent,
  ChallengeRecord,
  IdentityRecord,
  NewOneTimeToken,
  NewOutboxMessage,
  NewSession,
  NewUser,
  OAuthClientRecord,
  OAuthCodeRecord,
  OneTimePurpose,
  OutboxMessage,
  PasskeyRecord,
  RevocationEntry,
  RotateResult,
  RotationSuccessor,
  SigningKeyRecord,
  Store,
  UserRecord,
} from '../src/storage/ports.ts'

export interface StorageContractOptions {
  /**
   * Opens a new store on the same database as `store`: after the suite has
   * closed `store`, or as a second connection while it is open. Backends
   * that persist provide it; the persistence and change-marker tests run
   * only when it is given.
   */
  reopen?: (store: Store) => Promise<Store>
  /**
   * What no port does, done by the backend's test file in its own SQL
   * (this file stays free of it). The tests that need it run only when it
   * is given.
   */
  raw?: {
    /** Deletes the user's row, as an operator would: no port deletes users yet. */
    deleteUser(store: Store, userId: string): Promise<void>
    /** Sets the session's auth_time and amr to NULL, as in a row written before issue 16. */
    clearSessionAuth(store: Store, sessionId: string): Promise<void>
    /**
     * Inserts a client_credentials client `id` naming only the columns from
     * before issue 18, so the database's defaults fill the rest, as in a row
     * written before the migration.
     */
    insertClientBeforeIssue18(store: Store, id: string): Promise<void>
  }
}

const T0 = 1_800_000_000_000
const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const GRACE = 10 * SECOND
// A broken lock or transaction deadlocks rather than fails: bound every test.
const it = (title: string, fn: () => Promise<void>) => nodeIt(title, { timeout: 10_000 }, fn)
type NewChallenge = Omit<ChallengeRecord, 'attempts' | 'usedAt'>
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo'

/**
 * Registers the contract suite for one backend. `makeStore` returns a new,
 * empty, not yet migrated store; the suite migrates and closes it.
 */
export function storageContract(
  name: string,
  makeStore: () => Promise<Store>,
  options: StorageContractOptions = {},
): void {
  describe(`storage contract: ${name}`, () => {
    let store: Store
    const opened: Store[] = []

    async function open(): Promise<Store> {
      const created = await makeStore()
      opened.push(created)
      return created
    }

    beforeEach(async () => {
      store = await open()
      await store.migrate()
    })

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()))
    })

    describe('store', () => {
      it('migrate() applies the migrations once, then is a no-op', async () => {
        const fresh = await open()
        const first = await fresh.migrate()
        assert.ok(first.length > 0, 'the first run applies the initial migration')
        assert.deepEqual(await fresh.migrate(), [])
        // And the schema is usable.
        assert.equal(await fresh.users.countUsers(), 0)
      })

      it('concurrent migrate() calls apply each migration exactly once', async () => {
        const fresh = await open()
        const runs = await Promise.all([fresh.migrate(), fresh.migrate(), fresh.migrate()])
        const applied = runs.flat()
        assert.ok(applied.length > 0)
        assert.equal(new Set(applied).size, applied.length, 'no migration applied twice')
        assert.deepEqual(await fresh.migrate(), [])
      })

      it('ping() resolves', async () => {
        await store.ping()
      })

      it('close() may be called twice', async () => {
        const fresh = await open()
        await fresh.close()
        await fresh.close()
      })

      if (options.reopen) {
        const reopen = options.reopen
        it('keeps the data across close and reopen', async () => {
          const user = await addUser(store, { email: 'persist@example.com', roles: ['admin'] })
          await addSession(store, { userId: user.id, id: 'sess-p', tokenHash: 'tok-p' })
          await store.keys.insertKey(key('kid-p', T0))
          await store.revocations.addRevocations(
            [{ kind: 'jti', value: 'j', expiresAt: T0 + HOUR }],
            T0,
          )
          await store.audit.appendAudit(audit({ event: 'user.signup', userId: user.id }))
          const credential = passkey({ userId: user.id, id: 'cred-p' })
          await store.factors.addPasskey(credential)
          await store.close()

          const again = await reopen(store)
          opened.push(again)
          assert.deepEqual(await again.migrate(), [], 'the schema is already there')
          assert.deepEqual(await again.users.findUserByEmail('persist@example.com'), user)
          assert.equal((await again.sessions.findSession('sess-p'))?.userId, user.id)
          assert.equal((await again.sessions.findRefreshToken('tok-p'))?.sessionId, 'sess-p')
          assert.deepEqual(
            (await again.keys.listKeys()).map((k) => k.kid),
            ['kid-p'],
          )
          assert.equal((await again.revocations.listRevocations(0, T0, 10)).length, 1)
          assert.equal((await again.audit.listAudit({ limit: 10 }))[0]?.event, 'user.signup')
          assert.deepEqual(await again.factors.findPasskey('cred-p'), credential)
        })

        it('changeMarker() moves once another connection commits revocations or key changes', async () => {
          const other = await reopen(store)
          opened.push(other)
          let marker = await store.changeMarker()
          assert.equal(typeof marker, 'string')
          assert.equal(await store.changeMarker(), marker, 'nothing written, nothing to reload')
          const writes: [string, () => Promise<unknown>][] = [
            [
              'a revocation',
              () =>
                other.revocations.addRevocations(
                  [{ kind: 'sub', value: 'u1', before: T0 / SECOND, expiresAt: T0 + HOUR }],
                  T0,
                ),
            ],
            ['a new key', () => other.keys.insertKey(key('kid-m', T0))],
            ['a retirement', () => other.keys.retireKey('kid-m', T0 + HOUR, T0 + 2 * HOUR)],
          ]
          for (const [what, write] of writes) {
            await write()
            const next = await store.changeMarker()
            assert.notEqual(next, marker, `${what} by another connection moves the marker`)
            marker = next
          }
        })
      }
    })

    describe('users', () => {
      it('createUser returns the full record, and both finders return the same', async () => {
        const input = user({ name: 'Ada', roles: ['admin', 'user'] })
        const created = await store.users.createUser(input)
        assert.deepEqual(created, {
          id: input.id,
          email: input.email,
          name: 'Ada',
          passwordHash: HASH,
          roles: ['admin', 'user'],
          createdAt: T0,
          updatedAt: T0,
          passwordChangedAt: null,
          disabled: false,
          emailVerifiedAt: null,
        })
        assert.deepEqual(await store.users.findUserById(input.id), created)
        assert.deepEqual(await store.users.findUserByEmail(input.email), created)
      })

      it('keeps a null name and empty roles', async () => {
        const created = await addUser(store, { name: null, roles: [] })
        const found = await store.users.findUserById(created.id)
        assert.equal(found?.name, null)
        assert.deepEqual(found?.roles, [])
      })

      it('finders return undefined for unknown users', async () => {
        await addUser(store, { email: 'known@example.com' })
        assert.equal(await store.users.findUserById('nobody'), undefined)
        assert.equal(await store.users.findUserByEmail('unknown@example.com'), undefined)
      })

      it("a duplicate email gives 'email_taken' and leaves the first user alone", async () => {
        const first = await addUser(store, { email: 'dup@example.com', name: 'First' })
        const second = await store.users.createUser(
          user({ email: 'dup@example.com', name: 'Second' }),
        )
        assert.equal(second, 'email_taken')
        assert.deepEqual(await store.users.findUserByEmail('dup@example.com'), first)
        assert.equal(await store.users.countUsers(), 1)
      })

      it('compares emails exactly: normalizing is the domain’s job', async () => {
        await addUser(store, { email: 'case@example.com' })
        const upper = await store.users.createUser(user({ email: 'Case@example.com' }))
        assert.notEqual(upper, 'email_taken')
        assert.equal((await store.users.findUserByEmail('CASE@example.com')) === undefined, true)
        assert.equal(await store.users.countUsers(), 2)
      })

      it('a duplicate id is an error, not email_taken', async () => {
        const first = await addUser(store)
        await assert.rejects(store.users.createUser(user({ id: first.id })))
        assert.equal(await store.users.countUsers(), 1)
      })

      it('of 20 concurrent signups with one email exactly one wins', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, () =>
            store.users.createUser(user({ email: 'race@example.com' })),
          ),
        )
        const winners = results.filter((r) => r !== 'email_taken')
        assert.equal(winners.length, 1)
        assert.equal(results.filter((r) => r === 'email_taken').length, 19)
        assert.equal(await store.users.countUsers(), 1)
        const stored = await store.users.findUserByEmail('race@example.com')
        assert.deepEqual(stored, winners[0])
      })

      it('updateUser changes only the given fields and returns the new record', async () => {
        const created = await addUser(store, { name: 'Old', roles: ['user'] })
        const renamed = await store.users.updateUser(created.id, {
          name: 'New',
          updatedAt: T0 + 1,
        })
        assert.deepEqual(renamed, { ...created, name: 'New', updatedAt: T0 + 1 })

        const changed = await store.users.updateUser(created.id, {
          passwordHash: `${HASH}2`,
          passwordChangedAt: T0 + 2,
          roles: ['admin'],
          disabled: true,
          updatedAt: T0 + 2,
        })
        assert.deepEqual(changed, {
          ...created,
          name: 'New',
          passwordHash: `${HASH}2`,
          passwordChangedAt: T0 + 2,
          roles: ['admin'],
          disabled: true,
          updatedAt: T0 + 2,
        })
        assert.deepEqual(await store.users.findUserById(created.id), changed)

        const cleared = await store.users.updateUser(created.id, {
          name: null,
          disabled: false,
          updatedAt: T0 + 3,
        })
        assert.equal(cleared?.name, null)
        assert.equal(cleared?.disabled, false)
        assert.deepEqual(cleared?.roles, ['admin'])
      })

      it('emailVerifiedAt: given at creation or not, set and cleared by updateUser', async () => {
        const verified = await addUser(store, { emailVerifiedAt: T0 - HOUR })
        assert.equal(verified.emailVerifiedAt, T0 - HOUR)
        assert.equal((await store.users.findUserById(verified.id))?.emailVerifiedAt, T0 - HOUR)
        const created = await addUser(store)
        assert.equal(created.emailVerifiedAt, null)
        const marked = await store.users.updateUser(created.id, {
          emailVerifiedAt: T0 + 1,
          updatedAt: T0 + 1,
        })
        assert.deepEqual(marked, { ...created, emailVerifiedAt: T0 + 1, updatedAt: T0 + 1 })
        const renamed = await store.users.updateUser(created.id, { name: 'X', updatedAt: T0 + 2 })
        assert.equal(renamed?.emailVerifiedAt, T0 + 1, 'left alone when not in the patch')
        const cleared = await store.users.updateUser(created.id, {
          emailVerifiedAt: null,
          updatedAt: T0 + 3,
        })
        assert.equal(cleared?.emailVerifiedAt, null)
      })

      it('updateUser returns undefined for an unknown id', async () => {
        assert.equal(await store.users.updateUser('nobody', { updatedAt: T0 }), undefined)
      })

      it("changeEmail moves a user to a free address, 'email_taken' for a used one", async () => {
        const a = await addUser(store, { email: 'a@example.com' })
        await addUser(store, { email: 'b@example.com' })
        const moved = await store.users.changeEmail(a.id, 'c@example.com', T0 + 5)
        assert.equal(moved === 'email_taken' ? moved : moved?.email, 'c@example.com')
        assert.equal(moved === 'email_taken' ? 0 : moved?.updatedAt, T0 + 5)
        assert.equal((await store.users.findUserByEmail('c@example.com'))?.id, a.id)
        assert.equal(await store.users.findUserByEmail('a@example.com'), undefined)
        assert.equal(await store.users.changeEmail(a.id, 'b@example.com', T0), 'email_taken')
        assert.equal((await store.users.findUserById(a.id))?.email, 'c@example.com')
        assert.equal(await store.users.changeEmail('nobody', 'd@example.com', T0), undefined)
      })

      it('of 10 concurrent changes to one address exactly one wins', async () => {
        const users = await Promise.all(
          Array.from({ length: 10 }, (_, i) => addUser(store, { email: `u${i}@example.com` })),
        )
        const results = await Promise.all(
          users.map((u) => store.users.changeEmail(u.id, 'wanted@example.com', T0)),
        )
        assert.equal(results.filter((r) => r !== 'email_taken' && r !== undefined).length, 1)
        assert.equal(results.filter((r) => r === 'email_taken').length, 9)
      })

      it('listUsers pages in creation order, oldest first, the id breaking ties (keyset)', async () => {
        // Created in this order; u-5 and u-2 in the same millisecond.
        const created: [string, number][] = [
          ['u-3', T0],
          ['u-1', T0 + 1],
          ['u-5', T0 + 2],
          ['u-2', T0 + 2],
          ['u-4', T0 + 3],
        ]
        for (const [id, createdAt] of created) {
          await addUser(store, { id, email: `${id}@example.com`, createdAt })
        }
        const ids = async (options: { limit: number; after?: string }) =>
          (await store.users.listUsers(options)).map((u) => u.id)
        assert.deepEqual(await ids({ limit: 2 }), ['u-3', 'u-1'])
        assert.deepEqual(await ids({ limit: 2, after: 'u-1' }), ['u-2', 'u-5'])
        assert.deepEqual(await ids({ limit: 2, after: 'u-2' }), ['u-5', 'u-4'])
        assert.deepEqual(await ids({ limit: 2, after: 'u-5' }), ['u-4'])
        assert.deepEqual(await ids({ limit: 2, after: 'u-4' }), [])
        assert.deepEqual(await ids({ limit: 10 }), ['u-3', 'u-1', 'u-2', 'u-5', 'u-4'])
        assert.deepEqual(await ids({ limit: 10, after: 'nobody' }), [])
        assert.deepEqual(await ids({ limit: 0 }), [])
      })

      it('listUsers filters by exact email and returns full records', async () => {
        const wanted = await addUser(store, { email: 'wanted@example.com' })
        await addUser(store, { email: 'other@example.com' })
        assert.deepEqual(await store.users.listUsers({ limit: 10, email: 'wanted@example.com' }), [
          wanted,
        ])
        assert.deepEqual(await store.users.listUsers({ limit: 10, email: 'wanted@' }), [])
      })

      it('list methods reject a negative or fractional limit', async () => {
        await assert.rejects(store.users.listUsers({ limit: -1 }), RangeError)
        await assert.rejects(store.users.listUsers({ limit: 1.5 }), RangeError)
        await assert.rejects(store.audit.listAudit({ limit: -1 }), RangeError)
        await assert.rejects(store.revocations.listRevocations(0, T0, -1), RangeError)
      })

      it('countUsers counts', async () => {
        assert.equal(await store.users.countUsers(), 0)
        await addUser(store)
        await addUser(store)
        assert.equal(await store.users.countUsers(), 2)
      })
    })

    describe('sessions', () => {
      it('createSession stores the session and its first refresh token', async () => {
        const u = await addUser(store)
        const session: NewSession = {
          id: 'sess-1',
          userId: u.id,
          createdAt: T0,
          expiresAt: T0 + 30 * DAY,
          userAgent: 'Mozilla/5.0',
          ip: '203.0.113.7',
          authTime: T0,
          amr: ['pwd'],
        }
        await store.sessions.createSession(session, {
          tokenHash: 'tok-1',
          sessionId: 'sess-1',
          createdAt: T0,
          expiresAt: T0 + 7 * DAY,
        })
        assert.deepEqual(await store.sessions.findSession('sess-1'), {
          ...session,
          lastUsedAt: T0,
          revokedAt: null,
          revokedReason: null,
          clientId: 'tessera',
          scope: null,
          resource: null,
          dpopJkt: null,
        })
        assert.deepEqual(await store.sessions.findRefreshToken('tok-1'), {
          tokenHash: 'tok-1',
          sessionId: 'sess-1',
          createdAt: T0,
          expiresAt: T0 + 7 * DAY,
          usedAt: null,
        })
        assert.equal(await store.sessions.findSession('nope'), undefined)
        assert.equal(await store.sessions.findRefreshToken('nope'), undefined)
      })

      it('createSession is one transaction: a failing token insert leaves no session', async () => {
        const u = await addUser(store)
        await addSession(store, { userId: u.id, id: 'sess-1', tokenHash: 'tok-same' })
        await assert.rejects(
          addSession(store, { userId: u.id, id: 'sess-2', tokenHash: 'tok-same' }),
        )
        assert.equal(await store.sessions.findSession('sess-2'), undefined)
        assert.equal((await store.sessions.findRefreshToken('tok-same'))?.sessionId, 'sess-1')
      })

      it('listSessions: active sessions of the user only, newest first', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        await addSession(store, { userId: u.id, id: 's-old', createdAt: T0 })
        await addSession(store, { userId: u.id, id: 's-new', createdAt: T0 + 2 * HOUR })
        await addSession(store, { userId: u.id, id: 's-mid', createdAt: T0 + HOUR })
        await addSession(store, { userId: u.id, id: 's-revoked', createdAt: T0 + 3 * HOUR })
        await addSession(store, {
          userId: u.id,
          id: 's-expired',
          createdAt: T0 - 2 * DAY,
          expiresAt: T0 + 4 * HOUR,
        })
        await addSession(store, { userId: other.id, id: 's-other', createdAt: T0 })
        assert.equal(await store.sessions.revokeSession('s-revoked', T0 + 3 * HOUR, 'logout'), true)

        const now = T0 + 4 * HOUR
        const listed = await store.sessions.listSessions(u.id, now)
        assert.deepEqual(
          listed.map((s) => s.id),
          ['s-new', 's-mid', 's-old'],
        )
        assert.ok(listed.every((s) => s.userId === u.id && s.revokedAt === null))
        // One millisecond earlier the expiring session is still active.
        assert.deepEqual(
          (await store.sessions.listSessions(u.id, now - 1)).map((s) => s.id),
          ['s-new', 's-mid', 's-old', 's-expired'],
        )
        assert.deepEqual(await store.sessions.listSessions('nobody', now), [])
      })

      it('revokeSession: true once, then false; false for an unknown id', async () => {
        const u = await addUser(store)
        await addSession(store, { userId: u.id, id: 'sess-1' })
        assert.equal(await store.sessions.revokeSession('sess-1', T0 + 5, 'logout'), true)
        assert.equal(await store.sessions.revokeSession('sess-1', T0 + 9, 'again'), false)
        assert.equal(await store.sessions.revokeSession('nope', T0, 'logout'), false)
        const s = await store.sessions.findSession('sess-1')
        assert.equal(s?.revokedAt, T0 + 5, 'the first revocation is kept')
        assert.equal(s?.revokedReason, 'logout')
      })

      it('revokeUserSessions revokes the active sessions but one, and returns their ids', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        for (const id of ['a', 'b', 'c', 'current']) {
          await addSession(store, { userId: u.id, id })
        }
        await addSession(store, { userId: u.id, id: 'gone', expiresAt: T0 + HOUR })
        await addSession(store, { userId: u.id, id: 'revoked' })
        await store.sessions.revokeSession('revoked', T0, 'logout')
        await addSession(store, { userId: other.id, id: 'others' })

        const now = T0 + 2 * HOUR
        const ids = await store.sessions.revokeUserSessions(u.id, now, 'logout_all', 'current')
        assert.deepEqual([...ids].sort(), ['a', 'b', 'c'])
        for (const id of ['a', 'b', 'c']) {
          const s = await store.sessions.findSession(id)
          assert.equal(s?.revokedAt, now)
          assert.equal(s?.revokedReason, 'logout_all')
        }
        assert.equal((await store.sessions.findSession('current'))?.revokedAt, null)
        assert.equal((await store.sessions.findSession('others'))?.revokedAt, null)
        assert.equal((await store.sessions.findSession('revoked'))?.revokedReason, 'logout')
        assert.equal(
          (await store.sessions.findSession('gone'))?.revokedAt,
          null,
          'expired: left as is',
        )

        assert.deepEqual(
          await store.sessions.revokeUserSessions(u.id, now + 1, 'password_change'),
          ['current'],
        )
        assert.deepEqual(await store.sessions.revokeUserSessions(u.id, now + 2, 'again'), [])
      })
    })

    describe('findRefreshTokenGrant', () => {
      it('the session of the token and its user, as the single reads return them', async () => {
        const u = await addUser(store, { roles: ['user', 'admin'], emailVerifiedAt: T0 + 5 })
        await addSession(store, {
          userId: u.id,
          id: 'grant',
          tokenHash: 'tok-g',
          createdAt: T0,
          expiresAt: T0 + 30 * DAY,
          tokenExpiresAt: T0 + 7 * DAY,
          amr: ['pwd', 'otp'],
          authTime: T0 + 1,
          dpopJkt: 'jkt-1',
        })
        const expected = async () => ({
          session: await store.sessions.findSession('grant'),
          user: await store.users.findUserById(u.id),
        })
        const grant = await store.sessions.findRefreshTokenGrant('tok-g')
        assert.deepEqual(grant, await expected())
        assert.equal(grant?.session.id, 'grant')
        assert.deepEqual(grant?.session.amr, ['pwd', 'otp'])
        assert.equal(grant?.session.dpopJkt, 'jkt-1')
        assert.deepEqual(grant?.user.roles, ['user', 'admin'])

        // It does not judge: used, disabled, revoked are all the rotation's to decide.
        const now = T0 + HOUR
        await store.sessions.rotateRefreshToken({
          tokenHash: 'tok-g',
          now,
          graceMs: GRACE,
          successor: next(1, now),
        })
        await store.users.updateUser(u.id, { disabled: true, updatedAt: now })
        await store.sessions.revokeSession('grant', now + 1, 'logout')
        const used = await store.sessions.findRefreshTokenGrant('tok-g')
        assert.deepEqual(used, await expected())
        assert.equal(used?.user.disabled, true)
        assert.equal(used?.session.revokedAt, now + 1)
        assert.equal(used?.session.lastUsedAt, now)
        assert.deepEqual(await store.sessions.findRefreshTokenGrant('succ-1'), await expected())
        assert.equal(await store.sessions.findRefreshTokenGrant('nope'), undefined)
      })
    })

    describe('rotateRefreshToken', () => {
      async function setup(): Promise<{ userId: string }> {
        const u = await addUser(store)
        await addSession(store, {
          userId: u.id,
          id: 'sess',
          tokenHash: 'tok-0',
          createdAt: T0,
          expiresAt: T0 + 30 * DAY,
          tokenExpiresAt: T0 + 7 * DAY,
        })
        return { userId: u.id }
      }

      const rotate = (tokenHash: string, now: number, successor: RotationSuccessor) =>
        store.sessions.rotateRefreshToken({ tokenHash, now, graceMs: GRACE, successor })

      it('rotated: marks the token used, stores the successor, touches the session', async () => {
        const { userId } = await setup()
        const now = T0 + HOUR
        const result = await rotate('tok-0', now, next(1, now))
        assert.equal(result.status, 'rotated')
        assert.equal(sessionOf(result)?.id, 'sess')
        assert.equal(sessionOf(result)?.userId, userId)
        assert.equal(sessionOf(result)?.lastUsedAt, now)

        assert.equal((await store.sessions.findRefreshToken('tok-0'))?.usedAt, now)
        assert.deepEqual(await store.sessions.findRefreshToken('succ-1'), {
          tokenHash: 'succ-1',
          sessionId: 'sess',
          createdAt: now,
          expiresAt: now + 7 * DAY,
          usedAt: null,
        })
        assert.equal((await store.sessions.findSession('sess'))?.lastUsedAt, now)
      })

      it('the successor rotates in turn', async () => {
        await setup()
        const t1 = T0 + HOUR
        const t2 = T0 + 2 * HOUR
        assert.equal((await rotate('tok-0', t1, next(1, t1))).status, 'rotated')
        const second = await rotate('succ-1', t2, next(2, t2))
        assert.equal(second.status, 'rotated')
        assert.equal(sessionOf(second)?.lastUsedAt, t2)
        assert.equal((await store.sessions.findRefreshToken('succ-2'))?.sessionId, 'sess')
      })

      it('within_grace: a second use inside the window gets the same sealed pair', async () => {
        await setup()
        const now = T0 + HOUR
        await rotate('tok-0', now, next(1, now))
        const again = await rotate('tok-0', now + 1, next(2, now + 1))
        assert.deepEqual(again.status, 'within_grace')
        assert.equal(again.status === 'within_grace' && again.sealedPair, 'sealed-1')
        assert.equal(sessionOf(again)?.id, 'sess')
        // Up to and including the window's last millisecond.
        const edge = await rotate('tok-0', now + GRACE, next(3, now + GRACE))
        assert.equal(edge.status, 'within_grace')
        // The loser's successor is not stored; the token keeps its first use.
        assert.equal(await store.sessions.findRefreshToken('succ-2'), undefined)
        assert.equal(await store.sessions.findRefreshToken('succ-3'), undefined)
        assert.equal((await store.sessions.findRefreshToken('tok-0'))?.usedAt, now)
      })

      it('reused: a second use after the window (the caller revokes)', async () => {
        await setup()
        const now = T0 + HOUR
        await rotate('tok-0', now, next(1, now))
        const late = await rotate('tok-0', now + GRACE + 1, next(2, now + GRACE + 1))
        assert.equal(late.status, 'reused')
        assert.equal(sessionOf(late)?.id, 'sess')
        assert.equal(await store.sessions.findRefreshToken('succ-2'), undefined)
        assert.equal(sessionOf(late)?.revokedAt, null, 'the store does not revoke by itself')
      })

      it('reused: inside the window but the sealed pair is already purged', async () => {
        await setup()
        const now = T0 + HOUR
        await rotate('tok-0', now, next(1, now))
        // A purge with a shorter window clears the pair early.
        await store.sessions.purgeExpired(now + 2 * SECOND, SECOND)
        const again = await rotate('tok-0', now + 3 * SECOND, next(2, now + 3 * SECOND))
        assert.equal(again.status, 'reused')
      })

      it('not_found: unknown token', async () => {
        await setup()
        assert.deepEqual(await rotate('nope', T0 + HOUR, next(1, T0 + HOUR)), {
          status: 'not_found',
        })
        assert.equal(await store.sessions.findRefreshToken('succ-1'), undefined)
      })

      it('not_found: token at or past its expiry', async () => {
        await setup()
        const at = T0 + 7 * DAY
        assert.deepEqual(await rotate('tok-0', at, next(1, at)), { status: 'not_found' })
        assert.equal((await store.sessions.findRefreshToken('tok-0'))?.usedAt, null)
        // One millisecond before, it still rotates.
        assert.equal((await rotate('tok-0', at - 1, next(2, at - 1))).status, 'rotated')
      })

      it('not_found: a used token past its expiry is not reported as reuse', async () => {
        await setup()
        await rotate('tok-0', T0 + HOUR, next(1, T0 + HOUR))
        const at = T0 + 7 * DAY
        assert.deepEqual(await rotate('tok-0', at, next(2, at)), { status: 'not_found' })
      })

      it('not_found: revoked session, before and after a rotation', async () => {
        await setup()
        const now = T0 + HOUR
        await store.sessions.revokeSession('sess', now, 'logout')
        assert.deepEqual(await rotate('tok-0', now + 1, next(1, now + 1)), { status: 'not_found' })
        assert.equal((await store.sessions.findRefreshToken('tok-0'))?.usedAt, null)
        assert.equal(await store.sessions.findRefreshToken('succ-1'), undefined)
      })

      it('not_found: a racing caller after the winner’s session was revoked', async () => {
        await setup()
        const now = T0 + HOUR
        await rotate('tok-0', now, next(1, now))
        await store.sessions.revokeSession('sess', now + 1, 'reuse')
        assert.deepEqual(await rotate('tok-0', now + 2, next(2, now + 2)), { status: 'not_found' })
      })

      it('not_found: session past its end even if the token is not', async () => {
        const u = await addUser(store)
        await addSession(store, {
          userId: u.id,
          id: 'short',
          tokenHash: 'tok-s',
          expiresAt: T0 + HOUR,
          tokenExpiresAt: T0 + DAY,
        })
        const at = T0 + HOUR
        assert.deepEqual(
          await store.sessions.rotateRefreshToken({
            tokenHash: 'tok-s',
            now: at,
            graceMs: GRACE,
            successor: next(1, at),
          }),
          { status: 'not_found' },
        )
        assert.equal((await store.sessions.findSession('short'))?.lastUsedAt, T0)
      })

      it('inside atomically: a rotation commits with the transaction, or not at all', async () => {
        await setup()
        const now = T0 + HOUR
        await assert.rejects(
          store.atomically(async () => {
            assert.equal((await rotate('tok-0', now, next(1, now))).status, 'rotated')
            throw new Error('rolled back')
          }),
          /rolled back/,
        )
        assert.equal((await store.sessions.findRefreshToken('tok-0'))?.usedAt, null)
        assert.equal(await store.sessions.findRefreshToken('succ-1'), undefined)
        assert.equal((await store.sessions.findSession('sess'))?.lastUsedAt, T0)
        const kept = await store.atomically(() => rotate('tok-0', now, next(2, now)))
        assert.equal(kept.status, 'rotated')
        assert.equal((await store.sessions.findRefreshToken('succ-2'))?.sessionId, 'sess')
        // A loser inside a transaction reads the winner's commit.
        const again = await store.atomically(() => rotate('tok-0', now + 1, next(3, now + 1)))
        assert.equal(again.status === 'within_grace' && again.sealedPair, 'sealed-2')
      })

      it('20 concurrent rotations: exactly one rotated, 19 within_grace with its pair', async () => {
        await setup()
        const now = T0 + HOUR
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => rotate('tok-0', now, next(i, now))),
        )
        const rotated = results.filter((r) => r.status === 'rotated')
        assert.equal(rotated.length, 1)
        const graced = results.filter((r) => r.status === 'within_grace')
        assert.equal(graced.length, 19)
        // Exactly one successor was stored, and every loser got its pair.
        const stored: number[] = []
        for (let i = 0; i < 20; i++) {
          if (await store.sessions.findRefreshToken(`succ-${i}`)) stored.push(i)
        }
        assert.equal(stored.length, 1)
        const pairs = new Set(graced.map((r) => r.status === 'within_grace' && r.sealedPair))
        assert.deepEqual([...pairs], [`sealed-${stored[0]}`])
      })
    })

    describe('purgeExpired', () => {
      it('deletes expired tokens and sessions, clears old sealed pairs, keeps the rest', async () => {
        const u = await addUser(store)
        // A live session whose first token was rotated an hour ago.
        await addSession(store, { userId: u.id, id: 'live', tokenHash: 'live-0' })
        await store.sessions.rotateRefreshToken({
          tokenHash: 'live-0',
          now: T0 + HOUR,
          graceMs: GRACE,
          successor: next(1, T0 + HOUR),
        })
        // Rotated just now: its pair is still inside the window.
        await addSession(store, { userId: u.id, id: 'fresh', tokenHash: 'fresh-0' })
        const now = T0 + 2 * HOUR
        await store.sessions.rotateRefreshToken({
          tokenHash: 'fresh-0',
          now: now - 1,
          graceMs: GRACE,
          successor: next(2, now - 1),
        })
        // A live session with an expired token.
        await addSession(store, {
          userId: u.id,
          id: 'idle',
          tokenHash: 'idle-0',
          tokenExpiresAt: now,
        })
        // An expired session with a token that (wrongly) outlives it.
        await addSession(store, {
          userId: u.id,
          id: 'ended',
          tokenHash: 'ended-0',
          expiresAt: now - 1,
          tokenExpiresAt: now + DAY,
        })

        // idle-0 and ended-0 deleted, 'ended' deleted, live-0's pair cleared.
        assert.equal(await store.sessions.purgeExpired(now, GRACE), 4)

        assert.equal(await store.sessions.findRefreshToken('idle-0'), undefined)
        assert.equal(await store.sessions.findRefreshToken('ended-0'), undefined)
        assert.equal(await store.sessions.findSession('ended'), undefined)
        assert.ok(await store.sessions.findSession('idle'), 'the session itself is live')
        assert.ok(await store.sessions.findSession('live'))
        // Used tokens stay until they expire, for reuse detection.
        assert.equal((await store.sessions.findRefreshToken('live-0'))?.usedAt, T0 + HOUR)
        assert.ok(await store.sessions.findRefreshToken('succ-1'))
        assert.equal(
          (
            await store.sessions.rotateRefreshToken({
              tokenHash: 'fresh-0',
              now,
              graceMs: GRACE,
              successor: next(3, now),
            })
          ).status,
          'within_grace',
          'a pair inside the window survives',
        )
        assert.equal(await store.sessions.purgeExpired(now, GRACE), 0, 'nothing left to purge')
      })
    })

    describe('keys', () => {
      it('insertKey and listKeys round-trip, ordered by activation', async () => {
        const later = key('kid-b', T0 + DAY)
        const first = key('kid-a', T0)
        const retired: SigningKeyRecord = {
          ...key('kid-0', T0 - 30 * DAY),
          retiresAt: T0,
          expiresAt: T0 + HOUR,
        }
        await store.keys.insertKey(later)
        await store.keys.insertKey(first)
        await store.keys.insertKey(retired)
        assert.deepEqual(await store.keys.listKeys(), [retired, first, later])
      })

      it('a duplicate kid is rejected', async () => {
        await store.keys.insertKey(key('kid-a', T0))
        await assert.rejects(store.keys.insertKey(key('kid-a', T0 + 1)))
        assert.equal((await store.keys.listKeys()).length, 1)
      })

      it('retireKey sets retiresAt and expiresAt of that key only', async () => {
        await store.keys.insertKey(key('kid-a', T0))
        await store.keys.insertKey(key('kid-b', T0 + 1))
        await store.keys.retireKey('kid-a', T0 + DAY, T0 + DAY + 15 * MINUTE)
        const [a, b] = await store.keys.listKeys()
        assert.equal(a?.retiresAt, T0 + DAY)
        assert.equal(a?.expiresAt, T0 + DAY + 15 * MINUTE)
        assert.equal(b?.retiresAt, null)
        assert.equal(b?.expiresAt, null)
      })

      it('deleteExpiredKeys deletes keys whose expiresAt has passed', async () => {
        await store.keys.insertKey({ ...key('old', T0 - DAY), retiresAt: T0 - HOUR, expiresAt: T0 })
        await store.keys.insertKey({ ...key('ending', T0), retiresAt: T0, expiresAt: T0 + 1 })
        await store.keys.insertKey(key('current', T0 + 1))
        assert.equal(await store.keys.deleteExpiredKeys(T0), 1)
        assert.deepEqual(
          (await store.keys.listKeys()).map((k) => k.kid),
          ['ending', 'current'],
        )
        assert.equal(await store.keys.deleteExpiredKeys(T0), 0)
        assert.equal(await store.keys.deleteExpiredKeys(T0 + 100 * DAY), 1, 'never the current key')
      })

      it('withRotationLock returns what fn returns, and fn can use the store', async () => {
        const result = await store.keys.withRotationLock(async () => {
          await store.keys.insertKey(key('kid-a', T0))
          return (await store.keys.listKeys()).length
        })
        assert.equal(result, 1)
        assert.equal((await store.keys.listKeys()).length, 1)
      })

      it('withRotationLock passes fn’s error on and releases the lock', async () => {
        await assert.rejects(
          store.keys.withRotationLock(async () => {
            throw new Error('boom')
          }),
          /boom/,
        )
        assert.equal(await store.keys.withRotationLock(async () => 'again'), 'again')
      })

      it('withRotationLock is re-entrant', async () => {
        const inner = await store.keys.withRotationLock(() =>
          store.keys.withRotationLock(async () => {
            await store.keys.insertKey(key('kid-nested', T0))
            return 'inner'
          }),
        )
        assert.equal(inner, 'inner')
        assert.deepEqual(
          (await store.keys.listKeys()).map((k) => k.kid),
          ['kid-nested'],
        )
      })

      it('withRotationLock serializes concurrent callers: the second sees the first’s key', async () => {
        const events: string[] = []
        // Each caller rotates only if no key exists: without the lock both
        // would read an empty list and both insert.
        const rotateIfEmpty = (name: string) =>
          store.keys.withRotationLock(async () => {
            events.push(`${name}:in`)
            const before = await store.keys.listKeys()
            await new Promise<void>((done) => setImmediate(done))
            if (before.length === 0) await store.keys.insertKey(key(`kid-${name}`, T0))
            await new Promise<void>((done) => setImmediate(done))
            events.push(`${name}:out`)
            return before.map((k) => k.kid)
          })
        const [seenByA, seenByB] = await Promise.all([rotateIfEmpty('a'), rotateIfEmpty('b')])
        const keys = (await store.keys.listKeys()).map((k) => k.kid)
        assert.equal(keys.length, 1, 'exactly one caller inserted')
        assert.ok(
          (seenByA.length === 0 && seenByB.length === 1) ||
            (seenByB.length === 0 && seenByA.length === 1),
          'the second caller saw the first one’s key',
        )
        // No interleaving: each caller left before the other entered.
        assert.ok(
          events.join() === 'a:in,a:out,b:in,b:out' || events.join() === 'b:in,b:out,a:in,a:out',
          events.join(),
        )
      })
    })

    describe('revocations', () => {
      const jti = (value: string, expiresAt: number): RevocationEntry => ({
        kind: 'jti',
        value,
        expiresAt,
      })

      it('addRevocations stores every kind and returns them with increasing ids', async () => {
        const stored = await store.revocations.addRevocations(
          [
            jti('j1', T0 + HOUR),
            { kind: 'sid', value: 's1', expiresAt: T0 + HOUR },
            { kind: 'sub', value: 'u1', before: T0 / 1000, expiresAt: T0 + HOUR },
          ],
          T0,
        )
        assert.equal(stored.length, 3)
        assert.ok(stored.every((r, i) => i === 0 || r.id > (stored[i - 1]?.id ?? Infinity)))
        assert.deepEqual(
          stored.map(({ id: _id, ...rest }) => rest),
          [
            { kind: 'jti', value: 'j1', expiresAt: T0 + HOUR, createdAt: T0 },
            { kind: 'sid', value: 's1', expiresAt: T0 + HOUR, createdAt: T0 },
            { kind: 'sub', value: 'u1', before: T0 / 1000, expiresAt: T0 + HOUR, createdAt: T0 },
          ],
        )
        assert.deepEqual(await store.revocations.listRevocations(0, T0, 10), stored)
        assert.deepEqual(await store.revocations.addRevocations([], T0), [])
      })

      it('listRevocations: id > since, not expired at now, in id order, up to limit', async () => {
        const first = await store.revocations.addRevocations(
          [jti('a', T0 + HOUR), jti('b', T0 + MINUTE)],
          T0,
        )
        const second = await store.revocations.addRevocations(
          [jti('c', T0 + HOUR), jti('d', T0 + HOUR)],
          T0 + 1,
        )
        const all = [...first, ...second]
        const values = async (since: number, now: number, limit: number) =>
          (await store.revocations.listRevocations(since, now, limit)).map((r) => r.value)
        assert.deepEqual(await values(0, T0, 10), ['a', 'b', 'c', 'd'])
        assert.deepEqual(await values(all[1]?.id ?? 0, T0, 10), ['c', 'd'])
        assert.deepEqual(await values(all[3]?.id ?? 0, T0, 10), [])
        assert.deepEqual(await values(0, T0, 2), ['a', 'b'])
        // 'b' expires at T0 + MINUTE: gone from that instant on.
        assert.deepEqual(await values(0, T0 + MINUTE - 1, 10), ['a', 'b', 'c', 'd'])
        assert.deepEqual(await values(0, T0 + MINUTE, 10), ['a', 'c', 'd'])
        assert.deepEqual(await values(0, T0 + HOUR, 10), [])
      })

      it('ids keep increasing across calls, even after the newest entries are deleted', async () => {
        const [a] = await store.revocations.addRevocations([jti('a', T0 + HOUR)], T0)
        const [b] = await store.revocations.addRevocations([jti('b', T0 + MINUTE)], T0)
        assert.ok(a && b && b.id > a.id)
        assert.equal(await store.revocations.deleteExpiredRevocations(T0 + MINUTE), 1)
        const [c] = await store.revocations.addRevocations([jti('c', T0 + HOUR)], T0)
        assert.ok(c && c.id > b.id, 'a deleted id is never handed out again (the feed cursor)')
        assert.deepEqual(
          (await store.revocations.listRevocations(b.id, T0, 10)).map((r) => r.value),
          ['c'],
        )
      })

      it('deleteExpiredRevocations deletes only expired entries and counts them', async () => {
        await store.revocations.addRevocations(
          [jti('a', T0), jti('b', T0 + 1), jti('c', T0 + 2)],
          T0 - HOUR,
        )
        assert.equal(await store.revocations.deleteExpiredRevocations(T0 + 1), 2)
        assert.deepEqual(
          (await store.revocations.listRevocations(0, T0 - HOUR, 10)).map((r) => r.value),
          ['c'],
        )
        assert.equal(await store.revocations.deleteExpiredRevocations(T0 + 1), 0)
      })
    })

    describe('audit', () => {
      async function seed(): Promise<void> {
        const rows = [
          audit({ at: T0, event: 'user.signup', userId: 'u1' }),
          audit({ at: T0 + 1, event: 'user.login', userId: 'u1', sessionId: 's1' }),
          audit({ at: T0 + 2, event: 'user.login', userId: 'u2', ip: '198.51.100.1' }),
          audit({ at: T0 + 3, event: 'refresh.reused', userId: 'u1', sessionId: 's1' }),
          audit({ at: T0 + 4, event: 'key.rotated', userId: null }),
        ]
        for (const row of rows) await store.audit.appendAudit(row)
      }

      it('appendAudit and listAudit round-trip, newest first', async () => {
        const event = audit({
          at: T0,
          event: 'user.login',
          userId: 'u1',
          sessionId: 's1',
          ip: '2001:db8::1',
          details: { method: 'password', nested: { ok: true, n: 3 }, list: ['a'] },
        })
        await store.audit.appendAudit(event)
        await store.audit.appendAudit(audit({ at: T0 + 1, event: 'user.logout' }))
        const listed = await store.audit.listAudit({ limit: 10 })
        assert.deepEqual(
          listed.map((e) => e.event),
          ['user.logout', 'user.login'],
        )
        const [newest, oldest] = listed
        assert.ok(newest && oldest && newest.id > oldest.id)
        const { id: _id, ...rest } = oldest
        assert.deepEqual(rest, event)
      })

      it('filters by user and by event, alone and together', async () => {
        await seed()
        const events = async (options: { userId?: string; event?: string }) =>
          (await store.audit.listAudit({ limit: 10, ...options })).map(
            (e) => `${e.event}@${e.at - T0}`,
          )
        assert.deepEqual(await events({ userId: 'u1' }), [
          'refresh.reused@3',
          'user.login@1',
          'user.signup@0',
        ])
        assert.deepEqual(await events({ event: 'user.login' }), ['user.login@2', 'user.login@1'])
        assert.deepEqual(await events({ userId: 'u1', event: 'user.login' }), ['user.login@1'])
        assert.deepEqual(await events({ userId: 'nobody' }), [])
      })

      it('deleteAuditBefore deletes the oldest entries before a time, at most limit a call', async () => {
        // Inserted out of time order: the oldest go first, whatever their id.
        for (const offset of [3, 0, 2, 1, 5]) {
          await store.audit.appendAudit(audit({ at: T0 + offset * DAY, event: `e${offset}` }))
        }
        const left = async () =>
          (await store.audit.listAudit({ limit: 10 })).map((e) => e.event).sort()
        assert.equal(await store.audit.deleteAuditBefore(T0 + 3 * DAY, 2), 2)
        assert.deepEqual(await left(), ['e2', 'e3', 'e5'])
        assert.equal(await store.audit.deleteAuditBefore(T0 + 3 * DAY, 2), 1)
        assert.equal(await store.audit.deleteAuditBefore(T0 + 3 * DAY, 2), 0)
        assert.deepEqual(await left(), ['e3', 'e5'], 'an entry exactly at the cut-off stays')
        await assert.rejects(store.audit.deleteAuditBefore(T0, -1), RangeError)
      })

      it('pages with limit and the before cursor (an id)', async () => {
        await seed()
        const page1 = await store.audit.listAudit({ limit: 2 })
        assert.deepEqual(
          page1.map((e) => e.event),
          ['key.rotated', 'refresh.reused'],
        )
        const page2 = await store.audit.listAudit({ limit: 2, before: page1.at(-1)?.id ?? 0 })
        assert.deepEqual(
          page2.map((e) => e.event),
          ['user.login', 'user.login'],
        )
        const page3 = await store.audit.listAudit({ limit: 2, before: page2.at(-1)?.id ?? 0 })
        assert.deepEqual(
          page3.map((e) => e.event),
          ['user.signup'],
        )
        const filtered = await store.audit.listAudit({
          limit: 10,
          userId: 'u1',
          before: page1.at(-1)?.id ?? 0,
        })
        assert.deepEqual(
          filtered.map((e) => e.event),
          ['user.login', 'user.signup'],
        )
      })
    })

    describe('atomically', () => {
      it('commits every call of fn together and returns what fn returns', async () => {
        const u = await addUser(store)
        const result = await store.atomically(async () => {
          await store.users.updateUser(u.id, { emailVerifiedAt: T0 + 1, updatedAt: T0 + 1 })
          await store.oneTimeTokens.createToken(oneTimeToken({ userId: u.id, hash: 'h-1' }), T0)
          await store.outbox.enqueue(outboxMessage('m-1', { userId: u.id }))
          return 'done'
        })
        assert.equal(result, 'done')
        assert.equal((await store.users.findUserById(u.id))?.emailVerifiedAt, T0 + 1)
        assert.deepEqual(await messageIds(store), ['m-1'])
        assert.equal(
          (await store.oneTimeTokens.consumeToken('h-1', 'verify_email', T0))?.hash,
          'h-1',
        )
      })

      it('rolls every call of fn back together when fn throws, and passes the error on', async () => {
        const u = await addUser(store)
        await assert.rejects(
          store.atomically(async () => {
            await store.users.updateUser(u.id, { name: 'Changed', updatedAt: T0 + 1 })
            await store.oneTimeTokens.createToken(oneTimeToken({ userId: u.id, hash: 'h-1' }), T0)
            await store.outbox.enqueue(outboxMessage('m-1'))
            throw new Error('boom')
          }),
          /boom/,
        )
        assert.deepEqual(await store.users.findUserById(u.id), u, 'no user change')
        assert.deepEqual(await messageIds(store), [], 'no outbox row')
        assert.equal(await store.oneTimeTokens.consumeToken('h-1', 'verify_email', T0), undefined)
        // And the store is usable afterwards.
        await store.atomically(() => store.outbox.enqueue(outboxMessage('m-2')))
        assert.deepEqual(await messageIds(store), ['m-2'])
      })

      it('a failing statement rolls back what fn wrote before it', async () => {
        await assert.rejects(
          store.atomically(async () => {
            await store.outbox.enqueue(outboxMessage('m-1'))
            await store.outbox.enqueue(outboxMessage('m-1'))
          }),
        )
        assert.deepEqual(await messageIds(store), [])
      })

      it('a nested call joins the outer transaction: the outer throw undoes both', async () => {
        await assert.rejects(
          store.atomically(async () => {
            const inner = await store.atomically(async () => {
              await store.outbox.enqueue(outboxMessage('inner'))
              return 'inner'
            })
            assert.equal(inner, 'inner')
            await store.outbox.enqueue(outboxMessage('outer'))
            throw new Error('boom')
          }),
          /boom/,
        )
        assert.deepEqual(await messageIds(store), [])
        await store.atomically(() =>
          store.atomically(() => store.outbox.enqueue(outboxMessage('nested'))),
        )
        assert.deepEqual(await messageIds(store), ['nested'])
      })

      it('joins the rotation lock both ways', async () => {
        await store.atomically(() =>
          store.keys.withRotationLock(async () => {
            await store.keys.insertKey(key('kid-a', T0))
            await store.outbox.enqueue(outboxMessage('m-a'))
          }),
        )
        await assert.rejects(
          store.keys.withRotationLock(() =>
            store.atomically(async () => {
              await store.keys.insertKey(key('kid-b', T0))
              await store.outbox.enqueue(outboxMessage('m-b'))
              throw new Error('boom')
            }),
          ),
          /boom/,
        )
        assert.deepEqual(
          (await store.keys.listKeys()).map((k) => k.kid),
          ['kid-a'],
        )
        assert.deepEqual(await messageIds(store), ['m-a'])
      })

      it('concurrent transactions stay apart: one rolls back, the other commits', async () => {
        const results = await Promise.allSettled([
          store.atomically(async () => {
            await store.outbox.enqueue(outboxMessage('a-1'))
            await tick()
            await store.outbox.enqueue(outboxMessage('a-2'))
            throw new Error('boom')
          }),
          store.atomically(async () => {
            await store.outbox.enqueue(outboxMessage('b-1'))
            await tick()
            await store.outbox.enqueue(outboxMessage('b-2'))
          }),
        ])
        assert.deepEqual(
          results.map((r) => r.status),
          ['rejected', 'fulfilled'],
        )
        assert.deepEqual((await messageIds(store)).sort(), ['b-1', 'b-2'])
      })

      it('a call from outside fn, made while the transaction is open, runs outside it and is not lost', async () => {
        let entered = () => {}
        const inside = new Promise<void>((resolve) => {
          entered = resolve
        })
        let release = () => {}
        const gate = new Promise<void>((resolve) => {
          release = resolve
        })
        const failing = store.atomically(async () => {
          await store.outbox.enqueue(outboxMessage('inside'))
          entered()
          await gate
          throw new Error('boom')
        })
        await inside
        // This test's own context, not fn's: a different caller.
        const outside = store.outbox.enqueue(outboxMessage('outside'))
        await tick()
        release()
        await assert.rejects(failing, /boom/)
        await outside
        assert.deepEqual(await messageIds(store), ['outside'])
      })

      it("'email_taken' inside a transaction is an answer: the transaction carries on", async () => {
        const owner = await addUser(store, { email: 'taken@example.com' })
        const other = await addUser(store, { email: 'other@example.com' })
        const [created, changed] = await store.atomically(async () => {
          const created = await store.users.createUser(user({ email: 'taken@example.com' }))
          const changed = await store.users.changeEmail(other.id, 'taken@example.com', T0 + 1)
          await store.outbox.enqueue(outboxMessage('notice', { userId: owner.id }))
          return [created, changed]
        })
        assert.equal(created, 'email_taken')
        assert.equal(changed, 'email_taken')
        assert.deepEqual(await messageIds(store), ['notice'])
        assert.equal(await store.users.countUsers(), 2)
      })

      if (options.reopen) {
        const reopen = options.reopen
        it('another connection sees nothing until the commit, then everything', async () => {
          const other = await reopen(store)
          opened.push(other)
          let release = () => {}
          const gate = new Promise<void>((resolve) => {
            release = resolve
          })
          let entered = () => {}
          const inside = new Promise<void>((resolve) => {
            entered = resolve
          })
          const done = store.atomically(async () => {
            await store.outbox.enqueue(outboxMessage('m-1'))
            await store.outbox.enqueue(outboxMessage('m-2'))
            entered()
            await gate
          })
          await inside
          assert.deepEqual(await messageIds(other), [])
          release()
          await done
          assert.deepEqual((await messageIds(other)).sort(), ['m-1', 'm-2'])
        })
      }
    })

    describe('outbox', () => {
      const LEASE = 5 * MINUTE

      it('enqueue stores a pending message, due at once; listMessages returns it whole', async () => {
        await store.outbox.enqueue(outboxMessage('m-1', { userId: 'u-1' }))
        assert.deepEqual(await store.outbox.listMessages({ limit: 10 }), [
          {
            id: 'm-1',
            to: 'ada@example.com',
            template: 'verify_email',
            sealedData: 'sealed:m-1',
            userId: 'u-1',
            createdAt: T0,
            status: 'pending',
            attempts: 0,
            nextAttemptAt: T0,
            lastError: null,
            sentAt: null,
          },
        ])
        await assert.rejects(store.outbox.enqueue(outboxMessage('m-1')), 'a duplicate id')
      })

      it('claimDue takes due messages, oldest first, up to limit, under a lease', async () => {
        await store.outbox.enqueue(outboxMessage('m-late', { createdAt: T0 + 2 }))
        await store.outbox.enqueue(outboxMessage('m-old', { createdAt: T0 }))
        await store.outbox.enqueue(outboxMessage('m-mid', { createdAt: T0 + 1 }))
        await store.outbox.enqueue(outboxMessage('m-future', { createdAt: T0 + HOUR }))
        assert.deepEqual(await store.outbox.claimDue(T0 - 1, 10, LEASE), [], 'nothing due yet')

        const now = T0 + MINUTE
        const first = await store.outbox.claimDue(now, 2, LEASE)
        assert.deepEqual(
          first.map((m) => m.id),
          ['m-old', 'm-mid'],
        )
        for (const message of first) {
          assert.equal(message.status, 'sending')
          assert.equal(message.attempts, 1)
          assert.equal(message.nextAttemptAt, now + LEASE)
        }
        assert.deepEqual(
          (await store.outbox.claimDue(now, 10, LEASE)).map((m) => m.id),
          ['m-late'],
          'claimed ones are not handed out again while their lease runs',
        )
        assert.deepEqual(await store.outbox.claimDue(now, 10, LEASE), [])
        assert.deepEqual(await store.outbox.claimDue(now, 0, LEASE), [])
        await assert.rejects(store.outbox.claimDue(now, -1, LEASE), RangeError)
      })

      it('a message whose lease ran out (its worker died) is claimed again', async () => {
        await store.outbox.enqueue(outboxMessage('m-1'))
        const [claimed] = await store.outbox.claimDue(T0, 10, LEASE)
        assert.equal(claimed?.attempts, 1)
        assert.deepEqual(await store.outbox.claimDue(T0 + LEASE - 1, 10, LEASE), [])
        const [again] = await store.outbox.claimDue(T0 + LEASE, 10, LEASE)
        assert.equal(again?.id, 'm-1')
        assert.equal(again?.attempts, 2)
        assert.equal(again?.nextAttemptAt, T0 + 2 * LEASE)
      })

      it('markSent: sent for good, never claimed again, a late failure changes nothing', async () => {
        await store.outbox.enqueue(outboxMessage('m-1'))
        await store.outbox.claimDue(T0, 10, LEASE)
        await store.outbox.markSent('m-1', T0 + 10)
        await store.outbox.markFailed('m-1', 'late timeout', T0 + MINUTE)
        const [sent] = await store.outbox.listMessages({ limit: 10 })
        assert.equal(sent?.status, 'sent')
        assert.equal(sent?.sentAt, T0 + 10)
        assert.equal(sent?.lastError, null)
        assert.deepEqual(await store.outbox.claimDue(T0 + DAY, 10, LEASE), [])
      })

      it('markFailed: pending again at retryAt with the error, dead when retryAt is null', async () => {
        await store.outbox.enqueue(outboxMessage('m-1'))
        await store.outbox.claimDue(T0, 10, LEASE)
        await store.outbox.markFailed('m-1', '421 try again later', T0 + MINUTE)
        let [message] = await store.outbox.listMessages({ limit: 10 })
        assert.equal(message?.status, 'pending')
        assert.equal(message?.lastError, '421 try again later')
        assert.equal(message?.nextAttemptAt, T0 + MINUTE)
        assert.deepEqual(await store.outbox.claimDue(T0 + MINUTE - 1, 10, LEASE), [])

        const [retried] = await store.outbox.claimDue(T0 + MINUTE, 10, LEASE)
        assert.equal(retried?.attempts, 2)
        assert.equal(retried?.lastError, '421 try again later', 'kept while it is retried')
        await store.outbox.markFailed('m-1', '550 no such user', null)
        ;[message] = await store.outbox.listMessages({ limit: 10 })
        assert.equal(message?.status, 'dead')
        assert.equal(message?.lastError, '550 no such user')
        assert.equal(message?.attempts, 2)
        assert.deepEqual(await store.outbox.claimDue(T0 + DAY, 10, LEASE), [], 'dead stays dead')
        await store.outbox.markFailed('m-1', 'again', T0 + DAY)
        assert.equal((await store.outbox.listMessages({ limit: 10 }))[0]?.status, 'dead')
      })

      it('markFailed keeps the first 1000 characters of the error', async () => {
        await store.outbox.enqueue(outboxMessage('m-1'))
        await store.outbox.claimDue(T0, 10, LEASE)
        await store.outbox.markFailed('m-1', 'x'.repeat(5000), null)
        assert.equal((await store.outbox.listMessages({ limit: 1 }))[0]?.lastError?.length, 1000)
      })

      it('listMessages: newest first, by status, up to limit; countByStatus counts each', async () => {
        for (const [id, offset] of [
          ['a', 0],
          ['b', 1],
          ['c', 2],
          ['d', 3],
          ['e', 4],
        ] as const) {
          await store.outbox.enqueue(outboxMessage(id, { createdAt: T0 + offset }))
        }
        assert.deepEqual(await store.outbox.countByStatus(), {
          pending: 5,
          sending: 0,
          sent: 0,
          dead: 0,
        })
        await store.outbox.claimDue(T0 + 10, 3, LEASE) // a, b, c
        await store.outbox.markSent('a', T0 + 20)
        await store.outbox.markFailed('b', 'refused', null)
        const ids = async (options: { limit: number; status?: OutboxMessage['status'] }) =>
          (await store.outbox.listMessages(options)).map((m) => m.id)
        assert.deepEqual(await ids({ limit: 10 }), ['e', 'd', 'c', 'b', 'a'])
        assert.deepEqual(await ids({ limit: 2 }), ['e', 'd'])
        assert.deepEqual(await ids({ limit: 10, status: 'pending' }), ['e', 'd'])
        assert.deepEqual(await ids({ limit: 10, status: 'sending' }), ['c'])
        assert.deepEqual(await ids({ limit: 10, status: 'sent' }), ['a'])
        assert.deepEqual(await ids({ limit: 10, status: 'dead' }), ['b'])
        assert.deepEqual(await store.outbox.countByStatus(), {
          pending: 2,
          sending: 1,
          sent: 1,
          dead: 1,
        })
        await assert.rejects(store.outbox.listMessages({ limit: -1 }), RangeError)
      })

      it('deleteFinishedBefore deletes the oldest sent and dead messages, never waiting ones', async () => {
        const finish = async (id: string, createdAt: number, outcome: 'sent' | 'dead') => {
          await store.outbox.enqueue(outboxMessage(id, { createdAt }))
          await store.outbox.claimDue(createdAt, 1, LEASE)
          if (outcome === 'sent') await store.outbox.markSent(id, createdAt + 1)
          else await store.outbox.markFailed(id, 'refused', null)
        }
        await finish('sent-old', T0, 'sent')
        await finish('dead-old', T0 + 1, 'dead')
        await finish('sent-new', T0 + 2 * DAY, 'sent')
        await finish('sent-at-cutoff', T0 + DAY, 'sent')
        await store.outbox.enqueue(outboxMessage('sending-old', { createdAt: T0 - DAY }))
        await store.outbox.claimDue(T0 - DAY, 1, LEASE)
        await store.outbox.enqueue(outboxMessage('pending-old', { createdAt: T0 - DAY + 1 }))

        assert.equal(await store.outbox.deleteFinishedBefore(T0 + DAY, 1), 1)
        assert.equal(await store.outbox.deleteFinishedBefore(T0 + DAY, 1), 1)
        assert.equal(await store.outbox.deleteFinishedBefore(T0 + DAY, 1), 0)
        assert.deepEqual((await messageIds(store)).sort(), [
          'pending-old',
          'sending-old',
          'sent-at-cutoff',
          'sent-new',
        ])
        await assert.rejects(store.outbox.deleteFinishedBefore(T0, -1), RangeError)
      })

      it('concurrent claimers get disjoint sets that cover every message', async () => {
        const ids = Array.from({ length: 30 }, (_, i) => `m-${String(i).padStart(2, '0')}`)
        for (const id of ids) await store.outbox.enqueue(outboxMessage(id))
        const claimed = await drain([store, store, store, store, store], T0, 4, LEASE)
        assert.deepEqual([...claimed].sort(), ids, 'each exactly once')
      })

      if (options.reopen) {
        const reopen = options.reopen
        it('two stores on one database (two instances) claim disjoint sets that cover every message', async () => {
          const other = await reopen(store)
          opened.push(other)
          const ids = Array.from({ length: 40 }, (_, i) => `m-${String(i).padStart(2, '0')}`)
          for (const id of ids) await store.outbox.enqueue(outboxMessage(id))
          const claimed = await drain([store, other, store, other], T0, 3, LEASE)
          assert.deepEqual([...claimed].sort(), ids, 'each exactly once')
          const counts = await other.outbox.countByStatus()
          assert.equal(counts.sending, 40)
        })
      }
    })

    describe('one-time tokens', () => {
      it('createToken and consumeToken: the record once, marked used; then nothing', async () => {
        const u = await addUser(store)
        const created = oneTimeToken({ userId: u.id, hash: 'h-1', purpose: 'reset_password' })
        await store.oneTimeTokens.createToken(created, T0)
        assert.deepEqual(await store.oneTimeTokens.consumeToken('h-1', 'reset_password', T0 + 5), {
          ...created,
          attempts: 0,
          usedAt: T0 + 5,
        })
        assert.equal(
          await store.oneTimeTokens.consumeToken('h-1', 'reset_password', T0 + 6),
          undefined,
        )
        assert.equal(
          await store.oneTimeTokens.consumeToken('unknown', 'reset_password', T0),
          undefined,
        )
      })

      it('a token serves its own purpose only', async () => {
        const u = await addUser(store)
        await store.oneTimeTokens.createToken(
          oneTimeToken({ userId: u.id, hash: 'h-1', purpose: 'verify_email' }),
          T0,
        )
        for (const purpose of [
          'reset_password',
          'sign_in',
          'sign_in_code',
          'change_email',
        ] as const) {
          assert.equal(await store.oneTimeTokens.consumeToken('h-1', purpose, T0), undefined)
        }
        assert.ok(await store.oneTimeTokens.consumeToken('h-1', 'verify_email', T0), 'still usable')
      })

      it('expires at expiresAt: usable one millisecond before, not at it', async () => {
        const u = await addUser(store)
        const v = await addUser(store)
        await store.oneTimeTokens.createToken(
          oneTimeToken({ userId: u.id, hash: 'h-u', expiresAt: T0 + HOUR }),
          T0,
        )
        await store.oneTimeTokens.createToken(
          oneTimeToken({ userId: v.id, hash: 'h-v', expiresAt: T0 + HOUR }),
          T0,
        )
        assert.equal(
          await store.oneTimeTokens.consumeToken('h-u', 'verify_email', T0 + HOUR),
          undefined,
        )
        assert.ok(await store.oneTimeTokens.consumeToken('h-v', 'verify_email', T0 + HOUR - 1))
        assert.equal(
          await store.oneTimeTokens.countFailedAttempt(u.id, 'verify_email', T0 + HOUR),
          undefined,
        )
      })

      it('of 20 concurrent consumers exactly one gets the record', async () => {
        const u = await addUser(store)
        await store.oneTimeTokens.createToken(oneTimeToken({ userId: u.id, hash: 'h-race' }), T0)
        const results = await Promise.all(
          Array.from({ length: 20 }, () =>
            store.oneTimeTokens.consumeToken('h-race', 'verify_email', T0 + 1),
          ),
        )
        const winners = results.filter((r) => r !== undefined)
        assert.equal(winners.length, 1)
        assert.equal(winners[0]?.hash, 'h-race')
      })

      it('a new token ends the older unused ones of the same user and purpose, only those', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        const create = (hash: string, userId: string, purpose: OneTimePurpose, at: number) =>
          store.oneTimeTokens.createToken(
            oneTimeToken({ hash, userId, purpose, createdAt: at }),
            at,
          )
        await create('first', u.id, 'sign_in', T0)
        await create('reset', u.id, 'reset_password', T0)
        await create('others', other.id, 'sign_in', T0)
        await create('second', u.id, 'sign_in', T0 + 1)
        assert.equal(await store.oneTimeTokens.consumeToken('first', 'sign_in', T0 + 2), undefined)
        assert.ok(await store.oneTimeTokens.consumeToken('reset', 'reset_password', T0 + 2))
        assert.ok(await store.oneTimeTokens.consumeToken('others', 'sign_in', T0 + 2))
        assert.ok(await store.oneTimeTokens.consumeToken('second', 'sign_in', T0 + 2))
      })

      it('a hash drawn again for its user replaces the dead token (a code repeats one in a million)', async () => {
        const u = await addUser(store)
        const code = (at: number) =>
          store.oneTimeTokens.createToken(
            oneTimeToken({ hash: 'h-code', userId: u.id, purpose: 'sign_in_code', createdAt: at }),
            at,
          )
        await code(T0)
        assert.ok(await store.oneTimeTokens.consumeToken('h-code', 'sign_in_code', T0 + 1))
        await code(T0 + 2)
        const again = await store.oneTimeTokens.consumeToken('h-code', 'sign_in_code', T0 + 3)
        assert.equal(again?.createdAt, T0 + 2)
        // Unused and drawn again: the older is ended first, then replaced.
        await code(T0 + 4)
        await code(T0 + 5)
        assert.equal(
          (await store.oneTimeTokens.consumeToken('h-code', 'sign_in_code', T0 + 6))?.createdAt,
          T0 + 5,
        )
      })

      it('of 10 concurrent createToken calls for one user and purpose, one token is left usable', async () => {
        const u = await addUser(store)
        const hashes = Array.from({ length: 10 }, (_, i) => `h-${i}`)
        await Promise.all(
          hashes.map((hash) =>
            store.oneTimeTokens.createToken(oneTimeToken({ userId: u.id, hash }), T0),
          ),
        )
        const usable = []
        for (const hash of hashes) {
          if (await store.oneTimeTokens.consumeToken(hash, 'verify_email', T0 + 1))
            usable.push(hash)
        }
        assert.equal(usable.length, 1, String(usable))
      })

      it('countFailedAttempt counts down to the token’s death, and dead it cannot be consumed', async () => {
        const u = await addUser(store)
        await store.oneTimeTokens.createToken(
          oneTimeToken({ userId: u.id, hash: 'h-code', purpose: 'sign_in', maxAttempts: 3 }),
          T0,
        )
        const count = () => store.oneTimeTokens.countFailedAttempt(u.id, 'sign_in', T0 + 1)
        assert.equal(
          await store.oneTimeTokens.countFailedAttempt(u.id, 'verify_email', T0),
          undefined,
        )
        assert.equal(await count(), 2)
        assert.equal(await count(), 1)
        assert.equal(await count(), 0, 'the third wrong try kills it')
        assert.equal(await count(), undefined, 'no live token left')
        assert.equal(await store.oneTimeTokens.consumeToken('h-code', 'sign_in', T0 + 1), undefined)
      })

      it('concurrent wrong tries never count past maxAttempts', async () => {
        const u = await addUser(store)
        await store.oneTimeTokens.createToken(
          oneTimeToken({ userId: u.id, hash: 'h-code', purpose: 'sign_in', maxAttempts: 5 }),
          T0,
        )
        const results = await Promise.all(
          Array.from({ length: 12 }, () =>
            store.oneTimeTokens.countFailedAttempt(u.id, 'sign_in', T0 + 1),
          ),
        )
        assert.deepEqual(results.filter((r) => r !== undefined).sort(), [0, 1, 2, 3, 4])
        assert.equal(results.filter((r) => r === undefined).length, 7)
      })

      it('a consumed token takes no more wrong tries', async () => {
        const u = await addUser(store)
        await store.oneTimeTokens.createToken(
          oneTimeToken({ userId: u.id, hash: 'h-code', purpose: 'sign_in' }),
          T0,
        )
        assert.ok(await store.oneTimeTokens.consumeToken('h-code', 'sign_in', T0 + 1))
        assert.equal(
          await store.oneTimeTokens.countFailedAttempt(u.id, 'sign_in', T0 + 2),
          undefined,
        )
      })

      it('revokeTokens ends the live tokens of the given purposes, or all', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        for (const purpose of ['verify_email', 'reset_password', 'sign_in'] as const) {
          await store.oneTimeTokens.createToken(
            oneTimeToken({ userId: u.id, hash: `h-${purpose}`, purpose }),
            T0,
          )
        }
        await store.oneTimeTokens.createToken(
          oneTimeToken({
            userId: u.id,
            hash: 'h-expired',
            purpose: 'change_email',
            expiresAt: T0 + 1,
          }),
          T0,
        )
        await store.oneTimeTokens.createToken(
          oneTimeToken({ userId: other.id, hash: 'h-other', purpose: 'reset_password' }),
          T0,
        )
        const now = T0 + MINUTE
        assert.equal(await store.oneTimeTokens.revokeTokens(u.id, now, []), 0)
        assert.equal(await store.oneTimeTokens.revokeTokens(u.id, now, ['reset_password']), 1)
        assert.equal(
          await store.oneTimeTokens.consumeToken('h-reset_password', 'reset_password', now),
          undefined,
        )
        assert.ok(await store.oneTimeTokens.consumeToken('h-other', 'reset_password', now))
        assert.equal(
          await store.oneTimeTokens.revokeTokens(u.id, now),
          2,
          'the expired one is not counted',
        )
        assert.equal(
          await store.oneTimeTokens.consumeToken('h-verify_email', 'verify_email', now),
          undefined,
        )
        assert.equal(await store.oneTimeTokens.consumeToken('h-sign_in', 'sign_in', now), undefined)
        assert.equal(await store.oneTimeTokens.revokeTokens(u.id, now), 0)
      })

      it('deleteExpiredTokens deletes the tokens dead at a time: expired by then, or used before it', async () => {
        const u = await addUser(store)
        const v = await addUser(store)
        const w = await addUser(store)
        const create = (hash: string, userId: string, purpose: OneTimePurpose, expiresAt: number) =>
          store.oneTimeTokens.createToken(oneTimeToken({ hash, userId, purpose, expiresAt }), T0)
        await create('expired', u.id, 'verify_email', T0 + HOUR)
        await create('live', u.id, 'sign_in', T0 + HOUR + 1)
        await create('used-before', v.id, 'verify_email', T0 + DAY)
        await create('used-at', w.id, 'verify_email', T0 + DAY)
        await create('superseded', u.id, 'reset_password', T0 + DAY)
        await store.oneTimeTokens.consumeToken('used-before', 'verify_email', T0 + HOUR - 1)
        await store.oneTimeTokens.consumeToken('used-at', 'verify_email', T0 + HOUR)
        // Ended at T0 + 1 by a newer token of the same purpose (which lives on).
        await store.oneTimeTokens.createToken(
          oneTimeToken({
            hash: 'newer',
            userId: u.id,
            purpose: 'reset_password',
            expiresAt: T0 + DAY,
          }),
          T0 + 1,
        )
        assert.equal(await store.oneTimeTokens.deleteExpiredTokens(T0 + HOUR), 3)
        assert.equal(await store.oneTimeTokens.deleteExpiredTokens(T0 + HOUR), 0)
        assert.ok(await store.oneTimeTokens.consumeToken('live', 'sign_in', T0 + HOUR))
        assert.ok(await store.oneTimeTokens.consumeToken('newer', 'reset_password', T0 + HOUR))
        assert.equal(await store.oneTimeTokens.deleteExpiredTokens(T0 + HOUR + 1), 3)
      })

      it('createToken needs an existing user', async () => {
        await assert.rejects(
          store.oneTimeTokens.createToken(oneTimeToken({ userId: 'ghost', hash: 'h' }), T0),
        )
      })
    })

    describe('sessions: authTime and amr', () => {
      it('createSession stores them, and every read of the session returns them', async () => {
        const u = await addUser(store)
        const amr = ['pwd', 'otp', 'mfa']
        await addSession(store, {
          userId: u.id,
          id: 'sess',
          tokenHash: 'tok-0',
          authTime: T0 + 1,
          amr,
        })
        const found = await store.sessions.findSession('sess')
        assert.equal(found?.authTime, T0 + 1)
        assert.deepEqual(found?.amr, amr)
        assert.equal(found?.createdAt, T0, 'apart from createdAt')
        assert.deepEqual(await store.sessions.listSessions(u.id, T0 + HOUR), [found])

        const now = T0 + HOUR
        const rotated = await store.sessions.rotateRefreshToken({
          tokenHash: 'tok-0',
          now,
          graceMs: GRACE,
          successor: next(1, now),
        })
        assert.equal(rotated.status, 'rotated')
        assert.deepEqual(sessionOf(rotated), { ...found, lastUsedAt: now })
        const graced = await store.sessions.rotateRefreshToken({
          tokenHash: 'tok-0',
          now: now + 1,
          graceMs: GRACE,
          successor: next(2, now + 1),
        })
        assert.equal(graced.status, 'within_grace')
        assert.equal(sessionOf(graced)?.authTime, T0 + 1)
        assert.deepEqual(sessionOf(graced)?.amr, amr)
        const reused = await store.sessions.rotateRefreshToken({
          tokenHash: 'tok-0',
          now: now + GRACE + 1,
          graceMs: GRACE,
          successor: next(3, now + GRACE + 1),
        })
        assert.equal(reused.status, 'reused')
        assert.deepEqual(sessionOf(reused)?.amr, amr)
      })

      it('reauthenticate: a live session takes the new time and methods and returns itself', async () => {
        const u = await addUser(store)
        await addSession(store, { userId: u.id, id: 'sess' })
        const before = await store.sessions.findSession('sess')
        const at = T0 + HOUR
        const after = await store.sessions.reauthenticate('sess', at, ['hwk', 'user'])
        assert.deepEqual(after, { ...before, authTime: at, amr: ['hwk', 'user'] })
        assert.deepEqual(await store.sessions.findSession('sess'), after)
        assert.equal(after?.lastUsedAt, T0, 'a proof of identity is not a use of the refresh token')
        assert.equal(await store.sessions.reauthenticate('nobody', at, ['pwd']), undefined)
      })

      it('reauthenticate refuses a revoked session, and one at or past its end', async () => {
        const u = await addUser(store)
        await addSession(store, { userId: u.id, id: 'revoked' })
        await addSession(store, { userId: u.id, id: 'ending', expiresAt: T0 + DAY })
        await store.sessions.revokeSession('revoked', T0 + 1, 'logout')
        assert.equal(
          await store.sessions.reauthenticate('revoked', T0 + 2, ['pwd', 'otp']),
          undefined,
        )
        assert.equal((await store.sessions.findSession('revoked'))?.authTime, T0, 'unchanged')
        assert.equal(await store.sessions.reauthenticate('ending', T0 + DAY, ['otp']), undefined)
        assert.deepEqual((await store.sessions.findSession('ending'))?.amr, ['pwd'], 'unchanged')
        const edge = await store.sessions.reauthenticate('ending', T0 + DAY - 1, ['otp'])
        assert.equal(edge?.authTime, T0 + DAY - 1, 'one millisecond before its end it is live')
      })

      if (options.raw) {
        const raw = options.raw
        it('a session from before the columns reads its createdAt and ["pwd"]', async () => {
          const u = await addUser(store)
          await addSession(store, {
            userId: u.id,
            id: 'old',
            tokenHash: 'tok-old',
            createdAt: T0 - HOUR,
            authTime: T0,
            amr: ['otp'],
          })
          await raw.clearSessionAuth(store, 'old')
          const found = await store.sessions.findSession('old')
          assert.equal(found?.authTime, T0 - HOUR)
          assert.deepEqual(found?.amr, ['pwd'])
          assert.deepEqual(await store.sessions.listSessions(u.id, T0), [found])
          const rotated = await store.sessions.rotateRefreshToken({
            tokenHash: 'tok-old',
            now: T0,
            graceMs: GRACE,
            successor: next(1, T0),
          })
          assert.deepEqual(sessionOf(rotated), { ...found, lastUsedAt: T0 })
          const again = await store.sessions.reauthenticate('old', T0 + 1, ['pwd', 'otp', 'mfa'])
          assert.equal(again?.authTime, T0 + 1)
          assert.deepEqual(again?.amr, ['pwd', 'otp', 'mfa'])
        })
      }
    })

    describe('factors: TOTP', () => {
      const start = (userId: string, sealedSecret: string, createdAt = T0) =>
        store.factors.startTotp({ userId, sealedSecret, createdAt })

      it('startTotp stores an unconfirmed secret; findTotp returns it', async () => {
        const u = await addUser(store)
        assert.equal(await store.factors.findTotp(u.id), undefined)
        assert.equal(await start(u.id, 'sealed-1'), 'started')
        assert.deepEqual(await store.factors.findTotp(u.id), {
          userId: u.id,
          sealedSecret: 'sealed-1',
          createdAt: T0,
          confirmedAt: null,
          lastStep: null,
        })
      })

      it("startTotp replaces an unconfirmed secret, and answers 'exists' for a confirmed one", async () => {
        const u = await addUser(store)
        await start(u.id, 'sealed-1')
        assert.equal(await start(u.id, 'sealed-2', T0 + 1), 'started')
        assert.deepEqual(await store.factors.findTotp(u.id), {
          userId: u.id,
          sealedSecret: 'sealed-2',
          createdAt: T0 + 1,
          confirmedAt: null,
          lastStep: null,
        })
        assert.equal(await store.factors.confirmTotp(u.id, T0 + 2, 100), true)
        const confirmed = await store.factors.findTotp(u.id)
        assert.equal(await start(u.id, 'sealed-3', T0 + 3), 'exists')
        assert.deepEqual(await store.factors.findTotp(u.id), confirmed, 'nothing changed')
      })

      it('confirmTotp confirms once and records the step; false without an unconfirmed secret', async () => {
        const u = await addUser(store)
        assert.equal(await store.factors.confirmTotp(u.id, T0, 100), false, 'no secret')
        await start(u.id, 'sealed-1')
        assert.equal(await store.factors.confirmTotp(u.id, T0 + 5, 100), true)
        assert.deepEqual(await store.factors.findTotp(u.id), {
          userId: u.id,
          sealedSecret: 'sealed-1',
          createdAt: T0,
          confirmedAt: T0 + 5,
          lastStep: 100,
        })
        assert.equal(await store.factors.confirmTotp(u.id, T0 + 6, 101), false, 'confirmed')
        assert.equal((await store.factors.findTotp(u.id))?.confirmedAt, T0 + 5)
      })

      it('useTotpStep accepts only a later step than the last, and only once confirmed', async () => {
        const u = await addUser(store)
        assert.equal(await store.factors.useTotpStep(u.id, 1), false, 'no secret')
        await start(u.id, 'sealed-1')
        assert.equal(await store.factors.useTotpStep(u.id, 100), false, 'unconfirmed')
        await store.factors.confirmTotp(u.id, T0, 100)
        // A 64-bit step (a TOTP step is Unix time / period: far above 2^31 with a 1 ms period).
        const big = 2 ** 40
        const steps: [number, boolean][] = [
          [100, false],
          [99, false],
          [101, true],
          [101, false],
          [103, true],
          [102, false],
          [big, true],
          [big, false],
        ]
        for (const [step, accepted] of steps) {
          assert.equal(await store.factors.useTotpStep(u.id, step), accepted, `step ${step}`)
        }
        assert.equal((await store.factors.findTotp(u.id))?.lastStep, big)
      })

      it('of 20 concurrent useTotpStep calls with one step exactly one gets true', async () => {
        const u = await addUser(store)
        await start(u.id, 'sealed-1')
        await store.factors.confirmTotp(u.id, T0, 100)
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.factors.useTotpStep(u.id, 101)),
        )
        assert.equal(results.filter(Boolean).length, 1)
        assert.equal((await store.factors.findTotp(u.id))?.lastStep, 101)
      })

      it('deleteTotp removes a secret, confirmed or not; false when there is none', async () => {
        const u = await addUser(store)
        const v = await addUser(store)
        await start(u.id, 'sealed-u')
        await start(v.id, 'sealed-v')
        await store.factors.confirmTotp(v.id, T0, 1)
        assert.equal(await store.factors.deleteTotp(u.id), true)
        assert.equal(await store.factors.deleteTotp(v.id), true)
        assert.equal(await store.factors.deleteTotp(v.id), false)
        assert.equal(await store.factors.findTotp(v.id), undefined)
        assert.equal(await start(v.id, 'sealed-v2'), 'started', 'a new secret after removal')
      })

      it('a secret needs an existing user', async () => {
        await assert.rejects(start('ghost', 'sealed'))
      })
    })

    describe('factors: recovery codes', () => {
      it('replaceRecoveryCodes replaces every code of the user, and only that user’s', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        await store.factors.replaceRecoveryCodes(u.id, ['a1', 'a2', 'a3'], T0)
        await store.factors.replaceRecoveryCodes(other.id, ['o1'], T0)
        assert.equal(await store.factors.countRecoveryCodes(u.id), 3)
        assert.equal(await store.factors.useRecoveryCode(u.id, 'a1', T0 + 1), true)
        await store.factors.replaceRecoveryCodes(u.id, ['b1', 'b2'], T0 + 2)
        assert.equal(await store.factors.countRecoveryCodes(u.id), 2, 'all unused')
        assert.equal(await store.factors.useRecoveryCode(u.id, 'a2', T0 + 3), false, 'old code')
        assert.equal(await store.factors.useRecoveryCode(u.id, 'b1', T0 + 3), true)
        assert.equal(await store.factors.countRecoveryCodes(other.id), 1)
        await store.factors.replaceRecoveryCodes(u.id, [], T0 + 4)
        assert.equal(await store.factors.countRecoveryCodes(u.id), 0)
        assert.equal(await store.factors.useRecoveryCode(u.id, 'b2', T0 + 5), false)
      })

      it('useRecoveryCode: true once, then false; never for another user’s hash', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        await store.factors.replaceRecoveryCodes(u.id, ['h-1', 'h-2'], T0)
        assert.equal(await store.factors.useRecoveryCode(other.id, 'h-1', T0 + 1), false)
        assert.equal(await store.factors.useRecoveryCode(u.id, 'unknown', T0 + 1), false)
        assert.equal(await store.factors.useRecoveryCode(u.id, 'h-1', T0 + 1), true)
        assert.equal(await store.factors.useRecoveryCode(u.id, 'h-1', T0 + 2), false)
        assert.equal(await store.factors.countRecoveryCodes(u.id), 1)
        assert.equal(await store.factors.countRecoveryCodes(other.id), 0)
      })

      it('of 20 concurrent uses of one code exactly one gets true', async () => {
        const u = await addUser(store)
        await store.factors.replaceRecoveryCodes(u.id, ['h-race', 'h-other'], T0)
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.factors.useRecoveryCode(u.id, 'h-race', T0 + 1)),
        )
        assert.equal(results.filter(Boolean).length, 1)
        assert.equal(await store.factors.countRecoveryCodes(u.id), 1)
      })

      it('of 10 concurrent replacements one set is left, whole', async () => {
        const u = await addUser(store)
        const sets = Array.from({ length: 10 }, (_, i) => [`s${i}-a`, `s${i}-b`, `s${i}-c`])
        await Promise.all(
          sets.map((hashes) => store.factors.replaceRecoveryCodes(u.id, hashes, T0)),
        )
        assert.equal(await store.factors.countRecoveryCodes(u.id), 3)
        let survivors = 0
        for (const [first] of sets) {
          if (first && (await store.factors.useRecoveryCode(u.id, first, T0 + 1))) survivors += 1
        }
        assert.equal(survivors, 1)
      })

      it('deleteRecoveryCodes removes the user’s codes, used or not, and counts them', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        await store.factors.replaceRecoveryCodes(u.id, ['h-1', 'h-2', 'h-3'], T0)
        await store.factors.replaceRecoveryCodes(other.id, ['o-1'], T0)
        await store.factors.useRecoveryCode(u.id, 'h-1', T0 + 1)
        assert.equal(await store.factors.deleteRecoveryCodes(u.id), 3)
        assert.equal(await store.factors.deleteRecoveryCodes(u.id), 0)
        assert.equal(await store.factors.countRecoveryCodes(other.id), 1)
      })

      it('replaceRecoveryCodes is one transaction: a failing insert keeps the old codes', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        await store.factors.replaceRecoveryCodes(u.id, ['h-1', 'h-2'], T0)
        await store.factors.replaceRecoveryCodes(other.id, ['taken'], T0)
        await assert.rejects(store.factors.replaceRecoveryCodes(u.id, ['new', 'taken'], T0 + 1))
        assert.equal(await store.factors.countRecoveryCodes(u.id), 2)
        assert.equal(await store.factors.useRecoveryCode(u.id, 'h-2', T0 + 2), true)
      })
    })

    describe('factors: passkeys', () => {
      it('addPasskey stores the credential whole; findPasskey returns it', async () => {
        const u = await addUser(store)
        const record = passkey({ userId: u.id, id: 'cred-1', transports: ['internal', 'hybrid'] })
        assert.equal(await store.factors.addPasskey(record), 'added')
        assert.deepEqual(await store.factors.findPasskey('cred-1'), record)
        assert.equal(await store.factors.findPasskey('unknown'), undefined)
        const synced = passkey({
          userId: u.id,
          id: 'cred-2',
          transports: [],
          deviceType: 'multiDevice',
          backedUp: true,
          counter: 0,
          lastUsedAt: T0 + 1,
        })
        await store.factors.addPasskey(synced)
        assert.deepEqual(await store.factors.findPasskey('cred-2'), synced)
      })

      it("a credential id stored already gives 'exists', for any user, and changes nothing", async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        const first = passkey({ userId: u.id, id: 'cred-1', name: 'Laptop' })
        await store.factors.addPasskey(first)
        assert.equal(
          await store.factors.addPasskey(passkey({ userId: u.id, id: 'cred-1', name: 'Again' })),
          'exists',
        )
        assert.equal(
          await store.factors.addPasskey(
            passkey({ userId: other.id, id: 'cred-1', name: 'Theirs' }),
          ),
          'exists',
        )
        assert.deepEqual(await store.factors.findPasskey('cred-1'), first)
        assert.deepEqual(await store.factors.listPasskeys(other.id), [])
      })

      it('a passkey needs an existing user', async () => {
        await assert.rejects(store.factors.addPasskey(passkey({ userId: 'ghost', id: 'cred' })))
      })

      it('listPasskeys: the user’s own, oldest first', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        for (const [id, createdAt] of [
          ['c-new', T0 + 2],
          ['c-old', T0],
          ['c-mid', T0 + 1],
        ] as const) {
          await store.factors.addPasskey(passkey({ userId: u.id, id, createdAt }))
        }
        await store.factors.addPasskey(passkey({ userId: other.id, id: 'c-other' }))
        assert.deepEqual(
          (await store.factors.listPasskeys(u.id)).map((p) => p.id),
          ['c-old', 'c-mid', 'c-new'],
        )
        assert.deepEqual(await store.factors.listPasskeys('nobody'), [])
      })

      it('recordPasskeyUse stores the counter, the backup state and the time', async () => {
        const u = await addUser(store)
        const record = passkey({ userId: u.id, id: 'cred-1', counter: 5 })
        await store.factors.addPasskey(record)
        // WebAuthn's signCount is an unsigned 32-bit number: past a signed 32-bit column.
        const counter = 2 ** 32 - 1
        assert.equal(
          await store.factors.recordPasskeyUse('cred-1', { counter, backedUp: true, at: T0 + 9 }),
          true,
        )
        assert.deepEqual(await store.factors.findPasskey('cred-1'), {
          ...record,
          counter,
          backedUp: true,
          lastUsedAt: T0 + 9,
        })
        assert.equal(
          await store.factors.recordPasskeyUse('unknown', { counter: 1, backedUp: false, at: T0 }),
          false,
        )
      })

      it('renamePasskey and deletePasskey act on the user’s own passkey only', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        const record = passkey({ userId: u.id, id: 'cred-1', name: 'Old' })
        await store.factors.addPasskey(record)
        assert.equal(await store.factors.renamePasskey(other.id, 'cred-1', 'Mine now'), undefined)
        assert.equal(await store.factors.renamePasskey(u.id, 'unknown', 'X'), undefined)
        assert.deepEqual(await store.factors.renamePasskey(u.id, 'cred-1', 'Work laptop'), {
          ...record,
          name: 'Work laptop',
        })
        assert.equal((await store.factors.findPasskey('cred-1'))?.name, 'Work laptop')
        assert.equal(await store.factors.deletePasskey(other.id, 'cred-1'), false)
        assert.ok(await store.factors.findPasskey('cred-1'), 'still there')
        assert.equal(await store.factors.deletePasskey(u.id, 'cred-1'), true)
        assert.equal(await store.factors.deletePasskey(u.id, 'cred-1'), false)
        assert.equal(await store.factors.findPasskey('cred-1'), undefined)
      })
    })

    describe('factors: summary and deleteAllFactors', () => {
      it('summary: a confirmed secret, the passkeys, the unused recovery codes', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        const empty = { totp: false, passkeys: 0, recoveryCodes: 0 }
        assert.deepEqual(await store.factors.summary(u.id), empty)
        await store.factors.startTotp({ userId: u.id, sealedSecret: 's', createdAt: T0 })
        assert.deepEqual(await store.factors.summary(u.id), empty, 'unconfirmed protects nothing')
        await store.factors.confirmTotp(u.id, T0, 1)
        await store.factors.addPasskey(passkey({ userId: u.id, id: 'c-1' }))
        await store.factors.addPasskey(passkey({ userId: u.id, id: 'c-2' }))
        await store.factors.replaceRecoveryCodes(u.id, ['h-1', 'h-2', 'h-3'], T0)
        await store.factors.useRecoveryCode(u.id, 'h-1', T0 + 1)
        await store.factors.addPasskey(passkey({ userId: other.id, id: 'c-other' }))
        assert.deepEqual(await store.factors.summary(u.id), {
          totp: true,
          passkeys: 2,
          recoveryCodes: 2,
        })
        assert.deepEqual(await store.factors.summary(other.id), { ...empty, passkeys: 1 })
        assert.deepEqual(await store.factors.summary('nobody'), empty)
      })

      it('deleteAllFactors removes the secret, the recovery codes and the passkeys, and counts them', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        for (const userId of [u.id, other.id]) {
          await store.factors.startTotp({ userId, sealedSecret: 's', createdAt: T0 })
          await store.factors.confirmTotp(userId, T0, 1)
          await store.factors.replaceRecoveryCodes(userId, [`${userId}-1`, `${userId}-2`], T0)
          await store.factors.addPasskey(passkey({ userId, id: `${userId}-a` }))
          await store.factors.addPasskey(passkey({ userId, id: `${userId}-b` }))
        }
        await store.factors.useRecoveryCode(u.id, `${u.id}-1`, T0 + 1)
        // 1 secret + 2 codes (one used) + 2 passkeys.
        assert.equal(await store.factors.deleteAllFactors(u.id), 5)
        assert.deepEqual(await store.factors.summary(u.id), {
          totp: false,
          passkeys: 0,
          recoveryCodes: 0,
        })
        assert.equal(await store.factors.findTotp(u.id), undefined)
        assert.equal(await store.factors.findPasskey(`${u.id}-a`), undefined)
        assert.equal(await store.factors.deleteAllFactors(u.id), 0)
        assert.deepEqual(await store.factors.summary(other.id), {
          totp: true,
          passkeys: 2,
          recoveryCodes: 2,
        })
      })

      it('inside atomically: factor writes commit or roll back with the rest', async () => {
        const u = await addUser(store)
        await store.factors.addPasskey(passkey({ userId: u.id, id: 'kept' }))
        await store.factors.replaceRecoveryCodes(u.id, ['h-1'], T0)
        await assert.rejects(
          store.atomically(async () => {
            assert.equal(await store.factors.deleteAllFactors(u.id), 2)
            await store.factors.replaceRecoveryCodes(u.id, ['h-2', 'h-3'], T0 + 1)
            await store.factors.startTotp({ userId: u.id, sealedSecret: 's', createdAt: T0 })
            throw new Error('boom')
          }),
          /boom/,
        )
        assert.deepEqual(await store.factors.summary(u.id), {
          totp: false,
          passkeys: 1,
          recoveryCodes: 1,
        })
        // 'exists' is an answer, not an error: the transaction carries on.
        const answer = await store.atomically(async () => {
          const added = await store.factors.addPasskey(passkey({ userId: u.id, id: 'kept' }))
          await store.factors.addPasskey(passkey({ userId: u.id, id: 'new' }))
          await store.outbox.enqueue(outboxMessage('passkey-added', { userId: u.id }))
          return added
        })
        assert.equal(answer, 'exists')
        assert.equal((await store.factors.listPasskeys(u.id)).length, 2)
        assert.deepEqual(await messageIds(store), ['passkey-added'])
      })
    })

    describe('challenges', () => {
      it('createChallenge, findChallenge (unchanged, again and again), consumeChallenge once', async () => {
        const u = await addUser(store)
        const created = challenge({ hash: 'c-1', userId: u.id, data: '{"methods":["pwd"]}' })
        await store.challenges.createChallenge(created)
        const live = { ...created, attempts: 0, usedAt: null }
        assert.deepEqual(await store.challenges.findChallenge('c-1', 'mfa', T0 + 1), live)
        assert.deepEqual(await store.challenges.findChallenge('c-1', 'mfa', T0 + 2), live)
        assert.deepEqual(await store.challenges.consumeChallenge('c-1', 'mfa', T0 + 3), {
          ...live,
          usedAt: T0 + 3,
        })
        assert.equal(await store.challenges.consumeChallenge('c-1', 'mfa', T0 + 4), undefined)
        assert.equal(await store.challenges.findChallenge('c-1', 'mfa', T0 + 4), undefined)
        assert.equal(await store.challenges.findChallenge('unknown', 'mfa', T0), undefined)
        assert.equal(await store.challenges.consumeChallenge('unknown', 'mfa', T0), undefined)
      })

      it('a challenge without a user (a passwordless passkey sign-in)', async () => {
        const created = challenge({ hash: 'c-1', kind: 'passkey_login', userId: null })
        await store.challenges.createChallenge(created)
        assert.equal(
          (await store.challenges.consumeChallenge('c-1', 'passkey_login', T0))?.userId,
          null,
        )
      })

      it('the kind is part of the condition: a challenge serves its own kind only', async () => {
        const u = await addUser(store)
        await store.challenges.createChallenge(
          challenge({ hash: 'c-1', kind: 'passkey_registration', userId: u.id }),
        )
        for (const kind of ['mfa', 'passkey_login'] as const) {
          assert.equal(await store.challenges.findChallenge('c-1', kind, T0), undefined)
          assert.equal(await store.challenges.consumeChallenge('c-1', kind, T0), undefined)
        }
        assert.equal(
          (await store.challenges.consumeChallenge('c-1', 'passkey_registration', T0))?.kind,
          'passkey_registration',
          'still usable',
        )
      })

      it('expires at expiresAt: live one millisecond before, not at it', async () => {
        const u = await addUser(store)
        for (const hash of ['c-a', 'c-b']) {
          await store.challenges.createChallenge(
            challenge({ hash, userId: u.id, expiresAt: T0 + 5 * MINUTE }),
          )
        }
        const end = T0 + 5 * MINUTE
        assert.equal(await store.challenges.findChallenge('c-a', 'mfa', end), undefined)
        assert.equal(await store.challenges.consumeChallenge('c-a', 'mfa', end), undefined)
        assert.equal(await store.challenges.countChallengeFailure('c-a', end), undefined)
        assert.ok(await store.challenges.findChallenge('c-b', 'mfa', end - 1))
        assert.equal(await store.challenges.countChallengeFailure('c-b', end - 1), 4)
        assert.ok(await store.challenges.consumeChallenge('c-b', 'mfa', end - 1))
      })

      it('of 20 concurrent consumers exactly one gets the challenge', async () => {
        const u = await addUser(store)
        await store.challenges.createChallenge(challenge({ hash: 'c-race', userId: u.id }))
        const results = await Promise.all(
          Array.from({ length: 20 }, () =>
            store.challenges.consumeChallenge('c-race', 'mfa', T0 + 1),
          ),
        )
        const winners = results.filter((r) => r !== undefined)
        assert.equal(winners.length, 1)
        assert.equal(winners[0]?.usedAt, T0 + 1)
      })

      it('countChallengeFailure counts down to 0, and then the challenge is dead', async () => {
        const u = await addUser(store)
        await store.challenges.createChallenge(
          challenge({ hash: 'c-1', userId: u.id, maxAttempts: 3 }),
        )
        const count = () => store.challenges.countChallengeFailure('c-1', T0 + 1)
        assert.equal(await store.challenges.countChallengeFailure('unknown', T0 + 1), undefined)
        assert.equal(await count(), 2)
        assert.equal(
          (await store.challenges.findChallenge('c-1', 'mfa', T0 + 1))?.attempts,
          1,
          'a wrong try shows',
        )
        assert.equal(await count(), 1)
        assert.equal(await count(), 0, 'the third wrong try kills it')
        assert.equal(await count(), undefined, 'not live any more')
        assert.equal(await store.challenges.findChallenge('c-1', 'mfa', T0 + 1), undefined)
        assert.equal(await store.challenges.consumeChallenge('c-1', 'mfa', T0 + 1), undefined)
      })

      it('a consumed challenge takes no more wrong tries', async () => {
        const u = await addUser(store)
        await store.challenges.createChallenge(challenge({ hash: 'c-1', userId: u.id }))
        assert.ok(await store.challenges.consumeChallenge('c-1', 'mfa', T0 + 1))
        assert.equal(await store.challenges.countChallengeFailure('c-1', T0 + 2), undefined)
      })

      it('concurrent wrong tries never count past maxAttempts', async () => {
        const u = await addUser(store)
        await store.challenges.createChallenge(
          challenge({ hash: 'c-1', userId: u.id, maxAttempts: 5 }),
        )
        const results = await Promise.all(
          Array.from({ length: 12 }, () => store.challenges.countChallengeFailure('c-1', T0 + 1)),
        )
        assert.deepEqual(results.filter((r) => r !== undefined).sort(), [0, 1, 2, 3, 4])
        assert.equal(results.filter((r) => r === undefined).length, 7)
      })

      it('deleteExpiredChallenges deletes the expired by then, and the used before then', async () => {
        const u = await addUser(store)
        const create = (hash: string, expiresAt: number) =>
          store.challenges.createChallenge(challenge({ hash, userId: u.id, expiresAt }))
        await create('expired', T0 + HOUR)
        await create('live', T0 + HOUR + 1)
        await create('used-before', T0 + DAY)
        await create('used-at', T0 + DAY)
        await create('dead', T0 + DAY)
        await store.challenges.consumeChallenge('used-before', 'mfa', T0 + HOUR - 1)
        await store.challenges.consumeChallenge('used-at', 'mfa', T0 + HOUR)
        for (let i = 0; i < 5; i++) await store.challenges.countChallengeFailure('dead', T0)
        assert.equal(await store.challenges.deleteExpiredChallenges(T0 + HOUR), 2)
        assert.equal(await store.challenges.deleteExpiredChallenges(T0 + HOUR), 0)
        assert.ok(await store.challenges.findChallenge('live', 'mfa', T0 + HOUR))
        // used-at (used at the cut-off), live (expired by then) and dead (its expiry).
        assert.equal(await store.challenges.deleteExpiredChallenges(T0 + DAY), 3)
      })

      it('a duplicate hash is an error; a challenge needs an existing user (or none)', async () => {
        const u = await addUser(store)
        await store.challenges.createChallenge(challenge({ hash: 'c-1', userId: u.id }))
        await assert.rejects(
          store.challenges.createChallenge(challenge({ hash: 'c-1', userId: u.id })),
        )
        await assert.rejects(
          store.challenges.createChallenge(challenge({ hash: 'c-2', userId: 'ghost' })),
        )
      })
    })

    describe('oauth: clients', () => {
      it('createClient stores every field; findClient returns it; listClients is oldest first', async () => {
        const confidential = oauthClient({ id: 'client-b', createdAt: T0 + 1 })
        const keyed = oauthClient({
          id: 'client-a',
          name: 'Keyed',
          secretHash: null,
          redirectUris: ['com.example.app:/cb'],
          postLogoutRedirectUris: ['https://app.example.com/bye'],
          grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
          tokenEndpointAuthMethod: 'private_key_jwt',
          scopes: ['openid', 'tessera:revocations', 'orders:read'],
          jwks: JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] }),
          firstParty: true,
          accessTokenTtl: 300,
          // Past 2^31: a TTL column truncated to 32 bits fails.
          refreshTokenTtl: 5_000_000_000,
          createdAt: T0 + 2,
        })
        const earliest = oauthClient({
          id: 'client-c',
          secretHash: null,
          tokenEndpointAuthMethod: 'none',
          grantTypes: ['authorization_code'],
        })
        for (const client of [confidential, keyed, earliest]) await store.oauth.createClient(client)
        assert.deepEqual(await store.oauth.findClient('client-a'), keyed)
        assert.deepEqual(await store.oauth.findClient('client-b'), confidential)
        assert.equal(await store.oauth.findClient('unknown'), undefined)
        assert.deepEqual(await store.oauth.listClients(), [earliest, confidential, keyed])
      })

      it('dpopBoundAccessTokens and the ID token and userinfo encryption round trip', async () => {
        const bound = oauthClient({
          id: 'client-bound',
          tokenEndpointAuthMethod: 'none',
          secretHash: null,
          jwks: JSON.stringify({
            keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', use: 'enc' }],
          }),
          dpopBoundAccessTokens: true,
          idTokenEncryption: { alg: 'ECDH-ES', enc: 'A128CBC-HS256' },
          userinfoEncryption: { alg: 'ECDH-ES+A256KW', enc: 'A256GCM' },
        })
        const idTokenOnly = oauthClient({
          id: 'client-id-token',
          idTokenEncryption: { alg: 'RSA-OAEP-256', enc: 'A256CBC-HS512' },
        })
        const plain = oauthClient({ id: 'client-plain' })
        for (const client of [bound, idTokenOnly, plain]) await store.oauth.createClient(client)
        assert.deepEqual(await store.oauth.findClient('client-bound'), bound)
        assert.deepEqual(await store.oauth.findClient('client-id-token'), idTokenOnly)
        const found = await store.oauth.findClient('client-plain')
        assert.equal(found?.dpopBoundAccessTokens, false)
        assert.equal(found?.idTokenEncryption, null)
        assert.equal(found?.userinfoEncryption, null)
        assert.deepEqual(await store.oauth.listClients(), [bound, idTokenOnly, plain])
      })

      if (options.raw) {
        const raw = options.raw
        it('a client written before issue 18 is not DPoP-bound and not encrypted', async () => {
          await raw.insertClientBeforeIssue18(store, 'old-client')
          const found = await store.oauth.findClient('old-client')
          assert.equal(found?.dpopBoundAccessTokens, false)
          assert.equal(found?.idTokenEncryption, null)
          assert.equal(found?.userinfoEncryption, null)
        })
      }

      it('a duplicate id is an error, and leaves the first client as it was', async () => {
        const first = oauthClient({ id: 'client-1' })
        await store.oauth.createClient(first)
        await assert.rejects(
          store.oauth.createClient(oauthClient({ id: 'client-1', name: 'Other' })),
        )
        assert.deepEqual(await store.oauth.findClient('client-1'), first)
      })

      it('deleteClient removes the client with its codes and consents, and nobody else’s', async () => {
        const u = await addUser(store)
        for (const id of ['gone', 'kept']) {
          await store.oauth.createClient(oauthClient({ id }))
          await store.oauth.createCode(
            oauthCode({ hash: `${id}-code`, clientId: id, userId: u.id }),
          )
          await store.oauth.grantConsent(u.id, id, ['openid'], T0)
          assert.equal(await store.oauth.useAssertion(id, 'jti-1', T0 + MINUTE), true)
        }
        assert.equal(await store.oauth.deleteClient('gone'), true)
        assert.equal(await store.oauth.findClient('gone'), undefined)
        assert.deepEqual(await store.oauth.redeemCode('gone-code', T0 + 1), { status: 'not_found' })
        assert.equal(await store.oauth.findConsent(u.id, 'gone'), undefined)
        assert.equal(await store.oauth.deleteClient('gone'), false, 'already gone')
        assert.equal(await store.oauth.deleteClient('unknown'), false)

        assert.ok(await store.oauth.findClient('kept'))
        assert.ok(await store.oauth.findConsent(u.id, 'kept'))
        assert.equal((await store.oauth.redeemCode('kept-code', T0 + 1)).status, 'redeemed')
        assert.equal(await store.oauth.useAssertion('kept', 'jti-1', T0 + MINUTE), false)
      })
    })

    describe('oauth: codes', () => {
      async function setUp(): Promise<string> {
        const u = await addUser(store)
        await store.oauth.createClient(oauthClient({ id: 'client-1' }))
        return u.id
      }

      it('redeemCode: redeemed once with the stored record, then replayed; unknown is not_found', async () => {
        const userId = await setUp()
        const created = oauthCode({ hash: 'code-1', clientId: 'client-1', userId })
        await store.oauth.createCode(created)
        const redeemed = { ...created, usedAt: T0 + 1, sessionId: null }
        assert.deepEqual(await store.oauth.redeemCode('code-1', T0 + 1), {
          status: 'redeemed',
          code: redeemed,
        })
        assert.deepEqual(await store.oauth.redeemCode('code-1', T0 + 2), {
          status: 'replayed',
          code: redeemed,
        })
        assert.deepEqual(await store.oauth.redeemCode('unknown', T0 + 1), { status: 'not_found' })
      })

      it('expires at expiresAt: unused, it is not_found from then on; redeemable one millisecond before', async () => {
        const userId = await setUp()
        const end = T0 + MINUTE
        for (const hash of ['code-a', 'code-b']) {
          await store.oauth.createCode(
            oauthCode({ hash, clientId: 'client-1', userId, expiresAt: end }),
          )
        }
        assert.deepEqual(await store.oauth.redeemCode('code-a', end), { status: 'not_found' })
        assert.deepEqual(await store.oauth.redeemCode('code-a', end + 1), { status: 'not_found' })
        assert.equal((await store.oauth.redeemCode('code-b', end - 1)).status, 'redeemed')
      })

      it('a used code stays replayed past its expiry, with the session its redemption started', async () => {
        const userId = await setUp()
        await store.oauth.createCode(oauthCode({ hash: 'code-1', clientId: 'client-1', userId }))
        assert.equal((await store.oauth.redeemCode('code-1', T0 + 1)).status, 'redeemed')
        await store.oauth.attachCodeSession('code-1', 'sess-1')
        const replay = await store.oauth.redeemCode('code-1', T0 + DAY)
        assert.equal(replay.status, 'replayed')
        assert.equal(replay.status === 'replayed' && replay.code.sessionId, 'sess-1')
        assert.equal(replay.status === 'replayed' && replay.code.usedAt, T0 + 1, 'the first use')
      })

      it('of 20 concurrent redeemers exactly one gets redeemed, the others replayed', async () => {
        const userId = await setUp()
        await store.oauth.createCode(oauthCode({ hash: 'code-race', clientId: 'client-1', userId }))
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.oauth.redeemCode('code-race', T0 + 1)),
        )
        const statuses = results.map((r) => r.status)
        assert.equal(statuses.filter((s) => s === 'redeemed').length, 1, String(statuses))
        assert.equal(statuses.filter((s) => s === 'replayed').length, 19, String(statuses))
      })

      it('a duplicate hash is an error; a code needs an existing client and user', async () => {
        const userId = await setUp()
        await store.oauth.createCode(oauthCode({ hash: 'code-1', clientId: 'client-1', userId }))
        await assert.rejects(
          store.oauth.createCode(oauthCode({ hash: 'code-1', clientId: 'client-1', userId })),
        )
        await assert.rejects(
          store.oauth.createCode(oauthCode({ hash: 'code-2', clientId: 'ghost', userId })),
        )
        await assert.rejects(
          store.oauth.createCode(
            oauthCode({ hash: 'code-3', clientId: 'client-1', userId: 'ghost' }),
          ),
        )
      })

      it('purgeExpired deletes codes (used or not) and assertions expired by then', async () => {
        const userId = await setUp()
        const create = (hash: string, expiresAt: number) =>
          store.oauth.createCode(oauthCode({ hash, clientId: 'client-1', userId, expiresAt }))
        await create('expired', T0 + MINUTE)
        await create('used', T0 + MINUTE)
        await create('live', T0 + MINUTE + 1)
        await store.oauth.redeemCode('used', T0 + 1)
        await store.oauth.useAssertion('client-1', 'jti-old', T0 + MINUTE)
        await store.oauth.useAssertion('client-1', 'jti-new', T0 + MINUTE + 1)
        assert.equal(await store.oauth.purgeExpired(T0 + MINUTE), 3)
        assert.equal(await store.oauth.purgeExpired(T0 + MINUTE), 0)
        assert.deepEqual(await store.oauth.redeemCode('used', T0 + 2), { status: 'not_found' })
        assert.equal((await store.oauth.redeemCode('live', T0 + 2)).status, 'redeemed')
        assert.equal(await store.oauth.useAssertion('client-1', 'jti-new', T0 + HOUR), false)
        assert.equal(
          await store.oauth.useAssertion('client-1', 'jti-old', T0 + HOUR),
          true,
          'purged: its own expiry refuses the old assertion now',
        )
      })
    })

    describe('oauth: consents', () => {
      async function setUp(): Promise<string> {
        const u = await addUser(store)
        for (const id of ['client-1', 'client-2', 'client-3']) {
          await store.oauth.createClient(oauthClient({ id }))
        }
        return u.id
      }

      it('grantConsent creates the consent, then adds scopes to it (a union, each scope once)', async () => {
        const userId = await setUp()
        const first = await store.oauth.grantConsent(userId, 'client-1', ['openid', 'email'], T0)
        assert.deepEqual(first, {
          userId,
          clientId: 'client-1',
          scopes: ['openid', 'email'],
          createdAt: T0,
          updatedAt: T0,
        })
        assert.deepEqual(await store.oauth.findConsent(userId, 'client-1'), first)
        const more = await store.oauth.grantConsent(
          userId,
          'client-1',
          ['email', 'profile', 'profile'],
          T0 + HOUR,
        )
        assert.deepEqual(more, {
          ...first,
          scopes: ['openid', 'email', 'profile'],
          updatedAt: T0 + HOUR,
        })
        assert.deepEqual(await store.oauth.findConsent(userId, 'client-1'), more)
        assert.equal(await store.oauth.findConsent(userId, 'client-2'), undefined)
        assert.equal(await store.oauth.findConsent('nobody', 'client-1'), undefined)
      })

      it('concurrent grants lose no scope', async () => {
        const userId = await setUp()
        const scopes = Array.from({ length: 10 }, (_, i) => `scope-${i}`)
        await Promise.all(
          scopes.map((scope) => store.oauth.grantConsent(userId, 'client-1', [scope], T0)),
        )
        const consent = await store.oauth.findConsent(userId, 'client-1')
        assert.deepEqual([...(consent?.scopes ?? [])].sort(), scopes)
      })

      it('listConsents: the user’s own, newest first; deleteConsent removes one', async () => {
        const userId = await setUp()
        const other = await addUser(store)
        await store.oauth.grantConsent(userId, 'client-2', ['openid'], T0)
        await store.oauth.grantConsent(userId, 'client-1', ['openid'], T0 + 2)
        await store.oauth.grantConsent(userId, 'client-3', ['openid'], T0 + 1)
        await store.oauth.grantConsent(other.id, 'client-1', ['email'], T0 + 3)
        const list = async (id: string) =>
          (await store.oauth.listConsents(id)).map((c) => c.clientId)
        assert.deepEqual(await list(userId), ['client-1', 'client-3', 'client-2'])
        assert.equal(await store.oauth.deleteConsent(userId, 'client-3'), true)
        assert.equal(await store.oauth.deleteConsent(userId, 'client-3'), false)
        assert.equal(await store.oauth.deleteConsent(userId, 'unknown'), false)
        assert.deepEqual(await list(userId), ['client-1', 'client-2'])
        assert.deepEqual(await list(other.id), ['client-1'])
        assert.deepEqual(await list('nobody'), [])
      })

      it('a consent needs an existing user and client', async () => {
        const userId = await setUp()
        await assert.rejects(store.oauth.grantConsent('ghost', 'client-1', ['openid'], T0))
        await assert.rejects(store.oauth.grantConsent(userId, 'ghost', ['openid'], T0))
      })
    })

    describe('oauth: assertions', () => {
      it('useAssertion: true the first time, false for a replay; the jti is per client', async () => {
        assert.equal(await store.oauth.useAssertion('client-1', 'jti-1', T0 + MINUTE), true)
        assert.equal(await store.oauth.useAssertion('client-1', 'jti-1', T0 + MINUTE), false)
        assert.equal(await store.oauth.useAssertion('client-1', 'jti-1', T0 + HOUR), false)
        assert.equal(await store.oauth.useAssertion('client-2', 'jti-1', T0 + MINUTE), true)
        assert.equal(await store.oauth.useAssertion('client-1', 'jti-2', T0 + MINUTE), true)
      })

      it('of 20 concurrent uses of one jti exactly one gets true', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, () =>
            store.oauth.useAssertion('client-1', 'jti-race', T0 + MINUTE),
          ),
        )
        assert.equal(results.filter((r) => r).length, 1)
      })

      it('a replay inside a transaction answers false and leaves the transaction usable', async () => {
        const u = await addUser(store)
        await store.oauth.useAssertion('client-1', 'jti-1', T0 + MINUTE)
        const replayed = await store.atomically(async () => {
          const fresh = await store.oauth.useAssertion('client-1', 'jti-1', T0 + MINUTE)
          await store.users.updateUser(u.id, { name: 'After', updatedAt: T0 + 1 })
          return fresh
        })
        assert.equal(replayed, false)
        assert.equal((await store.users.findUserById(u.id))?.name, 'After')
      })

      it('purgeExpired forgets jtis expired by then, and only those', async () => {
        await store.oauth.useAssertion('client-1', 'old', T0 + MINUTE)
        await store.oauth.useAssertion('client-1', 'new', T0 + MINUTE + 1)
        assert.equal(await store.oauth.purgeExpired(T0 + MINUTE), 1)
        assert.equal(await store.oauth.useAssertion('client-1', 'new', T0 + HOUR), false)
        assert.equal(await store.oauth.useAssertion('client-1', 'old', T0 + HOUR), true)
      })
    })

    describe('sessions: client', () => {
      it('a session made without client, scope and resource is the first-party client’s, everywhere', async () => {
        const u = await addUser(store)
        await addSession(store, { userId: u.id, id: 'sess', tokenHash: 'tok-0' })
        const found = await store.sessions.findSession('sess')
        assert.equal(found?.clientId, 'tessera')
        assert.equal(found?.scope, null)
        assert.equal(found?.resource, null)
        assert.equal(found?.dpopJkt, null, 'not DPoP-bound')
        assert.deepEqual(await store.sessions.listSessions(u.id, T0), [found])
        const rotated = await store.sessions.rotateRefreshToken({
          tokenHash: 'tok-0',
          now: T0 + 1,
          graceMs: GRACE,
          successor: next(1, T0 + 1),
        })
        assert.deepEqual(sessionOf(rotated), { ...found, lastUsedAt: T0 + 1 })
      })

      it('clientId, scope, resource and dpopJkt round trip through every read', async () => {
        const u = await addUser(store)
        const granted = {
          clientId: 'client-1',
          scope: 'openid profile offline_access',
          resource: 'https://api.example.com',
          // An RFC 7638 thumbprint: 43 base64url characters.
          dpopJkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I',
        }
        await addSession(store, { userId: u.id, id: 'sess', tokenHash: 'tok-0', ...granted })
        const found = await store.sessions.findSession('sess')
        assert.deepEqual(
          {
            clientId: found?.clientId,
            scope: found?.scope,
            resource: found?.resource,
            dpopJkt: found?.dpopJkt,
          },
          granted,
        )
        assert.deepEqual(await store.sessions.listSessions(u.id, T0), [found])
        const rotated = await store.sessions.rotateRefreshToken({
          tokenHash: 'tok-0',
          now: T0 + 1,
          graceMs: GRACE,
          successor: next(1, T0 + 1),
        })
        assert.deepEqual(sessionOf(rotated), { ...found, lastUsedAt: T0 + 1 })
        const graced = await store.sessions.rotateRefreshToken({
          tokenHash: 'tok-0',
          now: T0 + 2,
          graceMs: GRACE,
          successor: next(2, T0 + 2),
        })
        assert.equal(sessionOf(graced)?.scope, granted.scope)
        assert.equal(sessionOf(graced)?.dpopJkt, granted.dpopJkt)
        const again = await store.sessions.reauthenticate('sess', T0 + 3, ['pwd'])
        assert.equal(again?.resource, granted.resource)
        assert.equal(again?.clientId, granted.clientId)
        assert.equal(again?.dpopJkt, granted.dpopJkt)
      })

      it('revokeClientSessions: one user’s sessions of the client, then every user’s', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        await addSession(store, { userId: u.id, id: 'u-c1-a', clientId: 'client-1' })
        await addSession(store, { userId: u.id, id: 'u-c1-b', clientId: 'client-1' })
        await addSession(store, { userId: u.id, id: 'u-first-party' })
        await addSession(store, { userId: u.id, id: 'u-c2', clientId: 'client-2' })
        await addSession(store, {
          userId: u.id,
          id: 'u-c1-over',
          clientId: 'client-1',
          expiresAt: T0 + HOUR,
        })
        await addSession(store, { userId: u.id, id: 'u-c1-revoked', clientId: 'client-1' })
        await store.sessions.revokeSession('u-c1-revoked', T0 + 1, 'logout')
        await addSession(store, { userId: other.id, id: 'o-c1', clientId: 'client-1' })
        await addSession(store, { userId: other.id, id: 'o-first-party' })

        const now = T0 + DAY
        const mine = await store.sessions.revokeClientSessions(
          'client-1',
          now,
          'consent_revoked',
          u.id,
        )
        assert.deepEqual(mine.sort(), ['u-c1-a', 'u-c1-b'])
        const revoked = await store.sessions.findSession('u-c1-a')
        assert.equal(revoked?.revokedAt, now)
        assert.equal(revoked?.revokedReason, 'consent_revoked')
        assert.equal(
          (await store.sessions.findSession('u-c1-revoked'))?.revokedReason,
          'logout',
          'an earlier revocation stands',
        )
        assert.deepEqual((await store.sessions.listSessions(u.id, now)).map((s) => s.id).sort(), [
          'u-c2',
          'u-first-party',
        ])
        assert.ok(await store.sessions.listSessions(other.id, now).then((l) => l.length === 2))

        const everyone = await store.sessions.revokeClientSessions(
          'client-1',
          now + 1,
          'client_removed',
        )
        assert.deepEqual(everyone, ['o-c1'])
        assert.deepEqual(
          await store.sessions.revokeClientSessions('client-1', now + 2, 'client_removed'),
          [],
        )
        assert.deepEqual(
          (await store.sessions.listSessions(other.id, now + 2)).map((s) => s.id),
          ['o-first-party'],
        )
        assert.equal((await store.sessions.findSession('u-c2'))?.revokedAt, null)
      })
    })

    describe('identities', () => {
      const identity = (
        userId: string,
        overrides: Partial<IdentityRecord> = {},
      ): IdentityRecord => ({
        provider: 'google',
        subject: 'sub-1',
        userId,
        email: 'ada@gmail.example',
        emailVerified: true,
        createdAt: T0,
        lastUsedAt: null,
        ...overrides,
      })

      it('links an identity and finds it by (provider, subject)', async () => {
        const u = await addUser(store)
        const created = await store.identities.createIdentity(identity(u.id))
        assert.deepEqual(created, identity(u.id))
        assert.deepEqual(await store.identities.findIdentity('google', 'sub-1'), identity(u.id))
        assert.equal(await store.identities.findIdentity('google', 'sub-2'), undefined)
        assert.equal(await store.identities.findIdentity('corp', 'sub-1'), undefined)
      })

      it('a (provider, subject) pair belongs to one user: the second link is identity_taken', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        await store.identities.createIdentity(identity(u.id))
        assert.equal(await store.identities.createIdentity(identity(other.id)), 'identity_taken')
        assert.equal((await store.identities.findIdentity('google', 'sub-1'))?.userId, u.id)
        // The same subject at another provider is another identity.
        assert.notEqual(
          await store.identities.createIdentity(identity(other.id, { provider: 'corp' })),
          'identity_taken',
        )
      })

      it('identity_taken inside atomically leaves the transaction usable', async () => {
        const u = await addUser(store)
        await store.identities.createIdentity(identity(u.id))
        const result = await store.atomically(async () => {
          const taken = await store.identities.createIdentity(identity(u.id))
          const other = await store.identities.createIdentity(identity(u.id, { subject: 'sub-2' }))
          return [taken, other === 'identity_taken' ? other : other.subject]
        })
        assert.deepEqual(result, ['identity_taken', 'sub-2'])
        assert.ok(await store.identities.findIdentity('google', 'sub-2'))
      })

      it('of concurrent links of one pair exactly one wins', async () => {
        const users = await Promise.all([1, 2, 3, 4].map(() => addUser(store)))
        const results = await Promise.all(
          users.map((u) => store.identities.createIdentity(identity(u.id))),
        )
        assert.equal(results.filter((r) => r !== 'identity_taken').length, 1)
      })

      it('lists a user’s identities oldest first, and nobody else’s', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        await store.identities.createIdentity(
          identity(u.id, { provider: 'github', createdAt: T0 + 2 }),
        )
        await store.identities.createIdentity(
          identity(u.id, { createdAt: T0 + 1, email: null, emailVerified: false }),
        )
        await store.identities.createIdentity(identity(other.id, { subject: 'sub-9' }))
        const listed = await store.identities.listIdentities(u.id)
        assert.deepEqual(
          listed.map((i) => [i.provider, i.email, i.emailVerified]),
          [
            ['google', null, false],
            ['github', 'ada@gmail.example', true],
          ],
        )
        assert.deepEqual(await store.identities.listIdentities('nobody'), [])
      })

      it('touchIdentity records the sign-in and the address as given', async () => {
        const u = await addUser(store)
        await store.identities.createIdentity(identity(u.id))
        await store.identities.touchIdentity('google', 'sub-1', {
          email: 'new@gmail.example',
          emailVerified: false,
          lastUsedAt: T0 + HOUR,
        })
        assert.deepEqual(
          await store.identities.findIdentity('google', 'sub-1'),
          identity(u.id, {
            email: 'new@gmail.example',
            emailVerified: false,
            lastUsedAt: T0 + HOUR,
          }),
        )
      })

      it('deleteIdentity unlinks only the owner’s identity', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        await store.identities.createIdentity(identity(u.id))
        assert.equal(await store.identities.deleteIdentity('google', 'sub-1', other.id), false)
        assert.ok(await store.identities.findIdentity('google', 'sub-1'))
        assert.equal(await store.identities.deleteIdentity('google', 'sub-1', u.id), true)
        assert.equal(await store.identities.findIdentity('google', 'sub-1'), undefined)
        assert.equal(await store.identities.deleteIdentity('google', 'sub-1', u.id), false)
      })

      it('keeps sealed tokens for an identity: read back, never listed, only the owner’s', async () => {
        const u = await addUser(store)
        const other = await addUser(store)
        await store.identities.createIdentity(identity(u.id))
        assert.equal(await store.identities.readIdentityTokens('google', 'sub-1'), null)
        assert.equal(await store.identities.readIdentityTokens('google', 'nobody'), null)
        assert.equal(
          await store.identities.setIdentityTokens('google', 'sub-1', other.id, 'sealed-x'),
          false,
          'another user’s identity is not touched',
        )
        assert.equal(await store.identities.readIdentityTokens('google', 'sub-1'), null)
        assert.equal(
          await store.identities.setIdentityTokens('google', 'nobody', u.id, 'sealed-x'),
          false,
        )
        assert.equal(
          await store.identities.setIdentityTokens('google', 'sub-1', u.id, 'sealed-1'),
          true,
        )
        assert.equal(await store.identities.readIdentityTokens('google', 'sub-1'), 'sealed-1')
        // The records never carry them.
        assert.deepEqual(await store.identities.findIdentity('google', 'sub-1'), identity(u.id))
        assert.deepEqual(await store.identities.listIdentities(u.id), [identity(u.id)])
        // A sign-in's touch leaves them.
        await store.identities.touchIdentity('google', 'sub-1', {
          email: null,
          emailVerified: false,
          lastUsedAt: T0 + 1,
        })
        assert.equal(await store.identities.readIdentityTokens('google', 'sub-1'), 'sealed-1')
        // Cleared by null.
        assert.equal(await store.identities.setIdentityTokens('google', 'sub-1', u.id, null), true)
        assert.equal(await store.identities.readIdentityTokens('google', 'sub-1'), null)
      })

      it('setIdentityTokens with `expected` swaps only what is still kept', async () => {
        const u = await addUser(store)
        await store.identities.createIdentity(identity(u.id))
        const set = (sealed: string | null, expected: string | null) =>
          store.identities.setIdentityTokens('google', 'sub-1', u.id, sealed, expected)
        assert.equal(await set('sealed-1', 'sealed-0'), false, 'nothing was kept')
        assert.equal(await set('sealed-1', null), true, 'null expects none kept')
        assert.equal(await set('sealed-2', null), false)
        assert.equal(await set('sealed-2', 'sealed-0'), false, 'a refresh that lost the race')
        assert.equal(await store.identities.readIdentityTokens('google', 'sub-1'), 'sealed-1')
        assert.equal(await set('sealed-2', 'sealed-1'), true)
        assert.equal(await set(null, 'sealed-1'), false, 'a stale clear clears nothing')
        assert.equal(await store.identities.readIdentityTokens('google', 'sub-1'), 'sealed-2')
        assert.equal(await set(null, 'sealed-2'), true)
        assert.equal(await store.identities.readIdentityTokens('google', 'sub-1'), null)
      })

      it('unlinking takes the kept tokens with it; a new link starts without', async () => {
        const u = await addUser(store)
        await store.identities.createIdentity(identity(u.id))
        await store.identities.setIdentityTokens('google', 'sub-1', u.id, 'sealed-1')
        assert.equal(await store.identities.deleteIdentity('google', 'sub-1', u.id), true)
        assert.equal(await store.identities.readIdentityTokens('google', 'sub-1'), null)
        await store.identities.createIdentity(identity(u.id))
        assert.equal(await store.identities.readIdentityTokens('google', 'sub-1'), null)
      })

      if (options.raw) {
        const raw = options.raw
        it('deleting a user takes their identities with them', async () => {
          const u = await addUser(store)
          const other = await addUser(store)
          await store.identities.createIdentity(identity(u.id))
          await store.identities.createIdentity(identity(other.id, { subject: 'sub-2' }))
          await raw.deleteUser(store, u.id)
          assert.equal(await store.identities.findIdentity('google', 'sub-1'), undefined)
          assert.ok(await store.identities.findIdentity('google', 'sub-2'))
        })
      }
    })

    if (options.raw) {
      const raw = options.raw
      describe('deleting a user', () => {
        it('takes their sessions, factors and challenges with them, and nobody else’s', async () => {
          const u = await addUser(store)
          const other = await addUser(store)
          for (const userId of [u.id, other.id]) {
            await addSession(store, { userId, id: `${userId}-s` })
            await store.factors.startTotp({ userId, sealedSecret: 's', createdAt: T0 })
            await store.factors.replaceRecoveryCodes(userId, [`${userId}-h`], T0)
            await store.factors.addPasskey(passkey({ userId, id: `${userId}-p` }))
            await store.challenges.createChallenge(challenge({ hash: `${userId}-c`, userId }))
          }
          await store.challenges.createChallenge(
            challenge({ hash: 'nobody-c', kind: 'passkey_login', userId: null }),
          )
          await raw.deleteUser(store, u.id)
          assert.equal(await store.users.findUserById(u.id), undefined)
          assert.equal(await store.sessions.findSession(`${u.id}-s`), undefined)
          assert.equal(await store.factors.findTotp(u.id), undefined)
          assert.equal(await store.factors.countRecoveryCodes(u.id), 0)
          assert.equal(await store.factors.findPasskey(`${u.id}-p`), undefined)
          assert.equal(await store.challenges.findChallenge(`${u.id}-c`, 'mfa', T0), undefined)
          assert.ok(await store.sessions.findSession(`${other.id}-s`))
          assert.deepEqual(await store.factors.summary(other.id), {
            totp: false,
            passkeys: 1,
            recoveryCodes: 1,
          })
          assert.ok(await store.factors.findTotp(other.id))
          assert.ok(await store.challenges.findChallenge(`${other.id}-c`, 'mfa', T0))
          assert.ok(await store.challenges.findChallenge('nobody-c', 'passkey_login', T0))
        })

        it('takes their OAuth consents and codes with them, and nobody else’s', async () => {
          const u = await addUser(store)
          const other = await addUser(store)
          await store.oauth.createClient(oauthClient({ id: 'client-1' }))
          for (const userId of [u.id, other.id]) {
            await store.oauth.grantConsent(userId, 'client-1', ['openid'], T0)
            await store.oauth.createCode(
              oauthCode({ hash: `${userId}-code`, clientId: 'client-1', userId }),
            )
            await addSession(store, { userId, id: `${userId}-s`, clientId: 'client-1' })
          }
          await raw.deleteUser(store, u.id)
          assert.equal(await store.oauth.findConsent(u.id, 'client-1'), undefined)
          assert.deepEqual(await store.oauth.listConsents(u.id), [])
          assert.deepEqual(await store.oauth.redeemCode(`${u.id}-code`, T0 + 1), {
            status: 'not_found',
          })
          assert.equal(await store.sessions.findSession(`${u.id}-s`), undefined)
          assert.ok(await store.oauth.findConsent(other.id, 'client-1'))
          assert.equal(
            (await store.oauth.redeemCode(`${other.id}-code`, T0 + 1)).status,
            'redeemed',
          )
          assert.ok(await store.oauth.findClient('client-1'), 'the client stays')
        })
      })
    }
  })
}

let sequence = 0

function user(overrides: Partial<NewUser> = {}): NewUser {
  sequence += 1
  const n = String(sequence).padStart(5, '0')
  return {
    id: `user-${n}`,
    email: `user-${n}@example.com`,
    name: `User ${n}`,
    passwordHash: HASH,
    roles: ['user'],
    createdAt: T0,
    ...overrides,
  }
}

async function addUser(store: Store, overrides: Partial<NewUser> = {}): Promise<UserRecord> {
  const created = await store.users.createUser(user(overrides))
  if (created === 'email_taken') throw new Error('fixture email taken')
  return created
}

async function addSession(
  store: Store,
  options: {
    userId: string
    id: string
    tokenHash?: string
    createdAt?: number
    expiresAt?: number
    tokenExpiresAt?: number
    authTime?: number
    amr?: string[]
  } & Pick<NewSession, 'clientId' | 'scope' | 'resource' | 'dpopJkt'>,
): Promise<void> {
  const createdAt = options.createdAt ?? T0
  const expiresAt = options.expiresAt ?? createdAt + 30 * DAY
  const { clientId, scope, resource, dpopJkt } = options
  await store.sessions.createSession(
    {
      id: options.id,
      userId: options.userId,
      createdAt,
      expiresAt,
      userAgent: null,
      ip: null,
      authTime: options.authTime ?? createdAt,
      amr: options.amr ?? ['pwd'],
      // Only when given: a session made without them takes the store's defaults.
      ...(clientId === undefined ? {} : { clientId }),
      ...(scope === undefined ? {} : { scope }),
      ...(resource === undefined ? {} : { resource }),
      ...(dpopJkt === undefined ? {} : { dpopJkt }),
    },
    {
      tokenHash: options.tokenHash ?? `tok-${options.id}`,
      sessionId: options.id,
      createdAt,
      expiresAt: options.tokenExpiresAt ?? Math.min(expiresAt, createdAt + 7 * DAY),
    },
  )
}

function next(n: number, now: number): RotationSuccessor {
  return {
    tokenHash: `succ-${n}`,
    createdAt: now,
    expiresAt: now + 7 * DAY,
    sealedPair: `sealed-${n}`,
  }
}

function sessionOf(result: RotateResult) {
  return result.status === 'not_found' ? undefined : result.session
}

function key(kid: string, activatesAt: number): SigningKeyRecord {
  return {
    kid,
    alg: 'ES256',
    publicJwk: JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid }),
    sealedPrivateJwk: `sealed:${kid}`,
    createdAt: activatesAt - HOUR,
    activatesAt,
    retiresAt: null,
    expiresAt: null,
  }
}

function audit(overrides: Partial<AuditEvent> & { event: string }): AuditEvent {
  return {
    at: T0,
    userId: null,
    sessionId: null,
    ip: null,
    details: {},
    ...overrides,
  }
}

function outboxMessage(id: string, overrides: Partial<NewOutboxMessage> = {}): NewOutboxMessage {
  return {
    id,
    to: 'ada@example.com',
    template: 'verify_email',
    sealedData: `sealed:${id}`,
    userId: null,
    createdAt: T0,
    ...overrides,
  }
}

function oneTimeToken(
  overrides: Partial<NewOneTimeToken> & Pick<NewOneTimeToken, 'userId' | 'hash'>,
): NewOneTimeToken {
  return {
    purpose: 'verify_email',
    email: 'ada@example.com',
    createdAt: T0,
    expiresAt: T0 + DAY,
    maxAttempts: 5,
    ...overrides,
  }
}

function passkey(
  overrides: Partial<PasskeyRecord> & Pick<PasskeyRecord, 'userId' | 'id'>,
): PasskeyRecord {
  return {
    name: 'Passkey',
    publicKey: `pk-${overrides.id}`,
    counter: 0,
    transports: ['internal'],
    deviceType: 'singleDevice',
    backedUp: false,
    createdAt: T0,
    lastUsedAt: null,
    ...overrides,
  }
}

function challenge(
  overrides: Partial<NewChallenge> & Pick<NewChallenge, 'hash' | 'userId'>,
): NewChallenge {
  return {
    kind: 'mfa',
    data: '{}',
    createdAt: T0,
    expiresAt: T0 + 5 * MINUTE,
    maxAttempts: 5,
    ...overrides,
  }
}

type NewCode = Omit<OAuthCodeRecord, 'usedAt' | 'sessionId'>

function oauthClient(overrides: Partial<OAuthClientRecord> & Pick<OAuthClientRecord, 'id'>) {
  const client: OAuthClientRecord = {
    name: `Client ${overrides.id}`,
    secretHash: `hash-${overrides.id}`,
    redirectUris: ['https://app.example.com/callback', 'http://127.0.0.1/cb'],
    postLogoutRedirectUris: [],
    grantTypes: ['authorization_code', 'refresh_token'],
    tokenEndpointAuthMethod: 'client_secret_basic',
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    jwks: null,
    firstParty: false,
    accessTokenTtl: null,
    refreshTokenTtl: null,
    dpopBoundAccessTokens: false,
    idTokenEncryption: null,
    userinfoEncryption: null,
    createdAt: T0,
    ...overrides,
  }
  return client
}

function oauthCode(overrides: Partial<NewCode> & Pick<NewCode, 'hash' | 'clientId' | 'userId'>) {
  const code: NewCode = {
    data: JSON.stringify({ redirectUri: 'https://app.example.com/callback', scope: 'openid' }),
    createdAt: T0,
    expiresAt: T0 + MINUTE,
    ...overrides,
  }
  return code
}

async function messageIds(store: Store): Promise<string[]> {
  return (await store.outbox.listMessages({ limit: 1000 })).map((m) => m.id)
}

/** A turn of the event loop, so concurrent callers interleave. */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * Every claimer claims `limit` at a time, all at once, until it finds
 * nothing due; returns every id handed out, duplicates included.
 */
async function drain(
  claimers: Store[],
  now: number,
  limit: number,
  lease: number,
): Promise<string[]> {
  const claimed: string[] = []
  await Promise.all(
    claimers.map(async (claimer) => {
      for (;;) {
        const batch = await claimer.outbox.claimDue(now, limit, lease)
        if (batch.length === 0) return
        claimed.push(...batch.map((m) => m.id))
      }
    }),
  )
  return claimed
}
