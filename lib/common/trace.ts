// REALM_TRACE=1 prints when each phase of a command starts, as milliseconds since the epoch, so the host's
// lines and the container's (docker/entrypoint.sh prints the same format) read as one timeline.
import { performance } from 'node:perf_hooks'

const enabled = Boolean(process.env.REALM_TRACE)

export function traceEnabled(): boolean {
  return enabled
}

/** `at`: milliseconds since the process started (default: now). */
export function trace(phase: string, at = performance.now()): void {
  if (enabled) process.stderr.write(`realm-trace ${Math.round(performance.timeOrigin + at)} ${phase}\n`)
}
