// Types of the helpers app.js exports (for its unit tests; the browser needs none).

export function safeRedirect(
  raw: unknown,
  ownOrigin: string,
  allowedOrigins: readonly string[],
): string | undefined
export function sentence(message: unknown): string
export function deviceLabel(userAgent: string | null | undefined): string
export function relativeTime(time: number, now: number): string
export function base64urlDecode(text: string): Uint8Array
export function decodeJwt(token: string): {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  signingInput: Uint8Array
  signature: Uint8Array
}
export function webCryptoParams(
  alg: string,
  jwk?: { crv?: string },
):
  | {
      importParams: { name: string; namedCurve?: string; hash?: string }
      verifyParams: { name: string; hash?: string; saltLength?: number }
    }
  | undefined
export function csrfReason(
  error: { code?: string; reason?: string } | undefined,
): 'cookie_conflict' | 'origin_refused' | undefined
export function endedReason(reason: unknown): 'reused' | 'session_ended' | 'signed_out' | undefined
export function secondStepOver(
  wrongCodes: number,
  startedAt: number,
  now: number,
  lifetime?: number,
): boolean
export function svgDataUrl(svg: string): string
export function groupSecret(secret: string): string
export function recoveryCodesText(
  codes: readonly string[],
  about: { email: string; site: string; date: string },
): string
export function recoveryCodesLeft(count: number): string
export const ENROLMENT_MS: number
export function passkeyKind(passkey: { deviceType: string }): 'Synced' | 'This device only'
export function defaultPasskeyName(userAgent: string, takenNames: readonly string[]): string
export function ceremonyErrorText(name: string, kind: 'create' | 'get'): string
export function oauthContinueTarget(raw: unknown): string | undefined
export function scopeText(scope: string): string
export function federationChallenge(
  reason: string,
  hash: string,
):
  | {
      kind: 'mfa_required' | 'mfa_enrollment_required'
      challenge: { mfaToken: string; methods: string[] }
    }
  | undefined
