// The OAuth pages' HTML (oauth-pages.ts): what each shows, the forms the
// routes read, escaping of everything a client or request supplies, and the
// form-action widening their headers need. The browser side is in
// test/browser/oauth-*.test.ts.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { oauthContinueTarget, scopeText as scriptScopeText } from './assets/app.js'
import { pageHeaders } from './headers.ts'
import {
  authorizeErrorPage,
  consentPage,
  formActionSource,
  logoutConfirmPage,
  oauthContinuePage,
  SCOPE_TEXT,
  scopeText,
  signedOutPage,
  withFormTarget,
} from './oauth-pages.ts'
import type { Branding } from './templates.ts'

const BRAND: Branding = { name: 'Acme <Cloud>', logoUrl: undefined }
const HOSTILE = '<script>alert(1)</script>'
const QUOTES = '" onfocus="alert(1)'

const CONSENT = {
  clientName: 'Photo Printer',
  clientId: 'cl_3JqW8x2mZkT5vN1pQr7sYb',
  scopes: ['openid', 'profile', 'email', 'offline_access'],
  requestId: 'req_9Xa',
  userEmail: 'ada@example.com',
  redirectHost: 'printer.example.com',
} as const

/** The text of `markup` with tags dropped and entities decoded: what a reader sees. */
function textOf(markup: string): string {
  return markup
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
}

/** The page's one script tag (the module): no other, and no inline code. */
function assertOnlyTheModule(page: string): void {
  assert.deepEqual(page.match(/<script\b[^>]*>/g), ['<script type="module" src="/pages/app.js">'])
  // No event-handler attribute in any tag: attribute values (escaped, always
  // double-quoted) are emptied first, since their text may say `onerror=`.
  assert.doesNotMatch(page.replace(/"[^"]*"/g, '""'), /<[^>]*\son[a-z]+=/i)
}

describe('scope lines', () => {
  test('the known scopes in words, any other by its name', () => {
    assert.equal(scopeText('openid'), 'Confirm who you are')
    assert.equal(scopeText('profile'), 'Your name')
    assert.equal(scopeText('email'), 'Your email address')
    assert.equal(scopeText('offline_access'), 'Stay signed in (keep access when you are away)')
    assert.equal(scopeText('invoices:read'), 'invoices:read')
    // Not inherited from Object.prototype.
    assert.equal(scopeText('constructor'), 'constructor')
  })

  test('app.js says the same as the server (the account page lists apps with its words)', () => {
    for (const scope of [...Object.keys(SCOPE_TEXT), 'tessera:revocations', 'toString']) {
      assert.equal(scriptScopeText(scope), scopeText(scope), scope)
    }
  })
})

describe('oauthContinuePage', () => {
  const path = '/oauth/authorize/continue?id=Ab_9-x'

  test('names its page and path for app.js, and links the path for a browser without it', () => {
    const page = oauthContinuePage(BRAND, path)
    assert.match(
      page,
      /<body data-page="oauth-continue" data-continue="\/oauth\/authorize\/continue\?id=Ab_9-x">/,
    )
    assert.match(
      page,
      /<a id="oauth-continue-link" href="\/oauth\/authorize\/continue\?id=Ab_9-x">Continue<\/a>/,
    )
    assert.match(textOf(page), /Continuing to sign in…/)
    assert.match(page, /Acme &lt;Cloud&gt;/)
    assertOnlyTheModule(page)
  })

  test('escapes the path in the attribute and the link', () => {
    const page = oauthContinuePage(BRAND, `/oauth/x?id=${QUOTES}`)
    assert.ok(page.includes('data-continue="/oauth/x?id=&quot; onfocus=&quot;alert(1)"'))
    assert.ok(!page.includes(QUOTES))
  })

  test('refuses a path the server did not mean (a bug in the caller)', () => {
    for (const bad of ['https://evil.example/oauth/', '//evil.example/oauth/', '/login', '']) {
      assert.throws(() => oauthContinuePage(BRAND, bad), TypeError, bad)
    }
  })
})

describe('app.js: the continue target', () => {
  test('follows only a path under /oauth/ on this origin', () => {
    const table: [unknown, string | undefined][] = [
      ['/oauth/authorize/continue?id=abc', '/oauth/authorize/continue?id=abc'],
      ['/oauth/consent?id=x', '/oauth/consent?id=x'],
      ['/login', undefined],
      ['//evil.example/oauth/', undefined],
      ['https://evil.example/oauth/', undefined],
      ['javascript:alert(1)', undefined],
      ['/oauth/\\evil', undefined],
      ['/oauth/\n//evil', undefined],
      ['/oauth/x y', undefined],
      [`/oauth/${'a'.repeat(2048)}`, undefined],
      ['', undefined],
      [undefined, undefined],
      [['/oauth/x'], undefined],
    ]
    for (const [raw, expected] of table)
      assert.equal(oauthContinueTarget(raw), expected, String(raw))
  })
})

describe('consentPage', () => {
  test('who asks, as whom, for what, and where the browser goes next', () => {
    const page = consentPage(BRAND, CONSENT)
    const text = textOf(page)
    assert.match(page, /<body data-page="oauth-consent">/)
    assert.match(text, /Photo Printer wants to access your account/)
    assert.match(text, /You are signed in to Acme <Cloud> as ada@example\.com\./)
    assert.match(text, /You will be sent to printer\.example\.com\./)
    assert.match(text, /App ID: cl_3JqW8x2mZkT5vN1pQr7sYb/)
    assert.match(page, /<title>Allow Photo Printer\? · Acme &lt;Cloud&gt;<\/title>/)
    const lines = [...page.matchAll(/<li data-scope="([^"]*)">([^<]*)<\/li>/g)].map((m) => [
      m[1],
      m[2],
    ])
    assert.deepEqual(lines, [
      ['openid', 'Confirm who you are'],
      ['profile', 'Your name'],
      ['email', 'Your email address'],
      ['offline_access', 'Stay signed in (keep access when you are away)'],
    ])
    assertOnlyTheModule(page)
  })

  test('a plain form the server reads without JavaScript: id, then decision=allow or deny', () => {
    const page = consentPage(BRAND, CONSENT)
    const form = page.match(/<form id="consent"[^>]*>[\s\S]*?<\/form>/)?.[0] ?? ''
    assert.match(form, /^<form id="consent" class="form" method="post" action="\/oauth\/consent">/)
    // Nothing disabled, nothing waiting for the script.
    assert.doesNotMatch(form, /disabled|data-needs-script|<fieldset/)
    assert.deepEqual(
      [...form.matchAll(/<(input|button)\b([^>]*)>/g)].map((m) => `${m[1]}${m[2]}`),
      [
        'input type="hidden" name="id" value="req_9Xa"',
        'button type="submit" name="decision" value="allow"',
        'button type="submit" class="secondary" name="decision" value="deny"',
      ],
    )
    assert.match(form, />Allow<\/button>/)
    assert.match(form, />Deny<\/button>/)
  })

  test('a client name, an address, a host, an id and scopes with markup are text', () => {
    const page = consentPage(BRAND, {
      clientName: HOSTILE,
      clientId: QUOTES,
      scopes: ['openid', '<img src=x onerror=alert(1)>'],
      requestId: QUOTES,
      userEmail: `"><svg onload=alert(1)>@example.com`,
      redirectHost: HOSTILE,
    })
    assert.ok(!page.includes('<script>alert'))
    assert.ok(!page.includes('<img src=x'))
    assert.ok(!page.includes('<svg'))
    assert.ok(!page.includes(QUOTES))
    assert.match(
      page,
      /<h1>&lt;script&gt;alert\(1\)&lt;\/script&gt; wants to access your account<\/h1>/,
    )
    assert.match(page, /<title>Allow &lt;script&gt;alert\(1\)&lt;\/script&gt;\? · /)
    assert.match(page, /name="id" value="&quot; onfocus=&quot;alert\(1\)"/)
    assert.match(textOf(page), /<img src=x onerror=alert\(1\)>/)
    assertOnlyTheModule(page)
  })

  test('a scope asked twice is one line', () => {
    const page = consentPage(BRAND, { ...CONSENT, scopes: ['email', 'openid', 'email'] })
    assert.equal(page.match(/<li data-scope=/g)?.length, 2)
  })
})

describe('authorizeErrorPage', () => {
  test('explains, names the error in small print, and links nowhere but the pages', () => {
    const page = authorizeErrorPage(BRAND, {
      error: 'invalid_request',
      description: 'redirect_uri is not registered for this client',
    })
    const text = textOf(page)
    assert.match(page, /<body data-page="oauth-error">/)
    assert.match(
      text,
      /This sign-in link is not valid\. The app that sent you here is misconfigured/,
    )
    assert.match(page, /<code id="authorize-error-code">invalid_request<\/code>/)
    assert.match(text, /redirect_uri is not registered for this client/)
    const links = [...page.matchAll(/<a\b[^>]*href="([^"]*)"/g)].map((m) => m[1])
    assert.deepEqual(links, ['#main', '/account', '/account', '/inspect'])
    assertOnlyTheModule(page)
  })

  test('an error and a description with markup (both from the request) are text', () => {
    const page = authorizeErrorPage(BRAND, { error: HOSTILE, description: `${QUOTES}<a href=x>` })
    assert.ok(!page.includes('<script>alert'))
    assert.ok(!page.includes('<a href=x>'))
    assert.ok(!page.includes(QUOTES))
  })

  test('no description: no empty line for it', () => {
    const page = authorizeErrorPage(BRAND, { error: 'invalid_client', description: '' })
    assert.doesNotMatch(page, /authorize-error-description/)
  })
})

describe('logoutConfirmPage', () => {
  test('asks, posts the request back to /oauth/logout with confirm=yes, and offers to stay', () => {
    const page = logoutConfirmPage(BRAND, {
      hidden: {
        client_id: 'cl_1',
        post_logout_redirect_uri: 'https://printer.example.com/bye',
        state: 's t&u',
      },
      clientName: 'Photo Printer',
    })
    const text = textOf(page)
    assert.match(page, /<body data-page="oauth-logout">/)
    assert.match(text, /Sign out of Acme <Cloud>\?/)
    assert.match(text, /Photo Printer asked to sign you out\./)
    const form = page.match(/<form id="oauth-logout"[^>]*>[\s\S]*?<\/form>/)?.[0] ?? ''
    assert.match(
      form,
      /^<form id="oauth-logout" class="form" method="post" action="\/oauth\/logout">/,
    )
    assert.deepEqual(
      [...form.matchAll(/<(input|button)\b([^>]*)>/g)].map((m) => `${m[1]}${m[2]}`),
      [
        'input type="hidden" name="client_id" value="cl_1"',
        'input type="hidden" name="post_logout_redirect_uri" value="https://printer.example.com/bye"',
        'input type="hidden" name="state" value="s t&amp;u"',
        'button type="submit" name="confirm" value="yes"',
      ],
    )
    assert.match(form, /<a class="button-link" href="\/account">Stay signed in<\/a>/)
    assertOnlyTheModule(page)
  })

  test('without a client name; names and values with markup are text; no confirm from the request', () => {
    const page = logoutConfirmPage(BRAND, {
      hidden: { [QUOTES]: HOSTILE, confirm: 'yes' },
      clientName: null,
    })
    assert.match(textOf(page), /An app asked to sign you out\./)
    assert.ok(!page.includes('<script>alert'))
    assert.ok(!page.includes(QUOTES))
    assert.match(
      page,
      /<input type="hidden" name="&quot; onfocus=&quot;alert\(1\)" value="&lt;script&gt;/,
    )
    // Only the button answers the question.
    assert.equal(page.match(/name="confirm"/g)?.length, 1)
  })

  test('a client name with markup is text', () => {
    const page = logoutConfirmPage(BRAND, { hidden: {}, clientName: HOSTILE })
    assert.ok(!page.includes('<script>alert'))
    assert.match(page, /<strong>&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/strong> asked/)
  })
})

describe('signedOutPage', () => {
  test('says so and leads to /login', () => {
    const page = signedOutPage(BRAND)
    assert.match(page, /<body data-page="oauth-signed-out">/)
    assert.match(textOf(page), /You are signed out/)
    assert.match(page, /<a href="\/login">Log in again<\/a>/)
    assertOnlyTheModule(page)
  })
})

describe('form-action for the redirect after a form', () => {
  test('the origin of an http(s) URI, the scheme of a native app, nothing that could break the policy', () => {
    const table: [string, string | undefined][] = [
      ['https://app.example.com/cb?x=1#no', 'https://app.example.com'],
      ['https://app.example.com:8443/cb', 'https://app.example.com:8443'],
      ['http://127.0.0.1:51234/callback', 'http://127.0.0.1:51234'],
      ['http://[::1]:8080/cb', 'http://[::1]:8080'],
      ['http://localhost/cb', 'http://localhost'],
      ['com.example.app:/oauth2redirect', 'com.example.app:'],
      ['https://xn--bcher-kva.example/cb', 'https://xn--bcher-kva.example'],
      // WHATWG URL keeps `;` and `,` in a host: they would end the directive.
      ['https://a;script-src.example/cb', undefined],
      ['https://a,b.example/cb', undefined],
      ['not a url', undefined],
    ]
    for (const [uri, source] of table) assert.equal(formActionSource(uri), source, uri)
  })

  test('withFormTarget: the page’s origin goes with its form post, and form-action admits that one redirect', () => {
    const base = pageHeaders({ brandLogoUrl: undefined, production: false })
    const headers = withFormTarget(base, 'https://app.example.com/cb')
    assert.equal(
      headers['content-security-policy'],
      base['content-security-policy']?.replace(
        "form-action 'self'",
        "form-action 'self' https://app.example.com",
      ),
    )
    assert.match(
      headers['content-security-policy'] ?? '',
      /; form-action 'self' https:\/\/app\.example\.com; /,
    )
    assert.equal(base['referrer-policy'], 'no-referrer')
    assert.equal(headers['referrer-policy'], 'same-origin')
    // Nothing else changes.
    const rest = (h: Readonly<Record<string, string>>) => ({
      ...h,
      'content-security-policy': '',
      'referrer-policy': '',
    })
    assert.deepEqual(rest(headers), rest(base))
    assert.ok(Object.isFrozen(headers))
    // No redirect elsewhere, or an unusable one: form-action stays 'self' (blocked, not opened wider).
    for (const target of [undefined, 'https://a;b.example/']) {
      const same = withFormTarget(base, target)
      assert.equal(same['content-security-policy'], base['content-security-policy'])
      assert.equal(same['referrer-policy'], 'same-origin')
    }
  })
})
