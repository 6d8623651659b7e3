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
//   account. Linking from a signed-in session is the other way in (below);
// - a verified address without an account → a new account (when signups are
//   open), its address verified, no password, the identity linked.
//
// A link starts from a signed-in session with a recent authentication
// (startLink): its flow also carries the user and the session. Its callback
// links whoever signed in at the provider to that user, whatever addresses
// either side has (the user proved both sides), while the session is live and
// the account active; an identity already linked to another account, or a
// second identity at a provider the user has one at, is refused.
//
// A provider configured to keep tokens (keepTokens) has its tokens sealed
// under the master key, bound to the provider, subject and user, into the
// identity at every sign-in and link through it; a provider that does not
// keep them has any kept before cleared. providerToken hands the access
// token to the signed-in user, refreshed at the provider when it is about to
// expire. No token is ever logged or audited.
//
// Every refusal is a FederationError with a reason the route turns into a
// redirect to /login (to /account for a link); nothing is stored on a refusal.

import { randomUUID } from 'node:crypto'
import type { IdentityRecord, UserRecord } from '../../storage/ports.ts'
import type { FlowContext } from '../context.ts'
import { AuthError } from '../errors.ts'
import { finishSignIn } from '../sign-in.ts'
import { requireRecentAuth } from '../step-up.ts'
import type { AccessContext, ClientInfo, FederationFlows, ProviderTokenView } from '../types.ts'
import { iso } from '../views.ts'
import { type ResolvedProvider, resolveProvider } from './presets.ts'
import {
  createUpstream,
  type FlowSecrets,
  type ProviderTokens,
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
/** A kept access token this close to its expiry is refreshed before it is handed out. */
const REFRESH_AHEAD_MS = 60_000

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

/** Why a link from a signed-in session was refused: the `reason` /account is sent with. */
export type LinkFailure =
  /** The identity is linked to another account. */
  | 'identity_in_use'
  /** The user has another identity at this provider already: disconnect it first. */
  | 'provider_already_linked'
  /** The session that started the link ended (signed out, revoked, expired) before the callback. */
  | 'session_ended'

export class FederationError extends Error {
  readonly reason: FederationFailure | LinkFailure
  /** True when the flow was a link from a signed-in session (the refusal goes back to /account, not /login). */
  readonly linking: boolean
  /**
   * Where the refused sign-in was headed (the start's checked `redirect_to`,
   * such as an OAuth authorization waiting for it): /login keeps it, so a
   * sign-in another way still gets there.
   */
  redirectTo: string | undefined = undefined

  constructor(
    reason: FederationFailure | LinkFailure,
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
  /** The provider id. */
  p: string
  /** state, nonce, PKCE verifier. */
  s: string
  n: string | null
  v: string
  /** Where to go after. */
  r: string | null
  /** When the flow expires (epoch ms). */
  e: number
  /** A link: the user to link to, and the session it was started from. */
  u?: string
  i?: string
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

  function sealFlow(
    id: string,
    started: Awaited<ReturnType<Upstream['start']>>,
    redirectTo: string | undefined,
    link: { u: string; i: string } | undefined,
  ): { url: string; flow: string; maxAge: number } {
    const { url, secrets } = started
    const flow: SealedFlow = {
      p: id,
      s: secrets.state,
      n: secrets.nonce ?? null,
      v: secrets.codeVerifier,
      r: redirectTo ?? null,
      e: now() + FLOW_TTL_MS,
      ...link,
    }
    return {
      url: url.href,
      flow: sealer.seal(JSON.stringify(flow), FLOW_CONTEXT),
      maxAge: FLOW_TTL_MS / 1000,
    }
  }

  /**
   * A link's callback: whoever signed in at the provider becomes an identity
   * of the user who started it, if that session is still live.
   */
  async function finishLink(
    provider: ResolvedProvider,
    upstream: Upstream,
    callbackUrl: URL,
    secrets: FlowSecrets,
    link: { userId: string; sessionId: string },
    client: ClientInfo,
  ): Promise<void> {
    let profile: UpstreamProfile
    try {
      profile = await upstream.finish(callbackUrl, secrets)
    } catch (error) {
      if (error instanceof UpstreamError) {
        throw new FederationError(error.reason, error.message, { cause: error })
      }
      throw error
    }
    const at = now()
    const session = await store.sessions.findSession(link.sessionId)
    if (
      session === undefined ||
      session.revokedAt !== null ||
      session.expiresAt <= at ||
      session.userId !== link.userId
    ) {
      throw new FederationError('session_ended', 'the session that started the link has ended')
    }
    const user = await store.users.findUserById(link.userId)
    if (user === undefined || user.disabled) {
      throw new FederationError('account_disabled', 'the account is disabled')
    }
    // As the provider gave it (normalized); no check: the user proved both sides.
    const email = profile.email === null ? null : (rules.normalizeEmail(profile.email) ?? null)
    const known = await store.identities.findIdentity(provider.id, profile.subject)
    if (known !== undefined) {
      if (known.userId !== user.id) {
        throw new FederationError('identity_in_use', 'the identity is linked to another account')
      }
      // Linked already: a use of it.
      await store.identities.touchIdentity(provider.id, profile.subject, {
        email,
        emailVerified: profile.emailVerified,
        lastUsedAt: at,
      })
      await keepTokens(provider, profile, user.id)
      return
    }
    const mine = await store.identities.listIdentities(user.id)
    if (mine.some((identity) => identity.provider === provider.id)) {
      throw new FederationError(
        'provider_already_linked',
        'the account has another identity at this provider',
      )
    }
    const created = await store.identities.createIdentity({
      provider: provider.id,
      subject: profile.subject,
      userId: user.id,
      email,
      emailVerified: profile.emailVerified,
      createdAt: at,
      lastUsedAt: at,
    })
    if (created === 'identity_taken') {
      // A concurrent sign-in linked it first: to this user is fine, to another is not.
      const winner = await store.identities.findIdentity(provider.id, profile.subject)
      if (winner?.userId !== user.id) {
        throw new FederationError('identity_in_use', 'the identity is linked to another account')
      }
    } else {
      await audit(
        'identity.linked',
        client,
        { userId: user.id, sessionId: link.sessionId },
        { provider: provider.id, by: 'session' },
      )
    }
    await keepTokens(provider, profile, user.id)
  }

  /** Keeps the sign-in's tokens for a provider that keeps them; clears any kept for one that does not. */
  async function keepTokens(
    provider: ResolvedProvider,
    profile: UpstreamProfile,
    userId: string,
  ): Promise<void> {
    const sealed = provider.keepTokens
      ? sealTokens(provider.id, profile.subject, userId, ownClock(profile.tokens))
      : null
    await store.identities.setIdentityTokens(provider.id, profile.subject, userId, sealed)
  }

  /**
   * The expiry of tokens just received, on the flows' clock: the upstream
   * reads the wall clock, the flows `now` (the same one in production; a
   * test's own clock otherwise).
   */
  function ownClock(tokens: ProviderTokens): ProviderTokens {
    if (tokens.expiresAt === null) return tokens
    return { ...tokens, expiresAt: now() + (tokens.expiresAt - Date.now()) }
  }

  function sealTokens(
    provider: string,
    subject: string,
    userId: string,
    tokens: ProviderTokens,
  ): string {
    const kept: ProviderTokens = {
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      expiresAt: tokens.expiresAt,
      scope: tokens.scope,
    }
    return sealer.seal(JSON.stringify(kept), tokensContext(provider, subject, userId))
  }

  /** The kept tokens, or undefined when they cannot be opened (another master key). */
  function openTokens(identity: IdentityRecord, sealed: string): ProviderTokens | undefined {
    try {
      const context = tokensContext(identity.provider, identity.subject, identity.userId)
      return JSON.parse(sealer.open(sealed, context)) as ProviderTokens
    } catch {
      return undefined
    }
  }

  /**
   * Refreshes the kept tokens at the provider and keeps the new ones. Two
   * refreshes at once: the one that loses the race (its refresh token was
   * rotated by the other) takes what the winner kept.
   */
  async function refreshKept(
    { provider, upstream }: Configured,
    identity: IdentityRecord,
    sealed: string,
    tokens: ProviderTokens,
    refreshToken: string,
    access: AccessContext,
    client: ClientInfo,
  ): Promise<ProviderTokens> {
    const { userId, subject } = identity
    let fresh: ProviderTokens
    try {
      fresh = ownClock(await upstream.refresh(refreshToken))
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error
      if (error.reason === 'provider_unavailable') {
        throw new AuthError(
          'provider_unavailable',
          `provider ${provider.id} could not be reached`,
          {
            cause: error,
          },
        )
      }
      const cleared = await store.identities.setIdentityTokens(
        provider.id,
        subject,
        userId,
        null,
        sealed,
      )
      if (!cleared) {
        const current = await store.identities.readIdentityTokens(provider.id, subject)
        const theirs = current === null ? undefined : openTokens(identity, current)
        if (theirs !== undefined) return theirs
      }
      await audit(
        'identity.tokens_dropped',
        client,
        { userId, sessionId: access.sessionId },
        { provider: provider.id, reason: 'refresh_refused' },
      )
      throw new AuthError(
        'provider_token_revoked',
        `provider ${provider.id} refused to refresh the kept tokens: sign in with it again`,
        { cause: error },
      )
    }
    const next: ProviderTokens = {
      accessToken: fresh.accessToken,
      // A provider that does not rotate sends no new refresh token: the old one stays good.
      refreshToken: fresh.refreshToken ?? tokens.refreshToken,
      expiresAt: fresh.expiresAt,
      scope: fresh.scope ?? tokens.scope,
    }
    await store.identities.setIdentityTokens(
      provider.id,
      subject,
      userId,
      sealTokens(provider.id, subject, userId, next),
      sealed,
    )
    return next
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
      return sealFlow(id, started, input.redirectTo, undefined)
    },

    async startLink(access, id, input) {
      const { upstream } = find(id)
      const user = await profiles.requireUser(access)
      // Linking adds a way into the account, as a second factor or a passkey does.
      await requireRecentAuth(ctx, access)
      let started: Awaited<ReturnType<Upstream['start']>>
      try {
        started = await upstream.start()
      } catch (error) {
        if (error instanceof UpstreamError) {
          throw new AuthError('provider_unavailable', `provider ${id} could not be reached`, {
            cause: error,
          })
        }
        throw error
      }
      return sealFlow(id, started, input.redirectTo, { u: user.id, i: access.sessionId })
    },

    async unlinkIdentity(access, id, client) {
      const user = await profiles.requireUser(access)
      await requireRecentAuth(ctx, access)
      const identities = await store.identities.listIdentities(user.id)
      const mine = identities.filter((identity) => identity.provider === id)
      if (mine.length === 0) throw new AuthError('not_found', 'no identity at this provider')
      // The ways in that stay: a password (a social sign-up has none: ''), a
      // passkey (each signs in alone), an identity at another provider.
      // Signing in by mail is not counted: it needs the server to mail,
      // which an operator may turn off, and the address may be the very
      // mailbox this provider holds (docs/social-login.md).
      const others = identities.length - mine.length
      if (others === 0 && user.passwordHash === '') {
        const passkeys = await store.factors.listPasskeys(user.id)
        if (passkeys.length === 0) {
          throw new AuthError(
            'last_sign_in_method',
            'this is the only way to sign in to the account: set a password or add a passkey first',
          )
        }
      }
      let removed = false
      for (const identity of mine) {
        if (await store.identities.deleteIdentity(identity.provider, identity.subject, user.id)) {
          removed = true
        }
      }
      // Unlinked meanwhile (another tab): as absent as one that never was.
      if (!removed) throw new AuthError('not_found', 'no identity at this provider')
      await audit(
        'identity.unlinked',
        client,
        { userId: user.id, sessionId: access.sessionId },
        { provider: id },
      )
    },

    async providerToken(access, id, input, client) {
      const user = await profiles.requireUser(access)
      const identity = newest(
        (await store.identities.listIdentities(user.id)).filter((i) => i.provider === id),
      )
      if (identity === undefined) throw new AuthError('not_found', 'no identity at this provider')
      const configured = providers.get(id)
      const sealed = await store.identities.readIdentityTokens(id, identity.subject)
      if (configured === undefined || !configured.provider.keepTokens) {
        // The operator stopped keeping them (or removed the provider): what was kept goes.
        if (sealed !== null) {
          await store.identities.setIdentityTokens(id, identity.subject, user.id, null, sealed)
        }
        throw new AuthError('not_found', 'no tokens are kept for this provider')
      }
      if (sealed === null) throw new AuthError('not_found', 'no tokens are kept for this identity')
      const tokens = openTokens(identity, sealed)
      if (tokens === undefined) {
        // Sealed under a master key no longer configured: useless, dropped.
        await store.identities.setIdentityTokens(id, identity.subject, user.id, null, sealed)
        throw new AuthError('not_found', 'no tokens are kept for this identity')
      }
      const at = now()
      const expired = tokens.expiresAt !== null && tokens.expiresAt <= at
      const expiring = tokens.expiresAt !== null && tokens.expiresAt - at <= REFRESH_AHEAD_MS
      if (!input.refresh && !expiring) return tokenView(tokens)
      if (tokens.refreshToken === null) {
        // Nothing to refresh with: the token serves until it expires.
        if (!expired) return tokenView(tokens)
        await store.identities.setIdentityTokens(id, identity.subject, user.id, null, sealed)
        await audit(
          'identity.tokens_dropped',
          client,
          { userId: user.id, sessionId: access.sessionId },
          { provider: id, reason: 'expired' },
        )
        throw new AuthError(
          'provider_token_revoked',
          `the access token of provider ${id} expired and there is no refresh token: sign in with it again`,
        )
      }
      return tokenView(
        await refreshKept(
          configured,
          identity,
          sealed,
          tokens,
          tokens.refreshToken,
          access,
          client,
        ),
      )
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
      if (flow.u !== undefined && flow.i !== undefined) {
        const link = { userId: flow.u, sessionId: flow.i }
        try {
          await finishLink(provider, upstream, callbackUrl, secrets, link, client)
        } catch (error) {
          if (error instanceof FederationError) {
            await audit('identity.link_refused', client, link, {
              provider: id,
              reason: error.reason,
              by: 'session',
            })
            throw new FederationError(error.reason, error.message, { cause: error, linking: true })
          }
          throw error
        }
        return { kind: 'linked', provider: id, redirectTo: flow.r ?? undefined }
      }
      try {
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
        await keepTokens(provider, profile, user.id)
        // RFC 8176 `fed`: the user authenticated at a federated provider.
        const result = await finishSignIn(
          ctx,
          user,
          { amr: ['fed'], method: `federation:${id}` },
          client,
        )
        return { kind: 'signed_in', result, redirectTo: flow.r ?? undefined }
      } catch (error) {
        if (error instanceof FederationError) error.redirectTo = flow.r ?? undefined
        throw error
      }
    },
  }
}

/** The redirect URI to register at the provider. */
export function callbackUri(issuer: string, id: string): string {
  return `${issuer}/auth/providers/${encodeURIComponent(id)}/callback`
}

/** What the kept tokens of (provider, subject, user) are sealed under: they open for that identity only. */
function tokensContext(provider: string, subject: string, userId: string): string {
  return `tessera:provider-tokens:${JSON.stringify([provider, subject, userId])}`
}

function tokenView(tokens: ProviderTokens): ProviderTokenView {
  return {
    accessToken: tokens.accessToken,
    tokenType: 'Bearer',
    expiresAt: tokens.expiresAt === null ? null : iso(tokens.expiresAt),
    scope: tokens.scope,
  }
}

/** The identity used last (then linked last). */
function newest(identities: IdentityRecord[]): IdentityRecord | undefined {
  return identities.toSorted(
    (a, b) => (b.lastUsedAt ?? b.createdAt) - (a.lastUsedAt ?? a.createdAt),
  )[0]
}
