// The built-in mails: short and plain. Each says what happened, gives the
// link or code, says how long it lasts, and what to do if it was not the
// reader. An operator replaces any part of any of them from
// TESSERA_EMAIL_TEMPLATES (render.ts); docs/email.md lists the variables.

import type { MailBlock } from './layout.ts'
import type { MailTemplateName } from './messages.ts'

/** How a field of the flow's data is checked and turned into a variable. */
export type FieldKind =
  /** An absolute http(s) URL (it becomes an href). */
  | 'link'
  /** Seconds, shown as `24 hours`, `10 minutes`. */
  | 'duration'
  /** Exactly 6 digits. */
  | 'code'
  /** A mail address. */
  | 'address'
  /** Which second factor: `authenticator_app`, `passkey`, `all_factors`; shown in words. */
  | 'factor'

export interface FieldSpec {
  readonly kind: FieldKind
  readonly required: boolean
}

/** Variables every template receives, whatever its data. */
export const COMMON_VARIABLES: readonly string[] = Object.freeze([
  'brandName',
  'brandColor',
  'brandLogoUrl',
  'issuer',
  'email',
  'name',
  'date',
])

/** The variables of one rendering: every value a string ('' for an absent optional one). */
export type MailVariables = Readonly<Record<string, string>>

export interface TemplateSpec {
  /** The fields of the flow's data (MailTemplateData), besides `name`. */
  readonly fields: Readonly<Record<string, FieldSpec>>
  subject(v: MailVariables): string
  blocks(v: MailVariables): MailBlock[]
}

const LINK = { kind: 'link', required: true } as const
const OPTIONAL_LINK = { kind: 'link', required: false } as const
const EXPIRES = { kind: 'duration', required: true } as const

const hi = (v: MailVariables): MailBlock => ({ kind: 'text', text: `Hi ${v.name},` })
const text = (value: string): MailBlock => ({ kind: 'text', text: value })
const note = (value: string): MailBlock => ({ kind: 'note', text: value })

export const BUILT_IN_TEMPLATES: Readonly<Record<MailTemplateName, TemplateSpec>> = {
  verify_email: {
    fields: { link: LINK, expiresIn: EXPIRES },
    subject: (v) => `Confirm your email address for ${v.brandName}`,
    blocks: (v) => [
      hi(v),
      text(`Please confirm that ${v.email} is your email address for ${v.brandName}:`),
      { kind: 'action', label: 'Confirm my email address', link: v.link! },
      text(`The link works for ${v.expiresIn}, once.`),
      note(
        `If you did not sign up for ${v.brandName}, ignore this email: nothing happens without the link.`,
      ),
    ],
  },
  reset_password: {
    fields: { link: LINK, expiresIn: EXPIRES },
    subject: (v) => `Reset your ${v.brandName} password`,
    blocks: (v) => [
      hi(v),
      text(
        `Someone asked to reset the password of the ${v.brandName} account of ${v.email}. To choose a new password, use this link:`,
      ),
      { kind: 'action', label: 'Choose a new password', link: v.link! },
      text(`The link works for ${v.expiresIn}, once.`),
      note('If this was not you, ignore this email: your password stays as it is.'),
    ],
  },
  password_changed: {
    fields: { link: OPTIONAL_LINK },
    subject: (v) => `Your ${v.brandName} password was changed`,
    blocks: (v) => [
      hi(v),
      text(`The password of your ${v.brandName} account (${v.email}) was changed on ${v.date}.`),
      text('If this was you, there is nothing to do.'),
      ...notYou(v, 'reset your password right away:', 'Reset my password'),
    ],
  },
  sign_in_code: {
    fields: { code: { kind: 'code', required: true }, link: LINK, expiresIn: EXPIRES },
    subject: (v) => `Your ${v.brandName} sign-in code`,
    blocks: (v) => [
      hi(v),
      text(`Your code to sign in to ${v.brandName}:`),
      { kind: 'code', code: v.code! },
      text('Or sign in with this link:'),
      { kind: 'action', label: 'Sign in', link: v.link! },
      text(`The code and the link work for ${v.expiresIn}, once.`),
      note(
        'If you did not try to sign in, ignore this email, and never share the code: we never ask for it.',
      ),
    ],
  },
  change_email: {
    fields: { link: LINK, expiresIn: EXPIRES },
    subject: (v) => `Confirm your new email address for ${v.brandName}`,
    blocks: (v) => [
      hi(v),
      text(`To make ${v.email} the email address of your ${v.brandName} account, use this link:`),
      { kind: 'action', label: 'Confirm my new email address', link: v.link! },
      text(
        `The link works for ${v.expiresIn}, once. Until then, your account keeps its current address.`,
      ),
      note('If you did not ask for this, ignore this email: nothing changes.'),
    ],
  },
  email_changed: {
    fields: { newEmail: { kind: 'address', required: true }, link: OPTIONAL_LINK },
    subject: (v) => `Your ${v.brandName} email address was changed`,
    blocks: (v) => [
      hi(v),
      text(
        `The email address of your ${v.brandName} account was changed from ${v.email} to ${v.newEmail} on ${v.date}. Mail about the account now goes to the new address.`,
      ),
      ...notYou(v, 'secure your account right away:', 'Secure my account'),
    ],
  },
  account_exists: {
    fields: { link: OPTIONAL_LINK },
    subject: (v) => `You already have a ${v.brandName} account`,
    blocks: (v) => [
      hi(v),
      text(
        `Someone tried to sign up for ${v.brandName} with ${v.email}, which already has an account, so no new account was made.`,
      ),
      ...(v.link === ''
        ? []
        : [
            text('If it was you, sign in instead (you can reset a forgotten password there):'),
            { kind: 'action', label: 'Sign in', link: v.link! } as const,
          ]),
      note('If it was not you, ignore this email: nothing changed.'),
    ],
  },
  factor_added: {
    fields: { factor: { kind: 'factor', required: true }, link: OPTIONAL_LINK },
    subject: (v) => `A sign-in method was added to your ${v.brandName} account`,
    blocks: (v) => [
      hi(v),
      text(
        `${capitalize(v.factor!)} was added to your ${v.brandName} account (${v.email}) on ${v.date}. Signing in now asks for it after the password.`,
      ),
      text('If this was you, there is nothing to do.'),
      ...notYou(v, 'check your account right away:', 'Review my account'),
    ],
  },
  factor_removed: {
    fields: { factor: { kind: 'factor', required: true }, link: OPTIONAL_LINK },
    subject: (v) => `A sign-in method was removed from your ${v.brandName} account`,
    blocks: (v) => [
      hi(v),
      text(
        `${capitalize(v.factor!)} was removed from your ${v.brandName} account (${v.email}) on ${v.date}.`,
      ),
      text('If this was you, there is nothing to do.'),
      ...notYou(v, 'check your account right away:', 'Review my account'),
    ],
  },
}

/** What a `factor` value reads as in a sentence. */
export const FACTOR_WORDS: Readonly<Record<string, string>> = {
  authenticator_app: 'an authenticator app',
  passkey: 'a passkey',
  all_factors: 'every second factor (authenticator app, passkeys, recovery codes)',
}

const capitalize = (value: string): string => value.charAt(0).toUpperCase() + value.slice(1)

/** The "if this was not you" of a notice: with the flow's link when it gave one. */
function notYou(v: MailVariables, todo: string, label: string): MailBlock[] {
  if (v.link === '') {
    return [note(`If this was not you, contact the ${v.brandName} team right away.`)]
  }
  return [text(`If this was not you, ${todo}`), { kind: 'action', label, link: v.link! }]
}

/** `86400` → `24 hours`, `600` → `10 minutes`, `172800` → `2 days`. */
export function describeDuration(seconds: number): string {
  const unit = (count: number, name: string): string => `${count} ${name}${count === 1 ? '' : 's'}`
  if (seconds >= 2 * 86_400 && seconds % 86_400 === 0) return unit(seconds / 86_400, 'day')
  if (seconds >= 3600 && seconds % 3600 === 0) return unit(seconds / 3600, 'hour')
  if (seconds >= 60 && seconds % 60 === 0) return unit(seconds / 60, 'minute')
  return unit(seconds, 'second')
}
