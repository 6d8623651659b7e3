import { readFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export interface MachineInfo {
  cpuModel: string
  /** Logical CPUs the OS reports. */
  cores: number
  availableParallelism: number
  totalMemoryGiB: number
  platform: string
  arch: string
  node: string
  v8: string
  openssl: string
  /** 1/5/15-minute load averages when the run started: other work on the machine shows here. */
  loadAverageAtStart: number[]
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    availableParallelism: os.availableParallelism(),
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.type()} ${os.release()}`,
    arch: process.arch,
    node: process.version,
    v8: process.versions.v8,
    openssl: process.versions.openssl ?? 'unknown',
    loadAverageAtStart: os.loadavg().map((load) => Math.round(load * 100) / 100),
  }
}

/**
 * The version in a package's own package.json, found by resolving the package
 * the way this script imports it and walking up to the manifest that names it
 * (some packages do not export `./package.json`).
 */
export function packageVersion(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.resolve(name)))
  while (true) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown
        version?: unknown
      }
      if (manifest.name === name && typeof manifest.version === 'string') return manifest.version
    } catch {
      // No manifest here (or not JSON): keep walking up.
    }
    const parent = dirname(dir)
    if (parent === dir) return 'unknown'
    dir = parent
  }
}
