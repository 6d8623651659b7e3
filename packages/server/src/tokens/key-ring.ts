// The signing keys of a deployment: generated and sealed into the store,
// rotated with a publication delay, published as a JWKS, and held as the
// KeySet access tokens are verified against.
//
// A key's state is never stored; it derives from its times (see stateAt):
//   next     now < activatesAt: published so resource servers learn it before it signs
//   current  the latest key with activatesAt <= now that has not retired: it signs
//   retired  retiresAt <= now < expiresAt: published until every token it signed expired
// Several instances share one store; each re-reads it in maintain(), and every
// change happens under the store's rotation lock after a re-read, so exactly
// one instance creates the first key or rotates.

import {
  ALGORITHMS,
  type Algorithm,
  exportJwk,
  generateKeyPair,
  importJwk,
  importSecret,
  type Jwk,
  type Key,
  KeySet,
} from '@tessera/jwt'
import type { KeyStore, SigningKeyRecord } from '../storage/ports.ts'
import type { Sealer } from './sealer.ts'

type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512'
type AsymmetricAlgorithm = Exclude<Algorithm, HmacAlgorithm>

/** Structured logger (pino's shape): fields first, then the message. Never a key in the fields. */
export interface KeyRingLog {
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
}

export interface KeyRingOptions {
  store: KeyStore
  sealer: Sealer
  alg: Algorithm
  /** For HS*: the configured secrets; the first signs, all verify. Ignored otherwise. */
  hsSecrets: readonly { readonly kid: string; readonly secret: Buffer }[]
  /** Seconds a key signs before the next one takes over. */
  rotationInterval: number
  /** Seconds an access token lives: how long a retired key stays published. */
  accessTokenTtl: number
  /** Epoch milliseconds. */
  now: () => number
  /**
   * Seconds a new key is published as "next" before it signs. Default 600, or
   * half the rotation interval when that is shorter (TESSERA_KEY_ROTATION_INTERVAL
   * may be as short as a minute); an explicit value must be below the interval.
   */
  publishDelay?: number
  log?: KeyRingLog
}

/**
 * What {@link KeyRing.rotate} rejects with under HS*: the secrets are
 * configuration (TESSERA_HS_SECRETS), not keys the ring generates, so there is
 * nothing for it to rotate. A refusal, not a failure: the message is public
 * (it names the variable, never a secret) and tells the operator what to do.
 */
/** A signing key as the admin API and the CLI show it: state derives from time. */
export interface KeyView {
  kid: string
  alg: string
  state: 'next' | 'current' | 'retired'
  createdAt: string
  activatesAt: string
  retiresAt: string | null
  expiresAt: string | null
}

export class KeyRotationRefusedError extends Error {
  readonly alg: Algorithm

  constructor(alg: HmacAlgorithm) {
    super(
      `the ${alg} secrets are not rotated by Tessera but through TESSERA_HS_SECRETS: list the new secret first, keep the old one until the tokens it signed have expired, then remove it (on every instance)`,
    )
    this.name = 'KeyRotationRefusedError'
    this.alg = alg
  }
}

/** The public JWKS document. */
export interface JwksDocument {
  keys: Jwk[]
}

export interface KeyRing {
  readonly alg: Algorithm
  /** Loads the keys; creates the first one when none can sign (once across instances). */
  start(): Promise<void>
  /** The key that signs now. Synchronous and cheap: call it per token. */
  signingKey(): Key
  /**
   * Public keys of next, current and retired-but-unexpired keys (the HS
   * secrets for HS*). One live object, updated in place, so a verifier bound
   * to it follows rotations.
   */
  readonly verificationKeys: KeySet
  /** Next, current and retired-but-unexpired public keys; never an HS secret. Frozen, cached. */
  jwks(): JwksDocument
  /**
   * Publishes a new key as next (or makes it current at once with `immediate`).
   * Rejects with {@link KeyRotationRefusedError} under HS*.
   */
  rotate(options?: { immediate?: boolean }): Promise<KeyView[]>
  /**
   * Call periodically (every minute or so): re-reads the store, rotates when
   * the current key is due (one instance only), deletes expired keys. Starts
   * no timer of its own.
   */
  maintain(): Promise<void>
  /**
   * Re-reads the store and nothing else (no rotation, no deletion): for when
   * another process is known to have changed the keys (`tessera keys rotate`).
   * Being read-only, it never wakes up the other instances in turn.
   */
  reload(): Promise<void>
  list(): KeyView[]
}

const DEFAULT_PUBLISH_DELAY = 600
/**
 * A retired key stays published this long past the last token it could have
 * signed: covers clock skew between instances and the gap before an instance
 * notices a rotation in maintain().
 */
const SKEW_SECONDS = 60

interface LoadedKey {
  readonly alg: string
  readonly privateKey: Key
  readonly publicKey: Key
}

function isHmac(alg: Algorithm): alg is HmacAlgorithm {
  return alg === 'HS256' || alg === 'HS384' || alg === 'HS512'
}

function isExpired(record: SigningKeyRecord, now: number): boolean {
  return record.expiresAt !== null && record.expiresAt <= now
}

/**
 * Newest first: by activation, then creation, then the later (or no)
 * retirement, then kid, so every instance orders alike.
 */
function byActivationDesc(a: SigningKeyRecord, b: SigningKeyRecord): number {
  return (
    b.activatesAt - a.activatesAt ||
    b.createdAt - a.createdAt ||
    // NaN when neither retires: falls through to the kid.
    (b.retiresAt ?? Number.POSITIVE_INFINITY) - (a.retiresAt ?? Number.POSITIVE_INFINITY) ||
    (a.kid < b.kid ? 1 : a.kid > b.kid ? -1 : 0)
  )
}

/** The key that signs at `now`: the latest activated one that has not retired. */
function currentRecord(
  records: readonly SigningKeyRecord[],
  now: number,
): SigningKeyRecord | undefined {
  let found: SigningKeyRecord | undefined
  for (const record of records) {
    if (isExpired(record, now) || record.activatesAt > now) continue
    if (record.retiresAt !== null && record.retiresAt <= now) continue
    if (found === undefined || byActivationDesc(record, found) < 0) found = record
  }
  return found
}

function stateAt(
  record: SigningKeyRecord,
  now: number,
  currentKid: string | undefined,
): KeyView['state'] {
  if (record.kid === currentKid) return 'current'
  if (record.retiresAt !== null && record.retiresAt <= now) return 'retired'
  if (now < record.activatesAt) return 'next'
  // Activated, not retired, yet superseded by a later key (a rotation cut short): it no longer signs.
  return 'retired'
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString()
}

function checkSeconds(value: unknown, name: string, allowZero: boolean): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (!allowZero && value === 0)
  ) {
    throw new TypeError(
      `${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of seconds`,
    )
  }
  return value
}

/**
 * Creates the key ring. Nothing touches the store until {@link KeyRing.start}.
 *
 * @example
 * const ring = createKeyRing({ store: store.keys, sealer, alg: 'ES256', hsSecrets: [], rotationInterval: 30 * 86400, accessTokenTtl: 900, now: Date.now })
 * await ring.start()
 * setInterval(() => ring.maintain().catch(log.error), 60_000).unref()
 */
export function createKeyRing(options: KeyRingOptions): KeyRing {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('options must be an object')
  }
  const { store, sealer, alg, now } = options
  const log = options.log
  if (!ALGORITHMS.includes(alg)) throw new TypeError('alg must be a supported algorithm')
  if (typeof now !== 'function') throw new TypeError('now must be a function')
  if (store === null || typeof store !== 'object' || typeof store.listKeys !== 'function') {
    throw new TypeError('store must be a KeyStore')
  }
  const accessTokenTtl = checkSeconds(options.accessTokenTtl, 'accessTokenTtl', false)
  const rotationInterval = checkSeconds(options.rotationInterval, 'rotationInterval', false)
  const publishDelay = checkSeconds(
    options.publishDelay ?? Math.min(DEFAULT_PUBLISH_DELAY, rotationInterval / 2),
    'publishDelay',
    true,
  )

  const verificationKeys = new KeySet()
  if (isHmac(alg)) return createHmacRing(options, alg, verificationKeys)

  if (rotationInterval <= publishDelay) {
    throw new TypeError('rotationInterval must be longer than publishDelay')
  }
  if (sealer === null || typeof sealer !== 'object' || typeof sealer.open !== 'function') {
    throw new TypeError('sealer must be a Sealer')
  }
  const publishDelayMs = publishDelay * 1000
  const rotateAfterMs = (rotationInterval - publishDelay) * 1000
  const retiredLifetimeMs = (accessTokenTtl + SKEW_SECONDS) * 1000

  /** Unexpired records as last read from the store, newest first. */
  let records: SigningKeyRecord[] = []
  /** Opened keys by kid, kept across reads so the verifier's cache sees the same Key objects. */
  const loaded = new Map<string, LoadedKey>()
  /** Kids already warned about, so a bad row is logged once, not every minute. */
  const warned = new Set<string>()
  let signing: Key | undefined
  let jwksDocument: JwksDocument = Object.freeze({ keys: Object.freeze([]) as unknown as Jwk[] })
  let publishedKids = ''
  /** Derived state holds until this time (the next activation, retirement or expiry). */
  let validUntil = Number.NEGATIVE_INFINITY
  let queue: Promise<unknown> = Promise.resolve()

  /** One ring operation at a time, so an older store read never overwrites a newer one. */
  function serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn)
    queue = run.catch(() => undefined)
    return run
  }

  /**
   * Opens a stored key. The public key is derived from the sealed private
   * key, never taken from `publicJwk`: a row written by someone without the
   * master key (SQL injection, a stolen database password) cannot add a key
   * that verifies tokens. The seal's context binds the sealed JWK to its kid.
   */
  function openRecord(record: SigningKeyRecord): LoadedKey {
    const recordAlg = record.alg as Algorithm
    if (!ALGORITHMS.includes(recordAlg) || isHmac(recordAlg)) {
      throw new Error('unsupported algorithm')
    }
    const jwk = JSON.parse(sealer.open(record.sealedPrivateJwk, `signing-key:${record.kid}`)) as Jwk
    if (jwk.kid !== undefined && jwk.kid !== record.kid) throw new Error('kid mismatch')
    // importJwk refuses a sealed JWK whose own "alg" differs from the row's.
    const privateKey = importJwk(jwk, { alg: recordAlg, kid: record.kid })
    if (privateKey.type !== 'private') throw new Error('not a private key')
    return { alg: record.alg, privateKey, publicKey: privateKey.publicKey }
  }

  /** Re-reads the store; returns the kids that could not be opened. */
  async function refresh(): Promise<string[]> {
    const all = await store.listKeys()
    const t = now()
    const fresh = all.filter((record) => !isExpired(record, t)).sort(byActivationDesc)
    const failed: string[] = []
    const next = new Map<string, LoadedKey>()
    for (const record of fresh) {
      const known = loaded.get(record.kid)
      if (known !== undefined && known.alg === record.alg) {
        next.set(record.kid, known)
        continue
      }
      try {
        next.set(record.kid, openRecord(record))
      } catch {
        failed.push(record.kid)
      }
    }
    records = fresh
    loaded.clear()
    for (const [kid, key] of next) loaded.set(kid, key)
    derive(t)
    return failed
  }

  /** Recomputes the signing key, the published set and the JWKS for time `t`. */
  function derive(t: number): void {
    const current = currentRecord(records, t)
    signing = undefined
    if (current !== undefined && current.alg === alg) signing = loaded.get(current.kid)?.privateKey
    if (signing === undefined) {
      // The current key is missing or of another algorithm (instances mid-way
      // through a TESSERA_SIGNING_ALG change): keep signing with our latest
      // activated key while it is still published, rather than failing logins.
      for (const record of records) {
        const key = loaded.get(record.kid)
        if (
          record.alg === alg &&
          record.activatesAt <= t &&
          key !== undefined &&
          !isExpired(record, t)
        ) {
          signing = key.privateKey
          break
        }
      }
    }

    const published = records.filter((record) => !isExpired(record, t) && loaded.has(record.kid))
    const kids = new Set(published.map((record) => record.kid))
    for (const key of [...verificationKeys])
      if (!kids.has(key.kid)) verificationKeys.delete(key.kid)
    for (const record of published) {
      if (!verificationKeys.has(record.kid)) verificationKeys.add(loaded.get(record.kid)!.publicKey)
    }
    const signature = published.map((record) => record.kid).join(' ')
    if (signature !== publishedKids) {
      publishedKids = signature
      const keys = published.map((record) =>
        Object.freeze(exportJwk(loaded.get(record.kid)!.publicKey)),
      )
      jwksDocument = Object.freeze({ keys: Object.freeze(keys) as Jwk[] })
    }

    validUntil = Number.POSITIVE_INFINITY
    for (const record of records) {
      for (const time of [record.activatesAt, record.retiresAt, record.expiresAt]) {
        if (time !== null && time > t && time < validUntil) validUntil = time
      }
    }
  }

  function ensureFresh(): void {
    const t = now()
    if (t >= validUntil) derive(t)
  }

  function warnUnopenable(kids: readonly string[]): void {
    for (const kid of kids) {
      if (warned.has(kid)) continue
      warned.add(kid)
      log?.warn(
        { kid },
        'a stored signing key cannot be opened with this master key; it is ignored (is TESSERA_MASTER_KEY the same on every instance?)',
      )
    }
  }

  /**
   * Inserts a new key activating at `t` (immediate) or after the publication
   * delay, and retires every key that would still sign after that moment.
   * Runs inside the rotation lock, on records read inside it.
   */
  async function insertNewKey(
    existing: readonly SigningKeyRecord[],
    t: number,
    immediate: boolean,
  ): Promise<SigningKeyRecord> {
    const activatesAt = immediate ? t : t + publishDelayMs
    const { privateKey, publicKey } = generateKeyPair(alg as AsymmetricAlgorithm)
    const kid = privateKey.kid
    const record: SigningKeyRecord = {
      kid,
      alg,
      publicJwk: JSON.stringify(exportJwk(publicKey)),
      sealedPrivateJwk: sealer.seal(
        JSON.stringify(exportJwk(privateKey, { includePrivate: true })),
        `signing-key:${kid}`,
      ),
      createdAt: t,
      activatesAt,
      retiresAt: null,
      expiresAt: null,
    }
    // Insert before retiring: were we to stop half-way, two keys would be
    // active (the later one signs) rather than none.
    await store.insertKey(record)
    for (const old of existing) {
      if (isExpired(old, t)) continue
      if (old.retiresAt === null || old.retiresAt > activatesAt) {
        await store.retireKey(old.kid, activatesAt, activatesAt + retiredLifetimeMs)
      }
    }
    return record
  }

  function rotationDue(record: SigningKeyRecord, t: number): boolean {
    return (
      record.alg === alg && record.retiresAt === null && t - record.activatesAt >= rotateAfterMs
    )
  }

  function usable(record: SigningKeyRecord | undefined): boolean {
    return record !== undefined && record.alg === alg
  }

  /** Creates a key that signs at once unless, re-read under the lock, one already does. */
  async function ensureCurrentKey(accept: (record: SigningKeyRecord | undefined) => boolean) {
    return store.withRotationLock(async () => {
      const fresh = await store.listKeys()
      const t = now()
      const live = fresh.filter((record) => !isExpired(record, t))
      if (accept(currentRecord(live, t))) return undefined
      return insertNewKey(live, t, true)
    })
  }

  function list(): KeyView[] {
    const t = now()
    const current = currentRecord(records, t)?.kid
    return records
      .filter((record) => !isExpired(record, t))
      .map((record) => ({
        kid: record.kid,
        alg: record.alg,
        state: stateAt(record, t, current),
        createdAt: iso(record.createdAt),
        activatesAt: iso(record.activatesAt),
        retiresAt: record.retiresAt === null ? null : iso(record.retiresAt),
        expiresAt: record.expiresAt === null ? null : iso(record.expiresAt),
      }))
  }

  return {
    alg,
    verificationKeys,

    start(): Promise<void> {
      return serialize(async () => {
        const failed = await refresh()
        if (failed.length > 0) {
          // Refuse to start rather than generate keys the other instances cannot open.
          throw new Error(
            `cannot open stored signing keys (${failed.join(', ')}) with this master key: TESSERA_MASTER_KEY must be the one that sealed them`,
          )
        }
        const before = currentRecord(records, now())
        if (usable(before)) return
        const created = await ensureCurrentKey(usable)
        if (created !== undefined) {
          if (before === undefined) {
            log?.info({ kid: created.kid, alg }, 'generated the first signing key')
          } else {
            log?.warn(
              { kid: created.kid, alg, previousAlg: before.alg },
              'the signing algorithm changed: generated a new key that signs now; the old one stays published until its tokens expire',
            )
          }
        }
        warnUnopenable(await refresh())
        if (signing === undefined) throw new Error('no usable signing key after start')
      })
    },

    signingKey(): Key {
      ensureFresh()
      if (signing === undefined)
        throw new Error('the key ring has no signing key: call start() first')
      return signing
    },

    jwks(): JwksDocument {
      ensureFresh()
      return jwksDocument
    },

    rotate(rotateOptions: { immediate?: boolean } = {}): Promise<KeyView[]> {
      const immediate = rotateOptions.immediate === true
      return serialize(async () => {
        const created = await store.withRotationLock(async () => {
          const fresh = await store.listKeys()
          return insertNewKey(fresh, now(), immediate)
        })
        log?.info(
          { kid: created.kid, alg, activatesAt: iso(created.activatesAt) },
          immediate
            ? 'rotated signing keys: the new key signs now'
            : 'rotated signing keys: the new key is published as next',
        )
        warnUnopenable(await refresh())
        return list()
      })
    },

    maintain(): Promise<void> {
      return serialize(async () => {
        await store.deleteExpiredKeys(now())
        warnUnopenable(await refresh())
        const t = now()
        const current = currentRecord(records, t)
        let created: SigningKeyRecord | undefined
        // After taking the lock, re-read whoever won: another instance may have made the change.
        let reread = false
        if (current === undefined) {
          reread = true
          // Nothing signs (every key retired without a successor, or none left): heal.
          created = await ensureCurrentKey((record) => record !== undefined)
          if (created !== undefined) {
            log?.warn(
              { kid: created.kid, alg },
              'no signing key was current: generated one that signs now',
            )
          }
        } else if (current.alg !== alg) {
          if (!warned.has(`alg:${current.kid}`)) {
            warned.add(`alg:${current.kid}`)
            log?.warn(
              { kid: current.kid, alg: current.alg, configuredAlg: alg },
              'the current signing key uses another algorithm than this instance: give every instance the same TESSERA_SIGNING_ALG',
            )
          }
        } else if (rotationDue(current, t)) {
          reread = true
          created = await store.withRotationLock(async () => {
            const fresh = await store.listKeys()
            const t2 = now()
            const live = fresh.filter((record) => !isExpired(record, t2))
            const again = currentRecord(live, t2)
            // Another instance may have rotated while we waited for the lock.
            if (again === undefined || !rotationDue(again, t2)) return undefined
            return insertNewKey(live, t2, false)
          })
          if (created !== undefined) {
            log?.info(
              { kid: created.kid, alg, activatesAt: iso(created.activatesAt) },
              'rotated signing keys: the new key is published as next',
            )
          }
        }
        if (reread) warnUnopenable(await refresh())
      })
    },

    reload(): Promise<void> {
      return serialize(async () => warnUnopenable(await refresh()))
    },

    list,
  }
}

/** HS*: the keys are the configured secrets; nothing is generated, stored or published. */
function createHmacRing(
  options: KeyRingOptions,
  alg: HmacAlgorithm,
  verificationKeys: KeySet,
): KeyRing {
  const secrets = options.hsSecrets
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new TypeError(`${alg} needs at least one secret (TESSERA_HS_SECRETS)`)
  }
  // importSecret refuses secrets shorter than the hash output (RFC 7518 §3.2); KeySet refuses duplicate kids.
  for (const { kid, secret } of secrets) verificationKeys.add(importSecret(secret, alg, { kid }))
  const signing = verificationKeys.get(secrets[0]!.kid)!
  const since = new Date(options.now()).toISOString()
  const views: KeyView[] = secrets.map(({ kid }, index) => ({
    kid,
    alg,
    // The first secret signs; the others only verify, like a retired key.
    state: index === 0 ? 'current' : 'retired',
    createdAt: since,
    activatesAt: since,
    retiresAt: null,
    expiresAt: null,
  }))
  const empty: JwksDocument = Object.freeze({ keys: Object.freeze([]) as unknown as Jwk[] })
  return {
    alg,
    verificationKeys,
    start: async () => {},
    signingKey: () => signing,
    jwks: () => empty,
    rotate: () => Promise.reject(new KeyRotationRefusedError(alg)),
    maintain: async () => {},
    reload: async () => {},
    list: () => views.map((view) => ({ ...view })),
  }
}
