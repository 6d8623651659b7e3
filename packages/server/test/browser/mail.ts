// What the mail-flow browser suites share: finding a message at the real
// SMTP server (test/support/smtp-server.ts) and reading its link or code out
// of the text part, as a person reading the mail would.

import assert from 'node:assert/strict'
import type { ReceivedMail, TestSmtpServer } from '../support/smtp-server.ts'
import { until } from './harness.ts'

/**
 * The first message to `to` whose subject matches, among those received
 * after the first `from`; waits for it (5 s at most).
 */
export async function waitForMail(
  smtp: TestSmtpServer,
  to: string,
  subject: RegExp,
  from = 0,
): Promise<ReceivedMail> {
  const find = () =>
    smtp.received
      .slice(from)
      .find((mail) => mail.envelope.to.includes(to) && subject.test(mail.parsed.subject ?? ''))
  await until(() => find() !== undefined, `a mail to ${to} about ${subject}`)
  return find() ?? assert.fail('unreachable')
}

/** The `<issuer><path>?token=…` link of a mail's text part. */
export function linkIn(mail: ReceivedMail, path: string): string {
  const text = mail.parsed.text ?? ''
  const escaped = path.replaceAll('/', '\\/')
  const link = new RegExp(`https?://\\S+${escaped}\\?token=[A-Za-z0-9_-]{43}`).exec(text)?.[0]
  assert.ok(link, `no ${path} link in: ${text}`)
  return link
}

/** The 6-digit code of a sign-in mail: the only 6-digit number of its text part. */
export function codeIn(mail: ReceivedMail): string {
  const text = mail.parsed.text ?? ''
  // Not digits inside the link's token: a number stands alone.
  const codes = text.match(/(?<![\w-])\d{6}(?![\w-])/g) ?? []
  assert.equal(codes.length, 1, `one 6-digit number in: ${text}`)
  return codes[0] ?? ''
}
