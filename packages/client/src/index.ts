// @tessera/client: the browser SDK of Tessera. Named exports only, no
// top-level side effects (package.json has sideEffects: false).

import { normalizeOptions, TesseraClient } from './client.ts'
import { createEngine } from './session.ts'
import type { ClientOptions } from './types.ts'

export type {
  ActiveSession,
  Consent,
  ConsentsApi,
  MfaApi,
  MfaChallenge,
  MfaFactors,
  MfaMethod,
  Passkey,
  PasskeysApi,
  ReauthenticateInput,
  RecoveryCodes,
  RegisteredPasskey,
  SessionsApi,
  SignInResult,
  TesseraClient,
  TotpSetup,
  VerifyMfaInput,
} from './client.ts'
export type { ClientErrorCode, TesseraErrorCode, TesseraErrorInit } from './errors.ts'
export { isTesseraError, TesseraError } from './errors.ts'
export type {
  AuthChangeDetail,
  AuthChangeEvent,
  AuthChangeListener,
  ClientOptions,
  KeyValueStore,
  RedirectOptions,
  Session,
  SessionEndReason,
  TabCoordinator,
  TabMessage,
  User,
} from './types.ts'
export type { CeremonyOptions } from './webauthn.ts'

/**
 * Creates the client. Misuse (a relative issuer, OAuth mode without
 * `clientId` or `redirectUri`) throws a TypeError here, once.
 *
 * @example
 * // Cookie mode: an app on Tessera's origin (or behind one reverse proxy).
 * const client = createClient({ issuer: 'https://auth.example.com' })
 *
 * // OAuth mode: a single-page app on another origin.
 * const client = createClient({
 *   issuer: 'https://auth.example.com',
 *   mode: 'oauth',
 *   clientId: 'console',
 *   redirectUri: 'https://console.example.com/callback',
 *   apis: ['https://api.example.com'],
 * })
 */
export function createClient(options: ClientOptions): TesseraClient {
  const normalized = normalizeOptions(options)
  return new TesseraClient(createEngine(normalized))
}
