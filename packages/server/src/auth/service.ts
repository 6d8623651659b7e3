// The auth service: one module per flow, composed here. Where is refresh
// rotation? auth/sessions.ts. Signup and login? auth/accounts.ts. Users,
// keys and the audit log for admins? auth/admin.ts. Checking an access
// token? auth/access.ts. Mail: verification.ts, recovery.ts (reset),
// passwordless.ts (sign-in code and link), email-change.ts. Second factors
// and step-up: mfa.ts; passkeys (WebAuthn): passkeys.ts. New flows (OAuth)
// are new modules beside these, built from the same FlowContext: oauth/
// (the authorization server and OpenID provider, under `auth.oauth`).

import { createAccessFlows } from './access.ts'
import { createAccountFlows } from './accounts.ts'
import { createAdminFlows } from './admin.ts'
import { createAudit } from './audit.ts'
import { createBackground } from './background.ts'
import type { AuthServiceDeps, FlowContext } from './context.ts'
import { createEmailChangeFlows } from './email-change.ts'
import { createFederationFlows } from './federation/flows.ts'
import { createTokenIssuing } from './issue-tokens.ts'
import { createMfaFlows } from './mfa.ts'
import { createMfaEnrollmentFlows } from './mfa-enrollment.ts'
import { createOAuthClientFlows } from './oauth/clients.ts'
import { createOAuthFlows } from './oauth/index.ts'
import { createPasskeyFlows } from './passkeys.ts'
import { createPasswordlessFlows } from './passwordless.ts'
import type { AuthMetrics } from './ports.ts'
import { createProfiles } from './profiles.ts'
import { createRecoveryFlows } from './recovery.ts'
import { createRevoker } from './revoke.ts'
import { createSessionFlows } from './sessions.ts'
import type { AuthService } from './types.ts'
import { createVerificationFlows } from './verification.ts'

const NO_METRICS: AuthMetrics = { inc() {} }

/**
 * Builds the auth service: every flow of PRODUCT.md's HTTP API as plain
 * functions over the storage ports.
 *
 * @example
 * const auth = createAuthService({ config, store, keyRing, issuer, ... })
 * const { tokens } = await auth.login({ email, password }, { ip, userAgent })
 */
export function createAuthService(deps: AuthServiceDeps): AuthService {
  const { sleep, metrics, ...rest } = deps
  const revoke = createRevoker({
    revocations: deps.revocations,
    now: deps.now,
    accessTokenTtl: deps.config.accessTokenTtl,
    ...(sleep === undefined ? {} : { sleep }),
  })
  const ctx: FlowContext = {
    ...rest,
    metrics: metrics ?? NO_METRICS,
    audit: createAudit(deps.store.audit, deps.now),
    revoke,
    tokens: createTokenIssuing({
      config: deps.config,
      store: deps.store,
      issuer: deps.issuer,
      refreshTokens: deps.refreshTokens,
      revoke,
      now: deps.now,
    }),
    profiles: createProfiles(deps.store.users, deps.now),
    background: createBackground(deps.log),
  }
  return {
    ...createAccountFlows(ctx),
    ...createSessionFlows(ctx),
    ...createAdminFlows(ctx),
    ...createAccessFlows(ctx),
    ...createVerificationFlows(ctx),
    ...createRecoveryFlows(ctx),
    ...createPasswordlessFlows(ctx),
    ...createEmailChangeFlows(ctx),
    ...createMfaFlows(ctx),
    ...createMfaEnrollmentFlows(ctx),
    ...createPasskeyFlows(ctx),
    ...createOAuthClientFlows(ctx),
    oauth: createOAuthFlows(ctx),
    dpop: deps.dpop,
    federation: createFederationFlows(ctx),
  }
}
