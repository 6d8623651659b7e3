// OAuthStore over SQL: registered clients, authorization codes, consents and
// the used `jti`s of client assertions. The two security races are each one
// conditional statement, so the database arbitrates them: a code is
// redeemed once (RFC 6749 §4.1.2: a second use is an attack, and its first
// session is revoked), and an assertion's `jti` is accepted once (RFC 7523 §3).

import type { Selectable } from 'kysely'
import type {
  ConsentRecord,
  OAuthClientRecord,
  OAuthCodeRecord,
  OAuthGrantType,
  OAuthStore,
  TokenEndpointAuthMethod,
} from '../ports.ts'
import type { SqlContext } from './context.ts'
import { toBoolean, toNumber } from './dialect.ts'
import { parseStringArray, toNullableNumber } from './rows.ts'
import type { OAuthClientsTable, OAuthCodesTable, OAuthConsentsTable } from './schema.ts'

const GRANT_TYPES: readonly OAuthGrantType[] = [
  'authorization_code',
  'refresh_token',
  'client_credentials',
]

const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
]

/** The OAuthStore of a SQL store. */
export function createOAuthStore(ctx: SqlContext): OAuthStore {
  const { dialect } = ctx
  return {
    async createClient(client) {
      await ctx
        .db()
        .insertInto('oauth_clients')
        .values({
          id: client.id,
          name: client.name,
          secret_hash: client.secretHash,
          redirect_uris: JSON.stringify(client.redirectUris),
          post_logout_redirect_uris: JSON.stringify(client.postLogoutRedirectUris),
          grant_types: JSON.stringify(client.grantTypes),
          token_endpoint_auth_method: client.tokenEndpointAuthMethod,
          scopes: JSON.stringify(client.scopes),
          jwks: client.jwks,
          first_party: dialect.toDbBoolean(client.firstParty),
          access_token_ttl: client.accessTokenTtl,
          refresh_token_ttl: client.refreshTokenTtl,
          created_at: client.createdAt,
          dpop_bound_access_tokens: dialect.toDbBoolean(client.dpopBoundAccessTokens),
          id_token_encrypted_alg: client.idTokenEncryption?.alg ?? null,
          id_token_encrypted_enc: client.idTokenEncryption?.enc ?? null,
          userinfo_encrypted_alg: client.userinfoEncryption?.alg ?? null,
          userinfo_encrypted_enc: client.userinfoEncryption?.enc ?? null,
        })
        .execute()
    },

    async findClient(id) {
      const row = await ctx
        .db()
        .selectFrom('oauth_clients')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst()
      return row && toClientRecord(row)
    },

    async listClients() {
      const rows = await ctx
        .db()
        .selectFrom('oauth_clients')
        .selectAll()
        .orderBy('created_at', 'asc')
        .orderBy('id', 'asc')
        .execute()
      return rows.map(toClientRecord)
    },

    // The client's codes and consents reference it, so they go first; in one
    // transaction, so a failure leaves the client whole. Its used assertion
    // `jti`s go too: nothing can present them any more.
    deleteClient: (id) =>
      ctx.transaction(async (trx) => {
        await trx.deleteFrom('oauth_codes').where('client_id', '=', id).execute()
        await trx.deleteFrom('oauth_consents').where('client_id', '=', id).execute()
        await trx.deleteFrom('oauth_assertions').where('client_id', '=', id).execute()
        const result = await trx.deleteFrom('oauth_clients').where('id', '=', id).executeTakeFirst()
        return result.numDeletedRows > 0n
      }),

    async createCode(code) {
      await ctx
        .db()
        .insertInto('oauth_codes')
        .values({
          hash: code.hash,
          client_id: code.clientId,
          user_id: code.userId,
          data: code.data,
          created_at: code.createdAt,
          expires_at: code.expiresAt,
          used_at: null,
          session_id: null,
        })
        .execute()
    },

    // The condition and the change in one statement: of concurrent
    // redeemers only one finds `used_at` null (PostgreSQL re-checks the
    // WHERE after waiting for the row lock, under READ COMMITTED; SQLite has
    // one writer). The losers' read is a new statement that sees the
    // winner's `used_at`, so they are told `replayed`.
    async redeemCode(hash, now) {
      const won = await ctx
        .db()
        .updateTable('oauth_codes')
        .set({ used_at: now })
        .where('hash', '=', hash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst()
      if (won) return { status: 'redeemed', code: toCodeRecord(won) }
      const row = await ctx
        .db()
        .selectFrom('oauth_codes')
        .selectAll()
        .where('hash', '=', hash)
        .executeTakeFirst()
      // Unused here means expired: the UPDATE above took any live one.
      if (!row || row.used_at === null) return { status: 'not_found' }
      return { status: 'replayed', code: toCodeRecord(row) }
    },

    async attachCodeSession(hash, sessionId) {
      await ctx
        .db()
        .updateTable('oauth_codes')
        .set({ session_id: sessionId })
        .where('hash', '=', hash)
        .execute()
    },

    grantConsent: (userId, clientId, scopes, now) =>
      ctx.transaction(async (trx) => {
        const wanted = unique(scopes)
        const inserted = await trx
          .insertInto('oauth_consents')
          .values({
            user_id: userId,
            client_id: clientId,
            scopes: JSON.stringify(wanted),
            created_at: now,
            updated_at: now,
          })
          .onConflict((conflict) => conflict.columns(['user_id', 'client_id']).doNothing())
          .returningAll()
          .executeTakeFirst()
        if (inserted) return toConsentRecord(inserted)
        // Two grants at once: the row lock makes the second read the
        // first's scopes before adding its own (PostgreSQL; SQLite's write
        // transaction already serializes them), so neither is lost.
        const existing = await dialect
          .lockRows(
            trx
              .selectFrom('oauth_consents')
              .select('scopes')
              .where('user_id', '=', userId)
              .where('client_id', '=', clientId),
          )
          .executeTakeFirstOrThrow()
        const updated = await trx
          .updateTable('oauth_consents')
          .set({
            scopes: JSON.stringify(unique([...parseStringArray(existing.scopes), ...wanted])),
            updated_at: now,
          })
          .where('user_id', '=', userId)
          .where('client_id', '=', clientId)
          .returningAll()
          .executeTakeFirstOrThrow()
        return toConsentRecord(updated)
      }),

    async findConsent(userId, clientId) {
      const row = await ctx
        .db()
        .selectFrom('oauth_consents')
        .selectAll()
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .executeTakeFirst()
      return row && toConsentRecord(row)
    },

    async listConsents(userId) {
      const rows = await ctx
        .db()
        .selectFrom('oauth_consents')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at', 'desc')
        .orderBy('client_id', 'desc')
        .execute()
      return rows.map(toConsentRecord)
    },

    async deleteConsent(userId, clientId) {
      const result = await ctx
        .db()
        .deleteFrom('oauth_consents')
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .executeTakeFirst()
      return result.numDeletedRows > 0n
    },

    // The primary key decides: of concurrent inserts of one (client, jti)
    // exactly one adds the row and gets it back; the rest conflict and get
    // nothing, without an error that would abort an ambient transaction.
    async useAssertion(clientId, jti, expiresAt) {
      const row = await ctx
        .db()
        .insertInto('oauth_assertions')
        .values({ client_id: clientId, jti, expires_at: expiresAt })
        .onConflict((conflict) => conflict.columns(['client_id', 'jti']).doNothing())
        .returning('jti')
        .executeTakeFirst()
      return row !== undefined
    },

    purgeExpired: (before) =>
      ctx.transaction(async (trx) => {
        const codes = await trx
          .deleteFrom('oauth_codes')
          .where('expires_at', '<=', before)
          .executeTakeFirst()
        const assertions = await trx
          .deleteFrom('oauth_assertions')
          .where('expires_at', '<=', before)
          .executeTakeFirst()
        return Number(codes.numDeletedRows + assertions.numDeletedRows)
      }),
  }
}

/** In first-seen order, each once. */
function unique(values: Iterable<string>): string[] {
  return [...new Set(values)]
}

function toGrantType(value: string): OAuthGrantType {
  const grant = GRANT_TYPES.find((candidate) => candidate === value)
  if (grant === undefined) throw new TypeError('stored grant type is not a known one')
  return grant
}

function toAuthMethod(value: string): TokenEndpointAuthMethod {
  const method = AUTH_METHODS.find((candidate) => candidate === value)
  if (method === undefined)
    throw new TypeError('stored token endpoint auth method is not a known one')
  return method
}

function toClientRecord(row: Selectable<OAuthClientsTable>): OAuthClientRecord {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    redirectUris: parseStringArray(row.redirect_uris),
    postLogoutRedirectUris: parseStringArray(row.post_logout_redirect_uris),
    grantTypes: parseStringArray(row.grant_types).map(toGrantType),
    tokenEndpointAuthMethod: toAuthMethod(row.token_endpoint_auth_method),
    scopes: parseStringArray(row.scopes),
    jwks: row.jwks,
    firstParty: toBoolean(row.first_party),
    accessTokenTtl: toNullableNumber(row.access_token_ttl),
    refreshTokenTtl: toNullableNumber(row.refresh_token_ttl),
    dpopBoundAccessTokens: toBoolean(row.dpop_bound_access_tokens),
    idTokenEncryption: toEncryption(row.id_token_encrypted_alg, row.id_token_encrypted_enc),
    userinfoEncryption: toEncryption(row.userinfo_encrypted_alg, row.userinfo_encrypted_enc),
    createdAt: toNumber(row.created_at),
  }
}

// Written in pairs by createClient; a half pair is a hand-edited row, which
// would otherwise silently send plaintext or fail at issuance.
function toEncryption(alg: string | null, enc: string | null): { alg: string; enc: string } | null {
  if (alg === null && enc === null) return null
  if (alg === null || enc === null)
    throw new TypeError('stored encryption has an alg or an enc alone')
  return { alg, enc }
}

function toCodeRecord(row: Selectable<OAuthCodesTable>): OAuthCodeRecord {
  return {
    hash: row.hash,
    clientId: row.client_id,
    userId: row.user_id,
    data: row.data,
    createdAt: toNumber(row.created_at),
    expiresAt: toNumber(row.expires_at),
    usedAt: toNullableNumber(row.used_at),
    sessionId: row.session_id,
  }
}

function toConsentRecord(row: Selectable<OAuthConsentsTable>): ConsentRecord {
  return {
    userId: row.user_id,
    clientId: row.client_id,
    scopes: parseStringArray(row.scopes),
    createdAt: toNumber(row.created_at),
    updatedAt: toNumber(row.updated_at),
  }
}
