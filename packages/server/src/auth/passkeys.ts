// Passkeys (PRODUCT.md, "Second factors"; WebAuthn Level 3) on
// @simplewebauthn/server: registration of several per account, the list,
// passwordless sign-in with discoverable credentials, and the proofs that
// mfa.ts takes for the sign-in's second step and for re-authentication.
//
// Every ceremony's challenge is stored (Store.challenges: 5 minutes, one
// use, on every instance) and consumed before the answer is checked, so an
// answer is good once, even a wrong one. The RP id and the origins come
// from the config (TESSERA_WEBAUTHN_RP_ID, TESSERA_WEBAUTHN_ORIGINS).

import { randomBytes } from 'node:crypto'
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialRequestOptionsJSON,
  VerifiedAuthenticationResponse,
  VerifiedRegistrationResponse,
} from '@simplewebauthn/server'
import type { ChallengeKind, ChallengeRecord, PasskeyRecord, UserRecord } from '../storage/ports.ts'
import type { FlowContext } from './context.ts'
import { AuthError, invalidField } from './errors.ts'
import { factorRemoved, issueRecoveryCodes, queueFactorNotice } from './factor-changes.ts'
import { hashChallengeToken, startSignedIn } from './sign-in.ts'
import { requireRecentAuth } from './step-up.ts'
import type { AccessContext, ClientInfo, PasskeyFlows, PasskeyView } from './types.ts'
import { iso } from './views.ts'

/** A ceremony's challenge lives 5 minutes, like the MFA token it may serve. */
export const PASSKEY_CHALLENGE_TTL_MS = 5 * 60_000

/**
 * The public key algorithms offered and accepted: EdDSA, ES256 and RS256,
 * what authenticators make. Not the library's default when the runtime has
 * ML-DSA-44: Node marks it experimental (and warns on first use).
 */
const ALGORITHMS = [-8, -7, -257] // COSEALG.EdDSA, COSEALG.ES256, COSEALG.RS256

type WebAuthn = typeof import('@simplewebauthn/server')
let webauthn: Promise<WebAuthn> | undefined

/**
 * @simplewebauthn/server, imported on the first ceremony: with the
 * certificate code it brings (~300 modules, ~20 MiB) it is the largest
 * dependency, and a deployment whose users never add a passkey never needs it.
 */
function loadWebAuthn(): Promise<WebAuthn> {
  webauthn ??= import('@simplewebauthn/server')
  return webauthn
}

/** What a stored ceremony challenge remembers (ChallengeRecord.data). */
interface CeremonyData {
  /** What the challenge may be used for: a `passkey_login` one serves one purpose. */
  purpose: 'register' | 'login' | 'mfa' | 'reauth'
  /** The WebAuthn challenge (base64url) the authenticator signs. */
  challenge: string
  /** `register`, `reauth`: the session that asked for it. */
  sessionId?: string
  /** `mfa`: the hash of the MFA token it belongs to. */
  mfa?: string
}

/** What a passkey proved: its RFC 8176 methods. */
type Proof = { passkey: PasskeyRecord; amr: string[] }

const passkeyView = (record: PasskeyRecord): PasskeyView => ({
  id: record.id,
  name: record.name,
  createdAt: iso(record.createdAt),
  lastUsedAt: record.lastUsedAt === null ? null : iso(record.lastUsedAt),
  deviceType: record.deviceType,
  backedUp: record.backedUp,
})

/**
 * RFC 8176 §2: `hwk` for a key that stays in its authenticator
 * (single-device), `swk` for a synced passkey, whose private key is copied
 * between devices by a passkey manager; `user` when the authenticator
 * verified the user (PIN or biometrics).
 */
function methodsOf(deviceType: PasskeyRecord['deviceType'], userVerified: boolean): string[] {
  return [deviceType === 'singleDevice' ? 'hwk' : 'swk', ...(userVerified ? ['user'] : [])]
}

/** The WebAuthn user handle: the user's id, which names no one (WebAuthn §14.6.1: no personal data). */
const userHandleOf = (userId: string) => new TextEncoder().encode(userId)

/** The challenge a WebAuthn answer signed (from its clientDataJSON), when it has one. */
function signedChallenge(response: { response: { clientDataJSON: string } }): string | undefined {
  try {
    const data = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString())
    return typeof data?.challenge === 'string' ? data.challenge : undefined
  } catch {
    return undefined
  }
}

function parseData(record: ChallengeRecord): CeremonyData {
  return JSON.parse(record.data) as CeremonyData
}

/**
 * The library's refusal of an origin or RP id, as the 400 a developer can
 * act on: it names what this server expects, and never echoes the answer's
 * own values. Undefined for any other refusal (the caller's flow decides).
 */
function misdirected(ctx: FlowContext, lib: WebAuthn, error: unknown): AuthError | undefined {
  if (!(error instanceof lib.SimpleWebAuthnError)) return undefined
  const { webauthnOrigins, webauthnRpId } = ctx.config
  if (error.code === 'UNEXPECTED_ORIGIN') {
    return invalidField(
      '/response',
      `was made on a page of another origin: passkeys here are used from ${webauthnOrigins.join(', ')} (TESSERA_WEBAUTHN_ORIGINS)`,
    )
  }
  if (error.code === 'UNEXPECTED_RP_ID') {
    return invalidField(
      '/response',
      `was made for another relying party: passkeys here belong to ${webauthnRpId} (TESSERA_WEBAUTHN_RP_ID)`,
    )
  }
  return undefined
}

/** Stores a ceremony's challenge under `key` (the hash of the token that names it). */
async function storeChallenge(
  ctx: FlowContext,
  key: string,
  kind: ChallengeKind,
  userId: string | null,
  data: CeremonyData,
): Promise<void> {
  const at = ctx.now()
  await ctx.store.challenges.createChallenge({
    hash: key,
    kind,
    userId,
    data: JSON.stringify(data),
    createdAt: at,
    expiresAt: at + PASSKEY_CHALLENGE_TTL_MS,
    maxAttempts: 1,
  })
}

/** A new challenge named by an opaque `challengeId` the client sends back. */
async function startCeremony(
  ctx: FlowContext,
  kind: ChallengeKind,
  userId: string | null,
  data: CeremonyData,
): Promise<string> {
  const challengeId = randomBytes(32).toString('base64url')
  await storeChallenge(ctx, hashChallengeToken(challengeId), kind, userId, data)
  return challengeId
}

/**
 * Consumes the challenge named by `challengeId` (whatever comes next, it is
 * spent): its data when it was live, of this kind, purpose, user and
 * session; else undefined. The answer's signature over it is checked after.
 */
async function spendCeremony(
  ctx: FlowContext,
  challengeId: string,
  kind: ChallengeKind,
  expect: { purpose: CeremonyData['purpose']; userId: string | null; sessionId?: string },
): Promise<CeremonyData | undefined> {
  const record = await ctx.store.challenges.consumeChallenge(
    hashChallengeToken(challengeId),
    kind,
    ctx.now(),
  )
  if (record === undefined || record.userId !== expect.userId) return undefined
  const data = parseData(record)
  if (data.purpose !== expect.purpose) return undefined
  if (expect.sessionId !== undefined && data.sessionId !== expect.sessionId) return undefined
  return data
}

/** Options for navigator.credentials.get: `allow` lists the credentials (none: discoverable ones). */
async function requestOptions(
  ctx: FlowContext,
  allow: readonly PasskeyRecord[] | undefined,
  userVerification: 'required' | 'preferred',
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const { generateAuthenticationOptions } = await loadWebAuthn()
  return await generateAuthenticationOptions({
    rpID: ctx.config.webauthnRpId,
    timeout: PASSKEY_CHALLENGE_TTL_MS,
    userVerification,
    ...(allow === undefined
      ? {}
      : { allowCredentials: allow.map((p) => ({ id: p.id, transports: p.transports })) }),
  })
}

/**
 * Checks an assertion by a passkey of `userId` (or of anyone, for the
 * passwordless sign-in, when `userId` is undefined) against `challenge`:
 * the signature, the RP id and origin, user presence (and verification when
 * `requireUserVerification`), and the signature counter. Records the use.
 * Undefined when it proves nothing; throws validation_failed for an answer
 * made on another origin or for another RP id.
 */
async function checkAssertion(
  ctx: FlowContext,
  response: AuthenticationResponseJSON,
  challenge: string,
  options: { userId?: string; requireUserVerification: boolean; client: ClientInfo },
): Promise<Proof | undefined> {
  const passkey = await ctx.store.factors.findPasskey(response.id)
  if (passkey === undefined) return undefined
  if (options.userId !== undefined && passkey.userId !== options.userId) return undefined
  // A discoverable credential names its user; it must be the passkey's owner.
  const handle = response.response.userHandle
  if (
    handle !== undefined &&
    handle !== Buffer.from(userHandleOf(passkey.userId)).toString('base64url')
  ) {
    return undefined
  }
  const lib = await loadWebAuthn()
  let verified: VerifiedAuthenticationResponse
  try {
    verified = await lib.verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: [...ctx.config.webauthnOrigins],
      expectedRPID: ctx.config.webauthnRpId,
      // The counter is checked below, after the signature: only a genuine
      // answer with a stale counter is the sign of a cloned authenticator.
      credential: {
        id: passkey.id,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
        counter: 0,
        transports: passkey.transports,
      },
      requireUserVerification: options.requireUserVerification,
    })
  } catch (error) {
    const refusal = misdirected(ctx, lib, error)
    if (refusal !== undefined) throw refusal
    return undefined
  }
  if (!verified.verified) return undefined
  const info = verified.authenticationInfo
  // WebAuthn §6.1.1: a counter that does not grow (when either is non-zero)
  // means two copies of the authenticator exist; refuse this one.
  if ((info.newCounter > 0 || passkey.counter > 0) && info.newCounter <= passkey.counter) {
    await ctx.audit(
      'mfa.passkey_counter_error',
      options.client,
      { userId: passkey.userId },
      { passkeyId: passkey.id, stored: passkey.counter, received: info.newCounter },
    )
    ctx.log?.warn(
      { userId: passkey.userId },
      'a passkey answered with a signature counter that did not grow: refused (a cloned authenticator?)',
    )
    return undefined
  }
  await ctx.store.factors.recordPasskeyUse(passkey.id, {
    counter: info.newCounter,
    backedUp: info.credentialBackedUp,
    at: ctx.now(),
  })
  return { passkey, amr: methodsOf(passkey.deviceType, info.userVerified) }
}

/**
 * The second step by passkey: the RFC 8176 methods the answer proves for
 * `user`, or undefined. Spends the challenge of POST /auth/mfa/passkey/options
 * it signed, which must belong to the MFA token `mfaHash`.
 */
export async function provePasskeyForMfa(
  ctx: FlowContext,
  user: UserRecord,
  mfaHash: string,
  response: AuthenticationResponseJSON,
  client: ClientInfo,
): Promise<string[] | undefined> {
  const challenge = signedChallenge(response)
  if (challenge === undefined) return undefined
  const record = await ctx.store.challenges.consumeChallenge(
    hashChallengeToken(challenge),
    'passkey_login',
    ctx.now(),
  )
  if (record === undefined || record.userId !== user.id) return undefined
  const data = parseData(record)
  if (data.purpose !== 'mfa' || data.mfa !== mfaHash) return undefined
  const proof = await checkAssertion(ctx, response, challenge, {
    userId: user.id,
    requireUserVerification: false,
    client,
  })
  return proof?.amr
}

/**
 * Re-authentication by passkey: the methods the answer proves for the
 * caller, or undefined. Spends the challenge `challengeId`, which must be
 * of POST /auth/reauthenticate/passkey/options in the caller's session.
 */
export async function provePasskeyForReauth(
  ctx: FlowContext,
  access: AccessContext,
  input: { challengeId: string; response: AuthenticationResponseJSON },
  client: ClientInfo,
): Promise<string[] | undefined> {
  const data = await spendCeremony(ctx, input.challengeId, 'passkey_login', {
    purpose: 'reauth',
    userId: access.userId,
    sessionId: access.sessionId,
  })
  if (data === undefined) return undefined
  const proof = await checkAssertion(ctx, input.response, data.challenge, {
    userId: access.userId,
    requireUserVerification: false,
    client,
  })
  return proof?.amr
}

export function createPasskeyFlows(ctx: FlowContext): PasskeyFlows {
  const { config, store, audit, mail, profiles, rateLimits, metrics, now } = ctx

  const usedChallenge = () =>
    new AuthError(
      'invalid_code',
      'the passkey challenge has expired or was used: ask for new options and try again',
    )

  // Another user's passkey is as unknown as one that does not exist.
  const noSuchPasskey = () => new AuthError('not_found', 'no such passkey')

  return {
    async passkeyRegistrationOptions(access) {
      const user = await profiles.requireUser(access)
      await requireRecentAuth(ctx, access)
      const passkeys = await store.factors.listPasskeys(user.id)
      const { generateRegistrationOptions } = await loadWebAuthn()
      const options = await generateRegistrationOptions({
        rpName: config.brandName,
        rpID: config.webauthnRpId,
        userName: user.email,
        userDisplayName: user.name ?? user.email,
        userID: userHandleOf(user.id),
        timeout: PASSKEY_CHALLENGE_TTL_MS,
        attestationType: 'none',
        // The authenticator refuses to make a second passkey for this account.
        excludeCredentials: passkeys.map((p) => ({ id: p.id, transports: p.transports })),
        // Discoverable, so the passkey alone can sign in (no email typed first).
        authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
        supportedAlgorithmIDs: ALGORITHMS,
      })
      const challengeId = await startCeremony(ctx, 'passkey_registration', user.id, {
        purpose: 'register',
        challenge: options.challenge,
        sessionId: access.sessionId,
      })
      return { ...options, challengeId }
    },

    async registerPasskey(access, input, client) {
      const user = await profiles.requireUser(access)
      await requireRecentAuth(ctx, access)
      const data = await spendCeremony(ctx, input.challengeId, 'passkey_registration', {
        purpose: 'register',
        userId: user.id,
        sessionId: access.sessionId,
      })
      if (data === undefined) throw usedChallenge()
      const lib = await loadWebAuthn()
      let verified: VerifiedRegistrationResponse
      try {
        verified = await lib.verifyRegistrationResponse({
          response: input.response,
          expectedChallenge: data.challenge,
          expectedOrigin: [...config.webauthnOrigins],
          expectedRPID: config.webauthnRpId,
          // A security key without a PIN still makes a good second factor.
          requireUserVerification: false,
          supportedAlgorithmIDs: ALGORITHMS,
        })
      } catch (error) {
        throw misdirected(ctx, lib, error) ?? notAPasskey(error)
      }
      if (!verified.verified) throw notAPasskey(undefined)
      const info = verified.registrationInfo
      const existing = await store.factors.listPasskeys(user.id)
      const at = now()
      const record: PasskeyRecord = {
        id: info.credential.id,
        userId: user.id,
        name: passkeyName(input.name) ?? `Passkey ${existing.length + 1}`,
        publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
        counter: info.credential.counter,
        transports: [...(info.credential.transports ?? [])],
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
        createdAt: at,
        lastUsedAt: null,
      }
      const recoveryCodes = await store.atomically(async () => {
        if ((await store.factors.addPasskey(record)) === 'exists') return 'exists' as const
        await queueFactorNotice(ctx, user, 'factor_added', 'passkey')
        // The first factor brings recovery codes, as an authenticator app's does.
        const { recoveryCodes: left } = await store.factors.summary(user.id)
        return left === 0 ? await issueRecoveryCodes(ctx, user.id) : undefined
      })
      if (recoveryCodes === 'exists') {
        throw new AuthError('forbidden', 'this passkey is registered already')
      }
      mail.wake()
      await audit(
        'mfa.passkey_added',
        client,
        { userId: user.id, sessionId: access.sessionId },
        { passkeyId: record.id, deviceType: record.deviceType },
      )
      return { ...passkeyView(record), ...(recoveryCodes === undefined ? {} : { recoveryCodes }) }
    },

    async listPasskeys(access) {
      const user = await profiles.requireUser(access, 'cached')
      return (await store.factors.listPasskeys(user.id)).map(passkeyView)
    },

    async renamePasskey(access, id, input, client) {
      const user = await profiles.requireUser(access)
      const name = passkeyName(input.name)
      if (name === undefined) throw invalidField('/name', 'must not be blank')
      const renamed = await store.factors.renamePasskey(user.id, id, name)
      if (renamed === undefined) throw noSuchPasskey()
      await audit(
        'mfa.passkey_renamed',
        client,
        { userId: user.id, sessionId: access.sessionId },
        { passkeyId: id },
      )
      return passkeyView(renamed)
    },

    async removePasskey(access, id, client) {
      const user = await profiles.requireUser(access)
      await requireRecentAuth(ctx, access)
      const removed = await store.atomically(async () => {
        if (!(await store.factors.deletePasskey(user.id, id))) return false
        await factorRemoved(ctx, user, 'passkey')
        return true
      })
      if (!removed) throw noSuchPasskey()
      mail.wake()
      await audit(
        'mfa.passkey_removed',
        client,
        { userId: user.id, sessionId: access.sessionId },
        { passkeyId: id },
      )
    },

    async passkeyLoginOptions(client) {
      // Each call stores a challenge: limited per address, so nobody fills
      // the table from one; apart from the login ceiling, since a login page
      // asks once per view (autofill).
      await rateLimits.checkPasskeyOptions(client.ip ?? 'unknown')
      // Passwordless: the passkey must verify its user too (PIN or
      // biometrics), or whoever holds the device would hold the account.
      const options = await requestOptions(ctx, undefined, 'required')
      const challengeId = await startCeremony(ctx, 'passkey_login', null, {
        purpose: 'login',
        challenge: options.challenge,
      })
      return { ...options, challengeId }
    },

    async signInWithPasskey(input, client) {
      const data = await spendCeremony(ctx, input.challengeId, 'passkey_login', {
        purpose: 'login',
        userId: null,
      })
      if (data === undefined) throw usedChallenge()
      const ip = client.ip ?? 'unknown'
      const passkey = await store.factors.findPasskey(input.response.id)
      const user = passkey && (await store.users.findUserById(passkey.userId))
      // Throttled like a password, per account and address once the passkey names one.
      const accountKey = user?.email ?? `passkey:${input.response.id.slice(0, 64)}`
      await rateLimits.checkLogin(accountKey, ip)
      const proof =
        user === undefined || user.disabled
          ? undefined
          : await checkAssertion(ctx, input.response, data.challenge, {
              requireUserVerification: true,
              client,
            })
      if (proof === undefined || user === undefined) {
        await rateLimits.loginFailed(accountKey, ip)
        metrics.inc('logins_failed')
        await audit('login.failed', client, { userId: user?.id ?? null }, { method: 'passkey' })
        // An unknown passkey, another's, a bad signature: one answer that tells nothing apart.
        throw new AuthError('invalid_credentials', 'this passkey is not accepted here')
      }
      if (config.emailVerification === 'required' && user.emailVerifiedAt === null) {
        throw new AuthError(
          'email_not_verified',
          'verify your email address first: open the link we mailed you, or ask for a new one',
        )
      }
      // A passkey that verified its user is two factors in one: something
      // held (the key) and something known or been (its PIN or biometrics).
      return await startSignedIn(ctx, user, [...proof.amr, 'mfa'], client, {
        method: 'passkey',
        passkeyId: proof.passkey.id,
      })
    },

    // The second step's challenge is stored under the hash of the WebAuthn
    // challenge itself, which the answer carries back: POST /auth/mfa/verify
    // takes the MFA token and the answer, no other id.
    async mfaPasskeyOptions(input) {
      const mfa = hashChallengeToken(input.mfaToken)
      const step = await store.challenges.findChallenge(mfa, 'mfa', now())
      const passkeys = step?.userId == null ? [] : await store.factors.listPasskeys(step.userId)
      if (step?.userId == null || passkeys.length === 0) {
        throw new AuthError(
          'invalid_code',
          'the sign-in step has expired or was used, or the account has no passkey: sign in again',
        )
      }
      // A second factor: 'preferred', so a security key without a PIN serves.
      const options = await requestOptions(ctx, passkeys, 'preferred')
      await storeChallenge(
        ctx,
        hashChallengeToken(options.challenge),
        'passkey_login',
        step.userId,
        {
          purpose: 'mfa',
          challenge: options.challenge,
          mfa,
        },
      )
      return options
    },

    async reauthPasskeyOptions(access) {
      const user = await profiles.requireUser(access)
      const passkeys = await store.factors.listPasskeys(user.id)
      if (passkeys.length === 0) throw new AuthError('not_found', 'the account has no passkey')
      const options = await requestOptions(ctx, passkeys, 'preferred')
      const challengeId = await startCeremony(ctx, 'passkey_login', user.id, {
        purpose: 'reauth',
        challenge: options.challenge,
        sessionId: access.sessionId,
      })
      return { ...options, challengeId }
    },
  }
}

/** The user's label, trimmed; undefined when absent or blank. */
function passkeyName(name: string | undefined): string | undefined {
  const trimmed = name?.trim()
  return trimmed === undefined || trimmed === '' ? undefined : trimmed
}

/** A registration answer the library refused for a reason other than its origin or RP id. */
function notAPasskey(cause: unknown): AuthError {
  return new AuthError('validation_failed', 'the request is not valid', {
    details: {
      issues: [{ path: '/response', message: 'is not a passkey registration this server accepts' }],
    },
    ...(cause === undefined ? {} : { cause }),
  })
}
