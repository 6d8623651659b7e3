/**
 * npm run bench:oauth: scenario 6 of `npm run bench` alone, Tessera's OAuth
 * endpoints against oidc-provider (bench/scenarios/oauth.ts). The same
 * options as `npm run bench` (--quick, --rounds, --duration, --warmup,
 * --write, --strict), and the same outputs: its part of results/bench.json,
 * of the `bench` section of RESULTS.md and of charts/.
 */

import { runBench } from './index.ts'
import { oauthScenario } from './scenarios/oauth.ts'

const argv = process.argv.slice(2)
if (argv.some((arg) => /^--(scenario|only)(=|$)/.test(arg))) {
  process.stderr.write(
    `bench:oauth runs scenario ${oauthScenario.number} only; for others: npm run bench -- --scenario <list>\n`,
  )
  process.exitCode = 2
} else {
  process.exitCode = await runBench(['--scenario', String(oauthScenario.number), ...argv])
}
