// The walk-throughs of README.md and examples/README.md, run as a newcomer
// runs them: one after the other, on one data directory, each shell block
// (found by its `<!-- walkthrough: ... -->` marker, not by line numbers)
// handed to bash exactly as it stands, from the repository root, with Node 24
// on PATH. The servers are the documented commands too: `./dev start`, then
// the examples' terminal 1 (which starts it again with a feed key) and
// terminal 2 (the Express example, after the `export` line terminal 1 prints).
//
// Two things are substituted, both through variables the docs and the
// server read: the port (TESSERA_PORT, a free one; the examples' PORT,
// TESSERA_URL and TESSERA_ISSUER follow it) and the data directory
// (TESSERA_DATA_DIR, a temporary one). The blocks' `API` and `AUTH` default to
// port 3000 and are set here to recording proxies in front of the servers:
// they pass every request through unchanged and note its status and error
// code, which is what this test asserts, step by step.
//
// README's `sleep 11` (its 10 s grace window plus one) is kept: the test
// takes about 20 s, in parallel with the others.

import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, request as httpRequest } from 'node:http'
import { type AddressInfo, createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { makeDataDir, repoRoot } from './support/server-process.ts'

/**
 * The shell block right after `<!-- walkthrough: <name> -->` in a Markdown
 * file of the repository; fails when the marker or its block is missing.
 */
export function walkthroughBlock(markdown: string, name: string): string {
  const marker = `<!-- walkthrough: ${name} -->`
  const at = markdown.indexOf(marker)
  assert.ok(at !== -1, `no "${marker}" marker`)
  const match = /^\s*```sh\n([\s\S]*?)\n```/.exec(markdown.slice(at + marker.length))
  assert.ok(match, `"${marker}" is not followed by a \`\`\`sh block`)
  return match[1]!
}

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
const examplesReadme = readFileSync(join(repoRoot, 'examples/README.md'), 'utf8')

/** A port free right now on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createNetServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

/** One request that went through a recording proxy. */
interface Step {
  /** The proxy's name: `API` or `AUTH`. */
  via: string
  method: string
  path: string
  status: number
  /** The `error.code` of a JSON error answer. */
  code?: string
}

interface Recorder {
  readonly steps: Step[]
  /** A proxy to `target` (http://127.0.0.1:port), named `via`; resolves to its URL. */
  proxy(via: string, target: string): Promise<string>
  close(): Promise<void>
}

function createRecorder(): Recorder {
  const steps: Step[] = []
  const servers: ReturnType<typeof createServer>[] = []
  return {
    steps,
    async proxy(via, target) {
      const upstream = new URL(target)
      const server = createServer((req, res) => {
        const forward = httpRequest(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (answer) => {
            const chunks: Buffer[] = []
            answer.on('data', (chunk: Buffer) => chunks.push(chunk))
            answer.on('end', () => {
              const body = Buffer.concat(chunks)
              const step: Step = {
                via,
                method: req.method ?? '',
                path: req.url ?? '',
                status: answer.statusCode ?? 0,
              }
              try {
                const code = (JSON.parse(body.toString('utf8')) as { error?: { code?: unknown } })
                  .error?.code
                if (typeof code === 'string') step.code = code
              } catch {
                // Not JSON: nothing more to note.
              }
              steps.push(step)
              res.writeHead(answer.statusCode ?? 502, answer.headers)
              res.end(body)
            })
          },
        )
        forward.on('error', (error) => {
          steps.push({ via, method: req.method ?? '', path: req.url ?? '', status: 502 })
          res.writeHead(502).end(error.message)
        })
        req.pipe(forward)
      })
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      servers.push(server)
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    },
    async close() {
      for (const server of servers) {
        server.closeAllConnections()
        server.close()
      }
    },
  }
}

/** An empty home directory, as a newcomer's fresh machine has (issue #13). */
const emptyHome = mkdtempSync(join(tmpdir(), 'tessera-home-'))
after(() => rmSync(emptyHome, { recursive: true, force: true }))

/** Node 24 (this process's) first on PATH, as `./dev` would arrange; nothing in HOME. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    HOME: emptyHome,
  }
  if (process.env.CI !== undefined) env.CI = process.env.CI
  return env
}

/** A bash that keeps running (a server): its output so far, and a way to stop it. */
interface Background {
  readonly output: () => string
  stop(): Promise<void>
}

/**
 * Starts `script` in bash from the repository root, in a process group of
 * its own so that stop() reaches whatever it started (npm, node).
 */
function startBackground(script: string, env: NodeJS.ProcessEnv): Background {
  const child: ChildProcess = spawn('bash', ['-c', script], {
    cwd: repoRoot,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8')
  })
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8')
  })
  const exited = once(child, 'exit')
  return {
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      process.kill(-child.pid!, 'SIGTERM')
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Polls `url` until it answers 200; fails with the server's output after 30 s. */
async function waitUntilUp(url: string, server: Background, also = () => true): Promise<void> {
  const started = Date.now()
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
      await response.arrayBuffer()
      if (response.status === 200 && also()) return
    } catch {
      // Not listening yet.
    }
    if (Date.now() - started > 30_000) assert.fail(`${url} did not come up:\n${server.output()}`)
    await sleep(100)
  }
}

/** Runs a block in bash from the repository root, to its end. */
async function runBlock(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-c', script], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, stdout, stderr }
}

/** Steps as `API GET /me 401 missing_token`, for a readable diff. */
const show = (steps: Step[]): string[] =>
  steps.map((s) => `${s.via} ${s.method} ${s.path} ${s.status}${s.code ? ` ${s.code}` : ''}`)

describe('the documented walk-throughs run verbatim, one after the other', {
  timeout: 180_000,
}, () => {
  const data = makeDataDir()
  const recorder = createRecorder()
  const running: Background[] = []
  after(async () => {
    await Promise.all(running.map((server) => server.stop()))
    await recorder.close()
    data.remove()
  })

  let port: number
  /** What the server's commands get: the port and the data directory, nothing else. */
  const serverEnv = (): NodeJS.ProcessEnv => ({
    ...baseEnv(),
    TESSERA_PORT: String(port),
    TESSERA_DATA_DIR: data.dir,
  })
  const serverUrl = (): string => `http://127.0.0.1:${port}`

  it('README: sign up, log in, tamper, refresh, reuse, log out, keys, then an admin route', async () => {
    port = await freePort()
    // "With `./dev start` running in another terminal".
    const server = startBackground('./dev start', serverEnv())
    running.push(server)
    let run: Awaited<ReturnType<typeof runBlock>>
    try {
      await waitUntilUp(`${serverUrl()}/.well-known/jwks.json`, server)
      const api = await recorder.proxy('API', serverUrl())
      run = await runBlock(walkthroughBlock(readme, 'README'), { ...serverEnv(), API: api })
    } finally {
      // Stopped whatever happens: the examples' terminal 1 needs the port.
      await server.stop()
    }
    assert.equal(run.code, 0, run.stderr)
    assert.doesNotMatch(run.stderr, /error/i)
    assert.deepEqual(show(recorder.steps.splice(0)), [
      'API POST /auth/signup 201',
      'API POST /auth/login 200',
      'API GET /auth/me 200',
      'API GET /auth/me 401 invalid_token',
      'API POST /auth/refresh 200',
      'API POST /auth/refresh 401 refresh_token_reused',
      'API POST /auth/login 200',
      'API POST /auth/logout 204',
      'API GET /auth/me 401 token_revoked',
      'API GET /.well-known/jwks.json 200',
      'API GET /.well-known/openid-configuration 200',
      'API POST /auth/login 200',
      'API GET /admin/users 200',
    ])
    // curl prints bodies without a newline: the CLI's line follows the last one.
    assert.match(run.stdout, /alice@example\.com: user,admin\n/)
    assert.match(
      run.stdout,
      /\{"users":\[\{[^}]*"email":"alice@example.com"/,
      'the admin route lists Alice',
    )
  })

  it('examples/README, after it on the same data directory: terminals 1, 2 and 3', async () => {
    const examplePort = await freePort()
    const terminal1 = startBackground(
      walkthroughBlock(examplesReadme, 'examples terminal 1'),
      serverEnv(),
    )
    running.push(terminal1)
    await waitUntilUp(`${serverUrl()}/.well-known/jwks.json`, terminal1)
    const exportLine = /^export TESSERA_REVOCATION_FEED_KEY=\S{32,}$/m.exec(terminal1.output())
    assert.ok(exportLine, `terminal 1 printed no export line:\n${terminal1.output()}`)

    // Terminal 2: the line terminal 1 printed, then the block. The example
    // follows the port: where the server is, its issuer, and its own port.
    const terminal2 = startBackground(
      `${exportLine[0]}\n${walkthroughBlock(examplesReadme, 'examples terminal 2')}`,
      {
        ...baseEnv(),
        PORT: String(examplePort),
        TESSERA_URL: serverUrl(),
        TESSERA_ISSUER: `http://localhost:${port}`,
      },
    )
    running.push(terminal2)
    await waitUntilUp(`http://127.0.0.1:${examplePort}/welcome`, terminal2, () =>
      terminal2.output().includes('revocation feed ready'),
    )

    const auth = await recorder.proxy('AUTH', serverUrl())
    const api = await recorder.proxy('API', `http://127.0.0.1:${examplePort}`)
    const block = walkthroughBlock(examplesReadme, 'examples terminal 3')
    const run = await runBlock(block, { ...serverEnv(), AUTH: auth, API: api })
    assert.equal(run.code, 0, run.stderr)
    assert.doesNotMatch(run.stderr, /error/i)
    assert.deepEqual(show(recorder.steps.splice(0)), [
      'API GET /welcome 200',
      'API GET /me 401 missing_token',
      'AUTH POST /auth/signup 201',
      'API GET /me 200',
      'API GET /me 401 invalid_token',
      'API GET /admin 403 forbidden',
      'AUTH POST /auth/login 200',
      'API GET /admin 200',
      'AUTH POST /auth/logout 204',
      'API GET /me 401 token_revoked',
    ])
    assert.match(run.stdout, /bob@example\.com: user,admin\n/)
    assert.doesNotMatch(terminal2.output(), /refuses|HTTP 401/, 'the feed key was accepted')
  })
})
