// Tessera as an OAuth 2.0 authorization server and OpenID provider: the
// flows of /oauth/*, composed from one FlowContext like the rest of the
// service. Clients: clients.ts; authenticating them: client-auth.ts; the
// authorization endpoint: authorize.ts (requests.ts checks the request);
// the grants: token.ts; introspection, revocation, userinfo, logout and
// consents: endpoints.ts.

import type { FlowContext } from '../context.ts'
import type { OAuthFlows } from '../types.ts'
import { createAuthorizeFlows } from './authorize.ts'
import { createClientAuthenticator } from './client-auth.ts'
import { createOAuthEndpointFlows } from './endpoints.ts'
import { createTokenFlows } from './token.ts'

export function createOAuthFlows(ctx: FlowContext): OAuthFlows {
  const clients = createClientAuthenticator(ctx)
  return {
    ...createAuthorizeFlows(ctx),
    ...createTokenFlows(ctx, clients),
    ...createOAuthEndpointFlows(ctx, clients),
  }
}
