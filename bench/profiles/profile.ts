/**
 * Profiles GET /auth/me on a built `tessera serve` and renders the flame
 * graph: the server runs under `node --cpu-prof` (ES256, SQLite,
 * NODE_ENV=production, logs at info, as the bench runs it), gets an account
 * and a DPoP-bound session, is loaded untimed, then for `--seconds` with one
 * token sent over and over (bearer) or a DPoP-bound token and a fresh proof
 * per request (dpop); only the samples of that window are drawn
 * (bench/lib/flamegraph.ts). Also prints the server's CPU per request over
 * the window (user + system from /proc).
 *
 * node bench/profiles/profile.ts --mode bearer --out bench/profiles/me-es256-after.svg
 *   [--main packages/server/dist/cli/main.js]  the build to profile (run `npm run build` first)
 *   [--seconds 8] [--warmup 3] [--users 32] [--title T] [--keep dir]  (--keep: where the .cpuprofile goes)
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { type CpuProfile, flameGraph, mergeProfile, summarize } from '../lib/flamegraph.ts'
import { processCpuSeconds } from '../lib/load-cluster.ts'
import { closeTargets, loopbackTarget, runPhase, send, type Target } from '../lib/load-http.ts'
import { ROOT } from '../lib/processes.ts'
import { BENCH_ISSUER, LOAD_PASSWORD, tesseraEnv, waitReady } from '../lib/tessera.ts'

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'bearer' },
    out: { type: 'string' },
    main: { type: 'string', default: 'packages/server/dist/cli/main.js' },
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '3' },
    users: { type: 'string', default: '32' },
    title: { type: 'string' },
    keep: { type: 'string' },
  },
})
const mode = values.mode
if ((mode !== 'bearer' && mode !== 'dpop') || values.out === undefined) {
  process.stderr.write(
    'usage: node bench/profiles/profile.ts --mode bearer|dpop --out <file.svg> [--main <cli/main.js>] [--seconds 8] [--warmup 3] [--users 32] [--title T] [--keep dir]\n',
  )
  process.exit(2)
}
const seconds = Number(values.seconds)
const warmupSeconds = Number(values.warmup)
const users = Number(values.users)

/** The client's DPoP key (ES256) and proofs made with node:crypto, as a client would. */
const client = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const jwk = client.publicKey.export({ format: 'jwk' })
const proofHeader = Buffer.from(
  JSON.stringify({
    typ: 'dpop+jwt',
    alg: 'ES256',
    jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y },
  }),
).toString('base64url')

function makeProof(htm: string, htu: string, token?: string): string {
  const claims: Record<string, unknown> = {
    iat: Math.floor(Date.now() / 1000),
    jti: randomBytes(16).toString('base64url'),
    htm,
    htu,
  }
  if (token !== undefined) claims.ath = createHash('sha256').update(token).digest('base64url')
  const input = `${proofHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
  const signature = sign('sha256', Buffer.from(input), {
    key: client.privateKey,
    dsaEncoding: 'ieee-p1363',
  })
  return `${input}.${signature.toString('base64url')}`
}

/** µs on CLOCK_MONOTONIC, the clock of a V8 profile's timestamps. */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n)
}

async function startServer(
  profileDir: string,
  dataDir: string,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, resolve(ROOT, values.main!), 'serve'],
    {
      cwd: dataDir,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TESSERA_HOST: '127.0.0.1',
        TESSERA_PORT: '0',
        TESSERA_DATA_DIR: dataDir,
        ...tesseraEnv({ TESSERA_SIGNING_ALG: 'ES256' }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  const tail: string[] = []
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line.slice(0, 300))
    if (tail.length > 10) tail.shift()
  })
  const url = await new Promise<string>((resolveUrl, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(line)
      if (match) resolveUrl(match[1]!)
    })
    child.once('exit', (code) =>
      reject(new Error(`tessera serve exited with ${code}: ${tail.join(' | ')}`)),
    )
  })
  return { child, url }
}

/** Loads GET /auth/me for `ms`; `headers` gives each request's headers. */
async function load(
  target: Target,
  ms: number,
  headers: () => Record<string, string> | undefined,
): Promise<{ ok: number; failed: number; elapsedMs: number }> {
  let failed = 0
  const recorder = await runPhase({
    targets: [target],
    users: Array.from({ length: users }, (_, index) => ({ index, state: undefined, done: false })),
    durationMs: ms,
    maxRequests: Number.POSITIVE_INFINITY,
    step: async (user, to) => {
      const next = headers()
      if (next === undefined) {
        user.done = true
        return { ok: true }
      }
      const reply = await send(to, 'GET', '/auth/me', { headers: next, readBody: false })
      if (reply.status !== 200) {
        failed++
        return { ok: false, label: `${reply.status} ${reply.text.slice(0, 120)}` }
      }
      return { ok: true }
    },
  })
  if (recorder.failed > 0) {
    throw new Error(`failed answers: ${JSON.stringify([...recorder.failures.entries()])}`)
  }
  return { ok: recorder.ok, failed, elapsedMs: recorder.elapsedMs }
}

/** The headers of each request: one bearer token, or a bound token with a fresh proof (made beforehand). */
function requestHeaders(token: string, proofs: number): () => Record<string, string> | undefined {
  if (mode === 'bearer') {
    const headers = { authorization: `Bearer ${token}` }
    return () => headers
  }
  const htu = `${BENCH_ISSUER}/auth/me`
  const pool = Array.from({ length: proofs }, () => makeProof('GET', htu, token))
  let next = 0
  return () =>
    next < pool.length ? { authorization: `DPoP ${token}`, dpop: pool[next++]! } : undefined
}

const profileDir = mkdtempSync(join(tmpdir(), 'tessera-profile-'))
const dataDir = mkdtempSync(join(tmpdir(), 'tessera-profile-data-'))
let server: { child: ChildProcess; url: string } | undefined
try {
  server = await startServer(profileDir, dataDir)
  const target = loopbackTarget(server.url)
  await waitReady(target)
  const email = `profile-${randomBytes(4).toString('hex')}@example.com`
  const signup = await send(target, 'POST', '/auth/signup', {
    body: { email, password: LOAD_PASSWORD },
  })
  if (signup.status !== 201) throw new Error(`signup answered ${signup.status}: ${signup.text}`)
  let token = (JSON.parse(signup.text) as { accessToken: string }).accessToken
  if (mode === 'dpop') {
    const login = await send(target, 'POST', '/auth/login', {
      body: { email, password: LOAD_PASSWORD },
      headers: { dpop: makeProof('POST', `${BENCH_ISSUER}/auth/login`) },
    })
    const session = JSON.parse(login.text) as { accessToken?: string; tokenType?: string }
    if (login.status !== 200 || session.tokenType !== 'DPoP') {
      throw new Error(`a DPoP login answered ${login.status}: ${login.text.slice(0, 200)}`)
    }
    token = session.accessToken!
  }
  // Proofs for a DPoP run: more than the server can check in the time given.
  const proofs = (ms: number): number => Math.ceil((ms / 1000) * 12_000)
  await load(target, warmupSeconds * 1000, requestHeaders(token, proofs(warmupSeconds * 1000)))
  const headers = requestHeaders(token, proofs(seconds * 1000))
  const pid = server.child.pid!
  const cpuBefore = processCpuSeconds(pid)
  const fromUs = monotonicUs()
  const run = await load(target, seconds * 1000, headers)
  const toUs = monotonicUs()
  const cpu = processCpuSeconds(pid) - cpuBefore
  closeTargets([target])
  const exited = new Promise((done) => server!.child.once('exit', done))
  server.child.kill('SIGTERM')
  await exited
  const file = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'))
  if (file === undefined) throw new Error('the server wrote no .cpuprofile')
  const profile = JSON.parse(readFileSync(join(profileDir, file), 'utf8')) as CpuProfile
  const window = {
    fromMs: (fromUs - profile.startTime) / 1000,
    toMs: (toUs - profile.startTime) / 1000,
  }
  const rps = run.ok / (run.elapsedMs / 1000)
  const cpuUs = (cpu * 1e6) / run.ok
  const what =
    mode === 'bearer'
      ? 'one ES256 token reused (the verified-token cache hits)'
      : 'a DPoP-bound ES256 token and a fresh ES256 proof per request'
  const title =
    values.title ?? `tessera serve: GET /auth/me, ${mode === 'bearer' ? 'Bearer' : 'DPoP'}`
  const subtitle = `${what}; ${users} clients for ${seconds} s: ${Math.round(rps).toLocaleString('en-US')} req/s, ${cpuUs.toFixed(1)} µs of server CPU per request (under the profiler)`
  writeFileSync(
    values.out,
    flameGraph(profile, {
      title,
      subtitle,
      fromMs: Math.round(window.fromMs),
      toMs: Math.round(window.toMs),
    }),
  )
  const root = mergeProfile(profile, { title, ...window })
  const { byKind, functions } = summarize(root, 15)
  const share = (n: number): string => `${((n / root.total) * 100).toFixed(1)}%`
  process.stdout.write(
    `${values.out}: ${run.ok} requests, ${Math.round(rps)} req/s, ${cpuUs.toFixed(1)} µs CPU/request, ${root.total} samples\n` +
      `self time: node ${share(byKind.node)}, fastify ${share(byKind.fastify)}, tessera ${share(byKind.tessera)}, @tessera/jwt ${share(byKind.jwt)}, other ${share(byKind.other)}\n` +
      functions
        .map((fn) => `  ${share(fn.self).padStart(6)}  ${fn.kind.padEnd(8)} ${fn.name}`)
        .join('\n') +
      '\n',
  )
  if (values.keep !== undefined) {
    writeFileSync(
      join(
        values.keep,
        `${values.out
          .split('/')
          .pop()!
          .replace(/\.svg$/, '')}.cpuprofile`,
      ),
      JSON.stringify(profile),
    )
  }
} finally {
  if (server !== undefined && server.child.exitCode === null) server.child.kill('SIGKILL')
  rmSync(profileDir, { recursive: true, force: true })
  rmSync(dataDir, { recursive: true, force: true })
}
