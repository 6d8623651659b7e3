// Authenticator apps (RFC 6238 TOTP: SHA-1, 6 digits, 30 s steps), on the
// otpauth library: it follows the RFC and the de facto `otpauth://` URI
// format authenticator apps read, and is small and well kept. What is ours:
// the secret is sealed at rest, a code is matched to its time step so the
// store can accept each step once, and the QR code is drawn here (uqr), so
// no secret ever goes to an outside service.

import { Secret, TOTP } from 'otpauth'
import { renderSVG } from 'uqr'

export const TOTP_PERIOD_SECONDS = 30
/** Steps either side of now that still count: phones drift, people type slowly. */
const WINDOW = 1

/** A new shared secret: 20 random bytes (RFC 4226 §4 recommends 160 bits), base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32
}

function totp(secret: string, issuer: string, label: string): TOTP {
  return new TOTP({
    issuer,
    label,
    secret: Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: 6,
    period: TOTP_PERIOD_SECONDS,
  })
}

/** The `otpauth://totp/…` URI an authenticator app reads from the QR code. */
export function totpUri(secret: string, issuer: string, label: string): string {
  return totp(secret, issuer, label).toString()
}

/** The URI as an SVG QR code (drawn here; dark on white, a quiet zone of 4 modules). */
export function qrSvg(uri: string): string {
  return renderSVG(uri, { ecc: 'M', border: 4, pixelSize: 6 })
}

/**
 * The time step a code is valid for at `nowMs` (±1 step), or undefined.
 * The caller accepts a step once (FactorStore.useTotpStep).
 */
export function totpStep(secret: string, code: string, nowMs: number): number | undefined {
  if (!/^[0-9]{6}$/.test(code)) return undefined
  const delta = TOTP.validate({
    token: code,
    secret: Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: 6,
    period: TOTP_PERIOD_SECONDS,
    timestamp: nowMs,
    window: WINDOW,
  })
  if (delta === null) return undefined
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS) + delta
}

/** The code of `secret` at `nowMs` (for tests and the CLI; the server never needs it). */
export function totpCode(secret: string, nowMs: number): string {
  return TOTP.generate({
    secret: Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: 6,
    period: TOTP_PERIOD_SECONDS,
    timestamp: nowMs,
  })
}

/** The sealing context of a user's secret: a sealed secret moved to another user does not open. */
export function totpSealContext(userId: string): string {
  return `totp:${userId}`
}
