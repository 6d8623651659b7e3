// One table for both checks of redirect_to: the server's (rendering) and the
// page script's (before it navigates).

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { safeRedirect as scriptSafeRedirect } from './assets/app.js'
import { MAX_REDIRECT_LENGTH, safeRedirect } from './redirect.ts'

const OWN = 'https://auth.example.com'
const ALLOWED = ['https://app.example.com', 'http://localhost:5173']

/** [redirect_to, expected target or undefined when refused] */
const TABLE: [string, string | undefined][] = [
  // Paths on this server
  ['/account', '/account'],
  ['/', '/'],
  ['/account?tab=sessions#top', '/account?tab=sessions#top'],
  ['/a/../account', '/account'],
  ['/search?q=<script>', '/search?q=%3Cscript%3E'],
  ['/%2F%2Fevil.example', '/%2F%2Fevil.example'],
  // Absolute URLs on this server or an allowed origin
  ['https://auth.example.com/account', 'https://auth.example.com/account'],
  ['https://app.example.com', 'https://app.example.com/'],
  ['https://app.example.com/callback?x=1', 'https://app.example.com/callback?x=1'],
  ['HTTPS://APP.EXAMPLE.COM/x', 'https://app.example.com/x'],
  ['http://localhost:5173/', 'http://localhost:5173/'],
  // Other origins
  ['https://evil.example/', undefined],
  ['https://app.example.com.evil.example/', undefined],
  ['https://evil.example/https://app.example.com', undefined],
  ['http://app.example.com/', undefined], // scheme differs
  ['https://app.example.com:8443/', undefined], // port differs
  ['http://localhost:5174/', undefined],
  // Protocol-relative and backslash tricks
  ['//evil.example', undefined],
  ['//evil.example/account', undefined],
  ['///evil.example', undefined],
  ['/\\evil.example', undefined],
  ['\\\\evil.example', undefined],
  // Dot segments that the URL parser folds into `//host`
  ['/.//evil.example', undefined],
  ['/a/..//evil.example/x', undefined],
  ['/%2e//evil.example', undefined],
  ['/%2E%2E//evil.example', undefined],
  ['/\t/evil.example', undefined],
  ['/\n/evil.example', undefined],
  [' /account', undefined],
  ['/account ', undefined],
  ['/acc\u00a0ount', undefined], // no-break space
  ['/account\u0085', undefined], // a C1 control
  ['\u2028/account', undefined],
  // Credentials in the URL
  ['https://user:pass@app.example.com/', undefined],
  ['https://app.example.com@evil.example/', undefined],
  // Other schemes
  ['javascript:alert(1)', undefined],
  ['JavaScript:alert(1)', undefined],
  ['java\tscript:alert(1)', undefined],
  ['javascript://app.example.com/%0aalert(1)', undefined],
  ['data:text/html,<script>alert(1)</script>', undefined],
  ['vbscript:msgbox(1)', undefined],
  ['file:///etc/passwd', undefined],
  ['ftp://app.example.com/', undefined],
  // Not a URL at all, or too long
  ['account', undefined],
  ['evil.example', undefined],
  ['', undefined],
  [`/${'a'.repeat(MAX_REDIRECT_LENGTH)}`, undefined],
  ['\u0000/account', undefined],
]

const implementations = [
  ['server (redirect.ts)', safeRedirect],
  ['page script (assets/app.js)', scriptSafeRedirect],
] as const

for (const [name, check] of implementations) {
  describe(`redirect_to: ${name}`, () => {
    test('the table of good and bad values', () => {
      for (const [raw, expected] of TABLE) {
        assert.equal(check(raw, OWN, ALLOWED), expected, JSON.stringify(raw))
      }
    })

    test('a "*" in the allowed origins allows no redirect', () => {
      assert.equal(check('https://evil.example/', OWN, ['*']), undefined)
      assert.equal(check('/account', OWN, ['*']), '/account')
    })

    test('the own origin is allowed even when the list omits it', () => {
      assert.equal(check('https://auth.example.com/x', OWN, []), 'https://auth.example.com/x')
    })
  })
}

test('the page script refuses values that are not strings', () => {
  for (const value of [undefined, null, 42, ['/account'], { href: '/account' }]) {
    assert.equal(scriptSafeRedirect(value, OWN, ALLOWED), undefined)
  }
})
