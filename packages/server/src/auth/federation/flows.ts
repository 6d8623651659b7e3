// Social login (issue 21): signing in through an upstream provider. The
// start keeps its secrets (state, nonce, PKCE verifier, where to go after)
// sealed under the master key in a short-lived cookie of the browser that
// started, so nothing is stored before the provider answers and a callback
// in another browser finds no flow. The callback then finds who signed in
// and decides:
//
// - a known identity (provider, subject) → its user signs in;
// - an unknown one whose provider says `email_verified`, for an address of a
//   Tessera account whose address is verified too → the identity is linked
//   to that account, which signs in (both sides proved the same address);
// - the same with an account whose address is not verified, or a provider
//   that does not vouch for the address → refused (`account_email_unverified`,
//   `email_not_verified`): an address nobody proved must not hand over an
//   account. Linking from a signed-in session is the other way in (next);
// - a verified address without an account → a new account (when signups are
//   open), its address verified, no password, the identity linked.
//
// Every refusal is a FederationError with a reason the route turns into a
// redirect to /login; nothing is stored on a refusal.

import { randomUUID } from 'node:crypto'
import type { UserRecord } from '../../storage/ports.ts'
import type { FlowContext } from '../context.ts'
import { AuthError } from '../errors.ts'
import { finishSignIn } from '../sign-in.ts'
import type { ClientInfo, FederationFlows } from '../types.ts'
import { iso } from '../views.ts'
import { type ResolvedProvider, resolveProvider } from './presets.ts'
import {
  createUpstream,
  type FlowSecrets,
  type Upstream,
  UpstreamError,
  type UpstreamFailure,
  type UpstreamProfile,
} from './upstream.ts'

/** A flow lives 10 minutes: time to sign in at the provider, not to keep a stale state around. */
export const FLOW_TTL_MS = 10 * 60_000
const FLOW_CONTEXT = 'tessera:federation-flow'
const DEFAULT_ROLES = ['user']
/** Seconds a request to a provider may take before it counts as down. */
const UPSTREAM_TIMEOUT = 10

/** Why a social sign-in did not go through: the `reason` /login is sent with. */
export type FederationFailure =
  | UpstreamFailure
  /** No flow cookie, an expired one, or one of another provider. */
  | 'flow_expired'
  /** The provider gave no address (or GitHub no verified primary one). */
  | 'email_missing'
  /** The provider does not vouch for the address: neither linked nor signed up. */
  | 'email_not_verified'
  /** The account of that address has not verified it: linking must come from a signed-in session. */
  | 'account_email_unverified'
  | 'signup_closed'
  | 'account_disabled'

export class FederationError extends Error {
  readonly reason: FederationFailure
  /** True when the flow was a link from a signed-in session (the refusal goes back to /account, not /login). */
  readonly linking: boolean

  constructor(
    reason: FederationFailure,
    message: string,
    options?: { cause?: unknown; linking?: boolean },
  ) {
    super(message, options)
    this.name = 'FederationError'
    this.reason = reason
    this.linking = options?.linking ?? false
  }
}

/** What the flow cookie holds, sealed. */
interface SealedFlow {
  p: string
  s: string
  n: string | null
  v: string
  r: string | null
  e: number
}

interface Configured {
  provider: ResolvedProvider
  upstream: Upstream
}

export function createFederationFlows(ctx: FlowContext): FederationFlows {
  const { config, store, sealer, now, audit, rules, rateLimits, metrics, profiles } = ctx
  const providers = new Map<string, Configured>()
  for (const entry of config.providers) {
    const provider = resolveProvider(entry)
    providers.set(provider.id, {
      provider,
      upstream: createUpstream(provider, {
        redirectUri: callbackUri(config.issuer, provider.id),
        timeout: UPSTREAM_TIMEOUT,
      }),
    })
  }

  function find(id: string): Configured {
    const configured = providers.get(id)
    if (configured === undefined) throw new AuthError('not_found', 'no such provider')
    return configured
  }

  function openFlow(id: string, sealed: string | undefined): SealedFlow {
    if (sealed === undefined) throw new FederationError('flow_expired', 'no sign-in in progress')
    let flow: SealedFlow
    try {
      flow = JSON.parse(sealer.open(sealed, FLOW_CONTEXT)) as SealedFlow
    } catch (cause) {
      throw new FederationError('flow_expired', 'the sign-in cookie is not ours', { cause })
    }
    if (flow.p !== id || flow.e <= now()) {
      throw new FederationError('flow_expired', 'the sign-in expired or is of another provider')
    }
    return flow
  }

  /** The user `profile` is, linked or created as the module comment says. */
  async function userOf(
    provider: ResolvedProvider,
    profile: UpstreamProfile,
    client: ClientInfo,
  ): Promise<UserRecord> {
    const at = now()
    const known = await store.identities.findIdentity(provider.id, profile.subject)
    const email = profile.email === null ? undefined : rules.normalizeEmail(profile.email)
    if (known !== undefined) {
      const user = await store.users.findUserById(known.userId)
      if (user === undefined) throw new FederationError('account_disabled', 'the account is gone')
      if (user.disabled) return user
      await store.identities.touchIdentity(provider.id, profile.subject, {
        email: email ?? null,
        emailVerified: profile.emailVerified,
        lastUsedAt: at,
      })
      return user
    }
    if (email === undefined) {
      throw new FederationError('email_missing', `provider ${provider.id} gave no usable address`)
    }
    if (!profile.emailVerified) {
      throw new FederationError(
        'email_not_verified',
        `provider ${provider.id} does not say it verified the address`,
      )
    }
    const identity = {
      provider: provider.id,
      subject: profile.subject,
      email,
      emailVerified: true,
      createdAt: at,
      lastUsedAt: at,
    }
    const existing = await store.users.findUserByEmail(email)
    if (existing !== undefined) {
      // A disabled account is refused by the caller, before anything is linked to it.
      if (existing.disabled) return existing
      if (existing.emailVerifiedAt === null) {
        await audit(
          'identity.link_refused',
          client,
          { userId: existing.id },
          { provider: provider.id, reason: 'account_email_unverified' },
        )
        throw new FederationError(
          'account_email_unverified',
          'the account of this address has not verified it',
        )
      }
      const linked = await store.identities.createIdentity({ ...identity, userId: existing.id })
      // A concurrent first sign-in of the same person linked it first: same result.
      if (linked !== 'identity_taken') {
        await audit(
          'identity.linked',
          client,
          { userId: existing.id },
          { provider: provider.id, by: 'verified_email' },
        )
      }
      return existing
    }
    if (!config.signupEnabled) throw new FederationError('signup_closed', 'signup is closed')
    await rateLimits.checkSignup(client.ip ?? 'unknown')
    const created = await store.atomically(async () => {
      const user = await store.users.createUser({
        id: randomUUID(),
        email,
        name: profile.name,
        // No password: '' verifies nothing (an unknown format), and a reset sets one.
        passwordHash: '',
        roles: DEFAULT_ROLES,
        createdAt: at,
        emailVerifiedAt: at,
      })
      if (user === 'email_taken') return user
      const linked = await store.identities.createIdentity({ ...identity, userId: user.id })
      if (linked === 'identity_taken') throw new FederationError('flow_expired', 'raced')
      await audit(
        'user.signup',
        client,
        { userId: user.id },
        { method: 'federation', provider: provider.id },
      )
      await audit(
        'identity.linked',
        client,
        { userId: user.id },
        { provider: provider.id, by: 'signup' },
      )
      return user
    })
    // Another sign-up of this address won the race: go again, as a link.
    if (created === 'email_taken') return await userOf(provider, profile, client)
    metrics.inc('signups')
    return created
  }

  return {
    listProviders() {
      return [...providers.values()].map(({ provider }) => ({
        id: provider.id,
        name: provider.name,
        kind: provider.preset.kind,
      }))
    },

    async listIdentities(access) {
      const user = await profiles.requireUser(access, 'cached')
      const identities = await store.identities.listIdentities(user.id)
      return identities
        .sort((a, b) => a.createdAt - b.createdAt)
        .map((identity) => ({
          provider: identity.provider,
          providerName: providers.get(identity.provider)?.provider.name ?? identity.provider,
          email: identity.email,
          createdAt: iso(identity.createdAt),
          lastUsedAt: identity.lastUsedAt === null ? null : iso(identity.lastUsedAt),
        }))
    },

    async startFederation(id, input) {
      const { upstream } = find(id)
      let started: Awaited<ReturnType<Upstream['start']>>
      try {
        started = await upstream.start()
      } catch (error) {
        if (error instanceof UpstreamError) {
          throw new FederationError(error.reason, error.message, { cause: error })
        }
        throw error
      }
      const { url, secrets } = started
      const flow: SealedFlow = {
        p: id,
        s: secrets.state,
        n: secrets.nonce ?? null,
        v: secrets.codeVerifier,
        r: input.redirectTo ?? null,
        e: now() + FLOW_TTL_MS,
      }
      return {
        url: url.href,
        flow: sealer.seal(JSON.stringify(flow), FLOW_CONTEXT),
        maxAge: FLOW_TTL_MS / 1000,
      }
    },

    async finishFederation(id, input, client) {
      const { provider, upstream } = find(id)
      const flow = openFlow(id, input.flow)
      const secrets: FlowSecrets = {
        state: flow.s,
        nonce: flow.n ?? undefined,
        codeVerifier: flow.v,
      }
      const callbackUrl = new URL(callbackUri(config.issuer, id))
      callbackUrl.search = input.query.toString()
      let profile: UpstreamProfile
      try {
        profile = await upstream.finish(callbackUrl, secrets)
      } catch (error) {
        if (error instanceof UpstreamError) {
          await audit(
            'login.failed',
            client,
            {},
            { method: `federation:${id}`, reason: error.reason },
          )
          metrics.inc('logins_failed')
          throw new FederationError(error.reason, error.message, { cause: error })
        }
        throw error
      }
      const user = await userOf(provider, profile, client)
      if (user.disabled) {
        await audit(
          'login.failed',
          client,
          { userId: user.id },
          { method: `federation:${id}`, reason: 'account_disabled' },
        )
        throw new FederationError('account_disabled', 'the account is disabled')
      }
      // RFC 8176 `fed`: the user authenticated at a federated provider.
      const result = await finishSignIn(
        ctx,
        user,
        { amr: ['fed'], method: `federation:${id}` },
        client,
      )
      return { kind: 'signed_in', result, redirectTo: flow.r ?? undefined }
    },
  }
}

/** The redirect URI to register at the provider. */
export function callbackUri(issuer: string, id: string): string {
  return `${issuer}/auth/providers/${encodeURIComponent(id)}/callback`
}
