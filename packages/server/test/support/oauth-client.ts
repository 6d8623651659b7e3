// An OAuth client as the tests register it straight in the store: the
// fields a test cares about, and the defaults every other field takes (no
// keys, no encryption, the server's token lifetimes, first party).

import { createHash, randomBytes } from 'node:crypto'
import type { OAuthClientRecord } from '../../src/storage/ports.ts'
import type { Harness } from './harness.ts'

/** What a test says about its client; everything else is a default. */
export type ClientFields = Pick<
  OAuthClientRecord,
  | 'id'
  | 'name'
  | 'secretHash'
  | 'redirectUris'
  | 'grantTypes'
  | 'tokenEndpointAuthMethod'
  | 'scopes'
> &
  Partial<OAuthClientRecord>

/**
 * Stores the client `fields` describe and returns its record: in a test
 * harness (created at its clock's time) or a running server's store (now).
 */
export async function addClientRecord(
  h: Pick<Harness, 'tessera'> & { clock?: Harness['clock'] },
  fields: ClientFields,
): Promise<OAuthClientRecord> {
  const client: OAuthClientRecord = {
    postLogoutRedirectUris: [],
    jwks: null,
    firstParty: true,
    accessTokenTtl: null,
    refreshTokenTtl: null,
    dpopBoundAccessTokens: false,
    idTokenEncryption: null,
    userinfoEncryption: null,
    createdAt: h.clock?.now ?? Date.now(),
    ...fields,
  }
  await h.tessera.store.oauth.createClient(client)
  return client
}

/** A PKCE verifier and its S256 challenge (RFC 7636 §4.1, §4.2). */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}
