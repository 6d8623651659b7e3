// The outbox as a test reads it: oldest first, each message's data opened
// as the mail worker opens it (the links and codes a flow mailed).

import assert from 'node:assert/strict'
import { openMailData } from '../../src/mail/messages.ts'
import { createSealer } from '../../src/tokens/sealer.ts'
import type { Harness } from './harness.ts'

export interface Mail {
  to: string
  template: string
  data: Record<string, unknown>
}

/**
 * The queued mail, once the work the flows started after answering is done;
 * only `template`'s when given. Move the clock between mails whose order
 * matters: messages queued in the same millisecond have no order.
 */
export async function outbox(h: Harness, template?: string): Promise<Mail[]> {
  await h.tessera.auth.settled()
  const sealer = createSealer(h.tessera.config.masterKey!)
  const messages = await h.tessera.store.outbox.listMessages({ limit: 1000 })
  return messages
    .reverse()
    .filter((m) => template === undefined || m.template === template)
    .map((m) => ({
      to: m.to,
      template: m.template,
      data: openMailData(sealer, m) as Record<string, unknown>,
    }))
}

/** The token of a mailed link. */
export function tokenOf(mail: Mail | undefined): string {
  const link = new URL(String(mail?.data.link))
  return link.searchParams.get('token') ?? assert.fail('no token in the link')
}
