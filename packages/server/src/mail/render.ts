// Rendering a queued message: checks the flow's data against its template,
// turns it into string variables, and renders subject, text and HTML, either
// built in (templates.ts) or from the operator's files in
// TESSERA_EMAIL_TEMPLATES, read and checked once, at start.

import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileErrorReason } from '../config/env-file.ts'
import { type Brand, escapeHtml, renderHtml, renderText } from './layout.ts'
import { isMailTemplateName, MAIL_TEMPLATES, type MailTemplateName } from './messages.ts'
import {
  BUILT_IN_TEMPLATES,
  COMMON_VARIABLES,
  describeDuration,
  FACTOR_WORDS,
  type FieldSpec,
  type MailVariables,
  type TemplateSpec,
} from './templates.ts'

/** A mail ready for the transport. */
export interface RenderedMail {
  readonly subject: string
  readonly text: string
  readonly html: string
}

/** What the message row adds to the flow's data. */
export interface MailEnvelope {
  /** The recipient: the `email` variable. */
  readonly to: string
  /** When the message was queued (epoch ms): the `date` variable. */
  readonly createdAt: number
}

/**
 * Renders one message; throws {@link MailTemplateError} for an unknown
 * template or data that does not fit it (a bug of the flow: retrying
 * cannot help).
 */
export type RenderMail = (
  template: string,
  data: Readonly<Record<string, unknown>>,
  envelope: MailEnvelope,
) => RenderedMail

/**
 * A template file that cannot be used (at start), or data that does not fit
 * its template (at render). The message names files, templates and
 * variables, never a value: the data holds links and codes.
 */
export class MailTemplateError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MailTemplateError'
  }
}

export interface MailRendererOptions {
  brand: Brand
  /** The issuer: the `issuer` variable. */
  issuer: string
  /** TESSERA_EMAIL_TEMPLATES: overrides, read now. */
  templatesDir?: string | undefined
}

type Part = 'subject' | 'text' | 'html'

const PART_SUFFIX: Readonly<Record<Part, string>> = {
  subject: '.subject.txt',
  text: '.txt',
  html: '.html',
}

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g

/**
 * Builds the renderer; reads and checks the overrides once, so a typo in a
 * file name or a variable stops the server at start rather than a mail.
 *
 * @example
 * const render = createMailRenderer({ brand, issuer: config.issuer, templatesDir: config.emailTemplatesDir })
 * render('verify_email', { link, expiresIn: 86_400 }, { to: 'ada@example.com', createdAt: Date.now() })
 */
export function createMailRenderer(options: MailRendererOptions): RenderMail {
  const { brand, issuer } = options
  if (!/^#[0-9a-f]{6}$/i.test(brand.color)) throw new TypeError('brand.color must be #rrggbb')
  const overrides =
    options.templatesDir === undefined ? new Map() : readOverrides(options.templatesDir)

  return (template, data, envelope) => {
    if (!isMailTemplateName(template)) {
      throw new MailTemplateError(`unknown mail template "${template.slice(0, 40)}"`)
    }
    const spec = BUILT_IN_TEMPLATES[template]
    const variables = variablesOf(template, spec, data, envelope, brand, issuer)
    const own = overrides.get(template)
    const subjectSource = own?.subject
    const subject = oneLine(
      subjectSource === undefined ? spec.subject(variables) : fill(subjectSource, variables),
    )
    const blocks = own?.text === undefined || own?.html === undefined ? spec.blocks(variables) : []
    return {
      subject,
      text: own?.text === undefined ? renderText(blocks, brand) : fill(own.text, variables),
      html:
        own?.html === undefined
          ? renderHtml(subject, blocks, brand, envelope.to)
          : fill(own.html, variables, escapeHtml),
    }
  }
}

/** Replaces each `{{variable}}` (checked at load) with its value, through `encode`. */
function fill(
  source: string,
  variables: MailVariables,
  encode: (value: string) => string = (value) => value,
): string {
  return source.replace(PLACEHOLDER, (_, name: string) => encode(variables[name] ?? ''))
}

/** Control characters and line breaks as spaces: a subject is one header line. */
function oneLine(value: string): string {
  return value.replace(/[\p{Cc}\s]+/gu, ' ').trim()
}

function variablesOf(
  template: MailTemplateName,
  spec: TemplateSpec,
  data: Readonly<Record<string, unknown>>,
  envelope: MailEnvelope,
  brand: Brand,
  issuer: string,
): MailVariables {
  const variables: Record<string, string> = {
    brandName: brand.name,
    brandColor: brand.color,
    brandLogoUrl: brand.logoUrl ?? '',
    issuer,
    email: envelope.to,
    name: envelope.to,
    date: `${new Date(envelope.createdAt).toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  }
  const name = data.name
  if (typeof name === 'string' && oneLine(name) !== '') variables.name = oneLine(name).slice(0, 200)
  else if (name !== undefined && name !== null && typeof name !== 'string') {
    throw new MailTemplateError(`${template}: "name" must be a string or null`)
  }
  for (const [field, fieldSpec] of Object.entries(spec.fields)) {
    const value = data[field]
    if (value === undefined || value === null) {
      if (fieldSpec.required) throw new MailTemplateError(`${template}: the data has no "${field}"`)
      variables[field] = ''
      continue
    }
    const checked = checkField(fieldSpec, value)
    if (checked === undefined) {
      throw new MailTemplateError(`${template}: "${field}" is not a valid ${fieldSpec.kind}`)
    }
    variables[field] = checked
  }
  return variables
}

/** The variable's text, or undefined when the value does not fit its kind. */
function checkField(spec: FieldSpec, value: unknown): string | undefined {
  switch (spec.kind) {
    case 'link': {
      // It becomes an href: http(s) only, never javascript: or data:.
      if (typeof value !== 'string' || /[\s\p{Cc}]/u.test(value)) return undefined
      const url = URL.parse(value)
      return url !== null && (url.protocol === 'https:' || url.protocol === 'http:')
        ? value
        : undefined
    }
    case 'duration':
      return Number.isSafeInteger(value) && (value as number) > 0
        ? describeDuration(value as number)
        : undefined
    case 'code':
      return typeof value === 'string' && /^\d{6}$/.test(value) ? value : undefined
    case 'address':
      return typeof value === 'string' && /^[^\s\p{Cc}@]+@[^\s\p{Cc}@]+$/u.test(value)
        ? value
        : undefined
    case 'factor':
      return typeof value === 'string' && Object.hasOwn(FACTOR_WORDS, value)
        ? FACTOR_WORDS[value]
        : undefined
  }
}

/** The variables a template's files may use. */
export function templateVariables(template: MailTemplateName): readonly string[] {
  return [...COMMON_VARIABLES, ...Object.keys(BUILT_IN_TEMPLATES[template].fields)]
}

/** Reads `<template>.subject.txt|.txt|.html` files; anything that is not a known template part is refused. */
function readOverrides(dir: string): Map<MailTemplateName, Partial<Record<Part, string>>> {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (error) {
    throw new MailTemplateError(
      `TESSERA_EMAIL_TEMPLATES: cannot read the directory ${dir}: ${fileErrorReason(error)}`,
    )
  }
  const overrides = new Map<MailTemplateName, Partial<Record<Part, string>>>()
  for (const file of names.sort()) {
    // Other files (a README, images the HTML links to) are not templates.
    if (!file.endsWith('.txt') && !file.endsWith('.html')) continue
    const part = (['subject', 'text', 'html'] as const).find((p) => file.endsWith(PART_SUFFIX[p]))!
    const template = file.slice(0, -PART_SUFFIX[part].length)
    if (!isMailTemplateName(template)) {
      throw new MailTemplateError(
        `TESSERA_EMAIL_TEMPLATES: ${file} is not a template file; the templates are ${MAIL_TEMPLATES.join(', ')}, each as <template>.subject.txt, <template>.txt and <template>.html`,
      )
    }
    let source: string
    try {
      source = readFileSync(join(dir, file), 'utf8')
    } catch (error) {
      throw new MailTemplateError(
        `TESSERA_EMAIL_TEMPLATES: cannot read ${join(dir, file)}: ${fileErrorReason(error)}`,
      )
    }
    if (part === 'subject') {
      source = source.trim()
      if (source === '' || /[\r\n]/.test(source)) {
        throw new MailTemplateError(`TESSERA_EMAIL_TEMPLATES: ${file} must be one line of text`)
      }
    }
    const allowed = templateVariables(template)
    for (const match of source.matchAll(PLACEHOLDER)) {
      if (!allowed.includes(match[1]!)) {
        throw new MailTemplateError(
          `TESSERA_EMAIL_TEMPLATES: ${file} uses {{${match[1]}}}; ${template} has ${allowed.map((v) => `{{${v}}}`).join(' ')}`,
        )
      }
    }
    overrides.set(template, { ...overrides.get(template), [part]: source })
  }
  return overrides
}
