// Interoperability: access tokens issued by a running Tessera, one per
// signing algorithm, verified by the resource-server libraries people use
// (jose, express-jwt + jwks-rsa, @fastify/jwt + get-jwks, fast-jwt), each
// fetching the JWKS over HTTP. A peer passes a cell only by accepting the
// genuine token and refusing every forged one; a refusal of the genuine token
// counts as "not supported" only when the library's error names the known
// limitation. The observed matrix must equal the one in docs/interop.md
// (TESSERA_WRITE_INTEROP=1 rewrites it), so the doc cannot claim more than
// the libraries do.

import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { after, before, describe, it } from 'node:test'
import {
  badTokens,
  INTEROP_ALGORITHMS,
  type InteropAlgorithm,
  type RunningIssuer,
  startIssuer,
} from './support/interop-issuer.ts'
import {
  type Cell,
  matrixSection,
  renderMatrix,
  replaceMatrixSection,
} from './support/interop-matrix.ts'
import { describeVerdict, PEERS } from './support/interop-peers.ts'

const DOC = new URL('../../../docs/interop.md', import.meta.url)

const observed = new Map<string, Map<InteropAlgorithm, Cell>>(
  PEERS.map((peer) => [peer.name, new Map()]),
)
const refused = new Set<string>()

for (const alg of INTEROP_ALGORITHMS) {
  describe(`${alg} access tokens`, () => {
    let issuer: RunningIssuer | undefined
    let genuine: { accessToken: string; userId: string }

    before(async () => {
      issuer = await startIssuer(alg)
      genuine = await issuer.signup()
    })
    after(async () => {
      await issuer?.close()
    })

    it('the JWKS the peers fetch holds public keys only (none for HS256)', async () => {
      const jwks = (await (await fetch(issuer!.jwksUri)).json()) as {
        keys: Record<string, unknown>[]
      }
      if (alg === 'HS256') {
        assert.deepEqual(jwks.keys, [], 'a shared secret is never published')
        return
      }
      assert.ok(jwks.keys.length > 0)
      for (const key of jwks.keys) {
        assert.equal(key.alg, alg)
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
          assert.equal(key[member], undefined, `private member ${member}`)
        }
      }
    })

    for (const peer of PEERS) {
      it(peer.name, async () => {
        const instance = await peer.start(issuer!)
        try {
          const verdict = await instance.verify(genuine.accessToken)
          if (!verdict.accepted) {
            const reason = peer.unsupported(verdict)
            assert.ok(
              reason !== undefined,
              `refused a genuine ${alg} token for an unexpected reason: ${describeVerdict(verdict)}`,
            )
            const answer =
              verdict.status === undefined ? '' : `; the request gets ${verdict.status}`
            observed
              .get(peer.name)!
              .set(alg, { kind: 'unsupported', reason: `${peer.name}, ${alg}: ${reason}${answer}` })
            return
          }
          assert.equal(verdict.sub, genuine.userId, 'the peer reads the subject back')
          for (const bad of badTokens(issuer!, genuine.accessToken)) {
            const answer = await instance.verify(bad.token)
            assert.equal(answer.accepted, false, `${bad.name}: ${describeVerdict(answer)}`)
            if (peer.http) {
              assert.equal(
                answer.accepted ? 200 : answer.status,
                401,
                `${bad.name}: ${describeVerdict(answer)}`,
              )
            }
            refused.add(bad.name)
          }
          observed.get(peer.name)!.set(alg, { kind: 'pass' })
        } finally {
          await instance.close()
        }
      })
    }
  })
}

it('docs/interop.md shows the matrix observed in this run', () => {
  const section = renderMatrix({
    algorithms: INTEROP_ALGORITHMS,
    rows: PEERS.map((peer) => ({ peer: peer.name, cells: observed.get(peer.name)! })),
    refused: [...refused],
  })
  const doc = readFileSync(DOC, 'utf8')
  if (process.env.TESSERA_WRITE_INTEROP === '1') {
    assert.doesNotMatch(
      section,
      /\bmissing\b/,
      'a cell failed above: fix it before writing the doc',
    )
    writeFileSync(DOC, replaceMatrixSection(doc, section))
    return
  }
  assert.equal(
    matrixSection(doc),
    section,
    'docs/interop.md differs from what the peers did; regenerate with TESSERA_WRITE_INTEROP=1 and review the diff',
  )
})
