// The pure helpers of the page script (assets/app.js), run in Node. The
// inspector's WebCrypto mapping is checked with Node's WebCrypto, which
// implements the same Web Crypto API as the browsers.

import assert from 'node:assert/strict'
import type { webcrypto } from 'node:crypto'
import { describe, test } from 'node:test'
import { exportJwk, generateKeyPair, sign } from '@tessera/jwt'
import { qrSvg } from '../../auth/totp.ts'
import {
  base64urlDecode,
  ceremonyErrorText,
  csrfReason,
  decodeJwt,
  defaultPasskeyName,
  deviceLabel,
  ENROLMENT_MS,
  endedReason,
  federationChallenge,
  groupSecret,
  passkeyKind,
  recoveryCodesLeft,
  recoveryCodesText,
  relativeTime,
  secondStepOver,
  sentence,
  svgDataUrl,
  webCryptoParams,
} from './assets/app.js'

describe('sentence', () => {
  test("shows the API's lower-case messages as sentences, and leaves sentences alone", () => {
    assert.equal(sentence('must be an email address'), 'Must be an email address.')
    assert.equal(sentence('the URL is malformed'), 'The URL is malformed.')
    assert.equal(sentence('Use at least 8 characters.'), 'Use at least 8 characters.')
    assert.equal(sentence('too many attempts?'), 'Too many attempts?')
    assert.equal(sentence(''), '')
    assert.equal(sentence(undefined), '')
  })
})

describe('/login?reason=: why a page sent the user there', () => {
  test('a refused CSRF check, from its reason; any other refusal is no reason of this kind', () => {
    assert.equal(csrfReason({ code: 'csrf_failed', reason: 'duplicate_cookie' }), 'cookie_conflict')
    assert.equal(csrfReason({ code: 'csrf_failed', reason: 'origin' }), 'origin_refused')
    assert.equal(csrfReason({ code: 'csrf_failed' }), 'origin_refused')
    assert.equal(csrfReason({ code: 'invalid_refresh_token' }), undefined)
    assert.equal(csrfReason(undefined), undefined)
  })

  test("a session the client reports ended, in /login's words; none for a first visit", () => {
    assert.equal(endedReason('signed_out'), 'signed_out')
    assert.equal(endedReason('reused'), 'reused')
    assert.equal(endedReason('revoked'), 'session_ended')
    assert.equal(endedReason('expired'), 'session_ended')
    assert.equal(endedReason('network'), undefined)
    assert.equal(endedReason(undefined), undefined)
    assert.equal(endedReason('toString'), undefined)
  })
})

describe('deviceLabel', () => {
  test('browser and system from common user agents', () => {
    const table: [string | null, string][] = [
      [
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
        'Chrome on Windows',
      ],
      [
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
        'Edge on Windows',
      ],
      [
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
        'Safari on macOS',
      ],
      [
        'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
        'Firefox on Linux',
      ],
      [
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
        'Safari on iOS',
      ],
      [
        'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
        'Chrome on Android',
      ],
      [
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
        'Headless Chrome on Linux',
      ],
      ['curl/8.5.0', 'curl'],
      ['node', 'Node.js'],
      ['<script>alert(1)</script>', 'Other client'],
      ['', 'Unknown device'],
      [null, 'Unknown device'],
    ]
    for (const [agent, label] of table) assert.equal(deviceLabel(agent), label, String(agent))
  })
})

describe('relativeTime', () => {
  test('past and future, in the largest fitting unit; under 10 s is "just now"', () => {
    const now = Date.UTC(2026, 0, 1)
    assert.equal(relativeTime(now, now), 'just now')
    assert.equal(relativeTime(now + 9_000, now), 'just now')
    assert.equal(relativeTime(now - 30_000, now), '30 seconds ago')
    assert.equal(relativeTime(now - 90_000, now), '1 minute ago')
    assert.equal(relativeTime(now + 14 * 60_000, now), 'in 14 minutes')
    assert.equal(relativeTime(now - 3 * 86_400_000, now), '3 days ago')
  })
})

describe('base64urlDecode', () => {
  test('strict base64url only', () => {
    assert.deepEqual([...base64urlDecode('AQID')], [1, 2, 3])
    assert.deepEqual([...base64urlDecode('_-8')], [255, 239])
    assert.deepEqual([...base64urlDecode('')], [])
    for (const bad of ['AQ==', 'a+b/', 'A', 'a b', 'é']) {
      assert.throws(() => base64urlDecode(bad), /not base64url/, bad)
    }
  })
})

describe('decodeJwt', () => {
  const { privateKey } = generateKeyPair('ES256', { kid: 'k1' })
  const token = sign({ sub: 'u1', name: '<b>Ada</b>' }, privateKey, { expiresIn: 60 })

  test('header, payload, signing input and signature bytes', () => {
    const decoded = decodeJwt(token)
    assert.equal(decoded.header['alg'], 'ES256')
    assert.equal(decoded.header['kid'], 'k1')
    assert.equal(decoded.payload['sub'], 'u1')
    assert.equal(decoded.payload['name'], '<b>Ada</b>')
    assert.equal(
      new TextDecoder().decode(decoded.signingInput),
      token.split('.').slice(0, 2).join('.'),
    )
    assert.equal(decoded.signature.length, 64)
  })

  test('malformed tokens get a message that can be shown', () => {
    const [header, payload] = token.split('.')
    const table: [string, RegExp][] = [
      ['abc', /three parts.*has 1/],
      ['a.b.c.d.e', /encrypted token/],
      [`${header}.${payload}`, /three parts.*has 2/],
      [`!!.${payload}.AA`, /header is not base64url-encoded JSON/],
      [`${header}.${Buffer.from('[1]').toString('base64url')}.AA`, /payload is not a JSON object/],
      [`${header}.${Buffer.from('null').toString('base64url')}.AA`, /payload is not a JSON object/],
      [
        `${header}.${Buffer.from([0xff, 0xfe]).toString('base64url')}.AA`,
        /payload is not base64url/,
      ],
      [`${header}.${payload}.a+b`, /signature is not base64url/],
    ]
    for (const [bad, message] of table) assert.throws(() => decodeJwt(bad), message, bad)
  })
})

describe('webCryptoParams: the inspector verifies what @tessera/jwt signs', () => {
  const algorithms = [
    'ES256',
    'ES384',
    'ES512',
    'RS256',
    'RS512',
    'PS256',
    'PS384',
    'EdDSA',
  ] as const
  for (const alg of algorithms) {
    test(alg, async () => {
      const { privateKey, publicKey } = generateKeyPair(alg, { kid: 'k' })
      const token = sign({ sub: 'u1' }, privateKey)
      const { alg: _alg, use: _use, ...jwk } = exportJwk(publicKey) as Record<string, unknown>
      const params = webCryptoParams(alg, jwk)
      assert.ok(params, alg)
      const key = await crypto.subtle.importKey(
        'jwk',
        jwk as webcrypto.JsonWebKey,
        params.importParams as Parameters<typeof crypto.subtle.importKey>[2],
        false,
        ['verify'],
      )
      const verify = (candidate: string) => {
        const decoded = decodeJwt(candidate)
        return crypto.subtle.verify(
          params.verifyParams as Parameters<typeof crypto.subtle.verify>[0],
          key,
          decoded.signature as Uint8Array<ArrayBuffer>,
          decoded.signingInput as Uint8Array<ArrayBuffer>,
        )
      }
      assert.equal(await verify(token), true)
      const [header, , signature] = token.split('.')
      const forged = `${header}.${Buffer.from('{"sub":"admin"}').toString('base64url')}.${signature}`
      assert.equal(await verify(forged), false)
    })
  }

  test('HMAC, "none", Ed448 and unknown algorithms are not verified with a JWKS', () => {
    for (const alg of ['HS256', 'none', 'ES256K', 'RS1', '']) {
      assert.equal(webCryptoParams(alg, {}), undefined, alg)
    }
    assert.equal(webCryptoParams('EdDSA', { crv: 'Ed448' }), undefined)
  })
})

describe('the second step and the authenticator app', () => {
  test('secondStepOver: an invalid_code ends the step after 5 wrong codes or (nearly) 5 minutes', () => {
    const start = 1000
    assert.equal(secondStepOver(1, start, start + 2000), false)
    assert.equal(secondStepOver(4, start, start + 60_000), false)
    assert.equal(secondStepOver(5, start, start + 2000), true, 'the fifth wrong code was the last')
    assert.equal(secondStepOver(1, start, start + 294_000), false)
    assert.equal(secondStepOver(1, start, start + 295_000), true, 'its 5 minutes, less the trip')
    assert.equal(secondStepOver(1, start, start + 600_000), true)
  })

  test('svgDataUrl: the SVG as base64, whatever its characters', () => {
    for (const svg of [
      qrSvg('otpauth://totp/Acme:ada%40example.com?secret=ABC'),
      '<svg>é ✓</svg>',
    ]) {
      const url = svgDataUrl(svg)
      assert.match(url, /^data:image\/svg\+xml;base64,[A-Za-z0-9+/]+=*$/)
      const body = url.slice('data:image/svg+xml;base64,'.length)
      assert.equal(Buffer.from(body, 'base64').toString('utf8'), svg)
    }
  })

  test('groupSecret: groups of 4 for typing', () => {
    assert.equal(
      groupSecret('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'),
      'JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP',
    )
    assert.equal(groupSecret('ABCDEF'), 'ABCD EF')
    assert.equal(groupSecret(''), '')
  })

  test('recoveryCodesText: who and where, then one code a line', () => {
    const text = recoveryCodesText(['k7mq-2xrp', 'a1b2-c3d4'], {
      email: 'ada@example.com',
      site: 'auth.example.com',
      date: '6 Dec 2026',
    })
    const lines = text.split('\n')
    assert.equal(lines[0], 'Recovery codes for ada@example.com at auth.example.com')
    assert.deepEqual(lines.slice(-3), ['k7mq-2xrp', 'a1b2-c3d4', ''])
  })

  test('recoveryCodesLeft: a warning when few or none are left', () => {
    assert.equal(recoveryCodesLeft(10), '10 left')
    assert.equal(recoveryCodesLeft(4), '4 left')
    assert.equal(recoveryCodesLeft(3), '3 left: replace them soon.')
    assert.equal(recoveryCodesLeft(1), '1 left: replace them soon.')
    assert.match(recoveryCodesLeft(0), /^None left: replace them/)
  })
})

describe('passkeys: what the pages say', () => {
  test('synced or kept by one device', () => {
    assert.equal(passkeyKind({ deviceType: 'multiDevice' }), 'Synced')
    assert.equal(passkeyKind({ deviceType: 'singleDevice' }), 'This device only')
  })

  test('the name offered for a new passkey: the device, numbered when taken', () => {
    const chrome =
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'
    assert.equal(defaultPasskeyName(chrome, []), 'Chrome on macOS')
    assert.equal(defaultPasskeyName(chrome, ['Chrome on macOS']), 'Chrome on macOS (2)')
    assert.equal(
      defaultPasskeyName(chrome, ['Chrome on macOS', 'Chrome on macOS (2)']),
      'Chrome on macOS (3)',
    )
    assert.equal(defaultPasskeyName('', []), 'Passkey')
    assert.equal(defaultPasskeyName('something/1.0', ['Passkey']), 'Passkey (2)')
  })

  test("the browser's refusals, in words", () => {
    assert.equal(
      ceremonyErrorText('InvalidStateError', 'create'),
      'This device already holds a passkey for your account.',
    )
    assert.match(ceremonyErrorText('NotAllowedError', 'create'), /^No passkey was made/)
    assert.match(ceremonyErrorText('NotAllowedError', 'get'), /^No passkey was used/)
    assert.equal(
      ceremonyErrorText('SecurityError', 'get'),
      'This browser does not allow passkeys on this address.',
    )
    assert.equal(ceremonyErrorText('UnknownError', 'get'), 'This browser could not use a passkey.')
    assert.equal(
      ceremonyErrorText('InvalidStateError', 'get'),
      'This browser could not use a passkey.',
    )
  })

  test('the enrolment step lasts 15 minutes (with the second step’s 5 tries)', () => {
    assert.equal(ENROLMENT_MS, 15 * 60_000)
    assert.equal(secondStepOver(0, 0, 10 * 60_000, ENROLMENT_MS), false)
    assert.equal(secondStepOver(0, 0, 15 * 60_000 - 5000, ENROLMENT_MS), true)
    assert.equal(secondStepOver(5, 0, 0, ENROLMENT_MS), true)
    assert.equal(secondStepOver(0, 0, 10 * 60_000), true, 'the second step: 5 minutes')
  })
})

describe('federationChallenge: the MFA token a social login left in the fragment', () => {
  test('mfa_required and mfa_enrollment_required with a token continue; anything else does not', () => {
    assert.deepEqual(
      federationChallenge('mfa_required', '#mfa_token=abc.def&methods=totp,recovery_code'),
      {
        kind: 'mfa_required',
        challenge: { mfaToken: 'abc.def', methods: ['totp', 'recovery_code'] },
      },
    )
    assert.deepEqual(federationChallenge('mfa_enrollment_required', '#mfa_token=t&methods='), {
      kind: 'mfa_enrollment_required',
      challenge: { mfaToken: 't', methods: [] },
    })
    assert.equal(federationChallenge('mfa_required', ''), undefined)
    assert.equal(federationChallenge('mfa_required', '#methods=totp'), undefined)
    assert.equal(federationChallenge('session_ended', '#mfa_token=t'), undefined)
    assert.equal(federationChallenge('mfa_required', `#mfa_token=${'a'.repeat(5000)}`), undefined)
  })
})
