// The resource-server libraries Tessera's tokens are checked against, each
// configured the way docs/interop.md tells a user to: issuer, audience and
// typ required, the algorithm pinned, keys from the JWKS (or, for HS256, the
// shared secret). The HTTP peers are real servers on 127.0.0.1:0 that
// answer 200 with the token's `sub`, or the status their error path chooses.

import { createPublicKey, type JsonWebKey as NodeJwk } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt'
import express, { type NextFunction, type Request, type Response } from 'express'
import { expressjwt, type GetVerificationKey, type Params, UnauthorizedError } from 'express-jwt'
import { createVerifier } from 'fast-jwt'
import Fastify, { type FastifyRequest } from 'fastify'
import buildGetJwks from 'get-jwks'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import jwksRsa from 'jwks-rsa'
import type { InteropAlgorithm, IssuerSettings } from './interop-issuer.ts'

/** How a peer answered one token. */
export type Verdict =
  | { readonly accepted: true; readonly sub: unknown }
  | {
      readonly accepted: false
      /** HTTP peers: the response status. */
      readonly status: number | undefined
      /** The library's error, as the peer saw it. */
      readonly error: unknown
    }

export interface PeerInstance {
  verify(token: string): Promise<Verdict>
  close(): Promise<void>
}

export interface Peer {
  /** The matrix row: the libraries and how the key is found. */
  readonly name: string
  /** An HTTP peer must answer a refused token with 401. */
  readonly http: boolean
  start(settings: IssuerSettings): Promise<PeerInstance>
  /**
   * When a genuine token is refused: the peer's known limitation, quoted from
   * the library's own error, or undefined when the refusal is anything else
   * (then the test fails: a misconfiguration must not pass for "unsupported").
   */
  unsupported(verdict: Verdict): string | undefined
}

const TYP = 'at+jwt'

/** Every message along an error's chain (express-jwt wraps in `inner`, others in `cause`). */
export function errorMessages(error: unknown): string[] {
  const messages: string[] = []
  let current: unknown = error
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const { message, inner, cause } = current as {
      message?: unknown
      inner?: unknown
      cause?: unknown
    }
    if (typeof message === 'string') messages.push(message)
    current = inner ?? cause
  }
  return messages
}

/** The first message of the chain matching `pattern`, quoted, after `who`; else undefined. */
function quoteIfMatches(verdict: Verdict, pattern: RegExp, who: string): string | undefined {
  if (verdict.accepted) return undefined
  const message = errorMessages(verdict.error).find((text) => pattern.test(text))
  return message === undefined ? undefined : `${who}: "${message}"`
}

async function listening(server: { address(): AddressInfo | string | null }): Promise<string> {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return `http://127.0.0.1:${address.port}/me`
}

/** GET with the bearer token; 200 carries `{sub}`. */
async function callPeer(url: string, token: string, lastError: () => unknown): Promise<Verdict> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
  const body = (await response.json()) as { sub?: unknown }
  if (response.status === 200) return { accepted: true, sub: body.sub }
  return { accepted: false, status: response.status, error: lastError() }
}

/** A public key from the issuer's JWKS by kid, as PEM: a minimal JWKS client for fast-jwt. */
function createJwksPemLookup(jwksUri: string): (kid: unknown) => Promise<string> {
  const pems = new Map<string, string>()
  return async (kid) => {
    if (typeof kid !== 'string') throw new Error('the token has no kid')
    let pem = pems.get(kid)
    if (pem === undefined) {
      // An unknown kid means a rotation: fetch the document again.
      const jwks = (await (await fetch(jwksUri)).json()) as { keys: (NodeJwk & { kid?: string })[] }
      for (const jwk of jwks.keys) {
        if (typeof jwk.kid !== 'string') continue
        const key = createPublicKey({ key: jwk, format: 'jwk' })
        pems.set(jwk.kid, key.export({ format: 'pem', type: 'spki' }).toString())
      }
      pem = pems.get(kid)
      if (pem === undefined) throw new Error('no key with that kid in the JWKS')
    }
    return pem
  }
}

const josePeer: Peer = {
  name: 'jose 6: `jwtVerify` + `createRemoteJWKSet`',
  http: false,
  async start(settings) {
    const options = {
      issuer: settings.issuer,
      audience: settings.audience,
      typ: TYP,
      algorithms: [settings.alg],
    }
    const jwks = createRemoteJWKSet(new URL(settings.jwksUri))
    const secret = settings.hsSecret
    return {
      async verify(token) {
        try {
          const { payload } =
            secret === undefined
              ? await jwtVerify(token, jwks, options)
              : await jwtVerify(token, new Uint8Array(secret), options)
          return { accepted: true, sub: payload.sub }
        } catch (error) {
          return { accepted: false, status: undefined, error }
        }
      },
      async close() {},
    }
  },
  // jose implements every algorithm Tessera signs with: no known limitation.
  unsupported: () => undefined,
}

const fastJwtPeer: Peer = {
  name: 'fast-jwt 6: `createVerifier` + JWKS → `createPublicKey` PEM',
  http: false,
  async start(settings) {
    const lookup = createJwksPemLookup(settings.jwksUri)
    const secret = settings.hsSecret
    const verifyToken = createVerifier({
      key: async (decoded: { header: { kid?: unknown } }) =>
        secret === undefined ? lookup(decoded.header.kid) : secret,
      algorithms: [settings.alg],
      allowedIss: settings.issuer,
      allowedAud: settings.audience,
      checkTyp: TYP,
    })
    return {
      async verify(token) {
        try {
          const payload = (await verifyToken(token)) as { sub?: unknown }
          return { accepted: true, sub: payload.sub }
        } catch (error) {
          return { accepted: false, status: undefined, error }
        }
      },
      async close() {},
    }
  },
  unsupported: () => undefined,
}

const expressJwtPeer: Peer = {
  name: 'express-jwt 8 (jsonwebtoken 9) + jwks-rsa 3 `expressJwtSecret`',
  http: true,
  async start(settings) {
    const secret = settings.hsSecret
    const keyFor: GetVerificationKey =
      secret === undefined
        ? (jwksRsa.expressJwtSecret({
            jwksUri: settings.jwksUri,
            cache: true,
          }) as GetVerificationKey)
        : () => secret
    let lastError: unknown
    const app = express()
    app.get(
      '/me',
      expressjwt({
        // jsonwebtoken has no typ option: check it before handing out a key.
        secret: (req, token) => {
          if (token?.header.typ !== TYP) {
            throw new UnauthorizedError('invalid_token', { message: `typ must be ${TYP}` })
          }
          return keyFor(req, token)
        },
        // @types/jsonwebtoken's Algorithm has no EdDSA; the runtime decides.
        algorithms: [settings.alg] as Params['algorithms'],
        issuer: settings.issuer,
        audience: settings.audience,
      }),
      (req: Request & { auth?: { sub?: unknown } }, res: Response) => {
        res.json({ sub: req.auth?.sub })
      },
    )
    app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
      lastError = error
      const status = (error as { status?: unknown }).status
      res.status(typeof status === 'number' ? status : 500).json({ error: 'refused' })
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve)
      server.once('error', reject)
    })
    const url = await listening(server)
    return {
      verify: (token) => callPeer(url, token, () => lastError),
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    }
  },
  unsupported: (verdict) =>
    quoteIfMatches(verdict, /Unknown key type/, 'jsonwebtoken 9 refuses the key'),
}

/** fast-jwt and @fastify/jwt error codes, and get-jwks's "no key for this token". */
function isTokenProblem(error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  return (
    typeof code === 'string' &&
    (/^(FAST_JWT|FST_JWT)_/.test(code) || code === 'JWK_NOT_FOUND' || code === 'DOMAIN_NOT_ALLOWED')
  )
}

/** @fastify/jwt with the key from get-jwks; `convert` chooses how the JWK becomes a key. */
function fastifyJwtPeer(name: string, convert: 'getPublicKey' | 'getJwk'): Peer {
  return {
    name,
    http: true,
    async start(settings) {
      const getJwks = buildGetJwks({ issuersWhitelist: [settings.issuer] })
      const secret = settings.hsSecret
      let lastError: unknown
      const app = Fastify({ logger: false })
      await app.register(fastifyJwt, {
        secret:
          secret ??
          (async (_request: FastifyRequest, token: TokenOrHeader): Promise<string> => {
            const header = 'header' in token ? token.header : token
            // The JWKS location comes from the configuration, not from the
            // token's iss: an attacker cannot point the peer at their keys.
            const lookup = { domain: settings.issuer, alg: header.alg, kid: String(header.kid) }
            if (convert === 'getPublicKey') return getJwks.getPublicKey(lookup)
            const jwk = (await getJwks.getJwk(lookup)) as NodeJwk
            return createPublicKey({ key: jwk, format: 'jwk' })
              .export({ format: 'pem', type: 'spki' })
              .toString()
          }),
        // The secret callback needs the header (kid, alg).
        decode: { complete: true },
        verify: {
          algorithms: [settings.alg],
          allowedIss: settings.issuer,
          allowedAud: settings.audience,
          checkTyp: TYP,
        },
      })
      app.setErrorHandler((error, _request, reply) => {
        lastError = error
        const status = (error as { statusCode?: unknown }).statusCode
        reply.code(typeof status === 'number' ? status : 500).send({ error: 'refused' })
      })
      app.get(
        '/me',
        {
          onRequest: async (request, reply) => {
            try {
              await request.jwtVerify()
            } catch (error) {
              // @fastify/jwt gives 401 to some token errors only (expired, bad
              // signature or claim); fast-jwt's others (typ, algorithm) and
              // get-jwks's unknown kid arrive raw and would answer 500. A token
              // the server cannot verify is a 401 (RFC 6750 §3.1 invalid_token);
              // only a JWKS it cannot fetch is its own failure.
              if (!isTokenProblem(error)) throw error
              lastError = error
              return reply.code(401).send({ error: 'invalid_token' })
            }
          },
        },
        async (request) => ({ sub: (request.user as { sub?: unknown }).sub }),
      )
      await app.listen({ host: '127.0.0.1', port: 0 })
      const url = await listening(app.server)
      return {
        verify: (token) => callPeer(url, token, () => lastError),
        close: () => app.close(),
      }
    },
    unsupported: (verdict) =>
      convert === 'getPublicKey'
        ? quoteIfMatches(
            verdict,
            /Unsupported key type/,
            'get-jwks `getPublicKey` converts with jwk-to-pem',
          )
        : undefined,
  }
}

/** The peers, in the order of the matrix rows. */
export const PEERS: readonly Peer[] = [
  josePeer,
  expressJwtPeer,
  fastifyJwtPeer('@fastify/jwt 10 + get-jwks 11 `getPublicKey`', 'getPublicKey'),
  fastifyJwtPeer('@fastify/jwt 10 + get-jwks 11 `getJwk` → `createPublicKey` PEM', 'getJwk'),
  fastJwtPeer,
]

/** For a verdict in an assertion message: never the token, only what the library said. */
export function describeVerdict(verdict: Verdict): string {
  if (verdict.accepted) return `accepted (sub ${JSON.stringify(verdict.sub)})`
  const status = verdict.status === undefined ? '' : ` with ${verdict.status}`
  return `refused${status}: ${errorMessages(verdict.error).join(' ← ') || String(verdict.error)}`
}

export type { InteropAlgorithm }
