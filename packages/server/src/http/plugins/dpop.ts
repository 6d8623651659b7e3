// DPoP on the routes that hand out tokens (RFC 9449 §5): the proof of the
// request, checked before the flow runs, becomes `ClientInfo.dpopJkt`, what
// the flow binds the tokens to. Servers with nonces on send the current one
// in `DPoP-Nonce` with every such answer (§8.2), errors included.

import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AuthService, ClientInfo } from '../../auth/types.ts'
import type { Config } from '../../config/types.ts'
import { clientInfo } from './request-context.ts'

/** `htu` as the client addressed this request: the issuer's URL and the path, no query. */
export function publicUrlOf(config: Pick<Config, 'issuer'>, request: FastifyRequest): string {
  const url = request.url
  const query = url.indexOf('?')
  return `${config.issuer}${query < 0 ? url : url.slice(0, query)}`
}

/** Sends the current DPoP nonce, when the server requires them. */
export function offerDpopNonce(auth: Pick<AuthService, 'dpop'>, reply: FastifyReply): void {
  const nonce = auth.dpop.nonce()
  if (nonce !== undefined) reply.header('dpop-nonce', nonce)
}

/**
 * Who is calling, with the key of the request's DPoP proof when it carries
 * one. Throws AuthError `invalid_dpop_proof` / `use_dpop_nonce`.
 *
 * @example
 * const result = await auth.login(request.body, await clientWithProof(request, reply, deps))
 */
export async function clientWithProof(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: { readonly config: Pick<Config, 'issuer'>; readonly auth: Pick<AuthService, 'dpop'> },
): Promise<ClientInfo> {
  const client = clientInfo(request)
  const proofs = request.headers.dpop
  offerDpopNonce(deps.auth, reply)
  if (proofs === undefined) return client
  const jkt = await deps.auth.dpop.proofKey({
    proofs,
    method: request.method,
    url: publicUrlOf(deps.config, request),
  })
  return jkt === undefined ? client : { ...client, dpopJkt: jkt }
}
