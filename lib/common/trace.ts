// REALM_TRACE=1 prints when each phase of a command starts, as milliseconds since the epoch, so the host's
// lines and the container's (docker/entrypoint.sh prints the same format) read as one timeline.
import { performance } from 'node:perf_hooks'

const enabled = Boolean(process.env.REALM_TRACE)

/**
 * The moment realm's own code began to run: bin/realm notes it before it reads the bundle; else (realm run from
 * its sources) the moment lib/index.ts loaded this module. Everything before it, from performance.timeOrigin
 * (when the process started), is Node's own start, which realm cannot shorten. The CPU time is the process's.
 */
const began =
  ((globalThis as Record<symbol, unknown>)[Symbol.for('realm.began')] as { at: number; cpu: NodeJS.CpuUsage } | undefined) ??
  ({ at: performance.now(), cpu: process.cpuUsage() } as const)

export function traceEnabled(): boolean {
  return enabled
}

/** `at`: milliseconds since the process started (default: now). */
export function trace(phase: string, at = performance.now()): void {
  if (enabled) process.stderr.write(`realm-trace ${Math.round(performance.timeOrigin + at)} ${phase}\n`)
}

/** Realm's own time up to now, and Node's start before it, in seconds; the CPU time realm used in it. */
function ownTime(now = performance.now(), cpu = process.cpuUsage()): { own: number; cpu: number; node: number } {
  const used = cpu.user + cpu.system - began.cpu.user - began.cpu.system
  return { own: (now - began.at) / 1000, cpu: used / 1e6, node: began.at / 1000 }
}

let spawned = false

/**
 * Marks the moment the agent's `docker run` child has been spawned (the first time only: a run that falls back
 * to a copy starts a second one), with the figure the bench reports: realm's own time before `docker run`, from
 * the first line of realm's code to the spawn.
 */
export function traceDockerSpawned(): void {
  if (!enabled || spawned) return
  spawned = true
  const { own, cpu, node } = ownTime()
  trace('docker run spawned')
  process.stderr.write(
    `realm-trace ${Math.round(performance.timeOrigin + performance.now())} own time before docker run: ${own.toFixed(3)} s ` +
      `(${cpu.toFixed(3)} s of CPU), after Node's own start of ${node.toFixed(3)} s\n`,
  )
}
