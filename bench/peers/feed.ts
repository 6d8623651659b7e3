// The revocation feed of the @tessera/jwt peers: in a file of its own so that
// the bare peers, which import common.ts, do not load @tessera/jwt.

import { createRevocationFeed, type RevocationFeed } from '@tessera/jwt'
import { required } from './common.ts'

/** How long a peer waits for the revocation feed's first catch-up before it gives up. */
const FEED_READY_MS = 15_000

/**
 * The revocation feed of the `tessera serve` the bench runs beside the
 * peers (PEER_REVOCATION_URL, its `/auth/revocations`, opened with the key
 * in PEER_REVOCATION_KEY), connected and caught up, as the examples'
 * shared/config.ts opens it; undefined when the bench sets no URL. The
 * peer exits with an error when the feed is not ready within 15 s (a wrong
 * key, a server that is not there): a peer must not be measured without it.
 */
export async function revocationFeed(): Promise<RevocationFeed | undefined> {
  const url = process.env.PEER_REVOCATION_URL
  if (url === undefined || url === '') return undefined
  const feed = createRevocationFeed({
    url,
    key: required('PEER_REVOCATION_KEY'),
    onError: (error) => process.stderr.write(`revocation feed: ${error.message}\n`),
  })
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the revocation feed was not ready within ${FEED_READY_MS} ms`)),
      FEED_READY_MS,
    )
  })
  try {
    await Promise.race([feed.start(), timeout])
  } finally {
    clearTimeout(timer)
  }
  if (!feed.ready) throw new Error('the revocation feed closed before it was ready')
  return feed
}

/**
 * The `authenticate()` options that connect a middleware to the feed, as
 * the examples do (`whenStale: 'refuse'`, their default: a feed that falls
 * behind turns requests into 503s, which the bench counts as errors, rather
 * than serving revoked tokens); none without a feed.
 */
export function feedOptions(
  feed: RevocationFeed | undefined,
): { revocations: RevocationFeed; whenStale: 'refuse' } | Record<string, never> {
  return feed === undefined ? {} : { revocations: feed, whenStale: 'refuse' }
}
