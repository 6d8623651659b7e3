/**
 * Where the CPU went during a measured phase (the tessera processes,
 * PostgreSQL, Redis, the load generator, the rest of the machine), and a wait
 * for a quiet machine before a phase starts.
 */

import {
  commandCpuSeconds,
  cpuSecondsBetween,
  machineCpuSeconds,
  processCpuSeconds,
} from './load-cluster.ts'

/** A reading of the CPU counters at one instant. */
export interface CpuMark {
  at: number
  tessera: number
  postgres: Map<number, number>
  redis: Map<number, number>
  generator: number
  machineBusy: number
}

/** Cores busy on average between two marks (1.00 = one core). */
export interface CpuUse {
  tessera: number
  postgres: number
  redis: number
  generator: number
  machine: number
  /** The machine's busy CPU not accounted for by the above: other work on the machine (noise). */
  other: number
}

/** Reads the counters now; `pids` are the tessera processes (external generators count as other). */
export function cpuMark(pids: readonly number[]): CpuMark {
  const self = process.cpuUsage()
  return {
    at: performance.now(),
    tessera: pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
    postgres: commandCpuSeconds('postgres'),
    redis: commandCpuSeconds('redis-server'),
    generator: (self.user + self.system) / 1e6,
    machineBusy: machineCpuSeconds().busy,
  }
}

export function cpuBetween(before: CpuMark, after: CpuMark): CpuUse {
  const seconds = (after.at - before.at) / 1000
  const per = (value: number): number => Math.round((value / seconds) * 100) / 100
  const tessera = after.tessera - before.tessera
  const postgres = cpuSecondsBetween(before.postgres, after.postgres)
  const redis = cpuSecondsBetween(before.redis, after.redis)
  const generator = after.generator - before.generator
  const machine = after.machineBusy - before.machineBusy
  return {
    tessera: per(tessera),
    postgres: per(postgres),
    redis: per(redis),
    generator: per(generator),
    machine: per(machine),
    other: per(Math.max(0, machine - tessera - postgres - redis - generator)),
  }
}

/** Busy cores below which the machine counts as idle. */
export const IDLE_CORES = 0.3

/**
 * Waits (up to `maxMs`) until the machine is nearly idle over a 1 s window,
 * so a phase does not start while other work holds the cores; returns the
 * busy cores of the last window.
 */
export async function settle(maxMs: number): Promise<number> {
  const deadline = performance.now() + maxMs
  for (;;) {
    const before = machineCpuSeconds()
    const start = performance.now()
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const busy = (machineCpuSeconds().busy - before.busy) / ((performance.now() - start) / 1000)
    if (busy < IDLE_CORES || performance.now() >= deadline) return Math.round(busy * 100) / 100
  }
}
