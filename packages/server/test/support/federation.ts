// The browser's side of a social login, for the tests that drive one over
// HTTP: the cookies an answer sets, and the walk through the upstream
// provider's pages (its own redirects and cookies) back to Tessera's callback.

import assert from 'node:assert/strict'
import { OriginCookies } from './oauth-wire.ts'

/** What a callback answered: a redirect, and the cookies it set. */
export interface Outcome {
  status: number
  location: string
  headers: Record<string, unknown>
}

/** The Set-Cookie lines of an answer's headers. */
export function setCookies(headers: Record<string, unknown>): string[] {
  const raw = headers['set-cookie']
  return raw === undefined ? [] : Array.isArray(raw) ? raw.map(String) : [String(raw)]
}

/** The last value set for `name` (an expired legacy cookie may come first), or undefined when none or empty. */
export function cookieValue(headers: Record<string, unknown>, name: string): string | undefined {
  let value: string | undefined
  for (const header of setCookies(headers)) {
    const [pair] = header.split(';')
    const eq = pair!.indexOf('=')
    if (pair!.slice(0, eq) === name) value = pair!.slice(eq + 1)
  }
  return value === '' ? undefined : value
}

/**
 * Follows the provider's redirects from `location` (its login and consent
 * steps finish by themselves: test/support/upstream-op.ts), keeping its
 * cookies, until one points back at `issuer`: that URL, Tessera's callback.
 */
export async function throughProvider(location: string, issuer: string): Promise<URL> {
  const jar = new OriginCookies()
  let url = new URL(location)
  for (let hops = 0; ; hops++) {
    assert.ok(hops < 10, 'the provider redirected more than 10 times')
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header() } })
    jar.store(response)
    const next = response.headers.get('location')
    await response.body?.cancel()
    assert.ok(next, `the provider answered ${response.status} without a redirect`)
    url = new URL(next, url)
    if (url.href.startsWith(issuer)) return url
  }
}
