// The first thing `realm new` and `realm resume` do under an enforcing policy: take a standby sidecar
// (standby.ts) or start one, before the rest of realm even runs. A container on the bridge takes Docker a
// quarter of a second to start, the longest single step before the agent's; begun here, it overlaps realm's own
// loading and checks. Only what this needs runs before it (the engine's socket and the sidecar's plan:
// Node's own modules, no packages). The sidecar gets its rules later, once realm's ports are known
// (net/egress.ts); whatever this gets wrong is closed again by net/start.ts, which decides for real.
import { engineSocket } from '../container/engine-api.js'
import { engineProgram } from '../container/engine-cli.js'
import { relayForced } from './engine.js'
import { launchRelaySidecar } from './relay-sidecar.js'
import { enforces, type NetworkMode, parseNetworkMode } from './policy.js'
import { type Launched, launchSidecar, newSidecarPlan, sweepStale } from './sidecar.js'
import type { SidecarPlan } from './sidecar-plan.js'
import { claimStandby, standbyEnabled, standbyKey, startStandby } from './standby.js'

let early: { mode: NetworkMode; launched: Promise<Launched> } | undefined

/**
 * The network mode of a run that argv asks for (--network among the command's own words, before any `--`, else
 * REALM_NETWORK, else the default); undefined when argv runs no agent, or names no mode realm knows.
 */
export function requestedMode(argv: string[], env: NodeJS.ProcessEnv = process.env): NetworkMode | undefined {
  const words = argv.slice(2)
  if (words[0] !== 'new' && words[0] !== 'resume') return undefined
  const end = words.indexOf('--')
  const ours = end === -1 ? words : words.slice(0, end)
  // Asking for help runs nothing (the argument splitter takes -h and --help as realm's wherever they stand).
  if (ours.includes('-h') || ours.includes('--help')) return undefined
  const at = ours.findIndex((w) => w === '--network' || w.startsWith('--network='))
  const value = at === -1 ? env.REALM_NETWORK : ours[at].includes('=') ? ours[at].slice('--network='.length) : ours[at + 1]
  try {
    return parseNetworkMode(value, '--network')
  } catch {
    return undefined // net/start.ts reports it
  }
}

/** Starts the sidecar when argv runs an agent under an enforcing policy and the engine's socket can be asked. */
export function launchEarly(argv: string[], env: NodeJS.ProcessEnv = process.env): void {
  const mode = requestedMode(argv, env)
  // The docker CLI's way (no socket) starts a process of its own, which would compete with realm's loading.
  const socket = engineSocket(env)
  if (!mode || !enforces(mode) || !socket) return
  const launched = launchOrClaim(socket, newSidecarPlan(env, relayGuess(env)), standbyEnabled(env))
  launched.catch(() => undefined) // taken by net/start.ts, which starts one its own way when this one failed
  early = { mode, launched }
}

/**
 * Whether the run will take the relay path, as far as can be told before the engine is asked (engine.ts decides
 * for real; a sidecar of the other path is then ended, and one of the right path started).
 */
function relayGuess(env: NodeJS.ProcessEnv): boolean {
  try {
    return relayForced(env) || engineProgram(env) === 'podman'
  } catch {
    return false // engine.ts reports it
  }
}

/**
 * A standby's claim (standby.ts) when one runs, else a sidecar of the run's own; and a new standby for the next
 * run when none is left, started once this run has its sidecar, so that it does not hold this one up.
 */
async function launchOrClaim(socket: string, plan: SidecarPlan, standbys: boolean): Promise<Launched> {
  if (plan.relay) return launchRelaySidecar(plan)
  const key = standbys ? standbyKey(plan) : undefined
  const { launched, left } = key ? await claimStandby(socket, key) : { launched: undefined, left: 0 }
  const sidecar = launched ?? (await launchSidecar(plan))
  if (key && left === 0) void startStandby(socket, plan, key)
  // Once a run, in the background: what a realm killed while it started a sidecar left behind.
  void sweepStale(socket)
  return sidecar
}

/** The sidecar started early for `mode`, once; undefined when there is none (or it was for another mode). */
export function takeEarly(mode: NetworkMode): Promise<Launched> | undefined {
  const taken = early
  early = undefined
  if (taken && taken.mode !== mode) {
    void taken.launched.then((l) => l.kill()).catch(() => undefined)
    return undefined
  }
  return taken?.launched
}
