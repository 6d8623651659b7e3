import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { hash as bcryptHash } from '@node-rs/bcrypt'
import { hash as argon2Hash, argon2i, argon2id } from 'argon2'
import {
  checkPasswordPolicy,
  createPasswordHasher,
  MAX_PASSWORD_LENGTH,
  normalizeEmail,
  OWASP_ARGON2,
  readCommonPasswords,
} from './passwords.ts'

// Cheap parameters keep the suite fast; one test below runs the real cost.
const CHEAP = { memoryCost: 256, timeCost: 1, parallelism: 1 }
const cheap = createPasswordHasher({ argon2: CHEAP })

describe('hashing', () => {
  test('hash produces argon2id with the configured parameters and verifies', async () => {
    const hash = await cheap.hash('correct horse battery staple')
    assert.match(hash, /^\$argon2id\$v=19\$/)
    assert.match(hash, /m=256/)
    assert.match(hash, /t=1/)
    assert.match(hash, /p=1/)
    assert.ok(!hash.includes('correct horse'))
    assert.deepEqual(await cheap.verify(hash, 'correct horse battery staple'), {
      ok: true,
      needsRehash: false,
    })
    assert.deepEqual(await cheap.verify(hash, 'correct horse battery stapler'), {
      ok: false,
      needsRehash: false,
    })
  })

  test('two hashes of one password differ (random salt)', async () => {
    assert.notEqual(await cheap.hash('same password'), await cheap.hash('same password'))
  })

  test('default cost: OWASP argon2id m=19456 KiB, t=2, p=1', async () => {
    const hasher = createPasswordHasher()
    assert.deepEqual({ ...OWASP_ARGON2 }, { memoryCost: 19_456, timeCost: 2, parallelism: 1 })
    const hash = await hasher.hash('a real passphrase')
    for (const part of ['m=19456', 't=2', 'p=1']) assert.ok(hash.includes(part), hash)
    assert.deepEqual(await hasher.verify(hash, 'a real passphrase'), {
      ok: true,
      needsRehash: false,
    })
  })

  test('hashing runs off the event loop: a timer keeps ticking during a batch', async () => {
    const hasher = createPasswordHasher()
    let ticks = 0
    const timer = setInterval(() => {
      ticks++
    }, 2)
    const started = performance.now()
    await Promise.all(Array.from({ length: 8 }, (_, i) => hasher.hash(`password number ${i}`)))
    const elapsed = performance.now() - started
    clearInterval(timer)
    // Were the hashes computed on the main thread, the timer could not fire
    // until the batch was over (0 or 1 tick). Off the loop it fires about
    // every 2 ms; demand a small fraction of that to stay robust on busy CI.
    assert.ok(elapsed > 20, `batch took ${elapsed} ms`)
    assert.ok(ticks >= Math.max(3, Math.floor(elapsed / 2 / 8)), `${ticks} ticks in ${elapsed} ms`)
  })

  test('argon2 hashes with other parameters or another variant need a rehash', async () => {
    const stronger = createPasswordHasher({ argon2: { ...CHEAP, timeCost: 2 } })
    const old = await cheap.hash('upgrade me please')
    assert.deepEqual(await stronger.verify(old, 'upgrade me please'), {
      ok: true,
      needsRehash: true,
    })
    assert.deepEqual(await stronger.verify(old, 'wrong password'), {
      ok: false,
      needsRehash: false,
    })

    const variantI = await argon2Hash('argon2i password', { type: argon2i, ...CHEAP })
    assert.deepEqual(await cheap.verify(variantI, 'argon2i password'), {
      ok: true,
      needsRehash: true,
    })
  })

  test('bcrypt hashes ($2a$, $2b$, $2y$) verify and need a rehash', async () => {
    const b = await bcryptHash('imported password', 4)
    assert.match(b, /^\$2b\$04\$/)
    for (const prefix of ['$2a$', '$2b$', '$2y$']) {
      const hash = prefix + b.slice(4)
      assert.deepEqual(await cheap.verify(hash, 'imported password'), {
        ok: true,
        needsRehash: true,
      })
      assert.deepEqual(await cheap.verify(hash, 'imported passwore'), {
        ok: false,
        needsRehash: false,
      })
    }
  })

  test('unknown or corrupt hashes fail without throwing', async () => {
    const good = await cheap.hash('password for corruption')
    const garbage = [
      '',
      'plaintext',
      '$1$abc$def',
      '$2x$04$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012',
      '$2b$04$tooshort',
      '$argon2id$v=19$m=256,t=1,p=1$!!!$!!!',
      '$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ',
      '$argon2id$v=19$m=0,t=0,p=0$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA',
      // Absurd cost: refused before any work (it would need 4 GiB).
      '$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA',
      '$argon2id$v=19$m=256,t=1000000,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA',
      good.slice(0, -4),
      `${good}x`,
    ]
    for (const hash of garbage) {
      assert.deepEqual(
        await cheap.verify(hash, 'password for corruption'),
        { ok: false, needsRehash: false },
        hash,
      )
    }
    assert.deepEqual(await cheap.verify(undefined as unknown as string, 'x'), {
      ok: false,
      needsRehash: false,
    })
  })

  test('passwords are NFKC-normalized before hashing (NIST SP 800-63B §5.1.1.2)', async () => {
    const composed = 'caf\u00e9 au lait!'
    const decomposed = 'cafe\u0301 au lait!'
    const hash = await cheap.hash(decomposed)
    assert.deepEqual(await cheap.verify(hash, composed), { ok: true, needsRehash: false })
    assert.deepEqual(await cheap.verify(hash, decomposed), { ok: true, needsRehash: false })
    // A hash made elsewhere from the raw (decomposed) form still verifies, and is upgraded.
    const imported = await argon2Hash(decomposed, { type: argon2id, ...CHEAP })
    assert.deepEqual(await cheap.verify(imported, decomposed), { ok: true, needsRehash: true })
  })

  test('verifyDummy resolves for any input and costs about what a failed verify costs', async () => {
    const hasher = createPasswordHasher({
      argon2: { memoryCost: 4096, timeCost: 2, parallelism: 1 },
    })
    const real = await hasher.hash('the real password')
    await hasher.verifyDummy('warm up: the dummy hash is computed once, lazily')
    await hasher.verifyDummy(undefined as unknown as string)
    const time = async (run: () => Promise<unknown>) => {
      const started = performance.now()
      for (let i = 0; i < 10; i++) await run()
      return performance.now() - started
    }
    const wrong = await time(() => hasher.verify(real, 'a wrong password'))
    const dummy = await time(() => hasher.verifyDummy('a wrong password'))
    const ratio = dummy / wrong
    assert.ok(ratio > 0.4 && ratio < 2.5, `dummy ${dummy} ms vs wrong password ${wrong} ms`)
  })

  test('invalid parameters are refused at creation', () => {
    assert.throws(
      () => createPasswordHasher({ argon2: { memoryCost: 4, timeCost: 1, parallelism: 1 } }),
      TypeError,
    )
    assert.throws(
      () => createPasswordHasher({ argon2: { memoryCost: 256, timeCost: 0, parallelism: 1 } }),
      TypeError,
    )
    assert.throws(
      () => createPasswordHasher({ argon2: { memoryCost: 256, timeCost: 1, parallelism: 1.5 } }),
      TypeError,
    )
  })
})

describe('checkPasswordPolicy', () => {
  const refused = (password: string, context?: { email?: string; name?: string }) => {
    const verdict = checkPasswordPolicy(password, context)
    assert.equal(verdict.ok, false, `accepted ${JSON.stringify(password)}`)
    const { reason } = verdict as { reason: string }
    assert.ok(reason.length > 0)
    return reason
  }
  const accepted = (password: string, context?: { email?: string; name?: string }) =>
    assert.deepEqual(checkPasswordPolicy(password, context), { ok: true }, JSON.stringify(password))

  test('length: 8 to 1024 code points', () => {
    assert.match(refused('xq7#kLm'), /at least 8/)
    accepted('xq7#kLm2')
    accepted(`${'x'.repeat(MAX_PASSWORD_LENGTH - 1)}y`)
    assert.match(refused(`${'x'.repeat(MAX_PASSWORD_LENGTH)}y`), /at most 1024/)
  })

  test('length counts code points, not UTF-16 units', () => {
    // 7 code points, 11 UTF-16 units.
    assert.match(refused('\u{1F600}\u{1F601}\u{1F602}\u{1F603}abc'), /at least 8/)
    accepted('\u{1F600}\u{1F601}\u{1F602}\u{1F603}abcd')
  })

  test('length is measured after NFKC normalization', () => {
    // Four "ﬃ" ligatures are 4 code points, 12 after NFKC ("ffiffiffiffi").
    accepted('\uFB03\uFB03\uFB03\uFB03')
    // Seven circled digits are 7 code points either way.
    assert.match(refused('\u2460\u2461\u2462\u2463\u2464\u2465\u2466'), /at least 8/)
  })

  test('common passwords are refused, whatever the case or width', () => {
    for (const password of [
      'password',
      'PassWord1',
      'qwertyuiop',
      'iloveyou',
      '\uFF50\uFF41\uFF53\uFF53\uFF57\uFF4F\uFF52\uFF44',
    ]) {
      assert.match(refused(password), /too common/)
    }
  })

  test('spaces around and invisible characters inside do not hide a common password (issue #12)', () => {
    for (const password of [
      'password ',
      '  password',
      'pass\u200bword',
      'pass\u00adword',
      '\u2060password\u200d',
      'ilove\ufeffyou ',
    ]) {
      assert.match(refused(password), /too common/, JSON.stringify(password))
    }
  })

  test('a single repeated character is refused', () => {
    assert.match(refused('zzzzzzzzzzzz'), /single repeated character/)
    assert.match(refused('\u{1F600}'.repeat(10)), /single repeated character/)
    accepted('zzzzzzzzzzzy')
  })

  test('the email, its local part and the name are refused', () => {
    const context = { email: 'Ada.Lovelace@Example.com', name: 'Grace Hopper' }
    assert.match(refused('ada.lovelace@example.com', context), /email/)
    assert.match(refused('ADA.LOVELACE', context), /email/)
    assert.match(refused('grace hopper', context), /name/)
    assert.match(refused('GraceHopper', context), /name/)
    accepted('ada.lovelace.rocks', context)
  })

  test('reasons never echo the password', () => {
    const context = { email: 'zq9.marker.x@example.com', name: 'Zq9 Marker Name' }
    const inputs = [
      'Zq9mk',
      `Zq9mk${'m'.repeat(1100)}`,
      'ZZZZZZZZZZZZ',
      'zq9.marker.x@example.com',
      'zq9.marker.x',
      'zq9 marker name',
      'trustno1',
    ]
    for (const password of inputs) {
      const reason = refused(password, context)
      assert.ok(!reason.toLowerCase().includes(password.slice(0, 5).toLowerCase()), reason)
    }
  })

  test('no composition rules (NIST): long lower-case passphrases pass', () => {
    accepted('correct horse battery staple')
    accepted('thisisalllowercaseandfine')
    accepted('12345678901234567890123')
  })

  test('the shipped list: ~10,000 lower-case entries of 8+ characters, loaded as a set', () => {
    const entries = readCommonPasswords()
    assert.equal(entries.length, 10_000)
    assert.equal(new Set(entries).size, entries.length)
    for (const entry of entries) {
      assert.equal(entry, entry.normalize('NFKC').toLowerCase())
      assert.ok([...entry].length >= 8, entry)
    }
    // Every listed value is refused.
    for (const entry of entries.filter((_, i) => i % 97 === 0)) {
      const verdict = checkPasswordPolicy(entry)
      assert.equal(verdict.ok, false, entry)
    }
  })

  test('the data file keeps the licence notice of its source (zxcvbn-ts, MIT)', () => {
    const text = readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
    const header = text.slice(0, text.indexOf('\npassword\n'))
    assert.match(header, /Copyright \(c\) 2012-2016 Dan Wheeler and Dropbox, Inc\./)
    assert.match(header, /Copyright \(c\) 2021 @zxcvbn-ts/)
    assert.match(header, /Permission is hereby granted, free of charge/)
    assert.ok(header.split('\n').every((line) => line.startsWith('#')))
  })
})

describe('normalizeEmail', () => {
  test('trims, lower-cases and composes (NFC)', () => {
    assert.equal(normalizeEmail('  Ada@Example.COM '), 'ada@example.com')
    assert.equal(normalizeEmail('Jose\u0301@example.com'), 'jos\u00e9@example.com')
    assert.equal(normalizeEmail('a+tag@sub.example.co.uk'), 'a+tag@sub.example.co.uk')
  })

  test('one mailbox, one key: compatibility forms and IDNA spellings of a domain (issue #12)', () => {
    assert.equal(normalizeEmail('ada@ＥＸＡＭＰＬＥ.com'), 'ada@example.com')
    assert.equal(normalizeEmail('ada@bücher.example'), 'ada@bücher.example')
    assert.equal(normalizeEmail('ada@xn--bcher-kva.example'), 'ada@bücher.example')
    assert.equal(normalizeEmail('ada@BÜCHER.example'), 'ada@bücher.example')
    assert.equal(normalizeEmail('ada@exam\u00adple.com'), undefined, 'soft hyphen (invisible)')
    assert.equal(normalizeEmail('ada@example\u3002com'), 'ada@example.com', 'ideographic full stop')
    // A local part NFKC would change is refused, not folded into another mailbox.
    for (const email of ['ａｄａ@example.com', 'ﬁle@example.com', 'ada²@example.com']) {
      assert.equal(normalizeEmail(email), undefined, email)
    }
    assert.equal(normalizeEmail('ada@ex_ample.com'), undefined)
    assert.equal(normalizeEmail('ada@xn--zz.com'), undefined, 'invalid punycode')
  })

  test('refuses implausible addresses', () => {
    const bad = [
      '',
      'ada',
      '@example.com',
      'ada@',
      'ada@@example.com',
      'a@b@example.com',
      'ada lovelace@example.com',
      'ada@exa mple.com',
      'ada\u0000@example.com',
      'ada\u200b@example.com',
      'ada@example..com',
      'ada@.example.com',
      'ada@example.com.',
      `${'a'.repeat(65)}@example.com`,
      `ada@${'a'.repeat(250)}.com`,
    ]
    for (const email of bad) assert.equal(normalizeEmail(email), undefined, JSON.stringify(email))
    assert.equal(normalizeEmail(undefined as unknown as string), undefined)
  })

  test('the length limit is 254 bytes', () => {
    const domain = `${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(61)}.com`
    const local = 'l'.repeat(254 - domain.length - 1)
    assert.equal(normalizeEmail(`${local}@${domain}`)?.length, 254)
    assert.equal(normalizeEmail(`${local}x@${domain}`), undefined)
  })
})

test('normalizeEmail refuses characters a dot-atom address cannot hold', () => {
  for (const bad of [
    '<script>@x.com',
    'a"b@x.com',
    'a b@x.com',
    'a(b)@x.com',
    'a@x_y.com',
    '.a@x.com',
    'a..b@x.com',
    'a;b@x.com',
    'a@[127.0.0.1]',
  ]) {
    assert.equal(normalizeEmail(bad), undefined, bad)
  }
  for (const good of [
    "o'brien@example.com",
    'a+tag@example.com',
    'josé@exämple.de',
    'x.y-z@sub.example.co',
  ]) {
    assert.equal(normalizeEmail(good), good.normalize('NFC').toLowerCase(), good)
  }
})
