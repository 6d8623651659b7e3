#!/usr/bin/env node
// Launcher of the `tessera` CLI. Installed from npm it runs the compiled
// dist/. Inside the workspace, where dist/ is not built, it runs the
// TypeScript source as Node 24 does (type stripping) and adds the `source`
// export condition, so @tessera/jwt resolves to its src/ as well. It does so
// in this process (module.registerHooks), not by re-executing Node: signals
// and exit codes need no forwarding.

import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const major = Number(process.versions.node.split('.')[0])
if (major < 24) {
  process.stderr.write(`error: tessera needs Node.js 24 or newer (this is ${process.version})\n`)
  process.exit(2)
}

const dist = new URL('../dist/cli/main.js', import.meta.url)
const source = new URL('../src/cli/main.ts', import.meta.url)

let entry = dist
if (!existsSync(fileURLToPath(dist)) && existsSync(fileURLToPath(source))) {
  const { registerHooks } = await import('node:module')
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const conditions = context.conditions.includes('source')
        ? context.conditions
        : [...context.conditions, 'source']
      return nextResolve(specifier, { ...context, conditions })
    },
  })
  entry = source
}

const { main } = await import(entry.href)
process.exitCode = await main(process.argv)
