// A real Tessera listening on 127.0.0.1 for the interoperability suite: the
// peers fetch its JWKS over HTTP exactly as a resource server would, so the
// issuer URL in the tokens must be the address the server really listens on.

import { createHmac, createPublicKey, type JsonWebKey as NodeJwk, randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { decode, sign } from '@tessera/jwt'
import pino from 'pino'
import { createTessera, type Tessera } from '../../src/tessera.ts'
import { testConfig } from './harness.ts'

/** The algorithms the suite covers: every family TESSERA_SIGNING_ALG offers, at its common size. */
export const INTEROP_ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'PS256', 'HS256'] as const
export type InteropAlgorithm = (typeof INTEROP_ALGORITHMS)[number]

const FAST_ARGON2 = { memoryCost: 1024, timeCost: 1, parallelism: 1 }

/** What a resource server is told about the issuer: the settings docs/interop.md lists. */
export interface IssuerSettings {
  readonly alg: InteropAlgorithm
  /** TESSERA_ISSUER: the `iss` to require. */
  readonly issuer: string
  /** TESSERA_AUDIENCE (defaults to the issuer): the `aud` to require. */
  readonly audience: string
  /** `jwks_uri` from the discovery document. */
  readonly jwksUri: string
  /** HS256 only: the shared secret, handed to the peers instead of the JWKS. */
  readonly hsSecret: Buffer | undefined
}

export interface RunningIssuer extends IssuerSettings {
  readonly tessera: Tessera
  /** Signs up a fresh user over HTTP; returns its access token and id. */
  signup(): Promise<{ accessToken: string; userId: string }>
  close(): Promise<void>
}

/** A port free a moment ago (the kernel picks it); the caller retries if it was taken since. */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

/**
 * Starts Tessera signing with `alg` on 127.0.0.1. The issuer has to name the
 * port before the app is built, so a free port is chosen first and the start
 * is retried if another process took it in between.
 */
export async function startIssuer(alg: InteropAlgorithm): Promise<RunningIssuer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const issuer = `http://127.0.0.1:${port}`
    const hsSecret = alg === 'HS256' ? randomBytes(32) : undefined
    const config = testConfig({
      TESSERA_DATABASE_URL: 'sqlite::memory:',
      TESSERA_MASTER_KEY: randomBytes(32).toString('base64url'),
      TESSERA_LOG_LEVEL: 'silent',
      TESSERA_ISSUER: issuer,
      TESSERA_SIGNING_ALG: alg,
      ...(hsSecret === undefined
        ? {}
        : { TESSERA_HS_SECRETS: `k1:${hsSecret.toString('base64url')}` }),
    })
    // The real clock: the peers check exp and iat against their own Date.now.
    const tessera = await createTessera(config, {
      logger: pino({ level: 'silent' }),
      maintenanceInterval: 0,
      argon2: FAST_ARGON2,
    })
    try {
      await tessera.app.listen({ host: '127.0.0.1', port })
    } catch (error) {
      await tessera.close()
      if ((error as { code?: unknown }).code === 'EADDRINUSE' && attempt < 5) continue
      throw error
    }
    // The peers are told what a user would read from the discovery document.
    let jwksUri: unknown
    try {
      const response = await fetch(`${issuer}/.well-known/openid-configuration`)
      jwksUri = ((await response.json()) as { jwks_uri?: unknown }).jwks_uri
    } finally {
      if (typeof jwksUri !== 'string') await tessera.close()
    }
    if (typeof jwksUri !== 'string') throw new Error('the discovery document has no jwks_uri')
    let users = 0
    return {
      alg,
      issuer: config.issuer,
      audience: config.audience,
      jwksUri,
      hsSecret,
      tessera,
      async signup() {
        users += 1
        const response = await fetch(`${issuer}/auth/signup`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            email: `interop-${users}@example.com`,
            password: 'correct horse battery staple',
          }),
        })
        const body = (await response.json()) as {
          accessToken?: unknown
          user?: { id?: unknown }
        }
        if (response.status !== 201 || typeof body.accessToken !== 'string') {
          throw new Error(`signup answered ${response.status}`)
        }
        if (typeof body.user?.id !== 'string') throw new Error('signup returned no user id')
        return { accessToken: body.accessToken, userId: body.user.id }
      },
      close: () => tessera.close(),
    }
  }
}

/** A token a conforming resource server must refuse, and why. */
export interface BadToken {
  /** What is wrong with it, as the matrix legend shows it. */
  readonly name: string
  readonly token: string
}

/**
 * Tokens derived from a genuine access token that every peer must reject.
 * The re-signed ones carry a valid signature by the issuer's own current key,
 * so only the setting under test (typ, aud, iss, exp) can catch them.
 */
export function badTokens(issuer: RunningIssuer, accessToken: string): BadToken[] {
  const { header, payload } = decode(accessToken)
  const [encodedHeader, , signature] = accessToken.split('.')
  const key = issuer.tessera.keyRing.signingKey()
  const claims: Record<string, unknown> = { ...payload }
  const nowSeconds = Math.floor(Date.now() / 1000)
  const resign = (changes: Record<string, unknown>, typ = String(header.typ)): string =>
    sign({ ...claims, ...changes }, key, { typ, timestamp: false })
  const encode = (value: unknown): string =>
    Buffer.from(JSON.stringify(value)).toString('base64url')
  const tokens: BadToken[] = [
    // The signature no longer matches: the payload names someone else.
    {
      name: 'payload altered, signature kept',
      token: `${encodedHeader}.${encode({ ...claims, sub: 'someone-else' })}.${signature}`,
    },
    // RFC 8725 §3.1: the algorithm comes from the configuration, never the token.
    {
      name: 'alg "none", no signature',
      token: `${encode({ alg: 'none', typ: header.typ })}.${encode(claims)}.`,
    },
    // RFC 9068 §4 / RFC 8725 §3.11: explicit typing keeps another kind of JWT
    // signed by the same key (an ID token, say) from passing as an access token.
    { name: 'typ "JWT" instead of "at+jwt"', token: resign({}, 'JWT') },
    // RFC 9068 §4: the audience must name this resource server.
    { name: 'another audience', token: resign({ aud: 'https://other-api.example.com' }) },
    { name: 'another issuer', token: resign({ iss: 'https://impostor.example.com' }) },
    {
      name: 'expired an hour ago',
      token: resign({ iat: nowSeconds - 4500, exp: nowSeconds - 3600 }),
    },
  ]
  const published = issuer.tessera.keyRing.jwks().keys.find((jwk) => jwk.kid === header.kid)
  if (published !== undefined) {
    // Algorithm confusion (CVE-2015-9235): HS256 keyed with the public key's
    // PEM, the very string a peer that converts the JWK to PEM holds. Only a
    // peer that lets the token's alg choose HMAC would accept it.
    const pem = createPublicKey({ key: published as NodeJwk, format: 'jwk' })
      .export({ format: 'pem', type: 'spki' })
      .toString()
    const input = `${encode({ alg: 'HS256', typ: header.typ, kid: header.kid })}.${encode(claims)}`
    tokens.push({
      name: 'HS256 keyed with the public key PEM (not for HS256 itself)',
      token: `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`,
    })
  }
  return tokens
}
