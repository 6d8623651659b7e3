// What a flow puts in the outbox: a template name and that template's data,
// as JSON sealed under the master key (the data holds link tokens and codes:
// a copy of the database hands out no link).

/**
 * The data each template takes from the flow that queues it. Every template
 * also receives the recipient (the message's `to`) and the time the message
 * was queued; `name` is the user's display name, if any.
 */
export interface MailTemplateData {
  /** A signup's (or a resend's) link to `<issuer>/verify-email?token=…`. */
  verify_email: { link: string; expiresIn: number; name?: string | null }
  /** `<issuer>/reset-password?token=…`. */
  reset_password: { link: string; expiresIn: number; name?: string | null }
  /** Notice after a password change or reset; `link`: where to go if it was not them (e.g. `/forgot-password`). */
  password_changed: { name?: string | null; link?: string }
  /** A 6-digit code and `<issuer>/login/link?token=…`, in one mail. */
  sign_in_code: { code: string; link: string; expiresIn: number; name?: string | null }
  /** To the new address: `<issuer>/confirm-email?token=…`. */
  change_email: { link: string; expiresIn: number; name?: string | null }
  /** To the old address once the change is done. */
  email_changed: { newEmail: string; name?: string | null; link?: string }
  /** A signup with an address that has an account (verification required): the owner is told. */
  account_exists: { name?: string | null; link?: string }
  /** A second factor was set up (`factor`: `authenticator_app`, `passkey`); `link`: the account page. */
  factor_added: { factor: string; name?: string | null; link?: string }
  /** A second factor was removed (`all_factors`: an admin reset them all). */
  factor_removed: { factor: string; name?: string | null; link?: string }
}

export type MailTemplateName = keyof MailTemplateData

/** Every template, in the order the docs list them. */
export const MAIL_TEMPLATES: readonly MailTemplateName[] = Object.freeze([
  'verify_email',
  'reset_password',
  'password_changed',
  'sign_in_code',
  'change_email',
  'email_changed',
  'account_exists',
  'factor_added',
  'factor_removed',
])

export function isMailTemplateName(name: string): name is MailTemplateName {
  return (MAIL_TEMPLATES as readonly string[]).includes(name)
}

/** What seals and opens the data (tokens/sealer.ts's Sealer fits). */
export interface MailDataSealer {
  seal(plaintext: string, context: string): string
  open(sealed: string, context: string): string
}

/** The fields of an outbox row the sealed data is bound to. */
export interface SealedMailRow {
  readonly id: string
  readonly template: string
  readonly to: string
}

/**
 * The sealing context of a message's data: bound to its row, template and
 * recipient, so data moved to another row, or a row whose recipient was
 * changed in the database, does not open (the mail is never sent elsewhere).
 */
export function mailDataContext(row: SealedMailRow): string {
  return `outbox:${row.id}:${row.template}:${row.to}`
}

/**
 * The `sealedData` of an outbox message.
 *
 * @example
 * const row = { id: randomUUID(), to: user.email, template: 'verify_email' } as const
 * await store.atomically(async () => {
 *   await store.oneTimeTokens.createToken(token, now())
 *   await store.outbox.enqueue({
 *     ...row, userId: user.id, createdAt: now(),
 *     sealedData: sealMailData(sealer, row, { link, expiresIn: 86_400, name: user.name }),
 *   })
 * })
 * mailWorker.kick()
 */
export function sealMailData<T extends MailTemplateName>(
  sealer: Pick<MailDataSealer, 'seal'>,
  row: SealedMailRow & { readonly template: T },
  data: MailTemplateData[T],
): string {
  return sealer.seal(JSON.stringify(data), mailDataContext(row))
}

/** Opens what {@link sealMailData} sealed; throws when it does not open or is not a JSON object. */
export function openMailData(
  sealer: Pick<MailDataSealer, 'open'>,
  row: SealedMailRow & { readonly sealedData: string },
): Readonly<Record<string, unknown>> {
  const json = sealer.open(row.sealedData, mailDataContext(row))
  let data: unknown
  try {
    data = JSON.parse(json)
  } catch {
    // V8's SyntaxError quotes the input, which holds the link or code.
    throw new Error('the mail data is not JSON')
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new Error('the mail data is not a JSON object')
  }
  return data as Record<string, unknown>
}
