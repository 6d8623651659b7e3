import { TokenCache } from './cache.ts'
import { type CompiledOptions, checkHeader, compileOptions, type VerifyOptions } from './claims.ts'
import { JwtError } from './errors.ts'
import { Key, KeySet } from './keys.ts'
import { deepFreeze, type ParsedToken, parseToken } from './parse.ts'
import type { JwtHeader, JwtPayload, KeyResolver, VerifiedJwt } from './types.ts'
import { finishVerify, selectKey } from './verify.ts'

export interface VerifierOptions extends VerifyOptions {
  /** The key, the key set, or a resolver such as {@link createRemoteKeySet}. */
  key: Key | KeySet | KeyResolver
  /**
   * Verified-token cache: `true` (1000 tokens, the default), a size, or
   * `false`. An entry never outlives the token's `exp`.
   */
  cache?: boolean | number
  /**
   * Called for every token, cached or not, after it verified; `true` refuses
   * it with `revoked` and evicts it from the cache. Keep it in memory: it runs
   * on every request.
   */
  isRevoked?: (payload: JwtPayload, header: JwtHeader) => boolean
  /** The current time in epoch ms, read on every call (a test clock). Overrides `currentDate`. */
  clock?: () => number
}

interface CacheEntry {
  readonly result: VerifiedJwt
  /** Epoch ms at which `exp` (or `maxTokenAge`) ends the token. */
  readonly validUntil: number
  readonly key: Key
  /** The resolver's key set when the key was last seen in it. */
  keySet: KeySet | undefined
}

/** A function bound to keys and options; it returns what {@link verify} returns. */
export type Verifier<P extends object = JwtPayload> = ((token: string) => VerifiedJwt<P>) & {
  /** The verified-token cache, to clear or to evict from; undefined when disabled. */
  readonly cache: TokenCache<unknown> | undefined
}
export type AsyncVerifier<P extends object = JwtPayload> = ((
  token: string,
) => Promise<VerifiedJwt<P>>) & {
  readonly cache: TokenCache<unknown> | undefined
}

const DEFAULT_CACHE_SIZE = 1000

/**
 * Points a cached token's `iss` and `aud` at the options' own strings when
 * they are equal (they were just checked against them): every cached token
 * then shares one copy instead of holding its own (~70 bytes each).
 */
function shareExpectedStrings(payload: JwtPayload, opts: CompiledOptions): void {
  if (typeof opts.issuer === 'string' && payload.iss === opts.issuer) payload.iss = opts.issuer
  const { aud } = payload
  if (typeof aud === 'string' && opts.audience !== undefined) {
    const index = opts.audience.indexOf(aud)
    if (index !== -1) payload.aud = opts.audience[index]!
  }
}

/**
 * Binds keys and options once and returns a hot verification function with a
 * verified-token cache. Misuse throws a `TypeError` here, not per request.
 * With a remote key set the function returns a promise.
 *
 * Cached results are frozen and shared: do not mutate them.
 *
 * @example
 * const verifyAccess = createVerifier({ key: jwks, issuer, audience: 'api', typ: 'at+jwt' })
 * const { payload } = verifyAccess(token)
 */
export function createVerifier<P extends object = JwtPayload>(
  options: VerifierOptions & { key: Key | KeySet },
): Verifier<P>
export function createVerifier<P extends object = JwtPayload>(
  options: VerifierOptions & { key: KeyResolver },
): AsyncVerifier<P>
export function createVerifier(options: VerifierOptions): Verifier | AsyncVerifier {
  if (options === null || typeof options !== 'object')
    throw new TypeError('options must be an object')
  const { key: keys, cache: cacheOption = true, isRevoked, clock } = options
  const compiled = compileOptions({ ...options })
  const local = keys instanceof Key || keys instanceof KeySet
  if (
    !local &&
    (typeof keys !== 'object' || keys === null || typeof keys.resolveKey !== 'function')
  ) {
    throw new TypeError('key must be a Key, a KeySet or a key resolver')
  }
  if (isRevoked !== undefined && typeof isRevoked !== 'function') {
    throw new TypeError('isRevoked must be a function')
  }
  const size = cacheOption === true ? DEFAULT_CACHE_SIZE : cacheOption === false ? 0 : cacheOption
  // Keyed by the token's SHA-256: an entry keeps 32 bytes of its token, not
  // all of it, and still answers for that token alone.
  const cache = size > 0 ? new TokenCache<CacheEntry>(size, { digest: true }) : undefined
  if (clock !== undefined && typeof clock !== 'function')
    throw new TypeError('clock must be a function')
  const fixed = compiled.currentDate?.getTime()
  const now: () => number = clock ?? (fixed === undefined ? Date.now : () => fixed)

  /** A cached result, if the entry is still good; evicts it when not. */
  function fromCache(token: string): VerifiedJwt | undefined {
    // Anything but a string, or too long a string (not worth hashing), is
    // parseToken's to refuse as malformed.
    if (typeof token !== 'string' || token.length > compiled.maxTokenLength) return undefined
    const entry = cache!.get(token)
    if (entry === undefined) return undefined
    // A key dropped from the set (rotated out, compromised) takes its tokens with it.
    if (entry.validUntil <= now() || !keyStillHeld(entry)) {
      cache!.delete(token)
      return undefined
    }
    return entry.result
  }

  function keyStillHeld(entry: CacheEntry): boolean {
    if (keys instanceof Key) return true
    if (keys instanceof KeySet) return keys.get(entry.key.kid) === entry.key
    const current = keys.keySet?.()
    if (current === undefined || current === entry.keySet) return true
    // A refetched JWKS holds new Key objects: compare the key material once per new set.
    const key = current.get(entry.key.kid)
    if (key === undefined || !key.keyObject.equals(entry.key.keyObject)) return false
    entry.keySet = current
    return true
  }

  function admit(token: string, parsed: ParsedToken, key: Key, opts: CompiledOptions): VerifiedJwt {
    const { header, payload, validUntil } = finishVerify(
      parsed,
      key,
      opts,
      Math.floor(now() / 1000),
    )
    const result = { header, payload }
    if (cache !== undefined) {
      shareExpectedStrings(payload, opts)
      deepFreeze(result)
      const keySet = local ? undefined : (keys as KeyResolver).keySet?.()
      cache.set(token, { result, validUntil, key, keySet })
    }
    return result
  }

  function checkRevoked(token: string, result: VerifiedJwt): VerifiedJwt {
    if (isRevoked?.(result.payload, result.header)) {
      cache?.delete(token)
      throw new JwtError('revoked', 'the token has been revoked')
    }
    return result
  }

  let verifier: ((token: string) => VerifiedJwt) | ((token: string) => Promise<VerifiedJwt>)
  if (local) {
    verifier = (token: string): VerifiedJwt => {
      if (cache !== undefined) {
        const hit = fromCache(token)
        if (hit !== undefined) return checkRevoked(token, hit)
      }
      const parsed = parseToken(token, compiled.maxTokenLength)
      checkHeader(parsed.header, compiled)
      return checkRevoked(token, admit(token, parsed, selectKey(parsed, keys), compiled))
    }
  } else {
    const resolver = keys as KeyResolver
    verifier = (token: string): Promise<VerifiedJwt> => {
      try {
        if (cache !== undefined) {
          const hit = fromCache(token)
          if (hit !== undefined) return Promise.resolve(checkRevoked(token, hit))
        }
        const parsed = parseToken(token, compiled.maxTokenLength)
        checkHeader(parsed.header, compiled)
        const alg = parsed.header.spec.alg
        const finish = (key: Key): VerifiedJwt => {
          if (key.alg !== alg)
            throw new JwtError('alg_not_allowed', 'the token "alg" is not the key\'s')
          return checkRevoked(token, admit(token, parsed, key, compiled))
        }
        const key = resolver.resolveKey(alg, parsed.header.kid)
        return key instanceof Key ? Promise.resolve(finish(key)) : key.then(finish)
      } catch (error) {
        return Promise.reject(error)
      }
    }
  }
  return Object.defineProperty(verifier, 'cache', { value: cache, enumerable: true }) as
    | Verifier
    | AsyncVerifier
}
