// A newcomer's first hour, as they run it: `./dev start` and `./dev tessera`,
// `tessera serve` with flags and a .env, a typo in a variable, a lost
// development master key, and the first start's log. Each test runs the
// documented command as a child process (servers on 127.0.0.1, free ports),
// except the commands that start no server: they run in this process
// (src/cli/run.ts) with the environment and working directory a child gets.

import assert from 'node:assert/strict'
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { PassThrough } from 'node:stream'
import { after, describe, test } from 'node:test'
import { promisify } from 'node:util'
import { runCli } from '../src/cli/run.ts'
import { createServeLogger, wantsPrettyLogs } from '../src/cli/serve.ts'
import { loadConfig } from '../src/config/index.ts'
import { makeDataDir, repoRoot } from './support/server-process.ts'

const main = join(repoRoot, 'packages/server/src/cli/main.ts')
const nodeDir = dirname(process.execPath)
const execFileAsync = promisify(execFile)
const onLinux = process.platform === 'linux'

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  return typeof address === 'object' && address !== null ? address.port : 0
}

/** Whether something listens on 127.0.0.1:`port`. */
async function portInUse(port: number): Promise<boolean> {
  const server = createServer()
  server.listen(port, '127.0.0.1')
  try {
    await once(server, 'listening')
  } catch {
    return true
  }
  server.close()
  await once(server, 'close')
  return false
}

/** A child's environment: nothing from the developer's own TESSERA_* variables. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: `${nodeDir}:${process.env.PATH}`, HOME: process.env.HOME, ...env }
}

/**
 * Runs `tessera ARGS` in `cwd` (where ./.env is looked up), with
 * TESSERA_DATA_DIR=`cwd` unless `env` says otherwise, in this process.
 */
function tessera(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(args, { cwd, env: cleanEnv({ TESSERA_DATA_DIR: cwd, ...env }) })
}

/** The same in a child process: for `serve`, which would keep its server in this one. */
async function tesseraChild(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      ['--conditions=source', main, ...args],
      { cwd, env: cleanEnv({ TESSERA_DATA_DIR: cwd, ...env }) },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string }
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

interface Started {
  readonly child: ChildProcess
  readonly lines: string[]
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>
  stop(): Promise<number | null>
}

/** Spawns `command` and collects its output lines (stdout and stderr). */
function start(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Started {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line))
  createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line))
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  return {
    child,
    lines,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const [code] = await exited
      return code
    },
  }
}

/** Resolves once `url` answers 200; rejects when the process exits first or after 30 s. */
async function waitForHealth(url: string, started: Started): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) {
      throw new Error(`exited with ${started.child.exitCode}:\n${started.lines.join('\n')}`)
    }
    try {
      if ((await fetch(url)).status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${url} did not answer:\n${started.lines.join('\n')}`)
}

/** Waits until a line matches, or throws with every line seen. */
async function waitForLine(started: Started, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    const found = started.lines.find((line) => pattern.test(line))
    if (found !== undefined) return found
    if (started.child.exitCode !== null) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`no line matched ${pattern}:\n${started.lines.join('\n')}`)
}

/** The `msg` of each JSON log line. */
function messages(lines: readonly string[]): string[] {
  return lines.flatMap((line) => {
    try {
      return [String((JSON.parse(line) as { msg?: unknown }).msg)]
    } catch {
      return []
    }
  })
}

describe('./dev start (issue 13, item 2)', () => {
  const data = makeDataDir()
  after(() => data.remove())

  test('the PID ./dev start has is the server: SIGTERM stops it and frees the port', async () => {
    const port = await freePort()
    const server = start(join(repoRoot, 'dev'), ['start'], {
      cwd: repoRoot,
      env: cleanEnv({
        TESSERA_PORT: String(port),
        TESSERA_DATA_DIR: data.dir,
        TESSERA_LOG_LEVEL: 'info',
      }),
    })
    try {
      await waitForHealth(`http://127.0.0.1:${port}/health`, server)
      const pid = server.child.pid!
      if (onLinux) {
        // node itself, not bash and not npm, and no child process of its own.
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
        assert.match(argv[0]!, /node$/, argv.join(' '))
        assert.ok(argv.includes('--conditions=source') && argv.includes('serve'), argv.join(' '))
        const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
        assert.equal(children, '', 'no child process')
      }
      server.child.kill('SIGTERM')
      const [code, signal] = await server.exited
      assert.equal(code, 0, server.lines.join('\n'))
      assert.equal(signal, null)
      assert.equal(await portInUse(port), false, 'the port is free again')
      if (onLinux) {
        // No process is left with this server's environment (an orphaned node would be).
        const marker = `TESSERA_DATA_DIR=${data.dir}\0`
        const left = readdirSync('/proc').filter((entry) => {
          if (!/^\d+$/.test(entry)) return false
          try {
            return readFileSync(`/proc/${entry}/environ`, 'utf8').includes(marker)
          } catch {
            return false
          }
        })
        assert.deepEqual(left, [])
      }
    } finally {
      await server.stop()
    }
  })
})

describe('./dev tessera (items 3 and 12)', () => {
  test('`./dev tessera secret` prints exactly one base64url line on stdout', async () => {
    const { stdout } = await execFileAsync(join(repoRoot, 'dev'), ['tessera', 'secret'], {
      cwd: repoRoot,
      env: cleanEnv({}),
    })
    assert.match(stdout, /^[A-Za-z0-9_-]{43}\n$/)
  })

  test('`./dev tessera --help` is tessera’s help, not npm’s', async () => {
    const { stdout } = await execFileAsync(join(repoRoot, 'dev'), ['tessera', '--help'], {
      cwd: repoRoot,
      env: cleanEnv({}),
    })
    assert.match(stdout, /^Usage: tessera /)
    assert.match(stdout, /\bserve\b/)
    assert.doesNotMatch(stdout, /npm/)
  })

  test('./dev runs the same commands as the package.json scripts start and tessera', () => {
    const scripts = (
      JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>
      }
    ).scripts
    const dev = readFileSync(join(repoRoot, 'dev'), 'utf8')
    const command = /^tessera=\((.*)\)$/m.exec(dev)?.[1]
    assert.equal(command, scripts['tessera'])
    assert.equal(`${command} serve`, scripts['start'])
  })

  test('installing dependencies (a fresh clone) prints on stderr only: stdout is the command’s', async () => {
    // A copy of ./dev without node_modules, and an npm that talks on stdout as the real one does.
    const dir = makeDataDir()
    try {
      mkdirSync(join(dir.dir, 'scripts'))
      mkdirSync(join(dir.dir, 'bin'))
      copyFileSync(join(repoRoot, 'dev'), join(dir.dir, 'dev'))
      chmodSync(join(dir.dir, 'dev'), 0o755)
      copyFileSync(
        join(repoRoot, 'scripts/ensure-node.sh'),
        join(dir.dir, 'scripts/ensure-node.sh'),
      )
      writeFileSync(join(dir.dir, 'package-lock.json'), '{}\n')
      symlinkSync(process.execPath, join(dir.dir, 'bin/node'))
      writeFileSync(
        join(dir.dir, 'bin/npm'),
        '#!/bin/sh\necho "added 271 packages in 9s"\nmkdir -p node_modules && echo "{}" > node_modules/.package-lock.json\n',
      )
      chmodSync(join(dir.dir, 'bin/npm'), 0o755)
      const { stdout, stderr } = await execFileAsync(
        join(dir.dir, 'dev'),
        ['exec', 'node', '-e', 'console.log("the secret")'],
        { cwd: dir.dir, env: { PATH: `${join(dir.dir, 'bin')}:/usr/bin:/bin`, HOME: dir.dir } },
      )
      assert.equal(stdout, 'the secret\n')
      assert.match(stderr, /added 271 packages/)
      assert.ok(existsSync(join(dir.dir, 'node_modules/.package-lock.json')), 'npm ci ran')
    } finally {
      dir.remove()
    }
  })

  test('installing Node.js 24 (scripts/ensure-node.sh) prints on stderr only: stdout is the directory', async () => {
    const dir = makeDataDir()
    try {
      const bin = join(dir.dir, 'bin')
      const cache = join(dir.dir, 'cache')
      mkdirSync(bin)
      // A Node.js that is too old, and an npm that installs the new one and talks on stdout.
      writeFileSync(join(bin, 'node'), '#!/bin/sh\necho 20\n')
      writeFileSync(
        join(bin, 'npm'),
        [
          '#!/bin/sh',
          'echo "added 1 package in 2s"',
          'for last; do :; done',
          'pkg=$(echo "$last" | cut -d@ -f1)',
          `mkdir -p "${cache}/node_modules/$pkg/bin"`,
          `ln -s "${process.execPath}" "${cache}/node_modules/$pkg/bin/node"`,
          '',
        ].join('\n'),
      )
      chmodSync(join(bin, 'node'), 0o755)
      chmodSync(join(bin, 'npm'), 0o755)
      const { stdout, stderr } = await execFileAsync(
        'bash',
        [join(repoRoot, 'scripts/ensure-node.sh')],
        {
          env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir.dir, TESSERA_NODE_CACHE: cache },
        },
      )
      assert.match(stdout, new RegExp(`^${cache}/node_modules/node-[a-z]+-[a-z0-9]+/bin\\n$`))
      assert.match(stderr, /ensure-node: installing .*\nadded 1 package/)
    } finally {
      dir.remove()
    }
  })
})

describe('typos in the environment (item 4)', () => {
  const data = makeDataDir()
  after(() => data.remove())

  test('an unknown TESSERA_* variable is a warning at start, naming the closest one', async () => {
    const server = start(process.execPath, ['--conditions=source', main, 'serve'], {
      cwd: data.dir,
      env: cleanEnv({
        TESSERA_PORT: '0',
        TESSERA_DATA_DIR: data.dir,
        TESSERA_PROT: '4000',
        TESSERA_TEST_DATABASE_URL: 'postgres://localhost/test',
      }),
    })
    try {
      await waitForLine(server, /listening on/)
      const warnings = server.lines
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((line) => line.level === 40 && /not a Tessera variable/.test(line.msg))
      assert.deepEqual(
        warnings.map((line) => line.msg),
        ['TESSERA_PROT is not a Tessera variable and is ignored; did you mean TESSERA_PORT?'],
      )
    } finally {
      await server.stop()
    }
  })

  test('`tessera config check` warns on stderr; stdout stays the configuration', async () => {
    const result = await tessera(data.dir, ['config', 'check'], { TESSERA_PROT: '4000' })
    assert.equal(result.code, 0, result.stderr)
    assert.equal(
      result.stderr,
      'warning: TESSERA_PROT is not a Tessera variable and is ignored; did you mean TESSERA_PORT?\n',
    )
    assert.match(result.stdout, /^NODE_ENV\s+development\s+\(default\)$/m)
  })

  for (const value of ['prod', 'Production']) {
    test(`NODE_ENV=${value} is refused in one line, not taken for development`, async () => {
      for (const command of [['serve'], ['config', 'check']]) {
        const run = command[0] === 'serve' ? tesseraChild : tessera
        const result = await run(data.dir, command, { NODE_ENV: value })
        assert.equal(result.code, 2)
        assert.equal(
          result.stderr,
          `error: NODE_ENV: expected one of development, production, test, got "${value}"\n`,
        )
      }
    })
  }
})

describe('a lost development master.key (item 5)', () => {
  const data = makeDataDir()
  after(() => data.remove())

  test('is not replaced: one line names the file and the two ways out', async () => {
    const created = await tessera(data.dir, ['keys', 'list'], { TESSERA_MASTER_KEY: '' })
    assert.equal(created.code, 0, created.stderr)
    const path = join(data.dir, 'master.key')
    const key = readFileSync(path, 'utf8')
    rmSync(path)
    const database = join(data.dir, 'tessera.db')
    for (const command of [['serve'], ['keys', 'list']]) {
      const run = command[0] === 'serve' ? tesseraChild : tessera
      const result = await run(data.dir, command)
      assert.equal(result.code, 2, result.stderr)
      assert.equal(
        result.stderr,
        `error: the master key file ${path} is missing, and ${database} holds signing keys sealed with it: restore ${path} (or set TESSERA_MASTER_KEY to its value), or start over by moving ${database} away\n`,
      )
      assert.equal(existsSync(path), false, 'no new key was written')
    }
    // Both ways out work.
    const withVariable = await tessera(data.dir, ['keys', 'list'], {
      TESSERA_MASTER_KEY: key.trim(),
    })
    assert.equal(withVariable.code, 0, withVariable.stderr)
    writeFileSync(path, key, { mode: 0o600 })
    assert.equal((await tessera(data.dir, ['keys', 'list'])).code, 0)
    rmSync(path)
    rmSync(database)
    const fresh = await tessera(data.dir, ['keys', 'list'])
    assert.equal(fresh.code, 0, fresh.stderr)
    assert.ok(existsSync(path), 'a new start generates a new key')
  })
})

describe('tessera serve flags and .env (items 7 and 8)', () => {
  const data = makeDataDir()
  after(() => data.remove())

  test('--port, --host and --data-dir win over the environment', async () => {
    const port = await freePort()
    const dataDir = join(data.dir, 'from-flag')
    const server = start(
      process.execPath,
      [
        '--conditions=source',
        main,
        'serve',
        '--port',
        String(port),
        '--host',
        '127.0.0.1',
        '--data-dir',
        dataDir,
      ],
      {
        cwd: data.dir,
        env: cleanEnv({ TESSERA_PORT: '1', TESSERA_HOST: '0.0.0.0', TESSERA_DATA_DIR: data.dir }),
      },
    )
    try {
      await waitForHealth(`http://127.0.0.1:${port}/health`, server)
      assert.ok(existsSync(join(dataDir, 'tessera.db')))
    } finally {
      await server.stop()
    }
  })

  test('a bad flag value names the flag and its variable', async () => {
    const result = await tesseraChild(data.dir, ['serve', '--port', 'abc'])
    assert.equal(result.code, 2)
    assert.equal(
      result.stderr,
      'error: --port (TESSERA_PORT: expected an integer from 0 to 65535, got "abc")\n',
    )
  })

  test('serve --help names the variables, tessera config check and docs/configuration.md', async () => {
    const result = await tessera(data.dir, ['serve', '--help'])
    assert.equal(result.code, 0)
    for (const text of [
      '--port <port>',
      'TESSERA_PORT',
      '--host <address>',
      'TESSERA_HOST',
      '--data-dir <path>',
      'TESSERA_DATA_DIR',
      '--env-file <path>',
      './.env',
      'tessera config check',
      'docs/configuration.md',
    ]) {
      assert.ok(result.stdout.includes(text), text)
    }
  })

  test('./.env in the working directory is read and said so; the environment wins over it', async () => {
    const port = await freePort()
    const cwd = join(data.dir, 'project')
    mkdirSync(cwd)
    writeFileSync(
      join(cwd, '.env'),
      `TESSERA_PORT=${port}\nTESSERA_DATA_DIR=./data\nTESSERA_BRAND_NAME="From .env"\nTESSERA_HOST=0.0.0.0\n`,
    )
    const server = start(process.execPath, ['--conditions=source', main, 'serve'], {
      cwd,
      env: cleanEnv({ TESSERA_HOST: '127.0.0.1' }),
    })
    try {
      await waitForHealth(`http://127.0.0.1:${port}/health`, server)
      assert.ok(messages(server.lines).includes(`read variables from ${join(cwd, '.env')}`))
      const listen = await waitForLine(server, /listening on/)
      assert.match(listen, /listening on http:\/\/127\.0\.0\.1:/, 'TESSERA_HOST from the env')
      assert.ok(existsSync(join(cwd, 'data/tessera.db')), 'TESSERA_DATA_DIR from .env')
      const page = await (await fetch(`http://127.0.0.1:${port}/login`)).text()
      assert.match(page, /From \.env/)
    } finally {
      await server.stop()
    }
    // config check reads it the same way, and takes --env-file.
    writeFileSync(join(cwd, 'other.env'), 'TESSERA_BRAND_NAME=Other\n')
    const check = await tessera(cwd, ['config', 'check', '--env-file', 'other.env'], {
      TESSERA_DATA_DIR: '',
    })
    assert.equal(check.code, 0, check.stderr)
    assert.equal(check.stderr, `read variables from ${join(cwd, 'other.env')}\n`)
    assert.match(check.stdout, /^TESSERA_BRAND_NAME\s+Other\s+\(env\)$/m)
    assert.match(check.stdout, /^TESSERA_PORT\s+3000\s+\(default\)$/m, 'not the one in ./.env')
    // Node itself looks for --env-file anywhere on its command line
    // (nodejs/node#54232) and may report a missing one first, with its own words.
    const missing = await tessera(cwd, ['config', 'check', '--env-file', 'nope.env'])
    assert.notEqual(missing.code, 0)
    assert.match(
      missing.stderr,
      /^(error: cannot read the env file \S*nope\.env: no such file|\S*node: nope\.env: not found)\n$/,
    )
  })
})

describe('the first start (item 9)', () => {
  const data = makeDataDir()
  after(() => data.remove())

  test('one listen line, then where to sign up; JSON when stdout is not a terminal', async () => {
    const server = start(process.execPath, ['--conditions=source', main, 'serve'], {
      cwd: data.dir,
      env: cleanEnv({
        TESSERA_PORT: '0',
        TESSERA_ISSUER: 'http://localhost:3999',
        TESSERA_DATA_DIR: data.dir,
      }),
    })
    try {
      await waitForLine(server, /Sign up at/)
      const all = messages(server.lines)
      assert.equal(all.length, server.lines.length, 'every line is JSON')
      assert.equal(all.filter((msg) => /listening/i.test(msg)).length, 1, all.join('\n'))
      assert.ok(all.includes('Sign up at http://localhost:3999/signup'), all.join('\n'))
    } finally {
      await server.stop()
    }
  })

  test('readable lines for a terminal in development; JSON in production or through a pipe', async () => {
    assert.equal(wantsPrettyLogs({ production: false }, true), true)
    assert.equal(wantsPrettyLogs({ production: false }, false), false)
    assert.equal(wantsPrettyLogs({ production: true }, true), false)
    const render = async (env: Record<string, string>, isTTY: boolean): Promise<string> => {
      const output = Object.assign(new PassThrough(), { isTTY })
      let text = ''
      output.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8')
      })
      const config = loadConfig({
        TESSERA_MASTER_KEY: 'q2b1lXh5Yb7qz1wDZ9m0iV7cO6r0nQ0s2nH8pWmW9aA',
        ...env,
      })
      const logger = await createServeLogger(config, output)
      logger.info('Tessera listening on http://127.0.0.1:3000')
      await new Promise((resolve) => setTimeout(resolve, 50))
      return text
    }
    const pretty = await render({}, true)
    assert.match(pretty, /INFO.*Tessera listening on http:\/\/127\.0\.0\.1:3000/)
    assert.throws(() => JSON.parse(pretty))
    const piped = await render({}, false)
    assert.equal(JSON.parse(piped).msg, 'Tessera listening on http://127.0.0.1:3000')
    const production = await render(
      { NODE_ENV: 'production', TESSERA_ISSUER: 'https://auth.example.com' },
      true,
    )
    assert.equal(JSON.parse(production).msg, 'Tessera listening on http://127.0.0.1:3000')
  })
})

describe('deployment files (item 15)', () => {
  const read = (path: string): string => readFileSync(join(repoRoot, path), 'utf8')
  const assigned = (text: string, pattern: RegExp): Set<string> =>
    new Set([...text.matchAll(pattern)].map((match) => match[1]!))

  test('the systemd units set no variable with Environment= that the shared EnvironmentFile sets (the file would win)', () => {
    const shared = assigned(read('examples/deploy/tessera.env.example'), /^([A-Z][A-Z0-9_]*)=/gm)
    assert.ok(shared.has('TESSERA_ISSUER'))
    for (const unit of ['tessera.service', 'tessera@.service']) {
      const text = read(`examples/deploy/${unit}`)
      assert.match(text, /^EnvironmentFile=\/etc\/tessera\/tessera\.env$/m, unit)
      for (const name of assigned(text, /^Environment=([A-Z][A-Z0-9_]*)=/gm)) {
        assert.ok(!shared.has(name), `${unit}: ${name} is overridden by tessera.env`)
      }
    }
    // Per instance: flags, which win over any variable.
    assert.match(
      read('examples/deploy/tessera@.service'),
      /^ExecStart=.* serve --port %i --data-dir \/var\/lib\/tessera\/%i$/m,
    )
  })

  test('every dependency with an install script is approved in package.json (no npm ci warning)', () => {
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { hasInstallScript?: boolean }>
    }
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript === true)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length))
    const allowed = (JSON.parse(read('package.json')) as { allowScripts?: Record<string, boolean> })
      .allowScripts
    assert.deepEqual(withScripts.toSorted(), ['argon2', 'esbuild'])
    for (const name of withScripts) assert.ok(Object.hasOwn(allowed ?? {}, name), name)
    // argon2's runs (it checks its prebuilt binary loads); esbuild's, a dev dependency of
    // @tessera/client's size check, is denied: its binary comes as @esbuild/<platform>.
    assert.equal(allowed?.['argon2'], true)
    assert.equal(allowed?.['esbuild'], false)
    assert.match(read('docs/deployment.md'), /argon2's\s+\(`node-gyp-build`\)/)
  })

  test('biome.json uses the linter preset, not the deprecated `recommended` field', () => {
    const rules = (JSON.parse(read('biome.json')) as { linter: { rules: Record<string, unknown> } })
      .linter.rules
    assert.equal(rules['preset'], 'recommended')
    assert.equal(rules['recommended'], undefined)
  })
})
